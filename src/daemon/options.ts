// `tsxend serve` settings from three sources: a config file (one `key = value` per flag), the
// environment (TSXEND_<KEY>), and flags. Flags win over the environment, which wins over the file.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { TsxError } from '../errors.js';
import { E_SERVE_OPTIONS } from './errors.js';

export type XenstoreTarget = { kind: 'embedded' } | { kind: 'socket'; path: string };
export type ListenTarget = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export type HypervisorChoice = 'simulated' | 'xen' | 'auto';

export interface ServeOptions {
  readonly xenstore: XenstoreTarget;
  /** simulated, xen (libxenctrl), or auto (xen when /dev/xen/privcmd exists). */
  readonly hypervisor: HypervisorChoice;
  readonly listen: ListenTarget[];
  readonly stateDir: string;
  readonly runtimeDir: string;
  readonly tokenFile?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly logLevel: string;
  /** Log to this file (reopened on SIGHUP) instead of stdout. */
  readonly logFile?: string;
  /** The config file read, if any (re-read on SIGHUP). */
  readonly configFile?: string;
  readonly maxParallelCreates: number;
  /** How long rollbacks and destroys wait for a lost xenstored to come back, in ms (default 10 s). */
  readonly xenstoreWaitMs: number;
  /** How long one hotplug script may run before it is killed and reported hung, in ms (default 40 s). */
  readonly hotplugTimeoutMs: number;
  /** How long a create may take, from the request to every device Connected, in ms (default 60 s). */
  readonly createTimeoutMs: number;
  /** Xen's device model (QEMU, xenpv machine) that serves vfb/vkbd on real Xen. */
  readonly deviceModel?: string;
  /** Prepared shells to keep, and their shape (default none). */
  readonly preparedShells?: PreparedShellsSpec;
  /** Where each setting came from; SIGHUP only re-applies what the config file decided. */
  readonly sources: Partial<Record<Key, 'flag' | 'env' | 'file'>>;
}

/** Every key, as flag (`--key`), config-file key and environment variable (TSXEND_KEY). */
export const SERVE_KEYS = ['xenstore', 'hypervisor', 'listen', 'state-dir', 'runtime-dir', 'token-file', 'tls-cert', 'tls-key', 'log-level', 'log-file', 'max-parallel-creates', 'xenstore-wait', 'hotplug-timeout', 'create-timeout', 'device-model', 'prepared-shells'] as const;
type Key = (typeof SERVE_KEYS)[number];
type Raw = Partial<Record<Key, string[]>>;

export const DEFAULT_CONFIG_FILE = '/etc/tsxend/tsxend.conf';
export const SOCKET_NAME = 'tsxend.sock';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const bad = (message: string): TsxError => new TsxError(E_SERVE_OPTIONS, message);
const isKey = (k: string): k is Key => (SERVE_KEYS as readonly string[]).includes(k);

export function envName(key: string): string {
  return `TSXEND_${key.toUpperCase().replace(/-/g, '_')}`;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Where state lives when nothing says: systemd's StateDirectory, /var/lib for root, XDG otherwise. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(':')[0] as string;
  if (isRoot()) return '/var/lib/tsxend';
  return join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'tsxend');
}

/**
 * Runtime files (the API socket): systemd's RuntimeDirectory; else `<state>/run` when a state
 * directory was chosen explicitly (a private instance); else /run/tsxend for root, <state>/run.
 */
export function defaultRuntimeDir(env: NodeJS.ProcessEnv, stateDir: string, stateDirExplicit = false): string {
  if (env.RUNTIME_DIRECTORY) return env.RUNTIME_DIRECTORY.split(':')[0] as string;
  if (isRoot() && !stateDirExplicit) return '/run/tsxend';
  return join(stateDir, 'run');
}

/** Parses a config file: `key = value` lines, `#` comments; `listen` may repeat. */
export function parseConfigFile(text: string, file: string): Raw {
  const raw: Raw = {};
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (t === '') return;
    const m = /^([a-z][a-z-]*)\s*=\s*(.*)$/.exec(t);
    if (!m) throw bad(`${file}:${i + 1}:1: expected 'key = value'`);
    const key = m[1] as string;
    if (!isKey(key)) throw bad(`${file}:${i + 1}:1: unknown key '${key}' (known: ${SERVE_KEYS.join(', ')})`);
    const value = (m[2] as string).replace(/^"(.*)"$/, '$1');
    (raw[key] ??= []).push(value);
  });
  return raw;
}

