// The one internal API every front end (HTTP routes, the websocket, the CLI through HTTP) calls.
// Method names mirror the OpenAPI operationIds. No front end holds logic of its own.

import type { DeviceClass, DeviceEntry, XendConfig } from '../config/model.js';
import type { Readable } from 'node:stream';
import type { GuestType, HostInfo } from '../hypervisor/types.js';

/** Explicit domain states; each operation declares the states it is allowed in. */
export type DomainState =
  | 'defined' // managed, not running
  | 'creating'
  | 'saving' // suspended and being written to an image (save, checkpoint)
  | 'paused'
  | 'running'
  | 'shutting-down'
  | 'shutdown'
  | 'crashed'
  | 'dying'
  | 'destroyed'
  | 'quarantined'; // found on restart and not understood: reported, never touched

export type { DeviceState, DeviceView } from '../devices/api.js';
import type { DeviceView } from '../devices/api.js';

export type TaskState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TaskView {
  readonly id: string;
  /** operationId of what runs, e.g. createDomain, destroyDomain, attachDevice. */
  readonly operation: string;
  readonly domainUuid?: string;
  readonly state: TaskState;
  /** What the task is doing or waiting for now, as a noun phrase. */
  readonly step: string;
  /** 0..1 */
  readonly progress: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly error?: { code: string; message: string };
  /** What a succeeded operation answers when that is no domain view (a save's report). */
  readonly result?: Record<string, unknown>;
}

export interface DomainView {
  readonly domid?: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainState;
  /** Why the domain is in its state when that is not obvious (quarantine, crash, partial destroy). */
  readonly reason?: string;
  readonly shutdownReason?: string;
  readonly managed: boolean;
  readonly autostart: boolean;
  readonly config: XendConfig;
  readonly devices: DeviceView[];
  /** Operations in flight on this domain. */
  readonly operations: TaskView[];
}

export interface TsxEvent {
  /** Monotonically increasing across the daemon's life. */
  readonly seq: number;
  readonly time: string;
  /** Dotted name, e.g. domain.created, device.connected, create.step, xenstore.down. */
  readonly type: string;
  readonly domid?: number;
  readonly uuid?: string;
  readonly name?: string;
  readonly devClass?: DeviceClass;
  readonly devid?: number;
  readonly step?: string;
  readonly outcome?: 'started' | 'ok' | 'failed';
  readonly taskId?: string;
  readonly data?: Record<string, unknown>;
}

/** A long operation: its task view at once, its result when it ends. */
export interface Operation<T> {
  readonly task: TaskView;
  readonly done: Promise<T>;
}

export interface CreateOptions {
  /** Leave the domain paused after its devices are up (xm create -p). */
  paused?: boolean;
  /** Persist the config as a managed domain. */
  managed?: boolean;
  requestId?: string;
}

export interface DestroyReport {
  readonly uuid: string;
  readonly domid?: number;
  /** Paths or resources that could not be removed; non-empty means the destroy was partial. */
  readonly leftovers: string[];
}

export interface SaveReport {
  readonly uuid: string;
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly pages: number;
  /** How long the guest was stopped (from its suspend to the end of the save, or to its resume with checkpoint). */
  readonly downtimeMs: number;
  readonly checkpoint: boolean;
}

export type ShutdownMode = 'poweroff' | 'reboot' | 'suspend' | 'halt';

export interface HealthView {
  readonly status: 'ok' | 'degraded';
  readonly xenstore: 'up' | 'down';
  readonly hypervisor: 'simulated' | 'xen';
  readonly domains: number;
  readonly seq: number;
}

export interface EventSubscription {
  close(): void;
}

export interface EventFeed {
  readonly currentSeq: number;
  /** Events after `since` still held in the ring, or 'resync-required' when some were dropped. */
  replay(since: number): TsxEvent[] | 'resync-required';
  subscribe(listener: (event: TsxEvent) => void): EventSubscription;
}

/** Where managed configs persist (the daemon's state directory; memory in tests). */
export interface ConfigStore extends ShellStore {
  save(record: StoredDomain): Promise<void>;
  remove(uuid: string): Promise<void>;
  /** Every stored record; unreadable ones are answered as errors, never thrown. */
  loadAll(): Promise<(StoredDomain | { uuid: string; error: Error })[]>;
}

/** Prepared shells (shells.ts) persist beside the domains, so that a restarted daemon finds them. */
export interface ShellStore {
  saveShell(record: StoredShell): Promise<void>;
  removeShell(handle: string): Promise<void>;
  /** Every stored shell; unreadable ones are answered as errors (named by their handle), never thrown. */
  loadShells(): Promise<(StoredShell | { handle: string; error: Error })[]>;
}

/** The shape every shell of a pool has; a config fits it as shells.ts says (`fitsShell`). */
export interface ShellShape {
  readonly type: GuestType;
  readonly maxVcpus: number;
  /** The shell's maximum memory: configs with a maxmem up to this fit. */
  readonly memoryMiB: number;
}

/** One prepared shell: saved before its domain exists, again with its domid once it does. */
export interface StoredShell extends ShellShape {
  /** The placeholder handle (UUID) its domain was created with, until a create takes it. */
  readonly handle: string;
  readonly domid?: number;
}

/** The pool of prepared shells as GET /v1/host reports it. */
export interface PreparedShellsView extends ShellShape {
  /** How many shells the daemon keeps (--prepared-shells). */
  readonly target: number;
  /** Shells ready to be taken by a create. */
  readonly ready: number;
  /** Shells being prepared now (0 or 1: one at a time, in the background). */
  readonly preparing: number;
  /** Memory the ready shells hold in the hypervisor now, KiB (an empty domain holds next to none). */
  readonly memoryKiB: number;
}

