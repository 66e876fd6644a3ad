// Stored values live in slabs of their own, never in Node's shared Buffer pool, where one kept
// value would pin a whole slab of short-lived reply frames (the embedded store's 1,000-domain RSS).

import { describe, expect, it } from 'vitest';
import { keepValue } from '../../src/xenstore/mock/value-slabs.js';

describe('mock xenstored: stored values', () => {
  it('are copies of the written bytes, not views of the request', () => {
    const request = Buffer.from('/local/domain/1/name\0guest-1', 'latin1');
    const value = keepValue(request, 21, request.length);
    request.fill(0);
    expect(value.toString('latin1')).toBe('guest-1');
  });

  it("share slabs with other values only, never the shared pool's slab a reply frame comes from", () => {
    const frame = Buffer.allocUnsafe(40); // what the mock frames a reply in
    const a = keepValue(Buffer.from('4'), 0, 1);
    const b = keepValue(Buffer.from('xenbr0'), 0, 6);
    expect(a.buffer).not.toBe(frame.buffer);
    expect(b.buffer).toBe(a.buffer);
    expect(a.buffer.byteLength).toBeLessThanOrEqual(16 * 1024);
  });

  it('gives a large value memory of exactly its own size, and the empty value no memory', () => {
    const big = keepValue(Buffer.alloc(3000, 7), 0, 3000);
    expect(big.buffer.byteLength).toBe(3000);
    expect(big.every((x) => x === 7)).toBe(true);
    expect(keepValue(Buffer.from('x'), 1, 1).length).toBe(0);
  });
});
