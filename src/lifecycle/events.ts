// The event log: one monotonic sequence for the daemon's life, a bounded ring for replay, and
// synchronous fan-out to subscribers (a throwing subscriber is dropped, never the emitter).

import type { EventFeed, EventSubscription, TsxEvent } from './api.js';

export type EventInput = { [K in keyof Omit<TsxEvent, 'seq' | 'time'>]?: TsxEvent[K] | undefined } & { type: string };

export class EventLog implements EventFeed {
  readonly #ring: TsxEvent[] = [];
  readonly #listeners = new Set<(e: TsxEvent) => void>();
  #seq = 0;
  #head = 0; // index of the oldest event in #ring once it is full

  constructor(readonly capacity = 10_000) {}

  get currentSeq(): number {
    return this.#seq;
  }

  emit(input: EventInput): TsxEvent {
    const ev: Record<string, unknown> = { seq: ++this.#seq, time: new Date().toISOString() };
    for (const [k, v] of Object.entries(input)) if (v !== undefined) ev[k] = v;
    const event = ev as unknown as TsxEvent;
    if (this.#ring.length < this.capacity) this.#ring.push(event);
    else {
      this.#ring[this.#head] = event;
      this.#head = (this.#head + 1) % this.capacity;
    }
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch {
        this.#listeners.delete(l);
      }
    }
    return event;
  }

  /** Oldest to newest. */
  #ordered(): TsxEvent[] {
    return this.#head === 0 ? this.#ring.slice() : [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
  }

  replay(since: number): TsxEvent[] | 'resync-required' {
    if (since >= this.#seq) return [];
    const events = this.#ordered();
    const oldest = events[0];
    if (oldest === undefined || oldest.seq > since + 1) return 'resync-required';
    return events.filter((e) => e.seq > since);
  }

  subscribe(listener: (event: TsxEvent) => void): EventSubscription {
    this.#listeners.add(listener);
    return { close: () => void this.#listeners.delete(listener) };
  }
}
