import type { DomainView } from '../../lifecycle/api.js';
import { UsageError, clientCommand, enc, output } from '../daemon-cli.js';

export const command = clientCommand({
  summary: "set a domain's memory target in MiB",
  usage: 'mem-set DOMAIN MIB',
  positionals: 2,
  async run({ positionals, client, json }, io) {
    const mib = Number(positionals[1]);
    if (!Number.isInteger(mib) || mib < 1) throw new UsageError(`mem-set: '${positionals[1]}' is not a positive whole number of MiB`);
    const d = (await client().request<DomainView>('PUT', `/v1/domains/${enc(positionals[0] as string)}/memory`, { data: { mib } })).body;
    output(io, json, d, () => `${d.name}: memory ${d.config.memory} MiB\n`);
    return 0;
  },
});
