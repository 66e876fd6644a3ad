// Logs for people and machines (issue 15): on a terminal `tsxend serve` writes one readable line
// per event (time, level, domain, message) through pino-pretty; elsewhere JSON lines as before.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemonLogger } from '../../src/daemon/logger.js';
import { buildOnce, root, startServe, type ServeProcess } from './helpers/serve-process.js';

function sink(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

describe('readable log lines', () => {
  it('gives time, level, domain and message on one line, and still redacts secrets', () => {
    const out = sink();
    const { logger } = createDaemonLogger({ level: 'info', pretty: true, prettyDestination: out.stream });
    logger.info({ type: 'device.connected', domid: 3, name: 'web1', devClass: 'vif', devid: 0, outcome: 'ok', data: { big: 'x'.repeat(500) } }, 'device.connected');
    logger.warn({ domain: 'web2', code: 'TSX_ERR_WRONG_STATE' }, 'pause refused');
    logger.error({ err: new Error('xenstored went away'), authorization: 'Bearer s3cret-token-value' }, 'request failed');
    const lines = out.lines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: web1\(3\): device\.connected vif\/0 \[ok\]$/);
    expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: web2: pause refused \(TSX_ERR_WRONG_STATE\)$/);
    expect(lines[2]).toMatch(/ERROR: request failed — xenstored went away$/);
    expect(lines.join('\n')).not.toContain('s3cret');
  });
});

describe('tsxend serve', () => {
  let pretty: ServeProcess;
  let json: ServeProcess;
  beforeAll(async () => {
    await buildOnce();
    // The test's stdout is no terminal: TSXEND_LOG_FORMAT stands in for one.
    pretty = await startServe({ env: { TSXEND_LOG_FORMAT: 'pretty' } });
    json = await startServe();
  }, 120_000);
  afterAll(async () => {
    await pretty?.stop();
    await json?.stop();
  });

  it('logs readable lines on a terminal and JSON lines otherwise', () => {
    const human = pretty.output().split('\n').filter(Boolean);
    expect(human.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: tsxend listening$/.test(l))).toBe(true);
    expect(human.some((l) => l.startsWith('{'))).toBe(false);
    const machine = json.output().split('\n').filter(Boolean);
    expect(machine.length).toBeGreaterThan(0);
    for (const l of machine) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
describe.runIf(hasTmux || process.env['CI'] === 'true')('tsxend serve in a real terminal (tmux)', () => {
  it('writes readable lines by itself, without being told', async () => {
    await buildOnce();
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-tty-'));
    const session = `tsxend-tty-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    const env = Object.entries(process.env).filter(([k]) => k === 'PATH' || k === 'HOME');
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `sleep 0.2; env -i ${env.map(([k, v]) => `${k}=${v ?? ''}`).join(' ')} ${process.execPath} ${join(root, 'bin', 'tsxend.js')} serve --state-dir ${dir} --listen unix:${join(dir, 's.sock')} 2>${join(dir, 'err')}; sleep 10`);
    try {
      const pane = () => tmux('capture-pane', '-p', '-t', session);
      for (let i = 0; i < 200 && !pane().includes('tsxend listening'); i++) await new Promise((r) => setTimeout(r, 50));
      const lines = pane().split('\n').filter(Boolean);
      expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: tsxend listening$/.test(l)), lines.join('\n')).toBe(true);
      expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      tmux('send-keys', '-t', session, 'C-c');
      for (let i = 0; i < 200 && !pane().includes('tsxend stopped'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pane()).toMatch(/INFO: tsxend stopped/);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
