import type { DomainView } from '../../lifecycle/api.js';
import { clientCommand, enc, output } from '../daemon-cli.js';

export const command = clientCommand({
  summary: 'pause a domain',
  usage: 'pause DOMAIN',
  positionals: 1,
  async run({ positionals, client, json }, io) {
    const d = (await client().request<DomainView>('POST', `/v1/domains/${enc(positionals[0] as string)}/pause`)).body;
    output(io, json, d, () => `${d.name}: ${d.state}\n`);
    return 0;
  },
});
