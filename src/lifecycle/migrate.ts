// Migration, the source's side (xm migrate --live, xl migrate): the destination claims the
// domain's name, uuid and resources first (prepare); the image (the same bytes as a save's) is
// streamed to it while the guest runs (live: a first pass over memory, then the suspend and a
// short stop-and-copy); the destination restores it paused and says so (ready); only then does
// the source decide, and it decides once, in its record, before telling anyone:
//
//   migrating  → the guest is the source's: any failure aborts the destination's copy and
//                resumes the guest here (a restart does the same; the destination also drops an
//                uncommitted copy on its own when it expires)
//   migrated   → the guest is the destination's: commit it there (it unpauses), then tear the
//                source's suspended copy down; a restart retries the commit. Should the
//                destination say it no longer has the copy (it expired), the guest resumes here.
//
// The source's copy is suspended from the stop-and-copy on, and only this module resumes it, so
// the guest never runs in two places: never two guests with one disk.

import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { TsxError } from '../errors.js';
import type { MigrateReport, MigrationPeer, StoredDomain } from './api.js';
import type { DomainRecord } from './domain.js';
import { E_MIGRATION_FAILED } from './errors.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { imageEpilogue, imagePrologue } from './save-image.js';
import { progressReporter, resumeGuest, suspendGuest } from './save.js';
import { checkAllowed } from './states.js';
import type { Task } from './tasks.js';

export interface MigrateOptions {
  readonly live?: boolean;
}

const failure = (r: DomainRecord, peer: MigrationPeer, step: string, err: unknown) =>
  new TsxError(E_MIGRATION_FAILED, `migration of ${r.name} to ${peer.target.destination} failed while ${step}: ${(err as Error).message}; the guest runs here`, {
    cause: err,
    details: { destination: peer.target.destination, step, cause: (err as { code?: string }).code ?? null },
  });

export async function runMigrate(o: DomainOrchestrator, r: DomainRecord, task: Task, peer: MigrationPeer, options: MigrateOptions): Promise<MigrateReport> {
  checkAllowed('migrate', r.name, r.state);
  const domid = r.domid as number;
  const live = options.live ?? true;
  const started = Date.now();
  const prev = r.state;
  task.step('the destination claims the domain', 0.05);
  const { id } = await peer.prepare(r.config).catch((err: unknown) => {
    throw failure(r, peer, 'preparing the destination', err);
  });
  const migration = { ...peer.target, id };
  o.setState(r, 'saving', `migrating to ${peer.target.destination}`);
  await o.persist(r, 'migrating', { migration });
  o.emitFor(r, 'domain.migrating', { taskId: task.id, outcome: 'started', data: { destination: peer.target.destination, live, id } });

  let suspendedAt: number | undefined;
  let bytes = 0;
  let pages = 0;
  const progress = progressReporter(o, r, task, 'migrate.progress');
  const prologue = imagePrologue(r.config);
  const epilogue = imageEpilogue();
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  // Writes cut short when the stream is torn down on a failure are moot: the failure is the story.
  stream.on('error', () => undefined);
  try {
    task.step('copying memory', 0.1);
    const sent = peer.sendImage(id, stream);
    sent.catch(() => stream.destroy());
    const write = async (b: Buffer) => {
      if (!stream.write(b)) await Promise.race([once(stream, 'drain'), sent]);
    };
    await write(prologue);
    const summary = await o.hv.saveMemory(domid, stream, {
      live,
      suspend: async () => {
        task.step('stop-and-copy', 0.6);
        suspendedAt = await suspendGuest(o, r, task.signal, task.id);
      },
      signal: task.signal,
      onProgress: (p) => progress.report(p),
    });
    progress.flush();
    await write(epilogue);
    stream.end();
    bytes = summary.bytes;
    pages = summary.pages;
    task.step('the destination restores the domain', 0.85);
    await sent;
  } catch (err) {
    stream.destroy();
    await peer.abort(id).catch(() => undefined);
    if (suspendedAt !== undefined || (await o.hv.getInfo(domid))?.shutdownReason === 'suspend') await resumeGuest(o, domid).catch((e: unknown) => o.log?.error({ err: e, uuid: r.uuid }, 'could not resume the guest after a failed migration'));
    o.setState(r, prev);
    await o.persist(r).catch(() => undefined);
    o.emitFor(r, 'domain.migrate-failed', { taskId: task.id, outcome: 'failed', data: { destination: peer.target.destination, error: (err as { code?: string }).code ?? String(err) } });
    throw task.signal.aborted ? err : failure(r, peer, suspendedAt === undefined ? 'copying memory' : 'sending the last of it', err);
  }

  // The decision: from here the guest is the destination's.
  await o.persist(r, 'migrated', { migration });
  task.step('the guest runs on the destination', 0.95);
  const committed = await finishMigrated(o, r, peer, id);
  if (!committed) throw failure(r, peer, 'committing', new Error('the destination no longer had the domain (it expired); the guest was resumed here'));
  const report: MigrateReport = { uuid: r.uuid, name: r.name, destination: peer.target.destination, live, bytes: bytes + prologue.length + epilogue.length, pages, downtimeMs: Date.now() - (suspendedAt ?? started), totalMs: Date.now() - started };
  o.emitFor(r, 'domain.migrated', { taskId: task.id, outcome: 'ok', data: { ...report } });
  task.setResult({ ...report });
  return report;
}

