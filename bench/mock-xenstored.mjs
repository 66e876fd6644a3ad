// Mock xenstored vs real cxenstored, measured by Xen's own test-xenstore: the same
// `test-xenstore -i N` runs against each daemon's Unix socket, alternating, in one run.
// Reports per-test time per operation and the mock/cxenstored ratio (target ≤ 1.0×).
//
//   npm run build && node bench/mock-xenstored.mjs [--iterations N] [--rounds R] [--json]
//
// Needs Debian's xen-utils-4.17 (xenstored, test-xenstore), libxen-dev and gcc (the
// hypervisor stub of test/fixtures/xsstub.c is compiled into a temporary directory).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MockXenstored } from '../dist/xenstore/mock/index.js';
import { startCxenstored } from './xenstored-lib.mjs';

const run = promisify(execFile);
const TEST = '/usr/lib/xen-4.17/bin/test-xenstore';
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const iterations = opt('--iterations', 200);
const rounds = opt('--rounds', 3);

if (!existsSync(TEST)) throw new Error(`${TEST} missing: install xen-utils-4.17`);

const cx = await startCxenstored();
const cSock = cx.socketPath;
const mock = new MockXenstored();
const mSock = join(cx.dir, 'mock.sock');
await mock.listen(mSock);

async function measure(sock) {
  const { stdout } = await run(TEST, ['-i', String(iterations)], { env: { ...process.env, XENSTORED_PATH: sock }, timeout: 600_000 });
  const out = new Map();
  for (const line of stdout.trim().split('\n')) {
    const m = /^(.*?)\s*:\s*(?:avg:\s*)?(\d+) ns/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

const samples = { cxenstored: [], mock: [] };
// Both daemons share the machine with whatever else runs: record how loaded it was.
const loadBefore = loadavg()[0];
try {
  await measure(cSock); // warm-up (both), discarded
  await measure(mSock);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['cxenstored', 'mock'] : ['mock', 'cxenstored'];
    for (const who of order) samples[who].push(await measure(who === 'mock' ? mSock : cSock));
  }
} finally {
  await mock.close();
  cx.stop();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const names = [...samples.cxenstored[0].keys()];
let logSum = 0;
const json = argv.includes('--json');
const say = json ? (line) => process.stderr.write(`${line}\n`) : (line) => console.log(line);
const results = [];
say(`test-xenstore -i ${iterations}, ${rounds} rounds (median ns per iteration), node ${process.version}`);
say(`load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`);
say('| test | cxenstored | mock | mock / cxenstored |');
say('|---|---:|---:|---:|');
for (const n of names) {
  const c = median(samples.cxenstored.map((s) => s.get(n)));
  const m = median(samples.mock.map((s) => s.get(n)));
  logSum += Math.log(m / c);
  results.push({ test: n, cxenstoredNs: c, mockNs: m, ratio: m / c });
  say(`| ${n} | ${c} | ${m} | ${(m / c).toFixed(2)}× |`);
}
const geomean = Math.exp(logSum / names.length);
say(`| **geometric mean** | | | **${geomean.toFixed(2)}×** |`);
if (json) console.log(JSON.stringify({ bench: 'mock-xenstored', iterations, rounds, results, geomean }));
