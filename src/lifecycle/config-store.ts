// The in-memory ConfigStore (tests, and `serve` without a state directory). Records are copied
// in and out so callers never share mutable objects with the store.

import type { ConfigStore, StoredDomain, StoredShell } from './api.js';

export class MemoryConfigStore implements ConfigStore {
  readonly #records = new Map<string, string>();
  readonly #shells = new Map<string, string>();
  /** Records stored but unreadable, answered as errors by loadAll (tests). */
  readonly broken = new Map<string, Error>();
  /** Shell records stored but unreadable, answered as errors by loadShells (tests). */
  readonly brokenShells = new Map<string, Error>();

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

  async saveShell(record: StoredShell): Promise<void> {
    this.#shells.set(record.handle, JSON.stringify(record));
  }

  async removeShell(handle: string): Promise<void> {
    this.#shells.delete(handle);
    this.brokenShells.delete(handle);
  }

  async loadShells(): Promise<(StoredShell | { handle: string; error: Error })[]> {
    return [...[...this.#shells.values()].map((s) => JSON.parse(s) as StoredShell), ...[...this.brokenShells].map(([handle, error]) => ({ handle, error }))];
  }

  get size(): number {
    return this.#records.size;
  }

  get shellCount(): number {
    return this.#shells.size + this.brokenShells.size;
  }
}
