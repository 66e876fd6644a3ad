// Edge cases of every format and rule the issue names, one assertion per behaviour: the xl.cfg
// grammar corners (escapes, `;`, nested lists, duplicate keys), xm habits, the device mini-grammars,
// SXP shapes, the whole-config rules, the schemas, and Debian's installed examples.

import { existsSync, readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEVICE_CONFIG_SCHEMAS,
  deviceEntrySchema,
  generateMac,
  newDeviceUuid,
  parseConfig,
  parseDeviceSpec,
  parseJson,
  parseSxp,
  parseXl,
  toSxp,
  validateConfig,
  vdevToNumber,
  xendConfigSchema,
  type VbdConfig,
  type VifConfig,
} from '../../src/config/index.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const HEAD = 'name = "e"\nkernel = "/k"\n';
const devs = (text: string) => {
  const { config } = parseXl(text);
  return Object.values(config.devices);
};

describe('xl.cfg grammar (xenstore.md §6.1)', () => {
  it('decodes every string escape libxlu knows', () => {
    const { config } = parseXl(`${HEAD}cmdline = "a\\"b\\'c\\\\d\\te\\x41"\ndescription = 'q\\'s'\n`);
    expect(config.image.cmdline).toBe('a"b\'c\\d\teA');
    expect(config.description).toBe("q's");
  });

  it('rejects an unknown escape and a newline inside a string, with line:col', () => {
    const e = errorOf(() => parseXl(`${HEAD}cmdline = "a\\qb"\n`, 'esc.cfg'));
    expect(e.code).toBe('TSX_ERR_CONFIG_SYNTAX');
    expect(e.problems[0]).toMatchObject({ file: 'esc.cfg', line: 3 });
    expect(e.message).toMatch(/^esc\.cfg:3:\d+: /);
  });

  it('takes `;` as a statement end, several per line', () => {
    const { config } = parseXl('name = "s"; kernel = "/k"; memory = 64; vcpus = 2\n');
    expect(config).toMatchObject({ name: 's', memory: 64, vcpus: 2 });
  });

  it('accepts lists over lines with comments, blank lines and a trailing comma', () => {
    const d = devs(`${HEAD}disk = [\n\n  '/a,xvda,w', # first\n\n  '/b,xvdb,r',\n]\n`);
    expect(d.map((x) => x.class === 'vbd' && x.config.vdev)).toEqual(['xvda', 'xvdb']);
  });

  it('parses nested lists but refuses them as device items, naming the key', () => {
    const e = errorOf(() => parseXl(`${HEAD}disk = [ ['/a,xvda,w'] ]\n`, 'n.cfg'));
    expect(e.problems[0]).toMatchObject({ file: 'n.cfg', line: 3, path: 'disk' });
  });

  it('lets the last assignment win and warns about the duplicate key, naming it', () => {
    const { config, warnings } = parseXl(`${HEAD}memory = 128\nmemory = 256\n`, 'd.cfg');
    expect(config.memory).toBe(256);
    const dup = warnings.find((w) => w.path === 'memory');
    expect(dup).toMatchObject({ file: 'd.cfg', line: 4 });
    expect(dup?.message).toContain('memory');
  });

  it('appends lists with += and refuses mixing a list and a string', () => {
    expect(devs(`${HEAD}disk = ['/a,xvda,w']\ndisk += ['/b,xvdb,w']\n`)).toHaveLength(2);
    expect(errorOf(() => parseXl(`${HEAD}disk = ['/a,xvda,w']\ndisk += "x"\n`)).problems[0]?.path).toBe('disk');
  });

  it('reads 0x hex and leading-0 octal, and refuses a bad octal digit', () => {
    expect(parseXl(`${HEAD}memory = 0x200\n`).config.memory).toBe(512);
    expect(parseXl(`${HEAD}memory = 0400\n`).config.memory).toBe(256);
    expect(errorOf(() => parseXl(`${HEAD}memory = 09\n`)).message).toContain('memory');
  });

  it('refuses upper-case keys and Python syntax with the position', () => {
    expect(errorOf(() => parseXl('Name = "x"\n', 'u.cfg')).problems[0]).toMatchObject({ line: 1, col: 1 });
    expect(errorOf(() => parseXl(`${HEAD}memory = -5\n`)).problems[0]).toMatchObject({ line: 3 });
  });

  it('requires a name', () => {
    expect(errorOf(() => parseXl('kernel = "/k"\n')).problems[0]?.path).toBe('name');
  });
});

