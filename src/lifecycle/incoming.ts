// Migration, the destination's side: prepare claims the domain (name, uuid, MACs, disks) before
// anything moves; the image arrives as a stream and is restored through the create pipeline,
// paused (ready); commit unpauses it. Until committed the copy never runs here, and it expires:
// a source that died or gave up is not waited for forever (the source resumes its own guest).
// A daemon killed with a ready copy finds it at start (phase incoming) and keeps it paused,
// awaiting the commit or its expiry.

import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { XendConfig } from '../config/model.js';
import { validateConfig } from '../config/validate.js';
import { TsxError } from '../errors.js';
import type { DomainView, IncomingView } from './api.js';
import type { DomainRecord } from './domain.js';
import { E_BAD_IMAGE, E_NO_MIGRATION, E_WRONG_STATE } from './errors.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { imageSource } from './restore.js';
import type { Task } from './tasks.js';

interface Incoming {
  view: IncomingView;
  record: DomainRecord;
  timer?: NodeJS.Timeout;
  /** While receiving: ends the restore (its stream cut, its task cancelled), which rolls it back. */
  cut?: (why: string) => void;
}

export class IncomingMigrations {
  readonly #all = new Map<string, Incoming>();

  constructor(
    private readonly o: DomainOrchestrator,
    private readonly expireMs: number,
  ) {}

  get(id: string): Incoming {
    const m = this.#all.get(id);
    if (!m) throw new TsxError(E_NO_MIGRATION, `no incoming migration ${id}`, { details: { id } });
    return m;
  }

  #set(m: Incoming, state: IncomingView['state']): void {
    m.view = { ...m.view, state };
  }

  #arm(m: Incoming): void {
    clearTimeout(m.timer);
    m.view = { ...m.view, expiresAt: new Date(Date.now() + this.expireMs).toISOString() };
    m.timer = setTimeout(() => void this.abort(m.view.id, 'it expired uncommitted').catch(() => undefined), this.expireMs);
    m.timer.unref();
  }

  prepare(input: XendConfig): IncomingView {
    const record = this.o.newRecord(validateConfig(input), false);
    record.reason = 'incoming migration';
    const m: Incoming = { view: { id: randomUUID(), uuid: record.uuid, name: record.name, state: 'prepared', expiresAt: '' }, record };
    this.#all.set(m.view.id, m);
    this.#arm(m);
    this.o.emitFor(record, 'migration.prepared', { data: { id: m.view.id } });
    return m.view;
  }

  /** The image arrives: restored paused, then ready. A failure leaves nothing (the create's rollback). */
  async receive(id: string, input: Readable, task: Task): Promise<DomainView> {
    const m = this.get(id);
    if (m.view.state !== 'prepared') throw new TsxError(E_WRONG_STATE, `incoming migration ${id} is ${m.view.state}, not prepared`, { details: { id, state: m.view.state } });
    this.#set(m, 'receiving');
    task.setDomain(m.record.uuid);
    // A source that gives up may leave its connection open (an HTTP body never ended): its
    // abort, or the expiry, must end the restore all the same, not wait on the stream.
    m.cut = (why) => {
      input.destroy(new TsxError(E_NO_MIGRATION, `incoming migration ${id} was aborted while its image arrived: ${why}`, { details: { id } }));
      if (task.running) this.o.tasks.cancel(task.id);
    };
    const image = await imageSource(input, `migration ${id}`).catch((err: unknown) => {
      this.#drop(m);
      throw err;
    });
    if (image.config.uuid !== m.record.uuid) {
      this.#drop(m);
      throw new TsxError(E_BAD_IMAGE, `migration ${id}: the image is of domain ${image.config.uuid}, not the prepared ${m.record.uuid}`, { details: { file: `migration ${id}`, offset: 0, what: 'another domain', truncated: false } });
    }
    try {
      const view = await m.record.queue.run(() => this.o.createRecord(m.record, task, true, true, image.source));
      this.#set(m, 'ready');
      m.record.reason = 'incoming migration: restored, waiting for the source to let go';
      await this.o.persist(m.record, 'incoming', { migration: { destination: 'here', id } });
      this.#arm(m);
      this.o.emitFor(m.record, 'migration.ready', { taskId: task.id, data: { id } });
      return view;
    } catch (err) {
      // The create rolled back and released the claims: the migration is over.
      this.#forget(m, 'aborted');
      throw err;
    } finally {
      delete m.cut;
    }
  }

  async commit(id: string): Promise<DomainView> {
    const m = this.get(id);
    if (m.view.state === 'committed') return this.o.view(m.record);
    if (m.view.state === 'aborted') throw new TsxError(E_NO_MIGRATION, `incoming migration ${id} was aborted: the guest is not here`, { details: { id } });
    if (m.view.state !== 'ready') throw new TsxError(E_WRONG_STATE, `incoming migration ${id} is ${m.view.state}, not ready`, { details: { id, state: m.view.state } });
    clearTimeout(m.timer);
    m.record.reason = undefined;
    const view = await this.o.unpauseDomain(m.record.uuid);
    this.#forget(m, 'committed');
    await this.o.persist(m.record).catch(() => undefined);
    this.o.emitFor(m.record, 'migration.committed', { data: { id } });
    return view;
  }

  async abort(id: string, why = 'the source aborted it'): Promise<void> {
    const m = this.get(id);
    if (m.view.state === 'committed') throw new TsxError(E_WRONG_STATE, `incoming migration ${id} is committed: the guest runs here`, { details: { id, state: m.view.state } });
    if (m.view.state === 'ready') {
      await m.record.queue.run(() => this.o.destroyNow(m.record, true));
      this.#forget(m, 'aborted');
    } else if (m.view.state === 'prepared') this.#drop(m);
    // receiving: the restore is cut short; its rollback ends the migration.
    else if (m.view.state === 'receiving') m.cut?.(why);
    this.o.emitFor(m.record, 'migration.aborted', { data: { id, why } });
  }

  /** A prepared migration that never got its domain: the claims go. */
  #drop(m: Incoming): void {
    this.o.records.delete(m.record.uuid);
    this.o.claims.releaseAll(m.record.uuid);
    this.#forget(m, 'aborted');
  }

  #forget(m: Incoming, state: 'committed' | 'aborted'): void {
    clearTimeout(m.timer);
    this.#set(m, state);
    // Kept a while so that a late commit or status question gets a clear answer.
    setTimeout(() => this.#all.delete(m.view.id), 10 * 60_000).unref();
  }

  /** At start: a ready copy the daemon died with stays paused, awaiting its commit or expiry. */
  adopt(record: DomainRecord, id: string): void {
    record.reason = 'incoming migration: restored, waiting for the source to let go';
    const m: Incoming = { view: { id, uuid: record.uuid, name: record.name, state: 'ready', expiresAt: '' }, record };
    this.#all.set(id, m);
    this.#arm(m);
  }

  close(): void {
    for (const m of this.#all.values()) clearTimeout(m.timer);
  }
}
