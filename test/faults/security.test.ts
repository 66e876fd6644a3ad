// Security of the running daemon (real composition: startDaemon with the embedded mock xenstore,
// the simulated hypervisor, a Unix and a TCP listener, the real pino logger writing to a file):
//  - TCP: every route of docs/openapi.json (the websocket upgrade included, plus unknown routes and
//    router-level refusals) answers 401 without a valid token — missing, wrong, malformed header —
//    whatever the body, and nothing changes;
//  - the Unix socket is 0600 and owned by the running user; the state directories are 0700;
//  - no secret (the API token, a vfb VNC password) ever appears in the log, the event stream,
//    the persisted state files of unmanaged domains, or any reply — errors included.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeOptions } from '../../src/daemon/options.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/server.js';
import { configInput, environmentFactory } from '../../src/daemon/wiring.js';

const TOKEN = `tok-${randomBytes(18).toString('base64url')}`;
const VNC = 'VncPw-7c1e';
const VNC_MANAGED = 'VncPw-m4n4';
const VNC_ATTACH = 'VncPw-a7a7';
const VNC_BAD = `VncPw-long-${'z'.repeat(300)}`;
const VNC_IN_BAD_SPEC = 'VncPw-b4ds';
const SECRETS = [TOKEN, VNC, VNC_MANAGED, VNC_ATTACH, VNC_BAD.slice(0, 40), VNC_IN_BAD_SPEC];

type Doc = { paths: Record<string, Record<string, unknown>> };
const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as Doc;
const ROUTES = Object.entries(doc.paths).flatMap(([tpl, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), tpl })));

let dir: string;
let logFile: string;
let daemon: RunningDaemon;
let socket: string;
let port: number;

interface Reply {
  status: number;
  body: string;
}

