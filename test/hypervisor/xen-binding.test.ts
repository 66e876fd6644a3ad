// The binding against the recording fake (test/fixtures/xcfake): a PV or PVH create calls libxc
// and libxenguest in libxl's order with the right arguments; every failure at every step becomes
// a typed error naming the call and the domain, and the create's undo leaves the fake with no domain.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isError, TsxError } from '../../src/errors.js';
import { E_HV_INVALID } from '../../src/hypervisor/errors.js';
import type { BuildResult, GuestType, Hypervisor } from '../../src/hypervisor/types.js';
import { XenHypervisor } from '../../src/hypervisor/xen/index.js';
import { startXcFake, xcfakeUnavailable, type XcFake } from '../fixtures/xcfake/xcfake.js';

const why = xcfakeUnavailable();
if (why && process.env['CI'] === 'true') throw new Error(`the xcfake suite cannot run under CI: ${why}`);
const suite = why ? describe.skip : describe;
if (why) console.warn(`skipping the Xen binding suite: ${why}`);

const UUID = '6f3c2a1e-9b7d-4c55-8e21-0a1b2c3d4e5f';
const files = mkdtempSync(join(tmpdir(), 'xenbind-'));
const KERNEL = join(files, 'vmlinuz');
const RAMDISK = join(files, 'initrd.img');
writeFileSync(KERNEL, 'kernel');
writeFileSync(RAMDISK, 'ramdisk');

/** The lifecycle's create pipeline, step for step (issue 5's order), with destroy on failure. */
async function createGuest(hv: Hypervisor, type: GuestType = 'pv', cpus?: string | string[]): Promise<{ domid: number; store: number; console: number; build: BuildResult }> {
  const domid = await hv.createDomain({ uuid: UUID, type, maxVcpus: 2 });
  try {
    await hv.setMaxVcpus(domid, 2);
    if (cpus !== undefined) await hv.setVcpuAffinity?.(domid, 2, cpus);
    await hv.setMaxMemory(domid, 524288);
    await hv.setMemoryTarget(domid, 262144);
    const store = await hv.allocUnboundEvtchn(domid, 0);
    const console = await hv.allocUnboundEvtchn(domid, 0);
    const build = await hv.build(domid, {
      type,
      kernel: KERNEL,
      ramdisk: RAMDISK,
      cmdline: 'root=/dev/xvda1 console=hvc0',
      memoryKiB: 262144,
      maxMemoryKiB: 524288,
      vcpus: 2,
      storeEvtchn: store,
      consoleEvtchn: console,
    });
    await hv.unpause(domid);
    return { domid, store, console, build };
  } catch (err) {
    await hv.destroy(domid);
    throw err;
  }
}

const createPv = (hv: Hypervisor) => createGuest(hv, 'pv');

// libxl 4.17's PV create: libxl__build_pre (max vcpus, max memory, the two event channels, then
// libxl__arch_domain_create: memmap limit, TSC mode; then libxl__cpuid_legacy), then
// libxl__build_pv with libxl__build_dom.
const CREATE_ORDER = [
  'xc_physinfo',
  'xc_domain_create',
  'xc_domain_max_vcpus',
  'xc_domain_setmaxmem',
  'xc_evtchn_alloc_unbound',
  'xc_evtchn_alloc_unbound',
  'xc_domain_set_memmap_limit',
  'xc_domain_set_tsc_info',
  'xc_cpuid_apply_policy',
  'xc_dom_allocate',
  'xc_dom_kernel_file',
  'xc_dom_module_file',
  'xc_dom_boot_xen_init',
  'xc_dom_parse_image',
  'xc_dom_mem_init',
  'xc_dom_boot_mem_init',
  'xc_dom_build_image',
  'xc_dom_boot_image',
  'xc_dom_gnttab_init',
  'xc_dom_release',
  'xc_domain_unpause',
];

