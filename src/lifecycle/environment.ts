// Environments: everything one orchestrator needs, opened together and closed together.
//  - createEnvironment(): for tests and tools — embedded mock or a xenstored socket, the
//    simulated hypervisor or a given one, the devices layer (or its stand-in).
//  The daemon builds its own on top of createEnvironment (src/daemon/wiring.ts).
// Against a real xenstored without Xen, the simulated hypervisor publishes its domains to the
// LD_PRELOAD stub's domains file named by TSXEND_SIM_DOMAINS_FILE.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { createDeviceManager, qemuXenpvCommand, RealHotplugRunner, SimulatedHotplugRunner, startBackendSimulator, startGuestFrontends, uniformHotplugTimeouts, type HotplugRunner } from '../devices/index.js';
import type { DeviceManager } from '../devices/api.js';
import { RegistryPublisher } from '../hypervisor/simulated-publish.js';
import { SimulatedHypervisor, type SimulatedHypervisorOptions } from '../hypervisor/simulated.js';
import type { Hypervisor } from '../hypervisor/types.js';
import { MockXenstored } from '../xenstore/mock/index.js';
import { openXenstore } from '../xenstore/index.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { ConfigStore } from './api.js';
import { MemoryConfigStore } from './config-store.js';
import { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';
import { SimGuests, type FrontendDriver, type SimGuestsOptions } from './sim-guest.js';
import type { ConsoleSource } from './console.js';
import { PtyConsoleSource } from './console-pty.js';

export interface EnvironmentOptions {
  readonly xenstore: 'embedded' | { socket: string };
  readonly hypervisor?: 'simulated' | Hypervisor;
  readonly simulated?: SimulatedHypervisorOptions;
  /** Simulated guests (default on wherever the backends are simulated: no real /dev/xen/privcmd). */
  readonly guests?: SimGuestsOptions | false;
  readonly devices?: DeviceManager;
  /** Every hotplug script's timeout in ms (default DEFAULT_HOTPLUG_TIMEOUTS: 40 s per class). */
  readonly hotplugTimeoutMs?: number;
  /** Xen's device model, the vfb/vkbd backend on real Xen (default DEFAULT_DEVICE_MODEL). */
  readonly deviceModel?: string;
  readonly store?: ConfigStore;
  readonly logger?: Logger;
  readonly orchestrator?: Partial<Omit<OrchestratorDeps, 'xs' | 'hypervisor' | 'devices' | 'store' | 'logger'>>;
}

export interface Environment {
  readonly orchestrator: DomainOrchestrator;
  readonly xs: XenstoreClient;
  readonly hypervisor: Hypervisor;
  /** The simulated hypervisor when used (tests inject failures and crashes through it). */
  readonly simulated?: SimulatedHypervisor;
  readonly guests?: SimGuests;
  readonly mock?: MockXenstored;
  readonly store: ConfigStore;
  /** Guests' consoles: the simulated guests' own, else the ptys xenconsoled publishes. */
  readonly consoles: ConsoleSource;
  close(): Promise<void>;
}

/**
 * The devices layer of an environment. With real Xen: the real hotplug scripts, and the kernel's
 * backends. Otherwise: simulated scripts (nothing touches the host), the kernel-backend
 * simulator, and guests whose frontend drivers are the devices layer's simulator. Backend
 * daemons (vfb) and scripts reach the store over `xenstoredPath`.
 */
async function devicesFor(
  real: boolean,
  xs: XenstoreClient,
  xenstoredPath: string,
  openConnection: () => Promise<XenstoreClient>,
  cleanups: (() => Promise<void>)[],
  options: Pick<EnvironmentOptions, 'hotplugTimeoutMs' | 'deviceModel'>,
): Promise<DeviceManager> {
  const timeouts = options.hotplugTimeoutMs === undefined ? {} : { timeouts: uniformHotplugTimeouts(options.hotplugTimeoutMs) };
  // Real Xen: the kernel's backends, the real scripts, and Xen's device model for vfb/vkbd.
  if (real) return createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath, vfbCommand: qemuXenpvCommand(options.deviceModel), ...timeouts });
  const backendXs = await openConnection();
  cleanups.push(() => backendXs.close());
  const backends = await startBackendSimulator(backendXs);
  cleanups.push(() => backends.stop());
  return createDeviceManager({ hotplug: simulatedHotplug(xs), xenstoredPath, ...timeouts });
}


