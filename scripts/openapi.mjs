// Regenerates docs/openapi.json from the route schemas: `npm run openapi` (builds first).
import { writeFileSync } from 'node:fs';
import { generateOpenApi, renderOpenApi } from '../dist/daemon/openapi.js';

const out = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(out, renderOpenApi(await generateOpenApi()));
console.log(`wrote ${out.pathname}`);
