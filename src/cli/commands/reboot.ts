import type { DomainView, TaskView } from '../../lifecycle/api.js';
import { clientCommand, enc, output } from '../daemon-cli.js';
import { taskLine } from '../format.js';

export const command = clientCommand({
  summary: 'ask a domain to reboot; waits unless --no-wait',
  usage: 'reboot DOMAIN [--no-wait]',
  options: { 'no-wait': { type: 'boolean' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const wait = values['no-wait'] ? '?wait=false' : '';
    const b = (await client().request<DomainView | { task: TaskView }>('POST', `/v1/domains/${enc(positionals[0] as string)}/reboot${wait}`)).body;
    output(io, json, b, () => ('task' in b ? taskLine(b.task) : `${b.name}: ${b.state}\n`));
    return 0;
  },
});
