// Creation from a prepared shell on real Xen: a second tsxend in dom0 keeps one shell (a paused
// domain under a placeholder handle, its home in xenstore); a guest that fits is created in it
// (Xen's own handle set to the guest's uuid: xc_domain_sethandle) and boots and counts; the pool
// refills; the daemon killed with a shell ready adopts it at its next start, and one started
// without shells tears it down, leaving no domain behind.

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DomainView } from '../../src/lifecycle/api.js';
import { describeXen } from '../fixtures/xenvm.js';
import { guestConfig, waitTick, xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('prepared shells on real Xen', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const name = 'shelled';
  const sock = '/run/tsxend-s/tsxend.sock';
  const inS = (args: string) => xen.vm.run(`TSXEND_CONNECT=unix:${sock} node bin/tsxend.js ${args}`, 900);
  const start = (shells: string) => {
    xen.vm.detach(
      [
        `mkdir -p /run/tsxend-s /var/lib/tsxend-s && exec node bin/tsxend.js serve --hypervisor xen --xenstore socket:/run/xenstored/socket --listen unix:${sock}`,
        `--state-dir /var/lib/tsxend-s --runtime-dir /run/tsxend-s --hotplug-timeout 300 --create-timeout 600 --log-level debug --prepared-shells ${shells}`,
        '>> "$XENVM_RUN/daemon-s.log" 2>&1',
      ].join(' '),
    );
  };
  const pool = async () => (JSON.parse(await inS('info --json')) as { preparedShells: { target: number; ready: number; preparing: number } }).preparedShells;
  const waitPool = async (ready: number) => {
    for (let i = 0; i < 300; i++) {
      const p = await pool().catch(() => undefined);
      if (p && p.ready === ready && p.preparing === 0) return p;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`the pool never held ${ready} ready shells`);
  };
  /** Xen's domains as `xl list` shows them: domid → state column. */
  const xl = async () => new Map((await xen.vm.run("xl list | awk 'NR>1 {print $2\" \"$5}'")).trim().split('\n').map((l) => l.split(' ') as [string, string]).map(([d, s]) => [Number(d), s]));
  // The pattern's [s] keeps pkill from matching the shell that runs it.
  const kill = () => xen.vm.run("pkill -KILL -f 'state-dir /var/lib/tsxend-[s]' || true; sleep 1");
  let before: Map<number, string>;

  beforeAll(async () => {
    before = await xl();
    start('1,memory=128,maxvcpus=1');
    await waitPool(1);
  });

  afterAll(async () => {
    await inS(`destroy ${name}`).catch(() => undefined);
    await kill().catch(() => undefined);
  });

  const shellDomids = async () => [...(await xl())].filter(([d]) => !before.has(d));

  it('keeps a prepared shell: one more domain on Xen, paused, with its home in xenstore and no name', async () => {
    const shells = await shellDomids();
    expect(shells).toHaveLength(1);
    const [domid, state] = shells[0]!;
    expect(state).toContain('p');
    expect((await xen.vm.run(`xenstore-read /local/domain/${domid}/domid`)).trim()).toBe(String(domid));
    expect((await xen.vm.exec(`xenstore-read /local/domain/${domid}/name`)).code).not.toBe(0);
  });

  it('creates a guest that fits in the shell: same domid, the guest\'s uuid in Xen, it boots and counts, and the pool refills', async () => {
    const [[shell]] = (await shellDomids()) as [[number, string]];
    const d = xen.session.dir;
    const cfg = `${d}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, [`disk = [ 'file:/tmp/${name}.img,xvda,w' ]`, "vif = [ 'bridge=xenbr0' ]", 'on_poweroff = "destroy"']));
    await xen.vm.run(`truncate -s 16M /tmp/${name}.img`);
    await inS(`create ${cfg} --quiet`);
    const [view] = (JSON.parse(await inS('list --json')) as DomainView[]).filter((v) => v.name === name);
    expect(view).toMatchObject({ state: 'running', domid: shell });
    // Xen's handle is the guest's uuid now, as `xl list -v` reads it from the hypervisor.
    expect(await xen.vm.run(`xl list -v ${shell}`)).toContain(view!.uuid);
    await waitTick(xen.vm, name, (t) => t.n >= 2 && t.blk.includes('xvda') && t.net.includes('eth0'), { what: 'ticks with its disk and nic' });
    await waitPool(1);
    const now = await shellDomids();
    expect(now.map(([dd]) => dd)).toContain(shell);
    expect(now).toHaveLength(2); // the guest, and the new shell
  });

  it('adopts its ready shell after being killed, and a start without shells tears it down: no domain left but the guest', async () => {
    const shellsBefore = (await shellDomids()).filter(([, s]) => s.includes('p')).map(([dd]) => dd);
    expect(shellsBefore).toHaveLength(1);
    await kill();
    start('1,memory=128,maxvcpus=1');
    await waitPool(1);
    // The same shell, adopted: no new domain was made for the pool.
    expect((await shellDomids()).filter(([, s]) => s.includes('p')).map(([dd]) => dd)).toEqual(shellsBefore);
    await kill();
    start('0');
    // Up when it answers (it tears shells down before it serves: reconcile runs first).
    await xen.vm.run(`for i in $(seq 1 180); do TSXEND_CONNECT=unix:${sock} node bin/tsxend.js info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1`, 300);
    for (let i = 0; i < 60 && (await shellDomids()).length > 1; i++) await new Promise((r) => setTimeout(r, 1000));
    const [view] = (JSON.parse(await inS('list --json')) as DomainView[]).filter((v) => v.name === name);
    expect((await shellDomids()).map(([dd]) => dd)).toEqual([view!.domid]);
    await inS(`destroy ${name}`);
    expect((await shellDomids())).toEqual([]);
    expect((await xen.vm.exec(`xenstore-ls /local/domain/${shellsBefore[0]}`)).code).not.toBe(0);
  });
});
