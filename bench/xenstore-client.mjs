// The TS xenstore client vs libxenstore (C) on the same private cxenstored, in one run:
// sequential read, write, directory and transaction latency (ns per operation), and the TS
// client's pipelined throughput at depths 1, 8 and 64 against libxenstore's sequential rate.
// Rounds alternate which client goes first; figures are the medians over rounds.
//
//   npm run build && node bench/xenstore-client.mjs [--ops N] [--rounds R]
//
// Needs Debian's xen-utils-4.17 (xenstored), libxen-dev (xenstore.h, libxenstore) and gcc:
// the C side (bench/xenstore-client.c) and the hypervisor stub (test/fixtures/xsstub.c) are
// compiled into a temporary directory at bench time.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openXenstore } from '../dist/xenstore/index.js';
import { startCxenstored } from './xenstored-lib.mjs';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const ops = opt('--ops', 20000);
const rounds = opt('--rounds', 3);
const json = argv.includes('--json');

if (!existsSync('/usr/include/xenstore.h')) throw new Error('/usr/include/xenstore.h missing: install libxen-dev');

const here = (p) => new URL(p, import.meta.url).pathname;
const daemon = await startCxenstored('tsxend-bench-client-');
const sock = daemon.socketPath;
const cbench = join(daemon.dir, 'xs-bench');
execFileSync('gcc', ['-O2', '-o', cbench, here('./xenstore-client.c'), '-lxenstore']);

/** The daemon's CPU time so far in µs (utime + stime from /proc, 100 Hz ticks). */
function daemonCpuUs() {
  const fields = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function measureC(n) {
  const { stdout } = await run(cbench, [String(n)], { env: { ...process.env, XENSTORED_PATH: sock }, timeout: 600_000 });
  return JSON.parse(stdout);
}

/** Wall time per call of `n` sequential awaits of fn(), in ns. */
async function perOp(n, fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

async function measureTs(xs, n) {
  const value = 'value-0123456789';
  await xs.write('/bench/c/key', value);
  for (let i = 0; i < 16; i++) await xs.write(`/bench/c/dir/child${i}`, 'x');
  const read = await perOp(n, () => xs.read('/bench/c/key'));
  const write = await perOp(n, () => xs.write('/bench/c/w', value));
  const directory = await perOp(n, () => xs.directory('/bench/c/dir'));
  const transaction = await perOp(Math.max(1, n >> 2), () =>
    xs.transaction(async (tx) => {
      await tx.write('/bench/c/key', await tx.read('/bench/c/key'));
    }),
  );
  const pipelined = {};
  const cpu = {};
  for (const depth of [1, 8, 64]) {
    let left = n;
    const d0 = daemonCpuUs();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: depth }, async () => {
        while (left-- > 0) await xs.read('/bench/c/key');
      }),
    );
    pipelined[depth] = (n * 1e9) / Number(process.hrtime.bigint() - t0);
    const c1 = process.cpuUsage(c0);
    // Where the time goes when pipelined: CPU per read in the daemon and in this process.
    cpu[depth] = { daemon_us: (daemonCpuUs() - d0) / n, client_us: (c1.user + c1.system) / n };
  }
  return { read, write, directory, transaction, pipelined, cpu };
}

const samples = { c: [], ts: [] };
let xs;
try {
  xs = await openXenstore({ kind: 'socket', path: sock });
  // Warm-up (JIT, daemon allocations), discarded.
  await measureC(Math.min(ops, 2000));
  await measureTs(xs, Math.min(ops, 2000));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['c', 'ts'] : ['ts', 'c'];
    for (const who of order) samples[who].push(who === 'c' ? await measureC(ops) : await measureTs(xs, ops));
  }
} finally {
  await xs?.close();
  daemon.stop();
}

// Medians, and the best round of each side: on a shared VM a round trip is bimodal (the two
// processes on one core or on two), so single rounds of either client can be 5× slower.
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const med = (who, key) => median(samples[who].map((s) => s[key]));
const best = (who, key) => Math.min(...samples[who].map((s) => s[key]));
const result = { ops, rounds, node: process.version, cpus: cpus().length, loadavg: loadavg()[0], latency: {}, throughput: {} };
for (const k of ['read', 'write', 'directory', 'transaction']) {
  const c = med('c', k);
  const t = med('ts', k);
  const cb = best('c', k);
  const tb = best('ts', k);
  result.latency[k] = { libxenstore_ns: Math.round(c), ts_ns: Math.round(t), ratio: t / c, best_libxenstore_ns: Math.round(cb), best_ts_ns: Math.round(tb), best_ratio: tb / cb };
}
// Against libxenstore's BEST sequential read round: the strictest baseline.
const cSeq = 1e9 / result.latency.read.best_libxenstore_ns;
for (const depth of [1, 8, 64]) {
  const t = median(samples.ts.map((s) => s.pipelined[depth]));
  result.throughput[depth] = {
    ts_ops: Math.round(t),
    libxenstore_sequential_ops: Math.round(cSeq),
    ratio: t / cSeq,
    daemon_cpu_us_per_op: median(samples.ts.map((s) => s.cpu[depth].daemon_us)),
    client_cpu_us_per_op: median(samples.ts.map((s) => s.cpu[depth].client_us)),
  };
}

if (json) console.log(JSON.stringify(result));
else {
  console.log(`xenstore client vs libxenstore on cxenstored 4.17: ${ops} ops, ${rounds} rounds (medians), node ${process.version}, ${result.cpus} CPUs, load ${result.loadavg.toFixed(1)}`);
  const us = (ns) => (ns / 1000).toFixed(1);
  console.log('\n| operation | libxenstore median (µs/op) | TS median (µs/op) | TS / libxenstore | libxenstore best | TS best | best / best |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(result.latency)) {
    console.log(`| ${k} | ${us(v.libxenstore_ns)} | ${us(v.ts_ns)} | ${v.ratio.toFixed(2)}× | ${us(v.best_libxenstore_ns)} | ${us(v.best_ts_ns)} | ${v.best_ratio.toFixed(2)}× |`);
  }
  console.log('\n| pipeline depth | TS client median (reads/s) | libxenstore best sequential (reads/s) | TS / libxenstore | cxenstored CPU µs/read | client CPU µs/read |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const [d, v] of Object.entries(result.throughput)) {
    console.log(`| ${d} | ${v.ts_ops} | ${v.libxenstore_sequential_ops} | ${v.ratio.toFixed(2)}× | ${v.daemon_cpu_us_per_op.toFixed(1)} | ${v.client_cpu_us_per_op.toFixed(1)} |`);
  }
}
