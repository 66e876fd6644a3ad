// The catalogue of TSX_ERR_* codes behind docs/errors.md: every code registered through
// defineError() once each layer's errors module is loaded, plus codes a layer exports without
// the registry (src/config is pure and declares its ConfigError codes itself).

import { definedErrors, type ErrorSpec } from '../errors.js';

export interface CatalogEntry extends ErrorSpec {
  readonly layer: string;
}

const CODE = /^TSX_ERR_[A-Z0-9_]+$/;

/** Collects `{code, status|statusCode, title|message}` objects and bare codes from a module's exports. */
function exportedSpecs(mod: Record<string, unknown>): { code: string; status?: number; title?: string }[] {
  const out: { code: string; status?: number; title?: string }[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 3 || v === null || v === undefined) return;
    if (typeof v === 'string') {
      if (CODE.test(v)) out.push({ code: v });
      return;
    }
    if (Array.isArray(v)) return v.forEach((x) => visit(x, depth + 1));
    if (typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.code === 'string' && CODE.test(o.code)) {
      const status = typeof o.status === 'number' ? o.status : typeof o.statusCode === 'number' ? o.statusCode : undefined;
      const title = typeof o.title === 'string' ? o.title : typeof o.description === 'string' ? o.description : undefined;
      out.push({ code: o.code, ...(status === undefined ? {} : { status }), ...(title === undefined ? {} : { title }) });
      return;
    }
    for (const x of Object.values(o)) visit(x, depth + 1);
  };
  for (const v of Object.values(mod)) visit(v, 0);
  return out;
}

/**
 * Builds the catalogue from loaded errors modules keyed by their path (e.g. `src/xenstore/errors.ts`).
 * Registry entries win for status and title; the layer is the directory the code was found in.
 */
export function buildCatalog(modules: Record<string, Record<string, unknown>>): CatalogEntry[] {
  const layerOf = new Map<string, string>();
  const extra = new Map<string, { code: string; status?: number; title?: string }>();
  for (const [path, mod] of Object.entries(modules)) {
    const layer = /(?:src|dist)\/(.+)\/errors\.[jt]s$/.exec(path)?.[1] ?? (/(?:src|dist)\/errors\.[jt]s$/.test(path) ? 'core' : path);
    for (const spec of exportedSpecs(mod)) {
      if (!layerOf.has(spec.code)) layerOf.set(spec.code, layer);
      const prev = extra.get(spec.code);
      extra.set(spec.code, { ...spec, ...prev, ...(prev?.status === undefined && spec.status !== undefined ? { status: spec.status } : {}), ...(prev?.title === undefined && spec.title !== undefined ? { title: spec.title } : {}) });
    }
  }
  const byCode = new Map<string, CatalogEntry>();
  for (const e of definedErrors()) byCode.set(e.code, { ...e, layer: layerOf.get(e.code) ?? 'core' });
  for (const [code, e] of extra) {
    if (byCode.has(code)) continue;
    byCode.set(code, { code, status: e.status ?? 400, title: e.title ?? '', layer: layerOf.get(code) ?? 'unknown' });
  }
  return [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export const ERRORS_DOC_BEGIN = '<!-- BEGIN GENERATED ERROR TABLE (npm run docs:errors) -->';
export const ERRORS_DOC_END = '<!-- END GENERATED ERROR TABLE -->';

export function renderErrorTable(entries: readonly CatalogEntry[]): string {
  const rows = entries.map((e) => `| \`${e.code}\` | ${e.status} | ${e.layer} | ${e.title.replace(/\|/g, '\\|')} |`);
  return [ERRORS_DOC_BEGIN, '| code | HTTP status | layer | meaning |', '|---|---|---|---|', ...rows, ERRORS_DOC_END].join('\n');
}

/** Replaces the generated table inside a docs/errors.md text. */
export function spliceErrorTable(doc: string, entries: readonly CatalogEntry[]): string {
  const start = doc.indexOf(ERRORS_DOC_BEGIN);
  const end = doc.indexOf(ERRORS_DOC_END);
  if (start < 0 || end < start) throw new Error('docs/errors.md lacks the generated-table markers');
  return doc.slice(0, start) + renderErrorTable(entries) + doc.slice(end + ERRORS_DOC_END.length);
}
