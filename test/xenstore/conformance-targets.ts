// The two sides of the conformance suite: a real daemon reached over its socket, and the mock.

import { MockXenstored } from '../../src/xenstore/mock/index.js';
import type { Target } from './conformance-cases.js';
import { RawClient } from './mock-raw-client.js';

export function socketTarget(socketPath: () => string, setDomains: (domids: number[]) => Promise<void>): Target {
  return { open: () => RawClient.socket(socketPath()), setDomains };
}

export function mockTarget(xs: MockXenstored): Target {
  return {
    open: async () => new RawClient(xs.connect()),
    setDomains: async (domids) => {
      for (const { domid } of xs.domains.list()) if (domid !== 0 && !domids.includes(domid)) xs.domains.destroy(domid);
      for (const d of domids) if (!xs.domains.exists(d)) xs.domains.create(d, 'running');
    },
  };
}
