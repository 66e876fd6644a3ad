// /v1/domains: list, get, create, destroy, pause/unpause, shutdown/reboot, memory and vcpus.
// Handlers only translate HTTP to Orchestrator calls; every rule lives in the lifecycle.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { XendConfig } from '../../config/model.js';
import { Type } from 'typebox';
import type { DomainView, Orchestrator, ShutdownMode } from '../../lifecycle/api.js';
import { CONFIG_MEDIA_TYPES, type ConfigInput } from '../config-input.js';
import type { Metrics } from '../metrics.js';
import { answerOperation, maskSecretsInText, presentDomain } from '../present.js';
import { checkRef } from '../refs.js';
import * as S from '../schemas.js';

interface Deps {
  orchestrator: Orchestrator;
  config: ConfigInput;
  metrics: Metrics;
}

type RefReq = { Params: { ref: string } };

const configBody = {
  content: {
    'text/plain': { schema: Type.String({ description: 'xl.cfg / xm config text' }) },
    'application/x-sxp': { schema: Type.String({ description: "xend SXP '(vm ...)'" }) },
    'application/json': { schema: S.configModel },
  },
};

/** The config a create or define request carries, in whichever of the three formats. */
function configFrom(config: ConfigInput, request: FastifyRequest): XendConfig {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const format = CONFIG_MEDIA_TYPES[mediaType] ?? 'json';
  const file = typeof request.headers['x-tsxend-filename'] === 'string' ? request.headers['x-tsxend-filename'].slice(0, 256) : '<request>';
  const parsed = format === 'json' ? { config: config.validateDomain(request.body, file), warnings: [] } : config.parseDomain(String(request.body), format, file);
  if (parsed.warnings.length > 0) request.log.warn({ warnings: parsed.warnings.map(maskSecretsInText), name: parsed.config.name }, 'config warnings');
  return parsed.config;
}

