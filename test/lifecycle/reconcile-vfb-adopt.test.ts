// A re-adopted domain's framebuffer backend daemon (the sim vfb daemon, started by a daemon that
// then died) is found from its record (/libxl/<domid>/vfb-daemon: pid and start time) and
// supervised as a non-child: its death is reported as backend.exited with the devices in error,
// as for a child; destroy stops it; a record whose pid now names another process is never
// signalled; a missing record falls back to the daemon's environment (TSXEND_UUID); a create
// torn down at start stops the daemon it had started.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceManager, type VfbCommand } from '../../src/devices/index.js';
import { simfbCommand, SimulatedHotplugRunner } from '../../src/sim/index.js';
import { E_BACKEND_DAEMON_EXITED } from '../../src/devices/errors.js';
import type { StoredDomain } from '../../src/lifecycle/api.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { dumpOurTree, tinyConfig } from './helpers.js';
import { alive } from '../helpers/proc.js';

const fbConfig = (name: string) =>
  tinyConfig(name, {
    devices: {
      'fbfbfbfb-0000-4000-8000-000000000001': { class: 'vfb', config: { vnc: true } },
      'fbfbfbfb-0000-4000-8000-000000000002': { class: 'vkbd', config: {} },
    },
  } as never);

describe('reconcile re-adopts a domain with its framebuffer daemon supervised', () => {
  let env: Environment;
  let store: MemoryConfigStore;
  let socket: string;
  let before: string[];
  const pids: number[] = [];
  beforeEach(async () => {
    store = new MemoryConfigStore();
    env = await createEnvironment({ xenstore: 'embedded', store });
    socket = env.mock!.socketPath!;
    await env.orchestrator.start();
    before = await dumpOurTree(env.xs);
  });
  afterEach(async () => {
    for (const p of pids.splice(0)) if (alive(p)) process.kill(p, 'SIGKILL');
    await env.close();
  });

  const dm = (vfbCommand?: VfbCommand) => createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), xenstoredPath: socket, daemonPollMs: 100, vfbCommand: vfbCommand ?? simfbCommand() });
  /** The first daemon creates the domain, then dies: its vfb daemon runs on, nobody's child now. */
  async function createThenDie(vfbCommand?: VfbCommand, name = 'fb'): Promise<{ uuid: string; domid: number; pid: number }> {
    const o1 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: dm(vfbCommand), store });
    const v = await o1.createDomain(fbConfig(name)).done;
    const pid = Number(await env.xs.read(`/libxl/${v.domid}/vfb-daemon/pid`));
    pids.push(pid);
    expect(alive(pid)).toBe(true);
    await env.orchestrator.stop();
    await o1.stop();
    return { uuid: v.uuid, domid: v.domid!, pid };
  }
  async function restart(): Promise<DomainOrchestrator> {
    const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: dm(), store });
    await o2.start();
    return o2;
  }
  const events = (o: DomainOrchestrator) => {
    const e = o.events.replay(0);
    if (!Array.isArray(e)) throw new Error('event ring overrun');
    return e;
  };
  const record = async (uuid: string): Promise<StoredDomain> => (await store.loadAll()).find((r): r is StoredDomain => 'config' in r && r.config.uuid === uuid)!;

  it('its death after the restart is noticed: backend.exited, vfb and vkbd in error; destroy then needs no close wait', async () => {
    const { uuid, pid } = await createThenDie();
    const o2 = await restart();
    expect(events(o2)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'device.daemon', uuid, outcome: 'ok', data: { pid, adopted: true } })]));
    expect(events(o2).some((e) => e.type === 'backend.exited')).toBe(false);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => events(o2).some((e) => e.type === 'backend.exited' && e.uuid === uuid), { timeout: 3_000 }).toBe(true);
    const view = o2.listDomains().domains.find((d) => d.uuid === uuid)!;
    expect(view.devices.map((d) => `${d.class}:${d.state}:${d.error?.code}`).sort()).toEqual([`vfb:error:${E_BACKEND_DAEMON_EXITED.code}`, `vkbd:error:${E_BACKEND_DAEMON_EXITED.code}`]);
    const t = Date.now();
    await o2.destroyDomain(uuid).done;
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('destroy stops the adopted daemon as it stops a child (one that would not stop by itself)', async () => {
    const [node, script] = simfbCommand().argv as [string, string];
    // Serves, and after its devices close stays alive as the same process (exec): only a stop ends it.
    const { uuid, pid } = await createThenDie({ argv: ['sh', '-c', '"$0" "$@"; exec sleep 600', node, script] });
    const o2 = await restart();
    expect(events(o2)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'device.daemon', uuid, data: { pid, adopted: true } })]));
    await o2.destroyDomain(uuid).done;
    expect(alive(pid)).toBe(false);
    expect(events(o2).some((e) => e.type === 'backend.exited')).toBe(false);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    expect(store.size).toBe(0);
    await o2.stop();
  });

  it('a daemon that died while no toolstack ran is reported at adoption; a record naming a reused pid is never signalled', async () => {
    const a = await createThenDie();
    process.kill(a.pid, 'SIGKILL');
    await expect.poll(() => alive(a.pid)).toBe(false);
    // b's record names a live process, but with another start time: a reused pid. Its daemon
    // outlives its devices (a plain one exits once they close), so "alive" below means "not signalled".
    const [node, script] = simfbCommand().argv as [string, string];
    const b = await createThenDie({ argv: ['sh', '-c', '"$0" "$@"; exec sleep 600', node, script] }, 'fb2');
    await env.xs.write(`/libxl/${b.domid}/vfb-daemon/start`, '1');
    const o2 = await restart();
    for (const uuid of [a.uuid, b.uuid]) {
      expect(events(o2).find((e) => e.type === 'backend.exited' && e.uuid === uuid)?.data).toMatchObject({ exitCode: null });
      expect(o2.listDomains().domains.find((d) => d.uuid === uuid)!.devices.every((d) => d.state === 'error')).toBe(true);
    }
    await o2.destroyDomain(b.uuid).done;
    expect(alive(b.pid)).toBe(true);
    await o2.destroyDomain(a.uuid).done;
    await o2.stop();
  });

  it('a daemon whose record is missing (killed between spawn and record, or lost with xenstored) is found by its environment', async () => {
    const [node, script] = simfbCommand().argv as [string, string];
    const { uuid, domid, pid } = await createThenDie({ argv: ['sh', '-c', '"$0" "$@"; exec sleep 600', node, script] });
    await env.xs.rm(`/libxl/${domid}/vfb-daemon`);
    const o2 = await restart();
    expect(events(o2)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'device.daemon', uuid, data: { pid, adopted: true } })]));
    await o2.destroyDomain(uuid).done;
    expect(alive(pid)).toBe(false);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a create the daemon died in is torn down at start, its recorded daemon stopped', async () => {
    const [node, script] = simfbCommand().argv as [string, string];
    const { uuid, pid } = await createThenDie({ argv: ['sh', '-c', '"$0" "$@"; exec sleep 600', node, script] });
    await store.save({ ...(await record(uuid)), phase: 'creating' });
    const o2 = await restart();
    expect(events(o2)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'domain.rolled-back', uuid })]));
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });
});
