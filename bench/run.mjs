#!/usr/bin/env node
// Runs the benchmarks: `npm run bench` runs every bench/*.mjs in turn (each prints its own
// figures); `npm run bench -- NAME...` runs the named ones. Build first: `npm run build`.
// Figures and how to read them: BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.endsWith('-lib.mjs'))
  .map((f) => f.slice(0, -4));
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, [`${dir}${name}.mjs`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
