// The HTTP API over fastify.inject() against a fake orchestrator: routes, statuses, the error
// body, validation at the edge. Every reply is checked against docs/openapi.json.

import { afterEach, describe, expect, it } from 'vitest';
import { TokenAuth } from '../../src/daemon/auth.js';
import { harness, type Harness } from './helpers/harness.js';

let h: Harness;
afterEach(async () => h?.app.close());

const cfg = 'name = "web1"\nmemory = 256\ndisk = ["phy:/dev/vg/web1,xvda,w"]\n';

async function created(name = 'web1'): Promise<{ uuid: string; domid: number; name: string }> {
  const res = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain' }, payload: cfg.replace('web1', name) });
  expect(res.status).toBe(201);
  return res.json() as { uuid: string; domid: number; name: string };
}

describe('domains', () => {
  it('creates from xl.cfg text and answers 201 with the domain, its devices and a Location', async () => {
    h = await harness();
    const res = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain' }, payload: cfg });
    expect(res.status).toBe(201);
    const dom = res.json() as { name: string; state: string; uuid: string; devices: { class: string; state: string }[] };
    expect(dom).toMatchObject({ name: 'web1', state: 'running' });
    expect(dom.devices.map((d) => d.class).sort()).toEqual(['vbd', 'vfb']);
    expect(res.headers.location).toBe(`/v1/domains/${dom.uuid}`);
  });

  it('creates from the JSON model and from SXP', async () => {
    h = await harness();
    const a = await h.call({ method: 'POST', url: '/v1/domains', payload: { name: 'j1', memory: 64 } });
    expect(a.status).toBe(201);
    const b = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'application/x-sxp' }, payload: 'name = s1\n' });
    expect(b.status).toBe(201);
    expect((b.json() as { name: string }).name).toBe('s1');
  });

  it('masks the VNC password in every view it answers', async () => {
    h = await harness();
    const dom = await created();
    const got = await h.call({ method: 'GET', url: `/v1/domains/${dom.uuid}` });
    expect(got.body).not.toContain('sekrit');
    expect(got.body).toContain('********');
  });

  it('answers 202 with a task at once when wait=false, and the task ends succeeded', async () => {
    h = await harness();
    let open!: () => void;
    h.orch.gate = new Promise((r) => (open = r));
    const res = await h.call({ method: 'POST', url: '/v1/domains?wait=false', headers: { 'content-type': 'text/plain' }, payload: cfg });
    expect(res.status).toBe(202);
    const { task, uuid } = res.json() as { task: { id: string; state: string }; uuid: string };
    expect(task.state).toBe('running');
    expect(res.headers.location).toBe(`/v1/tasks/${task.id}`);
    const during = await h.call({ method: 'GET', url: `/v1/domains/${uuid}` });
    expect((during.json() as { operations: { id: string }[] }).operations.map((o) => o.id)).toEqual([task.id]);
    open();
    await new Promise((r) => setTimeout(r, 10));
    const t = await h.call({ method: 'GET', url: `/v1/tasks/${task.id}` });
    expect((t.json() as { state: string }).state).toBe('succeeded');
  });

  it('cancels a running task with DELETE /v1/tasks/:id, and a second cancel is 409', async () => {
    h = await harness();
    h.orch.gate = new Promise(() => undefined);
    const res = await h.call({ method: 'POST', url: '/v1/domains?wait=false', headers: { 'content-type': 'text/plain' }, payload: cfg });
    const { task } = res.json() as { task: { id: string } };
    const c = await h.call({ method: 'DELETE', url: `/v1/tasks/${task.id}` });
    expect(c.status).toBe(200);
    expect((c.json() as { state: string }).state).toBe('cancelled');
    const again = await h.call({ method: 'DELETE', url: `/v1/tasks/${task.id}` });
    expect(again.status).toBe(409);
  });

  it('finds a domain by domid, name and uuid, and lists with the seq it is current to', async () => {
    h = await harness();
    const dom = await created();
    for (const ref of [String(dom.domid), dom.name, dom.uuid]) {
      const r = await h.call({ method: 'GET', url: `/v1/domains/${ref}` });
      expect(r.status).toBe(200);
      expect((r.json() as { uuid: string }).uuid).toBe(dom.uuid);
    }
    const list = await h.call({ method: 'GET', url: '/v1/domains' });
    expect(list.json()).toMatchObject({ seq: h.orch.events.currentSeq, domains: [{ uuid: dom.uuid }] });
  });

  it('pauses, unpauses, sets memory and vcpus, shuts down and destroys', async () => {
    h = await harness();
    const dom = await created();
    expect((await h.call({ method: 'POST', url: `/v1/domains/web1/pause` })).json()).toMatchObject({ state: 'paused' });
    expect((await h.call({ method: 'POST', url: `/v1/domains/web1/pause` })).status).toBe(409);
    expect((await h.call({ method: 'POST', url: `/v1/domains/web1/unpause` })).json()).toMatchObject({ state: 'running' });
    expect((await h.call({ method: 'PUT', url: `/v1/domains/web1/memory`, payload: { mib: 300 } })).json()).toMatchObject({ config: { memory: 300 } });
    expect((await h.call({ method: 'PUT', url: `/v1/domains/web1/memory`, payload: { mib: 100000 } })).status).toBe(422);
    expect((await h.call({ method: 'PUT', url: `/v1/domains/web1/vcpus`, payload: { vcpus: 2 } })).json()).toMatchObject({ config: { vcpus: 2 } });
    expect((await h.call({ method: 'POST', url: `/v1/domains/web1/shutdown`, payload: { mode: 'poweroff' } })).json()).toMatchObject({ state: 'shutdown' });
    const d = await h.call({ method: 'DELETE', url: `/v1/domains/${dom.uuid}` });
    expect(d.json()).toMatchObject({ uuid: dom.uuid, leftovers: [] });
    expect((await h.call({ method: 'GET', url: `/v1/domains/${dom.uuid}` })).status).toBe(404);
  });

  it('answers 409 to the second of two creates with one name', async () => {
    h = await harness();
    await created('dup');
    const res = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain' }, payload: cfg.replace('web1', 'dup') });
    expect(res.status).toBe(409);
  });
});

