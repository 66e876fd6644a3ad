// Node names as the daemon checks them (cxenstored 4.17 canonicalize() + is_valid_nodename()).
// This is the server side of the path rules: it resolves relative names against the
// connection's home and applies C's exact length rule (only the part after
// `/local/domain/<up to 5 digits>/` counts), which is not what a client needs to check.

/** Characters C's valid_chars() allows, as a lookup table over byte values. */
const VALID = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@') VALID[c.charCodeAt(0)] = 1;

/** XENSTORE_REL_PATH_MAX, C's default `path-max` quota (applies to dom0 too). */
export const PATH_MAX = 2048;

/** canonicalize(): names starting with `/` or `@` are kept, others are prefixed with home. */
export function canonicalize(name: string, home: string): string {
  const c = name.charCodeAt(0);
  if (c === 0x2f /* / */ || c === 0x40 /* @ */) return name;
  return `${home}/${name}`;
}

/** Length of a `/local/domain/%5u/` prefix (as C's sscanf matches it), 0 if none. */
function localPrefixLength(path: string): number {
  const P = '/local/domain/';
  if (!path.startsWith(P)) return 0;
  let i = P.length;
  // %5u: optional sign, then up to 5 characters of field width in total, at least one digit.
  const start = i;
  if (path[i] === '+' || path[i] === '-') i++;
  const digitsStart = i;
  while (i < path.length && i - start < 5 && path.charCodeAt(i) >= 0x30 && path.charCodeAt(i) <= 0x39) i++;
  if (i === digitsStart) return 0;
  return path[i] === '/' ? i + 1 : 0;
}

/** is_valid_nodename(): an absolute node name (`@` names only when `allowSpecial`). */
export function isValidNodeName(path: string, allowSpecial: boolean): boolean {
  const c = path.charCodeAt(0);
  if (c !== 0x2f && !(allowSpecial && c === 0x40)) return false;
  const n = path.length;
  if (n > 1 && path.charCodeAt(n - 1) === 0x2f) return false;
  if (path.includes('//')) return false;
  if (n - localPrefixLength(path) > PATH_MAX) return false;
  for (let i = 0; i < n; i++) if (VALID[path.charCodeAt(i) & 0xff] !== 1 || path.charCodeAt(i) > 0xff) return false;
  return true;
}
