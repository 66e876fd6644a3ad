// The per-domain xenstore layout (xenstore.md §5.1, xend.md §1.5–1.7): the dom path, the VM
// path and /libxl/<domid>, each written in one small pipelined transaction. Permissions:
// `ro` (owner dom0, guest reads) on the roots, `rw` (guest owns) on what the guest writes.
// Nothing secret goes here: the VNC password never reaches a guest-readable node.

import type { XendConfig } from '../config/model.js';
import type { BuildResult, GuestType } from '../hypervisor/types.js';
import { isError } from '../errors.js';
import { ENOENT } from '../xenstore/errors.js';
import { ownedBy } from '../xenstore/perms.js';
import type { Perms, XenstoreClient, XsOps } from '../xenstore/types.js';

/** RM that treats a missing parent (ENOENT) as already removed. */
export function rmQuiet(ops: Pick<XsOps, 'rm'>, path: string): Promise<void> {
  return ops.rm(path).catch((err: unknown) => {
    if (!isError(err, ENOENT)) throw err;
  });
}

export const domPath = (domid: number): string => `/local/domain/${domid}`;
export const vmPath = (uuid: string): string => `/vm/${uuid}`;
/**
 * Whether `vm` is a VM path of `uuid`: /vm/UUID, or xend's /vm/UUID-N, taken while another
 * domain of the same uuid holds /vm/UUID (the two copies of a migration on one host; the block
 * hotplug script's same_vm() strips the "-1" so that both may share a writable disk).
 */
export const isVmPathOf = (vm: string | undefined, uuid: string): vm is string => vm !== undefined && (vm === vmPath(uuid) || (vm.startsWith(`${vmPath(uuid)}-`) && /^[1-9][0-9]*$/.test(vm.slice(vmPath(uuid).length + 1))));
export const libxlPath = (domid: number): string => `/libxl/${domid}`;

const GUEST_RW = ['device/suspend/event-channel', 'control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/feature-suspend', 'control/sysrq', 'data', 'drivers', 'feature', 'attr', 'error'];

/** The VM path a domain's home names, if it is one of `uuid`'s (undefined when gone or foreign). */
export async function vmPathIn(xs: Pick<XsOps, 'tryRead'>, domid: number, uuid: string): Promise<string | undefined> {
  const vm = await xs.tryRead(`${domPath(domid)}/vm`).catch(() => undefined);
  return isVmPathOf(vm, uuid) ? vm : undefined;
}

/** The first of /vm/UUID, /vm/UUID-1, ... that no domain holds (holds: has its uuid written), as xend. */
async function freeVmPath(tx: XsOps, uuid: string): Promise<string> {
  for (let n = 0; ; n++) {
    const vp = n === 0 ? vmPath(uuid) : `${vmPath(uuid)}-${n}`;
    if ((await tx.tryRead(`${vp}/uuid`)) === undefined) return vp;
  }
}

/** Step 1: the roots and what exists before the build (libxl__domain_make). Answers the VM path taken. */
export async function writeDomainBase(xs: XenstoreClient, domid: number, config: XendConfig): Promise<string> {
  return xs.transaction(async (tx: XsOps) => {
    const vp = await freeVmPath(tx, config.uuid);
    const ops: Promise<unknown>[] = [rmQuiet(tx, domPath(domid)), rmQuiet(tx, libxlPath(domid))];
    homeOps(tx, domid, config.type, ops);
    identityOps(tx, domid, config, vp, ops);
    await Promise.all(ops);
    return vp;
  });
}

/**
 * A prepared shell's part of step 1 (shells.ts): everything the guest's config does not decide,
 * i.e. the dom path and /libxl/<domid> with their permissions, sub-directories and fixed keys.
 * Not prepared: the name, the VM path and the dom path's `vm` (writeShellIdentity), and what
 * the build decides (writeBuildPost).
 */
export async function writeShellHome(xs: XenstoreClient, domid: number, type: GuestType): Promise<void> {
  await xs.transaction(async (tx: XsOps) => {
    const ops: Promise<unknown>[] = [rmQuiet(tx, domPath(domid)), rmQuiet(tx, libxlPath(domid))];
    homeOps(tx, domid, type, ops);
    await Promise.all(ops);
  });
}

/** The rest of step 1 for a domain made from a prepared shell: its name and VM path. Answers the VM path taken. */
export async function writeShellIdentity(xs: XenstoreClient, domid: number, config: XendConfig): Promise<string> {
  return xs.transaction(async (tx: XsOps) => {
    const vp = await freeVmPath(tx, config.uuid);
    const ops: Promise<unknown>[] = [];
    identityOps(tx, domid, config, vp, ops);
    await Promise.all(ops);
    return vp;
  });
}

