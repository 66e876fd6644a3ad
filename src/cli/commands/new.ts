// tsxend new FILE: define a managed domain without starting it (xm new).

import { basename, extname } from 'node:path';
import type { DomainView } from '../../lifecycle/api.js';
import { UsageError, clientCommand, readInputFile, output, withConfigSource } from '../daemon-cli.js';

const CONTENT_TYPES: Record<string, string> = { '.sxp': 'application/x-sxp', '.json': 'application/json' };

export const command = clientCommand({
  summary: 'define a managed domain from a config file without starting it (xm new)',
  usage: 'new FILE [--autostart] [--autostart-order N]',
  options: { autostart: { type: 'boolean' }, 'autostart-order': { type: 'string' } },
  positionals: 1,
  async run({ values, positionals, client, json }, io) {
    const file = positionals[0] as string;
    const text = readInputFile('new', file);
    const qs = new URLSearchParams();
    if (values.autostart) qs.set('autostart', 'true');
    if (typeof values['autostart-order'] === 'string') {
      if (!/^\d+$/.test(values['autostart-order'])) throw new UsageError('--autostart-order takes a whole number');
      qs.set('autostartOrder', values['autostart-order']);
    }
    const contentType = CONTENT_TYPES[extname(file)] ?? 'text/plain';
    const api = client();
    const d = (await withConfigSource(text, () => api.request<DomainView>('POST', `/v1/managed-domains${qs.size > 0 ? `?${qs.toString()}` : ''}`, { data: text, contentType }, { 'x-tsxend-filename': basename(file) }))).body;
    output(io, json, d, () => `defined ${d.name} (uuid ${d.uuid})${d.autostart ? ', autostart' : ''}\n`);
    return 0;
  },
});
