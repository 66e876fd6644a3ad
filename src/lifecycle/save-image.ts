// The save image, as `xl save` writes it and `xl restore` reads it (tools/xl/xl_saverestore.c,
// docs/specs/libxl-migration-stream.pandoc), so images move between tsxend and xl both ways:
//
//   xl header    32-byte magic, u32 byte order 0x01020304, u32 mandatory flags (JSON config,
//                stream v2), u32 optional flags, u32 optional-data length; the optional data is
//                u32 length + the domain config (libxl's JSON, NUL-terminated; xl.cfg text
//                when the JSON flag is clear)
//   libxl stream "LibxlFmt", u32 version 2, u32 options (big-endian); then records (u32 type,
//                u32 length, body padded to 8): LIBXC_CONTEXT (the libxc stream follows, up to
//                its own END), emulator records for HVM, END.
//
// Migration sends the same bytes over the network. Readers report faults with the byte offset
// from the image's start; checkImage reads a whole file before anything is created.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ConfigError, formatProblem, type ConfigWarning } from '../config/errors.js';
import { parseLibxlJson, toLibxlJson } from '../config/libxl-json/index.js';
import type { XendConfig } from '../config/model.js';
import { parseXl } from '../config/xl/index.js';
import { TsxError } from '../errors.js';
import { copyLibxcStream, LibxcStreamError, readExactly } from '../hypervisor/libxc-stream.js';
import { E_BAD_IMAGE } from './errors.js';

const MAGIC = Buffer.from('Xen saved domain, xl format\n \0 \r', 'latin1');
const BYTEORDER = 0x01020304;
const FLAG_JSON = 1;
const FLAG_STREAM_V2 = 2;
const XL_HEADER_BYTES = 48;
const LIBXL_IDENT = 0x4c6962786c466d74n; // "LibxlFmt"
const LIBXL_HEADER_BYTES = 16;
/** libxl's config record is small; anything past this is not an image. */
const MAX_OPTIONAL_BYTES = 16 * 1024 * 1024;

export const LIBXL_REC = { END: 0, LIBXC_CONTEXT: 1, EMULATOR_XENSTORE_DATA: 2, EMULATOR_CONTEXT: 3, CHECKPOINT_END: 4, CHECKPOINT_STATE: 5 } as const;

export interface ImageHeader {
  readonly config: XendConfig;
  /** Config fields tsxend read but cannot honour, as the config parsers word them. */
  readonly warnings: readonly string[];
  /** Bytes of the image before the libxc stream. */
  readonly libxcOffset: number;
}

/** `offset` undefined: somewhere after the memory stream, whose length only the hypervisor saw. */
const bad = (what: string, offset: number | undefined, source: string | undefined, truncated = false) =>
  new TsxError(E_BAD_IMAGE, `${source ?? 'save image'}: ${offset === undefined ? 'after the memory stream' : `at byte ${offset}`}: ${what}`, {
    details: { ...(source === undefined ? {} : { file: source }), offset: offset ?? null, what, truncated },
  });

/** Everything before the libxc stream: the xl header with `config`, libxl's header, LIBXC_CONTEXT. */
export function imagePrologue(config: XendConfig): Buffer {
  const json = Buffer.from(`${toLibxlJson(config)}\0`, 'utf8');
  const xl = Buffer.alloc(XL_HEADER_BYTES + 4);
  MAGIC.copy(xl, 0);
  xl.writeUInt32LE(BYTEORDER, 32);
  xl.writeUInt32LE(FLAG_JSON | FLAG_STREAM_V2, 36);
  xl.writeUInt32LE(0, 40);
  xl.writeUInt32LE(4 + json.length, 44);
  xl.writeUInt32LE(json.length, 48);
  const libxl = Buffer.alloc(LIBXL_HEADER_BYTES);
  libxl.writeBigUInt64BE(LIBXL_IDENT, 0);
  libxl.writeUInt32BE(2, 8);
  libxl.writeUInt32BE(0, 12); // little-endian records
  return Buffer.concat([xl, json, libxl, libxlRecord(LIBXL_REC.LIBXC_CONTEXT)]);
}

/** What follows the libxc stream of a PV or PVH guest: libxl's END. */
export function imageEpilogue(): Buffer {
  return libxlRecord(LIBXL_REC.END);
}

function libxlRecord(type: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(type, 0);
  return b;
}

async function take(input: Readable, n: number, offset: number | undefined, what: string, source?: string): Promise<Buffer> {
  try {
    return await readExactly(input, n, offset ?? 0, what);
  } catch (err) {
    if (err instanceof LibxcStreamError) throw bad(err.what, offset, source, err.truncated);
    throw err;
  }
}

