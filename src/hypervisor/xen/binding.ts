// The FFI binding to libxenctrl and libxenguest 4.17, through koffi. Nothing native is loaded
// until openXc() runs: koffi is imported dynamically there, so hosts without Xen never touch it.
// Every failed call becomes TSX_ERR_XEN_CALL_FAILED naming the call, the domain, errno and the
// libxc error text. Calls are synchronous (libxc has no async API); the heaviest is the build.

import { constants as osConstants } from 'node:os';
import type * as Koffi from 'koffi';
import { TsxError } from '../../errors.js';
import { E_XEN_CALL_FAILED, E_XEN_UNAVAILABLE } from '../errors.js';
import { xenLayouts, type XenLayouts } from './layouts.js';

type KoffiModule = typeof Koffi;
type Fn = (...args: unknown[]) => unknown;

export interface XenLibPaths {
  /** libxenctrl; default the Debian 12 soname. */
  readonly xenctrl?: string;
  /** libxenguest; default the Debian 12 soname. */
  readonly xenguest?: string;
  /** libxenlight, only read for libxl's PVH DSDT (dsdt_pvh); optional. */
  readonly xenlight?: string;
}

export const DEFAULT_LIBS: Required<XenLibPaths> = {
  xenctrl: 'libxenctrl.so.4.17',
  xenguest: 'libxenguest.so.4.17',
  xenlight: 'libxenlight.so.4.17',
};

const XENCTRL_PROTOTYPES = [
  'void *xc_interface_open(void *logger, void *dombuild_logger, unsigned int open_flags)',
  'int xc_interface_close(void *xch)',
  'void *xc_get_last_error(void *xch)',
  'void xc_clear_last_error(void *xch)',
  'int xc_domain_create(void *xch, _Out_ uint32_t *pdomid, void *config)',
  // xen_domain_handle_t is uint8_t[16]: a parameter of that type is a pointer to the 16 bytes.
  'int xc_domain_sethandle(void *xch, uint32_t domid, const uint8_t *handle)',
  'int xc_domain_max_vcpus(void *xch, uint32_t domid, unsigned int max)',
  'int xc_domain_setmaxmem(void *xch, uint32_t domid, uint64_t max_memkb)',
  'int xc_domain_set_memmap_limit(void *xch, uint32_t domid, unsigned long map_limitkb)',
  'int xc_domain_set_pod_target(void *xch, uint32_t domid, uint64_t target_pages, void *tot, void *cache, void *entries)',
  'int xc_evtchn_alloc_unbound(void *xch, uint32_t dom, uint32_t remote_dom)',
  'int xc_domain_pause(void *xch, uint32_t domid)',
  'int xc_domain_unpause(void *xch, uint32_t domid)',
  'int xc_domain_shutdown(void *xch, uint32_t domid, int reason)',
  'int xc_domain_destroy(void *xch, uint32_t domid)',
  'int xc_domain_getinfolist(void *xch, uint32_t first_domain, unsigned int max_domains, void *info)',
  'int xc_physinfo(void *xch, void *info)',
  'int xc_version(void *xch, int cmd, void *arg)',
  'int xc_hvm_param_set(void *xch, uint32_t dom, uint32_t param, uint64_t value)',
  'int xc_set_paging_mempool_size(void *xch, uint32_t domid, uint64_t size)',
  'int xc_domain_set_memory_map(void *xch, uint32_t domid, void *entries, uint32_t nr_entries)',
  'int xc_domain_set_tsc_info(void *xch, uint32_t domid, uint32_t tsc_mode, uint64_t elapsed_nsec, uint32_t gtsc_khz, uint32_t incarnation)',
  // xc_cpumap_t is uint8_t *; Xen writes the effective affinity back into the maps.
  'int xc_vcpu_setaffinity(void *xch, uint32_t domid, int vcpu, _Inout_ uint8_t *cpumap_hard_inout, _Inout_ uint8_t *cpumap_soft_inout, uint32_t flags)',
] as const;

