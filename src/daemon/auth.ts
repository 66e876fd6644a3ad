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
