// libxl as the oracle: the same guest config through `xl create` and through `tsxend create`
// in the same dom0. The two xenstore trees are compared key by key (every frontend and backend
// key with its permissions, /local/domain/N, /vm, /libxl); the differences must be exactly the
// ones listed (and explained) in docs/dom0.md. Both creates are timed side by side — to
// "running" and to the guest's first console line — and their xenstore requests counted from
// xenstored's trace; the figures go to BENCHMARKS.md as ratios (TCG makes absolute times moot).

import { writeFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { describeXen } from '../fixtures/xenvm.js';
import { guestConfig, xenSession, type Xen } from './session.js';
import { diffTrees, normaliseTree, unexplained, type Node } from './xstree-diff.js';

const x = xenSession();

interface Run {
  readonly tree: Map<string, Node>;
  readonly runningMs: number;
  readonly consoleMs: number;
  readonly requests: number;
}

describeXen('libxl as the oracle', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const runs: Record<'xl' | 'tsxend', Run> = {} as never;

  /** Every node of one domain, with permissions, as `xenstore-ls -fp` prints them. */
  async function domainTree(domid: number): Promise<string> {
    return xen.vm.run(
      [
        `vm=$(xenstore-read /local/domain/${domid}/vm)`,
        `for p in /local/domain/${domid} $vm /libxl/${domid} /local/domain/0/device-model/${domid}; do xenstore-ls -fp "$p" 2>/dev/null; done`,
        `for c in $(xenstore-list /local/domain/0/backend); do xenstore-ls -fp /local/domain/0/backend/$c/${domid} 2>/dev/null; done`,
      ].join('; '),
    );
  }

  const traced = async () => Number((await xen.vm.run("grep -c '^IN ' /run/xenstored.trace")).trim());

  async function measure(tool: 'xl' | 'tsxend', name: string): Promise<Run> {
    const cfg = `${xen.session.dir}/${name}.cfg`;
    await xen.vm.run(`truncate -s 16M /tmp/${name}.img; printf TSXMARKER | dd of=/tmp/${name}.img conv=notrunc status=none`);
    writeFileSync(cfg, guestConfig(xen, name, [
      `disk = [ 'file:/tmp/${name}.img,xvda,w' ]`,
      "vif = [ 'bridge=xenbr0,mac=00:16:3e:5a:00:01' ]",
      "vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]",
      'on_poweroff = "destroy"',
    ]));
    const before = await traced();
    const t0 = Date.now();
    let runningMs = 0;
    const created = (tool === 'xl' ? xen.vm.run(`xl create ${cfg}`) : xen.ok(['create', cfg, '--quiet'])).then((out) => ((runningMs = Date.now() - t0), out));
    await xen.vm.waitConsole(name, /TSXREPORT boot/, 600_000);
    const consoleMs = Date.now() - t0;
    await created;
    const requests = (await traced()) - before;
    const domid = Number((await xen.vm.run(`xl domid ${name}`)).trim());
    const raw = await domainTree(domid);
    writeFileSync(`${xen.session.dir}/tree-${tool}.txt`, raw); // for whoever reads a failure
    const tree = normaliseTree(raw, domid);
    if (tool === 'xl') await xen.vm.run(`xl destroy ${name}`);
    else await xen.ok(['destroy', name]);
    return { tree, runningMs, consoleMs, requests };
  }

  beforeAll(async () => {
    runs.xl = await measure('xl', 'oracle-xl');
    runs.tsxend = await measure('tsxend', 'oracle-tsx');
  });

  it('writes the tree libxl writes, but for the differences docs/dom0.md lists and explains', () => {
    const diff = diffTrees(runs.xl.tree, runs.tsxend.tree);
    process.stderr.write(`[xl oracle] ${diff.length} differences:\n${diff.map((d) => `  ${d}`).join('\n')}\n`);
    expect(unexplained(diff)).toEqual({ unexplained: [], unused: [] });
    // What both write must agree: no value or permission differs on a shared key.
    expect(diff.filter((d) => d.startsWith('value ') || d.startsWith('perms '))).toEqual([]);
  });

  it('creates side by side with xl (figures for BENCHMARKS.md)', () => {
    const figures = ['runningMs', 'consoleMs', 'requests'] as const;
    const report = figures.map((k) => `${k}: xl ${runs.xl[k]}, tsxend ${runs.tsxend[k]}, tsxend/xl ${(runs.tsxend[k] / runs.xl[k]).toFixed(2)}`).join('\n');
    process.stderr.write(`[xl oracle] side by side (one dom0, TCG):\n${report}\n`);
    writeFileSync(`${xen.session.dir}/xl-vs-tsxend.txt`, `${report}\n`);
    for (const run of Object.values(runs)) {
      expect(run.requests).toBeGreaterThan(0);
      expect(run.consoleMs).toBeGreaterThan(0);
    }
  });
});
