// Domain states and which operation each allows. A refused operation is a 409 that names the
// state, so an admin sees at once why (`cannot pause web1: it is shutting-down`).

import { TsxError } from '../errors.js';
import type { DomainState } from './api.js';
import { E_WRONG_STATE } from './errors.js';

export type DomainOperation =
  | 'start'
  | 'destroy'
  | 'pause'
  | 'unpause'
  | 'shutdown'
  | 'setMemory'
  | 'setVcpus'
  | 'attach'
  | 'detach'
  | 'undefine'
  | 'save'
  | 'migrate';

/** For each operation, the states it is allowed in. */
export const ALLOWED: Readonly<Record<DomainOperation, readonly DomainState[]>> = {
  start: ['defined', 'shutdown', 'crashed'],
  destroy: ['creating', 'paused', 'running', 'shutting-down', 'shutdown', 'crashed', 'dying'],
  pause: ['running'],
  unpause: ['paused'],
  shutdown: ['running', 'paused'],
  setMemory: ['running', 'paused', 'defined'],
  setVcpus: ['running', 'paused', 'defined'],
  attach: ['running', 'paused'],
  detach: ['running', 'paused'],
  undefine: ['defined', 'shutdown', 'crashed'],
  save: ['running', 'paused'],
  migrate: ['running', 'paused'],
};

/** State changes the lifecycle makes; anything else is a bug, refused loudly. */
export const TRANSITIONS: Readonly<Record<DomainState, readonly DomainState[]>> = {
  defined: ['creating', 'destroyed'],
  creating: ['paused', 'running', 'destroyed', 'defined', 'dying'],
  saving: ['running', 'paused', 'dying', 'destroyed'],
  paused: ['saving', 'running', 'shutting-down', 'shutdown', 'crashed', 'dying', 'destroyed'],
  running: ['saving', 'paused', 'shutting-down', 'shutdown', 'crashed', 'dying', 'destroyed'],
  'shutting-down': ['shutdown', 'crashed', 'running', 'paused', 'dying', 'destroyed'],
  shutdown: ['dying', 'destroyed', 'creating', 'defined'],
  crashed: ['dying', 'destroyed', 'creating', 'defined'],
  dying: ['destroyed', 'defined', 'shutdown', 'crashed'],
  destroyed: [],
  quarantined: ['destroyed'],
};

export function checkAllowed(op: DomainOperation, name: string, state: DomainState): void {
  if (!ALLOWED[op].includes(state)) {
    throw new TsxError(E_WRONG_STATE, `cannot ${op} domain ${name}: it is ${state} (allowed in: ${ALLOWED[op].join(', ')})`, {
      details: { operation: op, state, allowed: ALLOWED[op] },
    });
  }
}

export function canTransition(from: DomainState, to: DomainState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** Runs functions one at a time (per domain). */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  get pending(): number {
    return this.#pending;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const next = this.#tail.then(fn, fn);
    this.#tail = next.then(
      () => undefined,
      () => undefined,
    );
    return next.finally(() => this.#pending--);
  }
}

/**
 * At most `limit` functions at a time (parallel creates). A slot that frees goes straight to the
 * next waiter, so that nothing can slip in between. Background work (runIdle: preparing shells)
 * gets a slot only when no run() waits, so it never holds a create back in the queue.
 */
export class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];
  constructor(readonly limit: number) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#runFrom(this.#waiting, fn);
  }

  runIdle<T>(fn: () => Promise<T>): Promise<T> {
    return this.#runFrom(this.#idle, fn);
  }

  /** Functions running now (tests). */
  get active(): number {
    return this.#active;
  }

  async #runFrom<T>(queue: (() => void)[], fn: () => Promise<T>): Promise<T> {
    await this.#acquire(queue);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(queue: (() => void)[]): Promise<void> {
    // While anyone waits every slot is taken (a freed slot is handed over): no jumping the queue.
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise<void>((r) => queue.push(r));
  }

  #release(): void {
    const next = this.#waiting.shift() ?? this.#idle.shift();
    if (next) next();
    else this.#active--;
  }
}
