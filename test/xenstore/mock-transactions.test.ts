import { describe, expect, it } from 'vitest';
import type { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, wv, eventPair, RawClient, show, T, mockPerTest } from './mock-raw-client.js';

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
async function start(): Promise<number> {
  return Number((await q(T.TRANSACTION_START, '\0')).replace('|', ''));
}

type Op = [type: number, payload: Buffer | string];
const W = (p: string, v = ''): Op => [T.WRITE, Buffer.concat([args(p), Buffer.from(v)])];
const R = (p: string): Op => [T.READ, args(p)];
const RM = (p: string): Op => [T.RM, args(p)];
const MK = (p: string): Op => [T.MKDIR, args(p)];
const DIR = (p: string): Op => [T.DIRECTORY, args(p)];
const SP = (p: string, ...perms: string[]): Op => [T.SET_PERMS, args(p, ...perms)];

/** Base tree /x/a=1, /x/s/t; the tx runs `inside`, then `outside` happens, then END T. */
async function scenario(inside: Op[], outside: Op[]): Promise<string> {
  setup();
  for (const op of [W('/x/a', '1'), W('/x/s/t', 't')]) await q(...op);
  const tx = await start();
  for (const [t, p] of inside) await q(t, p, tx);
  for (const [t, p] of outside) await q(t, p);
  return q(T.TRANSACTION_END, args('T'), tx);
}

