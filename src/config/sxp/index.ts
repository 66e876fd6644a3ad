// xend's SXP domain config ↔ the model: `(vm ...)` / `(domain ...)` with `(image (linux ...))`
// and one `(device (<class> ...))` per device, each carrying its `(uuid ...)` as xend did.

import { randomUUID } from 'node:crypto';
import { ConfigError, sortProblems, type ConfigProblem, type ConfigWarning } from '../errors.js';
import type { DeviceClass, DeviceEntry, XendConfig } from '../model.js';
import { checkConfig } from '../validate.js';
import { parseSxpRecovering, printSxp, type Sxp, type SxpList, type SxpOut } from './sxp.js';

export interface ParseResult {
  config: XendConfig;
  warnings: ConfigWarning[];
}

const TOP_STRING = ['name', 'uuid', 'on_poweroff', 'on_reboot', 'on_crash', 'bootloader', 'description', 'type'] as const;
const TOP_NUMBER = ['memory', 'maxmem', 'vcpus', 'maxvcpus'] as const;
const IGNORED_TOP = new Set(['domid', 'status', 'state', 'store_mfn', 'console_mfn', 'cpu_time', 'online_vcpus', 'start_time', 'vcpu_avail', 'cpu_weight', 'cpu_cap', 'shadow_memory', 'on_xend_start', 'on_xend_stop', 'pool_name', 's3_integrity', 'features', 'localtime', 'platform']);

/** Device keys per class: SXP name → model field (and value kind). */
const DEVICE_KEYS: Record<DeviceClass, Record<string, [string, 'str' | 'num' | 'bool']>> = {
  vbd: { dev: ['vdev', 'str'], format: ['format', 'str'], backendtype: ['backendtype', 'str'], devtype: ['devtype', 'str'], script: ['script', 'str'], bootable: ['bootable', 'bool'], discard: ['discard', 'bool'], 'direct-io-safe': ['directIoSafe', 'bool'], backend: ['backend', 'str'], devid: ['devid', 'num'] },
  vif: { mac: ['mac', 'str'], bridge: ['bridge', 'str'], script: ['script', 'str'], ip: ['ip', 'str'], vifname: ['vifname', 'str'], model: ['model', 'str'], type: ['type', 'str'], rate: ['rate', 'str'], mtu: ['mtu', 'num'], gatewaydev: ['gatewaydev', 'str'], backend: ['backend', 'str'], devid: ['devid', 'num'] },
  vfb: { vnc: ['vnc', 'bool'], sdl: ['sdl', 'bool'], vnclisten: ['vnclisten', 'str'], vncdisplay: ['vncdisplay', 'num'], vncunused: ['vncunused', 'bool'], vncpasswd: ['vncpasswd', 'str'], display: ['display', 'str'], xauthority: ['xauthority', 'str'], keymap: ['keymap', 'str'], opengl: ['opengl', 'bool'], backend: ['backend', 'str'], devid: ['devid', 'num'] },
  vkbd: { backend: ['backend', 'str'], 'backend-type': ['backendType', 'str'], 'unique-id': ['uniqueId', 'str'], 'feature-disable-keyboard': ['featureDisableKeyboard', 'bool'], 'feature-disable-pointer': ['featureDisablePointer', 'bool'], 'feature-abs-pointer': ['featureAbsPointer', 'bool'], 'feature-raw-pointer': ['featureRawPointer', 'bool'], width: ['width', 'num'], height: ['height', 'num'], devid: ['devid', 'num'] },
  vtpm: { backend: ['backend', 'str'], tpm_uuid: ['tpmUuid', 'str'], devid: ['devid', 'num'] },
  console: { name: ['name', 'str'], connection: ['connection', 'str'], path: ['path', 'str'], protocol: ['protocol', 'str'], backend: ['backend', 'str'], devid: ['devid', 'num'] },
};
const CLASSES = new Set(Object.keys(DEVICE_KEYS));

function atom(x: Sxp | undefined): string | undefined {
  return x?.kind === 'atom' ? x.value : undefined;
}

