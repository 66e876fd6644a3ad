// The CLI commands against a running daemon (real sockets; a fake orchestrator behind it):
// human output, --json, exit codes, error printing.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand, CliIo } from '../../src/cli/command.js';
import { EXIT } from '../../src/cli/command.js';
import { startTestDaemon, type TestDaemon } from '../daemon/helpers/test-daemon.js';
import { command as create } from '../../src/cli/commands/create.js';
import { command as list } from '../../src/cli/commands/list.js';
import { command as pause } from '../../src/cli/commands/pause.js';
import { command as unpause } from '../../src/cli/commands/unpause.js';
import { command as mem_set } from '../../src/cli/commands/mem-set.js';
import { command as vcpu_set } from '../../src/cli/commands/vcpu-set.js';
import { command as block_attach } from '../../src/cli/commands/block-attach.js';
import { command as block_detach } from '../../src/cli/commands/block-detach.js';
import { command as network_attach } from '../../src/cli/commands/network-attach.js';
import { command as network_detach } from '../../src/cli/commands/network-detach.js';
import { command as shutdown } from '../../src/cli/commands/shutdown.js';
import { command as reboot } from '../../src/cli/commands/reboot.js';
import { command as destroy } from '../../src/cli/commands/destroy.js';
import { command as events } from '../../src/cli/commands/events.js';
import { command as info } from '../../src/cli/commands/info.js';
import { command as doctor } from '../../src/cli/commands/doctor.js';
import { command as new_ } from '../../src/cli/commands/new.js';
import { command as start } from '../../src/cli/commands/start.js';
import { command as delete_ } from '../../src/cli/commands/delete.js';

const COMMANDS: Record<string, CliCommand> = { 'new': new_, 'start': start, 'delete': delete_, 'create': create, 'list': list, 'pause': pause, 'unpause': unpause, 'mem-set': mem_set, 'vcpu-set': vcpu_set, 'block-attach': block_attach, 'block-detach': block_detach, 'network-attach': network_attach, 'network-detach': network_detach, 'shutdown': shutdown, 'reboot': reboot, 'destroy': destroy, 'events': events, 'info': info, 'doctor': doctor };

let d: TestDaemon;
const dir = mkdtempSync(join(tmpdir(), 'tsxend-cli-'));
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.daemon.stop('test over'));

async function run(name: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const command = COMMANDS[name] as CliCommand;
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: { TSXEND_CONNECT: `unix:${d.socket}` } };
  const code = await command.run(argv, io);
  return { code, out, err };
}

function cfg(name: string, body = ''): string {
  const p = join(dir, `${name}.cfg`);
  writeFileSync(p, `name = "${name}"\nmemory = 256\ndisk = ["phy:/dev/vg/${name},xvda,w"]\n${body}`);
  return p;
}

