// The pipelined xenstore wire client. One connection, many requests in flight, matched by
// req_id (never by order: xenstore.txt allows any order). Watch events (type 15) are routed by
// token to their own queues and never mixed with replies, whether a daemon sends them before
// (cxenstored) or after (oxenstored) the reply of the request that caused them.
//
// On connection loss every pending request fails with TSX_ERR_XS_DISCONNECTED; when a
// reconnect function is given the client reconnects with backoff and re-registers its watches.
// Transactions are never replayed: their ids die with the connection.

import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { TsxError } from '../errors.js';
import {
  E_XS_CLOSED,
  E_XS_DISCONNECTED,
  E_XS_PAYLOAD_TOO_LARGE,
  E_XS_PROTOCOL,
  xsReplyError,
} from './errors.js';
import { XsOpsImpl } from './ops.js';
import { runTransaction } from './transaction.js';
import type {
  ConnectionEvent,
  Transaction,
  TransactionOptions,
  Watch,
  WatchOptions,
  XenstoreClient,
  XenstoreStats,
} from './types.js';
import { WatchQueue } from './watch.js';
import { args, argWithTail, CLIENT_REPLY_MAX, encodeFrame, FrameDecoder, PAYLOAD_MAX, splitStrings, typeName, XsType } from './wire.js';

export type Connect = () => Promise<Duplex>;

export interface ClientOptions {
  /** Reconnect after a loss (default true). */
  reconnect?: boolean;
  /** Called with non-fatal oddities (unknown req_id, stray events). */
  onWarning?: (message: string) => void;
}

interface Pending {
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  op: string;
  path: string | undefined;
}

/** What a request needs besides its payload: the op name and path for error messages. */
export interface RequestMeta {
  path?: string;
  /**
   * The connection a transaction started on (see `epoch`): a request bound to an earlier
   * connection fails DISCONNECTED instead of reaching a new one, where its tx id means nothing.
   */
  epoch?: number;
}

const RECONNECT_MIN_MS = 20;
const RECONNECT_MAX_MS = 2000;

export class WireClient extends XsOpsImpl implements XenstoreClient {
  readonly stats: XenstoreStats = { requests: 0, events: 0, txRetries: 0, reconnects: 0, byType: {}, waitMs: 0 };
  /** When the oldest outstanding request left (stats.waitMs). */
  #waitingSince = 0;
  #stream: Duplex | undefined;
  #decoder = new FrameDecoder(CLIENT_REPLY_MAX);
  #pending = new Map<number, Pending>();
  #nextReqId = 1;
  #corked: Duplex | undefined;
  #epoch = 0;
  #watches = new Map<string, WatchQueue>();
  #listeners = new Set<(event: ConnectionEvent) => void>();
  #closed = false;
  #tokenPrefix = `tsx-${randomBytes(4).toString('hex')}-`;
  #tokenSeq = 0;

  private constructor(
    private readonly connectFn: Connect,
    private readonly options: ClientOptions,
  ) {
    super(0);
  }

