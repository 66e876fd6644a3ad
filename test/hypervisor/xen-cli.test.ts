// The real-Xen path as a user meets it on a host without Xen: `tsxend serve --hypervisor xen`
// stops at start with TSX_ERR_XEN_UNAVAILABLE naming /dev/xen/privcmd (exit 3), and
// `tsxend doctor --hypervisor xen` lists what is missing and what is there. Run in-process.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command as doctor } from '../../src/cli/commands/doctor.js';
import { command as serve } from '../../src/cli/commands/serve.js';

const onDom0 = existsSync('/dev/xen/privcmd');
const dir = mkdtempSync(join(tmpdir(), 'xencli-'));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env: { ...process.env, TSXEND_LOG_LEVEL: 'silent' } } };
}

describe.skipIf(onDom0)('the real-Xen path on a host without Xen', () => {
  it('serve --hypervisor xen fails at start with a clear message and exit 3', async () => {
    const c = io();
    const rc = await serve.run(
      ['--hypervisor', 'xen', '--xenstore', `socket:${join(dir, 'xs.sock')}`, '--listen', `unix:${join(dir, 'api.sock')}`, '--state-dir', join(dir, 'state'), '--runtime-dir', join(dir, 'run')],
      c.io,
    );
    expect(rc).toBe(3);
    expect(c.err.join('')).toMatch(/^tsxend serve: TSX_ERR_XEN_UNAVAILABLE: --hypervisor xen: \/dev\/xen\/privcmd is missing, so this is not a Xen dom0/);
    expect(c.err.join('')).toContain("run 'tsxend doctor --hypervisor xen'");
    expect(existsSync(join(dir, 'api.sock'))).toBe(false); // never started listening
  });

  it('doctor --hypervisor xen says what is missing, with fixes', async () => {
    const c = io();
    const rc = await doctor.run(['--hypervisor', 'xen', '--json', '--connect', `unix:${join(dir, 'none.sock')}`, '--state-dir', join(dir, 'dstate')], c.io);
    expect(rc).toBe(1);
    const report = JSON.parse(c.out.join('')) as { ok: boolean; checks: { check: string; status: string; detail: string; fix?: string }[] };
    const by = new Map(report.checks.map((x) => [x.check, x]));
    expect(report.ok).toBe(false);
    expect(by.get('xen privcmd')).toMatchObject({ status: 'fail' });
    expect(by.get('xen privcmd')?.fix).toMatch(/xen-system-amd64/);
    expect(by.get('xen control domain')).toMatchObject({ status: 'fail' });
    expect(by.get('ffi (koffi)')).toMatchObject({ status: 'ok' });
    // Debian's libraries are installed on this machine (libxenmisc4.17); elsewhere doctor names them.
    const libStatus = existsSync('/usr/lib/x86_64-linux-gnu/libxenctrl.so.4.17') ? 'ok' : 'fail';
    expect(by.get('libxenctrl')).toMatchObject({ status: libStatus });
    expect(by.get('libxenguest')).toMatchObject({ status: libStatus });
  });
});