describe('xm habits', () => {
  it('folds root alone and extra alone the way xl does', () => {
    expect(parseXl(`${HEAD}root = "/dev/xvda1"\n`).config.image.cmdline).toBe('root=/dev/xvda1');
    expect(parseXl(`${HEAD}extra = "quiet"\n`).config.image.cmdline).toBe('quiet');
  });

  it('keeps cmdline and warns that root/extra are ignored', () => {
    const { config, warnings } = parseXl(`${HEAD}cmdline = "c"\nextra = "x"\n`);
    expect(config.image.cmdline).toBe('c');
    expect(warnings.map((w) => w.message).join()).toContain('root and extra are ignored');
  });

  it("maps builder = 'hvm' / 'generic' and refuses one contradicting type", () => {
    expect(parseXl('name = "h"\nbuilder = "hvm"\n').config.type).toBe('hvm');
    expect(parseXl(`${HEAD}builder = "generic"\n`).config.type).toBe('pv');
    expect(errorOf(() => parseXl(`${HEAD}type = "pv"\nbuilder = "hvm"\n`)).problems[0]?.path).toBe('builder');
  });

  it('keeps kernel and ramdisk', () => {
    expect(parseXl(`${HEAD}ramdisk = "/boot/initrd"\n`).config.image).toMatchObject({ kernel: '/k', ramdisk: '/boot/initrd' });
  });

  it('gives each vfb a matching vkbd when the file lists no vkb', () => {
    expect(devs(`${HEAD}vfb = ['vnc=1', 'sdl=1']\n`).map((d) => d.class)).toEqual(['vkbd', 'vfb', 'vkbd', 'vfb']);
  });

  it('accepts a single string where xm configs give one device', () => {
    expect(devs(`${HEAD}disk = 'phy:/dev/vg/a,xvda,w'\n`)[0]).toMatchObject({ class: 'vbd', config: { target: '/dev/vg/a' } });
  });
});

describe('DISK_SPEC (xenstore.md §6.3)', () => {
  const disk = (s: string) => parseDeviceSpec('vbd', s).config as VbdConfig;

  it('reads the four equivalent spellings of the same disk', () => {
    const want = { target: '/dev/vg/guest-volume', format: 'raw', vdev: 'hda', access: 'w' };
    for (const s of ['/dev/vg/guest-volume,,hda', '/dev/vg/guest-volume,raw,hda,rw', 'format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume', 'raw:/dev/vg/guest-volume,hda,w']) {
      expect(disk(s), s).toMatchObject(want);
    }
  });

  it('drops the ignored deprecated prefixes and maps script prefixes', () => {
    for (const p of ['phy:', 'file:', 'tap:aio:', 'tap2:', 'aio:']) expect(disk(`${p}/x.img,xvda,w`).target, p).toBe('/x.img');
    expect(disk('qcow2:/x.qcow2,xvda,w').format).toBe('qcow2');
    expect(disk('iscsi:iqn.2001-05.com.example:disk0,xvda,w').script).toBe('block-iscsi');
  });

  it('refuses an unknown prefix, an unknown parameter, five positionals and a missing vdev', () => {
    for (const s of ['zork:/x,xvda,w', 'colour=red,target=/x', '/x,raw,xvda,w,extra', '/x', 'format=tiff,vdev=xvda,target=/x', 'access=maybe,vdev=xvda,target=/x']) {
      const e = errorOf(() => disk(s));
      expect(e.code, s).toBe('TSX_ERR_CONFIG_INVALID');
      expect(e.message, s).toContain('vbd');
    }
  });

  it('makes cdroms read-only, and an empty one from `,hdc:cdrom,r` and `vdev=hdc,devtype=cdrom`', () => {
    expect(disk('/i.iso,,hdc,cdrom')).toMatchObject({ devtype: 'cdrom', access: 'r' });
    expect(disk('vdev=hdc,devtype=cdrom')).toMatchObject({ devtype: 'cdrom', format: 'empty', target: '' });
    expect(disk('/i.iso,hdc:cdrom,r')).toMatchObject({ vdev: 'hdc', devtype: 'cdrom' });
  });

  it('reads the flags', () => {
    expect(disk('/x,,xvda,w,discard')).toMatchObject({ discard: true });
    expect(disk('vdev=xvda,no-discard,direct-io-safe,target=/x')).toMatchObject({ discard: false, directIoSafe: true });
  });

  it('refuses a vdev Xen rejects', () => {
    for (const v of ['hde', 'sdq', 'xvda0', 'xvd', 'vda']) expect(() => disk(`/x,,${v},w`), v).toThrow(ConfigError);
  });
});

