// The one validator every format passes through: defaults, then per-field rules (the JSON
// Schema), then whole-config rules (unique devids, vdevs, MACs, vifnames; one root disk; the
// relations between fields). Nothing downstream sees an unvalidated object.

import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { ConfigError, ProblemList, type ConfigProblem } from './errors.js';
import { withDefaults } from './defaults.js';
import type { DeviceEntry, XendConfig } from './model.js';
import { deviceEntrySchema, xendConfigSchema } from './schema.js';
import { vdevToNumber } from './vdev.js';

// The compiled check is ~50x faster than walking the schema; errors are enumerated (slowly, but
// precisely) only when it fails. Compiled on first use so importing the layer stays cheap.
let compiled: { Check(value: unknown): boolean } | undefined;
const passes = (model: unknown): boolean => (compiled ??= Compile(xendConfigSchema)).Check(model);

export interface ValidateSource {
  file?: string;
  /** Where each top-level key was written (text formats), for file:line:col in problems. */
  locations?: Map<string, { line: number; col: number }>;
  /** Device uuid → how the file named it (`vif[1]`), so messages speak the file's language. */
  labels?: Map<string, string>;
}

/** Replaces `$.devices["<uuid>"].config` in messages by the device's label where one is known. */
function relabel(problems: ProblemList, labels: Map<string, string> | undefined): void {
  if (!labels || labels.size === 0) return;
  const re = /\$\.devices\["([^"]+)"\]\.config/g;
  problems.problems.forEach((p, i) => {
    problems.problems[i] = { ...p, message: p.message.replace(re, (whole, uuid: string) => labels.get(uuid) ?? whole) };
  });
}

