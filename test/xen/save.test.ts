// Save and restore on real Xen: a guest that counts on its console is saved by tsxend (memory
// through Xen's libxl-save-helper, xl's image format) and restored, and keeps counting where it
// stopped, with its disk and nic back. xl is the reference both ways: `xl restore` takes
// tsxend's image, and `tsxend restore` takes an `xl save` image. Xen's verify-stream-v2 checks
// tsxend's image. Images live on dom0's tmpfs (libxc cannot write guest pages to 9p).

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import type { DomainView, SaveReport } from '../../src/lifecycle/api.js';
import { describeXen } from '../fixtures/xenvm.js';
import { guestConfig, guestTicks, waitTick, xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('save and restore on real Xen', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const name = 'saver';
  const view = async (ref = name): Promise<DomainView | undefined> => (JSON.parse(await xen.ok(['list', '--json'])) as DomainView[]).find((d) => d.name === ref || d.uuid === ref);
  const lastTick = (n = name) => guestTicks(xen.vm.console(n)).at(-1)?.n ?? 0;
  const xlNames = async () => (await xen.vm.run("xl list | awk 'NR>1 {print $1}'")).trim().split('\n');
  const dir = '/dev/shm/tsxend-save';

  beforeAll(async () => {
    await xen.vm.run(`mkdir -p ${dir} && rm -f ${dir}/* && truncate -s 16M /tmp/${name}.img`);
    const cfg = `${xen.session.dir}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, [`disk = [ 'file:/tmp/${name}.img,xvda,w' ]`, "vif = [ 'bridge=xenbr0' ]", 'on_poweroff = "destroy"']));
    await xen.ok(['create', cfg, '--quiet']);
    await waitTick(xen.vm, name, (t) => t.n >= 2 && t.blk.includes('xvda') && t.net.includes('eth0'), { what: 'ticks with its disk and nic' });
  });

  it('tsxend save: the image is written, Xen checks it, the domain and its store nodes are gone', async () => {
    const before = (await view())!;
    const at = lastTick();
    const t0 = Date.now();
    const report = JSON.parse(await xen.ok(['save', '--json', name, `${dir}/${name}.save`])) as SaveReport;
    const ms = Date.now() - t0;
    expect(report).toMatchObject({ name, uuid: before.uuid, checkpoint: false });
    expect(report.pages).toBeGreaterThan(128 * 256 * 0.9);
    console.log(`[xen save] ${name}: ${(report.bytes / 1048576).toFixed(1)} MiB, ${report.pages} pages, ${ms} ms through the API (guest stopped ${report.downtimeMs} ms); last tick before: ${at}`);
    expect(await view()).toBeUndefined();
    expect(await xlNames()).toEqual(['Domain-0']);
    expect((await xen.vm.run(`xenstore-ls /local/domain 2>/dev/null | grep -c '^ *${before.domid} = ' || true`)).trim()).toBe('0');
    // Xen's own checker, here on the host (the image copied out of dom0's tmpfs).
    await xen.vm.run(`cp ${dir}/${name}.save ${xen.session.dir}/${name}.save`);
    const verify = execFileSync('/usr/bin/python3', ['/usr/lib/xen-4.17/bin/verify-stream-v2', '-f', 'xl', '-v', '-i', `${xen.session.dir}/${name}.save`], { env: { PYTHONPATH: '/usr/lib/xen-4.17/lib/python' }, encoding: 'utf8' });
    expect(verify).toMatch(/Domain Header: x86 PV from Xen 4\.17/);
    expect(verify.trim().split('\n').at(-1)).toBe('Libxl Record: End, length 0');
    rmSync(`${xen.session.dir}/${name}.save`);
  });

  it('tsxend restore: the guest carries on counting where it stopped, with its disk and nic', async () => {
    const stoppedAt = lastTick();
    const t0 = Date.now();
    await xen.ok(['restore', '--quiet', `${dir}/${name}.save`]);
    console.log(`[xen save] tsxend restore of ${name}: ${Date.now() - t0} ms through the API`);
    const v = (await view())!;
    expect(v.state).toBe('running');
    expect(v.devices.filter((d) => d.class === 'vbd' || d.class === 'vif').every((d) => d.state === 'connected')).toBe(true);
    const next = await waitTick(xen.vm, name, (t) => t.n > stoppedAt, { what: 'a tick after the restore' });
    // Not a reboot: the count goes on (a rebooted guest starts again at 1).
    expect(next.n).toBeLessThanOrEqual(stoppedAt + 10);
    expect(next.blk).toContain('xvda');
    expect(next.net).toContain('eth0');
  });

  it('xl restore takes an image tsxend saved, and the guest keeps counting there', async () => {
    await xen.ok(['save', '--quiet', name, `${dir}/${name}-2.save`]);
    const stoppedAt = lastTick();
    expect(await view()).toBeUndefined();
    const t0 = Date.now();
    await xen.vm.run(`xl restore ${dir}/${name}-2.save`, 600);
    console.log(`[xen save] xl restore of tsxend's image: ${Date.now() - t0} ms`);
    const next = await waitTick(xen.vm, name, (t) => t.n > stoppedAt, { what: 'a tick after xl restore' });
    expect(next.n).toBeLessThanOrEqual(stoppedAt + 10);
    // xl's domain: tsxend leaves it alone (not adopted, quarantined at most), xl destroys it.
    await xen.vm.run(`xl destroy ${name}`);
  });

  it('tsxend restore takes an image xl saved', async () => {
    // xl creates the guest from its own config and saves it; tsxend restores from xl's header.
    await xen.vm.run(`cat > /tmp/${name}-xl.cfg <<'EOF'
name = "${name}-xl"
kernel = "${xen.session.kernel}"
ramdisk = "${xen.session.dir}/guest-initrd.gz"
extra = "console=hvc0"
memory = 128
vcpus = 1
EOF
xl create /tmp/${name}-xl.cfg`, 600);
    await waitTick(xen.vm, `${name}-xl`, (t) => t.n >= 2, { what: 'ticks of the xl guest' });
    const t0 = Date.now();
    await xen.vm.run(`xl save ${name}-xl ${dir}/${name}-xl.save`, 600);
    console.log(`[xen save] xl save of ${name}-xl (128 MiB, no devices): ${Date.now() - t0} ms`);
    const stoppedAt = lastTick(`${name}-xl`);
    const t1 = Date.now();
    await xen.ok(['restore', '--quiet', `${dir}/${name}-xl.save`]);
    console.log(`[xen save] tsxend restore of xl's image: ${Date.now() - t1} ms through the API`);
    const v = (await view(`${name}-xl`))!;
    expect(v.state).toBe('running');
    const next = await waitTick(xen.vm, `${name}-xl`, (t) => t.n > stoppedAt, { what: 'a tick after tsxend restored the xl image' });
    expect(next.n).toBeLessThanOrEqual(stoppedAt + 10);
    await xen.ok(['destroy', `${name}-xl`]);
    await xen.ok(['destroy', name]).catch(() => undefined);
    expect(await xlNames()).toEqual(['Domain-0']);
  });
});
