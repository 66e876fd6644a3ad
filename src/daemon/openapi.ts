// Generates the OpenAPI document from the route schemas (the same ones that validate requests).
// `npm run openapi` writes it to docs/openapi.json; test/daemon/openapi.test.ts fails on drift.

import { readFileSync } from 'node:fs';
import type { Orchestrator } from '../lifecycle/api.js';
import { buildApp } from './app.js';
import type { ConfigInput } from './config-input.js';
import { Metrics } from './metrics.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Never called while the document is generated: building routes touches no orchestrator. */
const unused = new Proxy({} as Orchestrator, {
  get(_t, prop) {
    throw new Error(`openapi generation must not call the orchestrator (${String(prop)})`);
  },
});
const noConfig = unused as unknown as ConfigInput;

export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const app = await buildApp({ orchestrator: unused, config: noConfig, metrics: new Metrics(unused, { defaultMetrics: false }), version: packageVersion() });
  await app.ready();
  const doc = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  return doc;
}

export function renderOpenApi(doc: Record<string, unknown>): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
