// Simulated hotplug scripts, for the simulated hypervisor: what Debian's `block` and
// `vif-bridge` write to the store on success (physical-device, hotplug-status=connected),
// without touching the host (no loop devices, no bridges). With real Xen, RealHotplugRunner
// runs the real scripts.

import type { XenstoreClient } from '../../xenstore/types.js';
import type { HotplugRequest, HotplugResult, HotplugRunner } from '../hotplug.js';

export class SimulatedHotplugRunner implements HotplugRunner {
  constructor(private readonly xs: XenstoreClient) {}

  async run(req: HotplugRequest): Promise<HotplugResult> {
    const started = Date.now();
    const be = `/local/domain/0/${req.env['XENBUS_PATH'] ?? ''}`;
    if (req.args[0] === 'add' || req.args[0] === 'online') {
      await this.xs.transaction(async (tx) => {
        const ops = [tx.write(`${be}/hotplug-status`, 'connected')];
        if (req.env['XENBUS_TYPE'] === 'vbd') ops.unshift(tx.write(`${be}/physical-device`, 'fe:0'));
        await Promise.all(ops);
      });
    }
    return { exitCode: 0, timedOut: false, stderrTail: '', durationMs: Date.now() - started };
  }
}
