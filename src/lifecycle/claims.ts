// Cross-domain resources that two domains must never share: name, uuid, MAC, vif name, and a
// backing file opened writable (read-only sharing is what xend's block script allowed).
// Claims are taken synchronously, before anything is written, so of two concurrent creates
// with one name exactly one wins.

import { TsxError } from '../errors.js';
import type { DeviceEntry, XendConfig } from '../config/model.js';
import { E_NAME_TAKEN, E_RESOURCE_CLASH, E_UUID_TAKEN } from './errors.js';

type Kind = 'name' | 'uuid' | 'mac' | 'vifname' | 'file';

export class Claims {
  /** `${kind}:${value}` → owner uuid(s) with access (files may have several readers). */
  readonly #held = new Map<string, { owner: string; access: 'r' | 'w' }[]>();

  /** Claims everything `config` needs for `owner`, or throws 409 having claimed nothing. */
  claimConfig(owner: string, config: XendConfig): void {
    const wanted: [Kind, string, 'r' | 'w'][] = [
      ['name', config.name, 'w'],
      ['uuid', config.uuid, 'w'],
      ...Object.values(config.devices).flatMap((d) => deviceClaims(d)),
    ];
    this.#claimAll(owner, wanted);
  }

  claimDevice(owner: string, entry: DeviceEntry): void {
    this.#claimAll(owner, deviceClaims(entry));
  }

  #claimAll(owner: string, wanted: [Kind, string, 'r' | 'w'][]): void {
    for (const [kind, value, access] of wanted) {
      const held = (this.#held.get(`${kind}:${value}`) ?? []).filter((h) => h.owner !== owner);
      if (held.length === 0) continue;
      if (kind === 'file' && access === 'r' && held.every((h) => h.access === 'r')) continue;
      const other = held[0]?.owner;
      const spec = kind === 'name' ? E_NAME_TAKEN : kind === 'uuid' ? E_UUID_TAKEN : E_RESOURCE_CLASH;
      const what = kind === 'file' ? `backing file ${value}` : `${kind} ${value}`;
      throw new TsxError(spec, `${what} is already used by domain ${other}`, { details: { kind, value, owner: other } });
    }
    for (const [kind, value, access] of wanted) {
      const key = `${kind}:${value}`;
      const list = this.#held.get(key) ?? [];
      if (!list.some((h) => h.owner === owner)) list.push({ owner, access });
      this.#held.set(key, list);
    }
  }

  releaseDevice(owner: string, entry: DeviceEntry): void {
    for (const [kind, value] of deviceClaims(entry)) this.#drop(`${kind}:${value}`, owner);
  }

  /** Releases every claim of `owner`. */
  releaseAll(owner: string): void {
    for (const key of [...this.#held.keys()]) this.#drop(key, owner);
  }

  #drop(key: string, owner: string): void {
    const list = this.#held.get(key);
    if (!list) return;
    const rest = list.filter((h) => h.owner !== owner);
    if (rest.length === 0) this.#held.delete(key);
    else this.#held.set(key, rest);
  }
}

function deviceClaims(d: DeviceEntry): [Kind, string, 'r' | 'w'][] {
  if (d.class === 'vif') {
    const out: [Kind, string, 'r' | 'w'][] = [['mac', d.config.mac.toLowerCase(), 'w']];
    if (d.config.vifname !== undefined) out.push(['vifname', d.config.vifname, 'w']);
    return out;
  }
  if (d.class === 'vbd' && d.config.target !== '') return [['file', d.config.target, d.config.access]];
  return [];
}
