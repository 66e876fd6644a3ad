// XenHypervisor: the Hypervisor contract on real Xen 4.17 through libxenctrl/libxenguest.
// The libraries are opened on first use (or by open()), never at import. State changes are
// found by diffing xc_domain_getinfolist snapshots: after every call that changes a domain,
// and on a timer while someone listens (the daemon's @releaseDomain watch also calls refresh()).

import { TsxError } from '../../errors.js';
import type {
  BuildResult,
  BuildSpec,
  DomainCreateSpec,
  DomainInfo,
  DomainPublisher,
  DomainStateChange,
  HostInfo,
  Hypervisor,
  PublishedState,
  ShutdownReason,
  MemoryStreamSummary,
  RestoreMemorySpec,
  SaveMemoryOptions,
} from '../types.js';
import { E_HV_INVALID, E_XEN_CALL_FAILED } from '../errors.js';
import { Xc, type XenLibPaths } from './binding.js';
import { cpumapBytes, xlCpumap } from './affinity.js';
import { buildPv, buildPvh, checkBuildable, type DomainFacts } from './build.js';
import { XEN } from './layouts.js';
import { decodeDomainInfo, encodeCreateConfig, uuidToHandle, type RawDomainInfo } from './records.js';
import { restoreMemory, saveMemory } from './saverestore.js';
import type { Readable, Writable } from 'node:stream';

export interface XenHypervisorOptions {
  /** Library paths (tests load the recording fake here). */
  readonly libs?: XenLibPaths;
  /** Poll period of getinfolist while state listeners exist, ms (0 = no timer). */
  readonly pollIntervalMs?: number;
  /**
   * Tells a xenstored that cannot ask Xen itself (the embedded mock, in tests with the fake
   * libraries) which domains exist. A real xenstored on a dom0 needs none.
   */
  readonly publisher?: DomainPublisher;
  /** Xen's libxl-save-helper (save and restore run through it, as libxl runs them). */
  readonly saveHelper?: string;
}

/** How long destroy waits for a dying domain to be released. */
const DYING_WAIT_MS = 20_000;

const SHUTDOWN_CODES: Record<ShutdownReason, number> = {
  poweroff: 0,
  reboot: 1,
  suspend: 2,
  crash: 3,
  watchdog: 4,
  soft_reset: 5,
};

const BATCH = 256;

export class XenHypervisor implements Hypervisor {
  readonly kind = 'xen' as const;
  private xc: Xc | undefined;
  private opening: Promise<Xc> | undefined;
  private readonly listeners = new Set<(change: DomainStateChange) => void>();
  private known = new Map<number, DomainInfo>();
  private timer: NodeJS.Timeout | undefined;
  /** Domains this process created and has not built yet (libxl's build_pre window). */
  private readonly pendingBuild = new Set<number>();
  /** Domains Xen runs as HVM containers (HVM, PVH): from their create, or XEN_DOMINF_hvm_guest. */
  private readonly hvmDomains = new Set<number>();
  private physCaps: number | undefined;
  private maxCpuId: number | undefined;
  /** What the build of a domain created here needs from its create (libxl's b_info). */
  private readonly buildFacts = new Map<number, DomainFacts>();

  constructor(private readonly options: XenHypervisorOptions = {}) {}

  /** Opens the libraries and the interface; answers once, later calls reuse it. */
  open(): Promise<Xc> {
    if (this.xc) return Promise.resolve(this.xc);
    this.opening ??= Xc.open(this.options.libs).then(
      (xc) => (this.xc = xc),
      (err: unknown) => {
        this.opening = undefined;
        throw err;
      },
    );
    return this.opening;
  }

  async hostInfo(): Promise<HostInfo> {
    const xc = await this.open();
    const phys = this.physinfo(xc);
    const v = xc.call('xc_version', undefined, XEN.XENVER_version, null);
    const extra = Buffer.alloc(16);
    xc.call('xc_version', undefined, XEN.XENVER_extraversion, extra);
    const nul = extra.indexOf(0);
    return {
      hypervisor: 'xen',
      version: `${v >>> 16}.${v & 0xffff}${extra.subarray(0, nul < 0 ? 16 : nul).toString('latin1')}`,
      nrCpus: phys.nr_cpus,
      totalMemoryKiB: Number(phys.total_pages) * 4,
      freeMemoryKiB: Number(phys.free_pages) * 4,
    };
  }

