// A transaction with cxenstored 4.17's semantics (reference §2.6): no snapshot at START; the
// first access to a node captures its committed state (the node object is frozen and shared,
// or "absent") and, for a read-type access, the generation to check at commit; later accesses
// see the transaction's own copy. `END T` fails with EAGAIN when any recorded generation (or
// absence) changed, and otherwise applies every change, giving each changed node a new
// generation, then fires the held-back watch events in first-access order.

import { XsFail, type FireFn, type NodeSpace } from './access.js';
import type { NodePerms } from './permissions.js';
import { ABSENT, type Store, type XsNode } from './store.js';

/** Recorded for nodes whose first access was a write: nothing to check at commit. */
const NO_CHECK = -2;

interface Entry {
  /** The node as the transaction sees it; null when missing. */
  node: XsNode | null;
  /** Committed generation seen at first access, ABSENT, or NO_CHECK. */
  readonly seen: number;
  /** Changed by the transaction: applied at commit. */
  modified: boolean;
  /** The node existed (committed) at first access. */
  readonly existed: boolean;
  /** 0: no event; 1: event for watches at or above; 2: exact watches only. */
  fire: 0 | 1 | 2;
  /** Permissions at first access (C keeps them for the commit's events), if it existed. */
  readonly perms: NodePerms | undefined;
}

export class Transaction implements NodeSpace {
  private readonly entries = new Map<string, Entry>();
  /** Owned-node count changes made inside the transaction, per owner. */
  private readonly ownedDelta = new Map<number, number>();

  constructor(
    readonly id: number,
    private readonly store: Store,
    /** Nodes this transaction may touch; 0 = unlimited (privileged connections). */
    private readonly nodeLimit: number,
  ) {}

  private capture(path: string, check: boolean): Entry {
    let e = this.entries.get(path);
    if (e) return e;
    if (this.nodeLimit > 0 && this.entries.size >= this.nodeLimit) throw new XsFail('ENOSPC');
    const committed = this.store.get(path);
    if (committed) committed.frozen = true;
    e = {
      node: committed ?? null,
      seen: check ? (committed ? committed.gen : ABSENT) : NO_CHECK,
      modified: false,
      existed: committed !== undefined,
      fire: 0,
      perms: committed?.perms,
    };
    this.entries.set(path, e);
    return e;
  }

  lookup(path: string): XsNode | undefined {
    return this.capture(path, true).node ?? undefined;
  }

  put(path: string, node: XsNode): void {
    const e = this.capture(path, false);
    const before = e.node;
    if (before !== node) {
      if (before) this.delta(before.perms[0]!.id, -1);
      this.delta(node.perms[0]!.id, +1);
    }
    // C's access_node(): every write, in a transaction too, takes a new generation (what
    // DIRECTORY_PART shows inside the transaction); the commit gives another.
    node.gen = this.store.nextGeneration();
    e.node = node;
    e.modified = true;
  }

  remove(path: string): void {
    const e = this.capture(path, false);
    if (e.node) this.delta(e.node.perms[0]!.id, -1);
    e.node = null;
    e.modified = true;
  }

  fire(path: string, exact: boolean, _perms: NodePerms): void {
    const e = this.capture(path, false);
    // queue_watches(): a non-exact event replaces an exact one, never the other way round.
    if (e.fire === 0 || !exact) e.fire = exact ? 2 : 1;
  }

  ownedBy(domid: number): number {
    return this.store.ownedBy(domid) + (this.ownedDelta.get(domid) ?? 0);
  }

  /** Number of distinct nodes accessed so far. */
  get touched(): number {
    return this.entries.size;
  }

  /**
   * `END T`: answers false (EAGAIN) when a node the transaction read has changed since;
   * otherwise applies everything and fires the held events through `fire`.
   */
  commit(fire: FireFn): boolean {
    for (const [path, e] of this.entries) {
      if (e.seen === NO_CHECK) continue;
      const now = this.store.get(path);
      if ((now ? now.gen : ABSENT) !== e.seen) return false;
    }
    // finalize_transaction(): node by node in first-access order, the change is applied and
    // its events fired (an unprivileged watcher's check sees the store as far as applied).
    for (const [path, e] of this.entries) {
      if (e.modified) {
        if (e.node) this.store.commit(path, e.node);
        else this.store.delete(path);
      }
      // C fires with the permissions seen at first access; a node that did not exist then is
      // looked up in the committed store instead, so one the transaction created and deleted
      // again fires nothing, while one it deleted and created again does (observed on 4.17).
      if (e.fire !== 0 && (e.existed || e.node)) fire(path, e.fire === 2, e.perms, true);
    }
    return true;
  }

  private delta(owner: number, d: number): void {
    this.ownedDelta.set(owner, (this.ownedDelta.get(owner) ?? 0) + d);
  }
}
