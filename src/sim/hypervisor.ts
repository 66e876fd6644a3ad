// The simulated hypervisor: what Xen would answer, in memory. Domids from 1, memory and vcpus
// accounted against host totals (a request that does not fit fails typed, before any change),
// states and shutdown reasons, event channels, a fake build. It publishes its domains where the
// xenstore daemon looks for them: the embedded mock's registry, or the LD_PRELOAD stub's
// domains file when tsxend runs against a real cxenstored without Xen.

import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { E_ABORTED, TsxError } from '../errors.js';
import { readSimStream, simPages, writeSimStream } from './memory-stream.js';
import {
  E_HV_INJECTED,
  E_HV_INVALID,
  E_HV_NO_CPUS,
  E_HV_NO_DOMAIN,
  E_HV_NO_MEMORY,
} from '../hypervisor/errors.js';
import { DomainsFilePublisher, type DomainPublisher, type PublishedState } from './publish.js';
import type {
  BuildResult,
  BuildSpec,
  DomainCreateSpec,
  DomainInfo,
  DomainStateChange,
  GuestType,
  HostInfo,
  Hypervisor,
  MemoryProgress,
  MemoryStreamSummary,
  RestoreMemorySpec,
  SaveMemoryOptions,
  ShutdownReason,
} from '../hypervisor/types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SimulatedHypervisorOptions {
  /** Host memory, KiB (default 16 GiB). Dom0's share is not counted. */
  totalMemoryKiB?: number;
  /** Physical CPUs (default 8): a domain may not have more vcpus than this. */
  nrCpus?: number;
  /** Where domains are published (mock registry or stub domains file); none by default. */
  publisher?: DomainPublisher;
  /** Shortcut for a DomainsFilePublisher (env TSXEND_SIM_DOMAINS_FILE is read by the environment). */
  domainsFile?: string;
  /** Highest domid before wrapping back to 1 (Xen: DOMID_FIRST_RESERVED - 1). */
  maxDomid?: number;
  /**
   * Where the domain table persists, so that — as with Xen — domains outlive the toolstack:
   * a restarted daemon finds them here and re-adopts them. Default `<domainsFile>.sim.json`
   * when a domains file is used; none otherwise (in-process stores die with the process).
   */
  stateFile?: string;
}

interface SimDomain {
  domid: number;
  uuid: string;
  paused: boolean;
  dying: boolean;
  crashed: boolean;
  shutdown: boolean;
  shutdownReason?: ShutdownReason;
  maxVcpus: number;
  onlineVcpus: number;
  maxMemoryKiB: number;
  memoryKiB: number;
  nextPort: number;
  built: boolean;
  created: number;
  /** Absent in tables written before save/restore: pv. */
  type?: GuestType;
  /** The guest's own state, from the image it was restored from (see SimGuestMemory). */
  restoredState?: Record<string, unknown>;
}

/**
 * The simulated guests' side of a save: what a guest keeps in its memory, read once it has
 * stopped (guest.ts registers it). Without one, a saved guest's state page is empty.
 */
export interface SimGuestMemory {
  snapshot(domid: number): Record<string, unknown>;
}

/** Names of the calls a test may make fail (one shot each). */
export type SimCall = 'createDomain' | 'setHandle' | 'setMaxVcpus' | 'setMaxMemory' | 'setMemoryTarget' | 'allocUnboundEvtchn' | 'build' | 'unpause' | 'pause' | 'destroy' | 'saveMemory' | 'restoreMemory' | 'resume';

export class SimulatedHypervisor implements Hypervisor {
  readonly kind = 'simulated' as const;
  readonly #domains = new Map<number, SimDomain>();
  readonly #listeners = new Set<(c: DomainStateChange) => void>();
  readonly #totalKiB: number;
  readonly #nrCpus: number;
  readonly #maxDomid: number;
  readonly #publisher: DomainPublisher | undefined;
  readonly #failures = new Map<SimCall, Error>();
  #nextDomid = 1;
  #publishChain: Promise<void> = Promise.resolve();

