// libxl's JSON domain config ↔ the model: real xl output read, each device class and field
// mapped both ways, libxl's defaults for what it leaves out, and every mistake reported with its
// JSON path and line:col. Fixture origins: test/config/fixtures/libxl-json/README.md.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, libxlJsonLosses, orderedDeviceRefs, parseLibxlJson, parseXl, toLibxlJson, toLibxlObject, validateConfig, type DeviceEntry, type XendConfig } from '../../src/config/index.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/libxl-json/${name}`, import.meta.url), 'utf8');
const UUID = '12345678-1234-4234-8234-123456789abc';

/** The devices of one class, in creation order, as configs. */
function configs(c: XendConfig, cls: DeviceEntry['class']): Record<string, unknown>[] {
  return orderedDeviceRefs(c)
    .map((u) => c.devices[u]!)
    .filter((e) => e.class === cls)
    .map((e) => e.config as unknown as Record<string, unknown>);
}

/** Where `needle` starts on line `line` of `text` (1-based), to check positions without guessing. */
function at(text: string, line: number, needle: string): [number, number] {
  const col = text.split('\n')[line - 1]!.indexOf(needle) + 1;
  if (col === 0) throw new Error(`${needle} is not on line ${line}`);
  return [line, col];
}

function refused(text: string): ConfigError {
  try {
    parseLibxlJson(text, 'g.json');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('parsed without an error');
}

/** A minimal PV config with `extra` merged into the top level (JSON text, one key a line). */
function withTop(extra: Record<string, unknown>, bInfo: Record<string, unknown> = {}): string {
  return JSON.stringify({ c_info: { type: 'pv', name: 'g', uuid: UUID }, b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 262144, target_memkb: 262144, kernel: '/k', 'type.pv': {}, ...bInfo }, ...extra }, null, 4);
}

describe('real xl output (xl -N create -d, Xen 4.17.7)', () => {
  it('pv.xl-create.json reads to what tsxend makes of the same pv.cfg, but for xl\'s own additions', () => {
    const { config, warnings } = parseLibxlJson(fixture('pv.xl-create.json'));
    const fromXl = parseXl(fixture('pv.cfg')).config;
    expect(warnings).toEqual([]);
    for (const k of ['name', 'uuid', 'type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'image', 'on_poweroff', 'on_reboot', 'on_crash'] as const) expect(config[k], k).toEqual(fromXl[k]);
    // The same CPUs ("0-3,^2"), written the shortest way.
    expect(config.cpus).toBe('0-1,3');
    expect(configs(config, 'vbd')).toEqual(configs(fromXl, 'vbd'));
    // xl numbers its nics and vfbs; xl's '' vif has no MAC yet (libxl makes one later).
    const strip = (c: Record<string, unknown>) => {
      const { devid: _d, mac: _m, rate: _r, ...rest } = c;
      return rest;
    };
    expect(configs(config, 'vif').map(strip)).toEqual(configs(fromXl, 'vif').map(strip));
    expect(configs(config, 'vif')[0]).toMatchObject({ mac: '00:16:3e:12:34:56', devid: 0, rate: '1250KB/s@50ms' });
    expect(configs(config, 'vif')[1]!['mac']).toMatch(/^00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2}$/);
    expect(configs(config, 'vfb').map(strip)).toEqual(configs(fromXl, 'vfb').map(strip));
    // xl adds a vkb for every vfb even next to a vkb list; tsxend's xl parser only without one.
    expect(configs(config, 'vkbd')).toEqual([{ backend: '0', backendType: 'qemu', devid: 0 }, { backend: '0', backendType: 'linux', devid: 1, featureAbsPointer: true }]);
    expect(configs(config, 'vkbd').slice(1).map(strip)).toEqual(configs(fromXl, 'vkbd').map(strip));
    expect(configs(config, 'vtpm')).toEqual([{ backend: '0', devid: 0, tpmUuid: 'b5c2a1d0-1111-4222-8333-444455556666' }]);
    expect(configs(config, 'console').map(strip)).toEqual(configs(fromXl, 'console').map(strip));
  });

  it('pvh.xl-create.json: cpus list, bootloader, socket channel, backends by name, ioemu nic, sdl-only vfb', () => {
    const { config, warnings } = parseLibxlJson(fixture('pvh.xl-create.json'));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ type: 'pvh', memory: 128, maxmem: 128, vcpus: 3, maxvcpus: 3, cpus: ['2', '3-5', '0'], bootloader: '/usr/bin/pygrub', bootloader_args: ['-q', '--x'], on_poweroff: 'coredump-restart', on_reboot: 'restart', on_crash: 'coredump-destroy' });
    expect(configs(config, 'vbd')).toEqual([{ backend: '7', target: '/x', vdev: 'xvda', format: 'raw', script: 'block-x', access: 'w', devtype: 'disk', backendtype: 'phy', directIoSafe: true, discard: true }]);
    expect(configs(config, 'vif')).toEqual([{ backend: 'drv', devid: 4, model: 'e1000', mac: '00:16:3e:00:00:01', type: 'ioemu', rate: '1MB/s@20ms', gatewaydev: 'eth9', bridge: 'xenbr0', script: 'vif-bridge' }]);
    expect(configs(config, 'vfb')).toEqual([{ backend: '0', devid: 0, vnc: false, sdl: true, opengl: true, display: ':1', xauthority: '/root/.X', vnclisten: '127.0.0.1', vncunused: true }]);
    expect(configs(config, 'console')).toEqual([{ backend: '0', devid: 0, name: 'c1', connection: 'socket', path: '/run/c1.sock', protocol: 'vt100' }]);
    expect(configs(config, 'vtpm')).toEqual([{ backend: 'tpmdom', devid: 0 }]);
  });

  it('writes what xl writes for the same xl.cfg, but for the documented differences', () => {
    for (const name of ['pv', 'pvh']) {
      const xl = JSON.parse(fixture(`${name}.xl-create.json`)) as Record<string, unknown>;
      const ours = toLibxlObject(parseXl(fixture(`${name}.cfg`)).config);
      // xl: devids it numbers itself, claim_mode from xl.conf, the vkb it adds per vfb, a numeric
      // backend= kept as a name. tsxend leaves devids to libxl and writes a domid as a domid.
      const drop = (o: unknown): unknown => {
        if (Array.isArray(o)) return o.map(drop);
        if (typeof o !== 'object' || o === null) return o;
        return Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'devid' && k !== 'claim_mode').map(([k, v]) => [k, drop(v)]));
      };
      const theirs = drop(xl) as Record<string, Record<string, unknown>[]>;
      theirs['vkbs'] = theirs['vkbs']!.filter((v) => Object.keys(v).length > 0);
      for (const d of [...(theirs['disks'] ?? []), ...(theirs['vtpms'] ?? [])]) {
        if (d['backend_domname'] === '7') {
          delete d['backend_domname'];
          d['backend_domid'] = 7;
        }
        if (d['backend_domname'] === '0') delete d['backend_domname'];
      }
      // Every value xl wrote, tsxend writes the same (tsxend also writes its defaults out).
      expect(ours, name).toMatchObject(theirs);
    }
  });

  it('real libxl read what tsxend wrote for pvh.cfg and wrote it back with every value kept', () => {
    const ours = toLibxlObject(parseXl(fixture('pvh.cfg')).config);
    const reread = JSON.parse(fixture('pvh.tsxend-emitted.libxl-reread.json')) as Record<string, { feature_disable_keyboard?: boolean }[]>;
    // libxl leaves out a bool at its default; tsxend writes the false the model holds.
    reread['vkbs']![0]!.feature_disable_keyboard = false;
    expect(ours).toEqual(reread);
  });
});