function jsonPath(instancePath: string): string {
  return instancePath === '' ? '$' : '$' + instancePath.split('/').slice(1).map((p) => (/^[A-Za-z_][\w]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
}

function describeSchemaError(e: { keyword: string; message: string; params: Record<string, unknown> }): string {
  if (e.keyword === 'additionalProperties') return `unknown key(s) ${JSON.stringify(e.params['additionalProperties'])}`;
  if (e.keyword === 'required') return `missing required key(s) ${JSON.stringify(e.params['requiredProperties'] ?? e.params)}`;
  return e.message;
}

/** Validates a model (JSON, or what a parser produced) and answers it normalised. */
export function validateConfig(input: unknown, source: ValidateSource = {}): XendConfig {
  const { config, problems } = checkConfig(input, source);
  if (problems.length > 0 || config === undefined) throw new ConfigError('invalid', [...problems]);
  return config;
}

/**
 * Every problem of a model at once: per-field rules (the schema) and whole-config rules (those
 * whose inputs are well-typed), each path reported once. `config` is set when there is none.
 */
export function checkConfig(input: unknown, source: ValidateSource = {}): { config?: XendConfig; problems: readonly ConfigProblem[] } {
  const problems = new ProblemList(source.file);
  const where = (key: string) => {
    const top = key.replace(/^\$\./, '').split(/[.[]/)[0] ?? '';
    // A device problem is placed where that device was written (text formats key it by uuid).
    const device = /^\$\.devices\["([^"]+)"\]/.exec(key)?.[1];
    const loc = (device !== undefined ? source.locations?.get(device) : undefined) ?? source.locations?.get(top);
    return loc ? { path: key, line: loc.line, col: loc.col } : { path: key };
  };
  const model = withDefaults(input);
  if (typeof model !== 'object' || model === null || Array.isArray(model)) {
    problems.add('a domain config must be an object', { path: '$' });
    return { problems: problems.problems };
  }
  const errors = passes(model) ? [] : [...Value.Errors(xendConfigSchema, model)];
  // 'boolean' and 'anyOf' are usually reported more precisely by a sibling error; but with 8 or
  // more unknown keys TypeBox reports each only as 'boolean' (the closed object's `false`): then
  // those are the problems, or the config would slip through unchecked.
  let precise = errors.filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf');
  // A value the defaults derived from a wrong one (maxmem from a negative memory) repeats that
  // mistake: reported only when nothing the input gave is wrong.
  const given = new Set(typeof input === 'object' && input !== null ? Object.keys(input) : []);
  const fromInput = precise.filter((e) => e.instancePath === '' || given.has(e.instancePath.split('/')[1] ?? ''));
  if (fromInput.length > 0) precise = fromInput;
  if (errors.length > 0 && precise.length === 0) {
    for (const e of errors) problems.add(`${jsonPath(e.instancePath)}: ${e.keyword === 'boolean' ? 'unknown key' : describeSchemaError(e)}`, where(jsonPath(e.instancePath)));
  }
  for (const e of precise) {
    const path = jsonPath(e.instancePath);
    const value = e.instancePath === '' ? undefined : Value.Pointer.Get(model, e.instancePath);
    const shown = value === undefined || typeof value === 'object' ? '' : ` (got ${JSON.stringify(value)})`;
    problems.add(`${path}: ${describeSchemaError(e)}${shown}`, where(path));
  }
  // Whole-config rules run too (one run reports everything), but never a second time on a path
  // the schema already refused, and only on parts that are well-typed.
  const refused = new Set(problems.problems.map((p) => p.path));
  const whole = new ProblemList(source.file);
  checkWholeConfig(model, whole, where);
  for (const p of whole.problems) if (!refused.has(p.path)) problems.problems.push(p);
  relabel(problems, source.labels);
  return problems.problems.length > 0 ? { problems: problems.problems } : { config: model as XendConfig, problems: [] };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const C1_CONTROL = /[\u0080-\u009f]/;

const num = (x: unknown): x is number => typeof x === 'number';

function checkWholeConfig(c: Partial<XendConfig>, problems: ProblemList, where: (key: string) => { path: string }): void {
  const add = (key: string, message: string) => problems.add(`${key}: ${message}`, where(key));
  if (typeof c.name === 'string') {
    if (c.name.includes('/')) add('$.name', `must not contain '/' (got ${JSON.stringify(c.name)})`);
    // The API refuses such refs (src/daemon/refs.ts): a domain with this name could not be named.
    if (c.name.includes('\\') || c.name.includes('..') || c.name === '.') add('$.name', `must not contain '\\' or '..' (got ${JSON.stringify(c.name)})`);
    if (C1_CONTROL.test(c.name)) add('$.name', `must not contain control characters (got ${JSON.stringify(c.name)})`);
    if (c.name !== c.name.trim()) add('$.name', `must not start or end with spaces (got ${JSON.stringify(c.name)})`);
    if (CONTROL.test(c.name)) add('$.name', `must not contain control characters (got ${JSON.stringify(c.name)})`);
    if (c.name === 'Domain-0') add('$.name', '"Domain-0" is the control domain');
  }
  if (num(c.maxmem) && num(c.memory) && c.maxmem < c.memory) add('$.maxmem', `must be at least memory (${c.memory} MiB), got ${c.maxmem}`);
  if (num(c.maxvcpus) && num(c.vcpus) && c.maxvcpus < c.vcpus) add('$.maxvcpus', `must be at least vcpus (${c.vcpus}), got ${c.maxvcpus}`);
  if (c.type === 'pv' && typeof c.image === 'object' && c.image !== null && !c.image.kernel && !c.bootloader) add('$.image.kernel', 'a PV guest needs a kernel or a bootloader');

  const seen = new Map<string, string>();
  const unique = (kind: string, value: string, path: string, shown = value) => {
    const k = `${kind}:${value}`;
    const first = seen.get(k);
    if (first) add(path, `duplicate ${kind} ${JSON.stringify(shown)} (also at ${first})`);
    else seen.set(k, path);
  };
  let bootable = 0;
  if (typeof c.devices !== 'object' || c.devices === null) return;
  for (const [uuid, entry] of Object.entries(c.devices)) {
    // A device the schema refused is reported by it; its other rules would only guess.
    if (!Value.Check(deviceEntrySchema, entry)) continue;
    const p = `$.devices[${JSON.stringify(uuid)}].config`;
    checkDevice(entry, p, add, unique);
    if (entry.class === 'vbd' && entry.config.bootable) bootable++;
    if (entry.config.devid !== undefined) unique(`${entry.class} devid`, String(entry.config.devid), `${p}.devid`);
  }
  if (bootable > 1) add('$.devices', `only one disk may be bootable (the root disk); ${bootable} are`);
}

function checkDevice(
  entry: DeviceEntry,
  p: string,
  add: (key: string, message: string) => void,
  unique: (kind: string, value: string, path: string, shown?: string) => void,
): void {
  switch (entry.class) {
    case 'vbd': {
      const num = vdevToNumber(entry.config.vdev);
      if (num === undefined) add(`${p}.vdev`, `${JSON.stringify(entry.config.vdev)} is not a valid virtual device (xvda, hda, sda, d0p1, ...)`);
      // Compared by number (xvda and d0 are one disk), shown as written.
      else unique('vdev', String(num), `${p}.vdev`, entry.config.vdev);
      if (entry.config.target === '' && entry.config.devtype !== 'cdrom') add(`${p}.target`, 'a disk needs a target (only an empty CD-ROM may have none)');
      if (entry.config.devtype === 'cdrom' && entry.config.access === 'w') add(`${p}.access`, 'a CD-ROM is read-only');
      if (entry.config.target !== '' && entry.config.access === 'w') unique('writable target', entry.config.target, `${p}.target`);
      if (CONTROL.test(entry.config.target)) add(`${p}.target`, 'must not contain control characters');
      break;
    }
    case 'vif': {
      const first = parseInt(entry.config.mac.slice(0, 2), 16);
      if (first & 1) add(`${p}.mac`, `${entry.config.mac} is a multicast address`);
      if (entry.config.mac === '00:00:00:00:00:00') add(`${p}.mac`, 'the all-zero MAC is not a unicast address');
      unique('mac', entry.config.mac, `${p}.mac`);
      if (entry.config.vifname !== undefined) unique('vifname', entry.config.vifname, `${p}.vifname`);
      break;
    }
    case 'vfb':
      if (!entry.config.vnc && !entry.config.sdl) add(p, 'a vfb needs vnc or sdl');
      break;
    default:
      break;
  }
}
