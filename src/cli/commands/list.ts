import type { DomainView } from '../../lifecycle/api.js';
import { clientCommand, enc, output } from '../daemon-cli.js';
import { domainTable } from '../format.js';

export const command = clientCommand({
  summary: 'list domains (-l: the full model as JSON; --names: one name a line, for scripts and completion)',
  usage: 'list [-l] [--names] [--json] [DOMAIN...]',
  options: { long: { type: 'boolean', short: 'l' }, names: { type: 'boolean' } },
  positionals: 0,
  maxPositionals: 64,
  async run({ values, positionals, client, json }, io) {
    const api = client();
    const domains =
      positionals.length > 0
        ? await Promise.all(positionals.map((ref) => api.get<DomainView>(`/v1/domains/${enc(ref)}`)))
        : (await api.get<{ seq: number; domains: DomainView[] }>('/v1/domains')).domains;
    if (values.names === true && !json) io.stdout(domains.map((d) => `${d.name}\n`).join(''));
    else output(io, json || values.long === true, domains, () => domainTable(domains));
    return 0;
  },
});
