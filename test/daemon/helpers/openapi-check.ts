// Checks API replies against the committed docs/openapi.json (firecracker's SwaggerValidator
// habit): the status must be documented for the route and the JSON body must match its schema.

import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

const doc = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8')) as Doc;
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
const cache = new Map<string, ValidateFunction>();

function templateFor(path: string): string | undefined {
  const bare = path.split('?')[0] ?? path;
  const parts = bare.split('/');
  for (const tpl of Object.keys(doc.paths)) {
    const t = tpl.split('/');
    if (t.length !== parts.length) continue;
    if (t.every((seg, i) => (seg.startsWith('{') && seg.endsWith('}') ? (parts[i] ?? '') !== '' : seg === parts[i]))) return tpl;
  }
  return undefined;
}

/** Throws with a readable message when the reply does not match the spec. */
export function checkAgainstSpec(method: string, path: string, status: number, contentType: string | undefined, body: string): void {
  const tpl = templateFor(path);
  if (!tpl) throw new Error(`${method} ${path}: no path in docs/openapi.json`);
  const op = doc.paths[tpl]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${tpl}: method not in docs/openapi.json`);
  const resp = op.responses[String(status)];
  if (!resp) throw new Error(`${method} ${tpl}: status ${status} not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${body.slice(0, 300)}`);
  if (!contentType?.startsWith('application/json') || body === '') return;
  const schema = resp.content?.['application/json']?.schema;
  if (schema === undefined) throw new Error(`${method} ${tpl} ${status}: JSON body but no JSON schema documented`);
  const key = `${method} ${tpl} ${status}`;
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(schema as object);
    cache.set(key, validate);
  }
  if (!validate(JSON.parse(body))) throw new Error(`${key}: body does not match docs/openapi.json: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`);
}
