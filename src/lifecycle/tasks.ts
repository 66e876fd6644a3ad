// Tasks: every long operation has one, with a step (noun phrase), progress 0..1 and an
// AbortController; cancelling aborts the operation, whose journal then rolls back.

import { randomUUID } from 'node:crypto';
import { E_ABORTED, TsxError, hasTsxCode } from '../errors.js';
import type { TaskState, TaskView } from './api.js';
import { E_NO_TASK, E_TASK_ENDED } from './errors.js';

export class Task {
  readonly controller = new AbortController();
  #view: TaskView;

  constructor(operation: string, domainUuid: string | undefined, private readonly onChange: (t: Task) => void) {
    this.#view = {
      id: randomUUID(),
      operation,
      ...(domainUuid === undefined ? {} : { domainUuid }),
      state: 'running',
      step: 'starting',
      progress: 0,
      startedAt: new Date().toISOString(),
    };
  }

  get id(): string {
    return this.#view.id;
  }
  get view(): TaskView {
    return this.#view;
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get running(): boolean {
    return this.#view.state === 'running';
  }

  /** Kept with the task once it succeeds, for clients that follow it by polling. */
  setResult(result: Record<string, unknown>): void {
    this.#view = { ...this.#view, result };
  }

  /** The domain an operation acts on, once it is known (a restore learns it from the image). */
  setDomain(uuid: string): void {
    this.#view = { ...this.#view, domainUuid: uuid };
    this.onChange(this);
  }

  step(step: string, progress: number): void {
    if (!this.running) return;
    this.#view = { ...this.#view, step, progress: Math.max(this.#view.progress, Math.min(1, progress)) };
    this.onChange(this);
  }

  end(state: Exclude<TaskState, 'running'>, error?: unknown): void {
    if (!this.running) return;
    const e = error === undefined ? undefined : hasTsxCode(error) ? { code: error.code, message: error.message } : { code: 'TSX_ERR_INTERNAL', message: String((error as Error)?.message ?? error) };
    this.#view = { ...this.#view, state, step: state, progress: state === 'succeeded' ? 1 : this.#view.progress, endedAt: new Date().toISOString(), ...(e ? { error: e } : {}) };
    this.onChange(this);
  }
}

/** Running tasks plus the most recent ended ones (bounded). */
export class TaskTable {
  readonly #tasks = new Map<string, Task>();
  constructor(private readonly keepEnded = 1000) {}

  create(operation: string, domainUuid: string | undefined, onChange: (t: Task) => void = () => undefined): Task {
    const t = new Task(operation, domainUuid, (task) => {
      onChange(task);
      if (!task.running) this.#trim();
    });
    this.#tasks.set(t.id, t);
    return t;
  }

  #trim(): void {
    let ended = 0;
    for (const t of this.#tasks.values()) if (!t.running) ended++;
    for (const [id, t] of this.#tasks) {
      if (ended <= this.keepEnded) break;
      if (!t.running) {
        this.#tasks.delete(id);
        ended--;
      }
    }
  }

  get(id: string): Task {
    const t = this.#tasks.get(id);
    if (!t) throw new TsxError(E_NO_TASK, `no task ${id}`, { details: { id } });
    return t;
  }

  list(): TaskView[] {
    return [...this.#tasks.values()].map((t) => t.view);
  }

  running(domainUuid: string): TaskView[] {
    const out: TaskView[] = [];
    for (const t of this.#tasks.values()) if (t.running && t.view.domainUuid === domainUuid) out.push(t.view);
    return out;
  }

  allRunning(): Task[] {
    return [...this.#tasks.values()].filter((t) => t.running);
  }

  cancel(id: string): TaskView {
    const t = this.get(id);
    if (!t.running) throw new TsxError(E_TASK_ENDED, `task ${id} is ${t.view.state}`, { details: { id, state: t.view.state } });
    t.controller.abort(new TsxError(E_ABORTED, `task ${id} cancelled`, { details: { id } }));
    return t.view;
  }
}
