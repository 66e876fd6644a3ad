// JSON: the model itself. Syntax errors get line:col; everything else a JSON path.

import { ConfigError, type ConfigWarning } from './errors.js';
import type { XendConfig } from './model.js';
import { xendConfigSchema } from './schema.js';
import { validateConfig } from './validate.js';

export function parseJson(text: string, file?: string): { config: XendConfig; warnings: ConfigWarning[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let line = 1;
    let col = 1;
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      line = before.split('\n').length;
      col = before.length - before.lastIndexOf('\n');
    }
    throw new ConfigError('syntax', [{ ...(file !== undefined ? { file } : {}), line, col, path: '$', message: `invalid JSON: ${msg}` }]);
  }
  return { config: validateConfig(data, file !== undefined ? { file } : {}), warnings: [] };
}

/** Keys in the schema's order (name first), whatever order the model was built in. */
export function toJson(config: XendConfig): string {
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(xendConfigSchema.properties)) if (key in config) ordered[key] = config[key as keyof XendConfig];
  return JSON.stringify({ ...ordered, ...config }, null, 2) + '\n';
}