// libxl 4.17's PVH create: libxl__build_pre (its arch part: hvm_set_conf_params, TSC mode and
// the paging pool, no memmap limit; then the CPUID policy), then libxl__build_hvm with
// libxl__build_dom and the ACPI/e820 step.
const PVH_ORDER = [
  'xc_physinfo',
  'xc_domain_create',
  'xc_domain_max_vcpus',
  'xc_domain_setmaxmem',
  'xc_evtchn_alloc_unbound',
  'xc_evtchn_alloc_unbound',
  'xc_hvm_param_set',
  'xc_hvm_param_set',
  'xc_domain_set_tsc_info',
  'xc_set_paging_mempool_size',
  'xc_cpuid_apply_policy',
  'xc_dom_allocate',
  'xc_dom_kernel_file',
  'xc_dom_module_file',
  'xc_dom_boot_xen_init',
  'xc_dom_parse_image',
  'xc_dom_mem_init',
  'xc_dom_boot_mem_init',
  'xc_domain_getinfolist',
  'xc_dom_guest_os',
  'xc_dom_feature_get',
  'xc_domain_set_memory_map',
  'xc_dom_build_image',
  'xc_dom_boot_image',
  'xc_dom_gnttab_init',
  'xc_dom_release',
  'xc_domain_unpause',
];

/** With xl's cpus= (a string): libxl__build_pre pins every vcpu (hard) after max_vcpus, before setmaxmem. */
const withAffinity = (order: readonly string[]): string[] => {
  const at = order.indexOf('xc_domain_max_vcpus') + 1;
  return [...order.slice(0, at), 'xc_vcpu_setaffinity', 'xc_vcpu_setaffinity', ...order.slice(at)];
};

/** libxl__arch_domain_create for tsc_mode "default": mode 0, and no elapsed time, frequency or incarnation. */
const DEFAULT_TSC = (domid: number) => ({ domid, tsc_mode: 0, elapsed_nsec: 0, gtsc_khz: 0, incarnation: 0 });
/** libxl__cpuid_legacy for a new PV or PVH guest with no cpuid=, nested_hvm, tsc_mode or disable_migrate. */
const DEFAULT_CPUID = (domid: number) => ({ domid, restore: false, featureset: null, nr_features: 0, pae: true, itsc: false, nested_virt: false, xend: null, msr: null });

/** Calls that cannot fail (void, or answers libxl does not check). */
const CANNOT_FAIL = new Set(['xc_dom_release', 'xc_dom_guest_os', 'xc_dom_feature_get']);

