// Debian's real hotplug scripts, run by tsxend against real cxenstored: `block` on a file-backed
// disk (a loop device appears on add and is gone after remove) and `vif-bridge` inside a network
// namespace the test makes (the vif's tap joins the bridge). Needs root, losetup and ip netns.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseXl } from '../../src/config/index.js';
import { createDeviceManager, RealHotplugRunner } from '../../src/devices/index.js';
import { startBackendSimulator, type Simulator } from '../../src/sim/index.js';
import type { DomainDeviceContext } from '../../src/devices/api.js';
import { isError } from '../../src/errors.js';
import { E_HOTPLUG_FAILED } from '../../src/devices/errors.js';
import { UndoJournal } from '../../src/util/journal.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';

function loopDevicesFor(file: string): string[] {
  const out = execFileSync('losetup', ['-j', file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.split(':')[0]!);
}

describeReal('cxenstored', 'real hotplug scripts', () => {
  let d: RealXenstored;
  let xs: XenstoreClient;
  let backends: Simulator;
  let dir: string;
  const DOMID = 12;
  const UUID = '12121212-0000-4000-8000-000000000012';
  beforeAll(async () => {
    d = await startXenstored('cxenstored');
    await d.setDomains([{ domid: DOMID, state: 'paused' }]);
    xs = await openXenstore({ kind: 'socket', path: d.socketPath });
    backends = await startBackendSimulator(await openXenstore({ kind: 'socket', path: d.socketPath }));
    dir = mkdtempSync(join(tmpdir(), 'tsxend-block-'));
    await xs.write(`/local/domain/${DOMID}/vm`, `/vm/${UUID}`);
    await xs.write(`/local/domain/${DOMID}/name`, 'realscripts');
  });
  afterAll(async () => {
    await backends?.stop();
    await xs?.close();
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function ctx(): DomainDeviceContext {
    return { xs, domid: DOMID, uuid: UUID, name: 'realscripts', signal: new AbortController().signal, deadline: Date.now() + 30_000, emit: () => undefined };
  }

  it('runs /etc/xen/scripts/block on a file-backed disk: a loop device on add, none after remove', async () => {
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(1024 * 1024));
    const { config } = parseXl(`name = "r"\nkernel = "/k"\ndisk = [ '${img},raw,xvda,w' ]\n`);
    const [uuid, entry] = Object.entries(config.devices)[0]!;
    const dm = createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: d.socketPath });
    const journal = new UndoJournal();
    const written = await dm.writeDevices(ctx(), [{ uuid, entry }], journal);
    const active = await dm.activateDevices(ctx(), written, journal);
    const be = active[0]!.backendPath;
    expect(await xs.read(`${be}/hotplug-status`)).toBe('connected');
    const loops = loopDevicesFor(img);
    expect(loops).toHaveLength(1);
    expect(await xs.read(`${be}/node`)).toBe(loops[0]);
    expect(await xs.read(`${be}/physical-device`)).toMatch(/^[0-9a-f]+:[0-9a-f]+$/);
    const { leftovers } = await dm.destroyDevices(ctx(), active, { force: true });
    expect(leftovers).toEqual([]);
    expect(loopDevicesFor(img)).toEqual([]);
  });

  it('reports a script failure (missing backing file) with script, exit code and backend state, leaving nothing behind', async () => {
    const { config } = parseXl(`name = "r"\nkernel = "/k"\ndisk = [ '${join(dir, 'missing.img')},raw,xvdb,w' ]\n`);
    const [uuid, entry] = Object.entries(config.devices)[0]!;
    const dm = createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: d.socketPath });
    const journal = new UndoJournal();
    const written = await dm.writeDevices(ctx(), [{ uuid, entry }], journal);
    const err = await dm.activateDevices(ctx(), written, journal).catch((e: unknown) => e);
    expect(isError(err, E_HOTPLUG_FAILED), String(err)).toBe(true);
    // Debian's block script exits 1 here without writing hotplug-error: the error still names
    // the script, its exit code and the backend state it left.
    expect((err as { details: unknown }).details).toMatchObject({ class: 'vbd', devid: 51728, script: '/etc/xen/scripts/block', exitCode: 1, backendState: '2' });
    await journal.rollback();
    expect(await xs.tryRead(written[0]!.backendPath)).toBeUndefined();
  });

  it('runs /etc/xen/scripts/vif-bridge in a network namespace: the vif joins the bridge', async () => {
    const ns = `tsxend-vif-${process.pid}`;
    const vifname = `vif${DOMID}.0`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
      inNs('ip', 'link', 'add', 'xenbr0', 'type', 'bridge');
      inNs('ip', 'link', 'set', 'xenbr0', 'up');
      inNs('ip', 'tuntap', 'add', 'dev', vifname, 'mode', 'tap');
      // The script runs inside the namespace, where the stand-in vif and the bridge live.
      const wrapper = join(dir, 'vif-bridge-in-netns');
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /etc/xen/scripts/vif-bridge "$@"\n`, { mode: 0o755 });
      const { config } = parseXl(`name = "r"\nkernel = "/k"\nvif = [ 'mac=00:16:3e:00:00:12,bridge=xenbr0,script=${wrapper}' ]\n`);
      const [uuid, entry] = Object.entries(config.devices)[0]!;
      const dm = createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: d.socketPath });
      const journal = new UndoJournal();
      const written = await dm.writeDevices(ctx(), [{ uuid, entry }], journal);
      const active = await dm.activateDevices(ctx(), written, journal);
      expect(await xs.read(`${active[0]!.backendPath}/hotplug-status`)).toBe('connected');
      expect(inNs('ip', '-o', 'link', 'show', vifname)).toContain('master xenbr0');
      await dm.destroyDevices(ctx(), active, { force: true });
      expect(inNs('ip', '-o', 'link', 'show', vifname)).not.toContain('master xenbr0');
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});

it('the real scripts this suite drives are installed where Debian puts them', () => {
  if (process.env['CI'] !== 'true' && !existsSync('/etc/xen/scripts/block')) return;
  expect(existsSync('/etc/xen/scripts/block') && existsSync('/etc/xen/scripts/vif-bridge')).toBe(true);
});
