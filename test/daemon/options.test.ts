import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { DEFAULT_HOTPLUG_TIMEOUTS, scriptTimeout, uniformHotplugTimeouts } from '../../src/devices/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-opts-'));
const base = { HOME: dir };

function file(text: string): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(p, text);
  return p;
}

describe('serve options', () => {
  it('defaults to the embedded xenstore and one Unix socket under the runtime dir of the state dir', () => {
    const o = resolveServeOptions(['--state-dir', '/tmp/x'], { HOME: dir });
    expect(o.xenstore).toEqual({ kind: 'embedded' });
    expect(o.listen).toEqual([{ kind: 'unix', path: '/tmp/x/run/tsxend.sock' }]);
    const d = resolveServeOptions([], { HOME: dir });
    if (process.getuid?.() === 0) expect(d.listen).toEqual([{ kind: 'unix', path: '/run/tsxend/tsxend.sock' }]);
    else expect(d.listen).toEqual([{ kind: 'unix', path: `${dir}/.local/state/tsxend/run/tsxend.sock` }]);
  });

  it("uses systemd's StateDirectory and RuntimeDirectory when set", () => {
    const o = resolveServeOptions([], { HOME: dir, STATE_DIRECTORY: '/var/lib/tsxend', RUNTIME_DIRECTORY: '/run/tsxend' });
    expect(o.stateDir).toBe('/var/lib/tsxend');
    expect(o.listen).toEqual([{ kind: 'unix', path: '/run/tsxend/tsxend.sock' }]);
  });

  it('reads a config file with one key per flag; the environment beats it and flags beat both', () => {
    const cfg = file('# tsxend\nxenstore = socket:/run/xenstored/socket\nlog-level = debug\nlisten = unix:/tmp/a.sock\nlisten = unix:/tmp/b.sock\nstate-dir = /srv/file\n');
    const o = resolveServeOptions(['--config', cfg, '--state-dir', '/srv/flag'], { HOME: dir, TSXEND_LOG_LEVEL: 'warn', TSXEND_STATE_DIR: '/srv/env' });
    expect(o.xenstore).toEqual({ kind: 'socket', path: '/run/xenstored/socket' });
    expect(o.logLevel).toBe('warn');
    expect(o.stateDir).toBe('/srv/flag');
    expect(o.listen.map((l) => (l.kind === 'unix' ? l.path : ''))).toEqual(['/tmp/a.sock', '/tmp/b.sock']);
    expect(o.configFile).toBe(cfg);
  });

  it('takes several --listen flags and TSXEND_LISTEN as a comma list', () => {
    const tok = file('0123456789abcdef0123\n');
    const o = resolveServeOptions(['--listen', 'unix:/tmp/s.sock', '--listen=tcp:127.0.0.1:8443', '--token-file', tok], { HOME: dir });
    expect(o.listen).toEqual([{ kind: 'unix', path: '/tmp/s.sock' }, { kind: 'tcp', host: '127.0.0.1', port: 8443 }]);
    const e = resolveServeOptions([], { HOME: dir, TSXEND_LISTEN: 'unix:/tmp/1.sock, unix:/tmp/2.sock' });
    expect(e.listen).toHaveLength(2);
  });

  it('refuses TCP without a token file, off-loopback TCP without TLS, and half a TLS pair', () => {
    expect(() => resolveServeOptions(['--listen', 'tcp:127.0.0.1:8443'], base)).toThrow(/needs --token-file/);
    const tok = file('0123456789abcdef0123\n');
    expect(() => resolveServeOptions(['--listen', 'tcp:0.0.0.0:8443', '--token-file', tok], base)).toThrow(/needs --tls-cert/);
    expect(() => resolveServeOptions(['--tls-cert', '/x'], base)).toThrow(/go together/);
  });

  it('names the file, line and key of a bad config file line', () => {
    const cfg = file('log-level = info\nlisten-on = unix:/x\n');
    expect(() => resolveServeOptions(['--config', cfg], { HOME: dir })).toThrow(`${cfg}:2:1: unknown key 'listen-on'`);
  });

  it('rejects unknown flags, bad listen specs and bad xenstore specs with TSX_ERR_SERVE_OPTIONS', () => {
    for (const argv of [['--bogus', '1'], ['--listen', 'udp:1'], ['--listen', 'unix:relative'], ['--xenstore', 'tcp:1'], ['--log-level', 'loud']]) {
      expect(() => resolveServeOptions(argv, { HOME: dir }), argv.join(' ')).toThrow(expect.objectContaining({ code: 'TSX_ERR_SERVE_OPTIONS' }) as Error);
    }
  });
});