describe('the hand-built save-image config (libxl defaults filled in)', () => {
  it('reads without a warning: what libxl fills in by itself asks for nothing', () => {
    const { config, warnings } = parseLibxlJson(fixture('pv.save-image.hand-built.json'));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ name: 'g', memory: 300, maxmem: 512, vcpus: 1, maxvcpus: 2, on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy', image: { kernel: '/boot/vmlinuz', ramdisk: '/boot/initrd.img', cmdline: 'console=hvc0 root=/dev/xvda1' } });
    expect(config.cpus).toBeUndefined();
    expect(configs(config, 'vbd')).toEqual([{ backend: '0', target: '/dev/vg/g', vdev: 'xvda', backendtype: 'phy', format: 'raw', access: 'w', devtype: 'disk', discard: true }]);
    expect(configs(config, 'vif')).toEqual([{ backend: '0', devid: 0, mtu: 1500, mac: '00:16:3e:12:34:56', bridge: 'xenbr0', script: '/etc/xen/scripts/vif-bridge', type: 'vif' }]);
    expect(configs(config, 'vfb')).toEqual([{ backend: '0', devid: 0, vnc: true, vnclisten: '127.0.0.1', vncunused: true, sdl: false, opengl: false }]);
    expect(configs(config, 'console')).toEqual([{ backend: '0', devid: 0, name: 'org.qemu.guest_agent.0', connection: 'pty', protocol: 'vt100' }]);
  });

  it('device uuids come from the domain uuid, class and position: the same text gives the same uuids', () => {
    const a = parseLibxlJson(fixture('pv.save-image.hand-built.json')).config;
    const b = parseLibxlJson(fixture('pv.save-image.hand-built.json')).config;
    expect(Object.keys(a.devices)).toEqual(Object.keys(b.devices));
    expect(a.vbd_refs).toHaveLength(1);
    expect(a.console_refs).toHaveLength(1);
  });
});

