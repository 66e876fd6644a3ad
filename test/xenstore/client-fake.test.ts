// The client's edge cases against a tiny scripted server, where a real daemon cannot be made to
// misbehave on demand: replies out of order, watch events before or after the reply they follow
// from, replies over 4096 bytes, a connection dropped mid-request, odd frames.

import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isError, E_ABORTED } from '../../src/errors.js';
import { WireClient } from '../../src/xenstore/client.js';
import { E_XS_DISCONNECTED, E_XS_PAYLOAD_TOO_LARGE, E_XS_QUOTA, E_XS_TX_CONFLICT, E_XS_UNKNOWN, EAGAIN, ENOENT } from '../../src/xenstore/errors.js';
import { args, encodeFrame, FrameDecoder, splitStrings, XsType, type Frame } from '../../src/xenstore/wire.js';

/** The server end of an in-memory connection: records requests, sends whatever a test says. */
class FakeServer {
  readonly frames: Frame[] = [];
  #decoder = new FrameDecoder();
  #waiters: (() => void)[] = [];
  readonly client: Duplex;
  #peer!: Duplex;

  constructor() {
    // Two cross-wired halves: what one writes the other reads.
    this.client = new Duplex({
      read() {},
      write: (chunk: Buffer, _enc, cb) => {
        for (const f of this.#decoder.push(chunk)) this.frames.push(f);
        for (const w of this.#waiters.splice(0)) w();
        cb();
      },
      // The client closing its side: the connection is gone.
      final: (cb) => {
        cb();
        queueMicrotask(() => this.client.destroy());
      },
    });
    this.#peer = this.client;
  }

  /** Resolves once `n` requests have arrived. */
  async received(n: number): Promise<Frame[]> {
    while (this.frames.length < n) await new Promise<void>((r) => this.#waiters.push(r));
    return this.frames;
  }

  send(type: number, reqId: number, txId: number, payload: Buffer | string): void {
    this.#peer.push(encodeFrame(type, reqId, txId, typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload));
  }

  reply(req: Frame, payload: Buffer | string): void {
    this.send(req.type, req.reqId, req.txId, payload);
  }

  error(req: Frame, errno: string): void {
    this.send(XsType.ERROR, req.reqId, req.txId, `${errno}\0`);
  }

  event(path: string, token: string, reqId = 0): void {
    this.send(XsType.WATCH_EVENT, reqId, 0, args(path, token));
  }

  /** The daemon goes away: the client sees end-of-stream. */
  hangUp(): void {
    this.#peer.push(null);
  }
}

const clients: WireClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function open(server: FakeServer, options: Parameters<typeof WireClient.open>[1] = { reconnect: false }): Promise<WireClient> {
  const c = await WireClient.open(async () => server.client, options);
  clients.push(c);
  return c;
}

describe('client against a scripted server', () => {
  it('matches replies by req_id whatever their order, never using req_id 0', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const reads = ['/a', '/b', '/c'].map((p) => xs.read(p));
    const reqs = await s.received(3);
    expect(new Set(reqs.map((r) => r.reqId)).size).toBe(3);
    expect(reqs.every((r) => r.reqId !== 0)).toBe(true);
    for (const r of [...reqs].reverse()) s.reply(r, `value of ${splitStrings(r.payload)[0]}`);
    expect(await Promise.all(reads)).toEqual(['value of /a', 'value of /b', 'value of /c']);
    expect(xs.stats.requests).toBe(3);
  });

  it('routes watch events by token whether they come before (cxenstored) or after (oxenstored) the reply', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const watching = xs.watch('/w');
    const [wreq] = await s.received(1);
    const [path, token] = splitStrings(wreq!.payload);
    expect(path).toBe('/w');
    s.reply(wreq!, 'OK\0');
    const w = await watching;
    const it = w[Symbol.asyncIterator]();

    // cxenstored: the event, then the reply of the write that caused it.
    const w1 = xs.write('/w/a', '1');
    const [, r1] = await s.received(2);
    s.event('/w/a', token!);
    s.reply(r1!, 'OK\0');
    await w1;
    // oxenstored: the reply first, then the event; and an event whose req_id happens to equal a
    // pending request's must not be taken for its reply.
    const w2 = xs.write('/w/b', '2');
    const [, , r2] = await s.received(3);
    s.reply(r2!, 'OK\0');
    await w2;
    const pending = xs.read('/w/b');
    const [, , , r3] = await s.received(4);
    s.event('/w/b', token!, r3!.reqId);
    s.event('/w/x', 'someone-elses-token');
    s.reply(r3!, '2');
    expect(await pending).toBe('2');
    expect((await it.next()).value).toEqual({ path: '/w/a', token });
    expect((await it.next()).value).toEqual({ path: '/w/b', token });
    expect(xs.stats.events).toBe(3);
  });

  it('accepts replies over 4096 bytes (oxenstored), refuses requests over 4096 before sending', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const dir = xs.directory('/big');
    const [req] = await s.received(1);
    const names = Array.from({ length: 900 }, (_, i) => `child-${i}`);
    const payload = args(...names);
    expect(payload.length).toBeGreaterThan(4096);
    s.reply(req!, payload);
    expect(await dir).toEqual(names);

    const err = await xs.write('/big/v', Buffer.alloc(4096 - '/big/v\0'.length + 1)).catch((e: unknown) => e);
    expect(isError(err, E_XS_PAYLOAD_TOO_LARGE)).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ path: '/big/v', bytes: 4097 });
    expect(s.frames).toHaveLength(1);
    // Exactly 4096 is allowed.
    const ok = xs.write('/big/v', Buffer.alloc(4096 - '/big/v\0'.length));
    const [, w] = await s.received(2);
    expect(w!.payload.length).toBe(4096);
    s.reply(w!, 'OK\0');
    await ok;
  });

  it('sends one NUL for requests without an argument', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const r = xs.resetWatches();
    const t = xs.transaction(async () => 'never committed');
    const [reset, start] = await s.received(2);
    expect([...reset!.payload]).toEqual([0]);
    expect([...start!.payload]).toEqual([0]);
    const raw = xs.request(XsType.GET_FEATURE, Buffer.alloc(0));
    const [, , feat] = await s.received(3);
    expect([...feat!.payload]).toEqual([0]);
    s.reply(reset!, 'OK\0');
    s.reply(feat!, '0\0');
    await r;
    await raw;
    s.reply(start!, '9\0');
    const [, , , end] = await s.received(4);
    expect(end!.txId).toBe(9);
    s.reply(end!, 'OK\0');
    expect(await t).toBe('never committed');
  });

  it('types error replies: errno, op and path; EQUOTA and unknown names', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const a = xs.read('/x').catch((e: unknown) => e);
    const b = xs.write('/q', 'v').catch((e: unknown) => e);
    const c = xs.mkdir('/u').catch((e: unknown) => e);
    const [ra, rb, rc] = await s.received(3);
    s.error(ra!, 'ENOENT');
    s.error(rb!, 'EQUOTA');
    s.error(rc!, 'ESOMETHINGNEW');
    const ea = await a;
    expect(isError(ea, ENOENT)).toBe(true);
    expect((ea as { details: unknown }).details).toEqual({ errno: 'ENOENT', op: 'READ', path: '/x' });
    expect(isError(await b, E_XS_QUOTA)).toBe(true);
    const ec = await c;
    expect(isError(ec, E_XS_UNKNOWN)).toBe(true);
    expect((ec as { details: { errno: string } }).details.errno).toBe('ESOMETHINGNEW');
  });

  it('fails requests lost to a dropped connection with DISCONNECTED (503), naming op and path', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const events: string[] = [];
    xs.onConnectionEvent((e) => events.push(e.type));
    const lost = xs.read('/inflight').catch((e: unknown) => e);
    await s.received(1);
    s.hangUp();
    const err = await lost;
    expect(isError(err, E_XS_DISCONNECTED)).toBe(true);
    expect((err as { statusCode: number }).statusCode).toBe(503);
    expect((err as Error).message).toContain('/inflight');
    expect(events).toEqual(['disconnected']);
    expect(xs.connected).toBe(false);
    expect(isError(await xs.read('/after').catch((e: unknown) => e), E_XS_DISCONNECTED)).toBe(true);
  });

  it('reconnects, re-registers every live watch with its token and tells the caller; never replays a transaction', async () => {
    const servers = [new FakeServer(), new FakeServer()];
    let n = 0;
    const xs = await WireClient.open(async () => servers[n++]!.client);
    clients.push(xs);
    const events: { type: string; rewatched?: number }[] = [];
    xs.onConnectionEvent((e) => events.push(e));
    const [s1, s2] = servers as [FakeServer, FakeServer];
    const w = xs.watch('/keep');
    const [wr] = await s1.received(1);
    s1.reply(wr!, 'OK\0');
    const watch = await w;
    const tx = xs.transaction(async (t) => t.read('/in-tx')).catch((e: unknown) => e);
    const [, start] = await s1.received(2);
    s1.reply(start!, '5\0');
    await s1.received(3); // the read inside the transaction
    s1.hangUp();
    expect(isError(await tx, E_XS_DISCONNECTED)).toBe(true);
    const [again] = await s2.received(1);
    expect(again!.type).toBe(XsType.WATCH);
    expect(splitStrings(again!.payload)).toEqual(['/keep', watch.token]);
    s2.reply(again!, 'OK\0');
    await expect.poll(() => events.at(-1)).toEqual({ type: 'reconnected', rewatched: 1 });
    expect(xs.stats.reconnects).toBe(1);
    // Nothing of the transaction was sent again.
    expect(s2.frames.filter((f) => f.type !== XsType.WATCH)).toHaveLength(0);
    s2.event('/keep', watch.token);
    expect((await watch[Symbol.asyncIterator]().next()).value).toEqual({ path: '/keep', token: watch.token });
  });

  it('re-registers watches pipelined after a reconnect; one the daemon now refuses ends, the others live', async () => {
    const servers = [new FakeServer(), new FakeServer()];
    let n = 0;
    const warnings: string[] = [];
    const xs = await WireClient.open(async () => servers[n++]!.client, { onWarning: (m) => warnings.push(m) });
    clients.push(xs);
    const events: unknown[] = [];
    xs.onConnectionEvent((e) => events.push(e));
    const [s1, s2] = servers as [FakeServer, FakeServer];
    const pa = xs.watch('/ok');
    const pb = xs.watch('/denied');
    for (const f of await s1.received(2)) s1.reply(f, 'OK\0');
    const [a, b] = await Promise.all([pa, pb]);
    s1.hangUp();
    // Both WATCH requests leave before either reply comes back.
    const [ra, rb] = await s2.received(2);
    expect([ra, rb].map((f) => splitStrings(f!.payload)[0]).sort()).toEqual(['/denied', '/ok']);
    for (const f of [ra!, rb!]) {
      if (splitStrings(f.payload)[0] === '/ok') s2.reply(f, 'OK\0');
      else s2.error(f, 'EACCES');
    }
    await expect.poll(() => events.at(-1)).toEqual({ type: 'reconnected', rewatched: 1 });
    expect((await b[Symbol.asyncIterator]().next()).done).toBe(true);
    expect(warnings.join()).toContain('/denied');
    s2.event('/ok', a.token);
    expect((await a[Symbol.asyncIterator]().next()).value).toEqual({ path: '/ok', token: a.token });
  });

  it('retries a transaction on EAGAIN, ends it with F when the body throws, and gives up after maxAttempts', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    // The server answers START with growing ids and every commit with EAGAIN.
    let nextTx = 1;
    const answer = async (from: number) => {
      for (let i = from; ; i++) {
        const frames = await s.received(i + 1);
        const f = frames[i]!;
        if (f.type === XsType.TRANSACTION_START) s.reply(f, `${nextTx++}\0`);
        else if (f.type === XsType.TRANSACTION_END) {
          if (splitStrings(f.payload)[0] === 'T') s.error(f, 'EAGAIN');
          else s.reply(f, 'OK\0');
        } else s.reply(f, 'v');
        if (f.type === XsType.READ && splitStrings(f.payload)[0] === '/stop') return;
      }
    };
    void answer(0);
    let calls = 0;
    const err = await xs.transaction(async (tx) => (calls++, tx.read('/k')), { maxAttempts: 3 }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(isError(err, E_XS_TX_CONFLICT)).toBe(true);
    expect((err as Error).message).toContain('3 attempts');
    expect(isError((err as Error).cause, EAGAIN)).toBe(true);
    expect(xs.stats.txRetries).toBe(2);
    // Each attempt used the id its START answered.
    const reads = s.frames.filter((f) => f.type === XsType.READ);
    expect(reads.map((f) => f.txId)).toEqual([1, 2, 3]);

    const thrown = await xs
      .transaction(async (tx) => {
        await tx.read('/k');
        throw new Error('body failed');
      })
      .catch((e: unknown) => e);
    expect((thrown as Error).message).toBe('body failed');
    const end = s.frames.filter((f) => f.type === XsType.TRANSACTION_END).at(-1)!;
    expect(splitStrings(end.payload)).toEqual(['F']);
    expect(end.txId).toBe(4);

    const aborted = new AbortController();
    aborted.abort();
    const before = s.frames.length;
    expect(isError(await xs.transaction(async () => 1, { signal: aborted.signal }).catch((e: unknown) => e), E_ABORTED)).toBe(true);
    expect(s.frames.length).toBe(before);
    void xs.read('/stop').catch(() => undefined);
  });

  it('discards (END F) a transaction cancelled while its body runs, and never commits it', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const ac = new AbortController();
    const t = xs.transaction(async (tx) => {
      await tx.write('/k', 'v');
      ac.abort();
      return 'done';
    }, { signal: ac.signal }).catch((e: unknown) => e);
    const [start] = await s.received(1);
    s.reply(start!, '3\0');
    const [, write] = await s.received(2);
    s.reply(write!, 'OK\0');
    const [, , end] = await s.received(3);
    expect(end!.type).toBe(XsType.TRANSACTION_END);
    expect(splitStrings(end!.payload)).toEqual(['F']);
    s.reply(end!, 'OK\0');
    expect(isError(await t, E_ABORTED)).toBe(true);
  });

  it('tolerates ENOENT on unwatch and bounds each watch buffer, dropping the oldest', async () => {
    const s = new FakeServer();
    const xs = await open(s);
    const wp = xs.watch('/b', { highWaterMark: 2 });
    const [wr] = await s.received(1);
    s.reply(wr!, 'OK\0');
    const w = await wp;
    for (const p of ['/b/1', '/b/2', '/b/3']) s.event(p, w.token);
    const closing = w.close();
    const [, un] = await s.received(2);
    expect(un!.type).toBe(XsType.UNWATCH);
    s.error(un!, 'ENOENT');
    await closing;
    expect((w as unknown as { overflowed: boolean }).overflowed).toBe(true);
  });

  it('ignores a reply to an unknown req_id with a warning, and keeps going', async () => {
    const s = new FakeServer();
    const warnings: string[] = [];
    const xs = await open(s, { reconnect: false, onWarning: (m) => warnings.push(m) });
    s.send(XsType.READ, 4242, 0, 'stray');
    const r = xs.read('/a');
    const [req] = await s.received(1);
    s.reply(req!, 'fine');
    expect(await r).toBe('fine');
    expect(warnings.join()).toContain('4242');
  });
});
