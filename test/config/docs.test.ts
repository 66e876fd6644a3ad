// Every example in docs/config.md parses (the doc and the code cannot drift apart silently).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, UNSUPPORTED_KEYS } from '../../src/config/index.js';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```(xl|sxp|json)\n([\s\S]*?)```/g)].map((m) => ({ format: m[1] as 'xl' | 'sxp' | 'json', text: m[2]! }));

describe('docs/config.md', () => {
  it('has examples of every format', () => {
    expect(new Set(blocks.map((b) => b.format))).toEqual(new Set(['xl', 'sxp', 'json']));
  });

  blocks.forEach((b, i) => {
    it(`example ${i + 1} (${b.format}) parses without warnings`, () => {
      const { config, warnings } = parseConfig(b.text, { format: b.format, file: `docs/config.md#${i + 1}` });
      expect(config.name.length).toBeGreaterThan(0);
      expect(warnings).toEqual([]);
    });
  });

  it('lists every key that is not supported yet', () => {
    for (const key of UNSUPPORTED_KEYS) expect(doc).toContain(`\`${key}\``);
  });
});
