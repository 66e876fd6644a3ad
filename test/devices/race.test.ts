// Xen changeset 14926, reproduced and made impossible.
//
// xend created devices one by one and, for a vfb, spawned the framebuffer daemon at once; the
// daemon's start-up writes landed in the vkbd backend, so when xend reached the vkbd its "is this
// device already there?" check failed the whole create: "Device 0 (vkbd) is already connected".
// Here the daemon is the bundled simulator; the test waits for its start-up writes before
// creating the next device (a fast daemon, a slow toolstack), which makes the old bug certain.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseXl, type DeviceEntry } from '../../src/config/index.js';
import { controllerFor, createDeviceManager, FakeHotplugRunner } from '../../src/devices/index.js';
import { simfbCommand } from '../../src/sim/index.js';
import { isError } from '../../src/errors.js';
import { E_DEVICE_FOREIGN_WRITER } from '../../src/devices/errors.js';
import { UndoJournal } from '../../src/util/journal.js';
import { writeDevices } from '../../src/devices/writer.js';
import { scriptLike, startBench, type Bench } from './sim-env.js';

// The simple guest of the changeset: its order before the fix was vfb, vbd, vif, vkbd.
const CFG = `name = "race"
uuid = "14926000-0000-4000-8000-000000014926"
kernel = "/boot/vmlinuz"
disk = [ '/srv/race.img,xvda,w' ]
vif = [ 'mac=00:16:3e:14:92:60' ]
vfb = [ 'vnc=1' ]
`;

function devicesIn(order: string[]): { uuid: string; entry: DeviceEntry }[] {
  const { config } = parseXl(CFG);
  const all = Object.entries(config.devices).map(([uuid, entry]) => ({ uuid, entry }));
  return order.map((cls) => all.find((d) => d.entry.class === cls)!);
}

async function runDaemon(b: Bench, domid: number, delayMs = 0, stray = false): Promise<() => void> {
  const [node, script] = simfbCommand().argv as [string, string];
  const child = spawn(node, [script, '--domid', String(domid), '--xenstore', b.socket, '--delay-ms', String(delayMs), ...(stray ? ['--unguarded'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data'); // "ready": its start-up writes are in the store
  return () => child.kill('SIGKILL');
}

/** xend's _createDevices before and after 14926: check, write, and spawn the daemon at once. */
async function xendCreateDevices(b: Bench, domid: number, order: string[]): Promise<() => void> {
  let kill = () => undefined as void;
  for (const { uuid, entry } of devicesIn(order)) {
    const ctrl = controllerFor(entry.class);
    const devid = ctrl.devid(entry.config, new Set());
    const existing = await b.xs.tryDirectory(`/local/domain/0/backend/${ctrl.backendKind(entry.config)}/${domid}`);
    if (existing?.includes(String(devid))) throw new Error(`Device ${devid} (${entry.class}) is already connected.`);
    await writeDevices(b.xs, [{ ctrl, uuid, entry, ctx: { domid, uuid: '14926000-0000-4000-8000-000000014926', name: 'race', backendDomid: 0 }, devid }]);
    if (entry.class === 'vfb') kill = await runDaemon(b, domid);
  }
  return kill;
}

describe('the vfb/vkbd race of changeset 14926', () => {
  let b: Bench;
  beforeEach(async () => {
    b = await startBench();
  });
  afterEach(async () => {
    await b.close();
  });

  it('fails every time with the old order (vfb before vkbd) and xend\'s design', async () => {
    for (let domid = 1; domid <= 3; domid++) {
      b.mock.domains.create(domid, 'paused');
      await expect(xendCreateDevices(b, domid, ['vfb', 'vbd', 'vif', 'vkbd'])).rejects.toThrow('Device 0 (vkbd) is already connected.');
    }
  });

  it('is avoided by the 14926 order (vkbd before vfb) even with xend\'s design', async () => {
    b.mock.domains.create(4, 'paused');
    const kill = await xendCreateDevices(b, 4, ['vkbd', 'vbd', 'vif', 'vfb']);
    kill();
  });

  it('cannot happen with tsxend: even given the old order, nothing starts before every node exists', async () => {
    for (const delay of [0, 0, 5, 25]) {
      await b.close();
      b = await startBench({ dm: { vfbCommand: { argv: [...simfbCommand().argv, '--delay-ms', String(delay)] } } });
      for (let domid = 1; domid <= 3; domid++) {
        b.mock.domains.create(domid, 'paused');
        const ctx = b.ctx(domid, '14926000-0000-4000-8000-000000014926');
        const journal = new UndoJournal();
        // The planned order deliberately puts the vfb first.
        const written = await b.dm.writeDevices(ctx, devicesIn(['vfb', 'vbd', 'vif', 'vkbd']), journal);
        const active = await b.dm.activateDevices(ctx, written, journal);
        expect(active.map((v) => `${v.class}:${v.state}`)).toEqual(['vfb:init-wait', 'vbd:init-wait', 'vif:init-wait', 'vkbd:init-wait']);
        const { leftovers } = await b.dm.destroyDevices(ctx, active, { force: true });
        expect(leftovers).toEqual([]);
      }
    }
  });

  it('turns a backend written by someone else into a clear error, never a silent clash', async () => {
    b.mock.domains.create(6, 'paused');
    const kill = await runDaemon(b, 6, 0, true); // a stray daemon writes the vkbd backend first
    const dm = createDeviceManager({ hotplug: new FakeHotplugRunner(scriptLike(b.xs)), xenstoredPath: b.socket });
    const err = await dm.writeDevices(b.ctx(6), devicesIn(['vkbd', 'vfb']), new UndoJournal()).catch((e: unknown) => e);
    kill();
    expect(isError(err, E_DEVICE_FOREIGN_WRITER)).toBe(true);
    expect((err as Error).message).toContain('/local/domain/0/backend/vkbd/6/0');
  });
});
