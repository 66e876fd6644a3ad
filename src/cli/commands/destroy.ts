import { clientCommand, enc, output } from '../daemon-cli.js';

export const command = clientCommand({
  summary: 'destroy a domain at once (its devices torn down, its nodes removed)',
  usage: 'destroy DOMAIN [--force]',
  options: { force: { type: 'boolean', short: 'f' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const ref = positionals[0] as string;
    const res = await client().request<{ uuid: string; domid?: number; leftovers: string[] }>('DELETE', `/v1/domains/${enc(ref)}${values.force ? '?force=true' : ''}`);
    const r = res.body;
    output(io, json, r, () =>
      r.leftovers.length === 0 ? `destroyed ${ref}\n` : `destroyed ${ref}, but these could not be removed:\n${r.leftovers.map((l) => `  ${l}\n`).join('')}`,
    );
    return r.leftovers.length === 0 ? 0 : 1;
  },
});
