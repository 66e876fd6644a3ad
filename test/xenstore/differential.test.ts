// The mock against real cxenstored 4.17, by random sequences (issue 16): reads, writes, MKDIR,
// RM, DIRECTORY(_PART), permissions, watches and transactions on three connections, the odd
// malformed path; every reply compared byte for byte (header and payload; DIRECTORY_PART's
// generation by its equalities, see session.ts) and every connection's watch events compared
// in order, before the reply and up to a round trip after it. A difference fails with the
// shrunk sequence and its seed. TSXEND_XS_DIFF_OPS / TSXEND_XS_DIFF_SEED: docs/testing.md.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { describeReal, type RealXenstored, startXenstored } from '../fixtures/xenstored.js';
import { opText } from './differential/ops.js';
import { budgetFromEnv, runBudget, seedsText } from './differential/runner.js';
import { stepLines } from './differential/session.js';

const CI_OPS = 30_000;

describeReal('cxenstored', 'differential: the mock and cxenstored answer random sequences alike', () => {
  let real: RealXenstored;
  let xs: MockXenstored;
  let dir: string;
  beforeAll(async () => {
    real = await startXenstored('cxenstored');
    dir = mkdtempSync(join(tmpdir(), 'tsxend-xsdiff-'));
    xs = new MockXenstored();
    await xs.listen(join(dir, 'socket'));
  });
  afterAll(async () => {
    await xs?.close();
    await real?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`matches on every reply and event over at least ${CI_OPS} operations`, async () => {
    const budget = budgetFromEnv(CI_OPS);
    const daemons = [
      { name: 'cxenstored', socketPath: real.socketPath },
      { name: 'mock', socketPath: xs.socketPath! },
    ];
    const result = await runBudget('xs-diff cxenstored', daemons, (op, [c, m]) => {
      expect(stepLines(m!), opText(op)).toEqual(stepLines(c!));
    }, budget);
    console.log(`xs-diff cxenstored: ${result.ops} ops in ${result.runs} runs, seeds ${seedsText(result.seeds)}, ${(result.ms / 1000).toFixed(1)} s`);
    expect(result.ops).toBeGreaterThanOrEqual(budget.ops);
  }, 900_000);
});
