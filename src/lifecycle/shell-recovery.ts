// The prepared shells a previous daemon left (their records, shells.ts), as a start finds them.
// A shell is the domain that still carries its record's placeholder handle: intact (alive,
// paused, never introduced, its max vcpus and memory and its home in xenstore as prepared) and
// of the shape the pool asks for now, it is adopted, up to the target; anything else is torn
// down. A record whose domain carries another handle was taken by a create (setHandle comes
// before the create's record names the domid): the create's own record decides that domain's
// fate, and only the shell's record goes. Reconcile must not look at the shells' domids.

import type { DomainInfo } from '../hypervisor/types.js';
import { formatPerms, ownedBy } from '../xenstore/perms.js';
import type { StoredShell } from './api.js';
import { domPath, libxlPath, removeDomainNodes } from './layout.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { sameShape } from './shells.js';

/** Adopts or tears down what the shell records name; answers the domids that were shells (reconcile skips them). */
export async function recoverShells(o: DomainOrchestrator, live: readonly DomainInfo[]): Promise<Set<number>> {
  const shells = new Set<number>();
  const byHandle = new Map(live.map((d) => [d.uuid, d]));
  const liveDomids = new Set(live.map((d) => d.domid));
  const log = o.log?.child({ part: 'shells' });
  for (const item of await o.store.loadShells()) {
    const info = byHandle.get(item.handle);
    if (info) shells.add(info.domid);
    if ('error' in item) {
      log?.warn({ err: item.error, handle: item.handle, domid: info?.domid }, 'a prepared shell record is unreadable: its domain, if any, is torn down');
      await discard(o, item.handle, info?.domid, 'its record is unreadable');
      continue;
    }
    if (!info) {
      // Gone, or taken by a create. A domid nobody holds any more loses the home left there.
      const gone = item.domid !== undefined && !liveDomids.has(item.domid);
      await discard(o, item.handle, gone ? item.domid : undefined, undefined, { destroy: false });
      continue;
    }
    const why = await notAdoptable(o, info, item);
    if (why === undefined) {
      o.shells.adopt({ handle: item.handle, domid: info.domid });
      // Killed between its create and the record naming it: the record catches up.
      if (item.domid !== info.domid) await o.store.saveShell({ ...item, domid: info.domid }).catch(() => undefined);
      log?.info({ domid: info.domid, handle: item.handle }, 'adopted a prepared shell');
      continue;
    }
    log?.info({ domid: info.domid, handle: item.handle, why }, 'tearing down a prepared shell found at start');
    await discard(o, item.handle, info.domid, why);
  }
  return shells;
}

/** Why the shell `info` cannot go back into the pool; undefined when it can. */
async function notAdoptable(o: DomainOrchestrator, info: DomainInfo, rec: StoredShell): Promise<string | undefined> {
  if (!sameShape(rec, o.shells.shape)) return `its shape (${rec.type}, ${rec.maxVcpus} vcpus, ${rec.memoryMiB} MiB) is not the pool's`;
  if (o.shells.ready >= o.shells.target) return 'the pool holds its target already';
  if (rec.domid !== undefined && rec.domid !== info.domid) return `its record names domain ${rec.domid}`;
  if (info.dying || info.shutdown || info.crashed || !info.paused) return 'its domain is not paused and alive';
  if (info.maxVcpuId + 1 !== rec.maxVcpus || info.maxMemoryKiB !== rec.memoryMiB * 1024) return 'its domain does not have the max vcpus and memory it was prepared with';
  const dp = domPath(info.domid);
  const [domid, type, perms, introduced] = await Promise.all([
    o.xs.tryRead(`${dp}/domid`),
    o.xs.tryRead(`${libxlPath(info.domid)}/type`),
    o.xs.getPerms(dp).catch(() => undefined),
    o.xs.isDomainIntroduced(info.domid).catch(() => true),
  ]);
  if (domid !== String(info.domid) || type !== rec.type) return `its home (${dp}, ${libxlPath(info.domid)}) is missing`;
  if (perms === undefined || formatPerms(perms).join() !== formatPerms(ownedBy(0, info.domid)).join()) return `${dp} does not have the permissions it was prepared with`;
  if (introduced) return 'its domain was introduced to xenstored';
  return undefined;
}

/** Home, domain (unless only the record and a dead domid's home go) and record; the record stays if anything could not go. */
async function discard(o: DomainOrchestrator, handle: string, domid: number | undefined, why: string | undefined, options: { destroy?: boolean } = {}): Promise<void> {
  try {
    if (domid !== undefined) {
      const left = await removeDomainNodes(o.xs, domid, undefined);
      if (options.destroy !== false) await o.hv.destroy(domid);
      if (left.length > 0) throw new Error(`could not remove ${left.join(', ')}`);
    }
    await o.store.removeShell(handle);
  } catch (err) {
    o.log?.error({ err, domid, handle, why }, 'a prepared shell could not be torn down at start; its record is kept');
  }
}