describe('fields, both ways', () => {
  const base = () => parseXl('name = "g"\nuuid = "' + UUID + '"\nkernel = "/k"\n').config;

  it('on_* actions: every one of xl\'s names and libxl\'s; absent is destroy (libxl leaves its initial value out)', () => {
    const pairs = [['destroy', 'destroy'], ['restart', 'restart'], ['rename-restart', 'restart_rename'], ['preserve', 'preserve'], ['coredump-destroy', 'coredump_destroy'], ['coredump-restart', 'coredump_restart']] as const;
    for (const [model, libxl] of pairs) {
      const c = validateConfig({ ...base(), on_crash: model, on_reboot: model, on_poweroff: model });
      const o = toLibxlObject(c);
      expect(o['on_crash']).toBe(model === 'destroy' ? undefined : libxl);
      expect(parseLibxlJson(toLibxlJson(c)).config).toMatchObject({ on_crash: model, on_reboot: model, on_poweroff: model });
      expect(parseLibxlJson(withTop({ on_reboot: libxl.toUpperCase() })).config.on_reboot).toBe(model);
    }
    expect(parseLibxlJson(withTop({})).config).toMatchObject({ on_poweroff: 'destroy', on_reboot: 'destroy', on_crash: 'destroy' });
  });

  it('memory in KiB, vcpus as a bitmap of those online', () => {
    const c = validateConfig({ ...base(), memory: 300, maxmem: 1024, vcpus: 2, maxvcpus: 8 });
    const b = toLibxlObject(c)['b_info'] as Record<string, unknown>;
    expect(b).toMatchObject({ target_memkb: 307200, max_memkb: 1048576, max_vcpus: 8, avail_vcpus: [0, 1] });
    expect(parseLibxlJson(toLibxlJson(c)).config).toMatchObject({ memory: 300, maxmem: 1024, vcpus: 2, maxvcpus: 8 });
  });

  it('libxl\'s defaults when memory or vcpus are left out: max 32 MiB, target = max, vcpu 0 alone, max_vcpus 1', () => {
    const text = JSON.stringify({ c_info: { type: 'pv', name: 'g' }, b_info: { kernel: '/k' } });
    expect(parseLibxlJson(text).config).toMatchObject({ memory: 32, maxmem: 32, vcpus: 1, maxvcpus: 1 });
    expect(parseLibxlJson(withTop({}, { target_memkb: undefined, max_memkb: 524288, avail_vcpus: undefined, max_vcpus: 4 })).config).toMatchObject({ memory: 512, maxmem: 512, vcpus: 1, maxvcpus: 4 });
  });

  it('a memory not in whole MiB is rounded (target down, max up) with a warning naming the field', () => {
    const { config, warnings } = parseLibxlJson(withTop({}, { target_memkb: 300001, max_memkb: 524289 }), 'g.json');
    expect(config).toMatchObject({ memory: 292, maxmem: 513 });
    expect(warnings.map((w) => w.message)).toEqual(['$.b_info.max_memkb: 524289 KiB is not a whole number of MiB; read as 513 MiB', '$.b_info.target_memkb: 300001 KiB is not a whole number of MiB; read as 292 MiB']);
  });

  it('cpus: a string pins every vcpu; a list vcpu by vcpu with NUMA placement off; "all" needs the host\'s CPU count', () => {
    const one = validateConfig({ ...base(), vcpus: 2, maxvcpus: 3, cpus: '0-2,^1,7' });
    expect((toLibxlObject(one)['b_info'] as Record<string, unknown>)['vcpu_hard_affinity']).toEqual([[0, 2, 7], [0, 2, 7], [0, 2, 7]]);
    expect(parseLibxlJson(toLibxlJson(one)).config.cpus).toBe('0,2,7');
    const list = validateConfig({ ...base(), vcpus: 2, maxvcpus: 2, cpus: ['4-5', '4-5'] });
    expect(toLibxlObject(list)['b_info']).toMatchObject({ vcpu_hard_affinity: [[4, 5], [4, 5]], numa_placement: 'False' });
    expect(parseLibxlJson(toLibxlJson(list)).config.cpus).toEqual(['4-5', '4-5']);
    const all = validateConfig({ ...base(), cpus: 'all' });
    expect(() => toLibxlJson(all)).toThrow(/\$\.cpus: "all" needs the host's CPU count/);
    expect((toLibxlObject(all, { hostCpus: 4 })['b_info'] as Record<string, unknown>)['vcpu_hard_affinity']).toEqual([[0, 1, 2, 3]]);
    const nodes = validateConfig({ ...base(), cpus: 'nodes:1' });
    expect(() => toLibxlJson(nodes)).toThrow(ConfigError);
    // The deprecated whole-domain cpumap counts when no per-vcpu maps are given.
    expect(parseLibxlJson(withTop({}, { cpumap: [1, 2, 3] })).config.cpus).toBe('1-3');
  });

  it('PV kernel, ramdisk, cmdline: b_info\'s fields, or their deprecated places in "type.pv"', () => {
    const c = validateConfig({ ...base(), image: { kernel: '/boot/k', ramdisk: '/boot/i', cmdline: 'root=/dev/xvda1 ro' } });
    expect(toLibxlObject(c)['b_info']).toMatchObject({ kernel: '/boot/k', ramdisk: '/boot/i', cmdline: 'root=/dev/xvda1 ro', 'type.pv': {} });
    expect(parseLibxlJson(toLibxlJson(c)).config.image).toEqual({ kernel: '/boot/k', ramdisk: '/boot/i', cmdline: 'root=/dev/xvda1 ro' });
    const old = parseLibxlJson(withTop({}, { kernel: undefined, 'type.pv': { kernel: '/old/k', cmdline: 'quiet', bootloader_args: ['-v'] } })).config;
    expect(old.image).toEqual({ kernel: '/old/k', cmdline: 'quiet' });
    expect(old.bootloader_args).toEqual(['-v']);
  });

  it('vbd ↔ disks: target, vdev, backend type, format, script, access, CD-ROM, discard, direct-io-safe, backend domain', () => {
    const c = parseXl(`name = "g"\nkernel = "/k"\ndisk = [ 'format=qcow2,vdev=xvdb,access=ro,backendtype=qdisk,backend=3,script=block-drbd,no-discard,target=/srv/a,b', ',hdc:cdrom,r', 'phy:/dev/vg/x,xvda,w' ]\n`).config;
    const disks = toLibxlObject(c)['disks'];
    expect(disks).toEqual([
      { backend_domid: 3, pdev_path: '/srv/a,b', vdev: 'xvdb', backend: 'qdisk', format: 'qcow2', script: 'block-drbd', discard_enable: 'False' },
      { pdev_path: '', vdev: 'hdc', backend: 'phy', format: 'empty', removable: 1, is_cdrom: 1 },
      { pdev_path: '/dev/vg/x', vdev: 'xvda', backend: 'phy', format: 'raw', readwrite: 1 },
    ]);
    expect(configs(parseLibxlJson(toLibxlJson(c)).config, 'vbd')).toEqual(configs(c, 'vbd'));
  });

  it('vif ↔ nics: mac, bridge, script, ip, vifname (ifname), model, type (nictype), rate, mtu, gatewaydev, devid, backend', () => {
    const c = parseXl(`name = "g"\nkernel = "/k"\nvif = [ 'mac=00:16:3E:0a:0b:0c,bridge=br1,script=vif-route,ip=10.0.0.9 10.0.0.10,vifname=g0,model=rtl8139,type=ioemu,rate=8Kb/s@1s,mtu=9000,gatewaydev=eth1,devid=5,backend=net' ]\n`).config;
    expect(toLibxlObject(c)['nics']).toEqual([
      { backend_domname: 'net', devid: 5, mtu: 9000, model: 'rtl8139', mac: '00:16:3e:0a:0b:0c', ip: '10.0.0.9 10.0.0.10', bridge: 'br1', ifname: 'g0', script: 'vif-route', nictype: 'vif_ioemu', rate_bytes_per_interval: 1000, rate_interval_usecs: 1000000, gatewaydev: 'eth1' },
    ]);
    const back = configs(parseLibxlJson(toLibxlJson(c)).config, 'vif');
    // The rate comes back as the same bytes per interval, written one canonical way.
    expect(back).toEqual(configs(c, 'vif').map((v) => ({ ...v, rate: '1KB/s@1s' })));
    expect(toLibxlObject(parseLibxlJson(toLibxlJson(c)).config)['nics']).toEqual(toLibxlObject(c)['nics']);
  });

  it('vfb ↔ vfbs (vnc and sdl objects, defbools), vkbd ↔ vkbs (backend type, feature flags, size)', () => {
    const c = parseXl(`name = "g"\nkernel = "/k"\nvfb = [ 'vnc=1,vnclisten=0.0.0.0,vncdisplay=0,vncunused=0,vncpasswd=pw,keymap=de,sdl=0' ]\nvkb = [ 'backend-type=linux,unique-id=kb0,feature-disable-keyboard=1,feature-disable-pointer=0,feature-abs-pointer=1,feature-raw-pointer=1,width=1024,height=768,backend=2' ]\n`).config;
    const o = toLibxlObject(c);
    expect(o['vfbs']).toEqual([{ vnc: { enable: 'True', listen: '0.0.0.0', passwd: 'pw', display: 0, findunused: 'False' }, sdl: { enable: 'False' }, keymap: 'de' }]);
    expect(o['vkbs']).toEqual([{ backend_domid: 2, backend_type: 'linux', unique_id: 'kb0', feature_disable_keyboard: true, feature_disable_pointer: false, feature_abs_pointer: true, feature_raw_pointer: true, width: 1024, height: 768 }]);
    const back = parseLibxlJson(toLibxlJson(c)).config;
    expect(configs(back, 'vfb')).toEqual(configs(c, 'vfb'));
    expect(configs(back, 'vkbd')).toEqual(configs(c, 'vkbd'));
  });

  it('vtpm ↔ vtpms, console channels ↔ channels ("connection.pty" / "connection.socket" keyed union)', () => {
    const c = parseXl(`name = "g"\nkernel = "/k"\nvtpm = [ 'backend=vtpmmgr,uuid=B5C2A1D0-1111-4222-8333-444455556666' ]\nchannel = [ 'name=a,connection=pty', 'name=b,connection=socket,path=/run/b.sock,backend=1' ]\n`).config;
    const o = toLibxlObject(c);
    expect(o['vtpms']).toEqual([{ backend_domname: 'vtpmmgr', uuid: 'b5c2a1d0-1111-4222-8333-444455556666' }]);
    expect(o['channels']).toEqual([{ name: 'a', 'connection.pty': {} }, { backend_domid: 1, name: 'b', 'connection.socket': { path: '/run/b.sock' } }]);
    const back = parseLibxlJson(toLibxlJson(c)).config;
    expect(configs(back, 'vtpm')).toEqual(configs(c, 'vtpm'));
    expect(configs(back, 'console')).toEqual(configs(c, 'console'));
  });

  it('says what it cannot carry: description, a disk\'s devid and bootable flag, the primary console, cpus past maxvcpus', () => {
    const c = validateConfig({
      ...base(),
      description: 'web',
      cpus: ['1', '2'],
      devices: {
        '00000000-0000-4000-8000-000000000001': { class: 'vbd', config: { vdev: 'xvda', target: '/x', devid: 51712, bootable: true } },
        '00000000-0000-4000-8000-000000000002': { class: 'console', config: {} },
      },
    });
    expect(libxlJsonLosses(c).map((w) => w.path)).toEqual(['$.description', '$.cpus', '$.devices["00000000-0000-4000-8000-000000000001"].config.devid', '$.devices["00000000-0000-4000-8000-000000000001"].config.bootable', '$.devices["00000000-0000-4000-8000-000000000002"].config']);
    const back = parseLibxlJson(toLibxlJson(c)).config;
    expect(back.description).toBeUndefined();
    expect(back.console_refs).toEqual([]);
    expect(back.cpus).toEqual(['1']);
    expect(configs(back, 'vbd')[0]).not.toHaveProperty('devid');
    expect(libxlJsonLosses(parseXl(fixture('pv.cfg')).config)).toEqual([]);
  });

  it('a rate xl rounds to nothing per interval is written as xl writes it and read back exactly', () => {
    const c = parseXl(`name = "g"\nkernel = "/k"\nvif = [ 'mac=00:16:3e:00:00:01,rate=4b/s' ]\n`).config;
    expect(toLibxlObject(c)['nics']).toMatchObject([{ rate_bytes_per_interval: 0, rate_interval_usecs: 50000 }]);
    const back = parseLibxlJson(toLibxlJson(c));
    expect(back.warnings).toEqual([]);
    expect(configs(back.config, 'vif')[0]!['rate']).toBe('1b/s@50ms');
    expect(toLibxlObject(back.config)['nics']).toEqual(toLibxlObject(c)['nics']);
    // 2 bytes every 3 s is no whole number of bytes a second: the nearest is said, not hidden.
    const odd = parseLibxlJson(withTop({ nics: [{ mac: '00:16:3e:00:00:01', rate_bytes_per_interval: 2, rate_interval_usecs: 3000000 }] }));
    expect(odd.warnings.map((w) => w.message)).toEqual(['$.nics[0].rate_bytes_per_interval: 2 bytes every 3000000 µs has no exact xl rate; read as 1B/s@3s']);
  });

  it('a rate the xl syntax does not allow is refused when writing, named by its model path', () => {
    const c = validateConfig({ ...base(), devices: { '00000000-0000-4000-8000-000000000001': { class: 'vif', config: { rate: '10 Mbit' } } } });
    expect(() => toLibxlJson(c)).toThrow(/\$\.devices\["00000000-0000-4000-8000-000000000001"\]\.config\.rate: "10 Mbit": "10 Mbit" is not a rate/);
  });
});

describe('bad input: typed errors naming the JSON path, with line:col', () => {
  it('truncated JSON is a syntax error at the end of the text', () => {
    const text = fixture('pv.xl-create.json');
    const cut = text.slice(0, text.indexOf('"nics"'));
    const err = refused(cut);
    expect(err.code).toBe('TSX_ERR_CONFIG_SYNTAX');
    const lines = cut.split('\n');
    expect(err.problems).toEqual([{ file: 'g.json', line: lines.length, col: lines[lines.length - 1]!.length + 1, path: '$', message: 'invalid JSON: expected a key in double quotes, got end of input (is the text cut off?)' }]);
  });

  it('malformed JSON is placed where it breaks', () => {
    expect(refused('{\n  "c_info": {"name": "g",}\n}').problems[0]).toMatchObject({ line: 2, col: 26, message: 'invalid JSON: expected a key in double quotes, got character "}"' });
    expect(refused('{"a": tru}').problems[0]).toMatchObject({ line: 1, col: 7, message: 'invalid JSON: expected a value, got character "t"' });
    expect(refused('{"a": "x\n"}').problems[0]).toMatchObject({ line: 1, col: 7, message: 'invalid JSON: unterminated string (a newline inside a string)' });
    expect(refused('{} {}').problems[0]).toMatchObject({ line: 1, col: 4, message: 'invalid JSON: unexpected character "{" after the end of the JSON value' });
    expect(refused('[1]').problems[0]).toMatchObject({ path: '$', message: '$: a libxl domain config is a JSON object ({"c_info": ..., "b_info": ..., ...})' });
    expect(refused('['.repeat(200)).problems[0]!.message).toMatch(/nested deeper than 128 levels/);
  });

  it('wrong types, unknown enum values and bad strings: every one at once, in text order', () => {
    const text = [
      '{',
      '  "c_info": {"type": "pv", "name": "g", "uuid": "not-a-uuid"},',
      '  "b_info": {"max_vcpus": "2", "max_memkb": 524288, "target_memkb": 262144, "kernel": 7, "type.pv": {}},',
      '  "disks": [',
      '    {"pdev_path": "/a", "vdev": "xvda", "readwrite": 1},',
      '    {"pdev_path": "/b", "vdev": 5, "backend": "floppy", "format": "qcow3", "discard_enable": "yes"}',
      '  ],',
      '  "nics": [{"mac": "00:16:3e:zz:00:01", "mtu": 70000}],',
      '  "vkbs": [{"feature_abs_pointer": 1, "backend_type": "sdl"}],',
      '  "on_crash": "explode"',
      '}',
    ].join('\n');
    const err = refused(text);
    expect(err.code).toBe('TSX_ERR_CONFIG_INVALID');
    expect(err.statusCode).toBe(400);
    expect(err.problems.map((p) => [p.line, p.col, p.message])).toEqual([
      [...at(text, 2, '"not-a-uuid"'), '$.c_info.uuid: "not-a-uuid" is not a UUID'],
      [...at(text, 3, '"2"'), '$.b_info.max_vcpus: expected an integer, got a string ("2")'],
      [...at(text, 3, '7,'), '$.b_info.kernel: expected a string, got a number (7)'],
      [...at(text, 6, '5,'), '$.disks[1].vdev: expected a string, got a number (5)'],
      [...at(text, 6, '"floppy"'), '$.disks[1].backend: unknown value "floppy" (unknown, phy, tap, qdisk, standalone)'],
      [...at(text, 6, '"qcow3"'), '$.disks[1].format: unknown value "qcow3" (unknown, qcow, qcow2, vhd, raw, empty, qed)'],
      [...at(text, 6, '"yes"'), '$.disks[1].discard_enable: expected "True", "False" or "<default>", got "yes"'],
      [...at(text, 8, '"00:16'), '$.nics[0].mac: "00:16:3e:zz:00:01" is not a MAC address'],
      [...at(text, 8, '70000'), '$.nics[0].mtu: 70000 is out of range (0..65535)'],
      [...at(text, 9, '1,'), '$.vkbs[0].feature_abs_pointer: expected true or false, got a number (1)'],
      [...at(text, 9, '"sdl"'), '$.vkbs[0].backend_type: unknown value "sdl" (unknown, qemu, linux)'],
      [...at(text, 10, '"explode"'), '$.on_crash: unknown value "explode" (destroy, restart, restart_rename, preserve, coredump_destroy, coredump_restart, soft_reset)'],
    ]);
    expect(err.problems.every((p) => p.file === 'g.json')).toBe(true);
  });

  it('the model\'s rules speak libxl\'s paths: duplicate vdev and MAC, a writable CD-ROM, maxmem below memory', () => {
    const text = [
      '{',
      '  "c_info": {"type": "pv", "name": "g"},',
      '  "b_info": {"max_memkb": 131072, "target_memkb": 262144, "kernel": "/k"},',
      '  "disks": [{"pdev_path": "/a", "vdev": "xvda"}, {"pdev_path": "/b", "vdev": "d0p0"},',
      '            {"pdev_path": "/c.iso", "vdev": "hdc", "is_cdrom": 1, "readwrite": 1}],',
      '  "nics": [{"mac": "00:16:3e:00:00:01"}, {"mac": "00:16:3E:00:00:01"}]',
      '}',
    ].join('\n');
    expect(refused(text).problems.map((p) => [p.path, p.line, p.col, p.message])).toEqual([
      ['$.b_info.max_memkb', ...at(text, 3, '131072'), '$.b_info.max_memkb: must be at least memory (256 MiB), got 128 (MiB; the field is in KiB)'],
      ['$.disks[1].vdev', ...at(text, 4, '"d0p0"'), '$.disks[1].vdev: duplicate vdev "d0p0" (also at $.disks[0].vdev)'],
      ['$.disks[2].readwrite', ...at(text, 5, '1}'), '$.disks[2].readwrite: a CD-ROM is read-only'],
      ['$.nics[1].mac', ...at(text, 6, '"00:16:3E'), '$.nics[1].mac: duplicate mac "00:16:3e:00:00:01" (also at $.nics[0].mac)'],
    ]);
  });

  it('what libxl itself refuses or cannot mean: mixed type, both kernel places, vcpus not 0..n-1, soft_reset, duplicate keys', () => {
    const messages = (text: string) => refused(text).problems.map((p) => p.message);
    expect(messages(withTop({}, { 'type.pv': undefined, 'type.hvm': {} }))).toEqual(['$.b_info["type.hvm"]: does not match c_info.type "pv"']);
    expect(messages(withTop({}, { 'type.pv': { kernel: '/other' } }))).toEqual(['$.b_info["type.pv"].kernel: also set as b_info.kernel; libxl refuses both (the type.pv place is deprecated)']);
    expect(messages(withTop({}, { max_vcpus: 4, avail_vcpus: [0, 2] }))).toEqual(['$.b_info.avail_vcpus: tsxend brings up vcpus 0 to n-1; this config has [0, 2]']);
    expect(messages(withTop({ on_crash: 'soft_reset' }))).toEqual(['$.on_crash: soft_reset is not supported by tsxend (xl: soft-reset)']);
    const dup = '{"c_info": {"type": "pv", "name": "a", "name": "b"}, "b_info": {"kernel": "/k"}}';
    expect(refused(dup).problems).toEqual([
      { file: 'g.json', line: 1, col: dup.lastIndexOf('"name"') + 1, path: '$.c_info.name', message: '$.c_info.name: duplicate key (libxl would read the first value, other JSON readers the last)' },
    ]);
    expect(messages(withTop({ channels: [{ name: 'c', 'connection.unknown': {} }] }))).toEqual(['$.channels[0]["connection.unknown"]: a channel needs a connection: "connection.pty" or "connection.socket"']);
  });

  it('missing essentials: no c_info, no name, no type, a PV guest without a kernel, a disk without a vdev', () => {
    const messages = (text: string) => refused(text).problems.map((p) => p.message);
    expect(messages('{"b_info": {"kernel": "/k"}}')).toEqual(['$.c_info: missing: the domain\'s name and type are there']);
    expect(messages('{"c_info": {"type": "pv", "name": "g"}}')).toEqual(['$.b_info: missing: memory, vcpus and the kernel are there']);
    expect(messages('{"c_info": [], "b_info": 3}')).toEqual(['$.c_info: expected an object, got a list', '$.b_info: expected an object, got a number (3)']);
    expect(messages('{"c_info": {"type": "pv"}, "b_info": {"kernel": "/k"}}')).toEqual(['$.c_info.name: a domain name must be specified']);
    expect(messages('{"c_info": {"type": "pv", "name": null}, "b_info": {"kernel": "/k"}}')).toEqual(['$.c_info.name: a domain name must be specified']);
    expect(messages('{"c_info": {"type": "pv", "name": ""}, "b_info": {"kernel": "/k"}}')).toEqual(['$.c_info.name: must not have fewer than 1 characters (got "")']);
    expect(messages(withTop({}, { max_memkb: -1, target_memkb: 1.5 }))).toEqual(['$.b_info.max_memkb: -1 is out of range (KiB are counted from 0)', '$.b_info.target_memkb: expected an integer (KiB), got 1.5']);
    expect(messages('{"c_info": {"name": "g"}, "b_info": {"kernel": "/k"}}')).toEqual(['$.c_info.type: a domain type must be given (pv, pvh, hvm)']);
    expect(messages('{"c_info": {"type": "pv", "name": "g"}, "b_info": {}}')).toEqual(['$.b_info.kernel: a PV guest needs a kernel or a bootloader']);
    expect(messages(withTop({ disks: [{ pdev_path: '/x' }] }))).toEqual(['$.disks[0]: missing required key(s) ["vdev"]']);
    // The keyed union alone gives the type, as libxl reads it.
    expect(parseLibxlJson('{"c_info": {"name": "g"}, "b_info": {"type.pvh": {}}}').config.type).toBe('pvh');
  });
});

describe('as save and restore meet it', () => {
  it('the NUL that ends the config in xl\'s image header is not part of the JSON', () => {
    expect(parseLibxlJson(fixture('pv.save-image.hand-built.json') + '\0').config.name).toBe('g');
  });

  it('keys named like Object\'s own properties, in every object, are unknown keys and nothing more', () => {
    const data = JSON.parse(fixture('pv.save-image.hand-built.json')) as unknown;
    let objects = 0;
    // Every object tsxend reads field by field (not those it ignores whole, like arch_arm).
    const whole = new Set(['sched_params', 'arch_arm', 'arch_x86']);
    const salt = (o: unknown): void => {
      if (Array.isArray(o)) o.forEach(salt);
      else if (typeof o === 'object' && o !== null) {
        for (const [k, v] of Object.entries(o)) if (!whole.has(k)) salt(v);
        objects++;
        Object.assign(o, { toString: 1, constructor: 'x', hasOwnProperty: {}, valueOf: [] });
      }
    };
    salt(data);
    const text = JSON.stringify(data).replace(/"toString":1/g, '"__proto__":{"polluted":true},"toString":1');
    const { config, warnings } = parseLibxlJson(text);
    expect(config.name).toBe('g');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(warnings).toHaveLength(objects * 5);
    expect(new Set(warnings.map((w) => w.message.replace(/^.*\.|^.*\]/, '')))).toEqual(new Set(['__proto__: unknown key, ignored', 'toString: unknown key, ignored', 'constructor: unknown key, ignored', 'hasOwnProperty: unknown key, ignored', 'valueOf: unknown key, ignored']));
  });
});

