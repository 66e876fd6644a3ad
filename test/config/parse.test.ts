import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  orderedDeviceRefs,
  parseConfig,
  parseDeviceSpec,
  parseSxp,
  parseXl,
  toSxp,
  toXl,
  validateConfig,
  type XendConfig,
} from '../../src/config/index.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.line ?? ''}:${p.col ?? ''} ${p.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const PV = `
# a small PV guest
name = "web1"
uuid = "6f1f1ab4-3b7e-4d2a-9e0d-6a2f4c9b1e10"
memory = 512
maxmem = 1024
vcpus = 2
kernel = "/boot/vmlinuz"
extra = "console=hvc0"
root = "/dev/xvda1 ro"
disk = [ 'phy:/dev/vg0/web1,xvda,w',
         'file:/srv/data.img,xvdb,r',   # trailing comment
       ]
vif = [ 'mac=00:16:3E:12:34:56,bridge=xenbr1', '' ]
vfb = [ 'type=vnc,vnclisten=0.0.0.0,vncpasswd=s3cret' ]
on_crash = "preserve"
`;

describe('xl.cfg / xm files', () => {
  it('parses an xm-style PV config into the model, folding root and extra into cmdline', () => {
    const { config } = parseXl(PV, 'web1.cfg');
    expect(config).toMatchObject({ name: 'web1', memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 2, type: 'pv', on_crash: 'preserve', on_reboot: 'restart' });
    expect(config.image.cmdline).toBe('root=/dev/xvda1 ro console=hvc0');
    const classes = Object.values(config.devices).map((d) => d.class);
    expect(classes).toEqual(['vbd', 'vbd', 'vif', 'vif', 'vkbd', 'vfb']);
    const disks = Object.values(config.devices).filter((d) => d.class === 'vbd').map((d) => d.config);
    expect(disks[0]).toMatchObject({ target: '/dev/vg0/web1', vdev: 'xvda', access: 'w', format: 'raw' });
    expect(disks[1]).toMatchObject({ target: '/srv/data.img', vdev: 'xvdb', access: 'r' });
    const vifs = Object.values(config.devices).filter((d) => d.class === 'vif').map((d) => d.config) as { mac: string; bridge: string }[];
    expect(vifs[0]).toMatchObject({ mac: '00:16:3e:12:34:56', bridge: 'xenbr1' });
    expect(vifs[1]!.mac).toMatch(/^00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2}$/);
    expect(config.vbd_refs).toHaveLength(2);
    expect(config.vif_refs).toHaveLength(2);
  });

  it('orders vkbd before vfb (changeset 14926), then console, vbd, vif, vtpm', () => {
    const { config } = parseXl(PV);
    const order = orderedDeviceRefs(config).map((u) => config.devices[u]!.class);
    expect(order).toEqual(['vkbd', 'vbd', 'vbd', 'vif', 'vif', 'vfb']);
    expect(order.indexOf('vkbd')).toBeLessThan(order.indexOf('vfb'));
  });

  it('reads the xl key=value disk form, cdroms and target= swallowing commas', () => {
    expect(parseDeviceSpec('vbd', 'format=qcow2, vdev=xvdc, access=ro, target=/img/a,b.qcow2').config).toMatchObject({ format: 'qcow2', vdev: 'xvdc', access: 'r', target: '/img/a,b.qcow2' });
    expect(parseDeviceSpec('vbd', '/root/image.iso,,hdc,cdrom').config).toMatchObject({ vdev: 'hdc', devtype: 'cdrom', access: 'r', target: '/root/image.iso' });
    expect(parseDeviceSpec('vbd', ',hdc:cdrom,r').config).toMatchObject({ vdev: 'hdc', devtype: 'cdrom', format: 'empty', target: '' });
    expect(parseDeviceSpec('vbd', 'tap:aio:/srv/x.img,xvda,w').config).toMatchObject({ target: '/srv/x.img', vdev: 'xvda', backendtype: 'qdisk' });
  });

  it('gives syntax errors with file:line:col', () => {
    const p = problemsOf(() => parseXl('name = "a"\nmemory = 12\nvcpus = (2)\n', 'bad.cfg'));
    expect(p[0]).toMatch(/^3:9 unexpected character "\(".*Python/);
    const err = (() => {
      try {
        parseXl('name = "a\n', 'x.cfg');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    // The first problem is the syntax error; the rules still run on what parsed (no kernel).
    expect(err?.message.split('\n')[0]).toBe('x.cfg:1:8: unterminated string');
    expect(err?.code).toBe('TSX_ERR_CONFIG_SYNTAX');
  });

  it('names the key and the value of a semantic error, with the line it was written on', () => {
    const p = problemsOf(() => parseXl('name = "a"\nkernel = "/k"\nmemory = 512\nmaxmem = 256\n', 'm.cfg'));
    expect(p).toEqual(['4:1 $.maxmem: must be at least memory (512 MiB), got 256']);
    expect(problemsOf(() => parseXl('name = "a/b"\nkernel = "/k"\n'))[0]).toContain("must not contain '/'");
    expect(problemsOf(() => parseXl('name = " a"\nkernel = "/k"\n'))[0]).toContain('spaces');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\nmemory = 0\n'))[0]).toContain('$.memory');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\non_crash = "explode"\n'))[0]).toContain('$.on_crash');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\nvif = ["mac=01:16:3e:00:00:01"]\n'))[0]).toContain('multicast');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\nvif = ["mac=00:16:3e:00:00:01", "mac=00:16:3E:00:00:01"]\n'))[0]).toContain('duplicate mac');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\ndisk = ["/a,xvda,w", "/b,d0p0,w"]\n'))[0]).toContain('duplicate vdev');
    expect(problemsOf(() => parseXl('name = "a"\nkernel = "/k"\nvif = ["mac=00:16:3e:zz:00:01"]\n'))[0]).toMatch(/^3:8 vif\[0\]/);
  });

  it('warns about unknown and unsupported keys instead of dropping them silently', () => {
    const { warnings } = parseXl('name = "a"\nkernel = "/k"\nfrobnicate = 1\npci = ["00:1.0"]\n', 'w.cfg');
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toEqual(['3:1 unknown key frobnicate is ignored', '4:1 pci is not supported by tsxend yet and is ignored']);
  });

  it('handles += , nested-list errors, octal and hex numbers', () => {
    const { config } = parseXl('name = "a"\nkernel = "/k"\ncmdline = "x"\ncmdline += " y"\nmemory = 0x100\nvcpus = 010\n');
    expect(config.image.cmdline).toBe('x y');
    expect(config.memory).toBe(256);
    expect(config.vcpus).toBe(8);
  });

  for (const name of ['xlexample.pvlinux', 'xlexample.pvhlinux', 'xlexample.hvm']) {
    it(`parses Debian's ${name}`, () => {
      const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
      const { config } = parseXl(text, name);
      expect(config.name.length).toBeGreaterThan(0);
      expect(config.memory).toBeGreaterThan(0);
    });
  }
});

