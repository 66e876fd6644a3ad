// Prepared shells against a real cxenstored 4.17 (LD_PRELOAD stub, the simulated hypervisor
// publishing to its domains file): cxenstored accepts a shell's home, permissions naming a domain
// it was never introduced to; a create from a shell is introduced and runs, and destroys to the
// identical tree; a failure after the take leaves nothing; a restarted daemon adopts the intact
// shell and tears down the broken one.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeviceManager } from '../../src/devices/index.js';
import type { CreateStep } from '../../src/lifecycle/create.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { simfbCommand, SimulatedHotplugRunner } from '../../src/sim/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { dumpOurTreeWithout, sixDeviceConfig } from './helpers.js';

describeReal('cxenstored', 'prepared shells against real cxenstored', () => {
  let d: RealXenstored;
  let env: Environment;
  let failAt: CreateStep | undefined;
  const store = new MemoryConfigStore();
  const fitting = (name: string) => sixDeviceConfig(name, { vcpus: 1, maxvcpus: 1 });
  beforeAll(async () => {
    d = await startXenstored('cxenstored');
    env = await createEnvironment({
      xenstore: { socket: d.socketPath },
      simulated: { domainsFile: d.domainsFile },
      store,
      orchestrator: {
        createTimeoutMs: 10_000,
        preparedShells: { count: 2 },
        inject: (step) => {
          if (step === failAt) throw new Error(`injected at ${step}`);
        },
      },
    });
    await env.orchestrator.start();
  });
  afterAll(async () => {
    await env?.close();
    await d?.stop();
  });

  it('takes a shell home naming a domain it does not know yet; a create from the shell runs, introduced, and destroys to the identical tree', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const before = await dumpOurTreeWithout(env.xs, o.shells.readyDomids());
    for (const s of o.shells.readyDomids()) {
      expect(await env.xs.getPerms(`/local/domain/${s}`)).toEqual([{ domid: 0, access: 'n' }, { domid: s, access: 'r' }]);
      expect(await env.xs.getPerms(`/local/domain/${s}/data`)).toEqual([{ domid: s, access: 'n' }]);
      expect(await env.xs.isDomainIntroduced(s)).toBe(false);
    }
    const [first] = o.shells.readyDomids();
    const v = await o.createDomain(fitting('real-shell')).done;
    expect(v).toMatchObject({ domid: first, state: 'running' });
    expect(v.devices.every((x) => x.state === 'connected')).toBe(true);
    expect(await env.xs.isDomainIntroduced(first!)).toBe(true);
    // The guest owns what it writes, as after a normal create (the ownership survived the introduction).
    expect(await env.xs.getPerms(`/local/domain/${first!}/control/shutdown`)).toEqual([{ domid: first!, access: 'n' }]);
    expect((await o.destroyDomain('real-shell').done).leftovers).toEqual([]);
    await o.shells.whenFull();
    expect(await dumpOurTreeWithout(env.xs, o.shells.readyDomids())).toEqual(before);
  });

  it('a create failing after it took a shell (introduced, devices up) leaves nothing, and the pool refills', async () => {
    const o = env.orchestrator;
    for (const step of ['introduce', 'activate-devices', 'devices-connected'] as const) {
      await o.shells.whenFull();
      const before = await dumpOurTreeWithout(env.xs, o.shells.readyDomids());
      const [taken] = o.shells.readyDomids();
      failAt = step;
      await expect(o.createDomain(fitting(`fail-${step}`)).done).rejects.toThrow(`injected at ${step}`);
      failAt = undefined;
      expect(await env.hypervisor.getInfo(taken!), step).toBeUndefined();
      await o.shells.whenFull();
      expect(await dumpOurTreeWithout(env.xs, o.shells.readyDomids()), step).toEqual(before);
      expect((await env.hypervisor.list()).map((i) => i.domid).sort(), step).toEqual([...o.shells.readyDomids()].sort());
    }
  });

  it('a restarted daemon adopts the intact shell, tears down the one whose home went, and uses the adopted one', async () => {
    const o = env.orchestrator;
    await o.shells.whenFull();
    const [intact, broken] = o.shells.readyDomids();
    const before = await dumpOurTreeWithout(env.xs, [intact!, broken!]);
    await o.stop();
    await env.xs.rm(`/local/domain/${broken!}`);
    const o2 = new DomainOrchestrator({
      xs: env.xs,
      hypervisor: env.hypervisor,
      devices: createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), vfbCommand: simfbCommand(), xenstoredPath: d.socketPath }),
      store,
      preparedShells: { count: 2 },
    });
    try {
      await o2.start();
      expect(o2.shells.readyDomids()[0]).toBe(intact);
      expect(await env.hypervisor.getInfo(broken!)).toBeUndefined();
      expect(o2.listDomains().domains).toEqual([]);
      const v = await o2.createDomain(fitting('adopted')).done;
      expect(v).toMatchObject({ domid: intact, state: 'running' });
      await o2.destroyDomain('adopted').done;
      await o2.shells.whenFull();
      expect(await dumpOurTreeWithout(env.xs, o2.shells.readyDomids())).toEqual(before);
    } finally {
      await o2.stop();
    }
  });
});
