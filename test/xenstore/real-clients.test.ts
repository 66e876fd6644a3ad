// Real xenstore clients against the mock served on a Unix socket: the libxenstore C tools,
// Xen's own test-xenstore (every test), and python3-pyxs. They skip with a message where the
// Debian packages are missing, and fail under CI=true.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';

const run = promisify(execFile);
const TEST_XENSTORE = '/usr/lib/xen-4.17/bin/test-xenstore';
const ci = process.env.CI === 'true';

function available(what: string, ok: boolean): boolean {
  if (!ok && ci) throw new Error(`${what} is missing under CI=true (install xen-utils-4.17, xenstore-utils, python3-pyxs)`);
  if (!ok) console.warn(`skipping: ${what} is not installed`);
  return ok;
}

const haveTools = available('xenstore-utils (/usr/bin/xenstore-write …)', existsSync('/usr/bin/xenstore-write'));
const haveTestXenstore = available(TEST_XENSTORE, existsSync(TEST_XENSTORE));
const havePyxs = available('python3-pyxs', existsSync('/usr/lib/python3/dist-packages/pyxs/__init__.py'));

let dir: string;
let xs: MockXenstored;
let sock: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsxend-mock-real-'));
  sock = join(dir, 'socket');
  xs = new MockXenstored();
  await xs.listen(sock);
});
afterAll(async () => {
  await xs.close();
  rmSync(dir, { recursive: true, force: true });
});

function tool(name: string, ...argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(`/usr/bin/${name}`, argv, { env: { ...process.env, XENSTORED_PATH: sock }, timeout: 20_000 });
}

describe.runIf(haveTools)('libxenstore tools against the mock', () => {
  it('write, read, ls, chmod and rm work and show what the mock stores', async () => {
    await tool('xenstore-write', '/rc/a', 'hello', '/rc/b/c', 'world');
    expect((await tool('xenstore-read', '/rc/a')).stdout).toBe('hello\n');
    expect(xs.read('/rc/b/c')?.toString()).toBe('world');
    expect((await tool('xenstore-ls', '/rc')).stdout).toBe('a = "hello"\nb = ""\n c = "world"\n');
    await tool('xenstore-chmod', '/rc/a', 'n0', 'r0');
    expect((await tool('xenstore-ls', '-p', '/rc')).stdout).toMatch(/^a = "hello" .*\(n0,r0\)$/m);
    await tool('xenstore-rm', '/rc/b');
    expect((await tool('xenstore-ls', '/rc')).stdout).toBe('a = "hello"\n');
    await expect(tool('xenstore-read', '/rc/b/c')).rejects.toThrow();
  });

  it('xenstore-watch sees the first event and a later change', async () => {
    const watching = tool('xenstore-watch', '-n', '2', '/rcw');
    await new Promise((r) => setTimeout(r, 300));
    await tool('xenstore-write', '/rcw/x', '1');
    expect((await watching).stdout).toBe('/rcw\n/rcw/x\n');
  });

  it('xenstore-ls copes with a directory larger than one reply (DIRECTORY_PART)', async () => {
    const pairs: string[] = [];
    for (let i = 0; i < 300; i++) pairs.push(`/rcbig/child-number-${String(i).padStart(4, '0')}`, String(i));
    for (let i = 0; i < pairs.length; i += 100) await tool('xenstore-write', ...pairs.slice(i, i + 100));
    const out = (await tool('xenstore-list', '/rcbig')).stdout.trim().split('\n');
    expect(out).toHaveLength(300);
    expect(out[299]).toBe('child-number-0299');
  });
});

describe.runIf(haveTestXenstore)("Xen's test-xenstore against the mock", () => {
  it('passes every one of its tests', async () => {
    const list = (await run(TEST_XENSTORE, ['-l'], { timeout: 10_000 })).stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter((n): n is string => !!n && !/^(test|available|usage)/i.test(n));
    expect(list.length).toBeGreaterThan(5);
    const { stdout } = await run(TEST_XENSTORE, [], { env: { ...process.env, XENSTORED_PATH: sock }, timeout: 120_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(list.length);
    for (const l of lines) expect(l).toMatch(/: +\d+ ns$/);
  });
});

const PYXS_SCRIPT = String.raw`
import sys
from pyxs import Client
from pyxs.exceptions import PyXSError
with Client(unix_socket_path=sys.argv[1]) as c:
    c.write(b"/py/a", b"1")
    assert c.read(b"/py/a") == b"1"
    c.mkdir(b"/py/d")
    assert sorted(c.list(b"/py")) == [b"a", b"d"], c.list(b"/py")
    c.set_perms(b"/py/a", [b"n0", b"r0"])
    assert c.get_perms(b"/py/a") == [b"n0", b"r0"], c.get_perms(b"/py/a")
    assert c.get_domain_path(3) == b"/local/domain/3"
    assert c.is_domain_introduced(0)
    c.transaction()
    c.write(b"/py/t", b"x")
    assert c.read(b"/py/t") == b"x"
    assert c.commit()
    assert c.read(b"/py/t") == b"x"
    c.transaction()
    c.read(b"/py/a")
    with Client(unix_socket_path=sys.argv[1]) as other:
        other.write(b"/py/a", b"2")
    assert not c.commit()
    m = c.monitor()
    m.watch(b"/py/w", b"tok")
    first = next(m.wait())
    assert first == (b"/py/w", b"tok"), first
    c.write(b"/py/w/x", b"1")
    ev = next(m.wait())
    assert ev == (b"/py/w/x", b"tok"), ev
    m.unwatch(b"/py/w", b"tok")
    c.delete(b"/py/a")
    assert not c.exists(b"/py/a")
    try:
        c.read(b"/py/missing")
        raise SystemExit("read of a missing node did not fail")
    except PyXSError:
        pass
print("pyxs ok")
`;

describe.runIf(havePyxs)('python3-pyxs against the mock', () => {
  it('reads, writes, lists, sets perms, watches and runs transactions', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PYXS_SCRIPT, sock], { timeout: 30_000 });
    expect(stdout.trim()).toBe('pyxs ok');
  });
});
