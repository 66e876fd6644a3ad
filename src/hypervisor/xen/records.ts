// Conversions between the tsxend model and the libxc records: the createdomain config (from a
// DomainCreateSpec, with libxl's defaults) and xc_domaininfo_t (to DomainInfo).

import type { DomainCreateSpec, DomainInfo, ShutdownReason } from '../types.js';
import type { Xc } from './binding.js';
import { XEN } from './layouts.js';

export interface RawDomainInfo {
  domain: number;
  flags: number;
  tot_pages: bigint | number;
  max_pages: bigint | number;
  cpu_time: bigint | number;
  nr_online_vcpus: number;
  max_vcpu_id: number;
  handle: number[];
}

const REASONS: readonly ShutdownReason[] = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'];

/** libxl's default event-channel limit (b_info->event_channels). */
export const DEFAULT_MAX_EVTCHN_PORT = 1023;

/** Canonical UUID text → the 16 handle bytes Xen keeps (xen_domain_handle_t). */
export function uuidToHandle(uuid: string): number[] {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

export function handleToUuid(bytes: readonly number[]): string {
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A Buffer holding struct xen_domctl_createdomain for the spec (libxl__domain_make's choices). */
export function encodeCreateConfig(xc: Xc, spec: DomainCreateSpec, physCaps: number): Buffer {
  let flags = 0;
  let emulation = 0;
  if (spec.type !== 'pv') {
    flags |= XEN.CDF_hvm;
    if (physCaps & XEN.PHYSCAP_hap) flags |= XEN.CDF_hap;
    emulation = spec.type === 'hvm' ? XEN.X86_EMU_ALL : XEN.X86_EMU_LAPIC;
  }
  // grant_opts carries the highest grant-table version; Xen refuses 0 (libxl picks the host's).
  const grantVersion = physCaps & XEN.PHYSCAP_gnttab_v2 ? 2 : 1;
  const buf = Buffer.alloc(xc.koffi.sizeof(xc.layouts.createdomain));
  xc.koffi.encode(buf, xc.layouts.createdomain, {
    ssidref: spec.ssidref ?? 0,
    handle: uuidToHandle(spec.uuid),
    flags,
    iommu_opts: 0,
    max_vcpus: spec.maxVcpus,
    max_evtchn_port: spec.maxEvtchnPort ?? DEFAULT_MAX_EVTCHN_PORT,
    max_grant_frames: spec.maxGrantFrames ?? -1,
    max_maptrack_frames: spec.maxMaptrackFrames ?? -1,
    grant_opts: grantVersion,
    vmtrace_size: 0,
    cpupool_id: 0,
    arch: { emulation_flags: emulation, misc_flags: 0 },
  });
  return buf;
}

export function decodeDomainInfo(raw: RawDomainInfo): DomainInfo {
  const f = raw.flags;
  const shutdown = (f & XEN.DOMINF_shutdown) !== 0;
  const code = (f >>> XEN.DOMINF_shutdownshift) & XEN.DOMINF_shutdownmask;
  const reason = shutdown ? REASONS[code] : undefined;
  return {
    domid: raw.domain,
    uuid: handleToUuid(raw.handle),
    paused: (f & XEN.DOMINF_paused) !== 0,
    running: (f & XEN.DOMINF_running) !== 0,
    blocked: (f & XEN.DOMINF_blocked) !== 0,
    dying: (f & XEN.DOMINF_dying) !== 0,
    // xc_domain_getinfo's rule: a shutdown with reason crash is a crashed domain.
    crashed: shutdown && code === 3,
    shutdown,
    ...(reason === undefined ? {} : { shutdownReason: reason }),
    memoryKiB: Number(raw.tot_pages) * 4,
    maxMemoryKiB: Number(raw.max_pages) * 4,
    onlineVcpus: raw.nr_online_vcpus,
    maxVcpuId: raw.max_vcpu_id,
    cpuTimeNs: BigInt(raw.cpu_time),
  };
}
