// The PV domain build through libxenguest, in libxl's order (libxl__build_pv + libxl__build_dom):
// allocate, kernel, ramdisk module, image fields, boot_xen_init, parse_image, mem_init,
// boot_mem_init, build_image, boot_image, gnttab_init; read back the store and console frames
// (machine frames for a PV guest, via the image's p2m, as libxl does); release.

import { TsxError } from '../../errors.js';
import type { BuildResult, BuildSpec } from '../types.js';
import { E_XEN_UNSUPPORTED } from '../errors.js';
import type { Xc } from './binding.js';
import { XC_DOM_IMAGE_FIELDS, XEN, type XcDomImageField } from './layouts.js';

/** Guest ABI named by the kernel's ELF notes → the `protocol` frontends are told (xend's native_protocol). */
const PROTOCOLS: Record<string, string> = {
  'xen-3.0-x86_64': 'x86_64-abi',
  'xen-3.0-x86_32p': 'x86_32-abi',
};

function setField(xc: Xc, dom: unknown, field: XcDomImageField, value: number | bigint): void {
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

/** Builds a PV guest into the (empty, paused) domain. */
export function buildPv(xc: Xc, domid: number, spec: BuildSpec): BuildResult {
  if (spec.type !== 'pv') {
    throw new TsxError(E_XEN_UNSUPPORTED, `building a ${spec.type} guest is not supported by the Xen binding yet (PV only)`, {
      details: { domid, type: spec.type },
    });
  }
  if (!spec.kernel) {
    throw new TsxError(E_XEN_UNSUPPORTED, `domain ${domid}: a PV build needs a kernel (bootloaders are not supported)`, { details: { domid } });
  }
  xc.koffi.errno(0);
  const dom = xc.raw('xc_dom_allocate', xc.handle, spec.cmdline ?? null, null);
  if (dom === null) throw xc.failure('xc_dom_allocate', domid);
  try {
    const step = (name: string, ...args: unknown[]): void => {
      xc.koffi.errno(0);
      const rc = xc.raw(name, dom, ...args) as number;
      if (rc !== 0) throw xc.failure(name, domid);
    };
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
  } finally {
    xc.raw('xc_dom_release', dom);
  }
}
