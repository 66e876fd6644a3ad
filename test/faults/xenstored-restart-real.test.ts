// The real cxenstored killed with SIGKILL in the middle of creates and destroys made through the
// daemon, then restarted on the same socket. Unlike the mock, a restarted cxenstored starts with
// an EMPTY store. The daemon must say so (health 503, xenstore.down), come back by itself
// (xenstore.up, xenstore.resynced), keep every running domain in its view flagged
// `xenstore-lost`, destroy them cleanly, create new ones, and end with the whole store clean.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hasTsxCode } from '../../src/errors.js';
import type { DomainView, TsxEvent } from '../../src/lifecycle/api.js';
import { createEnvironment } from '../../src/lifecycle/environment.js';
import { waitConnected } from '../../src/lifecycle/reconnect.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { buildOnce, startServe, type ServeProcess } from '../daemon/helpers/serve-process.js';
import { expectDocumented, http, subscribe } from '../daemon/helpers/scenario.js';
import { dumpOurTree, sixDeviceConfig } from '../lifecycle/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let serial = 0;
function cfg(name: string): string {
  const n = ++serial;
  return `name = "${name}"\nmemory = 64\nmaxmem = 128\nvcpus = 1\nkernel = "/boot/vmlinuz"\ndisk = ['phy:/dev/vg/${name},xvda,w']\nvif = ['mac=00:16:3e:70:00:${n.toString(16).padStart(2, '0')},bridge=xenbr0']\n`;
}

