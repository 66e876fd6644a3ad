// Round trips over models that use every optional field of every device class, and strings that
// stress the quoting of both text formats (quotes, backslashes, parens, '#', tabs, newlines,
// non-ASCII). property.test.ts covers the common shapes and the fuzzing; this covers the corners.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, numberToVdev, orderedDeviceRefs, parseJson, parseSxp, parseXl, toJson, toSxp, toXl, validateConfig, type XendConfig } from '../../src/config/index.js';

const nasty = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', "'", '\\', '(', ')', '#', ',', '=', '[', ']', ';', '\t', '\n', 'é', '€', '0'), maxLength: 16 });
const word = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/);
const name = fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '.', ' ', '"', "'", '(', 'é', '7'), minLength: 1, maxLength: 20 }).filter((s) => s === s.trim() && s.length > 0 && !s.includes('..') && s !== '.');
const path = fc.stringMatching(/^\/[a-z0-9/._-]{1,16}$/);
const bool = fc.option(fc.boolean(), { nil: undefined });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const vbd = fc.record(
  {
    target: path,
    access: fc.constantFrom('r', 'w'),
    format: fc.constantFrom('raw', 'qcow', 'qcow2', 'vhd', 'qed'),
    backendtype: fc.constantFrom('phy', 'qdisk', 'tap', 'standalone'),
    script: opt(fc.constantFrom('block', 'block-iscsi', '/etc/xen/scripts/block-drbd')),
    discard: bool,
    directIoSafe: opt(fc.constant(true)),
    backend: fc.constantFrom('0', 'driver-dom'),
  },
  { requiredKeys: ['target', 'access', 'format', 'backendtype', 'backend'] },
);
const vif = fc.record(
  {
    bridge: word,
    script: fc.constantFrom('vif-bridge', 'vif-route', '/etc/xen/scripts/vif-nat'),
    ip: opt(fc.constantFrom('10.0.0.2', '192.168.1.5 192.168.1.6')),
    model: opt(fc.constantFrom('e1000', 'rtl8139')),
    type: fc.constantFrom('vif', 'ioemu'),
    rate: opt(fc.constantFrom('10Mb/s', '1GB/s@20ms')),
    mtu: opt(fc.integer({ min: 68, max: 65535 })),
    gatewaydev: opt(fc.constantFrom('eth0', 'bond0')),
  },
  { requiredKeys: ['bridge', 'script', 'type'] },
);
const vfb = fc.record(
  {
    vnc: fc.boolean(),
    vnclisten: fc.constantFrom('0.0.0.0', '127.0.0.1', '::1'),
    vncdisplay: opt(fc.integer({ min: 0, max: 99 })),
    vncunused: fc.boolean(),
    vncpasswd: opt(fc.stringMatching(/^[A-Za-z0-9]{1,8}$/)),
    display: opt(fc.constant(':0')),
    xauthority: opt(path),
    keymap: opt(fc.constantFrom('de', 'en-us')),
    opengl: bool,
  },
  { requiredKeys: ['vnc', 'vnclisten', 'vncunused'] },
).map((v) => ({ ...v, sdl: !v.vnc }));
const vkbd = fc.record(
  {
    backendType: fc.constantFrom('qemu', 'linux'),
    uniqueId: opt(word),
    featureDisableKeyboard: bool,
    featureDisablePointer: bool,
    featureAbsPointer: bool,
    featureRawPointer: bool,
    width: opt(fc.integer({ min: 1, max: 4096 })),
    height: opt(fc.integer({ min: 1, max: 4096 })),
  },
  { requiredKeys: ['backendType'] },
);
const channel = fc.record({ name: word, connection: fc.constantFrom('pty', 'socket'), path: path }).map((c) => (c.connection === 'pty' ? { name: c.name, connection: c.connection } : c));

