// The websocket event stream over a real socket: order, ?since replay, resync-required when the
// ring has moved on, ?domain filtering, slow consumers dropped with a clear close reason, and
// the fan-out's shared frames (one per event, written whole to each socket ws would write to).

import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { TsxEvent } from '../../src/lifecycle/api.js';
import { ApiClient } from '../../src/cli/client.js';
import { directTransport } from '../../src/daemon/event-stream.js';
import { FakeOrchestrator } from './helpers/fake-orchestrator.js';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.js';

let d: TestDaemon | undefined;
afterEach(async () => {
  await d?.daemon.stop('test over');
  d = undefined;
});

/** Opens a stream and collects its first n events (the listener is attached before the upgrade). */
async function stream(api: ApiClient, query: Record<string, string | number>, n: number): Promise<{ ws: WebSocket; got: Promise<TsxEvent[]> }> {
  const got: TsxEvent[] = [];
  let resolve!: (v: TsxEvent[]) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<TsxEvent[]>((res, rej) => ((resolve = res), (reject = rej)));
  const t = setTimeout(() => reject(new Error(`got ${got.length} of ${n} events: ${JSON.stringify(got.map((e) => e.seq))}`)), 5000);
  const ws = await api.openEvents(query, (e) => {
    got.push(e);
    if (got.length === n) {
      clearTimeout(t);
      resolve(got);
    }
  });
  return { ws, got: done };
}

const emit = (o: FakeOrchestrator, n: number, extra: Partial<TsxEvent> = {}): void => {
  for (let i = 0; i < n; i++) o.events.emit({ type: 'device.state', domid: 1, uuid: 'u1', name: 'a', ...extra });
};

