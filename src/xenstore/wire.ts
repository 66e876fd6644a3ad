// The xenstore wire format (xs_wire.h): a 16-byte little-endian header — type, req_id, tx_id,
// len — followed by exactly `len` payload bytes. Arguments are NUL-terminated strings; WRITE
// and CONTROL carry a raw tail after their first NUL. See reference xenstore.md §1.

export const HEADER_SIZE = 16;
/** XENSTORE_PAYLOAD_MAX: the most a request may carry (checked before sending). */
export const PAYLOAD_MAX = 4096;
/** oxenstored sends replies larger than 4096 on sockets; accept them up to this. */
export const CLIENT_REPLY_MAX = 1 << 20;

export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
  INVALID: 65535,
} as const;

export type XsTypeName = keyof typeof XsType;

const TYPE_NAMES = new Map<number, XsTypeName>(
  Object.entries(XsType).map(([name, value]) => [value, name as XsTypeName]),
);

export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE_${type}`;
}

/** xsd_errors[] in its order (C maps an untranslatable errno to entry 0), with Linux errnos. */
export const XS_ERRORS: readonly (readonly [name: string, errno: number])[] = [
  ['EINVAL', 22],
  ['EACCES', 13],
  ['EEXIST', 17],
  ['EISDIR', 21],
  ['ENOENT', 2],
  ['ENOMEM', 12],
  ['ENOSPC', 28],
  ['EIO', 5],
  ['ENOTEMPTY', 39],
  ['ENOSYS', 38],
  ['EROFS', 30],
  ['EBUSY', 16],
  ['EAGAIN', 11],
  ['EISCONN', 106],
  ['E2BIG', 7],
  ['EPERM', 1],
];

export interface Frame {
  readonly type: number;
  readonly reqId: number;
  readonly txId: number;
  readonly payload: Buffer;
}

/**
 * One frame. Plain byte stores, not writeUInt32LE: every request and every reply (the mock's)
 * is framed here, and the checked writes took half the time; the fields are u32 by construction.
 */
export function encodeFrame(type: number, reqId: number, txId: number, payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  putU32(buf, 0, type);
  putU32(buf, 4, reqId);
  putU32(buf, 8, txId);
  putU32(buf, 12, payload.length);
  buf.set(payload, HEADER_SIZE);
  return buf;
}

/** Little-endian u32 (the store keeps the low 8 bits of each shifted value). */
function putU32(buf: Buffer, off: number, v: number): void {
  buf[off] = v;
  buf[off + 1] = v >>> 8;
  buf[off + 2] = v >>> 16;
  buf[off + 3] = v >>> 24;
}

/** NUL-terminates each argument: args('a', 'b') = "a\0b\0". */
export function args(...parts: string[]): Buffer {
  return Buffer.from(parts.map((p) => `${p}\0`).join(''), 'utf8');
}

/** A first argument followed by a raw tail (WRITE's value, CONTROL's data). */
export function argWithTail(first: string, tail: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${first}\0`, 'utf8'), tail]);
}

/** Splits "a\0b\0" into ['a', 'b'] (a final unterminated piece is kept). */
export function splitStrings(payload: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(payload.toString('utf8', start, i));
      start = i + 1;
    }
  }
  if (start < payload.length) out.push(payload.toString('utf8', start));
  return out;
}

export class FrameTooLargeError extends Error {
  constructor(readonly length: number, readonly max: number) {
    super(`xenstore frame of ${length} bytes exceeds the ${max}-byte limit`);
  }
}

/**
 * Cuts a byte stream into frames, whatever the chunk boundaries. One decoder per connection.
 * A header announcing more than `maxPayload` throws FrameTooLargeError (the stream is then
 * unusable: the caller closes the connection).
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload: number = PAYLOAD_MAX) {}

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (this.#buf.length - off >= HEADER_SIZE) {
      const len = this.#buf.readUInt32LE(off + 12);
      if (len > this.maxPayload) throw new FrameTooLargeError(len, this.maxPayload);
      if (this.#buf.length - off < HEADER_SIZE + len) break;
      frames.push({
        type: this.#buf.readUInt32LE(off),
        reqId: this.#buf.readUInt32LE(off + 4),
        txId: this.#buf.readUInt32LE(off + 8),
        // Copy: the frame outlives the shared input buffer.
        payload: Buffer.from(this.#buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len)),
      });
      off += HEADER_SIZE + len;
    }
    this.#buf = off === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(off);
    return frames;
  }

  /**
   * Like push(), but hands each frame to `onFrame` as soon as it is cut, without copying: the
   * payload is a view that is valid only during the call. Stops when `onFrame` answers false.
   * A header announcing more than `maxPayload` throws FrameTooLargeError after the frames
   * before it were handled (a server processes those, as cxenstored does).
   */
  feed(chunk: Buffer, onFrame: (type: number, reqId: number, txId: number, payload: Buffer) => boolean): void {
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#buf = Buffer.alloc(0);
    let off = 0;
    while (buf.length - off >= HEADER_SIZE) {
      const len = buf.readUInt32LE(off + 12);
      if (len > this.maxPayload) throw new FrameTooLargeError(len, this.maxPayload);
      if (buf.length - off < HEADER_SIZE + len) break;
      const start = off;
      off += HEADER_SIZE + len;
      if (!onFrame(buf.readUInt32LE(start), buf.readUInt32LE(start + 4), buf.readUInt32LE(start + 8), buf.subarray(start + HEADER_SIZE, off))) return;
    }
    // Copy the partial frame: `chunk` belongs to the caller.
    if (off < buf.length) this.#buf = Buffer.from(buf.subarray(off));
  }

  /** Bytes received but not yet forming a whole frame. */
  get buffered(): number {
    return this.#buf.length;
  }
}
