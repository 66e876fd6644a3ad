// Client-side path rules (reference xenstore.md §2.1), checked before anything is sent so a bad
// path is a clear local error naming the path, not a bare EINVAL from the daemon.

import { TsxError } from '../errors.js';
import { E_XS_BAD_PATH } from './errors.js';

/** The counted part of a path may be this long (cxenstored's path-max; oxenstored on Debian: 1024). */
export const PATH_MAX = 2048;
const VALID = /^[A-Za-z0-9/_@-]*$/;
const LOCAL_PREFIX = /^\/local\/domain\/\d{1,5}\//;

function bad(path: string, reason: string): TsxError {
  return new TsxError(E_XS_BAD_PATH, `invalid xenstore path ${JSON.stringify(path)}: ${reason}`, {
    details: { path, reason },
  });
}

export function isSpecialPath(path: string): boolean {
  return path.startsWith('@');
}

/**
 * Validates a node path (absolute or relative to the connection's home). `@` names are
 * allowed only where the protocol allows them (WATCH, UNWATCH, SET_PERMS targets).
 */
export function validatePath(path: string, options: { allowSpecial?: boolean } = {}): void {
  if (path.length === 0) throw bad(path, 'empty');
  if (!VALID.test(path)) throw bad(path, 'only letters, digits and - / _ @ are allowed');
  if (isSpecialPath(path)) {
    if (!options.allowSpecial) throw bad(path, '@ names are only watch and permission targets');
    return;
  }
  if (path.length > 1 && path.endsWith('/')) throw bad(path, 'trailing /');
  if (path.includes('//')) throw bad(path, 'empty component (//)');
  const counted = path.length - (LOCAL_PREFIX.exec(path)?.[0].length ?? 0);
  if (counted > PATH_MAX) throw bad(path, `longer than ${PATH_MAX} bytes`);
}

/** Resolves a relative path against a home such as /local/domain/0, as the daemons do. */
export function resolvePath(path: string, home: string): string {
  return path.startsWith('/') || path.startsWith('@') ? path : `${home}/${path}`;
}

/** Joins path components: joinPath('/a', 'b', 'c') = '/a/b/c'. */
export function joinPath(base: string, ...parts: (string | number)[]): string {
  return [base === '/' ? '' : base, ...parts.map(String)].join('/');
}
