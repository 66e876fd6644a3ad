// The xl.cfg file grammar (libxlu_cfg_l.l / libxlu_cfg_y.y; reference xenstore.md §6.1):
// `KEY = VALUE` or `KEY += VALUE` statements ended by a newline or `;`, values being strings,
// numbers or (nested) lists over several lines with an optional trailing comma; `#` comments.

import { ConfigError, type ConfigProblem } from '../errors.js';

export type XlValue =
  | { kind: 'string'; value: string; line: number; col: number }
  | { kind: 'number'; text: string; line: number; col: number }
  | { kind: 'list'; items: XlValue[]; line: number; col: number };

export interface XlAssignment {
  key: string;
  op: '=' | '+=';
  value: XlValue;
  line: number;
  col: number;
}

type Tok =
  | { t: 'ident' | 'number'; v: string; line: number; col: number }
  | { t: 'string'; v: string; line: number; col: number }
  | { t: '=' | '+=' | ',' | '[' | ']' | ';' | 'nl' | 'eof'; v: string; line: number; col: number };

const ESCAPES: Record<string, string> = { "'": "'", '"': '"', '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function fail(file: string | undefined, line: number, col: number, message: string): never {
  const p: ConfigProblem = { ...(file !== undefined ? { file } : {}), line, col, message };
  throw new ConfigError('syntax', [p]);
}

export function tokenize(text: string, file?: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = () => i - lineStart + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '\n') {
      toks.push({ t: 'nl', v: '\n', line, col: col() });
      i++;
      line++;
      lineStart = i;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/[a-z]/.test(c)) {
      const start = i;
      const c0 = col();
      while (i < text.length && /[._0-9a-z]/.test(text[i]!)) i++;
      toks.push({ t: 'ident', v: text.slice(start, i), line, col: c0 });
    } else if (/[0-9]/.test(c)) {
      const start = i;
      const c0 = col();
      while (i < text.length && /[0-9a-fx]/.test(text[i]!)) i++;
      toks.push({ t: 'number', v: text.slice(start, i), line, col: c0 });
    } else if (c === '"' || c === "'") {
      const c0 = col();
      i++;
      let v = '';
      for (;;) {
        if (i >= text.length || text[i] === '\n') fail(file, line, c0, 'unterminated string');
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = text[i + 1];
          if (e === undefined) fail(file, line, col(), 'unterminated string');
          if (ESCAPES[e] !== undefined) {
            v += ESCAPES[e];
            i += 2;
          } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
            v += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
            i += 4;
          } else if (/[0-9]/.test(e)) {
            const m = /^[0-9]{1,3}/.exec(text.slice(i + 1))![0];
            // libxlu parses \ooo with base 10 (a quirk kept for compatibility).
            v += String.fromCharCode(Number(m) & 0xff);
            i += 1 + m.length;
          } else {
            fail(file, line, col(), `invalid escape \\${e} in string`);
          }
          continue;
        }
        v += ch;
        i++;
      }
      toks.push({ t: 'string', v, line, col: c0 });
    } else if (c === '+' && text[i + 1] === '=') {
      toks.push({ t: '+=', v: '+=', line, col: col() });
      i += 2;
    } else if (c === '=' || c === ',' || c === '[' || c === ']' || c === ';') {
      toks.push({ t: c, v: c, line, col: col() });
      i++;
    } else {
      const hint = /[A-Z]/.test(c)
        ? ' (keys are lower case)'
        : '+-.():'.includes(c)
          ? ' (this looks like Python: xl.cfg takes only strings, numbers and lists)'
          : '';
      fail(file, line, col(), `unexpected character ${JSON.stringify(c)}${hint}`);
    }
  }
  toks.push({ t: 'eof', v: '', line, col: col() });
  return toks;
}

export function parseXlFile(text: string, file?: string): XlAssignment[] {
  const toks = tokenize(text, file);
  let p = 0;
  const peek = () => toks[p]!;
  const next = () => toks[p++]!;
  const expect = (t: Tok['t'], what: string) => {
    const tok = next();
    if (tok.t !== t) fail(file, tok.line, tok.col, `expected ${what}, found ${tok.t === 'nl' ? 'end of line' : tok.t === 'eof' ? 'end of file' : JSON.stringify(tok.v)}`);
    return tok;
  };
  const skipNl = () => {
    while (peek().t === 'nl') p++;
  };
  const value = (): XlValue => {
    const tok = next();
    if (tok.t === 'string') return { kind: 'string', value: tok.v, line: tok.line, col: tok.col };
    if (tok.t === 'number') return { kind: 'number', text: tok.v, line: tok.line, col: tok.col };
    if (tok.t === '[') {
      const items: XlValue[] = [];
      skipNl();
      while (peek().t !== ']') {
        items.push(value());
        skipNl();
        if (peek().t === ',') {
          p++;
          skipNl();
        } else if (peek().t !== ']') {
          const t = peek();
          fail(file, t.line, t.col, `expected ',' or ']' in list, found ${t.t === 'eof' ? 'end of file' : JSON.stringify(t.v)}`);
        }
      }
      p++;
      return { kind: 'list', items, line: tok.line, col: tok.col };
    }
    return fail(file, tok.line, tok.col, `expected a value (string, number or list), found ${tok.t === 'nl' ? 'end of line' : tok.t === 'eof' ? 'end of file' : JSON.stringify(tok.v)}`);
  };
  const out: XlAssignment[] = [];
  for (;;) {
    const tok = peek();
    if (tok.t === 'eof') break;
    if (tok.t === 'nl' || tok.t === ';') {
      p++;
      continue;
    }
    const key = expect('ident', 'a key');
    const op = next();
    if (op.t !== '=' && op.t !== '+=') fail(file, op.line, op.col, `expected '=' after ${key.v}`);
    const v = value();
    const end = peek();
    if (end.t !== 'nl' && end.t !== ';' && end.t !== 'eof') fail(file, end.line, end.col, `expected end of line after the value of ${key.v}`);
    out.push({ key: key.v, op: op.t, value: v, line: key.line, col: key.col });
  }
  return out;
}

/** Quotes a string the way the lexer reads it back. */
export function quoteXl(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}
