// tsxend create FILE: sends the config in one request and shows each step as it happens (each
// device as it comes up) from the event stream, subscribed *before* the create from the seq the
// domain list is current to, so no step can be missed.

import { basename, extname } from 'node:path';
import type { TaskView } from '../../lifecycle/api.js';
import { EXIT } from '../command.js';
import { clientCommand, readInputFile, output, withConfigSource } from '../daemon-cli.js';
import { eventLine } from '../format.js';
import { followTask, showDomain } from '../follow.js';

const CONTENT_TYPES: Record<string, string> = { '.sxp': 'application/x-sxp', '.json': 'application/json' };

export const command = clientCommand({
  summary: 'create a domain from a config file (xl.cfg/xm, .sxp or .json), showing each device as it comes up',
  usage: 'create FILE [-c] [-p] [--managed] [--no-wait] [--quiet] [--format xl|sxp|json]',
  help: '  -c          attach to the console once the domain runs (Ctrl-] detaches)\n  -p          leave the domain paused once its devices are up\n  --managed   also keep the config in the state directory (a managed domain)\n  --no-wait   print the task and return at once\n  --quiet     no progress lines',
  options: {
    console: { type: 'boolean', short: 'c' },
    paused: { type: 'boolean', short: 'p' },
    managed: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    format: { type: 'string' },
  },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const file = positionals[0] as string;
    const text = readInputFile('create', file);
    const fmt = typeof values.format === 'string' ? values.format : undefined;
    const contentType = fmt === 'sxp' ? 'application/x-sxp' : fmt === 'json' ? 'application/json' : fmt === 'xl' ? 'text/plain' : (CONTENT_TYPES[extname(file)] ?? 'text/plain');
    const qs = new URLSearchParams({ wait: 'false' });
    if (values.paused) qs.set('paused', 'true');
    if (values.managed) qs.set('managed', 'true');
    const api = client();
    const progress = !json && values.quiet !== true && values['no-wait'] !== true;

    const run = await withConfigSource(text, () =>
      followTask(api, {
        show: progress,
        what: 'create',
        start: async () => (await api.request<{ task: TaskView; uuid?: string }>('POST', `/v1/domains?${qs.toString()}`, { data: text, contentType }, { 'x-tsxend-filename': basename(file) })).body,
        mine: (e, body) => (body.uuid ?? body.task.domainUuid) !== undefined && e.uuid === (body.uuid ?? body.task.domainUuid),
        onEvent: (e) => io.stdout(eventLine(e)),
      }),
    );
    try {
      const uuid = run.body.uuid ?? run.body.task.domainUuid;
      if (values['no-wait']) {
        output(io, json, run.body, () => `creating ${uuid ?? ''}: task ${run.body.task.id} (tsxend events, or GET /v1/tasks/${run.body.task.id})\n`);
        return EXIT.ok;
      }
      const task = await run.wait();
      return await showDomain(api, io, json, run, uuid ?? task.domainUuid ?? '', values.console === true);
    } finally {
      run.close();
    }
  },
});
