// systemd readiness and watchdog. Node cannot send on a Unix datagram socket, so notifications go
// through `systemd-notify` (the unit sets NotifyAccess=all). systemd 252's systemd-notify waits
// until systemd has processed the message (a barrier), so the message is attributed to the unit
// even though the helper exits at once; --pid names the daemon as the main PID. Outside systemd
// (no NOTIFY_SOCKET) every call is a no-op.

import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export class SystemdNotifier {
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: Logger;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(env: NodeJS.ProcessEnv, log: Logger) {
    this.#env = env;
    this.#log = log;
  }

  get active(): boolean {
    return Boolean(this.#env.NOTIFY_SOCKET);
  }

  notify(...assignments: string[]): Promise<void> {
    if (!this.active) return Promise.resolve();
    const args = [`--pid=${process.pid}`, ...assignments];
    return new Promise((resolve) => {
      execFile('systemd-notify', args, { env: this.#env, timeout: 5000 }, (err) => {
        if (err) this.#log.warn({ err, args }, 'systemd-notify failed');
        resolve();
      });
    });
  }

  ready(status: string): Promise<void> {
    return this.notify('--ready', `--status=${status}`);
  }

  status(text: string): Promise<void> {
    return this.notify(`--status=${text}`);
  }

  /** Feeds the watchdog at half its period from the main loop: a stuck loop misses it. */
  startWatchdog(): void {
    const usec = Number(this.#env.WATCHDOG_USEC ?? 0);
    const pid = this.#env.WATCHDOG_PID;
    if (!this.active || !(usec > 0) || (pid !== undefined && Number(pid) !== process.pid)) return;
    const period = Math.max(500, Math.floor(usec / 2000));
    this.#watchdog = setInterval(() => void this.notify('WATCHDOG=1'), period);
    this.#watchdog.unref();
  }

  stopping(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog);
    return this.notify('STOPPING=1');
  }
}
