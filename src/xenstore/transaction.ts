// transaction(fn): START, run fn with the tx id, END T; on EAGAIN redo everything (reads
// included) after a jittered, exponentially growing pause, up to a bounded number of attempts.
// When fn throws, END F discards the transaction and the error propagates unchanged.

import { isError, TsxError, E_ABORTED } from '../errors.js';
import { EAGAIN, E_XS_TX_CONFLICT } from './errors.js';
import { XsOpsImpl, type Requester } from './ops.js';
import type { Transaction, TransactionOptions } from './types.js';
import { args, splitStrings, XsType } from './wire.js';

const BASE_DELAY_MS = 1;
const MAX_DELAY_MS = 250;

class TxHandle extends XsOpsImpl implements Transaction {
  readonly #bound: Requester;
  constructor(
    readonly id: number,
    conn: Requester,
    epoch: number,
  ) {
    super(id);
    this.#bound = bindToConnection(conn, epoch);
  }
  protected client(): Requester {
    return this.#bound;
  }
}

/**
 * A transaction lives and dies with its connection: after a reconnect its requests (END F
 * included) fail DISCONNECTED locally rather than reach the new connection with a stale id.
 */
function bindToConnection(conn: Requester, epoch: number): Requester {
  return {
    epoch,
    request: (type, payload, txId, meta = {}) => conn.request(type, payload, txId, { ...meta, epoch }),
    ack: (type, payload, txId, meta = {}) => conn.ack(type, payload, txId, { ...meta, epoch }),
  };
}

export async function runTransaction<T>(
  conn: Requester,
  fn: (tx: Transaction) => Promise<T>,
  options: TransactionOptions,
  onRetry: () => void,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 32;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw cancelled();
    const epoch = conn.epoch;
    const reply = await conn.request(XsType.TRANSACTION_START, args(''), 0, { epoch });
    const id = Number(splitStrings(reply)[0]);
    const tx = new TxHandle(id, conn, epoch);
    const bound = bindToConnection(conn, epoch);
    let result: T;
    try {
      result = await fn(tx);
      // Cancelled while the body ran: discard rather than commit what the caller gave up on.
      if (options.signal?.aborted) throw cancelled();
    } catch (err) {
      await bound.ack(XsType.TRANSACTION_END, args('F'), id).catch(() => undefined);
      throw err;
    }
    try {
      await bound.ack(XsType.TRANSACTION_END, args('T'), id);
      return result;
    } catch (err) {
      if (!isError(err, EAGAIN)) throw err;
      if (attempt >= maxAttempts) {
        throw new TsxError(E_XS_TX_CONFLICT, `xenstore transaction still conflicting after ${attempt} attempts`, {
          cause: err,
          details: { attempts: attempt },
        });
      }
      onRetry();
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      await pause(Math.random() * ceiling, options.signal);
    }
  }
}

function cancelled(): TsxError {
  return new TsxError(E_ABORTED, 'xenstore transaction cancelled');
}

/** The backoff pause, cut short by the caller's signal. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
