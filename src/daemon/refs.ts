// References arriving from the network (domain refs, device classes, task ids) are checked here,
// before anything reaches the orchestrator: a ref that could climb a xenstore or state-dir path
// (`/`, `..`), carries control characters, or is absurdly long never leaves the HTTP edge.

import { TsxError } from '../errors.js';
import { E_BAD_REF } from './errors.js';

/** Longest accepted ref: a domain name limit (xl allows 64) with room to spare; a uuid is 36. */
export const MAX_REF_LENGTH = 128;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Answers why `ref` is unacceptable, or undefined when it is fine. */
export function refProblem(ref: string): string | undefined {
  if (ref.length === 0) return 'is empty';
  if (ref.length > MAX_REF_LENGTH) return `is longer than ${MAX_REF_LENGTH} characters`;
  if (ref.includes('/')) return "contains '/'";
  if (ref.includes('\\')) return "contains '\\'";
  if (ref === '.' || ref.includes('..')) return "contains '..'";
  if (CONTROL.test(ref)) return 'contains control characters';
  return undefined;
}

export function checkRef(kind: string, ref: string): string {
  const problem = refProblem(ref);
  if (problem !== undefined) {
    throw new TsxError(E_BAD_REF, `${kind} reference ${JSON.stringify(ref.slice(0, MAX_REF_LENGTH))} ${problem}`, {
      details: { kind },
    });
  }
  return ref;
}
