// Attaching to a guest's console through the daemon (issue 15): the websocket route on the
// embedded default (the simulated guest's serial line), `tsxend console` with its Ctrl-]
// detach, and a person doing it in a real terminal (tmux).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../src/cli/client.js';
import { EXIT, type CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { http } from './helpers/scenario.js';
import { buildOnce, cli, root, startServe, type ServeProcess } from './helpers/serve-process.js';

let d: ServeProcess;
const dir = mkdtempSync(join(tmpdir(), 'tsxend-console-'));

function cfg(name: string): string {
  const p = join(dir, `${name}.cfg`);
  writeFileSync(p, `name = "${name}"\nmemory = 128\nkernel = "/boot/vmlinuz"\ndisk = ['phy:/dev/vg/${name},xvda,w']\n`);
  return p;
}

async function waitUntil(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  await buildOnce();
  d = await startServe();
  expect((await cli(d.socket, 'create', '--quiet', cfg('web1'))).code).toBe(0);
}, 120_000);
afterAll(async () => {
  await d?.stop();
});

describe('GET /v1/domains/{ref}/console', () => {
  it('sends what the guest printed, then relays typing and its answers (binary frames)', async () => {
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    let out = '';
    const ws = await api.openConsole('web1', (b) => (out += b.toString()));
    await waitUntil('the prompt', () => out.includes('root@web1:~# '));
    expect(out).toContain('Xen: booting paravirtualized kernel on Xen');
    ws.send(Buffer.from('hostname\r'), { binary: true });
    await waitUntil('the answer', () => out.includes('hostname\r\nweb1\r\n'));
    ws.close();
  });

  it('answers 404 for no such domain and 426 for a plain GET, before any upgrade', async () => {
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    const err = await api.openConsole('nope', () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).body.code).toBe('TSX_ERR_NO_DOMAIN');
    const plain = await http(d.socket, 'GET', '/v1/domains/web1/console');
    expect(plain.status).toBe(426);
  });

  it('closes with 4000 and the reason when the domain is destroyed under it', async () => {
    expect((await cli(d.socket, 'create', '--quiet', cfg('gone1'))).code).toBe(0);
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    const ws = await api.openConsole('gone1', () => undefined);
    const closed = new Promise<[number, string]>((r) => ws.on('close', (code: number, reason: Buffer) => r([code, reason.toString()])));
    expect((await cli(d.socket, 'destroy', 'gone1')).code).toBe(0);
    expect(await closed).toEqual([4000, 'the domain was destroyed']);
  });
});

describe('tsxend console', () => {
  it('relays the terminal both ways and detaches on Ctrl-] with exit 0, leaving the guest running', async () => {
    const input = new PassThrough();
    let screen = '';
    let err = '';
    const io: CliIo = { stdout: () => undefined, stderr: (t) => void (err += t), env: {}, terminal: { input, write: (b) => void (screen += Buffer.from(b).toString()) } };
    const attached = main(['--connect', `unix:${d.socket}`, 'console', 'web1'], io);
    await waitUntil('the prompt', () => screen.endsWith('root@web1:~# '));
    expect(err).toContain('Connected to the console of web1; Ctrl-] detaches.');
    input.write('uname -a\r');
    await waitUntil('uname', () => screen.includes('Linux web1 6.1.0-tsxend-sim'));
    input.write(Buffer.from([0x1d]));
    expect(await attached).toBe(EXIT.ok);
    expect((await cli(d.socket, 'list', 'web1')).stdout).toMatch(/web1\s+\d+\s+128\s+1\s+running/);
  });

  it('create -c attaches once the domain runs', async () => {
    const input = new PassThrough();
    let screen = '';
    let out = '';
    const io: CliIo = { stdout: (t) => void (out += t), stderr: () => undefined, env: {}, terminal: { input, write: (b) => void (screen += Buffer.from(b).toString()) } };
    const created = main(['--connect', `unix:${d.socket}`, 'create', '-c', cfg('withc1')], io);
    await waitUntil('the prompt', () => screen.endsWith('root@withc1:~# '));
    expect(out).toMatch(/withc1 \(domid \d+, uuid [0-9a-f-]+\): running/);
    input.write(Buffer.from('hostname\r\x1d'));
    expect(await created).toBe(EXIT.ok);
  });

  it('create prints every problem of a bad config with its line and a caret', async () => {
    const bad = join(dir, 'bad1.cfg');
    writeFileSync(bad, 'name = "bad1"\nmemory = -256\nvcpus = "two"\nkernel = "/boot/vmlinuz"\n');
    const r = await cli(d.socket, 'create', bad);
    expect(r.code).toBe(EXIT.failure);
    expect(r.stderr).toContain('tsxend: TSX_ERR_CONFIG_SYNTAX: 2 problems\n  bad1.cfg:2:10: unexpected character "-" (numbers in xl.cfg cannot be negative)\n   2 | memory = -256\n     |          ^\n  bad1.cfg:3:9: vcpus: expected a number');
  });

  it('scripts pipe what to type and read the answers with --timeout (the command the real-Xen run uses)', () => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'tsxend.js'), '--connect', `unix:${d.socket}`, 'console', 'web1', '--timeout', '2'], { input: 'echo from-a-script\r', encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(EXIT.ok);
    expect(r.stdout).toContain('echo from-a-script\r\nfrom-a-script\r\nroot@web1:~# ');
    expect(r.stderr).toContain('Connected to the console of web1');
  });

  it('says why when the console cannot be attached (exit 4 for no such domain)', async () => {
    let err = '';
    const io: CliIo = { stdout: () => undefined, stderr: (t) => void (err += t), env: {}, terminal: { input: new PassThrough(), write: () => undefined } };
    expect(await main(['--connect', `unix:${d.socket}`, 'console', 'nope'], io)).toBe(EXIT.notFound);
    expect(err).toContain('TSX_ERR_NO_DOMAIN');
  });

  const hasTmux = spawnSync('tmux', ['-V']).status === 0;
  it.runIf(hasTmux || process.env['CI'] === 'true')('a person attaches in a real terminal, types, and Ctrl-] gives the shell back', async () => {
    const session = `tsxend-console-${process.pid}`;
    const bin = join(root, 'bin', 'tsxend.js');
    const done = join(dir, 'exit-code');
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${process.execPath} ${bin} --connect unix:${d.socket} console web1; echo "exit=$?" > ${done}; sleep 30`);
    try {
      const pane = () => tmux('capture-pane', '-p', '-t', session);
      await waitUntil('the prompt', () => pane().includes('root@web1:~#'));
      tmux('send-keys', '-t', session, 'echo typed-by-a-person', 'Enter');
      await waitUntil('the echo', () => /^typed-by-a-person$/m.test(pane()));
      tmux('send-keys', '-t', session, 'C-]');
      await waitUntil('the exit code', () => spawnSync('cat', [done], { encoding: 'utf8' }).stdout.includes('exit=0'));
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
