// Limits, each refused with a clear error, and the mock's refusals equal real cxenstored 4.17's:
//  - HTTP: a body over the limit → 413 TSX_ERR_BODY_TOO_LARGE (documented, typed), with or
//    without Content-Length, nothing done; a websocket message over 64 KiB closes with 1009;
//  - xenstore client: a path over the limit (3073 characters and more) and a payload over 4096
//    bytes are refused before anything is sent; the daemons' own answers (mock and cxenstored):
//    3073-character path EINVAL, 4096-byte payload accepted, a header announcing 4097 closes;
//  - per-connection quotas of an UNPRIVILEGED domain (reference §2.9): watches (the 130th is
//    E2BIG in 4.17) and open transactions (the 12th is ENOSPC), on the mock as domain 5 and on
//    real cxenstored through a real ring (the fixture maps the guest's page from a file);
//  - the daemon's own: creates beyond --max-parallel-creates wait their turn (never refused).

import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configInput } from '../../src/daemon/wiring.js';
import { isError } from '../../src/errors.js';
import { createEnvironment } from '../../src/lifecycle/environment.js';
import { E_XS_BAD_PATH, E_XS_PAYLOAD_TOO_LARGE } from '../../src/xenstore/errors.js';
import { openXenstore } from '../../src/xenstore/index.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { harness, type Harness } from '../daemon/helpers/harness.js';
import { startTestDaemon, type TestDaemon } from '../daemon/helpers/test-daemon.js';
import { GuestRing } from '../helpers/guest-ring.js';
import { args, frame, RawClient, show, T } from '../xenstore/mock-raw-client.js';

// ---- HTTP --------------------------------------------------------------------------------

describe('HTTP body and websocket message limits', () => {
  let h: Harness;
  let d: TestDaemon | undefined;
  afterEach(async () => {
    await h?.app.close();
    await d?.daemon.stop('test over');
    d = undefined;
  });

  it('answers 413 TSX_ERR_BODY_TOO_LARGE on every route that takes a body, as documented, and does nothing', async () => {
    h = await harness();
    const big = 'x'.repeat(1024 * 1024 + 1);
    const routes: [string, string, string][] = [
      ['POST', '/v1/domains', 'text/plain'],
      ['POST', '/v1/managed-domains', 'application/x-sxp'],
      ['POST', '/v1/domains/web1/devices', 'application/json'],
      ['PUT', '/v1/domains/web1/memory', 'application/json'],
      ['PUT', '/v1/domains/web1/vcpus', 'application/json'],
      ['POST', '/v1/domains/web1/shutdown', 'application/json'],
      ['POST', '/v1/domains/web1/pause', 'application/json'],
      ['DELETE', '/v1/domains/web1', 'application/json'],
      ['DELETE', '/v1/tasks/t-1', 'application/json'],
    ];
    const before = JSON.stringify(h.orch.listDomains().domains);
    for (const [method, url, type] of routes) {
      const res = await h.call({ method, url, headers: { 'content-type': type }, payload: big });
      expect(res.status, `${method} ${url}`).toBe(413);
      expect(res.json()).toMatchObject({ statusCode: 413, code: 'TSX_ERR_BODY_TOO_LARGE', error: 'Payload Too Large' });
    }
    // Just under the limit is parsed (and refused for what it is, not for its size).
    expect((await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(1024 * 1024 - 1) })).status).not.toBe(413);
    expect(JSON.stringify(h.orch.listDomains().domains)).toBe(before);
  });

  it('refuses an over-limit body sent chunked (no Content-Length) on a real socket with 413, typed', async () => {
    d = await startTestDaemon();
    const socketPath = d.socket;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath, method: 'POST', path: '/v1/domains', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      const piece = 'name = "x"\n'.repeat(6000);
      let sent = 0;
      const pump = (): void => {
        while (sent < 2 * 1024 * 1024 && !req.destroyed) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'TSX_ERR_BODY_TOO_LARGE' });
    expect(d.orch.listDomains().domains).toHaveLength(0);
  });

  it('closes a websocket that sends a message over 64 KiB (1009), and keeps serving others', async () => {
    d = await startTestDaemon();
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws+unix://${d!.socket}:/v1/events`);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const [a, b] = await Promise.all([open(), open()]);
    const code = await new Promise<number>((resolve) => {
      a.once('close', (c) => resolve(c));
      a.send('x'.repeat(64 * 1024 + 1));
    });
    expect(code).toBe(1009);
    expect(b.readyState).toBe(WebSocket.OPEN);
    b.close();
  });
});

// ---- daemon: parallel creates ------------------------------------------------------------