export function parseSxp(text: string, file?: string): ParseResult {
  const warnings: ConfigWarning[] = [];
  const problems: ConfigProblem[] = [];
  const at = (x: { line: number; col: number }, path: string, message: string): ConfigProblem => ({ ...(file !== undefined ? { file } : {}), line: x.line, col: x.col, path, message });
  // What parsed goes on to the model and the validator even after a syntax error, so one run
  // reports every problem.
  const { items: roots, problems: syntax, runaway } = parseSxpRecovering(text, file);
  const root = roots[0];
  if (roots.length !== 1 || root?.kind !== 'list' || !['vm', 'domain'].includes(atom(root.items[0]) ?? '')) {
    throw new ConfigError('syntax', sortProblems([...syntax, at(root ?? { line: 1, col: 1 }, '$', 'an SXP domain config is one (vm ...) or (domain ...) list')]));
  }
  const model: Record<string, unknown> = {};
  const locations = new Map<string, { line: number; col: number }>();
  const labels = new Map<string, string>();
  const devices: Record<string, DeviceEntry> = {};
  const num = (x: Sxp | undefined, key: string): number | undefined => {
    const v = atom(x);
    if (v === undefined || !/^-?\d+$/.test(v)) {
      problems.push(at(x ?? root, key, `${key}: expected a number, got ${v === undefined ? 'a list' : JSON.stringify(v)}`));
      return undefined;
    }
    return Number(v);
  };
  for (const item of root.items.slice(1)) {
    if (item.kind !== 'list' || atom(item.items[0]) === undefined) {
      problems.push(at(item, '$', 'expected (key value) pairs inside (vm ...)'));
      continue;
    }
    const key = atom(item.items[0])!;
    const value = item.items[1];
    locations.set(key, { line: item.line, col: item.col });
    if ((TOP_STRING as readonly string[]).includes(key)) model[key] = atom(value) ?? '';
    else if ((TOP_NUMBER as readonly string[]).includes(key)) {
      const n = num(value, key);
      if (n !== undefined) model[key] = n;
    }
    else if (key === 'bootloader_args') model[key] = item.items.slice(1).map((x) => atom(x) ?? '');
    // (cpus "0-3") pins every vcpu; (cpus ("2" "3")) pins vcpu i to entry i, as xl's list form.
    else if (key === 'cpus') model[key] = value?.kind === 'list' ? value.items.map((x) => atom(x) ?? '') : (atom(value) ?? '');
    else if (key === 'image') parseImage(value, model, (x, m) => warnings.push(at(x, 'image', m)));
    else if (key === 'device') {
      const dev = value;
      // xm wrote tap:/tap2: disks as their own classes; they are block devices all the same.
      const written = atom(dev?.kind === 'list' ? dev.items[0] : undefined);
      const cls = written === 'tap' || written === 'tap2' ? 'vbd' : written;
      if (dev?.kind !== 'list' || !cls || !CLASSES.has(cls)) {
        problems.push(at(item, 'device', `device: unknown or missing device class ${JSON.stringify(cls ?? '')}`));
        continue;
      }
      const parsed = parseDevice(cls as DeviceClass, dev, (x, m) => warnings.push(at(x, `device.${cls}`, m)), (x, m) => problems.push(at(x, `device.${cls}`, m)));
      devices[parsed.uuid] = parsed.entry;
      locations.set(parsed.uuid, { line: dev.line, col: dev.col });
      labels.set(parsed.uuid, `(device (${written} ...)) #${labels.size + 1}`);
    } else if (IGNORED_TOP.has(key)) continue;
    else warnings.push(at(item, key, `unknown key ${key} is ignored`));
  }
  model['devices'] = devices;
  if (model['name'] === undefined) {
    if (!locations.has('name')) problems.push(at(root, 'name', 'name: a domain name must be specified'));
    model['name'] = 'unnamed';
  }
  const checked = checkConfig(model, { ...(file !== undefined ? { file } : {}), locations, labels });
  // What a string that ran off swallowed is that one mistake, not more (a kernel cut off).
  const rules = checked.problems.filter((p) => p.line === undefined || !runaway.has(p.line));
  const all = [...syntax, ...problems, ...rules];
  if (all.length > 0 || checked.config === undefined) throw new ConfigError(syntax.length > 0 ? 'syntax' : 'invalid', sortProblems(all));
  return { config: checked.config, warnings };
}

function parseImage(value: Sxp | undefined, model: Record<string, unknown>, warn: (x: Sxp, m: string) => void): void {
  if (value?.kind !== 'list') return;
  const kind = atom(value.items[0]);
  if (kind === 'hvm') model['type'] ??= 'hvm';
  const image: Record<string, string> = {};
  let root: string | undefined;
  let ip: string | undefined;
  let args: string | undefined;
  for (const x of value.items.slice(1)) {
    const k = x.kind === 'list' ? atom(x.items[0]) : undefined;
    const v = x.kind === 'list' ? atom(x.items[1]) : undefined;
    if (k === 'kernel' && v) image['kernel'] = v;
    else if (k === 'ramdisk' && v) image['ramdisk'] = v;
    else if (k === 'args' && v !== undefined) args = v;
    else if (k === 'root' && v !== undefined) root = v;
    else if (k === 'ip' && v !== undefined) ip = v;
    else if (k !== undefined) warn(x, `image key ${k} is not supported by tsxend and is ignored`);
  }
  // xend's image.py builds the command line as ` ip=<ip> root=<root> <args>`.
  const cmdline = [ip !== undefined ? `ip=${ip}` : undefined, root !== undefined ? `root=${root}` : undefined, args].filter((s) => s !== undefined).join(' ');
  if (root !== undefined || ip !== undefined || args !== undefined) image['cmdline'] = cmdline;
  model['image'] = image;
}

