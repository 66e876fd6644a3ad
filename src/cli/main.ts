// The tsxend command line. Each subcommand lives in its own module under ./commands/<name>.ts and
// exports `command: CliCommand`; main() loads only the one asked for, so a machine without Xen
// (or without a daemon) can still run every command that does not need them.
// Global options may come before the command, as with git -C, docker -H or virsh -c.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXIT, type CliCommand, type CliIo } from './command.js';

const commandsDir = fileURLToPath(new URL('./commands/', import.meta.url));

export async function commandNames(): Promise<string[]> {
  const files = await readdir(commandsDir);
  // .js when built; .ts when the sources run directly (the tests).
  const names = files.filter((f) => /\.[jt]s$/.test(f) && !/\.d\.[jt]s$/.test(f)).map((f) => f.slice(0, -3));
  return [...new Set(names)].sort();
}

export async function loadCommand(name: string): Promise<CliCommand | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return undefined;
  if (!(await commandNames()).includes(name)) return undefined;
  const files = await readdir(commandsDir);
  const file = files.includes(`${name}.js`) ? `${name}.js` : `${name}.ts`;
  const mod = (await import(/* @vite-ignore */ pathToFileURL(join(commandsDir, file)).href)) as { command: CliCommand };
  return mod.command;
}

const GLOBAL_HELP = `global options (before or after the command):
  --connect unix:PATH|https://HOST:PORT   the daemon (default: $TSXEND_CONNECT or the local socket)
  --token-file FILE                       API token for TCP (default: $TSXEND_TOKEN_FILE)
  --ca-file FILE                          CA bundle for a daemon with a private certificate
  --json                                  machine-readable output
  --help                                  this text, or a command's help`;

async function usage(io: CliIo): Promise<void> {
  const lines = ['usage: tsxend [global options] <command> [options]', '', 'commands:'];
  for (const name of await commandNames()) {
    const cmd = await loadCommand(name);
    if (cmd) lines.push(`  ${name.padEnd(16)}${cmd.summary}`);
  }
  lines.push('', GLOBAL_HELP, '', "Run 'tsxend <command> --help' for a command's options.");
  io.stdout(lines.join('\n') + '\n');
}

/** Global options that take a value, and the variable each stands for (as TSXEND_CONNECT does). */
const GLOBAL_VALUES: Record<string, string> = { '--connect': 'TSXEND_CONNECT', '--token-file': 'TSXEND_TOKEN_FILE', '--ca-file': 'TSXEND_CA_FILE' };

interface Globals {
  env: Record<string, string>;
  json: boolean;
  help: boolean;
  rest: string[];
}

/** Splits the global options written before the command from the command and its arguments. */
export function parseGlobals(argv: readonly string[]): Globals | { error: string } {
  const g: Globals = { env: {}, json: false, help: false, rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const variable = GLOBAL_VALUES[name];
    if (variable !== undefined) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') return { error: `${name} needs a value` };
      g.env[variable] = value;
    } else if (a === '--json') g.json = true;
    else if (a === '--help' || a === '-h') g.help = true;
    else return { error: `unknown global option '${a}' (global options: ${[...Object.keys(GLOBAL_VALUES), '--json', '--help'].join(', ')})` };
  }
  g.rest = argv.slice(i);
  return g;
}

export const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  terminal: { input: process.stdin, write: (bytes) => void process.stdout.write(bytes) },
};

/** Runs the CLI and answers the process exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const g = parseGlobals(argv);
  if ('error' in g) {
    io.stderr(`tsxend: ${g.error}\n`);
    return EXIT.usage;
  }
  const [name, ...rest] = g.rest;
  if (name === undefined || name === 'help') {
    await usage(io);
    return name === undefined && !g.help ? EXIT.usage : EXIT.ok;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    io.stderr(`tsxend: unknown command '${name}'\n`);
    await usage(io);
    return EXIT.usage;
  }
  if (g.help) return cmd.run(['--help'], io);
  // Options after the command win over those before it (they are the command's own flags).
  if (g.json) {
    if (cmd.completion && !cmd.completion.flags.includes('--json')) {
      io.stderr(`tsxend: ${name} has no --json output\n`);
      return EXIT.usage;
    }
    rest.push('--json');
  }
  return cmd.run(rest, Object.keys(g.env).length === 0 ? io : { ...io, env: { ...io.env, ...g.env } });
}