  private physinfo(xc: Xc): { nr_cpus: number; max_cpu_id: number; total_pages: bigint | number; free_pages: bigint | number; capabilities: number } {
    const buf = Buffer.alloc(xc.koffi.sizeof(xc.layouts.physinfo));
    xc.call('xc_physinfo', undefined, buf);
    const p = xc.koffi.decode(buf, xc.layouts.physinfo) as { nr_cpus: number; max_cpu_id: number; total_pages: bigint; free_pages: bigint; capabilities: number };
    this.physCaps = p.capabilities;
    this.maxCpuId = p.max_cpu_id;
    return p;
  }

  async createDomain(spec: DomainCreateSpec): Promise<number> {
    const xc = await this.open();
    if (this.physCaps === undefined) this.physinfo(xc);
    const config = encodeCreateConfig(xc, spec, this.physCaps ?? 0);
    const domid = [0];
    xc.call('xc_domain_create', undefined, domid, config);
    const id = domid[0] ?? 0;
    if (spec.type !== 'pv') this.hvmDomains.add(id);
    this.pendingBuild.add(id);
    this.buildFacts.set(id, { maxVcpus: spec.maxVcpus, hap: spec.type !== 'pv' && ((this.physCaps ?? 0) & XEN.PHYSCAP_hap) !== 0 });
    await this.settle();
    return id;
  }

  /** XEN_DOMCTL_setdomainhandle: a prepared shell takes its guest's UUID. */
  async setHandle(domid: number, uuid: string): Promise<void> {
    const xc = await this.open();
    let handle: number[];
    try {
      handle = uuidToHandle(uuid);
    } catch (err) {
      throw new TsxError(E_HV_INVALID, `domain ${domid}: handle ${JSON.stringify(uuid)} is not a UUID`, { cause: err, details: { domid, uuid } });
    }
    xc.call('xc_domain_sethandle', domid, domid, Buffer.from(handle));
  }

  async setMaxVcpus(domid: number, vcpus: number): Promise<void> {
    (await this.open()).call('xc_domain_max_vcpus', domid, domid, vcpus);
    const facts = this.buildFacts.get(domid);
    if (facts) this.buildFacts.set(domid, { ...facts, maxVcpus: vcpus });
  }

  /**
   * libxl__build_pre's hard affinity: one xc_vcpu_setaffinity per pinned vcpu (HARD only, no soft
   * map), as libxl_set_vcpuaffinity. xl's string form gives every vcpu up to max_vcpus the same
   * map; its list form gives vcpu i entry i (parse_vcpu_affinity), and every map is parsed
   * before the first call, so a bad entry pins nothing.
   */
  async setVcpuAffinity(domid: number, maxVcpus: number, cpus: string | readonly string[]): Promise<void> {
    const xc = await this.open();
    // The map is xc_get_cpumap_size bytes: from physinfo's max_cpu_id, as libxc computes it.
    if (this.maxCpuId === undefined) this.physinfo(xc);
    const bytes = cpumapBytes(this.maxCpuId ?? 0);
    const maps = typeof cpus === 'string' ? Array.from({ length: maxVcpus }, () => xlCpumap(cpus, bytes)) : cpus.slice(0, maxVcpus).map((c) => xlCpumap(c, bytes));
    // Xen writes the effective affinity back: each call gets its own map (libxl copies too).
    maps.forEach((map, vcpu) => xc.call('xc_vcpu_setaffinity', domid, domid, vcpu, map, null, XEN.VCPUAFFINITY_HARD));
  }

  async setMaxMemory(domid: number, kib: number): Promise<void> {
    // A PV guest's memory map limit is set by the build (buildPre), after the event channels,
    // where libxl__arch_domain_create sets it; a running guest's memory map is its own.
    (await this.open()).call('xc_domain_setmaxmem', domid, domid, BigInt(kib));
  }

  async setMemoryTarget(domid: number, kib: number): Promise<void> {
    const xc = await this.open();
    // Before the build there is no memory to aim at: the build allocates the target itself.
    // Afterwards (also for domains found at start) the balloon driver does the work through
    // memory/target in xenstore; an HVM container also gets its populate-on-demand target, as
    // libxl sets it. Xen refuses that call for a PV guest (EINVAL, seen on real Xen).
    if (this.pendingBuild.has(domid) || !this.isHvm(domid)) return;
    xc.call('xc_domain_set_pod_target', domid, domid, BigInt(Math.floor(kib / 4)), null, null, null);
  }

