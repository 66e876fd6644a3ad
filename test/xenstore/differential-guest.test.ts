// The differential test with an unprivileged guest as a fourth connection: domain 5 on its
// ring (the fixture's stub maps the guest's page from a file; test/helpers/guest-ring.ts) on
// real cxenstored, and `connect({ domid: 5 })` on the mock. The guest reads, writes, watches
// and transacts under a base it may use while dom0 changes permissions under it, so EACCES,
// EPERM, permission inheritance, the guest's quotas and which events it may see are held to
// cxenstored too. Slower than the socket runs (the ring is polled), so a smaller budget.

import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { describeReal, type RealXenstored, startXenstored } from '../fixtures/xenstored.js';
import { GuestRing } from '../helpers/guest-ring.js';
import { args, RawClient, show, T } from './mock-raw-client.js';
import { GUEST_DOMID, opText } from './differential/ops.js';
import { budgetFromEnv, runBudget, seedsText } from './differential/runner.js';
import { stepLines } from './differential/session.js';

const CI_OPS = 3_000;

async function introduce(socketPath: string): Promise<RawClient> {
  const d0 = await RawClient.socket(socketPath);
  expect(show((await d0.request(T.INTRODUCE, args(String(GUEST_DOMID), '1', '1'))).reply)).toBe('OK');
  return d0;
}

describeReal('cxenstored', 'differential with an unprivileged guest: the mock and cxenstored alike', () => {
  let real: RealXenstored;
  let xs: MockXenstored;
  let dir: string;
  const open: RawClient[] = [];
  let realGuest: RawClient;
  let mockGuest: RawClient;
  beforeAll(async () => {
    real = await startXenstored('cxenstored');
    await real.setDomains([{ domid: GUEST_DOMID, state: 'running' }]);
    dir = mkdtempSync(join(tmpdir(), 'tsxend-xsdiff-guest-'));
    xs = new MockXenstored();
    await xs.listen(join(dir, 'socket'));
    xs.domains.create(GUEST_DOMID, 'running');
    open.push(await introduce(real.socketPath), await introduce(join(dir, 'socket')));
    // The ring is scanned when the daemon wakes: a dom0 socket to wake it with.
    const kick = await RawClient.socket(real.socketPath);
    (kick.stream as Socket).resume();
    open.push(kick);
    realGuest = new RawClient(new GuestRing(join(real.dir, `ring-${GUEST_DOMID}`), kick.stream as Socket));
    mockGuest = new RawClient(xs.connect({ domid: GUEST_DOMID }));
    open.push(realGuest, mockGuest);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await xs?.close();
    await real?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`matches on every reply and event, the guest's included, over at least ${CI_OPS} operations`, async () => {
    const budget = budgetFromEnv(CI_OPS);
    const daemons = [
      { name: 'cxenstored', socketPath: real.socketPath, guest: realGuest },
      { name: 'mock', socketPath: xs.socketPath!, guest: mockGuest },
    ];
    const result = await runBudget('xs-diff guest', daemons, (op, [c, m]) => {
      expect(stepLines(m!), opText(op)).toEqual(stepLines(c!));
    }, budget);
    console.log(`xs-diff guest: ${result.ops} ops in ${result.runs} runs, seeds ${seedsText(result.seeds)}, ${(result.ms / 1000).toFixed(1)} s`);
    expect(result.ops).toBeGreaterThanOrEqual(budget.ops);
  }, 900_000);
});
