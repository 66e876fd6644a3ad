// The real world, in one place: what a daemon on a Xen dom0 drives. The kernel's backends
// (blkback, netback…) need nothing started; Debian's hotplug scripts run from the daemon
// (libxl's run_hotplug_scripts=1); Xen's device model serves vfb and vkbd; the guests are real
// and their consoles are the ptys xenconsoled serves. Chosen by createEnvironment only where the
// hypervisor is Xen on the real /dev/xen/privcmd; nothing here falls back to a stand-in.

import { qemuXenpvCommand, RealHotplugRunner } from '../devices/index.js';
import { PtyConsoleSource } from './console-pty.js';
import type { World, WorldContext, WorldDevices, WorldGuests, WorldParts } from './world.js';

export interface RealWorldOptions {
  /** Xen's device model binary (default DEFAULT_DEVICE_MODEL). */
  readonly deviceModel?: string;
}

export function realWorld(options: RealWorldOptions = {}): World {
  return {
    kind: 'real',
    describe: (): WorldParts => ({ backends: 'kernel', hotplug: 'scripts', vfb: 'qemu-xenpv', guests: 'real', console: 'xenconsoled-pty' }),
    async startDevices(): Promise<WorldDevices> {
      return { hotplug: new RealHotplugRunner(), vfbCommand: qemuXenpvCommand(options.deviceModel), stop: async () => undefined };
    },
    async startGuests(ctx: WorldContext): Promise<WorldGuests> {
      return { consoles: new PtyConsoleSource(ctx.xs), stop: async () => undefined };
    },
  };
}
