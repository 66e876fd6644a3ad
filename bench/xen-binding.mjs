// The real-Xen binding's own cost, measured against the recording fake (test/fixtures/xcfake):
// what tsxend adds around libxc per call and per create, without a hypervisor's time. On a
// dom0 the hypercalls and the guest memory build dominate; this is the floor above them.
//
//   npm run build && node bench/xen-binding.mjs [--creates N]
//
// Needs gcc and libxen-dev (the fake is compiled against the installed headers).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const creates = arg('creates', 2000);
const dir = mkdtempSync(join(tmpdir(), 'xenbench-'));
const lib = join(dir, 'xcfake.so');
const src = fileURLToPath(new URL('../test/fixtures/xcfake/xcfake.c', import.meta.url));
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', lib, src]);
const kernel = join(dir, 'vmlinuz');
writeFileSync(kernel, 'k');
delete process.env.XCFAKE_LOG; // no call log: measure the binding, not the fake's file writes

const t0 = performance.now();
const { XenHypervisor } = await import('../dist/hypervisor/xen/index.js');
const hv = new XenHypervisor({ libs: { xenctrl: lib, xenguest: lib }, pollIntervalMs: 0 });
await hv.open();
const openMs = performance.now() - t0;

async function createOne(i) {
  const domid = await hv.createDomain({ uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, type: 'pv', maxVcpus: 1 });
  await hv.setMaxVcpus(domid, 1);
  await hv.setMaxMemory(domid, 4096);
  await hv.setMemoryTarget(domid, 4096);
  const store = await hv.allocUnboundEvtchn(domid, 0);
  const console = await hv.allocUnboundEvtchn(domid, 0);
  await hv.build(domid, { type: 'pv', kernel, memoryKiB: 4096, maxMemoryKiB: 4096, vcpus: 1, storeEvtchn: store, consoleEvtchn: console });
  await hv.unpause(domid);
  await hv.destroy(domid);
}

for (let i = 0; i < 100; i++) await createOne(i); // warm up
// One logged create counts the libxc calls of a create and destroy (the fake logs each).
const log = join(dir, 'calls.jsonl');
process.env.XCFAKE_LOG = log;
await createOne(0);
delete process.env.XCFAKE_LOG;
const libxcCallsPerCreate = readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
const t1 = performance.now();
for (let i = 0; i < creates; i++) await createOne(i);
const createMs = (performance.now() - t1) / creates;

const t2 = performance.now();
const lists = 20000;
for (let i = 0; i < lists; i++) await hv.getInfo(0);
const infoUs = ((performance.now() - t2) / lists) * 1000;

await hv.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ node: process.version, openMs: +openMs.toFixed(1), creates, createAndDestroyUs: +(createMs * 1000).toFixed(1), libxcCallsPerCreate, getInfoUs: +infoUs.toFixed(2) }));