function http(opts: { method: string; path: string; auth?: string; body?: string; contentType?: string; unix?: boolean }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.auth !== undefined) headers['authorization'] = opts.auth;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      // Node sends a DELETE body without framing unless told its length.
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = request({ ...(opts.unix ? { socketPath: socket } : { host: '127.0.0.1', port }), method: opts.method, path: opts.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const withToken = (o: Parameters<typeof http>[0]) => http({ ...o, auth: `Bearer ${TOKEN}` });

function wsOpen(auth: string | undefined, query = ''): Promise<{ status: number; frames: string[]; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/events${query}`, auth === undefined ? {} : { headers: { authorization: auth } });
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString()));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, frames });
    });
    ws.on('open', () => resolve({ status: 101, frames, ws }));
    ws.on('error', () => resolve({ status: -1, frames }));
  });
}

const XL = (name: string, pw: string) => `name = "${name}"\nmemory = 64\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/${name},xvda,w"]\nvfb = ["vnc=1,vncpasswd=${pw}"]\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsxend-sec-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `# api\n${TOKEN}\n`, { mode: 0o600 });
  logFile = join(dir, 'log', 'tsxend.log');
  socket = join(dir, 'run', 'tsxend.sock');
  const options = resolveServeOptions(
    ['--state-dir', join(dir, 'state'), '--listen', `unix:${socket}`, '--listen', 'tcp:127.0.0.1:0', '--token-file', tokenFile, '--log-level', 'trace', '--log-file', logFile],
    { HOME: dir },
  );
  daemon = await startDaemon(options, { environment: environmentFactory, config: configInput, env: {} });
  port = Number(daemon.addresses.find((a) => a.startsWith('tcp:'))!.split(':').pop());
}, 60_000);

afterAll(async () => {
  await daemon?.stop('test over');
});

describe('TCP listener: a valid token or 401, on every route', () => {
  const BAD_AUTH: (string | undefined)[] = [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer x${TOKEN}`,
    `Bearer ${TOKEN} ${TOKEN}`,
    `Bearer ${TOKEN},Bearer ${TOKEN}`,
    `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
    TOKEN,
    `Token ${TOKEN}`,
    'Bearer wrong-token-wrong-token',
    `Bearer ${'A'.repeat(4096)}`,
  ];
  const sample = (tpl: string, long: boolean) =>
    tpl.replace('{ref}', long ? 'r'.repeat(2000) : 'web1').replace('{class}', 'vbd').replace('{devid}', '51712').replace('{id}', 'task-1');

  it('answers 401 TSX_ERR_UNAUTHORIZED for every documented route × every bad header, body or not, long params too; nothing changes', async () => {
    const before = (await withToken({ method: 'GET', path: '/v1/domains' })).body;
    let n = 0;
    for (const { method, tpl } of ROUTES) {
      for (const auth of BAD_AUTH) {
        for (const variant of ['plain', 'body', 'long'] as const) {
          if (variant === 'long' && !tpl.includes('{')) continue;
          const path = sample(tpl, variant === 'long') + (variant === 'body' ? '?wait=false' : '');
          const body = variant === 'body' && method !== 'GET' ? (tpl === '/v1/domains' || tpl === '/v1/managed-domains' ? XL('evil', VNC) : '{"mib":64,"vcpus":1,"class":"vbd","spec":"phy:/dev/x,xvdb,w"}') : undefined;
          const res = await http({ method, path, ...(auth === undefined ? {} : { auth }), ...(body === undefined ? {} : { body, contentType: tpl.endsWith('domains') ? 'text/plain' : 'application/json' }) });
          expect(res.status, `${method} ${path.slice(0, 80)} with ${JSON.stringify(auth?.slice(0, 40))}`).toBe(401);
          expect(JSON.parse(res.body)).toMatchObject({ statusCode: 401, code: 'TSX_ERR_UNAUTHORIZED' });
          n++;
        }
      }
    }
    // Unknown routes and the docs too: nothing is served without the token, not even a path
    // next to the web console's files.
    for (const path of ['/v1/nope', '/ui/', '/ui/../openapi.json', '/ui/nope.js', '/index.html', '/docs/', '/openapi.json', '/v1/domains/%ZZ', `/v1/domains/${'q'.repeat(3000)}/pause`]) {
      const res = await http({ method: 'GET', path });
      expect(res.status, path).toBe(401);
      n++;
    }
    // The web console's page shell is the one exception (a browser must load it to sign in): a
    // fixed list of files, GET only, that carries no data of the daemon's.
    for (const path of ['/', '/ui/app.js', '/ui/style.css', '/ui/htm-preact.js']) {
      const res = await http({ method: 'GET', path });
      expect(res.status, path).toBe(200);
      expect(res.body, path).not.toContain(TOKEN);
      expect(res.body, path).not.toMatch(/"domid"|"uuid"/);
      expect((await http({ method: 'POST', path, body: '{}', contentType: 'application/json' })).status, `POST ${path}`).toBe(401);
    }
    // An oversized body is refused 401 before it is read (auth runs before the body parser).
    expect((await http({ method: 'POST', path: '/v1/domains', body: 'x'.repeat(2 * 1024 * 1024), contentType: 'text/plain' })).status).toBe(401);
    expect(n).toBeGreaterThan(ROUTES.length * BAD_AUTH.length * 2);
    expect((await withToken({ method: 'GET', path: '/v1/domains' })).body.replace(/"seq":\d+/, '')).toBe(before.replace(/"seq":\d+/, ''));
    // The same routes with the token are not 401 (the checks above are not vacuous).
    for (const { method, tpl } of ROUTES.filter((r) => r.method === 'GET' && r.tpl !== '/v1/events')) {
      expect((await withToken({ method, path: sample(tpl, false) })).status, tpl).not.toBe(401);
    }
  }, 120_000);

  it('refuses the websocket upgrade without a valid token (401), accepts it with one', async () => {
    for (const auth of BAD_AUTH) {
      const r = await wsOpen(auth, '?since=0');
      expect(r.status, JSON.stringify(auth?.slice(0, 40))).toBe(401);
      r.ws?.close();
    }
    const ok = await wsOpen(`Bearer ${TOKEN}`, '?since=0');
    expect(ok.status).toBe(101);
    ok.ws?.close();
  });

  it('the Unix socket needs no token', async () => {
    expect((await http({ method: 'GET', path: '/v1/health', unix: true })).status).toBe(200);
  });
});

describe('files: the API socket and the state directory', () => {
  it('creates the Unix socket 0600 owned by the running user, the state directories 0700', () => {
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
    expect(st.gid).toBe(process.getgid!());
    for (const d of [join(dir, 'state'), join(dir, 'state', 'domains')]) {
      expect(statSync(d).mode & 0o777, d).toBe(0o700);
      expect(statSync(d).uid).toBe(process.getuid!());
    }
  });
});

const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : []));
const stateFiles = (): string[] => walk(join(dir, 'state'));

