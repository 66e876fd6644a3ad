// The orchestrator's domain records, found by key (a uuid, or quarantineKey for a domain that
// is not ours), and by domid, name and uuid through indexes the records themselves keep exact:
// a record's domid and config (its name) change only through setters that tell the registry
// holding it (domain.ts), so a hypervisor event or a ref finds its record without a scan.

import type { DomainRecord, RecordKeys } from './domain.js';

/** Records by one key; several may share it for a while (a stale domid, a quarantined copy's name). */
class Index<K> {
  readonly #map = new Map<K, Set<DomainRecord>>();

  add(k: K | undefined, r: DomainRecord): void {
    if (k === undefined) return;
    let set = this.#map.get(k);
    if (!set) this.#map.set(k, (set = new Set()));
    set.add(r);
  }

  remove(k: K | undefined, r: DomainRecord): void {
    if (k === undefined) return;
    const set = this.#map.get(k);
    if (!set) return;
    set.delete(r);
    if (set.size === 0) this.#map.delete(k);
  }

  /** The first record that took `k` (the order a scan of the records used to find). */
  first(k: K): DomainRecord | undefined {
    const set = this.#map.get(k);
    return set === undefined ? undefined : set.values().next().value;
  }

  all(k: K): DomainRecord[] {
    return [...(this.#map.get(k) ?? [])];
  }

  get size(): number {
    return this.#map.size;
  }
}

const DOMID_REF = /^(0|[1-9][0-9]*)$/;

export class DomainRecords {
  readonly #byKey = new Map<string, DomainRecord>();
  readonly #keyOf = new Map<DomainRecord, string>();
  readonly #byDomid = new Index<number>();
  readonly #byName = new Index<string>();
  readonly #byUuid = new Index<string>();
  readonly #follow = (r: DomainRecord, before: RecordKeys): void => {
    this.#unindex(r, before);
    this.#index(r, r.keys());
  };

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): DomainRecord | undefined {
    return this.#byKey.get(key);
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  values(): IterableIterator<DomainRecord> {
    return this.#byKey.values();
  }

  entries(): IterableIterator<[string, DomainRecord]> {
    return this.#byKey.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, DomainRecord]> {
    return this.#byKey.entries();
  }

  /** Holds `r` under `key` (moving it if it was under another; replacing whatever `key` held). */
  set(key: string, r: DomainRecord): this {
    const held = this.#byKey.get(key);
    if (held === r) return this;
    if (held) this.delete(key);
    const previous = this.#keyOf.get(r);
    if (previous === undefined) {
      r.watchKeys(this.#follow);
      this.#index(r, r.keys());
    } else this.#byKey.delete(previous);
    this.#byKey.set(key, r);
    this.#keyOf.set(r, key);
    return this;
  }

  delete(key: string): boolean {
    const r = this.#byKey.get(key);
    if (!r) return false;
    this.#byKey.delete(key);
    this.#keyOf.delete(r);
    this.#unindex(r, r.keys());
    r.watchKeys(undefined);
    return true;
  }

  /** The record of the domain `domid` runs as (the first to have taken it, if a stale one still holds it). */
  byDomid(domid: number): DomainRecord | undefined {
    return this.#byDomid.first(domid);
  }

  byName(name: string): DomainRecord | undefined {
    return this.#byName.first(name);
  }

  /**
   * A ref as the API takes it: a key (our uuids), else a uuid (a quarantined domain's), a name,
   * or a domid, in that order.
   */
  find(ref: string): DomainRecord | undefined {
    return this.#byKey.get(ref) ?? this.#byUuid.first(ref) ?? this.#byName.first(ref) ?? (DOMID_REF.test(ref) ? this.#byDomid.first(Number(ref)) : undefined);
  }

  /** Tests: every index against a scan of the records; answers the disagreements (none when exact). */
  audit(): string[] {
    const out: string[] = [];
    const records = [...this.#byKey.values()];
    const check = <K>(what: string, index: Index<K>, keyOf: (r: DomainRecord) => K | undefined) => {
      const keys = new Set(records.map(keyOf).filter((k): k is K => k !== undefined));
      if (index.size !== keys.size) out.push(`${what}: ${index.size} keys indexed, ${keys.size} held`);
      for (const k of keys) {
        const want = records.filter((r) => keyOf(r) === k);
        const got = index.all(k);
        if (want.length !== got.length || want.some((r) => !got.includes(r))) out.push(`${what} ${String(k)}: indexed ${got.map((r) => r.uuid).join(',')}, held by ${want.map((r) => r.uuid).join(',')}`);
      }
    };
    check('domid', this.#byDomid, (r) => r.domid);
    check('name', this.#byName, (r) => r.name);
    check('uuid', this.#byUuid, (r) => r.uuid);
    return out;
  }

  #index(r: DomainRecord, k: RecordKeys): void {
    this.#byDomid.add(k.domid, r);
    this.#byName.add(k.name, r);
    this.#byUuid.add(k.uuid, r);
  }

  #unindex(r: DomainRecord, k: RecordKeys): void {
    this.#byDomid.remove(k.domid, r);
    this.#byName.remove(k.name, r);
    this.#byUuid.remove(k.uuid, r);
  }
}
