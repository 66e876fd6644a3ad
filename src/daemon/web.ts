// The web console's files, served at / on every listener: a fixed list (no path from the
// request reaches the file system), with a strict Content-Security-Policy (scripts and styles
// from this origin only, nothing inline). The page is a shell without data or secrets, so it is
// served without a token; everything it shows comes from the API behind the same auth as the CLI.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
// Preact + htm in one standalone ES module (~13 kB), straight from the npm package.
const htmPreact = (): string => join(dirname(createRequire(import.meta.url).resolve('htm')), '..', 'preact', 'standalone.module.js');

const FILES: Record<string, { path: () => string; type: string }> = {
  '/': { path: () => join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { path: () => join(webDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { path: () => join(webDir, 'style.css'), type: 'text/css; charset=utf-8' },
  '/ui/htm-preact.js': { path: htmPreact, type: 'text/javascript; charset=utf-8' },
};

/** Paths served without a token (the page shell); every API path still needs one on TCP. */
export function isPublicWebPath(url: string): boolean {
  return Object.hasOwn(FILES, url.split('?')[0] ?? '');
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function registerWebConsole(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  for (const [url, file] of Object.entries(FILES)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      let body = cache.get(url);
      if (!body) {
        body = await readFile(file.path());
        cache.set(url, body);
      }
      return reply
        .type(file.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body);
    });
  }
}
