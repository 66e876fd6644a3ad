// Where the client connects and how it writes: target resolution as libxenstore does it, the
// xenbus character-device transport (exercised on a FIFO, which echoes each request back as
// its own "reply"), and one message per write on streams that need it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { WireClient } from '../../src/xenstore/client.js';
import { E_XS_BAD_PATH, E_XS_UNAVAILABLE, openXenstore, parseTarget, defaultSocketPath } from '../../src/xenstore/index.js';
import { encodeFrame, FrameDecoder, XsType } from '../../src/xenstore/wire.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import type { ConnectionEvent } from '../../src/xenstore/types.js';

const dir = mkdtempSync(join(tmpdir(), 'tsxend-xs-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('target resolution', () => {
  it('follows libxenstore: XENSTORED_PATH, else XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket', () => {
    expect(defaultSocketPath({ XENSTORED_PATH: '/p/s', XENSTORED_RUNDIR: '/r' })).toBe('/p/s');
    expect(defaultSocketPath({ XENSTORED_RUNDIR: '/r' })).toBe('/r/socket');
    expect(defaultSocketPath({})).toBe('/var/run/xenstored/socket');
    expect(parseTarget(undefined, {})).toEqual({ kind: 'socket', path: '/var/run/xenstored/socket' });
    // XENSTORED_PATH may name the kernel device, as libxenstore allows.
    expect(parseTarget(undefined, { XENSTORED_PATH: '/dev/xen/xenbus' })).toEqual({ kind: 'xenbus', path: '/dev/xen/xenbus' });
  });

  it('parses --xenstore socket:PATH, xenbus:PATH and embedded; refuses anything else, naming it', () => {
    expect(parseTarget('socket:/tmp/x', { XENSTORED_PATH: '/ignored' })).toEqual({ kind: 'socket', path: '/tmp/x' });
    expect(parseTarget('xenbus:/dev/xen/xenbus')).toEqual({ kind: 'xenbus', path: '/dev/xen/xenbus' });
    expect(parseTarget('embedded')).toEqual({ kind: 'embedded' });
    try {
      parseTarget('tcp:1.2.3.4');
      expect.unreachable();
    } catch (err) {
      expect(isError(err, E_XS_BAD_PATH)).toBe(true);
      expect((err as Error).message).toContain('tcp:1.2.3.4');
    }
  });

  it('answers UNAVAILABLE naming the socket when nothing listens', async () => {
    const err = await openXenstore({ kind: 'socket', path: join(dir, 'nobody') }).catch((e: unknown) => e);
    expect(isError(err, E_XS_UNAVAILABLE)).toBe(true);
    expect((err as Error).message).toContain(join(dir, 'nobody'));
  });
});

describe('xenbus transport', () => {
  it('opens the device as a file and moves whole frames both ways (a FIFO echoes each request)', async () => {
    const fifo = join(dir, 'xenbus');
    execFileSync('mkfifo', [fifo]);
    const xs = await openXenstore({ kind: 'xenbus', path: fifo }, { reconnect: false });
    try {
      // The echoed READ frame is taken for the reply to that req_id: its payload is the request's.
      expect((await xs.readBytes('/a/b')).toString('latin1')).toBe('/a/b\0');
      const many = await Promise.all(['/x', '/y', '/z'].map((p) => xs.readBytes(p)));
      expect(many.map((b) => b.toString('latin1'))).toEqual(['/x\0', '/y\0', '/z\0']);
    } finally {
      await xs.close();
    }
  });

  it('gives a stream without writev exactly one message per write, even when pipelining', async () => {
    const chunks: Buffer[] = [];
    const decoder = new FrameDecoder();
    const stream: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        // Answer each request at once with an empty READ reply.
        for (const f of decoder.push(chunk)) stream.push(encodeFrame(f.type, f.reqId, f.txId, Buffer.from('v')));
        cb();
      },
    });
    const xs = await WireClient.open(async () => stream, { reconnect: false });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => xs.read(`/k${i}`)));
      expect(chunks).toHaveLength(20);
      for (const c of chunks) {
        const frames = new FrameDecoder().push(c);
        expect(frames).toHaveLength(1);
        expect(frames[0]!.type).toBe(XsType.READ);
      }
    } finally {
      await xs.close();
    }
  });
});

describe('reconnect over a socket', () => {
  it('retries with backoff until a daemon serves the path again, then re-registers its watches', async () => {
    const path = join(dir, 'restarting');
    const first = new MockXenstored();
    await first.listen(path);
    const xs = await openXenstore({ kind: 'socket', path });
    const events: ConnectionEvent[] = [];
    xs.onConnectionEvent((e) => events.push(e));
    try {
      const w = await xs.watch('/survives');
      const it = w[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ path: '/survives' });
      await first.close();
      await expect.poll(() => events.map((e) => e.type)).toEqual(['disconnected']);
      // Nothing listens for a while: the client keeps trying without failing anyone but callers.
      await new Promise((r) => setTimeout(r, 150));
      const second = new MockXenstored();
      await second.listen(path);
      try {
        await expect.poll(() => events.at(-1), { timeout: 5000 }).toEqual({ type: 'reconnected', rewatched: 1 });
        // The new daemon fires the re-registered watch once, then on changes.
        expect((await it.next()).value).toMatchObject({ path: '/survives' });
        await xs.write('/survives/x', '1');
        expect((await it.next()).value).toMatchObject({ path: '/survives/x' });
        expect(xs.stats.reconnects).toBe(1);
      } finally {
        await xs.close();
        await second.close();
      }
    } finally {
      await xs.close();
    }
  });
});
