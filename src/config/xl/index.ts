// xl.cfg / xm files ↔ the model. The file grammar is in lexer.ts, the device strings in
// devices.ts; this module maps keys to model fields, folds xm's root/extra into cmdline, gives
// every device a stable uuid, and names every unknown or unsupported key in a warning.

import { createHash } from 'node:crypto';
import { ConfigError, sortProblems, type ConfigProblem, type ConfigWarning } from '../errors.js';
import type { DeviceClass, DeviceEntry, XendConfig } from '../model.js';
import { checkConfig } from '../validate.js';
import { parseSpec, SpecError } from './devices.js';
import { parseXlStatements, quoteXl, type XlValue } from './lexer.js';

export interface ParseResult {
  config: XendConfig;
  warnings: ConfigWarning[];
}

/** Keys of xl/xm that tsxend reads. */
const SUPPORTED = new Set([
  'name', 'uuid', 'type', 'builder', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'kernel', 'ramdisk', 'cmdline', 'root',
  'extra', 'bootloader', 'bootloader_args', 'bootargs', 'on_poweroff', 'on_reboot', 'on_crash', 'cpus', 'description',
  'disk', 'vif', 'vfb', 'vkb', 'vtpm', 'channel',
]);

/** Keys xl or xm know that tsxend does not support yet (docs/config.md lists them). */
export const UNSUPPORTED_KEYS = new Set([
  'pci', 'pool', 'cpu_weight', 'cap', 'cpus_soft', 'firmware', 'on_watchdog', 'on_soft_reset', 'seclabel', 'serial', 'boot',
  'vnc', 'vnclisten', 'vncdisplay', 'vncunused', 'vncpasswd', 'sdl', 'opengl', 'keymap', 'videoram', 'stdvga', 'usb',
  'usbdevice', 'acpi', 'apic', 'pae', 'viridian', 'hap', 'device_model_version', 'device_model_override', 'p9', 'pvcalls',
  'vdispl', 'vsnd', 'usbctrl', 'usbdev', 'dtdev', 'virtio', 'rdm', 'max_grant_frames', 'max_maptrack_frames', 'nomigrate',
  'driver_domain', 'localtime', 'rtc_timeoffset', 'shadow_memory', 'tsc_mode', 'nestedhvm', 'hpet', 'timer_mode', 'soundhw',
  'gfx_passthru', 'xen_platform_pci', 'cpuid', 'on_xend_start', 'on_xend_stop', 'ioports', 'irqs', 'iomem', 'vscsi',
  'bootloader_restrict', 'bootloader_user', 'nics',
]);

const CLASS_OF_KEY: Record<string, DeviceClass> = { disk: 'vbd', vif: 'vif', vkb: 'vkbd', vfb: 'vfb', vtpm: 'vtpm', channel: 'console' };