describe('SXP', () => {
  const SXP = `(vm (name web1) (memory 512) (maxmem 1024) (vcpus 2)
    (on_poweroff destroy) (on_reboot restart) (on_crash restart)
    (image (linux (kernel /boot/vmlinuz) (args 'console=hvc0 quiet')))
    (device (vbd (uname phy:/dev/vg0/web1) (dev xvda) (mode w)))
    (device (vif (bridge xenbr0) (mac 00:16:3e:12:34:56)))
    (device (vkbd))
    (device (vfb (vnc 1) (vnclisten 0.0.0.0))))`;

  it("parses xend's (vm ...) form", () => {
    const { config } = parseSxp(SXP, 'web1.sxp');
    expect(config).toMatchObject({ name: 'web1', memory: 512, maxmem: 1024, vcpus: 2, image: { kernel: '/boot/vmlinuz', cmdline: 'console=hvc0 quiet' } });
    expect(Object.values(config.devices).map((d) => d.class)).toEqual(['vbd', 'vif', 'vkbd', 'vfb']);
  });

  it('round-trips through SXP and through xl to the same model', () => {
    const { config } = parseSxp(SXP);
    expect(parseSxp(toSxp(config)).config).toEqual(config);
    const viaXl = parseXl(toXl(config)).config;
    expect(stripDeviceIds(viaXl)).toEqual(stripDeviceIds(config));
  });

  it('quotes as xend did: bare words stay bare, others are quoted', () => {
    const { config } = parseSxp(SXP);
    const text = toSxp(config);
    expect(text).toContain('(args \'console=hvc0 quiet\')');
    expect(text).toContain('(kernel /boot/vmlinuz)');
  });

  it('reports an unclosed list with its position', () => {
    // Both lists are open at the end of the file: each is named where it opens.
    expect(problemsOf(() => parseSxp('(vm (name a)\n  (memory 1', 'u.sxp')).slice(0, 2)).toEqual(["1:1 unclosed '(': missing ')'", "2:3 unclosed '(': missing ')'"]);
  });
});

describe('JSON and format detection', () => {
  it('validates a JSON model, filling defaults, and rejects unknown keys with their JSON path', () => {
    const c = validateConfig({ name: 'j', image: { kernel: '/k' } });
    expect(c).toMatchObject({ memory: 32, maxmem: 32, vcpus: 1, type: 'pv', on_poweroff: 'destroy' });
    expect(problemsOf(() => validateConfig({ name: 'j', image: { kernel: '/k' }, colour: 'blue' }))[0]).toContain('unknown key(s) ["colour"]');
    const { config } = parseConfig(JSON.stringify(c));
    expect(config).toEqual(c);
  });
});

/** xl files carry no device uuids: compare devices in creation order instead. */
function stripDeviceIds(c: XendConfig): unknown {
  return { ...c, devices: orderedDeviceRefs(c).map((u) => c.devices[u]), console_refs: c.console_refs.length, vbd_refs: c.vbd_refs.length, vif_refs: c.vif_refs.length, vtpm_refs: c.vtpm_refs.length };
}
