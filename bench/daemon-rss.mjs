// Daemon RSS with N running domains (embedded default): create N domains through the API
// (C at a time; 8 MiB guests so 1,000 fit the simulated 16 GiB host), then read VmRSS of the `tsxend serve` process. Target: <= 150 MB at 1,000.
//
//   npm run build && node bench/daemon-rss.mjs [--domains 1000] [--concurrency 16] [--xenstore embedded|cxenstored] [--json]
//
// With --xenstore cxenstored the store lives in Xen's real daemon (as on a dom0), so the RSS is
// the daemon's own; embedded also holds the whole in-process xenstore. --json prints one JSON
// object ({idleMB, withDomainsMB, heapUsedMB, domains, running, xenstore}) on stdout; the human
// output goes to stderr.
import { setTimeout } from 'node:timers';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startCxenstored, startServe, xlConfig } from './daemon-lib.mjs';

const { values } = parseArgs({ options: { domains: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '16' }, xenstore: { type: 'string', default: 'embedded' }, json: { type: 'boolean', default: false } } });
const log = values.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const load = Number(loadavg()[0].toFixed(2)); // the machine's, before this run adds its own
const n = Number(values.domains);
const xs = values.xenstore === 'cxenstored' ? await startCxenstored() : undefined;
const d = xs ? await startServe(['--xenstore', `socket:${xs.socketPath}`], { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile }) : await startServe();
const idle = d.rssMiB();
let next = 0;
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    for (let i = next++; i < n; i = next++) await d.api.request('POST', '/v1/domains', { data: xlConfig(`rss-${i}`, i, 8), contentType: 'text/plain' });
  }),
);
const list = await d.api.get('/v1/domains');
await new Promise((r) => setTimeout(r, 2000));
const metrics = (await d.api.request('GET', '/metrics')).body;
const heap = Number(/^tsxend_nodejs_heap_size_used_bytes (\d+)/m.exec(metrics)?.[1] ?? 0) / 1048576;
const mb = (x) => Number(x.toFixed(1));
const result = { xenstore: values.xenstore, domains: list.domains.length, running: list.domains.filter((x) => x.state === 'running').length, idleMB: mb(idle), withDomainsMB: mb(d.rssMiB()), heapUsedMB: mb(heap), loadAvg: load };
log(`tsxend serve (${result.xenstore} xenstore), load average ${load}: RSS idle ${result.idleMB} MB; with ${result.domains} domains (${result.running} running) ${result.withDomainsMB} MB, V8 heap used ${result.heapUsedMB} MB`);
if (values.json) console.log(JSON.stringify(result));
await d.stop();
xs?.stop();
