// One client connection of the mock xenstored: its identity (privileged socket/dom0, or an
// unprivileged domain), its watches and transactions, the incoming byte stream cut into
// requests, and the outgoing queue where watch events and replies wait to be written.
//
// Framing (the shared FrameDecoder of ../wire.ts) is cxenstored's: a header whose `len` exceeds 4096 closes the connection at once,
// silently; a zero-length payload is a complete request. Requests run one at a time in
// arrival order; everything a batch of input produced is written in one go.

import { encodeFrame, FrameDecoder, FrameTooLargeError, PAYLOAD_MAX, XsType } from '../wire.js';
import type { Transaction } from './transactions.js';
import type { Caller, Limits } from './tree.js';
import type { Watch, WatchOwner } from './watches.js';

export { PAYLOAD_MAX };

/** Where a connection's output goes (a socket, or the readable side of an in-memory duplex). */
export interface Sink {
  write(buf: Buffer): void;
  /** True while written bytes are still waiting in user space (C's out_list not empty). */
  backlogged(): boolean;
  /** Closes the stream, silently (C just closes the fd). */
  close(): void;
}

export interface RequestHandler {
  process(conn: MockConnection, type: number, reqId: number, txId: number, payload: Buffer): void;
  /** Called after a batch of requests: writes every connection's queued output. */
  flush(): void;
  closed(conn: MockConnection): void;
}

export class MockConnection implements Caller, WatchOwner {
  readonly home: string;
  readonly watches = new Set<Watch<MockConnection>>();
  readonly transactions = new Map<number, Transaction>();
  nextTxId = 1;
  /** Set while a request runs inside a transaction. */
  current: Transaction | undefined;
  /** Node-name argument → its canonical, valid path (handlers.ts nodeName()). */
  readonly nodeNames = new Map<string, string>();
  closedFlag = false;
  /** Listed in the core's queue of connections to flush. */
  dirty = false;

  private out: Buffer[] = [];
  private readonly queuedEvents = new Set<string>();
  private readonly decoder = new FrameDecoder(PAYLOAD_MAX);

  constructor(
    readonly connId: number,
    readonly domid: number,
    readonly privileged: boolean,
    readonly limits: Limits,
    private readonly targetOf: (domid: number) => number | undefined,
    private readonly sink: Sink,
    private readonly handler: RequestHandler,
  ) {
    this.home = `/local/domain/${domid}`;
  }

  get target(): number | undefined {
    return this.privileged ? undefined : this.targetOf(this.domid);
  }

  /** Requests run so far (receive() flushes when its chunk ran any). */
  private processed = 0;
  /** The decoder's callback, made once rather than per chunk. */
  private readonly onFrame = (type: number, reqId: number, txId: number, payload: Buffer): boolean => {
    this.handler.process(this, type, reqId, txId, payload);
    this.processed++;
    return !this.closedFlag;
  };

  /** Feeds bytes from the client; runs every complete request in them. */
  receive(chunk: Buffer): void {
    if (this.closedFlag) return;
    const before = this.processed;
    try {
      this.decoder.feed(chunk, this.onFrame);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) throw err;
      // cxenstored drops the connection as soon as it has read such a header; replies to
      // requests that arrived with it were still queued and are lost with it.
      this.close();
      this.handler.flush();
      return;
    }
    if (this.processed !== before) this.handler.flush();
  }

  /** Queues a reply (or error) to the request that is running. */
  reply(type: number, reqId: number, txId: number, payload: Buffer): void {
    this.out.push(encodeFrame(type, reqId, txId, payload));
  }

  /**
   * Queues a watch event `path\0token\0`. Like C, an event identical to one still waiting in
   * the output queue is dropped (`@` names excepted), and one over 4096 bytes is never sent.
   */
  event(path: string, token: string): boolean {
    const key = `${path}\0${token}\0`;
    const len = Buffer.byteLength(key, 'latin1');
    if (len > PAYLOAD_MAX) return false;
    if (path.charCodeAt(0) !== 0x40) {
      if (this.queuedEvents.has(key)) return false;
      this.queuedEvents.add(key);
    }
    this.out.push(encodeFrame(XsType.WATCH_EVENT, 0, 0, Buffer.from(key, 'latin1')));
    return true;
  }

  get hasOutput(): boolean {
    return this.out.length > 0;
  }

  /** Writes everything queued. */
  flush(): void {
    if (this.closedFlag || this.out.length === 0) return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    this.sink.write(data);
    if (this.queuedEvents.size > 0 && !this.sink.backlogged()) this.queuedEvents.clear();
  }

  /** The sink drained: nothing waits in user space any more. */
  drained(): void {
    this.queuedEvents.clear();
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.out = [];
    this.sink.close();
    this.handler.closed(this);
  }

  /** The peer went away. */
  ended(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.out = [];
    this.handler.closed(this);
  }
}
