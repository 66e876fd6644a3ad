// The two sides of the conformance suite: a real daemon reached over its socket, and the mock.

import type { Socket } from 'node:net';
import { join } from 'node:path';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { GuestRing } from '../helpers/guest-ring.js';
import type { Target } from './conformance-cases.js';
import { args, RawClient, T } from './mock-raw-client.js';

async function introduce(d0: RawClient, domid: number): Promise<void> {
  const r = await d0.request(T.INTRODUCE, args(String(domid), '1', '1'));
  if (r.reply.type !== T.INTRODUCE) throw new Error(`INTRODUCE ${domid}: ${r.reply.payload.toString('latin1')}`);
}

/** A real daemon; `dir` (the fixture's directory) holds the guests' ring files. */
export function socketTarget(socketPath: () => string, setDomains: (domids: number[]) => Promise<void>, dir?: () => string): Target {
  return {
    open: () => RawClient.socket(socketPath()),
    setDomains,
    guest: async (domid) => {
      if (!dir) throw new Error('socketTarget: no fixture directory for guest rings');
      const d0 = await RawClient.socket(socketPath());
      await introduce(d0, domid);
      d0.close();
      // The ring is scanned when the daemon wakes: a dom0 socket to wake it with.
      const kick = await RawClient.socket(socketPath());
      (kick.stream as Socket).resume();
      const ring = new GuestRing(join(dir(), `ring-${domid}`), kick.stream as Socket);
      ring.once('close', () => kick.close());
      return new RawClient(ring);
    },
  };
}

export function mockTarget(xs: MockXenstored): Target {
  return {
    open: async () => new RawClient(xs.connect()),
    guest: async (domid) => {
      const d0 = new RawClient(xs.connect());
      await introduce(d0, domid);
      d0.close();
      return new RawClient(xs.connect({ domid }));
    },
    setDomains: async (domids) => {
      for (const { domid } of xs.domains.list()) if (domid !== 0 && !domids.includes(domid)) xs.domains.destroy(domid);
      for (const d of domids) if (!xs.domains.exists(d)) xs.domains.create(d, 'running');
    },
  };
}
