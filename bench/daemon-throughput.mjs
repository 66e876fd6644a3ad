// API create/destroy throughput: C concurrent clients, each creating a domain (xl.cfg text, one
// disk, one vif) and destroying it, through `tsxend serve` on the embedded default.
//
//   npm run build && node bench/daemon-throughput.mjs [--clients 8] [--per-client 25] [--xenstore embedded|cxenstored] [--json]
//
// Prints one JSON object; with --json (as npm run bench runs it) only that goes to stdout.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { percentiles, startCxenstored, startServe, xlConfig } from './daemon-lib.mjs';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '8' }, 'per-client': { type: 'string', default: '25' }, xenstore: { type: 'string', default: 'embedded' }, json: { type: 'boolean', default: false } } });
const load = Number(loadavg()[0].toFixed(2)); // the machine's, before this run adds its own
const clients = Number(values.clients);
const per = Number(values['per-client']);
const xs = values.xenstore === 'cxenstored' ? await startCxenstored() : undefined;
const d = xs ? await startServe(['--xenstore', `socket:${xs.socketPath}`], { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile }) : await startServe();
const createMs = [];
const destroyMs = [];
const t0 = performance.now();
await Promise.all(
  Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < per; i++) {
      const name = `bench-${c}-${i}`;
      let t = performance.now();
      await d.api.request('POST', '/v1/domains', { data: xlConfig(name, c * per + i), contentType: 'text/plain' });
      createMs.push(performance.now() - t);
      t = performance.now();
      await d.api.request('DELETE', `/v1/domains/${name}`);
      destroyMs.push(performance.now() - t);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const f = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${k}_ms`, Number(v.toFixed(1))]));
console.log(JSON.stringify({ xenstore: values.xenstore, clients, cycles: clients * per, seconds: Number(seconds.toFixed(2)), cycles_per_s: Number(((clients * per) / seconds).toFixed(1)), create: f(percentiles(createMs)), destroy: f(percentiles(destroyMs)), loadAvg: load }));
await d.stop();
xs?.stop();
