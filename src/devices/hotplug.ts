// Hotplug scripts, run by tsxend itself as libxl does (xend.md §6.5) rather than by udev: the
// verdict is the exit status, the message `hotplug-error`. (On a dom0 shared with xl, libxl's
// `libxl/disable_udev` gate keeps udev from running them a second time.)
//
// A HotplugRunner runs one script with a timeout; RealHotplugRunner spawns it, FakeHotplugRunner
// plays scripted outcomes for tests. A semaphore bounds how many run at once.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { processesWithEnv, procStat } from './procfs.js';

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

/** What settle() found: scripts still running for a domain, and how they ended. */
export interface StrayScripts {
  /** Processes found running at the first look. */
  readonly found: number;
  /** Of those, how many were still running at the end of the wait and were killed. */
  readonly killed: number;
  /** The XENBUS_PATH of each process found (backend/<class>/<domid>/<devid>). */
  readonly paths: readonly string[];
  readonly waitedMs: number;
}

export interface HotplugRunner {
  run(req: HotplugRequest): Promise<HotplugResult>;
  /**
   * Scripts still running for a domain (the TSXEND_UUID of their environment), started by this
   * runner or by a daemon that died: waits up to `waitMs` for them to exit, then kills their
   * process groups, and returns once none runs. Restart reconcile calls it before it tears a
   * domain down or reads its devices, so a late `block add` cannot act after the teardown.
   */
  settle(uuid: string, waitMs: number): Promise<StrayScripts>;
}

const STDERR_TAIL = 2048;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ScriptProcess {
  readonly pid: number;
  readonly pgid: number;
  readonly path: string;
}

/**
 * Every process whose environment names this domain's uuid and a XENBUS_PATH: the scripts and
 * whatever they started (environments are inherited).
 */
async function findScripts(uuid: string): Promise<ScriptProcess[]> {
  const out: ScriptProcess[] = [];
  for (const { pid, env } of await processesWithEnv([`TSXEND_UUID=${uuid}`])) {
    const path = env.find((v) => v.startsWith('XENBUS_PATH='))?.slice('XENBUS_PATH='.length);
    const stat = path === undefined ? undefined : await procStat(pid);
    if (path !== undefined && stat !== undefined) out.push({ pid, pgid: stat.pgid, path });
  }
  return out;
}

export class RealHotplugRunner implements HotplugRunner {
  /**
   * Found by their environment in /proc, not by pid files: a script spawned just before the
   * daemon died has no pid file yet, a pid file can outlive its process (pid reuse), and the
   * scripts' own children (losetup, ip) carry the same environment and are found too.
   */
  async settle(uuid: string, waitMs: number): Promise<StrayScripts> {
    const started = Date.now();
    const first = await findScripts(uuid);
    if (first.length === 0) return { found: 0, killed: 0, paths: [], waitedMs: 0 };
    let left = first;
    while (left.length > 0 && Date.now() - started < waitMs) {
      await sleep(50);
      left = await findScripts(uuid);
    }
    const killed = left.length;
    if (killed > 0) {
      const own = (await procStat('self'))?.pgid;
      // Their group (a script runs detached, leading its own), so what it started dies too.
      for (const p of left) {
        try {
          if (p.pgid > 1 && p.pgid !== own) process.kill(-p.pgid, 'SIGKILL');
          else process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (let i = 0; i < 100 && (await findScripts(uuid)).length > 0; i++) await sleep(20);
    }
    return { found: first.length, killed, paths: [...new Set(first.map((p) => p.path))].sort(), waitedMs: Date.now() - started };
  }

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

/**
 * The "processes" of a fake or simulated runner: each run in flight, by domain uuid, so settle()
 * behaves as the real one does — waits for them, then kills (aborts) the rest. A killed run's
 * `signal` fires; a run that honours it stops before acting, as a killed script would.
 */
export class InflightScripts {
  readonly #runs = new Set<{ uuid: string; path: string; done: Promise<unknown>; kill: AbortController }>();
  /** Runs `fn` as one script; its request's signal also fires when settle() kills it. */
  async track<T>(req: HotplugRequest, fn: (req: HotplugRequest, killed: AbortSignal) => Promise<T>): Promise<T> {
    const kill = new AbortController();
    const signal = req.signal ? AbortSignal.any([req.signal, kill.signal]) : kill.signal;
    const done = fn({ ...req, signal }, kill.signal);
    const run = { uuid: req.env['TSXEND_UUID'] ?? '', path: req.env['XENBUS_PATH'] ?? '', done: done.catch(() => undefined), kill };
    this.#runs.add(run);
    try {
      return await done;
    } finally {
      this.#runs.delete(run);
    }
  }
  async settle(uuid: string, waitMs: number): Promise<StrayScripts> {
    const started = Date.now();
    const first = [...this.#runs].filter((r) => r.uuid === uuid);
    if (first.length === 0) return { found: 0, killed: 0, paths: [], waitedMs: 0 };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(first.map((r) => r.done)), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    const left = first.filter((r) => this.#runs.has(r));
    for (const r of left) r.kill.abort(new Error('killed by settle'));
    await Promise.all(left.map((r) => r.done));
    return { found: first.length, killed: left.length, paths: [...new Set(first.map((r) => r.path))].sort(), waitedMs: Date.now() - started };
  }
}

/** A scripted runner for tests: each call answers what `respond` says (and may act first). */
export class FakeHotplugRunner implements HotplugRunner {
  readonly calls: HotplugRequest[] = [];
  readonly #inflight = new InflightScripts();
  constructor(private readonly respond: (req: HotplugRequest) => Promise<Partial<HotplugResult>> | Partial<HotplugResult> = () => ({ exitCode: 0 })) {}
  async run(req: HotplugRequest): Promise<HotplugResult> {
    this.calls.push(req);
    const started = Date.now();
    const r = await this.#inflight.track(req, async (tracked) => this.respond(tracked));
    return { exitCode: r.exitCode ?? 0, timedOut: r.timedOut ?? false, stderrTail: r.stderrTail ?? '', durationMs: r.durationMs ?? Date.now() - started };
  }
  settle(uuid: string, waitMs: number): Promise<StrayScripts> {
    return this.#inflight.settle(uuid, waitMs);
  }
}

export interface HotplugTimeouts {
  /** Per-class timeout in ms, clamped to [floor, cap]. */
  readonly perClass: Readonly<Record<string, number>>;
  readonly floorMs: number;
  readonly capMs: number;
}

export const DEFAULT_HOTPLUG_TIMEOUTS: HotplugTimeouts = { perClass: { vbd: 40_000, vif: 40_000 }, floorMs: 1_000, capMs: 300_000 };

/** One timeout for every class's scripts (`--hotplug-timeout`); the cap follows it so a long one is not clamped. */
export function uniformHotplugTimeouts(ms: number): HotplugTimeouts {
  const perClass = Object.fromEntries(Object.keys(DEFAULT_HOTPLUG_TIMEOUTS.perClass).map((c) => [c, ms]));
  return { perClass, floorMs: Math.min(DEFAULT_HOTPLUG_TIMEOUTS.floorMs, ms), capMs: Math.max(DEFAULT_HOTPLUG_TIMEOUTS.capMs, ms) };
}

/** The timeout of one script: its class's, clamped, and never past the create's deadline. */
export function scriptTimeout(t: HotplugTimeouts, cls: string, deadline: number): number {
  const own = Math.min(t.capMs, Math.max(t.floorMs, t.perClass[cls] ?? 40_000));
  return Math.max(1, Math.min(own, deadline - Date.now()));
}
