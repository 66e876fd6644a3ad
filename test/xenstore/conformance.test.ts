// The mock's replies must equal real cxenstored's: every case of conformance-cases.ts runs
// against a private cxenstored 4.17 (the fixture, without a hypervisor) and against the mock,
// in the same order, and the transcripts — exact reply bytes, header included, and the sets of
// watch events — must be identical.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { describeReal, type RealXenstored, startXenstored } from '../fixtures/xenstored.js';
import { CASES, transcript } from './conformance-cases.js';
import { mockTarget, socketTarget } from './conformance-targets.js';

describeReal('cxenstored', 'the mock answers like cxenstored 4.17', () => {
  let real: RealXenstored;
  let xs: MockXenstored;
  beforeAll(async () => {
    real = await startXenstored('cxenstored');
    xs = new MockXenstored();
  });
  afterAll(async () => {
    await xs?.close();
    await real?.stop();
  });

  let n = 0;
  for (const [name, fn] of Object.entries(CASES)) {
    const base = `/conf${n++}`;
    it(name, async () => {
      const expected = await transcript(
        socketTarget(
          () => real.socketPath,
          (d) => real.setDomains(d.map((domid) => ({ domid, state: 'running' as const }))),
          () => real.dir,
        ),
        fn,
        base,
      );
      const actual = await transcript(mockTarget(xs), fn, base);
      expect(expected.length).toBeGreaterThan(2);
      expect(actual).toEqual(expected);
    });
  }
});
