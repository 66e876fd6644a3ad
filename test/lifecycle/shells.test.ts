// Prepared shells (embedded mock, simulated hypervisor): the pool fills to its target with paused
// domains holding only their home; a create that fits starts from one and sends fewer xenstore
// requests, with the same layout as a normal create; one that does not fit takes the normal
// path; a create failing at any step after taking a shell leaves nothing and the pool refills;
// shells are no domains (not listed, no domain events, no quarantine); a restarted daemon adopts
// intact shells and tears down the others; stop leaves them recorded.

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceManager } from '../../src/devices/index.js';
import type { XendConfig } from '../../src/config/model.js';
import { CREATE_STEPS, type CreateStep } from '../../src/lifecycle/create.js';
import type { StoredShell, TsxEvent } from '../../src/lifecycle/api.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator, type OrchestratorDeps } from '../../src/lifecycle/orchestrator.js';
import { simfbCommand, SimulatedHotplugRunner } from '../../src/sim/index.js';
import { dumpOurTree, dumpOurTreeWithout, dumpTree, sixDeviceConfig, tinyConfig } from './helpers.js';

const treeWithout = dumpOurTreeWithout;

/** Six devices on one vcpu: fits the default shell (pv, 1 vcpu, 256 MiB). */
const fitting = (name: string): XendConfig => sixDeviceConfig(name, { vcpus: 1, maxvcpus: 1 });

/** Every event so far (the ring is far from full in these tests). */
const allEvents = (o: DomainOrchestrator): TsxEvent[] => {
  const events = o.events.replay(0);
  if (events === 'resync-required') throw new Error('the event ring overflowed');
  return events;
};

const shellRecords = async (store: MemoryConfigStore): Promise<StoredShell[]> => (await store.loadShells()).filter((s): s is StoredShell => !('error' in s));

/** Xenstore requests from a create's call to its domain running (the pool idle and full meanwhile). */
async function ownRequests(env: Environment, config: XendConfig): Promise<{ domid: number; requests: number }> {
  const start = env.xs.stats.requests;
  let end: number | undefined;
  const sub = env.orchestrator.events.subscribe((e) => {
    if (e.type === 'domain.running' && e.uuid === config.uuid) end = env.xs.stats.requests;
  });
  const view = await env.orchestrator.createDomain(config).done;
  sub.close();
  return { domid: view.domid as number, requests: (end as number) - start };
}

