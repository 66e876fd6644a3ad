// xenstored dies and comes back while creates and destroys run (issue 7). The mock daemon
// crashes (every connection dropped, new ones refused) and restarts on the same socket with its
// tree kept, ROUNDS times under load. After each round: health is ok again, xenstore.down and
// xenstore.up were emitted, the resync ran, every domain listed as running is whole (each
// device Connected on both ends, in the store) and none was lost from the view; at the end
// everything is destroyed and the WHOLE store is as before: 0 leaked nodes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEntry, XendConfig } from '../../src/config/model.js';
import { hasTsxCode } from '../../src/errors.js';
import type { TsxEvent } from '../../src/lifecycle/api.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { waitConnected } from '../../src/lifecycle/reconnect.js';
import { dumpOurTree, sixDeviceConfig } from '../lifecycle/helpers.js';

const ROUNDS = Number(process.env['TSXEND_XS_RESTART_ROUNDS'] ?? 20);
const WORKERS = 3;
const KEEPERS = 3;
/**
 * How long a rollback or destroy waits for xenstored; every fifth outage lasts longer than that.
 * Above the client's longest reconnect backoff (2 s) plus a short outage (≤ 400 ms), with room
 * for a loaded CI machine: a short outage must never outlast the wait.
 */
const WAIT_MS = 4_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

/** Disks and nics only: the vfb backend daemon (simfb) exits when its xenstored goes away. */
function diskNicConfig(name: string): XendConfig {
  const c = sixDeviceConfig(name);
  return { ...c, devices: Object.fromEntries(Object.entries(c.devices).filter(([, d]) => d.class === 'vbd' || d.class === 'vif')) };
}

/** Waits for `pred` over the events seen so far (polling the list the subscription fills). */
async function waitEvent(events: TsxEvent[], pred: (e: TsxEvent) => boolean, timeoutMs = 20_000): Promise<TsxEvent> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const e = events.find(pred);
    if (e) return e;
    if (Date.now() > until) throw new Error(`event not seen within ${timeoutMs} ms; last: ${events.slice(-5).map((x) => x.type).join(', ')}`);
    await sleep(20);
  }
}

