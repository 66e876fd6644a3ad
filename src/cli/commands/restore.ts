// tsxend restore FILE: a new domain from an image file on the daemon's host (xl restore),
// showing each step and device as it comes up, as create does.

import { resolve } from 'node:path';
import type { TaskView } from '../../lifecycle/api.js';
import { EXIT } from '../command.js';
import { clientCommand, output } from '../daemon-cli.js';
import { followTask, showDomain } from '../follow.js';
import { eventLine } from '../format.js';

export const command = clientCommand({
  summary: "restore a domain from an image file on the daemon's host (xl restore)",
  usage: 'restore FILE [-p] [-c] [--no-wait] [--quiet]',
  help: "  -p          leave the restored domain paused\n  -c          attach to the console once it runs (Ctrl-] detaches)\n  --no-wait   print the task and return at once\n  --quiet     no progress lines\n  FILE is a path on the daemon's host (a relative one is made absolute here)",
  options: { paused: { type: 'boolean', short: 'p' }, console: { type: 'boolean', short: 'c' }, 'no-wait': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const file = resolve(positionals[0] as string);
    const api = client();
    const run = await followTask(api, {
      show: !json && values.quiet !== true && values['no-wait'] !== true,
      what: 'restore',
      start: async () => (await api.request<{ task: TaskView }>('POST', '/v1/restore?wait=false', { data: { file, ...(values.paused ? { paused: true } : {}) } })).body,
      onEvent: (e) => io.stdout(eventLine(e)),
    });
    try {
      if (values['no-wait']) {
        output(io, json, run.body, () => `restoring ${file}: task ${run.body.task.id} (tsxend events, or GET /v1/tasks/${run.body.task.id})\n`);
        return EXIT.ok;
      }
      const task = await run.wait();
      return await showDomain(api, io, json, run, task.domainUuid ?? '', values.console === true);
    } finally {
      run.close();
    }
  },
});
