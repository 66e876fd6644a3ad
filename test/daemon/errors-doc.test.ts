/// <reference types="vite/client" />
// docs/errors.md and the code agree: every TSX_ERR_* code the layers define (registry plus what
// a layer such as src/config exports itself) is listed with its status, and nothing listed is
// gone. Regenerate the table with `npm run docs:errors`.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/daemon/error-catalog.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const modules = import.meta.glob<Record<string, unknown>>('../../src/**/errors.ts', { eager: true });
const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
const HINT = 'run `npm run docs:errors` and commit docs/errors.md';

function documented(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `(TSX_ERR_[A-Z0-9_]+)` \| (\d+) \|/gm)) rows.set(m[1] as string, Number(m[2]));
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  const catalog = buildCatalog(Object.fromEntries(Object.entries(modules).map(([k, v]) => [k.replace(/^(\.\.\/)+/, ''), v])));

  it('loads every layer errors module (at least core and daemon)', () => {
    expect(Object.keys(modules).some((k) => k.endsWith('src/errors.ts'))).toBe(true);
    expect(Object.keys(modules).some((k) => k.endsWith('src/daemon/errors.ts'))).toBe(true);
  });

  it(`lists every defined code with its HTTP status (${HINT})`, () => {
    const rows = documented();
    const missing = catalog.filter((e) => !rows.has(e.code)).map((e) => e.code);
    expect(missing, `codes missing from docs/errors.md: ${HINT}`).toEqual([]);
    const wrong = catalog.filter((e) => rows.get(e.code) !== e.status).map((e) => `${e.code}: code ${e.status}, doc ${rows.get(e.code)}`);
    expect(wrong, `statuses differ: ${HINT}`).toEqual([]);
  });

  it(`lists no code the source no longer defines (${HINT})`, () => {
    const known = new Set(catalog.map((e) => e.code));
    expect([...documented().keys()].filter((c) => !known.has(c)), `stale codes in docs/errors.md: ${HINT}`).toEqual([]);
  });

  it('documents every TSX_ERR_* literal that appears anywhere in src', () => {
    const rows = documented();
    const literals = new Set<string>();
    for (const f of sourceFiles(join(root, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/'(TSX_ERR_[A-Z0-9_]+)'/g)) literals.add(m[1] as string);
    expect([...literals].filter((c) => !rows.has(c)), `codes used in src but not documented: ${HINT}`).toEqual([]);
  });
});
