// Node lookups, creation and deletion with cxenstored 4.17's access pattern and permission
// rules, written against NodeSpace so that inside a transaction exactly the nodes C reads are
// recorded for the conflict check (reference §2.6, "which accesses are reads").

import { XsFail, type NodeSpace } from './access.js';
import { type Accessor, type NodePerms, PERM_WRITE, permFor } from './permissions.js';
import { addChild, baseName, childNames, childPath, editable, newNode, parentOf, removeChild, type XsNode } from './store.js';

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
 * ENOENT (or EACCES) when the caller has any of `perm` on the nearest existing ancestor, and
 * EACCES otherwise (errno_from_parents: `parent_perm & perm`, so write access to the parent
 * is enough to learn that a node to be written is missing); that also reads those ancestors.
 */
export function getNode(space: NodeSpace, caller: Caller, path: string, perm: number): XsNode | 'ENOENT' | 'EACCES' {
  const node = space.lookup(path);
  if (node && (caller.privileged || (permFor(caller, node.perms) & perm) === perm)) return node;
  const errnum = node ? 'EACCES' : 'ENOENT';
  if (path === '/') return errnum;
  const anc = firstExistingAncestor(space, path);
  if (caller.privileged || permFor(caller, anc.node.perms) & perm) return errnum;
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
 * rm_node(): deletes `path` (an existing node other than "/") and its subtree the way
 * cxenstored 4.17's walk_node_tree() does. The parent is read first; then a depth-first walk
 * reads each node, and once a node's children are done deletes it and fires its watches
 * (exact for descendants, at-or-above for the root), after which the walk takes the child out
 * of its parent's list and writes the parent. The root's parent is updated last.
 *
 * Inside a transaction the tree seen may be stale (a node read before another connection
 * removed it or a child): a listed child that cannot be read stops the walk, and a parent
 * that no longer lists the root fails delete_child(); C answers EIO in both cases, keeping
 * whatever the walk had already deleted (and its events) in the transaction.
 */
export function deleteTree(space: NodeSpace, path: string, node: XsNode): 'EINVAL' | 'EIO' | undefined {
  const parentPath = parentOf(path);
  const parent = space.lookup(parentPath);
  if (!parent) return 'EINVAL';
  // Returns false when the walk must stop (a listed child is missing). C writes a node
  // without each child as soon as that child is gone (rm_from_parent()); that write can only
  // be seen when the walk stops early (the node is deleted otherwise), so it is done then.
  const walk = (p: string, n: XsNode): boolean => {
    let cur: XsNode | undefined;
    for (const name of [...childNames(n)]) {
      const cp = childPath(p, name);
      const c = space.lookup(cp);
      if (!c || !walk(cp, c)) {
        if (cur) space.put(p, cur);
        return false;
      }
      space.remove(cp);
      space.fire(cp, true, c.perms);
      cur ??= editable(n);
      removeChild(cur, name);
    }
    return true;
  };
  if (!walk(path, node)) return 'EIO';
  space.remove(path);
  space.fire(path, false, node.perms);
  const name = baseName(path);
  if (!parent.children.has(name)) return 'EIO';
  const p = editable(parent);
  removeChild(p, name);
  space.put(parentPath, p);
  return undefined;
}
