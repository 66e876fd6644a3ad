// tsxend save DOMAIN FILE: suspends the guest and writes it to FILE (xl's image format) on the
// daemon's host, showing the copy's progress; the domain goes unless -c (checkpoint).

import { resolve } from 'node:path';
import type { DomainView, SaveReport, TaskView } from '../../lifecycle/api.js';
import { EXIT } from '../command.js';
import { clientCommand, enc, output } from '../daemon-cli.js';
import { followTask } from '../follow.js';
import { eventLine, mib } from '../format.js';

export const command = clientCommand({
  summary: "save a running domain to an image file on the daemon's host (xl save); -c keeps it running",
  usage: 'save DOMAIN FILE [-c] [--no-wait] [--quiet]',
  help: "  -c          checkpoint: write the image and keep the guest running\n  --no-wait   print the task and return at once\n  --quiet     no progress lines\n  FILE is a path on the daemon's host (a relative one is made absolute here)",
  options: { checkpoint: { type: 'boolean', short: 'c' }, 'no-wait': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
  positionals: 2,
  async run({ values, positionals, client, json }, io) {
    const [ref, file] = positionals as [string, string];
    const api = client();
    const dom = await api.get<DomainView>(`/v1/domains/${enc(ref)}`);
    const run = await followTask(api, {
      show: !json && values.quiet !== true && values['no-wait'] !== true,
      what: 'save',
      start: async () => (await api.request<{ task: TaskView }>('POST', `/v1/domains/${enc(dom.uuid)}/save?wait=false`, { data: { file: resolve(file), ...(values.checkpoint ? { checkpoint: true } : {}) } })).body,
      onEvent: (e) => io.stdout(eventLine(e)),
    });
    try {
      if (values['no-wait']) {
        output(io, json, run.body, () => `saving ${dom.name}: task ${run.body.task.id} (tsxend events, or GET /v1/tasks/${run.body.task.id})\n`);
        return EXIT.ok;
      }
      const report = (await run.wait()).result as SaveReport | undefined;
      output(io, json, report ?? { file: resolve(file) }, () =>
        report ? `saved ${report.name} to ${report.file}: ${mib(report.bytes)}, ${report.pages} pages, guest stopped ${report.downtimeMs} ms${report.checkpoint ? ' (still running)' : ''}\n` : `saved ${dom.name} to ${resolve(file)}\n`,
      );
      return EXIT.ok;
    } finally {
      run.close();
    }
  },
});
