// `tsxend serve` killed with SIGKILL at random points of saves and restores (real cxenstored,
// the simulated hypervisor sharing its domain table through TSXEND_SIM_DOMAINS_FILE, so domains
// outlive the daemon as on Xen). After each restart exactly one copy exists: the guest running
// (the save undone) or the image (the save done, the domain gone); a restore is whole or left
// nothing — never two guests of one image, never a half-made domain or a partial file.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DomainView } from '../../src/lifecycle/api.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';
import { buildOnce, startServe, type ServeProcess } from '../daemon/helpers/serve-process.js';
import { http } from '../daemon/helpers/scenario.js';

const ROUNDS = Number(process.env['TSXEND_KILL_ROUNDS'] ?? 6);

describeReal('cxenstored', 'SIGKILL during save and restore', () => {
  let xs: RealXenstored;
  let d: ServeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-kill-save-'));
  const serve = (stateDir?: string) =>
    startServe({ ...(stateDir === undefined ? {} : { stateDir }), args: ['--xenstore', `socket:${xs.socketPath}`], env: { TSXEND_SIM_DOMAINS_FILE: xs.domainsFile } });
  const domains = async (): Promise<DomainView[]> => ((await http(d.socket, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains;
  const post = (path: string, body: unknown) => http(d.socket, 'POST', path, JSON.stringify(body));
  const kill = async (afterMs: number) => {
    await new Promise((r) => setTimeout(r, afterMs));
    await d.stop('SIGKILL');
    d = await serve(d.stateDir);
  };
  /** A restart's recovery runs in the background for a moment (a resumed guest's devices reconnect). */
  const settled = async (name: string) => {
    for (let i = 0; i < 100; i++) {
      const dom = (await domains()).find((x) => x.name === name);
      if (dom === undefined || !['saving', 'creating', 'dying'].includes(dom.state)) return dom;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} did not settle`);
  };

  beforeAll(async () => {
    await buildOnce();
    xs = await startXenstored('cxenstored');
    d = await serve();
  }, 180_000);
  afterAll(async () => {
    await d?.stop('SIGKILL');
    await xs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`a save killed at a random point (${ROUNDS} rounds): the guest runs on, or the image exists and the domain is gone`, async () => {
    // How long a whole save takes here: the kills are spread from its start to past its end.
    const ref = await http(d.socket, 'POST', '/v1/domains', `name = "ksref"\nmemory = 4096\nkernel = "/boot/vmlinuz"\n`, 'text/plain');
    expect(ref.status).toBe(201);
    const t0 = Date.now();
    expect((await post('/v1/domains/ksref/save', { file: join(dir, 'ksref.save') })).status).toBe(200);
    const saveMs = Date.now() - t0;
    const outcomes = { resumed: 0, saved: 0, saveMs };
    for (let round = 0; round < ROUNDS; round++) {
      const name = `ks${round}`;
      // 4 GiB: a simulated image of 16 MiB, long enough to be killed in the middle of.
      const created = await http(d.socket, 'POST', '/v1/domains', `name = "${name}"\nmemory = 4096\nkernel = "/boot/vmlinuz"\ndisk = ['phy:/dev/vg/${name},xvda,w']\nvif = ['mac=00:16:3e:4b:00:${(round + 16).toString(16)},bridge=xenbr0']\n`, 'text/plain');
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const file = join(dir, `${name}.save`);
      const accepted = await post(`/v1/domains/${name}/save?wait=false`, { file });
      expect(accepted.status).toBe(202);
      await kill(Math.floor(((round + Math.random()) / ROUNDS) * 1.6 * saveMs));
      const dom = await settled(name);
      if (existsSync(file)) {
        outcomes.saved++;
        expect(dom, `round ${round}: the image exists and so does the domain`).toBeUndefined();
      } else {
        outcomes.resumed++;
        expect(dom?.state, `round ${round}`).toBe('running');
        expect(dom?.devices.every((x) => x.state === 'connected')).toBe(true);
        // The host's memory is for the next round.
        expect((await http(d.socket, 'DELETE', `/v1/domains/${name}`)).status).toBe(200);
      }
      expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    }
    console.log(`SIGKILL during save: ${JSON.stringify(outcomes)}`);
  }, 180_000);

  it('a restore killed at a random point: the domain is whole and running, or nothing of it exists', async () => {
    const name = 'kr';
    const created = await http(d.socket, 'POST', '/v1/domains', `name = "${name}"\nmemory = 4096\nkernel = "/boot/vmlinuz"\ndisk = ['phy:/dev/vg/${name},xvda,w']\n`, 'text/plain');
    expect(created.status).toBe(201);
    const file = join(dir, `${name}.save`);
    expect((await post(`/v1/domains/${name}/save`, { file })).status).toBe(200);
    // How long a whole restore takes here, as for the save.
    const t0 = Date.now();
    expect((await post('/v1/restore', { file })).status).toBe(201);
    const restoreMs = Date.now() - t0;
    expect((await http(d.socket, 'DELETE', `/v1/domains/${name}`)).status).toBe(200);
    const outcomes = { whole: 0, none: 0, restoreMs };
    for (let round = 0; round < ROUNDS; round++) {
      expect((await post('/v1/restore?wait=false', { file })).status).toBe(202);
      await kill(Math.floor(((round + Math.random()) / ROUNDS) * 1.6 * restoreMs));
      const dom = await settled(name);
      if (dom === undefined) {
        outcomes.none++;
        continue;
      }
      outcomes.whole++;
      expect(dom.state, `round ${round}`).toBe('running');
      expect(dom.devices.every((x) => x.state === 'connected')).toBe(true);
      // Destroyed again for the next round: nothing may be left then either.
      const destroyed = await http(d.socket, 'DELETE', `/v1/domains/${name}`);
      expect(destroyed.status).toBe(200);
      expect((destroyed.json as { leftovers: string[] }).leftovers).toEqual([]);
    }
    console.log(`SIGKILL during restore: ${JSON.stringify(outcomes)}`);
  }, 180_000);
});
