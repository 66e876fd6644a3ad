// Property tests: every valid model survives xl → model → xl and SXP → model → SXP, and no input
// — random bytes or a mangled valid config — makes a parser throw anything but ConfigError.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  numberToVdev,
  orderedDeviceRefs,
  parseJson,
  parseSxp,
  parseXl,
  toSxp,
  toXl,
  validateConfig,
  vdevToNumber,
  type XendConfig,
} from '../../src/config/index.js';

const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
// eslint-disable-next-line no-control-regex -- printable strings only
const text = fc.string({ maxLength: 20 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
const mac = fc.tuple(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b, c]) => ['00', '16', '3e', a, b, c].map((x) => (typeof x === 'number' ? x.toString(16).padStart(2, '0') : x)).join(':'));

const disk = fc.record({
  target: fc.stringMatching(/^\/[a-z0-9/._-]{1,20}$/),
  access: fc.constantFrom('r', 'w'),
  format: fc.constantFrom('raw', 'qcow2', 'vhd'),
  backendtype: fc.constantFrom('phy', 'qdisk'),
});

const model = fc
  .record({
    name: word,
    memory: fc.integer({ min: 1, max: 65536 }),
    extraMem: fc.integer({ min: 0, max: 1024 }),
    vcpus: fc.integer({ min: 1, max: 64 }),
    cmdline: fc.option(text, { nil: undefined }),
    on_crash: fc.constantFrom('destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'),
    disks: fc.uniqueArray(disk, { maxLength: 4, selector: (d) => d.target }),
    vifs: fc.uniqueArray(fc.record({ mac, bridge: word, vifname: fc.option(word, { nil: undefined }) }), { maxLength: 3, selector: (v) => v.mac }),
    vfb: fc.boolean(),
    vtpm: fc.boolean(),
    channel: fc.option(word, { nil: undefined }),
  })
  .map((r) => {
    const devices: Record<string, unknown> = {};
    let n = 0;
    const id = () => `00000000-0000-4000-8000-${(n++).toString().padStart(12, '0')}`;
    r.disks.forEach((d, i) => (devices[id()] = { class: 'vbd', config: { ...d, vdev: numberToVdev(51712 + i * 16) } }));
    const names = new Set<string>();
    r.vifs.forEach((v) => {
      const c: Record<string, unknown> = { mac: v.mac, bridge: v.bridge };
      if (v.vifname && !names.has(v.vifname)) {
        names.add(v.vifname);
        c['vifname'] = v.vifname;
      }
      devices[id()] = { class: 'vif', config: c };
    });
    if (r.vfb) {
      devices[id()] = { class: 'vkbd', config: {} };
      devices[id()] = { class: 'vfb', config: { vnclisten: '0.0.0.0' } };
    }
    if (r.vtpm) devices[id()] = { class: 'vtpm', config: { backend: '0' } };
    if (r.channel) devices[id()] = { class: 'console', config: { name: r.channel } };
    return validateConfig({
      name: r.name,
      uuid: '12345678-1234-4234-8234-123456789abc',
      memory: r.memory,
      maxmem: r.memory + r.extraMem,
      vcpus: r.vcpus,
      image: { kernel: '/boot/vmlinuz', ...(r.cmdline !== undefined ? { cmdline: r.cmdline } : {}) },
      on_crash: r.on_crash,
      devices,
    });
  });

function byOrder(c: XendConfig): unknown {
  return { ...c, devices: orderedDeviceRefs(c).map((u) => c.devices[u]), console_refs: c.console_refs.length, vbd_refs: c.vbd_refs.length, vif_refs: c.vif_refs.length, vtpm_refs: c.vtpm_refs.length };
}

function onlyConfigErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
  }
}

describe('round trips', () => {
  it('SXP → model → SXP is the identity on valid models', () => {
    fc.assert(
      fc.property(model, (c) => {
        expect(parseSxp(toSxp(c)).config).toEqual(c);
      }),
      { numRuns: 300 },
    );
  });

  it('xl → model → xl keeps the model (device uuids aside: xl files carry none)', () => {
    fc.assert(
      fc.property(model, (c) => {
        const back = parseXl(toXl(c)).config;
        expect(byOrder(back)).toEqual(byOrder(c));
        expect(toXl(back)).toEqual(toXl(c));
      }),
      { numRuns: 300 },
    );
  });

  it('vdev numbers and names map back and forth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: (1 << 20) - 1 }), fc.integer({ min: 0, max: 255 }), (disk, part) => {
        const num = disk <= 15 && part <= 15 ? (202 << 8) | (disk << 4) | part : (1 << 28) | (disk << 8) | part;
        const name = numberToVdev(num)!;
        expect(vdevToNumber(name)).toBe(num);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('fuzz: only ConfigError ever escapes a parser', () => {
  const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'));
  it('random bytes (60,000 cases)', () => {
    fc.assert(
      fc.property(bytes, (s) => {
        onlyConfigErrors(() => parseXl(s));
        onlyConfigErrors(() => parseSxp(s));
        onlyConfigErrors(() => parseJson(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('near-valid configs: valid text with characters replaced, inserted or cut (45,000 cases)', () => {
    const mutate = fc.tuple(model, fc.nat(), fc.nat(), fc.constantFrom('', '"', "'", '(', ')', '[', ']', ',', '=', '\n', '#', '\\', 'x', '0', '-1', ':'));
    fc.assert(
      fc.property(mutate, ([c, at, len, ins]) => {
        for (const t of [toXl(c), toSxp(c), JSON.stringify(c)]) {
          const i = at % (t.length + 1);
          const m = t.slice(0, i) + ins + t.slice(i + (len % 4));
          onlyConfigErrors(() => parseXl(m));
          onlyConfigErrors(() => parseSxp(m));
          onlyConfigErrors(() => parseJson(m));
        }
      }),
      { numRuns: 5_000 },
    );
    // ~8 s on the shared 2-vCPU box under load; the margin keeps a busy CI runner from flaking.
  }, 120_000);
});
