// Binds the daemon to the real layers: the config parser and the lifecycle's environment
// factory (embedded mock xenstore or a real socket, simulated or real hypervisor, devices).

import { formatProblem, parseConfig, parseDeviceSpec, validateConfig } from '../config/index.js';
import { SimulatedHypervisor } from '../hypervisor/simulated.js';
import type { Hypervisor } from '../hypervisor/types.js';
import { createEnvironment } from '../lifecycle/environment.js';
import type { ConfigInput } from './config-input.js';
import type { EnvironmentFactory } from './server.js';

export const configInput: ConfigInput = {
  parseDomain: (text, format, file) => {
    const { config, warnings } = parseConfig(text, { format, file });
    return { config, warnings: warnings.map(formatProblem) };
  },
  validateDomain: (model, file) => validateConfig(model, { file }),
  parseDevice: (devClass, spec) => parseDeviceSpec(devClass, spec),
};

export const environmentFactory: EnvironmentFactory = async ({ options, store, logger }) => {
  let hypervisor: 'simulated' | Hypervisor = 'simulated';
  if (options.hypervisor !== 'simulated') {
    const { selectHypervisor } = await import('../hypervisor/select.js');
    const hv = await selectHypervisor(options.hypervisor, { createSimulated: () => new SimulatedHypervisor() });
    if (hv.kind === 'simulated') await hv.close();
    else hypervisor = hv;
  }
  const env = await createEnvironment({
    xenstore: options.xenstore.kind === 'embedded' ? 'embedded' : { socket: options.xenstore.path },
    hypervisor,
    store,
    logger: logger.child({ component: 'lifecycle' }),
    hotplugTimeoutMs: options.hotplugTimeoutMs,
    ...(options.deviceModel === undefined ? {} : { deviceModel: options.deviceModel }),
    orchestrator: { maxParallelCreates: options.maxParallelCreates, xsReconnectWaitMs: options.xenstoreWaitMs, createTimeoutMs: options.createTimeoutMs },
  });
  // dom0's own nodes (what xen-init-dom0 writes on a host) are ensured by orchestrator.start().
  return { orchestrator: env.orchestrator, consoles: env.consoles, xenstoreOps: () => env.xs.stats.requests, close: () => env.close() };
};

export async function loadConfigInput(): Promise<ConfigInput> {
  return configInput;
}

export async function loadWiring(): Promise<{ config: ConfigInput; environment: EnvironmentFactory }> {
  return { config: configInput, environment: environmentFactory };
}
