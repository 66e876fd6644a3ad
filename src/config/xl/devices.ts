// The xl/xm device mini-grammars (reference xenstore.md §6.3–6.4, xend.md §2.3): one spec
// string → one device config of the model (defaults are filled later by the validator).

import { ConfigError } from '../errors.js';
import type { ConsoleConfig, DeviceClass, VbdConfig, VfbConfig, VifConfig, VkbdConfig, VtpmConfig } from '../model.js';

type Partial<T> = { -readonly [K in keyof T]?: T[K] };

export class SpecError extends Error {}

const FORMATS = new Set(['raw', 'qcow', 'qcow2', 'vhd', 'qed', 'empty']);
const ACCESS: Record<string, 'r' | 'w'> = { r: 'r', ro: 'r', rw: 'w', w: 'w', 'w!': 'w' };
const BACKENDTYPES = new Set(['phy', 'qdisk', 'tap', 'standalone']);

/** DISK_SPEC: positional target,format,vdev,access; key=value; deprecated prefixes; flags. */
export function parseDisk(spec: string): Partial<VbdConfig> {
  const out: Partial<VbdConfig> = {};
  const positional: ('target' | 'format' | 'vdev' | 'access')[] = ['target', 'format', 'vdev', 'access'];
  let deprecated = false;
  let rest = spec;
  while (rest.length > 0 || positional.length === 4) {
    let token: string;
    const trimmed = rest.replace(/^[ \t]+/, '');
    if (trimmed.startsWith('target=')) {
      // target= swallows the rest of the string, commas included.
      out.target = trimmed.slice('target='.length);
      rest = '';
      break;
    }
    const comma = trimmed.indexOf(',');
    token = comma === -1 ? trimmed : trimmed.slice(0, comma);
    rest = comma === -1 ? '' : trimmed.slice(comma + 1);
    const kv = /^([a-z_-]+)=(.*)$/.exec(token);
    if (kv) {
      const [, k, v] = kv as unknown as [string, string, string];
      switch (k) {
        case 'format':
          if (v !== '' && !FORMATS.has(v)) throw new SpecError(`unknown disk format ${JSON.stringify(v)}`);
          out.format = (v || 'raw') as VbdConfig['format'];
          break;
        case 'vdev':
          out.vdev = v;
          break;
        case 'access':
          if (v !== '' && !(v in ACCESS)) throw new SpecError(`unknown access ${JSON.stringify(v)} (r, ro, rw, w)`);
          out.access = ACCESS[v || 'rw']!;
          break;
        case 'devtype':
          if (v !== 'cdrom' && v !== 'disk') throw new SpecError(`unknown devtype ${JSON.stringify(v)} (disk, cdrom)`);
          out.devtype = v;
          break;
        case 'backend':
          out.backend = v;
          break;
        case 'backendtype':
          if (!BACKENDTYPES.has(v)) throw new SpecError(`unknown backendtype ${JSON.stringify(v)}`);
          out.backendtype = v as VbdConfig['backendtype'];
          break;
        case 'script':
          out.script = v;
          break;
        default:
          throw new SpecError(`unknown disk parameter ${JSON.stringify(k)}`);
      }
      continue;
    }
    if (token === 'cdrom') {
      out.devtype = 'cdrom';
      continue;
    }
    if (token === 'discard' || token === 'no-discard') {
      out.discard = token === 'discard';
      continue;
    }
    if (token === 'direct-io-safe') {
      out.directIoSafe = true;
      continue;
    }
    // Deprecated prefixes: phy:, file:, tap:aio:, raw:, qcow2:, ...
    let m;
    while ((m = /^([a-z][a-z0-9]*):(?=.)/.exec(token)) && positional[0] === 'target') {
      const pre = m[1]!;
      if (['raw', 'qcow', 'qcow2', 'vhd'].includes(pre)) out.format = pre as VbdConfig['format'];
      else if (['iscsi', 'nbd', 'enbd', 'drbd'].includes(pre)) out.script = `block-${pre}`;
      else if (!['tapdisk', 'tap', 'tap2', 'aio', 'ioemu', 'file', 'phy'].includes(pre)) throw new SpecError(`unknown deprecated disk prefix ${JSON.stringify(pre)}`);
      if (pre === 'tap' || pre === 'tap2' || pre === 'tapdisk') out.backendtype = 'qdisk';
      deprecated = true;
      token = token.slice(m[0].length);
    }
    const slot = positional.shift();
    if (!slot) throw new SpecError('too many positional parameters');
    if (token === '') {
      if (rest === '' && slot !== 'target') break;
      continue;
    }
    if (slot === 'target') out.target = token;
    else if (slot === 'format') {
      if (deprecated || !FORMATS.has(token)) {
        // xm's positional form is target,vdev,mode: a token that is not a format is the vdev.
        positional.shift();
        assignVdev(out, token);
      } else out.format = token as VbdConfig['format'];
    } else if (slot === 'vdev') assignVdev(out, token);
    else {
      if (!(token in ACCESS)) throw new SpecError(`unknown access ${JSON.stringify(token)} (r, ro, rw, w)`);
      out.access = ACCESS[token]!;
    }
    if (rest === '') break;
  }
  if (out.vdev === undefined) throw new SpecError('missing vdev');
  if (out.devtype === 'cdrom') {
    out.access = 'r';
    if (!out.target) out.format = 'empty';
  }
  return out;
}

