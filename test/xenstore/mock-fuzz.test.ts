// fast-check fuzzing of the mock's framing and request parsing: whatever bytes arrive, the
// mock never throws, answers every complete request with exactly one typed reply (its own
// type, or XS_ERROR with a known errno name), closes the connection cleanly on an oversized
// header, and keeps serving its other connections. Bounded: ~1,100 generated cases in total.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, frame, RawClient, type RawMessage, show, T } from './mock-raw-client.js';

const ERRNOS = new Set(['EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY', 'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM']);

function wellFormed(m: RawMessage): boolean {
  if (m.payload.length > 4096) return false;
  if (m.type === T.ERROR) return ERRNOS.has(m.payload.toString('latin1').replace(/\0$/, '')) && m.payload[m.payload.length - 1] === 0;
  return true;
}

/** Payload pieces: path-like strings, NULs, bad UTF-8, numbers, raw bytes. */
const piece = fc.oneof(
  fc.constantFrom('/', '/tool', '/a/b', 'rel/x', '@releaseDomain', '@introduceDomain', '//', '/t/', '', 'T', 'F', '0', '5', '-1', 'n0', 'r5', 'b0', 'help', 'check', 'print'),
  fc.stringMatching(/^[/a-z0-9@_-]{0,40}$/),
  fc.constant('\0'),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1')),
  fc.constantFrom('\u00c3\u0028', '\u00ff\u00fe', '\u00e9'),
);
const payload = fc.array(piece, { maxLength: 8 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));
const msgType = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom(65535, 0xffffffff, 99));
const request = fc.record({ type: msgType, payload, txId: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 }), fc.nat()) });

async function healthy(xs: MockXenstored): Promise<void> {
  const probe = new RawClient(xs.connect());
  expect(show((await probe.request(T.DIRECTORY, args('/tool'))).reply)).toBe('xenstored|');
  probe.close();
}

describe('mock xenstored: fuzzing', () => {
  it('answers every well-framed random request with exactly one typed reply, split anyhow', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (reqs, cuts) => {
        const xs = new MockXenstored();
        xs.domains.create(5);
        const c = new RawClient(xs.connect());
        const bytes = Buffer.concat(reqs.map((r, i) => frame(r.type, r.payload, i + 1, r.txId)));
        for (let off = 0, k = 0; off < bytes.length; k++) {
          const n = cuts[k % cuts.length]!;
          c.write(bytes.subarray(off, off + n));
          off += n;
        }
        const replies: RawMessage[] = [];
        while (replies.length < reqs.length) {
          const m = await c.next(1000);
          if (!m) break;
          expect(wellFormed(m)).toBe(true);
          if (m.type !== T.WATCH_EVENT) replies.push(m);
        }
        expect(replies.map((m) => m.reqId)).toEqual(reqs.map((_, i) => i + 1));
        replies.forEach((m, i) => {
          expect([reqs[i]!.type >>> 0, T.ERROR]).toContain(m.type);
          expect(m.txId).toBe(reqs[i]!.txId >>> 0);
        });
        await healthy(xs);
        c.close();
        await xs.close();
      }),
      { numRuns: 300 },
    );
  });

  it('survives arbitrary byte streams: a clean close or typed replies, other connections unaffected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 6 }), async (chunks) => {
        const xs = new MockXenstored();
        const c = new RawClient(xs.connect());
        for (const ch of chunks) c.write(Buffer.from(ch));
        for (;;) {
          const m = await c.next(20);
          if (!m) break;
          expect(wellFormed(m)).toBe(true);
        }
        await healthy(xs);
        c.close();
        await xs.close();
      }),
      { numRuns: 300 },
    );
  });

  it('closes a connection whose header announces more than 4096 bytes, whatever preceded it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 4 }), fc.integer({ min: 4097, max: 0xffffffff }), async (before, len) => {
        const xs = new MockXenstored();
        const c = new RawClient(xs.connect());
        const bytes = Buffer.concat([...before.map((r, i) => frame(r.type, r.payload, i + 1, 0)), frame(T.WRITE, Buffer.alloc(0), 99, 0, len)]);
        c.write(bytes);
        const got: RawMessage[] = [];
        for (;;) {
          const m = await c.next(100);
          if (!m) break;
          got.push(m);
        }
        expect(c.ended).toBe(true);
        // Like cxenstored, replies still queued when the bad header arrives are lost with it.
        expect(got).toEqual([]);
        await healthy(xs);
        await xs.close();
      }),
      { numRuns: 200 },
    );
  });

  it('waits for the rest of a truncated frame and frees the connection when the peer leaves', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.integer({ min: 1, max: 15 }), async (r, cut) => {
        const xs = new MockXenstored();
        const c = new RawClient(xs.connect());
        const bytes = frame(r.type, r.payload, 1, r.txId);
        const keep = Math.max(1, bytes.length - cut);
        c.write(bytes.subarray(0, keep));
        expect(await c.next(20)).toBeUndefined();
        c.stream.end();
        await new Promise((res) => setTimeout(res, 5));
        expect(xs.connectionCount).toBe(0);
        await healthy(xs);
        await xs.close();
      }),
      { numRuns: 300 },
    );
  });
});
