// libxl's device lists (disks, nics, vfbs, vkbs, vtpms, channels) → the model's devices.

import { randomUUID } from 'node:crypto';
import type { DeviceClass, DeviceEntry } from '../model.js';
import { deviceUuid } from '../xl/index.js';
import { CHANNEL_CONNECTIONS, DISK_BACKENDS, DISK_FORMATS, IGNORED_DISK, IGNORED_NIC, IGNORED_VKB, NIC_TYPES, VKB_BACKENDS } from './idl.js';
import type { Origins } from './origins.js';
import type { Fields, Report } from './reader.js';
import { formatRate } from './values.js';

type Obj = Record<string, unknown>;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

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
export function readDevices(top: Fields, domainUuid: string | undefined, origins: Origins, report: Report): Record<string, DeviceEntry> {
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