describe('devices', () => {
  it('lists, hot-attaches and hot-detaches devices', async () => {
    h = await harness();
    await created();
    const att = await h.call({ method: 'POST', url: '/v1/domains/web1/devices', payload: { class: 'vif', spec: 'bridge=xenbr0' } });
    expect(att.status).toBe(201);
    const dev = att.json() as { class: string; devid: number };
    expect(dev.class).toBe('vif');
    const list = await h.call({ method: 'GET', url: '/v1/domains/web1/devices' });
    expect((list.json() as unknown[]).length).toBe(3);
    const det = await h.call({ method: 'DELETE', url: `/v1/domains/web1/devices/vif/${dev.devid}` });
    expect(det.status).toBe(204);
    expect((await h.call({ method: 'DELETE', url: `/v1/domains/web1/devices/vif/${dev.devid}` })).status).toBe(404);
    expect((await h.call({ method: 'DELETE', url: `/v1/domains/web1/devices/pci/0` })).status).toBe(400);
  });
});

describe('errors', () => {
  it('answers a config error 400 with the fastify shape, the code and file:line:col problems', async () => {
    h = await harness();
    const res = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain', 'x-tsxend-filename': 'web1.cfg' }, payload: 'name = "x"\nthis is not a config\n' });
    expect(res.status).toBe(400);
    const body = res.json() as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 400, code: 'TSX_ERR_CONFIG_SYNTAX', error: 'Bad Request' });
    expect(body.message).toContain('web1.cfg:2:1');
    expect(body.problems).toEqual([{ file: 'web1.cfg', line: 2, col: 1, message: 'cannot parse' }]);
  });

  it('answers 404 with TSX_ERR_ROUTE_NOT_FOUND for unknown routes and 415 for unknown media types', async () => {
    h = await harness();
    const nf = await h.app.inject({ method: 'GET', url: '/v1/nope' });
    expect(nf.json()).toMatchObject({ statusCode: 404, code: 'TSX_ERR_ROUTE_NOT_FOUND', error: 'Not Found' });
    const media = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'image/png' }, payload: 'x' });
    expect(media.json()).toMatchObject({ statusCode: 415, code: 'TSX_ERR_UNSUPPORTED_MEDIA_TYPE' });
  });

  it('rejects bodies that do not match the schema with TSX_ERR_BAD_REQUEST', async () => {
    h = await harness();
    await created();
    const res = await h.call({ method: 'PUT', url: '/v1/domains/web1/memory', payload: { mib: 'lots' } });
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'TSX_ERR_BAD_REQUEST' });
    const extra = await h.call({ method: 'PUT', url: '/v1/domains/web1/vcpus', payload: { vcpus: 1, evil: true } });
    expect(extra.status).toBe(400);
  });

  it('rejects refs with .., control characters or over-long values before the orchestrator sees them', async () => {
    h = await harness();
    let seen = 0;
    const orig = h.orch.getDomain.bind(h.orch);
    h.orch.getDomain = (ref: string) => {
      seen++;
      return orig(ref);
    };
    // A bare '..' is resolved away by URL normalisation before routing (404); the rest reach the check.
    for (const dots of ['..', '%2e%2e']) expect([400, 404]).toContain((await h.app.inject({ method: 'GET', url: `/v1/domains/${dots}` })).statusCode);
    for (const ref of ['a..b', 'x%00y', 'x%0Ay', 'a%2Fb', 'x'.repeat(200)]) {
      const res = await h.call({ method: 'GET', url: `/v1/domains/${ref}` });
      expect(res.status, ref).toBe(400);
      expect((res.json() as { code: string }).code).toBe('TSX_ERR_BAD_REF');
    }
    expect(seen).toBe(0);
  });

  it('carries the cause chain', async () => {
    h = await harness();
    h.orch.getDomain = () => {
      const inner = Object.assign(new Error('ENOENT reading /local/domain/7/vm'), { code: 'TSX_ERR_XS_NOENT' });
      throw Object.assign(new Error('domain 7 is unreadable', { cause: inner }), { code: 'TSX_ERR_FAKE_BROKEN', statusCode: 422 });
    };
    const res = await h.call({ method: 'GET', url: '/v1/domains/7' });
    expect(res.json()).toMatchObject({ statusCode: 422, code: 'TSX_ERR_FAKE_BROKEN', cause: [{ code: 'TSX_ERR_XS_NOENT', message: 'ENOENT reading /local/domain/7/vm' }] });
  });

  it('answers an unexpected exception 500 TSX_ERR_INTERNAL', async () => {
    h = await harness();
    h.orch.listTasks = () => {
      throw new TypeError('bug');
    };
    expect((await h.call({ method: 'GET', url: '/v1/tasks' })).json()).toMatchObject({ statusCode: 500, code: 'TSX_ERR_INTERNAL' });
  });
});

