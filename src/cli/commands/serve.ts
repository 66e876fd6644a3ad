// tsxend serve: runs the daemon in the foreground (systemd runs it the same way).

import { hasTsxCode } from '../../errors.js';
import { E_SERVE_OPTIONS, E_SOCKET_IN_USE } from '../../daemon/errors.js';
import { DEFAULT_CONFIG_FILE, SERVE_KEYS, envName, resolveServeOptions } from '../../daemon/options.js';
import { EXIT, type CliCommand } from '../command.js';

const HELP = `usage: tsxend serve [options]

Runs the tsxend daemon in the foreground until SIGTERM or SIGINT (SIGHUP reopens the log file
and re-reads the config file).

  --xenstore embedded|socket:PATH   embedded (default): in-process mock xenstore and simulated
                                    hypervisor; socket:/run/xenstored/socket: a real xenstored
  --hypervisor simulated|xen|auto   the hypervisor (default: simulated when embedded, else auto:
                                    xen when /dev/xen/privcmd exists)
  --listen unix:PATH|tcp:HOST:PORT  where the API listens (repeatable; default a 0600 Unix socket
                                    in the runtime directory)
  --state-dir DIR                   managed domains' configs (default /var/lib/tsxend as root)
  --runtime-dir DIR                 the API socket (default /run/tsxend as root, else STATE/run)
  --token-file FILE                 API tokens, one a line (required for TCP listeners)
  --tls-cert FILE --tls-key FILE    serve HTTPS on TCP listeners (required off loopback)
  --log-level LEVEL                 fatal|error|warn|info|debug|trace (default info)
  --log-file FILE                   log here instead of stdout (reopened on SIGHUP)
  --max-parallel-creates N          creates running at once (default 8)
  --xenstore-wait SECONDS           how long rollbacks and destroys wait for a lost xenstored (default 10)
  --hotplug-timeout SECONDS         how long a hotplug script may run before it is killed (default 40)
  --device-model PATH               Xen's device model serving vfb/vkbd on real Xen
                                    (default /usr/libexec/xen-qemu-system-i386, qemu-system-xen)
  --create-timeout SECONDS          how long a create may take until every device is connected (default 60)
  --config FILE                     config file, one 'key = value' per option above
                                    (default ${DEFAULT_CONFIG_FILE} if it exists; $TSXEND_CONFIG)

Each option can also come from the environment (${SERVE_KEYS.map(envName).slice(0, 3).join(', ')}, ...).
Flags win over the environment, which wins over the config file.

Every listener also serves the web console at / (a TCP listener's page asks for a token).
On a terminal the log is one readable line per event, elsewhere JSON lines;
TSXEND_LOG_FORMAT=pretty|json decides instead.
`;

export const command: CliCommand = {
  summary: 'run the tsxend daemon (HTTP API, event stream) in the foreground',
  completion: { flags: [...SERVE_KEYS.map((k) => `--${k}`), '--config', '--help'], args: 'none' },
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const { startDaemon, handleSignals } = await import('../../daemon/server.js');
    const { loadWiring } = await import('../../daemon/wiring.js');
    try {
      const options = resolveServeOptions(argv, io.env);
      const wiring = await loadWiring();
      const daemon = await startDaemon(options, { ...wiring, env: io.env });
      const unhook = handleSignals(daemon);
      await daemon.stopped;
      unhook();
      return EXIT.ok;
    } catch (err) {
      if (hasTsxCode(err) && err.code === E_SERVE_OPTIONS.code) {
        io.stderr(`tsxend serve: ${err.message}\n`);
        return EXIT.usage;
      }
      if (hasTsxCode(err) && err.code === E_SOCKET_IN_USE.code) {
        io.stderr(`tsxend serve: ${err.message}\n`);
        return EXIT.conflict;
      }
      const cause = err instanceof Error && err.cause instanceof Error ? `\n  caused by: ${err.cause.message}` : '';
      io.stderr(`tsxend serve: ${hasTsxCode(err) ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}${cause}\n`);
      return hasTsxCode(err) && err.statusCode === 503 ? EXIT.unavailable : EXIT.failure;
    }
  },
};
