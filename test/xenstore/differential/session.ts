// One daemon's side of a differential run: CONNS raw socket connections (plus, in the guest
// file, the guest's connection, which outlives runs: its transaction ids keep counting, alike
// on both daemons as long as every earlier run matched), the transaction ids this daemon
// handed out, and each request's exact exchange written down as a Step.

import { args, RawClient, type RawMessage, T } from '../mock-raw-client.js';
import { BOGUS_TX, CONNS, GUEST_DOMID } from './ops.js';
import type { Request, TxSel } from './model.js';

/** What one request gave on one daemon. */
export interface Step {
  /** Events on the request's connection before its reply (cxenstored queues them first). */
  readonly before: readonly string[];
  readonly reply: string;
  /** Per drained connection: the events that came after the reply, up to a round trip. */
  readonly after: readonly (readonly [conn: number, events: readonly string[]])[];
  /** The reply as received (for comparisons that tolerate documented differences). */
  readonly raw: { readonly type: number; readonly txId: number; readonly payload: string };
}

const text = (m: RawMessage): string => JSON.stringify(m.payload.toString('latin1'));
const eventText = (m: RawMessage): string => (m.type === T.WATCH_EVENT && m.reqId === 0 && m.txId === 0 ? text(m) : `NOT AN EVENT ${m.type} r${m.reqId} t${m.txId} ${text(m)}`);

export class Session {
  /** Per connection, slot index → the id this daemon answered to that START (NaN: it refused). */
  private readonly ids: number[][] = Array.from({ length: CONNS + 1 }, () => []);
  /**
   * DIRECTORY_PART's generation is the daemon's global change counter, whose absolute value
   * depends on everything the daemon did since it started (other runs, START, internal
   * writes). Only its equalities mean something to a client ("unchanged since"), so each
   * distinct value becomes its order of first appearance in the run.
   */
  private readonly gens = new Map<string, number>();
  private reqId = 1;

  private constructor(
    readonly name: string,
    private readonly socketPath: string,
    private readonly clients: RawClient[],
    private readonly syncRounds: number,
    private readonly guest: RawClient | undefined,
  ) {}

  /**
   * `syncRounds`: round trips per drained connection. One is enough for cxenstored and the
   * mock (they queue a change's events before anything processed later); oxenstored moves
   * queued events to a connection's output only in a later turn of its main loop, so an
   * event can trail the next reply on that connection.
   */
  static async open(name: string, socketPath: string, base: string, syncRounds = 1, guest?: RawClient): Promise<Session> {
    const clients: RawClient[] = [];
    for (let i = 0; i < CONNS; i++) clients.push(await connectRetrying(socketPath));
    const s = new Session(name, socketPath, clients, syncRounds, guest);
    // The base exists before the run, so RM of the base itself answers like any other node;
    // a guest may read and write it (dom0 owns it).
    const setup: [number, Buffer][] = [[T.MKDIR, args(base)]];
    if (guest) setup.push([T.SET_PERMS, args(base, 'n0', `b${GUEST_DOMID}`)]);
    for (const [type, payload] of setup) {
      const r = await clients[0]!.request(type, payload, { reqId: 0 });
      if (r.reply.type !== type) throw new Error(`${name}: setting up ${base} failed: ${text(r.reply)}`);
    }
    if (guest) {
      // The guest's ring outlives runs: its watches and transactions go before each run.
      await guest.request(T.RESET_WATCHES, args(''), { reqId: 0 });
      clients.push(guest);
    }
    return s;
  }

  private txId(sel: TxSel): number {
    if (sel.kind === 'zero') return 0;
    if (sel.kind === 'bogus') return BOGUS_TX;
    const id = this.ids[sel.owner]![sel.index];
    return id === undefined || Number.isNaN(id) ? BOGUS_TX : id;
  }

  private replyText(m: RawMessage): string {
    let payload = m.payload;
    let gen = '';
    if (m.type === T.DIRECTORY_PART) {
      const nul = payload.indexOf(0);
      const g = payload.toString('latin1', 0, nul);
      let n = this.gens.get(g);
      if (n === undefined) this.gens.set(g, (n = this.gens.size));
      gen = `gen#${n} `;
      payload = payload.subarray(nul);
    }
    return `${m.type} r${m.reqId} t${m.txId} len${payload.length} ${gen}${JSON.stringify(payload.toString('latin1'))}`;
  }

  async run(req: Request, sync: readonly number[]): Promise<Step> {
    if (req.reconnect) {
      // A new connection numbers its transactions from 1 again; old slots keep their ids.
      this.clients[req.conn]!.close();
      this.clients[req.conn] = await connectRetrying(this.socketPath);
    }
    const c = this.clients[req.conn]!;
    const r = await c.request(req.type, req.payload, { txId: this.txId(req.tx), reqId: this.reqId++ });
    if (req.opensSlot) this.ids[req.conn]!.push(r.reply.type === T.TRANSACTION_START ? Number.parseInt(r.reply.payload.toString('latin1'), 10) : Number.NaN);
    const after: [number, string[]][] = [];
    const syncId = this.reqId;
    for (const j of sync) {
      const events: string[] = [];
      for (let round = 0; round < this.syncRounds; round++) {
        // A round trip: everything the daemon queued for this connection before it is in.
        // Its req_id does not depend on the rounds, so replies compare across daemons.
        const s = await this.clients[j]!.request(T.GET_DOMAIN_PATH, args('0'), { reqId: syncId + j });
        events.push(...s.events.map(eventText));
        if (s.reply.type !== T.GET_DOMAIN_PATH) events.push(`SYNC FAILED ${this.replyText(s.reply)}`);
      }
      after.push([j, events]);
    }
    this.reqId += this.clients.length;
    const raw = { type: r.reply.type, txId: r.reply.txId, payload: r.reply.payload.toString('latin1') };
    return { before: r.events.map(eventText), reply: this.replyText(r.reply), after, raw };
  }

  /** Removes the run's base and closes every connection (their transactions and watches go). */
  async close(base: string): Promise<void> {
    try {
      await this.clients[0]!.request(T.RM, args(base), { reqId: 0 });
      if (this.guest) await this.guest.request(T.RESET_WATCHES, args(''), { reqId: 0 });
    } finally {
      for (const c of this.clients) if (c !== this.guest) c.close();
    }
  }
}

/** cxenstored listens with a backlog of 1: a burst of connects meets EAGAIN; try again shortly. */
async function connectRetrying(path: string): Promise<RawClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await RawClient.socket(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 200) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** The step as lines, for a readable diff. */
export function stepLines(s: Step): string[] {
  return [...s.before.map((e) => `  event ${e}`), `  < ${s.reply}`, ...s.after.flatMap(([j, ev]) => ev.map((e) => `  c${j} event ${e}`))];
}
