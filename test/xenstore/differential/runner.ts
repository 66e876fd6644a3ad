// Runs random op sequences (fast-check model-based testing: fc.commands) against several
// daemons in lockstep and hands each op's steps to a comparison that throws on a difference;
// fast-check then shrinks the sequence to a short one and prints it with its seed and path.

import fc from 'fast-check';
import { Model, type Request } from './model.js';
import type { RawClient } from '../mock-raw-client.js';
import { CONNS, opArbitrary, opText, type Op, type TreeShape } from './ops.js';
import { Session, type Step } from './session.js';

export interface Daemon {
  readonly name: string;
  readonly socketPath: string;
  /** Round trips that drain a connection's events (Session.open). */
  readonly syncRounds?: number;
  /** The guest's connection (domain GUEST_DOMID, unprivileged), kept across runs. */
  readonly guest?: RawClient;
}

/** Throws (an assertion) when the daemons' steps for `op` disagree in a way that matters. */
export type Compare = (op: Op, steps: readonly Step[], run: { readonly model: Model; readonly req: Request }) => void;

export interface Tally {
  ops: number;
  runs: number;
}

class Lockstep {
  constructor(
    readonly model: Model,
    private readonly sessions: readonly Session[],
    private readonly compare: Compare,
    private readonly tally: Tally,
  ) {}

  async step(op: Op): Promise<void> {
    if (process.env["TSXEND_XS_DIFF_TRACE"]) console.error(`[${this.tally.ops}] ${opText(op)}`);
    const req = this.model.request(op);
    const sync = this.model.syncSet(op.conn);
    const steps = await Promise.all(this.sessions.map((s) => s.run(req, sync)));
    this.tally.ops++;
    this.compare(op, steps, { model: this.model, req });
  }
}

class XsCommand implements fc.AsyncCommand<Model, Lockstep> {
  constructor(readonly op: Op) {}
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Lockstep): Promise<void> {
    await r.step(this.op);
  }
  toString(): string {
    return opText(this.op);
  }
}

let runNo = 0;

/** A property over whole sequences: each run gets fresh connections and its own base directory. */
export function differentialProperty(daemons: readonly Daemon[], compare: Compare, tally: Tally, maxCommands: number, shape: TreeShape) {
  const guest = daemons.every((d) => d.guest !== undefined);
  const cmds = fc.commands([opArbitrary(shape, guest).map((op) => new XsCommand(op))], { maxCommands, size: 'max' });
  return fc.asyncProperty(cmds, async (seq) => {
    const model = new Model(`xd${process.pid}-${runNo++}`, guest ? CONNS + 1 : CONNS);
    const sessions = await Promise.all(daemons.map((d) => Session.open(d.name, d.socketPath, model.base, d.syncRounds, guest ? d.guest : undefined)));
    tally.runs++;
    try {
      await fc.asyncModelRun(() => ({ model, real: new Lockstep(model, sessions, compare, tally) }), seq);
    } finally {
      await Promise.all(sessions.map((s) => s.close(model.base)));
    }
  });
}

export interface Budget {
  /** Operations to run at least (first passes only; shrinking comes on top). */
  readonly ops: number;
  /** First seed; the following ones count up from it. */
  readonly seed: number;
  readonly runsPerSeed: number;
  readonly maxCommands: number;
}

/** Budget from the environment: TSXEND_XS_DIFF_OPS (default `ops`), TSXEND_XS_DIFF_SEED (default random). */
export function budgetFromEnv(ops: number): Budget {
  const envOps = Number(process.env['TSXEND_XS_DIFF_OPS'] ?? '');
  const envSeed = process.env['TSXEND_XS_DIFF_SEED'];
  return {
    ops: Number.isInteger(envOps) && envOps > 0 ? envOps : ops,
    seed: envSeed !== undefined && envSeed !== '' ? Number(envSeed) | 0 : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0,
    runsPerSeed: 25,
    maxCommands: 160,
  };
}

/** Seeds one after another until the budget's ops have run; each seed is printed before it runs. */
export async function runBudget(label: string, daemons: readonly Daemon[], compare: Compare, budget: Budget): Promise<Tally & { seeds: number[]; ms: number }> {
  const tally: Tally = { ops: 0, runs: 0 };
  const seeds: number[] = [];
  const t0 = Date.now();
  for (let seed = budget.seed; tally.ops < budget.ops; seed = (seed + 1) | 0) {
    seeds.push(seed);
    const shape: TreeShape = (seed & 1) === 0 ? 'wide' : 'deep';
    console.log(`${label}: seed ${seed}, ${shape} tree (replay: TSXEND_XS_DIFF_SEED=${seed})`);
    await fc.assert(differentialProperty(daemons, compare, tally, budget.maxCommands, shape), { seed, numRuns: budget.runsPerSeed, endOnFailure: false });
  }
  return { ...tally, seeds, ms: Date.now() - t0 };
}

/** "A, A+1 … B (n seeds)" for the summary line. */
export function seedsText(seeds: readonly number[]): string {
  if (seeds.length <= 3) return seeds.join(', ');
  return `${seeds[0]}, ${seeds[1]} … ${seeds[seeds.length - 1]} (${seeds.length} seeds)`;
}
