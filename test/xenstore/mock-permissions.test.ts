import { describe, expect, it } from 'vitest';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, wv, eventPair, RawClient, show, T, mockPerTest } from './mock-raw-client.js';

const mock = mockPerTest();
let xs: MockXenstored;
const client = (domid?: number): RawClient => mock.client(domid);

async function q(c: RawClient, type: number, payload: Buffer | string, txId = 0): Promise<string> {
  return show((await c.request(type, payload, { txId })).reply);
}

/** dom0 connection plus a guest connection as domain 5 (which exists). */
function setup(limits?: ConstructorParameters<typeof MockXenstored>[0]): { d0: RawClient; g: RawClient } {
  xs = mock.start(limits);
  xs.domains.create(5, 'running');
  xs.domains.create(6, 'running');
  return { d0: client(), g: client(5) };
}

describe('mock xenstored: permissions', () => {
  it('parses perms with strtol(…, 0) and prints them in decimal', async () => {
    const { d0 } = setup();
    await q(d0, T.WRITE, args('/t/p'));
    expect(await q(d0, T.SET_PERMS, args('/t/p', 'b0', 'r0x5', 'w06'))).toBe('OK');
    expect(await q(d0, T.GET_PERMS, args('/t/p'))).toBe('b0|r5|w6|');
    for (const bad of ['x1', 'r', 'r1x', 'r0x']) expect(await q(d0, T.SET_PERMS, args('/t/p', bad)), bad).toBe('ERROR EINVAL');
    expect(await q(d0, T.SET_PERMS, args('/t/p'))).toBe('ERROR EINVAL');
    // bytes after the last NUL are ignored
    expect(await q(d0, T.SET_PERMS, '/t/p\0n0\0r1')).toBe('OK');
    expect(await q(d0, T.GET_PERMS, args('/t/p'))).toBe('n0|');
  });

  it('refuses an owner that is not an existing domain with ENOENT but keeps later unknown entries', async () => {
    const { d0 } = setup();
    await q(d0, T.WRITE, args('/t/p'));
    expect(await q(d0, T.SET_PERMS, args('/t/p', 'n9'))).toBe('ERROR ENOENT');
    expect(await q(d0, T.SET_PERMS, args('/t/p', 'r9', 'b0'))).toBe('ERROR ENOENT');
    expect(await q(d0, T.SET_PERMS, args('/t/p', 'b0', 'w2', 'n3'))).toBe('OK');
    expect(await q(d0, T.GET_PERMS, args('/t/p'))).toBe('b0|w2|n3|');
    expect(await q(d0, T.SET_PERMS, args('/t/p', 'n5'))).toBe('OK');
  });

  it('gives a new node its parent\'s whole list, owned by an unprivileged creator', async () => {
    const { d0, g } = setup();
    await q(d0, T.WRITE, args('/t/p'));
    await q(d0, T.SET_PERMS, args('/t/p', 'n0', 'r1', 'w2'));
    await q(d0, T.WRITE, args('/t/p/child/gc'));
    expect(await q(d0, T.GET_PERMS, args('/t/p/child'))).toBe('n0|r1|w2|');
    expect(await q(d0, T.GET_PERMS, args('/t/p/child/gc'))).toBe('n0|r1|w2|');
    await q(d0, T.MKDIR, args('/local/domain/5'));
    await q(d0, T.SET_PERMS, args('/local/domain/5', 'n5', 'r0'));
    expect(await q(g, T.WRITE, wv('data/x', 'v'))).toBe('OK');
    expect(await q(d0, T.GET_PERMS, args('/local/domain/5/data/x'))).toBe('n5|r0|');
    await q(d0, T.SET_PERMS, args('/t/p', 'n0', 'b5'));
    expect(await q(g, T.WRITE, args('/t/p/mine'))).toBe('OK');
    expect(await q(d0, T.GET_PERMS, args('/t/p/mine'))).toBe('n5|b5|');
  });

  it('gives dom0 full access whatever the perms say', async () => {
    const { d0 } = setup();
    await q(d0, T.WRITE, args('/t/ro'));
    await q(d0, T.SET_PERMS, args('/t/ro', 'r5'));
    expect(await q(d0, T.WRITE, wv('/t/ro', 'x'))).toBe('OK');
    expect(await q(d0, T.READ, args('/t/ro'))).toBe('x');
  });

  it('answers EACCES or ENOENT to a guest depending on what it may read', async () => {
    const { d0, g } = setup();
    await q(d0, T.WRITE, wv('/s/secret', 'x'));
    expect(await q(g, T.READ, args('/s/secret'))).toBe('ERROR EACCES');
    expect(await q(g, T.READ, args('/s/missing'))).toBe('ERROR EACCES');
    await q(d0, T.SET_PERMS, args('/s', 'r0'));
    expect(await q(g, T.READ, args('/s/missing'))).toBe('ERROR ENOENT');
    expect(await q(g, T.READ, args('/s/secret'))).toBe('ERROR EACCES');
    await q(d0, T.SET_PERMS, args('/s/secret', 'n0', 'r5'));
    expect(await q(g, T.READ, args('/s/secret'))).toBe('x');
    expect(await q(g, T.WRITE, wv('/s/secret', 'y'))).toBe('ERROR EACCES');
    expect(await q(g, T.WRITE, args('/s/new'))).toBe('ERROR EACCES');
    await q(d0, T.SET_PERMS, args('/s/secret', 'n0', 'b5'));
    expect(await q(g, T.WRITE, wv('/s/secret', 'y'))).toBe('OK');
    expect(await q(g, T.RM, args('/s/secret'))).toBe('OK');
  });

  it('lets the owner but not a writer change perms, and only dom0 change the owner (EPERM)', async () => {
    const { d0, g } = setup();
    await q(d0, T.WRITE, args('/o/mine'));
    await q(d0, T.WRITE, args('/o/theirs'));
    await q(d0, T.SET_PERMS, args('/o/mine', 'n5'));
    await q(d0, T.SET_PERMS, args('/o/theirs', 'n0', 'b5'));
    expect(await q(g, T.SET_PERMS, args('/o/mine', 'n5', 'r6'))).toBe('OK');
    expect(await q(g, T.SET_PERMS, args('/o/mine', 'n6'))).toBe('ERROR EPERM');
    expect(await q(g, T.SET_PERMS, args('/o/theirs', 'n0', 'b5', 'r6'))).toBe('ERROR EACCES');
  });

  it('uses the target domain\'s rights after SET_TARGET', async () => {
    const { d0 } = setup();
    const g6 = client(6);
    await q(d0, T.WRITE, wv('/tg/x', 'v'));
    await q(d0, T.SET_PERMS, args('/tg/x', 'n5'));
    expect(await q(g6, T.READ, args('/tg/x'))).toBe('ERROR EACCES');
    await q(d0, T.INTRODUCE, args('5', '1', '1'));
    await q(d0, T.INTRODUCE, args('6', '1', '1'));
    expect(await q(d0, T.SET_TARGET, args('6', '5'))).toBe('OK');
    expect(await q(g6, T.READ, args('/tg/x'))).toBe('v');
  });

  it('refuses privileged-only operations to guests with EACCES', async () => {
    const { g } = setup();
    for (const t of [T.CONTROL, T.INTRODUCE, T.RELEASE, T.IS_DOMAIN_INTRODUCED, T.RESUME, T.SET_TARGET]) {
      expect(await q(g, t, args('5')), String(t)).toBe('ERROR EACCES');
    }
    expect(await q(g, T.GET_DOMAIN_PATH, args('5'))).toBe('/local/domain/5|');
  });

  it('resolves a guest\'s relative paths against its own home', async () => {
    const { d0, g } = setup();
    await q(d0, T.MKDIR, args('/local/domain/5'));
    await q(d0, T.SET_PERMS, args('/local/domain/5', 'n5'));
    await q(g, T.WRITE, wv('name', 'guest'));
    expect(await q(d0, T.READ, args('/local/domain/5/name'))).toBe('guest');
  });

  it('sends a guest only events for nodes it may read (or whose parent it may read), besides a watch\'s first', async () => {
    const { d0, g } = setup();
    await q(d0, T.WRITE, args('/v/open'));
    await q(d0, T.SET_PERMS, args('/v', 'r0'));
    await q(d0, T.SET_PERMS, args('/v/open', 'r0'));
    await q(d0, T.WRITE, args('/hidden/x'));
    await g.request(T.WATCH, args('/v', 'v'));
    expect((await g.drain()).map(eventPair)).toEqual(['/v|v|']);
    // The first event goes out whatever the guest may read (do_watch(); found by the
    // differential test against cxenstored on a guest's ring).
    await g.request(T.WATCH, args('/hidden', 'h'));
    expect((await g.drain()).map(eventPair)).toEqual(['/hidden|h|']);
    await q(d0, T.WRITE, wv('/v/open', '1'));
    await q(d0, T.WRITE, wv('/hidden/x', '1'));
    expect((await g.drain()).map(eventPair)).toEqual(['/v/open|v|']);
  });

  it('sends @releaseDomain to a guest only when the special node\'s perms allow it', async () => {
    const { d0, g } = setup();
    await g.request(T.WATCH, args('@releaseDomain', 'r'));
    expect((await g.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
    xs.domains.create(7);
    await q(d0, T.INTRODUCE, args('7', '1', '1'));
    await q(d0, T.RELEASE, args('7'));
    expect(await g.drain()).toEqual([]);
    expect(await q(g, T.SET_PERMS, args('@releaseDomain', 'r5'))).toBe('ERROR EACCES');
    expect(await q(d0, T.SET_PERMS, args('@releaseDomain', 'n0', 'r5'))).toBe('OK');
    expect(await q(d0, T.SET_PERMS, args('@other', 'n0'))).toBe('ERROR EINVAL');
    expect(await q(d0, T.GET_PERMS, args('@releaseDomain'))).toBe('ERROR EINVAL');
    xs.domains.create(8);
    await q(d0, T.INTRODUCE, args('8', '1', '1'));
    await q(d0, T.RELEASE, args('8'));
    expect((await g.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
  });
});

describe('mock xenstored: unprivileged quotas', () => {
  function guestHome(d0: RawClient): Promise<string> {
    return q(d0, T.MKDIR, args('/local/domain/5')).then(() => q(d0, T.SET_PERMS, args('/local/domain/5', 'n5')));
  }

  it('limits the nodes a domain owns (ENOSPC)', async () => {
    const { d0, g } = setup({ limits: { nodes: 10 } });
    await guestHome(d0); // the home itself counts: it is owned by 5
    const results: string[] = [];
    for (let i = 0; i < 11; i++) results.push(await q(g, T.WRITE, args(`n${i}`)));
    expect(results.filter((r) => r === 'OK')).toHaveLength(9);
    expect(results.at(-1)).toBe('ERROR ENOSPC');
    expect(await q(d0, T.WRITE, args('/local/domain/5/by-dom0'))).toBe('OK');
  });

  it('limits watches per domain with E2BIG, as 4.17 does', async () => {
    const { g } = setup({ limits: { watches: 3 } });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(await q(g, T.WATCH, args(`/w${i}`, 't')));
    expect(results).toEqual(['OK', 'OK', 'OK', 'OK', 'ERROR E2BIG']);
  });

  it('limits open transactions, one over the limit still opening (ENOSPC)', async () => {
    const { g } = setup({ limits: { transactions: 2 } });
    const results: string[] = [];
    for (let i = 0; i < 4; i++) results.push(await q(g, T.TRANSACTION_START, '\0'));
    expect(results).toEqual(['1|', '2|', '3|', 'ERROR ENOSPC']);
  });

  it('limits the size of a node and the perms per node (ENOSPC), not for dom0', async () => {
    const { d0, g } = setup();
    await guestHome(d0);
    expect(await q(g, T.WRITE, Buffer.concat([args('big'), Buffer.alloc(2100)]))).toBe('ERROR ENOSPC');
    expect(await q(g, T.WRITE, Buffer.concat([args('small'), Buffer.alloc(1000)]))).toBe('OK');
    expect(await q(d0, T.WRITE, Buffer.concat([args('/local/domain/5/d0big'), Buffer.alloc(4000)]))).toBe('OK');
    expect(await q(g, T.SET_PERMS, args('small', 'n5', 'r0', 'r0', 'r0', 'r0', 'r0'))).toBe('ERROR ENOSPC');
    expect(await q(g, T.SET_PERMS, args('small', 'n5', 'r0', 'r0', 'r0', 'r0'))).toBe('OK');
    expect(await q(d0, T.SET_PERMS, args('/tool', 'n0', 'r0', 'r0', 'r0', 'r0', 'r0', 'r0'))).toBe('OK');
  });

  it('limits the nodes one transaction touches (ENOSPC)', async () => {
    const { d0, g } = setup({ limits: { transactionNodes: 4 } });
    await guestHome(d0);
    const tx = Number((await q(g, T.TRANSACTION_START, '\0')).replace('|', ''));
    const results: string[] = [];
    for (let i = 0; i < 4; i++) results.push(await q(g, T.WRITE, args(`t${i}`), tx));
    expect(results.slice(0, 2)).toEqual(['OK', 'OK']);
    expect(results).toContain('ERROR ENOSPC');
  });
});