/** Device uuids derived from the domain's uuid, the class and the position: stable across parses. */
export function deviceUuid(domainUuid: string, cls: string, index: number): string {
  const h = createHash('sha1').update(`${domainUuid}/${cls}/${index}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function parseXl(text: string, file?: string): ParseResult {
  // Statements that parsed go on to the model and the validator even when others did not, so
  // one run reports every problem of the file (syntax first, then the rules).
  const { assignments, problems: syntax, brokenKeys } = parseXlStatements(text, file);
  const problems: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  const at = (v: { line: number; col: number }) => ({ ...(file !== undefined ? { file } : {}), line: v.line, col: v.col });
  const values = new Map<string, XlValue>();
  const locations = new Map<string, { line: number; col: number }>();
  for (const a of assignments) {
    const prev = values.get(a.key);
    if (a.op === '+=' && prev) {
      if (prev.kind === 'list' && a.value.kind === 'list') values.set(a.key, { ...prev, items: [...prev.items, ...a.value.items] });
      else if (prev.kind === 'string' && a.value.kind === 'string') values.set(a.key, { ...prev, value: prev.value + a.value.value });
      else problems.push({ ...at(a), path: a.key, message: `${a.key}: can't add ${a.value.kind} to ${prev.kind} with +=` });
      continue;
    }
    if (prev && a.op === '=') warnings.push({ ...at(a), path: a.key, message: `${a.key} is set more than once; the last assignment wins` });
    values.set(a.key, a.value);
    locations.set(a.key, { line: a.line, col: a.col });
  }
  const str = (key: string): string | undefined => {
    const v = values.get(key);
    if (!v) return undefined;
    if (v.kind === 'string') return v.value;
    problems.push({ ...at(v), path: key, message: `${key}: expected a string, got a ${v.kind}` });
    return undefined;
  };
  const num = (key: string): number | undefined => {
    let v = values.get(key);
    if (!v) return undefined;
    // libxlu keeps NUMBER and STRING atoms alike and strtol()s them when read, so xm-era files
    // (xen-tools writes `memory = '256'`) work with xl: a quoted whole number is a number here too.
    if (v.kind === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/.test(v.value)) v = { kind: 'number', text: v.value, line: v.line, col: v.col };
    if (v.kind !== 'number') {
      problems.push({ ...at(v), path: key, message: `${key}: expected a number, got a ${v.kind}${v.kind === 'string' ? ` (${JSON.stringify(v.value)})` : ''}` });
      return undefined;
    }
    const n = v.text.startsWith('0x') ? parseInt(v.text.slice(2), 16) : v.text.length > 1 && v.text.startsWith('0') ? parseInt(v.text, 8) : Number(v.text);
    if (!Number.isSafeInteger(n) || (v.text.startsWith('0x') ? !/^0x[0-9a-f]+$/.test(v.text) : !/^[0-9]+$/.test(v.text)) || (/^0[0-9]/.test(v.text) && /[89]/.test(v.text))) {
      problems.push({ ...at(v), path: key, message: `${key}: ${JSON.stringify(v.text)} is not a valid number` });
      return undefined;
    }
    return n;
  };
  const strList = (key: string): { items: string[]; item: (i: number) => { line: number; col: number } } | undefined => {
    const v = values.get(key);
    if (!v) return undefined;
    if (v.kind === 'string') return { items: [v.value], item: () => v };
    if (v.kind === 'number') {
      problems.push({ ...at(v), path: key, message: `${key}: expected a list` });
      return undefined;
    }
    const items: string[] = [];
    for (const it of v.items) {
      if (it.kind === 'list') {
        problems.push({ ...at(it), path: key, message: `${key}: items must be strings, not nested lists` });
        return undefined;
      }
      items.push(it.kind === 'string' ? it.value : it.text);
    }
    return { items, item: (i) => v.items[i] ?? v };
  };

  for (const key of values.keys()) {
    if (SUPPORTED.has(key)) continue;
    const message = UNSUPPORTED_KEYS.has(key) ? `${key} is not supported by tsxend yet and is ignored` : `unknown key ${key} is ignored`;
    warnings.push({ ...at(locations.get(key)!), path: key, message });
  }

  const model: Record<string, unknown> = {};
  const setIf = (k: string, v: unknown) => {
    if (v !== undefined) model[k] = v;
  };
  setIf('name', str('name'));
  setIf('uuid', str('uuid'));
  const type = str('type');
  const builder = str('builder');
  if (type !== undefined) {
    // xl matches prefixes: "h" → hvm, "p" → pv, "" → hvm.
    const t = ['hvm', 'pv', 'pvh'].find((c) => c.startsWith(type) && (type !== 'p' || c === 'pv')) ?? type;
    model['type'] = t;
  } else if (builder !== undefined) model['type'] = builder === 'hvm' ? 'hvm' : builder === 'generic' || builder === 'linux' ? 'pv' : builder;
  if (type !== undefined && builder !== undefined && (builder === 'hvm') !== (model['type'] === 'hvm')) {
    const v = values.get('builder')!;
    problems.push({ ...at(v), path: 'builder', message: `builder ${JSON.stringify(builder)} contradicts type ${JSON.stringify(type)}` });
  }
  setIf('memory', num('memory'));
  setIf('maxmem', num('maxmem'));
  setIf('vcpus', num('vcpus'));
  setIf('maxvcpus', num('maxvcpus'));
  const image: Record<string, string> = {};
  const kernel = str('kernel');
  const ramdisk = str('ramdisk');
  const cmdline = str('cmdline');
  const root = str('root');
  const extra = str('extra');
  if (kernel !== undefined) image['kernel'] = kernel;
  if (ramdisk !== undefined) image['ramdisk'] = ramdisk;
  if (cmdline !== undefined) {
    image['cmdline'] = cmdline;
    if (root !== undefined || extra !== undefined) warnings.push({ ...at(values.get('cmdline')!), path: 'cmdline', message: 'cmdline is set: root and extra are ignored' });
  } else if (root !== undefined || extra !== undefined) {
    image['cmdline'] = [root !== undefined ? `root=${root}` : undefined, extra].filter((x) => x !== undefined).join(' ');
  }
  model['image'] = image;
  setIf('bootloader', str('bootloader'));
  const bargs = strList('bootloader_args') ?? strList('bootargs');
  if (bargs) model['bootloader_args'] = bargs.items;
  setIf('on_poweroff', str('on_poweroff'));
  setIf('on_reboot', str('on_reboot'));
  setIf('on_crash', str('on_crash'));
  const cpus = values.get('cpus');
  if (cpus?.kind === 'string') model['cpus'] = cpus.value;
  // A list pins vcpu by vcpu (xl's parse_vcpu_affinity), not the union of its entries.
  else if (cpus?.kind === 'list') model['cpus'] = cpus.items.map((i) => (i.kind === 'string' ? i.value : i.kind === 'number' ? i.text : ''));
  setIf('description', str('description'));

  // Devices: in the file's order by key (disk, vif, ...), each vfb bringing its vkb as xl does.
  const domainUuid = typeof model['uuid'] === 'string' ? model['uuid'].toLowerCase() : undefined;
  const devices: Record<string, DeviceEntry> = {};
  const counters = new Map<string, number>();
  const labels = new Map<string, string>();
  const addDevice = (cls: DeviceClass, config: Record<string, unknown>, loc: { line: number; col: number }, label: string) => {
    const n = counters.get(cls) ?? 0;
    counters.set(cls, n + 1);
    const uuid = domainUuid ? deviceUuid(domainUuid, cls, n) : globalThis.crypto.randomUUID();
    devices[uuid] = { class: cls, config } as unknown as DeviceEntry;
    locations.set(uuid, { line: loc.line, col: loc.col });
    labels.set(uuid, label);
  };
  for (const [key, cls] of Object.entries(CLASS_OF_KEY)) {
    const list = strList(key);
    if (!list) continue;
    list.items.forEach((spec, i) => {
      const loc = list.item(i);
      try {
        const config = parseSpec(cls, spec, (m) => warnings.push({ ...at(loc), path: `${key}[${i}]`, message: `${key}[${i}]: ${m}` }));
        // xl: each vfb also creates a vkb — here only when the file has no vkb list of its own,
        // so that written-back configs (which always list their vkbs) read back the same.
        if (cls === 'vfb' && !values.has('vkb')) addDevice('vkbd', {}, loc, `${key}[${i}] (its vkb)`);
        addDevice(cls, config, loc, `${key}[${i}]`);
      } catch (err) {
        if (!(err instanceof SpecError)) throw err;
        problems.push({ ...at(loc), path: `${key}[${i}]`, message: `${key}[${i}] ${JSON.stringify(spec)}: ${err.message}` });
      }
    });
  }
  model['devices'] = devices;
  if (model['name'] === undefined) {
    // A name that failed to parse is reported already; a missing one is reported here. Either
    // way the rest is still checked under a stand-in name.
    if (!values.has('name') && !brokenKeys.has('name')) {
      problems.push({ ...(file !== undefined ? { file } : {}), line: 1, col: 1, path: 'name', message: 'name: a domain name must be specified' });
    }
    model['name'] = 'unnamed';
  }
  const checked = checkConfig(model, { ...(file !== undefined ? { file } : {}), locations, labels });
  // A rule about a key whose statement did not parse (a PV guest without the kernel line that
  // failed) would report the same mistake twice.
  const MODEL_PATH: Record<string, string> = { kernel: 'image.kernel', ramdisk: 'image.ramdisk', cmdline: 'image.cmdline' };
  const broken = [...brokenKeys].map((k) => `$.${MODEL_PATH[k] ?? k}`);
  const rules = checked.problems.filter((p) => !broken.some((b) => p.path === b || p.path?.startsWith(`${b}.`)));
  const all = [...syntax, ...problems, ...rules];
  if (all.length > 0 || checked.config === undefined) throw new ConfigError(syntax.length > 0 ? 'syntax' : 'invalid', sortProblems(all));
  return { config: checked.config, warnings };
}

