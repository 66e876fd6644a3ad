// The TypeBox schemas of the HTTP API. The same objects validate requests, serialise replies
// and, through @fastify/swagger, become docs/openapi.json: there is no second copy to drift.

import { Type, type TSchema } from 'typebox';

/** A string enum rendered as one `enum` (TypeBox unions of literals read badly in OpenAPI). */
export function stringEnum<T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description === undefined ? {} : { description }) });
}

export const deviceClass = stringEnum(['vbd', 'vif', 'vfb', 'vkbd', 'vtpm', 'console']);

const domainState = stringEnum(['defined', 'creating', 'saving', 'paused', 'running', 'shutting-down', 'shutdown', 'crashed', 'dying', 'destroyed', 'quarantined']);

const deviceState = stringEnum(['writing', 'initialising', 'init-wait', 'hotplug', 'connected', 'closing', 'closed', 'error']);

const codeMessage = Type.Object({ code: Type.String(), message: Type.String() });
const taskError = Type.Object({ code: Type.String(), message: Type.String(), statusCode: Type.Optional(Type.Integer({ description: 'the HTTP status of the code' })) });

/** A domain's or device's config as the normalised model (see docs/config.md); secrets redacted. */
export const configModel = Type.Object({}, { additionalProperties: true, description: 'The normalised XendConfig model' });

export const deviceView = Type.Object(
  {
    uuid: Type.String(),
    class: deviceClass,
    devid: Type.Integer(),
    state: deviceState,
    backendDomid: Type.Integer(),
    frontendPath: Type.String(),
    backendPath: Type.String(),
    config: Type.Object({}, { additionalProperties: true }),
    error: Type.Optional(codeMessage),
  },
  { title: 'DeviceView' },
);

export const taskView = Type.Object(
  {
    id: Type.String(),
    operation: Type.String(),
    domainUuid: Type.Optional(Type.String()),
    state: stringEnum(['running', 'succeeded', 'failed', 'cancelled']),
    step: Type.String(),
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    startedAt: Type.String(),
    endedAt: Type.Optional(Type.String()),
    error: Type.Optional(taskError),
    result: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "what a succeeded operation answers when it is no domain (a save's report)" })),
  },
  { title: 'TaskView' },
);

export const domainView = Type.Object(
  {
    domid: Type.Optional(Type.Integer()),
    name: Type.String(),
    uuid: Type.String(),
    state: domainState,
    reason: Type.Optional(Type.String()),
    shutdownReason: Type.Optional(Type.String()),
    managed: Type.Boolean(),
    autostart: Type.Boolean(),
    config: configModel,
    devices: Type.Array(deviceView),
    operations: Type.Array(taskView),
  },
  { title: 'DomainView' },
);

export const domainList = Type.Object(
  {
    seq: Type.Integer({ description: 'The event seq this list is current to: subscribe with ?since=seq to miss nothing' }),
    domains: Type.Array(domainView),
  },
  { title: 'DomainList' },
);

export const taskAccepted = Type.Object(
  {
    task: taskView,
    uuid: Type.Optional(Type.String({ description: 'The domain the task acts on' })),
  },
  { title: 'TaskAccepted' },
);

export const destroyReport = Type.Object(
  { uuid: Type.String(), domid: Type.Optional(Type.Integer()), leftovers: Type.Array(Type.String()) },
  { title: 'DestroyReport' },
);

