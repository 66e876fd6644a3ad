// /v1/domains/:ref/devices: list, hot attach, hot detach.

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { DeviceClass } from '../../config/model.js';
import type { Orchestrator } from '../../lifecycle/api.js';
import type { ConfigInput } from '../config-input.js';
import type { Metrics } from '../metrics.js';
import { answerOperation, presentDevice } from '../present.js';
import { checkRef } from '../refs.js';
import * as S from '../schemas.js';

interface Deps {
  orchestrator: Orchestrator;
  config: ConfigInput;
  metrics: Metrics;
}

export function registerDeviceRoutes(app: FastifyInstance, { orchestrator: orch, config, metrics }: Deps): void {
  const tags = ['devices'];
  const refPre = { preValidation: async (req: { params: unknown }) => void checkRef('domain', (req.params as { ref: string }).ref) };

  app.get<{ Params: { ref: string } }>('/v1/domains/:ref/devices', {
    ...refPre,
    schema: { operationId: 'listDevices', summary: "A domain's devices with their states", tags, params: S.refParams, response: { 200: Type.Array(S.deviceView), ...S.errorReplies(400, 404) } },
  }, async (request) => orch.listDevices(request.params.ref).map(presentDevice));

  app.post<{ Params: { ref: string }; Querystring: { wait?: boolean }; Body: { class: DeviceClass; spec?: string; config?: Record<string, unknown> } }>('/v1/domains/:ref/devices', {
    ...refPre,
    schema: {
      operationId: 'attachDevice',
      summary: 'Hot-attach a device (xm block-attach / network-attach)',
      tags,
      params: S.refParams,
      querystring: S.waitQuery,
      body: S.attachBody,
      response: { 201: S.deviceView, 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const { class: devClass, spec, config: model } = request.body;
    const entry = config.parseDevice(devClass, spec ?? model ?? {});
    const op = orch.attachDevice(request.params.ref, entry);
    request.log = request.log.child({ devClass });
    return answerOperation(reply, metrics, op, request.query.wait, { status: 201, map: presentDevice });
  });

  app.delete<{ Params: { ref: string; class: DeviceClass; devid: number }; Querystring: { wait?: boolean; force?: boolean } }>('/v1/domains/:ref/devices/:class/:devid', {
    ...refPre,
    schema: {
      operationId: 'detachDevice',
      summary: 'Hot-detach a device (xm block-detach / network-detach)',
      tags,
      params: S.deviceParams,
      querystring: S.forceQuery,
      response: { 204: Type.Null(), 202: S.taskAccepted, ...S.opErrorReplies(499, 400, 404, 409) },
    },
  }, async (request, reply) => {
    const { ref, class: devClass, devid } = request.params;
    request.log = request.log.child({ devClass, devid });
    const op = orch.detachDevice(ref, devClass, devid, request.query.force === undefined ? {} : { force: request.query.force });
    const out = await answerOperation(reply, metrics, op, request.query.wait, { status: 204, map: () => null });
    return out ?? reply.send();
  });
}
