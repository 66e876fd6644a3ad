// STAND-IN DeviceManager of the simulated world (bench/ --devices basic and a few tests; no
// environment ever picks it). Small on purpose: libxl's generic frontend/backend write
// (xenstore.md §5.2) in one transaction for all devices with libxl's permissions, a few keys per class, a simulated backend
// (state 2 and hotplug-status=connected) in place of hotplug, and destroy = rm + path cleanup.

import type { DeviceClass, DeviceEntry } from '../config/model.js';
import { vdevToNumber } from '../config/vdev.js';
import type { DeviceManager, DomainDeviceContext, PlannedDevice } from '../devices/api.js';
import type { UndoJournal } from '../util/journal.js';
import { isError } from '../errors.js';
import { ENOENT } from '../xenstore/errors.js';
import { ownedBy } from '../xenstore/perms.js';
import type { XenstoreClient, XsOps } from '../xenstore/types.js';
import type { DeviceView } from '../lifecycle/api.js';
import { armDevicesConnected, deviceStateOf } from '../lifecycle/wait.js';

function backendKind(entry: DeviceEntry): string {
  if (entry.class === 'vbd') return entry.config.backendtype === 'qdisk' ? 'qdisk' : entry.config.backendtype === 'tap' ? 'vbd3' : 'vbd';
  if (entry.class === 'vkbd') return entry.config.backendType === 'linux' ? 'vinput' : 'vkbd';
  return entry.class;
}

function devidOf(entry: DeviceEntry, index: number): number {
  if (entry.config.devid !== undefined) return entry.config.devid;
  if (entry.class === 'vbd') return vdevToNumber(entry.config.vdev) ?? index;
  return index;
}

/** Backend and frontend keys of the stand-in (a subset of libxl's; no secret in either). */
function keysOf(entry: DeviceEntry, domid: number, devid: number, bd: number): { be: [string, string][]; fe: [string, string][] } {
  const be: [string, string][] = [['frontend-id', String(domid)], ['online', '1'], ['state', '1']];
  const fe: [string, string][] = [['backend-id', String(bd)], ['state', '1']];
  switch (entry.class) {
    case 'vbd': {
      const c = entry.config;
      be.push(['params', c.target], ['script', c.script ?? '/etc/xen/scripts/block'], ['dev', c.vdev], ['type', c.backendtype], ['mode', c.access], ['device-type', c.devtype]);
      fe.push(['virtual-device', String(devid)], ['device-type', c.devtype]);
      break;
    }
    case 'vif': {
      const c = entry.config;
      be.push(['script', c.script], ['mac', c.mac], ['bridge', c.bridge], ['handle', String(devid)], ['type', c.type === 'ioemu' ? 'vif_ioemu' : 'vif'], ['hotplug-status', '']);
      if (c.vifname !== undefined) be.push(['vifname', c.vifname]);
      fe.push(['handle', String(devid)], ['mac', c.mac]);
      break;
    }
    case 'vfb': {
      const c = entry.config;
      be.push(['vnc', c.vnc ? '1' : '0'], ['vnclisten', c.vnclisten], ['vncunused', c.vncunused ? '1' : '0'], ['sdl', c.sdl ? '1' : '0']);
      break;
    }
    case 'console':
      be.push(['protocol', entry.config.protocol]);
      break;
    default:
      break;
  }
  return { be, fe };
}

