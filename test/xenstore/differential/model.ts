// The daemon-independent side of a differential run: which transactions are live on which
// connection, which connections hold watches, and how a symbolic op becomes a request. It is
// advanced from the ops alone (never from a reply), so every daemon gets the same requests.

import { args, T, wv } from '../mock-raw-client.js';
import { CONNS, type Op, type PathSpec, type TxRef } from './ops.js';

/** Which transaction a request names: none (0), a slot (per daemon: its own id), or BOGUS_TX. */
export type TxSel = { readonly kind: 'zero' } | { readonly kind: 'bogus' } | { readonly kind: 'slot'; readonly owner: number; readonly index: number };

export interface Request {
  readonly conn: number;
  readonly type: number;
  readonly payload: Buffer;
  readonly tx: TxSel;
  /** A START that opens a new slot: each daemon records the id it answers. */
  readonly opensSlot: boolean;
  /** Not a request: replace the connection by a new one first, then drain as usual. */
  readonly reconnect?: boolean;
}

const HOME = '/local/domain/0';

export class Model {
  /** Per connection, every transaction started, in order: live until END or RESET_WATCHES. */
  readonly slots: { live: boolean }[][];
  /** Connections that have sent a WATCH: only they can receive events. */
  readonly watched = new Set<number>();

  /**
   * `name` is the run's base directory under dom0's home (so relative paths reach it too);
   * `conns`: CONNS, or CONNS + 1 with the guest as the last.
   */
  constructor(
    readonly name: string,
    readonly conns: number = CONNS,
  ) {
    this.slots = Array.from({ length: conns }, () => []);
  }

  get base(): string {
    return `${HOME}/${this.name}`;
  }

  path(p: PathSpec): string {
    const tail = p.form === 'fixed' ? '' : p.segs.map((s) => `/${s}`).join('');
    switch (p.form) {
      case 'fixed':
        return p.path;
      case 'abs':
        return this.base + tail;
      case 'rel':
        return this.name + tail;
      case 'bad':
        if (p.how === 'trailing') return `${this.base}${tail}/`;
        if (p.how === 'double') return `${this.base}/${tail || '/a'}`;
        return `${this.base}${tail}/x y`;
    }
  }

  private newest(conn: number, live: boolean): TxSel | undefined {
    const s = this.slots[conn]!;
    for (let i = s.length - 1; i >= 0; i--) if (s[i]!.live === live) return { kind: 'slot', owner: conn, index: i };
    return undefined;
  }

  tx(conn: number, ref: TxRef): TxSel {
    switch (ref) {
      case 'none':
        return { kind: 'zero' };
      case 'live':
        return this.newest(conn, true) ?? { kind: 'zero' };
      case 'ended':
        return this.newest(conn, false) ?? { kind: 'bogus' };
      case 'other':
        return this.newest((conn + 1) % this.conns, true) ?? { kind: 'bogus' };
      case 'bogus':
        return { kind: 'bogus' };
    }
  }

  /** The request for `op`; advances the model as every daemon will (START always opens, END always closes). */
  request(op: Op): Request {
    const r = this.build(op);
    this.advance(op, r.tx);
    return r;
  }

  private build(op: Op): Request {
    const req = (type: number, payload: Buffer, tx: TxSel = { kind: 'zero' }, opensSlot = false): Request => ({ conn: op.conn, type, payload, tx, opensSlot });
    switch (op.kind) {
      case 'read':
        return req(T.READ, args(this.path(op.path)), this.tx(op.conn, op.tx));
      case 'mkdir':
        return req(T.MKDIR, args(this.path(op.path)), this.tx(op.conn, op.tx));
      case 'rm':
        return req(T.RM, args(this.path(op.path)), this.tx(op.conn, op.tx));
      case 'directory':
        return req(T.DIRECTORY, args(this.path(op.path)), this.tx(op.conn, op.tx));
      case 'getperms':
        return req(T.GET_PERMS, args(this.path(op.path)), this.tx(op.conn, op.tx));
      case 'dirpart':
        return req(T.DIRECTORY_PART, args(this.path(op.path), String(op.offset)), this.tx(op.conn, op.tx));
      case 'write':
        return req(T.WRITE, wv(this.path(op.path), op.value), this.tx(op.conn, op.tx));
      case 'setperms':
        return req(T.SET_PERMS, args(this.path(op.path), ...op.perms), this.tx(op.conn, op.tx));
      case 'watch':
        return req(T.WATCH, args(this.path(op.path), op.token), this.tx(op.conn, op.tx));
      case 'unwatch':
        return req(T.UNWATCH, args(this.path(op.path), op.token), this.tx(op.conn, op.tx));
      case 'start': {
        const tx = this.tx(op.conn, op.tx);
        return req(T.TRANSACTION_START, args(''), tx, tx.kind === 'zero');
      }
      case 'end':
        return req(T.TRANSACTION_END, args(op.commit ? 'T' : 'F'), this.tx(op.conn, op.tx));
      case 'reset':
        return req(T.RESET_WATCHES, args(''));
      case 'reconnect':
        return { ...req(T.GET_DOMAIN_PATH, args('0')), reconnect: true };
    }
  }

  private advance(op: Op, tx: TxSel): void {
    if (op.kind === 'start' && tx.kind === 'zero') this.slots[op.conn]!.push({ live: true });
    if (op.kind === 'end' && tx.kind === 'slot' && tx.owner === op.conn) this.slots[op.conn]![tx.index]!.live = false;
    if (op.kind === 'reset' || op.kind === 'reconnect') for (const s of this.slots[op.conn]!) s.live = false;
    if (op.kind === 'watch') this.watched.add(op.conn);
  }

  /** Connections to drain after an op on `conn`: it, and every one that may hold a watch. */
  syncSet(conn: number): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.conns; c++) if (c === conn || this.watched.has(c)) out.push(c);
    return out;
  }
}
