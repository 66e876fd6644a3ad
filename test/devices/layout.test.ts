// The exact xenstore layout each device class writes — keys, values, permissions and directory
// order — compared whole with references taken from libxl (reference xenstore.md §5.2).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig, type DeviceEntry } from '../../src/config/index.js';
import { createDeviceManager, FakeHotplugRunner } from '../../src/devices/index.js';
import type { DomainDeviceContext } from '../../src/devices/api.js';
import { UndoJournal } from '../../src/util/journal.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { dumpTree, treeLines } from '../helpers/xstree.js';

const UUID = '5f0e2c1a-0000-4000-8000-000000000001';

function ctx(xs: XenstoreClient, domid = 5): DomainDeviceContext {
  return { xs, domid, uuid: UUID, name: 'guest', protocol: 'x86_64-abi', signal: new AbortController().signal, deadline: Date.now() + 10_000, emit: () => undefined };
}

function device(cls: DeviceEntry['class'], config: Record<string, unknown>): DeviceEntry {
  const c = validateConfig({ name: 'x', type: 'pvh', devices: { 'aaaaaaaa-0000-4000-8000-000000000001': { class: cls, config } } });
  return c.devices['aaaaaaaa-0000-4000-8000-000000000001']!;
}

describe('device layouts', () => {
  let mock: MockXenstored;
  let xs: XenstoreClient;
  beforeEach(async () => {
    mock = new MockXenstored();
    mock.domains.create(5, 'paused');
    xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
    await xs.write('/local/domain/0/domid', '0'); // dom0's home, as on every host
  });
  afterEach(async () => {
    await xs.close();
    await mock.close();
  });

  async function write(entry: DeviceEntry) {
    const dm = createDeviceManager({ hotplug: new FakeHotplugRunner() });
    const [v] = await dm.writeDevices(ctx(xs), [{ uuid: 'dev-uuid-1', entry }], new UndoJournal());
    return v!;
  }

  it('vbd: blkback keys in libxl order, guest-owned frontend, backend-owned backend', async () => {
    const v = await write(device('vbd', { vdev: 'xvda', target: '/srv/img/guest.img' }));
    expect(v.devid).toBe(51712);
    expect(await treeLines(xs, v.frontendPath)).toEqual([
      '. =  [n5,r0]',
      'backend = /local/domain/0/backend/vbd/5/51712 [n5,r0]',
      'backend-id = 0 [n5,r0]',
      'state = 1 [n5,r0]',
      'virtual-device = 51712 [n5,r0]',
      'device-type = disk [n5,r0]',
      'trusted = 1 [n5,r0]',
      'protocol = x86_64-abi [n5,r0]',
    ]);
    expect(await treeLines(xs, v.backendPath)).toEqual([
      '. =  [n0,r5]',
      'frontend = /local/domain/5/device/vbd/51712 [n0,r5]',
      'params = /srv/img/guest.img [n0,r5]',
      'script = /etc/xen/scripts/block [n0,r5]',
      'frontend-id = 5 [n0,r5]',
      'online = 1 [n0,r5]',
      'removable = 0 [n0,r5]',
      'bootable = 1 [n0,r5]',
      'state = 1 [n0,r5]',
      'dev = xvda [n0,r5]',
      'type = phy [n0,r5]',
      'mode = w [n0,r5]',
      'device-type = disk [n0,r5]',
      'discard-enable = 1 [n0,r5]',
      'specification = xen [n0,r5]',
    ]);
  });

  it('vif: netback keys, hotplug-status pre-created empty, read-only mtu in the frontend', async () => {
    const v = await write(device('vif', { mac: '00:16:3e:01:02:03', bridge: 'xenbr0', rate: '10Mb/s' }));
    expect(v.devid).toBe(0);
    expect(await treeLines(xs, v.backendPath)).toEqual([
      '. =  [n0,r5]',
      'frontend = /local/domain/5/device/vif/0 [n0,r5]',
      'frontend-id = 5 [n0,r5]',
      'online = 1 [n0,r5]',
      'state = 1 [n0,r5]',
      'script = /etc/xen/scripts/vif-bridge [n0,r5]',
      'mac = 00:16:3e:01:02:03 [n0,r5]',
      'rate = 62500,50000 [n0,r5]',
      'bridge = xenbr0 [n0,r5]',
      'handle = 0 [n0,r5]',
      'type = vif [n0,r5]',
      'hotplug-status =  [n0,r5]',
    ]);
    expect(await treeLines(xs, v.frontendPath)).toEqual([
      '. =  [n5,r0]',
      'backend = /local/domain/0/backend/vif/5/0 [n5,r0]',
      'backend-id = 0 [n5,r0]',
      'state = 1 [n5,r0]',
      'handle = 0 [n5,r0]',
      'mac = 00:16:3e:01:02:03 [n5,r0]',
      'trusted = 1 [n5,r0]',
      'mtu = 1500 [n0,r5]',
    ]);
  });

  it('vfb: never writes the VNC password into xenstore', async () => {
    const v = await write(device('vfb', { vncpasswd: 'hunter2', vnclisten: '0.0.0.0' }));
    const all = JSON.stringify(await dumpTree(xs, '/'));
    expect(all).not.toContain('hunter2');
    expect(await treeLines(xs, v.backendPath)).toEqual([
      '. =  [n0,r5]',
      'frontend = /local/domain/5/device/vfb/0 [n0,r5]',
      'frontend-id = 5 [n0,r5]',
      'online = 1 [n0,r5]',
      'state = 1 [n0,r5]',
      'vnc = 1 [n0,r5]',
      'vnclisten = 0.0.0.0 [n0,r5]',
      'vncunused = 1 [n0,r5]',
      'sdl = 0 [n0,r5]',
      'opengl = 0 [n0,r5]',
    ]);
  });

  it('vkbd, vtpm and console carry the generic keys plus their own', async () => {
    const k = await write(device('vkbd', {}));
    expect(k.backendPath).toBe('/local/domain/0/backend/vkbd/5/0');
    const t = await write(device('vtpm', { tpmUuid: '11111111-2222-4333-8444-555555555555' }));
    expect((await treeLines(xs, t.backendPath)).slice(5)).toEqual(['handle = 0 [n0,r5]', 'uuid = 11111111-2222-4333-8444-555555555555 [n0,r5]', 'resume = False [n0,r5]']);
    const c = await write(device('console', {}));
    expect(c.frontendPath).toBe('/local/domain/5/console');
    expect(await treeLines(xs, c.frontendPath)).toEqual([
      '. =  [n0,r5]',
      'backend = /local/domain/0/backend/console/5/0 [n0,r5]',
      'backend-id = 0 [n0,r5]',
      'limit = 1048576 [n0,r5]',
      'type = xenconsoled [n0,r5]',
      'output = pty [n0,r5]',
      'tty =  [n0,r5]',
    ]);
  });

  it('refuses a live duplicate with TSX_ERR_DEVICE_EXISTS naming class, devid and path', async () => {
    await write(device('vbd', { vdev: 'xvdb', target: '/a' }));
    const err = await write(device('vbd', { vdev: 'xvdb', target: '/b' })).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'TSX_ERR_DEVICE_EXISTS' });
    expect((err as { message?: string }).message).toContain('/local/domain/0/backend/vbd/5/51728');
  });

  it('refuses a backend written by someone else (the 14926 race) as a foreign writer', async () => {
    await xs.write('/local/domain/0/backend/vkbd/5/0/frontend', '/local/domain/5/device/vkbd/0');
    const err = await write(device('vkbd', {})).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'TSX_ERR_DEVICE_FOREIGN_WRITER' });
    expect((err as { message?: string }).message).toContain('/local/domain/0/backend/vkbd/5/0');
  });

  it('cleans a dead remnant left by an earlier domain with the same domid', async () => {
    await xs.write('/libxl/5/device/vif/0/domain-uuid', 'an-older-domain');
    await xs.write('/local/domain/0/backend/vif/5/0/frontend', '/local/domain/5/device/vif/0');
    await xs.write('/local/domain/0/backend/vif/5/0/stale', 'x');
    const v = await write(device('vif', { mac: '00:16:3e:01:02:04' }));
    expect(await xs.tryRead(`${v.backendPath}/stale`)).toBeUndefined();
  });

  it('rolls back every node through the undo journal', async () => {
    // What the lifecycle creates before devices: the domain's directories.
    for (const p of ['/local/domain/5/device', '/local/domain/5/console/port', '/libxl/5/device']) await xs.write(p, '');
    const before = await dumpTree(xs, '/');
    const dm = createDeviceManager({ hotplug: new FakeHotplugRunner() });
    const journal = new UndoJournal();
    await dm.writeDevices(ctx(xs), [
      { uuid: 'u1', entry: device('vbd', { vdev: 'xvda', target: '/a' }) },
      { uuid: 'u2', entry: device('vif', { mac: '00:16:3e:01:02:05' }) },
      { uuid: 'u3', entry: device('console', {}) },
    ], journal);
    const report = await journal.rollback();
    expect(report.failed).toEqual([]);
    // Console 0's directory is the domain's own: only the device's keys go, the directory stays
    // (with the permissions the device gave it).
    const after = await dumpTree(xs, '/');
    expect(after['/local/domain/5/console']).toBe(' [n0,r5]');
    after['/local/domain/5/console'] = before['/local/domain/5/console']!;
    expect(after).toEqual(before);
  });
});