describe('GET /v1/events', () => {
  it('delivers every event in seq order', async () => {
    d = await startTestDaemon();
    const { ws, got } = await stream(new ApiClient({ connect: `unix:${d.socket}` }, {}), {}, 200);
    emit(d.orch, 200);
    const seqs = (await got).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    ws.close();
  });

  it('replays what was missed with ?since and then continues live, with no gap and no double', async () => {
    d = await startTestDaemon();
    emit(d.orch, 10);
    const { ws, got } = await stream(new ApiClient({ connect: `unix:${d.socket}` }, {}), { since: 4 }, 10);
    emit(d.orch, 4);
    expect((await got).map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    ws.close();
  });

  it('says resync-required with a fresh domain list when the ring no longer holds since', async () => {
    d = await startTestDaemon({ orch: new FakeOrchestrator(5) });
    emit(d.orch, 20);
    const { ws, got } = await stream(new ApiClient({ connect: `unix:${d.socket}` }, {}), { since: 3 }, 2);
    emit(d.orch, 1);
    const [resync, next] = await got;
    expect(resync).toMatchObject({ type: 'resync-required', seq: 20, data: { since: 3, domains: [] } });
    expect(next?.seq).toBe(21);
    ws.close();
  });

  it('filters by ?domain (name, domid or uuid)', async () => {
    d = await startTestDaemon();
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    const { ws: byName, got: gotName } = await stream(api, { domain: 'b' }, 2);
    const { ws: byId, got: gotId } = await stream(api, { domain: '2' }, 2);
    emit(d.orch, 3, { domid: 1, uuid: 'u1', name: 'a' });
    emit(d.orch, 2, { domid: 2, uuid: 'u2', name: 'b' });
    expect((await gotName).map((e) => e.name)).toEqual(['b', 'b']);
    expect((await gotId).map((e) => e.domid)).toEqual([2, 2]);
    byName.close();
    byId.close();
  });

  it('rejects a malformed ?domain before upgrading', async () => {
    d = await startTestDaemon();
    await expect(new ApiClient({ connect: `unix:${d.socket}` }, {}).openEvents({ domain: '../x' })).rejects.toMatchObject({ status: 400, body: { code: 'TSX_ERR_BAD_REF' } });
  });

  it('drops a consumer that stops reading, with close code 4008 and a reason saying how to resume', async () => {
    d = await startTestDaemon();
    const ws = new WebSocket(`ws+unix://${d.socket}:/v1/events`);
    await new Promise((r) => ws.once('open', r));
    // Stop reading: the kernel buffers fill, then the daemon's send buffer grows past its bound.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) d.orch.events.emit({ type: 'device.state', domid: 1, data: { pad: big } });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await closed;
    // The reason is carried by the close frame when it gets through; a terminated socket is 1006.
    expect([4008, 1006]).toContain(code);
    if (code === 4008) expect(reason).toMatch(/slow consumer.*since=/);
    expect(d.logs.join('')).toContain('dropping slow event subscriber');
  });

  it('hands one encoding of each event to subscribers with different filters, each getting exactly its own', async () => {
    d = await startTestDaemon();
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    const feedListeners = d.orch.events.listeners.size;
    // Frames of each length encoding (7-bit, 16-bit, 64-bit), to every filter.
    const mid = 'm'.repeat(300);
    const big = 'b'.repeat(70_000);
    const doms = [
      { domid: 1, uuid: 'u1', name: 'a' },
      { domid: 2, uuid: 'u2', name: 'b' },
      { domid: 3, uuid: 'u3', name: 'c' },
    ];
    const sent: TsxEvent[] = [];
    const subs = {
      all: await stream(api, {}, 9),
      a1: await stream(api, { domain: 'a' }, 3),
      a2: await stream(api, { domain: 'a' }, 4), // the same filter: the same group; one more below
      two: await stream(api, { domain: '2' }, 3),
      u3: await stream(api, { domain: 'u3' }, 3),
    };
    // The route holds one feed subscription for all its sockets.
    expect(d.orch.events.listeners.size).toBe(feedListeners + 1);
    // Written whole to each socket, not through ws.send (nothing else here sends a message).
    const wsSend = vi.spyOn(WebSocket.prototype, 'send');
    for (const pad of [undefined, mid, big]) for (const dom of doms) sent.push(d.orch.events.emit({ type: 'device.state', ...dom, ...(pad ? { data: { pad } } : {}) }));
    expect(await subs.all.got).toEqual(sent);
    expect(await subs.a1.got).toEqual(sent.filter((e) => e.name === 'a'));
    expect(await subs.two.got).toEqual(sent.filter((e) => e.domid === 2));
    expect(await subs.u3.got).toEqual(sent.filter((e) => e.uuid === 'u3'));
    expect(wsSend).not.toHaveBeenCalled();
    wsSend.mockRestore();
    // One subscriber of a group leaving does not stop the other; the last one out unsubscribes.
    const subscribers = async (): Promise<string | undefined> => /^tsxend_event_subscribers (\d+)/m.exec(String((await api.request('GET', '/metrics')).body))?.[1];
    subs.a1.ws.close();
    await vi.waitFor(async () => expect(await subscribers()).toBe('4'));
    sent.push(d.orch.events.emit({ type: 'device.state', ...doms[0] }));
    expect(await subs.a2.got).toEqual(sent.filter((e) => e.name === 'a'));
    expect(d.orch.events.listeners.size).toBe(feedListeners + 1);
    for (const s of [subs.all.ws, subs.a2.ws, subs.two.ws, subs.u3.ws]) s.close();
    await vi.waitFor(() => expect(d?.orch.events.listeners.size).toBe(feedListeners));
  });
});

describe('directTransport (whole frames written to the socket under ws)', () => {
  /** A plain ws server on a Unix socket and one client: the server side's websocket and request. */
  async function connection(perMessageDeflate: boolean): Promise<{ ws: WebSocket; req: IncomingMessage; close: () => void }> {
    const path = join(mkdtempSync(join(tmpdir(), 'tsxend-ws-')), 'ws.sock');
    const server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate });
    const conn = new Promise<[WebSocket, IncomingMessage]>((resolve) => wss.once('connection', (ws, req) => resolve([ws, req])));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const client = new WebSocket(`ws+unix://${path}:/`); // offers permessage-deflate, as ws clients do
    const [[ws, req]] = await Promise.all([conn, new Promise((resolve) => client.once('open', resolve))]);
    return {
      ws,
      req,
      close: () => {
        client.terminate();
        wss.close();
        server.close();
      },
    };
  }

  it('is the request socket on the installed ws (the fast path is in use), and nothing for another stream', async () => {
    const c = await connection(false);
    expect(c.ws.extensions).toBe('');
    expect(directTransport(c.ws, c.req.socket)).toBe(c.req.socket);
    expect(directTransport(c.ws, new PassThrough())).toBeUndefined();
    c.close();
  });

  it('is nothing when an extension is negotiated (permessage-deflate queues and compresses in ws)', async () => {
    const c = await connection(true);
    expect(c.ws.extensions).toContain('permessage-deflate');
    expect(directTransport(c.ws, c.req.socket)).toBeUndefined();
    c.close();
  });
});