export const world = Type.Object(
  {
    kind: stringEnum(['real', 'simulated'], 'The world the daemon composed: the real one only next to real Xen (/dev/xen/privcmd); a daemon on real Xen refuses to start with any simulated part (TSX_ERR_SIMULATED_ON_XEN)'),
    hypervisor: stringEnum(['xen', 'simulated'], 'xen: libxenctrl/libxenguest; simulated: the hypervisor in memory'),
    xenstore: stringEnum(['xenstored', 'embedded-mock'], "a xenstored over its socket, or the daemon's in-process mock"),
    backends: stringEnum(['kernel', 'simulated', 'injected'], "dom0's kernel backends (blkback, netback…) or the backend simulator"),
    hotplug: stringEnum(['scripts', 'simulated', 'simulated+scripts', 'injected'], 'the hotplug scripts of /etc/xen/scripts, or simulated ones (simulated+scripts: those TSXEND_SIM_REAL_SCRIPTS names run for real)'),
    vfb: stringEnum(['qemu-xenpv', 'simfb', 'injected'], "the vfb/vkbd backend: Xen's device model (QEMU xenpv), or the framebuffer simulator"),
    guests: stringEnum(['real', 'simulated', 'none'], 'real guests, or simulated ones (their frontends and kernels)'),
    console: stringEnum(['xenconsoled-pty', 'simulated'], "the ptys xenconsoled serves, or the simulated guests' serial lines"),
  },
  { title: 'World', additionalProperties: false },
);

export const preparedShells = Type.Object(
  {
    target: Type.Integer({ description: 'How many prepared shells the daemon keeps (--prepared-shells)' }),
    ready: Type.Integer({ description: 'Shells ready for a create that fits' }),
    preparing: Type.Integer({ description: 'Shells being prepared now, in the background' }),
    memoryKiB: Type.Integer({ description: 'Memory the ready shells hold in the hypervisor now (empty domains: next to none)' }),
    type: stringEnum(['pv', 'pvh', 'hvm'], 'The guest type a config must have to fit'),
    maxVcpus: Type.Integer({ description: 'The maxvcpus a config must have to fit (Xen fixes it when a domain is created)' }),
    memoryMiB: Type.Integer({ description: "The shells' max memory: a config fits with a maxmem up to this" }),
  },
  { title: 'PreparedShells', additionalProperties: false },
);

export const hostInfo = Type.Object(
  {
    hypervisor: stringEnum(['simulated', 'xen']),
    version: Type.String(),
    nrCpus: Type.Integer(),
    totalMemoryKiB: Type.Integer(),
    freeMemoryKiB: Type.Integer(),
    preparedShells: Type.Optional(preparedShells),
    world: Type.Optional(world),
    tsxendVersion: Type.String(),
    nodeVersion: Type.String(),
  },
  { title: 'HostInfo' },
);

export const health = Type.Object(
  {
    status: stringEnum(['ok', 'degraded']),
    xenstore: stringEnum(['up', 'down']),
    hypervisor: stringEnum(['simulated', 'xen']),
    domains: Type.Integer(),
    seq: Type.Integer(),
  },
  { title: 'Health' },
);

export const errorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ pattern: '^TSX_ERR_[A-Z0-9_]+$' }),
    error: Type.String(),
    message: Type.String(),
    cause: Type.Optional(Type.Array(Type.Object({ code: Type.Optional(Type.String()), message: Type.String() }))),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    problems: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  },
  { title: 'Error' },
);

export const refParams = Type.Object({ ref: Type.String({ description: 'domid, name or uuid' }) });
export const deviceParams = Type.Object({
  ref: Type.String({ description: 'domid, name or uuid' }),
  class: deviceClass,
  devid: Type.Integer({ minimum: 0 }),
});
export const taskParams = Type.Object({ id: Type.String() });

export const waitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ default: true, description: 'false: answer 202 with a task at once' })),
});
export const createQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ default: true, description: 'false: answer 202 with a task at once' })),
  paused: Type.Optional(Type.Boolean({ description: 'leave the domain paused once its devices are up (xm create -p)' })),
  managed: Type.Optional(Type.Boolean({ description: 'persist the config as a managed domain' })),
});
export const defineQuery = Type.Object({
  autostart: Type.Optional(Type.Boolean({ description: 'start the domain when tsxend starts' })),
  autostartOrder: Type.Optional(Type.Integer({ minimum: 0, description: 'lower starts first' })),
});
export const startQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ default: true, description: 'false: answer 202 with a task at once' })),
  paused: Type.Optional(Type.Boolean({ description: 'leave the domain paused once its devices are up' })),
});

