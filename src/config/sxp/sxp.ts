// xend's S-expressions (sxp.py): lists in parentheses, atoms separated by blanks, strings in
// single or double quotes with Python-style escapes, `#` comments. Printing quotes exactly what
// xend quoted: anything that is not letters, digits and . - _ : / ~ (or a lone @).

import { ConfigError, type ConfigProblem } from '../errors.js';

export type Sxp = SxpAtom | SxpList;
export interface SxpAtom {
  kind: 'atom';
  value: string;
  line: number;
  col: number;
}
export interface SxpList {
  kind: 'list';
  items: Sxp[];
  line: number;
  col: number;
}

const ESC: Record<string, string> = { a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', '\\': '\\', "'": "'", '"': '"' };

/** The S-expressions of a text; any syntax problem throws (all of them, in one ConfigError). */
export function parseSxpText(text: string, file?: string): Sxp[] {
  const { items, problems } = parseSxpRecovering(text, file);
  if (problems.length > 0) throw new ConfigError('syntax', problems);
  return items;
}

/**
 * The S-expressions and every syntax problem: a stray ')' is dropped, an unterminated string ends
 * at its line's end, an unclosed '(' closes at the end of the file, so what follows is still read.
 */
export function parseSxpRecovering(text: string, file?: string): { items: Sxp[]; problems: ConfigProblem[]; runaway: Set<number> } {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const problems: ConfigProblem[] = [];
  const fail = (l: number, c: number, message: string): void => {
    problems.push({ ...(file !== undefined ? { file } : {}), line: l, col: c, message });
  };
  const stack: SxpList[] = [{ kind: 'list', items: [], line: 1, col: 1 }];
  // A ')' that closed a top-level list: if more follows, it closed it too early (one ')' too
  // many inside), so it is reported and the list is reopened for what follows.
  let closedTop: { list: SxpList; line: number; col: number } | undefined;
  // Lines where a string ran off: the lists left open by it are that one mistake, not more.
  const runaway = new Set<number>();
  const reopen = (): void => {
    if (!closedTop || stack.length !== 1) return;
    fail(closedTop.line, closedTop.col, "this ')' closes the whole list, but more follows: one ')' too many before it");
    stack.push(closedTop.list);
    closedTop = undefined;
  };
  while (i < text.length) {
    const c = text[i]!;
    const col = i - lineStart + 1;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (/\s/.test(c)) i++; // any other blank (\t, \r, \v, \f, NBSP, ...)
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '(') {
      reopen();
      const l: SxpList = { kind: 'list', items: [], line, col };
      stack[stack.length - 1]!.items.push(l);
      stack.push(l);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) fail(line, col, "unexpected ')'");
      else {
        const closed = stack.pop()!;
        if (stack.length === 1) closedTop = { list: closed, line, col };
      }
      i++;
    } else if (c === '"' || c === "'") {
      reopen();
      let v = '';
      const lineStart0 = lineStart;
      i++;
      const startLine = line;
      for (;;) {
        if (i >= text.length) {
          // Ends the string at the end of the line it began on, and reads on from there.
          fail(startLine, col, 'unterminated string');
          runaway.add(startLine);
          const eol = text.indexOf('\n', lineStart0);
          i = eol < 0 ? text.length : eol;
          line = startLine;
          lineStart = lineStart0;
          v = '';
          break;
        }
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\n') {
          line++;
          lineStart = i + 1;
        }
        if (ch === '\\' && i + 1 < text.length) {
          const e = text[i + 1]!;
          if (ESC[e] !== undefined) {
            v += ESC[e];
            i += 2;
          } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
            v += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
            i += 4;
          } else if (/[0-7]/.test(e)) {
            const m = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
            v += String.fromCharCode(parseInt(m, 8) & 0xff);
            i += 1 + m.length;
          } else {
            v += `\\${e}`; // unknown escapes are kept, as sxp.py does
            i += 2;
          }
          continue;
        }
        v += ch;
        i++;
      }
      stack[stack.length - 1]!.items.push({ kind: 'atom', value: v, line, col });
    } else {
      reopen();
      const start = i;
      while (i < text.length && !/[\s()'"#]/.test(text[i]!)) i++;
      stack[stack.length - 1]!.items.push({ kind: 'atom', value: text.slice(start, i), line, col });
    }
  }
  // A string that ran off took the ')'s after it along: the lists it left open are that mistake.
  if (runaway.size === 0) for (const open of stack.slice(1).reverse()) fail(open.line, open.col, "unclosed '(': missing ')'");
  return { items: stack[0]!.items, problems, runaway };
}

const BARE = /^[A-Za-z0-9.\-_:/~]+$/;

export function quoteSxp(s: string): string {
  if (BARE.test(s) || s === '@') return s;
  let out = "'";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + "'";
}

export type SxpOut = string | number | SxpOut[];

export function printSxp(v: SxpOut, indent = 0): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quoteSxp(v);
  const flat = `(${v.map((x) => printSxp(x)).join(' ')})`;
  if (flat.length + indent <= 100 || v.length < 2) return flat;
  const pad = ' '.repeat(indent + 4);
  return `(${printSxp(v[0]!)}\n${v.slice(1).map((x) => pad + printSxp(x, indent + 4)).join('\n')}\n${' '.repeat(indent)})`;
}
