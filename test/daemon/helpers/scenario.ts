// The end-to-end scenario a user would run, shared by the embedded and the real-xenstored suites:
// create, list, pause, unpause, attach, detach and destroy through the CLI and through raw HTTP,
// with a websocket client checking it sees every event in order and can resume with `since`.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DomainView, TsxEvent } from '../../../src/lifecycle/api.js';
import { checkAgainstSpec } from './openapi-check.js';
import { cli, type ServeProcess } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-cfg-'));
// A kernel file that exists: the Xen binding's (fake) libxenguest opens it, as the real one does.
const KERNEL = join(dir, 'vmlinuz');
writeFileSync(KERNEL, 'kernel');

export function writeCfg(name: string, mac: string): string {
  const p = join(dir, `${name}.cfg`);
  writeFileSync(p, `name = "${name}"\nmemory = 128\nmaxmem = 256\nvcpus = 1\nkernel = "${KERNEL}"\ndisk = ['phy:/dev/vg/${name},xvda,w']\nvif = ['mac=${mac},bridge=xenbr0']\n`);
  return p;
}

/** Raw HTTP over the Unix socket; every reply is checked against docs/openapi.json. */
export function http(socket: string, method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          checkAgainstSpec(method, path, res.statusCode ?? 0, res.headers['content-type'], text);
          resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : (JSON.parse(text) as unknown) });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A websocket subscriber that records every event. */
export async function subscribe(d: ServeProcess, since?: number): Promise<{ events: TsxEvent[]; close: () => void; waitFor: (pred: (e: TsxEvent) => boolean, ms?: number) => Promise<TsxEvent> }> {
  const events: TsxEvent[] = [];
  const waiters: { pred: (e: TsxEvent) => boolean; resolve: (e: TsxEvent) => void }[] = [];
  const ws = await d.api.openEvents(since === undefined ? {} : { since }, (e) => {
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  return {
    events,
    close: () => ws.close(),
    waitFor: (pred, ms = 15_000) => {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`event not seen in ${ms} ms; got ${events.map((e) => e.type).join(', ')}`)), ms);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
  };
}

/** Every event type a run produced must be documented in docs/events.md (as `type`). */
export function expectDocumented(events: readonly TsxEvent[]): void {
  const doc = readFileSync(new URL('../../../docs/events.md', import.meta.url), 'utf8');
  const missing = [...new Set(events.map((e) => e.type))].filter((t) => !doc.includes(`\`${t}\``));
  expect(missing, 'event types missing from docs/events.md').toEqual([]);
}

export function expectContiguous(events: readonly TsxEvent[]): void {
  for (let i = 1; i < events.length; i++) expect(events[i]?.seq, `event ${i} after seq ${events[i - 1]?.seq}`).toBe((events[i - 1]?.seq ?? 0) + 1);
}

