// Real guests that tsxend created on real Xen report what they see: every device class, from
// inside the guest, then destroy leaves nothing behind (no domain, node, loop device or process).

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { REPO, describeXen } from '../fixtures/xenvm.js';
import { cliEnv, guestConfig, guestReport, xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('guests tsxend creates on real Xen', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  let report: string[][] = [];
  let domid = 0;
  const name = 'devs';

  beforeAll(async () => {
    const d = xen.session.dir;
    // Two disks, each holding a marker where the guest reads it: the first sector.
    await xen.vm.run(`for n in 1 2; do truncate -s 16M /tmp/${name}-$n.img; printf 'TSXMARKER-disk'$n | dd of=/tmp/${name}-$n.img conv=notrunc status=none; done`);
    const cfg = `${d}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, [
      `disk = [ 'file:/tmp/${name}-1.img,xvda,w', 'file:/tmp/${name}-2.img,xvdb,r' ]`,
      "vif = [ 'bridge=xenbr0' ]",
      "vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]",
      "vkb = [ '' ]",
      'on_poweroff = "destroy"',
    ], 'tsx.ip=198.18.0.21/24 tsx.ping=198.18.0.1'));
    const out = await xen.ok(['create', cfg]);
    expect(out).toMatch(/running/);
    domid = Number(/domid (\d+)/.exec(out)?.[1]);
    report = guestReport(await xen.vm.waitConsole(name, /TSXREPORT end/, 300_000));
  });

  const facts = (key: string) => report.filter((r) => r[0] === key);

  it('runs the guest on the real hypervisor (xl sees it) with its console served by xenconsoled', async () => {
    expect(domid).toBeGreaterThan(0);
    expect(await xen.vm.run(`xl list ${domid}`)).toMatch(new RegExp(`\\b${name}\\s+${domid}\\b`));
    // The report arrived through xenconsoled's log of the guest's own console.
    expect(facts('console')[0]?.[1]).toBe('/dev/console');
  });

  it('connects every xenbus device in the guest: vbd x2, vif, vfb, vkbd', () => {
    const states = Object.fromEntries(facts('xenbus').map((r): [string, string | undefined] => [r[1]!, r[3]]));
    expect(states).toEqual({ 'vbd-51712': 'Connected', 'vbd-51728': 'Connected', 'vif-0': 'Connected', 'vfb-0': 'Connected', 'vkbd-0': 'Connected' });
  });

  it('gives the guest each disk with the marker written into its backing file, read-only where asked', () => {
    expect(facts('vbd').map((r) => [r[1], r[5], r[7]])).toEqual([
      ['xvda', '0', 'TSXMARKER-disk1'],
      ['xvdb', '1', 'TSXMARKER-disk2'],
    ]);
  });

  it('gives the guest a network interface that reaches dom0 through xenbr0', async () => {
    const mac = (await xen.vm.run(`xenstore-read /local/domain/0/backend/vif/${domid}/0/mac`)).trim();
    expect(facts('vif')).toEqual([['vif', 'eth0', 'mac', mac]]);
    expect(facts('ping')).toEqual([['ping', '198.18.0.1', 'ok']]);
    expect(await xen.vm.run('bridge link show')).toContain(`vif${domid}.0`);
  });

  it("serves vfb and vkbd with Xen's device model (qemu-system-xen, xenpv), which the guest sees as a framebuffer and input devices", async () => {
    expect(facts('vfb').find((r) => r[1] === 'fb0')).toEqual(['vfb', 'fb0', 'name', 'xen', 'size', '800,600']);
    expect(facts('input').map((r) => r[1])).toEqual(expect.arrayContaining(['Xen_Virtual_Keyboard', 'Xen_Virtual_Pointer']));
    const ps = await xen.vm.run('ps -eo args | grep "[x]en-qemu-system-i386"');
    expect(ps).toContain(`-xen-domid ${domid} `);
    expect(ps).toContain('-machine xenpv');
    expect((await xen.vm.run(`xenstore-read /local/domain/0/device-model/${domid}/state`)).trim()).toBe('running');
  });

  it('attaches to the console through the daemon (xenconsoled\'s pty): the guest\'s output arrives and a typed line reaches it', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [`${REPO}bin/tsxend.js`, 'console', name, '--timeout', '20'], { env: { ...process.env, ...cliEnv(xen.session) } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
      child.on('close', (code) => resolve({ code: code ?? 1, out }));
      // Typed once the console is attached and the guest is ticking.
      setTimeout(() => child.stdin.end('tsx-typed-line\r'), 8000);
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/TSXCOUNT \d+ cpus=/);
    expect(r.out).toContain('TSXECHO tsx-typed-line');
  });

  it('destroys it and leaves nothing: no domain, no node, no loop device, no device model', async () => {
    const uuid = (await xen.vm.run(`xenstore-read /local/domain/${domid}/vm`)).trim();
    await xen.ok(['destroy', name]);
    const left = await xen.vm.run(
      [
        'xl list | tail -n +2 | awk \'{print $1}\'',
        `echo "--- nodes"; for p in /local/domain/${domid} ${uuid} /libxl/${domid} /local/domain/0/device-model/${domid}; do xenstore-ls "$p" >/dev/null 2>&1 && echo "$p"; done`,
        `for c in $(xenstore-list /local/domain/0/backend 2>/dev/null); do xenstore-ls /local/domain/0/backend/$c/${domid} >/dev/null 2>&1 && echo backend/$c/${domid}; done`,
        'echo "--- loops"; losetup -a',
        'echo "--- processes"; ps -eo args | grep -E "[x]en-qemu-system|[/]etc/xen/scripts" || true',
      ].join('; '),
    );
    expect(left).toBe('Domain-0\n--- nodes\n--- loops\n--- processes\n');
  });

  it('rolls a failed create back on real Xen: a missing backing file fails typed and leaves no domain, node or loop device', async () => {
    const bad = 'badisk';
    const cfg = `${xen.session.dir}/${bad}.cfg`;
    writeFileSync(cfg, guestConfig(xen, bad, ["disk = [ 'file:/tmp/no-such-disk.img,xvda,w' ]", "vif = [ 'bridge=xenbr0' ]", "vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]"]));
    const r = await xen.cli(['create', cfg, '--quiet', '--json']);
    expect(r.code).not.toBe(0);
    // The real block script's own words reach the user, under a stable code.
    expect(r.stderr + r.stdout).toMatch(/TSX_ERR_HOTPLUG_(FAILED|STATUS_ERROR)/);
    expect(r.stderr + r.stdout).toContain('/tmp/no-such-disk.img');
    expect((await xen.cli(['list', bad])).code).not.toBe(0);
    // Xen releases a destroyed domain once its memory is freed; under TCG that takes a while,
    // meanwhile `xl list` shows it nameless ("(null)", dying). It must go, in bounded time.
    await xen.vm.run("for i in $(seq 1 240); do [ \"$(xl list | tail -n +2 | wc -l)\" = 1 ] && break; sleep 0.5; done", 300);
    const left = await xen.vm.run(
      [
        "xl list | tail -n +2 | awk '{print $1}'",
        'echo "--- nodes"; xenstore-ls -f /local/domain | grep -v "^/local/domain/0" || true',
        'xenstore-ls -f /local/domain/0/backend 2>/dev/null | grep -v "^/local/domain/0/backend/[a-z0-9]* = " || true',
        'xenstore-list /vm 2>/dev/null || true; xenstore-list /libxl 2>/dev/null || true',
        'echo "--- loops"; losetup -a',
        'echo "--- processes"; ps -eo args | grep -E "[x]en-qemu-system|[/]etc/xen/scripts" || true',
      ].join('; '),
    );
    expect(left).toBe('Domain-0\n--- nodes\n--- loops\n--- processes\n');
  });
});
