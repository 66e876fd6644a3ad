// tsxend migrate DOMAIN DEST: sends a running domain to the tsxend at DEST (unix:PATH or
// https://HOST:PORT), live by default, showing the copy; DEST's token and CA are read here and
// handed to this daemon, which speaks to DEST itself.

import type { DomainView, MigrateReport, TaskView } from '../../lifecycle/api.js';
import { EXIT } from '../command.js';
import { clientCommand, enc, output, readInputFile } from '../daemon-cli.js';
import { followTask } from '../follow.js';
import { eventLine, mib } from '../format.js';

/** The first line of a token file that is not blank or a comment (as the daemon reads its own). */
const firstToken = (text: string): string | undefined => text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));

export const command = clientCommand({
  summary: 'send a running domain to another tsxend (live: it keeps running while its memory is copied)',
  usage: 'migrate DOMAIN DEST [--no-live] [--dest-token-file FILE] [--dest-ca-file FILE] [--no-wait] [--quiet]',
  help: "  DEST                    the other tsxend: unix:PATH or https://HOST:PORT\n  --no-live               stop the guest first, then copy (shorter total, longer downtime)\n  --dest-token-file FILE  DEST's API token (for https)\n  --dest-ca-file FILE     CA bundle for DEST's certificate\n  --no-wait               print the task and return at once\n  --quiet                 no progress lines",
  options: { 'no-live': { type: 'boolean' }, 'dest-token-file': { type: 'string' }, 'dest-ca-file': { type: 'string' }, 'no-wait': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
  positionals: 2,
  async run({ values, positionals, client, json }, io) {
    const [ref, destination] = positionals as [string, string];
    const tokenFile = typeof values['dest-token-file'] === 'string' ? values['dest-token-file'] : undefined;
    const caFile = typeof values['dest-ca-file'] === 'string' ? values['dest-ca-file'] : undefined;
    const token = tokenFile === undefined ? undefined : firstToken(readInputFile('migrate', tokenFile));
    const ca = caFile === undefined ? undefined : readInputFile('migrate', caFile);
    const api = client();
    const dom = await api.get<DomainView>(`/v1/domains/${enc(ref)}`);
    const body = { destination, ...(token === undefined ? {} : { token }), ...(ca === undefined ? {} : { ca }), ...(values['no-live'] ? { live: false } : {}) };
    const run = await followTask(api, {
      show: !json && values.quiet !== true && values['no-wait'] !== true,
      what: 'migration',
      start: async () => (await api.request<{ task: TaskView }>('POST', `/v1/domains/${enc(dom.uuid)}/migrate?wait=false`, { data: body })).body,
      onEvent: (e) => io.stdout(eventLine(e)),
    });
    try {
      if (values['no-wait']) {
        output(io, json, run.body, () => `migrating ${dom.name} to ${destination}: task ${run.body.task.id}\n`);
        return EXIT.ok;
      }
      const report = (await run.wait()).result as MigrateReport | undefined;
      output(io, json, report ?? { destination }, () =>
        report ? `migrated ${report.name} to ${report.destination}${report.live ? ' (live)' : ''}: ${mib(report.bytes)} sent, ${report.pages} pages, downtime ${report.downtimeMs} ms, ${report.totalMs} ms in all\n` : `migrated ${dom.name} to ${destination}\n`,
      );
      return EXIT.ok;
    } finally {
      run.close();
    }
  },
});
