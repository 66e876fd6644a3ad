// The PV domain build through libxenguest, in libxl's order (libxl__build_pv + libxl__build_dom):
// allocate, kernel, ramdisk module, image fields, boot_xen_init, parse_image, mem_init,
// boot_mem_init, build_image, boot_image, gnttab_init; read back the store and console frames
// (machine frames for a PV guest, via the image's p2m, as libxl does); release.
// PVH follows libxl__build_hvm: an HVM-container image with libxl's memory layout, ACPI tables
// and e820; frames are guest frames. Both start with the tail of libxl__build_pre (buildPre).

import { TsxError } from '../../errors.js';
import type { BuildResult, BuildSpec } from '../types.js';
import { E_XEN_UNSUPPORTED } from '../errors.js';
import type { Xc } from './binding.js';
import { buildPvhAcpi } from './acpi.js';
import { XC_DOM_IMAGE_FIELDS, XEN, type XcDomImageField } from './layouts.js';

/** Guest ABI named by the kernel's ELF notes → the `protocol` frontends are told (xend's native_protocol). */
const PROTOCOLS: Record<string, string> = {
  'xen-3.0-x86_64': 'x86_64-abi',
  'xen-3.0-x86_32p': 'x86_32-abi',
};

function setField(xc: Xc, dom: unknown, field: XcDomImageField, value: unknown): void {
  const f = XC_DOM_IMAGE_FIELDS[field];
  xc.koffi.encode(dom, f.offset, f.type, value);
}

function getField(xc: Xc, dom: unknown, field: XcDomImageField): unknown {
  const f = XC_DOM_IMAGE_FIELDS[field];
  return xc.koffi.decode(dom, f.offset, f.type);
}

function big(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number);
}

/** PV guest frame → machine frame (xc_dom_p2m, a static inline in xenguest.h). */
function p2m(xc: Xc, dom: unknown, pfn: bigint): bigint {
  const table = getField(xc, dom, 'pv_p2m');
  const total = big(getField(xc, dom, 'total_pages'));
  if (table === null || pfn >= total) return pfn;
  return big(xc.koffi.decode(table, Number(pfn) * 8, 'uint64_t'));
}

/** Refuses what the binding cannot build: HVM (no device model, no firmware) and kernel-less guests. */
export function checkBuildable(domid: number, spec: BuildSpec): asserts spec is BuildSpec & { kernel: string } {
  if (spec.type !== 'pv' && spec.type !== 'pvh') {
    throw new TsxError(E_XEN_UNSUPPORTED, `domain ${domid}: building a ${spec.type} guest is not supported by the Xen binding (PV and PVH only)`, {
      details: { domid, type: spec.type },
    });
  }
  if (!spec.kernel) {
    throw new TsxError(E_XEN_UNSUPPORTED, `domain ${domid}: a ${spec.type.toUpperCase()} build needs a kernel (bootloaders are not supported)`, {
      details: { domid, type: spec.type },
    });
  }
}

/** What Xen was told at create time and libxl's build needs again. */
export interface DomainFacts {
  /** b_info->max_vcpus (xc_domain_max_vcpus). */
  readonly maxVcpus: number;
  /** Whether the domain was created with XEN_DOMCTL_CDF_hap. */
  readonly hap: boolean;
}

/**
 * The part of libxl 4.17's libxl__build_pre that follows the event channels, for a default
 * guest, call for call: libxl__arch_domain_create (libxl_x86.c), then libxl__cpuid_legacy.
 */