const XENGUEST_PROTOTYPES = [
  'void *xc_dom_allocate(void *xch, const char *cmdline, const char *features)',
  'void xc_dom_release(void *dom)',
  'int xc_dom_kernel_file(void *dom, const char *filename)',
  'int xc_dom_module_file(void *dom, const char *filename, const char *cmdline)',
  'int xc_dom_boot_xen_init(void *dom, void *xch, uint32_t domid)',
  'int xc_dom_parse_image(void *dom)',
  'int xc_dom_mem_init(void *dom, unsigned int mem_mb)',
  'int xc_dom_boot_mem_init(void *dom)',
  'int xc_dom_build_image(void *dom)',
  'int xc_dom_boot_image(void *dom)',
  'int xc_dom_gnttab_init(void *dom)',
  'const char *xc_dom_guest_os(void *dom)',
  'bool xc_dom_feature_get(void *dom, unsigned int nr)',
  // struct xc_xend_cpuid and struct xc_msr stay opaque: libxl passes NULL for a default guest.
  // Lives in libxenguest (xg_resume.c) though xenctrl.h declares it. fast=1: the guest's suspend
  // hypercall returns 1, "cancelled", and it carries on with its devices as they were.
  'int xc_domain_resume(void *xch, uint32_t domid, int fast)',
  'int xc_cpuid_apply_policy(void *xch, uint32_t domid, bool restore, const uint32_t *featureset, unsigned int nr_features, bool pae, bool itsc, bool nested_virt, const void *xend, const void *msr)',
] as const;

