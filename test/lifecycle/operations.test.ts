// Domain operations against the embedded mock: states and refusals, shutdown/reboot/crash and
// their actions, mem-set and vcpu-set, attach/detach, name clashes between parallel creates,
// managed domains and reconcile.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { E_HV_NO_MEMORY } from '../../src/hypervisor/errors.js';
import { E_BAD_REQUEST, E_NAME_TAKEN, E_RESOURCE_CLASH, E_SHUTDOWN_TIMEOUT, E_WRONG_STATE } from '../../src/lifecycle/errors.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import type { DomainView } from '../../src/lifecycle/api.js';
import { dumpOurTree, sixDeviceConfig, tinyConfig } from './helpers.js';

async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('domain operations (embedded mock)', () => {
  let env: Environment;
  let store: MemoryConfigStore;
  beforeEach(async () => {
    store = new MemoryConfigStore();
    env = await createEnvironment({ xenstore: 'embedded', store, simulated: { totalMemoryKiB: 1024 * 1024 }, orchestrator: { minRestartIntervalMs: 0, shutdownTimeoutMs: 2000, createTimeoutMs: 5000 } });
    await env.orchestrator.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('pauses and unpauses, and refuses what the state does not allow with 409 naming the state', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('a')).done;
    expect((await o.pauseDomain('a')).state).toBe('paused');
    const err = await o.pauseDomain('a').catch((e: unknown) => e);
    expect(isError(err, E_WRONG_STATE)).toBe(true);
    expect((err as { statusCode: number }).statusCode).toBe(409);
    expect((err as Error).message).toContain('it is paused');
    expect((await env.hypervisor.getInfo(1))?.paused).toBe(true);
    expect((await o.unpauseDomain('1')).state).toBe('running');
    await expect(o.unpauseDomain('a')).rejects.toThrow(/it is running/);
  });

  it('creates paused (devices up to InitWait), then unpause connects them', async () => {
    const o = env.orchestrator;
    const v = await o.createDomain(sixDeviceConfig('p'), { paused: true }).done;
    expect(v.state).toBe('paused');
    expect(v.devices.every((d) => d.state === 'init-wait')).toBe(true);
    const u = await o.unpauseDomain('p');
    expect(u.devices.every((d) => d.state === 'connected')).toBe(true);
  });

  it('refuses a second domain with the same name: of two parallel creates exactly one wins', async () => {
    const o = env.orchestrator;
    const results = await Promise.allSettled([o.createDomain(sixDeviceConfig('same')).done, o.createDomain(sixDeviceConfig('same')).done]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const bad = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(bad).toHaveLength(1);
    expect(isError(bad[0]?.reason, E_NAME_TAKEN)).toBe(true);
    expect((bad[0]?.reason as { statusCode: number }).statusCode).toBe(409);
    expect(o.listDomains().domains.map((d) => d.name)).toEqual(['same']);
    expect(await env.hypervisor.list()).toHaveLength(1);
  });

  it('refuses clashing MACs, vifnames and writable backing files before writing anything', async () => {
    const o = env.orchestrator;
    const a = sixDeviceConfig('a');
    await o.createDomain(a).done;
    const before = await dumpOurTree(env.xs);
    const b = sixDeviceConfig('b');
    const vifA = Object.values(a.devices).find((d) => d.class === 'vif');
    const vifB = Object.entries(b.devices).find(([, d]) => d.class === 'vif');
    if (vifA?.class !== 'vif' || vifB?.[1].class !== 'vif') throw new Error('no vif');
    b.devices[vifB[0]] = { class: 'vif', config: { ...vifB[1].config, mac: vifA.config.mac } };
    const err = await o.createDomain(b).done.catch((e: unknown) => e);
    expect(isError(err, E_RESOURCE_CLASH)).toBe(true);
    expect((err as Error).message).toContain(vifA.config.mac);
    const c = tinyConfig('c', { devices: { 'c0c0c0c0-0000-4000-8000-000000000001': { class: 'vbd', config: { backend: '0', vdev: 'xvda', target: '/srv/a-root.img', format: 'raw', access: 'w', devtype: 'disk', backendtype: 'phy' } } } });
    await expect(o.createDomain(c).done).rejects.toThrow(/backing file \/srv\/a-root.img/);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    expect(await env.hypervisor.list()).toHaveLength(1);
  });

  it('refuses a create that does not fit in host memory, typed', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('big', { memory: 900, maxmem: 900 })).done;
    const err = await o.createDomain(tinyConfig('big2', { memory: 200, maxmem: 200 })).done.catch((e: unknown) => e);
    expect(isError(err, E_HV_NO_MEMORY)).toBe(true);
    expect(await env.hypervisor.list()).toHaveLength(1);
  });

  it('shutdown poweroff: the guest clears control/shutdown, the domain is destroyed (on_poweroff=destroy)', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    await o.createDomain(sixDeviceConfig('s')).done;
    const v = await o.shutdownDomain('s', 'poweroff').done;
    expect(v.state).toBe('destroyed');
    expect(v.shutdownReason).toBe('poweroff');
    expect(o.listDomains().domains).toEqual([]);
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });

  it('reboot restarts the domain with a new domid (on_reboot=restart)', async () => {
    const o = env.orchestrator;
    const cfg = tinyConfig('r');
    await o.createDomain(cfg).done;
    await o.shutdownDomain('r', 'reboot').done;
    await until(() => o.listDomains().domains.some((d) => d.name === 'r' && d.state === 'running'));
    const d = o.getDomain('r');
    expect(d.domid).toBe(2);
    expect(d.uuid).toBe(cfg.uuid);
    expect(await env.hypervisor.list()).toHaveLength(1);
  });

  it('a crash with on_crash=preserve keeps the domain as crashed; destroy then clears it', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('c', { on_crash: 'preserve' })).done;
    await env.guests?.crash(1);
    await until(() => o.getDomain('c').state === 'crashed');
    expect(o.getDomain('c').shutdownReason).toBe('crash');
    expect(await env.xs.read(`/vm/${o.getDomain('c').uuid}/xend/last_shutdown_reason`)).toBe('crash');
    await expect(o.pauseDomain('c')).rejects.toThrow(/it is crashed/);
    await o.destroyDomain('c').done;
    expect(o.listDomains().domains).toEqual([]);
  });

  it('coredump-restart records a core dump event and restarts; rename-restart keeps the corpse renamed', async () => {
    const o = env.orchestrator;
    const types: string[] = [];
    o.events.subscribe((e) => types.push(e.type));
    await o.createDomain(tinyConfig('cd', { on_crash: 'coredump-restart' })).done;
    await env.guests?.crash(1);
    await until(() => o.listDomains().domains.some((d) => d.name === 'cd' && d.state === 'running' && d.domid === 2));
    expect(types).toContain('domain.coredump');
    await o.createDomain(tinyConfig('rr', { on_crash: 'rename-restart' })).done;
    const rrDomid = o.getDomain('rr').domid as number;
    await env.guests?.crash(rrDomid);
    await until(() => o.listDomains().domains.some((d) => d.name === 'rr' && d.state === 'running' && d.domid !== rrDomid));
    const corpse = o.listDomains().domains.find((d) => d.domid === rrDomid);
    expect(corpse?.name).toMatch(/^Domain-/);
    expect(corpse?.state).toBe('crashed');
  });

  it('halt destroys whatever on_poweroff says; suspend leaves the domain shut down', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('h', { on_poweroff: 'preserve' })).done;
    expect((await o.shutdownDomain('h', 'halt').done).state).toBe('destroyed');
    await o.createDomain(tinyConfig('sus')).done;
    const v = await o.shutdownDomain('sus', 'suspend').done;
    expect(v.state).toBe('shutdown');
    expect(v.shutdownReason).toBe('suspend');
  });

  it('a guest that ignores control/shutdown times out typed and stays running', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('deaf')).done;
    env.guests!.options.honourShutdown = false;
    const err = await o.shutdownDomain('deaf', 'poweroff').done.catch((e: unknown) => e);
    expect(isError(err, E_SHUTDOWN_TIMEOUT)).toBe(true);
    expect(o.getDomain('deaf').state).toBe('running');
    expect(await env.xs.read('/local/domain/1/control/shutdown')).toBe('');
  });

  it('a domain that vanishes from the hypervisor is cleaned up on @releaseDomain', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    await o.createDomain(sixDeviceConfig('v')).done;
    await env.hypervisor.destroy(1);
    await until(() => o.listDomains().domains.length === 0);
    await until(async () => JSON.stringify(await dumpOurTree(env.xs)) === JSON.stringify(before));
  });

  it('mem-set and vcpu-set update the hypervisor and the store; over the limits is refused', async () => {
    const o = env.orchestrator;
    const cfg = tinyConfig('m', { memory: 32, maxmem: 64, vcpus: 1, maxvcpus: 4 });
    await o.createDomain(cfg).done;
    await o.setMemory('m', 48);
    expect(await env.xs.read(`/vm/${cfg.uuid}/memory`)).toBe('48');
    expect(await env.xs.read('/local/domain/1/memory/target')).toBe(String(48 * 1024));
    expect((await env.hypervisor.getInfo(1))?.memoryKiB).toBe(48 * 1024);
    expect(isError(await o.setMemory('m', 65).catch((e: unknown) => e), E_BAD_REQUEST)).toBe(true);
    await o.setVcpus('m', 3);
    expect(await env.xs.read(`/vm/${cfg.uuid}/vcpu_avail`)).toBe('7');
    expect(await env.xs.read('/local/domain/1/cpu/2/availability')).toBe('online');
    expect(await env.xs.read('/local/domain/1/cpu/3/availability')).toBe('offline');
    expect((await env.hypervisor.getInfo(1))?.onlineVcpus).toBe(3);
    expect(isError(await o.setVcpus('m', 5).catch((e: unknown) => e), E_BAD_REQUEST)).toBe(true);
  });

  it('attaches and detaches a disk; the store is as before afterwards', async () => {
    const o = env.orchestrator;
    await o.createDomain(tinyConfig('att')).done;
    const before = await dumpOurTree(env.xs);
    const dev = await o.attachDevice('att', { class: 'vbd', config: { backend: '0', vdev: 'xvdc', target: '/srv/extra.img', format: 'raw', access: 'w', devtype: 'disk', backendtype: 'phy' } }).done;
    expect(dev.state).toBe('connected');
    expect(dev.devid).toBe(51744);
    expect(o.listDevices('att')).toHaveLength(1);
    expect(await env.xs.read('/local/domain/1/device/vbd/51744/state')).toBe('4');
    await o.detachDevice('att', 'vbd', 51744).done;
    expect(o.listDevices('att')).toHaveLength(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });

  it('serialises operations per domain while listing never waits', async () => {
    const o = env.orchestrator;
    const op = o.createDomain(sixDeviceConfig('busy'));
    const listed = o.listDomains();
    expect(listed.domains.map((d: DomainView) => d.state)).toEqual(['creating']);
    expect(listed.domains[0]?.operations.map((t) => t.operation)).toEqual(['createDomain']);
    const paused = o.pauseDomain('busy'); // queued behind the create
    await op.done;
    expect((await paused).state).toBe('paused');
  });

  it('defines, starts and undefines a managed domain; the store keeps it while it is defined', async () => {
    const o = env.orchestrator;
    const cfg = tinyConfig('man');
    expect((await o.defineDomain(cfg, { autostart: true })).state).toBe('defined');
    expect(store.size).toBe(1);
    const v = await o.startDomain('man').done;
    expect(v.state).toBe('running');
    await o.destroyDomain('man').done;
    expect(o.getDomain('man').state).toBe('defined');
    await o.undefineDomain('man');
    expect(store.size).toBe(0);
    expect(o.listDomains().domains).toEqual([]);
  });

  it('replays events from a seq, and answers resync-required once the ring has dropped some', async () => {
    const o = env.orchestrator;
    const seq0 = o.events.currentSeq;
    await o.createDomain(tinyConfig('e')).done;
    const replay = o.events.replay(seq0);
    expect(Array.isArray(replay) && replay[0]?.seq).toBe(seq0 + 1);
    const small = new (await import('../../src/lifecycle/events.js')).EventLog(3);
    for (let i = 0; i < 5; i++) small.emit({ type: 't' });
    expect(small.replay(0)).toBe('resync-required');
    expect(small.replay(2)).toEqual(expect.arrayContaining([expect.objectContaining({ seq: 3 })]));
  });
});

