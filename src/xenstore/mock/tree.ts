// Node lookups, creation and deletion with cxenstored 4.17's access pattern and permission
// rules, written against NodeSpace so that inside a transaction exactly the nodes C reads are
// recorded for the conflict check (reference §2.6, "which accesses are reads").

import { XsFail, type NodeSpace } from './access.js';
import { type Accessor, type NodePerms, PERM_READ, PERM_WRITE, permFor } from './permissions.js';
import { addChild, baseName, childPath, editable, newNode, parentOf, removeChild, type XsNode } from './store.js';

/** The caller of an operation: its access rights and the limits that apply to it. */
export interface Caller extends Accessor {
  /** Unprivileged limits (§2.9); ignored for privileged callers. */
  readonly limits: Limits;
}

export interface Limits {
  /** Nodes a domain may own. */
  readonly nodes: number;
  /** Bytes of one stored node: header, perms, value and child list (C's quota-entry-size). */
  readonly nodeSize: number;
  /** Permission entries per node. */
  readonly permsPerNode: number;
  /** Watches per domain (E2BIG in 4.17 when exceeded). */
  readonly watches: number;
  /** Open transactions per connection (C checks before counting: one more still opens). */
  readonly transactions: number;
  /** Nodes one transaction may touch. */
  readonly transactionNodes: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  nodes: 1000,
  nodeSize: 2048,
  permsPerNode: 5,
  watches: 128,
  transactions: 10,
  transactionNodes: 1024,
});

/** C's stored record header (generation, counts) plus 8 bytes per permission entry. */
function storedSize(n: XsNode): number {
  return 24 + 8 * n.perms.length + n.value.length + n.childBytes;
}

/** write_node()'s size check for unprivileged callers. */
export function checkNodeSize(caller: Caller, n: XsNode): void {
  if (!caller.privileged && storedSize(n) >= caller.limits.nodeSize) throw new XsFail('ENOSPC');
}

/** Walks up from `path` (exclusive) to the first existing ancestor, reading each on the way. */
export function firstExistingAncestor(space: NodeSpace, path: string): { path: string; node: XsNode } {
  let p = path;
  for (;;) {
    p = parentOf(p);
    const n = space.lookup(p);
    if (n) return { path: p, node: n };
    // "/" always exists; this only guards against a corrupted store.
    if (p === '/') throw new XsFail('EIO');
  }
}

/**
 * C's get_node(): the node if the caller has `perm` on it. A missing or forbidden node answers
 * ENOENT or EACCES depending on whether the caller may read the nearest existing ancestor
 * (errno_from_parents), which also reads those ancestors.
 */
export function getNode(space: NodeSpace, caller: Caller, path: string, perm: number): XsNode | 'ENOENT' | 'EACCES' {
  const node = space.lookup(path);
  if (node && (caller.privileged || (permFor(caller, node.perms) & perm) === perm)) return node;
  const errnum = node ? 'EACCES' : 'ENOENT';
  if (path === '/') return errnum;
  const anc = firstExistingAncestor(space, path);
  if (caller.privileged || permFor(caller, anc.node.perms) & PERM_READ) return errnum;
  return 'EACCES';
}

/**
 * create_node(): creates `path` with `value` and every missing ancestor (empty), each
 * inheriting its parent's permissions, owned by the creator if unprivileged.
 * The caller has already seen `path` missing (and its ancestors read, by getNode()).
 */
export function createNode(space: NodeSpace, caller: Caller, path: string, value: Buffer): XsNode {
  const missing: string[] = [path];
  let top = parentOf(path);
  let parent = space.lookup(top);
  while (!parent) {
    missing.push(top);
    top = parentOf(top);
    parent = space.lookup(top);
  }
  if (!caller.privileged) {
    // Creating under a node needs write access to the nearest existing ancestor.
    if (!(permFor(caller, parent.perms) & PERM_WRITE)) throw new XsFail('EACCES');
    if (space.ownedBy(caller.domid) + missing.length > caller.limits.nodes) throw new XsFail('ENOSPC');
  }
  const perms = inheritPerms(caller, parent.perms);
  const top0 = editable(parent);
  let up: XsNode = top0;
  const created: XsNode[] = [];
  for (let i = missing.length - 1; i >= 0; i--) {
    const p = missing[i]!;
    addChild(up, baseName(p));
    const n = newNode(i === 0 ? value : EMPTY, perms);
    created.push(n);
    up = n;
  }
  if (!caller.privileged) {
    checkNodeSize(caller, top0);
    for (const n of created) checkNodeSize(caller, n);
  }
  // C writes bottom up: the new node first, the existing ancestor last.
  for (let i = 0; i < missing.length; i++) space.put(missing[i]!, created[missing.length - 1 - i]!);
  space.put(top, top0);
  return created[created.length - 1]!;
}

const EMPTY = Buffer.alloc(0);

function inheritPerms(caller: Caller, parentPerms: NodePerms): NodePerms {
  if (caller.privileged || parentPerms[0]!.id === caller.domid) return parentPerms;
  const copy = parentPerms.slice();
  copy[0] = { id: caller.domid, perms: parentPerms[0]!.perms };
  return copy;
}

/**
 * _rm(): deletes `path` (an existing node other than "/") and its subtree. Descendants fire
 * their exact watches deepest first, in child order; the node itself fires last.
 * Answers EINVAL when the parent is missing (a corrupted store in C).
 */
export function deleteTree(space: NodeSpace, path: string, node: XsNode): 'EINVAL' | undefined {
  const parentPath = parentOf(path);
  const parent = space.lookup(parentPath);
  if (!parent) return 'EINVAL';
  // Pre-order walk: C reads every descendant before deleting it.
  const order: { path: string; node: XsNode; depthEnd: number }[] = [];
  const walk = (p: string, n: XsNode): void => {
    const idx = order.length;
    order.push({ path: p, node: n, depthEnd: 0 });
    for (const name of n.children) {
      const cp = childPath(p, name);
      const c = space.lookup(cp);
      if (c) walk(cp, c);
    }
    order[idx]!.depthEnd = order.length;
  };
  walk(path, node);
  // Post-order deletion (C's walk "exit" callback), the root of the subtree excluded.
  const post = (i: number): void => {
    const e = order[i]!;
    for (let j = i + 1; j < e.depthEnd; j = order[j]!.depthEnd) post(j);
    if (i === 0) return;
    space.remove(e.path);
    space.fire(e.path, true, e.node.perms);
  };
  post(0);
  space.remove(path);
  const p = editable(parent);
  removeChild(p, baseName(path));
  space.put(parentPath, p);
  space.fire(path, false, node.perms);
  return undefined;
}