function parseDevice(
  cls: DeviceClass,
  dev: SxpList,
  warn: (x: Sxp, m: string) => void,
  fail: (x: Sxp, m: string) => void,
): { uuid: string; entry: DeviceEntry } {
  const config: Record<string, unknown> = {};
  let uuid: string | undefined;
  for (const x of dev.items.slice(1)) {
    const k = x.kind === 'list' ? atom(x.items[0]) : undefined;
    const v = x.kind === 'list' ? (atom(x.items[1]) ?? '') : undefined;
    if (k === undefined || v === undefined) {
      fail(x, `${cls}: expected (key value) pairs`);
      continue;
    }
    if (k === 'uuid') uuid = v.toLowerCase();
    else if (cls === 'vbd' && k === 'uname') Object.assign(config, parseUname(v));
    else if (cls === 'vbd' && k === 'mode') config['access'] = v.startsWith('w') ? 'w' : 'r';
    else if (cls === 'vfb' && k === 'type') config[v === 'sdl' ? 'sdl' : 'vnc'] = true;
    else {
      const spec = DEVICE_KEYS[cls][k];
      if (!spec) {
        warn(x, `${cls} key ${k} is not supported by tsxend and is ignored`);
        continue;
      }
      const [field, kind] = spec;
      config[field] = kind === 'str' ? v : kind === 'num' ? Number(v) : v === '1' || v === 'True' || v === 'true';
    }
  }
  if (cls === 'vbd' && typeof config['vdev'] === 'string') {
    const m = /^(?:ioemu:)?([^:]+)(?::(cdrom|disk))?$/.exec(config['vdev']);
    if (m) {
      config['vdev'] = m[1];
      if (m[2]) config['devtype'] ??= m[2];
    }
    if (config['devtype'] === 'cdrom') config['access'] = 'r';
  }
  return { uuid: uuid ?? randomUUID(), entry: { class: cls, config } as unknown as DeviceEntry };
}

function parseUname(uname: string): Record<string, unknown> {
  if (uname === '') return { target: '', format: 'empty', devtype: 'cdrom' };
  const tap = /^tap2?:(aio|sync|qcow2?|vhd|qed|raw):(.*)$/.exec(uname);
  if (tap) return { backendtype: 'qdisk', format: tap[1] === 'aio' || tap[1] === 'sync' ? 'raw' : tap[1], target: tap[2] };
  const m = /^(phy|file):(.*)$/.exec(uname);
  if (m) return { backendtype: 'phy', target: m[2] };
  return { target: uname };
}

// ---- writing ----------------------------------------------------------------------------------

function deviceSxp(uuid: string, e: DeviceEntry): SxpOut {
  const items: SxpOut[] = [e.class, ['uuid', uuid]];
  const c = e.config as unknown as Record<string, unknown>;
  if (e.class === 'vbd') {
    const v = e.config;
    const uname = v.target === '' ? '' : v.backendtype === 'qdisk' ? `tap:${v.format === 'raw' ? 'aio' : v.format}:${v.target}` : `phy:${v.target}`;
    items.push(['uname', uname], ['dev', v.vdev], ['mode', v.access]);
  }
  for (const [sxpKey, [field, kind]] of Object.entries(DEVICE_KEYS[e.class])) {
    if (e.class === 'vbd' && field === 'vdev') continue;
    const val = c[field];
    if (val === undefined) continue;
    items.push([sxpKey, kind === 'bool' ? (val ? 1 : 0) : kind === 'num' ? (val as number) : (val as string)]);
  }
  return ['device', items];
}

/** Writes the model as xend SXP that parseSxp reads back to the same model (device uuids kept). */
export function toSxp(config: XendConfig): string {
  const vm: SxpOut[] = ['vm', ['name', config.name], ['uuid', config.uuid], ['type', config.type]];
  vm.push(['memory', config.memory], ['maxmem', config.maxmem], ['vcpus', config.vcpus], ['maxvcpus', config.maxvcpus]);
  vm.push(['on_poweroff', config.on_poweroff], ['on_reboot', config.on_reboot], ['on_crash', config.on_crash]);
  if (config.bootloader !== undefined) vm.push(['bootloader', config.bootloader]);
  if (config.bootloader_args !== undefined) vm.push(['bootloader_args', ...config.bootloader_args]);
  if (config.cpus !== undefined) vm.push(['cpus', config.cpus]);
  if (config.description !== undefined) vm.push(['description', config.description]);
  const image: SxpOut[] = [config.type === 'hvm' ? 'hvm' : 'linux'];
  if (config.image.kernel !== undefined) image.push(['kernel', config.image.kernel]);
  if (config.image.ramdisk !== undefined) image.push(['ramdisk', config.image.ramdisk]);
  if (config.image.cmdline !== undefined) image.push(['args', config.image.cmdline]);
  vm.push(['image', image]);
  for (const [uuid, e] of Object.entries(config.devices)) vm.push(deviceSxp(uuid, e));
  return printSxp(vm) + '\n';
}
