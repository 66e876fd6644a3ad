// tsxend console DOMAIN: the guest's console in this terminal, through the daemon (no xenconsole
// needed); Ctrl-] detaches.

import { attachConsole } from '../console-attach.js';
import { UsageError, clientCommand } from '../daemon-cli.js';

export const command = clientCommand({
  summary: "attach to a domain's console (Ctrl-] detaches)",
  usage: 'console DOMAIN [--timeout SECONDS]',
  help:
    "  Relays the terminal to the guest's console through the daemon: the simulated guest's\n  serial line on the embedded default, the pty xenconsoled serves on Xen. Ctrl-] detaches\n  and leaves the guest running.\n\n  --timeout SECONDS   detach after that long (exit 0), for scripts: piped input is typed,\n                      and what the guest prints meanwhile goes to stdout\n                      (printf 'uname -a\\r' | tsxend console web1 --timeout 5)",
  options: { timeout: { type: 'string' } },
  positionals: 1,
  async run({ values, positionals, client }, io) {
    const seconds = values.timeout === undefined ? undefined : Number(values.timeout);
    if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) throw new UsageError('--timeout takes a number of seconds');
    return attachConsole(client(), positionals[0] as string, io, seconds === undefined ? {} : { timeoutMs: seconds * 1000 });
  },
});