function bdomid(entry: DeviceEntry): number {
  const n = Number(entry.config.backend);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

const rmQuiet = (xs: Pick<XenstoreClient, 'rm'>, p: string) => xs.rm(p).catch((err: unknown) => (isError(err, ENOENT) ? undefined : Promise.reject(err as Error)));

/** Removes `dir` if it has no children, in a transaction so a concurrent writer wins; retried a few times. */
async function rmIfEmpty(xs: XenstoreClient, dir: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await xs.transaction(async (tx) => {
        const kids = await tx.tryDirectory(dir);
        if (kids === undefined) return true;
        if (kids.length > 0) return false;
        await rmQuiet(tx, dir);
        return true;
      });
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}

/** Removes device leaves, then every parent left empty: deepest first, one at a time. */
async function removeDevicePaths(xs: XenstoreClient, leaves: { fe: string; be: string; lx: string; bd: number }[]): Promise<void> {
  await Promise.all(leaves.flatMap((l) => [rmQuiet(xs, l.fe), rmQuiet(xs, l.be), rmQuiet(xs, l.lx)]));
  const parents = new Set<string>();
  for (const l of leaves) {
    if (l.fe.includes('/device/')) parents.add(l.fe.slice(0, l.fe.lastIndexOf('/')));
    parents.add(l.lx.slice(0, l.lx.lastIndexOf('/')));
    // .../backend/<kind>/<domid>/<devid> → <domid>, <kind>, backend
    let dir = l.be;
    for (let i = 0; i < 3; i++) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      parents.add(dir);
    }
  }
  const ordered = [...parents].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of ordered) await rmIfEmpty(xs, dir);
}

export class BasicDeviceManager implements DeviceManager {
  /** The last teardown failure (diagnostics). */
  lastError: unknown;

