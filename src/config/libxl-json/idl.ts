// Facts about libxl's JSON domain config (Xen 4.17, tools/libs/light/libxl_types.idl and the
// generated _libxl_types_json.c): how the enums are spelled and which fields of each struct
// tsxend does not map, with the values that mean "nothing asked for". Written from the IDL, not
// copied from it.
//
// libxl writes an enum as its value name in lower case and reads it case-insensitively; a
// defbool as "True", "False" or "<default>"; a keyed union as `"<key>.<member>": {...}` (for
// b_info `"type.pv"`, for a channel `"connection.pty"`); a bitmap as the list of its set bits;
// a MAC and a UUID as their usual strings. It leaves out every field still at its default.

import type { GuestType, RestartAction } from '../model.js';
import type { JNode } from './jsontext.js';

/** libxl_action_on_shutdown ↔ the model (xl.cfg spelling). `soft_reset` has no model value. */
export const ACTIONS: Record<string, RestartAction> = {
  destroy: 'destroy',
  restart: 'restart',
  restart_rename: 'rename-restart',
  preserve: 'preserve',
  coredump_destroy: 'coredump-destroy',
  coredump_restart: 'coredump-restart',
};
export const ACTION_VALUES = [...Object.keys(ACTIONS), 'soft_reset'];

export const DOMAIN_TYPES: Record<string, GuestType | undefined> = { hvm: 'hvm', pv: 'pv', pvh: 'pvh', invalid: undefined };
export const DISK_FORMATS = ['unknown', 'qcow', 'qcow2', 'vhd', 'raw', 'empty', 'qed'];
export const DISK_BACKENDS = ['unknown', 'phy', 'tap', 'qdisk', 'standalone'];
/** libxl_nic_type ↔ the model's vif `type`. */
export const NIC_TYPES: Record<string, 'vif' | 'ioemu' | undefined> = { unknown: undefined, vif_ioemu: 'ioemu', vif: 'vif' };
export const VKB_BACKENDS: Record<string, 'qemu' | 'linux' | undefined> = { unknown: undefined, qemu: 'qemu', linux: 'linux' };
export const CHANNEL_CONNECTIONS = ['unknown', 'pty', 'socket'];

export const DEFBOOL = { true: 'True', false: 'False', default: '<default>' } as const;

/** A field tsxend does not map: is this value one that asks for nothing? (else: a warning) */
export interface Ignored {
  neutral: (n: JNode) => boolean;
  /** The xl.cfg key the field comes from, for the warning (the admin knows that name). */
  xl?: string;
}

/** Absent in effect: null, "", 0, false, [], {}, "<default>". */
export function isEmpty(n: JNode): boolean {
  switch (n.kind) {
    case 'null':
      return true;
    case 'string':
      return n.value === '' || n.value === DEFBOOL.default;
    case 'number':
      return Number(n.text) === 0;
    case 'bool':
      return !n.value;
    case 'array':
      return n.items.length === 0;
    case 'object':
      return n.entries.length === 0;
  }
}

const any: Ignored = { neutral: () => true };
const empty = (xl?: string): Ignored => ({ neutral: isEmpty, ...(xl !== undefined ? { xl } : {}) });
/** Empty, or one of these values (strings compared as libxl does, without case). */
const emptyOr = (values: string[], xl?: string): Ignored => ({
  neutral: (n) => isEmpty(n) || (n.kind === 'string' && values.some((v) => v.toLowerCase() === n.value.toLowerCase())) || (n.kind === 'number' && values.includes(n.text)),
  ...(xl !== undefined ? { xl } : {}),
});
/** An object whose every field is neutral by `rules` (unknown fields are not). */
const objectOf = (rules: Record<string, Ignored>, xl?: string): Ignored => ({
  neutral: (n) => isEmpty(n) || (n.kind === 'object' && n.entries.every((e) => Object.hasOwn(rules, e.key) && rules[e.key]!.neutral(e.value))),
  ...(xl !== undefined ? { xl } : {}),
});
// LIBXL_MAX_GRANT_DEFAULT as a uint32 and as an int: "let Xen decide".
const GRANT_DEFAULT = ['4294967295', '-1'];
// The scheduler fields' *_DEFAULT values are all negative. A save image carries what the
// hypervisor reports (libxl_retrieve_domain_configuration reads them back): the pool's
// scheduler, and for credit/credit2 Xen's defaults, weight 256 and cap 0.
const negative = (n: JNode) => n.kind === 'number' && Number(n.text) < 0;
const schedDefault: Ignored = { neutral: (n) => isEmpty(n) || negative(n) };
const schedOf = (xenDefault: string): Ignored => ({ neutral: (n) => isEmpty(n) || negative(n) || (n.kind === 'number' && n.text === xenDefault) });

