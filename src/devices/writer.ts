// Phase 1 of a create: one transaction writes every device's bookkeeping copy, frontend
// and backend with libxl's permissions (xenstore.md §5.2) — frontend owned by the guest and
// readable by the backend domain; backend owned by the backend domain and readable by the guest.
//
// Before writing, what is already at the device's paths is inspected, never failed blindly:
// - our own bookkeeping for this domain (same domain uuid): a live device → TSX_ERR_DEVICE_EXISTS;
// - bookkeeping of an earlier domain that had this domid: a dead remnant → removed, then written;
// - a backend directory without our bookkeeping: someone else wrote it (the race of Xen changeset
//   14926) → TSX_ERR_DEVICE_FOREIGN_WRITER naming the path, never a silent clash.

import type { DeviceEntry } from '../config/model.js';
import { isError, TsxError } from '../errors.js';
import type { DeviceView } from './api.js';
import { ENOENT } from '../xenstore/errors.js';
import { ownedBy } from '../xenstore/perms.js';
import type { Transaction, XenstoreClient } from '../xenstore/types.js';
import { SECRET_FIELDS, type ControllerContext, type DevController } from './controller.js';
import { E_DEVICE_EXISTS, E_DEVICE_FOREIGN_WRITER } from './errors.js';
import { backendPath, bookkeepingPath, frontendPath } from './paths.js';
import { controllerFor } from './registry.js';

export interface DeviceLocation {
  readonly devid: number;
  readonly backendKind: string;
  readonly frontend: string;
  readonly backend: string;
  readonly bookkeeping: string;
}

export function locate(ctrl: DevController, entry: DeviceEntry, ctx: ControllerContext, devid: number): DeviceLocation {
  const backendKind = ctrl.backendKind(entry.config);
  return {
    devid,
    backendKind,
    frontend: frontendPath(ctx.domid, ctrl.frontendKind, devid),
    backend: backendPath(ctx.backendDomid, backendKind, ctx.domid, devid),
    bookkeeping: bookkeepingPath(ctx.domid, ctrl.frontendKind, devid),
  };
}

async function rmQuiet(tx: Transaction, path: string): Promise<void> {
  try {
    await tx.rm(path);
  } catch (err) {
    if (!isError(err, ENOENT)) throw err;
  }
}

/** Inspects the device's paths inside the transaction; cleans a dead remnant of this domid. */
async function inspectClash(tx: Transaction, loc: DeviceLocation, ctrl: DevController, ctx: ControllerContext): Promise<void> {
  const [ownerUuid, backendNodes] = await Promise.all([tx.tryRead(`${loc.bookkeeping}/domain-uuid`), tx.tryDirectory(loc.backend)]);
  const what = `${ctrl.deviceClass} ${loc.devid}`;
  if (ownerUuid === ctx.uuid) {
    throw new TsxError(E_DEVICE_EXISTS, `device ${what} already exists on domain ${ctx.domid} (${loc.backend})`, {
      details: { class: ctrl.deviceClass, devid: loc.devid, path: loc.backend },
    });
  }
  if (ownerUuid === undefined && backendNodes !== undefined) {
    throw new TsxError(E_DEVICE_FOREIGN_WRITER, `backend ${loc.backend} of device ${what} was written by someone else before tsxend created it (found: ${backendNodes.join(', ') || 'an empty node'})`, {
      details: { class: ctrl.deviceClass, devid: loc.devid, path: loc.backend, found: backendNodes },
    });
  }
  if (ownerUuid !== undefined) {
    // Left behind by an earlier domain with this domid (its cleanup never finished): remove it.
    await Promise.all([rmQuiet(tx, loc.bookkeeping), rmQuiet(tx, loc.backend), rmQuiet(tx, loc.frontend)]);
  }
}

/** One device to write: its controller, config and the devid it takes. */
export interface DeviceToWrite {
  readonly ctrl: DevController;
  readonly uuid: string;
  readonly entry: DeviceEntry;
  readonly ctx: ControllerContext;
  readonly devid: number;
}

/**
 * Writes devices in ONE transaction (their requests pipelined): all their nodes appear at once
 * or none does, in a few round trips instead of a transaction per device. Answers their views
 * (state `initialising`), in the order given.
 */