suite('XenHypervisor over the recording fake', () => {
  let fake: XcFake;
  let hv: XenHypervisor;
  beforeEach(async () => {
    fake ??= startXcFake();
    await hv?.close();
    fake.reset();
    hv = new XenHypervisor({ libs: fake.libs, pollIntervalMs: 0 });
    await hv.open();
    fake.reset();
  });
  afterAll(async () => {
    await hv?.close();
    fake?.cleanup();
  });

  it('creates a PV domain calling libxc and libxenguest in libxl order with the right arguments', async () => {
    const r = await createPv(hv);
    const calls = fake.calls();
    expect(calls.map((c) => c.call)).toEqual(CREATE_ORDER);
    const at = (name: string, i = 0) => calls.filter((c) => c.call === name)[i]!;
    expect(at('xc_domain_create')).toMatchObject({
      handle: UUID, // the UUID's 16 bytes, in order
      ssidref: 0,
      flags: 0, // PV: no CDF_hvm/hap
      max_vcpus: 2,
      max_evtchn_port: 1023,
      max_grant_frames: -1,
      max_maptrack_frames: -1,
      grant_opts: 2,
      emulation_flags: 0,
    });
    expect(at('xc_domain_max_vcpus')).toMatchObject({ domid: r.domid, max: 2 });
    expect(at('xc_domain_setmaxmem')).toMatchObject({ domid: r.domid, max_memkb: 524288 });
    expect(at('xc_domain_set_memmap_limit')).toMatchObject({ domid: r.domid, map_limitkb: 524288 });
    expect(at('xc_evtchn_alloc_unbound', 0)).toMatchObject({ domid: r.domid, remote_dom: 0 });
    expect(at('xc_domain_set_tsc_info')).toMatchObject(DEFAULT_TSC(r.domid));
    expect(at('xc_cpuid_apply_policy')).toMatchObject(DEFAULT_CPUID(r.domid));
    expect(at('xc_dom_allocate')).toMatchObject({ cmdline: 'root=/dev/xvda1 console=hvc0', features: null });
    expect(at('xc_dom_kernel_file')).toMatchObject({ filename: KERNEL });
    expect(at('xc_dom_module_file')).toMatchObject({ filename: RAMDISK, cmdline: null });
    // The image fields were set before boot_xen_init, with the two ports just allocated.
    expect(at('xc_dom_boot_xen_init')).toMatchObject({
      domid: r.domid,
      same_xch: true,
      container_type: 0,
      flags: 0,
      xenstore_evtchn: r.store,
      xenstore_domid: 0,
      console_evtchn: r.console,
      console_domid: 0,
      max_vcpus: 2,
      modules: 1,
    });
    expect(r.store).toBe(1);
    expect(r.console).toBe(2);
    expect(at('xc_dom_mem_init')).toMatchObject({ mem_mb: 256 }); // the target, in MiB
    // The frames handed to INTRODUCE are machine frames, translated through the image's p2m.
    expect(r.build).toEqual({ storeGfn: 0x100000n + 0x801n, consoleGfn: 0x100000n + 0x802n, protocol: 'x86_64-abi' });
    const info = await hv.getInfo(r.domid);
    expect(info).toMatchObject({ domid: r.domid, uuid: UUID, paused: false, dying: false, shutdown: false, memoryKiB: 262144, maxMemoryKiB: 524288, onlineVcpus: 2 });
  });

  it('destroy pauses then destroys, then answers once the domain is gone from the list', async () => {
    const { domid } = await createPv(hv);
    expect((await hv.list()).map((d) => [d.domid, d.uuid])).toEqual([[domid, UUID]]);
    const before = fake.calls().length;
    await hv.destroy(domid);
    expect(fake.calls().slice(before).map((c) => [c.call, c['domid']])).toEqual([
      ['xc_domain_pause', domid],
      ['xc_domain_destroy', domid],
      // It looks: a dying domain is waited for (the fake releases it at once).
      ['xc_domain_getinfolist', undefined],
    ]);
    expect(await hv.list()).toEqual([]);
    expect(fake.domainCount()).toBe(0);
    await hv.destroy(domid); // already gone: not an error (xend's destroy never throws)
  });

  it('pause, unpause and shutdown with a reason reach Xen and show in getInfo', async () => {
    const { domid } = await createPv(hv);
    await hv.pause(domid);
    expect((await hv.getInfo(domid))?.paused).toBe(true);
    await hv.unpause(domid);
    await hv.shutdown(domid, 'reboot');
    expect(fake.calls().find((c) => c.call === 'xc_domain_shutdown')).toMatchObject({ domid, reason: 1 });
    expect(await hv.getInfo(domid)).toMatchObject({ shutdown: true, shutdownReason: 'reboot', crashed: false });
    await hv.shutdown(domid, 'crash');
    expect(await hv.getInfo(domid)).toMatchObject({ shutdown: true, shutdownReason: 'crash', crashed: true });
  });

  it('memory target after the build sets the PoD target in pages for an HVM container, as libxl does, and leaves a PV guest to its balloon driver', async () => {
    const pvh = await createGuest(hv, 'pvh');
    await hv.setMemoryTarget(pvh.domid, 131072);
    expect(fake.calls().at(-1)).toMatchObject({ call: 'xc_domain_set_pod_target', domid: pvh.domid, target_pages: 32768 });
    const { domid } = await createPv(hv);
    const before = fake.calls().length;
    await hv.setMemoryTarget(domid, 131072); // Xen answers EINVAL to a PV PoD target
    expect(fake.calls().slice(before).map((c) => c.call)).not.toContain('xc_domain_set_pod_target');
  });

  it('after the build, and for domains found at start, memory changes are runtime ones', async () => {
    const { domid } = await createPv(hv);
    const before = fake.calls().length;
    await hv.setMaxMemory(domid, 1048576); // mem-set past the old maximum: no new memory map
    expect(fake.calls().slice(before).map((c) => c.call)).toEqual(['xc_domain_setmaxmem']);
    // A second instance (a restarted daemon) adopts the domain and can still set its target.
    const pvh = await createGuest(hv, 'pvh');
    const adopted = new XenHypervisor({ libs: fake.libs, pollIntervalMs: 0 });
    await adopted.getInfo(pvh.domid); // learns it is an HVM container (XEN_DOMINF_hvm_guest)
    await adopted.setMemoryTarget(pvh.domid, 65536);
    expect(fake.calls().at(-1)).toMatchObject({ call: 'xc_domain_set_pod_target', domid: pvh.domid, target_pages: 16384 });
    const n = fake.calls().length;
    await adopted.setMemoryTarget(domid, 65536);
    expect(fake.calls().slice(n).map((c) => c.call)).not.toContain('xc_domain_set_pod_target');
    await adopted.close();
  });

  it('setHandle gives a domain (a prepared shell) its guest uuid through xc_domain_sethandle; failures are typed', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'pv', maxVcpus: 1 });
    const guest = '0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e';
    const before = fake.calls().length;
    await hv.setHandle(domid, guest);
    expect(fake.calls().slice(before)).toEqual([expect.objectContaining({ call: 'xc_domain_sethandle', domid, handle: guest, failed: false })]);
    expect((await hv.getInfo(domid))?.uuid).toBe(guest);
    const n = fake.calls().length;
    expect(isError(await hv.setHandle(domid, 'not-a-uuid').catch((e: unknown) => e), E_HV_INVALID)).toBe(true);
    expect(fake.calls().length).toBe(n); // refused before Xen is asked
    const err = await hv.setHandle(domid + 7, guest).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_CALL_FAILED', details: { call: 'xc_domain_sethandle', domid: domid + 7, errnoName: 'ESRCH' } });
    await hv.destroy(domid);
  });

  it('a PVH shell a restarted daemon adopted builds with the max vcpus Xen gave it, not the vcpus it starts with', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'pvh', maxVcpus: 2 });
    await hv.setMaxVcpus(domid, 2);
    await hv.setMaxMemory(domid, 524288);
    const adopted = new XenHypervisor({ libs: fake.libs, pollIntervalMs: 0 });
    try {
      await adopted.list();
      const store = await adopted.allocUnboundEvtchn(domid, 0);
      const console = await adopted.allocUnboundEvtchn(domid, 0);
      await adopted.build(domid, { type: 'pvh', kernel: KERNEL, memoryKiB: 262144, maxMemoryKiB: 524288, vcpus: 1, storeEvtchn: store, consoleEvtchn: console });
      expect(fake.calls().find((c) => c.call === 'xc_dom_boot_xen_init')).toMatchObject({ domid, max_vcpus: 2 });
    } finally {
      await adopted.close();
      await hv.destroy(domid);
    }
  });

  it('hostInfo reads physinfo and the version', async () => {
    expect(await hv.hostInfo()).toEqual({ hypervisor: 'xen', version: '4.17.3-xcfake', nrCpus: 2, totalMemoryKiB: 4194304, freeMemoryKiB: 3145728 });
  });

  it('onStateChange reports created, changed and destroyed', async () => {
    const seen: string[] = [];
    const off = hv.onStateChange((c) => seen.push(c.type === 'destroyed' ? `destroyed ${c.domid}` : `${c.type} ${c.info.domid} ${c.info.paused ? 'paused' : 'unpaused'}`));
    const { domid } = await createPv(hv);
    await hv.destroy(domid);
    off();
    expect(seen).toEqual([`created ${domid} paused`, `changed ${domid} unpaused`, `destroyed ${domid}`]);
  });

  it('creates a PVH domain as libxl 4.17 does: flags, params, paging pool, memory layout, ACPI, e820, guest frames', async () => {
    const r = await createGuest(hv, 'pvh');
    const calls = fake.calls();
    expect(calls.map((c) => c.call)).toEqual(PVH_ORDER);
    const at = (name: string, i = 0) => calls.filter((c) => c.call === name)[i]!;
    // CDF_hvm | CDF_hap (the fake's host has HAP), no IOMMU; only the local APIC emulated.
    expect(at('xc_domain_create')).toMatchObject({ handle: UUID, flags: 3, iommu_opts: 0, max_vcpus: 2, emulation_flags: 1, misc_flags: 0 });
    expect(at('xc_domain_setmaxmem')).toMatchObject({ domid: r.domid, max_memkb: 524288 });
    // hvm_set_conf_params for PVH: timer mode no_delay_for_missed_ticks, altp2m off.
    expect(at('xc_hvm_param_set', 0)).toMatchObject({ domid: r.domid, param: 10, value: 1 });
    expect(at('xc_hvm_param_set', 1)).toMatchObject({ domid: r.domid, param: 35, value: 0 });
    expect(at('xc_domain_set_tsc_info')).toMatchObject(DEFAULT_TSC(r.domid));
    expect(at('xc_cpuid_apply_policy')).toMatchObject(DEFAULT_CPUID(r.domid));
    // libxl__get_required_paging_memory: 4 * (256 * 2 vcpus + 512 MiB) KiB, in bytes.
    expect(at('xc_set_paging_mempool_size')).toMatchObject({ domid: r.domid, size: 4096 * 1024 });
    expect(at('xc_dom_allocate')).toMatchObject({ cmdline: 'root=/dev/xvda1 console=hvc0', features: null });
    expect(at('xc_dom_kernel_file')).toMatchObject({ filename: KERNEL });
    expect(at('xc_dom_module_file')).toMatchObject({ filename: RAMDISK, cmdline: null });
    expect(at('xc_dom_boot_xen_init')).toMatchObject({
      domid: r.domid,
      container_type: 1, // XC_DOM_HVM_CONTAINER
      target_pages: 65536, // 256 MiB
      mmio_start: 0xfc000000, // below the ACPI info page
      mmio_size: 0x4000000,
      lowmem_end: 512 * 1024 * 1024,
      highmem_end: 0,
      vga_hole_size: 0,
      device_model: false,
      max_vcpus: 2,
      xenstore_evtchn: r.store,
      console_evtchn: r.console,
      xenstore_domid: 0,
      console_domid: 0,
      claim_enabled: 0,
      modules: 1,
    });
    expect(at('xc_dom_mem_init')).toMatchObject({ mem_mb: 512 }); // the maximum: the rest of target is PoD
    expect(at('xc_dom_feature_get')).toMatchObject({ nr: 15 }); // XENFEAT_linux_rsdp_unrestricted
    const modules = [
      // A Linux kernel without rsdp_unrestricted: the RSDP in the last 64 bytes below 1 MiB.
      { length: 64, addr: 0x100000 - 64, sum: 0, sig: 'RSD PTR ' },
      { length: 4096, addr: 0xfc000000 }, // acpi_info
      // Every table but the FACS (which has no checksum) sums to 0: the page sums to the FACS's bytes.
      { length: 4096, addr: 0xfc001000, sum: (0x46 + 0x41 + 0x43 + 0x53 + 64 + 1) & 0xff, sig: 'FACS@...' },
    ];
    expect(at('xc_dom_build_image')['acpi_modules']).toMatchObject(modules);
    const e820 = [
      [0, 512 * 1024 * 1024, 1],
      [0xfeff8000, 0x8000, 2], // the HVM special pages
      [0xff000, 0x1000, 3],
      [0xfc000000, 0x1000, 3],
      [0xfc001000, 0x1000, 3],
    ];
    expect(at('xc_domain_set_memory_map')).toMatchObject({ domid: r.domid, nr_entries: 5, entries: e820 });
    expect(at('xc_dom_build_image')['e820']).toEqual(e820); // the image carries the same map (start info)
    // Guest frames of the special pages, no p2m translation; no PV ABI to report.
    expect(r.build).toEqual({ storeGfn: 0xfeffcn, consoleGfn: 0xfefffn });
    expect(await hv.getInfo(r.domid)).toMatchObject({ domid: r.domid, paused: false, memoryKiB: 262144, maxMemoryKiB: 524288 });
  });

  it('a PVH guest above the 4 GiB MMIO hole gets high memory in its layout and e820', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'pvh', maxVcpus: 1 });
    await hv.setMaxVcpus(domid, 1);
    await hv.build(domid, { type: 'pvh', kernel: KERNEL, memoryKiB: 4096 * 1024, maxMemoryKiB: 8192 * 1024, vcpus: 1, storeEvtchn: 1, consoleEvtchn: 2 });
    const calls = fake.calls();
    const lowEnd = 0xfc000000;
    const highEnd = 2 ** 32 + (8 * 2 ** 30 - lowEnd);
    expect(calls.find((c) => c.call === 'xc_dom_boot_xen_init')).toMatchObject({ lowmem_end: lowEnd, highmem_end: highEnd, target_pages: 1048576, modules: 0 });
    expect(calls.find((c) => c.call === 'xc_set_paging_mempool_size')).toMatchObject({ size: 4 * (256 + 8192) * 1024 });
    const map = calls.find((c) => c.call === 'xc_domain_set_memory_map')!['entries'] as number[][];
    expect(map[0]).toEqual([0, lowEnd, 1]);
    expect(map.at(-1)).toEqual([2 ** 32, highEnd - 2 ** 32, 1]);
    await hv.destroy(domid);
  });

  it('an HVM guest is refused with a typed error naming the type, before any native build call', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'hvm', maxVcpus: 1 });
    expect(fake.calls().find((c) => c.call === 'xc_domain_create')).toMatchObject({ flags: 3, emulation_flags: 0x7ff });
    const before = fake.calls().length;
    const err = (await hv.build(domid, { type: 'hvm', kernel: KERNEL, memoryKiB: 1024, maxMemoryKiB: 1024, vcpus: 1, storeEvtchn: 1, consoleEvtchn: 2 }).catch((e: unknown) => e)) as TsxError;
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_UNSUPPORTED', details: { domid, type: 'hvm' } });
    expect(err.message).toContain('hvm guest is not supported');
    expect(fake.calls().length).toBe(before);
  });

  it('a PVH guest without a kernel is refused (bootloaders are not supported)', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'pvh', maxVcpus: 1 });
    const before = fake.calls().length;
    const err = await hv.build(domid, { type: 'pvh', memoryKiB: 1024, maxMemoryKiB: 1024, vcpus: 1, storeEvtchn: 1, consoleEvtchn: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_UNSUPPORTED', details: { domid, type: 'pvh' } });
    expect(fake.calls().length).toBe(before);
  });

  for (const type of ['pv', 'pvh'] as const) {
    it(`${type}: cpus= pins every vcpu (hard affinity) between max vcpus and max memory, as libxl does`, async () => {
      const r = await createGuest(hv, type, '0-3,^0');
      const calls = fake.calls();
      expect(calls.map((c) => c.call)).toEqual(withAffinity(type === 'pv' ? CREATE_ORDER : PVH_ORDER));
      // The fake host has CPUs 0 and 1: a one-byte map (xc_get_cpumap_size); 2 and 3 fit in it
      // and are passed on, Xen keeps the online one. No soft map, flags XEN_VCPUAFFINITY_HARD.
      expect(calls.filter((c) => c.call === 'xc_vcpu_setaffinity')).toMatchObject([
        { domid: r.domid, vcpu: 0, hard: [1, 2, 3], soft: null, flags: 1 },
        { domid: r.domid, vcpu: 1, hard: [1, 2, 3], soft: null, flags: 1 },
      ]);
    });
  }

  it('cpus= as a list pins vcpu i to entry i (xl parse_vcpu_affinity): extras ignored, vcpus past the list unpinned', async () => {
    const pinned = async (cpus: string[]) => {
      fake.reset();
      const r = await createGuest(hv, 'pv', cpus);
      const calls = fake.calls().filter((c) => c.call === 'xc_vcpu_setaffinity');
      await hv.destroy(r.domid);
      return calls.map((c) => ({ vcpu: c['vcpu'], hard: c['hard'] }));
    };
    expect(await pinned(['1', '0-1'])).toEqual([
      { vcpu: 0, hard: [1] },
      { vcpu: 1, hard: [0, 1] },
    ]);
    expect(await pinned(['0', '1', '0'])).toEqual([
      { vcpu: 0, hard: [0] },
      { vcpu: 1, hard: [1] },
    ]);
    expect(await pinned(['1'])).toEqual([{ vcpu: 0, hard: [1] }]);
  });

  it('a bad entry anywhere in a cpus= list is refused before any vcpu is pinned, and leaves no domain', async () => {
    const err = (await createGuest(hv, 'pv', ['1', '2-x']).catch((e: unknown) => e)) as TsxError;
    expect(err).toMatchObject({ code: 'TSX_ERR_HV_INVALID', details: { cpus: '2-x' } });
    expect(fake.calls().some((c) => c.call === 'xc_vcpu_setaffinity')).toBe(false);
    expect(fake.domainCount()).toBe(0);
  });

  it('cpus= naming no CPU of the host is refused by Xen (EINVAL), and the create leaves no domain', async () => {
    const err = (await createGuest(hv, 'pv', '4-7').catch((e: unknown) => e)) as TsxError;
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_CALL_FAILED', details: { call: 'xc_vcpu_setaffinity', domid: 1, errnoName: 'EINVAL' } });
    expect(fake.calls().find((c) => c.call === 'xc_vcpu_setaffinity')).toMatchObject({ hard: [4, 5, 6, 7] });
    expect(fake.domainCount()).toBe(0);
  });

  it('cpus=nodes:N is refused by name before any affinity call (no NUMA topology in the binding)', async () => {
    const err = (await createGuest(hv, 'pv', 'nodes:0').catch((e: unknown) => e)) as TsxError;
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_UNSUPPORTED', details: { cpus: 'nodes:0' } });
    expect(fake.calls().some((c) => c.call === 'xc_vcpu_setaffinity')).toBe(false);
    expect(fake.domainCount()).toBe(0);
  });

  it('a missing kernel is reported as the xc_dom_kernel_file call failing, with errno and the xc error', async () => {
    const domid = await hv.createDomain({ uuid: UUID, type: 'pv', maxVcpus: 1 });
    const err = (await hv
      .build(domid, { type: 'pv', kernel: join(files, 'nope'), memoryKiB: 1024, maxMemoryKiB: 1024, vcpus: 1, storeEvtchn: 1, consoleEvtchn: 2 })
      .catch((e: unknown) => e)) as TsxError;
    expect(err).toBeInstanceOf(TsxError);
    expect(err.code).toBe('TSX_ERR_XEN_CALL_FAILED');
    expect(err.details).toMatchObject({ call: 'xc_dom_kernel_file', domid, errno: 2, errnoName: 'ENOENT', xcError: { code: 2 } });
    expect(err.message).toContain(`xc_dom_kernel_file for domain ${domid} failed: ENOENT`);
    // The image is released even when the build fails.
    expect(fake.calls().at(-1)?.call).toBe('xc_dom_release');
  });

  // Every counted call of a create, failed in turn: the error names that call, and the undo
  // (destroy) leaves the fake with no domain.
  // xc_cpuid_apply_policy's failure leaves errno 0 in the fake: ENOMEM comes from its -errno answer.
  const runs = [
    ['pv', 'pv', CREATE_ORDER, undefined],
    ['pvh', 'pvh', PVH_ORDER, undefined],
    ['pv with cpus=', 'pv', withAffinity(CREATE_ORDER), '1'],
    ['pvh with cpus=', 'pvh', withAffinity(PVH_ORDER), '1'],
  ] as const;
  for (const [label, type, order, cpus] of runs)
  for (let step = 1; step <= order.length; step++) {
    const call = order[step - 1]!;
    if (CANNOT_FAIL.has(call)) continue;
    // The runs with cpus= only add the affinity steps: the others are covered above.
    if (cpus !== undefined && call !== 'xc_vcpu_setaffinity') continue;
    it(`${label}: a failure at step ${step} (${call}) is typed and leaves no domain`, async () => {
      fake.reset({ failAt: step, errno: 12 });
      const err = (await createGuest(hv, type, cpus).catch((e: unknown) => e)) as TsxError;
      expect(err).toBeInstanceOf(TsxError);
      expect(err.code).toBe('TSX_ERR_XEN_CALL_FAILED');
      expect(err.details).toMatchObject({ call, errno: 12, errnoName: 'ENOMEM', xcError: { code: 1, message: `xcfake: injected failure in ${call}` } });
      if (call !== 'xc_physinfo' && call !== 'xc_domain_create') expect(err.details['domid']).toBe(1);
      expect(fake.domainCount()).toBe(0);
      expect(await hv.list()).toEqual([]);
    });
  }
});
