// Typed reads from one JSON object of a libxl config, each problem named by its JSON path and
// placed at the line:col where the value was written. Reads never throw: a wrong value is
// reported and read as absent, so one run reports every problem of the text.

import type { ConfigProblem } from '../errors.js';
import { DEFBOOL, type Ignored } from './idl.js';
import { childPath, type JEntry, type JNode, type Pos } from './jsontext.js';

export type JObject = Extract<JNode, { kind: 'object' }>;

export class Report {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  constructor(readonly file: string | undefined) {}

  private at(path: string, pos: Pos, message: string): ConfigProblem {
    return { ...(this.file !== undefined ? { file: this.file } : {}), line: pos.line, col: pos.col, path, message: `${path}: ${message}` };
  }
  error(path: string, pos: Pos, message: string): void {
    this.problems.push(this.at(path, pos, message));
  }
  warn(path: string, pos: Pos, message: string): void {
    this.warnings.push(this.at(path, pos, message));
  }
}

const KIND_NAME: Record<JNode['kind'], string> = { object: 'an object', array: 'a list', string: 'a string', number: 'a number', bool: 'a boolean', null: 'null' };

function shown(n: JNode): string {
  if (n.kind === 'string') return ` (${JSON.stringify(n.value)})`;
  if (n.kind === 'number') return ` (${n.text})`;
  if (n.kind === 'bool') return ` (${String(n.value)})`;
  return '';
}

/** One object being read: which keys were used, and what each remaining key means. */
export class Fields {
  private readonly byKey = new Map<string, JEntry>();
  private readonly used = new Set<string>();

  constructor(
    readonly node: JObject,
    readonly path: string,
    private readonly report: Report,
  ) {
    for (const e of node.entries) {
      if (this.byKey.has(e.key)) {
        // libxl takes the first, JSON.parse the last: the text means two things.
        report.error(childPath(path, e.key), e.keyPos, 'duplicate key (libxl would read the first value, other JSON readers the last)');
      } else this.byKey.set(e.key, e);
    }
  }

  pathOf(key: string): string {
    return childPath(this.path, key);
  }

  /** Where the value of `key` was written; the object itself when the key is absent. */
  posOf(key: string): Pos {
    return this.byKey.get(key)?.value ?? this.node;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The raw value (marks the key as read). */
  get(key: string): JNode | undefined {
    this.used.add(key);
    return this.byKey.get(key)?.value;
  }

  private wrong(key: string, n: JNode, expected: string): undefined {
    this.report.error(this.pathOf(key), n, `expected ${expected}, got ${KIND_NAME[n.kind]}${shown(n)}`);
    return undefined;
  }

  /** libxl strings may be null (unset). */
  str(key: string): string | undefined {
    const n = this.get(key);
    if (n === undefined || n.kind === 'null') return undefined;
    return n.kind === 'string' ? n.value : this.wrong(key, n, 'a string');
  }

  int(key: string, min: number, max: number): number | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== 'number') return this.wrong(key, n, 'an integer');
    if (!/^-?\d+$/.test(n.text)) return this.wrong(key, n, 'an integer');
    const v = BigInt(n.text);
    if (v < BigInt(min) || v > BigInt(max)) {
      this.report.error(this.pathOf(key), n, `${n.text} is out of range (${min}..${max})`);
      return undefined;
    }
    return Number(v);
  }

  bool(key: string): boolean | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    return n.kind === 'bool' ? n.value : this.wrong(key, n, 'true or false');
  }

  /** A defbool: "True", "False", or "<default>" (read as absent). */
  defbool(key: string): boolean | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== 'string') return this.wrong(key, n, `"${DEFBOOL.true}", "${DEFBOOL.false}" or "${DEFBOOL.default}"`);
    if (n.value === DEFBOOL.true) return true;
    if (n.value === DEFBOOL.false) return false;
    if (n.value === DEFBOOL.default) return undefined;
    this.report.error(this.pathOf(key), n, `expected "${DEFBOOL.true}", "${DEFBOOL.false}" or "${DEFBOOL.default}", got ${JSON.stringify(n.value)}`);
    return undefined;
  }

  /** An enum by its libxl name, without case as libxl reads it; answered in lower case. */
  enumOf(key: string, values: readonly string[]): string | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    if (n.kind !== 'string') return this.wrong(key, n, `one of ${values.join(', ')}`);
    const v = n.value.toLowerCase();
    if (values.includes(v)) return v;
    this.report.error(this.pathOf(key), n, `unknown value ${JSON.stringify(n.value)} (${values.join(', ')})`);
    return undefined;
  }

  /** A bitmap: the list of its set bits. */
  bitmap(key: string): number[] | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    return readBitmap(n, this.pathOf(key), this.report);
  }

  strList(key: string): string[] | undefined {
    const n = this.get(key);
    if (n === undefined || n.kind === 'null') return undefined;
    if (n.kind !== 'array') return this.wrong(key, n, 'a list of strings');
    const out: string[] = [];
    n.items.forEach((it, i) => {
      if (it.kind === 'string') out.push(it.value);
      else this.report.error(childPath(this.pathOf(key), i), it, `expected a string, got ${KIND_NAME[it.kind]}${shown(it)}`);
    });
    return out.length === n.items.length ? out : undefined;
  }

  obj(key: string): Fields | undefined {
    const n = this.get(key);
    if (n === undefined) return undefined;
    return n.kind === 'object' ? new Fields(n, this.pathOf(key), this.report) : this.wrong(key, n, 'an object');
  }

  /** A list of objects (a device list). */
  objects(key: string): Fields[] {
    const n = this.get(key);
    if (n === undefined || n.kind === 'null') return [];
    if (n.kind !== 'array') return this.wrong(key, n, 'a list') ?? [];
    const out: Fields[] = [];
    n.items.forEach((it, i) => {
      const p = childPath(this.pathOf(key), i);
      if (it.kind === 'object') out.push(new Fields(it, p, this.report));
      else this.report.error(p, it, `expected an object, got ${KIND_NAME[it.kind]}${shown(it)}`);
    });
    return out;
  }

  /**
   * Every key not read: known-but-unmapped ones are warned about when they ask for something
   * (as the xl parser treats unsupported keys), unknown ones are warned about as unknown.
   */
  finish(ignored: Record<string, Ignored>): void {
    for (const [key, e] of this.byKey) {
      if (this.used.has(key)) continue;
      // Own keys only: a key named "toString" is not a rule.
      const rule = Object.hasOwn(ignored, key) ? ignored[key] : undefined;
      const p = this.pathOf(key);
      if (rule === undefined) this.report.warn(p, e.keyPos, 'unknown key, ignored');
      else if (!rule.neutral(e.value)) {
        const xl = rule.xl !== undefined ? ` (xl: ${rule.xl})` : '';
        this.report.warn(p, e.value, `not supported by tsxend yet and ignored${xl}${shown(e.value)}`);
      }
    }
  }
}

export function readBitmap(n: JNode, path: string, report: Report): number[] | undefined {
  if (n.kind !== 'array') {
    report.error(path, n, `expected a list of CPU numbers, got ${KIND_NAME[n.kind]}${shown(n)}`);
    return undefined;
  }
  const bits: number[] = [];
  let ok = true;
  n.items.forEach((it, i) => {
    if (it.kind === 'number' && /^\d+$/.test(it.text) && Number(it.text) <= 0x7fffffff) bits.push(Number(it.text));
    else {
      report.error(childPath(path, i), it, `expected a bit number (an integer ≥ 0), got ${KIND_NAME[it.kind]}${shown(it)}`);
      ok = false;
    }
  });
  return ok ? bits : undefined;
}