/**
 * A migration the source decided (phase migrated): commit on the destination (retried while it
 * cannot be reached), then tear the source's copy down. False when the destination no longer
 * had it: the guest was resumed here instead.
 */
export async function finishMigrated(o: DomainOrchestrator, r: DomainRecord, peer: MigrationPeer, id: string): Promise<boolean> {
  let outcome: 'committed' | 'gone' | undefined;
  for (let delay = 100; outcome === undefined; delay = Math.min(5000, delay * 2)) {
    outcome = await peer.commit(id).catch((err: unknown) => {
      o.log?.warn({ err, uuid: r.uuid, destination: peer.target.destination }, 'could not commit the migration yet; retrying');
      return undefined;
    });
    if (outcome === undefined) await new Promise((res) => setTimeout(res, delay));
  }
  const domid = r.domid as number;
  if (outcome === 'gone') {
    await resumeGuest(o, domid);
    o.setState(r, 'running');
    await o.persist(r).catch(() => undefined);
    return false;
  }
  await o.destroyNow(r, true);
  if (r.managed) {
    // The config went with the guest: a definition left here could start a second copy.
    await o.store.remove(r.uuid).catch(() => undefined);
    o.records.delete(r.uuid);
    o.claims.releaseAll(r.uuid);
  }
  return true;
}

/** At start: a migration the daemon died in. Answers whether the domain was handed over (torn down here). */
export async function recoverMigration(o: DomainOrchestrator, r: DomainRecord, rec: StoredDomain): Promise<'resumed' | 'handed-over'> {
  const m = rec.migration;
  const peer = m === undefined ? undefined : o.peerFor?.(m);
  if (rec.phase === 'migrated' && peer !== undefined && m !== undefined) {
    // Retried in the background: the destination may be down for a while.
    void r.queue.run(() => finishMigrated(o, r, peer, m.id)).catch((err: unknown) => o.log?.error({ err, uuid: r.uuid }, 'could not finish the migration'));
    return 'handed-over';
  }
  // Undecided: the guest is ours. The destination drops its copy (now, or when it expires).
  if (peer !== undefined && m !== undefined) await peer.abort(m.id).catch(() => undefined);
  const info = r.domid === undefined ? undefined : await o.hv.getInfo(r.domid);
  if (r.domid !== undefined && info?.shutdown && info.shutdownReason === 'suspend') await resumeGuest(o, r.domid);
  return 'resumed';
}
