// The differential harness itself, without a real daemon: two mocks compare equal, and a
// planted difference (a proxy that loses some watch events, or alters one reply) is found,
// shrunk to a short sequence and reported with its seed — so a green differential run means
// the daemons agreed, not that nothing was compared.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { T } from './mock-raw-client.js';
import { opText } from './differential/ops.js';
import { OX_DIFFERENCES } from './differential/oxenstored.js';
import { runBudget, type Budget, type Compare } from './differential/runner.js';
import { stepLines } from './differential/session.js';

/** A socket in front of `target` that passes requests and drops or rewrites some reply frames. */
function tamperingProxy(path: string, target: string, tamper: (frame: Buffer) => Buffer | undefined): Promise<Server> {
  const server = createServer((client) => {
    const up = connect(target);
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => up.write(d));
    up.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
        const len = 16 + buf.readUInt32LE(12);
        const out = tamper(buf.subarray(0, len));
        buf = buf.subarray(len);
        if (out) client.write(out);
      }
    });
    const end = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('close', end);
    up.on('close', end);
    client.on('error', end);
    up.on('error', end);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

const strict: Compare = (op, [a, b]) => {
  expect(stepLines(b!), opText(op)).toEqual(stepLines(a!));
};

const budget = (ops: number): Budget => ({ ops, seed: 2, runsPerSeed: 25, maxCommands: 160 });

describe('differential harness', () => {
  let dir: string;
  let a: MockXenstored;
  let b: MockXenstored;
  const servers: Server[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsxend-xsdiff-self-'));
    a = new MockXenstored();
    b = new MockXenstored();
    await a.listen(join(dir, 'a'));
    await b.listen(join(dir, 'b'));
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no difference between two mocks', async () => {
    const r = await runBudget('self', [{ name: 'a', socketPath: join(dir, 'a') }, { name: 'b', socketPath: join(dir, 'b') }], strict, budget(2000));
    expect(r.ops).toBeGreaterThanOrEqual(2000);
  }, 120_000);

  it('finds, shrinks and reports a lost watch event', async () => {
    const lossy = join(dir, 'lossy');
    servers.push(
      await tamperingProxy(lossy, join(dir, 'b'), (f) => (f.readUInt32LE(0) === T.WATCH_EVENT && f.subarray(16).toString('latin1').includes('/c\0') ? undefined : f)),
    );
    const err = await runBudget('self', [{ name: 'a', socketPath: join(dir, 'a') }, { name: 'lossy', socketPath: lossy }], strict, budget(20_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/seed: 2\b/);
    const cmds = /Counterexample: \[(.*) \/\*replayPath/.exec(msg)?.[1] ?? '';
    // Shrunk to the few ops the difference needs (a watch on a node ending in /c, or a change to one).
    expect(cmds).toMatch(/watch/);
    expect(cmds.split(/,(?=c\d )/).length).toBeLessThanOrEqual(4);
  }, 120_000);

  it('finds a reply that differs in one byte of its header', async () => {
    const flip = join(dir, 'flip');
    servers.push(
      await tamperingProxy(flip, join(dir, 'b'), (f) => {
        if (f.readUInt32LE(0) !== T.GET_PERMS) return f;
        const g = Buffer.from(f);
        g.writeUInt32LE(g.readUInt32LE(8) ^ 1, 8);
        return g;
      }),
    );
    const err = await runBudget('self', [{ name: 'a', socketPath: join(dir, 'a') }, { name: 'flip', socketPath: flip }], strict, budget(20_000)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/Counterexample: \[[^\]]*getperms/);
  }, 120_000);

  it('lists every oxenstored difference the comparison accepts in docs/xenstore-mock.md', () => {
    const doc = readFileSync(new URL('../../docs/xenstore-mock.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Differences from oxenstored'));
    for (const name of Object.keys(OX_DIFFERENCES)) expect(section, name).toContain(`| \`${name}\` |`);
  });
});
