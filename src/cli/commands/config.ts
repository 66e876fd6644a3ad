// `tsxend config check FILE...` and `tsxend config convert FILE --to xl|sxp|json`: the config
// layer from the command line, no daemon needed.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, formatConfig, formatProblem, parseConfig, type ConfigFormat } from '../../config/index.js';
import { EXIT, type CliCommand, type CliIo } from '../command.js';

const USAGE = `usage: tsxend config check FILE...
       tsxend config convert FILE --to xl|sxp|json [--from xl|sxp|json]

check    validates each file (xl.cfg/xm, SXP or JSON, detected from the content); prints every
         problem as FILE:LINE:COL: message and exits 1 if any file is invalid
convert  prints FILE in another format (warnings go to stderr)
`;

const FORMATS = new Set(['xl', 'sxp', 'json']);

async function load(file: string, io: CliIo, format?: ConfigFormat) {
  const text = await readFile(file, 'utf8');
  const result = parseConfig(text, { file, ...(format ? { format } : {}) });
  for (const w of result.warnings) io.stderr(`${formatProblem(w)} (warning)\n`);
  return result.config;
}

async function check(files: string[], io: CliIo): Promise<number> {
  if (files.length === 0) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  let bad = 0;
  for (const file of files) {
    try {
      await load(file, io);
      io.stdout(`${file}: ok\n`);
    } catch (err) {
      bad++;
      if (err instanceof ConfigError) for (const p of err.problems) io.stdout(`${formatProblem({ ...p, file: p.file ?? file })}\n`);
      else io.stdout(`${file}: ${(err as Error).message}\n`);
    }
  }
  return bad === 0 ? EXIT.ok : EXIT.failure;
}

export const command: CliCommand = {
  summary: 'check domain configs, or convert them between xl, SXP and JSON',
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'check') return check(rest, io);
    if (sub !== 'convert') {
      io.stderr(USAGE);
      return sub === '--help' || sub === '-h' ? EXIT.ok : EXIT.usage;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, allowPositionals: true, options: { to: { type: 'string' }, from: { type: 'string' } } });
    } catch (err) {
      io.stderr(`tsxend config: ${(err as Error).message}\n${USAGE}`);
      return EXIT.usage;
    }
    const { values, positionals } = parsed;
    const to = values.to;
    const from = values.from;
    if (positionals.length !== 1 || !to || !FORMATS.has(to) || (from !== undefined && !FORMATS.has(from))) {
      io.stderr(USAGE);
      return EXIT.usage;
    }
    try {
      const config = await load(positionals[0]!, io, from as ConfigFormat | undefined);
      io.stdout(formatConfig(config, to as ConfigFormat));
      return EXIT.ok;
    } catch (err) {
      if (err instanceof ConfigError) {
        for (const p of err.problems) io.stderr(`${formatProblem({ ...p, file: p.file ?? positionals[0]! })}\n`);
        return EXIT.failure;
      }
      io.stderr(`tsxend config: ${(err as Error).message}\n`);
      return EXIT.failure;
    }
  },
};
