import { describe, expect, it } from 'vitest';
import type { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, wv, frame, RawClient, show, T, text, mockPerTest } from './mock-raw-client.js';

const mock = mockPerTest();
let xs: MockXenstored;
let c: RawClient;

function setup(): void {
  xs = mock.start();
  c = mock.client();
}

async function q(type: number, payload: Buffer | string, txId = 0): Promise<string> {
  return show((await c.request(type, payload, { txId })).reply);
}

describe('mock xenstored: the node tree', () => {
  it('starts with exactly /, /tool and /tool/xenstored, all n0 and empty', async () => {
    setup();
    expect(xs.paths()).toEqual(['/', '/tool', '/tool/xenstored']);
    expect(await q(T.DIRECTORY, args('/'))).toBe('tool|');
    expect(await q(T.GET_PERMS, args('/tool/xenstored'))).toBe('n0|');
    expect(await q(T.READ, args('/tool'))).toBe('');
  });

  it('creates every missing parent on write, with empty values', async () => {
    setup();
    expect(await q(T.WRITE, wv('/a/b/c', 'v'))).toBe('OK');
    expect(await q(T.READ, args('/a/b'))).toBe('');
    expect(await q(T.READ, args('/a/b/c'))).toBe('v');
    expect(await q(T.DIRECTORY, args('/'))).toBe('tool|a|');
  });

  it('lists children in creation order, a re-created child at the end', async () => {
    setup();
    for (const n of ['zeta', 'B', 'a', '_x', '-y', '1']) await q(T.WRITE, args(`/d/${n}`));
    await q(T.RM, args('/d/B'));
    await q(T.WRITE, args('/d/B'));
    expect(await q(T.DIRECTORY, args('/d'))).toBe('zeta|a|_x|-y|1|B|');
  });

  it('keeps values as bytes, NULs included, and returns READ without a trailing NUL', async () => {
    setup();
    await c.request(T.WRITE, Buffer.concat([args('/bin'), Buffer.from([0x61, 0, 0x62, 0, 0xff])]));
    const r = await c.request(T.READ, args('/bin'));
    expect([...r.reply.payload]).toEqual([0x61, 0, 0x62, 0, 0xff]);
    expect(await q(T.WRITE, args('/empty'))).toBe('OK');
    expect((await c.request(T.READ, args('/empty'))).reply.payload.length).toBe(0);
  });

  it('treats MKDIR of an existing node as a no-op that fires no event', async () => {
    setup();
    await q(T.WRITE, wv('/m', 'keep'));
    await c.request(T.WATCH, args('/m', 'tok'));
    await c.drain();
    const r = await c.request(T.MKDIR, args('/m'));
    expect(show(r.reply)).toBe('OK');
    expect(r.events).toEqual([]);
    expect(await q(T.READ, args('/m'))).toBe('keep');
    expect(await q(T.MKDIR, args('/'))).toBe('OK');
  });

  it('removes subtrees; a missing node is fine only if its parent exists; RM / is EINVAL', async () => {
    setup();
    await q(T.WRITE, args('/r/s/t'));
    expect(await q(T.RM, args('/r/s'))).toBe('OK');
    expect(await q(T.READ, args('/r/s/t'))).toBe('ERROR ENOENT');
    expect(await q(T.RM, args('/r/missing'))).toBe('OK');
    expect(await q(T.RM, args('/r/missing/deeper'))).toBe('ERROR ENOENT');
    expect(await q(T.RM, args('/'))).toBe('ERROR EINVAL');
  });

  it('answers ENOENT for READ, DIRECTORY and GET_PERMS of missing nodes and "" for a leaf directory', async () => {
    setup();
    expect(await q(T.READ, args('/nonexistent'))).toBe('ERROR ENOENT');
    expect(await q(T.DIRECTORY, args('/nonexistent'))).toBe('ERROR ENOENT');
    expect(await q(T.GET_PERMS, args('/nonexistent'))).toBe('ERROR ENOENT');
    expect(await q(T.DIRECTORY, args('/tool/xenstored'))).toBe('');
  });

  it('answers the observed bytes for READ of a missing node', async () => {
    setup();
    const r = await c.request(T.READ, args('/nonexistent'), { reqId: 7 });
    expect(r.reply.bytes.toString('hex')).toBe('10000000070000000000000007000000454e4f454e5400');
  });

  it('rejects invalid names with EINVAL: characters, //, trailing /, empty, @ names', async () => {
    setup();
    for (const bad of ['/t/a b', '/t/a.b', '/t/a:b', '/t//a', '/t/', '', '@foo', '/t/\u00e9']) {
      expect(await q(T.WRITE, wv(bad, 'x')), bad).toBe('ERROR EINVAL');
    }
    expect(await q(T.WRITE, args('/t/a@b'))).toBe('OK');
    expect(await q(T.WRITE, args('/t/A-Z_0'))).toBe('OK');
    expect(await q(T.WRITE, args('/'))).toBe('OK');
  });

  it('applies the 2048 length rule to the part after /local/domain/<id>/', async () => {
    setup();
    const at = (n: number, prefix: string): string => prefix + 'q'.repeat(n - prefix.length);
    expect(await q(T.WRITE, args(at(2048, '/t/')))).toBe('OK');
    expect(await q(T.WRITE, args(at(2049, '/t/')))).toBe('ERROR EINVAL');
    expect(await q(T.WRITE, args('/local/domain/0/' + 'q'.repeat(2048)))).toBe('OK');
    expect(await q(T.WRITE, args('/local/domain/0/' + 'q'.repeat(2049)))).toBe('ERROR EINVAL');
    expect(await q(T.WRITE, args('/local/domain/12345/' + 'q'.repeat(2048)))).toBe('OK');
    expect(await q(T.WRITE, args('q'.repeat(2048)))).toBe('OK');
    expect(await q(T.WRITE, args('q'.repeat(2049)))).toBe('ERROR EINVAL');
  });

  it('resolves relative names against /local/domain/0 on a privileged connection', async () => {
    setup();
    expect(await q(T.WRITE, wv('rel/x', '1'))).toBe('OK');
    expect(await q(T.READ, args('/local/domain/0/rel/x'))).toBe('1');
    expect(await q(T.READ, args('rel/x'))).toBe('1');
  });

  it("resolves a name used again as it did the first time, against each connection's own home", async () => {
    // Connections cache the names they resolve (handlers.ts nodeName()).
    setup();
    xs.domains.create(5, 'running');
    const g = mock.client(5);
    await q(T.WRITE, wv('/local/domain/0/rel/x', 'dom0'));
    await q(T.WRITE, wv('/local/domain/5/rel/x', 'guest'));
    await q(T.SET_PERMS, args('/local/domain/5/rel/x', 'n5'));
    for (let i = 0; i < 2; i++) {
      expect(await q(T.READ, args('rel/x'))).toBe('dom0');
      expect(show((await g.request(T.READ, args('rel/x'))).reply)).toBe('guest');
      expect(show((await g.request(T.READ, args('/local/domain/0/rel/x'))).reply)).toBe('ERROR EACCES');
      expect(await q(T.READ, args('rel/a b'))).toBe('ERROR EINVAL');
    }
    // More distinct names than a connection keeps, then the first ones again.
    for (let i = 0; i < 1100; i++) expect(await q(T.READ, args(`rel/n${i}`))).toBe('ERROR ENOENT');
    expect(await q(T.READ, args('rel/x'))).toBe('dom0');
    expect(await q(T.READ, args('rel/a b'))).toBe('ERROR EINVAL');
  });

  it('copies req_id and tx_id into replies, error replies included', async () => {
    setup();
    c.write(frame(T.READ, args('/tool'), 0xffffffff, 0));
    const m1 = (await c.next())!;
    expect([m1.type, m1.reqId, m1.txId]).toEqual([T.READ, 0xffffffff, 0]);
    c.write(frame(T.READ, args('/tool'), 3, 999));
    const m2 = (await c.next())!;
    expect([m2.type, m2.reqId, m2.txId, text(m2)]).toEqual([T.ERROR, 3, 999, 'ENOENT\0']);
  });

  it('answers ENOSYS for 15, 16, 20 and every type from 23 on', async () => {
    setup();
    for (const t of [15, 16, 20, 23, 24, 25, 26, 27, 99, 65535]) expect(await q(t, args('/')), String(t)).toBe('ERROR ENOSYS');
  });

  it('answers EINVAL for malformed single-argument payloads', async () => {
    setup();
    for (const t of [T.READ, T.DIRECTORY, T.GET_PERMS, T.MKDIR, T.RM, T.TRANSACTION_END, T.GET_DOMAIN_PATH, T.IS_DOMAIN_INTRODUCED, T.RELEASE, T.RESUME]) {
      expect(await q(t, '/tool'), `type ${t} no NUL`).toBe('ERROR EINVAL');
      expect(await q(t, '/tool\0\0'), `type ${t} extra NUL`).toBe('ERROR EINVAL');
      expect(await q(t, ''), `type ${t} empty`).toBe('ERROR EINVAL');
    }
    expect(await q(T.WRITE, '/p')).toBe('ERROR EINVAL');
  });

  it('answers a zero-length payload at once', async () => {
    setup();
    c.write(frame(T.TRANSACTION_START, ''));
    expect(show((await c.next(500))!)).toBe('1|');
  });

  it('closes the connection without a reply when a header announces more than 4096 bytes', async () => {
    setup();
    const other = new RawClient(xs.connect());
    c.write(frame(T.WRITE, Buffer.alloc(0), 1, 0, 4097));
    expect(await c.next(500)).toBeUndefined();
    expect(c.ended).toBe(true);
    expect(show((await other.request(T.READ, args('/tool'))).reply)).toBe('');
    other.close();
  });

  it('accepts a 4096-byte WRITE and never sends a reply over 4096 bytes (E2BIG)', async () => {
    setup();
    const p = Buffer.concat([args('/big'), Buffer.alloc(4096 - 5, 0x41)]);
    expect(await q(T.WRITE, p)).toBe('OK');
    for (let i = 0; i < 300; i++) await c.request(T.WRITE, args(`/many/child-number-${String(i).padStart(4, '0')}`));
    expect(await q(T.DIRECTORY, args('/many'))).toBe('ERROR E2BIG');
  });

  it('serves DIRECTORY_PART in byte-offset chunks with a generation and an end marker', async () => {
    setup();
    for (let i = 0; i < 300; i++) await c.request(T.WRITE, args(`/many/child-number-${String(i).padStart(4, '0')}`));
    const first = (await c.request(T.DIRECTORY_PART, args('/many', '0'))).reply.payload;
    const gen = first.subarray(0, first.indexOf(0)).toString();
    expect(gen).toMatch(/^\d+$/);
    expect(first.length).toBe(gen.length + 1 + 227 * 18); // 4091 with the observed 4-digit gen
    expect(first.subarray(-18).toString()).toBe('child-number-0226\0');
    let names = first.subarray(gen.length + 1);
    let off = names.length;
    for (;;) {
      const part = (await c.request(T.DIRECTORY_PART, args('/many', String(off)))).reply.payload;
      expect(part.subarray(0, part.indexOf(0)).toString()).toBe(gen);
      const body = part.subarray(gen.length + 1);
      if (body.length > 0 && body[body.length - 1] === 0 && body[body.length - 2] === 0) {
        names = Buffer.concat([names, body.subarray(0, -1)]);
        break;
      }
      names = Buffer.concat([names, body]);
      off += body.length;
    }
    expect(names.toString().split('\0').filter(Boolean)).toHaveLength(300);
    expect(show((await c.request(T.DIRECTORY_PART, args('/many', '999999'))).reply)).toBe(`${gen}||`);
    expect(show((await c.request(T.DIRECTORY_PART, args('/tool/xenstored', '0'))).reply)).toMatch(/^\d+\|\|$/);
    expect(await q(T.DIRECTORY_PART, args('/many'))).toBe('ERROR EINVAL');
  });

  it('changes the DIRECTORY_PART generation exactly when the node changes', async () => {
    setup();
    await q(T.WRITE, args('/g/a'));
    const gen = async (): Promise<string> => (await q(T.DIRECTORY_PART, args('/g', '0'))).split('|')[0]!;
    const g1 = await gen();
    expect(await gen()).toBe(g1);
    await q(T.WRITE, wv('/g/a', 'x')); // a child's value change does not touch the parent
    expect(await gen()).toBe(g1);
    await q(T.WRITE, args('/g/b'));
    expect(await gen()).not.toBe(g1);
  });

  it('answers GET_DOMAIN_PATH with C atoi() printed unsigned', async () => {
    setup();
    const cases: [string, string][] = [['5', '5'], ['abc', '0'], ['', '0'], ['12x', '12'], ['-1', '4294967295'], ['4294967295', '4294967295'], ['65536', '65536']];
    for (const [arg, n] of cases) expect(await q(T.GET_DOMAIN_PATH, args(arg)), arg).toBe(`/local/domain/${n}|`);
    expect(await q(T.GET_DOMAIN_PATH, args('1', '2'))).toBe('ERROR EINVAL');
  });

  it('implements CONTROL help, check and print and answers EINVAL otherwise', async () => {
    setup();
    const help = (await c.request(T.CONTROL, args('help'))).reply;
    expect(help.type).toBe(T.CONTROL);
    expect(help.payload.length).toBe(226);
    expect(await q(T.CONTROL, args('check'))).toBe('OK');
    expect(await q(T.CONTROL, args('print', 'hello'))).toBe('OK');
    expect(await q(T.CONTROL, args('print'))).toBe('ERROR EINVAL');
    expect(await q(T.CONTROL, args('nonsense'))).toBe('ERROR EINVAL');
    expect(await q(T.CONTROL, args(''))).toBe('ERROR EINVAL');
    expect(await q(T.CONTROL, 'help')).toBe('ERROR EINVAL');
  });

  it('cuts frames correctly whatever the split of the byte stream', async () => {
    setup();
    const bytes = Buffer.concat([frame(T.WRITE, wv('/s', 'v'), 1), frame(T.READ, args('/s'), 2), frame(T.DIRECTORY, args('/'), 3)]);
    for (const b of bytes) c.write(Buffer.of(b));
    const got = [(await c.next())!, (await c.next())!, (await c.next())!];
    expect(got.map((m) => [m.reqId, show(m)])).toEqual([
      [1, 'OK'],
      [2, 'v'],
      [3, 'tool|s|'],
    ]);
  });
});
