// The three phases end to end on the mock: nodes, then backends (daemon, hotplug), then — once
// the guest runs — Connected; and a destroy that leaves the store as it was.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderedDeviceRefs, parseXl } from '../../src/config/index.js';
import { startGuestFrontends } from '../../src/sim/index.js';
import { isError } from '../../src/errors.js';
import { E_HOTPLUG_FAILED, E_HOTPLUG_HUNG, E_BACKEND_NEVER_READY } from '../../src/devices/errors.js';
import { UndoJournal } from '../../src/util/journal.js';
import { openXenstore } from '../../src/xenstore/index.js';
import { dumpTree } from '../helpers/xstree.js';
import { startBench, type Bench } from './sim-env.js';

const CFG = `name = "flow"
uuid = "0f0f0f0f-0000-4000-8000-000000000007"
kernel = "/boot/vmlinuz"
disk = [ '/srv/flow.img,xvda,w' ]
vif = [ 'mac=00:16:3e:00:00:07' ]
vfb = [ 'vnc=1,vncpasswd=secret' ]
vtpm = [ 'backend=0' ]
channel = [ 'name=agent' ]
`;

function planned() {
  const { config } = parseXl(CFG);
  return { config, devices: orderedDeviceRefs(config).map((uuid) => ({ uuid, entry: config.devices[uuid]! })) };
}

/** What the lifecycle creates before devices: the domain's directories, with libxl's perms. */
async function prepareDomain(b: Bench, domid: number) {
  b.mock.domains.create(domid, 'paused');
  for (const p of [`/local/domain/${domid}/device`, `/libxl/${domid}/device`]) await b.xs.write(p, '');
  for (const p of [`/local/domain/${domid}`, `/local/domain/${domid}/device`]) await b.xs.setPerms(p, [{ domid: 0, access: 'n' }, { domid, access: 'r' }]);
}

