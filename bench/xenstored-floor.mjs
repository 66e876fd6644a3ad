// The floor under every toolstack: xenstored's own cost per request as the number of introduced
// domains grows, with nothing of tsxend's running. Each domain is listed in the hypervisor stub's
// domains file and introduced (XS_INTRODUCE, as a toolstack does at create); nothing else is
// written for it. Xen's C client (libxenstore, bench/xenstore-client.c) then times sequential
// read, write, directory and a read-modify-write transaction on a dom0 node.
//
//   npm run build && node bench/xenstored-floor.mjs [--domains 0,250,1000] [--xenstored cxenstored,oxenstored] [--json]
//
// Needs Debian's xen-utils-4.17, libxen-dev and gcc (root and unshare -m for oxenstored).

import { execFile, execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { openXenstore } from '../dist/xenstore/index.js';
import { startXenstored } from './xenstored-lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const levels = arg('--domains', '0,250,1000').split(',').map(Number);
const kinds = arg('--xenstored', 'cxenstored,oxenstored').split(',');
const json = argv.includes('--json');

const results = [];
for (const kind of kinds) {
  const d = await startXenstored(kind, `tsxend-bench-floor-${kind}-`);
  const cbench = join(d.dir, 'xs-bench');
  execFileSync('gcc', ['-O2', '-o', cbench, new URL('./xenstore-client.c', import.meta.url).pathname, '-lxenstore']);
  const xs = await openXenstore({ kind: 'socket', path: d.socketPath });
  try {
    let introduced = 0;
    for (const n of levels) {
      writeFileSync(`${d.domainsFile}.tmp`, Array.from({ length: n }, (_, i) => `${i + 1} running\n`).join(''));
      renameSync(`${d.domainsFile}.tmp`, d.domainsFile);
      for (; introduced < n; introduced++) await xs.introduceDomain(introduced + 1, 0x1000 + introduced, 1);
      const { stdout } = await promisify(execFile)(cbench, ['2000'], { env: { ...process.env, XENSTORED_PATH: d.socketPath } });
      const ns = JSON.parse(stdout);
      results.push({ xenstored: kind, domains: n, readUs: ns.read / 1000, writeUs: ns.write / 1000, directoryUs: ns.directory / 1000, transactionUs: ns.transaction / 1000 });
    }
  } finally {
    await xs.close();
    d.stop();
  }
}

if (json) console.log(JSON.stringify({ bench: 'xenstored-floor', results }));
const say = json ? (s) => process.stderr.write(`${s}\n`) : (s) => console.log(s);
say(`xenstored per request (libxenstore, sequential, 2000 each) vs introduced domains; node ${process.version}, load ${loadavg()[0].toFixed(1)}`);
say('| xenstored | domains | read µs | write µs | directory µs | transaction µs | read vs 0 | write vs 0 |');
say('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const base = results.find((b) => b.xenstored === r.xenstored && b.domains === levels[0]);
  const f = (x) => x.toFixed(1);
  say(`| ${r.xenstored} | ${r.domains} | ${f(r.readUs)} | ${f(r.writeUs)} | ${f(r.directoryUs)} | ${f(r.transactionUs)} | ${(r.readUs / base.readUs).toFixed(1)}× | ${(r.writeUs / base.writeUs).toFixed(1)}× |`);
}
