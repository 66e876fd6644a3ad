// The model → libxl's JSON domain config, in the shape `xl create -d` prints for the same xl.cfg
// (fields in the IDL's order; what the model leaves unset left out, as libxl does; what the
// model fills in with its defaults, like a disk's backend type, written) — the config an image
// header carries for `xl restore`. What libxl has no field for is listed by libxlJsonLosses.

import { ConfigError, type ConfigWarning } from '../errors.js';
import type { DeviceEntry, RestartAction, XendConfig } from '../model.js';
import { orderedDeviceRefs } from '../order.js';
import { ACTIONS, DEFBOOL } from './idl.js';
import { cpuListToBits, parseRate, ValueError } from './values.js';

export interface LibxlEmitOptions {
  /** The host's CPU count: needed only to write `cpus = "all"` (libxl stores the CPUs). */
  hostCpus?: number;
}

type Obj = Record<string, unknown>;

const ACTION_NAME = Object.fromEntries(Object.entries(ACTIONS).map(([libxl, model]) => [model, libxl])) as Record<RestartAction, string>;
const defbool = (v: boolean | undefined) => (v === undefined ? undefined : v ? DEFBOOL.true : DEFBOOL.false);

/** Keys with an undefined value dropped (libxl leaves unset fields out). */
function compact(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A numeric backend is a domid, anything else a domain name; dom0 is libxl's default. */
function backendFields(backend: string): Obj {
  if (backend === '0') return {};
  return /^\d+$/.test(backend) ? { backend_domid: Number(backend) } : { backend_domname: backend };
}

function fail(path: string, message: string): never {
  throw new ConfigError('invalid', [{ path, message: `${path}: ${message}` }]);
}

export function toLibxlJson(config: XendConfig, options: LibxlEmitOptions = {}): string {
  return JSON.stringify(toLibxlObject(config, options), null, 4) + '\n';
}

/** The libxl_domain_config as a plain object (toLibxlJson is its text). */
export function toLibxlObject(config: XendConfig, options: LibxlEmitOptions = {}): Obj {
  const lists: Record<string, Obj[]> = { disks: [], nics: [], vfbs: [], vkbs: [], vtpms: [], channels: [] };
  for (const uuid of orderedDeviceRefs(config)) {
    const entry = config.devices[uuid]!;
    const emitted = device(entry, `$.devices[${JSON.stringify(uuid)}].config`);
    if (emitted) lists[emitted[0]]!.push(emitted[1]);
  }
  const out: Obj = {
    c_info: { type: config.type, name: config.name, uuid: config.uuid, run_hotplug_scripts: DEFBOOL.true },
    b_info: buildInfo(config, options),
  };
  for (const [key, list] of Object.entries(lists)) if (list.length > 0) out[key] = list;
  // xl writes every action but the initial destroy; on_soft_reset is xl's own default.
  for (const key of ['on_poweroff', 'on_reboot', 'on_crash'] as const) if (config[key] !== 'destroy') out[key] = ACTION_NAME[config[key]];
  out['on_soft_reset'] = 'soft_reset';
  return out;
}

function buildInfo(config: XendConfig, options: LibxlEmitOptions): Obj {
  const b: Obj = {
    max_vcpus: config.maxvcpus,
    avail_vcpus: Array.from({ length: config.vcpus }, (_, i) => i),
  };
  if (config.cpus !== undefined) {
    const bits = (list: string, path: string) => {
      try {
        return cpuListToBits(list, options.hostCpus);
      } catch (err) {
        if (err instanceof ValueError) fail(path, err.message);
        throw err;
      }
    };
    // As xl: a string pins every vcpu to the same CPUs; a list pins vcpu i to entry i (entries
    // past maxvcpus are dropped) and turns automatic NUMA placement off.
    if (typeof config.cpus === 'string') {
      const map = bits(config.cpus, '$.cpus');
      b['vcpu_hard_affinity'] = Array.from({ length: config.maxvcpus }, () => map);
    } else {
      b['vcpu_hard_affinity'] = config.cpus.slice(0, config.maxvcpus).map((l, i) => bits(l, `$.cpus[${i}]`));
      b['numa_placement'] = DEFBOOL.false;
    }
  }
  Object.assign(b, {
    max_memkb: config.maxmem * 1024,
    target_memkb: config.memory * 1024,
    sched_params: {},
    kernel: config.image.kernel,
    cmdline: config.image.cmdline,
    ramdisk: config.image.ramdisk,
    bootloader: config.bootloader,
    bootloader_args: config.bootloader_args,
    [`type.${config.type}`]: {},
    arch_arm: {},
    arch_x86: {},
  });
  return compact(b);
}

/** One device → [its libxl list, its libxl object]; undefined for what libxl has no place for. */
function device(entry: DeviceEntry, path: string): [string, Obj] | undefined {
  switch (entry.class) {
    case 'vbd': {
      const c = entry.config;
      const cdrom = c.devtype === 'cdrom';
      return [
        'disks',
        compact({
          ...backendFields(c.backend),
          pdev_path: c.target,
          vdev: c.vdev,
          backend: c.backendtype,
          format: c.format,
          script: c.script,
          removable: cdrom ? 1 : undefined, // xl: a CD-ROM's medium can be changed
          readwrite: c.access === 'w' ? 1 : undefined,
          is_cdrom: cdrom ? 1 : undefined,
          direct_io_safe: c.directIoSafe,
          discard_enable: defbool(c.discard),
        }),
      ];
    }
    case 'vif': {
      const c = entry.config;
      let rate;
      if (c.rate !== undefined) {
        try {
          rate = parseRate(c.rate);
        } catch (err) {
          if (err instanceof ValueError) fail(`${path}.rate`, `${JSON.stringify(c.rate)}: ${err.message}`);
          throw err;
        }
      }
      return [
        'nics',
        compact({
          ...backendFields(c.backend),
          devid: c.devid,
          mtu: c.mtu,
          model: c.model,
          mac: c.mac,
          ip: c.ip,
          bridge: c.bridge,
          ifname: c.vifname,
          script: c.script,
          nictype: c.type === 'ioemu' ? 'vif_ioemu' : 'vif',
          rate_bytes_per_interval: rate?.bytesPerInterval,
          rate_interval_usecs: rate?.intervalUsecs,
          gatewaydev: c.gatewaydev,
        }),
      ];
    }
    case 'vfb': {
      const c = entry.config;
      return [
        'vfbs',
        compact({
          ...backendFields(c.backend),
          devid: c.devid,
          vnc: compact({ enable: defbool(c.vnc), listen: c.vnclisten, passwd: c.vncpasswd, display: c.vncdisplay, findunused: defbool(c.vncunused) }),
          sdl: compact({ enable: defbool(c.sdl), opengl: defbool(c.opengl), display: c.display, xauthority: c.xauthority }),
          keymap: c.keymap,
        }),
      ];
    }
    case 'vkbd': {
      const c = entry.config;
      return [
        'vkbs',
        compact({
          ...backendFields(c.backend),
          devid: c.devid,
          backend_type: c.backendType,
          unique_id: c.uniqueId,
          feature_disable_keyboard: c.featureDisableKeyboard,
          feature_disable_pointer: c.featureDisablePointer,
          feature_abs_pointer: c.featureAbsPointer,
          feature_raw_pointer: c.featureRawPointer,
          width: c.width,
          height: c.height,
        }),
      ];
    }
    case 'vtpm':
      return ['vtpms', compact({ ...backendFields(entry.config.backend), devid: entry.config.devid, uuid: entry.config.tpmUuid })];
    case 'console': {
      const c = entry.config;
      // The primary console is not in a libxl config (libxl always makes it): see the losses.
      if (c.name === undefined) return undefined;
      const connection = c.connection === 'socket' ? { 'connection.socket': compact({ path: c.path }) } : { 'connection.pty': {} };
      return ['channels', compact({ ...backendFields(c.backend), devid: c.devid, name: c.name, ...connection })];
    }
  }
}

/**
 * What toLibxlJson cannot carry, one warning per field (model paths): reading its output back
 * gives the model without these. Device uuids are never carried (libxl has none): the reader
 * derives them from the domain uuid as the xl parser does.
 */
export function libxlJsonLosses(config: XendConfig): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const lost = (path: string, why: string) => out.push({ path, message: `${path}: ${why}` });
  if (config.description !== undefined) lost('$.description', 'libxl has no field for a description; dropped');
  if (Array.isArray(config.cpus) && config.cpus.length > config.maxvcpus) lost('$.cpus', `entries past maxvcpus (${config.maxvcpus}) are dropped, as xl drops them`);
  for (const [uuid, e] of Object.entries(config.devices)) {
    const p = `$.devices[${JSON.stringify(uuid)}].config`;
    if (e.class === 'vbd' && e.config.devid !== undefined) lost(`${p}.devid`, "libxl derives a disk's devid from its vdev; dropped");
    if (e.class === 'vbd' && e.config.bootable !== undefined) lost(`${p}.bootable`, 'libxl has no bootable flag; dropped');
    if (e.class === 'console' && e.config.name === undefined) lost(p, 'the primary console is not part of a libxl config (libxl always makes one); dropped');
    else if (e.class === 'console' && e.config.connection === 'pty' && e.config.path !== undefined) lost(`${p}.path`, 'libxl keeps a path only for a socket channel; dropped');
  }
  return out;
}
