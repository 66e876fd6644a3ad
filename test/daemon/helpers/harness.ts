// Builds the API around a FakeOrchestrator and wraps inject() so that every reply is checked
// against docs/openapi.json.

import type { FastifyInstance, InjectOptions } from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { buildApp } from '../../../src/daemon/app.js';
import type { TokenAuth } from '../../../src/daemon/auth.js';
import type { ConfigInput } from '../../../src/daemon/config-input.js';
import { Metrics } from '../../../src/daemon/metrics.js';
import { FakeOrchestrator, fakeConfigInput } from './fake-orchestrator.js';

export interface Harness {
  app: FastifyInstance;
  orch: FakeOrchestrator;
  logs: string[];
  call(opts: InjectOptions & { method: string; url: string }): Promise<{ status: number; json: () => unknown; body: string; headers: Record<string, unknown> }>;
}

export async function harness(opts: { auth?: TokenAuth; ring?: number; maxEventBufferBytes?: number; config?: ConfigInput } = {}): Promise<Harness> {
  const orch = new FakeOrchestrator(opts.ring);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb(); } });
  const logger = pino({ level: 'debug', redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } }, sink);
  const app = await buildApp({
    orchestrator: orch,
    config: opts.config ?? fakeConfigInput,
    metrics: new Metrics(orch, { defaultMetrics: false }),
    version: '0.0.0-test',
    logger,
    ...(opts.auth ? { auth: opts.auth } : {}),
    ...(opts.maxEventBufferBytes ? { maxEventBufferBytes: opts.maxEventBufferBytes } : {}),
  });
  await app.ready();
  const { checkAgainstSpec } = await import('./openapi-check.js');
  return {
    app,
    orch,
    logs,
    async call(o) {
      const res = await app.inject(o);
      const ct = res.headers['content-type'];
      checkAgainstSpec(o.method, o.url, res.statusCode, typeof ct === 'string' ? ct : undefined, res.body);
      return { status: res.statusCode, json: () => res.json(), body: res.body, headers: res.headers };
    },
  };
}
