// The DeviceManager: what the domain lifecycle asks of the devices layer, in the order it runs.
//
//   writeDevices    phase 1: every device's nodes, in the given order, nothing started
//   activateDevices phase 2: backend daemons and hotplug scripts, only once phase 1 is complete,
//                            then wait for InitWait (and hotplug-status=connected)
//   waitConnected   phase 3: after unpause, until backends and frontends are Connected
//   destroyDevices  Closing → Closed (deadline) → hotplug remove → nodes deleted
//
// Because no backend process can start before every node exists with its final permissions,
// the vfb/vkbd race of Xen changeset 14926 — and any race of that class — cannot happen; and a
// backend written by anyone else is refused by the writer as a foreign writer.

import type { DeviceClass, VfbConfig } from '../config/model.js';
import { TsxError, hasTsxCode } from '../errors.js';
import type { UndoJournal } from '../util/journal.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { DeviceManager, DeviceView, DomainDeviceContext, PlannedDevice } from './api.js';
import type { ControllerContext, DevController } from './controller.js';
import {
  E_BACKEND_DAEMON_EXITED,
  E_BACKEND_DEVICE_MISSING,
  E_BACKEND_NEVER_READY,
  E_BACKEND_UNEXPECTED_STATE,
  E_HOTPLUG_FAILED,
  E_HOTPLUG_HUNG,
  E_HOTPLUG_STATUS_ERROR,
} from './errors.js';
import { DEFAULT_HOTPLUG_TIMEOUTS, RealHotplugRunner, scriptTimeout, Semaphore, type HotplugRunner, type HotplugTimeouts } from './hotplug.js';
import { relativeBackendPath } from './paths.js';
import { readDevices } from './readback.js';
import { controllerFor } from './registry.js';
import { qemuXenpvCommand } from './vfb/qemu.js';
import { findDaemonByEnv, isSameProcess, procStart, startVfbDaemon, superviseForeignDaemon, type BackendDaemon, type VfbCommand } from './vfb/supervisor.js';
import { waitFor } from './wait.js';
import { removeDeviceNodes, writeDevices as writeDeviceNodes, type DeviceToWrite } from './writer.js';

export interface DeviceManagerOptions {
  hotplug?: HotplugRunner;
  timeouts?: HotplugTimeouts;
  /** Scripts running at once across all domains (default 4). */
  concurrency?: number;
  /** The vfb/vkbd backend daemon (default: Xen's device model; the simulated world names its simulator). */
  vfbCommand?: VfbCommand;
  /** Socket of the store in use, handed to scripts (XENSTORED_PATH) and backend daemons. */
  xenstoredPath?: string;
  /** How long a device may take to close on destroy before it is forced (default 10 s, libxl's). */
  closeTimeoutMs?: number;
  /** Resolves a backend given by name; numbers are taken as domids. */
  resolveBackend?: (name: string) => number | undefined;
  /** How long reconcile waits for a dead daemon's scripts to finish before killing them (default 10 s). */
  strayScriptWaitMs?: number;
  /** How often a re-adopted backend daemon (not our child) is checked for life (default 1 s). */
  daemonPollMs?: number;
}

/**
 * Where a domain's backend daemon is recorded (pid and start time, dom0-only like all of
 * /libxl/<domid>): a restarted daemon finds it there to supervise it, or to stop it.
 */
const daemonRecord = (domid: number): string => `/libxl/${domid}/vfb-daemon`;

async function recordedDaemon(xs: XenstoreClient, domid: number): Promise<{ pid: number; start: string } | undefined> {
  const [pid, start] = await Promise.all([xs.tryRead(`${daemonRecord(domid)}/pid`), xs.tryRead(`${daemonRecord(domid)}/start`)]);
  if (pid === undefined || start === undefined || !/^\d+$/.test(pid)) return undefined;
  return { pid: Number(pid), start };
}

interface Running {
  readonly daemons: Map<number, BackendDaemon>;
  /** Domains whose backend daemon exited on its own (e.g. its xenstored went away). */
  readonly exited: Set<number>;
}

function backendDomid(name: string, resolve?: (n: string) => number | undefined): number {
  if (/^\d+$/.test(name)) return Number(name);
  if (name === 'Domain-0') return 0;
  const id = resolve?.(name);
  if (id === undefined) throw new TsxError(E_BACKEND_DEVICE_MISSING, `backend domain ${JSON.stringify(name)} does not exist`, { details: { backend: name } });
  return id;
}

