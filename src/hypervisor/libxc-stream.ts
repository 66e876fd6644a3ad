// The framing of libxc's migration stream v2 (docs/specs/libxc-migration-stream.pandoc): an
// image header (big-endian: u64 marker ~0, u32 "XENF", u32 version, u16 options, 6 reserved
// bytes), a domain header (u32 type, u16 page shift, u16 reserved, u32 Xen major, u32 minor),
// then records (u32 type, u32 length, the body padded to 8 bytes) up to an END record.
//
// A libxc stream sits inside libxl's stream (its LIBXC_CONTEXT record has no length: the libxc
// stream follows it and ends with its own END), so whoever reads an image must hand exactly the
// libxc stream to libxc and keep what follows. copyLibxcStream does that from any Readable,
// reading exactly as far as the END record and leaving the rest buffered in the Readable.

import { once } from 'node:events';
import { readSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

export const LIBXC_MARKER = 0xffffffffffffffffn;
export const LIBXC_ID = 0x58454e46; // "XENF"
export const LIBXC_IMAGE_HEADER_BYTES = 24;
export const LIBXC_DOMAIN_HEADER_BYTES = 16;
export const REC_END = 0;
export const REC_PAGE_DATA = 1;
/** u8 guest width (8 for a 64-bit guest), u8 page-table levels, 6 reserved bytes. */
export const REC_X86_PV_INFO = 2;
/** The largest record libxc writes is a batch of 1024 pages; anything far past that is garbage. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Where a stream is malformed: the byte offset (from the libxc stream's start) and what was wrong. */
export class LibxcStreamError extends Error {
  constructor(
    readonly offset: number,
    readonly what: string,
    readonly truncated: boolean,
  ) {
    super(`libxc stream at byte ${offset}: ${what}`);
    this.name = 'LibxcStreamError';
  }
}

export const padded = (length: number): number => length + ((8 - (length % 8)) % 8);

/**
 * Reads exactly `n` bytes (a short read only at the stream's end, which is an error here); the
 * Readable keeps whatever follows.
 */
export async function readExactly(input: Readable, n: number, offset: number, what: string): Promise<Buffer> {
  if (n === 0) return Buffer.alloc(0);
  // Whole chunks, the surplus handed back: read(n) answers null for a short tail a stream has
  // not yet found the end of, and waiting for 'readable' there spins without end.
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) {
      parts.push(chunk);
      have += chunk.length;
      continue;
    }
    if (input.readableEnded || input.destroyed) {
      throw new LibxcStreamError(offset, have === 0 ? `${what}: the stream ends here` : `${what}: the stream ends after ${have} of ${n} bytes`, true);
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        input.off('readable', done);
        input.off('end', done);
        input.off('close', done);
        input.off('error', fail);
        resolve();
      };
      const fail = (err: Error) => {
        done();
        reject(err);
      };
      input.once('readable', done);
      input.once('end', done);
      input.once('close', done);
      input.once('error', fail);
    });
  }
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (all.length > n) input.unshift(all.subarray(n));
  return all.subarray(0, n);
}

export interface LibxcStreamSummary {
  readonly bytes: number;
  readonly pages: number;
  readonly records: number;
  /** The domain header's type: 1 x86 PV, 2 x86 HVM, 3 x86 PVH, 4 ARM. */
  readonly domainType: number;
  readonly xenVersion: string;
}

/**
 * Copies one libxc stream from `input` to `out` (when given), checking its framing as it goes,
 * and stops right after its END record. `onRecord` sees each record (type, unpadded body, offset).
 */
export async function copyLibxcStream(
  input: Readable,
  out: Writable | undefined,
  onRecord?: (type: number, body: Buffer, offset: number) => void,
): Promise<LibxcStreamSummary> {
  let offset = 0;
  const put = async (buf: Buffer) => {
    offset += buf.length;
    if (out && !out.write(buf)) await once(out, 'drain');
  };
  const image = await readExactly(input, LIBXC_IMAGE_HEADER_BYTES, offset, 'image header');
  if (image.readBigUInt64BE(0) !== LIBXC_MARKER) throw new LibxcStreamError(0, 'no libxc image header (bad marker)', false);
  if (image.readUInt32BE(8) !== LIBXC_ID) throw new LibxcStreamError(8, `image header id 0x${image.readUInt32BE(8).toString(16)} is not "XENF"`, false);
  const version = image.readUInt32BE(12);
  if (version < 2 || version > 3) throw new LibxcStreamError(12, `image version ${version} is not 2 or 3`, false);
  if (image.readUInt16BE(16) & 1) throw new LibxcStreamError(16, 'a big-endian stream cannot be restored on x86', false);
  await put(image);
  const domain = await readExactly(input, LIBXC_DOMAIN_HEADER_BYTES, offset, 'domain header');
  const domainType = domain.readUInt32LE(0);
  const xenVersion = `${domain.readUInt32LE(8)}.${domain.readUInt32LE(12)}`;
  await put(domain);
  let pages = 0;
  let records = 0;
  for (;;) {
    const at = offset;
    const header = await readExactly(input, 8, at, `record ${records + 1} header`);
    const type = header.readUInt32LE(0);
    const length = header.readUInt32LE(4);
    if (length > MAX_RECORD_BYTES) throw new LibxcStreamError(at + 4, `record ${records + 1} (type ${type}) claims ${length} bytes`, false);
    await put(header);
    const body = await readExactly(input, padded(length), offset, `record ${records + 1} (type ${type}) body`);
    onRecord?.(type, body.subarray(0, length), at);
    await put(body);
    records++;
    if (type === REC_PAGE_DATA && length >= 8) pages += body.readUInt32LE(0);
    if (type === REC_END) return { bytes: offset, pages, records, domainType, xenVersion };
  }
}

/**
 * Walks a libxc stream written to a file at `offset` by its record headers alone (a few reads
 * for a whole guest: the pages are skipped), checking its framing to the END record.
 */
export function scanLibxcStreamFile(fd: number, offset: number): LibxcStreamSummary {
  const at = (pos: number, n: number, what: string): Buffer => {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, offset + pos);
    if (got < n) throw new LibxcStreamError(pos, `${what}: the stream ends after ${got} of ${n} bytes`, true);
    return b;
  };
  const image = at(0, LIBXC_IMAGE_HEADER_BYTES, 'image header');
  if (image.readBigUInt64BE(0) !== LIBXC_MARKER || image.readUInt32BE(8) !== LIBXC_ID) throw new LibxcStreamError(0, 'no libxc image header', false);
  const domain = at(LIBXC_IMAGE_HEADER_BYTES, LIBXC_DOMAIN_HEADER_BYTES, 'domain header');
  let pos = LIBXC_IMAGE_HEADER_BYTES + LIBXC_DOMAIN_HEADER_BYTES;
  let pages = 0;
  for (let records = 1; ; records++) {
    const header = at(pos, 8, `record ${records} header`);
    const [type, length] = [header.readUInt32LE(0), header.readUInt32LE(4)];
    if (length > MAX_RECORD_BYTES) throw new LibxcStreamError(pos + 4, `record ${records} (type ${type}) claims ${length} bytes`, false);
    if (type === REC_PAGE_DATA && length >= 8) pages += at(pos + 8, 4, `record ${records} page count`).readUInt32LE(0);
    pos += 8 + padded(length);
    if (type === REC_END) return { bytes: pos, pages, records, domainType: domain.readUInt32LE(0), xenVersion: `${domain.readUInt32LE(8)}.${domain.readUInt32LE(12)}` };
  }
}
