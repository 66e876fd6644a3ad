// The xenstore client contract every upper layer codes against. Implemented by the pipelined
// wire client in client.ts, over a Unix socket, /dev/xen/xenbus, or an in-memory connection
// to the embedded mock xenstored (so the mock is exercised through the same byte protocol).

/** Access letters of a xenstore permission entry: none, read, write, both. */
export type PermAccess = 'n' | 'r' | 'w' | 'b';

export interface Perm {
  readonly domid: number;
  readonly access: PermAccess;
}

/** A permission list; the first entry is the owner and the default for every unlisted domain. */
export type Perms = readonly [Perm, ...Perm[]];

export interface WatchEvent {
  /** The changed path, exactly as the daemon reported it (relative if the watch was relative). */
  readonly path: string;
  readonly token: string;
}

/** Operations that can run inside or outside a transaction. Values are UTF-8 strings. */
export interface XsOps {
  read(path: string): Promise<string>;
  readBytes(path: string): Promise<Buffer>;
  /** read() that answers undefined for ENOENT instead of throwing. */
  tryRead(path: string): Promise<string | undefined>;
  write(path: string, value: string | Buffer): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Removes the node and its subtree. A missing node whose parent exists is not an error. */
  rm(path: string): Promise<void>;
  directory(path: string): Promise<string[]>;
  /** directory() that answers undefined for ENOENT. */
  tryDirectory(path: string): Promise<string[] | undefined>;
  getPerms(path: string): Promise<Perms>;
  setPerms(path: string, perms: Perms): Promise<void>;
  getDomainPath(domid: number): Promise<string>;
  isDomainIntroduced(domid: number): Promise<boolean>;
}

export interface Transaction extends XsOps {
  readonly id: number;
}

export interface TransactionOptions {
  /** Maximum attempts before giving up with TSX_ERR_XS_TX_CONFLICT (default 32). */
  maxAttempts?: number;
  signal?: AbortSignal;
}

/** A registered watch. Events are delivered on their own channel, never mixed with replies. */
export interface Watch extends AsyncIterable<WatchEvent> {
  readonly path: string;
  readonly token: string;
  /** Unregisters (tolerating ENOENT) and ends the iterator. Safe to call twice. */
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Ends the watch when aborted. */
  signal?: AbortSignal;
  /** Events buffered per watch before the oldest are dropped and `overflowed` is set (default 4096). */
  highWaterMark?: number;
}

export interface XenstoreStats {
  /** Requests sent (round trips) since the client was opened. */
  requests: number;
  /** Watch events received. */
  events: number;
  /** Transactions retried after EAGAIN. */
  txRetries: number;
  /** Successful reconnects. */
  reconnects: number;
  /** Requests sent, by type (READ, WRITE, TRANSACTION_START, ...): where a caller's round trips go. */
  byType: Record<string, number>;
  /**
   * Milliseconds with at least one request awaiting its reply: the time spent waiting on
   * xenstored (pipelined requests overlap, so this is wall time, not a sum of latencies).
   */
  waitMs: number;
}

export type ConnectionEvent =
  | { type: 'disconnected'; error?: Error }
  | { type: 'reconnected'; rewatched: number };

export interface XenstoreClient extends XsOps {
  /** Runs fn in a transaction and commits; on EAGAIN redoes everything with jittered backoff. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  watch(path: string, options?: WatchOptions): Promise<Watch>;
  introduceDomain(domid: number, gfn: bigint | number, evtchn: number): Promise<void>;
  releaseDomain(domid: number): Promise<void>;
  resumeDomain(domid: number): Promise<void>;
  setTarget(domid: number, target: number): Promise<void>;
  resetWatches(): Promise<void>;
  /** XS_CONTROL: implementation-specific; answers the raw reply. */
  control(command: string, ...args: string[]): Promise<Buffer>;
  /** Observe connection loss and recovery (watches are re-registered automatically). */
  onConnectionEvent(listener: (event: ConnectionEvent) => void): () => void;
  readonly stats: XenstoreStats;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** Where to reach xenstore: `embedded` (in-process mock), `socket:PATH`, or `xenbus:PATH`. */
export type XenstoreTarget =
  | { kind: 'embedded' }
  | { kind: 'socket'; path: string }
  | { kind: 'xenbus'; path: string };
