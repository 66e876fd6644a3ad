// A small device test bench: the mock xenstored on a private socket (so backend daemons and
// scripts can reach it), the kernel-backend simulator, and a fake hotplug runner that does what
// the real block/vif-bridge scripts do to the store.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeviceManager, FakeHotplugRunner } from '../../src/devices/index.js';
import { simfbCommand, startBackendSimulator, type Simulator } from '../../src/sim/index.js';
import type { DeviceManager, DomainDeviceContext } from '../../src/devices/api.js';
import type { HotplugRequest } from '../../src/devices/hotplug.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';

export interface Bench {
  mock: MockXenstored;
  xs: XenstoreClient;
  socket: string;
  hotplug: FakeHotplugRunner;
  dm: DeviceManager;
  backends: Simulator;
  ctx(domid: number, uuid?: string): DomainDeviceContext;
  events: { type: string; devClass: string; devid: number }[];
  close(): Promise<void>;
}

/** What the real scripts write on success: physical-device (block) and hotplug-status. */
export function scriptLike(xs: XenstoreClient, respond?: (req: HotplugRequest) => Promise<{ exitCode?: number; timedOut?: boolean; stderrTail?: string } | undefined>) {
  return async (req: HotplugRequest) => {
    const custom = await respond?.(req);
    if (custom) return custom;
    const be = `/local/domain/0/${req.env['XENBUS_PATH']!}`;
    if (req.args[0] === 'add' || req.args[0] === 'online') {
      if (req.env['XENBUS_TYPE'] === 'vbd') await xs.write(`${be}/physical-device`, 'fe:0');
      await xs.write(`${be}/hotplug-status`, 'connected');
    }
    return { exitCode: 0 };
  };
}

export async function startBench(options: { respond?: Parameters<typeof scriptLike>[1]; dm?: Partial<Parameters<typeof createDeviceManager>[0]> } = {}): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-dev-'));
  const socket = join(dir, 'xenstored.sock');
  const mock = new MockXenstored();
  await mock.listen(socket);
  const xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
  // What xen-init-dom0 leaves on every host: dom0's home.
  await xs.write('/local/domain/0/domid', '0');
  const hotplug = new FakeHotplugRunner(scriptLike(xs, options.respond));
  const dm = createDeviceManager({ hotplug, xenstoredPath: socket, vfbCommand: simfbCommand(), ...options.dm });
  const backends = await startBackendSimulator(await openXenstore({ kind: 'embedded' }, { embedded: mock }), { kinds: ['vbd', 'qdisk', 'vif', 'vtpm', 'console', 'vinput'] });
  const events: Bench['events'] = [];
  return {
    mock,
    xs,
    socket,
    hotplug,
    dm,
    backends,
    events,
    ctx: (domid, uuid = `00000000-0000-4000-8000-${String(domid).padStart(12, '0')}`) => ({
      xs,
      domid,
      uuid,
      name: `guest${domid}`,
      signal: new AbortController().signal,
      deadline: Date.now() + 15_000,
      emit: (e) => events.push({ type: e.type, devClass: e.devClass, devid: e.devid }),
    }),
    async close() {
      await backends.stop();
      await xs.close();
      await mock.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