describe('fields tsxend does not map: warnings as for the xl parser\'s unsupported keys', () => {
  it('warns when a field asks for something, names unknown keys, and stays silent on libxl\'s bookkeeping', () => {
    const text = withTop(
      { pcidevs: [{ bus: 3 }], usbctrls: [], on_watchdog: 'restart', on_soft_reset: 'soft_reset', future_field: 1 },
      { tsc_mode: 'native', shadow_memkb: 4096, device_model_version: 'qemu_xen', sched_params: { weight: 512 }, 'type.pv': { e820_host: 'True', slack_memkb: 0 } },
    );
    const { config, warnings } = parseLibxlJson(text, 'g.json');
    expect(config.name).toBe('g');
    expect(warnings.map((w) => w.message)).toEqual([
      // In text order: withTop keeps "type.pv" where b_info first had it.
      '$.b_info["type.pv"].e820_host: not supported by tsxend yet and ignored (xl: e820_host) ("True")',
      '$.b_info.tsc_mode: not supported by tsxend yet and ignored (xl: tsc_mode) ("native")',
      '$.b_info.sched_params: not supported by tsxend yet and ignored (xl: cpu_weight, cap)',
      '$.pcidevs: not supported by tsxend yet and ignored (xl: pci)',
      '$.on_watchdog: not supported by tsxend yet and ignored (xl: on_watchdog) ("restart")',
      '$.future_field: unknown key, ignored',
    ]);
    expect(warnings.every((w) => w.file === 'g.json' && w.line !== undefined)).toBe(true);
  });

  it('an HVM guest\'s "type.hvm" settings are one warning', () => {
    const text = JSON.stringify({ c_info: { type: 'hvm', name: 'w' }, b_info: { 'type.hvm': { firmware: 'seabios', boot: 'cd', vnc: { enable: 'True' } } } });
    const { config, warnings } = parseLibxlJson(text);
    expect(config.type).toBe('hvm');
    expect(warnings.map((w) => w.message)).toEqual(['$.b_info["type.hvm"]: HVM settings (firmware, boot, serial, the emulated display, ...) are not supported by tsxend yet and ignored']);
  });
});

