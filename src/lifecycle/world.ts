// The seam between tsxend and the world it drives. There are two worlds, each in one place:
//  - the real one (world-real.ts): the dom0 kernel's backends, Debian's hotplug scripts in
//    /etc/xen/scripts, Xen's device model (QEMU xenpv) for vfb/vkbd, real guests and the ptys
//    xenconsoled serves — next to real Xen (libxenctrl) and a real xenstored;
//  - the simulated one (src/sim/, all of it): the hypervisor in memory, the kernel-backend
//    simulator, simulated scripts, the framebuffer simulator, simulated guests and their serial
//    consoles — the embedded default, and the world of the test suite.
// createEnvironment (environment.ts) picks one World and starts it through this interface; it is
// the only module of src/ outside src/sim that may import a simulator (eslint.config.js). On a
// host with real Xen, any simulated part is refused before anything starts (refuseSimulatedOnXen).

import type { HotplugRunner, VfbCommand } from '../devices/index.js';
import { TsxError } from '../errors.js';
import type { Hypervisor } from '../hypervisor/types.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { ConsoleSource } from './console.js';
import { E_SIMULATED_ON_XEN } from './errors.js';

export type WorldKind = 'real' | 'simulated';

/** Which world each part runs in (GET /v1/host `world`, `tsxend info`, `tsxend doctor`). */
export interface WorldReport {
  /** The world the environment composed: the real one only next to real Xen. */
  readonly kind: WorldKind;
  /** `xen`: libxenctrl (on the real /dev/xen/privcmd, or the test suite's recording fake). */
  readonly hypervisor: 'xen' | 'simulated';
  /** A real xenstored over its socket, or the in-process mock. */
  readonly xenstore: 'xenstored' | 'embedded-mock';
  /** Kernel backends (blkback, netback…), the backend simulator, or a device manager given by the caller. */
  readonly backends: 'kernel' | 'simulated' | 'injected';
  /** `simulated+scripts`: simulated, except those TSXEND_SIM_REAL_SCRIPTS names. */
  readonly hotplug: 'scripts' | 'simulated' | 'simulated+scripts' | 'injected';
  /** The framebuffer/keyboard backend daemon: Xen's device model or the bundled simulator. */
  readonly vfb: 'qemu-xenpv' | 'simfb' | 'injected';
  readonly guests: 'real' | 'simulated' | 'none';
  readonly console: 'xenconsoled-pty' | 'simulated';
}

/** The parts a World owns (the hypervisor and the store are opened by the environment). */
export type WorldParts = Pick<WorldReport, 'backends' | 'hotplug' | 'vfb' | 'guests' | 'console'>;

const SIMULATED_VALUES: ReadonlySet<string> = new Set(['simulated', 'embedded-mock', 'simfb', 'simulated+scripts']);

/** The parts of a report that are stand-ins (`injected` and `none` are neither real nor simulated). */
export function simulatedParts(report: WorldReport): string[] {
  return (['hypervisor', 'xenstore', 'backends', 'hotplug', 'vfb', 'guests', 'console'] as const).filter((p) => SIMULATED_VALUES.has(report[p])).map((p) => `${p}=${report[p]}`);
}

/**
 * A daemon on real Xen (the hypervisor is Xen and the real privcmd exists) never runs with a
 * stand-in: a simulated store, backend, script runner, framebuffer, guest or console there would
 * answer for devices and domains that do not exist. Refused, typed, before anything starts.
 */
export function refuseSimulatedOnXen(report: WorldReport, onXenHost: boolean): void {
  if (!onXenHost || report.hypervisor !== 'xen') return;
  const parts = simulatedParts(report);
  if (parts.length === 0) return;
  throw new TsxError(
    E_SIMULATED_ON_XEN,
    `the hypervisor is real Xen, but these parts would be simulated: ${parts.join(', ')}; on a dom0 use --xenstore socket:/run/xenstored/socket and the real world (no simulated parts)`,
    { details: { simulated: parts, world: { ...report } } },
  );
}

/** What a World is started with: the environment's hypervisor and store. */
export interface WorldContext {
  readonly hypervisor: Hypervisor;
  /** The toolstack's connection. */
  readonly xs: XenstoreClient;
  /** A connection for the guests' own traffic, so the toolstack's round-trip counts stay its own. */
  readonly guestXs: XenstoreClient;
  /** The store's socket, handed to hotplug scripts and backend daemons. */
  readonly xenstoredPath: string;
  /** A new dom0 connection to the store. */
  openConnection(): Promise<XenstoreClient>;
  /**
   * A connection as guest `domid` where the store allows it (the embedded mock); undefined where
   * every connection would be dom0's anyway (a xenstored socket): the guests then share guestXs,
   * rather than holding a socket (and xenstored a connection to walk) each.
   */
  openGuestConnection(domid: number): Promise<XenstoreClient | undefined>;
}

/** The devices layer's parts of a world. */
export interface WorldDevices {
  readonly hotplug: HotplugRunner;
  readonly vfbCommand: VfbCommand;
  /** Stops what the world started for the devices (the backend simulator). */
  stop(): Promise<void>;
}

export interface WorldGuests {
  /** The guests' consoles; absent: the ptys xenconsoled publishes. */
  readonly consoles?: ConsoleSource;
  /** The world's own guests when it has them (the simulated ones: tests crash them through it). */
  readonly guests?: unknown;
  stop(): Promise<void>;
}

export interface World {
  readonly kind: WorldKind;
  /** Which world each of its parts runs in, known before anything starts. */
  describe(): WorldParts;
  /** The backends (started here when simulated), the hotplug runner and the framebuffer daemon's command. */
  startDevices(ctx: WorldContext): Promise<WorldDevices>;
  /**
   * The guests and their consoles. `ownFrontends`: the world's devices are in use, so simulated
   * guests start the frontend simulator; with an injected device manager they connect devices themselves.
   */
  startGuests(ctx: WorldContext, ownFrontends: boolean): Promise<WorldGuests>;
}