/** GET /v1/host: the hypervisor's figures and the pool of prepared shells. */
export interface HostView extends HostInfo {
  readonly preparedShells?: PreparedShellsView;
}

export interface StoredDomain {
  readonly config: XendConfig;
  readonly managed: boolean;
  readonly autostart: boolean;
  readonly autostartOrder: number;
  /** The domid the domain last ran as, used to re-adopt it after a restart. */
  readonly domid?: number;
  /** Its VM path (layout.ts), so that only its own goes with it: another copy may hold /vm/UUID. */
  readonly vm?: string;
  /**
   * A create or destroy under way: saved before it touches anything, cleared when it ends, so a
   * daemon killed in the middle rolls the create back, or finishes the destroy, at start.
   */
  readonly phase?: 'creating' | 'destroying' | 'saving' | 'migrating' | 'migrated' | 'incoming';
  /** The image a save in progress writes (phase "saving"): its rename is the save's commit point. */
  readonly image?: string;
  /**
   * A migration under way: on the source (phases migrating, migrated) where it goes and how to
   * reach it (the state directory is the daemon's own, 0700); on the destination (incoming) its id.
   */
  readonly migration?: MigrationTarget & { readonly id: string };
}

/** Where a migration goes: another tsxend's API (unix:PATH or https://HOST:PORT), with its token and CA. */
export interface MigrationTarget {
  readonly destination: string;
  readonly token?: string;
  /** PEM CA bundle for a destination with a private certificate. */
  readonly ca?: string;
}

/** The destination's side of a migration, as the source's lifecycle sees it (src/daemon/peer.ts speaks it over HTTP). */
export interface MigrationPeer {
  readonly target: MigrationTarget;
  /** The destination claims the domain's name, uuid and resources; answers the migration's id. */
  prepare: (config: XendConfig) => Promise<{ id: string }>;
  /** Sends the image; resolves once the destination holds the domain restored and paused. */
  sendImage: (id: string, image: Readable) => Promise<void>;
  /** The destination runs the guest; "gone" when it no longer has the migration (aborted, timed out). */
  commit: (id: string) => Promise<'committed' | 'gone'>;
  /** The destination drops whatever it made of the migration (best effort). */
  abort: (id: string) => Promise<void>;
}

export interface MigrateReport {
  readonly uuid: string;
  readonly name: string;
  readonly destination: string;
  readonly live: boolean;
  readonly bytes: number;
  readonly pages: number;
  /** From the guest's suspend on the source to its unpause on the destination. */
  readonly downtimeMs: number;
  readonly totalMs: number;
}

/** An incoming migration on the destination. */
export interface IncomingView {
  readonly id: string;
  readonly uuid: string;
  readonly name: string;
  readonly state: 'prepared' | 'receiving' | 'ready' | 'committed' | 'aborted';
  /** When an uncommitted migration is dropped (its domain never ran here). */
  readonly expiresAt: string;
}

export interface Orchestrator {
  readonly events: EventFeed;
  /** Rebuilds the view from the config store and xenstore; idempotent. */
  start(): Promise<void>;
  /** Finishes or rolls back what is in flight, then closes watches. */
  stop(): Promise<void>;
  health(): HealthView;
  hostInfo(): Promise<HostView>;

  listDomains(): { seq: number; domains: DomainView[] };
  /** ref: domid, name or uuid. */
  getDomain(ref: string): DomainView;
  createDomain(config: XendConfig, options?: CreateOptions): Operation<DomainView>;
  destroyDomain(ref: string, options?: { force?: boolean }): Operation<DestroyReport>;
  pauseDomain(ref: string): Promise<DomainView>;
  unpauseDomain(ref: string): Promise<DomainView>;
  shutdownDomain(ref: string, mode: ShutdownMode): Operation<DomainView>;
  setMemory(ref: string, mib: number): Promise<DomainView>;
  setVcpus(ref: string, vcpus: number): Promise<DomainView>;

  /** Managed (persistent) domains: stored in the config store, started on demand or at boot. */
  defineDomain(config: XendConfig, options?: { autostart?: boolean; autostartOrder?: number }): Promise<DomainView>;
  undefineDomain(ref: string): Promise<void>;
  startDomain(ref: string, options?: CreateOptions): Operation<DomainView>;

  listDevices(ref: string): DeviceView[];
  attachDevice(ref: string, device: DeviceEntry, uuid?: string): Operation<DeviceView>;
  detachDevice(ref: string, devClass: DeviceClass, devid: number, options?: { force?: boolean }): Operation<void>;

  /** Suspends the guest and writes it to `file` (the daemon's file system); the domain goes unless `checkpoint`. */
  saveDomain(ref: string, file: string, options?: { checkpoint?: boolean }): Operation<SaveReport>;
  /** A new domain from a save image (xl's format), checked whole before anything is created. */
  restoreDomain(file: string, options?: { paused?: boolean }): Operation<DomainView>;

  /** Sends a running domain to another tsxend (live: memory copied while it runs, then a short stop-and-copy). */
  migrateDomain(ref: string, peer: MigrationPeer, options?: { live?: boolean }): Operation<MigrateReport>;
  /** Destination: claims a domain about to arrive; it expires unless committed. */
  prepareIncoming(config: XendConfig): Promise<IncomingView>;
  /** Destination: restores the arriving image, paused, from `image`. */
  receiveIncoming(id: string, image: Readable): Operation<DomainView>;
  /** Destination: the source let go of the guest; it runs here now. */
  commitIncoming(id: string): Promise<DomainView>;
  /** Destination: drops what an uncommitted migration made. */
  abortIncoming(id: string): Promise<void>;
  getIncoming(id: string): IncomingView;

  getTask(id: string): TaskView;
  listTasks(): TaskView[];
  cancelTask(id: string): TaskView;
}
