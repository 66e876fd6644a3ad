// Malformed replies fed to the client: random frames, split anywhere, wrong ids, bad UTF-8,
// oversized lengths, error replies with unknown names. The client never crashes and every
// request ends in a value or a typed error (TSX_ERR_*), never a hang or a raw exception.

import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasTsxCode } from '../../src/errors.js';
import { WireClient } from '../../src/xenstore/index.js';
import { encodeFrame } from '../../src/xenstore/wire.js';

/** A server that answers each request with whatever `reply` makes of it. */
function fakeServer(reply: (type: number, reqId: number, txId: number) => Buffer[]): () => Promise<Duplex> {
  return async () => {
    let buf = Buffer.alloc(0);
    const d: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
          const [t, r, x, len] = [buf.readUInt32LE(0), buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)];
          buf = buf.subarray(16 + len);
          for (const part of reply(t, r, x)) setImmediate(() => d.push(part));
        }
        cb();
      },
      final(cb) {
        d.push(null); // the peer closes when the client does
        cb();
      },
    });
    return d;
  };
}

const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.record({ type: fc.constantFrom(0, 2, 15, 16, 99, 0xffffffff), len: fc.integer({ min: 0, max: 80 }), payload: fc.uint8Array({ maxLength: 80 }) }).map(({ type, payload }) =>
    encodeFrame(type, 0, 0, Buffer.from(payload)),
  ),
);

describe('client fed malformed replies', () => {
  it('ends every request in a value or a typed error (200 sessions)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(garbage, { maxLength: 6 }), fc.boolean(), fc.constantFrom('EQUOTA', 'EWHAT', 'ENOENT', '\xff\xfe'), async (junk, answer, errName) => {
        const client = await WireClient.open(
          fakeServer((type, reqId, txId) => {
            const out = [...junk];
            if (answer) out.push(reqId % 2 ? encodeFrame(16, reqId, txId, Buffer.from(`${errName}\0`, 'latin1')) : encodeFrame(type, reqId, txId, Buffer.from('v')));
            return out;
          }),
          { reconnect: false },
        );
        const ops = [client.read('/a'), client.write('/b', 'x'), client.directory('/c'), client.getPerms('/d')];
        const results = await Promise.all(
          ops.map((p) =>
            Promise.race([
              p.then(
                () => 'ok',
                (e: unknown) => (hasTsxCode(e) ? 'typed' : `raw ${String(e)}`),
              ),
              new Promise((r) => setTimeout(() => r('pending'), 50)),
            ]),
          ),
        );
        await client.close();
        for (const r of results) expect(['ok', 'typed', 'pending']).toContain(r);
        // A request still pending after 50 ms is one whose reply never came; close() ends it typed.
        const settled = await Promise.all(ops.map((p) => p.then(() => 'ok', (e: unknown) => (hasTsxCode(e) ? 'typed' : 'raw'))));
        expect(settled).not.toContain('raw');
      }),
      { numRuns: 200 },
    );
  });

  it('drops a connection announcing a reply over 1 MiB and fails its requests typed', async () => {
    const client = await WireClient.open(
      fakeServer(() => {
        const h = Buffer.alloc(16);
        h.writeUInt32LE(2, 0);
        h.writeUInt32LE(1, 4);
        h.writeUInt32LE(2 << 20, 12);
        return [h];
      }),
      { reconnect: false },
    );
    const err = await client.read('/x').catch((e: unknown) => e);
    expect(hasTsxCode(err) && err.code).toBe('TSX_ERR_XS_DISCONNECTED');
    await client.close();
  });
});
