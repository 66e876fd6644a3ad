// Round trips model → libxl JSON → model over models using every field libxl can express, and
// fuzzing of the reader: random bytes, cut texts, and any JSON value put anywhere in a valid
// config. Only ConfigError may escape, and each of its problems is placed in the text.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, libxlJsonLosses, orderedDeviceRefs, parseLibxlJson, toLibxlJson, toLibxlObject, validateConfig, numberToVdev, type XendConfig } from '../../src/config/index.js';

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const bool = opt(fc.boolean());
const word = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/);
const path = fc.stringMatching(/^\/[a-z0-9/._-]{1,16}$/);
const name = fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '.', ' ', '"', "'", '(', 'é', '€', '7'), minLength: 1, maxLength: 20 }).filter((s) => s === s.trim() && !s.includes('..') && s !== '.');
// Anything a string can hold, lone surrogates and control characters included: JSON escapes it.
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const backend = fc.constantFrom('0', '3', 'driver-dom');
const devid = opt(fc.integer({ min: 0, max: 0x7fffffff }));

/** xl CPU lists as the reader writes them back (runs "a-b", single CPUs, increasing). */
const canonicalCpus = fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 8 }).map((cpus) => {
  const s = [...cpus].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (s[j + 1] === s[j]! + 1) j++;
    runs.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return runs.join(',');
});
/** Any xl CPU list: ranges, exclusions, repeats, in any order. */
const anyCpus = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 5 }).map((items) => items.map(([not, from, span], i) => `${not && i > 0 ? '^' : ''}${from}${span > 0 ? `-${from + span}` : ''}`).join(','));
/** xl rates as the reader writes them back: whole bytes a second, the biggest unit that divides. */
// Whole bytes per interval (so nothing is rounded): K and M rates with any of these intervals,
// plain bytes in hundreds (50 ms is 1/20 s, 20 ms 1/50 s).
const canonicalRate = fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('', 'K', 'M'), fc.constantFrom('50ms', '20ms', '1s', '2s')).map(([n, u, i]) => `${u === '' ? (n % 9) * 100 + 100 : n}${u}B/s@${i}`);
const anyRate = fc.tuple(fc.integer({ min: 1, max: 100000 }), fc.constantFrom('', 'K', 'M', 'G'), fc.constantFrom('B', 'b'), opt(fc.constantFrom('@50ms', '@20000us', '@1s', '@3', '@100ms'))).map(([n, u, b, i]) => `${n}${u}${b}/s${i ?? ''}`);

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function modelOf(canonical: boolean) {
  const vbd = fc.record({ target: path, access: fc.constantFrom('r', 'w'), format: fc.constantFrom('raw', 'qcow', 'qcow2', 'vhd', 'qed'), backendtype: fc.constantFrom('phy', 'qdisk', 'tap', 'standalone'), script: opt(fc.constantFrom('block', '/etc/xen/scripts/block-drbd')), discard: bool, directIoSafe: bool, backend });
  const vif = fc.record({
    bridge: word,
    script: fc.constantFrom('vif-bridge', '/etc/xen/scripts/vif-route'),
    ip: opt(fc.constantFrom('10.0.0.2', '192.168.1.5 192.168.1.6')),
    model: opt(fc.constantFrom('e1000', 'rtl8139')),
    type: fc.constantFrom('vif', 'ioemu'),
    rate: opt(canonical ? canonicalRate : anyRate),
    mtu: opt(fc.integer({ min: 68, max: 65535 })),
    gatewaydev: opt(fc.constantFrom('eth0', 'bond0')),
    backend,
    vifname: opt(fc.constant('v')),
  });
  const vfb = fc.record({ vnc: fc.boolean(), vnclisten: fc.constantFrom('0.0.0.0', '127.0.0.1', '::1'), vncdisplay: opt(fc.integer({ min: 0, max: 65535 })), vncunused: fc.boolean(), vncpasswd: opt(anyText.filter((s) => s.length <= 256)), display: opt(fc.constant(':0')), xauthority: opt(path), keymap: opt(fc.constantFrom('de', 'en-us')), opengl: bool, backend, devid }).map((v) => ({ ...v, sdl: !v.vnc }));
  const vkbd = fc.record({ backendType: fc.constantFrom('qemu', 'linux'), uniqueId: opt(word), featureDisableKeyboard: bool, featureDisablePointer: bool, featureAbsPointer: bool, featureRawPointer: bool, width: opt(fc.integer({ min: 1, max: 65535 })), height: opt(fc.integer({ min: 1, max: 65535 })), backend, devid });
  const vtpm = fc.record({ tpmUuid: opt(fc.uuid()), backend, devid });
  const channel = fc.record({ connection: fc.constantFrom('pty', 'socket'), path: opt(path), backend, devid }).map((c) => (c.connection === 'pty' ? { ...c, path: undefined } : c));
  return fc
    .record({
      name,
      uuid: fc.uuid(),
      type: fc.constantFrom('pv', 'pvh', 'hvm'),
      memory: fc.integer({ min: 1, max: 1 << 20 }),
      extraMem: fc.integer({ min: 0, max: 1 << 20 }),
      vcpus: fc.integer({ min: 1, max: 64 }),
      extraVcpus: fc.integer({ min: 0, max: 8 }),
      kernel: opt(path),
      ramdisk: opt(path),
      cmdline: opt(anyText),
      bootloader: opt(path),
      bootloader_args: opt(fc.array(anyText, { maxLength: 3 })),
      cpus: opt(fc.oneof(canonical ? canonicalCpus : anyCpus, fc.array(canonical ? canonicalCpus : anyCpus, { minLength: 1, maxLength: 4 }))),
      actions: fc.tuple(...[0, 1, 2].map(() => fc.constantFrom('destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'))),
      disks: fc.array(vbd, { maxLength: 4 }),
      cdrom: fc.option(fc.constantFrom('', '/srv/cd.iso'), { nil: undefined }),
      vifs: fc.array(fc.tuple(vif, devid), { maxLength: 3 }),
      vfbs: fc.array(vfb, { maxLength: 2 }),
      vkbds: fc.array(vkbd, { maxLength: 2 }),
      vtpms: fc.array(vtpm, { maxLength: 2 }),
      channels: fc.array(channel, { maxLength: 2 }),
    })
    .map((r) => {
      const devices: Record<string, unknown> = {};
      let n = 0;
      const id = () => `00000000-0000-4000-8000-${(n++).toString().padStart(12, '0')}`;
      // Unique where the model's rules want it: vdev, writable target, MAC, vifname, devid.
      r.disks.forEach((d, i) => (devices[id()] = { class: 'vbd', config: clean({ ...d, target: `${d.target}${i}`, vdev: numberToVdev(51712 + i * 16) }) }));
      if (r.cdrom !== undefined) devices[id()] = { class: 'vbd', config: { vdev: 'hdc', devtype: 'cdrom', target: r.cdrom, format: r.cdrom === '' ? 'empty' : 'raw', access: 'r' } };
      r.vifs.forEach(([v, d], i) => (devices[id()] = { class: 'vif', config: clean({ ...v, mac: `00:16:3e:00:01:${i.toString(16).padStart(2, '0')}`, vifname: v.vifname && `${v.vifname}${i}`, devid: d === undefined ? undefined : d - (d % 8) + i }) }));
      const uniqueDevid = <T extends { devid?: number | undefined }>(list: T[]) => list.map((x, i) => clean({ ...x, devid: x.devid === undefined ? undefined : x.devid - (x.devid % 8) + i }));
      for (const [cls, list] of [['vkbd', r.vkbds], ['vfb', r.vfbs], ['vtpm', r.vtpms]] as const) uniqueDevid<{ devid?: number | undefined }>(list).forEach((c) => (devices[id()] = { class: cls, config: c }));
      uniqueDevid<{ devid?: number | undefined }>(r.channels).forEach((c, i) => (devices[id()] = { class: 'console', config: { ...c, name: `ch${i}` } }));
      const pvBoot = r.type === 'pv' && r.kernel === undefined && r.bootloader === undefined ? { kernel: '/boot/vmlinuz' } : {};
      return validateConfig(
        clean({
          name: r.name,
          uuid: r.uuid,
          type: r.type,
          memory: r.memory,
          maxmem: r.memory + r.extraMem,
          vcpus: r.vcpus,
          maxvcpus: r.vcpus + r.extraVcpus,
          image: clean({ kernel: r.kernel, ...pvBoot, ramdisk: r.ramdisk, cmdline: r.cmdline }),
          bootloader: r.bootloader,
          bootloader_args: r.bootloader_args,
          // A list is as long as xl keeps it (entries past maxvcpus are a documented loss).
          cpus: Array.isArray(r.cpus) ? r.cpus.slice(0, r.vcpus + r.extraVcpus) : r.cpus,
          on_poweroff: r.actions[0],
          on_reboot: r.actions[1],
          on_crash: r.actions[2],
          devices,
        }),
      );
    });
}

