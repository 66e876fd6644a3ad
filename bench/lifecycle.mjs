// Domain create + destroy against a real xenstored 4.17, C by default (LD_PRELOAD hypervisor stub; the
// simulated hypervisor publishes its domains to the stub's domains file; simulated guests
// connect the frontends). Measures a six-device domain (2 vbd, 2 vif, vfb, vkbd) with 0, 100,
// 500 and 1,000 other domains running, and splits each create's time:
//  - per phase (create.ts's steps): wall time and the toolstack's xenstore requests;
//  - the toolstack's own time: from the request to `running`, less the wait for the simulated
//    guest to connect its frontends (the devices-connected phase);
//  - of that, the time with a toolstack request awaiting cxenstored's reply (xs.stats.waitMs),
//    the Node process's CPU (tsxend and the in-process simulators), cxenstored's CPU;
//  - cxenstored's own cost per request at that many domains, measured with Xen's C client
//    (libxenstore, bench/xenstore-client.c): the floor no toolstack on this daemon can beat.
//
//   npm run build && node bench/lifecycle.mjs [--iterations N] [--background 0,100,500,1000]
//        [--devices layer|basic] [--xenstored cxenstored|oxenstored] [--shells K] [--json]
//
// --devices layer (default): the devices layer with its kernel-backend and guest-frontend
// simulators and the vfb backend daemon (a process per domain). --devices basic: the
// lifecycle's stand-in device manager and its own simulated guests, which isolates the
// toolstack's cost from the simulators'. --json prints {"results":[{background, createMedianMs,
// toolstackMedianMs, requestsPerCreate, ...}]} on stdout (the table goes to stderr).
//
// Needs Debian's xen-utils-4.17 (xenstored), libxen-dev and gcc.

import { randomUUID } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEnvironment } from '../dist/lifecycle/environment.js';
import { validateConfig } from '../dist/config/validate.js';
import { BasicDeviceManager } from '../dist/sim/index.js';
import { startXenstored } from './xenstored-lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const iterations = Number(arg('--iterations', '30'));
const deviceMode = arg('--devices', 'layer');
const backgrounds = arg('--background', '0,100,500,1000').split(',').map(Number);
const json = argv.includes('--json');
// --shells K: the daemon keeps K prepared shells (2 vcpus, 16 MiB); each level is then measured
// twice, alternately: creates that fit a shell, and creates that do not (maxmem 32 MiB).
const shellCount = Number(arg('--shells', '0'));
const out = json ? (s) => process.stderr.write(`${s}\n`) : (s) => process.stdout.write(`${s}\n`);
const WARMUP = 5;

const kind = arg('--xenstored', 'cxenstored');
const cx = await startXenstored(kind, 'tsxend-bench-lc-');
const cbench = join(cx.dir, 'xs-bench');
execFileSync('gcc', ['-O2', '-o', cbench, new URL('./xenstore-client.c', import.meta.url).pathname, '-lxenstore']);