/** ` (probably: WHY)` when the controller can tell why a silent script failed, else ''. */
function explained(ctrl: DevController, cfg: never): string {
  const why = ctrl.explainFailure?.(cfg);
  return why === undefined ? '' : ` (probably: ${why})`;
}

function ctlCtx(ctx: DomainDeviceContext, backend: number): ControllerContext {
  return { domid: ctx.domid, uuid: ctx.uuid, name: ctx.name, backendDomid: backend, ...(ctx.protocol ? { protocol: ctx.protocol } : {}) };
}

export function createDeviceManager(options: DeviceManagerOptions = {}): DeviceManager {
  // The defaults are the real world's; a stand-in is only ever passed in (src/sim).
  const hotplug = options.hotplug ?? new RealHotplugRunner();
  const vfbCommand = options.vfbCommand ?? qemuXenpvCommand();
  const timeouts = options.timeouts ?? DEFAULT_HOTPLUG_TIMEOUTS;
  const scripts = new Semaphore(options.concurrency ?? 4);
  const running: Running = { daemons: new Map(), exited: new Set() };
  /** Backend daemons whose activation did not wait for them (unpauseFollows): their exit, by domid. */
  const starting = new Map<number, Promise<never>>();
  const tearingDown = new WeakSet<BackendDaemon>();

  const view = (v: DeviceView, state: DeviceView['state']): DeviceView => ({ ...v, state });

  async function takenDevids(xs: XenstoreClient, domid: number, ctrl: DevController): Promise<Set<number>> {
    const ids = (await xs.tryDirectory(`/libxl/${domid}/device/${ctrl.frontendKind}`)) ?? [];
    return new Set(ids.map(Number));
  }

  async function runScript(ctx: DomainDeviceContext, ctrl: DevController, v: DeviceView, action: 'add' | 'remove'): Promise<void> {
    const cfg = v.config as never;
    const script = ctrl.script?.(cfg);
    if (!script) return;
    const kind = v.backendPath.split('/')[5]!;
    const args = ctrl.deviceClass === 'vif' ? [action === 'add' ? 'online' : 'offline', 'type_if=vif'] : [action];
    const env: Record<string, string> = {
      script,
      XENBUS_TYPE: kind,
      XENBUS_PATH: relativeBackendPath(kind, ctx.domid, v.devid),
      XENBUS_BASE_PATH: 'backend',
      TSXEND_DOMID: String(ctx.domid),
      TSXEND_UUID: ctx.uuid,
      TSXEND_NAME: ctx.name,
      ...(options.xenstoredPath ? { XENSTORED_PATH: options.xenstoredPath } : {}),
      ...(ctrl.scriptEnv?.(cfg, ctlCtx(ctx, v.backendDomid), v.devid) ?? {}),
    };
    const timeoutMs = scriptTimeout(timeouts, ctrl.deviceClass, action === 'add' ? ctx.deadline : Date.now() + timeouts.capMs);
    ctx.emit({ type: 'device.hotplug', devClass: v.class, devid: v.devid, step: `${script} ${args.join(' ')}`, outcome: 'started' });
    const r = await scripts.use(() => hotplug.run({ script, args, env, timeoutMs, ...(action === 'add' ? { signal: ctx.signal } : {}) }));
    const details = { class: v.class, devid: v.devid, script, args, exitCode: r.exitCode, stderrTail: r.stderrTail, waitedMs: r.durationMs, path: v.backendPath };
    if (r.timedOut) {
      const hotplugError = await ctx.xs.tryRead(`${v.backendPath}/hotplug-error`);
      throw new TsxError(E_HOTPLUG_HUNG, `hotplug script ${script} for ${v.class} ${v.devid} did not finish within ${timeoutMs} ms and was killed`, {
        details: { ...details, hotplugError: hotplugError ?? null },
      });
    }
    if (r.exitCode !== 0) {
      const [hotplugError, backendState] = await Promise.all([ctx.xs.tryRead(`${v.backendPath}/hotplug-error`), ctx.xs.tryRead(`${v.backendPath}/state`)]);
      throw new TsxError(
        E_HOTPLUG_FAILED,
        `hotplug script ${script} ${args.join(' ')} for ${v.class} ${v.devid} exited ${r.exitCode}: ${hotplugError ?? (r.stderrTail.split('\n').at(-1) || `no message${explained(ctrl, cfg)}`)}`,
        { details: { ...details, hotplugError: hotplugError ?? null, backendState: backendState ?? null } },
      );
    }
    if (action === 'add') {
      const status = await ctx.xs.tryRead(`${v.backendPath}/hotplug-status`);
      if (status === 'error') {
        const hotplugError = await ctx.xs.tryRead(`${v.backendPath}/hotplug-error`);
        throw new TsxError(E_HOTPLUG_STATUS_ERROR, `${v.class} ${v.devid}: hotplug-status=error: ${hotplugError ?? 'no hotplug-error'}`, { details: { ...details, hotplugError: hotplugError ?? null } });
      }
    }
    ctx.emit({ type: 'device.hotplug', devClass: v.class, devid: v.devid, step: `${script} ${args.join(' ')}`, outcome: 'ok', data: { ms: r.durationMs } });
  }

  /** Waits until the backend is in InitWait or later (and, for daemons, says connected). */
  async function waitInitWait(ctx: DomainDeviceContext, v: DeviceView, daemonExit?: Promise<never>): Promise<void> {
    const wait = waitFor(ctx.xs, {
      path: `${v.backendPath}/state`,
      until: (s) => {
        if (s === undefined) return false;
        const n = Number(s);
        if (n >= 5) throw new TsxError(E_BACKEND_UNEXPECTED_STATE, `${v.class} ${v.devid}: backend went to state ${n} while starting`, { details: { class: v.class, devid: v.devid, path: v.backendPath, state: n } });
        return n >= 2;
      },
      deadline: ctx.deadline,
      signal: ctx.signal,
      what: `backend ${v.backendPath} of ${v.class} ${v.devid} to reach InitWait`,
      timeoutError: E_BACKEND_NEVER_READY,
      details: { class: v.class, devid: v.devid },
    });
    await (daemonExit ? Promise.race([wait, daemonExit]) : wait);
    if ((await ctx.xs.tryRead(`${v.backendPath}/frontend`)) === undefined) {
      throw new TsxError(E_BACKEND_DEVICE_MISSING, `${v.class} ${v.devid}: backend ${v.backendPath} vanished`, { details: { class: v.class, devid: v.devid, path: v.backendPath } });
    }
  }

  /** A backend daemon's exit, as a child's or a re-adopted one's: its devices are no longer served. */
  function onDaemonExit(ctx: DomainDeviceContext, devid: number, daemon: () => BackendDaemon | undefined, code: number | null, stderr: string): void {
    const d = daemon();
    if (d !== undefined && running.daemons.get(ctx.domid) === d) {
      running.exited.add(ctx.domid);
      running.daemons.delete(ctx.domid);
    }
    // A daemon whose domain is being torn down may leave on its own (the device model exits
    // once its devices close): that is the teardown going as planned, not a failure.
    if (d !== undefined && tearingDown.has(d)) return;
    ctx.emit({ type: 'backend.exited', devClass: 'vfb', devid, outcome: 'failed', data: { exitCode: code, stderrTail: stderr } });
  }

  async function startDaemon(ctx: DomainDeviceContext, views: readonly DeviceView[], journal: UndoJournal): Promise<{ died: Promise<never> } | undefined> {
    const vfb = views.find((v) => v.class === 'vfb');
    if (!vfb) return undefined;
    if (!options.xenstoredPath) throw new TsxError(E_BACKEND_DAEMON_EXITED, 'a vfb needs its backend daemon, but no xenstore socket is known to hand it', { details: { class: 'vfb' } });
    let reject: (e: Error) => void = () => undefined;
    const died = new Promise<never>((_, r) => (reject = r));
    died.catch(() => undefined);
    const cmd = vfbCommand;
    const args = { domid: ctx.domid, backendDomid: vfb.backendDomid, name: ctx.name, xenstoredPath: options.xenstoredPath, vfb: vfb.config as VfbConfig };
    if (cmd.prepare) {
      await cmd.prepare(ctx.xs, args);
      journal.push('vfb backend daemon xenstore', () => cmd.cleanup?.(ctx.xs, ctx.domid) ?? Promise.resolve());
    }
    const daemon = startVfbDaemon(cmd, {
      ...args,
      uuid: ctx.uuid,
      onExit: (code, stderr) => {
        onDaemonExit(ctx, vfb.devid, () => daemon, code, stderr);
        reject(new TsxError(E_BACKEND_DAEMON_EXITED, `the framebuffer backend of domain ${ctx.domid} exited (${code})${stderr ? `: ${stderr.split('\n').at(-1)}` : ''}`, { details: { class: 'vfb', devid: vfb.devid, exitCode: code, stderrTail: stderr } }));
      },
    });
    running.daemons.set(ctx.domid, daemon);
    running.exited.delete(ctx.domid);
    journal.push('vfb backend daemon', () => daemon.stop());
    ctx.emit({ type: 'device.daemon', devClass: 'vfb', devid: vfb.devid, outcome: 'started', data: { pid: daemon.pid } });
    // Recorded so that a daemon restarted after a crash can supervise (or stop) it.
    const at = daemon.pid === undefined ? undefined : await procStart(daemon.pid);
    if (daemon.pid !== undefined && at !== undefined) {
      const rec = daemonRecord(ctx.domid);
      const recorded = await ctx.xs
        .transaction(async (tx) => {
          await Promise.all([tx.write(`${rec}/pid`, String(daemon.pid)), tx.write(`${rec}/start`, at.start)]);
        })
        .then(
          () => true,
          () => false,
        );
      if (recorded) journal.push('vfb backend daemon record', () => ctx.xs.rm(rec).catch(() => undefined));
    }
    if (cmd.configure) await Promise.race([cmd.configure(args), died]);
    return { died };
  }

  return {
    async writeDevices(ctx: DomainDeviceContext, devices: readonly PlannedDevice[], journal: UndoJournal): Promise<DeviceView[]> {
      const todo: DeviceToWrite[] = [];
      const taken = new Map<DeviceClass, Set<number>>();
      for (const d of devices) {
        const ctrl = controllerFor(d.entry.class);
        const backend = backendDomid(d.entry.config.backend, options.resolveBackend);
        let ids = taken.get(d.entry.class);
        if (!ids) taken.set(d.entry.class, (ids = await takenDevids(ctx.xs, ctx.domid, ctrl)));
        const devid = ctrl.devid(d.entry.config, ids);
        ids.add(devid);
        ctx.emit({ type: 'device.writing', devClass: d.entry.class, devid, outcome: 'started' });
        todo.push({ ctrl, uuid: d.uuid, entry: d.entry, ctx: ctlCtx(ctx, backend), devid });
      }
      // One transaction for them all: nothing of any device exists until all of it does.
      const out = await writeDeviceNodes(ctx.xs, todo);
      for (const v of out) {
        journal.push(`${v.class} ${v.devid} nodes`, async () => {
          await removeDeviceNodes(ctx.xs, v);
        });
        ctx.emit({ type: 'device.written', devClass: v.class, devid: v.devid, outcome: 'ok', data: { frontend: v.frontendPath, backend: v.backendPath } });
      }
      return out;
    },

    async activateDevices(ctx: DomainDeviceContext, views: readonly DeviceView[], journal: UndoJournal): Promise<DeviceView[]> {
      starting.delete(ctx.domid);
      const daemonDied = (await startDaemon(ctx, views, journal))?.died;
      // One device failing stops the others' waits, but a hotplug script already running is
      // let finish and its undo journaled: a rollback that ran before it ended would leave
      // what it writes after (a backend, a frontend node, a domain held dying).
      const stop = new AbortController();
      const waitCtx = { ...ctx, signal: AbortSignal.any([ctx.signal, stop.signal]) };
      let failure: unknown;
      const results = await Promise.allSettled(
        views.map(async (v) => {
          const ctrl = controllerFor(v.class);
          try {
            switch (ctrl.activation) {
              case 'none':
                return view(v, 'connected');
              case 'hotplug-script':
                await waitInitWait(waitCtx, v);
                await runScript(ctx, ctrl, v, 'add');
                journal.push(`${v.class} ${v.devid} hotplug remove`, () => runScript(ctx, ctrl, v, 'remove').catch(() => undefined));
                break;
              case 'backend-daemon':
                if (ctx.unpauseFollows) {
                  // Its start is off the create's critical path: waited for in waitConnected.
                  if (daemonDied) starting.set(ctx.domid, daemonDied);
                  return view(v, 'initialising');
                }
                await waitInitWait(waitCtx, v, daemonDied);
                break;
              case 'kernel-backend':
                await waitInitWait(waitCtx, v);
                break;
            }
            ctx.emit({ type: 'device.init-wait', devClass: v.class, devid: v.devid, outcome: 'ok' });
            return view(v, 'init-wait');
          } catch (err) {
            // A wait this activation stopped itself is no failure of that device.
            if (stop.signal.aborted && !ctx.signal.aborted && failure !== undefined) throw err;
            failure ??= err;
            stop.abort();
            ctx.emit({ type: 'device.failed', devClass: v.class, devid: v.devid, outcome: 'failed', data: { code: hasTsxCode(err) ? err.code : 'TSX_ERR_INTERNAL', message: (err as Error).message } });
            throw err;
          }
        }),
      );
      if (failure !== undefined) throw failure as Error;
      return results.map((r) => (r as PromiseFulfilledResult<DeviceView>).value);
    },

    async waitConnected(ctx: DomainDeviceContext, views: readonly DeviceView[]): Promise<DeviceView[]> {
      // A backend daemon activation left starting (unpauseFollows): its exit fails these waits.
      const died = starting.get(ctx.domid);
      starting.delete(ctx.domid);
      const orDied = <T>(p: Promise<T>): Promise<T> => (died ? Promise.race([p, died]) : p);
      return Promise.all(
        views.map(async (v) => {
          const ctrl = controllerFor(v.class);
          if (ctrl.activation === 'none') return view(v, 'connected');
          if (v.state === 'initialising' && ctrl.activation === 'backend-daemon') {
            await waitInitWait(ctx, v, died);
            ctx.emit({ type: 'device.init-wait', devClass: v.class, devid: v.devid, outcome: 'ok' });
          }
          // Backend first, then the frontend (each wait watches its own node).
          for (const [side, path] of [['backend', v.backendPath], ['frontend', v.frontendPath]] as const) {
            await orDied(waitFor(ctx.xs, {
              path: `${path}/state`,
              until: (st) => {
                const n = Number(st ?? 0);
                if (n >= 5) throw new TsxError(E_BACKEND_UNEXPECTED_STATE, `${v.class} ${v.devid}: ${side} closing (state ${n}) while connecting`, { details: { class: v.class, devid: v.devid, side, state: n } });
                return n === 4;
              },
              deadline: ctx.deadline,
              signal: ctx.signal,
              what: `the ${side} of ${v.class} ${v.devid} to be Connected`,
              timeoutError: E_BACKEND_NEVER_READY,
              details: { class: v.class, devid: v.devid, side },
            }));
          }
          ctx.emit({ type: 'device.connected', devClass: v.class, devid: v.devid, outcome: 'ok' });
          return view(v, 'connected');
        }),
      );
    },

    async destroyDevices(ctx: DomainDeviceContext, views: readonly DeviceView[], opts: { force: boolean }): Promise<{ leftovers: string[] }> {
      starting.delete(ctx.domid);
      const leftovers: string[] = [];
      const closeDeadline = Math.min(ctx.deadline, Date.now() + (options.closeTimeoutMs ?? 10_000));
      const own = running.daemons.get(ctx.domid);
      if (own) tearingDown.add(own);
      // Ask every backend to close at once, then wait for each.
      await Promise.all(
        views.map(async (v) => {
          if (controllerFor(v.class).activation === 'none') return;
          await ctx.xs
            .transaction(async (tx) => {
              const state = await tx.tryRead(`${v.backendPath}/state`);
              if (state === undefined) return;
              await Promise.all([tx.write(`${v.backendPath}/online`, '0'), state === '6' ? Promise.resolve() : tx.write(`${v.backendPath}/state`, '5')]);
            })
            .catch(() => undefined);
        }),
      );
      // A daemon that leaves while its devices close (before it wrote Closed) ends their wait:
      // nobody is left to close them.
      const daemonGone = new AbortController();
      void own?.exited.then(() => daemonGone.abort());
      await Promise.all(
        [...views].reverse().map(async (v) => {
          const ctrl = controllerFor(v.class);
          const served = ctrl.activation === 'backend-daemon';
          const unserved = served && running.exited.has(ctx.domid);
          if (!opts.force && ctrl.activation !== 'none' && !unserved) {
            await waitFor(ctx.xs, {
              path: `${v.backendPath}/state`,
              until: (s) => s === undefined || s === '6',
              deadline: closeDeadline,
              ...(served && own ? { signal: daemonGone.signal } : {}),
              what: `${v.class} ${v.devid} to close`,
              timeoutError: E_BACKEND_NEVER_READY,
            }).catch(() => {
              if (!(served && daemonGone.signal.aborted)) ctx.emit({ type: 'device.close-timeout', devClass: v.class, devid: v.devid, outcome: 'failed' });
            });
          }
          // Scripts run even on a forced destroy: a loop device must never be left behind.
          if (ctrl.activation === 'hotplug-script') {
            await runScript(ctx, ctrl, v, 'remove').catch((err: unknown) => {
              leftovers.push(`${v.backendPath} (hotplug remove failed: ${(err as Error).message})`);
            });
          }
        }),
      );
      running.exited.delete(ctx.domid);
      const daemon = running.daemons.get(ctx.domid);
      if (daemon) {
        running.daemons.delete(ctx.domid);
        await daemon.stop();
      } else if (views.some((v) => v.class === 'vfb')) {
        // A daemon a dead toolstack started and nobody adopted (a create torn down at start).
        const rec = (await recordedDaemon(ctx.xs, ctx.domid).catch(() => undefined)) ?? (await findDaemonByEnv(ctx.uuid));
        if (rec && (await isSameProcess(rec.pid, rec.start))) await superviseForeignDaemon(rec.pid, rec.start, { pollMs: 60_000, onExit: () => undefined }).stop();
      }
      if (views.some((v) => v.class === 'vfb')) {
        await ctx.xs.rm(daemonRecord(ctx.domid)).catch(() => undefined);
        await vfbCommand.cleanup?.(ctx.xs, ctx.domid).catch(() => undefined);
      }
      for (const v of views) {
        leftovers.push(...(await removeDeviceNodes(ctx.xs, v).catch((err: unknown) => [`${v.backendPath} (${(err as Error).message})`])));
        ctx.emit({ type: 'device.closed', devClass: v.class, devid: v.devid, outcome: 'ok' });
      }
      return { leftovers };
    },

    readDevices,

    async adoptDevices(ctx: DomainDeviceContext, views: readonly DeviceView[]): Promise<void> {
      const vfb = views.find((v) => v.class === 'vfb');
      if (!vfb || running.daemons.has(ctx.domid)) return;
      const rec = (await recordedDaemon(ctx.xs, ctx.domid)) ?? (await findDaemonByEnv(ctx.uuid));
      if (rec === undefined) {
        // Neither recorded nor running: it is gone, as if it had died while no toolstack ran.
        running.exited.add(ctx.domid);
        ctx.emit({ type: 'backend.exited', devClass: 'vfb', devid: vfb.devid, outcome: 'failed', data: { exitCode: null, stderrTail: '', reason: `no backend daemon recorded at ${daemonRecord(ctx.domid)} or running` } });
        return;
      }
      if (!(await isSameProcess(rec.pid, rec.start))) {
        // It died while no toolstack ran: the same report as a death seen live.
        running.exited.add(ctx.domid);
        ctx.emit({ type: 'backend.exited', devClass: 'vfb', devid: vfb.devid, outcome: 'failed', data: { exitCode: null, stderrTail: '', pid: rec.pid } });
        return;
      }
      const daemon: BackendDaemon = superviseForeignDaemon(rec.pid, rec.start, {
        pollMs: options.daemonPollMs ?? 1_000,
        onExit: (code, stderr) => onDaemonExit(ctx, vfb.devid, () => daemon, code, stderr),
      });
      running.daemons.set(ctx.domid, daemon);
      running.exited.delete(ctx.domid);
      ctx.emit({ type: 'device.daemon', devClass: 'vfb', devid: vfb.devid, outcome: 'ok', data: { pid: rec.pid, adopted: true } });
    },

    settleHotplug: (uuid: string) => hotplug.settle(uuid, options.strayScriptWaitMs ?? 10_000),
  };
}
