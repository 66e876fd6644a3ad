// The daemon and its world: `tsxend serve` says which world each part runs in (GET /v1/host,
// `tsxend info`, `tsxend doctor`), and a daemon on real Xen refuses to start with any simulated
// part, as it refuses the simulated default on a Xen host.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand, CliIo } from '../../src/cli/command.js';
import { command as doctor } from '../../src/cli/commands/doctor.js';
import { command as info } from '../../src/cli/commands/info.js';
import { isError } from '../../src/errors.js';
import type { Hypervisor } from '../../src/hypervisor/types.js';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/server.js';
import { configInput, environmentFactory, refuseDefaultSimulationOnXen } from '../../src/daemon/wiring.js';
import { createEnvironment } from '../../src/lifecycle/environment.js';
import { E_SIMULATED_ON_XEN } from '../../src/lifecycle/errors.js';
import { SimulatedHypervisor } from '../../src/sim/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-world-d-'));
const privcmd = join(dir, 'privcmd');
writeFileSync(privcmd, '');
let daemon: RunningDaemon | undefined;
const socket = join(dir, 'run', 'tsxend.sock');

function getJson(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(body) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function run(command: CliCommand, ...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), env: { TSXEND_CONNECT: `unix:${socket}` } };
  return { code: await command.run(argv, io), out };
}

const SIMULATED = { kind: 'simulated', hypervisor: 'simulated', xenstore: 'embedded-mock', backends: 'simulated', hotplug: 'simulated', vfb: 'simfb', guests: 'simulated', console: 'simulated' };

beforeAll(async () => {
  const options = resolveServeOptions(['--state-dir', join(dir, 'state'), '--listen', `unix:${socket}`, '--log-level', 'warn', '--log-file', join(dir, 'tsxend.log')], { HOME: dir });
  daemon = await startDaemon(options, { environment: environmentFactory, config: configInput, env: {} });
}, 60_000);
afterAll(async () => {
  await daemon?.stop('test over');
  rmSync(dir, { recursive: true, force: true });
});

describe('the world report', () => {
  it('GET /v1/host names the world of each part: all simulated on the embedded default', async () => {
    const r = await getJson('/v1/host');
    expect(r.status).toBe(200);
    expect(r.json['world']).toEqual(SIMULATED);
  });

  it('tsxend info prints one line per part, and --json carries the report', async () => {
    const human = await run(info);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^world +: simulated$/m);
    for (const [part, value] of Object.entries(SIMULATED).filter(([k]) => k !== 'kind')) expect(human.out).toMatch(new RegExp(`^world_${part} *: ${value.replace('+', '\\+')}$`, 'm'));
    expect(JSON.parse((await run(info, '--json')).out)).toMatchObject({ world: SIMULATED });
  });

  it("tsxend doctor reports the daemon's world (check and --json)", async () => {
    const r = await run(doctor, '--state-dir', join(dir, 'state'), '--json');
    const report = JSON.parse(r.out) as { checks: { check: string; status: string; detail: string }[]; world: Record<string, string> };
    expect(report.world).toEqual({ source: 'daemon', ...SIMULATED });
    const check = report.checks.find((c) => c.check === 'world');
    // No Xen on this machine: a simulated daemon is as it should be.
    if (!existsSync('/dev/xen/privcmd')) expect(check).toMatchObject({ status: 'ok' });
    expect(check?.detail).toMatch(/the daemon runs the simulated world: hypervisor=simulated, xenstore=embedded-mock, backends=simulated, hotplug=simulated, vfb=simfb, guests=simulated, console=simulated/);
  });
});

/** A hypervisor that says it is Xen (the simulated one underneath, so nothing real is touched). */
function xenLike(): Hypervisor {
  const sim = new SimulatedHypervisor();
  return new Proxy(sim, {
    get(target, prop) {
      if (prop === 'kind') return 'xen';
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('a daemon on real Xen never runs a simulated part', () => {
  it('refuses to start, typed, when its environment would hold one; nothing listens', async () => {
    const sock = join(dir, 'refused', 'tsxend.sock');
    const options = resolveServeOptions(['--state-dir', join(dir, 'refused-state'), '--listen', `unix:${sock}`, '--log-level', 'fatal', '--log-file', join(dir, 'refused.log')], { HOME: dir });
    const err = await startDaemon(options, {
      // The daemon's own factory, on a Xen host (privcmd stands in for /dev/xen/privcmd) with the embedded store.
      environment: async ({ store, logger }) => {
        const env = await createEnvironment({ xenstore: 'embedded', hypervisor: xenLike(), privcmdPath: privcmd, store, logger });
        return { orchestrator: env.orchestrator, consoles: env.consoles, world: env.world, close: () => env.close() };
      },
      config: configInput,
      env: {},
    }).catch((e: unknown) => e);
    expect(isError(err, E_SIMULATED_ON_XEN)).toBe(true);
    expect((err as { details: { simulated: string[] } }).details.simulated).toEqual(['xenstore=embedded-mock']);
    expect(existsSync(sock)).toBe(false);
  });

  it('refuses the simulated default of tsxend serve on a Xen host; the simulation asked for by name runs', () => {
    const byDefault = resolveServeOptions(['--state-dir', join(dir, 's')], { HOME: dir });
    expect(byDefault.hypervisor).toBe('simulated');
    let thrown: unknown;
    try {
      refuseDefaultSimulationOnXen(byDefault, privcmd);
    } catch (e) {
      thrown = e;
    }
    expect(isError(thrown, E_SIMULATED_ON_XEN)).toBe(true);
    expect((thrown as Error).message).toMatch(/--hypervisor xen --xenstore socket:\/run\/xenstored\/socket, or --hypervisor simulated/);
    expect(() => refuseDefaultSimulationOnXen(resolveServeOptions(['--state-dir', join(dir, 's'), '--hypervisor', 'simulated'], { HOME: dir }), privcmd)).not.toThrow();
    expect(() => refuseDefaultSimulationOnXen(resolveServeOptions(['--state-dir', join(dir, 's')], { HOME: dir, TSXEND_HYPERVISOR: 'simulated' }), privcmd)).not.toThrow();
    expect(() => refuseDefaultSimulationOnXen(byDefault, join(dir, 'no-privcmd'))).not.toThrow();
  });
});