/** Drops undefined fields (exactOptionalPropertyTypes: the model never holds `undefined`). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const model = fc
  .record({
    name,
    type: fc.constantFrom('pv', 'pvh', 'hvm'),
    memory: fc.integer({ min: 1, max: 1 << 20 }),
    vcpus: fc.integer({ min: 1, max: 128 }),
    extraVcpus: fc.integer({ min: 0, max: 8 }),
    cmdline: opt(nasty),
    ramdisk: opt(path),
    description: opt(nasty),
    bootloader: opt(fc.constantFrom('pygrub', '/usr/lib/xen-4.17/bin/pygrub')),
    bootloader_args: opt(fc.array(nasty, { maxLength: 3 })),
    cpus: opt(fc.oneof(fc.constantFrom('0-3', '0-3,^2', 'all', '1,3'), fc.array(fc.constantFrom('2', '0-1', 'all', '3,^1'), { minLength: 1, maxLength: 4 }))),
    on_poweroff: fc.constantFrom('destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'),
    disks: fc.array(vbd, { maxLength: 4 }),
    cdrom: fc.boolean(),
    vifs: fc.array(vif, { maxLength: 3 }),
    vfbs: fc.array(fc.tuple(vkbd, vfb), { maxLength: 2 }),
    vtpm: fc.boolean(),
    channels: fc.uniqueArray(channel, { maxLength: 2, selector: (c) => c.name }),
  })
  .map((r) => {
    const devices: Record<string, unknown> = {};
    let n = 0;
    const id = () => `00000000-0000-4000-8000-${(n++).toString().padStart(12, '0')}`;
    r.disks.forEach((d, i) => (devices[id()] = { class: 'vbd', config: clean({ ...d, target: `${d.target}${i}`, vdev: numberToVdev(51712 + i * 16) }) }));
    if (r.cdrom) devices[id()] = { class: 'vbd', config: { vdev: 'hdc', devtype: 'cdrom', target: '', format: 'empty', access: 'r' } };
    r.vifs.forEach((v, i) => (devices[id()] = { class: 'vif', config: clean({ ...v, mac: `00:16:3e:00:00:${i.toString(16).padStart(2, '0')}` }) }));
    r.vfbs.forEach(([k, f]) => {
      devices[id()] = { class: 'vkbd', config: clean(k) };
      devices[id()] = { class: 'vfb', config: clean(f) };
    });
    if (r.vtpm) devices[id()] = { class: 'vtpm', config: { backend: '0', tpmUuid: '11111111-2222-4333-8444-555555555555' } };
    r.channels.forEach((c) => (devices[id()] = { class: 'console', config: c }));
    const kernel = r.bootloader === undefined || r.type !== 'pv' ? { kernel: '/boot/vmlinuz' } : {};
    return validateConfig(
      clean({
        name: r.name,
        uuid: '12345678-1234-4234-8234-123456789abc',
        type: r.type,
        memory: r.memory,
        maxmem: r.memory * 2,
        vcpus: r.vcpus,
        maxvcpus: r.vcpus + r.extraVcpus,
        image: clean({ ...kernel, ramdisk: r.ramdisk, cmdline: r.cmdline }),
        description: r.description,
        bootloader: r.bootloader,
        bootloader_args: r.bootloader === undefined ? undefined : r.bootloader_args,
        cpus: r.cpus,
        on_poweroff: r.on_poweroff,
        devices,
      }),
    );
  });

/** xl files carry no device uuids: compare devices in creation order. */
function byOrder(c: XendConfig): unknown {
  return { ...c, devices: orderedDeviceRefs(c).map((u) => c.devices[u]), console_refs: c.console_refs.length, vbd_refs: c.vbd_refs.length, vif_refs: c.vif_refs.length, vtpm_refs: c.vtpm_refs.length };
}

describe('round trips with every optional field and hostile strings', () => {
  it('SXP → model → SXP', () => {
    fc.assert(
      fc.property(model, (c) => {
        const text = toSxp(c);
        const back = parseSxp(text);
        expect(back.warnings).toEqual([]);
        expect(back.config).toEqual(c);
        expect(toSxp(back.config)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('xl → model → xl', () => {
    fc.assert(
      fc.property(model, (c) => {
        const text = toXl(c);
        const back = parseXl(text);
        expect(back.warnings).toEqual([]);
        expect(byOrder(back.config)).toEqual(byOrder(c));
        expect(toXl(back.config)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('JSON → model → JSON', () => {
    fc.assert(
      fc.property(model, (c) => {
        expect(parseJson(toJson(c)).config).toEqual(c);
      }),
      { numRuns: 200 },
    );
  });
});

describe('fuzz: mangled rich configs', () => {
  const edits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('', '"', "'", '\\', '\\x4', '\\x41', '(', ')', '[', ']', ',', '=', '+=', ';', '\n', '#', 'é', '0x', '09', ':cdrom', 'target=', 'mac=')), { minLength: 1, maxLength: 3 });
  const only = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
    }
  };

  it('only ConfigError escapes any parser (2,000 models × 3 texts × 3 parsers = 18,000 parses)', () => {
    fc.assert(
      fc.property(model, edits, (c, es) => {
        for (const original of [toXl(c), toSxp(c), toJson(c)]) {
          let t = original;
          for (const [at, cut, ins] of es) {
            const i = at % (t.length + 1);
            t = t.slice(0, i) + ins + t.slice(i + cut);
          }
          only(() => parseXl(t));
          only(() => parseSxp(t));
          only(() => parseJson(t));
        }
      }),
      { numRuns: 2_000 },
    );
  }, 120_000);
});