describe('VIF_SPEC (xenstore.md §6.4) and the other device strings', () => {
  const vif = (s: string) => parseDeviceSpec('vif', s).config as VifConfig;

  it('fills defaults for an empty spec with a Xen-OUI MAC', () => {
    expect(vif('')).toMatchObject({ bridge: 'xenbr0', script: 'vif-bridge', type: 'vif', backend: '0' });
    expect(vif('').mac).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  });

  it('reads every key, lower-cases the MAC and takes netdev as gatewaydev', () => {
    expect(vif('mac=00:16:3E:AA:bb:0c, bridge=br1,ip=10.0.0.2,script=vif-route,vifname=web0,model=e1000,type=ioemu,rate=10Mb/s@20ms,mtu=9000,netdev=eth1')).toMatchObject({
      mac: '00:16:3e:aa:bb:0c', bridge: 'br1', ip: '10.0.0.2', script: 'vif-route', vifname: 'web0', model: 'e1000', type: 'ioemu', rate: '10Mb/s@20ms', mtu: 9000, gatewaydev: 'eth1',
    });
  });

  it('refuses malformed and multicast MACs, naming the value', () => {
    for (const m of ['00:16:3e:00:00', '00:16:3e:00:00:100', 'zz:16:3e:00:00:01']) expect(() => vif(`mac=${m}`), m).toThrow(ConfigError);
    expect(errorOf(() => vif('mac=03:00:00:00:00:01')).message).toContain('03:00:00:00:00:01');
  });

  it('reads vfb, vkb, vtpm and channel strings', () => {
    expect(parseDeviceSpec('vfb', 'vnc=1,vnclisten=127.0.0.1,vncdisplay=3,vncunused=0,vncpasswd=pw,keymap=de').config).toMatchObject({ vnc: true, vnclisten: '127.0.0.1', vncdisplay: 3, vncunused: false, vncpasswd: 'pw', keymap: 'de' });
    expect(parseDeviceSpec('vfb', 'type=sdl,display=:0,xauthority=/root/.Xauthority').config).toMatchObject({ sdl: true, display: ':0' });
    expect(parseDeviceSpec('vkbd', 'backend-type=linux,unique-id=k0,width=800,height=600').config).toMatchObject({ backendType: 'linux', uniqueId: 'k0', width: 800, height: 600 });
    expect(parseDeviceSpec('vtpm', 'backend=vtpmmgr,uuid=12345678-1234-4234-8234-123456789abc').config).toMatchObject({ backend: 'vtpmmgr', tpmUuid: '12345678-1234-4234-8234-123456789abc' });
    expect(() => parseDeviceSpec('vtpm', 'backend=0,colour=red')).toThrow(ConfigError);
    expect(parseDeviceSpec('console', ' name = org.qemu.guest_agent.0 , connection=socket, path=/run/qga.sock').config).toMatchObject({ name: 'org.qemu.guest_agent.0', connection: 'socket', path: '/run/qga.sock' });
  });

  it('takes model objects too, and answers a DeviceEntry', () => {
    const e = parseDeviceSpec('vbd', { vdev: 'xvdb', target: '/x' });
    expect(e).toMatchObject({ class: 'vbd', config: { vdev: 'xvdb', target: '/x', access: 'w', format: 'raw' } });
    expect(() => parseDeviceSpec('vbd', { vdev: 'xvdb', target: '/x', colour: 1 })).toThrow(ConfigError);
  });
});