/** Reads up to the libxc stream, which `input` is left at; the config is checked as for a create. */
export async function readImageHeader(input: Readable, source?: string): Promise<ImageHeader> {
  const head = await take(input, XL_HEADER_BYTES, 0, 'xl header', source);
  if (!head.subarray(0, 32).equals(MAGIC)) throw bad('not a Xen save image (no xl header magic)', 0, source);
  if (head.readUInt32LE(32) !== BYTEORDER) throw bad('the image was written with another byte order', 32, source);
  const mandatory = head.readUInt32LE(36);
  if ((mandatory & FLAG_STREAM_V2) === 0) throw bad('a stream of version 1 (Xen before 4.6) cannot be restored', 36, source);
  if (mandatory & ~(FLAG_JSON | FLAG_STREAM_V2)) throw bad(`unknown mandatory flags 0x${mandatory.toString(16)}`, 36, source);
  const optionalFlags = head.readUInt32LE(40);
  if (optionalFlags !== 0) throw bad(`unknown optional flags 0x${optionalFlags.toString(16)}`, 40, source);
  const optionalLen = head.readUInt32LE(44);
  if (optionalLen < 4 || optionalLen > MAX_OPTIONAL_BYTES) throw bad(`optional data of ${optionalLen} bytes cannot hold a config`, 44, source);
  const optional = await take(input, optionalLen, XL_HEADER_BYTES, 'config', source);
  const configLen = optional.readUInt32LE(0);
  if (configLen + 4 > optionalLen) throw bad(`config of ${configLen} bytes overruns the optional data (${optionalLen} bytes)`, XL_HEADER_BYTES, source);
  const text = optional.subarray(4, 4 + configLen).toString('utf8');
  let parsed: { config: XendConfig; warnings: readonly ConfigWarning[] };
  try {
    parsed = mandatory & FLAG_JSON ? parseLibxlJson(text, `${source ?? 'save image'} (config)`) : parseXl(text.replace(/\0+$/, ''), `${source ?? 'save image'} (config)`);
  } catch (err) {
    if (err instanceof ConfigError) throw bad(`its config is not valid: ${err.message}`, XL_HEADER_BYTES + 4, source);
    throw err;
  }
  let offset = XL_HEADER_BYTES + optionalLen;
  const libxl = await take(input, LIBXL_HEADER_BYTES, offset, 'libxl stream header', source);
  if (libxl.readBigUInt64BE(0) !== LIBXL_IDENT) throw bad('no libxl stream header ("LibxlFmt")', offset, source);
  if (libxl.readUInt32BE(8) !== 2) throw bad(`libxl stream version ${libxl.readUInt32BE(8)} is not 2`, offset + 8, source);
  if (libxl.readUInt32BE(12) & 1) throw bad('a big-endian libxl stream cannot be restored on x86', offset + 12, source);
  offset += LIBXL_HEADER_BYTES;
  for (;;) {
    const rec = await take(input, 8, offset, 'libxl record header', source);
    const [type, length] = [rec.readUInt32LE(0), rec.readUInt32LE(4)];
    offset += 8;
    if (type === LIBXL_REC.LIBXC_CONTEXT) return { config: parsed.config, warnings: parsed.warnings.map(formatProblem), libxcOffset: offset };
    throw bad(`libxl record type ${type} (length ${length}) where the memory (LIBXC_CONTEXT) must come`, offset - 8, source);
  }
}

/**
 * Reads what follows the libxc stream up to libxl's END. Emulator records belong to HVM guests'
 * device models, which tsxend does not run: an image with them is refused.
 */
export async function readImageTrailer(input: Readable, offset: number | undefined, source?: string): Promise<number | undefined> {
  for (;;) {
    const rec = await take(input, 8, offset, 'libxl record header', source);
    const [type, length] = [rec.readUInt32LE(0), rec.readUInt32LE(4)];
    if (type === LIBXL_REC.END) return offset === undefined ? undefined : offset + 8;
    if (type === LIBXL_REC.EMULATOR_XENSTORE_DATA || type === LIBXL_REC.EMULATOR_CONTEXT) throw bad(`an emulator record (type ${type}): the image is of an HVM guest with a device model, which tsxend cannot restore`, offset, source);
    if (type === LIBXL_REC.CHECKPOINT_END || type === LIBXL_REC.CHECKPOINT_STATE) throw bad(`a checkpoint record (type ${type}): Remus/COLO streams are not images`, offset, source);
    throw bad(`unknown libxl record type ${type} (length ${length})`, offset, source);
  }
}

/** A fault the memory stream's reader found, as the image's (offset from the image's start); anything else as it is. */
export function memoryStreamError(err: unknown, header: ImageHeader, source?: string): unknown {
  return err instanceof LibxcStreamError ? bad(`memory stream: ${err.what}`, header.libxcOffset + err.offset, source, err.truncated) : err;
}

/** Reads the whole libxc stream framing from the header's end (nothing is restored). */
export async function skimLibxcStream(input: Readable, header: ImageHeader, source?: string): Promise<number> {
  try {
    const s = await copyLibxcStream(input, undefined);
    return header.libxcOffset + s.bytes;
  } catch (err) {
    throw memoryStreamError(err, header, source);
  }
}

async function atEnd(input: Readable): Promise<boolean> {
  for (;;) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) return chunk.length === 0;
    if (input.readableEnded) return true;
    await new Promise<void>((resolve) => {
      const done = () => (input.off('readable', done), input.off('end', done), resolve());
      input.on('readable', done);
      input.on('end', done);
    });
  }
}

/** A whole image file read and checked, before a restore creates anything. */
export async function checkImage(path: string): Promise<ImageHeader & { bytes: number }> {
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened.catch((err: NodeJS.ErrnoException) => {
      throw new TsxError(E_BAD_IMAGE, `${path}: cannot open the image: ${err.code ?? err.message}`, { details: { file: path, offset: 0, what: err.code ?? err.message, truncated: false } });
    });
    const header = await readImageHeader(input, path);
    const end = (await readImageTrailer(input, await skimLibxcStream(input, header, path), path)) as number;
    if (!(await atEnd(input))) throw bad("bytes after libxl's END record", end, path);
    return { ...header, bytes: end };
  } finally {
    input.destroy();
  }
}
