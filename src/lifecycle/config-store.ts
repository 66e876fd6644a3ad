// The in-memory ConfigStore (tests, and `serve` without a state directory). Records are copied
// in and out so callers never share mutable objects with the store.

import type { ConfigStore, StoredDomain } from './api.js';

export class MemoryConfigStore implements ConfigStore {
  readonly #records = new Map<string, string>();
  /** Records stored but unreadable, answered as errors by loadAll (tests). */
  readonly broken = new Map<string, Error>();

  async save(record: StoredDomain): Promise<void> {
    this.#records.set(record.config.uuid, JSON.stringify(record));
  }

  async remove(uuid: string): Promise<void> {
    this.#records.delete(uuid);
    this.broken.delete(uuid);
  }

  async loadAll(): Promise<(StoredDomain | { uuid: string; error: Error })[]> {
    return [...[...this.#records.values()].map((s) => JSON.parse(s) as StoredDomain), ...[...this.broken].map(([uuid, error]) => ({ uuid, error }))];
  }

  get size(): number {
    return this.#records.size;
  }
}