export const forceQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ default: true })),
  force: Type.Optional(Type.Boolean({ description: 'do not wait for the guest to release the device' })),
});

export const saveReport = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String(),
    file: Type.String(),
    bytes: Type.Integer({ description: 'size of the image' }),
    pages: Type.Integer({ description: "pages of the guest's memory written" }),
    downtimeMs: Type.Integer({ description: 'how long the guest was stopped' }),
    checkpoint: Type.Boolean(),
  },
  { title: 'SaveReport' },
);
const imagePath = Type.String({ minLength: 2, maxLength: 4096, pattern: '^/', description: "absolute path on the daemon's host" });
export const saveBody = Type.Object(
  { file: imagePath, checkpoint: Type.Optional(Type.Boolean({ description: 'keep the guest running (xl save -c)' })) },
  { additionalProperties: false },
);
export const restoreBody = Type.Object(
  { file: imagePath, paused: Type.Optional(Type.Boolean({ description: 'leave the restored domain paused (xl restore -p)' })) },
  { additionalProperties: false },
);
export const migrateBody = Type.Object(
  {
    destination: Type.String({ minLength: 2, maxLength: 4096, description: 'the other tsxend: unix:PATH or https://HOST:PORT' }),
    token: Type.Optional(Type.String({ maxLength: 4096, description: "the destination's API token (never logged)" })),
    ca: Type.Optional(Type.String({ maxLength: 65536, description: "PEM CA bundle for a destination with a private certificate" })),
    live: Type.Optional(Type.Boolean({ description: 'copy memory while the guest runs (default true)' })),
  },
  { additionalProperties: false },
);
export const migrateReport = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String(),
    destination: Type.String(),
    live: Type.Boolean(),
    bytes: Type.Integer({ description: 'bytes sent' }),
    pages: Type.Integer(),
    downtimeMs: Type.Integer({ description: "from the guest's suspend here to its unpause there" }),
    totalMs: Type.Integer(),
  },
  { title: 'MigrateReport' },
);
export const incomingView = Type.Object(
  {
    id: Type.String(),
    uuid: Type.String(),
    name: Type.String(),
    state: stringEnum(['prepared', 'receiving', 'ready', 'committed', 'aborted']),
    expiresAt: Type.String(),
  },
  { title: 'IncomingMigration' },
);
export const shutdownBody = Type.Object(
  { mode: Type.Optional(stringEnum(['poweroff', 'reboot', 'suspend', 'halt'])) },
  { additionalProperties: false },
);
export const memoryBody = Type.Object({ mib: Type.Integer({ minimum: 1, description: 'target memory, MiB' }) }, { additionalProperties: false });
export const vcpusBody = Type.Object({ vcpus: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

/** A device to hot-attach: its class and its config in the model (xl-style spec strings allowed). */
export const attachBody = Type.Object(
  {
    class: deviceClass,
    spec: Type.Optional(Type.String({ description: "xl-style device string, e.g. 'phy:/dev/vg/d,xvdb,w'" })),
    config: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'the device config in the model' })),
  },
  { additionalProperties: false },
);

/**
 * The error replies of a route that acts on xenstore or the hypervisor: on top of its own, what
 * those may answer anywhere (EACCES/EPERM 403, quota 429, unsupported 501, xenstore failure
 * 502, no memory or CPUs 507), and what any POST/PUT/DELETE body may get before the handler
 * (too large 413, a content type nobody parses 415).
 */
export function opErrorReplies(...statuses: number[]): Record<number, TSchema> {
  return errorReplies(...statuses, 403, 413, 415, 429, 501, 502, 507);
}

/** The error replies every route may give, keyed by status. */
export function errorReplies(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  // Any layer may refuse a request as unprocessable (422), and any wait may time out (504).
  for (const s of [...statuses, 401, 422, 500, 503, 504]) out[s] = errorBody;
  return out;
}