describe('--hypervisor', () => {
  it('defaults to simulated when embedded and auto against a real xenstored; xen needs a real xenstored', () => {
    expect(resolveServeOptions([], { HOME: dir }).hypervisor).toBe('simulated');
    expect(resolveServeOptions(['--xenstore', 'socket:/run/xenstored/socket'], { HOME: dir }).hypervisor).toBe('auto');
    expect(resolveServeOptions(['--xenstore', 'socket:/x', '--hypervisor', 'xen'], { HOME: dir }).hypervisor).toBe('xen');
    expect(() => resolveServeOptions(['--hypervisor', 'xen'], { HOME: dir })).toThrow(/needs the host xenstored/);
    expect(() => resolveServeOptions(['--hypervisor', 'kvm'], { HOME: dir })).toThrow(/expected simulated, xen or auto/);
  });

  it('takes the hotplug and create timeouts in seconds (--hotplug-timeout 40, --create-timeout 60 by default)', () => {
    const d = resolveServeOptions([], base);
    expect([d.hotplugTimeoutMs, d.createTimeoutMs]).toEqual([40_000, 60_000]);
    const o = resolveServeOptions(['--hotplug-timeout', '300', '--create-timeout', '600'], base);
    expect([o.hotplugTimeoutMs, o.createTimeoutMs]).toEqual([300_000, 600_000]);
    expect(resolveServeOptions([], { ...base, TSXEND_HOTPLUG_TIMEOUT: '0.5' }).hotplugTimeoutMs).toBe(500);
    expect(() => resolveServeOptions(['--hotplug-timeout', '0'], base)).toThrow(/--hotplug-timeout must be a number of seconds within 0\.1\.\.3600/);
    expect(() => resolveServeOptions(['--create-timeout', 'soon'], base)).toThrow(/--create-timeout/);
  });

  it('gives every script class the one --hotplug-timeout, never clamped below it, still bounded by the create deadline', () => {
    const far = Date.now() + 3_600_000;
    const t = uniformHotplugTimeouts(600_000);
    expect(scriptTimeout(t, 'vbd', far)).toBe(600_000);
    expect(scriptTimeout(t, 'vif', far)).toBe(600_000);
    expect(scriptTimeout(DEFAULT_HOTPLUG_TIMEOUTS, 'vbd', far)).toBe(40_000);
    expect(scriptTimeout(t, 'vbd', Date.now() + 5_000)).toBeLessThanOrEqual(5_000);
  });

  it('takes how long rollbacks and destroys wait for a lost xenstored (--xenstore-wait, seconds; default 10)', () => {
    expect(resolveServeOptions([], base).xenstoreWaitMs).toBe(10_000);
    expect(resolveServeOptions(['--xenstore-wait', '2.5'], base).xenstoreWaitMs).toBe(2_500);
    expect(resolveServeOptions([], { ...base, TSXEND_XENSTORE_WAIT: '0' }).xenstoreWaitMs).toBe(0);
    expect(() => resolveServeOptions(['--xenstore-wait', '-1'], base)).toThrow(/xenstore-wait/);
  });

  it('keeps prepared shells when asked (--prepared-shells N[,memory=MiB][,maxvcpus=N][,type=T]; none by default or with 0)', () => {
    expect(resolveServeOptions([], base).preparedShells).toBeUndefined();
    expect(resolveServeOptions(['--prepared-shells', '0'], base).preparedShells).toBeUndefined();
    expect(resolveServeOptions(['--prepared-shells', '4'], base).preparedShells).toEqual({ count: 4 });
    expect(resolveServeOptions(['--prepared-shells=8,memory=512,maxvcpus=2,type=pvh'], base).preparedShells).toEqual({ count: 8, memoryMiB: 512, maxVcpus: 2, type: 'pvh' });
    expect(resolveServeOptions([], { ...base, TSXEND_PREPARED_SHELLS: '2,memory=64' }).preparedShells).toEqual({ count: 2, memoryMiB: 64 });
    expect(resolveServeOptions(['--config', file('prepared-shells = 3\n')], base).preparedShells).toEqual({ count: 3 });
    for (const bad of ['-1', 'two', '4,memory=0', '4,maxvcpus=x', '4,type=arm', '4,vcpus=2', '99999']) {
      expect(() => resolveServeOptions(['--prepared-shells', bad], base), bad).toThrow(/prepared-shells/);
    }
  });
});
