// /v1/tasks: long operations with their current step, progress and cancel (which rolls back).

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Orchestrator } from '../../lifecycle/api.js';
import { presentTask } from '../present.js';
import { checkRef } from '../refs.js';
import * as S from '../schemas.js';

export function registerTaskRoutes(app: FastifyInstance, orch: Orchestrator): void {
  const tags = ['tasks'];
  const idPre = { preValidation: async (req: { params: unknown }) => void checkRef('task', (req.params as { id: string }).id) };

  app.get('/v1/tasks', {
    schema: { operationId: 'listTasks', summary: 'Tasks in flight and recently ended', tags, response: { 200: Type.Array(S.taskView), ...S.errorReplies() } },
  }, async () => orch.listTasks().map(presentTask));

  app.get<{ Params: { id: string } }>('/v1/tasks/:id', {
    ...idPre,
    schema: { operationId: 'getTask', summary: "A task's state, current step and progress", tags, params: S.taskParams, response: { 200: S.taskView, ...S.errorReplies(400, 404) } },
  }, async (request) => presentTask(orch.getTask(request.params.id)));

  app.delete<{ Params: { id: string } }>('/v1/tasks/:id', {
    ...idPre,
    schema: { operationId: 'cancelTask', summary: 'Cancel a task; what it did is rolled back', tags, params: S.taskParams, response: { 200: S.taskView, ...S.opErrorReplies(400, 404, 409) } },
  }, async (request) => presentTask(orch.cancelTask(request.params.id)));
}
