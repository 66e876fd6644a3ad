// The hypervisor contract: what a toolstack asks of Xen (libxenctrl/libxenguest on a dom0).
// Implementations: SimulatedHypervisor (the embedded default) and XenHypervisor (FFI to the real
// libraries, see issue 8). Every call names the domain it acts on; every failure is a TsxError.

import type { Readable, Writable } from 'node:stream';

export type GuestType = 'pv' | 'pvh' | 'hvm';

export type ShutdownReason = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog' | 'soft_reset';

export interface DomainCreateSpec {
  /** Domain handle: the VM's UUID (canonical 8-4-4-4-12 form). */
  readonly uuid: string;
  readonly type: GuestType;
  readonly maxVcpus: number;
  readonly ssidref?: number;
  readonly maxGrantFrames?: number;
  readonly maxMaptrackFrames?: number;
  readonly maxEvtchnPort?: number;
}

export interface BuildSpec {
  readonly type: GuestType;
  readonly kernel?: string;
  readonly ramdisk?: string;
  readonly cmdline?: string;
  /** Memory the guest starts with, KiB. */
  readonly memoryKiB: number;
  /** Static maximum, KiB. */
  readonly maxMemoryKiB: number;
  readonly vcpus: number;
  readonly storeEvtchn: number;
  readonly consoleEvtchn: number;
}

export interface BuildResult {
  /** Guest frame of the xenstore ring page, handed to INTRODUCE. */
  readonly storeGfn: bigint;
  readonly consoleGfn: bigint;
  /** Guest ABI reported by the image (e.g. `x86_64-abi`), when known. */
  readonly protocol?: string;
}

export interface DomainInfo {
  readonly domid: number;
  readonly uuid: string;
  readonly paused: boolean;
  readonly running: boolean;
  readonly blocked: boolean;
  readonly dying: boolean;
  readonly crashed: boolean;
  readonly shutdown: boolean;
  readonly shutdownReason?: ShutdownReason;
  readonly memoryKiB: number;
  readonly maxMemoryKiB: number;
  readonly onlineVcpus: number;
  readonly maxVcpuId: number;
  readonly cpuTimeNs: bigint;
}

export interface HostInfo {
  readonly hypervisor: 'simulated' | 'xen';
  readonly version: string;
  readonly nrCpus: number;
  readonly totalMemoryKiB: number;
  readonly freeMemoryKiB: number;
}

export type DomainStateChange =
  | { type: 'created'; info: DomainInfo }
  | { type: 'changed'; info: DomainInfo }
  | { type: 'destroyed'; domid: number };

/** A domain's state as xenstored's view of the hypervisor sees it (the mock's registry, the stub's domains file). */
export type PublishedState = 'running' | 'paused' | 'shutdown' | 'dying' | 'crashed';

/**
 * Where a hypervisor that xenstored cannot ask itself tells it which domains exist (the
 * simulated one always; Xen on the test suite's recording fake). Implementations: src/sim/publish.ts.
 */
export interface DomainPublisher {
  publish(domains: readonly { domid: number; state: PublishedState }[]): Promise<void>;
}

/** How far a save or restore has come: pages of the guest's memory, bytes of the stream. */
export interface MemoryProgress {
  readonly pagesDone: number;
  readonly pagesTotal: number;
  readonly bytes: number;
}

export interface SaveMemoryOptions {
  /** Pre-copy while the guest runs, then stop-and-copy (migration). */
  readonly live?: boolean;
  /** Suspends the guest (cooperatively, through xenstore); called when the hypervisor side asks for it. */
  readonly suspend: () => Promise<void>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: MemoryProgress) => void;
  /**
   * The image file's descriptor, positioned where the stream goes (what `out` writes to, all
   * written out): a hypervisor may write the stream there itself, as libxl has libxc do,
   * instead of through `out`. Not for a file system libxc cannot write guest pages to (9p).
   */
  readonly fd?: number;
}

/** What a saved memory stream holds besides pages, as far as the toolstack cares. */
export interface MemoryStreamSummary {
  readonly bytes: number;
  readonly pages: number;
  readonly records: number;
}

/** A restored domain's shape: as for a build, less the image (it comes from the stream). */
export interface RestoreMemorySpec {
  readonly type: GuestType;
  readonly memoryKiB: number;
  readonly maxMemoryKiB: number;
  readonly vcpus: number;
  readonly storeEvtchn: number;
  readonly consoleEvtchn: number;
}

export interface Hypervisor {
  readonly kind: 'simulated' | 'xen';
  hostInfo(): Promise<HostInfo>;
  /** Creates a paused, empty domain and answers its domid. */
  createDomain(spec: DomainCreateSpec): Promise<number>;
  /**
   * Gives a domain another handle (the VM's UUID): a prepared shell, created under a placeholder,
   * becomes the guest's (xc_domain_sethandle). Nothing else of the domain changes.
   */
  setHandle(domid: number, uuid: string): Promise<void>;
  setMaxVcpus(domid: number, vcpus: number): Promise<void>;
  /**
   * Hard affinity as libxl sets it between max vcpus and max memory: an xl `cpus` string pins
   * vcpus 0..maxVcpus-1 alike; a list pins vcpu i to entry i (entries past maxVcpus are ignored,
   * vcpus past the list stay unpinned). Optional: the simulated hypervisor does not schedule.
   */
  setVcpuAffinity?(domid: number, maxVcpus: number, cpus: string | readonly string[]): Promise<void>;
  setMaxMemory(domid: number, kib: number): Promise<void>;
  setMemoryTarget(domid: number, kib: number): Promise<void>;
  setOnlineVcpus(domid: number, vcpus: number): Promise<void>;
  /** Allocates an unbound event channel in `domid` for `remoteDomid` (dom0) and answers its port. */
  allocUnboundEvtchn(domid: number, remoteDomid: number): Promise<number>;
  /** Loads the kernel and builds the guest's memory image. */
  build(domid: number, spec: BuildSpec): Promise<BuildResult>;
  pause(domid: number): Promise<void>;
  unpause(domid: number): Promise<void>;
  /** Asks the hypervisor to shut the domain down with a reason (what the guest's hypercall does). */
  shutdown(domid: number, reason: ShutdownReason): Promise<void>;
  destroy(domid: number): Promise<void>;
  getInfo(domid: number): Promise<DomainInfo | undefined>;
  list(): Promise<DomainInfo[]>;
  /**
   * Writes the domain's memory and vCPU state to `out` as a libxc migration stream (exactly:
   * `out` stays open for what the caller frames around it); asks `options.suspend` when the
   * guest must stop. The domain is left suspended (shut down, reason suspend), never destroyed.
   */
  saveMemory(domid: number, out: Writable, options: SaveMemoryOptions): Promise<MemoryStreamSummary>;
  /** Restores a libxc stream from `input` (read exactly to its END) into the empty domain `domid`, instead of build. */
  restoreMemory(domid: number, input: Readable, spec: RestoreMemorySpec, options?: { signal?: AbortSignal; onProgress?: (p: MemoryProgress) => void }): Promise<BuildResult>;
  /** A guest suspended for a save that was cancelled or checkpointed carries on where it stopped. */
  resume(domid: number): Promise<void>;
  /** Domain appearance, state changes and disappearance. Answers an unsubscribe function. */
  onStateChange(listener: (change: DomainStateChange) => void): () => void;
  close(): Promise<void>;
}
