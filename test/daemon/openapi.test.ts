// The committed docs/openapi.json is what the route schemas generate. When this fails, the API
// changed: regenerate with `npm run openapi`, review the diff, commit it.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { generateOpenApi, renderOpenApi } from '../../src/daemon/openapi.js';

const committed = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');

describe('docs/openapi.json', () => {
  it('matches the document generated from the route schemas (regenerate: npm run openapi)', async () => {
    const generated = renderOpenApi(await generateOpenApi());
    expect(generated === committed, 'docs/openapi.json is stale: run `npm run openapi` and commit the result').toBe(true);
  });

  it('is OpenAPI 3.1 with an operationId, a summary and an error reply on every operation', () => {
    const doc = JSON.parse(committed) as { openapi: string; paths: Record<string, Record<string, { operationId?: string; summary?: string; responses: Record<string, unknown> }>> };
    expect(doc.openapi).toBe('3.1.0');
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(ids.has(op.operationId as string), `duplicate operationId ${op.operationId}`).toBe(false);
        ids.add(op.operationId as string);
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        expect(Object.keys(op.responses), `${method} ${path}`).toContain('500');
      }
    }
    for (const id of ['listDomains', 'createDomain', 'getDomain', 'destroyDomain', 'pauseDomain', 'unpauseDomain', 'shutdownDomain', 'rebootDomain', 'setMemory', 'setVcpus', 'listDevices', 'attachDevice', 'detachDevice', 'getTask', 'cancelTask', 'getHost', 'getHealth', 'getMetrics', 'streamEvents']) {
      expect(ids, id).toContain(id);
    }
  });

  it('holds only schemas ajv can compile', () => {
    const ajv = new Ajv({ strict: false });
    const doc = JSON.parse(committed) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };
    let n = 0;
    for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) for (const r of Object.values(op.responses)) for (const c of Object.values(r.content ?? {})) {
      ajv.compile(c.schema);
      n++;
    }
    expect(n).toBeGreaterThan(40);
  });
});
