// One place maps every failure to fastify's error body shape plus a cause chain:
//   { statusCode, code, error, message, cause?: [{code?, message}], details?, problems? }
// The status always comes from the error's own class (habit 11); only bugs answer 500.

import { STATUS_CODES } from 'node:http';
import { E_INTERNAL, TsxError, hasTsxCode, type ErrorSpec } from '../errors.js';
import { E_BAD_REQUEST, E_BODY_TOO_LARGE, E_ROUTE_NOT_FOUND, E_UNSUPPORTED_MEDIA } from './errors.js';
import { maskSecretsInText } from './present.js';

export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  cause?: { code?: string; message: string }[];
  details?: Record<string, unknown>;
  problems?: Record<string, unknown>[];
}

// fastify's own codes for requests it rejects before a handler runs.
const FASTIFY_CODES: Record<string, ErrorSpec> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: E_UNSUPPORTED_MEDIA,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: E_BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: E_BAD_REQUEST,
  FST_ERR_CTP_INVALID_JSON_BODY: E_BAD_REQUEST,
  FST_ERR_CTP_BODY_TOO_LARGE: E_BODY_TOO_LARGE,
  FST_ERR_VALIDATION: E_BAD_REQUEST,
  FST_ERR_NOT_FOUND: E_ROUTE_NOT_FOUND,
};

function causeChain(err: unknown): { code?: string; message: string }[] {
  const chain: { code?: string; message: string }[] = [];
  const seen = new Set<unknown>();
  let cur = err instanceof Error ? err.cause : undefined;
  while (cur !== undefined && cur !== null && !seen.has(cur) && chain.length < 8) {
    seen.add(cur);
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code;
      chain.push(typeof code === 'string' ? { code, message: cur.message } : { message: cur.message });
      cur = cur.cause;
    } else {
      chain.push({ message: typeof cur === 'string' ? cur : JSON.stringify(cur) });
      break;
    }
  }
  return chain;
}

function fastifySpec(err: unknown): ErrorSpec | undefined {
  const code = err instanceof Error ? (err as unknown as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? FASTIFY_CODES[code] : undefined;
}

/** Turns any thrown value into the reply body (and thereby its status). */
export function toErrorBody(err: unknown): ErrorBody {
  let statusCode: number;
  let code: string;
  let message: string;
  if (hasTsxCode(err)) {
    ({ statusCode, code, message } = err);
  } else if (err instanceof Error && (err as { validation?: unknown }).validation !== undefined) {
    statusCode = E_BAD_REQUEST.status;
    code = E_BAD_REQUEST.code;
    message = err.message;
  } else if (fastifySpec(err)) {
    const spec = fastifySpec(err) as ErrorSpec;
    statusCode = spec.status;
    code = spec.code;
    message = (err as Error).message;
  } else {
    statusCode = E_INTERNAL.status;
    code = E_INTERNAL.code;
    message = err instanceof Error ? err.message : String(err);
  }
  // Messages may quote what the client sent (a device spec): never a password, in the reply or
  // in the log line made from it.
  const body: ErrorBody = { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message: maskSecretsInText(message) };
  const cause = causeChain(err).map((c) => ({ ...c, message: maskSecretsInText(c.message) }));
  if (cause.length > 0) body.cause = cause;
  if (err instanceof TsxError && Object.keys(err.details).length > 0) body.details = err.details;
  const problems = (err as { problems?: unknown }).problems;
  if (Array.isArray(problems)) body.problems = (problems as Record<string, unknown>[]).map((p) => (typeof p['message'] === 'string' ? { ...p, message: maskSecretsInText(p['message']) } : p));
  return body;
}
