// Environments: everything one orchestrator needs, opened together and closed together: the
// store (embedded mock or a xenstored socket), the hypervisor (simulated, or a given one), and a
// World (world.ts) for the rest — the real one next to real Xen, the simulated one (src/sim/)
// everywhere else. This module is the one seam through which lifecycle reaches the simulated
// world. The daemon builds its own on top of createEnvironment (src/daemon/wiring.ts).
// Against a real xenstored without Xen, the simulated hypervisor publishes its domains to the
// LD_PRELOAD stub's domains file named by TSXEND_SIM_DOMAINS_FILE.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createDeviceManager, uniformHotplugTimeouts } from '../devices/index.js';
import type { DeviceManager } from '../devices/api.js';
import type { Hypervisor } from '../hypervisor/types.js';
import { RegistryPublisher, SimGuests, SimulatedHypervisor, simulatedWorld, type SimGuestsOptions, type SimulatedHypervisorOptions } from '../sim/index.js';
import { MockXenstored } from '../xenstore/mock/index.js';
import { openXenstore } from '../xenstore/index.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { ConfigStore } from './api.js';
import { MemoryConfigStore } from './config-store.js';
import { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';
import type { ConsoleSource } from './console.js';
import { PtyConsoleSource } from './console-pty.js';
import { realWorld } from './world-real.js';
import { refuseSimulatedOnXen, type World, type WorldContext, type WorldReport } from './world.js';

/** Where real Xen's hypercall device is (the binding may be pointed at a stand-in; this is not). */
export const XEN_PRIVCMD = '/dev/xen/privcmd';

export interface EnvironmentOptions {
  readonly xenstore: 'embedded' | { socket: string };
  readonly hypervisor?: 'simulated' | Hypervisor;
  readonly simulated?: SimulatedHypervisorOptions;
  /** Simulated guests (default on in the simulated world; the real world's guests are real). */
  readonly guests?: SimGuestsOptions | false;
  /** A device manager of the caller's (tests, bench): the world's backends, scripts and vfb are then not used. */
  readonly devices?: DeviceManager;
  /**
   * The world to compose (default: the real one where the hypervisor is Xen on the real
   * /dev/xen/privcmd, the simulated one elsewhere). Tests name one to prove the refusal.
   */
  readonly world?: World;
  /** Where real Xen's privcmd is looked for (default /dev/xen/privcmd; tests). */
  readonly privcmdPath?: string;
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
  /** Which world each part runs in. */
  readonly world: WorldReport;
  close(): Promise<void>;
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

    // The real world (kernel backends, real scripts, the device model, real guests) exists only
    // where Xen does: the real /dev/xen/privcmd, not the stand-in TSXEND_XEN_PRIVCMD may name so
    // that the binding starts on the recording fake. That fake gets the simulated world, like the
    // simulated hypervisor, so the same flows run on it.
    const onXenHost = hypervisor.kind === 'xen' && existsSync(options.privcmdPath ?? XEN_PRIVCMD);
    const world = options.world ?? (onXenHost ? realWorld(options.deviceModel === undefined ? {} : { deviceModel: options.deviceModel }) : simulatedWorld(options.guests === undefined ? {} : { guests: options.guests }));
    const parts = world.describe();
    const report: WorldReport = {
      kind: world.kind,
      hypervisor: hypervisor.kind,
      xenstore: mock ? 'embedded-mock' : 'xenstored',
      ...parts,
      ...(options.devices ? { backends: 'injected', hotplug: 'injected', vfb: 'injected' } : {}),
    };
    // Before any backend, script runner or guest starts.
    refuseSimulatedOnXen(report, onXenHost);

    const m = mock;
    const ctx: WorldContext = {
      hypervisor,
      xs,
      guestXs,
      xenstoredPath,
      openConnection: () => (m ? openXenstore({ kind: 'embedded' }, { embedded: m }) : openXenstore({ kind: 'socket', path: xenstoredPath })),
      openGuestConnection: (domid) =>
        m ? openXenstore({ kind: 'embedded' }, { embedded: { connect: () => m.connect({ domid }) } }) : Promise.resolve(undefined),
    };
    let devices = options.devices;
    if (!devices) {
      const own = await world.startDevices(ctx);
      cleanups.push(() => own.stop());
      const timeouts = options.hotplugTimeoutMs === undefined ? {} : { timeouts: uniformHotplugTimeouts(options.hotplugTimeoutMs) };
      // Backend daemons (vfb) and scripts reach the store over xenstoredPath.
      devices = createDeviceManager({ hotplug: own.hotplug, vfbCommand: own.vfbCommand, xenstoredPath, ...timeouts });
    }
    const worldGuests = await world.startGuests(ctx, options.devices === undefined);
    cleanups.push(() => worldGuests.stop());
    const guests = worldGuests.guests instanceof SimGuests ? worldGuests.guests : undefined;
    const store = options.store ?? new MemoryConfigStore();
    const orchestrator = new DomainOrchestrator({ ...options.orchestrator, xs, hypervisor, devices, store, ...(options.logger ? { logger: options.logger } : {}) });
    cleanups.push(() => orchestrator.stop());
    return {
      orchestrator,
      xs,
      hypervisor,
      consoles: worldGuests.consoles ?? new PtyConsoleSource(xs),
      world: report,
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