export function buildPre(xc: Xc, domid: number, spec: Pick<BuildSpec, 'type' | 'maxMemoryKiB'>, facts: DomainFacts, options: { restore?: boolean } = {}): void {
  if (spec.type === 'pvh') {
    // hvm_set_conf_params, PVH case: libxl's defaults (timer_mode no_delay_for_missed_ticks, altp2m off).
    xc.call('xc_hvm_param_set', domid, domid, XEN.HVM_PARAM_TIMER_MODE, BigInt(XEN.HVMPTM_no_delay_for_missed_ticks));
    xc.call('xc_hvm_param_set', domid, domid, XEN.HVM_PARAM_ALTP2M, 0n);
  } else {
    // PV: the e820 reaches max_memkb + slack_memkb (slack defaults to 0), so the guest can
    // balloon up to its maximum. libxl ignores this call's result; a failure here means the
    // domain is unusable, so it fails the create.
    xc.call('xc_domain_set_memmap_limit', domid, domid, BigInt(spec.maxMemoryKiB));
  }
  // tsc_mode "default" is 0; elapsed_nsec, gtsc_khz and incarnation are 0 for a new domain.
  xc.call('xc_domain_set_tsc_info', domid, domid, XEN.TSC_MODE_DEFAULT, 0n, 0, 0);
  // rtc_timeoffset 0 and localtime off: libxl skips xc_domain_set_time_offset.
  if (spec.type === 'pvh') {
    // libxl__domain_set_paging_mempool_size with the shadow_memkb libxl defaults to.
    const pagingKiB = pvhPagingMemoryKiB(spec.maxMemoryKiB, facts.maxVcpus, facts.hap);
    xc.call('xc_set_paging_mempool_size', domid, domid, BigInt(pagingKiB) << 10n);
  }
  // e820_host off (PV): no host e820. A restored domain gets its CPU policy from its stream
  // (or from static_data_done for an old stream), as libxl's build_pre leaves it then.
  if (options.restore) return;
  // libxl__cpuid_legacy for a brand new domain:
  // restore false, no featureset, pae true (mandatory for PV, always on for PVH), itsc only
  // with disable_migrate or tsc_mode always_emulate (neither by default), nested_hvm off, no
  // xend-style cpuid= or msr overrides. It answers -errno (callRc).
  xc.callRc('xc_cpuid_apply_policy', domid, domid, false, null, 0, true, false, false, null, null);
}

interface DomImage {
  readonly dom: unknown;
  /** One xc_dom_* call on the image; a non-zero answer throws the typed failure naming it. */
  readonly step: (name: string, ...args: unknown[]) => void;
  /** A native copy of `bytes` the image may point at, freed with the image. */
  readonly native: (bytes: Uint8Array) => unknown;
}

/** xc_dom_allocate, `body` on the image, then xc_dom_release (and the native copies) whatever happens. */
function withDomImage(xc: Xc, domid: number, spec: BuildSpec, body: (image: DomImage) => BuildResult): BuildResult {
  xc.koffi.errno(0);
  const dom = xc.raw('xc_dom_allocate', xc.handle, spec.cmdline ?? null, null);
  if (dom === null) throw xc.failure('xc_dom_allocate', domid);
  const owned: unknown[] = [];
  try {
    return body({
      dom,
      step: (name, ...args) => {
        xc.koffi.errno(0);
        const rc = xc.raw(name, dom, ...args) as number;
        if (rc !== 0) throw xc.failure(name, domid);
      },
      native: (bytes) => {
        const p: unknown = xc.koffi.alloc('uint8_t', Math.max(bytes.length, 1));
        owned.push(p);
        xc.koffi.encode(p, 0, xc.koffi.array('uint8_t', bytes.length), bytes);
        return p;
      },
    });
  } finally {
    xc.raw('xc_dom_release', dom);
    for (const p of owned) xc.koffi.free(p);
  }
}

/** Builds a PV guest into the (empty, paused) domain. */
export function buildPv(xc: Xc, domid: number, spec: BuildSpec, facts: DomainFacts): BuildResult {
  checkBuildable(domid, spec);
  if (spec.type !== 'pv') throw new Error(`buildPv called for a ${spec.type} guest`);
  buildPre(xc, domid, spec, facts);
  // libxl__build_pv.
  return withDomImage(xc, domid, spec, ({ dom, step }) => {
    setField(xc, dom, 'container_type', XEN.XC_DOM_PV_CONTAINER);
    step('xc_dom_kernel_file', spec.kernel);
    if (spec.ramdisk) step('xc_dom_module_file', spec.ramdisk, null);
    setField(xc, dom, 'flags', 0n);
    setField(xc, dom, 'console_evtchn', spec.consoleEvtchn);
    setField(xc, dom, 'console_domid', 0);
    setField(xc, dom, 'xenstore_evtchn', spec.storeEvtchn);
    setField(xc, dom, 'xenstore_domid', 0);
    setField(xc, dom, 'claim_enabled', 0);
    setField(xc, dom, 'max_vcpus', spec.vcpus);
    step('xc_dom_boot_xen_init', xc.handle, domid);
    step('xc_dom_parse_image');
    // PV guests boot with their target and balloon up to the maximum (libxl and xend alike).
    step('xc_dom_mem_init', Math.floor(spec.memoryKiB / 1024));
    step('xc_dom_boot_mem_init');
    step('xc_dom_build_image');
    step('xc_dom_boot_image');
    step('xc_dom_gnttab_init');
    const guestType = getField(xc, dom, 'guest_type');
    const abi = guestType === null ? undefined : xc.koffi.decode.string(guestType);
    const protocol = abi === undefined ? undefined : PROTOCOLS[abi];
    return {
      storeGfn: p2m(xc, dom, big(getField(xc, dom, 'xenstore_pfn'))),
      consoleGfn: p2m(xc, dom, big(getField(xc, dom, 'console_pfn'))),
      ...(protocol === undefined ? {} : { protocol }),
    };
  });
}

