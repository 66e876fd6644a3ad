// `tsxend xenstored --socket PATH` as a process: serves the protocol on a 0600 socket, logs
// with pino, and on SIGTERM stops with exit code 0 and removes its socket.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { args, RawClient, show, T, wv } from './mock-raw-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('runs standalone on a socket and stops cleanly on SIGTERM, removing the socket', async () => {
  if (!existsSync(join(root, 'dist/cli/commands/xenstored.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-xenstored-cli-'));
  const sock = join(dir, 'socket');
  const child = spawn(process.execPath, [join(root, 'bin/tsxend.js'), 'xenstored', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const c = await RawClient.socket(sock);
    expect(show((await c.request(T.WRITE, wv('/cli/x', 'v'))).reply)).toBe('OK');
    expect(show((await c.request(T.READ, args('/cli/x'))).reply)).toBe('v');
    c.close();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(sock)).toBe(false);
    expect(out).toContain('"msg":"mock xenstored listening"');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
