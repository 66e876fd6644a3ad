// The tsxend command line. Each subcommand lives in its own module under ./commands/<name>.ts and
// exports `command: CliCommand`; main() loads only the one asked for, so a machine without Xen
// (or without a daemon) can still run every command that does not need them.

import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CliCommand, CliIo } from './command.js';

const commandsDir = fileURLToPath(new URL('./commands/', import.meta.url));

async function commandNames(): Promise<string[]> {
  const files = await readdir(commandsDir);
  return files
    .filter((f) => f.endsWith('.js') && !f.endsWith('.d.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<CliCommand | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return undefined;
  if (!(await commandNames()).includes(name)) return undefined;
  const mod = (await import(`./commands/${name}.js`)) as { command: CliCommand };
  return mod.command;
}

async function usage(io: CliIo): Promise<void> {
  const lines = ['usage: tsxend <command> [options]', '', 'commands:'];
  for (const name of await commandNames()) {
    const cmd = await loadCommand(name);
    if (cmd) lines.push(`  ${name.padEnd(16)}${cmd.summary}`);
  }
  lines.push('', "Run 'tsxend <command> --help' for a command's options.");
  io.stdout(lines.join('\n') + '\n');
}

export const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

/** Runs the CLI and answers the process exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await usage(io);
    return name === undefined ? 2 : 0;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    io.stderr(`tsxend: unknown command '${name}'\n`);
    await usage(io);
    return 2;
  }
  return cmd.run(rest, io);
}