describe('tsxend CLI', () => {
  it('create shows each device as it comes up, then the domain', async () => {
    const r = await run('create', cfg('alpha'));
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/create\.step alpha\(\d+\) domain created \[started\]/);
    expect(r.out).toMatch(/device\.connected alpha\(\d+\) vbd\/0/);
    expect(r.out).toMatch(/device\.connected alpha\(\d+\) vfb\/1/);
    expect(r.out).toMatch(/alpha \(domid \d+, uuid [0-9a-f-]{36}\): running/);
  });

  it('create --json prints the domain; a second create of the name exits 5 (conflict)', async () => {
    const r = await run('create', cfg('beta'), '--json');
    expect(JSON.parse(r.out)).toMatchObject({ name: 'beta', state: 'running' });
    const again = await run('create', cfg('beta'));
    expect(again.code).toBe(EXIT.conflict);
    expect(again.err).toMatch(/TSX_ERR_FAKE_NAME_TAKEN/);
  });

  it('create reports a bad config with file:line:col and exits 1', async () => {
    const p = join(dir, 'broken.cfg');
    writeFileSync(p, 'name = "x"\nwhat is this\n');
    const r = await run('create', p);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toContain('TSX_ERR_CONFIG_SYNTAX');
    expect(r.err).toContain('broken.cfg:2:1');
  });

  it('list shows an xm-style table; list -l and --json give the full model', async () => {
    const r = await run('list');
    expect(r.out.split('\n')[0]).toMatch(/^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Devices/);
    expect(r.out).toMatch(/alpha\s+\d+\s+256\s+1\s+running\s+vbd:1 vfb:1/);
    const l = JSON.parse((await run('list', '-l')).out) as { name: string; config: { memory: number } }[];
    expect(l.find((x) => x.name === 'alpha')?.config.memory).toBe(256);
    expect(JSON.parse((await run('list', '--json', 'alpha')).out)).toHaveLength(1);
  });

  it('pause, unpause, mem-set, vcpu-set', async () => {
    expect((await run('pause', 'alpha')).out).toBe('alpha: paused\n');
    expect((await run('pause', 'alpha')).code).toBe(EXIT.conflict);
    expect((await run('unpause', 'alpha')).out).toBe('alpha: running\n');
    expect((await run('mem-set', 'alpha', '300')).out).toBe('alpha: memory 300 MiB\n');
    expect((await run('mem-set', 'alpha', 'lots')).code).toBe(EXIT.usage);
    expect((await run('vcpu-set', 'alpha', '2', '--json')).out).toContain('"vcpus": 2');
  });

  it('block-attach/-detach and network-attach/-detach, by devid, vdev and MAC', async () => {
    const a = await run('block-attach', 'alpha', 'phy:/dev/vg/data,xvdb,w', '--json');
    expect(a.code).toBe(EXIT.ok);
    const dev = JSON.parse(a.out) as { class: string; devid: number; config: { spec: string } };
    expect(dev).toMatchObject({ class: 'vbd', config: { spec: 'phy:/dev/vg/data,xvdb,w' } });
    expect((await run('block-detach', 'alpha', String(dev.devid))).out).toBe(`detached vbd ${dev.devid} from alpha\n`);
    const n = await run('network-attach', 'alpha', 'bridge=xenbr0', 'mac=00:16:3e:00:00:01');
    expect(n.out).toContain('attached to alpha');
    const nd = await run('network-detach', 'alpha', '99');
    expect(nd.code).toBe(EXIT.notFound);
  });

  it('shutdown, reboot and destroy; unknown domains exit 4', async () => {
    expect((await run('shutdown', 'beta')).out).toBe('beta: shutdown\n');
    expect((await run('destroy', 'beta')).out).toBe('destroyed beta\n');
    const nf = await run('destroy', 'beta');
    expect(nf.code).toBe(EXIT.notFound);
    expect(nf.err).toMatch(/^tsxend: TSX_ERR_FAKE_NO_DOMAIN: no domain beta/);
    expect(JSON.parse((await run('destroy', 'beta', '--json')).out)).toMatchObject({ statusCode: 404 });
  });

  it('events --since N --count N prints what happened; --json gives raw events', async () => {
    const r = await run('events', '--since', '0', '--count', '3', '--json');
    const evs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(evs.map((e) => e.seq)).toEqual([1, 2, 3]);
    const h = await run('events', '--since', '0', '--count', '1');
    expect(h.out).toMatch(/^#1 \d\d:\d\d:\d\d create\.step alpha\(\d+\)/);
  });

  it('new reports the daemon refusing a define with its code and exits 1', async () => {
    const r = await run('new', cfg('gamma'));
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/^tsxend: TSX_ERR_FAKE_UNSUPPORTED: not in the fake/);
    expect((await run('start')).code).toBe(EXIT.usage);
    expect((await run('delete', '--help')).out).toMatch(/^usage: tsxend delete DOMAIN/);
  });

  it('info prints host facts', async () => {
    const r = await run('info');
    expect(r.out).toMatch(/hypervisor\s+: simulated/);
    expect(r.out).toMatch(/nr_cpus\s+: 4/);
  });

  it('exits 3 with a hint when the daemon is unreachable, and 2 on bad usage', async () => {
    let err = '';
    const code = await list.run([], { stdout: () => undefined, stderr: (t) => void (err += t), env: { TSXEND_CONNECT: `unix:${dir}/nothing.sock` } });
    expect(code).toBe(EXIT.unavailable);
    expect(err).toMatch(/cannot reach the tsxend daemon.*\n.*tsxend serve/);
    expect((await run('pause')).code).toBe(EXIT.usage);
    expect((await run('list', '--bogus')).code).toBe(EXIT.usage);
    expect((await run('pause', '--help')).out).toMatch(/^usage: tsxend pause DOMAIN/);
  });

  it('doctor names each missing thing and how to fix it', async () => {
    const r = await run('doctor', '--xenstore', `${dir}/no-xenstored`, '--state-dir', join(dir, 'state'), '--scripts-dir', join(dir, 'scripts'), '--json');
    const report = JSON.parse(r.out) as { ok: boolean; checks: { check: string; status: string; fix?: string }[] };
    expect(r.code).toBe(EXIT.failure);
    expect(report.ok).toBe(false);
    const by = (name: string) => report.checks.find((c) => c.check === name);
    expect(by('xenstored')).toMatchObject({ status: 'fail' });
    expect(by('xenstored')?.fix).toMatch(/systemctl start xenstored/);
    expect(by('hotplug block')).toMatchObject({ status: 'fail' });
    expect(by('state dir')).toMatchObject({ status: 'ok' });
    expect(by('API socket')).toMatchObject({ status: 'ok' });
  });

  it('doctor --hypervisor xen adds the real-Xen checks (libraries, control domain)', async () => {
    const r = await run('doctor', '--hypervisor', 'xen', '--state-dir', join(dir, 'state'), '--json');
    const report = JSON.parse(r.out) as { checks: { check: string; status: string }[] };
    expect(report.checks.map((c) => c.check)).toEqual(expect.arrayContaining(['xen control domain', 'ffi (koffi)']));
  });
});