  async setOnlineVcpus(domid: number, vcpus: number): Promise<void> {
    // vCPU hotplug is the guest's act on cpu/N/availability in xenstore; Xen only bounds it.
    const info = await this.getInfo(domid);
    if (!info) throw this.noDomain('setOnlineVcpus', domid);
    if (vcpus > info.maxVcpuId + 1) {
      throw new TsxError(E_XEN_CALL_FAILED, `domain ${domid} has at most ${info.maxVcpuId + 1} vcpus`, {
        details: { call: 'setOnlineVcpus', domid, errno: 22, errnoName: 'EINVAL', xcError: undefined },
      });
    }
  }

  async allocUnboundEvtchn(domid: number, remoteDomid: number): Promise<number> {
    return (await this.open()).call('xc_evtchn_alloc_unbound', domid, domid, remoteDomid);
  }

  async build(domid: number, spec: BuildSpec): Promise<BuildResult> {
    const xc = await this.open();
    checkBuildable(domid, spec);
    const facts = this.factsOf(xc, domid, spec);
    const result = spec.type === 'pvh' ? buildPvh(xc, domid, spec, facts) : buildPv(xc, domid, spec, facts);
    this.pendingBuild.delete(domid);
    this.buildFacts.delete(domid);
    return result;
  }

  /** The domain's libxc stream to `out`; libxc asks for the guest's suspension through `options.suspend`. */
  async saveMemory(domid: number, out: Writable, options: SaveMemoryOptions): Promise<MemoryStreamSummary> {
    await this.open();
    return saveMemory(domid, out, { ...options, ...(this.options.saveHelper ? { helper: this.options.saveHelper } : {}) });
  }

  /** Restores a libxc stream into the empty domain `domid` (instead of build). */
  async restoreMemory(domid: number, input: Readable, spec: RestoreMemorySpec): Promise<BuildResult> {
    const xc = await this.open();
    const facts = this.factsOf(xc, domid, spec);
    const result = await restoreMemory(xc, domid, input, spec, facts, this.options.saveHelper);
    this.pendingBuild.delete(domid);
    this.buildFacts.delete(domid);
    await this.settle();
    return result;
  }

  /** A guest that suspended for a save that is cancelled or checkpointed carries on (xc_domain_resume, fast). */
  async resume(domid: number): Promise<void> {
    (await this.open()).call('xc_domain_resume', domid, domid, 1);
    await this.settle();
  }

  async pause(domid: number): Promise<void> {
    (await this.open()).call('xc_domain_pause', domid, domid);
    await this.settle();
  }

  async unpause(domid: number): Promise<void> {
    (await this.open()).call('xc_domain_unpause', domid, domid);
    await this.settle();
  }

  async shutdown(domid: number, reason: ShutdownReason): Promise<void> {
    (await this.open()).call('xc_domain_shutdown', domid, domid, SHUTDOWN_CODES[reason]);
    await this.settle();
  }

