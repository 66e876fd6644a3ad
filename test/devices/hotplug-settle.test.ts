// HotplugRunner.settle(uuid, waitMs): scripts still running for one domain are waited for
// (bounded), then killed. The real runner finds them in /proc by their environment (a script
// and what it started), the fake and simulated runners their own runs in flight — the same
// answer shape either way, and nothing of another domain touched.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeHotplugRunner, RealHotplugRunner, type HotplugRequest } from '../../src/devices/index.js';

const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
const req = (uuid: string, script = '/bin/true', args: string[] = ['add']): HotplugRequest => ({
  script,
  args,
  env: { TSXEND_UUID: uuid, XENBUS_PATH: 'backend/vbd/3/51712', XENBUS_TYPE: 'vbd' },
  timeoutMs: 30_000,
});

describe('RealHotplugRunner.settle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-settle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'slow');
  writeFileSync(script, '#!/bin/sh\nsleep "$1"\n', { mode: 0o755 });

  it('finds nothing for a domain with no script running, at once', async () => {
    expect(await new RealHotplugRunner().settle(B, 5_000)).toEqual({ found: 0, killed: 0, paths: [], waitedMs: 0 });
  });

  it('waits for a script that ends within the bound, kills (with its group) one that does not, leaves another domain alone', async () => {
    const r = new RealHotplugRunner();
    const quick = r.run(req(A, script, ['0.4']));
    const other = r.run(req(B, script, ['0.2']));
    await new Promise((res) => setTimeout(res, 100));
    const s = await r.settle(A, 5_000);
    expect(s.found).toBeGreaterThanOrEqual(1);
    expect(s).toMatchObject({ killed: 0, paths: ['backend/vbd/3/51712'] });
    expect((await quick).exitCode).toBe(0);
    expect((await other).exitCode).toBe(0);

    const slow = r.run(req(A, script, ['30']));
    await new Promise((res) => setTimeout(res, 100));
    const k = await r.settle(A, 200);
    expect(k.found).toBeGreaterThanOrEqual(1);
    expect(k.killed).toBe(k.found);
    expect(k.waitedMs).toBeLessThan(5_000);
    const res = await slow;
    expect(res.exitCode).toBeNull();
    expect(await r.settle(A, 0)).toMatchObject({ found: 0 });
  });
});

describe('FakeHotplugRunner.settle (its own runs in flight)', () => {
  it('waits for a run that ends, aborts one that does not (its signal fires, it never acts)', async () => {
    let acted = 0;
    const fake = new FakeHotplugRunner(
      (r) =>
        new Promise((resolve) => {
          const ms = Number(r.args[0]);
          const t = setTimeout(() => {
            acted++;
            resolve({ exitCode: 0 });
          }, ms);
          r.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            resolve({ exitCode: 137 });
          });
        }),
    );
    const done = fake.run(req(A, '/s', ['100']));
    expect(await fake.settle(B, 1_000)).toMatchObject({ found: 0 });
    expect(await fake.settle(A, 2_000)).toMatchObject({ found: 1, killed: 0, paths: ['backend/vbd/3/51712'] });
    expect(await done).toMatchObject({ exitCode: 0 });
    const hung = fake.run(req(A, '/s', ['60000']));
    expect(await fake.settle(A, 50)).toMatchObject({ found: 1, killed: 1 });
    expect(await hung).toMatchObject({ exitCode: 137 });
    expect(acted).toBe(1);
    expect(await fake.settle(A, 0)).toMatchObject({ found: 0 });
  });
});
