// The simulated world, composed: what createEnvironment starts wherever the hypervisor is not
// real Xen (the embedded default, the test suite, Xen's user space without a hypervisor). Every
// choice of a stand-in is made here, explicitly: the kernel-backend simulator, simulated hotplug
// scripts, the framebuffer simulator (simfb.js), simulated guests with their frontend drivers
// and serial consoles. The devices layer itself has no simulated default.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RealHotplugRunner, type HotplugRunner, type VfbCommand } from '../devices/index.js';
import type { World, WorldContext, WorldDevices, WorldGuests, WorldParts } from '../lifecycle/world.js';
import type { XenstoreClient } from '../xenstore/types.js';
import { startBackendSimulator } from './backend.js';
import { startGuestFrontends } from './frontend.js';
import { SimGuests, type FrontendDriver, type SimGuestsOptions } from './guest.js';
import { SimulatedHotplugRunner } from './hotplug.js';

/** The bundled framebuffer simulator: simfb.js next to this module (dist), or its compiled copy when running from sources. */
export function simfbCommand(): VfbCommand {
  const here = fileURLToPath(new URL('./simfb.js', import.meta.url));
  const script = existsSync(here) ? here : here.replace(/\/src\/sim\/simfb\.js$/, '/dist/sim/simfb.js');
  return { kind: 'simulated', argv: [process.execPath, script] };
}

/** The script names TSXEND_SIM_REAL_SCRIPTS lists (comma-separated basenames, e.g. `block`). */
function realScriptNames(env: NodeJS.ProcessEnv): Set<string> {
  return new Set((env['TSXEND_SIM_REAL_SCRIPTS'] ?? '').split(',').filter((n) => n !== ''));
}

/**
 * Simulated scripts, except those TSXEND_SIM_REAL_SCRIPTS names: those run for real next to the
 * simulated backends, so tests can see what they leave on the host (loop devices).
 */
export function simulatedHotplug(xs: XenstoreClient, env: NodeJS.ProcessEnv = process.env): HotplugRunner {
  const sim = new SimulatedHotplugRunner(xs);
  const real = realScriptNames(env);
  if (real.size === 0) return sim;
  const runner = new RealHotplugRunner();
  return {
    run: (req) => (real.has(basename(req.script)) ? runner.run(req) : sim.run(req)),
    settle: async (uuid, waitMs) => {
      const [a, b] = await Promise.all([runner.settle(uuid, waitMs), sim.settle(uuid, waitMs)]);
      return { found: a.found + b.found, killed: a.killed + b.killed, paths: [...a.paths, ...b.paths].sort(), waitedMs: Math.max(a.waitedMs, b.waitedMs) };
    },
  };
}

export interface SimulatedWorldOptions {
  /** Simulated guests' behaviour; false: no guests (their consoles are then xenconsoled's ptys). */
  readonly guests?: SimGuestsOptions | false;
  /** Read for TSXEND_SIM_REAL_SCRIPTS (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export function simulatedWorld(options: SimulatedWorldOptions = {}): World {
  const env = options.env ?? process.env;
  const withGuests = options.guests !== false;
  return {
    kind: 'simulated',
    describe: (): WorldParts => ({
      backends: 'simulated',
      hotplug: realScriptNames(env).size > 0 ? 'simulated+scripts' : 'simulated',
      vfb: 'simfb',
      guests: withGuests ? 'simulated' : 'none',
      console: withGuests ? 'simulated' : 'xenconsoled-pty',
    }),
    async startDevices(ctx: WorldContext): Promise<WorldDevices> {
      // The backend simulator plays dom0's kernel drivers on a connection of its own.
      const backendXs = await ctx.openConnection();
      const backends = await startBackendSimulator(backendXs).catch(async (err: unknown) => {
        await backendXs.close();
        throw err;
      });
      return {
        hotplug: simulatedHotplug(ctx.xs, env),
        vfbCommand: simfbCommand(),
        stop: async () => {
          await backends.stop().catch(() => undefined);
          await backendXs.close();
        },
      };
    },
    async startGuests(ctx: WorldContext, ownFrontends: boolean): Promise<WorldGuests> {
      if (options.guests === false) return { stop: async () => undefined };
      // A guest's frontends use a connection of the guest's own where the store allows it (the
      // mock), so they meet the guest's permissions; on a xenstored socket they share guestXs.
      const frontendDriver: FrontendDriver | undefined = ownFrontends
        ? async (domid) => {
            const own = await ctx.openGuestConnection(domid);
            const release = async () => own?.close();
            const sim = await startGuestFrontends(own ?? ctx.guestXs, domid, ctx.guestXs).catch(async (err: unknown) => {
              await release();
              throw err;
            });
            return { stop: async () => (await sim.stop(), await release()) };
          }
        : undefined;
      const guests = new SimGuests(ctx.hypervisor, ctx.guestXs, { ...(options.guests ?? {}), ...(frontendDriver ? { frontendDriver } : {}) });
      return { consoles: guests.consoleSource(), guests, stop: () => guests.close() };
    },
  };
}
