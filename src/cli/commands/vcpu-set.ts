import type { DomainView } from '../../lifecycle/api.js';
import { UsageError, clientCommand, enc, output } from '../daemon-cli.js';

export const command = clientCommand({
  summary: 'set the number of online vcpus of a domain',
  usage: 'vcpu-set DOMAIN COUNT',
  positionals: 2,
  async run({ positionals, client, json }, io) {
    const vcpus = Number(positionals[1]);
    if (!Number.isInteger(vcpus) || vcpus < 1) throw new UsageError(`vcpu-set: '${positionals[1]}' is not a positive whole number`);
    const d = (await client().request<DomainView>('PUT', `/v1/domains/${enc(positionals[0] as string)}/vcpus`, { data: { vcpus } })).body;
    output(io, json, d, () => `${d.name}: ${d.config.vcpus} vcpus\n`);
    return 0;
  },
});
