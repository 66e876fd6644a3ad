// The lifecycle against a real cxenstored 4.17 (LD_PRELOAD stub: the simulated hypervisor
// publishes its domains to the stub's domains file): the layout and permissions are accepted,
// create → destroy and failed creates leave the identical tree, @releaseDomain cleans up a
// vanished domain, and a bounded stress run of 1,000 create/destroy cycles leaves nothing.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import type { CreateStep } from '../../src/lifecycle/create.js';
import { CREATE_STEPS } from '../../src/lifecycle/create.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { dumpOurTree, sixDeviceConfig, tinyConfig } from './helpers.js';

/** Cycles of the stress run (documented in BENCHMARKS.md; each is a full create → running → destroy). */
const STRESS_CYCLES = Number(process.env['TSXEND_STRESS_CYCLES'] ?? 1000);
const STRESS_PARALLEL = 4;

describeReal('cxenstored', 'lifecycle against real cxenstored', () => {
  let d: RealXenstored;
  let env: Environment;
  let failAt: CreateStep | undefined;
  beforeAll(async () => {
    d = await startXenstored('cxenstored');
    env = await createEnvironment({
      xenstore: { socket: d.socketPath },
      simulated: { domainsFile: d.domainsFile },
      orchestrator: {
        createTimeoutMs: 10_000,
        shutdownTimeoutMs: 10_000,
        minRestartIntervalMs: 0,
        maxParallelCreates: STRESS_PARALLEL,
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

  it('creates a six-device domain (introduced, perms naming the guest accepted) and destroys it to the identical tree', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    const cfg = sixDeviceConfig('real1');
    const v = await o.createDomain(cfg).done;
    expect(v.state).toBe('running');
    expect(v.devices.every((x) => x.state === 'connected')).toBe(true);
    const domid = v.domid as number;
    expect(readFileSync(d.domainsFile, 'utf8')).toBe(`${domid} running\n`);
    expect(await env.xs.isDomainIntroduced(domid)).toBe(true);
    expect(await env.xs.getPerms(`/local/domain/${domid}`)).toEqual([{ domid: 0, access: 'n' }, { domid, access: 'r' }]);
    expect(await env.xs.getPerms(`/local/domain/${domid}/device/vif/0`)).toEqual([{ domid, access: 'n' }, { domid: 0, access: 'r' }]);
    const report = await o.destroyDomain('real1').done;
    expect(report.leftovers).toEqual([]);
    const after = await dumpOurTree(env.xs);
    if (after.length !== before.length) console.log('BEFORE', before, 'AFTER', after);
    expect(after).toEqual(before);
    expect(readFileSync(d.domainsFile, 'utf8')).toBe('');
  });

  it("runs its guests' frontends on one shared connection: no xenstored connection per running guest", async () => {
    const o = env.orchestrator;
    const sockets = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false; // closed while listing
      }
    }).length;
    // Disks and nics only: the framebuffer daemon is a child process, with sockets of its own.
    const disksAndNics = (name: string) => sixDeviceConfig(name, { devices: Object.fromEntries(Object.entries(sixDeviceConfig(name).devices).filter(([, d]) => d.class === 'vbd' || d.class === 'vif')) });
    const before = sockets();
    const names = ['fe1', 'fe2', 'fe3', 'fe4', 'fe5'];
    const views = await Promise.all(names.map((n) => o.createDomain(disksAndNics(n)).done));
    expect(views.every((v) => v.state === 'running' && v.devices.length === 4 && v.devices.every((x) => x.state === 'connected'))).toBe(true);
    expect(sockets()).toBe(before);
    for (const n of names) await o.destroyDomain(n).done;
  });

  it('rolls back to the identical tree when a create fails at any step', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    for (const step of CREATE_STEPS) {
      failAt = step;
      await expect(o.createDomain(sixDeviceConfig(`fail-${step}`)).done).rejects.toThrow(`injected at ${step}`);
      expect(await dumpOurTree(env.xs), step).toEqual(before);
      expect(await env.hypervisor.list(), step).toEqual([]);
    }
    failAt = undefined;
  });

  it('shutdown poweroff through control/shutdown, and a crash with on_crash=restart', async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    await o.createDomain(tinyConfig('sd')).done;
    expect((await o.shutdownDomain('sd', 'poweroff').done).state).toBe('destroyed');
    await o.createDomain(tinyConfig('cr', { on_crash: 'restart' })).done;
    const first = o.getDomain('cr').domid as number;
    await env.guests?.crash(first);
    await expect.poll(() => o.listDomains().domains.find((x) => x.name === 'cr' && x.state === 'running' && x.domid !== first), { timeout: 5000 }).toBeTruthy();
    await o.destroyDomain('cr').done;
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });

  it(`stress: ${STRESS_CYCLES} create/destroy cycles (${STRESS_PARALLEL} at a time), 0 failures, nothing left`, { timeout: 600_000 }, async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    let next = 0;
    let failures = 0;
    const errors: string[] = [];
    const worker = async (w: number) => {
      for (;;) {
        const i = next++;
        if (i >= STRESS_CYCLES) return;
        try {
          const name = `stress-${w}-${i}`;
          // Two disks and two nics (no vfb: its backend daemon is a process per domain, measured in the bench).
          const devices = Object.fromEntries(Object.entries(sixDeviceConfig(name).devices).filter(([, e]) => e.class === 'vbd' || e.class === 'vif'));
          const v = await o.createDomain(tinyConfig(name, { devices })).done;
          if (v.state !== 'running') throw new Error(`${name} is ${v.state}`);
          const r = await o.destroyDomain(name).done;
          if (r.leftovers.length > 0) throw new Error(`${name} left ${r.leftovers.join(', ')}`);
        } catch (err) {
          failures++;
          if (errors.length < 5) errors.push(String(err));
        }
      }
    };
    await Promise.all(Array.from({ length: STRESS_PARALLEL }, (_, w) => worker(w)));
    expect(errors).toEqual([]);
    expect(failures).toBe(0);
    expect(o.listDomains().domains).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(readFileSync(d.domainsFile, 'utf8')).toBe('');
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });
});
