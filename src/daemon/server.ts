// The daemon: composes logger, state directory, orchestrator environment, listeners, systemd
// and signals. Start order: options → logger → state dir → refuse if another daemon holds a
// socket → environment + reconcile (orchestrator.start) → listen → READY=1. Stop order is the
// reverse: stop accepting, let the orchestrator finish or roll back, close, unlink, flush.

import { mkdir, readFile, unlink } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ConfigStore, Orchestrator } from '../lifecycle/api.js';
import type { ConsoleSource } from '../lifecycle/console.js';
import type { WorldReport } from '../lifecycle/world.js';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { TokenAuth, readTokenFile } from './auth.js';
import type { ConfigInput } from './config-input.js';
import { TsxError } from '../errors.js';
import { E_STATE_DIR } from './errors.js';
import { prepareSocketPath, withSocketUmask } from './listeners.js';
import { createDaemonLogger, type DaemonLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { packageVersion } from './openapi.js';
import { parseConfigFile, type ServeOptions } from './options.js';
import { FileConfigStore } from './state-store.js';
import { SystemdNotifier } from './systemd.js';

/** What the lifecycle layer hands the daemon for one run. */
export interface DaemonEnvironment {
  readonly orchestrator: Orchestrator;
  /** Xenstore requests sent so far, for /metrics. */
  readonly xenstoreOps?: () => number;
  /** Guests' consoles (GET /v1/domains/{ref}/console); without it that route answers 409. */
  readonly consoles?: ConsoleSource;
  /** Which world each part runs in (GET /v1/host). */
  readonly world?: WorldReport;
  close(): Promise<void>;
}

export interface EnvironmentRequest {
  readonly options: ServeOptions;
  readonly store: ConfigStore;
  readonly logger: Logger;
}

export type EnvironmentFactory = (request: EnvironmentRequest) => Promise<DaemonEnvironment>;

export interface DaemonDeps {
  readonly environment: EnvironmentFactory;
  readonly config: ConfigInput;
  readonly env: NodeJS.ProcessEnv;
  /** A logger to use instead of creating one (tests). */
  readonly logger?: DaemonLogger;
}

export interface RunningDaemon {
  readonly orchestrator: Orchestrator;
  readonly logger: Logger;
  /** Addresses bound, e.g. `unix:/run/tsxend/tsxend.sock`, `tcp:127.0.0.1:8443`. */
  readonly addresses: string[];
  /** Graceful stop; safe to call twice. */
  stop(reason: string): Promise<void>;
  /** SIGHUP: reopen logs, re-read the config file (log level). */
  reload(): Promise<void>;
  /** Settles when the daemon has stopped. */
  readonly stopped: Promise<void>;
}

export async function startDaemon(options: ServeOptions, deps: DaemonDeps): Promise<RunningDaemon> {
  // Readable lines for a person at a terminal; JSON for journald, files and pipes
  // (TSXEND_LOG_FORMAT=pretty|json decides instead).
  const format = deps.env['TSXEND_LOG_FORMAT'];
  const pretty = options.logFile === undefined && (format === 'pretty' || (format !== 'json' && process.stdout.isTTY === true));
  const dlog = deps.logger ?? createDaemonLogger({ level: options.logLevel, pretty, ...(options.logFile === undefined ? {} : { file: options.logFile }) });
  const log = dlog.logger;
  const systemd = new SystemdNotifier(deps.env, log);
  const version = packageVersion();
  log.info({ version, xenstore: options.xenstore, listen: options.listen, stateDir: options.stateDir }, 'tsxend starting');

  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new TsxError(E_STATE_DIR, `cannot create state directory ${options.stateDir}`, { cause: err });
  }
  const store = new FileConfigStore(options.stateDir);
  await store.init();

  // Refuse before touching anything when another daemon holds one of our sockets.
  for (const l of options.listen) {
    if (l.kind !== 'unix') continue;
    if ((await prepareSocketPath(l.path)) === 'replaced-stale') log.warn({ path: l.path }, 'replaced a stale API socket left by a daemon that is gone');
  }
  const tokens = options.tokenFile === undefined ? undefined : new TokenAuth(readTokenFile(options.tokenFile));
  const tls =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) }
      : undefined;

  await systemd.status('connecting to xenstore and reconciling domains');
  const environment = await deps.environment({ options, store, logger: log });
  const orch = environment.orchestrator;
  const metrics = new Metrics(orch, environment.xenstoreOps ? { xenstoreOps: environment.xenstoreOps } : {});
  const eventLog = log.child({ component: 'events' });
  const eventSub = orch.events.subscribe((ev) => {
    metrics.events.inc({ type: ev.type });
    // pino stamps its own time; the event's is kept as eventTime (same instant, no duplicate key).
    const { data, time, ...fields } = ev;
    eventLog.info({ ...fields, eventTime: time, ...(data === undefined ? {} : { data }) }, ev.type);
  });
  await orch.start();
  log.info({ domains: orch.listDomains().domains.length, seq: orch.events.currentSeq }, 'reconciled domains from the state directory and xenstore');

  const apps: FastifyInstance[] = [];
  const addresses: string[] = [];
  let stopping: Promise<void> | undefined;
  try {
    for (const l of options.listen) {
      const app = await buildApp({
        orchestrator: orch,
        config: deps.config,
        metrics,
        version,
        logger: log.child({ listener: l.kind === 'unix' ? l.path : `${l.host}:${l.port}` }),
        ...(environment.consoles ? { consoles: environment.consoles } : {}),
        ...(environment.world ? { world: environment.world } : {}),
        ...(l.kind === 'tcp' && tokens ? { auth: tokens } : {}),
        ...(l.kind === 'tcp' && tls ? { https: tls } : {}),
        isStopping: () => stopping !== undefined,
      });
      apps.push(app);
      if (l.kind === 'unix') {
        await withSocketUmask(l.path, () => app.listen({ path: l.path }));
        addresses.push(`unix:${l.path}`);
      } else {
        const addr = await app.listen({ host: l.host, port: l.port });
        addresses.push(`tcp:${addr.replace(/^https?:\/\//, '')}`);
      }
    }
  } catch (err) {
    await Promise.allSettled(apps.map((a) => a.close()));
    eventSub.close();
    await orch.stop().catch(() => undefined);
    await environment.close().catch(() => undefined);
    throw err;
  }
  log.info({ addresses }, 'tsxend listening');
  await systemd.ready(`${orch.listDomains().domains.length} domains; listening on ${addresses.join(', ')}`);
  systemd.startWatchdog();

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ reason }, 'tsxend stopping: finishing or rolling back operations in flight');
      await systemd.stopping();
      // Stop accepting first; event subscribers are closed with the servers.
      await Promise.allSettled(apps.map((a) => a.close()));
      try {
        await orch.stop();
      } catch (err) {
        log.error({ err }, 'orchestrator did not stop cleanly');
      }
      eventSub.close();
      await environment.close().catch((err: unknown) => log.error({ err }, 'environment did not close cleanly'));
      for (const l of options.listen) if (l.kind === 'unix') await unlink(l.path).catch(() => undefined);
      log.info('tsxend stopped');
      dlog.flush();
      resolveStopped();
    })());

  const reload = async (): Promise<void> => {
    dlog.reopen();
    if (options.configFile === undefined) return log.info('SIGHUP: logs reopened');
    try {
      const raw = parseConfigFile(await readFile(options.configFile, 'utf8'), options.configFile);
      const level = raw['log-level']?.[0];
      const fileDecides = options.sources['log-level'] === undefined || options.sources['log-level'] === 'file';
      if (level !== undefined && !['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new Error(`${options.configFile}: log-level ${level} is not a level`);
      if (level !== undefined && fileDecides) dlog.setLevel(level);
      log.info({ configFile: options.configFile, level: log.level }, 'SIGHUP: logs reopened, config file re-read (listeners and xenstore need a restart)');
    } catch (err) {
      log.error({ err }, 'SIGHUP: config file not reloaded; keeping the running settings');
    }
  };

  return { orchestrator: orch, logger: log, addresses, stop, reload, stopped };
}

/** Wires SIGTERM/SIGINT (graceful stop) and SIGHUP (reload) to a running daemon. */
export function handleSignals(daemon: RunningDaemon): () => void {
  const onStop = (sig: NodeJS.Signals): void => {
    void daemon.stop(sig);
  };
  const onHup = (): void => {
    void daemon.reload();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  };
}
