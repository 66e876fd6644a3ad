// The daemon's logger: secrets never reach a line, and SIGHUP's reopen follows logrotate's
// rename to a fresh file.

import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDaemonLogger } from '../../src/daemon/logger.js';

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('daemon logger', () => {
  it('redacts API tokens and VNC passwords wherever they sit', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tsxend-log-')), 'tsxend.log');
    const d = createDaemonLogger({ level: 'info', file });
    d.logger.info({ req: { headers: { authorization: 'Bearer s3cret-token-value' } } }, 'request');
    d.logger.info({ config: { name: 'web', devices: { u1: { class: 'vfb', config: { vncpasswd: 'hunter2' } } } } }, 'create');
    d.logger.info({ device: { config: { vncpasswd: 'hunter3' } }, token: 'tok-tok-tok' }, 'attach');
    d.flush();
    await settle();
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    for (const secret of ['s3cret-token-value', 'hunter2', 'hunter3', 'tok-tok-tok']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('reopens the log file after logrotate renamed it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-log-'));
    const file = join(dir, 'tsxend.log');
    const d = createDaemonLogger({ level: 'info', file });
    d.logger.info('before rotation');
    d.flush();
    await settle();
    renameSync(file, `${file}.1`);
    d.reopen();
    await settle();
    d.logger.info('after rotation');
    d.flush();
    await settle();
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('after rotation');
    expect(readFileSync(`${file}.1`, 'utf8')).toContain('before rotation');
    expect(readFileSync(`${file}.1`, 'utf8')).not.toContain('after rotation');
  });
});
