// Bearer-token auth for TCP listeners. Tokens are compared as SHA-256 digests with
// timingSafeEqual, against every configured token without an early exit, so neither the length
// nor the first wrong byte of a guess leaks through timing.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TsxError } from '../errors.js';
import { E_SERVE_OPTIONS, E_UNAUTHORIZED } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Reads a token file: one token per line, blank lines and `#` comments ignored. */
export function readTokenFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TsxError(E_SERVE_OPTIONS, `cannot read token file ${path}`, { cause: err });
  }
  const tokens = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (tokens.length === 0) throw new TsxError(E_SERVE_OPTIONS, `token file ${path} holds no token`);
  if (tokens.some((t) => t.length < 16)) throw new TsxError(E_SERVE_OPTIONS, `token file ${path}: tokens must be at least 16 characters`);
  return tokens;
}

export class TokenAuth {
  readonly #digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map(digest);
  }

  /** True when the Authorization header carries one of the tokens. */
  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = digest(m?.[1] ?? '');
    let ok = false;
    for (const d of this.#digests) ok = timingSafeEqual(d, presented) || ok;
    return ok && m !== null;
  }

  check(authorization: string | undefined): void {
    if (!this.accepts(authorization)) throw new TsxError(E_UNAUTHORIZED, 'a valid API token is required (Authorization: Bearer <token>)');
  }
}

/** The websocket subprotocol prefix a browser carries its token in (it cannot set headers there). */
export const WS_TOKEN_PROTOCOL = 'base64url.bearer.tsxend.';
/** The subprotocol the daemon answers with: never the one holding the token. */
export const WS_PROTOCOL = 'tsxend';

/**
 * The credentials a request presents: its Authorization header, or for a websocket upgrade from
 * a browser the token in a `base64url.bearer.tsxend.<token>` subprotocol (as Kubernetes does), so
 * a token never has to travel in a URL.
 */
export function presentedAuthorization(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers['authorization'];
  if (typeof header === 'string') return header;
  const protocols = headers['sec-websocket-protocol'];
  if (typeof protocols !== 'string' || headers['upgrade']?.toString().toLowerCase() !== 'websocket') return undefined;
  const carried = protocols.split(',').map((p) => p.trim()).find((p) => p.startsWith(WS_TOKEN_PROTOCOL));
  if (carried === undefined) return undefined;
  return `Bearer ${Buffer.from(carried.slice(WS_TOKEN_PROTOCOL.length), 'base64url').toString('utf8')}`;
}