describe('mock xenstored: transactions', () => {
  it('numbers transactions per connection from 1 and does not reuse ended ids', async () => {
    setup();
    expect(await start()).toBe(1);
    expect(await q(T.TRANSACTION_END, args('F'), 1)).toBe('OK');
    expect(await start()).toBe(2);
    expect(await start()).toBe(3);
    const other = new RawClient(xs.connect());
    expect(show((await other.request(T.TRANSACTION_START, '\0')).reply)).toBe('1|');
    other.close();
  });

  it('ignores the START payload entirely', async () => {
    setup();
    expect(await q(T.TRANSACTION_START, '')).toBe('1|');
    expect(await q(T.TRANSACTION_START, 'junk\0')).toBe('2|');
  });

  it('answers EBUSY to a nested START and ENOENT to an unknown transaction id', async () => {
    setup();
    const tx = await start();
    expect(await q(T.TRANSACTION_START, '\0', tx)).toBe('ERROR EBUSY');
    expect(await q(T.TRANSACTION_START, '\0', 999)).toBe('ERROR ENOENT');
    expect(await q(T.READ, args('/tool'), 999)).toBe('ERROR ENOENT');
    expect(await q(T.TRANSACTION_END, args('T'))).toBe('ERROR ENOENT');
  });

  it('destroys the transaction on END with a valid argument whatever the result', async () => {
    setup();
    const tx = await start();
    expect(await q(T.TRANSACTION_END, args('T'), tx)).toBe('OK');
    expect(await q(T.TRANSACTION_END, args('T'), tx)).toBe('ERROR ENOENT');
    expect(await q(T.READ, args('/tool'), tx)).toBe('ERROR ENOENT');
  });

  it('leaves the transaction open after an END rejected with EINVAL', async () => {
    setup();
    const tx = await start();
    for (const bad of [args('X'), args('TT'), 'T', ''] as (Buffer | string)[]) expect(await q(T.TRANSACTION_END, bad, tx)).toBe('ERROR EINVAL');
    expect(await q(T.TRANSACTION_END, args('F'), tx)).toBe('OK');
  });

  it('sees the committed state at first access (no snapshot), then its own copy', async () => {
    setup();
    await q(...W('/x/a', '1'));
    const tx = await start();
    await q(...W('/x/a', '2'));
    await q(...W('/x/new', 'n'));
    expect(await q(...R('/x/a'), tx)).toBe('2');
    expect(await q(...R('/x/new'), tx)).toBe('n');
    await q(...W('/x/b', 'later'), tx);
    expect(await q(...R('/x/b'), tx)).toBe('later');
    expect(await q(...R('/x/b'))).toBe('ERROR ENOENT');
    expect(await q(T.TRANSACTION_END, args('T'), tx)).toBe('OK');
    expect(await q(...R('/x/b'))).toBe('later');
  });

  it('discards everything on END F and applies nothing on EAGAIN', async () => {
    setup();
    let tx = await start();
    await q(...W('/d/a', '1'), tx);
    expect(await q(T.TRANSACTION_END, args('F'), tx)).toBe('OK');
    expect(await q(...R('/d/a'))).toBe('ERROR ENOENT');
    tx = await start();
    await q(...W('/d/b', '1'), tx);
    await q(...W('/d/c', 'outside'));
    expect(await q(T.TRANSACTION_END, args('T'), tx)).toBe('ERROR EAGAIN');
    expect(await q(...R('/d/b'))).toBe('ERROR ENOENT');
  });

  // The observed cxenstored outcomes of reference §2.6, one per line.
  const cases: [string, Op[], Op[], string][] = [
    ['tx reads /x/a, outside writes /x/a', [R('/x/a')], [W('/x/a', '9')], 'ERROR EAGAIN'],
    ['tx reads /x/a and writes /x/b, outside rewrites /x/a unchanged', [R('/x/a'), W('/x/b')], [W('/x/a', '1')], 'ERROR EAGAIN'],
    ['tx reads missing /x/new, outside creates it', [R('/x/new')], [W('/x/new')], 'ERROR EAGAIN'],
    ['tx writes new /x/b, outside creates sibling /x/c', [W('/x/b')], [W('/x/c')], 'ERROR EAGAIN'],
    ['tx writes existing /x/a, outside writes /x/a', [W('/x/a', '2')], [W('/x/a', '3')], 'ERROR EAGAIN'],
    ['tx writes /x/a, outside writes unrelated /x/s/t', [W('/x/a', '2')], [W('/x/s/t', 'u')], 'OK'],
    ['tx DIRECTORY /x, outside adds a child', [DIR('/x')], [W('/x/n')], 'ERROR EAGAIN'],
    ['tx RM /x/s, outside writes /x/s/u', [RM('/x/s')], [W('/x/s/u')], 'ERROR EAGAIN'],
    ['tx MKDIR /x/m/n, outside writes elsewhere', [MK('/x/m/n')], [W('/y/z')], 'OK'],
    ['tx RM /x/s, outside rewrites the existing /x/s/t', [RM('/x/s')], [W('/x/s/t', 't')], 'ERROR EAGAIN'],
    ['tx RM /x/s, outside creates sibling /x/zz', [RM('/x/s')], [W('/x/zz')], 'ERROR EAGAIN'],
    ['tx WRITE existing /x/a, outside creates sibling /x/zz', [W('/x/a', '2')], [W('/x/zz')], 'OK'],
    ['tx READ missing /x/q/r, outside creates /x/zz', [R('/x/q/r')], [W('/x/zz')], 'ERROR EAGAIN'],
    ['tx READ missing /x/q/r, outside changes /x/a', [R('/x/q/r')], [W('/x/a', '5')], 'OK'],
    ['tx SET_PERMS /x/a, outside writes /x/a', [SP('/x/a', 'n0')], [W('/x/a', '5')], 'ERROR EAGAIN'],
    ['tx READ /x/a, outside SET_PERMS /x/a to the same perms', [R('/x/a')], [SP('/x/a', 'n0')], 'ERROR EAGAIN'],
    ['tx READ /x/a, outside creates /x/a/ch', [R('/x/a')], [W('/x/a/ch')], 'ERROR EAGAIN'],
    ['tx READ /x/s, outside changes the value of /x/s/t', [R('/x/s')], [W('/x/s/t', 'changed')], 'OK'],
  ];
  for (const [name, inside, outside, expected] of cases) {
    it(`follows the C conflict rule: ${name} → ${expected}`, async () => {
      expect(await scenario(inside, outside)).toBe(expected);
    });
  }

  it('holds events until commit and then delivers them before the END reply, in first-access order', async () => {
    setup();
    await c.request(T.WATCH, args('/', 'all'));
    await c.drain();
    const tx = await start();
    expect((await c.request(T.WRITE, args('/e/b'), { txId: tx })).events).toEqual([]);
    expect((await c.request(T.WRITE, args('/e/a'), { txId: tx })).events).toEqual([]);
    const end = await c.request(T.TRANSACTION_END, args('T'), { txId: tx });
    expect(end.events.map(eventPair)).toEqual(['/e/b|all|', '/e/a|all|']);
    expect(show(end.reply)).toBe('OK');
  });

  it('produces no events for an aborted or failed transaction', async () => {
    setup();
    await c.request(T.WATCH, args('/f', 'w'));
    await c.drain();
    let tx = await start();
    await c.request(T.WRITE, args('/f/a'), { txId: tx });
    expect((await c.request(T.TRANSACTION_END, args('F'), { txId: tx })).events).toEqual([]);
    tx = await start();
    await c.request(T.WRITE, args('/f/b'), { txId: tx });
    await c.request(T.WRITE, args('/f/c'));
    const end = await c.request(T.TRANSACTION_END, args('T'), { txId: tx });
    expect([show(end.reply), end.events.length]).toEqual(['ERROR EAGAIN', 0]);
  });

  it('runs every node operation inside a transaction', async () => {
    setup();
    const tx = await start();
    expect(await q(T.MKDIR, args('/t/m'), tx)).toBe('OK');
    expect(await q(T.WRITE, wv('/t/m/v', 'x'), tx)).toBe('OK');
    expect(await q(T.DIRECTORY, args('/t/m'), tx)).toBe('v|');
    expect(await q(T.DIRECTORY_PART, args('/t/m', '0'), tx)).toMatch(/^\d+\|v\|\|$/);
    expect(await q(T.SET_PERMS, args('/t/m/v', 'n0', 'r0'), tx)).toBe('OK');
    expect(await q(T.GET_PERMS, args('/t/m/v'), tx)).toBe('n0|r0|');
    expect(await q(T.GET_DOMAIN_PATH, args('3'), tx)).toBe('/local/domain/3|');
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('0'), tx)).toBe('T|');
    expect(await q(T.RM, args('/t/m/v'), tx)).toBe('OK');
    expect(await q(T.READ, args('/t/m/v'), tx)).toBe('ERROR ENOENT');
    expect(await q(T.TRANSACTION_END, args('T'), tx)).toBe('OK');
    expect(await q(T.DIRECTORY, args('/t/m'))).toBe('');
  });

  it('retries to success in the libxenstore pattern under interference', async () => {
    setup();
    await q(...W('/cnt', '0'));
    for (let i = 0; i < 20; i++) {
      for (let attempt = 0; ; attempt++) {
        const tx = await start();
        const v = Number(await q(...R('/cnt'), tx));
        if (attempt === 0) await q(...W('/cnt', String(v + 1000))); // someone else interferes once
        await q(...W('/cnt', String(v + 1)), tx);
        const r = await q(T.TRANSACTION_END, args('T'), tx);
        if (r === 'OK') break;
        expect(r).toBe('ERROR EAGAIN');
      }
    }
    expect(Number(await q(...R('/cnt')))).toBe(20 * 1001);
  });
});
