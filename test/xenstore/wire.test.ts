// The wire codec, the path rules and the value escaping of the C tools, as pure functions:
// table values from xs_wire.h, the frame layout byte by byte, and a property that any split
// of a frame stream decodes to the same frames.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { E_XS_BAD_PATH, xsReplyError, E_XS_QUOTA, E_XS_UNKNOWN } from '../../src/xenstore/errors.js';
import { lsLine, sanitiseValue, unsanitiseValue } from '../../src/xenstore/format.js';
import { isSpecialPath, joinPath, PATH_MAX, resolvePath, validatePath } from '../../src/xenstore/paths.js';
import { parsePerms, formatPerms } from '../../src/xenstore/perms.js';
import {
  args,
  argWithTail,
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  HEADER_SIZE,
  PAYLOAD_MAX,
  splitStrings,
  typeName,
  XS_ERRORS,
  XsType,
  type Frame,
} from '../../src/xenstore/wire.js';

describe('xs_wire.h tables', () => {
  it('numbers every message type as xs_wire.h does', () => {
    expect(XsType).toMatchObject({
      CONTROL: 0, DIRECTORY: 1, READ: 2, GET_PERMS: 3, WATCH: 4, UNWATCH: 5, TRANSACTION_START: 6,
      TRANSACTION_END: 7, INTRODUCE: 8, RELEASE: 9, GET_DOMAIN_PATH: 10, WRITE: 11, MKDIR: 12, RM: 13,
      SET_PERMS: 14, WATCH_EVENT: 15, ERROR: 16, IS_DOMAIN_INTRODUCED: 17, RESUME: 18, SET_TARGET: 19,
      RESET_WATCHES: 21, DIRECTORY_PART: 22, GET_FEATURE: 23, SET_FEATURE: 24, GET_QUOTA: 25, SET_QUOTA: 26,
      INVALID: 65535,
    });
    expect(typeName(11)).toBe('WRITE');
    expect(typeName(20)).toBe('TYPE_20'); // the retired XS_RESTRICT slot
  });

  it('keeps xsd_errors[] order (EINVAL first: C maps unknown errnos to it) with Linux errnos', () => {
    expect(XS_ERRORS.map(([n]) => n)).toEqual([
      'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO',
      'ENOTEMPTY', 'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
    ]);
    expect(Object.fromEntries(XS_ERRORS)).toMatchObject({ ENOENT: 2, EACCES: 13, EAGAIN: 11, E2BIG: 7, EPERM: 1 });
  });

  it('maps error replies to typed codes, EQUOTA to its own, unknown names keeping the raw string', () => {
    for (const name of ['ENOENT', 'EACCES', 'EEXIST', 'EINVAL', 'EAGAIN', 'E2BIG']) {
      const err = xsReplyError(name, 'READ', '/a');
      expect(err.code).toBe(`TSX_ERR_XS_${name}`);
      expect(err.details).toEqual({ errno: name, op: 'READ', path: '/a' });
      expect(err.message).toContain('/a');
    }
    expect(isError(xsReplyError('EQUOTA', 'WRITE', '/q'), E_XS_QUOTA)).toBe(true);
    const odd = xsReplyError('EWHATEVER', 'WRITE');
    expect(isError(odd, E_XS_UNKNOWN)).toBe(true);
    expect(odd.details['errno']).toBe('EWHATEVER');
  });
});

