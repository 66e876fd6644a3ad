// The records' indexes (records.ts): a domid, name or uuid finds its record without a scan, and
// the indexes stay exact — checked against a scan after every change — across create, rename
// (a corpse of rename-restart), destroy and quarantine; @releaseDomain asks the hypervisor once.

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceManager } from '../../src/devices/index.js';
import { DomainRecord } from '../../src/lifecycle/domain.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { DomainRecords } from '../../src/lifecycle/records.js';
import { simfbCommand, SimulatedHotplugRunner } from '../../src/sim/index.js';
import { tinyConfig } from './helpers.js';

const record = (name: string, domid?: number): DomainRecord => {
  const r = new DomainRecord(tinyConfig(name), false, false, 0, 'running');
  r.domid = domid;
  return r;
};

describe('DomainRecords', () => {
  it('finds by key, uuid, name and domid, and follows every change of a domid or a name', () => {
    const records = new DomainRecords();
    const a = record('a', 3);
    const b = record('b');
    records.set(a.uuid, a).set(b.uuid, b);
    expect(records.audit()).toEqual([]);
    expect(records.find(a.uuid)).toBe(a);
    expect(records.find('a')).toBe(a);
    expect(records.find('3')).toBe(a);
    expect(records.find('03')).toBeUndefined();
    expect(records.byDomid(3)).toBe(a);
    b.domid = 7;
    expect(records.byDomid(7)).toBe(b);
    a.domid = undefined;
    expect(records.byDomid(3)).toBeUndefined();
    expect(records.find('3')).toBeUndefined();
    a.config = { ...a.config, name: 'renamed' };
    expect(records.find('a')).toBeUndefined();
    expect(records.byName('renamed')).toBe(a);
    expect(records.audit()).toEqual([]);
  });

  it('moves a record to a new key with its new uuid (a corpse), and forgets a deleted one for good', () => {
    const records = new DomainRecords();
    const a = record('a', 4);
    records.set(a.uuid, a);
    const oldUuid = a.uuid;
    records.delete(oldUuid);
    const newUuid = randomUUID();
    a.config = { ...a.config, uuid: newUuid, name: `Domain-${newUuid}` };
    records.set(newUuid, a);
    expect(records.find(oldUuid)).toBeUndefined();
    expect(records.find(newUuid)).toBe(a);
    expect(records.find('4')).toBe(a);
    expect(records.size).toBe(1);
    // Moved from one key to another in one step: held once.
    records.set('quarantine:4:x', a);
    expect([...records.keys()]).toEqual(['quarantine:4:x']);
    expect(records.audit()).toEqual([]);
    records.delete('quarantine:4:x');
    // Changes after it left touch no index.
    a.domid = 9;
    expect(records.byDomid(9)).toBeUndefined();
    expect(records.size).toBe(0);
    expect(records.audit()).toEqual([]);
  });

  it('keeps both records of a shared domid (a stale one and the new holder) and answers the first', () => {
    const records = new DomainRecords();
    const stale = record('stale', 5);
    const fresh = record('fresh', 5);
    records.set(stale.uuid, stale).set(fresh.uuid, fresh);
    expect(records.byDomid(5)).toBe(stale);
    stale.domid = undefined;
    expect(records.byDomid(5)).toBe(fresh);
    expect(records.audit()).toEqual([]);
  });

  it('prefers a uuid, then a name, then a domid when one ref could be several', () => {
    const records = new DomainRecords();
    const byName = record('12');
    const byDomid = record('other', 12);
    records.set(byDomid.uuid, byDomid).set(byName.uuid, byName);
    expect(records.find('12')).toBe(byName);
  });

  it('a record is held by one registry at a time', () => {
    const a = record('a');
    new DomainRecords().set(a.uuid, a);
    expect(() => new DomainRecords().set(a.uuid, a)).toThrow(/another registry/);
  });
});

describe('the orchestrator keeps its records indexed', () => {
  let env: Environment;
  beforeEach(async () => {
    env = await createEnvironment({ xenstore: 'embedded', store: new MemoryConfigStore(), orchestrator: { minRestartIntervalMs: 0 } });
    await env.orchestrator.start();
  });
  afterEach(async () => {
    await env.close();
  });

  it('across create, rename-restart, destroy and quarantine', async () => {
    const o = env.orchestrator;
    const a = await o.createDomain(tinyConfig('a', { on_crash: 'rename-restart' })).done;
    const b = await o.createDomain(tinyConfig('b')).done;
    expect(o.records.audit()).toEqual([]);
    expect(o.getDomain(String(a.domid)).uuid).toBe(a.uuid);
    expect(o.getDomain('b').domid).toBe(b.domid);

    await env.guests?.crash(a.domid as number);
    await expect.poll(() => o.listDomains().domains.some((d) => d.name === 'a' && d.state === 'running' && d.domid !== a.domid)).toBe(true);
    expect(o.records.audit()).toEqual([]);
    const corpse = o.getDomain(String(a.domid));
    expect(corpse.name).toMatch(/^Domain-/);
    expect(o.getDomain(corpse.name).uuid).toBe(corpse.uuid);
    expect(o.getDomain('a').domid).not.toBe(a.domid);

    await o.destroyDomain(corpse.uuid).done;
    await o.destroyDomain('b').done;
    expect(o.records.audit()).toEqual([]);
    expect(() => o.getDomain(String(b.domid))).toThrow(/no domain/);

    // A domain nobody made: quarantined by the next daemon, found by its domid, dropped when it goes.
    const foreign = await env.hypervisor.createDomain({ uuid: randomUUID(), type: 'pv', maxVcpus: 1 });
    await o.stop();
    const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: createDeviceManager({ hotplug: new SimulatedHotplugRunner(env.xs), vfbCommand: simfbCommand() }), store: new MemoryConfigStore() });
    await o2.start();
    try {
      expect(o2.getDomain(String(foreign)).state).toBe('quarantined');
      expect(o2.records.audit()).toEqual([]);
      await env.hypervisor.destroy(foreign);
      await expect.poll(() => o2.listDomains().domains.some((d) => d.domid === foreign)).toBe(false);
      expect(o2.records.audit()).toEqual([]);
      expect(() => o2.getDomain(String(foreign))).toThrow(/no domain/);
    } finally {
      await o2.stop();
    }
  });

  it('@releaseDomain is checked against one list of the hypervisor, never one getInfo per domain', async () => {
    const o = env.orchestrator;
    const views = [];
    for (const name of ['x', 'y', 'z']) views.push(await o.createDomain(tinyConfig(name)).done);
    const hv = env.hypervisor;
    const asked: number[] = [];
    let lists = 0;
    const getInfo = hv.getInfo.bind(hv);
    const list = hv.list.bind(hv);
    hv.getInfo = (domid: number) => (asked.push(domid), getInfo(domid));
    hv.list = () => (lists++, list());
    // A crash: xenstored fires @releaseDomain (the crashed domain's own change also comes from the hypervisor).
    const crashed = views[0]!.domid as number;
    await env.guests?.crash(crashed);
    await expect.poll(() => o.listDomains().domains.some((d) => d.domid === crashed)).toBe(false);
    expect(lists).toBeGreaterThan(0);
    expect(asked.filter((d) => d !== crashed)).toEqual([]);
  });
});
