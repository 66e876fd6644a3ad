// End to end on the embedded default, as a user would: the built CLI starts `tsxend serve`
// (in-process mock xenstore, simulated hypervisor) and drives it through the CLI and raw HTTP.

import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainView } from '../../src/lifecycle/api.js';
import { buildOnce, cli, startServe, tsxend, type ServeProcess } from './helpers/serve-process.js';
import { http, userScenario, writeCfg } from './helpers/scenario.js';

let d: ServeProcess;
beforeAll(async () => {
  await buildOnce();
  d = await startServe();
}, 180_000);
afterAll(async () => {
  await d?.stop('SIGKILL');
});

describe('tsxend serve on the embedded default', () => {
  it('listens on a 0600 socket and reports itself healthy', async () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o600);
    expect((await http(d.socket, 'GET', '/v1/health')).json).toMatchObject({ status: 'ok', xenstore: 'up' });
    const info = await cli(d.socket, 'info', '--json');
    expect(JSON.parse(info.stdout)).toMatchObject({ hypervisor: 'simulated' });
  });

  it('runs the user scenario through the CLI and raw HTTP, with every event seen in order', async () => {
    await userScenario(d, 'emb');
  }, 120_000);

  it('answers ?wait=false with 202 and a task that shows its step, then ends succeeded', async () => {
    const text = 'name = "tasked"\nmemory = 64\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/tasked,xvda,w"]\n';
    const res = await http(d.socket, 'POST', '/v1/domains?wait=false', text, 'text/plain');
    expect(res.status).toBe(202);
    const { task, uuid } = res.json as { task: { id: string; operation: string; step: string }; uuid: string };
    expect(task.operation).toBe('createDomain');
    expect(typeof task.step).toBe('string');
    let state = 'running';
    for (let i = 0; i < 200 && state === 'running'; i++) {
      state = ((await http(d.socket, 'GET', `/v1/tasks/${task.id}`)).json as { state: string }).state;
      if (state === 'running') await new Promise((r) => setTimeout(r, 25));
    }
    expect(state).toBe('succeeded');
    expect((await http(d.socket, 'GET', `/v1/domains/${uuid}`)).json).toMatchObject({ name: 'tasked', state: 'running', operations: [] });
    expect((await http(d.socket, 'DELETE', `/v1/tasks/${task.id}`)).status).toBe(409);
  });

  it('runs creates in parallel; of two creates with one name, one wins and the other gets 409', async () => {
    const cfg = writeCfg('twin', '00:16:3e:20:00:01');
    const [x, y] = await Promise.all([cli(d.socket, 'create', cfg, '--json'), cli(d.socket, 'create', cfg, '--json')]);
    expect([x.code, y.code].sort()).toEqual([0, 5]);
    const many = await Promise.all(Array.from({ length: 6 }, (_, i) => cli(d.socket, 'create', writeCfg(`par${i}`, `00:16:3e:20:01:0${i}`), '--json')));
    expect(many.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    const list = JSON.parse((await cli(d.socket, 'list', '--json')).stdout) as DomainView[];
    expect(list.filter((x) => /^par\d$/.test(x.name)).every((x) => x.state === 'running')).toBe(true);
  }, 120_000);

  it('refuses a second daemon on the same socket (exit 5) and leaves the first alone', async () => {
    const second = await tsxend('serve', '--state-dir', d.stateDir, '--listen', `unix:${d.socket}`);
    expect(second.code).toBe(5);
    expect(second.stderr).toMatch(/another daemon is answering/);
    expect((await http(d.socket, 'GET', '/v1/health')).status).toBe(200);
  });

  it('exposes metrics with domains by state and operation durations', async () => {
    const m = await new Promise<string>((resolve, reject) => {
      void d.api.request<string>('GET', '/metrics').then((r) => resolve(r.body), reject);
    });
    expect(m).toMatch(/tsxend_domains\{state="running"\} \d+/);
    expect(m).toMatch(/tsxend_operation_duration_seconds_count\{operation="createDomain",outcome="ok"\} \d+/);
    expect(m).toMatch(/tsxend_process_resident_memory_bytes/);
    expect(Number(/^tsxend_xenstore_ops_total (\d+)/m.exec(m)?.[1] ?? 0)).toBeGreaterThan(100);
    expect(m).toMatch(/tsxend_events_total\{type="device.connected"\} \d+/);
    expect(m).toMatch(/tsxend_http_requests_total\{route="\/v1\/domains",method="POST",status="201"\} \d+/);
  });

  it('stops gracefully on SIGTERM: exit 0, socket removed; a managed domain is there after a restart', async () => {
    const managed = await cli(d.socket, 'create', writeCfg('keeper', '00:16:3e:20:02:01'), '--managed', '--json');
    expect(managed.code, managed.stderr).toBe(0);
    const uuid = (JSON.parse(managed.stdout) as DomainView).uuid;
    expect(await d.stop('SIGTERM')).toBe(0);
    expect(existsSync(d.socket)).toBe(false);
    d = await startServe({ stateDir: d.stateDir });
    const back = (await http(d.socket, 'GET', `/v1/domains/${uuid}`)).json as DomainView;
    expect(back).toMatchObject({ name: 'keeper', managed: true });
  }, 60_000);
});