/** The nodes of step 1 that only the domid and the guest type decide, queued on `tx`. */
function homeOps(tx: XsOps, domid: number, type: GuestType, ops: Promise<unknown>[]): void {
  const dp = domPath(domid);
  const lp = libxlPath(domid);
  const mknod = (path: string, perms: Perms) => ops.push(tx.write(path, ''), tx.setPerms(path, perms));
  mknod(dp, ownedBy(0, domid)); // ro: owner dom0, the guest reads
  mknod(lp, ownedBy(0));
  ops.push(tx.write(`${lp}/device`, ''), tx.write(`${lp}/type`, type));
  ops.push(tx.write(`${dp}/domid`, String(domid)));
  // cpu, memory, control, device inherit ro from the dom path.
  for (const d of ['cpu', 'memory', 'control', 'device']) ops.push(tx.write(`${dp}/${d}`, ''));
  for (const d of GUEST_RW) mknod(`${dp}/${d}`, ownedBy(domid));
  ops.push(tx.write(`${dp}/control/platform-feature-multiprocessor-suspend`, '1'), tx.write(`${dp}/control/platform-feature-xs_reset_watches`, '1'));
}

/** The nodes of step 1 the guest's config decides (name, uuid: the VM path `vp`), queued on `tx`. */
function identityOps(tx: XsOps, domid: number, config: XendConfig, vp: string, ops: Promise<unknown>[]): void {
  const dp = domPath(domid);
  ops.push(rmQuiet(tx, vp), tx.write(vp, ''), tx.setPerms(vp, ownedBy(0, domid)));
  ops.push(tx.write(`${dp}/vm`, vp), tx.write(`${dp}/name`, config.name));
  // The VM path: identity and the xend legacy keys (memory/maxmem in MiB).
  const vm: [string, string][] = [
    ['uuid', config.uuid],
    ['name', config.name],
    ['vcpus', String(config.maxvcpus)],
    ['vcpu_avail', String(2 ** config.vcpus - 1)],
    ['memory', String(config.memory)],
    ['maxmem', String(config.maxmem)],
    ['on_poweroff', config.on_poweroff],
    ['on_reboot', config.on_reboot],
    ['on_crash', config.on_crash],
    ['xend/restart_count', '0'],
  ];
  for (const [k, v] of vm) ops.push(tx.write(`${vp}/${k}`, v));
}

/** Step 2: what the build produced (libxl__build_post) plus the console (xend _storeDomDetails). */
export async function writeBuildPost(
  xs: XenstoreClient,
  domid: number,
  config: XendConfig,
  ports: { store: number; console: number },
  built: BuildResult,
  vp: string,
): Promise<void> {
  const dp = domPath(domid);
  await xs.transaction(async (tx: XsOps) => {
    const ops: Promise<unknown>[] = [
      tx.write(`${dp}/memory/static-max`, String(config.maxmem * 1024)),
      tx.write(`${dp}/memory/target`, String(config.memory * 1024)),
      tx.write(`${dp}/store/port`, String(ports.store)),
      tx.write(`${dp}/store/ring-ref`, String(built.storeGfn)),
      tx.write(`${dp}/console/port`, String(ports.console)),
      tx.write(`${dp}/console/ring-ref`, String(built.consoleGfn)),
      tx.write(`${dp}/console/limit`, String(1024 * 1024)),
      tx.write(`${dp}/console/type`, 'xenconsoled'),
      tx.write(`${vp}/start_time`, (Date.now() / 1000).toFixed(2)),
      tx.write(`${vp}/image/ostype`, config.type === 'hvm' ? 'hvm' : 'linux'),
    ];
    for (let i = 0; i < config.maxvcpus; i++) ops.push(tx.write(`${dp}/cpu/${i}/availability`, i < config.vcpus ? 'online' : 'offline'));
    if (config.image.kernel !== undefined) ops.push(tx.write(`${vp}/image/kernel`, config.image.kernel));
    if (config.image.ramdisk !== undefined) ops.push(tx.write(`${vp}/image/ramdisk`, config.image.ramdisk));
    if (config.image.cmdline !== undefined) ops.push(tx.write(`${vp}/image/cmdline`, config.image.cmdline));
    await Promise.all(ops);
  });
}

/** Removes the three roots (the VM path where one was taken); answers those that could not be removed. */
export async function removeDomainNodes(xs: XenstoreClient, domid: number | undefined, vm: string | undefined): Promise<string[]> {
  const paths = [...(domid === undefined ? [] : [domPath(domid), libxlPath(domid)]), ...(vm === undefined ? [] : [vm])];
  const results = await Promise.allSettled(paths.map((p) => rmQuiet(xs, p)));
  return paths.filter((_, i) => results[i]?.status === 'rejected');
}

/** vcpu-set (xend.md §1.12): vcpu_avail and every cpu/<i>/availability, one transaction. */
export async function writeVcpus(xs: XenstoreClient, domid: number, vm: string, vcpus: number, maxvcpus: number): Promise<void> {
  await xs.transaction(async (tx) => {
    const ops: Promise<void>[] = [tx.write(`${vm}/vcpu_avail`, String(2 ** vcpus - 1))];
    for (let i = 0; i < maxvcpus; i++) ops.push(tx.write(`${domPath(domid)}/cpu/${i}/availability`, i < vcpus ? 'online' : 'offline'));
    await Promise.all(ops);
  });
}
