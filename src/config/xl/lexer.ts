// The xl.cfg file grammar (libxlu_cfg_l.l / libxlu_cfg_y.y; reference xenstore.md §6.1):
// `KEY = VALUE` or `KEY += VALUE` statements ended by a newline or `;`, values being strings,
// numbers or (nested) lists over several lines with an optional trailing comma; `#` comments.
// Like a compiler, it recovers from a syntax error at the next statement, so one run reports
// every mistake in the file, not only the first.

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
  | { t: '=' | '+=' | ',' | '[' | ']' | ';' | 'nl' | 'eof'; v: string; line: number; col: number }
  // What the tokenizer could not read (already reported): the statement holding it is dropped.
  | { t: 'bad'; v: string; line: number; col: number };

const ESCAPES: Record<string, string> = { "'": "'", '"': '"', '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Thrown inside the tokenizer and parser to unwind to the recovery point; never escapes. */
class Recover extends Error {}

function problemAt(file: string | undefined, line: number, col: number, message: string): ConfigProblem {
  return { ...(file !== undefined ? { file } : {}), line, col, message };
}

/** Tokens, and the syntax problems met on the way (each one's line is then skipped). */
export function tokenize(text: string, file?: string, problems: ConfigProblem[] = []): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = () => i - lineStart + 1;
  function fail(l: number, c: number, message: string): never {
    problems.push(problemAt(file, l, c, message));
    throw new Recover(message);
  }
  while (i < text.length) {
    try {
      i = step(i);
    } catch (err) {
      if (!(err instanceof Recover)) throw err;
      const at = problems[problems.length - 1]!;
      toks.push({ t: 'bad', v: '', line: at.line!, col: at.col! });
      while (i < text.length && text[i] !== '\n') i++;
    }
  }
  toks.push({ t: 'eof', v: '', line, col: col() });
  return toks;

  // One token (or blank, or comment) from position i; answers the next position.
  function step(from: number): number {
    i = from;
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
        if (i >= text.length || text[i] === '\n') fail(line, c0, 'unterminated string');
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = text[i + 1];
          if (e === undefined) fail(line, col(), 'unterminated string');
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
            fail(line, col(), `invalid escape \\${e} in string`);
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
        : c === '-' && /[0-9]/.test(text[i + 1] ?? '')
          ? ' (numbers in xl.cfg cannot be negative)'
          : '+-.():'.includes(c)
          ? ' (this looks like Python: xl.cfg takes only strings, numbers and lists)'
          : '';
      fail(line, col(), `unexpected character ${JSON.stringify(c)}${hint}`);
    }
    return i;
  }
}

/** The statements that parsed and every syntax problem; a broken statement is skipped whole. */
export function parseXlStatements(text: string, file?: string): { assignments: XlAssignment[]; problems: ConfigProblem[]; brokenKeys: Set<string> } {
  const problems: ConfigProblem[] = [];
  const toks = tokenize(text, file, problems);
  let p = 0;
  const peek = () => toks[p]!;
  const next = () => toks[p++]!;
  const found = (tok: Tok) => (tok.t === 'nl' ? 'end of line' : tok.t === 'eof' ? 'end of file' : JSON.stringify(tok.v));
  const fail = (tok: Tok, message: string): never => {
    // A 'bad' token was reported by the tokenizer already: unwind without a second problem.
    if (tok.t !== 'bad') problems.push(problemAt(file, tok.line, tok.col, message));
    throw new Recover(message);
  };
  const expect = (t: Tok['t'], what: string) => {
    const tok = next();
    if (tok.t !== t) fail(tok, `expected ${what}, found ${found(tok)}`);
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
          fail(t, `expected ',' or ']' in list, found ${t.t === 'eof' ? 'end of file' : JSON.stringify(t.v)}`);
        }
      }
      p++;
      return { kind: 'list', items, line: tok.line, col: tok.col };
    }
    return fail(tok, `expected a value (string, number or list), found ${found(tok)}`);
  };
  // The next statement starts after a newline or ';' with `KEY =` or `KEY +=` (a list spread over
  // lines holds no such thing), or the file ends.
  const recover = (from: number): void => {
    p = Math.min(Math.max(p, from + 1), toks.length - 1);
    while (peek().t !== 'eof') {
      const prev = toks[p - 1]!;
      const after = toks[p + 1];
      if ((prev.t === 'nl' || prev.t === ';') && peek().t === 'ident' && (after?.t === '=' || after?.t === '+=')) return;
      p++;
    }
  };
  const assignments: XlAssignment[] = [];
  // Keys whose statement did not parse: the rules must not report them a second time as missing.
  const brokenKeys = new Set<string>();
  for (;;) {
    const tok = peek();
    if (tok.t === 'eof') break;
    if (tok.t === 'nl' || tok.t === ';') {
      p++;
      continue;
    }
    const from = p;
    try {
      const key = expect('ident', 'a key');
      const op = next();
      if (op.t !== '=' && op.t !== '+=') fail(op, `expected '=' after ${key.v}`);
      const v = value();
      const end = peek();
      if (end.t !== 'nl' && end.t !== ';' && end.t !== 'eof') fail(end, `expected end of line after the value of ${key.v}`);
      assignments.push({ key: key.v, op: op.t as '=' | '+=', value: v, line: key.line, col: key.col });
    } catch (err) {
      if (!(err instanceof Recover)) throw err;
      if (toks[from]?.t === 'ident') brokenKeys.add(toks[from].v);
      recover(from);
    }
  }
  return { assignments, problems, brokenKeys };
}

/** The statements of a file; any syntax problem throws (all of them, in one ConfigError). */
export function parseXlFile(text: string, file?: string): XlAssignment[] {
  const { assignments, problems } = parseXlStatements(text, file);
  if (problems.length > 0) throw new ConfigError('syntax', problems);
  return assignments;
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