describe('daemon-level limits', () => {
  it('queues creates beyond --max-parallel-creates (never refused, never more than the limit at once)', async () => {
    const env = await createEnvironment({ xenstore: 'embedded', orchestrator: { maxParallelCreates: 2 } });
    try {
      await env.orchestrator.start();
      // In flight: from the hypervisor domain to its unpause, both inside the create's limited part.
      let inFlight = 0;
      let most = 0;
      const hv = env.hypervisor as unknown as { createDomain: (spec: unknown) => Promise<number>; unpause: (domid: number) => Promise<void> };
      const [create, unpause] = [hv.createDomain.bind(hv), hv.unpause.bind(hv)];
      hv.createDomain = async (spec) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        return create(spec);
      };
      hv.unpause = async (domid) => {
        inFlight--;
        return unpause(domid);
      };
      const ops = Array.from({ length: 6 }, (_, i) => env.orchestrator.createDomain(configInput.validateDomain({ name: `q${i}`, memory: 16, image: { kernel: '/k' } }, 'q')).done);
      const done = await Promise.allSettled(ops);
      expect(done.map((d) => d.status)).toEqual(Array<string>(6).fill('fulfilled'));
      expect(most).toBe(2);
    } finally {
      await env.close();
    }
  });
});

// ---- xenstore: sizes ---------------------------------------------------------------------

