// Domain create + destroy against a real cxenstored 4.17 (LD_PRELOAD hypervisor stub; the
// simulated hypervisor publishes its domains to the stub's domains file; simulated guests
// connect the frontends). Measures a six-device domain (2 vbd, 2 vif, vfb, vkbd): create and
// destroy latency (median, p99) and the toolstack's xenstore requests per create and destroy,
// with 0, 100, 500 and 1,000 other domains running.
//
//   npm run build && node bench/lifecycle.mjs [--iterations N] [--background 0,100,500,1000] [--devices layer|basic]
//
// --devices layer (default): the devices layer with its kernel-backend and guest-frontend
// simulators and the vfb backend daemon (a process per domain). --devices basic: the
// lifecycle's stand-in device manager and its own simulated guests (a watch per guest on its
// own dom path only), which isolates the toolstack's cost from the simulators'.
//
// Needs Debian's xen-utils-4.17 (xenstored), libxen-dev and gcc.

import { randomUUID } from 'node:crypto';
import { createEnvironment } from '../dist/lifecycle/environment.js';
import { validateConfig } from '../dist/config/validate.js';
import { BasicDeviceManager } from '../dist/sim/index.js';
import { startCxenstored } from './xenstored-lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const iterations = Number(arg('--iterations', '100'));
const deviceMode = arg('--devices', 'layer');
const backgrounds = arg('--background', '0,100,500,1000').split(',').map(Number);

const cx = await startCxenstored('tsxend-bench-lc-');
const { domainsFile } = cx;
const sock = cx.socketPath;

let serial = 0;
const mac = (n, k) => `00:16:3e:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}:0${k}`;
function config(name, six) {
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
  return validateConfig({ name, uuid: randomUUID(), memory: 16, maxmem: 16, image: { kernel: '/boot/vmlinuz' }, devices });
}

const env = await createEnvironment({
  xenstore: { socket: sock },
  simulated: { domainsFile, totalMemoryKiB: 64 * 1024 * 1024, maxDomid: 0x7fef },
  orchestrator: { createTimeoutMs: 30_000, maxParallelCreates: 8 },
  ...(deviceMode === 'basic' ? { devices: new BasicDeviceManager() } : {}),
});
const o = env.orchestrator;
await o.start();

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const rows = [];
let running = 0;
try {
  for (const target of backgrounds) {
    // Background domains (a disk and a nic each), created 8 at a time.
    while (running < target) {
      const batch = Math.min(8, target - running);
      await Promise.all(Array.from({ length: batch }, (_, k) => o.createDomain(config(`bg-${running + k}`, false)).done));
      running += batch;
    }
    const create = [];
    const destroy = [];
    const reqCreate = [];
    const reqDestroy = [];
    for (let i = 0; i < iterations + 5; i++) {
      const name = `bench-${target}-${i}`;
      const cfg = config(name, true);
      const r0 = env.xs.stats.requests;
      const t0 = process.hrtime.bigint();
      await o.createDomain(cfg).done;
      const t1 = process.hrtime.bigint();
      const r1 = env.xs.stats.requests;
      await o.destroyDomain(name).done;
      const t2 = process.hrtime.bigint();
      const r2 = env.xs.stats.requests;
      if (i < 5) continue; // warm-up
      create.push(Number(t1 - t0) / 1e6);
      destroy.push(Number(t2 - t1) / 1e6);
      reqCreate.push(r1 - r0);
      reqDestroy.push(r2 - r1);
    }
    rows.push({ target, create, destroy, reqCreate, reqDestroy });
    console.error(`devices=${deviceMode} background ${target}: create median ${pct(create, 50).toFixed(1)} ms p99 ${pct(create, 99).toFixed(1)} ms; destroy median ${pct(destroy, 50).toFixed(1)} ms p99 ${pct(destroy, 99).toFixed(1)} ms; requests ${pct(reqCreate, 50)}/${pct(reqDestroy, 50)}`);
  }
} finally {
  await env.close();
  cx.stop();
}

console.log(`six-device domain create + destroy against cxenstored 4.17, devices=${deviceMode}, ${iterations} iterations each (after 5 warm-up), node ${process.version}`);
console.log('| domains running | create median | create p99 | destroy median | destroy p99 | xenstore requests per create | per destroy |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.target} | ${pct(r.create, 50).toFixed(1)} ms | ${pct(r.create, 99).toFixed(1)} ms | ${pct(r.destroy, 50).toFixed(1)} ms | ${pct(r.destroy, 99).toFixed(1)} ms | ${pct(r.reqCreate, 50)} | ${pct(r.reqDestroy, 50)} |`,
  );
}
