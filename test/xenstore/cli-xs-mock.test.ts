// `tsxend xs` as users run it — the built CLI, a separate process — against the mock served on a
// socket (so it runs on any machine): exit codes, XENSTORED_PATH, write→read round trip of
// escaped values, watch, and the tree next to xenstore-ls when xenstore-utils are installed.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { openXenstore } from '../../src/xenstore/index.js';
import { command } from '../../src/cli/commands/xs.js';

const execFileP = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

let mock: MockXenstored;
let dir: string;
let sock: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/cli/commands/xs.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'tsxend-xs-cli-'));
  sock = join(dir, 'socket');
  mock = new MockXenstored();
  await mock.listen(sock);
});
afterAll(async () => {
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [join(root, 'bin/tsxend.js'), 'xs', ...args], { env: { ...process.env, ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

it('writes escaped values, reads them back and lists the tree; exit codes mean something', async () => {
  const t = `socket:${sock}`;
  expect((await cli(['--xenstore', t, 'write', '/m/a', 'x\\ty', '/m/b/c', '2'])).code).toBe(0);
  expect((await cli(['--xenstore', t, 'read', '/m/a'])).out).toBe('x\\ty\n');
  expect((await cli(['read', '-p', '/m/b/c'], { XENSTORED_PATH: sock })).out).toBe('/m/b/c: 2\n');
  expect((await cli(['--xenstore', t, 'ls', '/m'])).out).toBe('a = "x\\ty"\nb = ""\n c = "2"\n');
  const missing = await cli(['--xenstore', t, 'read', '/m/nope']);
  expect(missing.code).toBe(4);
  expect(missing.err).toContain('/m/nope');
  expect((await cli(['--xenstore', `socket:${dir}/absent`, 'ls'])).code).toBe(3);
  expect((await cli(['--xenstore', t, 'rm'])).code).toBe(2);
  expect((await cli(['--xenstore', t, 'rm', '/m/b'])).code).toBe(0);
  expect((await cli(['--xenstore', t, 'exists', '/m/b'])).code).toBe(4);
});

it('prints the same tree as xenstore-ls on the same daemon', async () => {
  if (!existsSync('/usr/bin/xenstore-ls')) {
    if (process.env['CI'] === 'true') throw new Error('xenstore-utils are missing under CI');
    return;
  }
  const t = `socket:${sock}`;
  await cli(['--xenstore', t, 'write', '/ls/x', 'L'.repeat(200), '/ls/y/z', '\\001\\xff']);
  await cli(['--xenstore', t, 'chmod', '/ls/y', 'n0', 'r3']);
  for (const args of [['-p'], ['-f', '/ls']]) {
    const { stdout } = await execFileP('/usr/bin/xenstore-ls', args, { env: { ...process.env, XENSTORED_PATH: sock }, encoding: 'latin1' });
    expect((await cli(['--xenstore', t, 'ls', ...args])).out).toBe(stdout);
  }
});

it('watch -n stops after N events', async () => {
  let done = false;
  const run = cli(['--xenstore', `socket:${sock}`, 'watch', '-n', '2', '/wm']).finally(() => (done = true));
  const xs = await openXenstore({ kind: 'socket', path: sock });
  try {
    // Until the process has registered, changes go unseen: keep changing until it exits.
    for (let i = 0; i < 100 && !done; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await xs.write(`/wm/k${i}`, 'v');
    }
  } finally {
    await xs.close();
  }
  const r = await run;
  expect(r.code).toBe(0);
  const lines = r.out.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toBe('/wm');
  expect(lines[1]).toMatch(/^\/wm\/k\d+$/);
});

it('watch exits 3, naming the watch, when xenstored goes away', async () => {
  const other = new MockXenstored();
  const path = join(dir, 'going-away');
  await other.listen(path);
  let err = '';
  const run = command.run(['--xenstore', `socket:${path}`, 'watch', '/gone'], { stdout: () => undefined, stderr: (t) => (err += t), env: {} });
  await new Promise((r) => setTimeout(r, 200));
  await other.close();
  expect(await run).toBe(3);
  expect(err).toContain('/gone');
});
