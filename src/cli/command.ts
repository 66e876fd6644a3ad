// The shape of one CLI subcommand (see main.ts).

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  /** The terminal, for commands that stream raw bytes (console); absent in most tests. */
  readonly terminal?: CliTerminal;
}

/** Raw byte streams of the process's terminal (console attach). */
export interface CliTerminal {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  write(bytes: Uint8Array): void;
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

/** What shell completion offers after a command: its flags and what its arguments name. */
export interface CliCompletion {
  readonly flags: readonly string[];
  /** domain: names from the daemon; file: paths; else a fixed list of words (subcommands). */
  readonly args: 'domain' | 'file' | 'none' | readonly string[];
}

export interface CliCommand {
  readonly summary: string;
  readonly completion?: CliCompletion;
  run(argv: string[], io: CliIo): Promise<number>;
}
