// One watch's event queue: an async iterator over its own events, bounded so a consumer that
// stops reading cannot grow memory without limit (the oldest events are dropped and
// `overflowed` says so — xenstore events are hints to re-read, so dropping is safe).

import type { Watch, WatchEvent } from './types.js';

export class WatchQueue implements Watch {
  #buf: WatchEvent[] = [];
  #waiters: ((r: IteratorResult<WatchEvent>) => void)[] = [];
  #ended = false;
  overflowed = false;

  constructor(
    readonly path: string,
    readonly token: string,
    private readonly highWaterMark: number,
    private readonly unregister: () => Promise<void>,
  ) {}

  push(event: WatchEvent): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter({ value: event, done: false });
      return;
    }
    if (this.#buf.length >= this.highWaterMark) {
      this.#buf.shift();
      this.overflowed = true;
    }
    this.#buf.push(event);
  }

  /** Ends the iterator without unregistering (the client is closing). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.end();
    await this.unregister();
  }

  /** Waits for the next event; undefined once the watch is closed. */
  async next(): Promise<WatchEvent | undefined> {
    const r = await this.#nextResult();
    return r.done ? undefined : r.value;
  }

  #nextResult(): Promise<IteratorResult<WatchEvent>> {
    const event = this.#buf.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => this.#nextResult(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
