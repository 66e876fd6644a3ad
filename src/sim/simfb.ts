// The bundled framebuffer backend simulator: what xen-vncfb did at start-up (xend.md §3.8, the
// seed changeset): connect to xenstore and write into BOTH the vfb and the vkbd backend
// directories (features, InitWait, hotplug-status=connected), then follow the handshake —
// Connected once the frontends are Initialised, Closed when the toolstack closes.
//
// Run as a child process: node simfb.js --domid N [--backend-domid 0] --xenstore PATH
//   [--delay-ms N] [--wait-for-backends] [--unguarded]. The VNC password, if any, arrives in $TSXEND_VNCPASSWD.

import { parseArgs } from 'node:util';
import { openXenstore } from '../xenstore/index.js';
import { switchState, writeIfPresent } from './backend.js';

const { values } = parseArgs({
  options: {
    domid: { type: 'string' },
    'backend-domid': { type: 'string', default: '0' },
    xenstore: { type: 'string' },
    'delay-ms': { type: 'string', default: '0' },
    'wait-for-backends': { type: 'boolean', default: false },
    // Tests: write the start-up nodes even with no vfb device (a stray daemon, a foreign writer).
    unguarded: { type: 'boolean', default: false },
  },
});

const domid = Number(values.domid);
const bdom = Number(values['backend-domid']);
if (!Number.isInteger(domid) || !values.xenstore) {
  process.stderr.write('usage: simfb --domid N --xenstore PATH\n');
  process.exit(2);
}

const vfb = `/local/domain/${bdom}/backend/vfb/${domid}/0`;
const vkbd = `/local/domain/${bdom}/backend/vkbd/${domid}/0`;
const xs = await openXenstore({ kind: 'socket', path: values.xenstore }, { reconnect: false });
xs.onConnectionEvent((e) => {
  if (e.type === 'disconnected') process.exit(3);
});

const delay = Number(values['delay-ms']);
if (delay > 0) await new Promise((r) => setTimeout(r, delay));

if (values['wait-for-backends']) {
  const w = await xs.watch(`/local/domain/${bdom}/backend`);
  for await (const _ of w) {
    if ((await xs.tryRead(`${vfb}/frontend`)) !== undefined && (await xs.tryRead(`${vkbd}/frontend`)) !== undefined) break;
  }
  await w.close();
}

// Start-up writes, as xen-vncfb made them: the vkbd backend first, then the vfb backend (into
// a vkbd directory that may not exist yet: the race of changeset 14926). In one transaction,
// only while its own vfb device exists: a daemon that starts late (its toolstack was killed
// and the domain torn down meanwhile) must not resurrect the directories.
const present = await xs.transaction(async (tx) => {
  if (!values.unguarded && (await tx.tryRead(`${vfb}/frontend`)) === undefined) return false;
  await Promise.all([
    tx.write(`${vkbd}/feature-abs-pointer`, '1'),
    tx.write(`${vkbd}/hotplug-status`, 'connected'),
    tx.write(`${vkbd}/state`, '2'),
    tx.write(`${vfb}/feature-resize`, '1'),
    tx.write(`${vfb}/hotplug-status`, 'connected'),
    tx.write(`${vfb}/state`, '2'),
  ]);
  return true;
});
if (!present) {
  process.stderr.write(`simfb: the vfb backend of domain ${domid} is gone\n`);
  await xs.close();
  process.exit(0);
}
process.stdout.write('ready\n');

// Follow both devices: frontends Initialised → backends Connected; toolstack Closing → Closed.
const closed = new Set<string>();
const watch = await xs.watch(`/local/domain/${bdom}/backend`);
const feWatch = await xs.watch(`/local/domain/${domid}/device`);
async function step(): Promise<void> {
  for (const be of [vkbd, vfb]) {
    const [state, fe] = await Promise.all([xs.tryRead(`${be}/state`), xs.tryRead(`${be}/frontend`)]);
    if (state === undefined) {
      closed.add(be);
      continue;
    }
    if (state === '5') {
      if (await switchState(xs, be, '5', '6')) closed.add(be);
      continue;
    }
    if (state === '6') {
      closed.add(be);
      continue;
    }
    const feState = fe === undefined ? undefined : await xs.tryRead(`${fe}/state`);
    if (state === '2' && (feState === '3' || feState === '4')) {
      if (be === vfb) await writeIfPresent(xs, vfb, 'frontend', 'request-update', '1');
      await switchState(xs, be, '2', '4');
    }
  }
  if (closed.size === 2) {
    await xs.close();
    process.exit(0);
  }
}
const pump = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) await step().catch(() => undefined);
};
await Promise.all([pump(watch), pump(feWatch)]);
