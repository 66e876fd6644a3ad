// Where each model field came from in a libxl config, so the model's own rules (run on the
// model) can be reported in libxl's JSON paths and placed in its text.

import type { Pos } from './jsontext.js';
import type { Fields } from './reader.js';

/** Model path → the libxl path and the place in the text it was read from. */
export class Origins {
  readonly map = new Map<string, { path: string; pos: Pos }>();
  set(modelPath: string, f: Fields, key: string): void {
    this.map.set(modelPath, { path: f.pathOf(key), pos: f.posOf(key) });
  }
  /** For a struct that is missing or not an object: its fields' rules land on its path. */
  setMissing(modelPaths: readonly string[], libxlPath: string, pos: Pos): void {
    for (const m of modelPaths) this.map.set(m, { path: `${libxlPath}.${m.slice(2)}`, pos });
  }
  setObject(modelPath: string, f: Fields): void {
    this.map.set(modelPath, { path: f.path, pos: f.node });
  }
}