describe('secrets never leave the daemon', () => {
  const seen: string[] = [];
  const check = (where: string, text: string) => {
    seen.push(where);
    for (const s of SECRETS) expect(text.includes(s), `${where} contains a secret (${s.slice(0, 12)}…): ${text.slice(Math.max(0, text.indexOf(s) - 200), text.indexOf(s) + 60)}`).toBe(false);
  };

  it('not in replies, events, unmanaged state or the log — on success and on every error path', async () => {
    const events = await wsOpen(`Bearer ${TOKEN}`, '?since=0');
    expect(events.status).toBe(101);
    const replies: Reply[] = [];
    const call = async (o: Parameters<typeof http>[0]) => {
      const r = await withToken(o);
      replies.push(r);
      return r;
    };
    // Success paths: a running domain, an attached vfb, a managed domain started.
    expect((await call({ method: 'POST', path: '/v1/domains', body: XL('sec1', VNC), contentType: 'text/plain' })).status).toBe(201);
    const att = await call({ method: 'POST', path: '/v1/domains/sec1/devices', body: JSON.stringify({ class: 'vfb', config: { vnc: true, vncpasswd: VNC_ATTACH } }) });
    expect([201, 409, 400]).toContain(att.status);
    const man = await call({ method: 'POST', path: '/v1/managed-domains', body: XL('sec2', VNC_MANAGED), contentType: 'text/plain' });
    expect(man.status).toBe(201);
    expect((await call({ method: 'POST', path: '/v1/domains/sec2/start' })).status).toBe(200);
    // Error paths that carry a password: too long, in a bad device spec, in a name clash, in SXP.
    expect((await call({ method: 'POST', path: '/v1/domains', body: XL('sec3', VNC_BAD), contentType: 'text/plain' })).status).toBe(400);
    expect((await call({ method: 'POST', path: '/v1/domains', body: JSON.stringify({ name: 'sec4', memory: 32, image: { kernel: '/k' }, devices: { 'a0000000-0000-4000-8000-000000000001': { class: 'vfb', config: { vnc: true, vncpasswd: VNC_BAD } } } }) })).status).toBe(400);
    expect((await call({ method: 'POST', path: '/v1/domains', body: XL('sec5', `${VNC_IN_BAD_SPEC},bogus=1,vncdisplay=x`), contentType: 'text/plain' })).status).toBeGreaterThanOrEqual(400);
    expect((await call({ method: 'POST', path: '/v1/domains/sec1/devices', body: JSON.stringify({ class: 'vfb', spec: `vnc=1,vncpasswd=${VNC_IN_BAD_SPEC},vncdisplay=notanumber` }) })).status).toBe(400);
    expect((await call({ method: 'POST', path: '/v1/domains', body: XL('sec1', VNC), contentType: 'text/plain' })).status).toBe(409);
    expect((await call({ method: 'POST', path: '/v1/domains', body: `(vm (name sec6) (memory 32) (image (linux (kernel /k))) (device (vfb (vnc 1) (vncpasswd ${VNC_IN_BAD_SPEC}) (vncdisplay x))))`, contentType: 'application/x-sxp' })).status).toBeGreaterThanOrEqual(400);
    // Every read route.
    for (const path of ['/v1/domains', '/v1/domains/sec1', '/v1/domains/sec2', '/v1/domains/sec1/devices', '/v1/domains/sec2/devices', '/v1/tasks', '/v1/host', '/v1/health', '/metrics', '/openapi.json']) {
      expect((await call({ method: 'GET', path })).status, path).toBe(200);
    }
    for (const t of JSON.parse((await call({ method: 'GET', path: '/v1/tasks' })).body) as { id: string }[]) await call({ method: 'GET', path: `/v1/tasks/${t.id}` });
    // A domain's record keeps its own password in clear while the domain exists (start after a
    // restart and re-adoption read it back): only that record, 0600 in a 0700 directory, and it
    // goes with the domain (checked after the teardown below). Said plainly in the report.
    const uuidOf = async (n: string) => (JSON.parse((await call({ method: 'GET', path: `/v1/domains/${n}` })).body) as { uuid: string }).uuid;
    const own = new Map([[await uuidOf('sec1'), [VNC, VNC_ATTACH]], [await uuidOf('sec2'), [VNC_MANAGED]]]);
    for (const f of stateFiles()) {
      let text = readFileSync(f, 'utf8');
      for (const [uuid, pws] of own) if (f.endsWith(`/domains/${uuid}.json`)) for (const pw of pws) text = text.split(pw).join('<own password>');
      check(`state file ${f}`, text);
      expect(statSync(f).mode & 0o077, f).toBe(0);
    }
    // Tear down: destroy and undefine.
    expect((await call({ method: 'DELETE', path: '/v1/domains/sec1' })).status).toBe(200);
    expect((await call({ method: 'DELETE', path: '/v1/domains/sec2' })).status).toBe(200);
    expect((await call({ method: 'DELETE', path: '/v1/managed-domains/sec2' })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 200));
    events.ws?.close();

    replies.forEach((r, i) => check(`reply #${i} (${r.status})`, r.body));
    expect(events.frames.length).toBeGreaterThan(5);
    check('event stream', events.frames.join('\n'));
    // The masked form is what a client sees instead.
    expect(replies.some((r) => r.body.includes('********'))).toBe(true);
  }, 60_000);

  it('persisted state holds no secret once the managed domain is gone', async () => {
    const files = stateFiles();
    expect(files.some((f) => f.includes('sec'))).toBe(false);
    for (const f of files) {
      check(`state file ${f}`, readFileSync(f, 'utf8'));
      expect(statSync(f).mode & 0o077, f).toBe(0);
    }
  });

  it('not in the log, at level trace (read after a clean stop)', async () => {
    await daemon.stop('checking the log');
    const log = readFileSync(logFile, 'utf8');
    expect(log.split('\n').length).toBeGreaterThan(50);
    check('log file', log);
  });
});
