// The real console source on a real pty: a stand-in xenconsoled (test/fixtures/fake-xenconsoled.py)
// holds the master and publishes the slave in xenstore as xenconsoled does; PtyConsoleSource
// opens it in raw mode and relays bytes both ways. This is the code path `tsxend console` takes
// on a Xen host (the QEMU dom0 run tests it against the real xenconsoled).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PtyConsoleSource, consoleTtyPath } from '../../src/lifecycle/console-pty.js';
import type { ConsoleStream } from '../../src/lifecycle/console.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { openXenstore } from '../../src/xenstore/index.js';
import type { XenstoreClient } from '../../src/xenstore/types.js';

const helper = fileURLToPath(new URL('../fixtures/fake-xenconsoled.py', import.meta.url));

interface FakeXenconsoled {
  proc: ChildProcessWithoutNullStreams;
  tty: string;
  /** What console users typed, as the master read it. */
  typed: () => Buffer;
  waitTyped: (bytes: Buffer) => Promise<void>;
}

async function startFakeXenconsoled(): Promise<FakeXenconsoled> {
  const proc = spawn('python3', [helper]);
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; !out.includes('\n'); i++) {
    if (i > 100) throw new Error(`fake xenconsoled did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const tty = out.split('\n')[0]!;
  const typed = () => Buffer.concat(out.split('\n').filter((l) => l.startsWith('IN ')).map((l) => Buffer.from(l.slice(3), 'hex')));
  const waitTyped = async (bytes: Buffer) => {
    for (let i = 0; i < 100 && !typed().includes(bytes); i++) await new Promise((r) => setTimeout(r, 50));
    expect(typed().toString('latin1')).toContain(bytes.toString('latin1'));
  };
  return { proc, tty, typed, waitTyped };
}

function collect(stream: ConsoleStream): { text: () => string; ended: Promise<string>; waitFor: (s: string) => Promise<void> } {
  let got = '';
  stream.onData((b) => (got += b.toString('latin1')));
  const ended = new Promise<string>((resolve) => stream.onEnd(resolve));
  return {
    text: () => got,
    ended,
    waitFor: async (s) => {
      for (let i = 0; i < 100 && !got.includes(s); i++) await new Promise((r) => setTimeout(r, 50));
      expect(got).toContain(s);
    },
  };
}

describe('PtyConsoleSource: the console pty xenconsoled publishes', () => {
  let mock: MockXenstored;
  let xs: XenstoreClient;
  let fake: FakeXenconsoled | undefined;
  beforeEach(async () => {
    mock = new MockXenstored();
    xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
  });
  afterEach(async () => {
    fake?.proc.kill();
    fake = undefined;
    await xs.close();
    await mock.close();
  });

  it('reads /local/domain/<domid>/console/tty and relays raw bytes both ways', async () => {
    fake = await startFakeXenconsoled();
    await xs.write(consoleTtyPath(7), fake.tty);
    const source = new PtyConsoleSource(xs);
    const stream = await source.open(7);
    const seen = collect(stream);
    expect(stream.backlog.length).toBe(0);
    // The guest prints: it reaches the console user unchanged.
    fake.proc.stdin.write('Debian GNU/Linux 12 guest hvc0\r\nguest login: ');
    await seen.waitFor('guest login: ');
    expect(seen.text()).toBe('Debian GNU/Linux 12 guest hvc0\r\nguest login: ');
    // The user types: raw mode, so the master reads exactly these bytes (no echo, no CR→LF, ^C kept).
    stream.write(Buffer.from('root\r\x03\x1b[A'));
    await fake.waitTyped(Buffer.from('root\r\x03\x1b[A'));
    expect(fake.typed()).toEqual(Buffer.from('root\r\x03\x1b[A'));
    stream.close();
    stream.close(); // twice is fine
  });

  it('ends the stream when xenconsoled lets the pty go', async () => {
    fake = await startFakeXenconsoled();
    await xs.write(consoleTtyPath(8), fake.tty);
    const stream = await new PtyConsoleSource(xs).open(8);
    const seen = collect(stream);
    fake.proc.stdin.end();
    expect(await seen.ended).toMatch(/console \/dev\/pts\/\d+/);
  });

  it('waits for a tty published a moment after the attach (a domain just created)', async () => {
    fake = await startFakeXenconsoled();
    const source = new PtyConsoleSource(xs, { waitMs: 5000 });
    const opening = source.open(9);
    await new Promise((r) => setTimeout(r, 200));
    await xs.write(consoleTtyPath(9), fake.tty);
    const stream = await opening;
    stream.close();
  });

  it('refuses typed when there is no tty node, or it names something that is not a pty', async () => {
    const source = new PtyConsoleSource(xs, { waitMs: 200 });
    await expect(source.open(10)).rejects.toMatchObject({ code: 'TSX_ERR_CONSOLE_UNAVAILABLE', message: expect.stringContaining('/local/domain/10/console/tty is missing') as unknown });
    await xs.write(consoleTtyPath(11), '/etc/shadow');
    await expect(source.open(11)).rejects.toMatchObject({ code: 'TSX_ERR_CONSOLE_UNAVAILABLE', message: expect.stringContaining('not a pty') as unknown });
    await xs.write(consoleTtyPath(12), '/dev/pts/999999');
    await expect(source.open(12)).rejects.toMatchObject({ code: 'TSX_ERR_CONSOLE_UNAVAILABLE', message: expect.stringContaining('cannot open') as unknown });
  });
});