const GiB4 = 1n << 32n;

/** libxl__get_required_paging_memory for a PVH guest, KiB. */
export function pvhPagingMemoryKiB(maxMemoryKiB: number, maxVcpus: number, hap: boolean): number {
  return 4 * (256 * maxVcpus + (1 + (hap ? 0 : 1)) * Math.floor(maxMemoryKiB / 1024));
}

/** libxl__build_hvm's memory layout for a guest without a device model (PVH). */
export function pvhMemoryLayout(maxMemoryKiB: number): { mmioSize: bigint; mmioStart: bigint; lowmemEnd: bigint; highmemEnd: bigint } {
  // The MMIO hole starts low enough to hold the special pages, the local APIC and the ACPI tables.
  let start = BigInt(XEN.X86_HVM_END_SPECIAL_REGION - XEN.X86_HVM_NR_SPECIAL_PAGES) << 12n;
  for (const a of [0xfee00000n /* LAPIC_BASE_ADDRESS */, 0xfc000000n /* ACPI_INFO_PHYSICAL_ADDRESS */]) if (a < start) start = a;
  const mmioSize = GiB4 - start;
  const memSize = BigInt(maxMemoryKiB) << 10n;
  const mmioStart = GiB4 - mmioSize;
  let lowmemEnd = memSize;
  let highmemEnd = 0n;
  if (lowmemEnd > mmioStart) {
    highmemEnd = GiB4 + (lowmemEnd - mmioStart);
    lowmemEnd = mmioStart;
  }
  return { mmioSize, mmioStart, lowmemEnd, highmemEnd };
}

export interface E820Entry {
  readonly addr: bigint;
  readonly size: bigint;
  readonly type: number;
}

/** libxl's domain_construct_memmap for PVH (no reserved device memory), in libxl's entry order. */
export function pvhMemoryMap(layout: { lowmemEnd: bigint; highmemEnd: bigint }, acpi: readonly { guestAddr: bigint; length: number }[]): E820Entry[] {
  const e820: E820Entry[] = [{ addr: 0n, size: layout.lowmemEnd, type: XEN.E820_RAM }];
  const special = BigInt(XEN.X86_HVM_END_SPECIAL_REGION - XEN.X86_HVM_NR_SPECIAL_PAGES) << 12n;
  e820.push({ addr: special, size: BigInt(XEN.X86_HVM_NR_SPECIAL_PAGES) << 12n, type: XEN.E820_RESERVED });
  for (const m of acpi) {
    if (!m.length) continue;
    e820.push({ addr: m.guestAddr & ~0xfffn, size: BigInt(m.length) + (m.guestAddr & 0xfffn), type: XEN.E820_ACPI });
  }
  if (layout.highmemEnd) e820.push({ addr: GiB4, size: layout.highmemEnd - GiB4, type: XEN.E820_RAM });
  return e820;
}

/**
 * Builds a PVH guest into the (empty, paused) domain: buildPre (HVM params, TSC, paging pool,
 * CPUID), then libxl__build_hvm with PVH direct kernel boot.
 */