export function registerDomainRoutes(app: FastifyInstance, { orchestrator: orch, config, metrics }: Deps): void {
  const tags = ['domains'];
  const refPre = { preValidation: async (req: { params: unknown }) => void checkRef('domain', (req.params as { ref: string }).ref) };

  app.get('/v1/domains', {
    schema: { operationId: 'listDomains', summary: 'Every domain with the event seq the list is current to', tags, response: { 200: S.domainList, ...S.errorReplies() } },
  }, async () => {
    const { seq, domains } = orch.listDomains();
    return { seq, domains: domains.map(presentDomain) };
  });

  app.post<{ Querystring: { wait?: boolean; paused?: boolean; managed?: boolean }; Body: unknown }>('/v1/domains', {
    schema: {
      operationId: 'createDomain',
      summary: 'Create a domain from xl.cfg text, SXP or the JSON model',
      tags,
      querystring: S.createQuery,
      body: configBody,
      response: { 201: S.domainView, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 409, 415, 422) },
    },
  }, async (request, reply) => {
    const model = configFrom(config, request);
    const q = request.query;
    const op = orch.createDomain(model, {
      requestId: request.id,
      ...(q.paused === undefined ? {} : { paused: q.paused }),
      ...(q.managed === undefined ? {} : { managed: q.managed }),
    });
    request.log.info({ uuid: model.uuid, name: model.name, taskId: op.task.id }, 'create accepted');
    return answerOperation(reply, metrics, op, q.wait, { status: 201, map: presentDomain, location: (d: DomainView) => `/v1/domains/${d.uuid}` });
  });

  // Managed domains (xm new / start / delete): stored in the state directory, started on demand
  // or, with autostart, in autostart order when tsxend starts.
  app.post<{ Querystring: { autostart?: boolean; autostartOrder?: number }; Body: unknown }>('/v1/managed-domains', {
    schema: {
      operationId: 'defineDomain',
      summary: 'Define a managed domain without starting it (xm new); redefining a uuid replaces its config',
      tags,
      querystring: S.defineQuery,
      body: configBody,
      response: { 201: S.domainView, ...S.errorReplies(400, 409, 413, 415) },
    },
  }, async (request, reply) => {
    const model = configFrom(config, request);
    const q = request.query;
    const view = await orch.defineDomain(model, { ...(q.autostart === undefined ? {} : { autostart: q.autostart }), ...(q.autostartOrder === undefined ? {} : { autostartOrder: q.autostartOrder }) });
    void reply.code(201).header('location', `/v1/domains/${view.uuid}`);
    return presentDomain(view);
  });

  app.post<RefReq & { Querystring: { wait?: boolean; paused?: boolean } }>('/v1/domains/:ref/start', {
    ...refPre,
    schema: {
      operationId: 'startDomain',
      summary: 'Start a defined (managed, stopped) domain (xm start)',
      tags,
      params: S.refParams,
      querystring: S.startQuery,
      response: { 200: S.domainView, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409) },
    },
  }, async (request, reply) => {
    const op = orch.startDomain(request.params.ref, { requestId: request.id, ...(request.query.paused === undefined ? {} : { paused: request.query.paused }) });
    return answerOperation(reply, metrics, op, request.query.wait, { status: 200, map: presentDomain });
  });

  app.delete<RefReq>('/v1/managed-domains/:ref', {
    ...refPre,
    schema: {
      operationId: 'undefineDomain',
      summary: 'Forget a managed domain (xm delete); it must not be running (409)',
      tags,
      params: S.refParams,
      response: { 204: Type.Null(), ...S.opErrorReplies(400, 404, 409) },
    },
  }, async (request, reply) => {
    await orch.undefineDomain(request.params.ref);
    return reply.code(204).send();
  });

  app.get<RefReq>('/v1/domains/:ref', {
    ...refPre,
    schema: { operationId: 'getDomain', summary: 'One domain by domid, name or uuid', tags, params: S.refParams, response: { 200: S.domainView, ...S.errorReplies(400, 404) } },
  }, async (request) => presentDomain(orch.getDomain(request.params.ref)));

  app.delete<RefReq & { Querystring: { wait?: boolean; force?: boolean } }>('/v1/domains/:ref', {
    ...refPre,
    schema: {
      operationId: 'destroyDomain',
      summary: 'Destroy a domain (its devices torn down, its nodes removed)',
      tags,
      params: S.refParams,
      querystring: S.forceQuery,
      response: { 200: S.destroyReport, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409) },
    },
  }, async (request, reply) => {
    const op = orch.destroyDomain(request.params.ref, request.query.force === undefined ? {} : { force: request.query.force });
    return answerOperation(reply, metrics, op, request.query.wait, { status: 200, map: (r) => r });
  });

  for (const action of ['pause', 'unpause'] as const) {
    app.post<RefReq>(`/v1/domains/:ref/${action}`, {
      ...refPre,
      schema: { operationId: `${action}Domain`, summary: `${action[0]?.toUpperCase()}${action.slice(1)} a domain`, tags, params: S.refParams, response: { 200: S.domainView, ...S.opErrorReplies(400, 404, 409) } },
    }, async (request) => presentDomain(await (action === 'pause' ? orch.pauseDomain(request.params.ref) : orch.unpauseDomain(request.params.ref))));
  }

  for (const action of ['shutdown', 'reboot'] as const) {
    app.post<RefReq & { Querystring: { wait?: boolean }; Body: { mode?: ShutdownMode } | undefined }>(`/v1/domains/:ref/${action}`, {
      ...refPre,
      schema: {
        operationId: `${action}Domain`,
        summary: action === 'shutdown' ? 'Ask the guest to shut down (mode poweroff by default)' : 'Ask the guest to reboot',
        tags,
        params: S.refParams,
        querystring: S.waitQuery,
        ...(action === 'shutdown' ? { body: S.shutdownBody } : {}),
        response: { 200: S.domainView, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409) },
      },
    }, async (request, reply) => {
      const mode: ShutdownMode = action === 'reboot' ? 'reboot' : (request.body?.mode ?? 'poweroff');
      const op = orch.shutdownDomain(request.params.ref, mode);
      return answerOperation(reply, metrics, op, request.query.wait, { status: 200, map: presentDomain });
    });
  }

  // Save and restore (xl save / restore): images are files on the daemon's host, in xl's format.
  app.post<RefReq & { Querystring: { wait?: boolean }; Body: { file: string; checkpoint?: boolean } }>('/v1/domains/:ref/save', {
    ...refPre,
    schema: {
      operationId: 'saveDomain',
      summary: 'Suspend the guest and write it to an image file (xl save); the domain goes unless checkpoint',
      tags,
      params: S.refParams,
      querystring: S.waitQuery,
      body: S.saveBody,
      response: { 200: S.saveReport, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409, 422, 504) },
    },
  }, async (request, reply) => {
    const op = orch.saveDomain(request.params.ref, request.body.file, request.body.checkpoint === undefined ? {} : { checkpoint: request.body.checkpoint });
    request.log.info({ ref: request.params.ref, file: request.body.file, taskId: op.task.id }, 'save accepted');
    return answerOperation(reply, metrics, op, request.query.wait, { status: 200, map: (r) => r });
  });

  app.post<{ Querystring: { wait?: boolean }; Body: { file: string; paused?: boolean } }>('/v1/restore', {
    schema: {
      operationId: 'restoreDomain',
      summary: 'Create a domain from an image file (xl restore), checked whole before anything is made',
      tags,
      querystring: S.waitQuery,
      body: S.restoreBody,
      response: { 201: S.domainView, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 409, 422) },
    },
  }, async (request, reply) => {
    const op = orch.restoreDomain(request.body.file, request.body.paused === undefined ? {} : { paused: request.body.paused });
    request.log.info({ file: request.body.file, taskId: op.task.id }, 'restore accepted');
    return answerOperation(reply, metrics, op, request.query.wait, { status: 201, map: presentDomain, location: (d: DomainView) => `/v1/domains/${d.uuid}` });
  });

  app.put<RefReq & { Body: { mib: number } }>('/v1/domains/:ref/memory', {
    ...refPre,
    schema: { operationId: 'setMemory', summary: 'Set the memory target, MiB (xm mem-set)', tags, params: S.refParams, body: S.memoryBody, response: { 200: S.domainView, ...S.opErrorReplies(400, 404, 409, 422) } },
  }, async (request) => presentDomain(await orch.setMemory(request.params.ref, request.body.mib)));

  app.put<RefReq & { Body: { vcpus: number } }>('/v1/domains/:ref/vcpus', {
    ...refPre,
    schema: { operationId: 'setVcpus', summary: 'Set the number of online vcpus (xm vcpu-set)', tags, params: S.refParams, body: S.vcpusBody, response: { 200: S.domainView, ...S.opErrorReplies(400, 404, 409, 422) } },
  }, async (request) => presentDomain(await orch.setVcpus(request.params.ref, request.body.vcpus)));
}
