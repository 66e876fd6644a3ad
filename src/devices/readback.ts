// Reads back a domain's devices from tsxend's bookkeeping under /libxl/<domid>/device, for the
// restart reconcile: what exists, where, in which state, with which config.

import type { DeviceClass, DeviceEntry } from '../config/model.js';
import type { DeviceState, DeviceView } from './api.js';
import type { XenstoreClient } from '../xenstore/types.js';

const STATE: Record<string, DeviceState> = { '1': 'initialising', '2': 'init-wait', '3': 'init-wait', '4': 'connected', '5': 'closing', '6': 'closed' };

export async function readDevices(xs: XenstoreClient, domid: number): Promise<DeviceView[]> {
  const root = `/libxl/${domid}/device`;
  const out: DeviceView[] = [];
  for (const kind of (await xs.tryDirectory(root)) ?? []) {
    for (const devid of (await xs.tryDirectory(`${root}/${kind}`)) ?? []) {
      const base = `${root}/${kind}/${devid}`;
      const [frontend, backend, uuid, cls, config] = await Promise.all(['frontend', 'backend', 'uuid', 'class', 'config'].map((k) => xs.tryRead(`${base}/${k}`)));
      if (!frontend || !backend || !uuid || !cls || !config) continue;
      const state = await xs.tryRead(`${backend}/state`);
      let parsed: DeviceEntry['config'];
      try {
        parsed = JSON.parse(config) as DeviceEntry['config'];
      } catch {
        continue;
      }
      out.push({
        uuid,
        class: cls as DeviceClass,
        devid: Number(devid),
        state: state === undefined ? 'error' : (STATE[state] ?? 'error'),
        backendDomid: Number(/^\/local\/domain\/(\d+)\//.exec(backend)?.[1] ?? 0),
        frontendPath: frontend,
        backendPath: backend,
        config: parsed,
      });
    }
  }
  return out;
}
