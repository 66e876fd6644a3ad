// Starts and supervises a framebuffer backend daemon for one domain: its exit is noticed and
// reported, and destroy kills it. The command is configurable; the default is simfb.js.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface VfbCommand {
  /** Program and leading arguments; tsxend appends --domid, --backend-domid, --xenstore. */
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** simfb.js next to this module (dist), or the compiled copy when running from sources. */
export function defaultVfbCommand(): VfbCommand {
  const here = fileURLToPath(new URL('./simfb.js', import.meta.url));
  const script = existsSync(here) ? here : here.replace(/\/src\/devices\/vfb\/simfb\.js$/, '/dist/devices/vfb/simfb.js');
  return { argv: [process.execPath, script] };
}

export interface BackendDaemon {
  readonly pid: number | undefined;
  /** Resolves with the exit code when the daemon exits (for any reason). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function startVfbDaemon(
  cmd: VfbCommand,
  opts: { domid: number; backendDomid: number; xenstoredPath: string; vncpasswd?: string; onExit: (code: number | null, stderr: string) => void },
): BackendDaemon {
  const [prog, ...lead] = cmd.argv;
  const child: ChildProcess = spawn(prog!, [...lead, '--domid', String(opts.domid), '--backend-domid', String(opts.backendDomid), '--xenstore', opts.xenstoredPath], {
    env: { ...process.env, ...cmd.env, ...(opts.vncpasswd ? { TSXEND_VNCPASSWD: opts.vncpasswd } : {}) },
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