describe('whole-config rules name the key and the value', () => {
  const bad = (text: string) => errorOf(() => parseXl(HEAD + text, 'r.cfg'));

  it.each([
    ['memory = 0\n', 'memory'],
    ['name = "a\\tb"\n', 'name'],
    ['name = "x "\n', 'name'],
    ['on_reboot = "reboot"\n', 'on_reboot'],
    ['on_poweroff = "explode"\n', 'explode'],
    ['vif = ["vifname=v0", "vifname=v0"]\n', 'vifname'],
    ['vif = ["devid=1", "devid=1"]\n', 'devid'],
    ['disk = ["/a,xvda,w", "/b,51712,w"]\n', 'vdev'],
    ['vcpus = 4\nmaxvcpus = 2\n', 'maxvcpus'],
  ])('%j is refused naming %s', (text, key) => {
    const e = bad(text);
    expect(e.code).toBe('TSX_ERR_CONFIG_INVALID');
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain(key);
    expect(e.problems[0]).toMatchObject({ file: 'r.cfg' });
    expect(e.problems[0]?.line).toBeGreaterThan(0);
  });

  it('refuses two root (bootable) disks', () => {
    const c = parseXl(`${HEAD}disk = ["/a,xvda,w", "/b,xvdb,w"]\n`).config;
    const json = JSON.parse(JSON.stringify(c)) as { devices: Record<string, { config: Record<string, unknown> }> };
    for (const d of Object.values(json.devices)) d.config['bootable'] = true;
    expect(errorOf(() => validateConfig(json)).message).toContain('bootable');
  });

  it('gives JSON problems a JSON path', () => {
    const e = errorOf(() => parseJson(JSON.stringify({ name: 'j', image: { kernel: '/k' }, memory: -1 }), 'j.json'));
    expect(e.problems[0]).toMatchObject({ file: 'j.json', path: '$.memory' });
    const d = errorOf(() => validateConfig({ name: 'j', image: { kernel: '/k' }, devices: { 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa': { class: 'vif', config: { mac: '01:00:00:00:00:01' } } } }));
    expect(d.problems[0]?.path).toContain('$.devices');
    expect(d.problems[0]?.path).toContain('mac');
  });

  it('reports a JSON syntax error with line and column', () => {
    expect(errorOf(() => parseJson('{\n  "name": "a",\n  oops\n}', 'bad.json')).problems[0]).toMatchObject({ file: 'bad.json', line: 3 });
  });
});

describe('SXP (xend.md §2.2)', () => {
  it('accepts the (domain ...) shape and xend runtime keys it ignores', () => {
    const { config } = parseSxp("(domain (domid 3) (name d) (memory 64) (state -b----) (image (linux (kernel /k) (root '/dev/xvda1 ro') (args quiet))) (device (vbd (uname file:/i.img) (dev xvda:disk) (mode r))))");
    expect(config).toMatchObject({ name: 'd', memory: 64, image: { kernel: '/k', cmdline: 'root=/dev/xvda1 ro quiet' } });
    expect(Object.values(config.devices)[0]).toMatchObject({ class: 'vbd', config: { target: '/i.img', vdev: 'xvda', access: 'r' } });
  });

  it('quotes values with blanks, quotes, parens and backslashes, and reads them back', () => {
    const c = validateConfig({ name: 'q', image: { kernel: '/k', cmdline: `a "b" (c) \\d 'e'` }, description: '' });
    const text = toSxp(c);
    expect(parseSxp(text).config).toEqual(c);
  });

  it('reports unknown keys as warnings with their position, and a stray close paren as syntax', () => {
    const { warnings } = parseSxp('(vm (name w)\n (image (linux (kernel /k)))\n (frob 1))', 'w.sxp');
    expect(warnings[0]).toMatchObject({ file: 'w.sxp', line: 3, path: 'frob' });
    expect(errorOf(() => parseSxp('(vm (name w)))')).code).toBe('TSX_ERR_CONFIG_SYNTAX');
  });
});

describe('schemas, helpers and format detection', () => {
  it('closes every schema to unknown keys', () => {
    expect((xendConfigSchema as { additionalProperties?: unknown }).additionalProperties).toBe(false);
    for (const [cls, s] of Object.entries(DEVICE_CONFIG_SCHEMAS)) expect((s as { additionalProperties?: unknown }).additionalProperties, cls).toBe(false);
  });

  it('accepts exactly what the validator answers', () => {
    const c = parseXl(`${HEAD}disk = ['/a,xvda,w']\nvif = ['']\nvfb = ['vnc=1']\nvtpm = ['backend=0']\nchannel = ['name=c0']\n`).config;
    expect(Value.Check(xendConfigSchema, c)).toBe(true);
    for (const e of Object.values(c.devices)) expect(Value.Check(deviceEntrySchema, e)).toBe(true);
    expect(Value.Check(xendConfigSchema, { ...c, colour: 'red' })).toBe(false);
  });

  it('generates Xen-OUI unicast MACs with the 4th byte below 0x80, and v4 uuids', () => {
    for (let i = 0; i < 500; i++) {
      const m = generateMac();
      expect(m).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    }
    expect(newDeviceUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('detects the format when none is given', () => {
    const c = parseXl(`${HEAD}`).config;
    expect(parseConfig(`# comment\n${toSxp(c)}`).config).toEqual(c);
    expect(parseConfig(`  \n${JSON.stringify(c)}`).config).toEqual(c);
  });

  it('maps vdevs in the model to numbers for duplicate checks (hda and 768 clash)', () => {
    expect(vdevToNumber('768')).toBe(vdevToNumber('hda'));
  });
});

describe("Debian's installed /etc/xen examples", () => {
  for (const name of ['xlexample.hvm', 'xlexample.pvlinux', 'xlexample.pvhlinux']) {
    const path = `/etc/xen/${name}`;
    const text = existsSync(path) ? readFileSync(path, 'utf8') : readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
    it(`${name} (${existsSync(path) ? path : 'fixture copy'}) parses with no unknown keys`, () => {
      const { config, warnings } = parseXl(text, name);
      expect(config.name).toMatch(/^example\./);
      expect(warnings.filter((w) => w.message.startsWith('unknown key'))).toEqual([]);
      expect(config.type).toBe(name === 'xlexample.hvm' ? 'hvm' : name === 'xlexample.pvhlinux' ? 'pvh' : 'pv');
    });
  }
});

describe('device problems point at the device as written', () => {
  it('xl: the line of the list item', () => {
    const e = errorOf(() => parseXl(`${HEAD}vif = [\n  'mac=00:16:3e:00:00:01',\n  'mac=00:16:3e:00:00:01',\n]\n`, 'v.cfg'));
    expect(e.problems[0]).toMatchObject({ file: 'v.cfg', line: 5 });
    expect(e.message).toMatch(/^v\.cfg:5:3: .*duplicate mac "00:16:3e:00:00:01"/);
  });

  it('SXP: the line of the (device ...)', () => {
    const e = errorOf(() => parseSxp('(vm (name s) (image (linux (kernel /k)))\n  (device (vbd (uname phy:/a) (dev xvda) (mode w)))\n  (device (vbd (uname phy:/b) (dev xvda) (mode w))))', 's.sxp'));
    expect(e.problems[0]).toMatchObject({ file: 's.sxp', line: 3 });
    expect(e.message).toContain('duplicate vdev');
  });
});

describe('tsxend config command line', () => {
  it('answers an unknown option with the usage and exit 2, not a stack trace', async () => {
    const { command } = await import('../../src/cli/commands/config.js');
    let err = '';
    const code = await command.run(['convert', '/etc/xen/xlexample.hvm', '--frob'], { stdout: () => undefined, stderr: (t) => (err += t), env: {} });
    expect(code).toBe(2);
    expect(err).toContain("'--frob'");
    expect(err).toContain('usage: tsxend config');
  });

  it('writes JSON with name first, in the schema order', async () => {
    const { toJson } = await import('../../src/config/index.js');
    const c = validateConfig({ image: { kernel: '/k' }, memory: 64, name: 'late' });
    expect(Object.keys(JSON.parse(toJson(c)) as object).slice(0, 3)).toEqual(['name', 'uuid', 'type']);
  });
});

describe('xm-era files in the wild', () => {
  it("reads a xen-tools generated config (quoted numbers, file: disks on partitions, xm's dhcp key warned)", () => {
    const text = [
      "kernel      = '/boot/vmlinuz-6.1.0-18-amd64'",
      "extra       = 'elevator=noop'",
      "ramdisk     = '/boot/initrd.img-6.1.0-18-amd64'",
      "vcpus       = '1'",
      "memory      = '256'",
      "root        = '/dev/xvda2 ro'",
      'disk        = [',
      "                  'file:/home/xen/domains/vm1/disk.img,xvda2,w',",
      "                  'file:/home/xen/domains/vm1/swap.img,xvda1,w',",
      '              ]',
      "name        = 'vm1'",
      "dhcp        = 'dhcp'",
      "vif         = [ 'mac=00:16:3E:67:53:CB' ]",
      "on_poweroff = 'destroy'",
      "on_reboot   = 'restart'",
      "on_crash    = 'restart'",
      '',
    ].join('\n');
    const { config, warnings } = parseXl(text, 'vm1.cfg');
    expect(config).toMatchObject({ name: 'vm1', memory: 256, vcpus: 1, on_crash: 'restart', image: { cmdline: 'root=/dev/xvda2 ro elevator=noop' } });
    expect(Object.values(config.devices).map((d) => (d.class === 'vbd' ? d.config.vdev : d.class))).toEqual(['xvda2', 'xvda1', 'vif']);
    expect(warnings.map((w) => `${w.line}:${w.path}`)).toEqual(['12:dhcp']);
  });

  it('still refuses a quoted value that is not a whole number, naming key and value', () => {
    const e = errorOf(() => parseXl(`${HEAD}memory = '256M'\n`));
    expect(e.message).toContain('memory');
    expect(e.message).toContain('256M');
  });

  it("reads xm's SXP tap/tap2 device classes as vbds, and folds (ip ...) into the command line as xend did", () => {
    const { config } = parseSxp("(vm (name t) (bootloader /usr/lib/xen/bin/pygrub) (bootloader_args -q) (image (linux (kernel '') (ip dhcp) (root /dev/xvda1) (args quiet))) (device (tap (uname tap:aio:/x.img) (dev xvda) (mode w))) (device (tap2 (uname tap2:vhd:/y.vhd) (dev xvdb) (mode r))))");
    expect(config.image.cmdline).toBe('ip=dhcp root=/dev/xvda1 quiet');
    expect(Object.values(config.devices).map((d) => d.config)).toMatchObject([
      { target: '/x.img', vdev: 'xvda', format: 'raw', backendtype: 'qdisk', access: 'w' },
      { target: '/y.vhd', vdev: 'xvdb', format: 'vhd', backendtype: 'qdisk', access: 'r' },
    ]);
  });
});

describe('byte-order mark', () => {
  it('parseConfig ignores a leading UTF-8 BOM in every format', () => {
    const c = parseXl(`${HEAD}memory = 64\n`).config;
    for (const text of [`${HEAD}memory = 64\n`, toSxp(c), JSON.stringify(c)]) expect(parseConfig(`\ufeff${text}`).config.memory).toBe(64);
  });
});

describe('per-class schema exports', () => {
  it('are the schemas DEVICE_CONFIG_SCHEMAS maps each class to', async () => {
    const m = await import('../../src/config/index.js');
    expect(m.DEVICE_CONFIG_SCHEMAS).toEqual({ vbd: m.vbdSchema, vif: m.vifSchema, vfb: m.vfbSchema, vkbd: m.vkbdSchema, vtpm: m.vtpmSchema, console: m.consoleSchema });
  });
});

describe('device problems speak the file language', () => {
  it('xl names the list item (vif[1].mac), SXP the (device ...) — not the internal uuid', () => {
    const e = errorOf(() => parseXl(`${HEAD}vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3e:00:00:01' ]\n`, 'l.cfg'));
    expect(e.message).toBe('l.cfg:3:34: vif[1].mac: duplicate mac "00:16:3e:00:00:01" (also at vif[0].mac)');
    expect(e.problems[0]?.path).toMatch(/^\$\.devices\["[0-9a-f-]{36}"\]\.config\.mac$/);
    const s = errorOf(() => parseSxp('(vm (name s) (image (linux (kernel /k))) (device (vbd (uname phy:/a) (dev hde) (mode w))))'));
    expect(s.message).toContain('(device (vbd ...)) #1.vdev: "hde" is not a valid virtual device');
  });
});