/** cxenstored listens with a backlog of 1 and accepts one connection per loop: retry EAGAIN. */
async function rawSocket(path: string): Promise<RawClient> {
  for (let i = 0; ; i++) {
    try {
      return await RawClient.socket(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The same byte-level checks against any daemon reachable by a RawClient. */
async function sizeAnswers(open: () => Promise<RawClient>): Promise<string[]> {
  const out: string[] = [];
  const c = await open();
  const q = async (type: number, payload: Buffer) => show((await c.request(type, payload)).reply);
  out.push(`write path 2048: ${await q(T.WRITE, Buffer.concat([Buffer.from(`/lim/${'p'.repeat(2048 - 5)}`), Buffer.of(0)]))}`);
  out.push(`write path 2049: ${await q(T.WRITE, Buffer.concat([Buffer.from(`/lim/${'p'.repeat(2049 - 5)}`), Buffer.of(0)]))}`);
  out.push(`write path 3073: ${await q(T.WRITE, Buffer.concat([Buffer.from(`/lim/${'p'.repeat(3073 - 5)}`), Buffer.of(0)]))}`);
  out.push(`read path 3073: ${await q(T.READ, args(`/lim/${'p'.repeat(3073 - 5)}`))}`);
  out.push(`payload 4096: ${await q(T.WRITE, Buffer.concat([Buffer.from('/lim/v\0'), Buffer.alloc(4096 - 7, 0x41)]))}`);
  out.push(`read back: ${(await c.request(T.READ, args('/lim/v'))).reply.payload.length} bytes`);
  c.close();
  // A header announcing more than 4096 bytes: the connection is dropped without a reply.
  const d = await open();
  d.write(frame(T.WRITE, Buffer.alloc(0), 9, 0, 4097));
  const m = await d.next(1000);
  out.push(`header 4097: ${m === undefined && d.ended ? 'closed, no reply' : `answered ${m ? show(m) : 'nothing, still open'}`}`);
  d.close();
  return out;
}

const EXPECTED_SIZES = [
  'write path 2048: OK',
  'write path 2049: ERROR EINVAL',
  'write path 3073: ERROR EINVAL',
  'read path 3073: ERROR EINVAL',
  'payload 4096: OK',
  'read back: 4089 bytes',
  'header 4097: closed, no reply',
];

describe('xenstore sizes: the client refuses before sending; the mock answers like cxenstored', () => {
  it('client: a path over the limit (3073+ characters, or 2049 counted) and a payload over 4096 bytes never leave the client', async () => {
    const mock = new MockXenstored();
    const xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
    try {
      const before = xs.stats.requests;
      const paths = [`/t/${'a'.repeat(3070)}`, `/t/${'a'.repeat(5000)}`, `/t/${'a'.repeat(2046)}`, `rel/${'a'.repeat(2045)}`];
      for (const p of paths) {
        for (const op of [() => xs.read(p), () => xs.write(p, 'v'), () => xs.mkdir(p), () => xs.rm(p), () => xs.directory(p)]) {
          const err = await op().catch((e: unknown) => e);
          expect(isError(err, E_XS_BAD_PATH), `${p.length}: ${String(err)}`).toBe(true);
          expect((err as Error).message).toMatch(/longer than 2048 bytes/);
        }
      }
      for (const value of ['x'.repeat(4096), 'x'.repeat(10_000)]) {
        const err = await xs.write('/t/big', value).catch((e: unknown) => e);
        expect(isError(err, E_XS_PAYLOAD_TOO_LARGE)).toBe(true);
      }
      expect(xs.stats.requests).toBe(before);
      expect(mock.read('/t/big')).toBeUndefined();
      // The largest legal ones go through: 2048 counted after /local/domain/N/, 4096-byte payload.
      await xs.write(`/local/domain/0/${'a'.repeat(2048)}`, 'v');
      await xs.write('/t/max', 'y'.repeat(4096 - '/t/max'.length - 1));
      expect(mock.read('/t/max')?.length).toBe(4089);
    } finally {
      await xs.close();
      await mock.close();
    }
  });

  it('mock: 2049/3073-character paths EINVAL, a 4096-byte payload OK, a 4097 header closes', async () => {
    const mock = new MockXenstored();
    try {
      expect(await sizeAnswers(async () => new RawClient(mock.connect()))).toEqual(EXPECTED_SIZES);
    } finally {
      await mock.close();
    }
  });
});

describeReal('cxenstored', 'xenstore sizes on real cxenstored 4.17', () => {
  let real: RealXenstored;
  beforeAll(async () => {
    real = await startXenstored('cxenstored');
  });
  afterAll(async () => real?.stop());

  it('answers the size checks exactly as the mock does', async () => {
    expect(await sizeAnswers(() => rawSocket(real.socketPath))).toEqual(EXPECTED_SIZES);
  });
});

// ---- xenstore: quotas of an unprivileged domain -------------------------------------------

/** Opens watches and transactions one by one until well past the quotas; answers each reply. */
async function quotaAnswers(g: RawClient, domid: number): Promise<{ watches: string[]; transactions: string[] }> {
  const watches: string[] = [];
  for (let i = 0; i < 132; i++) watches.push(show((await g.request(T.WATCH, args(`/local/domain/${domid}/w${i}`, `t${i}`))).reply));
  await g.drain(100);
  const transactions: string[] = [];
  for (let i = 0; i < 13; i++) transactions.push(show((await g.request(T.TRANSACTION_START, '\0')).reply).replace(/^\d+\|$/, 'id'));
  return { watches, transactions };
}

function expectQuotas(r: { watches: string[]; transactions: string[] }): void {
  // 4.17 checks the count before adding (count > 128): 129 watches, then E2BIG.
  expect(r.watches.slice(0, 129).every((x) => x === 'OK'), r.watches.join(',')).toBe(true);
  expect(r.watches.slice(129)).toEqual(['ERROR E2BIG', 'ERROR E2BIG', 'ERROR E2BIG']);
  // transaction_started > 10 is checked before counting: 11 open, the 12th is ENOSPC.
  expect(r.transactions).toEqual([...Array<string>(11).fill('id'), 'ERROR ENOSPC', 'ERROR ENOSPC']);
}

let mockQuotas: { watches: string[]; transactions: string[] } | undefined;

describe('per-connection quotas of an unprivileged domain', () => {
  it('mock, connected as domain 5: the 130th watch is E2BIG, the 12th transaction ENOSPC; dom0 is not limited', async () => {
    const mock = new MockXenstored();
    try {
      mock.domains.create(5, 'running');
      const g = new RawClient(mock.connect({ domid: 5 }));
      mockQuotas = await quotaAnswers(g, 5);
      expectQuotas(mockQuotas);
      const d0 = new RawClient(mock.connect());
      const dom0 = await quotaAnswers(d0, 0);
      expect(dom0.watches.every((x) => x === 'OK')).toBe(true);
      expect(dom0.transactions.every((x) => x === 'id')).toBe(true);
      g.close();
      d0.close();
    } finally {
      await mock.close();
    }
  });
});

describeReal('cxenstored', 'per-connection quotas on real cxenstored 4.17, as a guest on its ring', () => {
  let real: RealXenstored;
  let kick: Socket;
  beforeAll(async () => {
    real = await startXenstored('cxenstored');
    kick = (await rawSocket(real.socketPath)).stream as Socket;
    kick.resume();
  });
  afterAll(async () => {
    kick?.destroy();
    await real?.stop();
  });

  it('refuses the 130th watch (E2BIG) and the 12th transaction (ENOSPC), exactly as the mock', async () => {
    await real.setDomains([{ domid: 5, state: 'running' }]);
    const d0 = await rawSocket(real.socketPath);
    expect(show((await d0.request(T.INTRODUCE, args('5', '1', '1'))).reply)).toBe('OK');
    const ringFile = join(real.dir, 'ring-5');
    expect(existsSync(ringFile)).toBe(true);
    const g = new RawClient(new GuestRing(ringFile, kick));
    // The ring works: the guest's home, and it is not privileged (dom0's tree is not its own).
    expect(show((await g.request(T.GET_DOMAIN_PATH, args('5'))).reply)).toBe('/local/domain/5|');
    expect(show((await g.request(T.WRITE, Buffer.from('/tool/x\0v'))).reply)).toBe('ERROR EACCES');
    const r = await quotaAnswers(g, 5);
    expectQuotas(r);
    if (mockQuotas) expect(r).toEqual(mockQuotas);
    g.close();
    d0.close();
  }, 60_000);
});
