// koffi layouts of the Xen 4.17 (x86_64) structs the binding passes to or reads from libxc.
// Checked, not trusted: test/hypervisor/xen-layouts.test.ts compiles test/fixtures/xcfake/layouts.c
// against Debian's headers and compares every size and field offset with these.
//
// koffi is handed in (it is imported lazily by the binding), so importing this file loads nothing.

import type * as Koffi from 'koffi';

type KoffiModule = Pick<typeof Koffi, 'struct' | 'array' | 'pack'>;
type TypeObject = ReturnType<KoffiModule['struct']>;

export interface XenLayouts {
  /** struct xen_domctl_createdomain (domctl interface 0x15). */
  readonly createdomain: TypeObject;
  /** xc_domaininfo_t = struct xen_domctl_getdomaininfo. */
  readonly domaininfo: TypeObject;
  /** xc_physinfo_t = struct xen_sysctl_physinfo. */
  readonly physinfo: TypeObject;
  /** xc_error. */
  readonly xcError: TypeObject;
  /** struct e820entry (packed, 20 bytes): what xc_domain_set_memory_map takes. */
  readonly e820entry: TypeObject;
  /** struct xc_hvm_firmware_module: one of xc_dom_image's acpi_modules. */
  readonly firmwareModule: TypeObject;
}

const cache = new WeakMap<object, XenLayouts>();

/** Defines (once per koffi instance) the struct types; koffi names are global, hence the cache. */
export function xenLayouts(koffi: KoffiModule): XenLayouts {
  const hit = cache.get(koffi);
  if (hit) return hit;
  const arch = koffi.struct('tsx_xen_arch_domainconfig', {
    emulation_flags: 'uint32_t',
    misc_flags: 'uint32_t',
  });
  const createdomain = koffi.struct('tsx_xen_domctl_createdomain', {
    ssidref: 'uint32_t',
    handle: koffi.array('uint8_t', 16, 'Array'),
    flags: 'uint32_t',
    iommu_opts: 'uint32_t',
    max_vcpus: 'uint32_t',
    max_evtchn_port: 'uint32_t',
    max_grant_frames: 'int32_t',
    max_maptrack_frames: 'int32_t',
    grant_opts: 'uint32_t',
    vmtrace_size: 'uint32_t',
    cpupool_id: 'uint32_t',
    arch,
  });
  const domaininfo = koffi.struct('tsx_xen_domctl_getdomaininfo', {
    domain: 'uint16_t',
    pad1: 'uint16_t',
    flags: 'uint32_t',
    tot_pages: 'uint64_t',
    max_pages: 'uint64_t',
    outstanding_pages: 'uint64_t',
    shr_pages: 'uint64_t',
    paged_pages: 'uint64_t',
    shared_info_frame: 'uint64_t',
    cpu_time: 'uint64_t',
    nr_online_vcpus: 'uint32_t',
    max_vcpu_id: 'uint32_t',
    ssidref: 'uint32_t',
    handle: koffi.array('uint8_t', 16, 'Array'),
    cpupool: 'uint32_t',
    gpaddr_bits: 'uint8_t',
    pad2: koffi.array('uint8_t', 7, 'Array'),
    arch_config: arch,
  });
  const physinfo = koffi.struct('tsx_xen_sysctl_physinfo', {
    threads_per_core: 'uint32_t',
    cores_per_socket: 'uint32_t',
    nr_cpus: 'uint32_t',
    max_cpu_id: 'uint32_t',
    nr_nodes: 'uint32_t',
    max_node_id: 'uint32_t',
    cpu_khz: 'uint32_t',
    capabilities: 'uint32_t',
    arch_capabilities: 'uint32_t',
    pad: 'uint32_t',
    total_pages: 'uint64_t',
    free_pages: 'uint64_t',
    scrub_pages: 'uint64_t',
    outstanding_pages: 'uint64_t',
    max_mfn: 'uint64_t',
    hw_cap: koffi.array('uint32_t', 8, 'Array'),
  });
  const xcError = koffi.struct('tsx_xc_error', {
    code: 'int32_t',
    message: koffi.array('char', 1024, 'String'),
  });
  const e820entry = koffi.pack('tsx_e820entry', {
    addr: 'uint64_t',
    size: 'uint64_t',
    type: 'uint32_t',
  });
  const firmwareModule = koffi.struct('tsx_xc_hvm_firmware_module', {
    data: 'void *',
    length: 'uint32_t',
    guest_addr_out: 'uint64_t',
  });
  const layouts = { createdomain, domaininfo, physinfo, xcError, e820entry, firmwareModule };
  cache.set(koffi, layouts);
  return layouts;
}

