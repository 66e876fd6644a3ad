// The pieces that ride out a xenstored restart (src/lifecycle/reconnect.ts), against the mock
// daemon crashed and restarted: fail fast when not asked to wait, wait and retry when asked,
// one bounded budget per operation, and the sweep of what a dead domain left.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasTsxCode } from '../../src/errors.js';
import { retryingXs, sweepDomainLeftovers, waitConnected } from '../../src/lifecycle/reconnect.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';

const codeOf = (e: unknown) => (hasTsxCode(e) ? e.code : String(e));

describe('retryingXs / waitConnected / sweepDomainLeftovers (mock xenstored crashed and restarted)', () => {
  let mock: MockXenstored;
  let xs: XenstoreClient;
  beforeEach(async () => {
    mock = new MockXenstored();
    xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
  });
  afterEach(async () => {
    await xs.close();
    await mock.close();
  });

  const down = async () => {
    await mock.crash();
    for (let i = 0; i < 100 && xs.connected; i++) await new Promise((r) => setTimeout(r, 5));
    expect(xs.connected).toBe(false);
  };

  it('fails fast while not active, waits and retries while active', async () => {
    let active = false;
    const r = retryingXs(xs, 5_000, () => active);
    await down();
    expect(codeOf(await r.write('/a', '1').catch((e: unknown) => e))).toBe('TSX_ERR_XS_DISCONNECTED');
    active = true;
    const pending = r.write('/a', '2');
    setTimeout(() => void mock.restart(), 150);
    await pending;
    expect(await xs.read('/a')).toBe('2');
  });

  it('shares one budget across the calls of an operation', async () => {
    const r = retryingXs(xs, 150, () => true);
    await down();
    const t0 = Date.now();
    expect(codeOf(await r.tryRead('/x').catch((e: unknown) => e))).toBe('TSX_ERR_XS_DISCONNECTED');
    const first = Date.now() - t0;
    expect(first).toBeGreaterThanOrEqual(140);
    const t1 = Date.now();
    expect(codeOf(await r.tryRead('/x').catch((e: unknown) => e))).toBe('TSX_ERR_XS_DISCONNECTED');
    expect(Date.now() - t1).toBeLessThan(100);
    await mock.restart();
    expect(await waitConnected(xs, Date.now() + 5_000)).toBe(true);
  });

  it('waitConnected answers false at the deadline while the daemon stays away', async () => {
    await down();
    expect(await waitConnected(xs, Date.now() + 100)).toBe(false);
    await mock.restart();
    expect(await waitConnected(xs, Date.now() + 5_000)).toBe(true);
  });

  it("sweeps a dead domain's backends (and parents left empty), home, bookkeeping and VM path, nobody else's", async () => {
    const uuid = '00000000-0000-4000-8000-000000000007';
    for (const p of ['/local/domain/0/backend/vbd/7/51712/state', '/local/domain/0/backend/vif/7/0/state', '/local/domain/0/backend/vif/8/0/state', '/local/domain/7/name', '/libxl/7/type', `/vm/${uuid}/name`]) {
      await xs.write(p, 'x');
    }
    // Domain 7's home names its VM path; domain 9, another copy of the uuid, holds /vm/UUID-1.
    await xs.write('/local/domain/7/vm', `/vm/${uuid}`);
    await xs.write('/local/domain/9/vm', `/vm/${uuid}-1`);
    await xs.write(`/vm/${uuid}-1/uuid`, uuid);
    expect(await sweepDomainLeftovers(xs, 7, uuid, [0])).toEqual([]);
    expect(await xs.tryDirectory('/local/domain/0/backend')).toEqual(['vif']);
    expect(await xs.tryDirectory('/local/domain/0/backend/vif')).toEqual(['8']);
    for (const p of ['/local/domain/7', '/libxl/7', `/vm/${uuid}`]) expect(await xs.tryRead(p)).toBeUndefined();
    expect(await xs.tryRead(`/vm/${uuid}-1/uuid`)).toBe(uuid);
    // Domain 8 left no home: without its VM path named, none goes.
    expect(await sweepDomainLeftovers(xs, 8, uuid, [0])).toEqual([]);
    expect(await xs.tryRead('/local/domain/0/backend')).toBeUndefined();
    expect(await xs.tryRead(`/vm/${uuid}-1/uuid`)).toBe(uuid);
    // Told its VM path (a record knew it), a domain whose home is gone loses it too.
    expect(await sweepDomainLeftovers(xs, 9, uuid, [0], `/vm/${uuid}-1`)).toEqual([]);
    expect(await xs.tryRead(`/vm/${uuid}-1`)).toBeUndefined();
  });
});
