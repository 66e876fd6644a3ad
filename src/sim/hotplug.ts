// Simulated hotplug scripts, for the simulated hypervisor: what Debian's `block` and
// `vif-bridge` write to the store on success (physical-device, hotplug-status=connected),
// without touching the host (no loop devices, no bridges). With real Xen, RealHotplugRunner
// runs the real scripts.

import type { XenstoreClient } from '../xenstore/types.js';
import { InflightScripts, type HotplugRequest, type HotplugResult, type HotplugRunner, type StrayScripts } from '../devices/index.js';

export class SimulatedHotplugRunner implements HotplugRunner {
  readonly #inflight = new InflightScripts();
  constructor(private readonly xs: XenstoreClient) {}

  run(req: HotplugRequest): Promise<HotplugResult> {
    return this.#inflight.track(req, (_r, killed) => this.#run(req, killed));
  }

  settle(uuid: string, waitMs: number): Promise<StrayScripts> {
    return this.#inflight.settle(uuid, waitMs);
  }

  async #run(req: HotplugRequest, killed: AbortSignal): Promise<HotplugResult> {
    const started = Date.now();
    // Killed (settle) before it acted: nothing written, as a killed script.
    if (killed.aborted) return { exitCode: null, timedOut: false, stderrTail: 'killed', durationMs: 0 };
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
