// How an operation sees and changes nodes. Outside a transaction it works on the committed
// store directly and watch events fire at once; inside one it works on the transaction's own
// view (transactions.ts), which records what it looked at for the commit-time conflict check.
// The tree operations in tree.ts are written once against this interface, so both paths
// perform the very same sequence of node accesses as cxenstored.

import type { NodePerms } from './permissions.js';
import type { Store, XsNode } from './store.js';

/** An errno name carried out of deep code (quota hits inside a node walk). */
export class XsFail extends Error {
  constructor(readonly errno: string) {
    super(errno);
  }
}

export interface NodeSpace {
  /** A read access: the node as this space sees it, undefined when missing. */
  lookup(path: string): XsNode | undefined;
  /** A write access: stores `node` (an unfrozen object) at `path`. */
  put(path: string, node: XsNode): void;
  /** A write access: deletes the node at `path`. */
  remove(path: string): void;
  /** Queues the watch events of a change at `path` (exact: only watches set on `path`). */
  fire(path: string, exact: boolean, perms: NodePerms): void;
  /** Nodes owned by `domid` as this space sees them (quota). */
  ownedBy(domid: number): number;
}

/**
 * Queues the events of a change. `lookUp` (a commit): C no longer holds the node and looks it
 * up for an unprivileged watcher's permission check; otherwise it has the node in hand.
 */
export type FireFn = (path: string, exact: boolean, perms: NodePerms | undefined, lookUp?: boolean) => void;

/** Operations outside any transaction: straight on the committed store. */
export class DirectSpace implements NodeSpace {
  constructor(
    private readonly store: Store,
    private readonly fireNow: FireFn,
  ) {}

  lookup(path: string): XsNode | undefined {
    return this.store.get(path);
  }

  put(path: string, node: XsNode): void {
    this.store.commit(path, node);
  }

  remove(path: string): void {
    this.store.delete(path);
  }

  fire(path: string, exact: boolean, perms: NodePerms): void {
    this.fireNow(path, exact, perms);
  }

  ownedBy(domid: number): number {
    return this.store.ownedBy(domid);
  }
}
