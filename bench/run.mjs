#!/usr/bin/env node
// Runs the benchmarks and prints their headline figures as one table: `npm run bench` runs every
// bench/*.mjs in turn with --json (each one's own output goes to stderr); `npm run bench -- NAME...`
// runs the named ones. Build first: `npm run build`. What the figures mean, and the full tables:
// BENCHMARKS.md. Figures from one run are comparable with each other; the machines are shared.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.endsWith('-lib.mjs'))
  .map((f) => f.slice(0, -4));
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}

const ms = (x) => (x === undefined ? '–' : `${Number(x).toFixed(x < 10 ? 2 : 1)} ms`);
const times = (x) => (x === undefined ? '–' : `${Number(x).toFixed(2)}×`);
const num = (x, unit = '') => (x === undefined ? '–' : `${Number(x).toLocaleString('en-US', { maximumFractionDigits: 1 })}${unit}`);

/**
 * Each benchmark's arguments for the table and its headline rows: [figure, value, target].
 * A benchmark not listed here still runs with --json; its numeric top-level fields are shown.
 */
const HEADLINES = {
  lifecycle: {
    args: ['--devices', 'basic', '--shells', '2'],
    rows: (j) => {
      const rows = [];
      for (const r of j.results) {
        rows.push([`create, ${r.background} domains running (median)`, ms(r.createMedianMs), '']);
        rows.push([`toolstack's own time, ${r.background} domains running (median)`, ms(r.toolstackMedianMs), r.background === 0 ? '≤ 5 ms' : '']);
        rows.push([`xenstored's CPU per create, ${r.background} domains running`, ms(r.xenstoredCpuPerCreateMs), '']);
        rows.push([`xenstore requests per create, ${r.background} domains`, num(r.requestsPerCreate), 'minimised']);
      }
      const first = j.results[0];
      const last = j.results.at(-1);
      if (first && last && last !== first) rows.push([`toolstack time at ${last.background} / at ${first.background}`, times(last.toolstackMedianMs / first.toolstackMedianMs), '≤ 1.1×']);
      for (const s of j.shells ?? []) rows.push([`create from a prepared shell, ${s.background} domains (median)`, ms(s.toolstackMedianMs), s.background === 0 ? '≤ 2 ms' : '']);
      return rows;
    },
  },
  'daemon-fanout': {
    args: ['--subscribers', '1000', '--events', '200', '--processes', '2'],
    rows: (j) => [
      ['event delivery to 1,000 websocket subscribers, p99', ms(j.delivery?.p99 ?? j.p99), '≤ 10 ms'],
      ['event delivery, p50', ms(j.delivery?.p50 ?? j.p50), ''],
    ],
  },
  'daemon-rss': {
    args: ['--domains', '1000', '--concurrency', '16', '--xenstore', 'cxenstored'],
    rows: (j) => [
      ['daemon RSS with 1,000 domains (cxenstored), 2 s after the creates', num(j.withDomainsMB, ' MB'), '≤ 150 MB'],
      ['daemon RSS with 1,000 domains, settled', num(j.settledMB, ' MB'), '≤ 150 MB'],
      ['daemon RSS idle', num(j.idleMB, ' MB'), ''],
    ],
  },
  'mock-xenstored': {
    args: [],
    rows: (j) =>
      (j.results ?? [])
        .filter((r) => r.test === 'dir' || r.test === 'ta rmw')
        .map((r) => [`mock xenstored / cxenstored, test-xenstore ${r.test}`, times(r.ratio), '≤ 1.0×'])
        .concat(j.geomean === undefined ? [] : [['mock xenstored / cxenstored, geometric mean of 12 tests', times(j.geomean), '≤ 1.0×']]),
  },
  'xenstored-floor': {
    args: [],
    rows: (j) =>
      ['cxenstored', 'oxenstored'].flatMap((k) => {
        const mine = j.results.filter((r) => r.xenstored === k);
        const [a, b] = [mine[0], mine.at(-1)];
        return a && b && a !== b ? [[`${k}: a write with ${b.domains} domains introduced / with ${a.domains}`, times(b.writeUs / a.writeUs), '']] : [];
      }),
  },
  'xenstore-client': {
    args: [],
    rows: (j) => [
      ['TS client read latency / libxenstore', times(j.latency.read.ratio), ''],
      ['TS client reads pipelined 64 deep / libxenstore sequential', times(j.throughput['64'].ratio), ''],
    ],
  },
  'daemon-throughput': {
    args: [],
    rows: (j) => [
      [`API create+destroy cycles/s (${j.xenstore}, 8 clients)`, num(j.cycles_per_s), ''],
      ['API create p50 / p99', `${ms(j.create.p50_ms)} / ${ms(j.create.p99_ms)}`, ''],
    ],
  },
  'save-restore': {
    args: [],
    rows: (j) =>
      j.results.flatMap((r) => [
        [`save per GiB (${r.gib} GiB guest)`, ms(r.saveMsPerGiB), ''],
        [`restore per GiB (${r.gib} GiB guest)`, ms(r.restoreMsPerGiB), ''],
        [`live migration downtime / stop-and-copy's (${r.gib} GiB)`, times(r.liveDowntimeMedianMs / r.stopDowntimeMedianMs), ''],
      ]),
  },
  'config-parse': {
    args: [],
    rows: (j) => j.results.map((r) => [`parse + validate xl.cfg, ${r.case}`, num(r.parseXlUs, ' µs'), '']),
  },
};

/** Runs one benchmark with --json: its stdout's last JSON line (its human output goes to stderr). */
function runOne(name) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${dir}${name}.mjs`, '--json', ...(HEADLINES[name]?.args ?? [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      try {
        resolve(code === 0 && line ? JSON.parse(line) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** Fallback rows: the numeric top-level fields. */
const numericRows = (j) =>
  Object.entries(j)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [k, num(v), '']);

const table = [];
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.error(`\n=== ${name}`);
  const j = await runOne(name);
  if (j === undefined) {
    failed++;
    table.push([name, 'failed (see its output above)', '', '']);
    continue;
  }
  let rows;
  try {
    rows = (HEADLINES[name]?.rows ?? numericRows)(j);
  } catch (err) {
    rows = [['(its JSON was not what this table expects)', String(err), '']];
  }
  for (const [figure, value, target] of rows) table.push([name, figure, value, target]);
}

console.log(`\nHeadline figures (node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the end); details: BENCHMARKS.md\n`);
console.log('| benchmark | figure | value | target |');
console.log('|---|---|---:|---|');
for (const r of table) console.log(`| ${r.join(' | ')} |`);
process.exit(failed === 0 ? 0 : 1);
