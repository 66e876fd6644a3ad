// libxl's JSON domain config (what `xl save` puts in its image header, what `xl create -d`
// prints) → the model. Every problem is named by its libxl JSON path with line:col; all of them
// are reported at once, the model's own rules included (their paths translated back to libxl's).

import { randomUUID } from 'node:crypto';
import { ConfigError, sortProblems, type ConfigProblem, type ConfigWarning } from '../errors.js';
import type { DeviceClass, DeviceEntry, XendConfig } from '../model.js';
import { DEVICE_CONFIG_SCHEMAS } from '../schema.js';
import { checkConfig } from '../validate.js';
import { deviceUuid } from '../xl/index.js';
import {
  ACTION_VALUES,
  ACTIONS,
  CHANNEL_CONNECTIONS,
  DISK_BACKENDS,
  DISK_FORMATS,
  DOMAIN_TYPES,
  IGNORED_B_INFO,
  IGNORED_C_INFO,
  IGNORED_DISK,
  IGNORED_DOMAIN,
  IGNORED_NIC,
  IGNORED_TYPE_PV,
  IGNORED_TYPE_PVH,
  IGNORED_VKB,
  isEmpty,
  NIC_TYPES,
  VKB_BACKENDS,
} from './idl.js';
import { JsonSyntaxError, parseJsonText, type Pos } from './jsontext.js';
import { Fields, readBitmap, Report } from './reader.js';
import { bitsToCpuList, formatRate } from './values.js';

export interface LibxlParseResult {
  config: XendConfig;
  warnings: ConfigWarning[];
}

type Obj = Record<string, unknown>;