/**
 * Simulated scripts, except those TSXEND_SIM_REAL_SCRIPTS names (comma-separated basenames,
 * e.g. `block`): those run for real next to the simulated backends, so tests can see what
 * they leave on the host (loop devices).
 */
function simulatedHotplug(xs: XenstoreClient): HotplugRunner {
  const sim = new SimulatedHotplugRunner(xs);
  const real = new Set((process.env['TSXEND_SIM_REAL_SCRIPTS'] ?? '').split(',').filter((n) => n !== ''));
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

export async function createEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    let mock: MockXenstored | undefined;
    let xs: XenstoreClient;
    let guestXs: XenstoreClient;
    let xenstoredPath: string;
    if (options.xenstore === 'embedded') {
      const m = new MockXenstored();
      mock = m;
      cleanups.push(() => m.close());
      // Backend daemons and hotplug scripts are separate processes: they reach the embedded
      // store through a private socket (mode 0600).
      const dir = mkdtempSync(join(tmpdir(), 'tsxend-xs-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      xenstoredPath = join(dir, 'xenstored.sock');
      await m.listen(xenstoredPath);
      xs = await openXenstore({ kind: 'embedded' }, { embedded: m });
      guestXs = await openXenstore({ kind: 'embedded' }, { embedded: m });
    } else {
      const path = options.xenstore.socket;
      xenstoredPath = path;
      xs = await openXenstore({ kind: 'socket', path });
      cleanups.push(() => xs.close());
      guestXs = await openXenstore({ kind: 'socket', path });
    }
    if (mock) cleanups.push(() => xs.close());
    cleanups.push(() => guestXs.close());

    let simulated: SimulatedHypervisor | undefined;
    let hypervisor: Hypervisor;
    if (options.hypervisor === undefined || options.hypervisor === 'simulated') {
      const domainsFile = options.simulated?.domainsFile ?? (mock ? undefined : process.env['TSXEND_SIM_DOMAINS_FILE']);
      simulated = new SimulatedHypervisor({
        ...options.simulated,
        ...(mock ? { publisher: new RegistryPublisher(mock.domains) } : domainsFile === undefined ? {} : { domainsFile }),
      });
      hypervisor = simulated;
    } else hypervisor = options.hypervisor;
    cleanups.push(() => hypervisor.close());

    const openConnection = () => (mock ? openXenstore({ kind: 'embedded' }, { embedded: mock }) : openXenstore({ kind: 'socket', path: xenstoredPath }));
    // Real backends (kernel drivers, real hotplug scripts) and real guests exist only where Xen
    // does: the real /dev/xen/privcmd, not the stand-in TSXEND_XEN_PRIVCMD may name so that the
    // binding starts on the recording fake. That fake gets the simulated backends and guests, like
    // the simulated hypervisor, so the same flows run on it.
    const realBackends = hypervisor.kind === 'xen' && existsSync('/dev/xen/privcmd');
    const devices = options.devices ?? (await devicesFor(realBackends, xs, xenstoredPath, openConnection, cleanups, options));
    let guests: SimGuests | undefined;
    if (!realBackends && options.guests !== false) {
      // A guest's frontends use a connection of the guest's own where the store allows it (the
      // mock), so they meet the guest's permissions.
      const m = mock;
      const frontendDriver: FrontendDriver | undefined = options.devices
        ? undefined
        : async (domid) => {
            const conn = m ? await openXenstore({ kind: 'embedded' }, { embedded: { connect: () => m.connect({ domid }) } }) : await openConnection();
            const sim = await startGuestFrontends(conn, domid, guestXs).catch(async (err: unknown) => {
              await conn.close();
              throw err;
            });
            return { stop: async () => (await sim.stop(), await conn.close()) };
          };
      const g = new SimGuests(hypervisor, guestXs, { ...(options.guests || {}), ...(frontendDriver ? { frontendDriver } : {}) });
      guests = g;
      cleanups.push(() => g.close());
    }
    const store = options.store ?? new MemoryConfigStore();
    const orchestrator = new DomainOrchestrator({ ...options.orchestrator, xs, hypervisor, devices, store, ...(options.logger ? { logger: options.logger } : {}) });
    cleanups.push(() => orchestrator.stop());
    return {
      orchestrator,
      xs,
      hypervisor,
      consoles: guests ? guests.consoleSource() : new PtyConsoleSource(xs),
      ...(simulated ? { simulated } : {}),
      ...(guests ? { guests } : {}),
      ...(mock ? { mock } : {}),
      store,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
