// tsxend save / restore against the daemon on its embedded default (the real orchestrator over
// HTTP on a Unix socket): progress lines, the report, -c and -p, a bad image's error and exit
// code, and the routes' refusals.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand, CliIo } from '../../src/cli/command.js';
import { EXIT } from '../../src/cli/command.js';
import { command as create } from '../../src/cli/commands/create.js';
import { command as list } from '../../src/cli/commands/list.js';
import { command as restore } from '../../src/cli/commands/restore.js';
import { command as save } from '../../src/cli/commands/save.js';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/server.js';
import { configInput, environmentFactory } from '../../src/daemon/wiring.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-cli-save-'));
const socket = join(dir, 'run', 'tsxend.sock');
let daemon: RunningDaemon | undefined;

beforeAll(async () => {
  const options = resolveServeOptions(['--state-dir', join(dir, 'state'), '--listen', `unix:${socket}`, '--log-level', 'warn', '--log-file', join(dir, 'tsxend.log')], { HOME: dir });
  daemon = await startDaemon(options, { environment: environmentFactory, config: configInput, env: {} });
}, 60_000);
afterAll(async () => {
  await daemon?.stop('test over');
  rmSync(dir, { recursive: true, force: true });
});

async function run(command: CliCommand, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: { TSXEND_CONNECT: `unix:${socket}` } };
  return { code: await command.run(argv, io), out, err };
}

function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request({ socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

let macs = 0;
function cfg(name: string): string {
  const p = join(dir, `${name}.cfg`);
  writeFileSync(p, `name = "${name}"\nmemory = 512\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/${name},xvda,w"]\nvif = ["mac=00:16:3e:5a:00:0${++macs},bridge=xenbr0"]\n`);
  return p;
}

describe('tsxend save / restore', () => {
  it('save shows the copy and reports the image; the domain is gone; restore brings it back with its devices', async () => {
    expect((await run(create, '--quiet', cfg('s1'))).code).toBe(EXIT.ok);
    const file = join(dir, 's1.save');
    const s = await run(save, 's1', file);
    expect(s.err).toBe('');
    expect(s.code).toBe(EXIT.ok);
    expect(s.out).toMatch(/domain\.suspend-requested s1\(\d+\)/);
    expect(s.out).toMatch(/save\.progress s1\(\d+\) \d+\/\d+ pages, [\d.]+ MiB/);
    expect(s.out).toMatch(new RegExp(`saved s1 to ${file}: [\\d.]+ MiB, \\d+ pages, guest stopped \\d+ ms\\n$`));
    expect(existsSync(file)).toBe(true);
    expect((await run(list)).out).not.toMatch(/^s1 /m);

    const r = await run(restore, file);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/device\.connected s1\(\d+\) vbd\/51712/);
    expect(r.out).toMatch(/s1 \(domid \d+, uuid [0-9a-f-]+\): running/);
    expect(r.out).toMatch(/vif\s+0\s+connected/);
  });

  it('save -c keeps the domain running and --json prints the report; restore -p of its image is refused while it runs (exit 5)', async () => {
    expect((await run(create, '--quiet', cfg('s2'))).code).toBe(EXIT.ok);
    const file = join(dir, 's2.save');
    const s = await run(save, '--json', '-c', 's2', file);
    expect(s.code).toBe(EXIT.ok);
    expect(JSON.parse(s.out)).toMatchObject({ name: 's2', file, checkpoint: true });
    expect((await run(list)).out).toMatch(/^s2 .* running/m);
    const again = await run(restore, '-p', file);
    expect(again.code).toBe(EXIT.conflict);
    expect(again.err).toMatch(/TSX_ERR_UUID_TAKEN/);
  });

  it('restore of a bad image names it and the byte, and exits 1; nothing is created', async () => {
    const before = (await run(list, '--json')).out;
    const bad = join(dir, 'bad.save');
    writeFileSync(bad, 'Xen saved domain, xl format\n \0 \r');
    const r = await run(restore, bad);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/TSX_ERR_BAD_IMAGE/);
    expect(r.err).toContain(`${bad}: at byte 0: xl header: the stream ends after 32 of 48 bytes`);
    expect((await run(list, '--json')).out).toBe(before);
  });

  it('the routes refuse a relative path and unknown fields (400), and an unknown domain (404)', async () => {
    expect((await post('/v1/restore', { file: 'relative.save' })).status).toBe(400);
    expect((await post('/v1/restore', { file: '/x.save', force: true })).status).toBe(400);
    expect((await post('/v1/domains/nosuch/save', { file: '/x.save' })).status).toBe(404);
  });
});
