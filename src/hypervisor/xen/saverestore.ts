// A domain's memory and vCPU state out of Xen and back, as libxl does it: libxl-save-helper
// runs xc_domain_save / xc_domain_restore (save-helper.ts), the stream passes through here
// checked record by record (libxc-stream.ts), and the toolstack's part around it is libxl's:
// the guest is suspended when libxc asks (not before: a live save copies memory first), and a
// restored domain gets libxl__build_pre's setup, with the CPU policy from the stream or, for a
// stream older than Xen 4.14 that lacks it, the policy libxl would derive (static_data_done).

import { fstatSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { TsxError } from '../../errors.js';
import { copyLibxcStream, LibxcStreamError, REC_X86_PV_INFO, scanLibxcStreamFile } from '../libxc-stream.js';
import { E_XEN_SAVE_HELPER, E_XEN_UNSUPPORTED } from '../errors.js';
import type { BuildResult, MemoryStreamSummary, RestoreMemorySpec, SaveMemoryOptions } from '../types.js';
import type { Xc } from './binding.js';
import { buildPre, type DomainFacts } from './build.js';
import { startRestoreHelper, startSaveHelper, XGR_SDD_MISSING_CPUID, type HelperLog } from './save-helper.js';

/** Xen's own: libxl-save-helper's path (the default is Debian's). */
export type XenSaveMemoryOptions = SaveMemoryOptions & { readonly onLog?: (entry: HelperLog) => void; readonly helper?: string };

/**
 * A live save needs Xen to track the pages the guest dirties. For a PV guest that is shadow
 * paging's log-dirty mode, which a Xen built without CONFIG_SHADOW_PAGING (Debian's 4.17) does
 * not have: `xl migrate` fails there the same way. A stop-and-copy needs none of it.
 */
const noLogDirty = (domid: number, err: unknown) =>
  new TsxError(E_XEN_UNSUPPORTED, `live save of domain ${domid}: this hypervisor cannot track the guest's dirty pages (log-dirty mode; a PV guest needs Xen built with shadow paging), so it cannot be copied while it runs; migrate it with --no-live (stop and copy)`, {
    cause: err,
    details: { domid, op: 'save', live: true, helper: (err as { details?: unknown }).details ?? null },
  });

const streamFailure = (op: 'save' | 'restore', domid: number, err: LibxcStreamError) =>
  new TsxError(E_XEN_SAVE_HELPER, `${op} of domain ${domid}: ${err.message}`, {
    details: { op, domid, offset: err.offset, truncated: err.truncated },
  });

/** Writes the libxc stream of `domid` to `out` (which stays open: the caller frames it). */
export async function saveMemory(domid: number, out: Writable, options: XenSaveMemoryOptions): Promise<MemoryStreamSummary> {
  let suspendError: unknown;
  let pagesTotal = 0;
  let pagesDone = 0;
  // Given the image file itself, the helper writes it as libxc does for xl (no copy through
  // this process: under load, or an emulated CPU, that copy was most of a save's time).
  const direct = options.fd;
  const start = direct === undefined ? 0 : fstatSync(direct).size;
  const written = () => (direct === undefined ? 0 : fstatSync(direct).size - start);
  const run = startSaveHelper({
    ...(options.helper ? { path: options.helper } : {}),
    ...(direct === undefined ? {} : { fd: direct }),
    domid,
    live: options.live ?? false,
    hooks: {
      suspend: async () => {
        try {
          await options.suspend();
          return true;
        } catch (err) {
          suspendError = err;
          return false;
        }
      },
      progress: (p) => {
        pagesDone = Number(p.done);
        pagesTotal = Number(p.total);
        if (direct !== undefined) options.onProgress?.({ pagesDone, pagesTotal, bytes: written() });
      },
      ...(options.onLog ? { log: options.onLog } : {}),
    },
  });
  const stop = () => run.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  let bytes = 0;
  const io = run.io;
  // At the helper's exit Node resumes each of its pipes that has no 'readable' listener, and
  // drops what nobody read: the last records, still in the pipe while the copy waits on a slow
  // reader (a migration's network). Held until the copy is over, then drained to its end.
  const hold = () => undefined;
  io?.on('readable', hold);
  const copied: Promise<MemoryStreamSummary | Error> = io
    ? copyLibxcStream(io, out, (_type, body) => {
        bytes += 8 + body.length;
        options.onProgress?.({ pagesDone, pagesTotal, bytes });
      })
        .catch((err: unknown) => err as Error)
        .finally(() => {
          io.off('readable', hold);
          io.resume();
        })
    : run.done.then(
        () => {
          try {
            return scanLibxcStreamFile(direct as number, start);
          } catch (err) {
            return err as Error;
          }
        },
        (err: unknown) => err as Error,
      );
  try {
    await run.done;
  } catch (err) {
    // The guest's refusal is the story, not the helper's "suspend() failed".
    if (suspendError !== undefined) throw suspendError as Error;
    if (options.live && /Failed to enable logdirty/.test((err as Error).message)) throw noLogDirty(domid, err);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
  const summary = await copied;
  if (summary instanceof LibxcStreamError) throw streamFailure('save', domid, summary);
  if (summary instanceof Error) throw summary;
  return summary;
}

/**
 * Restores a libxc stream read from `input` (exactly: what follows its END record stays in
 * `input`) into the empty domain `domid`, created as for a build.
 */
export async function restoreMemory(xc: Xc, domid: number, input: Readable, spec: RestoreMemorySpec, facts: DomainFacts, helper?: string): Promise<BuildResult> {
  buildPre(xc, domid, spec, facts, { restore: true });
  const run = startRestoreHelper({
    ...(helper ? { path: helper } : {}),
    domid,
    storeEvtchn: spec.storeEvtchn,
    consoleEvtchn: spec.consoleEvtchn,
    hooks: {
      // libxl__srm_callout_callback_static_data_done: a pre-4.14 stream carries no CPU policy.
      // A failure throws, which the driver answers -1 with (the restore then fails).
      staticDataDone: async (missing) => {
        if (missing & XGR_SDD_MISSING_CPUID) xc.callRc('xc_cpuid_apply_policy', domid, domid, true, null, 0, true, false, false, null, null);
        return 0;
      },
    },
  });
  let guestWidth = 8;
  // Restores always feed the helper through a pipe: the stream is checked on its way in.
  const io = run.io as NonNullable<typeof run.io>;
  const copied = copyLibxcStream(input, io, (type, body) => {
    if (type === REC_X86_PV_INFO && body.length >= 1) guestWidth = body[0] ?? 8;
  }).then(
    (s) => {
      io.end();
      return s;
    },
    (err: unknown) => {
      run.stop();
      return err as Error;
    },
  );
  const outcome = await run.done.catch(async (err: unknown) => {
    // A bad stream makes the helper fail too: report the stream's own fault.
    const c = await copied;
    throw c instanceof LibxcStreamError ? streamFailure('restore', domid, c) : err;
  });
  const summary = await copied;
  if (summary instanceof LibxcStreamError) throw streamFailure('restore', domid, summary);
  if (summary instanceof Error) throw summary;
  if (outcome.storeGfn === undefined || outcome.consoleGfn === undefined) {
    throw new TsxError(E_XEN_SAVE_HELPER, `restore of domain ${domid}: the helper completed without the store and console frames`, { details: { op: 'restore', domid } });
  }
  return { storeGfn: outcome.storeGfn, consoleGfn: outcome.consoleGfn, protocol: guestWidth === 4 ? 'x86_32-abi' : 'x86_64-abi' };
}
