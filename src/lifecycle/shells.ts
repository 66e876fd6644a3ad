// Prepared shells (LightVM, SOSP'17: the split toolstack). The part of a create that no guest's
// config decides is done ahead, in the background: a paused hypervisor domain under a
// placeholder handle, its max vcpus and max memory set, and its home in xenstore
// (layout.ts writeShellHome: /local/domain/N and /libxl/N with their permissions and
// sub-directories). A create whose config fits takes one and runs only the rest (create.ts):
// the handle becomes the guest's uuid, then name and VM path, event channels, build, devices.
//
// A shell belongs to the pool until taken, and to the create after: never a domain record,
// never listed, never in a domain event. Each is recorded in the store (saved before its domain
// exists, again with its domid) so that a restarted daemon adopts it or tears it down
// (shell-recovery.ts). Stop leaves ready shells in place, recorded, for the next start.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { XendConfig } from '../config/model.js';
import { TsxError } from '../errors.js';
import type { GuestType, Hypervisor } from '../hypervisor/types.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { PreparedShellsView, ShellShape, ShellStore, StoredShell } from './api.js';
import type { ShellLease } from './create.js';
import { E_STOPPING } from './errors.js';
import { removeDomainNodes, writeShellHome } from './layout.js';
import type { Limiter } from './states.js';

export interface PreparedShellsOptions {
  /** How many shells to keep ready (0: none). */
  readonly count: number;
  /** The shells' max memory, MiB (default 256): configs with a maxmem up to this fit. */
  readonly memoryMiB?: number;
  /** The shells' max vcpus (default 1): configs with exactly this maxvcpus fit. */
  readonly maxVcpus?: number;
  /** The shells' guest type (default pv): configs of this type fit. */
  readonly type?: GuestType;
  /** How long the pool waits after a failed preparation before the next, ms (default 1 s, doubling to 1 min). */
  readonly retryMs?: number;
}

export const DEFAULT_SHELL_SHAPE: ShellShape = { type: 'pv', maxVcpus: 1, memoryMiB: 256 };

export function shellShape(options: PreparedShellsOptions | undefined): ShellShape {
  return {
    type: options?.type ?? DEFAULT_SHELL_SHAPE.type,
    maxVcpus: options?.maxVcpus ?? DEFAULT_SHELL_SHAPE.maxVcpus,
    memoryMiB: options?.memoryMiB ?? DEFAULT_SHELL_SHAPE.memoryMiB,
  };
}

/**
 * Whether a config can run in a shell of `shape`: the same guest type, the same maxvcpus (Xen
 * fixes a domain's max vcpus when it is created; a bigger shell would give the guest vcpus it
 * did not ask for), and a maxmem no larger than the shell's (max memory is set again to the
 * config's, so the domain ends exactly as a normal create makes it).
 */
export function fitsShell(config: Pick<XendConfig, 'type' | 'maxvcpus' | 'maxmem'>, shape: ShellShape): boolean {
  return config.type === shape.type && config.maxvcpus === shape.maxVcpus && config.maxmem <= shape.memoryMiB;
}

export const sameShape = (a: ShellShape, b: ShellShape): boolean => a.type === b.type && a.maxVcpus === b.maxVcpus && a.memoryMiB === b.memoryMiB;

/** A ready shell: its domain and the placeholder handle its record is stored under. */
export interface ReadyShell {
  readonly handle: string;
  readonly domid: number;
}

export interface ShellPoolDeps {
  readonly xs: XenstoreClient;
  /** For cleanup: waits (bounded) for a lost xenstored to come back (reconnect.ts retryingXs). */
  readonly cleanupXs: XenstoreClient;
  readonly hv: Hypervisor;
  readonly store: ShellStore;
  /** The creates' limiter: a preparation takes a slot only when no create waits for one. */
  readonly limiter: Limiter;
  readonly log?: Logger;
}

const MAX_RETRY_MS = 60_000;

export class ShellPool {
  readonly target: number;
  readonly shape: ShellShape;
  readonly #deps: ShellPoolDeps;
  readonly #ready: ReadyShell[] = [];
  readonly #retryMs: number;
  #preparing = 0;
  #started = false;
  /** Started and not stopped: preparing allowed. */
  #running = false;
  #filling: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #nextRetryMs: number;
  /** Bumped when every ready shell is dropped (xenstored came back empty): a preparation begun before is not kept. */
  #generation = 0;
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(deps: ShellPoolDeps, options: PreparedShellsOptions | undefined) {
    this.#deps = deps;
    this.target = Math.max(0, Math.floor(options?.count ?? 0));
    this.shape = shellShape(options);
    this.#retryMs = options?.retryMs ?? 1000;
    this.#nextRetryMs = this.#retryMs;
  }

  get ready(): number {
    return this.#ready.length;
  }

  get preparing(): number {
    return this.#preparing;
  }

  /** The domids of the ready shells, oldest first (the next taken is the first). */
  readyDomids(): number[] {
    return this.#ready.map((s) => s.domid);
  }

  fits(config: Pick<XendConfig, 'type' | 'maxvcpus' | 'maxmem'>): boolean {
    return this.target > 0 && fitsShell(config, this.shape);
  }