function assignVdev(out: Partial<VbdConfig>, token: string): void {
  const m = /^(?:ioemu:)?([^:]+)(?::(cdrom|disk))?$/.exec(token);
  if (!m) throw new SpecError(`bad vdev ${JSON.stringify(token)}`);
  out.vdev = m[1]!;
  if (m[2]) out.devtype = m[2] as 'cdrom' | 'disk';
}

/** `key=value,...` pairs (vif, vfb, vkb, vtpm, channel); blanks around keys are trimmed. */
function pairs(spec: string): [string, string][] {
  return spec
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => {
      const eq = t.indexOf('=');
      return eq === -1 ? [t, ''] : [t.slice(0, eq).trim(), t.slice(eq + 1).trim()];
    });
}

function int(v: string, key: string): number {
  if (!/^\d+$/.test(v)) throw new SpecError(`${key}: ${JSON.stringify(v)} is not a number`);
  return Number(v);
}

function bool(v: string): boolean {
  return v !== '0' && v !== '' && v !== 'false' && v !== 'no';
}

export function parseVif(spec: string, warn: (m: string) => void): Partial<VifConfig> {
  const out: Partial<VifConfig> = {};
  for (const [k, v] of pairs(spec)) {
    switch (k) {
      case 'mac':
        if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(v)) throw new SpecError(`mac: ${JSON.stringify(v)} is not a MAC address`);
        out.mac = v.split(':').map((b) => b.toLowerCase().padStart(2, '0')).join(':');
        break;
      case 'bridge':
        out.bridge = v;
        break;
      case 'ip':
        out.ip = v;
        break;
      case 'script':
        out.script = v;
        break;
      case 'backend':
        out.backend = v;
        break;
      case 'vifname':
        out.vifname = v;
        break;
      case 'model':
        out.model = v;
        break;
      case 'type':
        if (v !== 'vif' && v !== 'ioemu') throw new SpecError(`type: ${JSON.stringify(v)} (vif, ioemu)`);
        out.type = v;
        break;
      case 'rate':
        out.rate = v;
        break;
      case 'mtu':
        out.mtu = int(v, 'mtu');
        break;
      case 'devid':
        out.devid = int(v, 'devid');
        break;
      case 'gatewaydev':
      case 'netdev':
        out.gatewaydev = v;
        break;
      case 'accel':
        break;
      default:
        warn(`unrecognized vif argument ${JSON.stringify(k)} ignored`);
    }
  }
  return out;
}