  constructor(options: SimulatedHypervisorOptions = {}) {
    this.#totalKiB = options.totalMemoryKiB ?? 16 * 1024 * 1024;
    this.#nrCpus = options.nrCpus ?? 8;
    this.#maxDomid = options.maxDomid ?? 0x7fef;
    this.#publisher = options.publisher ?? (options.domainsFile === undefined ? undefined : new DomainsFilePublisher(options.domainsFile));
    this.#stateFile = options.stateFile ?? (options.domainsFile === undefined ? undefined : `${options.domainsFile}.sim.json`);
    // A toolstack killed between writing its table and publishing it left the two disagreeing:
    // what it restored is published again first (list() waits for it), as Xen's one truth would be.
    if (this.#load()) this.#restored = this.#publish().catch(() => undefined);
  }

  #restored: Promise<void> = Promise.resolve();

  readonly #stateFile: string | undefined;

  /** Restores the domain table a previous toolstack process left (see `stateFile`). */
  #load(): boolean {
    if (!this.#stateFile || !existsSync(this.#stateFile)) return false;
    try {
      const saved = JSON.parse(readFileSync(this.#stateFile, 'utf8')) as { nextDomid: number; domains: SimDomain[] };
      for (const d of saved.domains) this.#domains.set(d.domid, d);
      this.#nextDomid = saved.nextDomid;
      return true;
    } catch {
      // An unreadable table is an empty host: the domains file still tells xenstored the truth.
      return false;
    }
  }

  /** Tests: the next call of `call` fails with `error` (or a typed injected failure). */
  failNext(call: SimCall, error?: Error): void {
    this.#failures.set(call, error ?? new TsxError(E_HV_INJECTED, `injected failure in ${call}`, { details: { call } }));
  }

  #maybeFail(call: SimCall): void {
    const err = this.#failures.get(call);
    if (err) {
      this.#failures.delete(call);
      throw err;
    }
  }

  #get(domid: number): SimDomain {
    const d = this.#domains.get(domid);
    if (!d || d.dying) throw new TsxError(E_HV_NO_DOMAIN, `no domain ${domid}`, { details: { domid } });
    return d;
  }

  #usedKiB(except?: number): number {
    let sum = 0;
    for (const d of this.#domains.values()) if (d.domid !== except) sum += d.memoryKiB;
    return sum;
  }

  async hostInfo(): Promise<HostInfo> {
    return { hypervisor: 'simulated', version: '4.17-simulated', nrCpus: this.#nrCpus, totalMemoryKiB: this.#totalKiB, freeMemoryKiB: this.#totalKiB - this.#usedKiB() };
  }

  /** Free host memory now, KiB (what a create must fit into). */
  freeMemoryKiB(): number {
    return this.#totalKiB - this.#usedKiB();
  }

  async createDomain(spec: DomainCreateSpec): Promise<number> {
    this.#maybeFail('createDomain');
    if (spec.maxVcpus < 1 || spec.maxVcpus > this.#nrCpus) {
      throw new TsxError(E_HV_NO_CPUS, `domain ${spec.uuid}: ${spec.maxVcpus} vcpus but the host has ${this.#nrCpus} CPUs`, { details: { maxVcpus: spec.maxVcpus, nrCpus: this.#nrCpus } });
    }
    const domid = this.#allocDomid();
    const d: SimDomain = {
      domid,
      uuid: spec.uuid,
      paused: true,
      dying: false,
      crashed: false,
      shutdown: false,
      maxVcpus: spec.maxVcpus,
      onlineVcpus: spec.maxVcpus,
      maxMemoryKiB: 0,
      memoryKiB: 0,
      nextPort: 1,
      built: false,
      created: Date.now(),
      type: spec.type,
    };
    this.#domains.set(domid, d);
    await this.#publish();
    this.#emit({ type: 'created', info: this.#info(d) });
    return domid;
  }

  #allocDomid(): number {
    for (let i = 0; i < this.#maxDomid; i++) {
      const candidate = this.#nextDomid;
      this.#nextDomid = candidate >= this.#maxDomid ? 1 : candidate + 1;
      if (!this.#domains.has(candidate)) return candidate;
    }
    throw new TsxError(E_HV_INVALID, 'no free domid', { details: { maxDomid: this.#maxDomid } });
  }

  async setHandle(domid: number, uuid: string): Promise<void> {
    this.#maybeFail('setHandle');
    if (!UUID.test(uuid)) throw new TsxError(E_HV_INVALID, `domain ${domid}: handle ${JSON.stringify(uuid)} is not a UUID`, { details: { domid, uuid } });
    this.#get(domid).uuid = uuid;
    // The table (stateFile) holds the handle: a restarted toolstack must find the new one.
    await this.#publish();
  }

  async setMaxVcpus(domid: number, vcpus: number): Promise<void> {
    this.#maybeFail('setMaxVcpus');
    const d = this.#get(domid);
    if (vcpus < 1 || vcpus > this.#nrCpus) throw new TsxError(E_HV_NO_CPUS, `domain ${domid}: ${vcpus} vcpus but the host has ${this.#nrCpus} CPUs`, { details: { domid, vcpus } });
    d.maxVcpus = vcpus;
    d.onlineVcpus = Math.min(d.onlineVcpus, vcpus);
  }

  async setMaxMemory(domid: number, kib: number): Promise<void> {
    this.#maybeFail('setMaxMemory');
    const d = this.#get(domid);
    if (kib <= 0) throw new TsxError(E_HV_INVALID, `domain ${domid}: maximum memory must be positive`, { details: { domid, kib } });
    d.maxMemoryKiB = kib;
  }

  async setMemoryTarget(domid: number, kib: number): Promise<void> {
    this.#maybeFail('setMemoryTarget');
    const d = this.#get(domid);
    if (d.built && kib > d.maxMemoryKiB) throw new TsxError(E_HV_INVALID, `domain ${domid}: target ${kib} KiB is over its maximum ${d.maxMemoryKiB} KiB`, { details: { domid, kib, maxMemoryKiB: d.maxMemoryKiB } });
    this.#fit(domid, kib);
    d.memoryKiB = kib;
    this.#changed(d);
  }

  #fit(domid: number, kib: number): void {
    const free = this.#totalKiB - this.#usedKiB(domid);
    if (kib > free) {
      throw new TsxError(E_HV_NO_MEMORY, `domain ${domid}: ${kib} KiB does not fit in ${free} KiB free`, { details: { domid, requestedKiB: kib, freeKiB: free } });
    }
  }

  async setOnlineVcpus(domid: number, vcpus: number): Promise<void> {
    const d = this.#get(domid);
    if (vcpus < 1 || vcpus > d.maxVcpus) throw new TsxError(E_HV_INVALID, `domain ${domid}: ${vcpus} vcpus is outside 1..${d.maxVcpus}`, { details: { domid, vcpus, maxVcpus: d.maxVcpus } });
    d.onlineVcpus = vcpus;
    this.#changed(d);
  }

  async allocUnboundEvtchn(domid: number, _remoteDomid: number): Promise<number> {
    this.#maybeFail('allocUnboundEvtchn');
    const d = this.#get(domid);
    return d.nextPort++;
  }

  async build(domid: number, spec: BuildSpec): Promise<BuildResult> {
    this.#maybeFail('build');
    const d = this.#get(domid);
    if (spec.memoryKiB > spec.maxMemoryKiB) throw new TsxError(E_HV_INVALID, `domain ${domid}: memory over its maximum`, { details: { domid } });
    this.#fit(domid, spec.memoryKiB);
    d.maxMemoryKiB = spec.maxMemoryKiB;
    d.memoryKiB = spec.memoryKiB;
    d.onlineVcpus = Math.min(spec.vcpus, d.maxVcpus);
    d.built = true;
    // Frames at the top of the guest's memory, like the PV builder's special pages.
    const top = BigInt(Math.floor(spec.memoryKiB / 4));
    return { storeGfn: top - 2n, consoleGfn: top - 1n, protocol: 'x86_64-abi' };
  }

  #guestMemory: SimGuestMemory | undefined;

  /** The simulated guests register what they keep in memory (guest.ts). */
  setGuestMemory(memory: SimGuestMemory | undefined): void {
    this.#guestMemory = memory;
  }

  /** The state a restored domain's guest carries on from (undefined for a booted one). */
  restoredState(domid: number): Record<string, unknown> | undefined {
    return this.#domains.get(domid)?.restoredState;
  }

  async saveMemory(domid: number, out: Writable, options: SaveMemoryOptions): Promise<MemoryStreamSummary> {
    this.#maybeFail('saveMemory');
    const d = this.#get(domid);
    if (d.shutdown && d.shutdownReason !== 'suspend') throw new TsxError(E_HV_INVALID, `domain ${domid} has shut down (${d.shutdownReason}): nothing to save`, { details: { domid } });
    return writeSimStream(out, { type: d.type ?? 'pv', pages: simPages(d.memoryKiB) }, {
      ...options,
      suspend: async () => {
        // Suspending one that already is (a save retried after a failure) is a no-op, as in libxl.
        if (!(this.#domains.get(domid)?.shutdownReason === 'suspend')) await options.suspend();
        const now = this.#get(domid);
        if (!(now.shutdown && now.shutdownReason === 'suspend')) throw new TsxError(E_HV_INVALID, `domain ${domid} did not suspend`, { details: { domid } });
      },
      state: () => this.#guestMemory?.snapshot(domid) ?? {},
    });
  }

  async restoreMemory(domid: number, input: Readable, spec: RestoreMemorySpec, options: { signal?: AbortSignal; onProgress?: (p: MemoryProgress) => void } = {}): Promise<BuildResult> {
    this.#maybeFail('restoreMemory');
    const d = this.#get(domid);
    if (d.built) throw new TsxError(E_HV_INVALID, `domain ${domid} is built already`, { details: { domid } });
    if (spec.memoryKiB > spec.maxMemoryKiB) throw new TsxError(E_HV_INVALID, `domain ${domid}: memory over its maximum`, { details: { domid } });
    this.#fit(domid, spec.memoryKiB);
    const mem = await readSimStream(input, { type: spec.type }, options.onProgress);
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new TsxError(E_ABORTED, 'restore cancelled');
    return this.build(domid, { ...spec, type: mem.type }).then((built) => {
      d.restoredState = mem.state;
      return built;
    });
  }

  async resume(domid: number): Promise<void> {
    this.#maybeFail('resume');
    const d = this.#get(domid);
    if (!d.shutdown || d.shutdownReason !== 'suspend') return;
    d.shutdown = false;
    delete d.shutdownReason;
    await this.#publish();
    this.#changed(d);
  }

  async pause(domid: number): Promise<void> {
    this.#maybeFail('pause');
    const d = this.#get(domid);
    d.paused = true;
    await this.#publish();
    this.#changed(d);
  }

  async unpause(domid: number): Promise<void> {
    this.#maybeFail('unpause');
    const d = this.#get(domid);
    d.paused = false;
    await this.#publish();
    this.#changed(d);
  }

  async shutdown(domid: number, reason: ShutdownReason): Promise<void> {
    const d = this.#get(domid);
    if (d.shutdown) return;
    d.shutdown = true;
    d.shutdownReason = reason;
    if (reason === 'crash') d.crashed = true;
    await this.#publish();
    this.#changed(d);
  }

  /** What a guest kernel panic looks like to the toolstack. */
  async crash(domid: number): Promise<void> {
    await this.shutdown(domid, 'crash');
  }

  async destroy(domid: number): Promise<void> {
    this.#maybeFail('destroy');
    const d = this.#domains.get(domid);
    if (!d) return; // idempotent: already gone
    this.#domains.delete(domid);
    await this.#publish();
    this.#emit({ type: 'destroyed', domid });
  }

  async getInfo(domid: number): Promise<DomainInfo | undefined> {
    const d = this.#domains.get(domid);
    return d ? this.#info(d) : undefined;
  }

  async list(): Promise<DomainInfo[]> {
    await this.#restored;
    return [...this.#domains.values()].map((d) => this.#info(d));
  }

  onStateChange(listener: (change: DomainStateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#publishChain;
  }

  #info(d: SimDomain): DomainInfo {
    return {
      domid: d.domid,
      uuid: d.uuid,
      paused: d.paused,
      running: !d.paused && !d.shutdown && !d.dying,
      blocked: false,
      dying: d.dying,
      crashed: d.crashed,
      shutdown: d.shutdown,
      ...(d.shutdownReason === undefined ? {} : { shutdownReason: d.shutdownReason }),
      memoryKiB: d.memoryKiB,
      maxMemoryKiB: d.maxMemoryKiB,
      onlineVcpus: d.onlineVcpus,
      maxVcpuId: d.maxVcpus - 1,
      cpuTimeNs: BigInt(Date.now() - d.created) * 1000n,
    };
  }

  #changed(d: SimDomain): void {
    this.#emit({ type: 'changed', info: this.#info(d) });
  }

  #emit(change: DomainStateChange): void {
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch {
        // A listener's failure is its own; the hypervisor's state is already changed.
      }
    }
  }

  /** Publishes the domain list; serialised so the file (or registry) never goes backwards. */
  #publish(): Promise<void> {
    const pub = this.#publisher;
    if (!pub) return Promise.resolve();
    const snapshot: { domid: number; state: PublishedState }[] = [...this.#domains.values()].map((d) => ({
      domid: d.domid,
      state: d.dying ? 'dying' : d.crashed ? 'crashed' : d.shutdown ? 'shutdown' : d.paused ? 'paused' : 'running',
    }));
    const table = this.#stateFile ? JSON.stringify({ nextDomid: this.#nextDomid, domains: [...this.#domains.values()] }) : undefined;
    const file = this.#stateFile;
    const next = this.#publishChain.then(async () => {
      if (file && table !== undefined) {
        await writeFile(`${file}.tmp`, table);
        await rename(`${file}.tmp`, file);
      }
      await pub.publish(snapshot);
    });
    this.#publishChain = next.catch(() => undefined);
    return next;
  }
}
