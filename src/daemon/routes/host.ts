// /v1/host, /v1/health and /metrics.

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Orchestrator } from '../../lifecycle/api.js';
import type { WorldReport } from '../../lifecycle/world.js';
import type { Metrics } from '../metrics.js';
import * as S from '../schemas.js';

export function registerHostRoutes(app: FastifyInstance, orch: Orchestrator, metrics: Metrics, version: string, world?: WorldReport): void {
  app.get('/v1/host', {
    schema: {
      operationId: 'getHost',
      summary: 'Host totals, free memory, versions (xm info), and which world each part runs in (real or simulated)',
      tags: ['host'],
      response: { 200: S.hostInfo, ...S.errorReplies() },
    },
  }, async () => ({ ...(await orch.hostInfo()), ...(world ? { world } : {}), tsxendVersion: version, nodeVersion: process.version }));

  app.get('/v1/health', {
    schema: {
      operationId: 'getHealth',
      summary: 'Liveness and xenstore connectivity: 503 when xenstore is down',
      tags: ['host'],
      response: { 200: S.health, 503: S.health, 401: S.errorBody, 500: S.errorBody },
    },
  }, async (_request, reply) => {
    const h = orch.health();
    void reply.code(h.xenstore === 'up' ? 200 : 503);
    return h;
  });

  app.get('/metrics', {
    schema: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      tags: ['host'],
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }), 401: S.errorBody, 500: S.errorBody },
    },
  }, async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