describe('prepared shells (embedded mock)', () => {
  let env: Environment;
  let store: MemoryConfigStore;
  let failAt: CreateStep | undefined;
  const open = async (deps: Partial<OrchestratorDeps> = {}): Promise<Environment> =>
    createEnvironment({
      xenstore: 'embedded',
      store,
      orchestrator: {
        createTimeoutMs: 5000,
        preparedShells: { count: 2 },
        inject: (step) => {
          if (step === failAt) throw new Error(`injected at ${step}`);
        },
        ...deps,
      },
    });
  /** A second daemon on the same store, xenstore and hypervisor (the first died or stopped). */
  const second = (deps: Partial<OrchestratorDeps> = {}): DomainOrchestrator =>
    new DomainOrchestrator({
      xs: env.xs,
      hypervisor: env.hypervisor,
      devices: createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), vfbCommand: simfbCommand() }),
      store,
      preparedShells: { count: 2 },
      ...deps,
    });

  beforeEach(async () => {
    failAt = undefined;
    store = new MemoryConfigStore();
    env = await open();
    await env.orchestrator.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('fills to its target: paused domains under placeholder handles, max vcpus and memory set, only their home in xenstore, recorded', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const domids = o.shells.readyDomids();
    expect(domids).toHaveLength(2);
    const infos = await env.hypervisor.list();
    expect(infos.map((i) => i.domid).sort()).toEqual([...domids].sort());
    const records = await shellRecords(store);
    for (const d of domids) {
      const info = infos.find((i) => i.domid === d)!;
      expect(info).toMatchObject({ paused: true, running: false, maxVcpuId: 0, maxMemoryKiB: 256 * 1024, memoryKiB: 0 });
      expect(records.find((r) => r.domid === d)).toEqual({ handle: info.uuid, domid: d, type: 'pv', maxVcpus: 1, memoryMiB: 256 });
      expect(await env.xs.read(`/local/domain/${d}/domid`)).toBe(String(d));
      expect(await env.xs.getPerms(`/local/domain/${d}`)).toEqual([{ domid: 0, access: 'n' }, { domid: d, access: 'r' }]);
      expect(await env.xs.getPerms(`/local/domain/${d}/control/shutdown`)).toEqual([{ domid: d, access: 'n' }]);
      expect(await env.xs.read(`/libxl/${d}/type`)).toBe('pv');
      // Nothing a guest's config decides: no name, no VM path, nothing of a build.
      for (const node of ['name', 'vm', 'memory/target', 'store/port', 'cpu/0/availability']) expect(await env.xs.tryRead(`/local/domain/${d}/${node}`), node).toBeUndefined();
      expect(await env.xs.isDomainIntroduced(d)).toBe(false);
    }
    expect(await env.xs.tryDirectory('/vm')).toEqual([]);
    // No domain: not listed, not counted, no domain event.
    expect(o.listDomains().domains).toEqual([]);
    expect(o.health().domains).toBe(0);
    expect(() => o.getDomain(String(domids[0]))).toThrow(/no domain/);
    expect(o.events.replay(0)).toEqual([]);
    expect(await o.hostInfo()).toMatchObject({ preparedShells: { target: 2, ready: 2, preparing: 0, memoryKiB: 0, type: 'pv', maxVcpus: 1, memoryMiB: 256 } });
  });

  it('a create that fits takes a shell: its domid, fewer xenstore requests than a normal create, the same layout', async () => {
    await env.orchestrator.shells.whenFull();
    const [first] = env.orchestrator.shells.readyDomids();
    const plain = await createEnvironment({ xenstore: 'embedded', orchestrator: { createTimeoutMs: 5000 } });
    try {
      await plain.orchestrator.start();
      // The same config in both: a domain of no devices (the counts are then exact) and one of six.
      const bare = tinyConfig('bare');
      const fromShell = await ownRequests(env, bare);
      const normal = await ownRequests(plain, bare);
      expect(fromShell.domid).toBe(first);
      expect(fromShell.requests).toBeLessThan(normal.requests);
      const cfg = fitting('six');
      const six = [await ownRequests(env, cfg), await ownRequests(plain, cfg)];
      expect(six[0]!.requests).toBeLessThan(six[1]!.requests);
      // What each made of the domain is the same, node for node and permission for permission
      // (the guest's start time aside): the shell's domid is the plain host's first, as the first domain there.
      const layout = async (e: Environment, domid: number) => {
        const [home, libxl, vm] = await Promise.all([dumpTree(e.xs, `/local/domain/${domid}`), dumpTree(e.xs, `/libxl/${domid}`), dumpTree(e.xs, `/vm/${bare.uuid}`)]);
        return [...home, ...libxl, ...vm].filter((l) => !l.includes('/start_time ='));
      };
      expect(fromShell.domid).toBe(normal.domid);
      expect(await layout(env, fromShell.domid)).toEqual(await layout(plain, normal.domid));
      expect(await env.hypervisor.getInfo(fromShell.domid)).toMatchObject({ uuid: bare.uuid, paused: false, maxMemoryKiB: bare.maxmem * 1024, maxVcpuId: 0 });
      // Its shell record went with the take.
      expect((await shellRecords(store)).map((r) => r.domid)).not.toContain(fromShell.domid);
    } finally {
      await plain.close();
    }
  });

  it('a create that does not fit (another type, more vcpus, more memory) takes the normal path and leaves the pool alone', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const shells = o.shells.readyDomids();
    for (const cfg of [tinyConfig('pvh', { type: 'pvh' }), tinyConfig('two', { vcpus: 2, maxvcpus: 2 }), tinyConfig('big', { memory: 64, maxmem: 512 }), tinyConfig('one-of-two', { vcpus: 1, maxvcpus: 2 })]) {
      const v = await o.createDomain(cfg).done;
      expect(shells, cfg.name).not.toContain(v.domid);
      expect(o.shells.readyDomids(), cfg.name).toEqual(shells);
    }
    // A create failing before it takes a shell leaves the shell where it was.
    failAt = 'hypervisor-domain';
    await expect(o.createDomain(tinyConfig('early')).done).rejects.toThrow(/injected at hypervisor-domain/);
    expect(o.shells.readyDomids()).toEqual(shells);
  });

  it('refills after a take, in the background, one at a time', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const [taken, kept] = o.shells.readyDomids();
    const v = await o.createDomain(tinyConfig('taker')).done;
    expect(v.domid).toBe(taken);
    expect(o.shells.ready + o.shells.preparing).toBe(2);
    expect(o.shells.preparing).toBeLessThanOrEqual(1);
    await o.shells.whenFull();
    const now = o.shells.readyDomids();
    expect(now).toHaveLength(2);
    expect(now[0]).toBe(kept);
    expect(now).not.toContain(taken);
    expect(await shellRecords(store)).toHaveLength(2);
    expect(o.listDomains().domains.map((d) => d.name)).toEqual(['taker']);
  });

  const afterTake = CREATE_STEPS.slice(CREATE_STEPS.indexOf('store-layout'));
  for (const step of [...afterTake, 'setHandle' as const]) {
    it(`a create failing ${step === 'setHandle' ? 'in setHandle' : `at ${step}`} after taking a shell leaves no domain, node or record, and the pool refills`, async () => {
      const o = env.orchestrator;
      await o.shells.whenFull();
      const before = await treeWithout(env.xs, o.shells.readyDomids());
      const [taken] = o.shells.readyDomids();
      const handle = (await shellRecords(store)).find((r) => r.domid === taken)!.handle;
      if (step === 'setHandle') env.simulated?.failNext('setHandle');
      else failAt = step;
      const err = await o.createDomain(fitting('fails')).done.catch((e: unknown) => e);
      expect((err as Error).message).toMatch(step === 'setHandle' ? /injected failure in setHandle/ : new RegExp(`injected at ${step}`));
      // The taken shell is destroyed, not returned.
      expect(await env.hypervisor.getInfo(taken!)).toBeUndefined();
      expect(o.shells.readyDomids()).not.toContain(taken);
      expect(store.size).toBe(0);
      expect((await shellRecords(store)).map((r) => r.handle)).not.toContain(handle);
      failAt = undefined;
      await o.shells.whenFull();
      const shells = o.shells.readyDomids();
      expect(await treeWithout(env.xs, shells)).toEqual(before);
      expect((await env.hypervisor.list()).map((i) => i.domid).sort()).toEqual([...shells].sort());
      expect(o.listDomains().domains).toEqual([]);
      expect(await shellRecords(store)).toHaveLength(2);
    });
  }

  it('a domain made from a shell destroys cleanly', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const before = await treeWithout(env.xs, o.shells.readyDomids());
    const v = await o.createDomain(fitting('web')).done;
    expect(v.devices.every((d) => d.state === 'connected')).toBe(true);
    expect((await o.destroyDomain('web').done).leftovers).toEqual([]);
    await o.shells.whenFull();
    expect(await treeWithout(env.xs, o.shells.readyDomids())).toEqual(before);
    expect((await env.hypervisor.list()).map((i) => i.domid).sort()).toEqual(o.shells.readyDomids().sort());
    expect(store.size).toBe(0);
    // Its events are a domain's like any other; no shell ever showed in them.
    const domids = new Set(allEvents(o).filter((e) => e.type.startsWith('domain.')).map((e) => e.domid));
    expect([...domids].filter((d) => d !== undefined)).toEqual([v.domid]);
  });

  it('a failed preparation leaves nothing behind, says so to whoever waits, and the pool tries again', async () => {
    await env.close();
    store = new MemoryConfigStore();
    env = await open({ preparedShells: { count: 1, retryMs: 50 } });
    env.simulated?.failNext('setMaxMemory');
    const full = env.orchestrator.shells.whenFull();
    await env.orchestrator.start();
    await expect(full).rejects.toThrow(/injected failure in setMaxMemory/);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(await store.loadShells()).toEqual([]);
    await env.orchestrator.shells.whenFull();
    const shells = env.orchestrator.shells.readyDomids();
    expect(shells).toHaveLength(1);
    // The failed attempt's domid left no node either.
    expect((await treeWithout(env.xs, shells)).filter((l) => /^\/(local\/domain|libxl)\/[1-9]/.test(l))).toEqual([]);
  });

  it('stop leaves the shells in place, recorded; a start with no shells asked for tears them all down', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const shells = o.shells.readyDomids();
    const bare = await treeWithout(env.xs, shells);
    await o.stop();
    expect((await env.hypervisor.list()).map((i) => i.domid).sort()).toEqual([...shells].sort());
    expect((await shellRecords(store)).map((r) => r.domid).sort()).toEqual([...shells].sort());
    const o2 = second({ preparedShells: { count: 0 } });
    await o2.start();
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.shellCount).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(bare);
    expect(o2.events.replay(0)).toEqual([]);
    await o2.stop();
  });

  it('stop while the pool fills: what was under way ends recorded, and the next start adopts every shell', async () => {
    await env.close();
    store = new MemoryConfigStore();
    env = await open({ preparedShells: { count: 3 } });
    await env.orchestrator.start();
    await env.orchestrator.stop();
    const made = (await env.hypervisor.list()).map((i) => i.domid).sort();
    expect((await shellRecords(store)).map((r) => r.domid).sort()).toEqual(made);
    const o2 = second({ preparedShells: { count: 3 } });
    await o2.start();
    expect([...o2.shells.readyDomids()].sort()).toEqual(made);
    await o2.shells.whenFull();
    await o2.stop();
  });

  it('the daemon dying with shells prepared: the next adopts the intact one and uses it, tears down a broken one, and nothing is taken for a domain', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const [intact, broken] = o.shells.readyDomids();
    const before = await treeWithout(env.xs, [intact!, broken!]);
    await o.stop();
    await env.xs.rm(`/local/domain/${broken!}`);
    const o2 = second();
    await o2.start();
    expect(o2.shells.readyDomids()[0]).toBe(intact);
    expect(await env.hypervisor.getInfo(broken!)).toBeUndefined();
    expect(await env.xs.tryRead(`/libxl/${broken!}/type`)).toBeUndefined();
    expect((await shellRecords(store)).map((r) => r.domid)).not.toContain(broken);
    expect(o2.listDomains().domains).toEqual([]);
    expect(o2.events.replay(0)).toEqual([]);
    await o2.shells.whenFull();
    const v = await o2.createDomain(tinyConfig('after')).done;
    expect(v.domid).toBe(intact);
    await o2.destroyDomain('after').done;
    await o2.shells.whenFull();
    expect(await treeWithout(env.xs, o2.shells.readyDomids())).toEqual(before);
    await o2.stop();
  });

  it('a restart after deaths mid-preparation and a shell whose domain went: each torn down or dropped, nothing left', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const [gone, kept] = o.shells.readyDomids();
    const before = await treeWithout(env.xs, [gone!, kept!]);
    await o.stop();
    const hv = env.hypervisor;
    await hv.destroy(gone!);
    // Killed after its domain was made, before the record named it.
    const early: StoredShell = { handle: randomUUID(), type: 'pv', maxVcpus: 1, memoryMiB: 256 };
    await store.saveShell(early);
    const earlyDomid = await hv.createDomain({ uuid: early.handle, type: 'pv', maxVcpus: 1 });
    // Killed before its home was written.
    const homeless: StoredShell = { handle: randomUUID(), type: 'pv', maxVcpus: 1, memoryMiB: 256 };
    const homelessDomid = await hv.createDomain({ uuid: homeless.handle, type: 'pv', maxVcpus: 1 });
    await store.saveShell({ ...homeless, domid: homelessDomid });
    await hv.setMaxVcpus(homelessDomid, 1);
    await hv.setMaxMemory(homelessDomid, 256 * 1024);
    const o2 = second();
    await o2.start();
    for (const d of [gone, earlyDomid, homelessDomid]) expect(await hv.getInfo(d!), String(d)).toBeUndefined();
    expect(o2.shells.readyDomids()[0]).toBe(kept);
    expect(o2.events.replay(0)).toEqual([]);
    await o2.shells.whenFull();
    const shells = o2.shells.readyDomids();
    expect((await shellRecords(store)).map((r) => r.domid).sort()).toEqual([...shells].sort());
    expect(store.shellCount).toBe(2);
    expect(await treeWithout(env.xs, shells)).toEqual(before);
    await o2.stop();
  });

  it('a daemon killed between a take and the shell record going: the create is rolled back by its record, the shell record dropped', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const [taken] = o.shells.readyDomids();
    const before = await treeWithout(env.xs, o.shells.readyDomids());
    await o.stop();
    // What runCreate leaves there: the guest's uuid on the shell, the create's record naming its domid.
    const cfg = tinyConfig('half');
    await env.hypervisor.setHandle(taken!, cfg.uuid);
    await store.save({ config: cfg, managed: false, autostart: false, autostartOrder: 0, domid: taken!, phase: 'creating' });
    const o2 = second();
    await o2.start();
    expect(allEvents(o2).map((e) => `${e.type}:${e.uuid}`)).toEqual([`domain.rolled-back:${cfg.uuid}`]);
    expect(await env.hypervisor.getInfo(taken!)).toBeUndefined();
    expect(store.size).toBe(0);
    expect((await shellRecords(store)).map((r) => r.domid)).not.toContain(taken);
    await o2.shells.whenFull();
    expect(await treeWithout(env.xs, o2.shells.readyDomids())).toEqual(before);
    await o2.stop();
  });

  it('a restart asking for another shape tears the old shells down and prepares new ones', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const old = o.shells.readyDomids();
    await o.stop();
    const o2 = second({ preparedShells: { count: 1, memoryMiB: 64, maxVcpus: 2 } });
    await o2.start();
    await o2.shells.whenFull();
    for (const d of old) expect(await env.hypervisor.getInfo(d)).toBeUndefined();
    const [d] = o2.shells.readyDomids();
    expect(await env.hypervisor.getInfo(d!)).toMatchObject({ maxVcpuId: 1, maxMemoryKiB: 64 * 1024 });
    expect(await shellRecords(store)).toEqual([expect.objectContaining({ domid: d, maxVcpus: 2, memoryMiB: 64 })]);
    expect((await o2.createDomain(tinyConfig('two', { vcpus: 2, maxvcpus: 2 })).done).domid).toBe(d);
    await o2.stop();
  });

  it('xenstored coming back empty drops every ready shell (their homes are gone) and the pool prepares new ones', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const old = o.shells.readyDomids();
    await o.shells.discardAll('test');
    await o.shells.whenFull();
    for (const d of old) expect(await env.hypervisor.getInfo(d)).toBeUndefined();
    expect(o.shells.readyDomids().filter((d) => old.includes(d))).toEqual([]);
    expect(await shellRecords(store)).toHaveLength(2);
  });
});
