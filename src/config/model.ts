// The one typed model of a domain's configuration (xend's XendConfig). Every input format
// (xl.cfg/xm, SXP, JSON, HTTP bodies) parses into this shape and passes through one validator;
// nothing downstream sees an unvalidated object. Field names follow xl.cfg where one exists.
//
// This module is pure: it imports nothing from the rest of tsxend.

export type GuestType = 'pv' | 'pvh' | 'hvm';

export type RestartAction =
  | 'destroy'
  | 'restart'
  | 'preserve'
  | 'rename-restart'
  | 'coredump-destroy'
  | 'coredump-restart';

export type DeviceClass = 'vbd' | 'vif' | 'vfb' | 'vkbd' | 'vtpm' | 'console';

export interface ImageConfig {
  kernel?: string;
  ramdisk?: string;
  /** Kernel command line; xm's `root` and `extra` are folded in here at parse time. */
  cmdline?: string;
}

/** Fields every device config may carry. */
export interface DeviceCommon {
  /** Backend domain: a domid as decimal string or a domain name. Default "0". */
  backend: string;
  /** Explicit device id; when absent the devices layer derives or allocates it. */
  devid?: number;
}

export interface VbdConfig extends DeviceCommon {
  /** Guest device name as written by the user: xvda, hda, sda1, d0p1, or a number. */
  vdev: string;
  /** Backing path; "" only for an empty CD-ROM. */
  target: string;
  format: 'raw' | 'qcow' | 'qcow2' | 'vhd' | 'qed' | 'empty';
  access: 'r' | 'w';
  devtype: 'disk' | 'cdrom';
  backendtype: 'phy' | 'qdisk' | 'tap' | 'standalone';
  /** Hotplug script name or absolute path (default `block`). */
  script?: string;
  bootable?: boolean;
  discard?: boolean;
  directIoSafe?: boolean;
}

export interface VifConfig extends DeviceCommon {
  /** Lower-case xx:xx:xx:xx:xx:xx; generated (Xen OUI 00:16:3e) at parse time when absent. */
  mac: string;
  bridge: string;
  /** Hotplug script name or absolute path (default `vif-bridge`). */
  script: string;
  ip?: string;
  vifname?: string;
  model?: string;
  type: 'vif' | 'ioemu';
  /** xl rate syntax as given, e.g. `10Mb/s@20ms`. */
  rate?: string;
  mtu?: number;
  gatewaydev?: string;
}

export interface VfbConfig extends DeviceCommon {
  vnc: boolean;
  sdl: boolean;
  vnclisten: string;
  vncdisplay?: number;
  vncunused: boolean;
  /** Secret: never written to a node the guest can read, never logged. */
  vncpasswd?: string;
  display?: string;
  xauthority?: string;
  keymap?: string;
  opengl?: boolean;
}

export interface VkbdConfig extends DeviceCommon {
  backendType: 'qemu' | 'linux';
  uniqueId?: string;
  featureDisableKeyboard?: boolean;
  featureDisablePointer?: boolean;
  featureAbsPointer?: boolean;
  featureRawPointer?: boolean;
  width?: number;
  height?: number;
}

export interface VtpmConfig extends DeviceCommon {
  /** The vTPM's own UUID (xl `uuid=`); distinct from the device entry's uuid. */
  tpmUuid?: string;
}

export interface ConsoleConfig extends DeviceCommon {
  /** Channel name (secondary consoles); absent for the primary console. */
  name?: string;
  connection: 'pty' | 'socket';
  path?: string;
  protocol: 'vt100';
}

export interface DeviceConfigByClass {
  vbd: VbdConfig;
  vif: VifConfig;
  vfb: VfbConfig;
  vkbd: VkbdConfig;
  vtpm: VtpmConfig;
  console: ConsoleConfig;
}

/** One device: xend's `(class, config)` tuple keyed by the device's uuid. */
export type DeviceEntry = {
  [K in DeviceClass]: { class: K; config: DeviceConfigByClass[K] };
}[DeviceClass];

export interface XendConfig {
  name: string;
  /** Canonical lower-case 8-4-4-4-12; generated at parse time when absent. */
  uuid: string;
  type: GuestType;
  /** Target memory, MiB. */
  memory: number;
  /** Static maximum, MiB (≥ memory). */
  maxmem: number;
  vcpus: number;
  maxvcpus: number;
  image: ImageConfig;
  bootloader?: string;
  bootloader_args?: string[];
  on_poweroff: RestartAction;
  on_reboot: RestartAction;
  on_crash: RestartAction;
  /**
   * Hard CPU affinity in xl syntax: one string for every vcpu ("0-3,^2"), or a list whose entry i
   * pins vcpu i (xl's `cpus = ["2", "3"]`; vcpus past the list are not pinned).
   */
  cpus?: string | string[];
  description?: string;
  /** Device uuid → (class, config), in the order the user wrote them. */
  devices: Record<string, DeviceEntry>;
  console_refs: string[];
  vbd_refs: string[];
  vif_refs: string[];
  vtpm_refs: string[];
}
