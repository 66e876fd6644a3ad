// Node permissions as cxenstored 4.17 keeps them: a list whose first entry is the owner (and the
// access of every domain not listed), parsed from and printed to the wire's `<letter><domid>`
// strings. Parsing follows libxenstore's xs_strings_to_perms(): `strtol(…, 0)`, so `r0x1` and
// `r010` are accepted, trailing junk or a missing number is EINVAL.

import { cStrtol, u32 } from './cnum.js';

export const PERM_NONE = 0;
export const PERM_READ = 1;
export const PERM_WRITE = 2;
/** Internal: "may change the permissions" (owner and privileged connections). */
export const PERM_OWNER = 4;
/** Internal: the entry names a domain that did not exist when it was set; it grants nothing. */
export const PERM_IGNORE = 8;

export interface NodePerm {
  readonly id: number;
  /** PERM_READ | PERM_WRITE bits, plus PERM_IGNORE. */
  readonly perms: number;
}

/** Never empty: the first entry is the owner. */
export type NodePerms = readonly NodePerm[];

export const DEFAULT_PERMS: NodePerms = Object.freeze([Object.freeze({ id: 0, perms: PERM_NONE })]);

const LETTER_TO_BITS: Record<string, number> = { n: PERM_NONE, r: PERM_READ, w: PERM_WRITE, b: PERM_READ | PERM_WRITE };
const BITS_TO_LETTER = ['n', 'r', 'w', 'b'] as const;

/**
 * Parses `count` NUL-terminated perm strings of `buf` starting at `offset`.
 * Answers undefined for a malformed entry (the caller answers EINVAL).
 */
export function parsePerms(buf: Buffer, offset: number, count: number): NodePerm[] | undefined {
  const out: NodePerm[] = [];
  let p = offset;
  for (let i = 0; i < count; i++) {
    const nul = buf.indexOf(0, p);
    if (nul < 0) return undefined;
    const letter = LETTER_TO_BITS[String.fromCharCode(buf[p] ?? 0)];
    if (letter === undefined || nul === p) return undefined;
    const digits = buf.toString('latin1', p + 1, nul);
    const parsed = cStrtol(digits, 0);
    // `!*p` (no number at all) and `*end` (trailing junk) are both EINVAL in C.
    if (digits.length === 0 || parsed.end !== digits.length) return undefined;
    out.push({ id: u32(parsed.value), perms: letter });
    p = nul + 1;
  }
  return out;
}

/** GET_PERMS payload: `<letter><decimal domid>\0` per entry. */
export function formatPerms(perms: NodePerms): Buffer {
  let s = '';
  for (const p of perms) s += `${BITS_TO_LETTER[p.perms & 3]}${p.id}\0`;
  return Buffer.from(s, 'latin1');
}

/** Who is asking: enough of a connection to decide access. */
export interface Accessor {
  readonly privileged: boolean;
  readonly domid: number;
  /** SET_TARGET: this domain also acts with the target domain's rights. */
  readonly target: number | undefined;
}

/** cxenstored's perm_for_conn(): the access bits (READ/WRITE/OWNER) `who` has under `perms`. */
export function permFor(who: Accessor, perms: NodePerms): number {
  const owner = perms[0];
  if (!owner) return PERM_NONE;
  if (who.privileged || owner.id === who.domid || (who.target !== undefined && owner.id === who.target)) {
    return PERM_READ | PERM_WRITE | PERM_OWNER;
  }
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (p.perms & PERM_IGNORE) continue;
    if (p.id === who.domid || (who.target !== undefined && p.id === who.target)) return p.perms & 3;
  }
  return owner.perms & 3;
}

export function samePerms(a: NodePerms, b: NodePerms): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.id !== b[i]!.id || a[i]!.perms !== b[i]!.perms) return false;
  return true;
}
