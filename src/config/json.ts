// JSON: the model itself. Syntax errors get line:col; everything else a JSON path.

import { ConfigError, type ConfigWarning } from './errors.js';
import type { XendConfig } from './model.js';
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

export function toJson(config: XendConfig): string {
  return JSON.stringify(config, null, 2) + '\n';
}
