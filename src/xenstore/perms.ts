// Permission lists: `<letter><domid>` strings, the first naming the owner (xenstore.md §2.4).

import { TsxError } from '../errors.js';
import { E_XS_PROTOCOL } from './errors.js';
import type { Perm, PermAccess, Perms } from './types.js';

const ACCESS = new Set(['n', 'r', 'w', 'b']);

export function parsePerm(text: string): Perm | undefined {
  const access = text[0];
  const num = text.slice(1);
  if (access === undefined || !ACCESS.has(access) || !/^\d+$/.test(num)) return undefined;
  return { access: access as PermAccess, domid: Number(num) };
}

export function parsePerms(items: string[], path?: string): Perms {
  const perms = items.map((t) => {
    const p = parsePerm(t);
    if (!p) throw new TsxError(E_XS_PROTOCOL, `bad permission ${JSON.stringify(t)}${path ? ` on ${path}` : ''}`);
    return p;
  });
  if (perms.length === 0) throw new TsxError(E_XS_PROTOCOL, `empty permission list${path ? ` on ${path}` : ''}`);
  return perms as unknown as Perms;
}

export function formatPerms(perms: Perms): string[] {
  return perms.map((p) => `${p.access}${p.domid}`);
}

/** Shorthands used by the layout code: owner first, then readers. */
export function ownedBy(owner: number, ...readers: number[]): Perms {
  return [{ domid: owner, access: 'n' }, ...readers.filter((r) => r !== owner).map((domid) => ({ domid, access: 'r' as const }))];
}
