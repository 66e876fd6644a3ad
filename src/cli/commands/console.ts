// tsxend console DOMAIN: the guest's console in this terminal, through the daemon (no xenconsole
// needed); Ctrl-] detaches.

import { attachConsole } from '../console-attach.js';
import { clientCommand } from '../daemon-cli.js';

export const command = clientCommand({
  summary: "attach to a domain's console (Ctrl-] detaches)",
  usage: 'console DOMAIN',
  help: "  Relays the terminal to the guest's console through the daemon: the simulated guest's\n  serial line on the embedded default, the pty xenconsoled serves on Xen. Ctrl-] detaches\n  and leaves the guest running.",
  positionals: 1,
  async run({ positionals, client }, io) {
    return attachConsole(client(), positionals[0] as string, io);
  },
});
