// Daemon RSS with N running domains (embedded default): create N domains through the API
// (C at a time; 8 MiB guests so 1,000 fit the simulated 16 GiB host), then read VmRSS of the `tsxend serve` process. Target: <= 150 MB at 1,000.
//
//   npm run build && node bench/daemon-rss.mjs [--domains 1000] [--concurrency 16] [--xenstore embedded|cxenstored] [--settle 90] [--node-flags '…'] [--json] [--heap-snapshot DIR]
//
// With --xenstore cxenstored the store lives in Xen's real daemon (as on a dom0), so the RSS is
// the daemon's own; embedded also holds the whole in-process xenstore. The daemon runs with the
// Node flags of the launcher's #! line, as the unit and the container start it. Read twice: 2 s
// after the last create (withDomainsMB) and --settle seconds later (settledMB). --json prints one
// JSON object ({idleMB, withDomainsMB, settledMB, heapUsedMB, domains, running, xenstore, …}) on
// stdout; the human output goes to stderr. --heap-snapshot DIR writes the daemon's V8 heap idle and with the domains
// (DIR/*.heapsnapshot, in that order): compare them in Chrome's DevTools to see what a domain holds.
import { readdirSync } from 'node:fs';
import { setTimeout } from 'node:timers';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { launcherNodeFlags, startCxenstored, startServe, xlConfig } from './daemon-lib.mjs';

const { values } = parseArgs({ options: { domains: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '16' }, xenstore: { type: 'string', default: 'embedded' }, json: { type: 'boolean', default: false }, 'heap-snapshot': { type: 'string' }, settle: { type: 'string', default: '90' }, 'node-flags': { type: 'string' } } });
// Node's flags for the daemon: the launcher's unless given ('' runs it with Node's defaults, to compare).
const nodeFlags = values['node-flags'] === undefined ? launcherNodeFlags() : values['node-flags'].split(/\s+/).filter(Boolean);
const log = values.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const load = Number(loadavg()[0].toFixed(2)); // the machine's, before this run adds its own
const n = Number(values.domains);
const xs = values.xenstore === 'cxenstored' ? await startCxenstored() : undefined;
const snapDir = values['heap-snapshot'];
const nodeOptions = snapDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDir}` } : {};
const d = xs ? await startServe(['--xenstore', `socket:${xs.socketPath}`], { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile, ...nodeOptions }, nodeFlags) : await startServe([], nodeOptions, nodeFlags);
/** Asks the daemon for a heap snapshot and waits until it is written (a new file in the directory). */
async function snapshot() {
  if (!snapDir) return;
  const count = () => readdirSync(snapDir).filter((f) => f.endsWith('.heapsnapshot')).length;
  const before = count();
  process.kill(d.pid, 'SIGUSR2');
  while (count() === before) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1000)); // the write finishes after the file appears
}
const fds = () => readdirSync(`/proc/${d.pid}/fd`).length;
const idle = d.rssMiB();
const idleFds = fds();
await snapshot();
let next = 0;
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    for (let i = next++; i < n; i = next++) await d.api.request('POST', '/v1/domains', { data: xlConfig(`rss-${i}`, i, 8), contentType: 'text/plain' });
  }),
);
const list = await d.api.get('/v1/domains');
const mb = (x) => Number(x.toFixed(1));
/** RSS and the V8 heap as the daemon's /metrics reports them, now. */
async function sample() {
  const metrics = (await d.api.request('GET', '/metrics')).body;
  const metric = (name) => mb(Number(new RegExp(`^tsxend_nodejs_${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0) / 1048576);
  return { rssMB: mb(d.rssMiB()), heapUsedMB: metric('heap_size_used_bytes'), heapTotalMB: metric('heap_size_total_bytes'), externalMB: metric('external_memory_bytes') };
}
await new Promise((r) => setTimeout(r, 2000));
const after = await sample();
// Then as the daemon holds them, quiet: V8's memory reducer gives back what the burst of creates
// left (about a minute after the last allocation burst). Sampled every 5 s for --settle seconds.
const settleUntil = Date.now() + Number(values.settle) * 1000;
let settled = after;
while (Date.now() < settleUntil) {
  await new Promise((r) => setTimeout(r, 5000));
  settled = await sample();
}
const result = {
  xenstore: values.xenstore,
  domains: list.domains.length,
  running: list.domains.filter((x) => x.state === 'running').length,
  nodeFlags,
  idleMB: mb(idle),
  withDomainsMB: after.rssMB,
  heapUsedMB: after.heapUsedMB,
  heapTotalMB: after.heapTotalMB,
  externalMB: after.externalMB,
  settledMB: settled.rssMB,
  settled: { seconds: Number(values.settle), heapUsedMB: settled.heapUsedMB, heapTotalMB: settled.heapTotalMB },
  fds: { idle: idleFds, withDomains: fds() },
  loadAvg: load,
};
await snapshot();
log(
  `tsxend serve (${result.xenstore} xenstore, node ${result.nodeFlags.join(' ')}), load average ${load}: RSS idle ${result.idleMB} MB; with ${result.domains} domains (${result.running} running) ${result.withDomainsMB} MB 2 s after the creates (V8 heap used ${result.heapUsedMB} of ${result.heapTotalMB} MB, external ${result.externalMB} MB), ${result.settledMB} MB ${values.settle} s later (heap ${settled.heapUsedMB} of ${settled.heapTotalMB} MB); open fds ${result.fds.idle} → ${result.fds.withDomains}`,
);
if (values.json) console.log(JSON.stringify(result));
await d.stop();
xs?.stop();
