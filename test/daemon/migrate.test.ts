// Live migration between two tsxend daemons on one machine, each on its embedded default (its
// own store, xenstore and hypervisor: two hosts), over the destination's authenticated API
// (HTTPS + bearer token), driven by `tsxend migrate`. The report gives the downtime and bytes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand, CliIo } from '../../src/cli/command.js';
import { EXIT } from '../../src/cli/command.js';
import { command as create } from '../../src/cli/commands/create.js';
import { command as list } from '../../src/cli/commands/list.js';
import { command as migrate } from '../../src/cli/commands/migrate.js';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/server.js';
import { configInput, environmentFactory } from '../../src/daemon/wiring.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-migrate-'));
const TOKEN = 'migration-token-0123456789abcdef';
let source: RunningDaemon | undefined;
let dest: RunningDaemon | undefined;
let destUrl = '';
const sourceSocket = join(dir, 'a', 'run', 'tsxend.sock');
const destSocket = join(dir, 'b', 'run', 'tsxend.sock');
const cert = join(dir, 'cert.pem');
const tokenFile = join(dir, 'token');

beforeAll(async () => {
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(tokenFile, `# the destination's API token\n${TOKEN}\n`, { mode: 0o600 });
  const serve = (name: string, extra: string[]) =>
    startDaemon(resolveServeOptions(['--state-dir', join(dir, name, 'state'), '--listen', `unix:${join(dir, name, 'run', 'tsxend.sock')}`, '--log-level', 'info', '--log-file', join(dir, `${name}.log`), ...extra], { HOME: dir }), {
      environment: environmentFactory,
      config: configInput,
      env: {},
    });
  source = await serve('a', []);
  dest = await serve('b', ['--listen', 'tcp:127.0.0.1:0', '--token-file', tokenFile, '--tls-cert', cert, '--tls-key', key]);
  destUrl = `https://127.0.0.1:${dest.addresses.find((a) => a.startsWith('tcp:'))!.split(':').pop()!}`;
}, 60_000);
afterAll(async () => {
  await source?.stop('test over');
  await dest?.stop('test over');
  rmSync(dir, { recursive: true, force: true });
});

async function run(socket: string, command: CliCommand, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: { TSXEND_CONNECT: `unix:${socket}` } };
  return { code: await command.run(argv, io), out, err };
}

describe('tsxend migrate between two daemons', () => {
  it('moves a running guest live over HTTPS with the token; reports downtime and bytes; the token is never logged', async () => {
    const cfg = join(dir, 'm1.cfg');
    writeFileSync(cfg, 'name = "m1"\nmemory = 256\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/m1,xvda,w"]\nvif = ["mac=00:16:3e:6d:00:01,bridge=xenbr0"]\nvfb = ["vnc=1"]\n');
    expect((await run(sourceSocket, create, '--quiet', cfg)).code).toBe(EXIT.ok);
    const m = await run(sourceSocket, migrate, 'm1', destUrl, '--dest-token-file', tokenFile, '--dest-ca-file', cert);
    expect(m.err).toBe('');
    expect(m.code).toBe(EXIT.ok);
    expect(m.out).toMatch(/migrate\.progress m1\(\d+\) \d+\/\d+ pages/);
    const line = m.out.trim().split('\n').at(-1)!;
    expect(line).toMatch(new RegExp(`^migrated m1 to ${destUrl.replace(/[.]/g, '\\.')} \\(live\\): [\\d.]+ MiB sent, \\d+ pages, downtime \\d+ ms, \\d+ ms in all$`));
    const [downtime, total] = [Number(/downtime (\d+) ms/.exec(line)![1]), Number(/(\d+) ms in all/.exec(line)![1])];
    expect(downtime).toBeLessThanOrEqual(total);
    expect((await run(sourceSocket, list)).out).not.toMatch(/^m1 /m);
    const there = JSON.parse((await run(destSocket, list, '--json')).out) as { name: string; state: string; devices: { class: string; state: string }[] }[];
    const d = there.find((x) => x.name === 'm1');
    expect(d?.state).toBe('running');
    expect(d?.devices.map((x) => `${x.class}:${x.state}`).sort()).toEqual(['vbd:connected', 'vfb:connected', 'vif:connected', 'vkbd:connected']);
    for (const log of ['a.log', 'b.log']) expect(readFileSync(join(dir, log), 'utf8')).not.toContain(TOKEN);
  });

  it('without the token the destination refuses (401): the migration fails typed and the guest runs on here', async () => {
    const cfg = join(dir, 'm2.cfg');
    writeFileSync(cfg, 'name = "m2"\nmemory = 128\nkernel = "/boot/vmlinuz"\n');
    expect((await run(sourceSocket, create, '--quiet', cfg)).code).toBe(EXIT.ok);
    const m = await run(sourceSocket, migrate, 'm2', destUrl, '--dest-ca-file', cert);
    expect(m.code).toBe(EXIT.failure);
    expect(m.err).toMatch(/TSX_ERR_MIGRATION_FAILED/);
    expect(m.err).toMatch(/TSX_ERR_UNAUTHORIZED/);
    expect((await run(sourceSocket, list)).out).toMatch(/^m2 .* running/m);
    expect((await run(destSocket, list)).out).not.toMatch(/^m2 /m);
  });
});