/** xenstored's CPU time so far, ms (utime + stime, 100 Hz ticks). */
function xenstoredCpuMs() {
  const f = readFileSync(`/proc/${cx.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** xenstored's cost per request with what the store holds now: libxenstore, sequential, µs. */
async function floor() {
  const { stdout } = await promisify(execFile)(cbench, ['1000'], { env: { ...process.env, XENSTORED_PATH: cx.socketPath } });
  const ns = JSON.parse(stdout);
  return { readUs: ns.read / 1000, writeUs: ns.write / 1000, directoryUs: ns.directory / 1000, transactionUs: ns.transaction / 1000 };
}

let serial = 0;
const mac = (n, k) => `00:16:3e:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}:0${k}`;
function config(name, six, shape = { vcpus: 1, maxmem: 16 }) {
  const n = ++serial;
  const devices = {
    [randomUUID()]: { class: 'vbd', config: { vdev: 'xvda', target: `/srv/${name}-root.img` } },
    [randomUUID()]: { class: 'vif', config: { mac: mac(n, 1), bridge: 'xenbr0' } },
  };
  if (six) {
    devices[randomUUID()] = { class: 'vbd', config: { vdev: 'xvdb', target: `/srv/${name}-data.img` } };
    devices[randomUUID()] = { class: 'vif', config: { mac: mac(n, 2), bridge: 'xenbr0' } };
    devices[randomUUID()] = { class: 'vfb', config: { vnc: true } };
    devices[randomUUID()] = { class: 'vkbd', config: {} };
  }
  return validateConfig({ name, uuid: randomUUID(), memory: 16, maxmem: shape.maxmem, vcpus: shape.vcpus, image: { kernel: '/boot/vmlinuz' }, devices });
}

const env = await createEnvironment({
  xenstore: { socket: cx.socketPath },
  simulated: { domainsFile: cx.domainsFile, totalMemoryKiB: 64 * 1024 * 1024, maxDomid: 0x7fef },
  orchestrator: { createTimeoutMs: 60_000, maxParallelCreates: 8, ...(shellCount > 0 ? { preparedShells: { count: shellCount, memoryMiB: 16, maxVcpus: 2 } } : {}) },
  ...(deviceMode === 'basic' ? { devices: new BasicDeviceManager() } : {}),
});
const o = env.orchestrator;
const xs = env.xs;
await o.start();

// Phase marks: each create.step event of the domain being measured, with the request count then.
let marks;
let watched;
o.events.subscribe((e) => {
  if (marks && e.type === 'create.step' && e.uuid === watched) marks.push({ step: e.step, t: performance.now(), requests: xs.stats.requests });
});

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const median = (list) => pct(list, 50);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** One measured create + destroy of a six-device domain. */
async function cycle(name, shape) {
  const cfg = config(name, true, shape);
  watched = cfg.uuid;
  marks = [];
  const byType0 = { ...xs.stats.byType };
  const r0 = xs.stats.requests;
  const w0 = xs.stats.waitMs;
  const c0 = process.cpuUsage();
  const x0 = xenstoredCpuMs();
  const t0 = performance.now();
  await o.createDomain(cfg).done;
  const t1 = performance.now();
  const cpu = process.cpuUsage(c0);
  const x1 = xenstoredCpuMs();
  const r1 = xs.stats.requests;
  const w1 = xs.stats.waitMs;
  const phaseMarks = marks;
  marks = undefined;
  await o.destroyDomain(name).done;
  const t2 = performance.now();
  const phases = phaseMarks.map((m, i) => {
    const next = phaseMarks[i + 1] ?? { t: t1, requests: r1 };
    return { step: m.step, ms: next.t - m.t, requests: next.requests - m.requests };
  });
  const guestMs = phases.filter((p) => p.step === 'devices-connected').reduce((a, p) => a + p.ms, 0);
  const byType = {};
  for (const [k, v] of Object.entries(xs.stats.byType)) if (v - (byType0[k] ?? 0) > 0) byType[k] = v - (byType0[k] ?? 0);
  return {
    createMs: t1 - t0,
    toolstackMs: t1 - t0 - guestMs,
    guestMs,
    destroyMs: t2 - t1,
    xenstoreWaitMs: w1 - w0,
    nodeCpuMs: (cpu.user + cpu.system) / 1000,
    xenstoredCpuMs: x1 - x0,
    requests: r1 - r0,
    destroyRequests: xs.stats.requests - r1,
    byType,
    phases,
  };
}

/** The medians of a level's measured cycles. */
function summarize(background, runs, fl) {
  const med = (k) => median(runs.map((r) => r[k]));
  const steps = runs[0].phases.map((p) => p.step);
  const byType = {};
  for (const k of Object.keys(runs.at(-1).byType)) byType[k] = median(runs.map((r) => r.byType[k] ?? 0));
  return {
    background,
    createMedianMs: round(med('createMs')),
    createP99Ms: round(pct(runs.map((r) => r.createMs), 99)),
    toolstackMedianMs: round(med('toolstackMs')),
    guestMedianMs: round(med('guestMs')),
    xenstoreWaitMedianMs: round(med('xenstoreWaitMs')),
    nodeCpuMedianMs: round(med('nodeCpuMs')),
    xenstoredCpuPerCreateMs: round(runs.reduce((a, r) => a + r.xenstoredCpuMs, 0) / runs.length),
    requestsPerCreate: med('requests'),
    requestsByType: byType,
    floorPerRequestUs: Object.fromEntries(Object.entries(fl).map(([k, v]) => [k, round(v, 1)])),
    destroyMedianMs: round(med('destroyMs')),
    destroyP99Ms: round(pct(runs.map((r) => r.destroyMs), 99)),
    requestsPerDestroy: med('destroyRequests'),
    phases: steps.map((step, i) => ({ step, medianMs: round(median(runs.map((r) => r.phases[i]?.ms ?? 0))), requests: median(runs.map((r) => r.phases[i]?.requests ?? 0)) })),
    loadavg: round(loadavg()[0], 1),
  };
}

const results = [];
const shells = [];
let running = 0;
try {
  for (const background of backgrounds) {
    // Background domains (a disk and a nic each, 1 vcpu: never a shell's), created 8 at a time.
    while (running < background) {
      const batch = Math.min(8, background - running);
      await Promise.all(Array.from({ length: batch }, (_, k) => o.createDomain(config(`bg-${running + k}`, false)).done));
      running += batch;
    }
    const fl = await floor();
    const normal = [];
    const fromShell = [];
    for (let i = 0; i < iterations + WARMUP; i++) {
      if (shellCount === 0) {
        const r = await cycle(`bench-${background}-${i}`, { vcpus: 1, maxmem: 16 });
        if (i >= WARMUP) normal.push(r);
        continue;
      }
      // Alternately, so both paths meet the same machine: one that no shell fits, one that fits.
      const r = await cycle(`bench-${background}-${i}`, { vcpus: 2, maxmem: 32 });
      await o.shells.whenFull();
      const s = await cycle(`bench-${background}-${i}-shell`, { vcpus: 2, maxmem: 16 });
      if (i >= WARMUP) {
        normal.push(r);
        fromShell.push(s);
      }
    }
    const row = summarize(background, normal, fl);
    results.push(row);
    process.stderr.write(
      `devices=${deviceMode} background ${background}: create ${row.createMedianMs} ms (toolstack ${row.toolstackMedianMs}, of which xenstore wait ${row.xenstoreWaitMedianMs}), ` +
        `${kind} ${row.xenstoredCpuPerCreateMs} ms CPU per create; requests ${row.requestsPerCreate}/${row.requestsPerDestroy}\n`,
    );
    if (fromShell.length > 0) {
      const sh = summarize(background, fromShell, fl);
      shells.push(sh);
      process.stderr.write(`  from a prepared shell: create ${sh.createMedianMs} ms (toolstack ${sh.toolstackMedianMs}); requests ${sh.requestsPerCreate}\n`);
    }
  }
} finally {
  await env.close();
  cx.stop();
}

const meta = { bench: 'lifecycle', devices: deviceMode, iterations, warmup: WARMUP, node: process.version, xenstored: `${kind} 4.17` };
if (json) console.log(JSON.stringify({ ...meta, results, ...(shells.length > 0 ? { shells } : {}) }));
out(`six-device domain create + destroy against ${kind} 4.17, devices=${deviceMode}, ${iterations} iterations each (after ${WARMUP} warm-up), node ${process.version}`);
out('');
out('| path | domains running | create median | toolstack median | xenstore wait | node CPU | xenstored CPU per create | requests per create | destroy median | load |');
out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [path, list] of [['normal', results], ['prepared shell', shells]]) {
  for (const r of list) {
    out(
      `| ${path} | ${r.background} | ${r.createMedianMs} ms | ${r.toolstackMedianMs} ms | ${r.xenstoreWaitMedianMs} ms | ${r.nodeCpuMedianMs} ms | ${r.xenstoredCpuPerCreateMs} ms | ${r.requestsPerCreate} | ${r.destroyMedianMs} ms | ${r.loadavg} |`,
    );
  }
}
out('');
out(`${kind} per request (libxenstore, sequential), µs:`);
out('| domains running | read | write | directory | transaction (start, read, write, end) |');
out('|---:|---:|---:|---:|---:|');
for (const r of results) out(`| ${r.background} | ${r.floorPerRequestUs.readUs} | ${r.floorPerRequestUs.writeUs} | ${r.floorPerRequestUs.directoryUs} | ${r.floorPerRequestUs.transactionUs} |`);
out('');
out('requests and time per phase (median), first and last level:');
for (const [path, list] of [['normal', results], ['prepared shell', shells]]) {
  for (const r of [list[0], list.at(-1)].filter((x, i, a) => x && a.indexOf(x) === i)) {
    out(`${path}, background ${r.background}: ` + r.phases.map((p) => `${p.step} ${p.requests} req ${p.medianMs} ms`).join('; '));
  }
}
