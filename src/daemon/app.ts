// Builds one fastify instance serving the whole API over one listener. The daemon builds one per
// listener (a Unix socket needs no token, a TCP one does) around the same orchestrator, metrics
// and config input, so every listener answers identically.

import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import type { Orchestrator } from '../lifecycle/api.js';
import type { ConsoleSource } from '../lifecycle/console.js';
import type { WorldReport } from '../lifecycle/world.js';
import { registerConsoleRoute } from './console-route.js';
import { WS_PROTOCOL, presentedAuthorization, type TokenAuth } from './auth.js';
import { isPublicWebPath, registerWebConsole } from './web.js';
import type { ConfigInput } from './config-input.js';
import { E_BAD_REF, E_BAD_REQUEST, E_ROUTE_NOT_FOUND, E_UNAVAILABLE } from './errors.js';
import { MAX_REF_LENGTH } from './refs.js';
import { registerEventStream } from './event-stream.js';
import { toErrorBody } from './http-errors.js';
import type { Metrics } from './metrics.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerDomainRoutes } from './routes/domains.js';
import { registerHostRoutes } from './routes/host.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerMigrationRoutes } from './routes/migrations.js';
import { TsxError } from '../errors.js';

export interface AppOptions {
  readonly orchestrator: Orchestrator;
  readonly config: ConfigInput;
  readonly metrics: Metrics;
  readonly version: string;
  /** Without a logger the app logs nothing (OpenAPI generation, some tests). */
  readonly logger?: Logger;
  /** When set, every request (websocket upgrades included) needs one of its tokens. */
  readonly auth?: TokenAuth;
  /** Unsent bytes after which an event subscriber is dropped. */
  readonly maxEventBufferBytes?: number;
  readonly bodyLimit?: number;
  /** True once a graceful stop began: new requests get 503 while in-flight ones finish. */
  readonly isStopping?: () => boolean;
  /** Serve HTTPS (TCP listeners with --tls-cert/--tls-key). */
  readonly https?: { cert: Buffer; key: Buffer };
  /** Guests' consoles for GET /v1/domains/{ref}/console. */
  readonly consoles?: ConsoleSource;
  /** Which world each part runs in, for GET /v1/host. */
  readonly world?: WorldReport;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Long params must reach checkRef (400 TSX_ERR_BAD_REF), not the router's own 414 shape.
    routerOptions: { maxParamLength: 1024 },
    // What the router refuses itself (a param over 1024, bad %-encoding) gets the typed body too,
    // and a TCP listener still answers 401 first.
    frameworkErrors: (err, request, reply) => {
      let typed: unknown;
      try {
        options.auth?.check(presentedAuthorization(request.headers));
        typed = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new TsxError(E_BAD_REF, `a reference in the path is longer than ${MAX_REF_LENGTH} characters`) : new TsxError(E_BAD_REQUEST, err.message);
      } catch (authErr) {
        typed = authErr;
      }
      const body = toErrorBody(typed);
      void (reply as FastifyReply).code(body.statusCode).header('x-request-id', request.id).type('application/json').send(body);
    },
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  }) as unknown as FastifyInstance;

  // Config text arrives as a string; the config layer parses it (with file:line:col errors).
  app.addContentTypeParser('application/x-sxp', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tsxend API',
        version: options.version,
        description: 'The HTTP API of tsxend, a Xen domain-creation orchestrator. Errors use the body {statusCode, code, error, message, cause}; codes are listed in docs/errors.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required on TCP listeners' } } },
      security: [{ bearer: [] }],
      tags: [{ name: 'domains' }, { name: 'devices' }, { name: 'tasks' }, { name: 'host' }, { name: 'events' }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // A browser offers 'tsxend' next to the subprotocol holding its token: answer 'tsxend' only.
  await app.register(websocket, { options: { maxPayload: 64 * 1024, handleProtocols: (offered: Set<string>) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false) } });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // The web console's page shell carries no data: a browser must load it to sign in.
    if (!(request.method === 'GET' && isPublicWebPath(request.url))) options.auth?.check(presentedAuthorization(request.headers));
    if (options.isStopping?.()) throw new TsxError(E_UNAVAILABLE, 'tsxend is stopping; retry once it is back');
  });
  // Every line logged for a request about a domain or device names it (pino child bindings).
  app.addHook('preHandler', async (request, reply) => {
    const p = request.params as { ref?: string; class?: string; devid?: number } | undefined;
    if (p?.ref === undefined) return;
    const child = request.log.child({ domain: p.ref, ...(p.class === undefined ? {} : { devClass: p.class }), ...(p.devid === undefined ? {} : { devid: p.devid }) });
    request.log = child;
    reply.log = child;
  });
  app.addHook('onResponse', async (request, reply) => {
    options.metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) });
  });

  app.setErrorHandler(async (err, request, reply) => {
    const body = toErrorBody(err);
    options.metrics.errors.inc({ code: body.code });
    if (body.statusCode >= 500) request.log.error({ err, code: body.code }, body.message);
    else request.log.info({ code: body.code, status: body.statusCode }, body.message);
    return reply.code(body.statusCode).type('application/json').send(body);
  });
  app.setNotFoundHandler(async (request) => {
    throw new TsxError(E_ROUTE_NOT_FOUND, `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`);
  });

  const deps = { orchestrator: options.orchestrator, config: options.config, metrics: options.metrics };
  registerDomainRoutes(app, deps);
  registerDeviceRoutes(app, deps);
  registerTaskRoutes(app, options.orchestrator);
  registerMigrationRoutes(app, deps);
  registerHostRoutes(app, options.orchestrator, options.metrics, options.version, options.world);
  registerEventStream(app, options.orchestrator, options.metrics, { maxBufferedBytes: options.maxEventBufferBytes ?? 1024 * 1024 });
  registerConsoleRoute(app, options.orchestrator, options.consoles);
  registerWebConsole(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
