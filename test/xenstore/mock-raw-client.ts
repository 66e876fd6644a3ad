// A byte-level xenstore test client: sends hand-made frames and hands back every message the
// daemon sends, raw, in order. The mock and conformance suites use it to compare exact reply
// bytes, so it deliberately does no protocol interpretation beyond cutting frames.

import { connect as netConnect } from 'node:net';
import { afterEach } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import type { Duplex } from 'node:stream';
import { XsType } from '../../src/xenstore/wire.js';

export interface RawMessage {
  readonly type: number;
  readonly reqId: number;
  readonly txId: number;
  readonly payload: Buffer;
  /** Header + payload exactly as received. */
  readonly bytes: Buffer;
}

export interface Exchange {
  /** Watch events received before the reply (C queues a request's events first). */
  readonly events: RawMessage[];
  readonly reply: RawMessage;
}

/** The message types (the one table, in src/xenstore/wire.ts). */
export const T = XsType;

export function frame(type: number, payload: Buffer | string, reqId = 0, txId = 0, len?: number): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type >>> 0, 0);
  h.writeUInt32LE(reqId >>> 0, 4);
  h.writeUInt32LE(txId >>> 0, 8);
  h.writeUInt32LE((len ?? p.length) >>> 0, 12);
  return Buffer.concat([h, p]);
}

/** A WRITE payload: `path\0value`. */
export function wv(path: string, value: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(path, 'latin1'), Buffer.of(0), typeof value === 'string' ? Buffer.from(value, 'latin1') : value]);
}

/** NUL-joined arguments, each terminated: args('a','b') = "a\0b\0". */
export function args(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => [typeof p === 'string' ? Buffer.from(p, 'latin1') : p, Buffer.of(0)]));
}

export class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly queue: RawMessage[] = [];
  private waiter: (() => void) | undefined;
  ended = false;
  private nextReq = 1;

  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      while (this.buf.length >= 16) {
        const len = this.buf.readUInt32LE(12);
        if (this.buf.length < 16 + len) break;
        const bytes = Buffer.from(this.buf.subarray(0, 16 + len));
        this.buf = this.buf.subarray(16 + len);
        this.queue.push({
          type: bytes.readUInt32LE(0),
          reqId: bytes.readUInt32LE(4),
          txId: bytes.readUInt32LE(8),
          payload: bytes.subarray(16),
          bytes,
        });
      }
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  static socket(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  write(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** Next message, or undefined after `ms` or at end of stream. */
  async next(ms = 2000): Promise<RawMessage | undefined> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift();
  }

  /** Sends one request and collects events up to (and including) its reply. */
  async request(type: number, payload: Buffer | string, opts: { txId?: number; reqId?: number } = {}): Promise<Exchange> {
    const reqId = opts.reqId ?? this.nextReq++;
    this.write(frame(type, payload, reqId, opts.txId ?? 0));
    const events: RawMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) throw new Error(`no reply to type ${type} (${this.ended ? 'connection closed' : 'timeout'})`);
      if (m.type === T.WATCH_EVENT) events.push(m);
      else return { events, reply: m };
    }
  }

  /** Messages that arrive within `ms` (events sent after a reply, e.g. a watch's first one). */
  async drain(ms = 50): Promise<RawMessage[]> {
    const out: RawMessage[] = [];
    for (;;) {
      const m = await this.next(ms);
      if (!m) return out;
      out.push(m);
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

/** "path|token|" of an event as a readable pair. */
export function eventPair(m: RawMessage): string {
  return m.payload.toString('latin1').replace(/\0/g, '|');
}

export function text(m: RawMessage): string {
  return m.payload.toString('latin1');
}

/** A reply as a short string: `OK`, `ERROR ENOENT`, or the payload with NULs shown as `|`. */
export function show(m: RawMessage): string {
  const s = m.payload.toString('latin1');
  if (m.type === T.ERROR) return `ERROR ${s.replace(/\0$/, '')}`;
  if (s === 'OK\0') return 'OK';
  return s.replace(/\0/g, '|');
}

/** A fresh mock per test and the raw clients on it; all are closed after each test. */
export class MockPerTest {
  #xs: MockXenstored | undefined;
  readonly #clients: RawClient[] = [];

  start(limits?: ConstructorParameters<typeof MockXenstored>[0]): MockXenstored {
    this.#xs = new MockXenstored(limits);
    return this.#xs;
  }

  /** A connection as dom0, or as domain `domid`. */
  client(domid?: number): RawClient {
    if (this.#xs === undefined) throw new Error('MockPerTest: start() before client()');
    const c = new RawClient(this.#xs.connect(domid === undefined ? {} : { domid }));
    this.#clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.close();
    await this.#xs?.close();
    this.#xs = undefined;
  }
}

export function mockPerTest(): MockPerTest {
  const m = new MockPerTest();
  afterEach(() => m.close());
  return m;
}
