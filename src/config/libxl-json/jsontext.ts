// Strict JSON (RFC 8259) read into a tree that remembers where each value and key was written,
// so a problem found later can say `$.disks[1].vdev` *and* line:col. JSON.parse gives neither.
// Duplicate keys are kept (the reader reports them: libxl reads the first, JSON.parse the last).

export interface Pos {
  line: number;
  col: number;
}

export interface JEntry {
  key: string;
  keyPos: Pos;
  value: JNode;
}

export type JNode =
  | ({ kind: 'object'; entries: JEntry[] } & Pos)
  | ({ kind: 'array'; items: JNode[] } & Pos)
  | ({ kind: 'string'; value: string } & Pos)
  /** The number as written: integers of 64 bits (libxl's MemKB) do not fit a double. */
  | ({ kind: 'number'; text: string } & Pos)
  | ({ kind: 'bool'; value: boolean } & Pos)
  | ({ kind: 'null' } & Pos);

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

// Deep enough for any libxl config (it nests 5 levels), shallow enough to never exhaust the stack.
const MAX_DEPTH = 128;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parseJsonText(text: string): JNode {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (): Pos => ({ line, col: i - lineStart + 1 });
  const fail = (message: string, at: Pos = pos()): never => {
    throw new JsonSyntaxError(message, at.line, at.col);
  };
  const describe = (): string => (i >= text.length ? 'end of input (is the text cut off?)' : `character ${JSON.stringify(text[i])}`);
  const skipWs = () => {
    for (;;) {
      const c = text[i];
      if (c === '\n') {
        i++;
        line++;
        lineStart = i;
      } else if (c === ' ' || c === '\t' || c === '\r') i++;
      else return;
    }
  };

  function str(): string {
    const start = pos();
    i++; // the opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape in a string');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else fail(`bad escape ${JSON.stringify(`\\${e ?? ''}`)} in a string`);
        continue;
      }
      if (c === '\n') fail('unterminated string (a newline inside a string)', start);
      if (c < ' ') fail('control character inside a string');
      out += c;
      i++;
    }
  }

  function value(depth: number): JNode {
    skipWs();
    const at = pos();
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: JEntry[] = [];
      skipWs();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries, ...at };
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail(`expected a key in double quotes, got ${describe()}`);
        const keyPos = pos();
        const key = str();
        skipWs();
        if (text[i] !== ':') fail(`expected ":" after the key ${JSON.stringify(key)}, got ${describe()}`);
        i++;
        entries.push({ key, keyPos, value: value(depth + 1) });
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', entries, ...at };
        }
        fail(`expected "," or "}" in an object, got ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      skipWs();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items, ...at };
      }
      for (;;) {
        items.push(value(depth + 1));
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', items, ...at };
        }
        fail(`expected "," or "]" in an array, got ${describe()}`);
      }
    }
    if (c === '"') return { kind: 'string', value: str(), ...at };
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num && (c === '-' || (c !== undefined && c >= '0' && c <= '9'))) {
      i += num[0].length;
      return { kind: 'number', text: num[0], ...at };
    }
    for (const [word, node] of [['true', { kind: 'bool', value: true }], ['false', { kind: 'bool', value: false }], ['null', { kind: 'null' }]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { ...node, ...at };
      }
    }
    return fail(`expected a value, got ${describe()}`);
  }

  const root = value(0);
  skipWs();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return root;
}

/** `$.b_info["type.pv"].kernel`: dots for plain keys, brackets for the rest (as validate.ts). */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return /^[A-Za-z_]\w*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}
