// The config layer: one typed model (XendConfig), three formats in and out (and libxl's JSON,
// for save images), one validator, and the device order. Pure: no I/O beyond the text it is given.

import { ConfigError, type ConfigWarning } from './errors.js';
import { parseJson, toJson } from './json.js';
import type { DeviceClass, DeviceEntry, XendConfig } from './model.js';
import { withDeviceDefaults } from './defaults.js';
import { DEVICE_CONFIG_SCHEMAS } from './schema.js';
import { parseSxp, toSxp } from './sxp/index.js';
import { validateConfig } from './validate.js';
import { parseSpec, SpecError } from './xl/devices.js';
import { parseXl, toXl } from './xl/index.js';
import { Value } from 'typebox/value';

export * from './model.js';
export { ConfigError, CONFIG_ERROR_CODES, formatProblem, formatProblemWithSource, sortProblems, type ConfigProblem, type ConfigWarning } from './errors.js';
export { checkConfig, validateConfig, type ValidateSource } from './validate.js';
export { orderedDeviceRefs, deriveClassOrder, DEVICE_CLASS_DECLARATIONS, type DeviceClassDeclaration } from './order.js';
export { vdevToNumber, numberToVdev } from './vdev.js';
export { generateMac, newDeviceUuid, DEFAULT_MEMORY_MIB } from './defaults.js';
export { xendConfigSchema, deviceEntrySchema, DEVICE_CONFIG_SCHEMAS, vbdSchema, vifSchema, vfbSchema, vkbdSchema, vtpmSchema, consoleSchema } from './schema.js';
export { parseXl, toXl, UNSUPPORTED_KEYS } from './xl/index.js';
export { parseSxp, toSxp } from './sxp/index.js';
export { parseJson, toJson } from './json.js';
export { parseLibxlJson, toLibxlJson, toLibxlObject, libxlJsonLosses, type LibxlParseResult, type LibxlEmitOptions } from './libxl-json/index.js';

export type ConfigFormat = 'xl' | 'sxp' | 'json';

/** Guesses the format of a config text: JSON object, SXP list, or xl/xm key = value lines. */
export function detectFormat(text: string): ConfigFormat {
  const t = text.replace(/^(\s*#[^\n]*\n|\s+)*/, '');
  if (t.startsWith('{')) return 'json';
  if (t.startsWith('(')) return 'sxp';
  return 'xl';
}

export function parseConfig(text: string, options: { format?: ConfigFormat; file?: string } = {}): { config: XendConfig; warnings: ConfigWarning[] } {
  // Editors on other systems save a UTF-8 byte-order mark; it is not part of any format.
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const format = options.format ?? detectFormat(text);
  if (format === 'json') return parseJson(text, options.file);
  if (format === 'sxp') return parseSxp(text, options.file);
  return parseXl(text, options.file);
}

export function formatConfig(config: XendConfig, format: ConfigFormat): string {
  return format === 'json' ? toJson(config) : format === 'sxp' ? toSxp(config) : toXl(config);
}

/**
 * One device from an xl-style spec string (`'file:/img,xvdb,w'`, `'bridge=xenbr0,mac=…'`) or a
 * model object, defaults filled and validated; for hot attach from the CLI or the API.
 */
export function parseDeviceSpec(devClass: DeviceClass, spec: string | Record<string, unknown>): DeviceEntry {
  let config: Record<string, unknown>;
  if (typeof spec === 'string') {
    try {
      config = parseSpec(devClass, spec, () => undefined);
    } catch (err) {
      if (err instanceof SpecError) throw new ConfigError('invalid', [{ path: devClass, message: `${devClass} ${JSON.stringify(spec)}: ${err.message}` }]);
      throw err;
    }
  } else config = spec;
  const filled = withDeviceDefaults(devClass, config);
  const schema = DEVICE_CONFIG_SCHEMAS[devClass];
  if (!schema) throw new ConfigError('invalid', [{ path: 'class', message: `unknown device class ${JSON.stringify(devClass)}` }]);
  const errors = [...Value.Errors(schema, filled)].filter((e) => e.keyword !== 'boolean');
  if (errors.length > 0) {
    throw new ConfigError('invalid', errors.map((e) => ({ path: `$.config${e.instancePath.replace(/\//g, '.')}`, message: `${devClass}${e.instancePath.replace(/\//g, '.')}: ${e.keyword === 'additionalProperties' ? `unknown key(s) ${JSON.stringify(e.params['additionalProperties'])}` : e.message}` })));
  }
  // Reuse the whole-config rules (vdev validity, MAC multicast, ...) on a one-device model.
  const probe = validateConfig({ name: 'probe', type: 'pvh', devices: { '00000000-0000-4000-8000-000000000000': { class: devClass, config: filled } } });
  return probe.devices['00000000-0000-4000-8000-000000000000']!;
}