/** Name of a C function from its prototype string. */
function nameOf(proto: string): string {
  const m = /([A-Za-z_0-9]+)\(/.exec(proto);
  if (!m?.[1]) throw new Error(`bad prototype ${proto}`);
  return m[1];
}

/** Every symbol the binding resolves (the recording fake must export all of them). */
export const BOUND_SYMBOLS: readonly string[] = [...XENCTRL_PROTOTYPES, ...XENGUEST_PROTOTYPES].map(nameOf);

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

export interface XcCallFailure {
  readonly call: string;
  readonly domid: number | undefined;
  readonly errno: number;
  readonly errnoName: string | undefined;
  readonly xcError: { code: number; message: string } | undefined;
}

/** An open libxc interface: the raw functions plus error capture. One per XenHypervisor. */
export class Xc {
  readonly layouts: XenLayouts;
  private xch: unknown;
  private dsdt: Buffer | null | undefined;

  private constructor(
    readonly koffi: KoffiModule,
    private readonly fns: Map<string, Fn>,
    xch: unknown,
    private readonly xenlightPath: string,
  ) {
    this.layouts = xenLayouts(koffi);
    this.xch = xch;
  }

  /** Loads koffi and both libraries, resolves every symbol and opens an interface. */
  static async open(paths: XenLibPaths = {}): Promise<Xc> {
    const libs = { ...DEFAULT_LIBS, ...paths };
    let koffi: KoffiModule;
    try {
      const mod = (await import('koffi')) as KoffiModule & { default?: KoffiModule };
      koffi = mod.default ?? mod;
    } catch (err) {
      throw new TsxError(E_XEN_UNAVAILABLE, 'the FFI package koffi cannot be loaded', { cause: err, details: { missing: 'koffi' } });
    }
    const fns = new Map<string, Fn>();
    for (const [path, protos] of [
      [libs.xenctrl, XENCTRL_PROTOTYPES],
      [libs.xenguest, XENGUEST_PROTOTYPES],
    ] as const) {
      let lib: ReturnType<KoffiModule['load']>;
      try {
        lib = koffi.load(path);
      } catch (err) {
        throw new TsxError(E_XEN_UNAVAILABLE, `cannot load ${path}: ${(err as Error).message}`, {
          cause: err,
          details: { missing: path, fix: 'apt install libxenmisc4.17 (Debian 12)' },
        });
      }
      for (const proto of protos) {
        try {
          fns.set(nameOf(proto), lib.func(proto) as Fn);
        } catch (err) {
          throw new TsxError(E_XEN_UNAVAILABLE, `${path} lacks ${nameOf(proto)} (not Xen 4.17?)`, {
            cause: err,
            details: { missing: nameOf(proto), library: path },
          });
        }
      }
    }
    const xc = new Xc(koffi, fns, null, libs.xenlight);
    const xch = xc.raw('xc_interface_open', null, null, 0);
    if (xch === null) {
      const errno = koffi.errno();
      throw new TsxError(E_XEN_UNAVAILABLE, `xc_interface_open failed: ${errnoNames.get(errno) ?? errno} (is this a Xen dom0, and are you root?)`, {
        details: { call: 'xc_interface_open', errno, errnoName: errnoNames.get(errno) },
      });
    }
    xc.xch = xch;
    return xc;
  }

  /**
   * libxl's PVH DSDT (the AML libxenlight exports as dsdt_pvh), read once; null when that
   * library or symbol is missing (the build then uses an AML-less DSDT).
   */
  pvhDsdt(): Buffer | null {
    if (this.dsdt !== undefined) return this.dsdt;
    try {
      const lib = this.koffi.load(this.xenlightPath);
      const len = this.koffi.decode(lib.symbol('dsdt_pvh_len', 'unsigned int'), 'unsigned int') as number;
      const bytes = this.koffi.decode(lib.symbol('dsdt_pvh', 'uint8_t'), this.koffi.array('uint8_t', len, 'Array')) as number[];
      this.dsdt = Buffer.from(bytes);
    } catch {
      this.dsdt = null;
    }
    return this.dsdt;
  }

  get handle(): unknown {
    if (this.xch === null) throw new TsxError(E_XEN_UNAVAILABLE, 'the libxc interface is closed');
    return this.xch;
  }

  /** Calls a bound function as is (no error check). */
  raw(name: string, ...args: unknown[]): unknown {
    const fn = this.fns.get(name);
    if (!fn) throw new Error(`unbound libxc function ${name}`);
    return fn(...args);
  }

  /** Calls an int-returning libxc function on the handle; rc < 0 throws the typed error. */
  call(name: string, domid: number | undefined, ...args: unknown[]): number {
    this.koffi.errno(0);
    const rc = this.raw(name, this.handle, ...args) as number;
    if (rc < 0) throw this.failure(name, domid);
    return rc;
  }

  /**
   * Calls a libxc function that answers 0 or -errno itself (xc_cpuid_apply_policy): its errno
   * may be unset, so the error takes -rc, as libxl's LOGEVD(-r) does.
   */
  callRc(name: string, domid: number | undefined, ...args: unknown[]): void {
    this.koffi.errno(0);
    const rc = this.raw(name, this.handle, ...args) as number;
    if (rc !== 0) throw this.failure(name, domid, rc < 0 ? -rc : this.koffi.errno());
  }

  /** Builds the typed error for the call that just failed (errno and xc_get_last_error). */
  failure(call: string, domid: number | undefined, errno: number = this.koffi.errno()): TsxError {
    const xcError = this.lastError();
    const f: XcCallFailure = { call, domid, errno, errnoName: errnoNames.get(errno), xcError };
    const on = domid === undefined ? '' : ` for domain ${domid}`;
    const why = [f.errnoName ?? (errno ? `errno ${errno}` : undefined), xcError?.message].filter(Boolean).join(': ');
    return new TsxError(E_XEN_CALL_FAILED, `${call}${on} failed${why ? `: ${why}` : ''}`, { details: { ...f } });
  }

  private lastError(): { code: number; message: string } | undefined {
    if (this.xch === null) return undefined;
    const p = this.raw('xc_get_last_error', this.xch);
    if (p === null) return undefined;
    const e = this.koffi.decode(p, this.layouts.xcError) as { code: number; message: string };
    this.raw('xc_clear_last_error', this.xch);
    return e.code === 0 ? undefined : { code: e.code, message: e.message };
  }

  close(): void {
    if (this.xch === null) return;
    const xch = this.xch;
    this.xch = null;
    this.raw('xc_interface_close', xch);
  }
}
