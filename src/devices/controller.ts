// A device class is a small table of hooks; the generic writer (writer.ts) owns every xenstore
// write, the permissions and the transaction. Adding a class = one file in classes/ and one line
// in registry.ts.

import type { DeviceClass, DeviceConfigByClass } from '../config/model.js';

export type Entries = [key: string, value: string][];

export interface ControllerContext {
  readonly domid: number;
  readonly uuid: string;
  readonly name: string;
  readonly backendDomid: number;
  readonly protocol?: string;
}

export interface DevController<C extends DeviceClass = DeviceClass> {
  readonly deviceClass: C;
  /** Frontend directory kind (`vbd`, `vif`, `vkbd`, ...). */
  readonly frontendKind: string;
  backendKind(config: DeviceConfigByClass[C]): string;
  /** The device id: derived (vbd: the vdev number), fixed (vfb/vkbd: 0) or allocated. */
  devid(config: DeviceConfigByClass[C], taken: ReadonlySet<number>): number;
  /** Class keys written after the generic ones (backend, backend-id, state), guest-owned. */
  frontendEntries(config: DeviceConfigByClass[C], ctx: ControllerContext, devid: number): Entries;
  /** Keys the guest may read but not write (owned by the backend domain). */
  readonlyFrontendEntries?(config: DeviceConfigByClass[C], ctx: ControllerContext, devid: number): Entries;
  /** Class keys written after the generic ones (frontend, frontend-id, online, state). */
  backendEntries(config: DeviceConfigByClass[C], ctx: ControllerContext, devid: number): Entries;
  /** Whether the frontend carries a `state` node (the primary console does not). */
  readonly frontendState: boolean;
  /** How the device is brought up in phase 2. */
  readonly activation: 'hotplug-script' | 'backend-daemon' | 'kernel-backend' | 'none';
  /** The hotplug script (absolute, or a name under the scripts directory). */
  script?(config: DeviceConfigByClass[C]): string;
  /** Extra environment for the hotplug script (vif: `vif`, `netdev`). */
  scriptEnv?(config: DeviceConfigByClass[C], ctx: ControllerContext, devid: number): Record<string, string>;
  /**
   * Why the script probably failed, when it said nothing itself (no hotplug-error, no stderr):
   * Xen's `block` exits 1 silently for a backing file that does not exist.
   */
  explainFailure?(config: DeviceConfigByClass[C]): string | undefined;
}

/** Fields of a config that must never reach xenstore or logs. */
export const SECRET_FIELDS = new Set(['vncpasswd']);
