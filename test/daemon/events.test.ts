// The websocket event stream over a real socket: order, ?since replay, resync-required when the
// ring has moved on, ?domain filtering, and slow consumers dropped with a clear close reason.

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TsxEvent } from '../../src/lifecycle/api.js';
import { ApiClient } from '../../src/cli/client.js';
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
});
