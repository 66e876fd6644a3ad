// Save (xl save / xm save): the guest is suspended cooperatively (control/shutdown = "suspend",
// as libxl_dom_suspend.c does for a PV guest), its memory and vCPU state written as an xl
// image (save-image.ts around the hypervisor's libxc stream), then the domain and its devices
// are torn down. With `checkpoint` the guest carries on instead (xl save -c).
//
// Nothing is lost: the image is written to a temporary file next to the target and renamed
// into place only when whole (the commit point). Until then any failure or cancel resumes the
// guest and removes the temporary file; a daemon killed meanwhile does the same at start
// (reconcile: phase "saving"); killed after the rename, the start finishes the save instead.

import { open, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TsxError } from '../errors.js';
import type { MemoryProgress } from '../hypervisor/types.js';
import type { SaveReport, StoredDomain } from './api.js';
import type { DomainRecord } from './domain.js';
import { E_BAD_REQUEST, E_SUSPEND_TIMEOUT } from './errors.js';
import { domPath } from './layout.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { retryingXs } from './reconnect.js';
import { imageEpilogue, imagePrologue } from './save-image.js';
import { checkAllowed } from './states.js';
import type { Task } from './tasks.js';

export interface SaveOptions {
  /** Keep the guest running after the image is written (xl save -c). */
  readonly checkpoint?: boolean;
}

/** The temporary file an image is written to before it is renamed to `file`. */
export const partialImage = (file: string): string => join(dirname(file), `.${basename(file)}.tsxend-partial`);

/**
 * Asks the guest to suspend and waits until the hypervisor says it has (shutdown, reason
 * suspend). A guest that does not within the deadline has the request withdrawn and carries on.
 */
export async function suspendGuest(o: DomainOrchestrator, r: DomainRecord, signal: AbortSignal, taskId?: string): Promise<number> {
  const domid = r.domid as number;
  const path = `${domPath(domid)}/control/shutdown`;
  const suspended = async () => {
    const info = await o.hv.getInfo(domid);
    return info?.shutdown === true && info.shutdownReason === 'suspend';
  };
  const started = Date.now();
  await retryingXs(o.xs, o.opts.xsReconnectWaitMs).write(path, 'suspend');
  o.emitFor(r, 'domain.suspend-requested', { taskId });
  const deadline = started + o.opts.shutdownTimeoutMs;
  // The hypervisor's change events wake the wait; a slow poll covers a backend that has none.
  let wake: () => void = () => undefined;
  const off = o.hv.onStateChange((c) => (c.type !== 'destroyed' && c.info.domid === domid) || (c.type === 'destroyed' && c.domid === domid) ? wake() : undefined);
  try {
    while (!(await suspended())) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      if (Date.now() >= deadline) {
        await o.xs.write(path, '').catch(() => undefined);
        throw new TsxError(E_SUSPEND_TIMEOUT, `domain ${r.name} did not suspend within ${o.opts.shutdownTimeoutMs} ms (does its kernel support suspend?); it keeps running`, { details: { timeoutMs: o.opts.shutdownTimeoutMs } });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        wake = () => (clearTimeout(t), resolve());
      });
    }
  } finally {
    off();
  }
  return Date.now();
}

/**
 * A save the daemon died in (phase "saving"): its partial image goes; answers "finished" when
 * the image was committed (renamed into place: the domain is to be torn down, the image is the
 * guest now), else "resumed" (a suspended guest carries on). `domid` undefined: the domain is gone.
 */
export async function recoverSave(o: DomainOrchestrator, domid: number | undefined, rec: StoredDomain): Promise<'finished' | 'resumed'> {
  if (rec.image !== undefined) await rm(partialImage(rec.image), { force: true }).catch(() => undefined);
  if (rec.image !== undefined && (await stat(rec.image).then(() => true, () => false))) return 'finished';
  const info = domid === undefined ? undefined : await o.hv.getInfo(domid);
  if (domid !== undefined && info?.shutdown && info.shutdownReason === 'suspend') await resumeGuest(o, domid);
  return 'resumed';
}

/** The guest carries on after a suspend that did not end in a teardown (libxl_domain_resume). */
export async function resumeGuest(o: DomainOrchestrator, domid: number): Promise<void> {
  await o.hv.resume(domid);
  // xenstored clears the domain's shutdown flag and fires @releaseDomain for it no more.
  await retryingXs(o.xs, o.opts.xsReconnectWaitMs).resumeDomain(domid);
}

/** Throttles progress to what an event stream can carry: at most every 200 ms, and the last one. */
export function progressReporter(o: DomainOrchestrator, r: DomainRecord, task: Task, type: string): { report(p: MemoryProgress): void; flush(): void } {
  let last = 0;
  let pending: MemoryProgress | undefined;
  const send = (p: MemoryProgress) => {
    last = Date.now();
    pending = undefined;
    task.step('copying memory', 0.1 + 0.8 * (p.pagesTotal > 0 ? p.pagesDone / p.pagesTotal : 0));
    o.emitFor(r, type, { taskId: task.id, data: { pagesDone: p.pagesDone, pagesTotal: p.pagesTotal, bytes: p.bytes } });
  };
  return {
    report: (p) => (Date.now() - last >= 200 ? send(p) : (pending = p)),
    flush: () => pending && send(pending),
  };
}

