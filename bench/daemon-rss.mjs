// Daemon RSS with N running domains (embedded default): create N domains through the API
// (C at a time), then read VmRSS of the `tsxend serve` process. Target: <= 150 MB at 1,000.
//
//   npm run build && node bench/daemon-rss.mjs [--domains 1000] [--concurrency 16]
import { setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { startServe, xlConfig } from './daemon-lib.mjs';

const { values } = parseArgs({ options: { domains: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '16' } } });
const n = Number(values.domains);
const d = await startServe();
const idle = d.rssMiB();
let next = 0;
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    for (let i = next++; i < n; i = next++) await d.api.request('POST', '/v1/domains', { data: xlConfig(`rss-${i}`, i), contentType: 'text/plain' });
  }),
);
const list = await d.api.get('/v1/domains');
await new Promise((r) => setTimeout(r, 2000));
console.log(JSON.stringify({ domains: list.domains.length, running: list.domains.filter((x) => x.state === 'running').length, rss_idle_mib: Number(idle.toFixed(1)), rss_mib: Number(d.rssMiB().toFixed(1)) }));
await d.stop();
