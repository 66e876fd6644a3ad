// The Orchestrator (src/lifecycle/api.ts): domains with explicit states, one operation at a
// time per domain, parallel creates up to a limit, cross-domain claims taken before anything is
// written, every multi-step operation undone by its journal on failure or cancel. Listing reads
// memory only and never waits for an operation.

import type { Logger } from 'pino';
import { validateConfig } from '../config/validate.js';
import type { DeviceClass, DeviceEntry, XendConfig } from '../config/model.js';
import type { DeviceManager, DomainDeviceContext } from '../devices/api.js';
import { E_BACKEND_DAEMON_EXITED } from '../devices/errors.js';
import { TsxError, hasTsxCode } from '../errors.js';
import type { DomainInfo, Hypervisor } from '../hypervisor/types.js';
import { UndoJournal } from '../util/journal.js';
import { E_XS_DISCONNECTED } from '../xenstore/errors.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type {
  ConfigStore,
  CreateOptions,
  DestroyReport,
  DeviceView,
  DomainState,
  DomainView,
  HealthView,
  HostView,
  Operation,
  Orchestrator,
  StoredDomain,
  IncomingView,
  MigrateReport,
  MigrationPeer,
  MigrationTarget,
  SaveReport,
  ShutdownMode,
  TaskView,
} from './api.js';
import { Claims } from './claims.js';
import { runCreate, type CreateStep, type RestoreSource, type ShellLease } from './create.js';
import { ShellPool, type PreparedShellsOptions } from './shells.js';
import { openImageFile, type RestoreOptions } from './restore.js';
import { runSave, type SaveOptions } from './save.js';
import { runShutdown } from './shutdown.js';
import { runAttach, runDetach } from './device-ops.js';
import { IncomingMigrations } from './incoming.js';
import { runMigrate, type MigrateOptions } from './migrate.js';
import type { Readable } from 'node:stream';
import { DomainRecord, quarantineKey, XENSTORE_LOST } from './domain.js';
import { DomainRecords } from './records.js';
import { E_BAD_REQUEST, E_NO_DOMAIN, E_NOT_MANAGED, E_PARTIAL_DESTROY, E_ROLLBACK_FAILED, E_STOPPING, E_UUID_TAKEN } from './errors.js';
import { EventLog, type EventInput } from './events.js';
import { domPath, removeDomainNodes, vmPathIn, writeVcpus } from './layout.js';
import { reactToShutdown } from './reactions.js';
import { reconcile } from './reconcile.js';
import { StoreOutage } from './resync.js';
import { backendDomids, retryingXs, sweepDomainLeftovers } from './reconnect.js';
import { canTransition, checkAllowed, Limiter } from './states.js';
import { type Task, TaskTable } from './tasks.js';

export interface OrchestratorDeps {
  readonly xs: XenstoreClient;
  readonly hypervisor: Hypervisor;
  readonly devices: DeviceManager;
  readonly store: ConfigStore;
  readonly logger?: Logger;
  readonly maxParallelCreates?: number;
  /** Deadline for a create's device waits (default 60 s). */
  readonly createTimeoutMs?: number;
  /** How long a guest has to honour control/shutdown (default 60 s). */
  readonly shutdownTimeoutMs?: number;
  /** A domain that dies sooner than this after starting is not restarted (xend: 60 s). */
  readonly minRestartIntervalMs?: number;
  readonly eventRingSize?: number;
  /** How long a rollback or destroy waits for a lost xenstore connection to come back (default 10 s). */
  readonly xsReconnectWaitMs?: number;
  /** Speaks to another tsxend for a migration (the daemon's HTTP client; none: no migration can be recovered). */
  readonly peerFor?: (target: MigrationTarget) => MigrationPeer;
  /** How long an incoming migration waits for its commit before it is dropped (default 10 min). */
  readonly incomingExpiryMs?: number;
  /** Keep this many prepared shells (shells.ts) that fitting creates start from. */
  readonly preparedShells?: PreparedShellsOptions;
  /** Tests: fail a create at a step. */
  readonly inject?: (step: CreateStep, config: XendConfig) => void | Promise<void>;
}

