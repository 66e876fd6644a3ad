// docs/config.md and the parsers agree: every key the doc presents as supported is read without
// an "unknown"/"unsupported" warning, and the defaults in the doc's tables are the ones applied.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDeviceSpec, parseXl, UNSUPPORTED_KEYS } from '../../src/config/index.js';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
const section = (title: string) => doc.slice(doc.indexOf(title), doc.indexOf('\n## ', doc.indexOf(title) + 1));

/** Every `key` in the first column of the top-level table, split on ", " and "(…)" dropped. */
const topKeys = [...section('## Top-level keys').matchAll(/^\| ([^|]+) \|/gm)]
  .map((m) => m[1]!.replace(/\(.*?\)/g, ''))
  .flatMap((cell) => [...cell.matchAll(/`([a-z_]+)`/g)].map((k) => k[1]!))
  .filter((k) => k !== 'key');

describe('docs/config.md keys', () => {
  it('documents the keys a Xen admin expects', () => {
    for (const k of ['name', 'uuid', 'type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'kernel', 'ramdisk', 'cmdline', 'bootloader', 'bootloader_args', 'on_poweroff', 'on_reboot', 'on_crash', 'cpus', 'description']) {
      expect(topKeys).toContain(k);
    }
    for (const k of ['disk', 'vif', 'vfb', 'vkb', 'vtpm', 'channel']) expect(doc).toContain(`\`${k}\``);
  });

  it.each(topKeys)('%s is read without an unknown/unsupported warning', (key) => {
    const value = ['memory', 'maxmem', 'vcpus', 'maxvcpus'].includes(key) ? '4096' : key === 'bootloader_args' ? "['-q']" : key === 'type' ? '"pv"' : key === 'cpus' ? '"0-3"' : key.startsWith('on_') ? '"destroy"' : key === 'uuid' ? '"12345678-1234-4234-8234-123456789abc"' : '"/x"';
    const text = `name = "k"\nkernel = "/k"\n${key === 'name' || key === 'kernel' ? '' : `${key} = ${value}\n`}`;
    const { warnings } = parseXl(text);
    expect(warnings.filter((w) => /unknown|not supported/.test(w.message))).toEqual([]);
    expect(UNSUPPORTED_KEYS.has(key)).toBe(false);
  });

  it('the vbd default table is what a bare disk gets', () => {
    const rows = [...section('### `disk`').matchAll(/^\| `([a-z]+)` \| `([a-z0-9]+)`/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const d = parseDeviceSpec('vbd', '/x,,xvda').config as unknown as Record<string, unknown>;
    for (const [field, value] of rows) expect(d[field], field).toBe(value);
  });

  it('the vfb defaults in the text are what a bare vfb gets', () => {
    const v = parseDeviceSpec('vfb', '').config as unknown as Record<string, unknown>;
    const text = section('### `vfb`');
    expect(text).toContain(`\`vnclisten\` (\`${String(v['vnclisten'])}\`)`);
    expect(text).toContain(`\`vnc\` (${v['vnc'] ? 1 : 0})`);
    expect(text).toContain(`\`sdl\` (${v['sdl'] ? 1 : 0})`);
    expect(text).toContain(`\`vncunused\` (${v['vncunused'] ? 1 : 0})`);
  });

  it('the top-level defaults in the table are what a bare config gets', () => {
    const { config } = parseXl('name = "d"\nkernel = "/k"\n');
    const table = section('## Top-level keys');
    // Cells are split on unescaped pipes (the type column holds `pv` \\| `pvh` \\| `hvm`).
    const rows = table.split('\n').map((l) => l.split(/(?<!\\)\|/).map((c) => c.trim()));
    const defaultOf = (key: string) => rows.find((r) => r[1]?.startsWith(`\`${key}\``))?.[3];
    expect(defaultOf('memory')).toContain(String(config.memory));
    expect(defaultOf('vcpus')).toBe(String(config.vcpus));
    expect(defaultOf('type')).toBe(`\`${config.type}\``);
    for (const k of ['on_poweroff', 'on_reboot', 'on_crash'] as const) expect(defaultOf(k)).toBe(`\`${config[k]}\``);
  });
});

describe('the gaps docs/config.md admits are the behaviour', () => {
  it('soft-reset is refused, a cpus list pins vcpu by vcpu, w! reads as w, a 4th xm disk field is refused', () => {
    expect(() => parseXl('name = "g"\nkernel = "/k"\non_reboot = "soft-reset"\n')).toThrow(/on_reboot/);
    expect(parseXl('name = "g"\nkernel = "/k"\ncpus = ["2", "3"]\n').config.cpus).toEqual(['2', '3']);
    expect(parseDeviceSpec('vbd', 'phy:/dev/x,xvda,w!').config).toMatchObject({ access: 'w' });
    expect(() => parseDeviceSpec('vbd', 'phy:/dev/x,xvda,w,0')).toThrow(/too many positional/);
    expect(section('## Not supported yet')).toContain('soft-reset');
  });
});
