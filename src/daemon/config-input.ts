// How request bodies become the config model. The daemon never parses configs itself: it hands
// the text (xl.cfg, SXP) or the JSON model to the config layer, which reports file:line:col.

import type { DeviceClass, DeviceEntry, XendConfig } from '../config/model.js';

export type ConfigFormat = 'xl' | 'sxp' | 'json';

export interface ConfigInput {
  /** Parses and validates one domain config. Throws the config layer's ConfigError (400). */
  parseDomain(text: string, format: ConfigFormat, file: string): { config: XendConfig; warnings: string[] };
  /** An already-decoded JSON model (from an application/json body). */
  validateDomain(model: unknown, file: string): XendConfig;
  /** One device from an xl-style spec string or a model object. */
  parseDevice(devClass: DeviceClass, spec: string | Record<string, unknown>): DeviceEntry;
}

/** Media types accepted by POST /v1/domains and the format each one means. */
export const CONFIG_MEDIA_TYPES: Record<string, ConfigFormat> = {
  'text/plain': 'xl',
  'application/x-sxp': 'sxp',
  'application/json': 'json',
};
