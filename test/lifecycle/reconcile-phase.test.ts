// Reconcile after a daemon died in the middle of a create or a destroy (embedded mock): the
// record saved with its phase says so, and a second orchestrator on the same store, xenstore
// and hypervisor tears the domain down — never adopts it half made — and leaves the whole store
// as it was before the domain, backends and VM path included.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceManager } from '../../src/devices/index.js';
import { simfbCommand, SimulatedHotplugRunner } from '../../src/sim/index.js';
import type { StoredDomain } from '../../src/lifecycle/api.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { dumpOurTree, sixDeviceConfig } from './helpers.js';

describe('reconcile of a create or destroy the daemon died in', () => {
  let env: Environment;
  let store: MemoryConfigStore;
  let before: string[];
  beforeEach(async () => {
    store = new MemoryConfigStore();
    env = await createEnvironment({ xenstore: 'embedded', store });
    await env.orchestrator.start();
    before = await dumpOurTree(env.xs);
  });
  afterEach(async () => {
    await env.close();
  });

  /** The first daemon dies (stops listening), a second starts on the same store, xenstore and hypervisor. */
  const restart = async () => {
    await env.orchestrator.stop();
    const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), vfbCommand: simfbCommand() }), store });
    await o2.start();
    return o2;
  };
  const record = async (uuid: string): Promise<StoredDomain | undefined> => (await store.loadAll()).find((r): r is StoredDomain => 'config' in r && r.config.uuid === uuid);

  it('a create that never finished (record still "creating") is rolled back, even when every step was done', async () => {
    const o = env.orchestrator;
    const v = await o.createDomain(sixDeviceConfig('late')).done;
    // Killed between the last step and the final save: the record says the create is under way.
    await store.save({ ...(await record(v.uuid))!, phase: 'creating' });
    const o2 = await restart();
    expect(o2.listDomains().domains).toEqual([]);
    expect(o2.events.replay(0)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'domain.rolled-back', uuid: v.uuid })]));
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a create stopped half way (devices written, not activated) is rolled back with its backends', async () => {
    let hang: () => void = () => undefined;
    const o = new DomainOrchestrator({
      xs: env.xs,
      hypervisor: env.hypervisor,
      devices: createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), vfbCommand: simfbCommand() }),
      store,
      inject: (step) => (step === 'activate-devices' ? new Promise<void>((r) => (hang = r)) : undefined),
    });
    const op = o.createDomain(sixDeviceConfig('half'));
    for (let i = 0; i < 200 && (await env.hypervisor.list()).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await expect.poll(async () => (await env.xs.tryDirectory('/local/domain/0/backend'))?.length ?? 0).toBeGreaterThan(0);
    expect((await record(op.task.domainUuid!))?.phase).toBe('creating');
    const o2 = await restart();
    expect(o2.listDomains().domains).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    hang();
    await op.done.catch(() => undefined);
    await o2.stop();
  });

  it('a destroy that never finished (record "destroying", some devices gone) is finished', async () => {
    const v = await env.orchestrator.createDomain(sixDeviceConfig('dying')).done;
    await store.save({ ...(await record(v.uuid))!, phase: 'destroying' });
    const vif = v.devices.find((d) => d.class === 'vif')!;
    await env.xs.rm(vif.backendPath);
    await env.xs.rm(vif.frontendPath);
    const o2 = await restart();
    expect(o2.listDomains().domains).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a destroy killed after the hypervisor domain went: the nodes left (backends, VM path) are swept', async () => {
    const v = await env.orchestrator.createDomain(sixDeviceConfig('swept')).done;
    await store.save({ ...(await record(v.uuid))!, phase: 'destroying' });
    await env.hypervisor.destroy(v.domid!);
    const o2 = await restart();
    expect(o2.listDomains().domains).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a running domain quarantined at start (its record clashes with another) keeps every node and its record', async () => {
    const o = env.orchestrator;
    const a = await o.createDomain(sixDeviceConfig('first')).done;
    const b = await o.createDomain(sixDeviceConfig('second')).done;
    // b's stored config now claims a's MAC: whichever is adopted second cannot be.
    const recB = (await record(b.uuid))!;
    const macA = a.devices.find((d) => d.class === 'vif')!.config as { mac: string };
    const devices = Object.fromEntries(Object.entries(recB.config.devices).map(([u, e]) => [u, e.class === 'vif' ? { ...e, config: { ...e.config, mac: macA.mac } } : e]));
    await store.save({ ...recB, config: { ...recB.config, devices } });
    const running = await dumpOurTree(env.xs);
    const o2 = await restart();
    expect(o2.listDomains().domains.map((d) => d.state).sort()).toEqual(['quarantined', 'running']);
    expect(await dumpOurTree(env.xs)).toEqual(running);
    expect(await env.hypervisor.list()).toHaveLength(2);
    expect(store.size).toBe(2);
    await o2.stop();
  });

  it('a finished domain whose nodes xenstored lost while the daemon was down is kept, flagged xenstore-lost, and destroys cleanly', async () => {
    const v = await env.orchestrator.createDomain(sixDeviceConfig('survivor')).done;
    const domid = v.domid!;
    await env.orchestrator.stop();
    // What a restarted (empty) xenstored no longer has: every node of this, the only, domain.
    for (const path of [`/local/domain/${domid}`, `/vm/${v.uuid}`, `/libxl/${domid}`, '/local/domain/0/backend']) await env.xs.rm(path);
    const o2 = await restart();
    const [view] = o2.listDomains().domains;
    expect(view).toMatchObject({ uuid: v.uuid, domid, state: 'running' });
    expect(view?.reason).toMatch(/^xenstore-lost: found at start without \/local\/domain\/\d+\/vm/);
    expect(o2.events.replay(0)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'domain.xenstore-lost', uuid: v.uuid })]));
    expect(o2.events.replay(0)).not.toEqual(expect.arrayContaining([expect.objectContaining({ type: 'domain.rolled-back' })]));
    expect((await env.hypervisor.list()).map((d) => d.domid)).toEqual([domid]);
    await o2.destroyDomain(v.uuid).done;
    expect(o2.listDomains().domains).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a domain of ours whose dom path names another VM is quarantined, its nodes and record untouched', async () => {
    const v = await env.orchestrator.createDomain(sixDeviceConfig('hijacked')).done;
    await env.orchestrator.stop();
    await env.xs.write(`/local/domain/${v.domid!}/vm`, '/vm/00000000-0000-4000-8000-000000000000');
    const tree = await dumpOurTree(env.xs);
    const o2 = await restart();
    const [view] = o2.listDomains().domains;
    expect(view).toMatchObject({ uuid: v.uuid, domid: v.domid, state: 'quarantined' });
    expect(view?.reason).toBe(`/local/domain/${v.domid!}/vm is /vm/00000000-0000-4000-8000-000000000000, not /vm/${v.uuid}`);
    expect(await dumpOurTree(env.xs)).toEqual(tree);
    expect(await env.hypervisor.list()).toHaveLength(1);
    expect(store.size).toBe(1);
    await o2.stop();
  });

  it('a managed domain whose create the daemon died in stays defined, its record without the phase', async () => {
    const v = await env.orchestrator.createDomain(sixDeviceConfig('kept'), { managed: true }).done;
    await store.save({ ...(await record(v.uuid))!, phase: 'creating' });
    const o2 = await restart();
    expect(o2.listDomains().domains.map((d) => `${d.name}:${d.state}`)).toEqual(['kept:defined']);
    const rec = await record(v.uuid);
    expect(rec?.phase).toBeUndefined();
    expect(rec?.domid).toBeUndefined();
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });
});