function parseFlags(argv: string[]): { raw: Raw; config?: string } {
  const raw: Raw = {};
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw bad(`unexpected argument '${arg}'`);
    const key = m[1] as string;
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw bad(`--${key} needs a value`);
    if (key === 'config') config = value;
    else if (isKey(key)) (raw[key] ??= []).push(value);
    else throw bad(`unknown option --${key}`);
  }
  return config === undefined ? { raw } : { raw, config };
}

function fromEnv(env: NodeJS.ProcessEnv): Raw {
  const raw: Raw = {};
  for (const key of SERVE_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') raw[key] = key === 'listen' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [v];
  }
  return raw;
}

export function parseListen(spec: string): ListenTarget {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!path.startsWith('/')) throw bad(`--listen ${spec}: the socket path must be absolute`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(.+):(\d{1,5})$/.exec(spec);
  if (m) {
    const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
    const port = Number(m[2]);
    if (port > 65535) throw bad(`--listen ${spec}: port out of range`);
    return { kind: 'tcp', host, port };
  }
  throw bad(`--listen ${spec}: expected unix:PATH or tcp:HOST:PORT`);
}

export interface PreparedShellsSpec {
  readonly count: number;
  readonly memoryMiB?: number;
  readonly maxVcpus?: number;
  readonly type?: 'pv' | 'pvh' | 'hvm';
}

/** `N[,memory=MiB][,maxvcpus=N][,type=pv|pvh|hvm]`: how many shells, and the shape each has. */
export function parsePreparedShells(spec: string): PreparedShellsSpec {
  const [count, ...items] = spec.split(',').map((s) => s.trim());
  const what = `--prepared-shells ${spec}`;
  const int = (v: string | undefined, name: string, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !/^[0-9]+$/.test(v) || n < min || n > max) throw bad(`${what}: ${name} must be an integer within ${min}..${max}`);
    return n;
  };
  const out: { count: number; memoryMiB?: number; maxVcpus?: number; type?: 'pv' | 'pvh' | 'hvm' } = { count: int(count, 'the count', 0, 1024) };
  for (const item of items) {
    const [key, value] = item.split('=', 2) as [string, string | undefined];
    if (key === 'memory') out.memoryMiB = int(value, 'memory (MiB)', 1, 16 * 1024 * 1024);
    else if (key === 'maxvcpus') out.maxVcpus = int(value, 'maxvcpus', 1, 4096);
    else if (key === 'type') {
      if (value !== 'pv' && value !== 'pvh' && value !== 'hvm') throw bad(`${what}: type must be pv, pvh or hvm`);
      out.type = value;
    } else throw bad(`${what}: unknown item '${item}' (expected memory=MiB, maxvcpus=N, type=pv|pvh|hvm)`);
  }
  return out;
}

