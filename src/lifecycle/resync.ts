// xenstored going away and coming back: the orchestrator reports it (xenstore.down/up events;
// health is degraded meanwhile) and, once the connection is back, resyncs: base nodes, deaths
// missed while the store was away, destroys and rollbacks the outage left partial, and running
// domains whose nodes a restarted (empty) xenstored lost, kept and flagged, never dropped.

import { TsxError, hasTsxCode } from '../errors.js';
import type { DomainInfo } from '../hypervisor/types.js';
import { E_XS_DISCONNECTED } from '../xenstore/errors.js';
import type { ConnectionEvent, XenstoreClient } from '../xenstore/types.js';
import type { DomainRecord } from './domain.js';
import { domPath } from './layout.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { retryingXs, sweepDomainLeftovers } from './reconnect.js';

/** What the resync needs of the orchestrator beyond its public members. */
export interface ResyncHooks {
  ensureBase(xs: XenstoreClient): Promise<void>;
  refresh(r: DomainRecord, info: DomainInfo | undefined): Promise<void>;
  stopping(): boolean;
}

export class StoreOutage {
  #resyncing: Promise<void> | undefined;
  #resyncAgain = false;
  /** Domains whose rollback could not reach xenstore: their nodes are swept at the next resync. */
  readonly #pendingSweeps = new Map<string, { domid: number; uuid: string; backends: number[]; vm?: string }>();
  /** Creates in flight when the connection was lost: cancelled if the store comes back empty. */
  readonly #creatingAtLoss = new Set<string>();

  constructor(
    private readonly o: DomainOrchestrator,
    private readonly hooks: ResyncHooks,
  ) {}

  onConnection(e: ConnectionEvent): void {
    const o = this.o;
    if (this.hooks.stopping()) return;
    if (e.type === 'disconnected') {
      for (const r of o.records.values()) if (r.state === 'creating') this.#creatingAtLoss.add(r.uuid);
      o.log?.warn({ err: e.error }, 'xenstore connection lost; reconnecting');
      o.emit({ type: 'xenstore.down', data: e.error ? { error: e.error.message } : {} });
      return;
    }
    o.log?.info({ rewatched: e.rewatched }, 'xenstore connection back; resyncing');
    o.emit({ type: 'xenstore.up', data: { rewatched: e.rewatched } });
    void this.resync();
  }

  /** A rollback could not reach the store: the resync sweeps what it left of this domid. */
  sweepLater(domid: number, uuid: string, backends: number[], vm?: string): void {
    this.#pendingSweeps.set(`${domid}:${uuid}`, { domid, uuid, backends, ...(vm === undefined ? {} : { vm }) });
  }

  /** Resolves when no resync runs (the orchestrator's stop waits for it). */
  async settled(): Promise<void> {
    await this.#resyncing?.catch(() => undefined);
  }

  /** Re-reads xenstore and the hypervisor; one at a time, re-run if asked meanwhile. */
  resync(): Promise<void> {
    if (this.#resyncing) {
      this.#resyncAgain = true;
      return this.#resyncing;
    }
    const run = async () => {
      do {
        this.#resyncAgain = false;
        await this.#resyncOnce().catch((err: unknown) => {
          this.o.log?.error({ err }, 'resync after the xenstore reconnect failed');
          this.o.emit({ type: 'xenstore.resynced', outcome: 'failed', data: { error: hasTsxCode(err) ? err.code : String(err), message: (err as Error).message } });
        });
      } while (this.#resyncAgain && this.o.xs.connected && !this.hooks.stopping());
    };
    this.#resyncing = run().finally(() => (this.#resyncing = undefined));
    return this.#resyncing;
  }

  async #resyncOnce(): Promise<void> {
    const o = this.o;
    const started = Date.now();
    const xs = retryingXs(o.xs, o.opts.xsReconnectWaitMs);
    // A restarted cxenstored starts empty: the base nodes come back first. Creates that were in
    // flight lost what they wrote and would wait for devices that no longer exist: they fail now.
    const storeLost = (await xs.tryRead('/vm')) === undefined;
    await this.hooks.ensureBase(xs);
    // Prepared shells lost their homes with the store: they go, and the pool prepares new ones.
    if (storeLost) await o.shells.discardAll('xenstored came back without its nodes');
    const inFlight = [...this.#creatingAtLoss];
    this.#creatingAtLoss.clear();
    if (storeLost) {
      for (const t of o.tasks.allRunning()) {
        if ((t.view.operation !== 'createDomain' && t.view.operation !== 'startDomain') || !inFlight.includes(t.view.domainUuid ?? '')) continue;
        t.controller.abort(new TsxError(E_XS_DISCONNECTED, 'xenstored restarted with an empty store while the domain was being created', { details: { storeLost: true } }));
      }
    }
    // Deaths missed while the store was away (no @releaseDomain reached us): react as to one.
    const infos = new Map((await o.hv.list()).map((i) => [i.domid, i]));
    const settled = [...o.records.values()].filter((r) => r.domid !== undefined && r.state !== 'creating' && r.state !== 'quarantined');
    let vanished = 0;
    await Promise.all(
      settled.map(async (r) => {
        const info = infos.get(r.domid as number);
        if (info === undefined || info.dying) vanished++;
        await this.hooks.refresh(r, info);
      }),
    );
    // Destroys that could not finish while the store was away: finish them now.
    let finished = 0;
    await Promise.all(
      [...o.records.values()]
        .filter((r) => r.state === 'dying' && r.reason?.startsWith('partial destroy') && o.tasks.running(r.uuid).length === 0)
        .map((r) =>
          r.queue.run(async () => {
            if (r.state !== 'dying' || !r.reason?.startsWith('partial destroy')) return;
            await o.destroyNow(r, true);
            finished++;
          }).catch((err: unknown) => o.log?.error({ err, uuid: r.uuid }, 'destroy left partial by the outage is still partial')),
        ),
    );
    // Rollbacks that could not reach the store: sweep what they left.
    let swept = 0;
    for (const [key, p] of [...this.#pendingSweeps]) {
      const info = await o.hv.getInfo(p.domid);
      if (info !== undefined && info.uuid !== p.uuid) {
        this.#pendingSweeps.delete(key); // the domid now belongs to someone else: never touch it
        continue;
      }
      const left = await sweepDomainLeftovers(xs, p.domid, p.uuid, p.backends, p.vm);
      if (left.length === 0) {
        this.#pendingSweeps.delete(key);
        swept++;
      }
    }
    // Never drop a running domain: one whose nodes the store no longer has (a restarted
    // cxenstored starts empty) stays listed, flagged, and destroyable.
    let lost = 0;
    for (const r of [...o.records.values()]) {
      if (r.domid === undefined || !['running', 'paused', 'shutting-down', 'shutdown', 'crashed'].includes(r.state)) continue;
      if ((await xs.tryRead(`${domPath(r.domid)}/vm`)) === r.vmPath) continue;
      if (!r.flagStoreLost("xenstored came back without this domain's nodes")) continue;
      lost++;
      o.emitFor(r, 'domain.xenstore-lost', { data: { reason: r.reason } });
    }
    o.emit({ type: 'xenstore.resynced', outcome: 'ok', data: { storeLost, domains: o.records.size, vanished, finished, swept, lost, ms: Date.now() - started } });
  }
}
