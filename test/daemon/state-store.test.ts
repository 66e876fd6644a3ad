import { mkdtempSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileConfigStore, writeFileAtomic } from '../../src/daemon/state-store.js';
import { fakeModel } from './helpers/fake-orchestrator.js';

describe('FileConfigStore', () => {
  it('saves, loads and removes managed domains, one 0600 file each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-state-'));
    const store = new FileConfigStore(dir);
    await store.init();
    const a = fakeModel('a', 128, 1);
    const b = fakeModel('b', 256, 0);
    await store.save({ config: a, managed: true, autostart: true, autostartOrder: 2, domid: 5 });
    await store.save({ config: b, managed: true, autostart: false, autostartOrder: 0 });
    expect(statSync(join(dir, 'domains', `${a.uuid}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'domains')).mode & 0o777).toBe(0o700);
    const all = await store.loadAll();
    expect(all).toHaveLength(2);
    expect(all).toContainEqual({ config: a, managed: true, autostart: true, autostartOrder: 2, domid: 5 });
    await store.save({ config: { ...a, memory: 512 }, managed: true, autostart: true, autostartOrder: 2 });
    expect(((await store.loadAll()).find((r) => 'config' in r && r.config.uuid === a.uuid) as { config: { memory: number } }).config.memory).toBe(512);
    await store.remove(b.uuid);
    expect((await store.loadAll()).map((r) => ('config' in r ? r.config.name : r.uuid))).toEqual(['a']);
    expect(readdirSync(join(dir, 'domains')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('reports an unreadable record or one whose uuid does not match its file, instead of throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-state-'));
    const store = new FileConfigStore(dir);
    await store.init();
    const good = fakeModel('good', 128, 0);
    await store.save({ config: good, managed: true, autostart: false, autostartOrder: 0 });
    const torn = '11111111-1111-4111-8111-111111111111';
    writeFileSync(join(dir, 'domains', `${torn}.json`), '{"format":1,"config":{"uu');
    const moved = '22222222-2222-4222-8222-222222222222';
    writeFileSync(join(dir, 'domains', `${moved}.json`), JSON.stringify({ format: 1, config: { ...good, uuid: '33333333-3333-4333-8333-333333333333' }, managed: true, autostart: false, autostartOrder: 0 }));
    const all = await store.loadAll();
    expect(all).toHaveLength(3);
    const errors = all.filter((r): r is { uuid: string; error: Error } => 'error' in r);
    expect(errors.map((e) => e.uuid).sort()).toEqual([torn, moved].sort());
    expect(errors.find((e) => e.uuid === moved)?.error.message).toMatch(/does not match its file name/);
  });

  it('cleans temp files left by a write that crashed before its rename, keeping the old record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-state-'));
    const store = new FileConfigStore(dir);
    await store.init();
    const a = fakeModel('a', 128, 0);
    await store.save({ config: a, managed: true, autostart: false, autostartOrder: 0 });
    writeFileSync(join(dir, 'domains', `${a.uuid}.json.tmp-999-1`), '{half');
    const again = new FileConfigStore(dir);
    await again.init();
    expect(readdirSync(join(dir, 'domains'))).toEqual([`${a.uuid}.json`]);
    expect(await again.loadAll()).toHaveLength(1);
  });

  it('refuses to write a record under a name that is not a uuid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-state-'));
    const store = new FileConfigStore(dir);
    await store.init();
    await expect(store.save({ config: { ...fakeModel('x', 1, 0), uuid: '../../etc/passwd' }, managed: true, autostart: false, autostartOrder: 0 })).rejects.toMatchObject({ code: 'TSX_ERR_STATE_DIR' });
  });

  it('keeps prepared shells apart, one 0600 file each under shells/, the unreadable and the misnamed reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-state-'));
    const store = new FileConfigStore(dir);
    await store.init();
    const shell = { handle: '44444444-4444-4444-8444-444444444444', type: 'pv' as const, maxVcpus: 1, memoryMiB: 256 };
    await store.saveShell(shell);
    await store.saveShell({ ...shell, domid: 7 });
    expect(statSync(join(dir, 'shells', `${shell.handle}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'shells')).mode & 0o777).toBe(0o700);
    expect(await store.loadShells()).toEqual([{ ...shell, domid: 7 }]);
    expect(await store.loadAll()).toEqual([]);
    const torn = '55555555-5555-4555-8555-555555555555';
    writeFileSync(join(dir, 'shells', `${torn}.json`), '{"format":1,"han');
    const moved = '66666666-6666-4666-8666-666666666666';
    writeFileSync(join(dir, 'shells', `${moved}.json`), JSON.stringify({ format: 1, ...shell }));
    const all = await store.loadShells();
    const errors = all.filter((r): r is { handle: string; error: Error } => 'error' in r);
    expect(errors.map((e) => e.handle).sort()).toEqual([torn, moved].sort());
    expect(errors.find((e) => e.handle === moved)?.error.message).toMatch(/does not match its file name/);
    for (const h of [shell.handle, torn, moved]) await store.removeShell(h);
    expect(readdirSync(join(dir, 'shells'))).toEqual([]);
    await expect(store.saveShell({ ...shell, handle: '../x' })).rejects.toMatchObject({ code: 'TSX_ERR_STATE_DIR' });
  });

  it('writeFileAtomic replaces a file whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-atomic-'));
    const p = join(dir, 'f');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two');
    expect(readdirSync(dir)).toEqual(['f']);
  });
});