describe('host, health and metrics', () => {
  it('answers host info with versions', async () => {
    h = await harness();
    expect((await h.call({ method: 'GET', url: '/v1/host' })).json()).toMatchObject({ hypervisor: 'simulated', nrCpus: 4, tsxendVersion: '0.0.0-test' });
  });

  it('answers health 200 with xenstore up and 503 with it down', async () => {
    h = await harness();
    expect((await h.call({ method: 'GET', url: '/v1/health' })).status).toBe(200);
    h.orch.xenstoreUp = false;
    const down = await h.call({ method: 'GET', url: '/v1/health' });
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({ xenstore: 'down', status: 'degraded' });
  });

  it('exposes Prometheus metrics: domains by state, operation durations, errors by code', async () => {
    h = await harness();
    await created();
    await h.call({ method: 'GET', url: '/v1/domains/nosuch' });
    const m = await h.call({ method: 'GET', url: '/metrics' });
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/tsxend_domains\{state="running"\} 1/);
    expect(m.body).toMatch(/tsxend_operation_duration_seconds_count\{operation="createDomain",outcome="ok"\} 1/);
    expect(m.body).toMatch(/tsxend_errors_total\{code="TSX_ERR_FAKE_NO_DOMAIN"\} 1/);
  });

  it('serves the OpenAPI document and the docs UI', async () => {
    h = await harness();
    const doc = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.json<{ paths: Record<string, unknown> }>().paths).toHaveProperty('/v1/domains/{ref}');
    const ui = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('answers a plain GET of the websocket route 426', async () => {
    h = await harness();
    expect((await h.call({ method: 'GET', url: '/v1/events' })).status).toBe(426);
  });
});