// Fields that libxl or xl fill in by themselves (from the host, xl.conf, or the domain's own
// values) are `any`: tsxend derives its own and nothing the guest's owner asked for is lost.
export const IGNORED_C_INFO: Record<string, Ignored> = {
  hap: any,
  oos: any,
  ssidref: any,
  ssid_label: empty('seclabel'),
  domid: any,
  xsdata: empty(),
  platformdata: empty(),
  poolid: empty('pool'),
  pool_name: emptyOr(['Pool-0'], 'pool'),
  run_hotplug_scripts: emptyOr(['True']),
  driver_domain: emptyOr(['False'], 'driver_domain'),
  passthrough: emptyOr(['default', 'disabled'], 'passthrough'),
  xend_suspend_evtchn_compat: any,
};

export const IGNORED_B_INFO: Record<string, Ignored> = {
  nodemap: any,
  vcpu_soft_affinity: empty('cpus_soft'),
  numa_placement: any,
  tsc_mode: emptyOr(['default'], 'tsc_mode'),
  video_memkb: any,
  shadow_memkb: any,
  iommu_memkb: any,
  rtc_timeoffset: empty('rtc_timeoffset'),
  exec_ssidref: any,
  exec_ssid_label: empty('seclabel'),
  localtime: emptyOr(['False'], 'localtime'),
  disable_migrate: emptyOr(['False'], 'nomigrate'),
  cpuid: empty('cpuid'),
  blkdev_start: any,
  vnuma_nodes: empty('vnuma'),
  max_grant_frames: emptyOr(GRANT_DEFAULT, 'max_grant_frames'),
  max_maptrack_frames: emptyOr(GRANT_DEFAULT, 'max_maptrack_frames'),
  max_grant_version: emptyOr(GRANT_DEFAULT, 'max_grant_version'),
  device_model_version: any,
  device_model_stubdomain: emptyOr(['False'], 'device_model_stubdomain_override'),
  stubdomain_memkb: any,
  stubdomain_kernel: empty('stubdomain_kernel'),
  stubdomain_cmdline: empty('stubdomain_cmdline'),
  stubdomain_ramdisk: empty('stubdomain_ramdisk'),
  device_model: empty('device_model_override'),
  device_model_ssidref: any,
  device_model_ssid_label: empty('device_model_stubdomain_seclabel'),
  device_model_user: empty('device_model_user'),
  extra: empty('device_model_args'),
  extra_pv: empty('device_model_args_pv'),
  extra_hvm: empty('device_model_args_hvm'),
  sched_params: objectOf({ sched: any, weight: schedOf('256'), cap: schedOf('0'), period: schedDefault, budget: schedDefault, extratime: schedDefault, slice: schedDefault, latency: schedDefault }, 'cpu_weight, cap'),
  ioports: empty('ioports'),
  irqs: empty('irqs'),
  iomem: empty('iomem'),
  claim_mode: any,
  event_channels: emptyOr(['1023'], 'max_event_channels'),
  device_tree: empty('device_tree'),
  acpi: any,
  timer_mode: any,
  nested_hvm: emptyOr(['False'], 'nestedhvm'),
  apic: any,
  dm_restrict: emptyOr(['False'], 'dm_restrict'),
  tee: emptyOr(['none'], 'tee'),
  // tsxend runs x86 guests; the ARM fields do not apply to them.
  arch_arm: any,
  arch_x86: objectOf({ msr_relaxed: emptyOr(['False']) }, 'msr_relaxed'),
  altp2m: emptyOr(['disabled'], 'altp2m'),
  vmtrace_buf_kb: empty('vmtrace_buf_kb'),
  vpmu: emptyOr(['False'], 'vpmu'),
  // The deprecated whole-domain affinity; read only when vcpu_hard_affinity is absent.
  cpumap: empty('cpus'),
};

