// The seed race (Xen changeset 14926) on the real backend, run in dom0 by test/xen/race.test.ts:
// guests with vfb + vkbd created and destroyed again and again through tsxend's own orchestrator
// on real Xen, with Xen's device model serving both devices. Half the cycles plan the devices in
// the pre-14926 order (vfb before vkbd), which made xend fail at random with "Device 0 (vkbd) is
// already connected"; tsxend's phases (every node first, the device model only after) must make
// the order irrelevant. Prints one JSON line: cycles per order, failures with their messages,
// and what was left behind.
//   node test/xen/race-cycles.mjs KERNEL INITRD CYCLES_PER_ORDER
import { createDeviceManager, qemuXenpvCommand, RealHotplugRunner } from '../../dist/devices/index.js';
import { parseConfig } from '../../dist/config/index.js';
import { createEnvironment } from '../../dist/lifecycle/index.js';
import { selectHypervisor } from '../../dist/hypervisor/select.js';

const [kernel, ramdisk, perOrder] = process.argv.slice(2);
const socket = '/run/xenstored/socket';
const hypervisor = await selectHypervisor('xen', { createSimulated: () => { throw new Error('real Xen only'); } });

/** The real devices layer, except that phase 1 writes vfb before vkbd when asked (the old order). */
let oldOrder = false;
const real = createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: socket, vfbCommand: qemuXenpvCommand() });
const devices = {
  ...real,
  writeDevices(ctx, planned, journal) {
    const rank = (d) => ({ vfb: 0, vkbd: 1 })[d.entry.class] ?? 2;
    const order = oldOrder ? [...planned].sort((a, b) => rank(a) - rank(b)) : planned;
    return real.writeDevices(ctx, order, journal);
  },
};
const env = await createEnvironment({ xenstore: { socket }, hypervisor, devices, orchestrator: { createTimeoutMs: 600_000 } });
await env.orchestrator.start();

const result = { cycles: { old: 0, fixed: 0 }, failures: [], writtenOrders: { old: [], fixed: [] } };
for (let i = 0; i < 2 * Number(perOrder); i++) {
  oldOrder = i % 2 === 0;
  const which = oldOrder ? 'old' : 'fixed';
  const { config } = parseConfig(
    [`name = "race${i}"`, `kernel = "${kernel}"`, `ramdisk = "${ramdisk}"`, 'extra = "console=hvc0"', 'memory = 96',
      "vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]", "vkb = [ '' ]"].join('\n'),
    { format: 'xl' },
  );
  const written = [];
  const sub = env.orchestrator.events.subscribe((e) => e.type === 'device.written' && e.name === config.name && written.push(e.devClass));
  try {
    const op = env.orchestrator.createDomain(config);
    const view = await op.done;
    if (view.devices.some((d) => d.state !== 'connected')) throw new Error(`devices not connected: ${JSON.stringify(view.devices.map((d) => [d.class, d.state]))}`);
    await env.orchestrator.destroyDomain(config.name).done;
    result.cycles[which]++;
  } catch (err) {
    result.failures.push({ cycle: i, order: which, code: err.code, message: String(err.message) });
    await env.orchestrator.destroyDomain(config.name, { force: true }).done.catch(() => undefined);
  } finally {
    sub.close();
  }
  if (result.writtenOrders[which].length === 0) result.writtenOrders[which] = written;
}
await env.close();
process.stdout.write(`RACE ${JSON.stringify(result)}\n`);