const listDomains = async (d: ServeProcess): Promise<DomainView[]> => ((await http(d.socket, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains;

describeReal('cxenstored', 'xenstored killed and restarted empty under load, through the daemon', () => {
  let xs: RealXenstored;
  let d: ServeProcess;
  let probe: XenstoreClient | undefined;

  beforeAll(async () => {
    await buildOnce();
    xs = await startXenstored('cxenstored');
    d = await startServe({ args: ['--xenstore', `socket:${xs.socketPath}`, '--xenstore-wait', '5'], env: { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile } });
  }, 180_000);
  afterAll(async () => {
    await probe?.close();
    await d?.stop('SIGKILL');
    await xs?.stop();
  });

  it('reports 503 and xenstore.down, recovers, keeps running domains flagged, destroys them, creates anew, leaves the store clean', { timeout: 90_000 }, async () => {
    probe = await openXenstore({ kind: 'socket', path: xs.socketPath });
    const before = await dumpOurTree(probe);
    const seq0 = ((await http(d.socket, 'GET', '/v1/domains')).json as { seq: number }).seq;
    const sub = await subscribe(d, seq0);

    const keepers: DomainView[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await http(d.socket, 'POST', '/v1/domains?wait=true', cfg(`keep-${i}`), 'text/plain');
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      keepers.push(r.json as DomainView);
    }

    // The load: three clients creating and destroying back to back until told to stop.
    const outcomes: string[] = [];
    let stop = false;
    const loop = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `load-${w}-${i}`;
        const c = await http(d.socket, 'POST', '/v1/domains?wait=true', cfg(name), 'text/plain');
        const code = (c.json as { code?: string } | undefined)?.code;
        outcomes.push(`create ${c.status}${code ? ` ${code}` : ''}`);
        if (c.status !== 201) continue;
        const del = await http(d.socket, 'DELETE', `/v1/domains/${name}?wait=true`);
        const dcode = (del.json as { code?: string } | undefined)?.code;
        outcomes.push(`destroy ${del.status}${dcode ? ` ${dcode}` : ''}`);
      }
    };
    const load = Promise.all([0, 1, 2].map(loop));
    await sleep(1_500);

    // kill -9 in the middle of the load.
    const killedAt = Date.now();
    await xs.kill('SIGKILL');
    let status = 0;
    for (let i = 0; i < 100 && status !== 503; i++) {
      status = (await http(d.socket, 'GET', '/v1/health')).status;
      if (status !== 503) await sleep(50);
    }
    expect(status).toBe(503);
    expect((await http(d.socket, 'GET', '/v1/health')).json).toMatchObject({ status: 'degraded', xenstore: 'down' });
    await sub.waitFor((e) => e.type === 'xenstore.down');
    const detectMs = Date.now() - killedAt;
    // While it is gone the daemon still answers, and lists every domain.
    const during = await listDomains(d);
    for (const k of keepers) expect(during.find((x) => x.uuid === k.uuid)?.state).toBe('running');
    await sleep(500);

    await xs.restart();
    const restartedAt = Date.now();
    await sub.waitFor((e) => e.type === 'xenstore.up', 20_000);
    const resynced = await sub.waitFor((e) => e.type === 'xenstore.resynced', 20_000);
    const recoverMs = Date.now() - restartedAt;
    expect(resynced.data).toMatchObject({ storeLost: true });
    expect((await http(d.socket, 'GET', '/v1/health')).status).toBe(200);
    stop = true;
    await load;
    // The test's own client reconnects on its own backoff.
    expect(await waitConnected(probe, Date.now() + 10_000)).toBe(true);

    // No running domain was dropped: each stays listed, flagged, with an event saying why.
    const after = await listDomains(d);
    for (const k of keepers) {
      const v = after.find((x) => x.uuid === k.uuid);
      expect(v, `${k.name} dropped from the view`).toBeDefined();
      expect(v).toMatchObject({ state: 'running', domid: k.domid });
      expect(v?.reason).toMatch(/^xenstore-lost/);
      expect(sub.events.some((e) => e.type === 'domain.xenstore-lost' && e.uuid === k.uuid)).toBe(true);
    }
    // Whatever the load had in flight either finished or failed typed; nothing is half made.
    for (const o of outcomes) expect(o).toMatch(/^(create 201|destroy 200|(create|destroy) [45]\d\d TSX_ERR_[A-Z_]+)$/);
    for (const v of after) expect(['running', 'paused']).toContain(v.state);
    const simDomains = readFileSync(xs.domainsFile, 'utf8').trim().split('\n').filter(Boolean).length;
    expect(simDomains).toBe(after.length);

    // Every domain, flagged or not, can be destroyed, with nothing left behind.
    for (const v of after) {
      const r = await http(d.socket, 'DELETE', `/v1/domains/${v.uuid}?wait=true`);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json).toMatchObject({ leftovers: [] });
    }
    expect(await listDomains(d)).toEqual([]);

    // New domains work on the restarted store.
    for (let i = 0; i < 2; i++) {
      const c = await http(d.socket, 'POST', '/v1/domains?wait=true', cfg(`after-${i}`), 'text/plain');
      expect(c.status, JSON.stringify(c.json)).toBe(201);
      const v = c.json as DomainView;
      expect(v.state).toBe('running');
      expect(v.devices.map((x) => x.state)).toEqual(['connected', 'connected']);
      expect(await probe.tryRead(`/local/domain/${v.domid}/name`)).toBe(`after-${i}`);
      const del = await http(d.socket, 'DELETE', `/v1/domains/after-${i}?wait=true`);
      expect(del.json).toMatchObject({ leftovers: [] });
    }

    // The whole store is as it was before the first domain.
    expect(await dumpOurTree(probe)).toEqual(before);
    expect(readFileSync(xs.domainsFile, 'utf8')).toBe('');
    expectDocumented(sub.events);
    sub.close();
    const failures = outcomes.filter((o) => !/^(create 201|destroy 200)$/.test(o));
    console.log(`xenstored kill -9 (real cxenstored): ${JSON.stringify({ keepers: keepers.length, loadOps: outcomes.length, failures, detectMs, recoverMs, keptFlagged: after.length })}`);
  });

  it('a create waiting for its devices when xenstored comes back empty fails typed (TSX_ERR_XS_DISCONNECTED) and is rolled back', { timeout: 30_000 }, async () => {
    const x2 = await startXenstored('cxenstored');
    let reached: () => void = () => undefined;
    let release: () => void = () => undefined;
    const atStep = new Promise<void>((r) => (reached = r));
    const gate = new Promise<void>((r) => (release = r));
    const env = await createEnvironment({
      xenstore: { socket: x2.socketPath },
      simulated: { domainsFile: x2.domainsFile },
      orchestrator: {
        inject: async (step) => {
          if (step !== 'devices-connected') return;
          reached();
          await gate;
        },
      },
    });
    try {
      const o = env.orchestrator;
      await o.start();
      const before = await dumpOurTree(env.xs);
      const events: TsxEvent[] = [];
      const sub = o.events.subscribe((e) => events.push(e));
      const c = sixDeviceConfig('lost-in-flight');
      const op = o.createDomain({ ...c, devices: Object.fromEntries(Object.entries(c.devices).filter(([, d]) => d.class === 'vbd' || d.class === 'vif')) });
      await atStep;
      await x2.kill('SIGKILL');
      await x2.restart();
      for (let i = 0; i < 400 && !events.some((e) => e.type === 'xenstore.resynced'); i++) await sleep(25);
      expect(events.find((e) => e.type === 'xenstore.resynced')?.data).toMatchObject({ storeLost: true });
      release();
      const err: unknown = await op.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(hasTsxCode(err) && err.code).toBe('TSX_ERR_XS_DISCONNECTED');
      expect((err as Error).message).toMatch(/empty store/);
      const failed = events.find((e) => e.type === 'domain.create-failed');
      expect(failed?.data).toMatchObject({ error: 'TSX_ERR_XS_DISCONNECTED', rollbackFailed: [] });
      sub.close();
      expect(o.listDomains().domains).toEqual([]);
      expect(readFileSync(x2.domainsFile, 'utf8')).toBe('');
      expect(await dumpOurTree(env.xs)).toEqual(before);
    } finally {
      release();
      await env.close();
      await x2.stop();
    }
  });
});