describe('device phases on the mock', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await startBench();
  });
  afterEach(async () => {
    await b.close();
  });

  it('writes, activates, connects once the guest runs, and destroys back to the same tree', async () => {
    await prepareDomain(b, 7);
    const before = await dumpTree(b.xs, '/');
    const { config, devices } = planned();
    const ctx = b.ctx(7, config.uuid);
    const journal = new UndoJournal();
    const written = await b.dm.writeDevices(ctx, devices, journal);
    expect(written.map((v) => v.class)).toEqual(['vkbd', 'console', 'vbd', 'vif', 'vtpm', 'vfb']);
    // Phase 1 started nothing: no script ran, no backend left Initialising.
    expect(b.hotplug.calls).toEqual([]);
    const active = await b.dm.activateDevices(ctx, written, journal);
    expect(active.map((v) => v.state)).toEqual(['init-wait', 'connected', 'init-wait', 'init-wait', 'init-wait', 'init-wait']);
    expect(b.hotplug.calls.map((c) => `${c.env['XENBUS_TYPE']} ${c.args.join(' ')} ${c.env['XENBUS_PATH']}`).sort()).toEqual([
      'vbd add backend/vbd/7/51712',
      'vif online type_if=vif backend/vif/7/0',
    ]);
    const vifCall = b.hotplug.calls.find((c) => c.env['XENBUS_TYPE'] === 'vif')!;
    expect(vifCall.env).toMatchObject({ vif: 'vif7.0', TSXEND_DOMID: '7', TSXEND_UUID: config.uuid, TSXEND_NAME: 'guest7', XENBUS_BASE_PATH: 'backend', XENSTORED_PATH: b.socket });
    // The guest runs: its frontends connect.
    const guest = await openXenstore({ kind: 'embedded' }, { embedded: { connect: () => b.mock.connect({ domid: 7 }) } });
    const frontends = await startGuestFrontends(guest, 7, b.xs);
    const connected = await b.dm.waitConnected(ctx, active);
    expect(connected.every((v) => v.state === 'connected')).toBe(true);
    expect(await b.xs.read('/local/domain/0/backend/vfb/7/0/request-update')).toBe('1');
    const { leftovers } = await b.dm.destroyDevices(ctx, connected, { force: false });
    expect(b.events.filter((e) => e.type === 'device.close-timeout')).toEqual([]);
    expect(leftovers).toEqual([]);
    expect(b.hotplug.calls.map((c) => c.args[0]).filter((a) => a === 'remove' || a === 'offline').sort()).toEqual(['offline', 'remove']);
    await frontends.stop();
    await guest.close();
    const after = await dumpTree(b.xs, '/');
    after['/local/domain/7/console'] = before['/local/domain/7/console']!;
    if (before['/local/domain/7/console'] === undefined) delete after['/local/domain/7/console'];
    expect(after).toEqual(before);
  });

  it('leaves the framebuffer daemon off the critical path when the guest is unpaused next: activation does not wait for it, the Connected wait does', async () => {
    await prepareDomain(b, 8);
    const { config, devices } = planned();
    const ctx = { ...b.ctx(8, config.uuid), unpauseFollows: true };
    const journal = new UndoJournal();
    const written = await b.dm.writeDevices(ctx, devices, journal);
    const active = await b.dm.activateDevices(ctx, written, journal);
    // Every other backend is at InitWait; the vkbd and vfb are left to their daemon, started all the same.
    expect(active.map((v) => `${v.class} ${v.state}`)).toEqual(['vkbd initialising', 'console connected', 'vbd init-wait', 'vif init-wait', 'vtpm init-wait', 'vfb initialising']);
    expect(b.events.some((e) => e.type === 'device.daemon')).toBe(true);
    const guest = await openXenstore({ kind: 'embedded' }, { embedded: { connect: () => b.mock.connect({ domid: 8 }) } });
    const frontends = await startGuestFrontends(guest, 8, b.xs);
    const connected = await b.dm.waitConnected(ctx, active);
    expect(connected.every((v) => v.state === 'connected')).toBe(true);
    expect(b.events.filter((e) => e.type === 'device.init-wait' && (e.devClass === 'vfb' || e.devClass === 'vkbd')).map((e) => e.devClass).sort()).toEqual(['vfb', 'vkbd']);
    await b.dm.destroyDevices(ctx, connected, { force: false });
    await frontends.stop();
    await guest.close();
  });

  it('writes all devices in one transaction: a device refused leaves no node of the others', async () => {
    await prepareDomain(b, 9);
    const { config, devices } = planned();
    // Someone else wrote the vif's backend: the vif is refused, and the vkbd, console and vbd
    // that come before it in the order are not half-written either.
    await b.xs.write('/local/domain/0/backend/vif/9/0/frontend', '/local/domain/9/device/vif/0');
    const before = await dumpTree(b.xs, '/');
    const err = await b.dm.writeDevices(b.ctx(9, config.uuid), devices, new UndoJournal()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSX_ERR_DEVICE_FOREIGN_WRITER' });
    expect(await dumpTree(b.xs, '/')).toEqual(before);
  });

  it('fails a create whose hotplug script exits non-zero with the script, exit code and hotplug-error', async () => {
    await b.close();
    b = await startBench({
      respond: async (req) => {
        if (req.args[0] !== 'add') return undefined;
        await b.xs.write(`/local/domain/0/${req.env['XENBUS_PATH']!}/hotplug-error`, '/srv/flow.img does not exist.');
        await b.xs.write(`/local/domain/0/${req.env['XENBUS_PATH']!}/hotplug-status`, 'error');
        return { exitCode: 1, stderrTail: 'xenstore-write ... fatal' };
      },
    });
    await prepareDomain(b, 8);
    const before = await dumpTree(b.xs, '/');
    const { config, devices } = planned();
    const ctx = b.ctx(8, config.uuid);
    const journal = new UndoJournal();
    const err = await b.dm
      .writeDevices(ctx, devices, journal)
      .then((w) => b.dm.activateDevices(ctx, w, journal))
      .catch((e: unknown) => e);
    expect(isError(err, E_HOTPLUG_FAILED)).toBe(true);
    expect((err as Error).message).toContain('/srv/flow.img does not exist.');
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ class: 'vbd', devid: 51712, exitCode: 1, script: '/etc/xen/scripts/block' });
    const report = await journal.rollback();
    expect(report.failed).toEqual([]);
    const after = await dumpTree(b.xs, '/');
    after['/local/domain/8/console'] = before['/local/domain/8/console']!;
    if (before['/local/domain/8/console'] === undefined) delete after['/local/domain/8/console'];
    expect(after).toEqual(before);
  });

  it("says why when the script fails silently, as Xen's block does for a backing file that does not exist", async () => {
    await b.close();
    b = await startBench({ respond: async (req) => (req.args[0] === 'add' && req.env['XENBUS_TYPE'] === 'vbd' ? { exitCode: 1, stderrTail: '' } : undefined) });
    await prepareDomain(b, 10);
    const { config, devices } = planned();
    const journal = new UndoJournal();
    const ctx = b.ctx(10, config.uuid);
    const err = await b.dm
      .writeDevices(ctx, devices, journal)
      .then((w) => b.dm.activateDevices(ctx, w, journal))
      .catch((e: unknown) => e);
    expect(isError(err, E_HOTPLUG_FAILED)).toBe(true);
    expect((err as Error).message).toMatch(/exited 1: no message \(probably: \/srv\/flow\.img does not exist\)$/);
    await journal.rollback();
  });

  it('kills a hung script at its timeout with TSX_ERR_HOTPLUG_HUNG', async () => {
    await b.close();
    b = await startBench({ respond: async (req) => (req.args[0] === 'online' && req.env['XENBUS_TYPE'] === 'vif' ? { exitCode: null as unknown as number, timedOut: true } : undefined) });
    await prepareDomain(b, 9);
    const { config, devices } = planned();
    const journal = new UndoJournal();
    const ctx = b.ctx(9, config.uuid);
    const err = await b.dm
      .writeDevices(ctx, devices, journal)
      .then((w) => b.dm.activateDevices(ctx, w, journal))
      .catch((e: unknown) => e);
    expect(isError(err, E_HOTPLUG_HUNG), String(err)).toBe(true);
    await journal.rollback();
  });

  it('times out a backend that never reaches InitWait, naming the device and the state it saw', async () => {
    await b.backends.stop();
    await prepareDomain(b, 10);
    const { config, devices } = planned();
    const ctx = { ...b.ctx(10, config.uuid), deadline: Date.now() + 300 };
    const journal = new UndoJournal();
    const w = await b.dm.writeDevices(ctx, devices.filter((d) => d.entry.class === 'vtpm'), journal);
    const err = await b.dm.activateDevices(ctx, w, journal).catch((e: unknown) => e);
    expect(isError(err, E_BACKEND_NEVER_READY)).toBe(true);
    expect((err as Error).message).toMatch(/vtpm 0 to reach InitWait \(last value "1"\)/);
    await journal.rollback();
  });
});