export function buildPvh(xc: Xc, domid: number, spec: BuildSpec, facts: DomainFacts): BuildResult {
  checkBuildable(domid, spec);
  if (spec.type !== 'pvh') throw new Error(`buildPvh called for a ${spec.type} guest`);
  buildPre(xc, domid, spec, facts);
  return withDomImage(xc, domid, spec, ({ dom, step, native }) => {
    setField(xc, dom, 'container_type', XEN.XC_DOM_HVM_CONTAINER);
    setField(xc, dom, 'target_pages', BigInt(Math.floor(spec.memoryKiB / 4)));
    setField(xc, dom, 'claim_enabled', 0);
    // libxl__domain_firmware, PVH without a shim: the kernel itself, the ramdisk as a module.
    step('xc_dom_kernel_file', spec.kernel);
    if (spec.ramdisk) step('xc_dom_module_file', spec.ramdisk, null);
    const layout = pvhMemoryLayout(spec.maxMemoryKiB);
    setField(xc, dom, 'mmio_size', layout.mmioSize);
    setField(xc, dom, 'lowmem_end', layout.lowmemEnd);
    setField(xc, dom, 'highmem_end', layout.highmemEnd);
    setField(xc, dom, 'mmio_start', layout.mmioStart);
    setField(xc, dom, 'vga_hole_size', 0n);
    setField(xc, dom, 'device_model', false);
    setField(xc, dom, 'max_vcpus', facts.maxVcpus);
    setField(xc, dom, 'console_evtchn', spec.consoleEvtchn);
    setField(xc, dom, 'console_domid', 0);
    setField(xc, dom, 'xenstore_evtchn', spec.storeEvtchn);
    setField(xc, dom, 'xenstore_domid', 0);

    // libxl__build_dom.
    step('xc_dom_boot_xen_init', xc.handle, domid);
    step('xc_dom_parse_image');
    // An HVM container is populated up to its maximum (the rest of target_pages is PoD).
    step('xc_dom_mem_init', Math.floor(spec.maxMemoryKiB / 1024));
    step('xc_dom_boot_mem_init');

    // libxl__arch_domain_finalise_hw_description: ACPI tables, then the memory map.
    const info = Buffer.alloc(xc.koffi.sizeof(xc.layouts.domaininfo));
    const n = xc.call('xc_domain_getinfolist', domid, domid, 1, info);
    const raw = xc.koffi.decode(info, xc.layouts.domaininfo) as { domain: number; max_vcpu_id: number };
    if (n < 1 || raw.domain !== domid) throw xc.failure('xc_domain_getinfolist', domid);
    const os = xc.raw('xc_dom_guest_os', dom) as string | null;
    const rsdpInBiosArea = os === 'linux' && !(xc.raw('xc_dom_feature_get', dom, XEN.XENFEAT_linux_rsdp_unrestricted) as boolean);
    const dsdt = xc.pvhDsdt();
    const acpi = buildPvhAcpi({ nrVcpus: raw.max_vcpu_id + 1, onlineVcpus: spec.vcpus, rsdpInBiosArea, ...(dsdt ? { dsdt } : {}) });
    const fm = xc.layouts.firmwareModule;
    const fmSize = xc.koffi.sizeof(fm);
    acpi.modules.forEach((m, i) => {
      const at = XC_DOM_IMAGE_FIELDS.acpi_modules.offset + i * fmSize;
      xc.koffi.encode(dom, at, fm, { data: native(m.data), length: m.data.length, guest_addr_out: m.guestAddr });
    });
    const e820 = pvhMemoryMap(layout, acpi.modules.map((m) => ({ guestAddr: m.guestAddr, length: m.data.length })));
    const entrySize = xc.koffi.sizeof(xc.layouts.e820entry);
    const table = Buffer.alloc(entrySize * e820.length);
    e820.forEach((e, i) => xc.koffi.encode(table, i * entrySize, xc.layouts.e820entry, e));
    xc.call('xc_domain_set_memory_map', domid, domid, table, e820.length);
    setField(xc, dom, 'e820', native(table));
    setField(xc, dom, 'e820_entries', e820.length);

    step('xc_dom_build_image');
    step('xc_dom_boot_image');
    step('xc_dom_gnttab_init');
    // An HVM container has no p2m: the frames libxenguest chose (and put in HVM_PARAM_STORE_PFN
    // and HVM_PARAM_CONSOLE_PFN) are guest frames, what libxl hands to INTRODUCE.
    return {
      storeGfn: big(getField(xc, dom, 'xenstore_pfn')),
      consoleGfn: big(getField(xc, dom, 'console_pfn')),
    };
  });
}
