// Regenerates the error table in docs/errors.md from every layer's errors module (built dist/):
// `npm run docs:errors`. test/daemon/errors-doc.test.ts fails when the table and the code differ.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const found = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name === 'errors.js') found.push(p);
  }
};
walk(dist);
const modules = {};
for (const p of found.sort()) modules[relative(root, p)] = await import(pathToFileURL(p).href);
const { buildCatalog, spliceErrorTable } = await import(pathToFileURL(join(dist, 'daemon', 'error-catalog.js')).href);
const docPath = join(root, 'docs', 'errors.md');
writeFileSync(docPath, spliceErrorTable(readFileSync(docPath, 'utf8'), buildCatalog(modules)));
console.log(`wrote ${docPath} (${Object.keys(modules).length} errors modules)`);