/** Written through to the file: the hypervisor may write what follows on the same descriptor. */
function writeAll(out: Writable, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => out.write(buf, (err) => (err ? reject(err) : resolve())));
}

/** 9p (a file system shared from a VM's host) cannot take guest pages written by libxc: EFAULT. */
const V9FS_MAGIC = 0x01021997;
const directWritable = async (file: string): Promise<boolean> => (await statfs(dirname(file)).catch(() => undefined))?.type !== V9FS_MAGIC;

export async function runSave(o: DomainOrchestrator, r: DomainRecord, task: Task, file: string, options: SaveOptions): Promise<SaveReport> {
  checkAllowed('save', r.name, r.state);
  if (!file.startsWith('/')) throw new TsxError(E_BAD_REQUEST, `the image path ${JSON.stringify(file)} must be absolute (it is the daemon's file system)`, { details: { file } });
  if (await stat(file).then(() => true, () => false)) throw new TsxError(E_BAD_REQUEST, `${file} exists: tsxend does not overwrite an image`, { details: { file } });
  const domid = r.domid as number;
  const checkpoint = options.checkpoint ?? false;
  const tmp = partialImage(file);
  const prev = r.state;
  let suspendedAt: number | undefined;
  let committedAt = 0;
  // Read and write: the hypervisor writes the memory on this descriptor, and its records are walked back.
  const handle = await open(tmp, 'wx+', 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new TsxError(E_BAD_REQUEST, `cannot write the image next to ${file}: ${err.code ?? err.message}`, { details: { file, error: err.code ?? err.message } });
  });
  // The record says a save is under way before the guest is touched (see reconcile).
  o.setState(r, 'saving');
  await o.persist(r, 'saving', { image: file });
  o.emitFor(r, 'domain.saving', { taskId: task.id, outcome: 'started', data: { file, checkpoint } });
  const progress = progressReporter(o, r, task, 'save.progress');
  const prologue = imagePrologue(r.config);
  const epilogue = imageEpilogue();
  let bytes = 0;
  let pages = 0;
  try {
    const out = handle.createWriteStream({ highWaterMark: 1 << 20, autoClose: false });
    // A write that fails (ENOSPC...) fails the save below; one cut short by a cancel is moot.
    let writeError: Error | undefined;
    out.on('error', (err) => (writeError ??= err));
    try {
      await writeAll(out, prologue);
      task.step('copying memory', 0.1);
      const summary = await o.hv.saveMemory(domid, out, {
        suspend: async () => {
          task.step('suspending the guest', 0.5);
          suspendedAt = await suspendGuest(o, r, task.signal, task.id);
        },
        signal: task.signal,
        onProgress: (p) => progress.report(p),
        ...((await directWritable(file)) ? { fd: handle.fd } : {}),
      });
      progress.flush();
      await writeAll(out, epilogue);
      bytes = prologue.length + summary.bytes + epilogue.length;
      pages = summary.pages;
      task.step('writing the image to disk', 0.9);
      out.end();
      if (!out.writableFinished) await once(out, 'finish');
      if (writeError) throw writeError;
      await handle.sync();
    } finally {
      out.destroy();
      await handle.close();
    }
    // The commit point: from here the image is the guest.
    await rename(tmp, file);
    committedAt = Date.now();
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (suspendedAt !== undefined || (await o.hv.getInfo(domid))?.shutdownReason === 'suspend') await resumeGuest(o, domid).catch((e: unknown) => o.log?.error({ err: e, uuid: r.uuid }, 'could not resume the guest after a failed save'));
    o.setState(r, prev);
    await o.persist(r).catch(() => undefined);
    o.emitFor(r, 'domain.save-failed', { taskId: task.id, outcome: 'failed', data: { file, error: (err as { code?: string }).code ?? String(err) } });
    throw err;
  }
  const stopped = suspendedAt ?? committedAt;
  // Downtime: to the commit (the saved guest is the image from then), or to the resume (-c).
  let downtimeMs = committedAt - stopped;
  if (checkpoint) {
    await resumeGuest(o, domid);
    downtimeMs = Date.now() - stopped;
    o.setState(r, prev);
    await o.persist(r).catch(() => undefined);
  } else {
    task.step('destroying the saved domain', 0.95);
    await o.destroyNow(r, true);
  }
  const report: SaveReport = { uuid: r.uuid, name: r.name, file, bytes, pages, downtimeMs, checkpoint };
  o.emitFor(r, 'domain.saved', { taskId: task.id, outcome: 'ok', data: { ...report } });
  task.setResult({ ...report });
  return report;
}
