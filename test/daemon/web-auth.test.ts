// The web console sits behind the same authentication as the API (issue 15): on a TCP listener
// the page shell is served to anyone (it holds no data and no secret) so a browser can sign in,
// while every API route, websocket included, still needs a token: in the Authorization header,
// or for a browser's websocket in a `base64url.bearer.tsxend.<token>` subprotocol.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presentedAuthorization } from '../../src/daemon/auth.js';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.js';

const TOKEN = 'a-token-for-the-web-auth-test';
let d: TestDaemon;
let origin: string;

beforeAll(async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-webauth-'));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  d = await startTestDaemon({ dir, args: ['--listen', `tcp:127.0.0.1:${port}`, '--token-file', join(dir, 'token')] });
  origin = `http://127.0.0.1:${port}`;
});
afterAll(async () => d.daemon.stop('test over'));

const b64url = (s: string) => Buffer.from(s).toString('base64url');

function upgrade(protocols: string[]): Promise<{ open: boolean; protocol?: string; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}/v1/events`, protocols);
    ws.once('open', () => {
      resolve({ open: true, protocol: ws.protocol });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve({ open: false, ...(res.statusCode === undefined ? {} : { status: res.statusCode }) }));
    ws.once('error', () => undefined);
  });
}

describe('the web console behind the API token', () => {
  it('serves the page shell and its assets without a token, with a strict CSP', async () => {
    for (const path of ['/', '/ui/app.js', '/ui/style.css', '/ui/htm-preact.js']) {
      const res = await fetch(origin + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).not.toContain(TOKEN);
    }
    expect((await fetch(`${origin}/ui/../package.json`)).status).toBe(401);
    expect((await fetch(`${origin}/ui/secret.js`)).status).toBe(401);
  });

  it('keeps every API route behind the token', async () => {
    expect((await fetch(`${origin}/v1/domains`)).status).toBe(401);
    expect((await fetch(`${origin}/v1/domains`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('takes the token from a websocket subprotocol and answers only "tsxend", never echoing it', async () => {
    expect(await upgrade(['tsxend', `base64url.bearer.tsxend.${b64url(TOKEN)}`])).toEqual({ open: true, protocol: 'tsxend' });
    expect(await upgrade(['tsxend', `base64url.bearer.tsxend.${b64url('wrong-token-wrong-token')}`])).toEqual({ open: false, status: 401 });
    expect(await upgrade(['tsxend'])).toEqual({ open: false, status: 401 });
  });

  it('reads the subprotocol token only on a websocket upgrade, and the header first', () => {
    const proto = `tsxend, base64url.bearer.tsxend.${b64url('t0k')}`;
    expect(presentedAuthorization({ upgrade: 'websocket', 'sec-websocket-protocol': proto })).toBe('Bearer t0k');
    expect(presentedAuthorization({ 'sec-websocket-protocol': proto })).toBeUndefined();
    expect(presentedAuthorization({ authorization: 'Bearer h', upgrade: 'websocket', 'sec-websocket-protocol': proto })).toBe('Bearer h');
  });
});