describe('auth', () => {
  const token = 'a-very-secret-token-123456';
  it('answers 401 without a valid token, on every route, and never logs the token', async () => {
    h = await harness({ auth: new TokenAuth([token]) });
    for (const url of ['/v1/domains', '/v1/health', '/metrics', '/v1/nope', '/v1/events']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json()).toMatchObject({ code: 'TSX_ERR_UNAUTHORIZED' });
    }
    expect((await h.app.inject({ method: 'GET', url: '/v1/domains', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/domains', headers: { authorization: `Basic ${token}` } })).statusCode).toBe(401);
    const ok = await h.call({ method: 'GET', url: '/v1/domains', headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(h.logs.join('')).not.toContain(token);
  });

  it('logs every request line with its request id, and echoes it', async () => {
    h = await harness();
    const res = await h.call({ method: 'GET', url: '/v1/domains', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    const lines = h.logs.map((l) => JSON.parse(l) as { requestId?: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.requestId === 'abc-123')).toBe(true);
  });
});

describe('with the real config layer', () => {
  it('answers an xl.cfg syntax error 400 TSX_ERR_CONFIG_SYNTAX with file:line:col', async () => {
    const { loadConfigInput } = await import('../../src/daemon/wiring.js');
    h = await harness({ config: await loadConfigInput() });
    const res = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain', 'x-tsxend-filename': 'bad.cfg' }, payload: 'name = "ok"\nmemory = = 12\n' });
    expect(res.status).toBe(400);
    const body = res.json() as { code: string; message: string; problems: { file: string; line: number; col: number }[] };
    expect(body.code).toBe('TSX_ERR_CONFIG_SYNTAX');
    expect(body.problems[0]).toMatchObject({ file: 'bad.cfg', line: 2 });
    expect(body.message).toMatch(/^bad\.cfg:2:\d+: /);
  });

  it('creates from xl.cfg, SXP and the JSON model, and hot-attaches from an xl device string', async () => {
    const { loadConfigInput } = await import('../../src/daemon/wiring.js');
    h = await harness({ config: await loadConfigInput() });
    const xl = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'text/plain' }, payload: 'name = "xl1"\nmemory = 256\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/xl1,xvda,w"]\nvif = ["bridge=xenbr0"]\n' });
    expect(xl.status).toBe(201);
    expect((xl.json() as { devices: { class: string }[] }).devices.map((d) => d.class).sort()).toEqual(['vbd', 'vif']);
    const sxp = await h.call({ method: 'POST', url: '/v1/domains', headers: { 'content-type': 'application/x-sxp' }, payload: '(vm (name sxp1) (memory 128) (image (linux (kernel /boot/vmlinuz))))' });
    expect(sxp.status, sxp.body).toBe(201);
    const json = await h.call({ method: 'POST', url: '/v1/domains', payload: { name: 'json1', type: 'pvh', memory: 128 } });
    expect(json.status, json.body).toBe(201);
    const bad = await h.call({ method: 'POST', url: '/v1/domains', payload: { name: 'json2', memory: 'lots' } });
    expect(bad.status).toBe(400);
    expect((bad.json() as { code: string }).code).toMatch(/^TSX_ERR_CONFIG_/);
    const att = await h.call({ method: 'POST', url: '/v1/domains/xl1/devices', payload: { class: 'vbd', spec: 'phy:/dev/vg/data,xvdb,w' } });
    expect(att.status, att.body).toBe(201);
    expect(att.json()).toMatchObject({ class: 'vbd', config: { vdev: 'xvdb', target: '/dev/vg/data', access: 'w' } });
    const badDev = await h.call({ method: 'POST', url: '/v1/domains/xl1/devices', payload: { class: 'vbd', spec: 'phy:/dev/vg/data,notadisk,w' } });
    expect(badDev.status).toBe(400);
  });
});