describe('frames', () => {
  it('lays out a frame as four little-endian u32 then the payload', () => {
    const f = encodeFrame(XsType.WRITE, 0x01020304, 7, argWithTail('/a', Buffer.from('v')));
    expect([...f]).toEqual([11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 4, 0, 0, 0, 0x2f, 0x61, 0, 0x76]);
    expect(HEADER_SIZE).toBe(16);
    expect(PAYLOAD_MAX).toBe(4096);
  });

  it('builds NUL-terminated arguments and splits replies', () => {
    expect(args('a', 'b').toString('latin1')).toBe('a\0b\0');
    expect(args('').toString('latin1')).toBe('\0'); // a no-argument request: one NUL
    expect(splitStrings(Buffer.from('a\0bc\0'))).toEqual(['a', 'bc']);
    expect(splitStrings(Buffer.from('a\0tail'))).toEqual(['a', 'tail']);
    expect(splitStrings(Buffer.alloc(0))).toEqual([]);
  });

  const frameArb = fc.record({
    type: fc.constantFrom(...Object.values(XsType)),
    reqId: fc.nat({ max: 0xffffffff }),
    txId: fc.nat({ max: 0xffffffff }),
    payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  });

  it('decodes any split of a frame stream to the same frames (push and feed)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.reqId, f.txId, f.payload)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        const pushed = new FrameDecoder();
        const fed = new FrameDecoder();
        const a: Frame[] = [];
        const b: Frame[] = [];
        for (const c of chunks) {
          a.push(...pushed.push(c));
          fed.feed(c, (type, reqId, txId, payload) => (b.push({ type, reqId, txId, payload: Buffer.from(payload) }), true));
        }
        const norm = (l: readonly Frame[]) => l.map((f) => ({ ...f, payload: [...f.payload] }));
        const want = frames.map((f) => ({ ...f, payload: [...f.payload] }));
        expect(norm(a)).toEqual(want);
        expect(norm(b)).toEqual(want);
        expect(pushed.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('frames own their payload: later chunks do not change earlier frames', () => {
    const d = new FrameDecoder();
    const chunk = encodeFrame(2, 1, 0, Buffer.from('abc'));
    const [f] = d.push(chunk);
    chunk.fill(0);
    expect(f!.payload.toString()).toBe('abc');
  });

  it('rejects a header announcing more than its limit; the client limit admits oxenstored-sized replies', () => {
    const big = encodeFrame(2, 1, 0, Buffer.alloc(5000, 0x41));
    expect(() => new FrameDecoder().push(big.subarray(0, HEADER_SIZE))).toThrow(FrameTooLargeError);
    const [f] = new FrameDecoder(1 << 20).push(big);
    expect(f!.payload.length).toBe(5000);
  });
});

describe('paths', () => {
  it('accepts the cxenstored charset and rejects the rest, naming the path', () => {
    for (const ok of ['/', '/a', '/local/domain/0/device/vbd/51712', 'rel/ative', '/x_y-z@w']) expect(() => validatePath(ok)).not.toThrow();
    for (const bad of ['', '/a/', '/a//b', '/a b', '/ä', '/a.b', '/a\0']) {
      try {
        validatePath(bad);
        expect.unreachable(`${JSON.stringify(bad)} accepted`);
      } catch (err) {
        expect(isError(err, E_XS_BAD_PATH)).toBe(true);
        expect((err as { details: { path: string } }).details.path).toBe(bad);
      }
    }
  });

  it('allows @ names only where the protocol does', () => {
    expect(isSpecialPath('@releaseDomain')).toBe(true);
    expect(() => validatePath('@releaseDomain')).toThrow();
    expect(() => validatePath('@releaseDomain', { allowSpecial: true })).not.toThrow();
  });

  it('applies the length limit to the part after /local/domain/N/ (xenstore.md §2.1)', () => {
    const tail = 'x'.repeat(PATH_MAX - 1);
    expect(() => validatePath(`/${tail}`)).not.toThrow();
    expect(() => validatePath(`/${tail}x`)).toThrow();
    expect(() => validatePath(`/local/domain/7/${'y'.repeat(PATH_MAX)}`)).not.toThrow();
    expect(() => validatePath(`/local/domain/7/${'y'.repeat(PATH_MAX + 1)}`)).toThrow();
  });

  it('resolves relative paths against the connection home and joins components', () => {
    expect(resolvePath('device/vif', '/local/domain/0')).toBe('/local/domain/0/device/vif');
    expect(resolvePath('/abs', '/local/domain/0')).toBe('/abs');
    expect(resolvePath('@introduceDomain', '/local/domain/0')).toBe('@introduceDomain');
    expect(joinPath('/', 'a', 1)).toBe('/a/1');
    expect(joinPath('/local/domain', 3, 'name')).toBe('/local/domain/3/name');
  });

  it('parses and formats permission lists, owner first', () => {
    const p = parsePerms(['n0', 'r5', 'b7']);
    expect(p[0]).toEqual({ domid: 0, access: 'n' });
    expect(formatPerms(p)).toEqual(['n0', 'r5', 'b7']);
    expect(() => parsePerms(['x1'])).toThrow();
    expect(() => parsePerms([])).toThrow();
  });
});

describe('value escaping of xenstore-utils', () => {
  it('sanitises as xs_lib.c does', () => {
    expect(sanitiseValue(Buffer.from([0x1b, 0x7f, 0xff, 7, 8, 9, 10, 13, 0x5c, 0x41, 0x22]))).toBe('\\x1b\\x7f\\xff\\007\\x08\\t\\n\\r\\\\A"');
  });

  it('unsanitise inverts sanitise for every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect([...unsanitiseValue(sanitiseValue(b))]).toEqual([...b]);
      }),
    );
  });

  it('unsanitises the C quirks: unknown escapes stand for themselves, a trailing backslash is a NUL', () => {
    expect([...unsanitiseValue('\\q\\xg\\777\\')]).toEqual([0x71, 0x78, 0x67, 0xff, 0]);
    expect(unsanitiseValue('\\0123').toString('latin1')).toBe('\n3');
  });

  it('cuts long values at the terminal width with \\... and lines perms up at column 60', () => {
    const layout = { fullPaths: false, perms: false, width: 80 };
    const long = lsLine({ name: 'long', path: '/long', value: Buffer.from('L'.repeat(300)), children: [] }, 1, layout);
    expect(long).toBe(` long = "${'L'.repeat(67)}\\..."`);
    const withPerms = lsLine({ name: 'a', path: '/a', value: Buffer.from('1'), perms: [{ domid: 0, access: 'n' }], children: [] }, 0, { ...layout, perms: true });
    expect(withPerms.indexOf('  (n0)')).toBe(60);
  });
});
