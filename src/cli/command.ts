// The shape of one CLI subcommand (see main.ts).

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes with a meaning scripts can rely on. */
export const EXIT = {
  ok: 0,
  failure: 1, // the operation was refused or failed
  usage: 2, // bad command line
  unavailable: 3, // daemon or xenstore unreachable
  notFound: 4, // the named domain, device or task does not exist
  conflict: 5, // wrong state, name taken
} as const;

export interface CliCommand {
  readonly summary: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
