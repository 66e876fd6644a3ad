// The committed node tree of the mock xenstored: a flat map from absolute path to node, with
// cxenstored's per-node generation counter (the basis of its transaction conflict rule and of
// DIRECTORY_PART's `gen`), children kept in creation order, and per-owner node counts for the
// unprivileged-domain quota.
//
// Nodes are copy-on-write: a transaction that looks at a node marks it `frozen` and keeps the
// object as its private view; a later committed change to a frozen node replaces the object
// instead of mutating it. Unfrozen nodes are mutated in place, so the common path allocates
// nothing but the new value.

import { DEFAULT_PERMS, type NodePerms } from './permissions.js';

export interface XsNode {
  value: Buffer;
  perms: NodePerms;
  /** Child names in creation order (a re-created child goes to the end, as in C). */
  children: Set<string>;
  /**
   * The child list when it names a child twice (else undefined): a transaction's stale copy
   * of a parent gets a child appended that another connection had meanwhile added, as C's
   * add_child() does. Such a copy can never commit (the parent changed: EAGAIN), but
   * DIRECTORY and RM inside the transaction see the duplicate.
   */
  dupChildren: string[] | undefined;
  /** Sum of (name length + 1) over children: C's `childlen`. */
  childBytes: number;
  /** C's node generation. Committed nodes only; ABSENT for "did not exist". */
  gen: number;
  /** Shared with a transaction's view: must be cloned before any change. */
  frozen: boolean;
  /** Cached `name\0name\0…` list (DIRECTORY), dropped on any child change. */
  childList: Buffer | undefined;
  /** Owner this node is counted for in the store's quota counts (-1: not counted). */
  countedOwner: number;
}

/** Generation recorded for a node that did not exist (C: NO_GENERATION). */
export const ABSENT = -1;

const EMPTY = Buffer.alloc(0);

export function newNode(value: Buffer, perms: NodePerms): XsNode {
  return { value, perms, children: new Set(), dupChildren: undefined, childBytes: 0, gen: 0, frozen: false, childList: undefined, countedOwner: -1 };
}

/** A private, unfrozen copy (the children set is copied; values and perms are immutable). */
export function cloneNode(n: XsNode): XsNode {
  return {
    value: n.value,
    perms: n.perms,
    children: new Set(n.children),
    dupChildren: n.dupChildren?.slice(),
    childBytes: n.childBytes,
    gen: n.gen,
    frozen: false,
    childList: n.childList,
    countedOwner: n.countedOwner,
  };
}

/** The node itself when it may be changed in place, a private copy when it is shared. */
export function editable(n: XsNode): XsNode {
  return n.frozen ? cloneNode(n) : n;
}

export function addChild(n: XsNode, name: string): void {
  if (n.dupChildren) n.dupChildren.push(name);
  else if (n.children.has(name)) n.dupChildren = [...n.children, name];
  n.children.add(name);
  // Names are valid node-name characters, one byte each.
  n.childBytes += name.length + 1;
  n.childList = undefined;
}

/** Removes the first entry naming `name` (C's delete_child() / rm_from_parent()). */
export function removeChild(n: XsNode, name: string): void {
  const dups = n.dupChildren;
  if (dups) {
    const i = dups.indexOf(name);
    if (i < 0) return;
    dups.splice(i, 1);
    if (!dups.includes(name)) n.children.delete(name);
  } else if (!n.children.delete(name)) {
    return;
  }
  n.childBytes -= name.length + 1;
  n.childList = undefined;
}

/** Child names in list order, duplicates included. */
export function childNames(n: XsNode): Iterable<string> {
  return n.dupChildren ?? n.children;
}

/** `name\0name\0…` in creation order, cached on the node. */
export function childList(n: XsNode): Buffer {
  if (n.childList) return n.childList;
  if (n.children.size === 0) return (n.childList = EMPTY);
  const buf = Buffer.allocUnsafe(n.childBytes);
  let off = 0;
  // Byte by byte: a buf.write() per name (a native call each) cost more than the whole loop.
  for (const name of childNames(n)) {
    for (let i = 0; i < name.length; i++) buf[off++] = name.charCodeAt(i);
    buf[off++] = 0;
  }
  n.childList = buf;
  return buf;
}

/** Parent path of an absolute path other than "/". */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export class Store {
  private readonly nodes = new Map<string, XsNode>();
  private readonly owned = new Map<number, number>();
  /** C's global `generation` counter. */
  private generation = 0;

  constructor() {
    // cxenstored 4.17's initial tree: `/`, `/tool`, `/tool/xenstored`, all n0 and empty.
    const root = newNode(EMPTY, DEFAULT_PERMS);
    const tool = newNode(EMPTY, DEFAULT_PERMS);
    addChild(root, 'tool');
    addChild(tool, 'xenstored');
    this.commit('/', root);
    this.commit('/tool', tool);
    this.commit('/tool/xenstored', newNode(EMPTY, DEFAULT_PERMS));
  }

  get(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  has(path: string): boolean {
    return this.nodes.has(path);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Next value of the global generation counter. */
  nextGeneration(): number {
    return this.generation++;
  }

  /** Stores a changed or new node with a fresh generation, keeping owner counts right. */
  commit(path: string, node: XsNode): void {
    const old = this.nodes.get(path);
    if (old && old !== node) this.countOwner(old, -1);
    else if (old === node && node.countedOwner !== node.perms[0]!.id) this.countOwner(node, -1);
    if (old !== node || node.countedOwner < 0) {
      this.nodes.set(path, node);
      this.countOwner(node, +1);
    }
    node.gen = this.generation++;
  }

  delete(path: string): void {
    const old = this.nodes.get(path);
    if (!old) return;
    this.countOwner(old, -1);
    this.nodes.delete(path);
  }

  /** Nodes owned by a domain (the unprivileged "nodes" quota). */
  ownedBy(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  /** Every path, parents before children (debugging and tests). */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  private countOwner(node: XsNode, delta: 1 | -1): void {
    const owner = delta > 0 ? node.perms[0]!.id : node.countedOwner;
    if (owner < 0) return;
    const n = (this.owned.get(owner) ?? 0) + delta;
    if (n === 0) this.owned.delete(owner);
    else this.owned.set(owner, n);
    node.countedOwner = delta > 0 ? owner : -1;
  }
}