  /** All devices in one transaction, as the devices layer writes them (nothing until all of it). */
  async writeDevices(ctx: DomainDeviceContext, devices: readonly PlannedDevice[], journal: UndoJournal): Promise<DeviceView[]> {
    const { xs, domid } = ctx;
    const perClass = new Map<DeviceClass, number>();
    const planned = devices.map((d) => {
      const index = perClass.get(d.entry.class) ?? 0;
      perClass.set(d.entry.class, index + 1);
      const entry = d.entry;
      const devid = devidOf(entry, index);
      const bd = bdomid(entry);
      const console0 = entry.class === 'console' && devid === 0;
      const fe = console0 ? `/local/domain/${domid}/console` : `/local/domain/${domid}/device/${entry.class}/${devid}`;
      const be = `/local/domain/${bd}/backend/${backendKind(entry)}/${domid}/${devid}`;
      const lx = `/libxl/${domid}/device/${entry.class}/${devid}`;
      ctx.emit({ type: 'device.writing', devClass: entry.class, devid, outcome: 'started' });
      return { d, entry, devid, bd, console0, fe, be, lx };
    });
    await xs.transaction(async (tx: XsOps) => {
      const rm = (p: string) => rmQuiet(tx, p);
      const ops: Promise<unknown>[] = [];
      for (const { entry, devid, bd, console0, fe, be, lx } of planned) {
        const keys = keysOf(entry, domid, devid, bd);
        ops.push(rm(lx), tx.write(`${lx}/frontend`, fe), tx.write(`${lx}/backend`, be));
        if (!console0) ops.push(rm(fe), tx.mkdir(fe), tx.setPerms(fe, ownedBy(domid, bd)));
        ops.push(tx.write(`${fe}/backend`, be));
        for (const [k, v] of keys.fe) if (!(console0 && k === 'state')) ops.push(tx.write(`${fe}/${k}`, v));
        ops.push(rm(be), tx.mkdir(be), tx.setPerms(be, ownedBy(bd, domid)), tx.write(`${be}/frontend`, fe));
        for (const [k, v] of keys.be) ops.push(tx.write(`${be}/${k}`, v));
        // The vnc password is dom0's alone: never in a node the guest can read.
        if (entry.class === 'vfb' && entry.config.vncpasswd !== undefined) ops.push(tx.write(`${lx}/vncpasswd`, entry.config.vncpasswd));
      }
      const settled = await Promise.allSettled(ops);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    return planned.map(({ d, entry, devid, bd, fe, be, lx }) => {
      journal.push(`device ${entry.class}/${devid} nodes`, async () => {
        await this.#remove(xs, fe, be, lx, bd);
      });
      return { uuid: d.uuid, class: entry.class, devid, state: 'initialising' as const, backendDomid: bd, frontendPath: fe, backendPath: be, config: entry.config };
    });
  }

  async #remove(xs: XenstoreClient, fe: string, be: string, lx: string, bd: number): Promise<void> {
    await removeDevicePaths(xs, [{ fe, be, lx, bd }]);
  }

  /** The stand-in's "backend": InitWait, and hotplug-status=connected where the class has hotplug. */
  async activateDevices(ctx: DomainDeviceContext, devices: readonly DeviceView[], _journal: UndoJournal): Promise<DeviceView[]> {
    await Promise.all(
      devices.flatMap((d) => [
        ctx.xs.write(`${d.backendPath}/state`, '2'),
        ...(d.class === 'vif' || d.class === 'vbd' ? [ctx.xs.write(`${d.backendPath}/hotplug-status`, 'connected')] : []),
      ]),
    );
    for (const d of devices) ctx.emit({ type: 'device.hotplug', devClass: d.class, devid: d.devid, outcome: 'ok' });
    return devices.map((d) => ({ ...d, state: 'init-wait' as const }));
  }

  /** Phase 3: both ends Connected (the simulated guest connects them once it runs). */
  async waitConnected(ctx: DomainDeviceContext, devices: readonly DeviceView[]): Promise<DeviceView[]> {
    const armed = await armDevicesConnected(ctx.xs, devices, ctx.deadline, ctx.signal);
    try {
      return await armed.wait();
    } finally {
      await armed.close();
    }
  }

  async destroyDevices(ctx: DomainDeviceContext, devices: readonly DeviceView[], _options: { force: boolean }): Promise<{ leftovers: string[] }> {
    try {
      await removeDevicePaths(
        ctx.xs,
        devices.map((d) => ({ fe: d.frontendPath, be: d.backendPath, lx: `/libxl/${ctx.domid}/device/${d.class}/${d.devid}`, bd: d.backendDomid })),
      );
    } catch (err) {
      this.lastError = err;
      const left: string[] = [];
      for (const d of devices) {
        const [fe, be] = await Promise.all([ctx.xs.tryRead(d.frontendPath).catch(() => ''), ctx.xs.tryRead(d.backendPath).catch(() => '')]);
        if (fe !== undefined) left.push(d.frontendPath);
        if (be !== undefined) left.push(d.backendPath);
      }
      if (left.length > 0) {
        for (const d of devices) ctx.emit({ type: 'device.failed', devClass: d.class, devid: d.devid, outcome: 'failed', data: { error: String(err) } });
        return { leftovers: left };
      }
    }
    for (const d of devices) ctx.emit({ type: 'device.closed', devClass: d.class, devid: d.devid, outcome: 'ok' });
    return { leftovers: [] };
  }

  async readDevices(xs: XenstoreClient, domid: number): Promise<DeviceView[]> {
    const out: DeviceView[] = [];
    const classes = (await xs.tryDirectory(`/libxl/${domid}/device`)) ?? [];
    for (const cls of classes) {
      for (const id of (await xs.tryDirectory(`/libxl/${domid}/device/${cls}`)) ?? []) {
        const lx = `/libxl/${domid}/device/${cls}/${id}`;
        const [fe, be] = await Promise.all([xs.tryRead(`${lx}/frontend`), xs.tryRead(`${lx}/backend`)]);
        if (fe === undefined || be === undefined) continue;
        const state = await xs.tryRead(`${be}/state`);
        const bd = Number(/^\/local\/domain\/(\d+)\//.exec(be)?.[1] ?? 0);
        out.push({ uuid: '', class: cls as DeviceClass, devid: Number(id), state: deviceStateOf(state), backendDomid: bd, frontendPath: fe, backendPath: be, config: { backend: String(bd) } });
      }
    }
    return out;
  }
}