export const IGNORED_TYPE_PV: Record<string, Ignored> = {
  slack_memkb: any,
  features: any,
  e820_host: emptyOr(['False'], 'e820_host'),
};

export const IGNORED_TYPE_PVH: Record<string, Ignored> = {
  pvshim: emptyOr(['False'], 'pvshim'),
  pvshim_path: empty('pvshim_path'),
  pvshim_cmdline: empty('pvshim_cmdline'),
  pvshim_extra: empty('pvshim_extra'),
};

export const IGNORED_DISK: Record<string, Ignored> = {
  removable: any,
  specification: emptyOr(['xen', 'unknown'], 'specification'),
  transport: emptyOr(['unknown'], 'transport'),
  irq: any,
  base: any,
  colo_enable: emptyOr(['False'], 'colo'),
  colo_restore_enable: emptyOr(['False'], 'colo'),
  colo_host: empty('colo-host'),
  colo_port: empty('colo-port'),
  colo_export: empty('colo-export'),
  active_disk: empty('active-disk'),
  hidden_disk: empty('hidden-disk'),
  trusted: any,
};

const COLO_NIC_FIELDS = [
  'coloft_forwarddev',
  ...['mirror', 'compare_pri_in', 'compare_sec_in', 'compare_notify', 'redirector0', 'redirector1', 'redirector2', 'sec_redirector0', 'sec_redirector1'].flatMap((s) => ['id', 'ip', 'port'].map((x) => `colo_sock_${s}_${x}`)),
  'colo_filter_mirror_queue', 'colo_filter_mirror_outdev',
  ...['redirector0', 'redirector1', 'sec_redirector0', 'sec_redirector1'].flatMap((s) => ['queue', 'indev', 'outdev'].map((x) => `colo_filter_${s}_${x}`)),
  'colo_filter_sec_rewriter0_queue', 'colo_compare_pri_in', 'colo_compare_sec_in', 'colo_compare_out', 'colo_compare_notify_dev',
  'colo_checkpoint_host', 'colo_checkpoint_port',
];

export const IGNORED_NIC: Record<string, Ignored> = {
  ...Object.fromEntries(COLO_NIC_FIELDS.map((f) => [f, empty('colo')])),
  trusted: any,
};

export const IGNORED_VKB: Record<string, Ignored> = {
  feature_multi_touch: empty('multi-touch'),
  multi_touch_width: empty('multi-touch-width'),
  multi_touch_height: empty('multi-touch-height'),
  multi_touch_num_contacts: empty('multi-touch-num-contacts'),
};

/** domain_config's device lists tsxend has no class for, and the two actions it has no key for. */
export const IGNORED_DOMAIN: Record<string, Ignored> = {
  pcidevs: empty('pci'),
  rdms: empty('rdm'),
  dtdevs: empty('dtdev'),
  p9s: empty('p9'),
  pvcallsifs: empty('pvcalls'),
  vdispls: empty('vdispl'),
  vsnds: empty('vsnd'),
  usbctrls: empty('usbctrl'),
  usbdevs: empty('usbdev'),
  on_watchdog: emptyOr(['destroy'], 'on_watchdog'),
  // xl's default for on_soft_reset is soft_reset: it is in every config xl writes.
  on_soft_reset: emptyOr(['soft_reset'], 'on_soft_reset'),
};
