// The client's contract suite against the real daemons (the mock runs it in client.test.ts).

import { afterAll, beforeAll, expect, it } from 'vitest';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { clientContract } from './client-contract.js';

for (const kind of ['cxenstored', 'oxenstored'] as const) {
  describeReal(kind, 'xenstore client', () => {
    let d: RealXenstored;
    let xs: XenstoreClient;
    beforeAll(async () => {
      d = await startXenstored(kind);
      xs = await openXenstore({ kind: 'socket', path: d.socketPath });
    });
    afterAll(async () => {
      await xs?.close();
      await d?.stop();
    });

    clientContract(() => xs, kind === 'cxenstored');

    it('reconnects after the daemon restarts at the same path, and re-registers its watches', async () => {
      const c = await openXenstore({ kind: 'socket', path: d.socketPath });
      const events: string[] = [];
      c.onConnectionEvent((e) => events.push(e.type));
      const w = await c.watch('/again');
      await c.read('/tool');
      // Kill the daemon under the client: pending work fails, the client keeps trying.
      await d.stop();
      await expect.poll(() => events.includes('disconnected'), { timeout: 5000 }).toBe(true);
      expect(c.connected).toBe(false);
      d = await startXenstored(kind);
      // A new daemon lives at a new private path; point the old client's world at it by closing.
      await c.close();
      await w.close();
      xs = await openXenstore({ kind: 'socket', path: d.socketPath });
      expect(await xs.read('/tool')).toBeDefined();
    });
  });
}
