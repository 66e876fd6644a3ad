// Start-up reconcile (xend.md §5): xenstore and the hypervisor are the truth about what runs,
// the config store about what was meant. Running domains the store knows are re-adopted (ones
// whose nodes xenstored lost are kept, flagged xenstore-lost and destroyable); domains nobody can
// explain are quarantined (reported, never touched); stored records whose domain is
// gone lose their leftover nodes; managed domains with autostart are started in order.
// A record saved mid-operation (phase, see StoredDomain) says a daemon died in a create or a
// destroy: the domain is torn down whatever state it reached — never adopted half made.
// Prepared shells come first (shell-recovery.ts): adopted or torn down, never taken for
// domains, so never quarantined nor reported.

import type { XendConfig } from '../config/model.js';
import { validateConfig } from '../config/validate.js';
import type { DomainInfo } from '../hypervisor/types.js';
import type { StoredDomain } from './api.js';
import { DomainRecord, quarantineKey } from './domain.js';
import { domPath, isVmPathOf, rmQuiet, vmPath, vmPathIn } from './layout.js';
import { backendDomids, sweepDomainLeftovers } from './reconnect.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { recoverSave } from './save.js';
import { recoverMigration } from './migrate.js';
import { recoverShells } from './shell-recovery.js';

function stateOf(info: DomainInfo): 'running' | 'paused' | 'shutdown' | 'crashed' {
  if (info.crashed) return 'crashed';
  if (info.shutdown) return 'shutdown';
  return info.paused ? 'paused' : 'running';
}

