// Through the daemon: `tsxend serve --hypervisor xen` on real cxenstored, with the recording fake
// loaded in place of libxenctrl/libxenguest (TSXEND_LIBXENCTRL/…GUEST) and a stand-in privcmd.
// The CLI creates, lists and destroys a PV guest; the fake saw the libxc create sequence, its
// domains file (which cxenstored's stub reads) is empty afterwards, and so is xenstore.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DomainView } from '../../src/lifecycle/api.js';
import { userScenario } from '../daemon/helpers/scenario.js';
import { buildOnce, cli, startServe, type ServeProcess } from '../daemon/helpers/serve-process.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { startXcFake, xcfakeUnavailable, type XcCall, type XcFake } from '../fixtures/xcfake/xcfake.js';

const run = promisify(execFile);
const why = xcfakeUnavailable();
if (why && process.env['CI'] === 'true') throw new Error(`the xcfake suite cannot run under CI: ${why}`);

describeReal('cxenstored', 'tsxend serve --hypervisor xen on the recording fake', () => {
  let xs: RealXenstored;
  let fake: XcFake;
  let d: ServeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'xendaemon-'));
  const privcmd = join(dir, 'privcmd');
  const kernel = join(dir, 'vmlinuz');
  const cfg = join(dir, 'guest.cfg');
  const log = join(dir, 'calls.jsonl');
  const xsLs = async (path: string): Promise<string | undefined> =>
    run('xenstore-ls', [path], { env: { ...process.env, XENSTORED_PATH: xs.socketPath } }).then(
      (r) => r.stdout,
      () => undefined,
    );

  beforeAll(async () => {
    if (why) throw new Error(why);
    await buildOnce();
    fake = startXcFake();
    xs = await startXenstored('cxenstored');
    writeFileSync(privcmd, '');
    writeFileSync(kernel, 'kernel');
    writeFileSync(cfg, `name = "xen-cli"\ntype = "pv"\nkernel = "${kernel}"\nextra = "console=hvc0"\nmemory = 128\nvcpus = 1\n`);
    d = await startServe({
      args: ['--xenstore', `socket:${xs.socketPath}`, '--hypervisor', 'xen'],
      env: {
        TSXEND_LIBXENCTRL: fake.path,
        TSXEND_LIBXENGUEST: fake.path,
        TSXEND_XEN_PRIVCMD: privcmd,
        XCFAKE_LOG: log,
        XCFAKE_DOMAINS_FILE: xs.domainsFile,
      },
    });
  }, 180_000);
  afterAll(async () => {
    await d?.stop('SIGKILL');
    await xs?.stop();
    fake?.cleanup();
  });

  it('info says xen; create, list and destroy through the CLI leave nothing behind', async () => {
    const info = await cli(d.socket, 'info', '--json');
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ hypervisor: 'xen', version: '4.17.3-xcfake' });

    const created = await cli(d.socket, 'create', cfg, '--quiet');
    expect(created.code, `${created.stderr}\n${d.output().slice(-2000)}`).toBe(0);
    const listed = await cli(d.socket, 'list', '--json', 'xen-cli');
    const [dom] = JSON.parse(listed.stdout) as DomainView[];
    expect(dom).toMatchObject({ name: 'xen-cli', state: 'running' });
    const domid = dom!.domid!;
    expect(readFileSync(xs.domainsFile, 'utf8')).toBe(`${domid} running\n`);
    expect(await xsLs(`/local/domain/${domid}`)).toContain('store');

    const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as XcCall).map((c) => c.call);
    const seq = ['xc_interface_open', 'xc_domain_create', 'xc_domain_max_vcpus', 'xc_domain_setmaxmem', 'xc_evtchn_alloc_unbound', 'xc_dom_boot_xen_init', 'xc_dom_gnttab_init', 'xc_domain_unpause'];
    const at = seq.map((c) => calls.indexOf(c));
    expect(at.every((i) => i >= 0), calls.join(',')).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);

    const destroyed = await cli(d.socket, 'destroy', 'xen-cli');
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(readFileSync(xs.domainsFile, 'utf8')).toBe('');
    expect(await xsLs(`/local/domain/${domid}`)).toBeUndefined();
    expect(await xsLs(`/vm/${dom!.uuid}`)).toBeUndefined();
    expect((await cli(d.socket, 'list', '--json')).stdout).not.toContain('xen-cli');
  }, 60_000);

  it('runs the same user scenario as the simulated hypervisor (CLI, raw HTTP, events in order; simulated backends and guests), and leaves no domain', async () => {
    await userScenario(d, 'xen');
    // The scenario leaves its CLI-made domain running for the suites that look at it afterwards.
    const left = JSON.parse((await cli(d.socket, 'list', '--json')).stdout) as DomainView[];
    for (const dom of left) expect((await cli(d.socket, 'destroy', dom.name)).code).toBe(0);
    expect(readFileSync(xs.domainsFile, 'utf8')).toBe('');
    expect(await xsLs('/vm')).toBe('');
    expect((await xsLs('/local/domain'))?.split('\n').filter((l) => /^\S/.test(l))).toEqual([expect.stringMatching(/^0 = /)]);
    const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as XcCall);
    // Every domain the scenario made went through the libxc create sequence and was destroyed.
    const created = calls.filter((c) => c.call === 'xc_domain_create').length;
    expect(created).toBeGreaterThanOrEqual(2);
    expect(calls.filter((c) => c.call === 'xc_domain_destroy').length).toBe(created);
  }, 120_000);
});
