// The creates' limiter (states.ts): never more than its limit at once, background work
// (preparing shells) included, and a freed slot goes to a waiting create before any background work.

import { describe, expect, it } from 'vitest';
import { Limiter } from '../../src/lifecycle/states.js';

/** A function that runs until released, recording when it starts. */
function gate(started: string[], name: string): { fn: () => Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const done = new Promise<void>((r) => (release = r));
  return {
    fn: () => {
      started.push(name);
      return done;
    },
    release: () => release(),
  };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('Limiter', () => {
  it('runs at most its limit, creates and background work together', async () => {
    const l = new Limiter(2);
    const started: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((n) => gate(started, n));
    const runs = [l.run(gates[0]!.fn), l.runIdle(gates[1]!.fn), l.run(gates[2]!.fn), l.runIdle(gates[3]!.fn)];
    await settle();
    expect(started).toEqual(['a', 'b']);
    expect(l.active).toBe(2);
    gates[0]!.release();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    expect(l.active).toBe(2);
    for (const g of gates) g.release();
    await Promise.all(runs);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(l.active).toBe(0);
  });

  it('hands a freed slot to a waiting create before background work queued earlier', async () => {
    const l = new Limiter(1);
    const started: string[] = [];
    const busy = gate(started, 'busy');
    const idle = gate(started, 'idle');
    const create = gate(started, 'create');
    const runs = [l.run(busy.fn), l.runIdle(idle.fn), l.run(create.fn)];
    await settle();
    busy.release();
    await settle();
    expect(started).toEqual(['busy', 'create']);
    // Nothing slips in while the slot changes hands.
    const late = gate(started, 'late');
    runs.push(l.run(late.fn));
    await settle();
    expect(l.active).toBe(1);
    create.release();
    await settle();
    expect(started).toEqual(['busy', 'create', 'late']);
    late.release();
    await settle();
    expect(started).toEqual(['busy', 'create', 'late', 'idle']);
    idle.release();
    await Promise.all(runs);
    expect(l.active).toBe(0);
  });
});