export async function writeDevices(xs: XenstoreClient, devices: readonly DeviceToWrite[]): Promise<DeviceView[]> {
  await xs.transaction(async (tx) => {
    // Every device's requests settle before the transaction ends, whichever fails first.
    const settled = await Promise.allSettled(devices.map((d) => writeInTransaction(tx, d)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return devices.map(({ ctrl, uuid, entry, ctx, devid }) => {
    const loc = locate(ctrl, entry, ctx, devid);
    return {
      uuid,
      class: entry.class,
      devid,
      state: 'initialising',
      backendDomid: ctx.backendDomid,
      frontendPath: loc.frontend,
      backendPath: loc.backend,
      config: entry.config,
    };
  });
}

/** One device's nodes, inside the caller's transaction. */
async function writeInTransaction(tx: Transaction, { ctrl, uuid, entry, ctx, devid }: DeviceToWrite): Promise<void> {
  const loc = locate(ctrl, entry, ctx, devid);
  const cfg = entry.config as never;
  const isConsole0 = ctrl.deviceClass === 'console' && devid === 0;
  await inspectClash(tx, loc, ctrl, ctx);
  const ops: Promise<void>[] = [];
  const w = (p: string, v: string) => ops.push(tx.write(p, v));
  // The bookkeeping copy: dom0-only, what restart reconcile trusts.
  w(`${loc.bookkeeping}/frontend`, loc.frontend);
  w(`${loc.bookkeeping}/backend`, loc.backend);
  w(`${loc.bookkeeping}/domain-uuid`, ctx.uuid);
  w(`${loc.bookkeeping}/uuid`, uuid);
  w(`${loc.bookkeeping}/class`, ctrl.deviceClass);
  w(`${loc.bookkeeping}/config`, JSON.stringify(withoutSecrets(entry.config)));
  // Frontend. Console 0's directory also holds the domain's console ring details written at
  // domain creation: it is not removed, only given its permissions.
  if (!isConsole0) ops.push(rmQuiet(tx, loc.frontend));
  ops.push(tx.mkdir(loc.frontend));
  ops.push(tx.setPerms(loc.frontend, isConsole0 ? ownedBy(ctx.backendDomid, ctx.domid) : ownedBy(ctx.domid, ctx.backendDomid)));
  w(`${loc.frontend}/backend`, loc.backend);
  for (const [k, v] of ctrl.frontendEntries(cfg, ctx, devid)) w(`${loc.frontend}/${k}`, v);
  for (const [k, v] of ctrl.readonlyFrontendEntries?.(cfg, ctx, devid) ?? []) {
    w(`${loc.frontend}/${k}`, v);
    ops.push(tx.setPerms(`${loc.frontend}/${k}`, ownedBy(ctx.backendDomid, ctx.domid)));
  }
  // Backend: owned by the backend domain, readable by the guest; keys inherit that.
  ops.push(rmQuiet(tx, loc.backend));
  ops.push(tx.mkdir(loc.backend));
  ops.push(tx.setPerms(loc.backend, ownedBy(ctx.backendDomid, ctx.domid)));
  w(`${loc.backend}/frontend`, loc.frontend);
  for (const [k, v] of ctrl.backendEntries(cfg, ctx, devid)) w(`${loc.backend}/${k}`, v);
  await Promise.all(ops);
}

/**
 * Directories path cleanup never removes: a domain's home and its `device` directory (created
 * by the lifecycle with the guest's permissions), and its /libxl bookkeeping root. An emptied
 * `backend` directory goes, as libxl's path cleanup does.
 */
const STOP = /^(\/local\/domain\/\d+(\/device)?|\/libxl(\/\d+(\/device)?)?|\/local\/domain|\/local|\/)$/;

/** Removes a device's nodes (frontend, backend, bookkeeping) and empty parents; answers leftovers. */
export async function removeDeviceNodes(xs: XenstoreClient, view: DeviceView): Promise<string[]> {
  const ctrl = controllerFor(view.class);
  const domid = Number(/^\/local\/domain\/(\d+)\//.exec(view.frontendPath)?.[1]);
  const bookkeeping = bookkeepingPath(domid, ctrl.frontendKind, view.devid);
  const isConsole0 = view.class === 'console' && view.devid === 0;
  // Console 0's directory is the domain's: remove only the keys the device wrote there.
  const frontendNodes = isConsole0
    ? ['backend', ...ctrl.frontendEntries(view.config as never, { domid, uuid: '', name: '', backendDomid: view.backendDomid }, 0).map(([k]) => k), ...(ctrl.readonlyFrontendEntries?.(view.config as never, { domid, uuid: '', name: '', backendDomid: view.backendDomid }, 0) ?? []).map(([k]) => k)].map((k) => `${view.frontendPath}/${k}`)
    : [view.frontendPath];
  const removed = [view.backendPath, bookkeeping, ...frontendNodes];
  await xs.transaction(async (tx) => {
    await Promise.all(removed.map((p) => rmQuiet(tx, p)));
    // libxl's path cleanup: walk up removing parents left with no value and no children.
    for (const start of [view.backendPath, bookkeeping, ...(isConsole0 ? [] : [view.frontendPath])]) {
      for (let p = parent(start); !STOP.test(p); p = parent(p)) {
        const [kids, value] = await Promise.all([tx.tryDirectory(p), tx.tryRead(p)]);
        if (kids === undefined) continue;
        if (kids.length > 0 || value !== '') break;
        await rmQuiet(tx, p);
      }
    }
  });
  const left: string[] = [];
  for (const p of removed) if ((await xs.tryRead(p)) !== undefined) left.push(p);
  return left;
}

function parent(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

/** A device config with its secrets removed (what may be stored in xenstore or logged). */
export function withoutSecrets<T extends object>(config: T): T {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !SECRET_FIELDS.has(k))) as T;
}