export async function reconcile(o: DomainOrchestrator): Promise<void> {
  const stored = new Map<string, StoredDomain>();
  for (const item of await o.store.loadAll()) {
    if ('error' in item) {
      o.emit({ type: 'domain.quarantined', uuid: item.uuid, data: { reason: `stored record unreadable: ${item.error.message}` } });
      continue;
    }
    stored.set(item.config.uuid, item);
  }
  const found = (await o.hv.list()).filter((d) => d.domid !== 0);
  const shells = await recoverShells(o, found);
  const running = found.filter((d) => !shells.has(d.domid));
  const adopted = new Set<string>();

  for (let info of running) {
    if (o.records.has(info.uuid) && o.records.get(info.uuid)?.domid === info.domid) {
      adopted.add(info.uuid);
      continue; // already tracked (start() called twice)
    }
    const dp = domPath(info.domid);
    const [vm, storeRef] = await Promise.all([o.xs.tryRead(`${dp}/vm`), o.xs.tryRead(`${dp}/store/ring-ref`)]);
    const uuidInStore = vm === undefined ? undefined : await o.xs.tryRead(`${vm}/uuid`);
    let rec = stored.get(info.uuid);
    // Another domain of our uuid (a migration's other copy on this host, run by another daemon):
    // a record names its own domain by domid, saved before the domain has any node, so a
    // record without one cannot own a domain that has a home. Reported, never touched.
    if (rec && (rec.domid !== undefined ? rec.domid !== info.domid : vm !== undefined)) {
      quarantine(o, info, `another domain of uuid ${info.uuid}: the stored record's is ${rec.domid === undefined ? 'not made yet' : `domain ${rec.domid}`}`);
      continue;
    }
    if (rec) await settleScripts(o, rec.config.uuid, info.domid);
    if (rec?.phase === 'saving') {
      // Killed in a save: finished if its image was committed, else the guest carries on.
      const outcome = await recoverSave(o, info.domid, rec);
      o.emit({ type: 'domain.save-recovered', domid: info.domid, uuid: info.uuid, name: rec.config.name, data: { outcome, image: rec.image ?? null } });
      if (outcome === 'finished') {
        await tearDown(o, info.domid, rec);
        continue;
      }
      const { phase: _p, image: _i, ...resumed } = rec;
      rec = resumed;
      info = (await o.hv.getInfo(info.domid)) ?? info;
      await o.store.save(rec).catch(() => undefined);
    }
    // A migration's domain is adopted first, then the migration recovered (below).
    const migration = rec?.phase === 'migrating' || rec?.phase === 'migrated' || rec?.phase === 'incoming' ? rec : undefined;
    if (rec?.phase !== undefined && migration === undefined) {
      await tearDown(o, info.domid, rec);
      const interrupted = rec.phase === 'creating' ? 'create' : 'destroy';
      o.emit({ type: 'domain.rolled-back', domid: info.domid, uuid: info.uuid, name: rec.config.name, data: { reason: `found at start: the daemon died during its ${interrupted}` } });
      continue;
    }
    const introduced = await o.xs.isDomainIntroduced(info.domid).catch(() => false);
    if (rec && isVmPathOf(vm, info.uuid) && uuidInStore === info.uuid && storeRef !== undefined && introduced) {
      const r = await adopt(o, info, rec);
      if (r !== undefined) adopted.add(r.uuid);
      if (r !== undefined && migration !== undefined) await recoverMigrationAtStart(o, r, migration);
      continue;
    }
    if (rec && (vm === undefined || isVmPathOf(vm, info.uuid))) {
      // A finished create (no phase) that the store does not hold whole: xenstored lost its
      // nodes (a restarted cxenstored starts empty). The guest runs: keep it, flagged and
      // destroyable, as the resync after a reconnect does; never tear a finished domain down.
      const missing = [vm === undefined ? `${dp}/vm` : uuidInStore === info.uuid ? undefined : `${vm}/uuid`, storeRef === undefined ? `${dp}/store/ring-ref` : undefined, introduced ? undefined : 'the introduction'];
      const r = await adopt(o, info, rec);
      if (r === undefined) continue;
      adopted.add(r.uuid);
      r.flagStoreLost(`found at start without ${missing.filter((m) => m !== undefined).join(', ')}`);
      o.emitFor(r, 'domain.xenstore-lost', { data: { reason: r.reason } });
      continue;
    }
    // Ours by uuid but its dom path names another VM: someone else wrote it; touch nothing.
    if (rec) quarantine(o, info, `${dp}/vm is ${vm}, not ${vmPath(info.uuid)}`, rec.config);
    else quarantine(o, info, vm === undefined ? `no ${dp}/vm: not made by tsxend` : `no stored record for ${info.uuid}`);
  }

  // Stored records whose domain is gone: clear leftover nodes; keep managed ones as defined.
  const live = await o.hv.list();
  const liveDomids = new Set(live.map((d) => d.domid));
  const liveUuids = new Set(live.map((d) => d.uuid));
  for (const rec of stored.values()) {
    if (adopted.has(rec.config.uuid) || o.records.has(rec.config.uuid)) continue;
    // Its domain still runs, quarantined: never touched, record kept.
    if (live.some((d) => d.uuid === rec.config.uuid && (rec.domid === undefined || d.domid === rec.domid))) continue;
    await settleScripts(o, rec.config.uuid, rec.domid);
    // Its VM path goes, whatever the dom path says; /vm/UUID only while no other copy runs.
    const vm = rec.vm ?? (liveUuids.has(rec.config.uuid) ? undefined : vmPath(rec.config.uuid));
    if (vm !== undefined) await rmQuiet(o.xs, vm).catch(() => undefined);
    // A domid no domain holds any more: its dom and libxl paths, and backend directories whose
    // bookkeeping was never written (a kill between the two).
    if (rec.domid !== undefined && !liveDomids.has(rec.domid)) await sweepDomainLeftovers(o.xs, rec.domid, rec.config.uuid, backendDomids(rec.config), rec.vm);
    if (rec.phase === 'saving') await recoverSave(o, undefined, rec);
    if (rec.phase !== undefined && rec.managed) {
      const { phase: _p, domid: _d, image: _i, migration: _m, ...defined } = rec;
      await o.store.save(defined).catch(() => undefined);
    }
    if (!rec.managed) {
      await o.store.remove(rec.config.uuid).catch(() => undefined);
      continue;
    }
    let config: XendConfig;
    try {
      config = validateConfig(rec.config);
    } catch (err) {
      o.emit({ type: 'domain.quarantined', uuid: rec.config.uuid, name: rec.config.name, data: { reason: `stored config invalid: ${(err as Error).message}` } });
      continue;
    }
    const r = new DomainRecord(config, true, rec.autostart, rec.autostartOrder, 'defined');
    try {
      o.claims.claimConfig(r.uuid, { ...config, devices: {} });
    } catch (err) {
      o.emit({ type: 'domain.quarantined', uuid: r.uuid, name: r.name, data: { reason: (err as Error).message } });
      continue;
    }
    o.records.set(r.uuid, r);
  }

  const autostart = [...o.records.values()].filter((r) => r.managed && r.autostart && r.state === 'defined').sort((a, b) => a.autostartOrder - b.autostartOrder);
  for (const r of autostart) {
    const op = o.startDomain(r.uuid);
    await op.done.catch((err: unknown) => o.log?.error({ err, uuid: r.uuid }, 'autostart failed'));
  }
}

/** A migration the daemon died in, its domain adopted: the destination's copy awaits its commit; the source's is resumed or handed over. */
async function recoverMigrationAtStart(o: DomainOrchestrator, r: DomainRecord, rec: StoredDomain): Promise<void> {
  if (rec.phase === 'incoming' && rec.migration !== undefined) {
    o.incoming.adopt(r, rec.migration.id);
    o.emitFor(r, 'migration.adopted', { data: { id: rec.migration.id } });
    return;
  }
  const outcome = await recoverMigration(o, r, rec);
  if (outcome === 'resumed') {
    const info = r.domid === undefined ? undefined : await o.hv.getInfo(r.domid);
    if (info) r.state = stateOf(info);
    await o.persist(r).catch(() => undefined);
  }
  o.emitFor(r, 'domain.migrate-recovered', { data: { outcome, destination: rec.migration?.destination ?? null } });
}

