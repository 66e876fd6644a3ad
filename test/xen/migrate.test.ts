// Live migration on real Xen, as xl tests it (`xl migrate` to localhost): a second tsxend
// serves in the same dom0 (its own state, its own HTTPS port), and the counting guest moves
// from the first daemon to the second while it runs, its writable disk and nic with it. Both
// copies exist at once on one host: the destination's takes xend's /vm/UUID-1 (the block
// script's same_vm() lets the two share the disk). Then xl does the same with the same guest,
// side by side, for the figures.

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DomainView, MigrateReport } from '../../src/lifecycle/api.js';
import { describeXen } from '../fixtures/xenvm.js';
import { guestConfig, guestTicks, waitTick, xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('live migration between two tsxend daemons on real Xen', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const name = 'mover';
  const B = 'https://127.0.0.1:8444';
  const bSock = '/run/tsxend-b/tsxend.sock';
  /** The second daemon, asked from inside dom0 over its unix socket. */
  const inB = (args: string) => xen.vm.run(`TSXEND_CONNECT=unix:${bSock} node bin/tsxend.js ${args}`, 900);
  const listA = async () => (JSON.parse(await xen.ok(['list', '--json'])) as DomainView[]).filter((d) => d.name === name);
  const listB = async () => (JSON.parse(await inB('list --json')) as DomainView[]).filter((d) => d.name === name);
  const lastTick = (n = name) => guestTicks(xen.vm.console(n)).at(-1)?.n ?? 0;
  const xlDomains = async () => (await xen.vm.run("xl list | awk 'NR>1 {print $1\" \"$2}'")).trim().split('\n');

  beforeAll(async () => {
    const d = xen.session.dir;
    xen.vm.detach(
      [
        'mkdir -p /run/tsxend-b /var/lib/tsxend-b && exec node bin/tsxend.js serve --hypervisor xen --xenstore socket:/run/xenstored/socket',
        `--listen tcp:127.0.0.1:8444 --listen unix:${bSock} --token-file ${d}/token --tls-cert ${d}/tls.crt --tls-key ${d}/tls.key`,
        '--state-dir /var/lib/tsxend-b --runtime-dir /run/tsxend-b --hotplug-timeout 300 --create-timeout 600 --log-level debug',
        '> "$XENVM_RUN/daemon-b.log" 2>&1',
      ].join(' '),
    );
    await xen.vm.run(`for i in $(seq 1 180); do TSXEND_CONNECT=unix:${bSock} node bin/tsxend.js info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1`, 300);
    await xen.vm.run(`truncate -s 16M /tmp/${name}.img`);
    const cfg = `${d}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, [`disk = [ 'file:/tmp/${name}.img,xvda,w' ]`, "vif = [ 'bridge=xenbr0' ]", 'on_poweroff = "destroy"']));
    await xen.ok(['create', cfg, '--quiet']);
    await waitTick(xen.vm, name, (t) => t.n >= 2 && t.blk.includes('xvda') && t.net.includes('eth0'), { what: 'ticks with its disk and nic' });
  });

  afterAll(async () => {
    await inB(`destroy ${name}`).catch(() => undefined);
    await xen.ok(['destroy', name]).catch(() => undefined);
    await xen.vm.run(`pkill -f 'state-dir /var/lib/tsxend-b' || true; xl destroy ${name}-xl 2>/dev/null || true`).catch(() => undefined);
  });

  it('moves the running guest to the other daemon live: it keeps counting there with its disk and nic, and one copy is left', async () => {
    const [before] = await listA();
    const d = xen.session.dir;
    const t0 = Date.now();
    const report = JSON.parse(await xen.ok(['migrate', '--json', name, B, '--dest-token-file', `${d}/token`, '--dest-ca-file', `${d}/tls.crt`])) as MigrateReport;
    const ms = Date.now() - t0;
    const stoppedAt = lastTick();
    console.log(`[xen migrate] tsxend ${name} (128 MiB, disk + nic) live: ${(report.bytes / 1048576).toFixed(1)} MiB sent, ${report.pages} pages, downtime ${report.downtimeMs} ms, ${report.totalMs} ms in the daemon, ${ms} ms through the CLI`);
    expect(report).toMatchObject({ name, uuid: before!.uuid, live: true, destination: B });
    // Live: a first pass over all of memory while it ran, then what it dirtied.
    expect(report.pages).toBeGreaterThan(128 * 256);
    expect(report.downtimeMs).toBeLessThan(report.totalMs);

    // Here: gone. There: running, its devices connected, under xend's second VM path.
    expect(await listA()).toEqual([]);
    const [there] = await listB();
    expect(there).toMatchObject({ uuid: before!.uuid, state: 'running' });
    expect(there!.devices.filter((v) => v.class === 'vbd' || v.class === 'vif').map((v) => `${v.class}:${v.state}`).sort()).toEqual(['vbd:connected', 'vif:connected']);
    expect(there!.domid).not.toBe(before!.domid);
    expect(await xlDomains()).toEqual(['Domain-0 0', `${name} ${there!.domid}`]);
    expect((await xen.vm.run(`xenstore-read /local/domain/${there!.domid}/vm; xenstore-ls /vm/${before!.uuid} >/dev/null 2>&1 || echo gone`)).trim().split('\n')).toEqual([`/vm/${before!.uuid}-1`, 'gone']);

    // Not a reboot: the count goes on from where the source left it.
    const next = await waitTick(xen.vm, name, (t) => t.n > stoppedAt, { what: 'a tick after the migration' });
    expect(next.n).toBeLessThanOrEqual(stoppedAt + 10);
    expect(next.blk).toContain('xvda');
    expect(next.net).toContain('eth0');
    const ticks = guestTicks(xen.vm.console(name)).map((t) => t.n);
    expect(ticks.filter((n) => n === 1)).toHaveLength(1);
  });

  it('xl migrate to localhost, side by side with the same guest', async () => {
    await inB(`destroy ${name}`);
    // xl reaches the receiver through "ssh HOST xl migrate-receive": here a shell stands in for ssh.
    await xen.vm.run(`printf '#!/bin/sh\\nshift\\nexec "$@"\\n' > /tmp/xl-local-ssh && chmod +x /tmp/xl-local-ssh && cat > /tmp/${name}-xl.cfg <<'EOF'
name = "${name}-xl"
kernel = "${xen.session.kernel}"
ramdisk = "${xen.session.dir}/guest-initrd.gz"
extra = "console=hvc0"
memory = 128
vcpus = 1
disk = [ 'file:/tmp/${name}.img,xvda,w' ]
vif = [ 'bridge=xenbr0' ]
EOF
xl create /tmp/${name}-xl.cfg`, 600);
    await waitTick(xen.vm, `${name}-xl`, (t) => t.n >= 2 && t.net.includes('eth0'), { what: 'ticks of the xl guest' });
    const t0 = Date.now();
    await xen.vm.run(`xl migrate -s /tmp/xl-local-ssh ${name}-xl localhost`, 900);
    const ms = Date.now() - t0;
    const stoppedAt = lastTick(`${name}-xl`);
    console.log(`[xen migrate] xl migrate ${name}-xl (128 MiB, disk + nic) to localhost: ${ms} ms in all`);
    const next = await waitTick(xen.vm, `${name}-xl`, (t) => t.n > stoppedAt, { what: 'a tick after xl migrate' });
    expect(next.n).toBeLessThanOrEqual(stoppedAt + 10);
    await xen.vm.run(`xl destroy ${name}-xl`);
    expect(await xlDomains()).toEqual(['Domain-0 0']);
  });
});
