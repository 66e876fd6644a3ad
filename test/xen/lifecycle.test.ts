// The lifecycle on real Xen, each step checked from inside the guest (its ticks on the console)
// and from Xen's side (xl, xenstore): pause, mem-set through the balloon driver, vcpu-set, disk
// and nic hot-plug, a daemon restart that re-adopts the guest, reboot (a new domid with the
// same devices), shutdown carried out by the guest, and a guest crash with its on_crash action.

import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import type { DomainView } from '../../src/lifecycle/api.js';
import { describeXen } from '../fixtures/xenvm.js';
import { DAEMON_FLAGS, guestConfig, guestTicks, waitDaemon, waitTick, xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('the lifecycle on real Xen', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const name = 'life';
  const view = async (ref = name): Promise<DomainView> => (JSON.parse(await xen.ok(['list', '--json', ref])) as DomainView[])[0]!;
  const ticks = () => guestTicks(xen.vm.console(name));
  const xlState = async (domid: number) => (await xen.vm.run(`xl list ${domid} | tail -n 1`)).trim().split(/\s+/);
  let domid = 0;

  beforeAll(async () => {
    await xen.vm.run(`truncate -s 16M /tmp/${name}-a.img /tmp/${name}-b.img`);
    const cfg = `${xen.session.dir}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, [
      'vcpus = 2',
      'memory = 160',
      `disk = [ 'file:/tmp/${name}-a.img,xvda,w' ]`,
      "vif = [ 'bridge=xenbr0' ]",
      'on_reboot = "restart"',
      'on_poweroff = "destroy"',
    ]));
    await xen.ok(['create', cfg, '--quiet']);
    domid = (await view()).domid!;
    await waitTick(xen.vm, name, (t) => t.n >= 1, { what: 'the first tick' });
  });

  it('pauses and unpauses: Xen shows it paused and the guest stops counting meanwhile', async () => {
    await xen.ok(['pause', name]);
    expect((await view()).state).toBe('paused');
    expect((await xlState(domid))[4]).toContain('p');
    const at = ticks().length;
    await new Promise((r) => setTimeout(r, 8000));
    expect(ticks().length).toBeLessThanOrEqual(at + 1); // one line may have been in flight
    await xen.ok(['unpause', name]);
    expect((await view()).state).toBe('running');
    await waitTick(xen.vm, name, () => true, { after: at + 1, what: 'a tick after unpause' });
  });

  it('sets the memory target and the guest balloon driver gives the memory back', async () => {
    const before = ticks().at(-1)!.memKb;
    await xen.ok(['mem-set', name, '112']);
    expect((await xen.vm.run(`xenstore-read /local/domain/${domid}/memory/target`)).trim()).toBe(String(112 * 1024));
    // The guest's own view: MemTotal drops by the ballooned-out 48 MiB (within a page or two).
    const t = await waitTick(xen.vm, name, (k) => k.memKb <= before - 40 * 1024, { what: 'MemTotal shrinking by ~48 MiB' });
    expect(before - t.memKb).toBeLessThanOrEqual(50 * 1024);
    // And Xen's: the domain now holds ~112 MiB.
    const mem = async () => Number((await xlState(domid))[2]);
    for (let i = 0; i < 30 && (await mem()) > 113; i++) await new Promise((r) => setTimeout(r, 1000));
    expect(await mem()).toBeLessThanOrEqual(113);
  });

  it('takes a vcpu offline and back, and the guest follows', async () => {
    expect(ticks().at(-1)!.cpus).toBe('0-1');
    await xen.ok(['vcpu-set', name, '1']);
    const n = ticks().length;
    await waitTick(xen.vm, name, (t) => t.cpus === '0', { after: n, what: 'cpu1 going offline' });
    await xen.ok(['vcpu-set', name, '2']);
    await waitTick(xen.vm, name, (t) => t.cpus === '0-1', { after: ticks().length, what: 'cpu1 coming back' });
  });

  it('hot-plugs a disk and a nic, and the guest sees each come and go', async () => {
    await xen.ok(['block-attach', name, `file:/tmp/${name}-b.img,xvdb,w`]);
    await waitTick(xen.vm, name, (t) => t.blk.includes('xvdb'), { after: ticks().length, what: 'xvdb appearing' });
    await xen.ok(['network-attach', name, 'bridge=xenbr0']);
    await waitTick(xen.vm, name, (t) => t.net.includes('eth1'), { after: ticks().length, what: 'eth1 appearing' });
    await xen.ok(['block-detach', name, 'xvdb']);
    await waitTick(xen.vm, name, (t) => !t.blk.includes('xvdb'), { after: ticks().length, what: 'xvdb going' });
    await xen.ok(['network-detach', name, '1']);
    await waitTick(xen.vm, name, (t) => !t.net.includes('eth1'), { after: ticks().length, what: 'eth1 going' });
    expect(ticks().at(-1)).toMatchObject({ blk: ['xvda'], net: ['eth0'] });
    // The loop device of the detached disk is gone; the first disk's stays.
    expect((await xen.vm.run('losetup -a')).trim().split('\n')).toEqual([expect.stringContaining(`/tmp/${name}-a.img`)]);
  });

  it('re-adopts the running guest after the daemon restarts, and can still drive it', async () => {
    await xen.vm.run('pkill -f "[t]sxend.js serve"; for i in $(seq 60); do pgrep -f "[t]sxend.js serve" >/dev/null || exit 0; sleep 0.5; done; exit 1');
    const n = ticks().length;
    await waitTick(xen.vm, name, () => true, { after: n, what: 'the guest ticking with no toolstack' });
    xen.vm.detach(`exec node bin/tsxend.js serve ${DAEMON_FLAGS(xen.session.dir)} >> "$XENVM_RUN/daemon.log" 2>&1`);
    await waitDaemon(xen.session, 300_000);
    const v = await view();
    expect(v).toMatchObject({ domid, state: 'running' });
    expect(v.devices.map((d) => `${d.class}:${d.state}`).sort()).toEqual(['vbd:connected', 'vif:connected']);
    await xen.ok(['pause', name]);
    await xen.ok(['unpause', name]);
  });

  it('reboots: the guest reboots itself and comes back as a new domain with the same devices', async () => {
    const before = await view();
    await xen.ok(['reboot', name]);
    // reboot returns once the guest has shut down; the restart is a new create of its own.
    let after = await view();
    for (const end = Date.now() + 600_000; after.state !== 'running' && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 2000));
      after = await view();
    }
    expect(after.domid).not.toBe(before.domid);
    expect(after.uuid).toBe(before.uuid);
    expect(after.state).toBe('running');
    expect(after.devices.map((d) => `${d.class}/${d.devid}`).sort()).toEqual(before.devices.map((d) => `${d.class}/${d.devid}`).sort());
    // The new guest boots and reports again on the same console log.
    await xen.vm.waitConsole(name, /TSXREPORT end[\s\S]*TSXREPORT end/, 300_000);
    expect(await xen.vm.exec(`xl list ${before.domid!}`)).toMatchObject({ code: 1 });
    domid = after.domid!;
  });

  it('shuts down: the guest powers itself off and everything of it goes', async () => {
    await xen.ok(['shutdown', name]);
    expect((await xen.cli(['list', name])).code).not.toBe(0);
    const left = await xen.vm.run(`xl list | tail -n +2 | awk '{print $1}'; xenstore-ls /local/domain/${domid} >/dev/null 2>&1 && echo node; losetup -a`);
    expect(left).toBe('Domain-0\n');
  });

  it('carries out on_crash when the guest kernel panics', async () => {
    const crash = 'crashy';
    const cfg = `${xen.session.dir}/${crash}.cfg`;
    writeFileSync(cfg, guestConfig(xen, crash, ['on_crash = "destroy"'], 'tsx.crash=3'));
    await xen.ok(['create', cfg, '--quiet']);
    const id = (await view(crash)).domid!;
    await xen.vm.waitConsole(crash, /Kernel panic/, 300_000);
    // tsxend saw the crash and applied on_crash=destroy: no domain, no record.
    const end = Date.now() + 120_000;
    while ((await xen.cli(['list', crash])).code === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 2000));
    expect((await xen.cli(['list', crash])).code).not.toBe(0);
    expect(await xen.vm.exec(`xl list ${id}`)).toMatchObject({ code: 1 });
    // The daemon's own record of it: the crash, then the action it took.
    const log = readFileSync(`${xen.session.dir}/daemon.log`, 'utf8').split('\n').filter((l) => l.includes(`"name":"${crash}"`));
    const types = log.map((l) => /"type":"([a-z.-]+)"/.exec(l)?.[1]).filter((t) => t?.startsWith('domain.'));
    expect(types).toEqual(expect.arrayContaining(['domain.crashed', 'domain.action', 'domain.destroyed']));
    expect(types.indexOf('domain.crashed')).toBeLessThan(types.indexOf('domain.destroyed'));
  });
});
