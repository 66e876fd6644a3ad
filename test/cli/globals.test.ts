// Global options before the command (issue 15: `tsxend --connect unix:/path create web1.cfg`),
// as git -C, docker -H and virsh -c take them; and the bash completion generated from the
// command table.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type CliIo } from '../../src/cli/command.js';
import { main, parseGlobals } from '../../src/cli/main.js';
import { bashCompletion, command as completion } from '../../src/cli/commands/completion.js';
import { startTestDaemon, type TestDaemon } from '../daemon/helpers/test-daemon.js';

let d: TestDaemon;
const dir = mkdtempSync(join(tmpdir(), 'tsxend-globals-'));
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => d.daemon.stop('test over'));

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env };
  const code = await main(argv, io);
  return { code, out, err };
}

function cfg(name: string): string {
  const p = join(dir, `${name}.cfg`);
  writeFileSync(p, `name = "${name}"\nmemory = 256\nkernel = "/k"\n`);
  return p;
}

describe('global options before the command', () => {
  it('tsxend --connect unix:PATH create FILE, then list, as scripts write them', async () => {
    const c = await run(['--connect', `unix:${d.socket}`, 'create', '--quiet', cfg('g1')]);
    expect(c.err).toBe('');
    expect(c.code).toBe(EXIT.ok);
    const l = await run(['--connect', `unix:${d.socket}`, 'list']);
    expect(l.code).toBe(EXIT.ok);
    expect(l.out).toMatch(/^g1\s+\d+\s+256/m);
  });

  it('takes --connect=VALUE, --json before the command, and --token-file/--ca-file as values', async () => {
    const l = await run([`--connect=unix:${d.socket}`, '--json', 'list']);
    expect(l.code).toBe(EXIT.ok);
    expect((JSON.parse(l.out) as { name: string }[]).map((x) => x.name)).toContain('g1');
    expect(parseGlobals(['--token-file', '/t', '--ca-file=/c', 'list', '-l'])).toEqual({ env: { TSXEND_TOKEN_FILE: '/t', TSXEND_CA_FILE: '/c' }, json: false, help: false, rest: ['list', '-l'] });
  });

  it('keeps TSXEND_CONNECT, and an option after the command wins over one before it', async () => {
    expect((await run(['list', '--names'], { TSXEND_CONNECT: `unix:${d.socket}` })).out).toContain('g1\n');
    const r = await run(['--connect', 'unix:/nonexistent/tsxend.sock', 'list', '--connect', `unix:${d.socket}`, '--names']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toBe('g1\n');
    // And before the command, --connect beats the environment.
    expect((await run(['--connect', 'unix:/nonexistent/tsxend.sock', 'list'], { TSXEND_CONNECT: `unix:${d.socket}` })).code).toBe(EXIT.unavailable);
  });

  it('answers a bad global option or a missing value with exit 2, and --help before a command with its help', async () => {
    const bad = await run(['--colour', 'list']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain("unknown global option '--colour'");
    expect((await run(['--connect'])).code).toBe(EXIT.usage);
    const h = await run(['--help', 'pause']);
    expect(h.code).toBe(EXIT.ok);
    expect(h.out).toContain('usage: tsxend pause DOMAIN');
    const top = await run(['--help']);
    expect(top.code).toBe(EXIT.ok);
    expect(top.out).toContain('global options (before or after the command)');
    expect((await run(['--json', 'version'])).err).toContain('version has no --json output');
  });
});

describe('bash completion generated from the command table', () => {
  const script = join(dir, 'tsxend-completion.bash');
  beforeAll(async () => {
    let out = '';
    expect(await completion.run(['bash'], { stdout: (t) => void (out += t), stderr: () => undefined, env: {} })).toBe(EXIT.ok);
    writeFileSync(script, out);
  });

  /** COMPREPLY for a command line whose last word is being completed (a stub lists domains). */
  const complete = (...words: string[]): string[] => {
    const line = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync('bash', ['-c', `source '${script}'; tsxend() { [[ "$*" == *"list --names"* ]] && printf 'web1\\nweb2\\n'; }; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _tsxend; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l !== '');
  };

  it('completes command names, after global options too', () => {
    expect(complete('tsxend', 'con')).toEqual(['config', 'console']);
    expect(complete('tsxend', '--connect', 'unix:/x', 'pa')).toEqual(['pause']);
  });

  it("completes a command's flags, domain names from the daemon, files and subcommands", () => {
    expect(complete('tsxend', 'create', '--p')).toEqual(['--paused']);
    expect(complete('tsxend', 'console', 'w')).toEqual(['web1', 'web2']);
    expect(complete('tsxend', '--connect', 'unix:/x', 'pause', 'web')).toEqual(['web1', 'web2']);
    expect(complete('tsxend', 'config', 'c')).toEqual(['check', 'convert']);
    expect(complete('tsxend', 'create', dir + '/tsxend-comp')).toEqual([script]);
  });

  it('is valid bash, and quotes nothing a shell would misread', () => {
    expect(() => execFileSync('bash', ['-n', script])).not.toThrow();
    const s = bashCompletion(new Map([['x', { flags: ['--ok', '--bad;rm'], args: ['a', 'b$(c)'] }]]));
    expect(s).toContain('x) flags="--ok');
    expect(s).not.toContain('--bad;rm');
    expect(s).not.toContain('b$(c)');
  });
});
