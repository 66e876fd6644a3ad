import { readFileSync } from 'node:fs';
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  summary: 'print the tsxend version',
  completion: { flags: [], args: 'none' },
  async run(_argv, io) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    io.stdout(`tsxend ${pkg.version}\n`);
    return 0;
  },
};
