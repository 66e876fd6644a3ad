// Typed errors with stable codes, shared by every layer except src/config (which is pure and
// defines its own ConfigError with the same shape: `code`, `statusCode`).
//
// Each layer declares its codes once with defineError() in its own errors.ts; the registry is
// what docs/errors.md is checked against and what the HTTP layer maps to status codes.

export interface ErrorSpec {
  /** Stable machine code, `TSX_ERR_*`. Never renamed once shipped. */
  readonly code: string;
  /** HTTP status the API answers with. */
  readonly status: number;
  /** One-line description for docs/errors.md. */
  readonly title: string;
}

const registry = new Map<string, ErrorSpec>();

export function defineError(code: string, status: number, title: string): ErrorSpec {
  if (!/^TSX_ERR_[A-Z0-9_]+$/.test(code)) throw new Error(`bad error code ${code}`);
  const existing = registry.get(code);
  if (existing) {
    if (existing.status !== status) throw new Error(`error code ${code} defined twice with different statuses`);
    return existing;
  }
  const spec = Object.freeze({ code, status, title });
  registry.set(code, spec);
  return spec;
}

/** Every error code defined by the modules loaded so far. */
export function definedErrors(): ErrorSpec[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export interface TsxErrorOptions {
  cause?: unknown;
  /** Structured, non-secret facts about the failure (paths, devids, exit codes...). */
  details?: Record<string, unknown>;
}

export class TsxError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: Record<string, unknown>;

  constructor(spec: ErrorSpec, message: string, options: TsxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsxError';
    this.code = spec.code;
    this.statusCode = spec.status;
    this.details = options.details ?? {};
  }

  is(spec: ErrorSpec): boolean {
    return this.code === spec.code;
  }
}

/** True for any error carrying a stable TSX_ERR_* code (TsxError or the config layer's own). */
export function hasTsxCode(err: unknown): err is Error & { code: string; statusCode: number } {
  if (!(err instanceof Error)) return false;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  return typeof code === 'string' && code.startsWith('TSX_ERR_') && typeof statusCode === 'number';
}

export function isError(err: unknown, spec: ErrorSpec): boolean {
  return hasTsxCode(err) && err.code === spec.code;
}

export const E_INTERNAL = defineError('TSX_ERR_INTERNAL', 500, 'An unexpected internal error');
export const E_ABORTED = defineError('TSX_ERR_ABORTED', 499, 'The operation was cancelled by its caller');
export const E_TIMEOUT = defineError('TSX_ERR_TIMEOUT', 504, 'A wait ran past its deadline');
