// Dumps a whole xenstore subtree (values, permissions, children in the daemon's order), for
// "nothing left behind" checks by diff and for comparing written layouts with references.

import { formatPerms } from '../../src/xenstore/perms.js';
import type { XenstoreClient } from '../../src/xenstore/types.js';

export type Tree = Record<string, string>;

/** path → "value [perms]" for every node under root (root included), depth first in order. */
export async function dumpTree(xs: XenstoreClient, root = '/', withPerms = true): Promise<Tree> {
  const out: Tree = {};
  const walk = async (path: string): Promise<void> => {
    const [value, perms, kids] = await Promise.all([xs.tryRead(path), withPerms ? xs.getPerms(path).catch(() => undefined) : undefined, xs.tryDirectory(path)]);
    if (value === undefined && kids === undefined) return;
    out[path] = withPerms && perms ? `${value ?? ''} [${formatPerms(perms).join(',')}]` : (value ?? '');
    for (const k of kids ?? []) await walk(path === '/' ? `/${k}` : `${path}/${k}`);
  };
  await walk(root);
  return out;
}

/** The subtree relative to root, in order, as "rel = value [perms]" lines. */
export async function treeLines(xs: XenstoreClient, root: string): Promise<string[]> {
  const t = await dumpTree(xs, root);
  return Object.entries(t).map(([p, v]) => `${p === root ? '.' : p.slice(root.length + 1)} = ${v}`);
}
