// How xenstore-utils show and take values, byte for byte (libxenstore's xs_lib.c
// sanitise_value/unsanitise_value, and xenstore-ls's tree layout), so `tsxend xs` is a drop-in
// for scripts and eyes used to the C tools.

import { formatPerms } from './perms.js';
import type { Perms } from './types.js';

/**
 * A value as xenstore-read and xenstore-ls print it: printable ASCII as is, `\t \n \r \\`,
 * bytes below 010 as three octal digits, every other byte as `\xNN`.
 */
export function sanitiseValue(value: Buffer): string {
  let out = '';
  for (const c of value) {
    if (c >= 0x20 && c <= 0x7e && c !== 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    switch (c) {
      case 0x09:
        out += '\\t';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      default:
        out += c < 0o10 ? `\\${c.toString(8).padStart(3, '0')}` : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return out;
}

const OCTAL = /^[0-7]{1,3}/;
const HEX = /^[0-9a-fA-F]{1,2}/;

/**
 * The inverse that xenstore-write applies to its arguments: `\t \n \r \\`, `\xNN` (up to two
 * hex digits), `\NNN` (up to three octal digits); any other escaped character stands for
 * itself, and a trailing lone backslash becomes a NUL byte, as in the C code.
 */
export function unsanitiseValue(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const next = input[i + 1];
    if (next === undefined) {
      out.push(0);
      break;
    }
    i++;
    const rest = input.toString('latin1', i + 1, i + 4);
    switch (next) {
      case 0x74:
        out.push(0x09);
        break;
      case 0x6e:
        out.push(0x0a);
        break;
      case 0x72:
        out.push(0x0d);
        break;
      case 0x78: {
        const m = HEX.exec(rest);
        if (m) {
          out.push(parseInt(m[0], 16));
          i += m[0].length;
        } else out.push(next);
        break;
      }
      default: {
        if (next >= 0x30 && next <= 0x37) {
          const m = OCTAL.exec(input.toString('latin1', i, i + 3))!;
          out.push(parseInt(m[0], 8) & 0xff);
          i += m[0].length - 1;
        } else out.push(next);
      }
    }
  }
  return Buffer.from(out);
}

/** One node of a listed tree. `value` is undefined when the node could not be read. */
export interface LsNode {
  readonly name: string;
  readonly path: string;
  readonly value: Buffer | undefined;
  readonly perms?: Perms | undefined;
  readonly children: LsNode[];
}

export interface LsLayout {
  /** -f: full paths, values never cut, no dot leader. */
  fullPaths: boolean;
  /** -p: append the permission list. */
  perms: boolean;
  /** The terminal width (xenstore-ls: 80 when stdout is not a terminal). */
  width: number;
}

const TAG_LEN = ' = "..."'.length;
/** Where xenstore-ls -p lines up its permission column. */
const PERMS_COLUMN = 60;

/** One line of xenstore-ls for `node` at `depth`, without the newline. */
export function lsLine(node: LsNode, depth: number, layout: LsLayout): string {
  const maxWidth = layout.fullPaths ? Number.MAX_SAFE_INTEGER : layout.width;
  const desired = layout.fullPaths ? 0 : PERMS_COLUMN;
  let line: string;
  if (layout.fullPaths) line = node.path;
  else line = ' '.repeat(depth) + node.name.slice(0, Math.max(0, maxWidth - TAG_LEN - depth));
  // Widths count bytes, as printf does; names are ASCII by the path rules.
  let width = layout.fullPaths ? 0 : line.length;
  if (node.value === undefined) {
    line += ':';
  } else if (maxWidth < width + node.value.length + TAG_LEN) {
    line += ` = "${sanitiseValue(node.value).slice(0, Math.max(0, maxWidth - TAG_LEN - width))}\\..."`;
  } else {
    const shown = ` = "${sanitiseValue(node.value)}"`;
    line += shown;
    width += shown.length;
    if (layout.perms) {
      line += ' ';
      for (width++; width < Math.min(desired, maxWidth); width++) line += width & 1 ? '.' : ' ';
    }
  }
  if (layout.perms && node.perms) line += `  (${formatPerms(node.perms).join(',')})`;
  return line;
}

/** The whole listing of the children of the listed path, as xenstore-ls prints it. */
export function formatLs(nodes: readonly LsNode[], layout: LsLayout): string {
  const lines: string[] = [];
  const walk = (list: readonly LsNode[], depth: number): void => {
    for (const node of list) {
      lines.push(lsLine(node, depth, layout));
      walk(node.children, depth + 1);
    }
  };
  walk(nodes, 0);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The JSON shape of `tsxend xs ls --json`: values as UTF-8 text, children nested. */
export interface LsJson {
  name: string;
  path: string;
  value: string | null;
  perms?: string[];
  children: LsJson[];
}

export function lsJson(node: LsNode): LsJson {
  return {
    name: node.name,
    path: node.path,
    value: node.value === undefined ? null : node.value.toString('utf8'),
    ...(node.perms ? { perms: formatPerms(node.perms) } : {}),
    children: node.children.map(lsJson),
  };
}
