// Chooses the hypervisor tsxend runs on: the embedded simulation, real Xen, or `auto` (Xen when
// /dev/xen/privcmd exists). `xen` is checked at start, so a host without Xen fails at once with
// TSX_ERR_XEN_UNAVAILABLE naming what is missing, never later in a create.

import { existsSync, readFileSync } from 'node:fs';
import { TsxError } from '../errors.js';
import { E_HV_BAD_KIND, E_XEN_UNAVAILABLE } from './errors.js';
import type { Hypervisor } from './types.js';
import { DEFAULT_LIBS, type XenLibPaths } from './xen/binding.js';
import type { XenHypervisorOptions } from './xen/hypervisor.js';

export type HypervisorKind = 'simulated' | 'xen' | 'auto';
export const HYPERVISOR_KINDS: readonly HypervisorKind[] = ['simulated', 'xen', 'auto'];

export const PRIVCMD_PATH = '/dev/xen/privcmd';

export interface SelectDeps {
  /**
   * Builds the simulated hypervisor (it lives in src/sim). Without it, a choice of the
   * simulation answers undefined: the caller's environment makes the simulated world itself.
   */
  readonly createSimulated?: () => Hypervisor | Promise<Hypervisor>;
  /** Options of the real one (library paths: tests load the recording fake). */
  readonly xen?: XenHypervisorOptions;
  /** Where the privcmd device is looked for (tests). */
  readonly privcmdPath?: string;
  /** Read for the overrides below when deps do not set them (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Environment overrides: TSXEND_LIBXENCTRL / TSXEND_LIBXENGUEST name the libraries (a Xen
 * built from source under /usr/local, or the test suite's recording fake); TSXEND_XEN_PRIVCMD
 * the device looked for (tests).
 */
function fromEnv(deps: { privcmdPath?: string; libs?: XenLibPaths; env?: NodeJS.ProcessEnv }): { privcmd: string; libs: XenLibPaths } {
  const env = deps.env ?? process.env;
  const libs: { xenctrl?: string; xenguest?: string } = {};
  const ctrl = deps.libs?.xenctrl ?? env['TSXEND_LIBXENCTRL'];
  const guest = deps.libs?.xenguest ?? env['TSXEND_LIBXENGUEST'];
  if (ctrl) libs.xenctrl = ctrl;
  if (guest) libs.xenguest = guest;
  return { privcmd: deps.privcmdPath ?? env['TSXEND_XEN_PRIVCMD'] ?? PRIVCMD_PATH, libs };
}

export function parseHypervisorKind(value: string): HypervisorKind {
  if ((HYPERVISOR_KINDS as readonly string[]).includes(value)) return value as HypervisorKind;
  throw new TsxError(E_HV_BAD_KIND, `unknown hypervisor '${value}': use simulated, xen or auto`, { details: { value } });
}

/** What `auto` picks on this host. */
export function resolveHypervisorKind(kind: HypervisorKind, privcmdPath = PRIVCMD_PATH): 'simulated' | 'xen' {
  if (kind !== 'auto') return kind;
  return existsSync(privcmdPath) ? 'xen' : 'simulated';
}

/**
 * Answers a ready hypervisor of the chosen kind (simulated, xen or auto); for Xen the libraries
 * are loaded and opened now. The simulation is answered only when deps can build it.
 */
export async function selectHypervisor(kind: string, deps: SelectDeps & { createSimulated: NonNullable<SelectDeps['createSimulated']> }): Promise<Hypervisor>;
export async function selectHypervisor(kind: string, deps: SelectDeps): Promise<Hypervisor | undefined>;
export async function selectHypervisor(kind: string, deps: SelectDeps): Promise<Hypervisor | undefined> {
  const { privcmd, libs } = fromEnv({ ...deps, ...(deps.xen?.libs ? { libs: deps.xen.libs } : {}) });
  const chosen = resolveHypervisorKind(parseHypervisorKind(kind), privcmd);
  if (chosen === 'simulated') return deps.createSimulated?.();
  if (!existsSync(privcmd)) {
    throw new TsxError(
      E_XEN_UNAVAILABLE,
      `--hypervisor xen: ${privcmd} is missing, so this is not a Xen dom0 (boot the Xen hypervisor with Linux as dom0, and load xen_privcmd); run 'tsxend doctor --hypervisor xen' for details`,
      { details: { missing: privcmd } },
    );
  }
  // Imported here so that choosing the simulation never even loads the binding's module.
  const { XenHypervisor } = await import('./xen/hypervisor.js');
  const hv = new XenHypervisor({ ...deps.xen, libs });
  await hv.open();
  return hv;
}

export interface HypervisorCheck {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  readonly privcmdPath?: string;
  readonly capabilitiesPath?: string;
  readonly libs?: XenLibPaths;
  readonly env?: NodeJS.ProcessEnv;
}

/** What `tsxend doctor --hypervisor xen` reports: every thing real Xen needs, one line each. */
export async function xenDoctorChecks(options: DoctorOptions = {}): Promise<HypervisorCheck[]> {
  const out: HypervisorCheck[] = [];
  const resolved = fromEnv(options);
  const privcmd = resolved.privcmd;
  out.push(
    existsSync(privcmd)
      ? { check: 'xen privcmd', status: 'ok', detail: `${privcmd} exists` }
      : {
          check: 'xen privcmd',
          status: 'fail',
          detail: `${privcmd} is missing: not running as a Xen dom0`,
          fix: 'boot the Xen hypervisor (Debian: apt install xen-system-amd64, reboot into the Xen entry) and modprobe xen_privcmd',
        },
  );
  const capsPath = options.capabilitiesPath ?? '/proc/xen/capabilities';
  let caps: string | undefined;
  try {
    caps = readFileSync(capsPath, 'utf8');
  } catch {
    caps = undefined;
  }
  out.push(
    caps?.includes('control_d')
      ? { check: 'xen control domain', status: 'ok', detail: `${capsPath} says control_d` }
      : {
          check: 'xen control domain',
          status: 'fail',
          detail: caps === undefined ? `${capsPath} is missing (xenfs not mounted, or not on Xen)` : `${capsPath} lacks control_d: this is a domU`,
          fix: 'run tsxend in dom0; mount xenfs on /proc/xen (xencommons does)',
        },
  );
  const libs = { ...DEFAULT_LIBS, ...resolved.libs };
  let koffi: typeof import('koffi') | undefined;
  try {
    const mod = (await import('koffi')) as typeof import('koffi') & { default?: typeof import('koffi') };
    koffi = mod.default ?? mod;
    out.push({ check: 'ffi (koffi)', status: 'ok', detail: 'koffi loads' });
  } catch (err) {
    out.push({ check: 'ffi (koffi)', status: 'fail', detail: `koffi cannot load: ${(err as Error).message}`, fix: 'reinstall tsxend with its dependencies (npm ci)' });
  }
  for (const [name, path] of [
    ['libxenctrl', libs.xenctrl],
    ['libxenguest', libs.xenguest],
  ] as const) {
    if (!koffi) continue;
    try {
      koffi.load(path);
      out.push({ check: name, status: 'ok', detail: `${path} loads` });
    } catch (err) {
      out.push({ check: name, status: 'fail', detail: `${path} cannot be loaded: ${(err as Error).message}`, fix: 'apt install libxenmisc4.17 (Debian 12; Xen 4.17)' });
    }
  }
  return out;
}
