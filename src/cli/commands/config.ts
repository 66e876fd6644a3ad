// `tsxend config check FILE...` and `tsxend config convert FILE --to xl|sxp|json`: the config
// layer from the command line, no daemon needed.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, formatConfig, formatProblemWithSource, parseConfig, type ConfigFormat, type ConfigProblem } from '../../config/index.js';
import { EXIT, type CliCommand, type CliIo } from '../command.js';

const USAGE = `usage: tsxend config check FILE...
       tsxend config convert FILE --to xl|sxp|json [--from xl|sxp|json]

check    validates each file (xl.cfg/xm, SXP or JSON, detected from the content); prints every
         problem of a file in one run (FILE:LINE:COL: message, the line, a caret under the
         column) and exits 1 if any file is invalid; --json prints them as JSON
convert  prints FILE in another format (warnings go to stderr)
`;

const FORMATS = new Set(['xl', 'sxp', 'json']);

async function load(file: string, io: CliIo, format?: ConfigFormat) {
  const text = await readFile(file, 'utf8');
  const result = parseConfig(text, { file, ...(format ? { format } : {}) });
  for (const w of result.warnings) io.stderr(`${formatProblemWithSource(w, text)} (warning)\n`);
  return result.config;
}

async function check(args: string[], io: CliIo): Promise<number> {
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.length === 0 || files.some((f) => f.startsWith('-') && f !== '-')) {
    io.stderr(USAGE);
    return EXIT.usage;
  }
  let bad = 0;
  const report: { file: string; ok: boolean; code?: string; problems: ConfigProblem[] }[] = [];
  for (const file of files) {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
      const result = parseConfig(text, { file });
      if (!json) for (const w of result.warnings) io.stderr(`${formatProblemWithSource(w, text)} (warning)\n`);
      report.push({ file, ok: true, problems: [] });
      if (!json) io.stdout(`${file}: ok\n`);
    } catch (err) {
      bad++;
      if (!(err instanceof ConfigError)) {
        report.push({ file, ok: false, problems: [{ file, message: (err as Error).message }] });
        if (!json) io.stdout(`${file}: ${(err as Error).message}\n`);
        continue;
      }
      const problems = err.problems.map((p) => ({ ...p, file: p.file ?? file }));
      report.push({ file, ok: false, code: err.code, problems });
      if (json) continue;
      for (const p of problems) io.stdout(`${formatProblemWithSource(p, text)}\n`);
      io.stdout(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} (${err.code})\n`);
    }
  }
  if (json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  return bad === 0 ? EXIT.ok : EXIT.failure;
}

export const command: CliCommand = {
  summary: 'check domain configs, or convert them between xl, SXP and JSON',
  completion: { flags: ['--json', '--to', '--from', '--help'], args: ['check', 'convert'] },
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
        const text = await readFile(positionals[0]!, 'utf8').catch(() => undefined);
        for (const p of err.problems) io.stderr(`${formatProblemWithSource({ ...p, file: p.file ?? positionals[0]! }, text)}\n`);
        return EXIT.failure;
      }
      io.stderr(`tsxend config: ${(err as Error).message}\n`);
      return EXIT.failure;
    }
  },
};