  static async open(connect: Connect, options: ClientOptions = {}): Promise<WireClient> {
    const client = new WireClient(connect, options);
    client.#attach(await connect());
    return client;
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  // ---- the request path ------------------------------------------------------------------

  /** Sends one request and resolves with the reply payload (rejects with a typed error). */
  request(type: number, payload: Buffer, txId = 0, meta: RequestMeta = {}): Promise<Buffer> {
    const op = typeName(type);
    if (this.#closed) return Promise.reject(new TsxError(E_XS_CLOSED, `xenstore ${op}: client closed`));
    if (payload.length > PAYLOAD_MAX) {
      return Promise.reject(
        new TsxError(E_XS_PAYLOAD_TOO_LARGE, `xenstore ${op}${meta.path ? ` ${meta.path}` : ''}: payload of ${payload.length} bytes exceeds ${PAYLOAD_MAX}`, {
          details: { op, bytes: payload.length, ...(meta.path ? { path: meta.path } : {}) },
        }),
      );
    }
    const stream = this.#stream;
    if (!stream || (meta.epoch !== undefined && meta.epoch !== this.#epoch)) return Promise.reject(this.#disconnectedError(op, meta.path));
    // oxenstored holds back an empty payload until more bytes arrive: always send one NUL.
    const body = payload.length === 0 ? Buffer.from([0]) : payload;
    const reqId = this.#allocReqId();
    return new Promise<Buffer>((resolve, reject) => {
      // A lone request (the sequential caller) leaves at once; with others in flight, requests
      // issued in this tick are batched.
      if (this.#pending.size > 0) this.#corkOnce(stream);
      else this.#waitingSince = performance.now();
      this.#pending.set(reqId, { resolve, reject, op, path: meta.path });
      this.stats.requests++;
      this.stats.byType[op] = (this.stats.byType[op] ?? 0) + 1;
      stream.write(encodeFrame(type, reqId, txId, body));
    });
  }

  /**
   * Requests issued in the same tick leave in one writev (one syscall) instead of one write
   * each: the pipelined case. A stream without _writev (the xenbus device, where each write
   * must be exactly one message) still gets one write per message.
   */
  #corkOnce(stream: Duplex): void {
    if (this.#corked === stream) return;
    this.#corked = stream;
    stream.cork();
    process.nextTick(() => {
      this.#corked = undefined;
      stream.uncork();
    });
  }

  #allocReqId(): number {
    // req_id 0 is what libxenstore uses; skip it so a stray reply is recognisable.
    let id = this.#nextReqId;
    while (id === 0 || this.#pending.has(id)) id = (id + 1) >>> 0;
    this.#nextReqId = (id + 1) >>> 0;
    return id;
  }

  #disconnectedError(op: string, path: string | undefined): TsxError {
    return new TsxError(E_XS_DISCONNECTED, `xenstore ${op}${path ? ` ${path}` : ''}: connection lost`, {
      details: { op, ...(path ? { path } : {}) },
    });
  }

  // ---- the connection ------------------------------------------------------------------------

  /** Counts connections: transactions are bound to the one they started on. */
  get epoch(): number {
    return this.#epoch;
  }

  #attach(stream: Duplex): void {
    this.#epoch++;
    this.#stream = stream;
    this.#decoder = new FrameDecoder(CLIENT_REPLY_MAX);
    stream.on('data', (chunk: Buffer) => this.#onData(stream, chunk));
    const lost = (err?: Error) => this.#onLost(stream, err);
    stream.once('close', () => lost());
    stream.once('end', () => lost());
    stream.on('error', (err: Error) => lost(err));
  }

  #onData(stream: Duplex, chunk: Buffer): void {
    if (stream !== this.#stream) return;
    let frames;
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      stream.destroy(err as Error);
      return;
    }
    for (const frame of frames) {
      if (frame.type === XsType.WATCH_EVENT) {
        this.#onEvent(frame.payload);
        continue;
      }
      const pending = this.#pending.get(frame.reqId);
      if (!pending) {
        this.options.onWarning?.(`reply to unknown req_id ${frame.reqId} (type ${frame.type})`);
        continue;
      }
      this.#pending.delete(frame.reqId);
      if (this.#pending.size === 0) this.stats.waitMs += performance.now() - this.#waitingSince;
      if (frame.type === XsType.ERROR) {
        const errno = frame.payload.toString('utf8').replace(/\0+$/, '');
        pending.reject(xsReplyError(errno, pending.op, pending.path));
      } else {
        pending.resolve(frame.payload);
      }
    }
  }

  #onEvent(payload: Buffer): void {
    this.stats.events++;
    const [path, token] = splitStrings(payload);
    if (path === undefined || token === undefined) {
      this.options.onWarning?.('malformed watch event');
      return;
    }
    const queue = this.#watches.get(token);
    if (queue) queue.push({ path, token });
  }

  #onLost(stream: Duplex, err?: Error): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    stream.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#disconnectedError(p.op, p.path));
    if (this.#closed) return;
    this.#emit(err ? { type: 'disconnected', error: err } : { type: 'disconnected' });
    if (this.options.reconnect !== false) void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    while (!this.#closed) {
      try {
        const stream = await this.connectFn();
        if (this.#closed) {
          stream.destroy();
          return;
        }
        this.#attach(stream);
        this.stats.reconnects++;
        // Re-register every watch at once (pipelined). A watch the daemon now refuses (EACCES,
        // a quota) ends, so its reader sees it stop; a lost connection retries the whole step.
        const queues = [...this.#watches.values()];
        const results = await Promise.allSettled(
          queues.map((q) => this.request(XsType.WATCH, args(q.path, q.token), 0, { path: q.path })),
        );
        let rewatched = 0;
        results.forEach((r, i) => {
          const queue = queues[i]!;
          if (r.status === 'fulfilled') rewatched++;
          else if (r.reason instanceof TsxError && r.reason.code === E_XS_DISCONNECTED.code) throw r.reason;
          else {
            this.options.onWarning?.(`cannot re-register the watch on ${queue.path}: ${(r.reason as Error).message}`);
            this.#watches.delete(queue.token);
            queue.end();
          }
        });
        this.#emit({ type: 'reconnected', rewatched });
        return;
      } catch {
        if (this.#stream) {
          this.#stream.destroy();
          this.#stream = undefined;
        }
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(RECONNECT_MAX_MS, delay * 2);
      }
    }
  }

  onConnectionEvent(listener: (event: ConnectionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: ConnectionEvent): void {
    for (const l of this.#listeners) l(event);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const queue of this.#watches.values()) queue.end();
    this.#watches.clear();
    const stream = this.#stream;
    this.#stream = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new TsxError(E_XS_CLOSED, `xenstore ${p.op}: client closed`));
    if (stream) {
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.end();
        setTimeout(() => {
          stream.destroy();
          resolve();
        }, 200).unref();
      });
    }
  }

  // ---- transactions and watches ----------------------------------------------------------------

  transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return runTransaction(this, fn, options, () => this.stats.txRetries++);
  }

  async watch(path: string, options: WatchOptions = {}): Promise<Watch> {
    this.checkPath(path, true);
    const token = `${this.#tokenPrefix}${++this.#tokenSeq}`;
    const queue = new WatchQueue(path, token, options.highWaterMark ?? 4096, async () => {
      this.#watches.delete(token);
      if (!this.#stream) return;
      try {
        await this.request(XsType.UNWATCH, args(path, token), 0, { path });
      } catch {
        // ENOENT (already gone, e.g. after RESET_WATCHES) or a lost connection: nothing to undo.
      }
    });
    this.#watches.set(token, queue);
    try {
      await this.request(XsType.WATCH, args(path, token), 0, { path });
    } catch (err) {
      this.#watches.delete(token);
      queue.end();
      throw err;
    }
    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) await queue.close();
      else signal.addEventListener('abort', () => void queue.close(), { once: true });
    }
    return queue;
  }

  // ---- domain management (dom0 only) -----------------------------------------------------------

  async introduceDomain(domid: number, gfn: bigint | number, evtchn: number): Promise<void> {
    await this.ack(XsType.INTRODUCE, args(String(domid), gfn.toString(), String(evtchn)));
  }

  async releaseDomain(domid: number): Promise<void> {
    await this.ack(XsType.RELEASE, args(String(domid)));
  }

  async resumeDomain(domid: number): Promise<void> {
    await this.ack(XsType.RESUME, args(String(domid)));
  }

  async setTarget(domid: number, target: number): Promise<void> {
    await this.ack(XsType.SET_TARGET, args(String(domid), String(target)));
  }

  async resetWatches(): Promise<void> {
    await this.ack(XsType.RESET_WATCHES, args(''));
  }

  control(command: string, ...rest: string[]): Promise<Buffer> {
    return this.request(XsType.CONTROL, rest.length === 0 ? args(command) : Buffer.concat([args(command), args(...rest)]));
  }

  // Features and quotas (Xen ≥ 4.18's cxenstored; 4.17 and oxenstored answer ENOSYS, typed).

  /** XS_GET_FEATURE: the feature bits of a domain (or the daemon's, without a domid). */
  async getFeature(domid?: number): Promise<number> {
    const reply = await this.request(XsType.GET_FEATURE, domid === undefined ? Buffer.alloc(0) : args(String(domid)));
    return Number(splitStrings(reply)[0]);
  }

  async setFeature(domid: number, features: number): Promise<void> {
    await this.ack(XsType.SET_FEATURE, args(String(domid), String(features)));
  }

  /** XS_GET_QUOTA: a quota's value (of a domain, or the global one). */
  async getQuota(quota: string, domid?: number): Promise<number> {
    const reply = await this.request(XsType.GET_QUOTA, domid === undefined ? args(quota) : args(String(domid), quota));
    return Number(splitStrings(reply)[0]);
  }

  async setQuota(quota: string, value: number, domid?: number): Promise<void> {
    await this.ack(XsType.SET_QUOTA, domid === undefined ? args(quota, String(value)) : args(String(domid), quota, String(value)));
  }

  /** Sends a request whose success reply must be "OK". */
  async ack(type: number, payload: Buffer, txId = 0, meta: RequestMeta = {}): Promise<void> {
    const reply = await this.request(type, payload, txId, meta);
    if (reply.toString('utf8').replace(/\0+$/, '') !== 'OK') {
      throw new TsxError(E_XS_PROTOCOL, `xenstore ${typeName(type)}: expected OK, got ${JSON.stringify(reply.toString('latin1'))}`);
    }
  }

  protected override client(): WireClient {
    return this;
  }
}

export { argWithTail };
