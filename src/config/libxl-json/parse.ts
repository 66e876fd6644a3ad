// libxl's JSON domain config (what `xl save` puts in its image header, what `xl create -d`
// prints) → the model. Every problem is named by its libxl JSON path with line:col; all of them
// are reported at once, the model's own rules included (their paths translated back to libxl's).

import { ConfigError, sortProblems, type ConfigProblem, type ConfigWarning } from '../errors.js';
import type { DeviceEntry, XendConfig } from '../model.js';
import { DEVICE_CONFIG_SCHEMAS } from '../schema.js';
import { checkConfig } from '../validate.js';
import { readDevices, NIL_UUID, UUID } from './devices.js';
import { ACTION_VALUES, ACTIONS, DOMAIN_TYPES, IGNORED_B_INFO, IGNORED_C_INFO, IGNORED_DOMAIN, IGNORED_TYPE_PV, IGNORED_TYPE_PVH, isEmpty } from './idl.js';
import { JsonSyntaxError, parseJsonText, type Pos } from './jsontext.js';
import { Origins } from './origins.js';
import { Fields, readBitmap, Report } from './reader.js';
import { bitsToCpuList } from './values.js';

export interface LibxlParseResult {
  config: XendConfig;
  warnings: ConfigWarning[];
}

type Obj = Record<string, unknown>;

const MEMKB_DEFAULT = 2n ** 64n - 1n; // LIBXL_MEMKB_DEFAULT: "not set"

export function parseLibxlJson(text: string, file?: string): LibxlParseResult {
  if (text.startsWith('\ufeff')) text = text.slice(1);
  // xl's image header stores the config with its C string's NUL.
  text = text.replace(/\0+$/, '');
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
  // The model counts memory in MiB, libxl in KiB: say which the numbers are.
  if ((key === '$.memory' || key === '$.maxmem') && /\d/.test(message)) message += ' (MiB; the field is in KiB)';
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
  const rawName = c.get('name');
  const name = c.str('name');
  // Absent or null (libxl's unset string); a wrong type is already reported by str().
  if (rawName === undefined || rawName.kind === 'null') report.error(c.pathOf('name'), c.posOf('name'), 'a domain name must be specified');
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
  if (n.kind !== 'number' || !/^-?\d+$/.test(n.text)) {
    report.error(b.pathOf(key), n, `expected an integer (KiB), got ${n.kind === 'number' ? n.text : `a ${n.kind}`}`);
    return undefined;
  }
  if (n.text.startsWith('-')) {
    report.error(b.pathOf(key), n, `${n.text} is out of range (KiB are counted from 0)`);
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
