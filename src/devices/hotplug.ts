// Hotplug scripts, run by tsxend itself as libxl does (xend.md §6.5) rather than by udev: the
// verdict is the exit status, the message `hotplug-error`. (On a dom0 shared with xl, libxl's
// `libxl/disable_udev` gate keeps udev from running them a second time.)
//
// A HotplugRunner runs one script with a timeout; RealHotplugRunner spawns it, FakeHotplugRunner
// plays scripted outcomes for tests. A semaphore bounds how many run at once.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface HotplugRequest {
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HotplugResult {
  readonly exitCode: number | null;
  /** Set when the script was killed at its timeout. */
  readonly timedOut: boolean;
  readonly stderrTail: string;
  readonly durationMs: number;
}

export interface HotplugRunner {
  run(req: HotplugRequest): Promise<HotplugResult>;
}

const STDERR_TAIL = 2048;

export class RealHotplugRunner implements HotplugRunner {
  async run(req: HotplugRequest): Promise<HotplugResult> {
    const started = Date.now();
    if (!existsSync(req.script)) {
      return { exitCode: 127, timedOut: false, stderrTail: `${req.script}: no such script`, durationMs: 0 };
    }
    return new Promise((resolve) => {
      const child = spawn(req.script, [...req.args], {
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...req.env },
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true, // its own process group, so a timeout kills what it started too
      });
      let tail = '';
      let timedOut = false;
      child.stderr.on('data', (d: Buffer) => {
        tail = (tail + d.toString('utf8')).slice(-STDERR_TAIL);
      });
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill('SIGTERM');
        setTimeout(() => kill('SIGKILL'), 2000).unref();
      }, req.timeoutMs);
      const onAbort = () => kill('SIGKILL');
      req.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (err) => {
        tail += String(err.message);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        resolve({ exitCode: code, timedOut, stderrTail: tail.trim(), durationMs: Date.now() - started });
      });
    });
  }
}

/** Bounds the number of scripts running at once; the others wait their turn. */
export class Semaphore {
  #free: number;
  #queue: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#queue.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** A scripted runner for tests: each call answers what `respond` says (and may act first). */
export class FakeHotplugRunner implements HotplugRunner {
  readonly calls: HotplugRequest[] = [];
  constructor(private readonly respond: (req: HotplugRequest) => Promise<Partial<HotplugResult>> | Partial<HotplugResult> = () => ({ exitCode: 0 })) {}
  async run(req: HotplugRequest): Promise<HotplugResult> {
    this.calls.push(req);
    const started = Date.now();
    const r = await this.respond(req);
    return { exitCode: r.exitCode ?? 0, timedOut: r.timedOut ?? false, stderrTail: r.stderrTail ?? '', durationMs: r.durationMs ?? Date.now() - started };
  }
}

export interface HotplugTimeouts {
  /** Per-class timeout in ms, clamped to [floor, cap]. */
  readonly perClass: Readonly<Record<string, number>>;
  readonly floorMs: number;
  readonly capMs: number;
}

export const DEFAULT_HOTPLUG_TIMEOUTS: HotplugTimeouts = { perClass: { vbd: 40_000, vif: 40_000 }, floorMs: 1_000, capMs: 300_000 };

/** The timeout of one script: its class's, clamped, and never past the create's deadline. */
export function scriptTimeout(t: HotplugTimeouts, cls: string, deadline: number): number {
  const own = Math.min(t.capMs, Math.max(t.floorMs, t.perClass[cls] ?? 40_000));
  return Math.max(1, Math.min(own, deadline - Date.now()));
}
