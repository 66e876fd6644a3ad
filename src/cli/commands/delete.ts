// tsxend delete DOMAIN: forget a managed domain (xm delete); it must not be running.

import { clientCommand, enc, output } from '../daemon-cli.js';

export const command = clientCommand({
  summary: 'forget a managed domain (xm delete); destroy or shut it down first',
  usage: 'delete DOMAIN',
  positionals: 1,
  async run({ positionals, client, json }, io) {
    const ref = positionals[0] as string;
    await client().request('DELETE', `/v1/managed-domains/${enc(ref)}`);
    output(io, json, { domain: ref, deleted: true }, () => `deleted ${ref}\n`);
    return 0;
  },
});
