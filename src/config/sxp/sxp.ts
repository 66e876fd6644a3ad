// xend's S-expressions (sxp.py): lists in parentheses, atoms separated by blanks, strings in
// single or double quotes with Python-style escapes, `#` comments. Printing quotes exactly what
// xend quoted: anything that is not letters, digits and . - _ : / ~ (or a lone @).

import { ConfigError } from '../errors.js';

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

export function parseSxpText(text: string, file?: string): Sxp[] {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (l: number, c: number, message: string): never => {
    throw new ConfigError('syntax', [{ ...(file !== undefined ? { file } : {}), line: l, col: c, message }]);
  };
  const stack: SxpList[] = [{ kind: 'list', items: [], line: 1, col: 1 }];
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
      const l: SxpList = { kind: 'list', items: [], line, col };
      stack[stack.length - 1]!.items.push(l);
      stack.push(l);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) fail(line, col, "unexpected ')'");
      stack.pop();
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(line, col, 'unterminated string');
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
      const start = i;
      while (i < text.length && !/[\s()'"#]/.test(text[i]!)) i++;
      stack[stack.length - 1]!.items.push({ kind: 'atom', value: text.slice(start, i), line, col });
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!;
    fail(open.line, open.col, "unclosed '(': missing ')'");
  }
  return stack[0]!.items;
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
