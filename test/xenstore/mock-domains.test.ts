import { describe, expect, it } from 'vitest';
import type { MockXenstored } from '../../src/xenstore/mock/index.js';
import { args, eventPair, RawClient, show, T, mockPerTest } from './mock-raw-client.js';

const mock = mockPerTest();
let xs: MockXenstored;
let c: RawClient;

function setup(): void {
  xs = mock.start();
  c = mock.client();
}
async function q(type: number, payload: Buffer | string): Promise<string> {
  return show((await c.request(type, payload)).reply);
}
async function watchSpecials(): Promise<void> {
  await c.request(T.WATCH, args('@introduceDomain', 'i'));
  await c.drain(20);
  await c.request(T.WATCH, args('@releaseDomain', 'r'));
  await c.drain(20);
}

describe('mock xenstored: domains', () => {
  it('introduces an existing domain for real: recorded, @introduceDomain fired, OK', async () => {
    setup();
    await watchSpecials();
    xs.domains.create(3);
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('3'))).toBe('F|');
    const r = await c.request(T.INTRODUCE, args('3', '4660', '5'));
    expect([show(r.reply), r.events.map(eventPair)]).toEqual(['OK', ['@introduceDomain|i|']]);
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('3'))).toBe('T|');
    // Introducing again (resume) is accepted and fires nothing.
    const again = await c.request(T.INTRODUCE, args('3', '4660', '5', 'reserved'));
    expect([show(again.reply), again.events]).toEqual(['OK', []]);
  });

  it('rejects INTRODUCE with too few arguments, a non-positive port, or no such domain', async () => {
    setup();
    xs.domains.create(3);
    expect(await q(T.INTRODUCE, args('3', '1'))).toBe('ERROR EINVAL');
    expect(await q(T.INTRODUCE, args('3', '1', '0'))).toBe('ERROR EINVAL');
    // the port is read into an unsigned int: a negative one passes the check
    expect(await q(T.INTRODUCE, args('3', '1', '-4'))).toBe('OK');
    expect(await q(T.INTRODUCE, args('3', '1', 'x'))).toBe('ERROR EINVAL');
    expect(await q(T.INTRODUCE, args('9', '1', '1'))).toBe('ERROR EINVAL');
  });

  it('answers IS_DOMAIN_INTRODUCED with atoi(): dom0, DOMID_SELF and "abc" are T', async () => {
    setup();
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('0'))).toBe('T|');
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('32752'))).toBe('T|');
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('abc'))).toBe('T|');
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('5'))).toBe('F|');
  });

  it('releases an introduced domain with @releaseDomain; 0 is EINVAL, anything not introduced ENOENT', async () => {
    setup();
    await watchSpecials();
    xs.domains.create(3);
    xs.domains.create(4);
    await q(T.INTRODUCE, args('3', '1', '1'));
    const r = await c.request(T.RELEASE, args('3'));
    expect([show(r.reply), r.events.map(eventPair)]).toEqual(['OK', ['@releaseDomain|r|']]);
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('3'))).toBe('F|');
    expect(await q(T.RELEASE, args('3'))).toBe('ERROR ENOENT');
    expect(await q(T.RELEASE, args('0'))).toBe('ERROR EINVAL');
    await q(T.WRITE, args('/p'));
    await q(T.SET_PERMS, args('/p', 'n4')); // known through a permission, not introduced
    expect(await q(T.RELEASE, args('4'))).toBe('ERROR ENOENT');
  });

  it('closes an introduced domain\'s connections when it is released', async () => {
    setup();
    xs.domains.create(3);
    await q(T.INTRODUCE, args('3', '1', '1'));
    const guest = new RawClient(xs.connect({ domid: 3 }));
    await q(T.RELEASE, args('3'));
    expect(await guest.next(200)).toBeUndefined();
    expect(guest.ended).toBe(true);
  });

  it('fires @releaseDomain once on shutdown, again after RESUME, and on death', async () => {
    setup();
    await watchSpecials();
    xs.domains.create(3, 'running');
    await q(T.INTRODUCE, args('3', '1', '1'));
    xs.domains.shutdown(3);
    expect((await c.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
    xs.domains.crash(3);
    expect(await c.drain()).toEqual([]);
    expect(await q(T.RESUME, args('3'))).toBe('OK');
    xs.domains.setState(3, 'running');
    xs.domains.shutdown(3);
    expect((await c.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
    xs.domains.markDying(3);
    expect((await c.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
    expect(await q(T.IS_DOMAIN_INTRODUCED, args('3'))).toBe('F|');
  });

  it('fires @releaseDomain when an introduced domain is destroyed, and not for others', async () => {
    setup();
    await watchSpecials();
    xs.domains.create(3);
    xs.domains.create(4);
    await q(T.INTRODUCE, args('3', '1', '1'));
    xs.domains.destroy(4);
    expect(await c.drain()).toEqual([]);
    xs.domains.destroy(3);
    expect((await c.drain()).map(eventPair)).toEqual(['@releaseDomain|r|']);
    expect(xs.domains.exists(3)).toBe(false);
    expect(await q(T.SET_PERMS, args('/tool', 'n3'))).toBe('ERROR ENOENT');
  });

  it('answers RESUME: 0 EINVAL, unknown ENOENT', async () => {
    setup();
    expect(await q(T.RESUME, args('0'))).toBe('ERROR EINVAL');
    expect(await q(T.RESUME, args('8'))).toBe('ERROR ENOENT');
  });

  it('requires both SET_TARGET domains to be introduced', async () => {
    setup();
    xs.domains.create(3);
    expect(await q(T.SET_TARGET, args('3', '0'))).toBe('ERROR ENOENT');
    await q(T.INTRODUCE, args('3', '1', '1'));
    expect(await q(T.SET_TARGET, args('3', '7'))).toBe('ERROR ENOENT');
    expect(await q(T.SET_TARGET, args('3'))).toBe('ERROR EINVAL');
    expect(await q(T.SET_TARGET, args('3', '0'))).toBe('OK');
  });

  it('lists the hypervisor\'s domains, dom0 included, and refuses impossible changes', () => {
    setup();
    xs.domains.create(2, 'running');
    expect(xs.domains.list()).toEqual([
      { domid: 0, state: 'running' },
      { domid: 2, state: 'running' },
    ]);
    expect(() => xs.domains.create(2)).toThrow();
    expect(() => xs.domains.destroy(0)).toThrow();
    expect(() => xs.domains.shutdown(9)).toThrow();
  });
});
