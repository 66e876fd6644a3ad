// The CLI's HTTP client for the daemon: a Unix socket (the default) or https://HOST:PORT, with a
// bearer token read from a file. Node's http/https only; the event stream uses `ws`.

import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { homedir } from 'node:os';
import WebSocket from 'ws';
import type { TsxEvent } from '../lifecycle/api.js';
import { E_HTTP } from '../daemon/errors.js';

import { describeEndpoint, parseEndpoint, type Endpoint } from '../daemon/endpoint.js';

export { describeEndpoint, parseEndpoint, type Endpoint };

export interface ClientOptions {
  readonly connect?: string;
  readonly tokenFile?: string;
  /** PEM CA bundle for a daemon with a private certificate. */
  readonly caFile?: string;
  readonly timeoutMs?: number;
}

/** The error body the daemon answers with (see docs/errors.md). */
export interface ApiErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  cause?: { code?: string; message: string }[];
  problems?: { file?: string; line?: number; col?: number; message?: string }[];
}

export class ApiError extends Error {
  /** The config text the request carried, so problems can be shown with their lines. */
  source?: string;

  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
}

/** The daemon could not be reached at all (no socket, refused, TLS failure...). */
export class UnreachableError extends Error {
  constructor(
    readonly endpoint: string,
    cause: unknown,
  ) {
    super(`cannot reach the tsxend daemon at ${endpoint}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnreachableError';
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Where `tsxend serve` listens by default (mirrors src/daemon/options.ts). */
export function defaultSocketPath(env: NodeJS.ProcessEnv): string {
  if (env.TSXEND_RUNTIME_DIR) return join(env.TSXEND_RUNTIME_DIR, 'tsxend.sock');
  if (env.RUNTIME_DIRECTORY) return join(env.RUNTIME_DIRECTORY.split(':')[0] as string, 'tsxend.sock');
  if (env.TSXEND_STATE_DIR) return join(env.TSXEND_STATE_DIR, 'run', 'tsxend.sock');
  if (isRoot()) return '/run/tsxend/tsxend.sock';
  const state = env.TSXEND_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'tsxend');
  return join(state, 'run', 'tsxend.sock');
}

export interface ApiResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

export class ApiClient {
  readonly endpoint: Endpoint;
  readonly #token: string | undefined;
  readonly #ca: Buffer | undefined;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions, env: NodeJS.ProcessEnv) {
    this.endpoint = parseEndpoint(options.connect ?? env.TSXEND_CONNECT ?? `unix:${defaultSocketPath(env)}`);
    const tokenFile = options.tokenFile ?? env.TSXEND_TOKEN_FILE;
    this.#token = tokenFile === undefined ? undefined : readFileSync(tokenFile, 'utf8').split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    const caFile = options.caFile ?? env.TSXEND_CA_FILE;
    this.#ca = caFile === undefined ? undefined : readFileSync(caFile);
    this.#timeoutMs = options.timeoutMs ?? 10 * 60_000;
  }

  #headers(extra: Record<string, string>): Record<string, string> {
    return { accept: 'application/json', ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }), ...extra };
  }

  /** Sends one request; a non-2xx reply throws ApiError with the daemon's error body. */
  async request<T = unknown>(method: string, path: string, body?: { data: string | object; contentType?: string }, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : typeof body.data === 'string' ? body.data : JSON.stringify(body.data);
    const hdrs = this.#headers({
      ...headers,
      ...(payload === undefined ? {} : { 'content-type': body?.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
    });
    const e = this.endpoint;
    const opts: RequestOptions & { ca?: Buffer } =
      e.kind === 'unix'
        ? { socketPath: e.path, path, method, headers: hdrs }
        : { host: e.url.hostname, port: e.url.port, path, method, headers: hdrs, ...(this.#ca ? { ca: this.#ca } : {}) };
    const send = e.kind === 'https' ? httpsRequest : httpRequest;
    const res = await new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = send(opts, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }));
        r.on('error', reject);
      });
      req.setTimeout(this.#timeoutMs, () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(new UnreachableError(describeEndpoint(e), err)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
    const isJson = (res.headers['content-type'] ?? '').startsWith('application/json');
    const parsed: unknown = isJson && res.text !== '' ? JSON.parse(res.text) : res.text;
    if (res.status >= 400) {
      const b = parsed as Partial<ApiErrorBody>;
      throw new ApiError(res.status, {
        statusCode: res.status,
        code: typeof b.code === 'string' ? b.code : E_HTTP.code,
        error: b.error ?? '',
        message: typeof b.message === 'string' ? b.message : String(parsed),
        ...(b.cause ? { cause: b.cause } : {}),
        ...(b.problems ? { problems: b.problems } : {}),
      });
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).body;
  }

  /**
   * Opens the event stream; resolves once the socket is open. The message listener is attached
   * before the handshake completes: replayed events may arrive in the same read as the upgrade.
   */
  openEvents(query: Record<string, string | number | undefined>, onEvent?: (event: TsxEvent) => void): Promise<WebSocket> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const path = `/v1/events${qs.size > 0 ? `?${qs.toString()}` : ''}`;
    return this.openSocket(path, onEvent ? (data) => onEvent(JSON.parse(data.toString('utf8')) as TsxEvent) : undefined);
  }

  /** Attaches to a domain's console: raw bytes both ways (binary frames). */
  openConsole(ref: string, onBytes: (bytes: Buffer) => void): Promise<WebSocket> {
    return this.openSocket(`/v1/domains/${encodeURIComponent(ref)}/console`, onBytes);
  }

  /** Opens a websocket route; the message listener is attached before the handshake completes. */
  openSocket(path: string, onMessage?: (data: Buffer) => void): Promise<WebSocket> {
    const e = this.endpoint;
    const address = e.kind === 'unix' ? `ws+unix://${e.path}:${path}` : `${e.kind === 'https' ? 'wss' : 'ws'}://${e.url.host}${path}`;
    const ws = new WebSocket(address, {
      headers: this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` },
      ...(this.#ca ? { ca: this.#ca } : {}),
      maxPayload: 64 * 1024 * 1024,
    });
    if (onMessage) ws.on('message', (data: Buffer) => onMessage(data));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: ApiErrorBody;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApiErrorBody;
          } catch {
            body = { statusCode: res.statusCode ?? 0, code: E_HTTP.code, error: '', message: `upgrade refused with ${res.statusCode}` };
          }
          reject(new ApiError(res.statusCode ?? 0, body));
        });
      });
      ws.once('error', (err) => reject(new UnreachableError(describeEndpoint(e), err)));
    });
  }
}
