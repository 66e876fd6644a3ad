// One run reports every problem of a config file (issue 15): the xl.cfg and SXP parsers recover
// after a syntax error at the next statement, the validator runs on what parsed, and each
// mistake is reported once, with file:line:col, the source line and a caret under the column.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/config.js';
import { ConfigError, formatProblemWithSource, parseConfig } from '../../src/config/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/mistakes/${name}`, import.meta.url));

function problems(file: string): { code: string; found: string[] } {
  try {
    parseConfig(readFileSync(file, 'utf8'), { file: 'f' });
  } catch (err) {
    if (err instanceof ConfigError) return { code: err.code, found: err.problems.map((p) => `${p.line ?? '-'}:${p.col ?? '-'} ${p.message}`) };
    throw err;
  }
  throw new Error(`${file} parsed`);
}

/** Each expected problem matches exactly one reported one, and nothing else is reported. */
function expectEachOnce(found: string[], expected: RegExp[]): void {
  for (const re of expected) expect(found.filter((f) => re.test(f)), `${re} in\n${found.join('\n')}`).toHaveLength(1);
  expect(found).toHaveLength(expected.length);
}

describe('every problem of a file in one run', () => {
  it('xl.cfg: syntax errors (negative number, unterminated string, junk after a value, upper-case key) and rule errors (not a number, bad enum, duplicate vdev, bad MAC), each once', () => {
    const { code, found } = problems(fixture('many.cfg'));
    expect(code).toBe('TSX_ERR_CONFIG_SYNTAX');
    expectEachOnce(found, [
      /^3:10 unexpected character "-" \(numbers in xl\.cfg cannot be negative\)$/,
      /^4:9 vcpus: expected a number, got a string \("two"\)$/,
      /^5:10 unterminated string$/,
      /^6:1 \$\.on_crash: must be equal to one of the allowed values \(got "explode"\)$/,
      /^8:10 disk\[1\]\.vdev: duplicate vdev "xvda" \(also at disk\[0\]\.vdev\)$/,
      /^9:9 vif\[0\] .*"00:16:3e:zz:00:01" is not a MAC address$/,
      /^11:23 expected end of line after the value of on_reboot$/,
      /^12:1 unexpected character "M" \(keys are lower case\)$/,
    ]);
  });

  it('SXP: a negative memory, a non-numeric vcpus, one ")" too many, a bad enum, a duplicate vdev and MAC, a runaway string, each once', () => {
    const { code, found } = problems(fixture('many.sxp'));
    expect(code).toBe('TSX_ERR_CONFIG_SYNTAX');
    expectEachOnce(found, [
      /^4:3 \$\.memory: must be >= 1 \(got -256\)$/,
      /^5:10 vcpus: expected a number, got "two"$/,
      /^5:14 this '\)' closes the whole list, but more follows/,
      /^6:3 \$\.on_crash: must be equal to one of the allowed values/,
      /^8:11 .*duplicate vdev "xvda"/,
      /^10:11 .*duplicate mac "00:16:3e:00:00:01"/,
      /^11:25 unterminated string$/,
    ]);
  });

  it('recovers inside a list spread over lines at the next statement, and reads what follows', () => {
    const text = 'name = "r"\nkernel = "/k"\ndisk = [ "/a,xvda,w",\n   "/b,xvdb,w" ( ,\n   "/c,xvdc,w" ]\nmemory = 0\n';
    try {
      parseConfig(text, { file: 'r.cfg' });
      throw new Error('parsed');
    } catch (err) {
      const e = err as ConfigError;
      expect(e.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
        '4:16 unexpected character "(" (this looks like Python: xl.cfg takes only strings, numbers and lists)',
        '6:1 $.memory: must be >= 1 (got 0)',
      ]);
    }
  });

  it('shows each problem with its source line and a caret under the column', () => {
    const text = 'name = "c"\nmemory = -1\n';
    expect(formatProblemWithSource({ file: 'c.cfg', line: 2, col: 10, message: 'unexpected character "-"' }, text)).toBe(
      'c.cfg:2:10: unexpected character "-"\n 2 | memory = -1\n   |          ^',
    );
    // Tabs would shift the caret: shown as spaces.
    expect(formatProblemWithSource({ line: 1, col: 3, message: 'm' }, '\tx = 1\n')).toBe('<input>:1:3: m\n 1 |  x = 1\n   |   ^');
    expect(formatProblemWithSource({ path: '$.x', message: 'no position' }, text)).toBe('<input>: no position');
  });

  it('tsxend config check lists every problem with carets and a count, and exits 1', async () => {
    let out = '';
    const code = await command.run(['check', fixture('many.cfg')], { stdout: (t) => (out += t), stderr: () => undefined, env: {} });
    expect(code).toBe(1);
    const lines = out.split('\n');
    const heads = lines.filter((l) => l.startsWith(`${fixture('many.cfg')}:`) && /:\d+:\d+: /.test(l));
    expect(heads).toHaveLength(8);
    // Under each head: the line as written, then a caret under its column.
    for (const h of heads) {
      const i = lines.indexOf(h);
      const col = Number(/:(\d+):(\d+): /.exec(h)![2]);
      expect(lines[i + 1]).toMatch(/^ \d+ \| /);
      const caretLine = lines[i + 2]!;
      const bar = caretLine.indexOf('| ') + 2;
      expect(caretLine.slice(bar)).toBe(`${' '.repeat(col - 1)}^`);
    }
    expect(out).toContain(`${fixture('many.cfg')}: 8 problems (TSX_ERR_CONFIG_SYNTAX)`);
  });

  it('tsxend config check --json gives the problems to scripts', async () => {
    let out = '';
    const code = await command.run(['check', '--json', fixture('many.sxp')], { stdout: (t) => (out += t), stderr: () => undefined, env: {} });
    expect(code).toBe(1);
    const report = JSON.parse(out) as { ok: boolean; code: string; problems: { line?: number; col?: number; message: string }[] }[];
    expect(report[0]).toMatchObject({ ok: false, code: 'TSX_ERR_CONFIG_SYNTAX' });
    expect(report[0]!.problems).toHaveLength(7);
  });
});
