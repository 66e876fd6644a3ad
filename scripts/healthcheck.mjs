#!/usr/bin/env node
// Container HEALTHCHECK: GET /v1/health on the daemon's socket (TSXEND_CONNECT, default the
// container's socket). Exit 0 when healthy (200), 1 otherwise (503 = xenstore down, or no answer).
// Plain Node, no dependencies, so it runs in the smallest runtime image.
import { request } from 'node:http';

const spec = process.env.TSXEND_CONNECT ?? 'unix:/run/tsxend/tsxend.sock';
const target = spec.startsWith('unix:') ? { socketPath: spec.slice(5) } : { host: new URL(spec).hostname, port: new URL(spec).port };
const req = request({ ...target, path: '/v1/health', method: 'GET', timeout: 4000 }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => {
    process.stdout.write(`${res.statusCode} ${body}\n`);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (err) => {
  process.stdout.write(`unhealthy: ${err.message}\n`);
  process.exit(1);
});
req.end();