describe('reconcile at start', () => {
  it('an adopted domain keeps its real start time: a reboot soon after a daemon restart is not refused as too fast', async () => {
    const store = new MemoryConfigStore();
    const env = await createEnvironment({ xenstore: 'embedded', store, orchestrator: { minRestartIntervalMs: 60_000 } });
    try {
      const o = env.orchestrator;
      await o.start();
      const cfg = tinyConfig('old');
      await o.createDomain(cfg).done;
      // It has been running for an hour when the daemon restarts.
      await env.xs.write(`/vm/${cfg.uuid}/start_time`, (Date.now() / 1000 - 3600).toFixed(2));
      await o.stop();
      const { DomainOrchestrator } = await import('../../src/lifecycle/orchestrator.js');
      const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: o.devices, store, minRestartIntervalMs: 60_000 });
      await o2.start();
      const before = o2.getDomain('old');
      const refused: unknown[] = [];
      const sub = o2.events.subscribe((e) => e.type === 'domain.restart-refused' && refused.push(e));
      await o2.shutdownDomain('old', 'reboot').done;
      await until(() => o2.listDomains().domains.some((d) => d.name === 'old' && d.state === 'running' && d.domid !== before.domid));
      sub.close();
      expect(refused).toEqual([]);
      await o2.stop();
    } finally {
      await env.close();
    }
  });

  it('re-adopts running domains, autostarts managed ones in order, quarantines unknown ones', async () => {
    const store = new MemoryConfigStore();
    const env = await createEnvironment({ xenstore: 'embedded', store });
    try {
      const o = env.orchestrator;
      await o.start();
      await o.createDomain(sixDeviceConfig('keep')).done;
      await o.defineDomain(tinyConfig('auto2'), { autostart: true, autostartOrder: 2 });
      await o.defineDomain(tinyConfig('auto1'), { autostart: true, autostartOrder: 1 });
      // A domain made by someone else: in the hypervisor, no tsxend record.
      await env.simulated?.createDomain({ uuid: '11111111-2222-4333-8444-555555555555', type: 'pv', maxVcpus: 1 });
      await o.stop();
      // A second orchestrator on the same store, xenstore and hypervisor.
      const { DomainOrchestrator } = await import('../../src/lifecycle/orchestrator.js');
      const { BasicDeviceManager } = await import('../../src/sim/index.js');
      const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: new BasicDeviceManager(), store });
      await o2.start();
      const byName = new Map(o2.listDomains().domains.map((d) => [d.name, d]));
      expect(byName.get('keep')?.state).toBe('running');
      expect(byName.get('keep')?.devices).toHaveLength(6);
      expect(byName.get('auto1')?.state).toBe('running');
      expect(byName.get('auto2')?.state).toBe('running');
      expect((byName.get('auto1')?.domid ?? 0) < (byName.get('auto2')?.domid ?? 0)).toBe(true);
      const q = o2.listDomains().domains.find((d) => d.state === 'quarantined');
      expect(q?.reason).toMatch(/not made by tsxend/);
      await o2.stop();
    } finally {
      await env.close();
    }
  });
});
