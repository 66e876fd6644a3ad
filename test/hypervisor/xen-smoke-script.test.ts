// scripts/dom0-smoke.sh is what a user with a Xen host runs; here (no Xen) it must refuse, with
// exit code 2 and a message naming what is missing, before touching anything.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/dom0-smoke.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'smoke-'));

function run(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync('bash', [script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const smokeDirs = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith('tsxend-smoke.'));

describe('scripts/dom0-smoke.sh', () => {
  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it('refuses where there is no privcmd device, naming it, and leaves nothing behind', () => {
    const before = smokeDirs();
    const r = run({ TSXEND_SMOKE_PRIVCMD: join(dir, 'privcmd-missing') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`refusing to run: ${join(dir, 'privcmd-missing')} is missing: this is not a Xen dom0`);
    expect(r.stdout).toBe('');
    expect(smokeDirs()).toEqual(before);
  });

  it('refuses in a domU (privcmd present, no control_d)', () => {
    const privcmd = join(dir, 'privcmd');
    const caps = join(dir, 'capabilities');
    writeFileSync(privcmd, '');
    writeFileSync(caps, '\n');
    const r = run({ TSXEND_SMOKE_PRIVCMD: privcmd, TSXEND_SMOKE_CAPABILITIES: caps });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('does not say control_d: not the control domain');
  });
});
