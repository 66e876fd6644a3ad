// Binds the daemon to the real layers: the config parser and the lifecycle's environment
// factory (embedded mock xenstore or a real socket, simulated or real hypervisor, and the world
// that goes with it: the real one next to real Xen, else the simulated one of src/sim).

import { httpMigrationPeer } from './peer.js';
import { existsSync } from 'node:fs';
import { formatProblem, parseConfig, parseDeviceSpec, validateConfig } from '../config/index.js';
import type { Hypervisor } from '../hypervisor/types.js';
import { TsxError } from '../errors.js';
import { createEnvironment, XEN_PRIVCMD } from '../lifecycle/environment.js';
import { E_SIMULATED_ON_XEN } from '../lifecycle/errors.js';
import type { ConfigInput } from './config-input.js';
import type { ServeOptions } from './options.js';
import type { EnvironmentFactory } from './server.js';

export const configInput: ConfigInput = {
  parseDomain: (text, format, file) => {
    const { config, warnings } = parseConfig(text, { format, file });
    return { config, warnings: warnings.map(formatProblem) };
  },
  validateDomain: (model, file) => validateConfig(model, { file }),
  parseDevice: (devClass, spec) => parseDeviceSpec(devClass, spec),
};

/**
 * On a host with Xen, the simulation runs only when asked for by name: `tsxend serve` with no
 * --hypervisor (the embedded default) is refused there, so a dom0 never reaches a simulator by
 * accident. (A real Xen hypervisor with any simulated part is refused by createEnvironment.)
 */
export function refuseDefaultSimulationOnXen(options: Pick<ServeOptions, 'hypervisor' | 'sources'>, privcmdPath = XEN_PRIVCMD): void {
  if (options.hypervisor !== 'simulated' || options.sources.hypervisor !== undefined || !existsSync(privcmdPath)) return;
  throw new TsxError(
    E_SIMULATED_ON_XEN,
    `this host runs Xen (${privcmdPath}), and without --hypervisor tsxend serve would simulate it: use --hypervisor xen --xenstore socket:/run/xenstored/socket, or --hypervisor simulated to run the simulation on purpose`,
    { details: { simulated: ['hypervisor=simulated', 'xenstore=embedded-mock'], privcmd: privcmdPath } },
  );
}

export const environmentFactory: EnvironmentFactory = async ({ options, store, logger }) => {
  refuseDefaultSimulationOnXen(options);
  let hypervisor: 'simulated' | Hypervisor = 'simulated';
  if (options.hypervisor !== 'simulated') {
    const { selectHypervisor } = await import('../hypervisor/select.js');
    // `auto` without Xen answers nothing: the environment builds the simulated world itself.
    const hv = await selectHypervisor(options.hypervisor, {});
    if (hv) hypervisor = hv;
  }
  const env = await createEnvironment({
    xenstore: options.xenstore.kind === 'embedded' ? 'embedded' : { socket: options.xenstore.path },
    hypervisor,
    store,
    logger: logger.child({ component: 'lifecycle' }),
    hotplugTimeoutMs: options.hotplugTimeoutMs,
    ...(options.deviceModel === undefined ? {} : { deviceModel: options.deviceModel }),
    orchestrator: {
      maxParallelCreates: options.maxParallelCreates,
      xsReconnectWaitMs: options.xenstoreWaitMs,
      createTimeoutMs: options.createTimeoutMs,
      peerFor: httpMigrationPeer,
      ...(options.preparedShells === undefined ? {} : { preparedShells: options.preparedShells }),
    },
  });
  // dom0's own nodes (what xen-init-dom0 writes on a host) are ensured by orchestrator.start().
  return { orchestrator: env.orchestrator, consoles: env.consoles, world: env.world, xenstoreOps: () => env.xs.stats.requests, close: () => env.close() };
};

export async function loadConfigInput(): Promise<ConfigInput> {
  return configInput;
}

export async function loadWiring(): Promise<{ config: ConfigInput; environment: EnvironmentFactory }> {
  return { config: configInput, environment: environmentFactory };
}