/**
 * The fields of struct xc_dom_image the build touches. The struct is large, arch-dependent and
 * allocated by libxenguest, so it stays opaque; these offsets are read and written directly.
 */
export const XC_DOM_IMAGE_FIELDS = {
  guest_type: { offset: 208, type: 'void *' },
  console_pfn: { offset: 384, type: 'uint64_t' },
  xenstore_pfn: { offset: 392, type: 'uint64_t' },
  pv_p2m: { offset: 480, type: 'void *' },
  total_pages: { offset: 504, type: 'uint64_t' },
  flags: { offset: 560, type: 'uint64_t' },
  console_evtchn: { offset: 568, type: 'uint32_t' },
  xenstore_evtchn: { offset: 572, type: 'uint32_t' },
  console_domid: { offset: 576, type: 'uint32_t' },
  xenstore_domid: { offset: 580, type: 'uint32_t' },
  claim_enabled: { offset: 604, type: 'int32_t' },
  container_type: { offset: 1712, type: 'int32_t' },
  max_vcpus: { offset: 1944, type: 'uint32_t' },
  // HVM containers (PVH): libxl__build_hvm's memory layout and the ACPI tables.
  target_pages: { offset: 1720, type: 'uint64_t' },
  mmio_start: { offset: 1728, type: 'uint64_t' },
  mmio_size: { offset: 1736, type: 'uint64_t' },
  lowmem_end: { offset: 1744, type: 'uint64_t' },
  highmem_end: { offset: 1752, type: 'uint64_t' },
  vga_hole_size: { offset: 1760, type: 'uint64_t' },
  device_model: { offset: 1768, type: 'bool' },
  acpi_modules: { offset: 1800, type: 'xc_hvm_firmware_module[4]' },
  e820: { offset: 1920, type: 'void *' },
  e820_entries: { offset: 1928, type: 'uint32_t' },
} as const;

export type XcDomImageField = keyof typeof XC_DOM_IMAGE_FIELDS;

/** Flag bits and constants from the 4.17 headers (checked by the layout test too). */
export const XEN = {
  CDF_hvm: 1 << 0,
  CDF_hap: 1 << 1,
  CDF_iommu: 1 << 5,
  DOMINF_dying: 1 << 0,
  DOMINF_hvm_guest: 1 << 1,
  DOMINF_shutdown: 1 << 2,
  DOMINF_paused: 1 << 3,
  DOMINF_blocked: 1 << 4,
  DOMINF_running: 1 << 5,
  DOMINF_shutdownshift: 16,
  DOMINF_shutdownmask: 255,
  X86_EMU_LAPIC: 1 << 0,
  X86_EMU_ALL: 0x7ff,
  PHYSCAP_hvm: 1 << 0,
  PHYSCAP_pv: 1 << 1,
  PHYSCAP_hap: 1 << 3,
  PHYSCAP_gnttab_v1: 1 << 8,
  PHYSCAP_gnttab_v2: 1 << 9,
  XENVER_version: 0,
  XENVER_extraversion: 1,
  XC_DOM_PV_CONTAINER: 0,
  XC_DOM_HVM_CONTAINER: 1,
  MAX_ACPI_MODULES: 4,
  HVM_PARAM_STORE_PFN: 1,
  HVM_PARAM_TIMER_MODE: 10,
  HVM_PARAM_CONSOLE_PFN: 17,
  HVM_PARAM_ALTP2M: 35,
  HVMPTM_no_delay_for_missed_ticks: 1,
  XENFEAT_linux_rsdp_unrestricted: 15,
  X86_HVM_NR_SPECIAL_PAGES: 8,
  X86_HVM_END_SPECIAL_REGION: 0xff000,
  E820_RAM: 1,
  E820_RESERVED: 2,
  E820_ACPI: 3,
  E820MAX: 128,
  HVM_MAX_VCPUS: 128,
  /** Xen's TSC_MODE_DEFAULT (asm/time.h, not a public header: libxl passes a literal 0). */
  TSC_MODE_DEFAULT: 0,
  VCPUAFFINITY_HARD: 1 << 0,
  VCPUAFFINITY_SOFT: 1 << 1,
} as const;
