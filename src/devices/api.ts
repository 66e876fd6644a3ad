// What the domain lifecycle asks of the devices layer. The devices layer owns every frontend and
// backend node, hotplug scripts and backend daemons; the lifecycle owns the domain and the order.

import type { DeviceClass, DeviceEntry } from '../config/model.js';
import type { UndoJournal } from '../util/journal.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { StrayScripts } from './hotplug.js';

/** A device's life as the devices layer sees it (the lifecycle and the API show it as is). */
export type DeviceState =
  | 'writing'
  | 'initialising'
  | 'init-wait'
  | 'hotplug'
  | 'connected'
  | 'closing'
  | 'closed'
  | 'error';

export interface DeviceView {
  readonly uuid: string;
  readonly class: DeviceClass;
  readonly devid: number;
  readonly state: DeviceState;
  readonly backendDomid: number;
  readonly frontendPath: string;
  readonly backendPath: string;
  readonly config: DeviceEntry['config'];
  readonly error?: { code: string; message: string };
}

/** A device event for the event stream (the lifecycle adds seq and domain identity). */
export interface DeviceEvent {
  readonly type: string; // device.writing, device.hotplug, device.connected, device.failed, device.closed, backend.exited ...
  readonly devClass: DeviceClass;
  readonly devid: number;
  readonly step?: string;
  readonly outcome?: 'started' | 'ok' | 'failed';
  readonly data?: Record<string, unknown>;
}

export interface DomainDeviceContext {
  readonly xs: XenstoreClient;
  readonly domid: number;
  readonly uuid: string;
  readonly name: string;
  /** Guest ABI (e.g. x86_64-abi) when the build reported it. */
  readonly protocol?: string;
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) shared by every wait of this operation. */
  readonly deadline: number;
  /**
   * The guest is unpaused right after activation and waitConnected follows (a create that does
   * not start paused). A backend daemon's start then does not hold activation: its device is
   * left `initialising` and its InitWait is awaited with the Connected wait, while the guest
   * boots (a frontend waits for its backend as it would for a slow one). It still starts only
   * after every node exists, so the ordering that makes changeset 14926's race impossible holds.
   */
  readonly unpauseFollows?: boolean;
  emit(event: DeviceEvent): void;
}

export interface PlannedDevice {
  readonly uuid: string;
  readonly entry: DeviceEntry;
}

export interface DeviceManager {
  /**
   * Phase 1 of a create: writes every device's frontend and backend nodes (one transaction),
   * in the given order, registering each inverse in the journal. Spawns nothing, runs no script.
   */
  writeDevices(ctx: DomainDeviceContext, devices: readonly PlannedDevice[], journal: UndoJournal): Promise<DeviceView[]>;
  /**
   * Phase 2: only after every node exists with its final permissions, starts backend daemons and
   * runs hotplug scripts, then waits (watch-driven) until each device is up or fails typed.
   */
  activateDevices(ctx: DomainDeviceContext, devices: readonly DeviceView[], journal: UndoJournal): Promise<DeviceView[]>;
  /**
   * Phase 3, after the guest is unpaused: waits (watch-driven) until every device's backend
   * and frontend report Connected (4); a paused guest's frontends cannot get there.
   */
  waitConnected(ctx: DomainDeviceContext, devices: readonly DeviceView[]): Promise<DeviceView[]>;
  /** Orderly teardown: Closing → Closed (deadline) → hotplug remove → delete nodes. */
  destroyDevices(ctx: DomainDeviceContext, devices: readonly DeviceView[], options: { force: boolean }): Promise<{ leftovers: string[] }>;
  /** Reads back the devices found in xenstore for a domain (restart reconcile). */
  readDevices(xs: XenstoreClient, domid: number): Promise<DeviceView[]>;
  /**
   * Restart reconcile, before it tears a domain down or reads its devices: hotplug scripts a
   * dead daemon left running for it are waited for (bounded), then killed with their groups.
   */
  settleHotplug?(uuid: string): Promise<StrayScripts>;
  /**
   * Restart reconcile, for a re-adopted domain: its backend daemon (not our child now) is found
   * from its record and supervised — its exit reported as backend.exited, destroy stops it.
   */
  adoptDevices?(ctx: DomainDeviceContext, devices: readonly DeviceView[]): Promise<void>;
}