describe('xenstored crashes and restarts under load (mock daemon, tree kept)', () => {
  let env: Environment;
  beforeAll(async () => {
    env = await createEnvironment({ xenstore: 'embedded', orchestrator: { createTimeoutMs: 8_000, maxParallelCreates: 4, xsReconnectWaitMs: WAIT_MS } });
    await env.orchestrator.start();
  });
  afterAll(async () => env?.close());

  it(`${ROUNDS} outages while ${WORKERS} workers create and destroy: every domain whole or gone, 0 leaked nodes`, { timeout: 90_000 }, async () => {
    const o = env.orchestrator;
    const mock = env.mock!;
    const sim = env.simulated!;
    const before = await dumpOurTree(env.xs);
    const events: TsxEvent[] = [];
    const sub = o.events.subscribe((e) => {
      events.push(e);
      if (process.env['TSXEND_DEBUG_ROUNDS'] && /xenstore|failed|vanished|partial|timeout/.test(e.type)) console.log(`${Date.now()} ${e.type} ${e.name ?? ''} ${JSON.stringify(e.data ?? {})}`);
    });

    // Domains that live through every outage: none may ever leave the view.
    const keepers: string[] = [];
    for (let i = 0; i < KEEPERS; i++) keepers.push((await o.createDomain(diskNicConfig(`keeper-${i}`)).done).uuid);

    const figures = { rounds: 0, longOutages: 0, creates: 0, created: 0, destroys: 0, destroyed: 0, killedWhileDown: 0, createsWhileDown: 0, destroysWhileDown: 0, failures: {} as Record<string, number>, untyped: [] as string[] };
    // Set while an outage outlasts the wait: failures then are the resync's to clean up after.
    let longNow = false;
    const fail = (op: string, err: unknown) => {
      const what = longNow ? `${op}-long-outage` : op;
      const code = hasTsxCode(err) ? err.code : 'untyped';
      figures.failures[`${what} ${code}`] = (figures.failures[`${what} ${code}`] ?? 0) + 1;
      if (!hasTsxCode(err)) figures.untyped.push(`${what}: ${String(err)}`);
      if (process.env['TSXEND_DEBUG_ROUNDS']) console.log(`${Date.now()} ${what} failed: ${String(err)}`);
    };

    // The load: each worker creates, keeps a moment, destroys; it stops at the gate between cycles.
    let gate: Promise<void> | undefined;
    let open: () => void = () => undefined;
    let stop = false;
    let busy = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        if (gate) await gate;
        busy++;
        const name = `xsr-${w}-${i}`;
        try {
          figures.creates++;
          try {
            await o.createDomain(diskNicConfig(name)).done;
            figures.created++;
          } catch (err) {
            fail('create', err);
            continue;
          }
          await sleep(rand(0, 80));
          figures.destroys++;
          try {
            const r = await o.destroyDomain(name).done;
            if (r.leftovers.length === 0) figures.destroyed++;
            else fail('destroy', new Error(`left ${r.leftovers.join(', ')}`));
          } catch (err) {
            // Killed during an outage: the orchestrator already cleaned it up.
            if (hasTsxCode(err) && err.code === 'TSX_ERR_NO_DOMAIN') figures.destroyed++;
            else fail('destroy', err);
          }
        } finally {
          busy--;
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    for (let round = 0; round < ROUNDS; round++) {
      await sleep(rand(100, 400));
      // A domain nobody else touches, destroyed during the next outage.
      await o.createDomain(diskNicConfig(`park-${round}`)).done;
      const seq = o.events.currentSeq;
      await mock.crash();
      expect(o.health().status).toBe('degraded');
      const long = round % 5 === 4;
      longNow = long;
      if (long) figures.longOutages++;
      // Operations that start while xenstored is away: a create fails fast (typed) and its
      // rollback waits for the store; a destroy waits for it. A long outage outlasts both waits:
      // what they leave is for the resync to finish.
      const whileDown: Promise<void>[] = [];
      figures.creates++;
      figures.createsWhileDown++;
      whileDown.push(
        o.createDomain(diskNicConfig(`down-${round}`)).done.then(
          () => void figures.created++,
          (err: unknown) => fail('create', err),
        ),
      );
      const parked = o.listDomains().domains.find((d) => d.state === 'running' && d.name.startsWith('park-') && d.name !== `park-${round}`);
      if (parked) {
        figures.destroys++;
        figures.destroysWhileDown++;
        whileDown.push(
          o.destroyDomain(parked.uuid).done.then(
            () => void figures.destroyed++,
            (err: unknown) => fail('destroy', err),
          ),
        );
      }
      // Every fourth round a domain dies while nobody can hear @releaseDomain.
      if (round % 4 === 3) {
        const victim = o.listDomains().domains.find((d) => d.state === 'running' && d.domid !== undefined && !keepers.includes(d.uuid));
        if (victim) {
          await sim.destroy(victim.domid as number);
          figures.killedWhileDown++;
        }
      }
      await sleep(long ? WAIT_MS + 500 : rand(50, 400));
      await mock.restart();
      if (process.env['TSXEND_DEBUG_ROUNDS']) console.log(`round ${round}: restarted t=${Date.now()}`);
      await Promise.all(whileDown);
      await waitEvent(events, (e) => e.seq > seq && e.type === 'xenstore.resynced');
      // The resync that ran after the operations that gave up (a long outage) cleans up after them.
      if (long) await o.resync();
      // Until the client is back (its backoff may lag the daemon by up to 2 s) the outage lasts.
      longNow = false;
      expect(o.health().status).toBe('ok');
      const types = events.filter((e) => e.seq > seq).map((e) => e.type);
      expect(types).toContain('xenstore.down');
      expect(types).toContain('xenstore.up');

      // Quiesce the load, then check the view against the store.
      gate = new Promise((r) => (open = r));
      while (busy > 0) await sleep(20);
      const listed = o.listDomains().domains;
      for (const k of keepers) expect(listed.find((d) => d.uuid === k)?.state, `keeper ${k} after round ${round}`).toBe('running');
      for (const d of listed) {
        expect(d.state, `${d.name} after round ${round}: ${d.reason ?? ''}`).toBe('running');
        expect(d.devices).toHaveLength(4);
        for (const dev of d.devices) {
          expect(dev.state).toBe('connected');
          expect(await env.xs.tryRead(`${dev.backendPath}/state`), `${dev.backendPath}`).toBe('4');
          expect(await env.xs.tryRead(`${dev.frontendPath}/state`), `${dev.frontendPath}`).toBe('4');
        }
        expect((await sim.getInfo(d.domid as number))?.uuid).toBe(d.uuid);
      }
      // The hypervisor holds no domain the view does not list.
      expect((await sim.list()).filter((i) => i.domid !== 0).map((i) => i.uuid).sort()).toEqual(listed.map((d) => d.uuid).sort());
      figures.rounds++;
      if (process.env['TSXEND_DEBUG_ROUNDS']) console.log(`round ${round}: ${JSON.stringify(figures)} t=${Date.now()}`);
      gate = undefined;
      open();
    }
    stop = true;
    await Promise.all(workers);

    for (const d of o.listDomains().domains) expect((await o.destroyDomain(d.uuid).done).leftovers).toEqual([]);
    expect(o.listDomains().domains).toEqual([]);
    expect((await sim.list()).filter((i) => i.domid !== 0)).toEqual([]);
    const after = await dumpOurTree(env.xs);
    const leaked = after.filter((l) => !before.includes(l));
    const missing = before.filter((l) => !after.includes(l));
    sub.close();
    console.log(`xenstored restart (mock): ${JSON.stringify({ ...figures, leaked: leaked.length, missing: missing.length })}`);
    expect(figures.untyped).toEqual([]);
    // Only an outage longer than the wait may leave a rollback or destroy to the resync.
    expect(Object.keys(figures.failures).filter((k) => !k.includes('long-outage') && /ROLLBACK_FAILED|PARTIAL_DESTROY|destroy/.test(k))).toEqual([]);
    expect(figures.failures['create TSX_ERR_XS_DISCONNECTED'] ?? 0).toBeGreaterThan(0);
    expect(figures.created).toBeGreaterThan(ROUNDS);
    expect(leaked).toEqual([]);
    expect(missing).toEqual([]);
  });

  it('a six-device domain through an outage: its vfb daemon exits and says so, the domain stays, destroy is prompt and clean', { timeout: 30_000 }, async () => {
    const o = env.orchestrator;
    const mock = env.mock!;
    const before = await dumpOurTree(env.xs);
    const events: TsxEvent[] = [];
    const sub = o.events.subscribe((e) => events.push(e));
    const v = await o.createDomain(sixDeviceConfig('vfb-outage')).done;
    const seq = o.events.currentSeq;
    await mock.crash();
    // simfb, like a backend whose xenstore connection broke, exits.
    await waitEvent(events, (e) => e.seq > seq && e.type === 'backend.exited' && e.uuid === v.uuid);
    await sleep(100);
    await mock.restart();
    await waitEvent(events, (e) => e.seq > seq && e.type === 'xenstore.resynced');
    const after = o.getDomain(v.uuid);
    expect(after.state).toBe('running');
    const byClass = (c: string) => after.devices.filter((d) => d.class === c);
    for (const d of [...byClass('vfb'), ...byClass('vkbd')]) expect(d).toMatchObject({ state: 'error', error: { code: 'TSX_ERR_BACKEND_DAEMON_EXITED' } });
    for (const d of [...byClass('vbd'), ...byClass('vif')]) expect(d.state).toBe('connected');
    // Nobody is left to close the vfb and vkbd: destroy does not wait the 10 s close timeout for them.
    const t0 = Date.now();
    expect((await o.destroyDomain(v.uuid).done).leftovers).toEqual([]);
    const destroyMs = Date.now() - t0;
    expect(destroyMs).toBeLessThan(5_000);
    expect(events.filter((e) => e.seq > seq && e.type === 'device.close-timeout')).toEqual([]);
    sub.close();
    expect(await dumpOurTree(env.xs)).toEqual(before);
    console.log(`xenstored restart (mock), vfb domain: destroy took ${destroyMs} ms`);
  });

  it('operations on a running domain across outages: finished once the store is back, or failed leaving the domain as it was', { timeout: 30_000 }, async () => {
    const o = env.orchestrator;
    const mock = env.mock!;
    const before = await dumpOurTree(env.xs);
    const v = await o.createDomain(diskNicConfig('ops-outage')).done;
    const dp = `/local/domain/${v.domid}`;
    const diskEntry = (vdev: string, target: string): DeviceEntry => ({ class: 'vbd', config: { backend: '0', vdev, target, format: 'raw', access: 'w', devtype: 'disk', backendtype: 'phy' } });
    const disk = diskEntry('xvdc', '/srv/ops-extra.img');
    const back = async () => {
      await mock.restart();
      expect(await waitConnected(env.xs, Date.now() + 10_000)).toBe(true);
    };

    // A short outage: the hypervisor took the change, the store gets it once it is back.
    await mock.crash();
    const mem = o.setMemory(v.uuid, 48);
    const vcpus = o.setVcpus(v.uuid, 2);
    setTimeout(() => void mock.restart(), 300);
    await mem;
    await vcpus;
    expect(await env.xs.read(`${dp}/memory/target`)).toBe(String(48 * 1024));
    expect(await env.xs.read(`${dp}/cpu/1/availability`)).toBe('online');
    expect(await waitConnected(env.xs, Date.now() + 10_000)).toBe(true);
    const att = await o.attachDevice(v.uuid, disk).done;
    expect(att.state).toBe('connected');
    // A detach started in an outage waits for the store and finishes.
    await mock.crash();
    const det = o.detachDevice(v.uuid, 'vbd', att.devid).done;
    setTimeout(() => void mock.restart(), 300);
    await det;
    expect(await waitConnected(env.xs, Date.now() + 10_000)).toBe(true);

    // A long outage: what cannot reach the store fails typed and leaves the domain as it was.
    await mock.crash();
    const codeOf = (e: unknown) => (hasTsxCode(e) ? e.code : String(e));
    const [sd, a2] = await Promise.all([o.shutdownDomain(v.uuid, 'poweroff').done.catch((e: unknown) => e), o.attachDevice(v.uuid, diskEntry('xvdd', '/srv/ops-more.img')).done.catch((e: unknown) => e)]);
    expect(codeOf(sd)).toBe('TSX_ERR_XS_DISCONNECTED');
    expect(codeOf(a2)).toBe('TSX_ERR_XS_DISCONNECTED');
    expect(o.getDomain(v.uuid).state).toBe('running');
    await back();
    expect(o.getDomain(v.uuid).devices.map((d) => `${d.class}:${d.state}`).sort()).toEqual(['vbd:connected', 'vbd:connected', 'vif:connected', 'vif:connected']);
    expect(await env.xs.tryRead(`${dp}/control/shutdown`)).toBe('');

    expect((await o.destroyDomain(v.uuid).done).leftovers).toEqual([]);
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });
});
