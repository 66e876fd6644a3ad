// End to end against the real cxenstored (no hypervisor: the simulated one, sharing its view of
// existing domains with cxenstored's stub through TSXEND_SIM_DOMAINS_FILE). The user scenario
// through the CLI and raw HTTP, then a daemon crash in the middle and a restart that must
// re-adopt every domain with its devices, then xenstored going away (health 503).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DomainView, TsxEvent } from '../../src/lifecycle/api.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { buildOnce, cli, startServe, type ServeProcess } from './helpers/serve-process.js';
import { expectDocumented, http, subscribe, userScenario, writeCfg } from './helpers/scenario.js';

const run = promisify(execFile);

describeReal('cxenstored', 'tsxend serve against real cxenstored', () => {
  let xs: RealXenstored;
  let d: ServeProcess;
  const serve = (stateDir?: string) =>
    startServe({
      ...(stateDir === undefined ? {} : { stateDir }),
      args: ['--xenstore', `socket:${xs.socketPath}`],
      env: { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile },
    });
  /** What cxenstored holds, read with Xen's own C client. */
  const xsRead = async (path: string): Promise<string | undefined> =>
    run('xenstore-read', [path], { env: { ...process.env, XENSTORED_PATH: xs.socketPath } }).then(
      (r) => r.stdout.trim(),
      () => undefined,
    );

  beforeAll(async () => {
    await buildOnce();
    xs = await startXenstored('cxenstored');
    d = await serve();
  }, 180_000);
  afterAll(async () => {
    await d?.stop('SIGKILL');
    await xs?.stop();
  });

  it('runs the user scenario through the CLI and raw HTTP, with every event seen in order', async () => {
    await userScenario(d, 'real');
  }, 120_000);

  it('writes the domains into the real xenstored', async () => {
    const doms = ((await http(d.socket, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains;
    const dom = doms.find((x) => x.name === 'real-cli');
    expect(dom?.domid).toBeDefined();
    expect(await xsRead(`/local/domain/${dom?.domid}/name`)).toBe('real-cli');
    expect(await xsRead(`/vm/${dom?.uuid}/name`)).toBe('real-cli');
  });

  it('re-adopts running domains with their devices after the daemon is killed in the middle', async () => {
    const created = await cli(d.socket, 'create', writeCfg('survivor', '00:16:3e:30:00:01'), '--json');
    expect(created.code, created.stderr).toBe(0);
    const before = ((await http(d.socket, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains.filter((x) => x.state === 'running');
    expect(before.length).toBeGreaterThanOrEqual(2);
    const seq = (await http(d.socket, 'GET', '/v1/domains')).json as { seq: number };
    expect(seq.seq).toBeGreaterThan(0);

    // A crash, not a clean stop: nothing gets a chance to tidy up.
    await d.stop('SIGKILL');
    d = await serve(d.stateDir);
    const sub = await subscribe(d, 0);
    const after = ((await http(d.socket, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains;
    for (const b of before) {
      const a = after.find((x) => x.uuid === b.uuid);
      expect(a, `${b.name} was not re-adopted`).toBeDefined();
      expect(a).toMatchObject({ name: b.name, domid: b.domid, state: 'running' });
      expect(a?.devices.map((x) => `${x.class}/${x.devid}:${x.state}`).sort()).toEqual(b.devices.map((x) => `${x.class}/${x.devid}:connected`).sort());
    }
    // An event says what was found and what was decided for each domain.
    const found = (u: string): TsxEvent | undefined => sub.events.find((e) => e.uuid === u && /adopt|reconcil|found/i.test(`${e.type} ${e.step ?? ''}`));
    for (const b of before) expect(found(b.uuid), `no reconcile event for ${b.name}: ${sub.events.map((e) => e.type).join(', ')}`).toBeDefined();
    expectDocumented(sub.events);
    sub.close();

    // Re-adopted domains are fully manageable: pause, unpause, destroy with nothing left behind.
    expect((await cli(d.socket, 'pause', 'survivor')).code).toBe(0);
    expect((await cli(d.socket, 'unpause', 'survivor')).code).toBe(0);
    const survivor = after.find((x) => x.name === 'survivor') as DomainView;
    const destroyed = await cli(d.socket, 'destroy', 'survivor', '--json');
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(JSON.parse(destroyed.stdout)).toMatchObject({ leftovers: [] });
    expect(await xsRead(`/local/domain/${survivor.domid}/name`)).toBeUndefined();
  }, 120_000);

  it('reports health 503 while xenstored is gone', async () => {
    await xs.stop();
    let status = 0;
    for (let i = 0; i < 100 && status !== 503; i++) {
      status = (await http(d.socket, 'GET', '/v1/health')).status;
      if (status !== 503) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(503);
    expect((await http(d.socket, 'GET', '/v1/health')).json).toMatchObject({ xenstore: 'down', status: 'degraded' });
  }, 30_000);
});