describe('docs/config.md', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```libxl-json\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('its libxl JSON examples read without a warning, and what it says of the defaults holds', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const text of blocks) {
      const { config, warnings } = parseLibxlJson(text, 'docs/config.md');
      expect(warnings).toEqual([]);
      // The example leaves readwrite in and on_poweroff/on_crash out: w, and destroy.
      expect(config).toMatchObject({ name: 'web1', memory: 512, maxmem: 1024, vcpus: 2, on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'destroy' });
      expect(configs(config, 'vbd')[0]).toMatchObject({ access: 'w', backendtype: 'phy' });
    }
    expect(doc).toContain('`10Mb/s` as `1250KB/s@50ms`');
    expect(toLibxlObject(parseXl(`name = "g"\nkernel = "/k"\nvif = [ 'mac=00:16:3e:00:00:01,rate=10Mb/s' ]\n`).config)['nics']).toMatchObject([{ rate_bytes_per_interval: 62500, rate_interval_usecs: 50000 }]);
    expect(configs(parseLibxlJson(withTop({ nics: [{ mac: '00:16:3e:00:00:01', rate_bytes_per_interval: 62500, rate_interval_usecs: 50000 }] })).config, 'vif')[0]!['rate']).toBe('1250KB/s@50ms');
  });
});
