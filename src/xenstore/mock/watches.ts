// The watch table. cxenstored scans every connection's watch list on every change; here the
// watches are indexed by path, so a change at P costs one map lookup per ancestor of P, and the
// matches are put back into registration order (C fires a connection's watches in the order
// they were added, and per connection is the only order a client can observe).

export interface WatchOwner {
  readonly connId: number;
}

export interface Watch<O extends WatchOwner = WatchOwner> {
  readonly owner: O;
  /** Absolute node name, or an `@` name. */
  readonly node: string;
  /** Token bytes (latin1 string, so any byte but NUL survives). */
  readonly token: string;
  /** Registered with a relative name: events strip `home/` from paths. */
  readonly relative: boolean;
  /** Global registration order. */
  readonly seq: number;
}

const NO_WATCHES: readonly never[] = Object.freeze([]);

export class WatchTable<O extends WatchOwner> {
  private readonly byNode = new Map<string, Watch<O>[]>();
  private seq = 0;
  private total = 0;

  get size(): number {
    return this.total;
  }

  find(owner: O, node: string, token: string): Watch<O> | undefined {
    const list = this.byNode.get(node);
    if (!list) return undefined;
    for (const w of list) if (w.owner === owner && w.token === token) return w;
    return undefined;
  }

  add(owner: O, node: string, token: string, relative: boolean): Watch<O> {
    const w: Watch<O> = { owner, node, token, relative, seq: this.seq++ };
    const list = this.byNode.get(node);
    if (list) list.push(w);
    else this.byNode.set(node, [w]);
    this.total++;
    return w;
  }

  remove(w: Watch<O>): void {
    const list = this.byNode.get(w.node);
    if (!list) return;
    const i = list.indexOf(w);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byNode.delete(w.node);
    this.total--;
  }

  /**
   * Watches a change at `path` fires, in registration order. Exact: only watches set on
   * `path` itself. Otherwise C's is_child(): the watch's node is `/`, `path`, or an ancestor.
   */
  match(path: string, exact: boolean): readonly Watch<O>[] {
    // Every change asks, most often with no watch set at all: answer that without allocating.
    if (this.total === 0) return NO_WATCHES;
    const out: Watch<O>[] = [];
    const own = this.byNode.get(path);
    if (own) for (const w of own) out.push(w);
    if (exact) return out;
    let lists = own ? 1 : 0;
    if (path !== '/') {
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
        const l = this.byNode.get(path.slice(0, i));
        if (l) {
          for (const w of l) out.push(w);
          lists++;
        }
      }
      const root = this.byNode.get('/');
      if (root) {
        for (const w of root) out.push(w);
        lists++;
      }
    }
    if (lists > 1) out.sort((a, b) => a.seq - b.seq);
    return out;
  }
}
