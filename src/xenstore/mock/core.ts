// The daemon state behind every connection: the store, the watch table, the domain registry,
// and the dispatcher that runs one request the way cxenstored's process_message() does
// (unknown type → ENOSYS, privileged-only type → EACCES, transaction lookup → ENOENT, then
// the handler; events a request causes are queued before its reply).

import type { Logger } from 'pino';
import { DirectSpace, type FireFn, XsFail } from './access.js';
import { XsType } from '../wire.js';
import { MockConnection, PAYLOAD_MAX, type RequestHandler, type Sink } from './connection.js';
import { DomainRegistry } from './domains.js';
import { OPS, type Result } from './handlers.js';
import { DEFAULT_PERMS, type NodePerms, PERM_READ, permFor } from './permissions.js';
import { Store, parentOf } from './store.js';
import { DEFAULT_LIMITS, type Limits } from './tree.js';
import { type Watch, WatchTable } from './watches.js';

const ERRNO_PAYLOAD = new Map<string, Buffer>();
function errnoPayload(name: string): Buffer {
  let b = ERRNO_PAYLOAD.get(name);
  if (!b) ERRNO_PAYLOAD.set(name, (b = Buffer.from(`${name}\0`, 'latin1')));
  return b;
}

export interface CoreOptions {
  limits?: Partial<Limits>;
  log?: Logger;
}

export class MockCore implements RequestHandler {
  readonly store = new Store();
  readonly watches = new WatchTable<MockConnection>();
  readonly domains: DomainRegistry;
  readonly limits: Limits;
  readonly log: Logger | undefined;
  /** Permissions of the two special watch names (SET_PERMS `@…`). */
  readonly specialPerms = new Map<string, NodePerms>([
    ['@introduceDomain', DEFAULT_PERMS],
    ['@releaseDomain', DEFAULT_PERMS],
  ]);
  readonly connections = new Set<MockConnection>();
  /** Runs once the current request's reply is queued (WATCH's initial event). */
  afterReply: (() => void) | undefined;
  readonly fireFn: FireFn = (path, exact, perms, lookUp) => this.fire(path, exact, perms, lookUp);

  private readonly direct: DirectSpace;
  /**
   * Connections with output to write, in the order they got it, each once (its `dirty` flag):
   * an array and a flag rather than a Set, as this is touched on every request.
   */
  private readonly dirty: MockConnection[] = [];
  private readonly watchesPerDomain = new Map<number, number>();
  private nextConnId = 1;
  private processing = 0;
  private flushing = false;

  constructor(options: CoreOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = options.log;
    this.direct = new DirectSpace(this.store, this.fireFn);
    this.domains = new DomainRegistry({
      fireSpecial: (name) => {
        this.fire(name, false, undefined);
        if (this.processing === 0) this.flush();
      },
      dropDomainConnections: (domid) => {
        for (const c of [...this.connections]) if (!c.privileged && c.domid === domid) c.close();
      },
    });
  }

  /** A new connection; privileged unless it belongs to a domain other than 0. */
  open(domid: number, sink: Sink): MockConnection {
    const conn = new MockConnection(this.nextConnId++, domid, domid === 0, this.limits, (d) => this.domains.record(d)?.target, sink, this);
    this.connections.add(conn);
    return conn;
  }

