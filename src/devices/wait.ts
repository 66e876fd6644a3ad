// Watch-driven waits on xenstore nodes: register a watch, re-read the node on every event, stop
// when the predicate holds, the deadline passes or the caller aborts. Never a polling loop.

import { TsxError, E_ABORTED, type ErrorSpec } from '../errors.js';
import type { XenstoreClient } from '../xenstore/types.js';

export interface WaitSpec {
  /** Node to watch (its subtree's changes wake the wait too). */
  path: string;
  /** Reads what the predicate looks at (default: the node's value, undefined when absent). */
  read?: (xs: XenstoreClient) => Promise<string | undefined>;
  /** Answers true when done, or throws to fail with a typed error. */
  until: (value: string | undefined) => boolean;
  /** Absolute deadline, ms since epoch. */
  deadline: number;
  signal?: AbortSignal;
  /** "backend /local/… to reach InitWait" — the noun phrase a timeout error names. */
  what: string;
  timeoutError: ErrorSpec;
  details?: Record<string, unknown>;
}

export async function waitFor(xs: XenstoreClient, spec: WaitSpec): Promise<string | undefined> {
  const read = spec.read ?? ((c: XenstoreClient) => c.tryRead(spec.path));
  const started = Date.now();
  const watch = await xs.watch(spec.path);
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    const fail = (err: TsxError) => {
      reject(err);
      void watch.close();
    };
    timer = setTimeout(
      () =>
        fail(
          new TsxError(spec.timeoutError, `timed out after ${Date.now() - started} ms waiting for ${spec.what} (last value ${JSON.stringify(last ?? null)})`, {
            details: { ...spec.details, path: spec.path, last: last ?? null, waitedMs: Date.now() - started },
          }),
        ),
      Math.max(0, spec.deadline - Date.now()),
    );
    onAbort = () => fail(new TsxError(E_ABORTED, `cancelled while waiting for ${spec.what}`));
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
  });
  stop.catch(() => undefined);
  try {
    const loop = (async () => {
      // The first event arrives on registration, so the current value is always examined.
      for await (const _event of watch) {
        last = await read(xs);
        if (spec.until(last)) return last;
      }
      return last;
    })();
    return await Promise.race([loop, stop]);
  } finally {
    clearTimeout(timer);
    // One create runs many waits on one signal: never leave a listener behind.
    if (onAbort) spec.signal?.removeEventListener('abort', onAbort);
    await watch.close();
  }
}

export function stateAtLeast(min: number): (v: string | undefined) => boolean {
  return (v) => v !== undefined && Number(v) >= min;
}
