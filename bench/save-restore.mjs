// Save, restore and live migration on the embedded default (mock xenstored, simulated
// hypervisor and guests): time per GiB of guest memory, and a migration's downtime and bytes,
// live and not. The simulated image samples one 4 KiB page per MiB of guest memory (its
// libxc stream is real, its pages few), so these are the toolstack's own costs around the
// memory copy — the image format, the checks, the devices, the claims — not a copy's speed;
// real Xen's figures are in BENCHMARKS.md (test/xen/save.test.ts, xl beside tsxend).
//
//   npm run build && node bench/save-restore.mjs [--iterations N] [--sizes 1,4,16] [--json]

import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvironment } from '../dist/lifecycle/environment.js';
import { validateConfig } from '../dist/config/validate.js';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const iterations = Number(arg('--iterations', '5'));
const sizes = arg('--sizes', '1,4,16').split(',').map(Number);
const json = argv.includes('--json');
const dir = mkdtempSync(join(tmpdir(), 'tsxend-bench-save-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let n = 0;
const config = (gib) => {
  const k = ++n;
  return validateConfig({
    name: `b${k}`,
    uuid: randomUUID(),
    memory: gib * 1024,
    maxmem: gib * 1024,
    image: { kernel: '/boot/vmlinuz' },
    devices: {
      [randomUUID()]: { class: 'vbd', config: { vdev: 'xvda', target: `/srv/b${k}.img` } },
      [randomUUID()]: { class: 'vif', config: { mac: `00:16:3e:7b:${(k >> 8).toString(16).padStart(2, '0')}:${(k & 0xff).toString(16).padStart(2, '0')}` } },
    },
  });
};

const env = await createEnvironment({ xenstore: 'embedded', simulated: { totalMemoryKiB: 64 * 1024 * 1024, nrCpus: 8 } });
const dest = await createEnvironment({ xenstore: 'embedded', simulated: { totalMemoryKiB: 64 * 1024 * 1024, nrCpus: 8 } });
await env.orchestrator.start();
await dest.orchestrator.start();

// The destination, called in-process (the HTTP path adds its own round trips; tested in test/daemon/migrate.test.ts).
const peer = {
  target: { destination: 'in-process' },
  prepare: async (c) => ({ id: (await dest.orchestrator.prepareIncoming(c)).id }),
  sendImage: async (id, image) => void (await dest.orchestrator.receiveIncoming(id, image).done),
  commit: async (id) => (await dest.orchestrator.commitIncoming(id), 'committed'),
  abort: async (id) => dest.orchestrator.abortIncoming(id).catch(() => undefined),
};

const results = [];
for (const gib of sizes) {
  const save = [];
  const restore = [];
  const migrate = { live: [], stop: [] };
  for (let i = 0; i < iterations; i++) {
    const cfg = config(gib);
    await env.orchestrator.createDomain(cfg).done;
    const file = join(dir, `${cfg.name}.save`);
    let t = performance.now();
    const rep = await env.orchestrator.saveDomain(cfg.name, file).done;
    save.push(performance.now() - t);
    t = performance.now();
    await env.orchestrator.restoreDomain(file).done;
    restore.push(performance.now() - t);
    for (const live of [true, false]) {
      const m = await env.orchestrator.migrateDomain(cfg.name, peer, { live }).done;
      (live ? migrate.live : migrate.stop).push(m);
      // Back again, for the next round trip.
      await dest.orchestrator.migrateDomain(cfg.name, { ...peer, prepare: async (c) => ({ id: (await env.orchestrator.prepareIncoming(c)).id }), sendImage: async (id, img) => void (await env.orchestrator.receiveIncoming(id, img).done), commit: async (id) => (await env.orchestrator.commitIncoming(id), 'committed'), abort: async (id) => env.orchestrator.abortIncoming(id).catch(() => undefined) }, { live }).done;
    }
    await env.orchestrator.destroyDomain(cfg.name).done;
    rmSync(file, { force: true });
    if (i === 0) results.push({ gib, imageBytes: rep.bytes, pages: rep.pages });
  }
  const r = results.at(-1);
  Object.assign(r, {
    saveMedianMs: median(save),
    saveMsPerGiB: median(save) / gib,
    restoreMedianMs: median(restore),
    restoreMsPerGiB: median(restore) / gib,
    liveDowntimeMedianMs: median(migrate.live.map((m) => m.downtimeMs)),
    liveTotalMedianMs: median(migrate.live.map((m) => m.totalMs)),
    liveBytes: migrate.live[0].bytes,
    stopDowntimeMedianMs: median(migrate.stop.map((m) => m.downtimeMs)),
    stopBytes: migrate.stop[0].bytes,
  });
}
await env.close();
await dest.close();
rmSync(dir, { recursive: true, force: true });

if (json) console.log(JSON.stringify({ iterations, results }));
else {
  console.log(`save / restore / migrate on the embedded default, ${iterations} iterations per size (medians, ms)`);
  console.log('GiB  image MiB  save  ms/GiB  restore  ms/GiB  live: downtime total  MiB sent  stop-and-copy: downtime  MiB sent');
  for (const r of results) {
    const f = (x) => x.toFixed(1).padStart(7);
    console.log(`${String(r.gib).padStart(3)}  ${f(r.imageBytes / 1048576)}  ${f(r.saveMedianMs)} ${f(r.saveMsPerGiB)} ${f(r.restoreMedianMs)} ${f(r.restoreMsPerGiB)}  ${f(r.liveDowntimeMedianMs)} ${f(r.liveTotalMedianMs)}  ${f(r.liveBytes / 1048576)}  ${f(r.stopDowntimeMedianMs)}  ${f(r.stopBytes / 1048576)}`);
  }
}
