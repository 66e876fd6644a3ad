// The client behaviour every xenstored must give the same way: run against the mock, real
// cxenstored and real oxenstored. Paths live under a per-run prefix so suites do not collide.

import { expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { EAGAIN, ENOENT, E_XS_TX_CONFLICT } from '../../src/xenstore/errors.js';
import type { XenstoreClient } from '../../src/xenstore/types.js';

/** `cSemantics`: the daemon applies cxenstored's conflict rule (the mock does; oxenstored does not). */
export function clientContract(get: () => XenstoreClient, cSemantics = true, prefix = '/tsxtest'): void {
  it('writes, reads back bytes exactly and lists children', async () => {
    const xs = get();
    await xs.write(`${prefix}/a/b`, 'hello');
    await xs.write(`${prefix}/a/c`, Buffer.from([1, 0, 2]));
    expect(await xs.read(`${prefix}/a/b`)).toBe('hello');
    expect([...(await xs.readBytes(`${prefix}/a/c`))]).toEqual([1, 0, 2]);
    expect((await xs.directory(`${prefix}/a`)).sort()).toEqual(['b', 'c']);
    expect(await xs.read(`${prefix}/a`)).toBe('');
    await xs.rm(`${prefix}/a`);
    expect(await xs.tryRead(`${prefix}/a/b`)).toBeUndefined();
    expect(await xs.tryDirectory(`${prefix}/a`)).toBeUndefined();
  });

  it('resolves relative paths against /local/domain/0', async () => {
    const xs = get();
    await xs.write('tsxrel/x', 'r');
    expect(await xs.read('/local/domain/0/tsxrel/x')).toBe('r');
    await xs.rm('/local/domain/0/tsxrel');
  });

  it('answers ENOENT as a typed error', async () => {
    const err = await get().read(`${prefix}/missing/node`).catch((e: unknown) => e);
    expect(isError(err, ENOENT)).toBe(true);
  });

  it('sets and reads permissions as a typed list, owner first', async () => {
    const xs = get();
    await xs.write(`${prefix}/p`, '');
    await xs.setPerms(`${prefix}/p`, [{ domid: 0, access: 'n' }, { domid: 0, access: 'r' }]);
    expect(await xs.getPerms(`${prefix}/p`)).toEqual([
      { domid: 0, access: 'n' },
      { domid: 0, access: 'r' },
    ]);
    await xs.rm(`${prefix}/p`);
  });

  it('pipelines many requests on one connection and matches every reply', async () => {
    const xs = get();
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => xs.write(`${prefix}/pipe/k${i}`, `v${i}`)));
    const values = await Promise.all(Array.from({ length: n }, (_, i) => xs.read(`${prefix}/pipe/k${i}`)));
    expect(values).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
    await xs.rm(`${prefix}/pipe`);
  });

  it('delivers watch events on their own channel: first on registration, then per change', async () => {
    const xs = get();
    const w = await xs.watch(`${prefix}/w`);
    const it = w[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ path: `${prefix}/w`, token: w.token });
    await xs.write(`${prefix}/w/child`, '1');
    // Replies and events are independent: the write resolved, and the event arrives.
    expect((await it.next()).value).toEqual({ path: `${prefix}/w/child`, token: w.token });
    await w.close();
    await w.close(); // idempotent
    expect((await it.next()).done).toBe(true);
    await xs.rm(`${prefix}/w`);
  });

  it('gives each watch a unique token', async () => {
    const xs = get();
    const a = await xs.watch(`${prefix}/t`);
    const b = await xs.watch(`${prefix}/t`);
    expect(a.token).not.toBe(b.token);
    await a.close();
    await b.close();
  });

  it('commits a transaction and discards one whose body throws', async () => {
    const xs = get();
    await xs.transaction(async (tx) => {
      await tx.write(`${prefix}/tx/a`, '1');
      await tx.write(`${prefix}/tx/b`, '2');
    });
    expect(await xs.read(`${prefix}/tx/b`)).toBe('2');
    await expect(
      xs.transaction(async (tx) => {
        await tx.write(`${prefix}/tx/c`, '3');
        throw new Error('body failed');
      }),
    ).rejects.toThrow('body failed');
    expect(await xs.tryRead(`${prefix}/tx/c`)).toBeUndefined();
    await xs.rm(`${prefix}/tx`);
  });

  it('retries a transaction that conflicts (EAGAIN) and redoes its reads', async () => {
    const xs = get();
    await xs.write(`${prefix}/cnt`, '0');
    let attempts = 0;
    await xs.transaction(async (tx) => {
      attempts++;
      const v = Number(await tx.read(`${prefix}/cnt`));
      // Conflict on the first attempt only: a write outside the transaction to a node it read.
      if (attempts === 1) await xs.write(`${prefix}/cnt`, String(v + 100));
      await tx.write(`${prefix}/cnt`, String(v + 1));
    });
    // oxenstored snapshots and may commit the first attempt (last writer wins); C retries.
    const final = Number(await xs.read(`${prefix}/cnt`));
    if (cSemantics) expect(attempts).toBe(2);
    expect(attempts === 2 ? final === 101 : final === 1).toBe(true);
    await xs.rm(`${prefix}/cnt`);
  });

  it('gives up with a clear error after maxAttempts conflicts', async () => {
    const xs = get();
    await xs.write(`${prefix}/hot`, '0');
    let i = 0;
    const err = await xs
      .transaction(
        async (tx) => {
          await tx.read(`${prefix}/hot`);
          await xs.write(`${prefix}/hot`, String(++i));
          await tx.write(`${prefix}/hot2`, 'x');
        },
        { maxAttempts: 3 },
      )
      .catch((e: unknown) => e);
    if (cSemantics || err !== undefined) {
      expect(isError(err, E_XS_TX_CONFLICT)).toBe(true);
      expect((err as Error).cause && isError((err as Error).cause, EAGAIN)).toBe(true);
    }
    await xs.rm(`${prefix}/hot`);
    await xs.rm(`${prefix}/hot2`).catch(() => undefined);
  });
}
