// The World seam: which world an environment composes, what it reports for each part, and the
// refusal of any simulated part next to real Xen (TSX_ERR_SIMULATED_ON_XEN) before anything starts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import type { Hypervisor } from '../../src/hypervisor/types.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { E_SIMULATED_ON_XEN } from '../../src/lifecycle/errors.js';
import { realWorld } from '../../src/lifecycle/world-real.js';
import { refuseSimulatedOnXen, simulatedParts, type World, type WorldReport } from '../../src/lifecycle/world.js';
import { BasicDeviceManager, SimulatedHypervisor, simulatedWorld } from '../../src/sim/index.js';
import { tinyConfig } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-world-'));
/** Stands in for /dev/xen/privcmd: the environment is told real Xen's device exists. */
const privcmd = join(dir, 'privcmd');
writeFileSync(privcmd, '');
const absent = join(dir, 'no-privcmd');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A hypervisor that says it is Xen (the simulated one underneath, so nothing real is touched). */
function xenLike(): { hv: Hypervisor; closed: () => boolean } {
  const sim = new SimulatedHypervisor();
  let closed = false;
  const hv = new Proxy(sim, {
    get(target, prop) {
      if (prop === 'kind') return 'xen';
      if (prop === 'close') return async () => ((closed = true), await target.close());
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as Hypervisor;
  return { hv, closed: () => closed };
}

/** Counts what a world was asked to start. */
function spied(world: World): World & { started: string[] } {
  const started: string[] = [];
  return {
    kind: world.kind,
    describe: () => world.describe(),
    startDevices: (ctx) => (started.push('devices'), world.startDevices(ctx)),
    startGuests: (ctx, own) => (started.push('guests'), world.startGuests(ctx, own)),
    started,
  };
}

let env: Environment | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('the world an environment composes', () => {
  it('the embedded default runs every part in the simulated world, and creates through it', async () => {
    env = await createEnvironment({ xenstore: 'embedded' });
    expect(env.world).toEqual({
      kind: 'simulated',
      hypervisor: 'simulated',
      xenstore: 'embedded-mock',
      backends: 'simulated',
      hotplug: 'simulated',
      vfb: 'simfb',
      guests: 'simulated',
      console: 'simulated',
    } satisfies WorldReport);
    expect(env.consoles.kind).toBe('simulated');
    expect(env.guests).toBeDefined();
    await env.orchestrator.start();
    const v = await env.orchestrator.createDomain(tinyConfig('w1')).done;
    expect(v.state).toBe('running');
  });

  it('a caller-given device manager is reported as injected, not as a world', async () => {
    const devices = new BasicDeviceManager();
    env = await createEnvironment({ xenstore: 'embedded', devices });
    expect(env.world).toMatchObject({ kind: 'simulated', backends: 'injected', hotplug: 'injected', vfb: 'injected', guests: 'simulated' });
  });

  it('TSXEND_SIM_REAL_SCRIPTS shows in the report: simulated scripts, some run for real', () => {
    expect(simulatedWorld({ env: { TSXEND_SIM_REAL_SCRIPTS: 'block' } }).describe().hotplug).toBe('simulated+scripts');
    expect(simulatedWorld({ env: {} }).describe().hotplug).toBe('simulated');
    expect(simulatedWorld({ guests: false }).describe()).toMatchObject({ guests: 'none', console: 'xenconsoled-pty' });
  });

  it('the real world names a real part for each part it owns, and the simulated one a stand-in for each', () => {
    expect(realWorld().describe()).toEqual({ backends: 'kernel', hotplug: 'scripts', vfb: 'qemu-xenpv', guests: 'real', console: 'xenconsoled-pty' });
    const sim = { kind: 'simulated', hypervisor: 'simulated', xenstore: 'embedded-mock', ...simulatedWorld({ env: {} }).describe() } as const;
    expect(simulatedParts(sim)).toEqual(['hypervisor=simulated', 'xenstore=embedded-mock', 'backends=simulated', 'hotplug=simulated', 'vfb=simfb', 'guests=simulated', 'console=simulated']);
    expect(simulatedParts({ kind: 'real', hypervisor: 'xen', xenstore: 'xenstored', ...realWorld().describe() })).toEqual([]);
  });

  it('Xen without the real privcmd (the recording fake) gets the simulated world, and is not refused', async () => {
    const { hv } = xenLike();
    env = await createEnvironment({ xenstore: 'embedded', hypervisor: hv, privcmdPath: absent });
    expect(env.world).toMatchObject({ kind: 'simulated', hypervisor: 'xen', backends: 'simulated', vfb: 'simfb' });
  });
});

describe('real Xen refuses every simulated part', () => {
  it('the simulated world next to real Xen: refused, typed, naming each part, before any part starts', async () => {
    const { hv, closed } = xenLike();
    const world = spied(simulatedWorld());
    const err = await createEnvironment({ xenstore: 'embedded', hypervisor: hv, privcmdPath: privcmd, world }).catch((e: unknown) => e);
    expect(isError(err, E_SIMULATED_ON_XEN)).toBe(true);
    expect((err as { statusCode: number }).statusCode).toBe(500);
    expect((err as { details: { simulated: string[] } }).details.simulated).toEqual([
      'xenstore=embedded-mock',
      'backends=simulated',
      'hotplug=simulated',
      'vfb=simfb',
      'guests=simulated',
      'console=simulated',
    ]);
    expect(world.started).toEqual([]);
    expect(closed()).toBe(true);
  });

  it('the real world on the embedded mock store: refused for the store alone', async () => {
    const { hv } = xenLike();
    const world = spied(realWorld());
    const err = await createEnvironment({ xenstore: 'embedded', hypervisor: hv, privcmdPath: privcmd, world }).catch((e: unknown) => e);
    expect(isError(err, E_SIMULATED_ON_XEN)).toBe(true);
    expect((err as { details: { simulated: string[] } }).details.simulated).toEqual(['xenstore=embedded-mock']);
    expect((err as Error).message).toMatch(/--xenstore socket:\/run\/xenstored\/socket/);
    expect(world.started).toEqual([]);
  });

  it('by default, real Xen composes the real world (and so only the store is left to refuse here)', async () => {
    const { hv } = xenLike();
    const err = await createEnvironment({ xenstore: 'embedded', hypervisor: hv, privcmdPath: privcmd }).catch((e: unknown) => e);
    expect(isError(err, E_SIMULATED_ON_XEN)).toBe(true);
    expect((err as { details: { world: WorldReport } }).details.world).toMatchObject({ kind: 'real', backends: 'kernel', hotplug: 'scripts', vfb: 'qemu-xenpv', guests: 'real', console: 'xenconsoled-pty' });
  });

  it('the check itself: any simulated part on a Xen host throws; the same report off Xen, or all real, passes', () => {
    const real: WorldReport = { kind: 'real', hypervisor: 'xen', xenstore: 'xenstored', ...realWorld().describe() };
    expect(() => refuseSimulatedOnXen(real, true)).not.toThrow();
    for (const part of [{ backends: 'simulated' }, { hotplug: 'simulated+scripts' }, { vfb: 'simfb' }, { guests: 'simulated' }, { console: 'simulated' }, { xenstore: 'embedded-mock' }] as const) {
      const mixed = { ...real, ...part } as WorldReport;
      let thrown: unknown;
      try {
        refuseSimulatedOnXen(mixed, true);
      } catch (e) {
        thrown = e;
      }
      expect(isError(thrown, E_SIMULATED_ON_XEN)).toBe(true);
      expect(() => refuseSimulatedOnXen(mixed, false)).not.toThrow();
    }
    expect(() => refuseSimulatedOnXen({ ...real, backends: 'injected', hotplug: 'injected', vfb: 'injected' }, true)).not.toThrow();
  });
});