  /** Pauses then destroys (as xend and libxl do); a domain already gone is not an error. */
  async destroy(domid: number): Promise<void> {
    const xc = await this.open();
    try {
      xc.call('xc_domain_pause', domid, domid);
    } catch {
      // A dying or already-paused domain refuses; destroy below is what matters.
    }
    try {
      xc.call('xc_domain_destroy', domid, domid);
    } catch (err) {
      if (!(err instanceof TsxError && err.details['errnoName'] === 'ESRCH')) throw err;
    }
    this.pendingBuild.delete(domid);
    this.buildFacts.delete(domid);
    this.hvmDomains.delete(domid);
    // A destroyed domain lingers as dying while Xen frees its memory (seconds on a slow host):
    // destroy answers once it is gone, so that "destroyed" means no domain (bounded: a domain
    // held by a leaked mapping stays dying, and is left to Xen).
    for (const end = Date.now() + DYING_WAIT_MS; Date.now() < end; ) {
      const [first] = this.getinfolist(xc, domid, 1);
      if (!first || first.domid !== domid) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.settle();
  }

  async getInfo(domid: number): Promise<DomainInfo | undefined> {
    const xc = await this.open();
    const [first] = this.getinfolist(xc, domid, 1);
    return first && first.domid === domid ? first : undefined;
  }

  /** Guest domains (dom0 is implicit, as in the domains file). */
  async list(): Promise<DomainInfo[]> {
    const xc = await this.open();
    const out: DomainInfo[] = [];
    for (let first = 1; ; ) {
      const batch = this.getinfolist(xc, first, BATCH);
      out.push(...batch.filter((d) => d.domid !== 0));
      if (batch.length < BATCH) return out;
      first = (batch[batch.length - 1]?.domid ?? first) + 1;
    }
  }

  /**
   * What the build needs from the domain's create: kept when this process created it; else (a
   * prepared shell adopted after a restart) read back from Xen, whose max vcpus are the create's.
   */
  private factsOf(xc: Xc, domid: number, spec: { vcpus: number }): DomainFacts {
    const kept = this.buildFacts.get(domid);
    if (kept) return kept;
    const [info] = this.getinfolist(xc, domid, 1);
    const maxVcpus = info && info.domid === domid ? info.maxVcpuId + 1 : spec.vcpus;
    if (this.physCaps === undefined) this.physinfo(xc);
    return { maxVcpus, hap: this.isHvm(domid) && ((this.physCaps ?? 0) & XEN.PHYSCAP_hap) !== 0 };
  }

  private isHvm(domid: number): boolean {
    return this.hvmDomains.has(domid);
  }

  private getinfolist(xc: Xc, first: number, max: number): DomainInfo[] {
    const size = xc.koffi.sizeof(xc.layouts.domaininfo);
    const buf = Buffer.alloc(size * max);
    const n = xc.call('xc_domain_getinfolist', first === 0 ? undefined : first, first, max, buf);
    const out: DomainInfo[] = [];
    for (let i = 0; i < n; i++) {
      const raw = xc.koffi.decode(buf, i * size, xc.layouts.domaininfo) as RawDomainInfo;
      if (raw.flags & XEN.DOMINF_hvm_guest) this.hvmDomains.add(raw.domain);
      out.push(decodeDomainInfo(raw));
    }
    return out;
  }

  /** After a call that succeeded: the bookkeeping's own failure must not undo its answer. */
  private async settle(): Promise<void> {
    await this.refresh().catch(() => undefined);
  }

  /** Re-reads the domain list and tells listeners what appeared, changed or vanished. */
  async refresh(): Promise<void> {
    const publisher = this.options.publisher;
    if (this.listeners.size === 0 && !publisher) return;
    const list = await this.list();
    await publisher?.publish(list.map((d) => ({ domid: d.domid, state: publishedState(d) })));
    if (this.listeners.size === 0) return;
    const now = new Map(list.map((d) => [d.domid, d]));
    const changes: DomainStateChange[] = [];
    for (const [domid, info] of now) {
      const before = this.known.get(domid);
      if (!before) changes.push({ type: 'created', info });
      else if (stateKey(before) !== stateKey(info)) changes.push({ type: 'changed', info });
    }
    for (const domid of this.known.keys()) {
      if (!now.has(domid)) {
        changes.push({ type: 'destroyed', domid });
        this.hvmDomains.delete(domid);
        this.pendingBuild.delete(domid);
      }
    }
    this.known = now;
    for (const c of changes) for (const l of this.listeners) l(c);
  }

  onStateChange(listener: (change: DomainStateChange) => void): () => void {
    this.listeners.add(listener);
    const period = this.options.pollIntervalMs ?? 1000;
    if (!this.timer && period > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), period);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    const xc = this.xc ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.xc = undefined;
    this.opening = undefined;
    xc?.close();
  }

  private noDomain(call: string, domid: number): TsxError {
    return new TsxError(E_XEN_CALL_FAILED, `${call}: domain ${domid} does not exist`, {
      details: { call, domid, errno: 3, errnoName: 'ESRCH', xcError: undefined },
    });
  }
}

function publishedState(d: DomainInfo): PublishedState {
  if (d.dying) return 'dying';
  if (d.crashed) return 'crashed';
  if (d.shutdown) return 'shutdown';
  return d.paused ? 'paused' : 'running';
}

function stateKey(d: DomainInfo): string {
  return [d.paused, d.running, d.blocked, d.dying, d.crashed, d.shutdown, d.shutdownReason ?? ''].join(',');
}
