// The simulated hypervisor's saved memory: a libxc migration stream v3 in Xen's own framing
// (libxc-stream.ts reads it like a real one), so every layer above the hypervisor (the image
// file, its checks, progress, cancellation, migration over the network) runs the same code on
// the embedded default as on Xen. The guest's memory is sampled: one 4 KiB page per MiB of
// the domain, pfn 0 holding the simulated guest's own state (what its kernel would keep in
// RAM: its console, its uptime), the others a pattern derived from their pfn, checked on
// restore so that a corrupt image is refused as Xen's would be (libxc checks every record).

import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { E_ABORTED, TsxError } from '../errors.js';
import { copyLibxcStream, LIBXC_ID, LIBXC_MARKER, LibxcStreamError, padded, REC_END, REC_PAGE_DATA, REC_X86_PV_INFO } from '../hypervisor/libxc-stream.js';
import type { GuestType, MemoryProgress, MemoryStreamSummary } from '../hypervisor/types.js';

const PAGE = 4096;
/** Pages per PAGE_DATA record (libxc's batch size). */
const BATCH = 1024;
/** libxc's DHDR_TYPE: x86 PV 1, x86 HVM 2, x86 PVH 3. */
const DOMAIN_TYPES: Record<GuestType, number> = { pv: 1, hvm: 2, pvh: 3 };
/** The pfn type bits libxc sets on a normal page (XEN_DOMCTL_PFINFO_NOTAB). */
const PFN_MASK = (1n << 52n) - 1n;

export interface SimMemory {
  readonly type: GuestType;
  /** Pages in the sample (1 per MiB of the domain, at least 1). */
  readonly pages: number;
  /** The guest's own state, kept in pfn 0 (JSON, under one page). */
  readonly state: Record<string, unknown>;
}

export interface SimSaveOptions {
  readonly live?: boolean;
  readonly suspend: () => Promise<void>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: MemoryProgress) => void;
  /** Reads the guest's state when it is stopped (its last words before the copy). */
  readonly state: () => Record<string, unknown>;
}

export const simPages = (memoryKiB: number): number => Math.max(1, Math.floor(memoryKiB / 1024));

function pattern(pfn: number): Buffer {
  const page = Buffer.alloc(PAGE);
  for (let i = 0; i < PAGE; i += 4) page.writeUInt32LE((pfn * 2654435761 + i) >>> 0, i);
  return page;
}

function statePage(state: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(state), 'utf8');
  if (json.length + 4 > PAGE) throw new Error(`the simulated guest's state (${json.length} bytes) does not fit in a page`);
  const page = Buffer.alloc(PAGE);
  page.writeUInt32LE(json.length, 0);
  json.copy(page, 4);
  return page;
}

function record(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, Buffer.alloc(padded(body.length) - body.length)]);
}

function headers(type: GuestType): Buffer {
  const image = Buffer.alloc(24);
  image.writeBigUInt64BE(LIBXC_MARKER, 0);
  image.writeUInt32BE(LIBXC_ID, 8);
  image.writeUInt32BE(3, 12);
  const domain = Buffer.alloc(16);
  domain.writeUInt32LE(DOMAIN_TYPES[type], 0);
  domain.writeUInt16LE(12, 4);
  domain.writeUInt32LE(4, 8);
  domain.writeUInt32LE(17, 12);
  return Buffer.concat([image, domain]);
}

function pageData(pfns: number[], page: (pfn: number) => Buffer): Buffer {
  const head = Buffer.alloc(8 + 8 * pfns.length);
  head.writeUInt32LE(pfns.length, 0);
  pfns.forEach((pfn, i) => head.writeBigUInt64LE(BigInt(pfn), 8 + 8 * i));
  return record(REC_PAGE_DATA, Buffer.concat([head, ...pfns.map(page)]));
}

/**
 * Writes the stream: live, a first pass over every page while the guest runs, then the suspend
 * and a last pass over what it dirtied (an eighth, as a busy guest would); otherwise the suspend
 * first and one pass. The guest's state page goes last, read once it has stopped.
 */
