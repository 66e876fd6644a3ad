// Conflicts: oxenstored injecting random transaction conflicts (test-eagain) under hundreds of
// create/destroy cycles, and fifty parallel creates fighting over ten names. Every operation ends
// in success or a clear typed refusal; the store ends exactly as it began.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTsxCode } from '../../src/errors.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { dumpOurTree, sixDeviceConfig } from '../lifecycle/helpers.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';

const CYCLES = Number(process.env['TSXEND_EAGAIN_CYCLES'] ?? 500);
const PARALLEL = 4;

describeReal('oxenstored', 'create/destroy under injected transaction conflicts (test-eagain = true)', () => {
  let d: RealXenstored;
  let env: Environment;
  beforeAll(async () => {
    d = await startXenstored('oxenstored', { testEagain: true });
    env = await createEnvironment({
      xenstore: { socket: d.socketPath },
      simulated: { domainsFile: d.domainsFile },
      orchestrator: { createTimeoutMs: 20_000, maxParallelCreates: PARALLEL },
    });
    await env.orchestrator.start();
  });
  afterAll(async () => {
    await env?.close();
    await d?.stop();
  });

  it(`${CYCLES} cycles of a six-device domain (vfb daemon included), ${PARALLEL} at a time: 0 failures, 0 leaked nodes`, { timeout: 900_000 }, async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    const retriesBefore = env.xs.stats.txRetries;
    let next = 0;
    const errors: string[] = [];
    const worker = async (w: number) => {
      for (let i = next++; i < CYCLES; i = next++) {
        const name = `eagain-${w}-${i}`;
        try {
          const v = await o.createDomain(sixDeviceConfig(name)).done;
          if (v.state !== 'running') throw new Error(`${name} is ${v.state}`);
          const r = await o.destroyDomain(name).done;
          if (r.leftovers.length > 0) throw new Error(`${name} left ${r.leftovers.join(', ')}`);
        } catch (err) {
          errors.push(`${name}: ${String(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, w) => worker(w)));
    expect(errors.slice(0, 5)).toEqual([]);
    // The daemon really did inject conflicts, and the client rode them out.
    expect(env.xs.stats.txRetries - retriesBefore).toBeGreaterThan(0);
    expect(o.listDomains().domains).toEqual([]);
    expect(readFileSync(d.domainsFile, 'utf8')).toBe('');
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });
});

describe('fifty parallel creates and destroys fighting over ten names', () => {
  let env: Environment;
  beforeAll(async () => {
    env = await createEnvironment({ xenstore: 'embedded', orchestrator: { maxParallelCreates: 8 } });
    await env.orchestrator.start();
  });
  afterAll(async () => env?.close());

  it('each name is won exactly once; every loser gets a clear 409; the store ends as it began', { timeout: 120_000 }, async () => {
    const o = env.orchestrator;
    const before = await dumpOurTree(env.xs);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        o.createDomain(sixDeviceConfig(`clash-${i % 10}`)).done.then(
          (v) => `ok ${v.name}`,
          (e: unknown) => (hasTsxCode(e) ? `${e.statusCode} ${e.code}` : `raw ${String(e)}`),
        ),
      ),
    );
    const wins = outcomes.filter((x) => x.startsWith('ok')).sort();
    expect(wins).toEqual(Array.from({ length: 10 }, (_, i) => `ok clash-${i}`).sort());
    for (const x of outcomes.filter((y) => !y.startsWith('ok'))) expect(x).toMatch(/^409 TSX_ERR_/);
    // Fifty parallel destroys of the ten. Destroy is idempotent (as xend's was): destroys queued
    // on a domain that another destroy removed end ok; none is partial, none untyped.
    const destroys = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        Promise.resolve()
          .then(() => o.destroyDomain(`clash-${i % 10}`).done)
          .then(
            (r) => (r.leftovers.length === 0 ? 'ok' : `partial ${r.leftovers.join(',')}`),
            (e: unknown) => (hasTsxCode(e) ? String(e.statusCode) : `raw ${String(e)}`),
          ),
      ),
    );
    for (const x of destroys) expect(['ok', '404']).toContain(x);
    expect(o.listDomains().domains).toEqual([]);
    expect(await dumpOurTree(env.xs)).toEqual(before);
  });
});