/** Model path → where libxl's text said it, so the model's rules speak in libxl's paths. */
class Origins {
  readonly map = new Map<string, { path: string; pos: Pos }>();
  set(modelPath: string, f: Fields, key: string): void {
    this.map.set(modelPath, { path: f.pathOf(key), pos: f.posOf(key) });
  }
  /** For a struct that is missing or not an object: its fields' rules land on its path. */
  setMissing(modelPaths: readonly string[], libxlPath: string, pos: Pos): void {
    for (const m of modelPaths) this.map.set(m, { path: `${libxlPath}.${m.slice(2)}`, pos });
  }
  setObject(modelPath: string, f: Fields): void {
    this.map.set(modelPath, { path: f.path, pos: f.node });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const MEMKB_DEFAULT = 2n ** 64n - 1n; // LIBXL_MEMKB_DEFAULT: "not set"

export function parseLibxlJson(text: string, file?: string): LibxlParseResult {
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const report = new Report(file);
  let root;
  try {
    root = parseJsonText(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    throw new ConfigError('syntax', [{ ...(file !== undefined ? { file } : {}), line: err.line, col: err.col, path: '$', message: `invalid JSON: ${err.message}` }]);
  }
  if (root.kind !== 'object') {
    report.error('$', root, 'a libxl domain config is a JSON object ({"c_info": ..., "b_info": ..., ...})');
    throw new ConfigError('invalid', report.problems);
  }
  const top = new Fields(root, '$', report);
  const origins = new Origins();
  const model: Obj = {};

  const typeFromCInfo = readCreateInfo(top, model, origins, report);
  readBuildInfo(top, model, origins, report, typeFromCInfo);
  for (const key of ['on_poweroff', 'on_reboot', 'on_crash'] as const) {
    const v = top.enumOf(key, ACTION_VALUES);
    origins.set(`$.${key}`, top, key);
    if (v === 'soft_reset') report.error(top.pathOf(key), top.posOf(key), 'soft_reset is not supported by tsxend (xl: soft-reset)');
    // Absent means libxl's initial value, destroy (libxl leaves defaults out), not xl's default.
    else model[key] = v === undefined ? 'destroy' : ACTIONS[v];
  }
  model['devices'] = readDevices(top, typeof model['uuid'] === 'string' ? model['uuid'] : undefined, origins, report);
  top.finish(IGNORED_DOMAIN);

  const devices = model['devices'] as Record<string, DeviceEntry>;
  const checked = checkConfig(model, file !== undefined ? { file } : {});
  // A rule about a value the reader already refused would report the same mistake twice; so
  // would "missing required key" on a device one of whose fields was refused.
  const refused = report.problems.map((p) => p.path ?? '$');
  const under = (path: string | undefined, r: string) => path === r || path?.startsWith(`${r}.`) === true || path?.startsWith(`${r}[`) === true;
  const rules = checked.problems
    .filter((p) => ownBranch(p, devices))
    .map((p) => translate(p, origins, root))
    .filter((p) => !refused.some((r) => under(p.path, r) || (p.message.includes('missing required') && under(r, p.path ?? '$'))));
  const all = [...report.problems, ...rules];
  if (all.length > 0 || checked.config === undefined) throw new ConfigError('invalid', sortProblems(all));
  return { config: checked.config, warnings: sortProblems(report.warnings) };
}

/**
 * The schema checks a device against every class's branch; the reader sets the class, so only
 * its own branch speaks (not "class must be vif", nor a vif's missing keys on a disk).
 */
function ownBranch(p: ConfigProblem, devices: Record<string, DeviceEntry>): boolean {
  const m = /^\$\.devices\["([^"]+)"\]\.(class|config)$/.exec(p.path ?? '');
  if (!m) return true;
  if (m[2] === 'class') return false;
  const missing = /missing required key\(s\) (\[.*?\])/.exec(p.message);
  const cls = devices[m[1]!]?.class;
  if (!missing || cls === undefined) return true;
  const required: readonly string[] = DEVICE_CONFIG_SCHEMAS[cls].required ?? [];
  return (JSON.parse(missing[1]!) as string[]).every((k) => required.includes(k));
}

/** A validator problem (model paths) → the same problem in libxl's paths, placed in the text. */
function translate(p: ConfigProblem, origins: Origins, root: Pos): ConfigProblem {
  const keys = [...origins.map.keys()].sort((a, b) => b.length - a.length);
  const path = p.path ?? '$';
  const key = keys.find((k) => path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`));
  let message = p.message;
  for (const k of keys) if (message.includes(k)) message = message.split(k).join(origins.map.get(k)!.path);
  if (key === undefined) return { ...p, message, line: root.line, col: root.col };
  const o = origins.map.get(key)!;
  return { ...p, path: o.path + path.slice(key.length), line: o.pos.line, col: o.pos.col, message };
}

function readCreateInfo(top: Fields, model: Obj, origins: Origins, report: Report): string | undefined {
  const c = top.obj('c_info');
  if (c === undefined) {
    if (!top.has('c_info')) report.error('$.c_info', top.node, "missing: the domain's name and type are there");
    origins.setMissing(['$.name', '$.uuid', '$.type'], '$.c_info', top.node);
    model['name'] = 'unnamed';
    return undefined;
  }
  origins.set('$.type', c, 'type');
  origins.set('$.name', c, 'name');
  origins.set('$.uuid', c, 'uuid');
  const type = c.enumOf('type', Object.keys(DOMAIN_TYPES));
  if (type === 'invalid') report.error(c.pathOf('type'), c.posOf('type'), 'a domain type must be pv, pvh or hvm');
  const name = c.str('name');
  if (name === undefined && !c.has('name')) report.error(c.pathOf('name'), c.node, 'a domain name must be specified');
  model['name'] = name ?? 'unnamed';
  const uuid = c.str('uuid');
  if (uuid !== undefined) {
    if (!UUID.test(uuid)) report.error(c.pathOf('uuid'), c.posOf('uuid'), `${JSON.stringify(uuid)} is not a UUID`);
    // The nil UUID is libxl's "not set": a new one is made, as libxl does.
    else if (uuid !== NIL_UUID) model['uuid'] = uuid.toLowerCase();
  }
  c.finish(IGNORED_C_INFO);
  return type;
}

/** MemKB (uint64; the all-ones value means "not set") → MiB, warning when not whole. */
function memMiB(b: Fields, key: string, report: Report, round: 'down' | 'up'): number | undefined {
  const n = b.get(key);
  if (n === undefined) return undefined;
  if (n.kind !== 'number' || !/^\d+$/.test(n.text)) {
    report.error(b.pathOf(key), n, `expected an integer (KiB), got ${n.kind === 'number' ? n.text : `a ${n.kind}`}`);
    return undefined;
  }
  const kib = BigInt(n.text);
  if (kib === MEMKB_DEFAULT) return undefined;
  if (kib > MEMKB_DEFAULT) {
    report.error(b.pathOf(key), n, `${n.text} is out of range`);
    return undefined;
  }
  const mib = round === 'down' ? kib / 1024n : (kib + 1023n) / 1024n;
  if (kib % 1024n !== 0n) report.warn(b.pathOf(key), n, `${n.text} KiB is not a whole number of MiB; read as ${mib} MiB`);
  // Out of the model's range: left for its rule to report, in MiB.
  return mib > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(mib);
}

function readBuildInfo(top: Fields, model: Obj, origins: Origins, report: Report, cType: string | undefined): void {
  const b = top.obj('b_info');
  const image: Obj = {};
  model['image'] = image;
  if (cType !== undefined && cType !== 'invalid') model['type'] = DOMAIN_TYPES[cType];
  if (b === undefined) {
    // libxl refuses a config without one: its domain type would be "invalid".
    if (!top.has('b_info')) report.error('$.b_info', top.node, 'missing: memory, vcpus and the kernel are there');
    origins.setMissing(['$.maxvcpus', '$.vcpus', '$.memory', '$.maxmem', '$.cpus', '$.image', '$.bootloader', '$.bootloader_args'], '$.b_info', top.node);
    return;
  }
  for (const [m, k] of [['maxvcpus', 'max_vcpus'], ['vcpus', 'avail_vcpus'], ['memory', 'target_memkb'], ['maxmem', 'max_memkb'], ['cpus', 'vcpu_hard_affinity'], ['image.kernel', 'kernel'], ['image.ramdisk', 'ramdisk'], ['image.cmdline', 'cmdline'], ['bootloader', 'bootloader'], ['bootloader_args', 'bootloader_args']] as const) {
    origins.set(`$.${m}`, b, k);
  }
  origins.setObject('$.image', b);

  // vcpus: libxl brings up the bits of avail_vcpus (vcpu 0 alone when it is empty), and the
  // model the first `vcpus` of `maxvcpus`.
  const maxVcpus = b.int('max_vcpus', 0, 4096);
  model['maxvcpus'] = maxVcpus === undefined || maxVcpus === 0 ? 1 : maxVcpus;
  const avail = b.bitmap('avail_vcpus');
  if (avail !== undefined) {
    const online = [...new Set(avail)].sort((x, y) => x - y);
    if (online.some((v, i) => v !== i)) report.error(b.pathOf('avail_vcpus'), b.posOf('avail_vcpus'), `tsxend brings up vcpus 0 to n-1; this config has [${online.join(', ')}]`);
    else model['vcpus'] = Math.max(online.length, 1);
  } else model['vcpus'] = 1;

  // Memory: libxl's own defaults when left out (max 32 MiB, target = max).
  const maxmem = memMiB(b, 'max_memkb', report, 'up') ?? 32;
  model['maxmem'] = maxmem;
  model['memory'] = memMiB(b, 'target_memkb', report, 'down') ?? maxmem;

  readAffinity(b, model, report);

  // The keyed union: at most one "type.<member>", agreeing with c_info.type.
  const members = ['hvm', 'pv', 'pvh', 'invalid'].filter((m) => b.has(`type.${m}`));
  for (const extra of members.slice(1)) report.error(b.pathOf(`type.${extra}`), b.posOf(`type.${extra}`), `only one of "type.hvm", "type.pv", "type.pvh" may be given (also "type.${members[0]}")`);
  for (const m of members) b.get(`type.${m}`); // read here, whichever is kept
  const member = members[0];
  if (member !== undefined) {
    const key = `type.${member}`;
    if (member === 'invalid') report.error(b.pathOf(key), b.posOf(key), 'a domain type must be pv, pvh or hvm');
    else if (cType === undefined) model['type'] = member;
    else if (cType !== member) report.error(b.pathOf(key), b.posOf(key), `does not match c_info.type ${JSON.stringify(cType)}`);
  } else if (cType === undefined && top.has('c_info')) report.error('$.c_info.type', top.obj('c_info')?.node ?? top.node, 'a domain type must be given (pv, pvh, hvm)');

  const deprecated = member === 'pv' ? b.obj('type.pv') : undefined;
  // The image: b_info's own fields; type.pv's are their deprecated places (libxl refuses both).
  const pick = <T>(key: string, read: (f: Fields) => T | undefined): T | undefined => {
    const now = read(b);
    const old = deprecated?.has(key) ? read(deprecated) : undefined;
    if (now !== undefined && old !== undefined) report.error(deprecated!.pathOf(key), deprecated!.posOf(key), `also set as b_info.${key}; libxl refuses both (the type.pv place is deprecated)`);
    if (now === undefined && old !== undefined) origins.set(key === 'bootloader' || key === 'bootloader_args' ? `$.${key}` : `$.image.${key}`, deprecated!, key);
    return now ?? old;
  };
  for (const key of ['kernel', 'ramdisk', 'cmdline'] as const) {
    const v = pick(key, (f) => f.str(key));
    if (v !== undefined) image[key] = v;
  }
  const bootloader = pick('bootloader', (f) => f.str('bootloader'));
  if (bootloader !== undefined) model['bootloader'] = bootloader;
  const bargs = pick('bootloader_args', (f) => f.strList('bootloader_args'));
  if (bargs !== undefined) model['bootloader_args'] = bargs;
  deprecated?.finish(IGNORED_TYPE_PV);
  if (member === 'pvh') b.obj('type.pvh')?.finish(IGNORED_TYPE_PVH);
  if (member === 'hvm') {
    const hvm = b.get('type.hvm')!;
    if (!isEmpty(hvm)) report.warn(b.pathOf('type.hvm'), hvm, 'HVM settings (firmware, boot, serial, the emulated display, ...) are not supported by tsxend yet and ignored');
  }
  b.finish(IGNORED_B_INFO);
}

/**
 * Hard affinity, one bitmap per vcpu → xl's `cpus`: one string when every vcpu has the same map
 * (xl's string form), else a list. xl writes numa_placement "False" for its list form only,
 * which tells the two forms apart when a list happens to repeat one map.
 */
function readAffinity(b: Fields, model: Obj, report: Report): void {
  const n = b.get('vcpu_hard_affinity');
  const numa = b.get('numa_placement');
  const listForm = numa?.kind === 'string' && numa.value === 'False';
  if (n !== undefined && n.kind !== 'null') {
    if (n.kind !== 'array') {
      report.error(b.pathOf('vcpu_hard_affinity'), n, 'expected a list of CPU lists (one per vcpu)');
      return;
    }
    const maps = n.items.map((it, i) => readBitmap(it, `${b.pathOf('vcpu_hard_affinity')}[${i}]`, report));
    if (maps.length === 0 || maps.some((m) => m === undefined)) return;
    const lists = (maps as number[][]).map(bitsToCpuList);
    model['cpus'] = !listForm && lists.length === model['maxvcpus'] && lists.every((l) => l === lists[0]) ? lists[0] : lists;
    return;
  }
  // The deprecated whole-domain map counts only when no per-vcpu maps are given (as libxl).
  const cpumap = b.has('cpumap') ? b.bitmap('cpumap') : undefined;
  if (cpumap !== undefined && cpumap.length > 0) model['cpus'] = bitsToCpuList(cpumap);
}

function readBackend(f: Fields, config: Obj, base: string, origins: Origins): void {
  const name = f.str('backend_domname');
  const id = f.int('backend_domid', 0, 0xffffffff);
  // A name is what the admin wrote (xl puts `backend=` there); libxl adds the id it resolved.
  if (name !== undefined && name !== '') {
    config['backend'] = name;
    origins.set(`${base}.backend`, f, 'backend_domname');
  } else if (id !== undefined) {
    config['backend'] = String(id);
    origins.set(`${base}.backend`, f, 'backend_domid');
  }
  const devid = f.int('devid', -1, 0x7fffffff);
  if (devid !== undefined && devid >= 0) config['devid'] = devid;
  origins.set(`${base}.devid`, f, 'devid');
}

function setIf(config: Obj, key: string, v: unknown): void {
  if (v !== undefined) config[key] = v;
}

function readDisk(f: Fields, config: Obj, base: string, origins: Origins): void {
  const map = { vdev: 'vdev', target: 'pdev_path', format: 'format', access: 'readwrite', devtype: 'is_cdrom', backendtype: 'backend', script: 'script', discard: 'discard_enable', directIoSafe: 'direct_io_safe' };
  for (const [m, k] of Object.entries(map)) origins.set(`${base}.${m}`, f, k);
  setIf(config, 'vdev', f.str('vdev'));
  config['target'] = f.str('pdev_path') ?? '';
  const backend = f.enumOf('backend', DISK_BACKENDS);
  if (backend !== undefined && backend !== 'unknown') config['backendtype'] = backend;
  const format = f.enumOf('format', DISK_FORMATS);
  if (format !== undefined && format !== 'unknown') config['format'] = format;
  setIf(config, 'script', f.str('script'));
  // libxl leaves 0 out: an absent readwrite is a read-only disk.
  config['access'] = (f.int('readwrite', -0x80000000, 0x7fffffff) ?? 0) !== 0 ? 'w' : 'r';
  config['devtype'] = (f.int('is_cdrom', -0x80000000, 0x7fffffff) ?? 0) !== 0 ? 'cdrom' : 'disk';
  setIf(config, 'directIoSafe', f.bool('direct_io_safe'));
  setIf(config, 'discard', f.defbool('discard_enable'));
  f.finish(IGNORED_DISK);
}

function readNic(f: Fields, config: Obj, base: string, origins: Origins, report: Report): void {
  const map = { mac: 'mac', bridge: 'bridge', script: 'script', ip: 'ip', vifname: 'ifname', model: 'model', type: 'nictype', rate: 'rate_bytes_per_interval', mtu: 'mtu', gatewaydev: 'gatewaydev' };
  for (const [m, k] of Object.entries(map)) origins.set(`${base}.${m}`, f, k);
  const mac = f.str('mac');
  if (mac !== undefined) {
    if (!MAC.test(mac)) report.error(f.pathOf('mac'), f.posOf('mac'), `${JSON.stringify(mac)} is not a MAC address`);
    // All zero is libxl's "not set": one is generated, as libxl would.
    else if (mac !== '00:00:00:00:00:00') config['mac'] = mac.toLowerCase();
  }
  for (const [m, k] of [['bridge', 'bridge'], ['script', 'script'], ['ip', 'ip'], ['vifname', 'ifname'], ['model', 'model'], ['gatewaydev', 'gatewaydev']] as const) setIf(config, m, f.str(k));
  const nictype = f.enumOf('nictype', Object.keys(NIC_TYPES));
  if (nictype !== undefined) setIf(config, 'type', NIC_TYPES[nictype]);
  const mtu = f.int('mtu', 0, 65535);
  if (mtu !== undefined && mtu !== 0) config['mtu'] = mtu;
  const bytes = f.int('rate_bytes_per_interval', 0, Number.MAX_SAFE_INTEGER);
  const usecs = f.int('rate_interval_usecs', 0, 0xffffffff);
  // libxl applies a rate only with an interval (and leaves 0 bytes, a tiny xl rate, out).
  if (usecs !== undefined && usecs > 0) {
    const rate = formatRate({ bytesPerInterval: bytes ?? 0, intervalUsecs: usecs });
    config['rate'] = rate.text;
    if (!rate.exact) report.warn(f.pathOf('rate_bytes_per_interval'), f.posOf('rate_bytes_per_interval'), `${bytes ?? 0} bytes every ${usecs} µs has no exact xl rate; read as ${rate.text}`);
  }
  f.finish(IGNORED_NIC);
}

function readVfb(f: Fields, config: Obj, base: string, origins: Origins): void {
  const vnc = f.obj('vnc');
  const sdl = f.obj('sdl');
  if (vnc) {
    for (const [m, k] of [['vnc', 'enable'], ['vnclisten', 'listen'], ['vncpasswd', 'passwd'], ['vncdisplay', 'display'], ['vncunused', 'findunused']] as const) origins.set(`${base}.${m}`, vnc, k);
    setIf(config, 'vnc', vnc.defbool('enable'));
    setIf(config, 'vnclisten', vnc.str('listen'));
    setIf(config, 'vncpasswd', vnc.str('passwd'));
    setIf(config, 'vncdisplay', vnc.int('display', 0, 65535));
    setIf(config, 'vncunused', vnc.defbool('findunused'));
    vnc.finish({});
  }
  if (sdl) {
    for (const [m, k] of [['sdl', 'enable'], ['opengl', 'opengl'], ['display', 'display'], ['xauthority', 'xauthority']] as const) origins.set(`${base}.${m}`, sdl, k);
    setIf(config, 'sdl', sdl.defbool('enable'));
    setIf(config, 'opengl', sdl.defbool('opengl'));
    setIf(config, 'display', sdl.str('display'));
    setIf(config, 'xauthority', sdl.str('xauthority'));
    sdl.finish({});
  }
  // "a vfb needs vnc or sdl" is about the pair: placed at the vnc object.
  if (vnc) origins.setObject(base, vnc);
  origins.set(`${base}.keymap`, f, 'keymap');
  setIf(config, 'keymap', f.str('keymap'));
  f.finish({});
}

const VKB_FLAGS = { featureDisableKeyboard: 'feature_disable_keyboard', featureDisablePointer: 'feature_disable_pointer', featureAbsPointer: 'feature_abs_pointer', featureRawPointer: 'feature_raw_pointer' } as const;

function readVkb(f: Fields, config: Obj, base: string, origins: Origins): void {
  for (const [m, k] of [['backendType', 'backend_type'], ['uniqueId', 'unique_id'], ['width', 'width'], ['height', 'height'], ...Object.entries(VKB_FLAGS)] as const) origins.set(`${base}.${m}`, f, k);
  const bt = f.enumOf('backend_type', Object.keys(VKB_BACKENDS));
  if (bt !== undefined) setIf(config, 'backendType', VKB_BACKENDS[bt]);
  setIf(config, 'uniqueId', f.str('unique_id'));
  for (const [m, k] of Object.entries(VKB_FLAGS)) setIf(config, m, f.bool(k));
  for (const k of ['width', 'height']) {
    const v = f.int(k, 0, 0xffffffff);
    if (v !== undefined && v !== 0) config[k] = v; // 0: libxl's "not set"
  }
  f.finish(IGNORED_VKB);
}

function readVtpm(f: Fields, config: Obj, base: string, origins: Origins, report: Report): void {
  origins.set(`${base}.tpmUuid`, f, 'uuid');
  const uuid = f.str('uuid');
  if (uuid !== undefined) {
    if (!UUID.test(uuid)) report.error(f.pathOf('uuid'), f.posOf('uuid'), `${JSON.stringify(uuid)} is not a UUID`);
    else if (uuid !== NIL_UUID) config['tpmUuid'] = uuid.toLowerCase();
  }
  f.finish({});
}

function readChannel(f: Fields, config: Obj, base: string, origins: Origins, report: Report): void {
  origins.set(`${base}.name`, f, 'name');
  setIf(config, 'name', f.str('name'));
  const given = CHANNEL_CONNECTIONS.filter((c) => f.has(`connection.${c}`));
  for (const extra of given.slice(1)) report.error(f.pathOf(`connection.${extra}`), f.posOf(`connection.${extra}`), `only one "connection.<kind>" may be given (also "connection.${given[0]}")`);
  for (const c of given) f.get(`connection.${c}`);
  const kind = given[0];
  if (kind === undefined) return f.finish({});
  const key = `connection.${kind}`;
  origins.set(`${base}.connection`, f, key);
  const body = f.obj(key);
  if (kind === 'unknown') report.error(f.pathOf(key), f.posOf(key), 'a channel needs a connection: "connection.pty" or "connection.socket"');
  else config['connection'] = kind;
  if (body && kind === 'socket') {
    origins.set(`${base}.path`, body, 'path');
    setIf(config, 'path', body.str('path'));
  }
  body?.finish({});
  f.finish({});
}

type Reader = (f: Fields, config: Obj, base: string, origins: Origins, report: Report) => void;
const DEVICE_LISTS: [string, DeviceClass, Reader][] = [
  ['disks', 'vbd', readDisk],
  ['nics', 'vif', readNic],
  ['vfbs', 'vfb', readVfb],
  ['vkbs', 'vkbd', readVkb],
  ['vtpms', 'vtpm', readVtpm],
  ['channels', 'console', readChannel],
];

/** libxl's device lists → the model's devices, with xl's stable uuids (none are in the text). */
function readDevices(top: Fields, domainUuid: string | undefined, origins: Origins, report: Report): Record<string, DeviceEntry> {
  const devices: Record<string, DeviceEntry> = {};
  for (const [list, cls, read] of DEVICE_LISTS) {
    top.objects(list).forEach((f, i) => {
      const uuid = domainUuid !== undefined ? deviceUuid(domainUuid, cls, i) : randomUUID();
      const base = `$.devices[${JSON.stringify(uuid)}].config`;
      origins.setObject(base, f);
      origins.setObject(`$.devices[${JSON.stringify(uuid)}]`, f);
      const config: Obj = {};
      readBackend(f, config, base, origins);
      read(f, config, base, origins, report);
      devices[uuid] = { class: cls, config } as unknown as DeviceEntry;
    });
  }
  return devices;
}
