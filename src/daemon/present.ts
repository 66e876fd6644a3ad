// What leaves the daemon: views with secrets masked, and the wait/202 pattern of long operations.

import type { FastifyReply } from 'fastify';
import { definedErrors } from '../errors.js';
import type { DeviceView, DomainView, Operation, TaskView } from '../lifecycle/api.js';
import type { Metrics } from './metrics.js';

export const REDACTED = '********';
const SECRET_KEYS = new Set(['vncpasswd', 'password', 'passwd', 'token']);

function maskConfig<T>(config: T): T {
  if (config === null || typeof config !== 'object') return config;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    if (SECRET_KEYS.has(k) && typeof v === 'string' && v !== '') {
      copy ??= { ...(config as Record<string, unknown>) };
      copy[k] = REDACTED;
    }
  }
  return (copy ?? config) as T;
}

// A password can also ride inside text: an xl or SXP device spec, or a value an error quotes.
const SECRET_IN_TEXT: RegExp[] = [
  /((?:vncpasswd|passwd|password)\s*=\s*)([^,\s"'\\\])]+)/gi, // xl: vncpasswd=VALUE
  /(\((?:vncpasswd|passwd|password)\s+)([^()\s]+)/gi, // SXP: (vncpasswd VALUE)
  /("(?:vncpasswd|passwd|password)"\s*:\s*)("(?:[^"\\]|\\.)*")/gi, // JSON: "vncpasswd": "VALUE"
  /((?:vncpasswd|passwd|password)[^\n]*?\(got )("(?:[^"\\]|\\.)*")/gi, // schema errors: …vncpasswd: … (got "VALUE")
];

/** `text` with every password it quotes replaced by the mask (error messages, warnings). */
export function maskSecretsInText(text: string): string {
  let out = text;
  for (const re of SECRET_IN_TEXT) out = out.replace(re, `$1${REDACTED}`);
  return out;
}

export function presentDevice(d: DeviceView): DeviceView {
  return { ...d, config: maskConfig(d.config) };
}

/** A task whose error carries the HTTP status of its code, so clients can tell 409 from 422. */
export function presentTask(t: TaskView): TaskView {
  if (t.error && maskSecretsInText(t.error.message) !== t.error.message) t = { ...t, error: { ...t.error, message: maskSecretsInText(t.error.message) } };
  if (!t.error || (t.error as { statusCode?: number }).statusCode !== undefined) return t;
  const spec = definedErrors().find((e) => e.code === t.error?.code);
  return spec ? { ...t, error: { ...t.error, statusCode: spec.status } as TaskView['error'] & object } : t;
}

export function presentDomain(d: DomainView): DomainView {
  const devices: Record<string, unknown> = {};
  for (const [uuid, entry] of Object.entries(d.config.devices)) devices[uuid] = { ...entry, config: maskConfig(entry.config) };
  return { ...d, config: { ...d.config, devices: devices as DomainView['config']['devices'] }, devices: d.devices.map(presentDevice), operations: d.operations.map(presentTask) };
}

/**
 * Answers a long operation: with `wait` it awaits the result (status `done`), otherwise 202 with
 * the task and a Location to poll. The completion is always observed, so a failure after a 202
 * is never an unhandled rejection (it is in the task and on the event stream).
 */
export async function answerOperation<T, R>(
  reply: FastifyReply,
  metrics: Metrics,
  op: Operation<T>,
  wait: boolean | undefined,
  done: { status: number; map: (value: T) => R; location?: (value: T) => string },
): Promise<R | { task: TaskView; uuid?: string }> {
  metrics.track(op.task.operation, op.done);
  if (wait === false) {
    op.done.catch(() => undefined);
    void reply.code(202).header('location', `/v1/tasks/${op.task.id}`);
    const task = presentTask(op.task);
    return op.task.domainUuid === undefined ? { task } : { task, uuid: op.task.domainUuid };
  }
  const value = await op.done;
  void reply.code(done.status);
  if (done.location) void reply.header('location', done.location(value));
  return done.map(value);
}
