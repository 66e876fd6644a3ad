import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/config.js';
import { parseConfig } from '../../src/config/index.js';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await command.run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe('tsxend config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-config-'));
  const good = join(dir, 'good.cfg');
  const bad = join(dir, 'bad.cfg');
  writeFileSync(good, 'name = "g"\nkernel = "/boot/vmlinuz"\nmemory = 256\ndisk = ["/img/g.img,xvda,w"]\n');
  writeFileSync(bad, 'name = "b"\nkernel = "/k"\nmemory = 256\nmaxmem = 128\n');

  it('check exits 0 for valid files and 1 with FILE:LINE:COL problems otherwise', async () => {
    expect((await run(['check', good])).code).toBe(0);
    const r = await run(['check', good, bad]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${bad}:4:1: $.maxmem: must be at least memory (256 MiB), got 128`);
  });

  it('convert writes each format that reads back to the same model', async () => {
    const original = parseConfig('name = "g"\nuuid = "11111111-2222-4333-8444-555555555555"\nkernel = "/k"\n').config;
    const src = join(dir, 'conv.cfg');
    writeFileSync(src, 'name = "g"\nuuid = "11111111-2222-4333-8444-555555555555"\nkernel = "/k"\n');
    for (const to of ['json', 'sxp', 'xl']) {
      const r = await run(['convert', src, '--to', to]);
      expect(r.code).toBe(0);
      expect(parseConfig(r.out).config).toEqual(original);
    }
  });

  it('rejects a bad command line with the usage and exit code 2', async () => {
    expect((await run(['convert', good, '--to', 'yaml'])).code).toBe(2);
    expect((await run(['frob'])).code).toBe(2);
  });
});
