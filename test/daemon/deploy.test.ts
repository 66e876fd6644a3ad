// deploy/tsxend.service, the Dockerfile and the container healthcheck, tested as far as this
// machine allows: systemd-analyze verify on the unit, readiness sent through systemd-notify to a
// stand-in notify socket, the Dockerfile's paths, and the healthcheck against a running daemon.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const unit = readFileSync(join(root, 'deploy', 'tsxend.service'), 'utf8');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const run = promisify(execFile);
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

let d: TestDaemon | undefined;
let helper: ChildProcess | undefined;
afterEach(async () => {
  await d?.daemon.stop('test over');
  d = undefined;
  helper?.kill();
  helper = undefined;
});

function directive(name: string): string[] {
  return [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1] as string);
}

describe('deploy/tsxend.service', () => {
  it('passes systemd-analyze verify with no warning', async () => {
    if (!haveAnalyze) {
      if (process.env.CI === 'true') throw new Error('systemd-analyze is required in CI');
      console.warn('systemd-analyze missing: unit not verified');
      return;
    }
    // ExecStart names where `npm install -g` puts tsxend; point it at this checkout to verify.
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-unit-'));
    const file = join(dir, 'tsxend.service');
    writeFileSync(file, unit.replace('/usr/local/bin/tsxend', join(root, 'bin', 'tsxend.js')));
    const { stderr } = await run('systemd-analyze', ['verify', file]);
    expect(stderr).toBe('');
  });

  it('is Type=notify with NotifyAccess=all, a watchdog, restart on failure and its directories', () => {
    expect(directive('Type')).toEqual(['notify']);
    expect(directive('NotifyAccess')).toEqual(['all']);
    expect(Number.parseInt(directive('WatchdogSec')[0] ?? '0')).toBeGreaterThan(0);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(directive('RuntimeDirectory')).toEqual(['tsxend']);
    expect(directive('StateDirectory')).toEqual(['tsxend']);
    expect(directive('ExecStart')[0]).toMatch(/tsxend serve --xenstore socket:\/run\/xenstored\/socket --listen unix:\/run\/tsxend\/tsxend\.sock/);
    expect(directive('KillMode')).toEqual(['process']);
  });

  it('is hardened, with a capability bounding set limited to what a toolstack needs', () => {
    expect(directive('ProtectSystem')).toEqual(['strict']);
    expect(directive('PrivateTmp')).toEqual(['yes']);
    expect(directive('NoNewPrivileges')).toEqual(['yes']);
    const caps = (directive('CapabilityBoundingSet')[0] ?? '').split(/\s+/);
    expect(caps).toContain('CAP_SYS_ADMIN');
    expect(caps).toContain('CAP_NET_ADMIN');
    for (const never of ['CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_PTRACE', 'CAP_SYS_BOOT', 'CAP_SYS_TIME', 'CAP_MKNOD']) expect(caps).not.toContain(never);
  });

  it('gets READY=1 with the main pid and a status only once the daemon listens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-notify-'));
    const sock = join(dir, 'notify.sock');
    const out = join(dir, 'notify.log');
    helper = spawn('python3', [join(root, 'test', 'daemon', 'fixtures', 'notify-recv.py'), sock, out], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    d = await startTestDaemon({ env: { NOTIFY_SOCKET: sock, PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const log = readFileSync(out, 'utf8');
    expect(log).toMatch(/STATUS=connecting to xenstore and reconciling domains/);
    expect(log).toMatch(new RegExp(`READY=1\\nSTATUS=0 domains; listening on unix:${d.socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\nMAINPID=${process.pid}`));
    await d.daemon.stop('test');
    d = undefined;
    expect(readFileSync(out, 'utf8')).toMatch(/STOPPING=1/);
  });

  it('feeds the watchdog at half its period from the main loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-wd-'));
    const sock = join(dir, 'notify.sock');
    const out = join(dir, 'notify.log');
    helper = spawn('python3', [join(root, 'test', 'daemon', 'fixtures', 'notify-recv.py'), sock, out], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    d = await startTestDaemon({ env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid), PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    await new Promise((r) => setTimeout(r, 1800));
    const pings = readFileSync(out, 'utf8').match(/WATCHDOG=1/g) ?? [];
    expect(pings.length).toBeGreaterThanOrEqual(2);
  });
});

describe('the launcher, bin/tsxend.js', () => {
  it("gives Node the daemon's flags on its #! line, and the unit and the container run it as a file so they apply", async () => {
    const bin = join(root, 'bin', 'tsxend.js');
    const flags = /^#!\/usr\/bin\/env -S node (.+)$/.exec(readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '')?.[1];
    expect(flags).toMatch(/--max-semi-space-size=\d+/);
    expect(directive('ExecStart')[0]).toMatch(/^\/usr\/local\/bin\/tsxend serve /);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/opt\/tsxend\/bin\/tsxend\.js", "serve"\]$/m);
    // Run as a file, the kernel starts env, and env starts node with the flags.
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-launcher-'));
    helper = spawn(bin, ['serve', '--state-dir', dir, '--listen', `unix:${join(dir, 's.sock')}`, '--log-level', 'error'], { stdio: 'ignore' });
    // Until env has exec'd node (before that, the same pid's argv is env's own).
    let argv: string[] = [];
    for (let i = 0; i < 200 && !(/(^|\/)node$/.test(argv[0] ?? '') && argv.includes(bin)); i++) {
      await new Promise((r) => setTimeout(r, 25));
      argv = readFileSync(`/proc/${helper.pid}/cmdline`, 'utf8').split('\0');
    }
    expect(argv.slice(1, argv.indexOf(bin))).toEqual(flags?.split(' '));
  });
});

describe('Dockerfile', () => {
  it('is multi-stage with a slim runtime stage, volumes for state and the xenstore socket, and a health check', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)?.[1]).toMatch(/slim|alpine|distroless/);
    const volume = /^VOLUME (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(volume ?? '[]')).toEqual(expect.arrayContaining(['/var/lib/tsxend', '/run/xenstored']));
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "\/opt\/tsxend\/scripts\/healthcheck\.mjs"\]$/m);
  });

  it('copies only paths that exist and that .dockerignore does not exclude', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
    expect(copies.length).toBeGreaterThan(3);
    for (const src of copies) {
      expect(existsSync(join(root, src)), src).toBe(true);
      expect(ignored.some((pat) => src === pat || src.startsWith(`${pat}/`)), `${src} is excluded by .dockerignore`).toBe(false);
    }
    // The runtime stage runs these.
    for (const p of ['bin/tsxend.js', 'scripts/healthcheck.mjs']) expect(existsSync(join(root, p)), p).toBe(true);
  });

  it('has a healthcheck command that passes on a healthy daemon and fails when xenstore is down or nothing answers', async () => {
    d = await startTestDaemon();
    // The daemon runs in this process: the check must not block its event loop (no spawnSync).
    const check = (connect: string): Promise<{ status: number; stdout: string }> =>
      run('node', [join(root, 'scripts', 'healthcheck.mjs')], { env: { ...process.env, TSXEND_CONNECT: connect } }).then(
        (r) => ({ status: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => ({ status: e.code, stdout: e.stdout }),
      );
    const ok = await check(`unix:${d.socket}`);
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^200 .*"xenstore":"up"/);
    d.orch.xenstoreUp = false;
    expect((await check(`unix:${d.socket}`)).status).toBe(1);
    expect((await check(`unix:${d.dir}/none.sock`)).status).toBe(1);
  });
});
