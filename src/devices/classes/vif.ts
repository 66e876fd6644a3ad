// Network interfaces: netback with the vif-bridge (or configured) hotplug script.

import type { DevController } from '../controller.js';
import { defined, genericBackend, genericFrontend, lowestFree, scriptPath } from './common.js';

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, b: 1 / 8, Kb: 1e3 / 8, Mb: 1e6 / 8, Gb: 1e9 / 8 };
const INTERVALS: Record<string, number> = { s: 1e6, ms: 1e3, us: 1 };

/** xl's rate: `<N><unit>/s[@<M><s|ms|us>]` → `<bytes per interval>,<interval µs>` (libxl). */
export function rateToXenstore(rate: string): string | undefined {
  const m = /^(\d+)(B|KB|MB|GB|b|Kb|Mb|Gb)\/s(?:@(\d+)(s|ms|us))?$/.exec(rate);
  if (!m) return undefined;
  const bytesPerSec = Number(m[1]) * UNITS[m[2]!]!;
  const interval = m[3] ? Number(m[3]) * INTERVALS[m[4]!]! : 50_000;
  const perInterval = Math.floor((bytesPerSec * interval) / 1e6);
  return perInterval > 0xffffffff ? '4294967295,0' : `${perInterval},${interval}`;
}

export const vif: DevController<'vif'> = {
  deviceClass: 'vif',
  frontendKind: 'vif',
  backendKind: () => 'vif',
  devid: (c, taken) => c.devid ?? lowestFree(taken),
  frontendState: true,
  activation: 'hotplug-script',
  script: (c) => scriptPath(c.script),
  scriptEnv: (c, ctx, devid) => ({ vif: c.vifname ?? `vif${ctx.domid}.${devid}`, netdev: c.gatewaydev ?? '' }),
  frontendEntries: (c, ctx, devid) => [...genericFrontend(ctx), ['handle', String(devid)], ['mac', c.mac], ['trusted', '1']],
  readonlyFrontendEntries: (c) => [['mtu', String(c.mtu ?? 1500)]],
  backendEntries: (c, ctx, devid) =>
    defined([
      ...genericBackend(ctx),
      ['script', scriptPath(c.script)],
      ['vifname', c.vifname],
      ['mac', c.mac],
      ['ip', c.ip],
      ['gatewaydev', c.gatewaydev],
      ['rate', c.rate === undefined ? undefined : rateToXenstore(c.rate)],
      ['mtu', c.mtu !== undefined && c.mtu !== 1500 ? String(c.mtu) : undefined],
      ['bridge', c.bridge],
      ['handle', String(devid)],
      ['type', c.type === 'ioemu' ? 'vif_ioemu' : 'vif'],
      // Pre-created empty: Linux netback waits for it to read `connected`.
      ['hotplug-status', ''],
    ]),
};
