// block-/network- attach and detach share this: xl-style spec strings in, the device view out.

import type { DeviceClass } from '../config/model.js';
import type { DeviceView } from '../lifecycle/api.js';
import type { ApiClient } from './client.js';
import { UsageError, clientCommand, enc, output } from './daemon-cli.js';
import { deviceLine } from './format.js';
import type { CliCommand } from './command.js';

export function attachCommand(devClass: DeviceClass, summary: string, usage: string, help: string): CliCommand {
  return clientCommand({
    summary,
    usage,
    help,
    positionals: 1,
    maxPositionals: 32,
    async run({ positionals, client, json }, io) {
      const [ref, ...parts] = positionals as [string, ...string[]];
      if (devClass === 'vbd' && parts.length === 0) throw new UsageError(`usage: tsxend ${usage}`);
      const spec = parts.join(',');
      const d = (await client().request<DeviceView>('POST', `/v1/domains/${enc(ref)}/devices`, { data: { class: devClass, spec } })).body;
      output(io, json, d, () => `attached to ${ref}:\n${deviceLine(d)}\n`);
      return 0;
    },
  });
}

/** Finds the devid named by a number, a vdev (xvdb) or a MAC. */
async function resolveDevid(api: ApiClient, ref: string, devClass: DeviceClass, which: string): Promise<number> {
  if (/^\d+$/.test(which)) return Number(which);
  const devices = await api.get<DeviceView[]>(`/v1/domains/${enc(ref)}/devices`);
  const key = devClass === 'vbd' ? 'vdev' : 'mac';
  const found = devices.find((d) => d.class === devClass && String((d.config as unknown as Record<string, unknown>)[key]).toLowerCase() === which.toLowerCase());
  if (!found) throw new UsageError(`${ref} has no ${devClass} with ${key} ${which} (devices: ${devices.filter((d) => d.class === devClass).map((d) => d.devid).join(', ') || 'none'})`);
  return found.devid;
}

export function detachCommand(devClass: DeviceClass, summary: string, usage: string): CliCommand {
  return clientCommand({
    summary,
    usage,
    options: { force: { type: 'boolean', short: 'f' } },
    positionals: 2,
    async run({ values, positionals, client, json }, io) {
      const [ref, which] = positionals as [string, string];
      const api = client();
      const devid = await resolveDevid(api, ref, devClass, which);
      await api.request('DELETE', `/v1/domains/${enc(ref)}/devices/${devClass}/${devid}${values.force ? '?force=true' : ''}`);
      output(io, json, { domain: ref, class: devClass, devid, detached: true }, () => `detached ${devClass} ${devid} from ${ref}\n`);
      return 0;
    },
  });
}