export async function writeSimStream(out: Writable, mem: { type: GuestType; pages: number }, o: SimSaveOptions): Promise<MemoryStreamSummary> {
  let bytes = 0;
  let records = 0;
  let pagesDone = 0;
  const total = mem.pages * (o.live ? 2 : 1);
  const put = async (buf: Buffer, pages = 0) => {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new TsxError(E_ABORTED, 'save cancelled');
    bytes += buf.length;
    pagesDone += pages;
    if (!out.write(buf)) await once(out, 'drain');
    o.onProgress?.({ pagesDone, pagesTotal: total, bytes });
  };
  const pass = async (pfns: number[]) => {
    for (let i = 0; i < pfns.length; i += BATCH) {
      const batch = pfns.slice(i, i + BATCH);
      await put(pageData(batch, pattern), batch.length);
      records++;
    }
  };
  await put(headers(mem.type));
  const info = Buffer.alloc(8);
  info.writeUInt8(8, 0);
  info.writeUInt8(4, 1);
  await put(record(REC_X86_PV_INFO, info));
  records++;
  const all = Array.from({ length: mem.pages - 1 }, (_, i) => i + 1);
  if (o.live) {
    await pass(all);
    await o.suspend();
    await pass(all.filter((pfn) => pfn % 8 === 0));
  } else {
    await o.suspend();
    await pass(all);
  }
  await put(pageData([0], () => statePage(o.state())), 1);
  await put(record(REC_END, Buffer.alloc(0)));
  records += 2;
  return { bytes, pages: pagesDone, records };
}

/** Reads a stream written by writeSimStream exactly to its END; a bad page or record is refused with its offset. */
export async function readSimStream(input: Readable, expect: { type: GuestType }, onProgress?: (p: MemoryProgress) => void): Promise<SimMemory & MemoryStreamSummary> {
  let state: Record<string, unknown> | undefined;
  let bad: LibxcStreamError | undefined;
  const seen = new Set<number>();
  let pagesDone = 0;
  const summary = await copyLibxcStream(input, undefined, (type, body, offset) => {
    if (type !== REC_PAGE_DATA || bad) return;
    const count = body.readUInt32LE(0);
    const data = 8 + 8 * count;
    if (body.length !== data + count * PAGE) {
      bad = new LibxcStreamError(offset, `PAGE_DATA record of ${count} pages is ${body.length} bytes long`, false);
      return;
    }
    for (let i = 0; i < count; i++) {
      const pfn = Number(body.readBigUInt64LE(8 + 8 * i) & PFN_MASK);
      const page = body.subarray(data + i * PAGE, data + (i + 1) * PAGE);
      if (pfn === 0) {
        try {
          state = JSON.parse(page.subarray(4, 4 + page.readUInt32LE(0)).toString('utf8')) as Record<string, unknown>;
        } catch {
          bad = new LibxcStreamError(offset, 'the guest state page (pfn 0) is not readable', false);
        }
      } else if (!page.equals(pattern(pfn))) {
        bad = new LibxcStreamError(offset, `page ${pfn} is corrupt`, false);
      }
      seen.add(pfn);
    }
    pagesDone += count;
    onProgress?.({ pagesDone, pagesTotal: pagesDone, bytes: offset + 8 + body.length });
  });
  if (bad) throw bad;
  const type = (Object.keys(DOMAIN_TYPES) as GuestType[]).find((t) => DOMAIN_TYPES[t] === summary.domainType);
  if (type !== expect.type) throw new LibxcStreamError(24, `the stream holds a ${type ?? `type ${summary.domainType}`} domain, the config says ${expect.type}`, false);
  if (state === undefined) throw new LibxcStreamError(summary.bytes, 'the stream has no guest state page (pfn 0)', false);
  return { type, pages: seen.size, state, bytes: summary.bytes, records: summary.records };
}