export function parseVfb(spec: string, warn: (m: string) => void): Partial<VfbConfig> {
  const out: Partial<VfbConfig> = {};
  for (const [k, v] of pairs(spec)) {
    switch (k) {
      case 'vnc':
        out.vnc = bool(v);
        break;
      case 'sdl':
        out.sdl = bool(v);
        break;
      case 'type':
        // xm's legacy type=vnc|sdl
        if (v === 'vnc') out.vnc = true;
        else if (v === 'sdl') {
          out.sdl = true;
          out.vnc = false;
        } else throw new SpecError(`type: ${JSON.stringify(v)} (vnc, sdl)`);
        break;
      case 'vnclisten':
        out.vnclisten = v;
        break;
      case 'vncdisplay':
        out.vncdisplay = int(v, 'vncdisplay');
        break;
      case 'vncunused':
        out.vncunused = bool(v);
        break;
      case 'vncpasswd':
        out.vncpasswd = v;
        break;
      case 'display':
        out.display = v;
        break;
      case 'xauthority':
        out.xauthority = v;
        break;
      case 'keymap':
        out.keymap = v;
        break;
      case 'opengl':
        out.opengl = bool(v);
        break;
      case 'backend':
        out.backend = v;
        break;
      default:
        warn(`unknown vfb key ${JSON.stringify(k)} ignored`);
    }
  }
  return out;
}

const VKB_FLAGS: Record<string, keyof VkbdConfig> = {
  'feature-disable-keyboard': 'featureDisableKeyboard',
  'feature-disable-pointer': 'featureDisablePointer',
  'feature-abs-pointer': 'featureAbsPointer',
  'feature-raw-pointer': 'featureRawPointer',
};

export function parseVkb(spec: string, warn: (m: string) => void): Partial<VkbdConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of pairs(spec)) {
    if (k === 'backend') out.backend = v;
    else if (k === 'backend-type') {
      if (v !== 'qemu' && v !== 'linux') throw new SpecError(`backend-type: ${JSON.stringify(v)} (qemu, linux)`);
      out.backendType = v;
    } else if (k === 'unique-id') out.uniqueId = v;
    else if (k === 'width') out.width = int(v, k);
    else if (k === 'height') out.height = int(v, k);
    else if (VKB_FLAGS[k]) out[VKB_FLAGS[k]] = bool(v);
    else warn(`unknown vkb key ${JSON.stringify(k)} ignored`);
  }
  return out;
}

export function parseVtpm(spec: string): Partial<VtpmConfig> {
  const out: Partial<VtpmConfig> = {};
  for (const [k, v] of pairs(spec)) {
    if (k === 'backend') out.backend = v;
    else if (k === 'uuid') out.tpmUuid = v.toLowerCase();
    else throw new SpecError(`unknown vtpm key ${JSON.stringify(k)}`);
  }
  if (out.backend === undefined) throw new SpecError('vtpm needs backend=<domain>');
  return out;
}

export function parseChannel(spec: string, warn: (m: string) => void): Partial<ConsoleConfig> {
  const out: Partial<ConsoleConfig> = {};
  for (const [k, v] of pairs(spec)) {
    if (k === 'backend') out.backend = v;
    else if (k === 'name') out.name = v;
    else if (k === 'connection') {
      if (v !== 'pty' && v !== 'socket') throw new SpecError(`connection: ${JSON.stringify(v)} (pty, socket)`);
      out.connection = v;
    } else if (k === 'path') out.path = v;
    else warn(`unknown channel key ${JSON.stringify(k)} ignored`);
  }
  if (!out.name) throw new SpecError('a channel needs name=');
  if (out.connection === 'socket' && !out.path) throw new SpecError('a socket channel needs path=');
  return out;
}

export function parseSpec(cls: DeviceClass, spec: string, warn: (m: string) => void): Record<string, unknown> {
  switch (cls) {
    case 'vbd':
      return parseDisk(spec);
    case 'vif':
      return parseVif(spec, warn);
    case 'vfb':
      return parseVfb(spec, warn);
    case 'vkbd':
      return parseVkb(spec, warn);
    case 'vtpm':
      return parseVtpm(spec);
    case 'console':
      return parseChannel(spec, warn);
  }
}

export function specError(err: unknown, where: { file?: string; line?: number; col?: number; path: string }): ConfigError {
  return new ConfigError('invalid', [{ ...where, message: `${where.path}: ${(err as Error).message}` }]);
}
