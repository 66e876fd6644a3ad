import { describe, expect, it } from 'vitest';
import type { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, wv, eventPair, RawClient, show, T, mockPerTest } from './mock-raw-client.js';

const mock = mockPerTest();
let xs: MockXenstored;
const client = (domid?: number): RawClient => mock.client(domid);
function setup(): RawClient {
  xs = mock.start();
  return client();
}

async function watch(c: RawClient, path: string, token: string): Promise<void> {
  expect(show((await c.request(T.WATCH, args(path, token))).reply)).toBe('OK');
  await c.drain(20);
}

describe('mock xenstored: watches', () => {
  it('sends the first event right after the WATCH reply, even for a missing node', async () => {
    const c = setup();
    const r = await c.request(T.WATCH, args('/w/none/deeper', 'tok1'));
    expect(r.events).toEqual([]);
    expect(show(r.reply)).toBe('OK');
    const [ev] = await c.drain();
    expect(ev!.bytes.subarray(0, 16).toString('hex')).toBe('0f000000000000000000000014000000');
    expect([ev!.type, ev!.reqId, ev!.txId, eventPair(ev!)]).toEqual([T.WATCH_EVENT, 0, 0, '/w/none/deeper|tok1|']);
  });

  it('refuses a duplicate (path, token) with EEXIST, also across relative and absolute forms', async () => {
    const c = setup();
    await watch(c, 'relw2', 'T');
    expect(show((await c.request(T.WATCH, args('/local/domain/0/relw2', 'T'))).reply)).toBe('ERROR EEXIST');
    expect(show((await c.request(T.WATCH, args('relw2', 'U'))).reply)).toBe('OK');
  });

  it('answers ENOENT to UNWATCH of an unknown watch and accepts the other form of the path', async () => {
    const c = setup();
    expect(show((await c.request(T.UNWATCH, args('/nope', 't'))).reply)).toBe('ERROR ENOENT');
    await watch(c, 'relu', 't');
    expect(show((await c.request(T.UNWATCH, args('/local/domain/0/relu', 't'))).reply)).toBe('OK');
    expect(show((await c.request(T.UNWATCH, args('relu', 't'))).reply)).toBe('ERROR ENOENT');
  });

  it('queues the events a request causes before its reply', async () => {
    const c = setup();
    await watch(c, '/w', 'tk');
    const r = await c.request(T.WRITE, wv('/w/a/b/c', 'v'));
    expect(r.events.map(eventPair)).toEqual(['/w/a/b/c|tk|']);
    expect(show(r.reply)).toBe('OK');
  });

  it('fires watches on the node and its ancestors, not on implicitly created parents or descendants', async () => {
    const c = setup();
    await watch(c, '/w/a', 'anc');
    await watch(c, '/w/a/b/c/d', 'below');
    await watch(c, '/w/a/b', 'mid');
    const r = await c.request(T.WRITE, args('/w/a/b/c'));
    expect(r.events.map(eventPair)).toEqual(['/w/a/b/c|anc|', '/w/a/b/c|mid|']);
  });

  it('fires a watch on / for everything, with its first event carrying /', async () => {
    const c = setup();
    const r = await c.request(T.WATCH, args('/', 'root'));
    expect(show(r.reply)).toBe('OK');
    expect((await c.drain()).map(eventPair)).toEqual(['/|root|']);
    expect((await c.request(T.WRITE, args('/x/y'))).events.map(eventPair)).toEqual(['/x/y|root|']);
  });

  it('reports relative paths to relative watches', async () => {
    const c = setup();
    const r = await c.request(T.WATCH, args('relw', 'r'));
    expect(show(r.reply)).toBe('OK');
    expect((await c.drain()).map(eventPair)).toEqual(['relw|r|']);
    expect((await c.request(T.WRITE, args('/local/domain/0/relw/x'))).events.map(eventPair)).toEqual(['relw/x|r|']);
  });

  it('fires RM events for existing descendants with exact watches only, deepest first, the root last', async () => {
    const c = setup();
    for (const p of ['/r/a/b', '/r/a/c', '/r/d']) await c.request(T.WRITE, args(p));
    await watch(c, '/r', 'above');
    await watch(c, '/r/a/c', 'c');
    await watch(c, '/r/a', 'a');
    await watch(c, '/r/a/b', 'b');
    await watch(c, '/r/a/none', 'missing');
    await watch(c, '/r/d', 'd');
    const r = await c.request(T.RM, args('/r/a'));
    expect(r.events.map(eventPair)).toEqual(['/r/a/b|b|', '/r/a/c|c|', '/r/a|above|', '/r/a|a|']);
  });

  it('drops an event identical to one still queued', async () => {
    const c = setup();
    await watch(c, '/dd', 'same');
    await watch(c, '/dd/x', 'same');
    const r = await c.request(T.WRITE, args('/dd/x'));
    expect(r.events.map(eventPair)).toEqual(['/dd/x|same|']);
    // Once written out, the same event is sent again for the next change.
    expect((await c.request(T.WRITE, args('/dd/x'))).events.map(eventPair)).toEqual(['/dd/x|same|']);
  });

  it('delivers events to other connections too, and frees a closed connection\'s watches', async () => {
    const c = setup();
    const other = client();
    await watch(other, '/o', 'x');
    await c.request(T.WRITE, args('/o/1'));
    expect((await other.drain()).map(eventPair)).toEqual(['/o/1|x|']);
    other.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(show((await c.request(T.WRITE, args('/o/2'))).reply)).toBe('OK');
    expect(xs.connectionCount).toBe(1);
  });

  it('fires on SET_PERMS, and on a rewrite of an identical value', async () => {
    const c = setup();
    await c.request(T.WRITE, wv('/sp', 'v'));
    await watch(c, '/sp', 't');
    expect((await c.request(T.SET_PERMS, args('/sp', 'n0', 'r0'))).events.map(eventPair)).toEqual(['/sp|t|']);
    expect((await c.request(T.WRITE, wv('/sp', 'v'))).events.map(eventPair)).toEqual(['/sp|t|']);
  });

  it('accepts any @ name and fires @introduceDomain and @releaseDomain on those names and /', async () => {
    const c = setup();
    await watch(c, '@whatever', 'w');
    await watch(c, '@releaseDomain/5', 'w5');
    await watch(c, '@introduceDomain', 'i');
    await watch(c, '@releaseDomain', 'r');
    await watch(c, '/', 'root');
    xs.domains.create(5);
    const intro = await c.request(T.INTRODUCE, args('5', '1234', '7'));
    expect(intro.events.map(eventPair)).toEqual(['@introduceDomain|i|', '@introduceDomain|root|']);
    const rel = await c.request(T.RELEASE, args('5'));
    expect(rel.events.map(eventPair)).toEqual(['@releaseDomain|r|', '@releaseDomain|root|']);
  });

  it('returns tokens byte for byte, empty ones included', async () => {
    const c = setup();
    await c.request(T.WATCH, args('/tk', ''));
    expect((await c.drain()).map((m) => m.payload.toString('latin1'))).toEqual(['/tk\0\0']);
    await c.request(T.WATCH, args('/tk', 'tok with space!/@\u00ff'));
    expect((await c.drain()).map((m) => m.payload.toString('latin1'))).toEqual(['/tk\0tok with space!/@\u00ff\0']);
  });

  it('requires exactly two strings in WATCH and a valid path', async () => {
    const c = setup();
    expect(show((await c.request(T.WATCH, args('/a', 't', '1'))).reply)).toBe('ERROR EINVAL');
    expect(show((await c.request(T.WATCH, args('/a'))).reply)).toBe('ERROR EINVAL');
    expect(show((await c.request(T.WATCH, args('/a b', 't'))).reply)).toBe('ERROR EINVAL');
  });

  it('copies the request tx_id into WATCH replies and ignores it otherwise', async () => {
    const c = setup();
    const r = await c.request(T.WATCH, args('/wt', 't'), { txId: 77 });
    expect([show(r.reply), r.reply.txId]).toEqual(['OK', 77]);
  });

  it('RESET_WATCHES drops every watch and every transaction of the connection', async () => {
    const c = setup();
    await watch(c, '/rw', 't');
    const tx = Number(show((await c.request(T.TRANSACTION_START, '\0')).reply).replace('|', ''));
    expect(show((await c.request(T.RESET_WATCHES, '\0')).reply)).toBe('OK');
    expect((await c.request(T.WRITE, args('/rw/x'))).events).toEqual([]);
    expect(show((await c.request(T.READ, args('/rw/x'), { txId: tx })).reply)).toBe('ERROR ENOENT');
    expect(show((await c.request(T.RESET_WATCHES, '')).reply)).toBe('OK');
  });

  it('never sends an event over 4096 bytes', async () => {
    const c = setup();
    const token = 'k'.repeat(3000);
    await watch(c, '/p', token);
    const long = '/p/' + 'q'.repeat(1200);
    expect((await c.request(T.WRITE, args(long))).events).toEqual([]);
    expect((await c.request(T.WRITE, args('/p/short'))).events.length).toBe(1);
  });
});