  /**
   * A ready shell for a create whose config fits, out of the pool at once (undefined: none).
   * The create owns it from here: its rollback destroys it. refill() after the create ends.
   */
  take(config: XendConfig): ShellLease | undefined {
    if (!this.fits(config)) return undefined;
    const shell = this.#ready.shift();
    if (!shell) return undefined;
    this.#deps.log?.info({ domid: shell.domid, handle: shell.handle, uuid: config.uuid, name: config.name }, 'create takes a prepared shell');
    const store = this.#deps.store;
    let forgotten = false;
    return {
      domid: shell.domid,
      maxMemoryKiB: this.shape.memoryMiB * 1024,
      forget: async () => {
        if (forgotten) return;
        await store.removeShell(shell.handle);
        forgotten = true;
      },
    };
  }

  /** Prepares shells in the background until the pool holds its target (after a take, a start). */
  refill(): void {
    if (!this.#running || this.#filling || this.#retryTimer || this.#ready.length + this.#preparing >= this.target) return;
    this.#filling = this.#fill().finally(() => {
      this.#filling = undefined;
      // A take while the loop was ending: go again.
      this.refill();
    });
  }

  /** Resolves once the pool holds its target; rejects when a preparation fails meanwhile (or on stop). */
  whenFull(): Promise<void> {
    if (this.#ready.length >= this.target) return Promise.resolve();
    if (!this.#running && this.#started) return Promise.reject(new TsxError(E_STOPPING, 'tsxend is stopping'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Begins filling (after the start's reconcile adopted what it could). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#running = true;
    if (this.target > 0) this.#deps.log?.info({ target: this.target, ready: this.#ready.length, ...this.shape }, 'keeping prepared shells');
    this.refill();
  }

  /** Ends preparing (the one under way finishes, recorded, or cleans up after itself); ready shells stay, recorded, for the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#started = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#filling;
    this.#settleWaiters(new TsxError(E_STOPPING, 'tsxend is stopping'));
  }

  /** A shell found intact at start (shell-recovery.ts). */
  adopt(shell: ReadyShell): void {
    this.#ready.push(shell);
  }

  /** What GET /v1/host reports. */
  async view(): Promise<PreparedShellsView> {
    const domids = new Set(this.readyDomids());
    let memoryKiB = 0;
    if (domids.size > 0) for (const info of await this.#deps.hv.list()) if (domids.has(info.domid)) memoryKiB += info.memoryKiB;
    return { target: this.target, ready: this.#ready.length, preparing: this.#preparing, memoryKiB, ...this.shape };
  }

  /** xenstored came back without its nodes (a restarted cxenstored): no ready shell has its home, all go, and the pool refills. */
  async discardAll(reason: string): Promise<void> {
    this.#generation++;
    const shells = this.#ready.splice(0);
    if (shells.length > 0) this.#deps.log?.warn({ shells: shells.map((s) => s.domid), reason }, 'dropping the prepared shells');
    await Promise.all(shells.map((s) => this.#discard(s.handle, s.domid)));
    this.refill();
  }

  async #fill(): Promise<void> {
    while (this.#running && this.#ready.length + this.#preparing < this.target) {
      try {
        await this.#deps.limiter.runIdle(() => this.#prepareOne());
        this.#nextRetryMs = this.#retryMs;
      } catch (err) {
        this.#deps.log?.error({ err, retryMs: this.#nextRetryMs }, 'could not prepare a shell; the pool tries again later');
        this.#settleWaiters(err);
        if (this.#running) {
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.refill();
          }, this.#nextRetryMs);
          this.#retryTimer.unref();
          this.#nextRetryMs = Math.min(this.#nextRetryMs * 2, MAX_RETRY_MS);
        }
        return;
      }
    }
    if (this.#ready.length >= this.target) this.#settleWaiters();
  }

  /** One shell: recorded first, so that a daemon dying at any point leaves it findable; a failure leaves nothing. */
  async #prepareOne(): Promise<void> {
    if (!this.#running) return;
    const { xs, hv, store, log } = this.#deps;
    const { type, maxVcpus, memoryMiB } = this.shape;
    const generation = this.#generation;
    const record: StoredShell = { handle: randomUUID(), type, maxVcpus, memoryMiB };
    let domid: number | undefined;
    this.#preparing++;
    try {
      await store.saveShell(record);
      domid = await hv.createDomain({ uuid: record.handle, type, maxVcpus });
      await store.saveShell({ ...record, domid });
      await hv.setMaxVcpus(domid, maxVcpus);
      await hv.setMaxMemory(domid, memoryMiB * 1024);
      await writeShellHome(xs, domid, type);
      if (generation !== this.#generation) throw new Error('xenstored restarted while the shell was prepared');
      this.#ready.push({ handle: record.handle, domid });
      log?.debug({ domid, handle: record.handle, ready: this.#ready.length, target: this.target }, 'prepared a shell');
    } catch (err) {
      await this.#discard(record.handle, domid);
      throw err;
    } finally {
      this.#preparing--;
    }
  }

  /** A shell's domain, home and record go; the record stays when something could not, for the next start to finish. */
  async #discard(handle: string, domid: number | undefined): Promise<void> {
    const { cleanupXs, hv, store, log } = this.#deps;
    try {
      if (domid !== undefined) {
        // Its home first, as a rollback does: once the domain is gone its domid may be another's.
        const left = await removeDomainNodes(cleanupXs, domid, undefined);
        await hv.destroy(domid);
        if (left.length > 0) throw new Error(`could not remove ${left.join(', ')}`);
      }
      await store.removeShell(handle);
    } catch (err) {
      log?.error({ err, domid, handle }, 'a shell could not be torn down; its record is kept for the next start');
    }
  }

  #settleWaiters(err?: unknown): void {
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }
}
