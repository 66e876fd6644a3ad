// Riding out a xenstored restart. The wire client fails every request fast while it is
// disconnected (TSX_ERR_XS_DISCONNECTED); what must not be left half done — a rollback, a
// destroy, the clean-up after one — goes through a client that waits (bounded) for the
// reconnection and retries. Every step retried this way is idempotent: removes of absent
// nodes are no-ops, state writes are the same write again, transactions re-run whole.

import { hasTsxCode } from '../errors.js';
import { E_XS_DISCONNECTED } from '../xenstore/errors.js';
import type { XendConfig } from '../config/model.js';
import type { XenstoreClient } from '../xenstore/types.js';
import { isVmPathOf, removeDomainNodes, rmQuiet, vmPathIn } from './layout.js';

/** Resolves true once `xs` is connected, false when `deadline` (ms since epoch) passes first. */
export function waitConnected(xs: XenstoreClient, deadline: number): Promise<boolean> {
  if (xs.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let off: () => void = () => undefined;
    const done = (ok: boolean) => {
      off();
      for (const t of timers) clearTimeout(t);
      resolve(ok);
    };
    off = xs.onConnectionEvent((e) => {
      if (e.type === 'reconnected') done(true);
    });
    // `connected` turns true before the watches are re-registered; the event comes after. A
    // short poll also covers a client that reconnected between the check above and the listener.
    timers.push(
      setInterval(() => {
        if (xs.connected) done(true);
      }, 25),
      setTimeout(() => done(xs.connected), Math.max(0, deadline - Date.now())),
    );
  });
}

const isDisconnected = (err: unknown): boolean => hasTsxCode(err) && err.code === E_XS_DISCONNECTED.code;

/**
 * `xs` whose calls, while `active()`, wait for a lost connection to come back and retry. One
 * budget of `waitMs` per client made here, counted from the first loss it meets: an operation
 * made of many calls waits at most that long in all, never that long per call.
 */
export function retryingXs(xs: XenstoreClient, waitMs: number, active: () => boolean = () => true): XenstoreClient {
  let giveUpAt: number | undefined;
  const retry = async <T>(call: () => Promise<T>, first: unknown): Promise<T> => {
    let err = first;
    for (;;) {
      if (!isDisconnected(err) || !active()) throw err;
      giveUpAt ??= Date.now() + waitMs;
      if (!(await waitConnected(xs, giveUpAt))) throw err;
      try {
        return await call();
      } catch (e) {
        err = e;
      }
    }
  };
  return new Proxy(xs, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const call = () => fn.apply(target, args);
        const out = call();
        if (!(out instanceof Promise)) return out;
        return out.catch((err: unknown) => retry(call as () => Promise<unknown>, err));
      };
    },
  });
}

/**
 * Removes every node a domain that no longer exists may have left: its backend directories
 * under each backend domain (with parents left empty, as libxl's path cleanup), its home, its
 * /libxl bookkeeping and its VM path (the one its home names, else `vm` when known: never another
 * copy's of the same uuid). Answers what could not be removed.
 */
export async function sweepDomainLeftovers(xs: XenstoreClient, domid: number, uuid: string, backends: readonly number[], vm?: string): Promise<string[]> {
  const left: string[] = [];
  const vmPaths = [...new Set([await vmPathIn(xs, domid, uuid), vm].filter((p) => isVmPathOf(p, uuid)))];
  for (const b of backends) {
    const base = `/local/domain/${b}/backend`;
    let kinds: string[] | undefined;
    try {
      kinds = await xs.tryDirectory(base);
    } catch {
      left.push(base);
      continue;
    }
    for (const kind of kinds ?? []) {
      const dir = `${base}/${kind}/${domid}`;
      try {
        await xs.transaction(async (tx) => {
          if ((await tx.tryDirectory(dir)) === undefined) return;
          await rmQuiet(tx, dir);
          for (const p of [`${base}/${kind}`, base]) {
            const [kids, value] = await Promise.all([tx.tryDirectory(p), tx.tryRead(p)]);
            if (kids === undefined) continue;
            if (kids.length > 0 || value !== '') break;
            await rmQuiet(tx, p);
          }
        });
      } catch {
        left.push(dir);
      }
    }
  }
  left.push(...(await removeDomainNodes(xs, domid, vmPaths[0])));
  if (vmPaths[1] !== undefined) left.push(...(await removeDomainNodes(xs, undefined, vmPaths[1])));
  return left;
}

/** The domids serving a config's devices (dom0 always: the sweep must cover it). */
export function backendDomids(config: XendConfig): number[] {
  const ids = new Set([0]);
  for (const d of Object.values(config.devices)) if (/^\d+$/.test(String(d.config.backend))) ids.add(Number(d.config.backend));
  return [...ids];
}
