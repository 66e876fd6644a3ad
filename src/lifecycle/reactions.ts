// What happens when a domain shuts down or crashes (xend.md §1.9): the reason picks the
// on_poweroff / on_reboot / on_crash action; a requested `halt` always destroys; `suspend`
// leaves the domain shut down. Restarts are refused when the domain ran less than the minimum
// interval (xend's loop guard). Core dumps are recorded as events (the simulation has no memory).

import type { RestartAction } from '../config/model.js';
import type { DomainInfo } from '../hypervisor/types.js';
import type { DomainRecord } from './domain.js';
import type { DomainOrchestrator } from './orchestrator.js';

export async function reactToShutdown(o: DomainOrchestrator, r: DomainRecord, info: DomainInfo): Promise<void> {
  if (r.domid !== info.domid || r.state === 'shutdown' || r.state === 'crashed' || r.state === 'dying') return;
  const reason = info.crashed ? 'crash' : (info.shutdownReason ?? 'poweroff');
  r.shutdownReason = reason;
  await o.xs.write(`${r.vmPath}/xend/last_shutdown_reason`, reason).catch(() => undefined);
  o.setState(r, reason === 'crash' ? 'crashed' : 'shutdown', `guest ${reason}`);
  o.emitFor(r, reason === 'crash' ? 'domain.crashed' : 'domain.shutdown', { data: { reason } });

  let action: RestartAction;
  if (reason === 'suspend') {
    o.settle(r);
    return;
  } else if (r.requestedShutdown === 'halt') action = 'destroy';
  else if (reason === 'reboot') action = r.config.on_reboot;
  else if (reason === 'crash' || reason === 'watchdog') action = r.config.on_crash;
  else action = r.config.on_poweroff;
  r.requestedShutdown = undefined;
  o.emitFor(r, 'domain.action', { data: { reason, action } });

  if (action === 'coredump-destroy' || action === 'coredump-restart') {
    o.emitFor(r, 'domain.coredump', { data: { path: `/var/xen/dump/${r.name}/${r.domid}.core`, simulated: o.hv.kind === 'simulated' } });
  }
  if (action === 'preserve') {
    await o.xs.write(`${r.vmPath}/xend/shutdown_completed`, 'True').catch(() => undefined);
    o.emitFor(r, 'domain.preserved');
    o.settle(r);
    return;
  }
  if (action === 'rename-restart') {
    await renameRestart(o, r);
    return;
  }
  const restart = action === 'restart' || action === 'coredump-restart';
  const ranMs = Date.now() - r.startedAt;
  const config = r.config;
  const managed = r.managed;
  try {
    await o.destroyNow(r, true);
  } catch (err) {
    o.log?.error({ err, uuid: r.uuid }, 'destroy after shutdown was partial');
    return;
  }
  if (!restart) return;
  if (ranMs < o.opts.minRestartIntervalMs) {
    o.emit({ type: 'domain.restart-refused', uuid: config.uuid, name: config.name, data: { reason: `ran ${ranMs} ms, less than ${o.opts.minRestartIntervalMs} ms: restarting too fast` } });
    return;
  }
  o.emit({ type: 'domain.restarting', uuid: config.uuid, name: config.name, data: { reason } });
  // The restart is a new create on its own task; it queues behind this reaction.
  const op = managed ? o.startDomain(config.uuid) : o.createDomain(config);
  op.done.catch((err: unknown) => o.log?.error({ err, uuid: config.uuid }, 'restart failed'));
}

/** The corpse keeps its domid under a new name and uuid; the domain restarts under its own. */
async function renameRestart(o: DomainOrchestrator, r: DomainRecord): Promise<void> {
  const config = r.config;
  const newUuid = globalThis.crypto.randomUUID();
  const corpseName = `Domain-${newUuid}`;
  o.records.delete(r.uuid);
  o.claims.releaseAll(r.uuid);
  const oldUuid = r.uuid;
  r.config = { ...config, uuid: newUuid, name: corpseName, devices: {} };
  r.managed = false;
  o.claims.claimConfig(newUuid, r.config);
  o.records.set(newUuid, r);
  if (r.domid !== undefined) await o.xs.write(`/local/domain/${r.domid}/name`, corpseName).catch(() => undefined);
  o.emit({ type: 'domain.renamed', domid: r.domid, uuid: newUuid, name: corpseName, data: { from: config.name, fromUuid: oldUuid } });
  o.settle(r);
  const op = o.createDomain(config);
  op.done.catch((err: unknown) => o.log?.error({ err, uuid: config.uuid }, 'rename-restart failed'));
}
