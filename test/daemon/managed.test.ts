// Managed domains through the API against the real orchestrator (embedded environment, file
// state directory): define without starting, start, autostart at the next daemon start, delete.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { Metrics } from '../../src/daemon/metrics.js';
import { resolveServeOptions } from '../../src/daemon/options.js';
import type { DaemonEnvironment } from '../../src/daemon/server.js';
import { FileConfigStore } from '../../src/daemon/state-store.js';
import { configInput, environmentFactory } from '../../src/daemon/wiring.js';
import type { DomainView } from '../../src/lifecycle/api.js';
import { checkAgainstSpec } from './helpers/openapi-check.js';

let env: DaemonEnvironment | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await env?.orchestrator.stop();
  await env?.close();
  app = undefined;
  env = undefined;
});

async function daemonOn(stateDir: string): Promise<FastifyInstance> {
  const options = resolveServeOptions(['--state-dir', stateDir], { HOME: stateDir });
  const store = new FileConfigStore(stateDir);
  await store.init();
  env = await environmentFactory({ options, store, logger: pino({ level: 'silent' }) });
  await env.orchestrator.start();
  app = await buildApp({ orchestrator: env.orchestrator, config: configInput, metrics: new Metrics(env.orchestrator, { defaultMetrics: false }), version: 'test' });
  await app.ready();
  return app;
}

async function call(a: FastifyInstance, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string, contentType = 'text/plain') {
  const res = await a.inject({ method, url, ...(payload === undefined ? {} : { payload, headers: { 'content-type': contentType } }) });
  checkAgainstSpec(method, url, res.statusCode, res.headers['content-type'] as string | undefined, res.body);
  return { status: res.statusCode, json: res.body === '' ? undefined : res.json<unknown>() };
}

const cfg = (name: string) => `name = "${name}"\nmemory = 64\nkernel = "/boot/vmlinuz"\ndisk = ["phy:/dev/vg/${name},xvda,w"]\n`;

describe('managed domains over the API', () => {
  it('defines without starting, starts on demand, and is deleted', async () => {
    const a = await daemonOn(mkdtempSync(join(tmpdir(), 'tsxend-managed-')));
    const def = await call(a, 'POST', '/v1/managed-domains', cfg('kept'));
    expect(def.status).toBe(201);
    expect(def.json).toMatchObject({ name: 'kept', state: 'defined', managed: true });
    const started = await call(a, 'POST', '/v1/domains/kept/start');
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ name: 'kept', state: 'running' });
    expect((await call(a, 'POST', '/v1/domains/kept/start')).status).toBe(409);
    // Like xm delete: a running domain must be stopped first.
    expect((await call(a, 'DELETE', '/v1/managed-domains/kept')).status).toBe(409);
    expect((await call(a, 'DELETE', '/v1/domains/kept')).status).toBe(200);
    expect((await call(a, 'DELETE', '/v1/managed-domains/kept')).status).toBe(204);
    expect((await call(a, 'GET', '/v1/domains/kept')).status).toBe(404);
  });

  it('keeps defined domains in the state directory and autostarts them, in order, at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-managed-'));
    let a = await daemonOn(dir);
    expect((await call(a, 'POST', '/v1/managed-domains?autostart=true&autostartOrder=2', cfg('second'))).status).toBe(201);
    expect((await call(a, 'POST', '/v1/managed-domains?autostart=true&autostartOrder=1', cfg('first'))).status).toBe(201);
    expect((await call(a, 'POST', '/v1/managed-domains', cfg('manual'))).status).toBe(201);
    await app?.close();
    await env?.orchestrator.stop();
    await env?.close();

    a = await daemonOn(dir);
    const list = ((await call(a, 'GET', '/v1/domains')).json as { domains: DomainView[] }).domains;
    const by = (n: string) => list.find((d) => d.name === n);
    expect(by('first')).toMatchObject({ state: 'running', managed: true, autostart: true });
    expect(by('second')).toMatchObject({ state: 'running', managed: true, autostart: true });
    expect(by('manual')).toMatchObject({ state: 'defined', managed: true, autostart: false });
    expect((by('first')?.domid ?? 0) < (by('second')?.domid ?? 0)).toBe(true);
  });
});
