// Shared plumbing for the subcommands that talk to the daemon: common options (--connect,
// --token-file, --ca-file, --json, --help), error printing (code, message, cause chain, config
// problems with file:line:col; --json prints the raw body) and exit codes with a meaning.

import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, ApiError, UnreachableError } from './client.js';
import { EXIT, type CliCommand, type CliCompletion, type CliIo } from './command.js';
import { E_DAEMON_UNREACHABLE } from '../daemon/errors.js';
import { formatProblemWithSource } from '../config/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  connect: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const COMMON_HELP = `common options:
  --connect unix:PATH|https://HOST:PORT   the daemon (default: $TSXEND_CONNECT or the local socket)
  --token-file FILE                       API token for TCP (default: $TSXEND_TOKEN_FILE)
  --ca-file FILE                          CA bundle for a daemon with a private certificate
  --json                                  machine-readable output
`;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  client: () => ApiClient;
  json: boolean;
}

export class UsageError extends Error {}

/** Reads a config file named on the command line; an unreadable one is a usage error. */
export function readInputFile(command: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${command}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Runs a request that carries a config text: its problems are then printed with their lines. */
export async function withConfigSource<T>(source: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (err instanceof ApiError) err.source = source;
    throw err;
  }
}

/** Maps an HTTP status to the CLI's exit codes. */
export function exitForStatus(status: number): number {
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 503 || status === 401) return status === 503 ? EXIT.unavailable : EXIT.failure;
  return EXIT.failure;
}

export function printError(io: CliIo, err: unknown, json: boolean): number {
  if (err instanceof UsageError) {
    io.stderr(`tsxend: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof ApiError) {
    if (json) io.stdout(JSON.stringify(err.body) + '\n');
    const problems = err.body.problems ?? [];
    // Config problems are listed each with its line and a caret, as `config check` does.
    const lines = [problems.length > 0 ? `tsxend: ${err.body.code}: ${problems.length} problem${problems.length === 1 ? '' : 's'}` : `tsxend: ${err.body.code}: ${err.body.message}`];
    for (const p of problems) {
      const shown = formatProblemWithSource({ ...p, message: p.message ?? JSON.stringify(p) }, err.source);
      lines.push(...shown.split('\n').map((l) => `  ${l}`));
    }
    for (const c of err.body.cause ?? []) lines.push(`  caused by: ${c.code ? `${c.code}: ` : ''}${c.message}`);
    io.stderr(lines.join('\n') + '\n');
    return exitForStatus(err.status);
  }
  if (err instanceof UnreachableError) {
    if (json) io.stdout(JSON.stringify({ code: E_DAEMON_UNREACHABLE.code, message: err.message }) + '\n');
    io.stderr(`tsxend: ${err.message}\n  is the daemon running? start it with 'tsxend serve' or 'systemctl start tsxend'; 'tsxend doctor' checks the host\n`);
    return EXIT.unavailable;
  }
  io.stderr(`tsxend: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.failure;
}

export interface ClientCommandSpec {
  readonly summary: string;
  /** e.g. `pause DOMAIN` */
  readonly usage: string;
  readonly help?: string;
  readonly options?: Options;
  /** Positional arguments required (exactly, unless `maxPositionals` says more are fine). */
  readonly positionals: number;
  readonly maxPositionals?: number;
  run(p: Parsed, io: CliIo): Promise<number>;
}

/** Completion from the spec: its flags, and what its usage line says the first argument is. */
function completionOf(spec: ClientCommandSpec): CliCompletion {
  const options = { ...COMMON_OPTIONS, ...spec.options };
  const flags = Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...('short' in o && typeof o.short === 'string' ? [`-${o.short}`] : [])]);
  const first = spec.usage.split(' ').slice(1).map((w) => w.replace(/[[\].]/g, '')).find((w) => /^[A-Z]+$/.test(w));
  return { flags, args: first === 'DOMAIN' ? 'domain' : first === 'FILE' ? 'file' : 'none' };
}

/** Builds a CliCommand from a spec: parsing, --help, errors and exit codes done once here. */
export function clientCommand(spec: ClientCommandSpec): CliCommand {
  return {
    summary: spec.summary,
    completion: completionOf(spec),
    async run(argv, io) {
      let json = argv.includes('--json');
      try {
        const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...spec.options }, allowPositionals: true, strict: true });
        json = values.json === true;
        if (values.help) {
          io.stdout(`usage: tsxend ${spec.usage}\n\n${spec.summary}\n${spec.help ? `\n${spec.help}\n` : ''}\n${COMMON_HELP}`);
          return EXIT.ok;
        }
        const max = spec.maxPositionals ?? spec.positionals;
        if (positionals.length < spec.positionals || positionals.length > max) throw new UsageError(`usage: tsxend ${spec.usage}`);
        const client = (): ApiClient =>
          new ApiClient(
            {
              ...(typeof values.connect === 'string' ? { connect: values.connect } : {}),
              ...(typeof values['token-file'] === 'string' ? { tokenFile: values['token-file'] } : {}),
              ...(typeof values['ca-file'] === 'string' ? { caFile: values['ca-file'] } : {}),
            },
            io.env,
          );
        return await spec.run({ values, positionals, client, json }, io);
      } catch (err) {
        if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return printError(io, new UsageError(`${err.message}\nusage: tsxend ${spec.usage}`), json);
        return printError(io, err, json);
      }
    },
  };
}

/** Prints a value as JSON (with --json) or through the human formatter. */
export function output(io: CliIo, json: boolean, value: unknown, human: () => string): void {
  io.stdout(json ? JSON.stringify(value, null, 2) + '\n' : human());
}

export const enc = encodeURIComponent;