  process(conn: MockConnection, type: number, reqId: number, txId: number, payload: Buffer): void {
    const op = type < OPS.length ? OPS[type] : undefined;
    let result: Result;
    this.processing++;
    try {
      if (!op) {
        this.log?.debug({ type }, 'client unknown operation');
        result = 'ENOSYS';
      } else if (op.priv && !conn.privileged) {
        result = 'EACCES';
      } else {
        let tx;
        if (!op.notid && txId !== 0) tx = conn.transactions.get(txId);
        if (!op.notid && txId !== 0 && !tx) {
          result = 'ENOENT';
        } else {
          conn.current = tx;
          try {
            result = op.fn(this, conn, tx ?? this.direct, payload);
          } catch (err) {
            if (!(err instanceof XsFail)) throw err;
            result = err.errno;
          } finally {
            conn.current = undefined;
          }
        }
      }
      if (typeof result === 'string') conn.reply(XsType.ERROR, reqId, txId, errnoPayload(result));
      else if (result.length > PAYLOAD_MAX) conn.reply(XsType.ERROR, reqId, txId, errnoPayload('E2BIG'));
      else conn.reply(type, reqId, txId, result);
      this.markDirty(conn);
      const after = this.afterReply;
      if (after) {
        this.afterReply = undefined;
        after();
      }
    } finally {
      this.processing--;
    }
  }

  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // A connection that gets output while this runs is appended and written in this loop.
      for (let c = this.dirty.shift(); c; c = this.dirty.shift()) {
        c.dirty = false;
        c.flush();
      }
    } finally {
      this.flushing = false;
    }
  }

  private markDirty(conn: MockConnection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.dirty.push(conn);
  }

  /** True while a request runs or output is being written (input must then wait its turn). */
  get busy(): boolean {
    return this.processing > 0 || this.flushing;
  }

  closed(conn: MockConnection): void {
    for (const w of [...conn.watches]) this.removeWatch(w);
    conn.transactions.clear();
    this.connections.delete(conn);
    // If it is still in `dirty`, its flush() does nothing now that it is closed.
  }

  // ---- watches ----

  addWatch(conn: MockConnection, node: string, token: string, relative: boolean): Watch<MockConnection> {
    const w = this.watches.add(conn, node, token, relative);
    conn.watches.add(w);
    if (!conn.privileged) this.watchesPerDomain.set(conn.domid, this.watchCount(conn.domid) + 1);
    return w;
  }

  removeWatch(w: Watch<MockConnection>): void {
    this.watches.remove(w);
    w.owner.watches.delete(w);
    if (!w.owner.privileged) this.watchesPerDomain.set(w.owner.domid, this.watchCount(w.owner.domid) - 1);
  }

  watchCount(domid: number): number {
    return this.watchesPerDomain.get(domid) ?? 0;
  }

  /** The event every new watch gets right after its OK, whatever the watcher may read (C's do_watch()). */
  initialEvent(w: Watch<MockConnection>): void {
    const conn = w.owner;
    if (conn.event(w.relative ? w.node.slice(conn.home.length + 1) : w.node, w.token)) this.markDirty(conn);
  }

  /** fire_watches(): queues the events of a change at `path` on every matching watch. */
  fire(path: string, exact: boolean, perms: NodePerms | undefined, lookUp = false): void {
    const matches = this.watches.match(path, exact);
    if (matches.length === 0) return;
    const special = path.charCodeAt(0) === 0x40;
    for (const w of matches) {
      const conn = w.owner;
      if (conn.closedFlag) continue;
      if (!conn.privileged) {
        if (special) {
          const sp = this.specialPerms.get(path);
          if (!sp || !(permFor(conn, sp) & PERM_READ)) continue;
        } else if (!this.visible(conn, path, perms, lookUp)) continue;
      }
      const eventPath = w.relative ? path.slice(conn.home.length + 1) : path;
      if (conn.event(eventPath, w.token)) this.markDirty(conn);
    }
  }

  /**
   * watch_permitted(): an unprivileged watcher sees a change if it may read the node — by the
   * permissions the change passes (the old ones for SET_PERMS), or those of the node itself —
   * or its parent. A node gone from the store is checked by the passed permissions when C
   * held it (the RM walk), and seen by nobody when C had to look it up (a commit).
   */
  private visible(conn: MockConnection, path: string, perms: NodePerms | undefined, lookUp: boolean): boolean {
    if (perms && permFor(conn, perms) & PERM_READ) return true;
    const node = this.store.get(path);
    if (node) {
      if (permFor(conn, node.perms) & PERM_READ) return true;
    } else if (lookUp || !perms) {
      return false;
    }
    const parent = this.store.get(parentOf(path));
    return parent !== undefined && (permFor(conn, parent.perms) & PERM_READ) !== 0;
  }

  /** INTRODUCE of a known domain: its connections lose their watches and transactions. */
  resetDomainConnections(domid: number): void {
    for (const c of this.connections) {
      if (c.privileged || c.domid !== domid) continue;
      for (const w of [...c.watches]) this.removeWatch(w);
      c.transactions.clear();
    }
  }
}
