import type { DomainView, TaskView } from '../../lifecycle/api.js';
import { clientCommand, enc, output } from '../daemon-cli.js';
import { taskLine } from '../format.js';

export const command = clientCommand({
  summary: 'ask a domain to shut down (-H halt, -R reboot); waits unless --no-wait',
  usage: 'shutdown DOMAIN [-H|-R] [--no-wait]',
  options: { halt: { type: 'boolean', short: 'H' }, reboot: { type: 'boolean', short: 'R' }, 'no-wait': { type: 'boolean' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const mode = values.reboot ? 'reboot' : values.halt ? 'halt' : 'poweroff';
    const wait = values['no-wait'] ? '?wait=false' : '';
    const res = await client().request<DomainView | { task: TaskView }>('POST', `/v1/domains/${enc(positionals[0] as string)}/shutdown${wait}`, { data: { mode } });
    const b = res.body;
    output(io, json, b, () => ('task' in b ? taskLine(b.task) : `${b.name}: ${b.state}\n`));
    return 0;
  },
});
