// Struct layouts are checked, not trusted: a C program compiled against Debian's Xen 4.17 headers
// prints every size and field offset; the binding's koffi layouts must agree with all of them.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import { BOUND_SYMBOLS } from '../../src/hypervisor/xen/binding.js';
import { XC_DOM_IMAGE_FIELDS, XEN, xenLayouts } from '../../src/hypervisor/xen/layouts.js';
import { headerLayouts, startXcFake, xcfakeUnavailable } from '../fixtures/xcfake/xcfake.js';

const why = xcfakeUnavailable();
if (why && process.env['CI'] === 'true') throw new Error(`xen layout check cannot run under CI: ${why}`);
const suite = why ? describe.skip : describe;
if (why) console.warn(`skipping the Xen layout check: ${why}`);

const FIELD_BYTES: Record<string, number> = { 'void *': 8, uint64_t: 8, uint32_t: 4, int32_t: 4, bool: 1, 'xc_hvm_firmware_module[4]': 4 * 24 };

suite('Xen 4.17 struct layouts (gcc vs koffi)', () => {
  const c = headerLayouts();
  const layouts = xenLayouts(koffi);

  for (const name of ['createdomain', 'domaininfo', 'physinfo', 'xcError', 'e820entry', 'firmwareModule'] as const) {
    it(`${name}: same size and every field at the same offset with the same size`, () => {
      const fromC = c.structs[name];
      expect(fromC, `layouts.c prints ${name}`).toBeDefined();
      const type = layouts[name];
      expect(koffi.sizeof(type)).toBe(fromC!.size);
      const members = Object.keys(koffi.type(type).members ?? {});
      // Every header field is in the binding, and nothing more.
      expect(members.sort()).toEqual(Object.keys(fromC!.fields).sort());
      for (const [field, [offset, size]] of Object.entries(fromC!.fields)) {
        expect(koffi.offsetof(type, field), `${name}.${field} offset`).toBe(offset);
        const member = koffi.type(type).members?.[field];
        expect(member?.type.size, `${name}.${field} size`).toBe(size);
      }
    });
  }

  it('the arch config nested in createdomain and domaininfo matches struct xen_arch_domainconfig', () => {
    const arch = koffi.type(layouts.createdomain).members?.['arch']?.type;
    expect(arch?.size).toBe(c.structs['arch']?.size);
    for (const [field, [offset]] of Object.entries(c.structs['arch']!.fields)) expect(koffi.offsetof(arch!, field)).toBe(offset);
  });

  it('every xc_dom_image field the build touches is at the header offset with the header size', () => {
    expect(Object.keys(XC_DOM_IMAGE_FIELDS).sort()).toEqual(Object.keys(c.xc_dom_image.fields).sort());
    for (const [field, spec] of Object.entries(XC_DOM_IMAGE_FIELDS)) {
      const [offset, size] = c.xc_dom_image.fields[field]!;
      expect(spec.offset, `xc_dom_image.${field} offset`).toBe(offset);
      expect(FIELD_BYTES[spec.type], `xc_dom_image.${field} size`).toBe(size);
    }
  });

  it('acpi_modules holds MAX_ACPI_MODULES struct xc_hvm_firmware_module', () => {
    expect(koffi.sizeof(layouts.firmwareModule) * XEN.MAX_ACPI_MODULES).toBe(c.xc_dom_image.fields['acpi_modules']![1]);
  });

  it('the flag bits and constants the binding uses are the header values', () => {
    const k = c.constants;
    expect(k['XEN_DOMCTL_INTERFACE_VERSION']).toBe(0x15);
    const pairs: [number, string][] = [
      [XEN.CDF_hvm, 'XEN_DOMCTL_CDF_hvm'],
      [XEN.CDF_hap, 'XEN_DOMCTL_CDF_hap'],
      [XEN.CDF_iommu, 'XEN_DOMCTL_CDF_iommu'],
      [XEN.DOMINF_dying, 'XEN_DOMINF_dying'],
      [XEN.DOMINF_hvm_guest, 'XEN_DOMINF_hvm_guest'],
      [XEN.DOMINF_shutdown, 'XEN_DOMINF_shutdown'],
      [XEN.DOMINF_paused, 'XEN_DOMINF_paused'],
      [XEN.DOMINF_blocked, 'XEN_DOMINF_blocked'],
      [XEN.DOMINF_running, 'XEN_DOMINF_running'],
      [XEN.DOMINF_shutdownshift, 'XEN_DOMINF_shutdownshift'],
      [XEN.DOMINF_shutdownmask, 'XEN_DOMINF_shutdownmask'],
      [XEN.X86_EMU_LAPIC, 'XEN_X86_EMU_LAPIC'],
      [XEN.X86_EMU_ALL, 'XEN_X86_EMU_ALL'],
      [XEN.PHYSCAP_hvm, 'XEN_SYSCTL_PHYSCAP_hvm'],
      [XEN.PHYSCAP_pv, 'XEN_SYSCTL_PHYSCAP_pv'],
      [XEN.PHYSCAP_hap, 'XEN_SYSCTL_PHYSCAP_hap'],
      [XEN.PHYSCAP_gnttab_v1, 'XEN_SYSCTL_PHYSCAP_gnttab_v1'],
      [XEN.PHYSCAP_gnttab_v2, 'XEN_SYSCTL_PHYSCAP_gnttab_v2'],
      [XEN.XENVER_version, 'XENVER_version'],
      [XEN.XENVER_extraversion, 'XENVER_extraversion'],
      [XEN.XC_DOM_PV_CONTAINER, 'XC_DOM_PV_CONTAINER'],
      [XEN.XC_DOM_HVM_CONTAINER, 'XC_DOM_HVM_CONTAINER'],
      [XEN.MAX_ACPI_MODULES, 'MAX_ACPI_MODULES'],
      [XEN.HVM_PARAM_STORE_PFN, 'HVM_PARAM_STORE_PFN'],
      [XEN.HVM_PARAM_TIMER_MODE, 'HVM_PARAM_TIMER_MODE'],
      [XEN.HVM_PARAM_CONSOLE_PFN, 'HVM_PARAM_CONSOLE_PFN'],
      [XEN.HVM_PARAM_ALTP2M, 'HVM_PARAM_ALTP2M'],
      [XEN.HVMPTM_no_delay_for_missed_ticks, 'HVMPTM_no_delay_for_missed_ticks'],
      [XEN.XENFEAT_linux_rsdp_unrestricted, 'XENFEAT_linux_rsdp_unrestricted'],
      [XEN.X86_HVM_NR_SPECIAL_PAGES, 'X86_HVM_NR_SPECIAL_PAGES'],
      [XEN.X86_HVM_END_SPECIAL_REGION, 'X86_HVM_END_SPECIAL_REGION'],
      [XEN.E820_RAM, 'E820_RAM'],
      [XEN.E820_RESERVED, 'E820_RESERVED'],
      [XEN.E820_ACPI, 'E820_ACPI'],
      [XEN.E820MAX, 'E820MAX'],
      [XEN.HVM_MAX_VCPUS, 'HVM_MAX_VCPUS'],
      [XEN.VCPUAFFINITY_HARD, 'XEN_VCPUAFFINITY_HARD'],
      [XEN.VCPUAFFINITY_SOFT, 'XEN_VCPUAFFINITY_SOFT'],
    ];
    for (const [ours, name] of pairs) expect(ours, name).toBe(k[name]);
    expect(['SHUTDOWN_poweroff', 'SHUTDOWN_reboot', 'SHUTDOWN_suspend', 'SHUTDOWN_crash', 'SHUTDOWN_watchdog', 'SHUTDOWN_soft_reset'].map((n) => k[n])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("every symbol the binding binds is exported by Debian's libxenctrl/libxenguest 4.17 and by the fake", () => {
    const exported = (path: string): Set<string> =>
      new Set(
        execFileSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8' })
          .split('\n')
          .map((l) => l.trim().split(/\s+/)[2])
          .filter((s): s is string => Boolean(s))
          .map((s) => s.replace(/@.*$/, '')),
      );
    const real = ['/usr/lib/x86_64-linux-gnu/libxenctrl.so.4.17', '/usr/lib/x86_64-linux-gnu/libxenguest.so.4.17'];
    if (real.every((p) => existsSync(p))) {
      const both = new Set([...exported(real[0]!), ...exported(real[1]!)]);
      expect(BOUND_SYMBOLS.filter((s) => !both.has(s))).toEqual([]);
    } else if (process.env['CI'] === 'true') {
      throw new Error('libxenmisc4.17 is not installed under CI');
    }
    const fake = exported(startXcFake().path);
    expect(BOUND_SYMBOLS.filter((s) => !fake.has(s))).toEqual([]);
    // libxl's PVH DSDT, read from libxenlight when present (the fake stands in for it).
    for (const s of ['dsdt_pvh', 'dsdt_pvh_len']) expect(fake.has(s), s).toBe(true);
    const xenlight = '/usr/lib/x86_64-linux-gnu/libxenlight.so.4.17';
    if (existsSync(xenlight)) for (const s of ['dsdt_pvh', 'dsdt_pvh_len']) expect(exported(xenlight).has(s), s).toBe(true);
  });
});
