// Binds the daemon to the real layers: the config parser and the lifecycle's environment
// factory (embedded mock xenstore or a real socket, simulated or real hypervisor, devices).

import type { DeviceClass, DeviceEntry, XendConfig } from '../config/model.js';
import type { ConfigInput } from './config-input.js';
import type { EnvironmentFactory } from './server.js';

interface ConfigModule {
  parseConfig(text: string, options: { format: 'xl' | 'sxp' | 'json'; file: string }): { config: XendConfig; warnings: { message: string }[] };
  validateConfig(model: unknown, options?: { file?: string }): XendConfig;
  parseDeviceSpec(devClass: DeviceClass, spec: string | Record<string, unknown>): DeviceEntry;
  formatProblem(p: { message: string }): string;
}

// Specifiers held in variables while the layers are being written in parallel: the daemon
// still compiles and its routes stay testable against a fake orchestrator.
const CONFIG_MODULE = '../config/index.js';
const ENVIRONMENT_MODULE = '../lifecycle/environment.js';

export async function loadConfigInput(): Promise<ConfigInput> {
  const m = (await import(CONFIG_MODULE)) as ConfigModule;
  return {
    parseDomain: (text, format, file) => {
      const { config, warnings } = m.parseConfig(text, { format, file });
      return { config, warnings: warnings.map((w) => m.formatProblem(w)) };
    },
    validateDomain: (model, file) => m.validateConfig(model, { file }),
    parseDevice: (devClass, spec) => m.parseDeviceSpec(devClass, spec),
  };
}

export async function loadEnvironmentFactory(): Promise<EnvironmentFactory> {
  const m = (await import(ENVIRONMENT_MODULE)) as { createDaemonEnvironment: EnvironmentFactory };
  return m.createDaemonEnvironment;
}

export async function loadWiring(): Promise<{ config: ConfigInput; environment: EnvironmentFactory }> {
  return { config: await loadConfigInput(), environment: await loadEnvironmentFactory() };
}