/**
 * Hotplug scripts the dead daemon left running for a domain finish (bounded) or are killed
 * before anything reads or removes its devices: a late `block add` would otherwise set up a
 * loop device, or write nodes, after the teardown.
 */
async function settleScripts(o: DomainOrchestrator, uuid: string, domid: number | undefined): Promise<void> {
  const s = await o.devices.settleHotplug?.(uuid).catch((err: unknown) => {
    o.log?.warn({ err, uuid }, 'could not look for stray hotplug scripts');
    return undefined;
  });
  if (s && s.found > 0) o.emit({ type: 'hotplug.stray', uuid, ...(domid === undefined ? {} : { domid }), data: { found: s.found, killed: s.killed, paths: s.paths, waitedMs: s.waitedMs } });
}

/** Takes a running domain back under management from its stored record; undefined when it had to be quarantined. */
async function adopt(o: DomainOrchestrator, info: DomainInfo, rec: StoredDomain): Promise<DomainRecord | undefined> {
  const r = new DomainRecord(rec.config, rec.managed, rec.autostart, rec.autostartOrder, stateOf(info));
  r.domid = info.domid;
  r.vm = (await vmPathIn(o.xs, info.domid, info.uuid)) ?? rec.vm;
  // When the guest really started (written at its create), not when we found it: the
  // too-fast-restart guard must not refuse a reboot shortly after a daemon restart.
  const started = Number(await o.xs.tryRead(`${r.vmPath}/start_time`).catch(() => undefined));
  r.startedAt = Number.isFinite(started) && started > 0 ? Math.round(started * 1000) : Date.now();
  try {
    o.claims.claimConfig(r.uuid, r.config);
  } catch (err) {
    quarantine(o, info, `its resources clash with another domain: ${(err as Error).message}`, rec.config);
    return undefined;
  }
  const found = await o.devices.readDevices(o.xs, info.domid).catch(() => []);
  const byKey = new Map(Object.entries(rec.config.devices).map(([uuid, e]) => [`${e.class}/${e.config.devid ?? ''}`, uuid]));
  r.devices = found.map((d) => ({ ...d, uuid: d.uuid || byKey.get(`${d.class}/${d.devid}`) || '', config: rec.config.devices[d.uuid]?.config ?? d.config }));
  o.records.set(r.uuid, r);
  o.emitFor(r, 'domain.adopted', { data: { state: r.state, devices: r.devices.length } });
  // Its backend daemon is no child of ours now: supervised from its record all the same.
  await o.devices.adoptDevices?.(o.deviceContext(r, new AbortController().signal, Date.now() + 10_000), r.devices).catch((err: unknown) => o.log?.warn({ err, uuid: r.uuid }, 'could not adopt the backend daemon'));
  return r;
}

/** Devices, hypervisor domain, store nodes (backends included) of a domain found half made or half destroyed. */
async function tearDown(o: DomainOrchestrator, domid: number, rec: StoredDomain): Promise<void> {
  const uuid = rec.config.uuid;
  const ctx = { xs: o.xs, domid, uuid, name: rec.config.name, signal: new AbortController().signal, deadline: Date.now() + 10_000, emit: () => undefined };
  await o.devices.destroyDevices(ctx, await o.devices.readDevices(o.xs, domid).catch(() => []), { force: true }).catch(() => undefined);
  await o.hv.destroy(domid).catch(() => undefined);
  await sweepDomainLeftovers(o.xs, domid, uuid, backendDomids(rec.config), rec.vm);
}

function quarantine(o: DomainOrchestrator, info: DomainInfo, reason: string, config?: XendConfig): void {
  const cfg: XendConfig = config ?? {
    name: `quarantined-${info.domid}`,
    uuid: info.uuid,
    type: 'pv',
    memory: Math.max(1, Math.floor(info.memoryKiB / 1024)),
    maxmem: Math.max(1, Math.floor(info.maxMemoryKiB / 1024)),
    vcpus: info.onlineVcpus,
    maxvcpus: info.maxVcpuId + 1,
    image: {},
    on_poweroff: 'destroy',
    on_reboot: 'destroy',
    on_crash: 'destroy',
    devices: {},
    console_refs: [],
    vbd_refs: [],
    vif_refs: [],
    vtpm_refs: [],
  };
  const r = new DomainRecord(cfg, false, false, 0, 'quarantined');
  r.domid = info.domid;
  r.reason = reason;
  o.records.set(quarantineKey(info.domid, info.uuid), r);
  o.emitFor(r, 'domain.quarantined', { data: { reason } });
}
