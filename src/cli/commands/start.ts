// tsxend start DOMAIN: start a defined (managed) domain (xm start).

import type { DomainView } from '../../lifecycle/api.js';
import { clientCommand, enc, output } from '../daemon-cli.js';
import { domainSummary } from '../format.js';

export const command = clientCommand({
  summary: 'start a managed domain (xm start); -p leaves it paused',
  usage: 'start DOMAIN [-p]',
  options: { paused: { type: 'boolean', short: 'p' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const d = (await client().request<DomainView>('POST', `/v1/domains/${enc(positionals[0] as string)}/start${values.paused ? '?paused=true' : ''}`)).body;
    output(io, json, d, () => domainSummary(d));
    return 0;
  },
});
