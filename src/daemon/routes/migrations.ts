// Migration: POST /v1/domains/{ref}/migrate sends a domain to another tsxend (the source's side);
// /v1/migrations/* is the destination's side that the source's daemon talks to (peer.ts):
// prepare (claims), image (streamed in, restored paused), commit (runs it here), abort.

import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { DomainView, Orchestrator } from '../../lifecycle/api.js';
import type { ConfigInput } from '../config-input.js';
import type { Metrics } from '../metrics.js';
import { httpMigrationPeer, IMAGE_MEDIA_TYPE } from '../peer.js';
import { answerOperation, presentDomain } from '../present.js';
import { checkRef } from '../refs.js';
import * as S from '../schemas.js';

interface Deps {
  orchestrator: Orchestrator;
  config: ConfigInput;
  metrics: Metrics;
}

type IdReq = { Params: { id: string } };

export function registerMigrationRoutes(app: FastifyInstance, { orchestrator: orch, config, metrics }: Deps): void {
  const tags = ['migration'];
  const idPre = { preValidation: async (req: { params: unknown }) => void checkRef('migration', (req.params as { id: string }).id) };
  // The image is a stream, handed on as it arrives: never buffered, so no body limit applies.
  app.addContentTypeParser(IMAGE_MEDIA_TYPE, (_req, payload, done) => done(null, payload));

  app.post<{ Params: { ref: string }; Querystring: { wait?: boolean }; Body: { destination: string; token?: string; ca?: string; live?: boolean } }>('/v1/domains/:ref/migrate', {
    preValidation: async (req) => void checkRef('domain', req.params.ref),
    schema: {
      operationId: 'migrateDomain',
      summary: 'Send a running domain to another tsxend (live by default: memory copied while it runs, then a short stop-and-copy)',
      tags,
      params: S.refParams,
      querystring: S.waitQuery,
      body: S.migrateBody,
      response: { 200: S.migrateReport, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409, 502, 504) },
    },
  }, async (request, reply) => {
    const { destination, token, ca, live } = request.body;
    const peer = httpMigrationPeer({ destination, ...(token === undefined ? {} : { token }), ...(ca === undefined ? {} : { ca }) });
    const op = orch.migrateDomain(request.params.ref, peer, live === undefined ? {} : { live });
    request.log.info({ ref: request.params.ref, destination, taskId: op.task.id }, 'migration accepted');
    return answerOperation(reply, metrics, op, request.query.wait, { status: 200, map: (r) => r });
  });

  app.post<{ Body: { config: unknown } }>('/v1/migrations', {
    schema: {
      operationId: 'prepareMigration',
      summary: "Destination: claim a domain about to arrive (its name, uuid and resources); it expires unless committed",
      tags,
      body: Type.Object({ config: S.configModel }, { additionalProperties: false }),
      response: { 201: S.incomingView, ...S.opErrorReplies(400, 409) },
    },
  }, async (request, reply) => {
    const view = await orch.prepareIncoming(config.validateDomain(request.body.config, 'migration'));
    void reply.code(201).header('location', `/v1/migrations/${view.id}`);
    return view;
  });

  app.get<IdReq>('/v1/migrations/:id', {
    ...idPre,
    schema: { operationId: 'getMigration', summary: 'Destination: an incoming migration', tags, params: S.taskParams, response: { 200: S.incomingView, ...S.errorReplies(400, 404) } },
  }, async (request) => orch.getIncoming(request.params.id));

  app.put<IdReq>('/v1/migrations/:id/image', {
    ...idPre,
    schema: {
      operationId: 'receiveMigration',
      summary: `Destination: the image (${IMAGE_MEDIA_TYPE}, xl's format) streamed in; answers once the domain is restored, paused`,
      tags,
      params: S.taskParams,
      response: { 200: S.domainView, ...S.opErrorReplies(400, 404, 409, 415, 422) },
    },
  }, async (request, reply) => {
    const op = orch.receiveIncoming(request.params.id, request.body as Readable);
    return answerOperation(reply, metrics, op, true, { status: 200, map: presentDomain });
  });

  app.post<IdReq>('/v1/migrations/:id/commit', {
    ...idPre,
    schema: { operationId: 'commitMigration', summary: 'Destination: the source let go; the guest runs here', tags, params: S.taskParams, response: { 200: S.domainView, ...S.opErrorReplies(400, 404, 409) } },
  }, async (request): Promise<DomainView> => presentDomain(await orch.commitIncoming(request.params.id)));

  app.delete<IdReq>('/v1/migrations/:id', {
    ...idPre,
    schema: { operationId: 'abortMigration', summary: 'Destination: drop what an uncommitted migration made', tags, params: S.taskParams, response: { 204: Type.Null(), ...S.opErrorReplies(400, 404, 409) } },
  }, async (request, reply) => {
    await orch.abortIncoming(request.params.id);
    return reply.code(204).send();
  });
}
