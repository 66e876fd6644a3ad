// The daemon's process-level behaviour: socket mode, stale and live sockets, TCP with token and
// TLS, graceful stop, re-running against the same state directory.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.js';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.js';

const running: TestDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.daemon.stop('test over');
});

async function start(...args: Parameters<typeof startTestDaemon>): Promise<TestDaemon> {
  const d = await startTestDaemon(...args);
  running.push(d);
  return d;
}

describe('tsxend daemon', () => {
  it('listens on a 0600 Unix socket, starts the orchestrator, and answers', async () => {
    const d = await start();
    expect(statSync(d.socket).mode & 0o777).toBe(0o600);
    expect(d.orch.started).toBe(1);
    const api = new ApiClient({ connect: `unix:${d.socket}` }, {});
    expect(await api.get('/v1/health')).toMatchObject({ status: 'ok', xenstore: 'up' });
    expect(d.daemon.addresses).toEqual([`unix:${d.socket}`]);
  });

  it('replaces a stale socket left by a dead daemon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-stale-'));
    mkdirSync(join(dir, 'run'));
    const path = join(dir, 'run', 'tsxend.sock');
    // What a crashed daemon leaves: the socket file, with nothing listening on it.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    expect(existsSync(path)).toBe(true);
    const d = await start({ dir });
    expect(d.logs.join('')).toContain('replaced a stale API socket');
    expect(await new ApiClient({ connect: `unix:${path}` }, {}).get('/v1/health')).toMatchObject({ status: 'ok' });
  });

  it('refuses to start when another daemon answers on the socket, and leaves it alone', async () => {
    const first = await start();
    await expect(startTestDaemon({ dir: first.dir })).rejects.toMatchObject({ code: 'TSX_ERR_SOCKET_IN_USE' });
    expect(await new ApiClient({ connect: `unix:${first.socket}` }, {}).get('/v1/health')).toMatchObject({ status: 'ok' });
  });

  it('never unlinks a path that is not a socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-notsock-'));
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run', 'tsxend.sock'), 'precious');
    await expect(startTestDaemon({ dir })).rejects.toMatchObject({ code: 'TSX_ERR_SERVE_OPTIONS' });
    expect(existsSync(join(dir, 'run', 'tsxend.sock'))).toBe(true);
  });

  it('stops gracefully: stops the orchestrator, closes the environment, removes the socket; twice is fine', async () => {
    const d = await startTestDaemon();
    await Promise.all([d.daemon.stop('SIGTERM'), d.daemon.stop('SIGINT')]);
    await d.daemon.stopped;
    expect(d.orch.stopped).toBe(1);
    expect(d.environmentClosed()).toBe(1);
    expect(existsSync(d.socket)).toBe(false);
  });

  it('serves HTTPS on TCP with a bearer token: 401 without it, 200 with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, '# api token\nsecret-token-0123456789\n', { mode: 0o600 });
    const d = await start({ dir, args: ['--listen', 'tcp:127.0.0.1:0', '--token-file', tokenFile, '--tls-cert', cert, '--tls-key', key] });
    const tcp = d.daemon.addresses.find((a) => a.startsWith('tcp:')) as string;
    const port = Number(tcp.split(':').pop());
    const status = (auth?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/v1/domains', ca: execFileSync('cat', [cert]), headers: auth ? { authorization: auth } : {} }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status()).toBe(401);
    expect(await status('Bearer nope-nope-nope-nope')).toBe(401);
    expect(await status('Bearer secret-token-0123456789')).toBe(200);
    const api = new ApiClient({ connect: `https://127.0.0.1:${port}`, tokenFile, caFile: cert }, {});
    expect(await api.get('/v1/health')).toMatchObject({ status: 'ok' });
    // The Unix socket needs no token.
    expect(await new ApiClient({ connect: `unix:${d.socket}` }, {}).get('/v1/health')).toMatchObject({ status: 'ok' });
    expect(d.logs.join('')).not.toContain('secret-token-0123456789');
  });

  it('logs every event with its domain and device', async () => {
    const d = await start();
    d.orch.events.emit({ type: 'device.connected', domid: 3, uuid: 'u-3', name: 'web', devClass: 'vbd', devid: 51712 });
    const line = d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'device.connected');
    expect(line).toMatchObject({ domid: 3, uuid: 'u-3', name: 'web', devClass: 'vbd', devid: 51712, component: 'events' });
  });
});

describe('SIGHUP reload', () => {
  it('re-reads the log level from the config file, unless a flag set it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-hup-'));
    const conf = join(dir, 'tsxend.conf');
    writeFileSync(conf, 'log-level = info\n');
    const d = await start({ dir, args: ['--config', conf] });
    writeFileSync(conf, 'log-level = warn\n');
    await d.daemon.reload();
    expect(d.daemon.logger.level).toBe('warn');
    writeFileSync(conf, 'log-level = debug\n');
    await d.daemon.reload();
    expect(d.daemon.logger.level).toBe('debug');
    writeFileSync(conf, 'log-level = ???\n');
    await d.daemon.reload();
    expect(d.daemon.logger.level).toBe('debug');
    expect(d.logs.join('')).toContain('config file not reloaded');

    const dir2 = mkdtempSync(join(tmpdir(), 'tsxend-hup-'));
    const conf2 = join(dir2, 'tsxend.conf');
    writeFileSync(conf2, 'log-level = info\n');
    const f = await start({ dir: dir2, args: ['--config', conf2, '--log-level', 'warn'] });
    const before = f.daemon.logger.level;
    writeFileSync(conf2, 'log-level = error\n');
    await f.daemon.reload();
    expect(f.daemon.logger.level).toBe(before);
  });

  it('binds the domain ref to the log lines of a request about it', async () => {
    const d = await start();
    await new ApiClient({ connect: `unix:${d.socket}` }, {}).get('/v1/domains/nosuch').catch(() => undefined);
    const lines = d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'no domain nosuch' || l.msg === 'request completed');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.domain === 'nosuch' && typeof l.requestId === 'string')).toBe(true);
  });
});