/** Runs the whole user scenario against a started daemon; answers the names of domains left running. */
export async function userScenario(d: ServeProcess, prefix: string): Promise<string[]> {
  const { seq: seq0 } = (await http(d.socket, 'GET', '/v1/domains')).json as { seq: number };
  const sub = await subscribe(d, seq0);

  // Through the CLI.
  const a = `${prefix}-cli`;
  const created = await cli(d.socket, 'create', writeCfg(a, '00:16:3e:10:00:01'));
  expect(created.stderr, created.stdout).toBe('');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(new RegExp(`${a} \\(domid \\d+, uuid [0-9a-f-]{36}\\): running`));
  expect(created.stdout).toMatch(/vbd/);
  expect(created.stdout).toMatch(/vif/);
  const listed = JSON.parse((await cli(d.socket, 'list', '--json')).stdout) as DomainView[];
  const dom = listed.find((x) => x.name === a);
  expect(dom?.state).toBe('running');
  expect(dom?.devices.every((x) => x.state === 'connected')).toBe(true);
  expect((await cli(d.socket, 'pause', a)).stdout).toBe(`${a}: paused\n`);
  expect((await cli(d.socket, 'unpause', a)).stdout).toBe(`${a}: running\n`);
  const att = await cli(d.socket, 'block-attach', a, `phy:/dev/vg/${a}-data,xvdb,w`, '--json');
  expect(att.code, att.stderr).toBe(0);
  const vbd = JSON.parse(att.stdout) as { class: string; devid: number; state: string };
  expect(vbd).toMatchObject({ class: 'vbd', state: 'connected' });
  const det = await cli(d.socket, 'block-detach', a, 'xvdb');
  expect(det.code, det.stderr).toBe(0);
  const natt = await cli(d.socket, 'network-attach', a, 'bridge=xenbr0', 'mac=00:16:3e:10:00:02', '--json');
  expect(natt.code, natt.stderr).toBe(0);
  const vif = JSON.parse(natt.stdout) as { devid: number };
  // A hot-attached nic gets a devid of its own, never one of a nic the domain already has.
  expect(dom?.devices.filter((x) => x.class === 'vif').map((x) => x.devid)).not.toContain(vif.devid);
  expect((await cli(d.socket, 'network-detach', a, String(vif.devid))).code).toBe(0);
  const after = JSON.parse((await cli(d.socket, 'list', '-l', a)).stdout) as DomainView[];
  expect(after[0]?.devices.map((x) => x.class).sort()).toEqual(['vbd', 'vif']);

  // Through raw HTTP.
  const b = `${prefix}-http`;
  const text = `name = "${b}"\nmemory = 128\nkernel = "${KERNEL}"\ndisk = ['phy:/dev/vg/${b},xvda,w']\nvif = ['mac=00:16:3e:10:00:03,bridge=xenbr0']\n`;
  const post = await http(d.socket, 'POST', '/v1/domains', text, 'text/plain');
  expect(post.status).toBe(201);
  const hb = post.json as DomainView;
  expect(hb).toMatchObject({ name: b, state: 'running' });
  expect((await http(d.socket, 'POST', `/v1/domains/${hb.uuid}/pause`)).json).toMatchObject({ state: 'paused' });
  expect((await http(d.socket, 'POST', `/v1/domains/${hb.domid}/unpause`)).json).toMatchObject({ state: 'running' });
  const dup = await http(d.socket, 'POST', '/v1/domains', text, 'text/plain');
  expect(dup.status).toBe(409);
  const devs = await http(d.socket, 'POST', `/v1/domains/${b}/devices`, JSON.stringify({ class: 'vbd', spec: `phy:/dev/vg/${b}-data,xvdc,r` }));
  expect(devs.status).toBe(201);
  const dv = devs.json as { devid: number };
  expect((await http(d.socket, 'DELETE', `/v1/domains/${b}/devices/vbd/${dv.devid}`)).status).toBe(204);
  const bad = await http(d.socket, 'POST', '/v1/domains', 'name = "x"\nmemory = = 1\n', 'text/plain');
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.json)).toMatch(/:2:\d+/);
  const gone = await http(d.socket, 'DELETE', `/v1/domains/${b}`);
  expect(gone.status).toBe(200);
  expect((gone.json as { leftovers: string[] }).leftovers).toEqual([]);
  expect((await http(d.socket, 'GET', `/v1/domains/${b}`)).status).toBe(404);

  // The subscriber saw all of it, in order, with no gap.
  await sub.waitFor((e) => e.uuid === hb.uuid && /destroy/.test(e.type));
  expectContiguous(sub.events);
  expectDocumented(sub.events);
  expect(sub.events[0]?.seq).toBe(seq0 + 1);
  const types = new Set(sub.events.map((e) => e.type));
  expect(types.size).toBeGreaterThan(4);
  expect(sub.events.some((e) => e.name === a && e.devClass === 'vbd')).toBe(true);
  expect(sub.events.some((e) => e.name === a && e.devClass === 'vif')).toBe(true);

  // Resume: what happened while disconnected is replayed with ?since.
  const last = sub.events.at(-1)?.seq ?? 0;
  sub.close();
  expect((await cli(d.socket, 'pause', a)).code).toBe(0);
  expect((await cli(d.socket, 'unpause', a)).code).toBe(0);
  const again = await subscribe(d, last);
  await again.waitFor((e) => e.name === a && /unpause|running/.test(e.type));
  expect(again.events[0]?.seq).toBe(last + 1);
  expectContiguous(again.events);
  again.close();
  const ev = await cli(d.socket, 'events', '--since', String(last), '--count', '2', '--json');
  expect(ev.stdout.trim().split('\n').map((l) => (JSON.parse(l) as TsxEvent).seq)).toEqual([last + 1, last + 2]);
  return [a];
}
