// The daemon's pino logger. Secrets never reach a log line: API tokens (Authorization headers)
// and VNC passwords are censored by path wherever they sit in a logged object. Logging to a
// file uses a SonicBoom destination that SIGHUP reopens (for logrotate).

import pino, { type Logger } from 'pino';

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

export function createDaemonLogger(options: { level: string; file?: string }): DaemonLogger {
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