export class DomainOrchestrator implements Orchestrator {
  readonly events: EventLog;
  readonly xs: XenstoreClient;
  readonly hv: Hypervisor;
  readonly devices: DeviceManager;
  readonly store: ConfigStore;
  readonly log: Logger | undefined;
  readonly tasks = new TaskTable();
  readonly claims = new Claims();
  readonly records = new DomainRecords();
  readonly #limiter: Limiter;
  readonly opts: Required<Pick<OrchestratorDeps, 'createTimeoutMs' | 'shutdownTimeoutMs' | 'minRestartIntervalMs' | 'xsReconnectWaitMs'>>;
  readonly #inject: OrchestratorDeps['inject'];
  /** How a restarted source reaches the destination of a migration it died in. */
  readonly peerFor: OrchestratorDeps['peerFor'];
  readonly incoming: IncomingMigrations;
  /** Prepared shells: `await orchestrator.shells.whenFull()` waits for the pool to hold its target. */
  readonly shells: ShellPool;
  readonly #cleanups: (() => void | Promise<void>)[] = [];
  #stopping = false;
  #started = false;
  readonly #outage: StoreOutage = new StoreOutage(this, {
    ensureBase: (xs) => this.#ensureBase(xs),
    refresh: (r, info) => this.#refresh(r, info),
    stopping: () => this.#stopping,
  });

  constructor(deps: OrchestratorDeps) {
    this.xs = deps.xs;
    this.hv = deps.hypervisor;
    this.devices = deps.devices;
    this.store = deps.store;
    this.log = deps.logger;
    this.events = new EventLog(deps.eventRingSize ?? 10_000);
    this.#limiter = new Limiter(deps.maxParallelCreates ?? 8);
    this.opts = { createTimeoutMs: deps.createTimeoutMs ?? 60_000, shutdownTimeoutMs: deps.shutdownTimeoutMs ?? 60_000, minRestartIntervalMs: deps.minRestartIntervalMs ?? 60_000, xsReconnectWaitMs: deps.xsReconnectWaitMs ?? 10_000 };
    this.#inject = deps.inject;
    this.peerFor = deps.peerFor;
    this.incoming = new IncomingMigrations(this, deps.incomingExpiryMs ?? 10 * 60_000);
    this.shells = new ShellPool(
      { xs: this.xs, cleanupXs: retryingXs(this.xs, this.opts.xsReconnectWaitMs), hv: this.hv, store: this.store, limiter: this.#limiter, ...(this.log ? { log: this.log.child({ part: 'shells' }) } : {}) },
      deps.preparedShells,
    );
  }

  // ---- start / stop / health ----

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#ensureBase(this.xs);
    this.#cleanups.push(this.xs.onConnectionEvent((e) => this.#outage.onConnection(e)));
    this.#cleanups.push(this.hv.onStateChange((c) => void this.#onHypervisorChange(c.type === 'destroyed' ? c.domid : c.info.domid)));
    const release = await this.xs.watch('@releaseDomain');
    this.#cleanups.push(() => release.close());
    void (async () => {
      for await (const _ of release) void this.#refreshAll();
    })().catch(() => undefined);
    await reconcile(this);
    // Filled in the background: the daemon is ready before its shells are.
    this.shells.start();
  }

  /** /vm and /libxl exist for the daemon's life (xend's XendDomain.init ensures /vm), so does
   * dom0's home (what xen-init-dom0 writes on a real host; xend recreated Domain-0). */
  async #ensureBase(xs: XenstoreClient): Promise<void> {
    const keep: [string, string][] = [['/vm', ''], ['/libxl', ''], ['/local/domain/0/name', 'Domain-0'], ['/local/domain/0/domid', '0']];
    await Promise.all(keep.map(async ([p, v]) => ((await xs.tryRead(p)) === undefined ? xs.write(p, v) : undefined)));
  }

  // ---- xenstored going away and coming back (resync.ts) ----

  /** After a reconnect: re-reads xenstore and the hypervisor; one at a time, re-run if asked meanwhile. */
  resync(): Promise<void> {
    return this.#outage.resync();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.tasks.allRunning()) if (t.view.operation === 'createDomain') this.tasks.cancel(t.id);
    await Promise.allSettled([...this.records.values()].map((r) => r.queue.run(async () => undefined)));
    // Ready shells stay, recorded: the next start adopts them.
    await this.shells.stop();
    for (const c of this.#cleanups.splice(0)) await c();
    this.incoming.close();
    await this.#outage.settled();
  }

  health(): HealthView {
    const up = this.xs.connected;
    return { status: up ? 'ok' : 'degraded', xenstore: up ? 'up' : 'down', hypervisor: this.hv.kind, domains: this.records.size, seq: this.events.currentSeq };
  }

  async hostInfo(): Promise<HostView> {
    const [host, preparedShells] = await Promise.all([this.hv.hostInfo(), this.shells.view()]);
    return { ...host, preparedShells };
  }

  // ---- views ----

  listDomains(): { seq: number; domains: DomainView[] } {
    return { seq: this.events.currentSeq, domains: [...this.records.values()].map((r) => this.view(r)) };
  }

  view(r: DomainRecord): DomainView {
    return r.view(this.tasks.running(r.uuid));
  }

  find(ref: string): DomainRecord {
    const r = this.records.find(ref);
    if (r) return r;
    throw new TsxError(E_NO_DOMAIN, `no domain ${ref}`, { details: { ref } });
  }

  getDomain(ref: string): DomainView {
    return this.view(this.find(ref));
  }

  listDevices(ref: string): DeviceView[] {
    return this.find(ref).devices;
  }

  getTask(id: string): TaskView {
    return this.tasks.get(id).view;
  }
  listTasks(): TaskView[] {
    return this.tasks.list();
  }
  cancelTask(id: string): TaskView {
    return this.tasks.cancel(id);
  }

  // ---- events and state ----

  emit(e: EventInput): void {
    this.events.emit(e);
  }

  emitFor(r: DomainRecord, type: string, extra: Omit<EventInput, 'type'> = {}): void {
    this.events.emit({ type, domid: r.domid, uuid: r.uuid, name: r.name, ...extra });
  }

  setState(r: DomainRecord, to: DomainState, reason?: string): void {
    if (!canTransition(r.state, to)) this.log?.warn({ uuid: r.uuid, from: r.state, to }, 'unexpected domain state transition');
    const from = r.state;
    r.state = to;
    r.reason = reason;
    if (from !== to) this.emitFor(r, 'domain.state', { data: { from, to, ...(reason === undefined ? {} : { reason }) } });
  }

  /** Runs `fn` as a task on the domain's queue; the task ends with the outcome. */
  operation<T>(r: DomainRecord | undefined, name: string, uuid: string | undefined, fn: (task: Task) => Promise<T>, queued = true): Operation<T> {
    if (this.#stopping) {
      const task = this.tasks.create(name, uuid);
      const err = new TsxError(E_STOPPING, 'tsxend is stopping');
      task.end('failed', err);
      const done = Promise.reject(err);
      done.catch(() => undefined);
      return { task: task.view, done };
    }
    const task = this.tasks.create(name, uuid);
    const body = async () => {
      try {
        const out = await fn(task);
        task.end('succeeded');
        return out;
      } catch (err) {
        task.end(task.signal.aborted ? 'cancelled' : 'failed', err);
        throw err;
      }
    };
    const done = r && queued ? r.queue.run(body) : body();
    done.catch(() => undefined);
    return { task: task.view, done };
  }

  deviceContext(r: DomainRecord, signal: AbortSignal, deadline: number, taskId?: string): DomainDeviceContext {
    const domid = r.domid as number;
    return {
      xs: this.xs,
      domid,
      uuid: r.uuid,
      name: r.name,
      ...(r.protocol === undefined ? {} : { protocol: r.protocol }),
      signal,
      deadline,
      emit: (e) => {
        this.emitFor(r, e.type, { devClass: e.devClass, devid: e.devid, step: e.step, outcome: e.outcome, data: e.data, taskId });
        if (e.type === 'backend.exited') this.#backendExited(r, e.data);
      },
    };
  }

  /** A running domain's backend daemon exited (its xenstored went away, say): its devices say so. */
  #backendExited(r: DomainRecord, data: Record<string, unknown> | undefined): void {
    if (!['running', 'paused', 'shutting-down'].includes(r.state)) return;
    const code = data?.['exitCode'];
    const message = `the backend daemon exited (${typeof code === 'number' ? `code ${code}` : 'killed'}); the device is no longer served`;
    r.devices = r.devices.map((d) => (d.class === 'vfb' || d.class === 'vkbd' ? { ...d, state: 'error', error: { code: E_BACKEND_DAEMON_EXITED.code, message } } : d));
  }

  async persist(r: DomainRecord, phase?: StoredDomain['phase'], extra: Pick<StoredDomain, 'image' | 'migration'> = {}): Promise<void> {
    await this.store.save({
      config: r.config,
      managed: r.managed,
      autostart: r.autostart,
      autostartOrder: r.autostartOrder,
      ...(r.domid === undefined ? {} : { domid: r.domid }),
      ...(r.vm === undefined ? {} : { vm: r.vm }),
      ...(phase ? { phase, ...extra } : {}),
    });
  }

  // ---- create / start ----

  createDomain(input: XendConfig, options: CreateOptions = {}): Operation<DomainView> {
    const config = validateConfig(input);
    let r: DomainRecord;
    try {
      r = this.newRecord(config, options.managed ?? false);
    } catch (err) {
      return this.#failedOperation('createDomain', config.uuid, err);
    }
    return this.operation(r, 'createDomain', r.uuid, (task) => this.createRecord(r, task, options.paused ?? false, true));
  }

  /** A record for a domain about to be created: its uuid, name and resources claimed first (lifecycle modules). */
  newRecord(config: XendConfig, managed: boolean): DomainRecord {
    if (this.records.has(config.uuid)) throw new TsxError(E_UUID_TAKEN, `uuid ${config.uuid} is already used by domain ${this.records.get(config.uuid)?.name}`, { details: { uuid: config.uuid } });
    this.claims.claimConfig(config.uuid, config);
    const r = new DomainRecord(config, managed, false, 0, 'creating');
    this.records.set(config.uuid, r);
    return r;
  }

  // ---- migration (migrate.ts: the source; incoming.ts: the destination) ----

  migrateDomain(ref: string, peer: MigrationPeer, options: MigrateOptions = {}): Operation<MigrateReport> {
    const r = this.find(ref);
    return this.operation(r, 'migrateDomain', r.uuid, (task) => runMigrate(this, r, task, peer, options));
  }

  async prepareIncoming(config: XendConfig): Promise<IncomingView> {
    if (this.#stopping) throw new TsxError(E_STOPPING, 'tsxend is stopping');
    return this.incoming.prepare(config);
  }

  receiveIncoming(id: string, image: Readable): Operation<DomainView> {
    const m = this.incoming.get(id);
    return this.operation(undefined, 'receiveMigration', m.view.uuid, (task) => this.incoming.receive(id, image, task));
  }

  commitIncoming(id: string): Promise<DomainView> {
    return this.incoming.commit(id);
  }

  abortIncoming(id: string): Promise<void> {
    return this.incoming.abort(id);
  }

  getIncoming(id: string): IncomingView {
    return this.incoming.get(id).view;
  }

  // ---- save / restore (save.ts, restore.ts) ----

  saveDomain(ref: string, file: string, options: SaveOptions = {}): Operation<SaveReport> {
    const r = this.find(ref);
    return this.operation(r, 'saveDomain', r.uuid, (task) => runSave(this, r, task, file, options));
  }

  restoreDomain(file: string, options: RestoreOptions = {}): Operation<DomainView> {
    return this.operation(undefined, 'restoreDomain', undefined, async (task) => {
      task.step('checking the image', 0.02);
      const image = await openImageFile(file, (p) => task.step('restoring memory', 0.3 + 0.3 * (p.pagesTotal > 0 ? p.pagesDone / p.pagesTotal : 0)));
      try {
        const r = this.newRecord(validateConfig(image.config), false);
        task.setDomain(r.uuid);
        return await r.queue.run(() => this.createRecord(r, task, options.paused ?? false, true, image.source));
      } finally {
        image.close();
      }
    });
  }

  startDomain(ref: string, options: CreateOptions = {}): Operation<DomainView> {
    const r = this.find(ref);
    return this.operation(r, 'startDomain', r.uuid, async (task) => {
      checkAllowed('start', r.name, r.state);
      this.claims.claimConfig(r.uuid, r.config);
      this.setState(r, 'creating');
      return this.createRecord(r, task, options.paused ?? false, false);
    });
  }

  #failedOperation<T>(operation: string, uuid: string, err: unknown): Operation<T> {
    const task = this.tasks.create(operation, uuid);
    task.end('failed', err);
    const done = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    done.catch(() => undefined);
    return { task: task.view, done };
  }

  /** Creates the running domain of `r` (lifecycle modules); on failure everything is undone and `r` goes back. */
  async createRecord(r: DomainRecord, task: Task, paused: boolean, fresh: boolean, restore?: RestoreSource): Promise<DomainView> {
    const journal = new UndoJournal();
    const deadline = Date.now() + this.opts.createTimeoutMs;
    // Forward steps fail fast when xenstore is gone; their undo waits for it to come back.
    let rollingBack = false;
    const xs = retryingXs(this.xs, this.opts.xsReconnectWaitMs, () => rollingBack);
    this.emitFor(r, 'domain.creating', { taskId: task.id, outcome: 'started' });
    let shell: ShellLease | undefined;
    try {
      // Saved before anything is made: a daemon killed mid-create rolls it back at start.
      await this.persist(r, 'creating');
      const result = await this.#limiter.run(() =>
        runCreate(r.config, {
          xs,
          hv: this.hv,
          devices: this.devices,
          journal,
          signal: task.signal,
          deadline,
          paused,
          step: (step, progress) => {
            task.step(step, progress);
            this.emitFor(r, 'create.step', { step, outcome: 'started', taskId: task.id });
          },
          emitDevice: (_domid, e) => {
            this.emitFor(r, e.type, { devClass: e.devClass, devid: e.devid, step: e.step, outcome: e.outcome, data: e.data, taskId: task.id });
            if (e.type === 'backend.exited') this.#backendExited(r, e.data);
          },
          // Saved before the domain gets any node: a restart tears down this domid, and only it.
          onDomid: async (domid) => {
            r.domid = domid;
            await this.persist(r, 'creating');
          },
          onVm: (vm) => {
            r.vm = vm;
          },
          takeShell: () => (shell = this.shells.take(r.config)),
          ...(this.#inject ? { inject: (step: CreateStep) => this.#inject?.(step, r.config) } : {}),
          ...(restore ? { restore } : {}),
        }),
      );
      r.devices = result.devices;
      r.protocol = result.protocol;
      r.startedAt = Date.now();
      r.shutdownReason = undefined;
      r.requestedShutdown = undefined;
      journal.commit();
      this.setState(r, paused ? 'paused' : 'running');
      await this.persist(r).catch((err: unknown) => this.log?.error({ err, uuid: r.uuid }, 'could not save the domain record'));
      this.emitFor(r, paused ? 'domain.paused' : 'domain.running', { taskId: task.id, outcome: 'ok' });
      return this.view(r);
    } catch (caught) {
      // A create the store's loss cancelled fails with that reason, not a generic abort.
      const reason: unknown = task.signal.reason;
      const err = task.signal.aborted && hasTsxCode(reason) && reason.code === E_XS_DISCONNECTED.code ? reason : caught;
      rollingBack = true;
      const report = await journal.rollback();
      const domid = r.domid;
      if (domid !== undefined) {
        // A device write whose reply the outage swallowed has no undo yet: sweep its backends.
        const backends = backendDomids(r.config);
        const left = (await this.hv.getInfo(domid).catch(() => undefined)) === undefined ? await sweepDomainLeftovers(xs, domid, r.uuid, backends, r.vm) : [];
        if (left.length > 0) {
          this.#outage.sweepLater(domid, r.uuid, backends, r.vm);
          if (report.failed.length === 0) report.failed.push({ label: `store nodes of domain ${domid} (${left.join(', ')})`, error: new Error('xenstore unreachable') });
        }
      }
      // A rollback that left something keeps the record "creating", domid included: a restart finishes it.
      const unfinished = report.failed.length > 0 && domid !== undefined;
      if (unfinished) await this.persist(r, 'creating').catch((e: unknown) => this.log?.error({ err: e, uuid: r.uuid }, 'could not save the unfinished rollback'));
      r.domid = undefined;
      r.vm = undefined;
      r.devices = [];
      if (!unfinished) await (fresh && !r.managed ? this.store.remove(r.uuid) : this.persist(r)).catch((e: unknown) => this.log?.error({ err: e, uuid: r.uuid }, 'could not clear the create from the domain record'));
      this.claims.releaseAll(r.uuid);
      if (fresh && !r.managed) {
        r.state = 'destroyed';
        this.records.delete(r.uuid);
      } else this.setState(r, r.managed ? 'defined' : 'destroyed');
      this.emitFor(r, 'domain.create-failed', {
        domid,
        taskId: task.id,
        outcome: 'failed',
        data: { error: hasTsxCode(err) ? err.code : String(err), undone: report.undone, rollbackFailed: report.failed.map((f) => f.label) },
      });
      if (report.failed.length > 0) {
        throw new TsxError(E_ROLLBACK_FAILED, `create of ${r.name} failed (${(err as Error).message}) and its rollback left: ${report.failed.map((f) => f.label).join(', ')}`, {
          cause: err,
          details: { failed: report.failed.map((f) => ({ label: f.label, error: String(f.error) })) },
        });
      }
      throw err;
    } finally {
      // The pool makes up for a shell taken once the create has ended, off its critical path.
      if (shell) this.shells.refill();
    }
  }

  // ---- destroy ----

  destroyDomain(ref: string, options: { force?: boolean } = {}): Operation<DestroyReport> {
    const r = this.find(ref);
    // A create in flight is cancelled: its own journal undoes it, which is the destroy.
    if (r.state === 'creating') {
      for (const t of this.tasks.allRunning()) if (t.view.domainUuid === r.uuid && (t.view.operation === 'createDomain' || t.view.operation === 'startDomain')) this.tasks.cancel(t.id);
    }
    return this.operation(r, 'destroyDomain', r.uuid, async (task) => {
      if (r.state === 'destroyed' || r.state === 'defined') return { uuid: r.uuid, leftovers: [] };
      checkAllowed('destroy', r.name, r.state);
      return this.destroyNow(r, options.force ?? false, task);
    });
  }

  /** Devices → hypervisor → store. Runs on the domain's queue. Never reports a partial destroy as success. */
  async destroyNow(r: DomainRecord, force: boolean, task?: Task): Promise<DestroyReport> {
    const domid = r.domid;
    const leftovers: string[] = [];
    const reasons: string[] = [];
    // Each xenstore step waits (bounded) for a lost connection to come back and retries.
    const xs = retryingXs(this.xs, this.opts.xsReconnectWaitMs);
    this.setState(r, 'dying', r.reason?.startsWith(XENSTORE_LOST) ? r.reason : undefined);
    task?.step('destroying devices', 0.1);
    if (domid !== undefined) {
      // A daemon killed from here on finishes this destroy at start.
      await this.persist(r, 'destroying').catch((err: unknown) => this.log?.error({ err, uuid: r.uuid }, 'could not mark the destroy in the domain record'));
      const ctrl = new AbortController();
      try {
        const res = await this.devices.destroyDevices({ ...this.deviceContext(r, ctrl.signal, Date.now() + 10_000, task?.id), xs }, r.devices, { force });
        leftovers.push(...res.leftovers);
        if (res.leftovers.length > 0) reasons.push('devices did not close');
      } catch (err) {
        reasons.push(`devices: ${(err as Error).message}`);
      }
      task?.step('destroying the hypervisor domain', 0.5);
      try {
        await this.hv.destroy(domid);
      } catch (err) {
        leftovers.push(`hypervisor domain ${domid}`);
        reasons.push(`hypervisor: ${(err as Error).message}`);
      }
    }
    task?.step('removing store nodes', 0.8);
    const left = await removeDomainNodes(xs, domid, r.vm ?? (domid === undefined ? undefined : await vmPathIn(xs, domid, r.uuid)));
    if (left.length > 0) reasons.push('store nodes could not be removed');
    leftovers.push(...left);
    const report: DestroyReport = { uuid: r.uuid, ...(domid === undefined ? {} : { domid }), leftovers };
    if (leftovers.length > 0) {
      r.reason = `partial destroy: ${reasons.join('; ')}`;
      this.emitFor(r, 'domain.destroy-partial', { outcome: 'failed', data: { leftovers, reasons } });
      throw new TsxError(E_PARTIAL_DESTROY, `destroy of ${r.name} left ${leftovers.join(', ')} (${reasons.join('; ')})`, { details: { leftovers, reasons, domid } });
    }
    r.domid = undefined;
    r.vm = undefined;
    r.devices = [];
    this.claims.releaseAll(r.uuid);
    this.emitFor(r, 'domain.destroyed', { domid, outcome: 'ok' });
    if (r.managed) {
      this.claims.claimConfig(r.uuid, { ...r.config, devices: {} });
      this.setState(r, 'defined');
      await this.persist(r).catch(() => undefined);
    } else {
      this.setState(r, 'destroyed');
      this.records.delete(r.uuid);
      await this.store.remove(r.uuid).catch(() => undefined);
    }
    this.#settle(r);
    return report;
  }

  // ---- pause / unpause / shutdown ----

  pauseDomain(ref: string): Promise<DomainView> {
    const r = this.find(ref);
    return r.queue.run(async () => {
      checkAllowed('pause', r.name, r.state);
      await this.hv.pause(r.domid as number);
      this.setState(r, 'paused');
      this.emitFor(r, 'domain.paused');
      return this.view(r);
    });
  }

  unpauseDomain(ref: string): Promise<DomainView> {
    const r = this.find(ref);
    return r.queue.run(async () => {
      checkAllowed('unpause', r.name, r.state);
      // A domain created paused has never connected its devices: wait for them now.
      const pending = r.devices.filter((d) => d.state !== 'connected');
      await this.hv.unpause(r.domid as number);
      if (pending.length > 0) {
        const ctx = this.deviceContext(r, new AbortController().signal, Date.now() + this.opts.createTimeoutMs);
        const connected = await this.devices.waitConnected(ctx, pending);
        const byKey = new Map(connected.map((d) => [`${d.class}/${d.devid}`, d]));
        r.devices = r.devices.map((d) => byKey.get(`${d.class}/${d.devid}`) ?? d);
      }
      if (r.startedAt === 0) r.startedAt = Date.now();
      this.setState(r, 'running');
      this.emitFor(r, 'domain.unpaused');
      return this.view(r);
    });
  }

  shutdownDomain(ref: string, mode: ShutdownMode): Operation<DomainView> {
    const r = this.find(ref);
    // Not on the domain's queue for its whole length: the reaction to the shutdown needs it.
    return this.operation(r, 'shutdownDomain', r.uuid, (task) => runShutdown(this, r, task, mode), false);
  }

  /** Wakes whoever waits for this domain to settle after a shutdown. */
  #settle(r: DomainRecord): void {
    const waiters = r.settleWaiters.splice(0);
    const v = this.view(r);
    for (const w of waiters) w(v);
  }

  settle(r: DomainRecord): void {
    this.#settle(r);
  }

  /** A create or a save owns the domain's state changes (a save's suspend is no shutdown). */
  #watched(r: DomainRecord): r is DomainRecord & { domid: number } {
    return r.domid !== undefined && r.state !== 'creating' && r.state !== 'saving' && !r.reacting;
  }

  async #onHypervisorChange(domid: number): Promise<void> {
    // Records only: a prepared shell (shells.ts) has none until a create takes it, as 'creating'.
    const r = this.records.byDomid(domid);
    if (!r || !this.#watched(r)) return;
    const info = await this.hv.getInfo(domid);
    await this.#refresh(r, info);
  }

  /** @releaseDomain names no domain: every watched record is checked, against one list from the hypervisor. */
  async #refreshAll(): Promise<void> {
    const watched = [...this.records.values()].filter((r) => this.#watched(r)).map((r) => ({ r, domid: r.domid }));
    if (watched.length === 0) return;
    const infos = new Map((await this.hv.list()).map((i) => [i.domid, i]));
    // A record whose domid changed meanwhile (a restart) is another domain now: left to its own events.
    await Promise.all(watched.filter(({ r, domid }) => r.domid === domid && this.#watched(r)).map(({ r, domid }) => this.#refresh(r, infos.get(domid))));
  }

  /** xend's refreshShutdown: a domain gone, shut down or crashed gets its reaction, once. */
  async #refresh(r: DomainRecord, info: DomainInfo | undefined): Promise<void> {
    if (r.reacting || r.state === 'dying') return;
    if (info === undefined || info.dying) {
      if (r.domid === undefined) return;
      if (r.state === 'quarantined') {
        // Not ours (another toolstack's, another daemon's copy of one of our uuids): nothing of
        // it is ours to clean, claim or forget but the report. Keyed apart from ours (reconcile.ts).
        this.records.delete(quarantineKey(r.domid, r.uuid));
        this.emitFor(r, 'domain.vanished', { data: { why: 'the hypervisor no longer has the domain' } });
        this.setState(r, 'destroyed');
        return;
      }
      r.reacting = true;
      try {
        await r.queue.run(async () => {
          if (r.domid === undefined || r.state === 'dying') return;
          this.emitFor(r, 'domain.vanished', { data: { why: 'the hypervisor no longer has the domain' } });
          await this.destroyNow(r, true).catch((err: unknown) => this.log?.error({ err, uuid: r.uuid }, 'cleanup after the domain vanished was partial'));
        });
      } finally {
        r.reacting = false;
      }
      return;
    }
    if (info.shutdown && r.state !== 'shutdown' && r.state !== 'crashed') {
      r.reacting = true;
      try {
        await r.queue.run(() => reactToShutdown(this, r, info));
      } finally {
        r.reacting = false;
      }
    }
  }

  // ---- memory and vcpus ----

  setMemory(ref: string, mib: number): Promise<DomainView> {
    const r = this.find(ref);
    return r.queue.run(async () => {
      checkAllowed('setMemory', r.name, r.state);
      if (!Number.isInteger(mib) || mib <= 0 || mib > r.config.maxmem) {
        throw new TsxError(E_BAD_REQUEST, `memory ${mib} MiB must be a positive integer not over maxmem ${r.config.maxmem} MiB`, { details: { mib, maxmem: r.config.maxmem } });
      }
      if (r.domid !== undefined) {
        await this.hv.setMemoryTarget(r.domid, mib * 1024);
        // The hypervisor has the new target: the store must get it too, even across an outage.
        const xs = retryingXs(this.xs, this.opts.xsReconnectWaitMs);
        await Promise.all([xs.write(`${r.vmPath}/memory`, String(mib)), xs.write(`${domPath(r.domid)}/memory/target`, String(mib * 1024))]);
      }
      r.config = { ...r.config, memory: mib };
      if (r.managed || r.domid !== undefined) await this.persist(r).catch(() => undefined);
      this.emitFor(r, 'domain.memory', { data: { mib } });
      return this.view(r);
    });
  }

  setVcpus(ref: string, vcpus: number): Promise<DomainView> {
    const r = this.find(ref);
    return r.queue.run(async () => {
      checkAllowed('setVcpus', r.name, r.state);
      if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > r.config.maxvcpus) {
        throw new TsxError(E_BAD_REQUEST, `vcpus ${vcpus} must be within 1..${r.config.maxvcpus} (maxvcpus)`, { details: { vcpus, maxvcpus: r.config.maxvcpus } });
      }
      if (r.domid !== undefined) {
        await this.hv.setOnlineVcpus(r.domid, vcpus);
        await writeVcpus(retryingXs(this.xs, this.opts.xsReconnectWaitMs), r.domid, r.vmPath, vcpus, r.config.maxvcpus);
      }
      r.config = { ...r.config, vcpus };
      if (r.managed || r.domid !== undefined) await this.persist(r).catch(() => undefined);
      this.emitFor(r, 'domain.vcpus', { data: { vcpus } });
      return this.view(r);
    });
  }

  // ---- managed domains ----

  async defineDomain(input: XendConfig, options: { autostart?: boolean; autostartOrder?: number } = {}): Promise<DomainView> {
    const config = validateConfig(input);
    const existing = this.records.get(config.uuid);
    if (existing) {
      return existing.queue.run(async () => {
        if (existing.name !== config.name) this.claims.claimConfig(`${config.uuid}#define`, { ...config, devices: {} });
        this.claims.releaseAll(`${config.uuid}#define`);
        existing.config = config;
        existing.managed = true;
        existing.autostart = options.autostart ?? existing.autostart;
        existing.autostartOrder = options.autostartOrder ?? existing.autostartOrder;
        await this.persist(existing);
        this.emitFor(existing, 'domain.defined');
        return this.view(existing);
      });
    }
    // A defined domain holds its name and uuid; devices are claimed when it starts.
    this.claims.claimConfig(config.uuid, { ...config, devices: {} });
    const r = new DomainRecord(config, true, options.autostart ?? false, options.autostartOrder ?? 0, 'defined');
    this.records.set(r.uuid, r);
    try {
      await this.persist(r);
    } catch (err) {
      this.records.delete(r.uuid);
      this.claims.releaseAll(r.uuid);
      throw err;
    }
    this.emitFor(r, 'domain.defined');
    return this.view(r);
  }

  async undefineDomain(ref: string): Promise<void> {
    const r = this.find(ref);
    await r.queue.run(async () => {
      if (!r.managed) throw new TsxError(E_NOT_MANAGED, `domain ${r.name} is not managed`, { details: { uuid: r.uuid } });
      checkAllowed('undefine', r.name, r.state);
      if (r.domid !== undefined) await this.destroyNow(r, true);
      await this.store.remove(r.uuid);
      this.records.delete(r.uuid);
      this.claims.releaseAll(r.uuid);
      this.emitFor(r, 'domain.undefined');
    });
  }

  // ---- devices ----

  attachDevice(ref: string, device: DeviceEntry, uuid?: string): Operation<DeviceView> {
    const r = this.find(ref);
    const devUuid = uuid ?? globalThis.crypto.randomUUID();
    return this.operation(r, 'attachDevice', r.uuid, (task) => runAttach(this, r, task, device, devUuid));
  }

  detachDevice(ref: string, devClass: DeviceClass, devid: number, options: { force?: boolean } = {}): Operation<void> {
    const r = this.find(ref);
    return this.operation(r, 'detachDevice', r.uuid, (task) => runDetach(this, r, task, devClass, devid, options.force ?? false));
  }
}
