// Where the simulated hypervisor tells xenstored which domains exist: the embedded mock's
// domain registry, or the LD_PRELOAD stub's domains file (real cxenstored without Xen). Both
// receive the full list each time; the publisher works out the difference.

import { rename, writeFile } from 'node:fs/promises';
import type { DomainPublisher, PublishedState } from '../hypervisor/types.js';

export type { DomainPublisher, PublishedState };

/** The stub's format: one line `<domid> <state>`; dom0 is implicit. Replaced atomically. */
export class DomainsFilePublisher implements DomainPublisher {
  #seq = 0;
  constructor(readonly path: string) {}

  async publish(domains: readonly { domid: number; state: PublishedState }[]): Promise<void> {
    const text = domains.map((d) => `${d.domid} ${d.state}\n`).join('');
    const tmp = `${this.path}.${process.pid}.${++this.#seq}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, this.path);
  }
}

/** The subset of the mock's DomainRegistry the publisher drives. */
export interface RegistryLike {
  create(domid: number, state?: PublishedState): void;
  setState(domid: number, state: PublishedState): void;
  destroy(domid: number): void;
  exists(domid: number): boolean;
  list(): { domid: number; state: string }[];
}

export class RegistryPublisher implements DomainPublisher {
  constructor(readonly registry: RegistryLike) {}

  async publish(domains: readonly { domid: number; state: PublishedState }[]): Promise<void> {
    const wanted = new Map(domains.map((d) => [d.domid, d.state]));
    const current = new Map(this.registry.list().map((d) => [d.domid, d.state]));
    for (const domid of current.keys()) {
      if (domid !== 0 && !wanted.has(domid)) this.registry.destroy(domid);
    }
    for (const [domid, state] of wanted) {
      const now = current.get(domid);
      if (now === undefined) this.registry.create(domid, state);
      else if (now !== state) this.registry.setState(domid, state);
    }
  }
}
