// JSON Schemas (TypeBox) of the model in model.ts. The HTTP API validates request bodies with
// them and the OpenAPI document is generated from them, so they describe exactly the model:
// no unknown keys anywhere. A compile-time check below keeps schema and interfaces in step.

import { Type, type Static, type TSchema } from 'typebox';
import type { DeviceConfigByClass, XendConfig } from './model.js';

const closed = { additionalProperties: false } as const;
const common = {
  backend: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:+-]+$', description: 'backend domain id or name' }),
  devid: Type.Optional(Type.Integer({ minimum: 0, maximum: 0x7fffffff })),
};
const path = Type.String({ maxLength: 4096 });
const restartAction = Type.Enum(['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart']);

export const vbdSchema = Type.Object(
  {
    ...common,
    vdev: Type.String({ minLength: 1, maxLength: 32 }),
    target: path,
    format: Type.Enum(['raw', 'qcow', 'qcow2', 'vhd', 'qed', 'empty']),
    access: Type.Union([Type.Literal('r'), Type.Literal('w')]),
    devtype: Type.Union([Type.Literal('disk'), Type.Literal('cdrom')]),
    backendtype: Type.Enum(['phy', 'qdisk', 'tap', 'standalone']),
    script: Type.Optional(path),
    bootable: Type.Optional(Type.Boolean()),
    discard: Type.Optional(Type.Boolean()),
    directIoSafe: Type.Optional(Type.Boolean()),
  },
  closed,
);

export const vifSchema = Type.Object(
  {
    ...common,
    mac: Type.String({ pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' }),
    bridge: Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.-]+$' }),
    script: path,
    ip: Type.Optional(Type.String({ maxLength: 1024 })),
    vifname: Type.Optional(Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.-]+$' })),
    model: Type.Optional(Type.String({ maxLength: 64 })),
    type: Type.Union([Type.Literal('vif'), Type.Literal('ioemu')]),
    rate: Type.Optional(Type.String({ maxLength: 64 })),
    mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
    gatewaydev: Type.Optional(Type.String({ maxLength: 15 })),
  },
  closed,
);

export const vfbSchema = Type.Object(
  {
    ...common,
    vnc: Type.Boolean(),
    sdl: Type.Boolean(),
    vnclisten: Type.String({ maxLength: 256 }),
    vncdisplay: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    vncunused: Type.Boolean(),
    vncpasswd: Type.Optional(Type.String({ maxLength: 256 })),
    display: Type.Optional(Type.String({ maxLength: 256 })),
    xauthority: Type.Optional(path),
    keymap: Type.Optional(Type.String({ maxLength: 32 })),
    opengl: Type.Optional(Type.Boolean()),
  },
  closed,
);

export const vkbdSchema = Type.Object(
  {
    ...common,
    backendType: Type.Union([Type.Literal('qemu'), Type.Literal('linux')]),
    uniqueId: Type.Optional(Type.String({ maxLength: 64 })),
    featureDisableKeyboard: Type.Optional(Type.Boolean()),
    featureDisablePointer: Type.Optional(Type.Boolean()),
    featureAbsPointer: Type.Optional(Type.Boolean()),
    featureRawPointer: Type.Optional(Type.Boolean()),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  closed,
);

const uuidPattern = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const vtpmSchema = Type.Object({ ...common, tpmUuid: Type.Optional(Type.String({ pattern: uuidPattern })) }, closed);

export const consoleSchema = Type.Object(
  {
    ...common,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    connection: Type.Union([Type.Literal('pty'), Type.Literal('socket')]),
    path: Type.Optional(path),
    protocol: Type.Literal('vt100'),
  },
  closed,
);

export const DEVICE_CONFIG_SCHEMAS = {
  vbd: vbdSchema,
  vif: vifSchema,
  vfb: vfbSchema,
  vkbd: vkbdSchema,
  vtpm: vtpmSchema,
  console: consoleSchema,
} satisfies Record<keyof DeviceConfigByClass, TSchema>;

export const deviceEntrySchema = Type.Union([
  Type.Object({ class: Type.Literal('vbd'), config: vbdSchema }, closed),
  Type.Object({ class: Type.Literal('vif'), config: vifSchema }, closed),
  Type.Object({ class: Type.Literal('vfb'), config: vfbSchema }, closed),
  Type.Object({ class: Type.Literal('vkbd'), config: vkbdSchema }, closed),
  Type.Object({ class: Type.Literal('vtpm'), config: vtpmSchema }, closed),
  Type.Object({ class: Type.Literal('console'), config: consoleSchema }, closed),
]);

/** One xl cpus= item list ("0-3,^2", "all", "nodes:1"). */
const cpuRange = Type.String({ maxLength: 1024, pattern: '^[0-9,^ -]*$|^all$|^nodes?:' });

export const xendConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    uuid: Type.String({ pattern: uuidPattern }),
    type: Type.Union([Type.Literal('pv'), Type.Literal('pvh'), Type.Literal('hvm')]),
    memory: Type.Integer({ minimum: 1, maximum: 1 << 30 }),
    maxmem: Type.Integer({ minimum: 1, maximum: 1 << 30 }),
    vcpus: Type.Integer({ minimum: 1, maximum: 4096 }),
    maxvcpus: Type.Integer({ minimum: 1, maximum: 4096 }),
    image: Type.Object({ kernel: Type.Optional(path), ramdisk: Type.Optional(path), cmdline: Type.Optional(Type.String({ maxLength: 4096 })) }, closed),
    bootloader: Type.Optional(path),
    bootloader_args: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 64 })),
    on_poweroff: restartAction,
    on_reboot: restartAction,
    on_crash: restartAction,
    cpus: Type.Optional(Type.Union([cpuRange, Type.Array(cpuRange, { minItems: 1, maxItems: 4096 })])),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    // Closed: a key that is not a uuid is refused, not left unchecked (patternProperties alone
    // would let `{"devices": {"x": []}}` through).
    devices: Type.Record(Type.String({ pattern: uuidPattern }), deviceEntrySchema, closed),
    console_refs: Type.Array(Type.String({ pattern: uuidPattern })),
    vbd_refs: Type.Array(Type.String({ pattern: uuidPattern })),
    vif_refs: Type.Array(Type.String({ pattern: uuidPattern })),
    vtpm_refs: Type.Array(Type.String({ pattern: uuidPattern })),
  },
  closed,
);

// Compile-time: the schemas' static types and the model interfaces must agree both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _vbd: Same<Static<typeof vbdSchema>, DeviceConfigByClass['vbd']> = true;
const _vif: Same<Static<typeof vifSchema>, DeviceConfigByClass['vif']> = true;
const _vkbd: Same<Static<typeof vkbdSchema>, DeviceConfigByClass['vkbd']> = true;
const _console: Same<Static<typeof consoleSchema>, DeviceConfigByClass['console']> = true;
const _top: Same<Static<typeof xendConfigSchema>, XendConfig> = true;
void [_vbd, _vif, _vkbd, _console, _top];