// ---- writing ----------------------------------------------------------------------------------

function specOf(entry: DeviceEntry): string {
  const kv = (pairs: [string, string | number | boolean | undefined][]) =>
    pairs
      .filter((p): p is [string, string | number | boolean] => p[1] !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 1 : 0) : v}`)
      .join(',');
  switch (entry.class) {
    case 'vbd': {
      const e = entry.config;
      const flags = [e.devtype === 'cdrom' ? 'devtype=cdrom' : undefined, e.discard === true ? 'discard' : e.discard === false ? 'no-discard' : undefined, e.directIoSafe ? 'direct-io-safe' : undefined];
      const head = kv([
        ['format', e.format],
        ['vdev', e.vdev],
        ['access', e.access === 'w' ? 'rw' : 'ro'],
        ['backendtype', e.backendtype],
        ['backend', e.backend === '0' ? undefined : e.backend],
        ['script', e.script],
        ['devid', undefined],
      ]);
      return [head, ...flags.filter((f) => f !== undefined), `target=${e.target}`].join(',');
    }
    case 'vif': {
      const e = entry.config;
      return kv([['mac', e.mac], ['bridge', e.bridge], ['script', e.script], ['ip', e.ip], ['vifname', e.vifname], ['model', e.model], ['type', e.type], ['rate', e.rate], ['mtu', e.mtu], ['gatewaydev', e.gatewaydev], ['backend', e.backend], ['devid', e.devid]]);
    }
    case 'vfb': {
      const e = entry.config;
      return kv([['vnc', e.vnc], ['sdl', e.sdl], ['vnclisten', e.vnclisten], ['vncdisplay', e.vncdisplay], ['vncunused', e.vncunused], ['vncpasswd', e.vncpasswd], ['display', e.display], ['xauthority', e.xauthority], ['keymap', e.keymap], ['opengl', e.opengl], ['backend', e.backend]]);
    }
    case 'vkbd': {
      const e = entry.config;
      return kv([['backend', e.backend], ['backend-type', e.backendType], ['unique-id', e.uniqueId], ['feature-disable-keyboard', e.featureDisableKeyboard], ['feature-disable-pointer', e.featureDisablePointer], ['feature-abs-pointer', e.featureAbsPointer], ['feature-raw-pointer', e.featureRawPointer], ['width', e.width], ['height', e.height]]);
    }
    case 'vtpm':
      return kv([['backend', entry.config.backend], ['uuid', entry.config.tpmUuid]]);
    case 'console':
      return kv([['name', entry.config.name], ['connection', entry.config.connection], ['path', entry.config.path], ['backend', entry.config.backend]]);
  }
}

/** Writes the model as xl.cfg text that parseXl reads back to the same model. */
export function toXl(config: XendConfig): string {
  const lines: string[] = [];
  const put = (k: string, v: string | number) => lines.push(`${k} = ${typeof v === 'number' ? v : quoteXl(v)}`);
  put('name', config.name);
  put('uuid', config.uuid);
  put('type', config.type);
  put('memory', config.memory);
  put('maxmem', config.maxmem);
  put('vcpus', config.vcpus);
  put('maxvcpus', config.maxvcpus);
  if (config.image.kernel !== undefined) put('kernel', config.image.kernel);
  if (config.image.ramdisk !== undefined) put('ramdisk', config.image.ramdisk);
  if (config.image.cmdline !== undefined) put('cmdline', config.image.cmdline);
  if (config.bootloader !== undefined) put('bootloader', config.bootloader);
  if (config.bootloader_args !== undefined) lines.push(`bootloader_args = [ ${config.bootloader_args.map(quoteXl).join(', ')} ]`);
  put('on_poweroff', config.on_poweroff);
  put('on_reboot', config.on_reboot);
  put('on_crash', config.on_crash);
  if (typeof config.cpus === 'string') put('cpus', config.cpus);
  else if (config.cpus !== undefined) lines.push(`cpus = [ ${config.cpus.map(quoteXl).join(', ')} ]`);
  if (config.description !== undefined) put('description', config.description);
  const byKey = new Map<string, string[]>();
  for (const [key, cls] of Object.entries(CLASS_OF_KEY)) {
    for (const e of Object.values(config.devices)) if (e.class === cls) byKey.set(key, [...(byKey.get(key) ?? []), specOf(e)]);
  }
  // A vfb without a `vkb` key brings a vkbd of its own when read back (as in xl): always write
  // the vkb list next to a vfb, even empty, so the devices read back are exactly these.
  if (byKey.has('vfb') && !byKey.has('vkb')) lines.push('vkb = [ ]');
  for (const [key, specs] of byKey) lines.push(`${key} = [`, ...specs.map((s) => `    ${quoteXl(s)},`), ']');
  return lines.join('\n') + '\n';
}