/** No device uuids in a libxl config: compare devices in creation order. */
function byOrder(c: XendConfig): unknown {
  return { ...c, devices: orderedDeviceRefs(c).map((u) => c.devices[u]), console_refs: c.console_refs.length, vbd_refs: c.vbd_refs.length, vif_refs: c.vif_refs.length, vtpm_refs: c.vtpm_refs.length };
}

/** An oracle for xl CPU lists, independent of the code under test: the set of CPUs. */
function cpuSet(list: string): number[] {
  const set = new Set<number>();
  for (const item of list.split(',').filter((i) => i !== '')) {
    const m = /^(\^?)(\d+)(?:-(\d+))?$/.exec(item)!;
    for (let c = Number(m[2]); c <= Number(m[3] ?? m[2]); c++) {
      if (m[1]) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}

describe('model → libxl JSON → model', () => {
  it('is the identity for every field both can express (cpus and rates written the reader\'s way)', () => {
    fc.assert(
      fc.property(modelOf(true), (c) => {
        expect(libxlJsonLosses(c)).toEqual([]);
        const back = parseLibxlJson(toLibxlJson(c));
        expect(back.warnings).toEqual([]);
        expect(byOrder(back.config)).toEqual(byOrder(c));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps the meaning of any cpus and rate spelling: the same CPUs per vcpu, the same libxl JSON', () => {
    fc.assert(
      fc.property(modelOf(false), (c) => {
        const back = parseLibxlJson(toLibxlJson(c)).config;
        const { cpus: _a, ...restBack } = byOrder(back) as XendConfig;
        const { cpus: _b, ...restC } = byOrder(c) as XendConfig;
        const noRate = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'rate' ? undefined : v))) as unknown;
        expect(noRate(restBack)).toEqual(noRate(restC));
        const perVcpu = (x: XendConfig) => (x.cpus === undefined ? [] : typeof x.cpus === 'string' ? Array.from({ length: x.maxvcpus }, () => cpuSet(x.cpus as string)) : x.cpus.map(cpuSet));
        expect(perVcpu(back)).toEqual(perVcpu(c));
        // The rates (and everything else) are the same numbers for libxl.
        expect(toLibxlObject(back)).toEqual(toLibxlObject(c));
        expect(toLibxlJson(parseLibxlJson(toLibxlJson(back)).config)).toBe(toLibxlJson(back));
      }),
      { numRuns: 300 },
    );
  });
});

describe('fuzz: only ConfigError escapes parseLibxlJson, and every problem is placed', () => {
  function check(text: string): void {
    try {
      parseLibxlJson(text);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const lines = text.replace(/^\ufeff/, '').split('\n');
      for (const p of err.problems) {
        expect(p.path, p.message).toMatch(/^\$/);
        expect(p.line, p.message).toBeGreaterThanOrEqual(1);
        expect(p.line!, p.message).toBeLessThanOrEqual(lines.length);
        expect(p.col, p.message).toBeGreaterThanOrEqual(1);
        expect(p.col!, p.message).toBeLessThanOrEqual(lines[p.line! - 1]!.length + 1);
      }
    }
  }

  it('random bytes and random JSON (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1')), check),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(fc.json(), check),
      { numRuns: 5_000 },
    );
  });

  it('valid configs cut short or with one character changed (3,000 cases)', () => {
    const ins = fc.constantFrom('', '"', '{', '}', '[', ']', ',', ':', '0', '-', 'x', '\\', '\n', 'null');
    fc.assert(
      fc.property(modelOf(false), fc.nat(), fc.nat({ max: 3 }), ins, (c, at, cut, s) => {
        const t = toLibxlJson(c);
        const i = at % (t.length + 1);
        check(t.slice(0, i));
        check(t.slice(0, i) + s + t.slice(i + cut));
      }),
      { numRuns: 1_500 },
    );
  }, 120_000);

  it('any JSON value in place of any value of a valid config (1,500 cases)', () => {
    fc.assert(
      fc.property(modelOf(false), fc.nat(), fc.jsonValue(), (c, pick, value) => {
        const root = toLibxlObject(c);
        // Every (container, key) of the config, depth first; one of them gets the new value.
        const slots: [Record<string, unknown> | unknown[], string | number][] = [];
        const walk = (o: unknown) => {
          if (Array.isArray(o)) {
            o.forEach((v, i) => {
              slots.push([o, i]);
              walk(v);
            });
          } else if (typeof o === 'object' && o !== null) {
            for (const [k, v] of Object.entries(o)) {
              slots.push([o as Record<string, unknown>, k]);
              walk(v);
            }
          }
        };
        walk(root);
        const [container, key] = slots[pick % slots.length]!;
        (container as Record<string | number, unknown>)[key] = value;
        check(JSON.stringify(root, null, 2));
      }),
      { numRuns: 1_500 },
    );
  }, 120_000);
});
