// The file-backed ConfigStore: one JSON file per managed domain under <state>/domains/<uuid>.json,
// one per prepared shell under <state>/shells/<handle>.json. Writes are atomic and durable: write a temp file, fsync it, rename it over the old one, fsync
// the directory. A crash leaves the old record or the new one, never a torn file. Files that do
// not parse, or whose uuid does not match their name (xend's rule), are reported, not thrown.

import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigStore, StoredDomain, StoredShell } from '../lifecycle/api.js';
import { TsxError } from '../errors.js';
import { E_STATE_DIR } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FORMAT = 1;

async function fsyncPath(path: string, flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically and durably. */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const dir = join(path, '..');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncPath(dir, 'r');
}

export class FileConfigStore implements ConfigStore {
  readonly dir: string;
  readonly shellDir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'domains');
    this.shellDir = join(stateDir, 'shells');
  }

  async init(): Promise<void> {
    for (const dir of [this.dir, this.shellDir]) {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        // Leftover temp files are from a write that never got renamed: the old record stands.
        for (const name of await readdir(dir)) if (name.includes('.tmp-')) await rm(join(dir, name), { force: true });
      } catch (err) {
        throw new TsxError(E_STATE_DIR, `cannot prepare state directory ${dir}`, { cause: err });
      }
    }
  }

  #file(uuid: string, dir = this.dir): string {
    if (!UUID.test(uuid)) throw new TsxError(E_STATE_DIR, `refusing to store a record under a non-uuid name ${JSON.stringify(uuid)}`);
    return join(dir, `${uuid}.json`);
  }

  async saveShell(record: StoredShell): Promise<void> {
    return this.#write(this.#file(record.handle, this.shellDir), record, `prepared shell ${record.handle}`);
  }

  async removeShell(handle: string): Promise<void> {
    return this.#remove(this.shellDir, handle, `prepared shell ${handle}`);
  }

  async loadShells(): Promise<(StoredShell | { handle: string; error: Error })[]> {
    return (await this.#loadDir<StoredShell>(this.shellDir, (rec, handle) => rec.handle === handle || `shell handle ${String(rec.handle)} does not match its file name`)).map((r) =>
      'error' in r ? { handle: r.key, error: r.error } : r.record,
    );
  }

  /** One record, written atomically (fsync'd); a failure is TSX_ERR_STATE_DIR naming `what`. */
  async #write(file: string, record: object, what: string): Promise<void> {
    try {
      await writeFileAtomic(file, JSON.stringify({ format: FORMAT, ...record }, null, 2) + '\n');
    } catch (err) {
      if (err instanceof TsxError) throw err;
      throw new TsxError(E_STATE_DIR, `cannot save ${what}`, { cause: err });
    }
  }

  /** One record removed and its directory fsync'd; a failure is TSX_ERR_STATE_DIR naming `what`. */
  async #remove(dir: string, key: string, what: string): Promise<void> {
    try {
      await rm(this.#file(key, dir), { force: true });
      await fsyncPath(dir, 'r');
    } catch (err) {
      if (err instanceof TsxError) throw err;
      throw new TsxError(E_STATE_DIR, `cannot remove ${what}`, { cause: err });
    }
  }

  /**
   * Every record of `dir`, each parsed and checked (format, and `matches` its file name's key:
   * true, or why not), or the reason it cannot be used, with that key.
   */
  async #loadDir<T extends object>(dir: string, matches: (rec: T, key: string) => true | string): Promise<({ key: string; record: T } | { key: string; error: Error })[]> {
    const out: ({ key: string; record: T } | { key: string; error: Error })[] = [];
    for (const { name, text, error } of await this.#readAll(dir)) {
      const key = name.slice(0, -5);
      try {
        if (error) throw error;
        const rec = JSON.parse(text) as T & { format?: number };
        if (rec.format !== FORMAT) throw new Error(`unknown record format ${String(rec.format)}`);
        const ok = matches(rec, key);
        if (ok !== true) throw new Error(ok);
        const { format: _f, ...record } = rec;
        out.push({ key, record: record as T });
      } catch (err) {
        out.push({ key, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return out;
  }

  /** The .json files of `dir`, sorted, each read (or its read error); none when the directory is missing. */
  async #readAll(dir: string): Promise<{ name: string; text: string; error?: Error }[]> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TsxError(E_STATE_DIR, `cannot read ${dir}`, { cause: err });
    }
    return Promise.all(
      names.map(async (name) => {
        try {
          return { name, text: await readFile(join(dir, name), 'utf8') };
        } catch (err) {
          return { name, text: '', error: err instanceof Error ? err : new Error(String(err)) };
        }
      }),
    );
  }

  async save(record: StoredDomain): Promise<void> {
    return this.#write(this.#file(record.config.uuid), record, `domain ${record.config.uuid}`);
  }

  async remove(uuid: string): Promise<void> {
    return this.#remove(this.dir, uuid, `domain ${uuid}`);
  }

  async loadAll(): Promise<(StoredDomain | { uuid: string; error: Error })[]> {
    return (await this.#loadDir<StoredDomain>(this.dir, (rec, uuid) => rec.config?.uuid === uuid || `record uuid ${String(rec.config?.uuid)} does not match its file name`)).map((r) =>
      'error' in r ? { uuid: r.key, error: r.error } : r.record,
    );
  }
}