export function parseXenstore(spec: string): XenstoreTarget {
  if (spec === 'embedded') return { kind: 'embedded' };
  if (spec.startsWith('socket:') && spec.length > 7) return { kind: 'socket', path: spec.slice(7) };
  throw bad(`--xenstore ${spec}: expected 'embedded' or 'socket:PATH'`);
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Merges file, environment and flags (flags win) into checked options. */
export function resolveServeOptions(argv: string[], env: NodeJS.ProcessEnv): ServeOptions {
  const flags = parseFlags(argv);
  const explicit = flags.config ?? env.TSXEND_CONFIG;
  const configFile = explicit ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let file: Raw = {};
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (err) {
      throw new TsxError(E_SERVE_OPTIONS, `cannot read config file ${configFile}`, { cause: err });
    }
    file = parseConfigFile(text, configFile);
  }
  const envRaw = fromEnv(env);
  const sources: Partial<Record<Key, 'flag' | 'env' | 'file'>> = {};
  const pick = (k: Key): string[] | undefined => {
    const [v, src] = flags.raw[k] ? [flags.raw[k], 'flag' as const] : envRaw[k] ? [envRaw[k], 'env' as const] : file[k] ? [file[k], 'file' as const] : [undefined, undefined];
    if (src) sources[k] = src;
    return v;
  };
  const one = (k: Key): string | undefined => {
    const v = pick(k);
    if (v && v.length > 1) throw bad(`--${k} given ${v.length} times`);
    return v?.[0];
  };

  const explicitState = one('state-dir');
  const stateDir = explicitState ?? defaultStateDir(env);
  const runtimeDir = one('runtime-dir') ?? defaultRuntimeDir(env, stateDir, explicitState !== undefined);
  const listen = (pick('listen') ?? [`unix:${join(runtimeDir, SOCKET_NAME)}`]).map(parseListen);
  const tokenFile = one('token-file');
  const tlsCert = one('tls-cert');
  const tlsKey = one('tls-key');
  const logLevel = one('log-level') ?? 'info';
  const logFile = one('log-file');
  const maxParallel = Number(one('max-parallel-creates') ?? '8');
  // Durations are given in seconds, checked against a sane range, and kept in ms.
  const seconds = (k: Key, dflt: number, min: number, max: number): number => {
    const v = Number(one(k) ?? String(dflt));
    if (!Number.isFinite(v) || v < min || v > max) throw bad(`--${k} must be a number of seconds within ${min}..${max}`);
    return Math.round(v * 1000);
  };

  if (!LOG_LEVELS.includes(logLevel)) throw bad(`--log-level ${logLevel}: expected one of ${LOG_LEVELS.join(', ')}`);
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw bad('--max-parallel-creates must be a positive integer');
  const xenstoreWaitMs = seconds('xenstore-wait', 10, 0, 3600);
  // Slow hosts (Xen under TCG, a loaded dom0) need longer; a script that is really stuck is
  // still killed and reported (TSX_ERR_HOTPLUG_HUNG).
  const hotplugTimeoutMs = seconds('hotplug-timeout', 40, 0.1, 3600);
  const createTimeoutMs = seconds('create-timeout', 60, 0.1, 3600);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw bad('--tls-cert and --tls-key go together');
  for (const l of listen) {
    if (l.kind !== 'tcp') continue;
    if (tokenFile === undefined) throw bad(`--listen tcp:${l.host}:${l.port} needs --token-file: a TCP listener always requires a token`);
    if (tlsCert === undefined && !isLoopback(l.host)) throw bad(`--listen tcp:${l.host}:${l.port}: a non-loopback listener needs --tls-cert and --tls-key`);
  }
  const shellSpec = one('prepared-shells');
  const preparedShells = shellSpec === undefined ? undefined : parsePreparedShells(shellSpec);
  const xenstore = parseXenstore(one('xenstore') ?? 'embedded');
  // The embedded xenstore only makes sense with the simulated hypervisor; a real xenstored may
  // sit on real Xen or (tests, CI) on nothing.
  const hypervisor = one('hypervisor') ?? (xenstore.kind === 'embedded' ? 'simulated' : 'auto');
  if (hypervisor !== 'simulated' && hypervisor !== 'xen' && hypervisor !== 'auto') throw bad(`--hypervisor ${hypervisor}: expected simulated, xen or auto`);
  if (xenstore.kind === 'embedded' && hypervisor === 'xen') throw bad('--hypervisor xen needs the host xenstored: add --xenstore socket:/run/xenstored/socket');
  return {
    xenstore,
    hypervisor,
    listen,
    stateDir,
    runtimeDir,
    logLevel,
    maxParallelCreates: maxParallel,
    xenstoreWaitMs,
    hotplugTimeoutMs,
    createTimeoutMs,
    sources,
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(tlsCert === undefined ? {} : { tlsCert }),
    ...(tlsKey === undefined ? {} : { tlsKey }),
    ...(logFile === undefined ? {} : { logFile }),
    ...(one('device-model') === undefined ? {} : { deviceModel: one('device-model') as string }),
    ...(preparedShells === undefined || preparedShells.count === 0 ? {} : { preparedShells }),
    ...(configFile === undefined ? {} : { configFile }),
  };
}
