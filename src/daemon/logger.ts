// The daemon's pino logger. Secrets never reach a log line: API tokens (Authorization headers)
// and VNC passwords are censored by path wherever they sit in a logged object. Logging to a
// file uses a SonicBoom destination that SIGHUP reopens (for logrotate). On a terminal, each line
// is made readable by pino-pretty (time, level, domain, message); elsewhere it is JSON.

import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  'tokens',
  '*.token',
  'vncpasswd',
  '*.vncpasswd',
  'config.vncpasswd',
  '*.config.vncpasswd',
  'config.devices.*.config.vncpasswd',
  '*.config.devices.*.config.vncpasswd',
  'device.config.vncpasswd',
  'entry.config.vncpasswd',
];

export interface DaemonLogger {
  readonly logger: Logger;
  /** Reopens the log file (no-op on stdout). */
  reopen(): void;
  setLevel(level: string): void;
  flush(): void;
}

/** A logged object's fields that say which domain, device or request it is about. */
interface LineFields {
  name?: unknown;
  domain?: unknown;
  domid?: unknown;
  devClass?: unknown;
  devid?: unknown;
  step?: unknown;
  outcome?: unknown;
  code?: unknown;
  req?: { method?: unknown; url?: unknown };
  res?: { statusCode?: unknown };
  err?: { message?: unknown };
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** One line for a person: `web1(3): device.connected vif/0 [ok]`, `GET /v1/domains 200`. */
export function humanMessage(log: Record<string, unknown>, messageKey: string): string {
  const f = log as LineFields;
  const domid = str(f.domid);
  const who = str(f.name) !== '' ? `${str(f.name)}${domid !== '' ? `(${domid})` : ''}` : str(f.domain) !== '' ? str(f.domain) : domid !== '' ? `dom${domid}` : '';
  const parts = [`${who !== '' ? `${who}: ` : ''}${str(log[messageKey])}`];
  if (str(f.devClass) !== '') parts.push(`${str(f.devClass)}/${str(f.devid) || '?'}`);
  if (str(f.step) !== '') parts.push(str(f.step));
  if (str(f.outcome) !== '') parts.push(`[${str(f.outcome)}]`);
  if (f.req) parts.push(`${str(f.req.method)} ${str(f.req.url)}`);
  if (f.res) parts.push(str(f.res.statusCode));
  if (str(f.code) !== '') parts.push(`(${str(f.code)})`);
  if (f.err && str(f.err.message) !== '') parts.push(`— ${str(f.err.message)}`);
  return parts.join(' ');
}

export function createDaemonLogger(options: { level: string; file?: string; pretty?: boolean; prettyDestination?: NodeJS.WritableStream }): DaemonLogger {
  if (options.pretty === true && options.file === undefined) return prettyLogger(options.level, options.prettyDestination);
  const destination = pino.destination(options.file === undefined ? { dest: 1, sync: false } : { dest: options.file, mkdir: true, sync: false });
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid, service: 'tsxend' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    logger,
    reopen: () => {
      if (options.file !== undefined) destination.reopen();
    },
    setLevel: (level) => {
      logger.level = level;
    },
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // not ready yet (nothing written): nothing to flush
      }
    },
  };
}

/** A terminal's logger: the same redaction, one readable line per event. */
function prettyLogger(level: string, destination?: NodeJS.WritableStream): DaemonLogger {
  const stream = pinoPretty({
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    messageFormat: (log, messageKey) => humanMessage(log, messageKey),
    // The message carries what matters; the rest stays in the JSON logs (--log-file, journald).
    hideObject: true,
    ignore: 'pid,hostname,service,name',
    sync: true,
    ...(destination === undefined ? { destination: 1 } : { destination }),
  });
  const logger = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
  return {
    logger,
    reopen: () => undefined,
    setLevel: (l) => {
      logger.level = l;
    },
    flush: () => undefined,
  };
}
