// Starts and supervises a framebuffer backend daemon for one domain: its exit is noticed and
// reported, and destroy kills it. The command is configurable: Xen's device model (qemu.ts, the
// default), or what the simulated world names (src/sim: the bundled simfb.js).

import { spawn, type ChildProcess } from 'node:child_process';
import type { VfbConfig } from '../../config/model.js';
import type { XenstoreClient } from '../../xenstore/types.js';
import { processesWithEnv, procStat } from '../procfs.js';

/** What a backend daemon is started for. */
export interface VfbDaemonArgs {
  readonly domid: number;
  readonly backendDomid: number;
  readonly name: string;
  readonly xenstoredPath: string;
  readonly vfb: VfbConfig;
}

export interface VfbCommand {
  /** Which program serves the framebuffer: Xen's device model, or the simulator (or a test's). */
  readonly kind?: 'qemu-xenpv' | 'simulated';
  /** Program and leading arguments. */
  readonly argv: readonly string[];
  /** The arguments appended for one domain (default: xen-vncfb's --domid, --backend-domid, --xenstore). */
  readonly args?: (a: VfbDaemonArgs) => string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Xenstore the program expects before it starts (the device model's directory). */
  readonly prepare?: (xs: XenstoreClient, a: VfbDaemonArgs) => Promise<void>;
  /** Runs once the program is up: hands it what must not be on its command line (a VNC password). */
  readonly configure?: (a: VfbDaemonArgs) => Promise<void>;
  /** Removes what prepare and the program left in xenstore once it has stopped. */
  readonly cleanup?: (xs: XenstoreClient, domid: number) => Promise<void>;
}

/** A backend daemon's arguments as xen-vncfb took them (and the bundled simulator does). */
const daemonArgs = (a: VfbDaemonArgs): string[] => ['--domid', String(a.domid), '--backend-domid', String(a.backendDomid), '--xenstore', a.xenstoredPath];

export interface BackendDaemon {
  readonly pid: number | undefined;
  /** Resolves with the exit code when the daemon exits (for any reason). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function startVfbDaemon(
  cmd: VfbCommand,
  opts: VfbDaemonArgs & { uuid?: string; onExit: (code: number | null, stderr: string) => void },
): BackendDaemon {
  const [prog, ...lead] = cmd.argv;
  const vncpasswd = opts.vfb.vncpasswd;
  const child: ChildProcess = spawn(prog!, [...lead, ...(cmd.args ?? daemonArgs)(opts)], {
    env: {
      ...process.env,
      ...cmd.env,
      // The simulator takes the password from its environment (never its command line, which
      // every user can read); the device model gets it over its control socket (configure).
      ...(vncpasswd && cmd.configure === undefined ? { TSXEND_VNCPASSWD: vncpasswd } : {}),
      // Marks it as this domain's daemon: found by its environment when its record is not (see findDaemonByEnv).
      ...(opts.uuid ? { TSXEND_UUID: opts.uuid, TSXEND_BACKEND_DAEMON: 'vfb' } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2048)));
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping) opts.onExit(code ?? (signal ? 128 : null), stderr.trim());
      resolve(code);
    });
    child.once('error', (err) => {
      stderr += err.message;
    });
  });
  return {
    pid: child.pid,
    exited,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A process's start time and whether it is a zombie (see procStat). */
export async function procStart(pid: number): Promise<{ start: string; zombie: boolean } | undefined> {
  const stat = await procStat(pid);
  return stat === undefined ? undefined : { start: stat.start, zombie: stat.state === 'Z' };
}

/**
 * The vfb daemon of a domain found by its environment (TSXEND_UUID and TSXEND_BACKEND_DAEMON),
 * for when its record is missing: the toolstack died between the spawn and the record, or
 * xenstored lost its nodes. The oldest match is the daemon (a wrapper's children inherit it).
 */
export async function findDaemonByEnv(uuid: string): Promise<{ pid: number; start: string } | undefined> {
  const found: { pid: number; start: string }[] = [];
  for (const { pid } of await processesWithEnv([`TSXEND_UUID=${uuid}`, 'TSXEND_BACKEND_DAEMON=vfb'])) {
    const at = await procStart(pid);
    if (at && !at.zombie) found.push({ pid, start: at.start });
  }
  return found.sort((a, b) => Number(a.start) - Number(b.start) || a.pid - b.pid)[0];
}

/** True while the process `pid` that started at `start` runs (not reused, not a zombie). */
export async function isSameProcess(pid: number, start: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = await procStart(pid);
  return now !== undefined && now.start === start && !now.zombie;
}

/**
 * Supervises a daemon that is not our child (started by a daemon that died, re-adopted at
 * start): no exit event reaches us, so it is polled — alive, and the same process by its start
 * time. Its exit is reported as a child's would be (the exit code is not knowable: null).
 */
export function superviseForeignDaemon(pid: number, start: string, opts: { pollMs: number; onExit: (code: number | null, stderr: string) => void }): BackendDaemon {
  let stopping = false;
  let resolveExit: (code: number | null) => void = () => undefined;
  const exited = new Promise<number | null>((r) => (resolveExit = r));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void isSameProcess(pid, start)
      .then((alive) => {
        if (alive) return;
        clearInterval(timer);
        if (!stopping) opts.onExit(null, '');
        resolveExit(null);
      })
      .finally(() => (busy = false));
  }, opts.pollMs);
  timer.unref();
  const signal = async (sig: NodeJS.Signals) => {
    // Never signal a pid that now names another process.
    if (await isSameProcess(pid, start)) process.kill(pid, sig);
  };
  return {
    pid,
    exited,
    async stop() {
      stopping = true;
      clearInterval(timer);
      const gone = async (ms: number): Promise<boolean> => {
        const t = Date.now();
        for (;;) {
          if (!(await isSameProcess(pid, start))) return true;
          if (Date.now() - t >= ms) return false;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      if (!(await gone(0))) {
        await signal('SIGTERM').catch(() => undefined);
        if (!(await gone(2000))) {
          await signal('SIGKILL').catch(() => undefined);
          await gone(2000);
        }
      }
      resolveExit(null);
    },
  };
}
