// `tsxend xenstored --socket PATH`: runs the mock xenstored standalone on a Unix socket, so
// real clients (xenstore-* tools, test-xenstore, pyxs, a tsxend daemon) can use it through
// XENSTORED_PATH. Stops cleanly on SIGTERM/SIGINT and removes its socket.

import pino from 'pino';
import { MockXenstored } from '../../xenstore/mock/index.js';
import { EXIT, type CliCommand } from '../command.js';

const USAGE = `usage: tsxend xenstored [--socket PATH] [--log-level LEVEL]

Runs the embedded mock xenstored (cxenstored 4.17 semantics) on a Unix socket.
  --socket PATH       where to listen (default: $XENSTORED_PATH)
  --log-level LEVEL   pino level: fatal error warn info debug trace (default info)
Stops on SIGTERM or SIGINT and removes the socket.
`;

interface Args {
  socket: string | undefined;
  level: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Args | string {
  const args: Args = { socket: env.XENSTORED_PATH, level: 'info' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--socket': {
        const v = value();
        if (!v) return '--socket needs a path';
        args.socket = v;
        break;
      }
      case '--log-level': {
        const v = value();
        if (!v || !['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v)) return '--log-level needs a pino level';
        args.level = v;
        break;
      }
      default:
        return `unknown argument '${a}'`;
    }
  }
  return args;
}

export const command: CliCommand = {
  summary: 'run the mock xenstored on a Unix socket',
  completion: { flags: ['--socket', '--log-level', '--help'], args: 'none' },
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    const args = parse(argv, io.env);
    if (typeof args === 'string' || args.socket === undefined) {
      io.stderr(`tsxend xenstored: ${typeof args === 'string' ? args : 'no socket: give --socket PATH or set XENSTORED_PATH'}\n${USAGE}`);
      return EXIT.usage;
    }
    const log = pino(
      { level: args.level, base: { pid: process.pid, service: 'tsxend-xenstored' }, timestamp: pino.stdTimeFunctions.isoTime },
      { write: (s: string) => io.stdout(s) },
    );
    const xs = new MockXenstored({ log });
    try {
      await xs.listen(args.socket);
    } catch (err) {
      log.error({ err, socket: args.socket }, 'cannot listen');
      return EXIT.unavailable;
    }
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info({ signal }, 'stopping');
    await xs.close();
    return EXIT.ok;
  },
};
