// Create → running → destroy against the embedded mock: the layout and permissions written,
// the whole store identical afterwards, failures at every create step rolled back to the
// identical tree with no domain left, and the events in order.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { orderedDeviceRefs } from '../../src/config/order.js';
import { CREATE_STEPS, type CreateStep } from '../../src/lifecycle/create.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { E_HV_NO_MEMORY } from '../../src/hypervisor/errors.js';
import { dumpOurTree, sixDeviceConfig, tinyConfig } from './helpers.js';

describe('create and destroy (embedded mock)', () => {
  let env: Environment;
  let failAt: CreateStep | undefined;
  beforeEach(async () => {
    failAt = undefined;
    env = await createEnvironment({
      xenstore: 'embedded',
      orchestrator: {
        createTimeoutMs: 5000,
        inject: (step) => {
          if (step === failAt) throw new Error(`injected at ${step}`);
        },
      },
    });
    await env.xs.write('/local/domain/0/name', 'Domain-0');
    await env.orchestrator.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('creates a running six-device domain with the xenstore layout and permissions of xend/libxl', async () => {
    const o = env.orchestrator;
    const cfg = sixDeviceConfig('web1');
    const view = await o.createDomain(cfg).done;
    expect(view.state).toBe('running');
    expect(view.domid).toBe(1);
    // Written in xend's derived order (vkbd before vfb), all Connected.
    expect(view.devices.map((d) => d.uuid)).toEqual(orderedDeviceRefs(cfg));
    expect(view.devices.every((d) => d.state === 'connected')).toBe(true);
    expect(view.devices.map((d) => d.class).sort()).toEqual(['vbd', 'vbd', 'vfb', 'vif', 'vif', 'vkbd']);
    const xs = env.xs;
    expect(await xs.read('/local/domain/1/vm')).toBe(`/vm/${cfg.uuid}`);
    expect(await xs.read('/local/domain/1/name')).toBe('web1');
    expect(await xs.read('/local/domain/1/memory/target')).toBe(String(64 * 1024));
    expect(await xs.read(`/vm/${cfg.uuid}/memory`)).toBe('64');
    expect(await xs.read(`/vm/${cfg.uuid}/maxmem`)).toBe('128');
    expect(await xs.read(`/vm/${cfg.uuid}/uuid`)).toBe(cfg.uuid);
    expect(await xs.getPerms('/local/domain/1')).toEqual([{ domid: 0, access: 'n' }, { domid: 1, access: 'r' }]);
    expect(await xs.getPerms('/local/domain/1/control/shutdown')).toEqual([{ domid: 1, access: 'n' }]);
    expect(await xs.getPerms('/libxl/1')).toEqual([{ domid: 0, access: 'n' }]);
    expect(await xs.getPerms(`/vm/${cfg.uuid}`)).toEqual([{ domid: 0, access: 'n' }, { domid: 1, access: 'r' }]);
    expect(await xs.isDomainIntroduced(1)).toBe(true);
    // No VNC password in any node the guest can read.
    const tree = await dumpOurTree(xs);
    const withSecret = tree.filter((l) => l.includes('sekrit'));
    for (const line of withSecret) expect(line).toMatch(/\[n0\]$/);
    expect(env.mock?.domains.exists(1)).toBe(true);
  });

  it('leaves the whole store tree identical after create → running → destroy', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    const view = await o.createDomain(sixDeviceConfig('web1')).done;
    expect(view.state).toBe('running');
    const report = await o.destroyDomain('web1').done;
    expect(report.leftovers).toEqual([]);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(env.mock?.domains.exists(view.domid as number)).toBe(false);
    expect(o.listDomains().domains).toEqual([]);
  });

  for (const step of CREATE_STEPS) {
    it(`rolls back everything when the create fails at ${step}`, async () => {
      const o = env.orchestrator;
      const before = await dumpOurTree(env.xs);
      failAt = step;
      const err = await o.createDomain(sixDeviceConfig('web1')).done.catch((e: unknown) => e);
      expect((err as Error).message).toContain(`injected at ${step}`);
      expect(await dumpOurTree(env.xs)).toEqual(before);
      expect(await env.hypervisor.list()).toEqual([]);
      expect(o.listDomains().domains).toEqual([]);
      // Nothing is still claimed: the same config creates now.
      failAt = undefined;
      expect((await o.createDomain(sixDeviceConfig('web1')).done).state).toBe('running');
    });
  }

  it('rolls back as a destroy: the domain dies while xenstored still knows it, and is released after', async () => {
    // Released while alive, xenconsoled (which re-reads the domain list on @releaseDomain) kept
    // the console mapped and the domain stayed dying on real Xen (test/xen/guests.test.ts).
    const hv = env.hypervisor;
    const destroy = hv.destroy.bind(hv);
    const destroyed: { domid: number; introduced: boolean }[] = [];
    hv.destroy = async (domid: number) => {
      destroyed.push({ domid, introduced: await env.xs.isDomainIntroduced(domid) });
      await destroy(domid);
    };
    failAt = 'activate-devices';
    await expect(env.orchestrator.createDomain(sixDeviceConfig('dies-known')).done).rejects.toThrow(/injected at activate-devices/);
    expect(destroyed.map((d) => d.introduced)).toEqual([true]);
    expect(await env.xs.isDomainIntroduced(destroyed[0]!.domid)).toBe(false);
    expect(await env.hypervisor.list()).toEqual([]);
  });

  it('rolls back when the hypervisor fails a build, and when memory does not fit', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    env.simulated?.failNext('build');
    await expect(o.createDomain(sixDeviceConfig('a')).done).rejects.toThrow(/injected failure in build/);
    const err = await o.createDomain(tinyConfig('huge', { memory: 64 * 1024 * 1024, maxmem: 64 * 1024 * 1024 })).done.catch((e: unknown) => e);
    expect(isError(err, E_HV_NO_MEMORY)).toBe(true);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    expect(await env.hypervisor.list()).toEqual([]);
  });

  it('rolls back a create cancelled through its task', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    const box: { op?: ReturnType<typeof o.createDomain> } = {};
    // Cancel when the create reaches its devices; the journal undoes what was done so far.
    failAt = undefined;
    const sub = o.events.subscribe((e) => {
      if (e.type === 'create.step' && e.step === 'write-devices' && box.op) o.cancelTask(box.op.task.id);
    });
    const op = (box.op = o.createDomain(sixDeviceConfig('slow')));
    const err = await op.done.catch((e: unknown) => e);
    sub.close();
    expect((err as { code?: string }).code).toBe('TSX_ERR_ABORTED');
    expect(o.getTask(op.task.id).state).toBe('cancelled');
    expect(await dumpOurTree(env.xs)).toEqual(before);
    expect(await env.hypervisor.list()).toEqual([]);
  });

  it('emits the events of a create and a destroy in order, with a monotonic seq', async () => {
    const o = env.orchestrator;
    const seen: string[] = [];
    const seqs: number[] = [];
    const sub = o.events.subscribe((e) => {
      seqs.push(e.seq);
      if (e.type === 'create.step') seen.push(`step:${e.step}`);
      else if (e.type.startsWith('domain.')) seen.push(e.type);
    });
    await o.createDomain(sixDeviceConfig('ev')).done;
    await o.destroyDomain('ev').done;
    sub.close();
    expect(seen.filter((s) => s.startsWith('step:'))).toEqual(CREATE_STEPS.map((s) => `step:${s}`));
    expect(seen.filter((s) => !s.startsWith('step:'))).toEqual(['domain.creating', 'domain.state', 'domain.running', 'domain.state', 'domain.destroyed', 'domain.state']);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(o.listDomains().seq).toBe(o.events.currentSeq);
    const replay = o.events.replay(seqs[0] as number);
    expect(Array.isArray(replay) && replay.length).toBe(seqs.length - 1);
  });
});
