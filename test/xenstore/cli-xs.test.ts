// `tsxend xs` against the real daemons: its output must equal xenstore-utils' on the same
// daemon (xenstore-ls in all its layouts, xenstore-read/-list), values written through it must
// be the bytes xenstore-write stores, and failures must name the path with a meaningful exit code.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/xs.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';

const execFileP = promisify(execFile);

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runXs(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await command.run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env });
  return { code, out, err };
}

async function tool(name: string, argv: string[], socket: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await execFileP(`/usr/bin/${name}`, argv, { env: { ...process.env, XENSTORED_PATH: socket }, encoding: 'latin1' });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

const TOOLS = existsSync('/usr/bin/xenstore-ls');

for (const kind of ['cxenstored', 'oxenstored'] as const) {
  describeReal(kind, 'tsxend xs vs xenstore-utils', () => {
    let d: RealXenstored;
    let xs: XenstoreClient;
    let target: string;
    beforeAll(async () => {
      if (!TOOLS && process.env['CI'] === 'true') throw new Error('xenstore-utils are missing under CI');
      d = await startXenstored(kind);
      target = `socket:${d.socketPath}`;
      xs = await openXenstore({ kind: 'socket', path: d.socketPath });
      // A tree with everything the layout must get right: nesting, escapes, binary, a value
      // longer than the line, empty values, extra permissions, many siblings.
      await xs.write('/cli/vm/name', 'hello world');
      await xs.write('/cli/vm/esc', Buffer.from('tab\there\nnl\\bs"q\'', 'utf8'));
      await xs.write('/cli/vm/bin', Buffer.from([0, 1, 7, 8, 0x1b, 0x7f, 0x80, 0xff, 0x41]));
      await xs.write('/cli/vm/long', 'L'.repeat(300));
      await xs.write('/cli/vm/nearly', 'N'.repeat(62));
      await xs.write('/cli/vm/deep/a/b/c/d', '4');
      await xs.write('/cli/a-very-long-node-name-that-takes-up-much-of-the-line-by-itself-x', 'v');
      await xs.mkdir('/cli/empty');
      await xs.setPerms('/cli/vm/name', [{ domid: 0, access: 'n' }, { domid: 5, access: 'r' }, { domid: 7, access: 'b' }]);
      for (let i = 0; i < 12; i++) await xs.write(`/cli/many/n${i}`, String(i));
    });
    afterAll(async () => {
      await xs?.close();
      await d?.stop();
    });

    for (const args of [[], ['-p'], ['-f'], ['-f', '-p'], ['/cli'], ['-p', '/cli/vm'], ['-fp', '/cli/vm'], ['cli-rel-missing-ok']] as string[][]) {
      it(`ls ${args.join(' ')} prints exactly what xenstore-ls prints`, async () => {
        if (args[0] === 'cli-rel-missing-ok') {
          // A relative path resolves against /local/domain/0 for both.
          await xs.write('/local/domain/0/clirel/x', '1');
          args.splice(0, 1, 'clirel');
        }
        const c = await tool('xenstore-ls', args, d.socketPath);
        const ours = await runXs(['--xenstore', target, 'ls', ...args]);
        expect(ours.err).toBe('');
        expect(ours.code).toBe(c.code);
        expect(Buffer.from(ours.out, 'utf8').toString('latin1')).toBe(c.out);
      });
    }

    it('lists a big tree (1,000 nodes, fetched with bounded pipelining) exactly as xenstore-ls', async () => {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => xs.write(`/cli/big/d${i % 40}/n${i}`, `v${i}`)));
      const c = await tool('xenstore-ls', ['-p', '/cli/big'], d.socketPath);
      const ours = await runXs(['--xenstore', target, 'ls', '-p', '/cli/big']);
      expect(ours.out.split('\n')).toHaveLength(1041);
      expect(ours.out).toBe(c.out);
      await xs.rm('/cli/big');
    });

    it('read and list print what xenstore-read and xenstore-list print', async () => {
      const keys = ['/cli/vm/name', '/cli/vm/esc', '/cli/vm/bin', '/cli/empty'];
      expect((await runXs(['--xenstore', target, 'read', ...keys])).out).toBe((await tool('xenstore-read', keys, d.socketPath)).out);
      expect((await runXs(['--xenstore', target, 'read', '-p', ...keys])).out).toBe((await tool('xenstore-read', ['-p', ...keys], d.socketPath)).out);
      expect((await runXs(['--xenstore', target, 'list', '/cli/vm', '/cli'])).out).toBe((await tool('xenstore-list', ['/cli/vm', '/cli'], d.socketPath)).out);
      expect((await runXs(['--xenstore', target, 'list', '-p', '/cli/vm'])).out).toBe((await tool('xenstore-list', ['-p', '/cli/vm'], d.socketPath)).out);
    });

    it('write unescapes its values exactly as xenstore-write does (-R keeps them raw)', async () => {
      const inputs = ['plain', 'a\\tb\\nc\\\\d', '\\x1b\\x7f\\xffz\\xg', '\\001\\0123\\777', 'odd\\q', 'trail\\'];
      for (const [i, v] of inputs.entries()) {
        await tool('xenstore-write', [`/cli/w/c${i}`, v], d.socketPath);
        expect((await runXs(['--xenstore', target, 'write', `/cli/w/t${i}`, v])).code).toBe(0);
        expect([...(await xs.readBytes(`/cli/w/t${i}`))]).toEqual([...(await xs.readBytes(`/cli/w/c${i}`))]);
      }
      await runXs(['--xenstore', target, 'write', '-R', '/cli/w/raw', 'a\\tb']);
      expect(await xs.read('/cli/w/raw')).toBe('a\\tb');
      // Several pairs in one call.
      await runXs(['--xenstore', target, 'write', '/cli/w/p1', '1', '/cli/w/p2', '2']);
      expect([await xs.read('/cli/w/p1'), await xs.read('/cli/w/p2')]).toEqual(['1', '2']);
    });

    it('rm -t removes empty parents like xenstore-rm -t; chmod -r/-u set the subtree and the parents', async () => {
      await xs.write('/cli/t1/a/b/c', '1');
      await xs.write('/cli/t2/a/b/c', '1');
      await xs.write('/cli/t2/keep', '1');
      await tool('xenstore-rm', ['-t', '/cli/t1/a/b/c'], d.socketPath);
      expect((await runXs(['--xenstore', target, 'rm', '-t', '/cli/t2/a/b/c'])).code).toBe(0);
      expect(await xs.tryRead('/cli/t1')).toBeUndefined();
      expect(await xs.directory('/cli/t2')).toEqual(['keep']);

      await xs.write('/cli/ch/x/y', '1');
      expect((await runXs(['--xenstore', target, 'chmod', '-r', '/cli/ch', 'n0', 'r3'])).code).toBe(0);
      for (const p of ['/cli/ch', '/cli/ch/x', '/cli/ch/x/y']) expect((await runXs(['--xenstore', target, 'perms', p])).out).toBe('n0 r3\n');
      expect((await runXs(['--xenstore', target, 'chmod', '-u', '/cli/ch/x', 'n0', 'r4'])).code).toBe(0);
      expect((await xs.getPerms('/cli')).map((p) => `${p.access}${p.domid}`)).toEqual(['n0', 'r4']);
      expect((await xs.getPerms('/cli/ch/x/y')).map((p) => `${p.access}${p.domid}`)).toEqual(['n0', 'r3']);
      await xs.setPerms('/cli', [{ domid: 0, access: 'n' }]);
      await xs.setPerms('/cli/ch', [{ domid: 0, access: 'n' }]);
    });

    it('names the path and exits 4 for a missing node, 3 for an unreachable daemon, 2 for bad usage', async () => {
      const ls = await runXs(['--xenstore', target, 'ls', '/cli/nope']);
      expect(ls.code).toBe(4);
      expect(ls.err).toContain('/cli/nope');
      expect(ls.err).toContain('ENOENT');
      const rd = await runXs(['--xenstore', target, 'read', '/cli/vm/name', '/cli/missing']);
      expect(rd.code).toBe(4);
      expect(rd.err).toContain('/cli/missing');
      expect((await runXs(['--xenstore', target, 'exists', '/cli/vm', '/cli/missing'])).code).toBe(4);
      expect((await runXs(['--xenstore', target, 'exists', '/cli/vm'])).code).toBe(0);
      const down = await runXs(['--xenstore', `socket:${d.dir}/no-such-socket`, 'read', '/x']);
      expect(down.code).toBe(3);
      expect(down.err).toContain('no-such-socket');
      const bad = await runXs(['--xenstore', target, 'read', '/a//b']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('/a//b');
      expect((await runXs(['--xenstore', target, 'chmod', '/cli', 'q0'])).code).toBe(2);
      expect((await runXs(['--xenstore', target, 'frobnicate'])).code).toBe(2);
      // XENSTORED_PATH is honoured when --xenstore is absent, as libxenstore does.
      expect((await runXs(['read', '/cli/vm/name'], { XENSTORED_PATH: d.socketPath })).out).toBe('hello world\n');
    });

    it('watch -n N prints N changed paths, the registration event first, like xenstore-watch', async () => {
      const run = runXs(['--xenstore', target, 'watch', '-n', '3', '/cli/wt']);
      // The watch is registered once its first event (the registration one) can arrive.
      await new Promise((r) => setTimeout(r, 200));
      await xs.write('/cli/wt/a', '1');
      await xs.write('/cli/wt/b', '2');
      const r = await run;
      expect(r.code).toBe(0);
      expect(r.out).toBe('/cli/wt\n/cli/wt/a\n/cli/wt/b\n');
    });

    it('--json gives machines the tree, values, lists and permissions', async () => {
      const tree = JSON.parse((await runXs(['--xenstore', target, '--json', 'ls', '-p', '/cli/vm'])).out) as {
        path: string;
        children: { name: string; path: string; value: string | null; perms: string[]; children: unknown[] }[];
      };
      expect(tree.path).toBe('/cli/vm');
      const name = tree.children.find((c) => c.name === 'name')!;
      expect(name).toEqual({ name: 'name', path: '/cli/vm/name', value: 'hello world', perms: ['n0', 'r5', 'b7'], children: [] });
      expect(tree.children.find((c) => c.name === 'deep')!.children).toHaveLength(1);
      expect(JSON.parse((await runXs(['--xenstore', target, 'read', '--json', '/cli/vm/name'])).out)).toEqual({ '/cli/vm/name': 'hello world' });
      expect(JSON.parse((await runXs(['--xenstore', target, '--json', 'perms', '/cli/vm/name'])).out)).toEqual({
        '/cli/vm/name': [
          { domid: 0, access: 'n' },
          { domid: 5, access: 'r' },
          { domid: 7, access: 'b' },
        ],
      });
      expect(JSON.parse((await runXs(['--xenstore', target, '--json', 'list', '/cli/vm/deep'])).out)).toEqual({ '/cli/vm/deep': ['a'] });
    });
  });
}
