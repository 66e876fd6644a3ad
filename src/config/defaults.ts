// Defaults as xl/libxl define them (reference xenstore.md §6.2–6.4), filled before validation so
// every format — and a hand-written JSON model — reaches the validator complete.

import { randomBytes, randomUUID } from 'node:crypto';
import type { DeviceClass } from './model.js';

export const DEFAULT_MEMORY_MIB = 32; // libxl's default when `memory` is absent
export const DEFAULT_BRIDGE = 'xenbr0';
export const DEFAULT_VIF_SCRIPT = 'vif-bridge';

export function newDeviceUuid(): string {
  return randomUUID();
}

/** A random MAC in XenSource's OUI 00:16:3e, the 4th byte masked with 0x7f as xl does. */
export function generateMac(): string {
  const b = randomBytes(3);
  return ['00', '16', '3e', (b[0]! & 0x7f).toString(16).padStart(2, '0'), b[1]!.toString(16).padStart(2, '0'), b[2]!.toString(16).padStart(2, '0')].join(':');
}

type Obj = Record<string, unknown>;

const DEVICE_DEFAULTS: Record<DeviceClass, (c: Obj) => Obj> = {
  vbd: (c) => ({
    backend: '0',
    format: c['devtype'] === 'cdrom' && (c['target'] ?? '') === '' ? 'empty' : 'raw',
    access: c['devtype'] === 'cdrom' ? 'r' : 'w',
    devtype: 'disk',
    backendtype: 'phy',
    target: '',
    ...c,
  }),
  vif: (c) => ({ backend: '0', mac: generateMac(), bridge: DEFAULT_BRIDGE, script: DEFAULT_VIF_SCRIPT, type: 'vif', ...c }),
  vfb: (c) => ({ backend: '0', vnc: true, sdl: false, vnclisten: '127.0.0.1', vncunused: true, ...c }),
  vkbd: (c) => ({ backend: '0', backendType: 'qemu', ...c }),
  vtpm: (c) => ({ backend: '0', ...c }),
  console: (c) => ({ backend: '0', connection: 'pty', protocol: 'vt100', ...c }),
};

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fills the defaults of one device config of a known class (unknown classes pass untouched). */
export function withDeviceDefaults(cls: unknown, config: unknown): unknown {
  if (typeof cls !== 'string' || !(cls in DEVICE_DEFAULTS) || !isObj(config)) return config;
  return DEVICE_DEFAULTS[cls as DeviceClass](config);
}

/** Fills top-level and device defaults; leaves anything malformed for the validator to name. */
export function withDefaults(input: unknown): unknown {
  if (!isObj(input)) return input;
  const memory = input['memory'] ?? DEFAULT_MEMORY_MIB;
  const vcpus = input['vcpus'] ?? 1;
  const out: Obj = {
    uuid: randomUUID(),
    type: 'pv',
    memory,
    maxmem: memory,
    vcpus,
    maxvcpus: vcpus,
    image: {},
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {},
    ...input,
  };
  if (typeof out['uuid'] === 'string') out['uuid'] = out['uuid'].toLowerCase();
  const devices = out['devices'];
  if (isObj(devices)) {
    const filled: Obj = {};
    for (const [uuid, entry] of Object.entries(devices)) {
      filled[uuid] = isObj(entry) ? { ...entry, config: withDeviceDefaults(entry['class'], entry['config'] ?? {}) } : entry;
    }
    out['devices'] = filled;
    // The per-class ref lists are derived from `devices` (their order is the devices' order).
    const refs = (cls: string) => Object.entries(filled).filter(([, e]) => isObj(e) && e['class'] === cls).map(([u]) => u);
    out['console_refs'] = refs('console');
    out['vbd_refs'] = refs('vbd');
    out['vif_refs'] = refs('vif');
    out['vtpm_refs'] = refs('vtpm');
  }
  return out;
}
