// Migration between two orchestrators on the embedded default, each with its own store, xenstore
// and hypervisor (two hosts), joined by a peer that calls the destination directly (the HTTP one
// is tested between two daemons in test/daemon/migrate.test.ts). Faults at every step: the guest
// runs in exactly one place, or in none only while paused awaiting a decision.

import { PassThrough, Transform } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import type { MigrationPeer, StoredDomain, TsxEvent } from '../../src/lifecycle/api.js';
import { expectDocumented } from '../daemon/helpers/scenario.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { E_MIGRATION_FAILED, E_NAME_TAKEN, E_NO_MIGRATION } from '../../src/lifecycle/errors.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { dumpOurTree, sixDeviceConfig } from './helpers.js';

type Hooks = { cutAfterBytes?: number; beforeCommit?: () => Promise<void> | void };

/** The destination as a peer, called in-process; `hooks` break it where a test wants. */
function directPeer(dest: DomainOrchestrator, hooks: Hooks = {}, calls: string[] = []): MigrationPeer {
  return {
    target: { destination: 'direct:dest' },
    prepare: async (config) => (calls.push('prepare'), { id: (await dest.prepareIncoming(config)).id }),
    sendImage: async (id, image) => {
      calls.push('image');
      let seen = 0;
      const cut = hooks.cutAfterBytes;
      const wire = cut === undefined ? image : image.pipe(new Transform({
        transform(chunk: Buffer, _e, done) {
          seen += chunk.length;
          // The connection drops: the destination sees its stream end early.
          if (seen > cut) return (this.push(chunk.subarray(0, chunk.length - (seen - cut))), this.push(null), image.unpipe(this), done());
          done(null, chunk);
        },
      }));
      await dest.receiveIncoming(id, wire).done;
    },
    commit: async (id) => {
      calls.push('commit');
      await hooks.beforeCommit?.();
      try {
        await dest.commitIncoming(id);
        return 'committed';
      } catch (err) {
        if (isError(err, E_NO_MIGRATION)) return 'gone';
        throw err;
      }
    },
    abort: async (id) => {
      calls.push('abort');
      await dest.abortIncoming(id).catch(() => undefined);
    },
  };
}

describe('migration between two hosts (embedded default)', () => {
  let src: Environment;
  let dst: Environment;
  let srcStore: MemoryConfigStore;
  let dstStore: MemoryConfigStore;
  let srcBefore: string[];
  let dstBefore: string[];
  beforeEach(async () => {
    srcStore = new MemoryConfigStore();
    dstStore = new MemoryConfigStore();
    src = await createEnvironment({ xenstore: 'embedded', store: srcStore, orchestrator: { shutdownTimeoutMs: 1500 } });
    dst = await createEnvironment({ xenstore: 'embedded', store: dstStore, orchestrator: { incomingExpiryMs: 60_000 } });
    await src.orchestrator.start();
    await dst.orchestrator.start();
    srcBefore = await dumpOurTree(src.xs);
    dstBefore = await dumpOurTree(dst.xs);
  });
  afterEach(async () => {
    await src.close();
    await dst.close();
  });

  const screen = async (env: Environment, ref: string, line = ''): Promise<string> => {
    const domid = env.orchestrator.getDomain(ref).domid!;
    const s = await env.consoles.open(domid);
    if (line) s.write(Buffer.from(`${line}\r`));
    await new Promise((r) => setTimeout(r, 20));
    const text = (await env.consoles.open(domid)).backlog.toString('utf8');
    s.close();
    return text;
  };

  it('moves a running six-device guest live: it runs there with its devices and screen, and nothing of it is left here', async () => {
    const v = await src.orchestrator.createDomain(sixDeviceConfig('mover', { memory: 256, maxmem: 256 })).done;
    await screen(src, 'mover', 'echo on-the-source');
    const calls: string[] = [];
    const events: TsxEvent[] = [];
    src.orchestrator.events.subscribe((e) => events.push(e));
    dst.orchestrator.events.subscribe((e) => events.push(e));
    const report = await src.orchestrator.migrateDomain('mover', directPeer(dst.orchestrator, {}, calls)).done;
    expect(calls).toEqual(['prepare', 'image', 'commit']);
    expect(report).toMatchObject({ name: 'mover', uuid: v.uuid, live: true, destination: 'direct:dest' });
    expect(report.bytes).toBeGreaterThan(256 * 4096);
    expect(report.downtimeMs).toBeLessThanOrEqual(report.totalMs);
    const there = dst.orchestrator.getDomain('mover');
    expect(there).toMatchObject({ uuid: v.uuid, state: 'running' });
    expect(there.reason).toBeUndefined();
    expect(there.devices.map((d) => `${d.class}/${d.devid}:${d.state}`).sort()).toEqual(v.devices.map((d) => `${d.class}/${d.devid}:connected`).sort());
    expect(await screen(dst, 'mover', 'echo on-the-destination')).toMatch(/on-the-source[\s\S]*on-the-destination/);
    // Here: no domain, no node, no record; its name could be used again.
    expect(src.orchestrator.listDomains().domains).toEqual([]);
    expect(await src.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(src.xs)).toEqual(srcBefore);
    expect(srcStore.size).toBe(0);
    expect((await dstStore.loadAll()).find((r): r is StoredDomain => 'config' in r)).not.toHaveProperty('phase');
    expect(events.filter((e) => e.type === 'migrate.progress').length).toBeGreaterThan(0);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['domain.migrating', 'migration.prepared', 'migration.ready', 'migration.committed', 'domain.migrated']));
    expectDocumented(events);
  });

  it('claims the name, uuid and MACs on the destination before anything moves: a clash there fails it with the guest untouched here', async () => {
    const cfg = sixDeviceConfig('clash');
    await dst.orchestrator.createDomain(sixDeviceConfig('clash')).done;
    const v = await src.orchestrator.createDomain(cfg).done;
    const calls: string[] = [];
    const err = await src.orchestrator.migrateDomain('clash', directPeer(dst.orchestrator, {}, calls)).done.catch((e: unknown) => e);
    expect(isError(err, E_MIGRATION_FAILED), String(err)).toBe(true);
    expect((err as { cause?: unknown }).cause).toSatisfy((c: unknown) => isError(c, E_NAME_TAKEN));
    expect(calls).toEqual(['prepare']);
    expect(src.orchestrator.getDomain('clash')).toMatchObject({ state: 'running', domid: v.domid });
    await expect(dst.hypervisor.list()).resolves.toHaveLength(1);
  });

  it('a connection cut during the copy: the destination keeps nothing, the guest resumes here and carries on', async () => {
    await src.orchestrator.createDomain(sixDeviceConfig('cut', { memory: 512, maxmem: 512 })).done;
    await screen(src, 'cut', 'echo before-the-cut');
    const calls: string[] = [];
    const err = await src.orchestrator.migrateDomain('cut', directPeer(dst.orchestrator, { cutAfterBytes: 300_000 }, calls)).done.catch((e: unknown) => e);
    expect(isError(err, E_MIGRATION_FAILED), String(err)).toBe(true);
    expect(calls).toEqual(['prepare', 'image', 'abort']);
    expect(src.orchestrator.getDomain('cut').state).toBe('running');
    expect(await screen(src, 'cut', 'echo after-the-cut')).toMatch(/before-the-cut[\s\S]*after-the-cut/);
    expect(dst.orchestrator.listDomains().domains).toEqual([]);
    expect(await dst.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(dst.xs)).toEqual(dstBefore);
    // Its name is free there again: a second try goes through.
    await src.orchestrator.migrateDomain('cut', directPeer(dst.orchestrator)).done;
    expect(dst.orchestrator.getDomain('cut').state).toBe('running');
  });

  it('a source that gives up with its connection left open (an HTTP body never ended): its abort ends the restore there', async () => {
    await src.orchestrator.createDomain(sixDeviceConfig('hang')).done;
    const peer = directPeer(dst.orchestrator);
    let receiving: Promise<void> | undefined;
    // The wire outlives the source's stream, as a socket does: nothing ends it but the abort.
    peer.sendImage = (id, image) => {
      const wire = new PassThrough();
      image.pipe(wire);
      receiving = dst.orchestrator.receiveIncoming(id, wire).done.then(() => undefined);
      receiving.catch(() => undefined);
      return receiving;
    };
    // The source's memory copy fails after the image's header went out (real Xen: no log-dirty).
    src.simulated?.failNext('saveMemory');
    const err = await src.orchestrator.migrateDomain('hang', peer).done.catch((e: unknown) => e);
    expect(isError(err, E_MIGRATION_FAILED), String(err)).toBe(true);
    expect(src.orchestrator.getDomain('hang').state).toBe('running');
    // The destination's restore ended with the abort: rolled back, nothing left.
    await expect(receiving).rejects.toThrow();
    expect(dst.orchestrator.listDomains().domains).toEqual([]);
    expect(await dst.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(dst.xs)).toEqual(dstBefore);
  });

  it('a destination that lost the copy before the commit (it expired): the guest resumes here', async () => {
    await src.orchestrator.createDomain(sixDeviceConfig('late')).done;
    let wasReady = false;
    const peer = directPeer(dst.orchestrator, {
      // What its expiry does, just before the commit arrives: drop the ready copy.
      beforeCommit: async () => {
        wasReady = dst.orchestrator.getDomain('late').state === 'paused';
        await dst.orchestrator.abortIncoming(lastIncoming).catch(() => undefined);
      },
    });
    let lastIncoming = '';
    const prepare = peer.prepare;
    peer.prepare = async (c) => {
      const r = await prepare(c);
      lastIncoming = r.id;
      return r;
    };
    const err = await src.orchestrator.migrateDomain('late', peer).done.catch((e: unknown) => e);
    expect(isError(err, E_MIGRATION_FAILED), String(err)).toBe(true);
    expect(wasReady).toBe(true);
    expect(src.orchestrator.getDomain('late').state).toBe('running');
    expect(await dst.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(dst.xs)).toEqual(dstBefore);
  });

  it('an uncommitted copy on the destination expires: destroyed, its claims released', async () => {
    await dst.close();
    dst = await createEnvironment({ xenstore: 'embedded', store: dstStore, orchestrator: { incomingExpiryMs: 300 } });
    await dst.orchestrator.start();
    dstBefore = await dumpOurTree(dst.xs);
    const v = await src.orchestrator.createDomain(sixDeviceConfig('stale')).done;
    const peer = directPeer(dst.orchestrator);
    const { id } = await peer.prepare(v.config);
    expect(dst.orchestrator.getIncoming(id).state).toBe('prepared');
    await expect.poll(() => dst.orchestrator.getIncoming(id).state, { timeout: 3000 }).toBe('aborted');
    expect(dst.orchestrator.listDomains().domains).toEqual([]);
    expect((await dst.orchestrator.createDomain(v.config).done).state).toBe('running');
  });

  describe('a daemon that dies in a migration', () => {
    /** The source daemon that is to die: the environment's own stops first, this one takes over. */
    const dyingSource = async () => {
      await src.orchestrator.stop();
      const o1 = new DomainOrchestrator({ xs: src.xs, hypervisor: src.hypervisor, devices: src.orchestrator.devices, store: srcStore, shutdownTimeoutMs: 1500 });
      await o1.start();
      return o1;
    };
    /** A new source daemon on the same host; the dying one is never heard from again (its operation hangs). */
    const restartSource = async () => {
      const o2 = new DomainOrchestrator({ xs: src.xs, hypervisor: src.hypervisor, devices: src.orchestrator.devices, store: srcStore, peerFor: () => directPeer(dst.orchestrator) });
      await o2.start();
      return o2;
    };

    it('the source, before it decided (migrating): the restart resumes the guest here and the destination drops its copy', async () => {
      const v = await src.orchestrator.createDomain(sixDeviceConfig('k1')).done;
      let hang: () => void = () => undefined;
      const peer = directPeer(dst.orchestrator);
      const send = peer.sendImage;
      // The image reaches the destination (ready there), then the source dies before deciding.
      peer.sendImage = async (id, image) => (await send(id, image), await new Promise<void>((r) => (hang = r)));
      const o1 = await dyingSource();
      void o1.migrateDomain('k1', peer).done.catch(() => undefined);
      await expect.poll(() => dst.orchestrator.listDomains().domains[0]?.state, { timeout: 5000 }).toBe('paused');
      expect(((await srcStore.loadAll()) as StoredDomain[])[0]).toMatchObject({ phase: 'migrating' });
      const o2 = await restartSource();
      expect(o2.getDomain('k1')).toMatchObject({ state: 'running', domid: v.domid });
      expect((await src.hypervisor.getInfo(v.domid!))?.shutdown).toBe(false);
      await expect.poll(async () => (await dst.hypervisor.list()).length).toBe(0);
      expect(await dumpOurTree(dst.xs)).toEqual(dstBefore);
      expect(((await srcStore.loadAll()) as StoredDomain[])[0]).not.toHaveProperty('phase');
      hang();
      await o2.stop();
    });

    it('the source, after it decided (migrated): the restart commits on the destination and tears the copy here down', async () => {
      const v = await src.orchestrator.createDomain(sixDeviceConfig('k2')).done;
      const peer = directPeer(dst.orchestrator);
      // The source dies right after recording its decision, before the commit reaches the destination.
      peer.commit = () => new Promise(() => undefined);
      const o1 = await dyingSource();
      void o1.migrateDomain('k2', peer).done.catch(() => undefined);
      await expect.poll(async () => ((await srcStore.loadAll()) as StoredDomain[])[0]?.phase, { timeout: 5000 }).toBe('migrated');
      expect(dst.orchestrator.getDomain('k2').state).toBe('paused');
      const o2 = await restartSource();
      await expect.poll(() => dst.orchestrator.getDomain('k2').state, { timeout: 5000 }).toBe('running');
      await expect.poll(async () => (await src.hypervisor.list()).length, { timeout: 5000 }).toBe(0);
      expect(await src.hypervisor.getInfo(v.domid!)).toBeUndefined();
      await expect.poll(async () => dumpOurTree(src.xs)).toEqual(srcBefore);
      await expect.poll(() => srcStore.size).toBe(0);
      await o2.stop();
    });

    it('the destination, with a ready copy: its restart keeps it paused, and the commit then runs it', async () => {
      await src.orchestrator.createDomain(sixDeviceConfig('k3')).done;
      const peer = directPeer(dst.orchestrator);
      let resume: () => void = () => undefined;
      const gate = new Promise<void>((r) => (resume = r));
      let target = dst.orchestrator;
      peer.commit = async (id) => {
        await gate;
        await target.commitIncoming(id);
        return 'committed';
      };
      const op = src.orchestrator.migrateDomain('k3', peer);
      await expect.poll(() => dst.orchestrator.listDomains().domains[0]?.state, { timeout: 5000 }).toBe('paused');
      // The destination daemon dies and starts again on the same host.
      await dst.orchestrator.stop();
      const d2 = new DomainOrchestrator({ xs: dst.xs, hypervisor: dst.hypervisor, devices: (dst.orchestrator).devices, store: dstStore });
      await d2.start();
      expect(d2.getDomain('k3')).toMatchObject({ state: 'paused' });
      target = d2;
      resume();
      await op.done;
      expect(d2.getDomain('k3').state).toBe('running');
      expect(await src.hypervisor.list()).toEqual([]);
      await d2.stop();
    });
  });
});

describe('migration between two daemons on one host (as xl migrate to localhost)', () => {
  // One xenstore and one hypervisor, two orchestrators with their own stores: both copies of
  // the uuid exist at once, and each daemon must keep to its own.
  let host: Environment;
  let other: DomainOrchestrator;
  let otherStore: MemoryConfigStore;
  beforeEach(async () => {
    host = await createEnvironment({ xenstore: 'embedded', store: new MemoryConfigStore(), orchestrator: { shutdownTimeoutMs: 1500 } });
    await host.orchestrator.start();
    otherStore = new MemoryConfigStore();
    other = new DomainOrchestrator({ xs: host.xs, hypervisor: host.hypervisor, devices: host.orchestrator.devices, store: otherStore, incomingExpiryMs: 60_000 });
    await other.start();
  });
  afterEach(async () => {
    await other.stop();
    await host.close();
  });

  it("gives the destination's copy xend's /vm/UUID-1 while the source holds /vm/UUID; the source's teardown leaves it, and restarts leave each other's copy alone", async () => {
    const before = await dumpOurTree(host.xs);
    const v = await host.orchestrator.createDomain(sixDeviceConfig('local', { memory: 128, maxmem: 128 })).done;
    const vmOf = async (domid: number) => host.xs.tryRead(`/local/domain/${domid}/vm`);
    expect(await vmOf(v.domid!)).toBe(`/vm/${v.uuid}`);

    // The destination holds the copy, paused, while the source's still exists (suspended).
    const peer = directPeer(other);
    let seenBoth: (string | undefined)[] = [];
    peer.commit = async (id) => {
      seenBoth = [await vmOf(v.domid!), await vmOf(other.getDomain('local').domid!)];
      // The destination daemon restarts now: the source's copy of the uuid is not its own.
      await other.stop();
      other = new DomainOrchestrator({ xs: host.xs, hypervisor: host.hypervisor, devices: host.orchestrator.devices, store: otherStore, incomingExpiryMs: 60_000 });
      await other.start();
      expect(other.listDomains().domains.filter((d) => d.state !== 'quarantined').map((d) => d.domid)).toEqual([other.getDomain('local').domid]);
      await other.commitIncoming(id);
      return 'committed';
    };
    const report = await host.orchestrator.migrateDomain('local', peer).done;
    expect(report.live).toBe(true);
    expect(seenBoth).toEqual([`/vm/${v.uuid}`, `/vm/${v.uuid}-1`]);

    // The quarantined copy went with the source's domain, and nothing of it reached the store.
    expect(other.listDomains().domains.map((d) => [d.name, d.state])).toEqual([['local', 'running']]);
    expect((await otherStore.loadAll()).map((r) => ('config' in r ? r.config.name : r.error.message))).toEqual(['local']);
    const moved = other.getDomain('local');
    expect(moved.state).toBe('running');
    expect(moved.domid).not.toBe(v.domid);
    expect(await host.hypervisor.list()).toEqual([expect.objectContaining({ domid: moved.domid, uuid: v.uuid })]);
    // The source's teardown took its own VM path only.
    expect(await host.xs.tryRead(`/vm/${v.uuid}`)).toBeUndefined();
    expect(await host.xs.tryRead(`/vm/${v.uuid}-1/uuid`)).toBe(v.uuid);
    expect(await vmOf(moved.domid!)).toBe(`/vm/${v.uuid}-1`);

    // The source daemon restarts: nothing of its own left, the other's domain not touched.
    await host.orchestrator.stop();
    const again = new DomainOrchestrator({ xs: host.xs, hypervisor: host.hypervisor, devices: host.orchestrator.devices, store: host.store });
    await again.start();
    expect(again.listDomains().domains.map((d) => d.state)).toEqual(['quarantined']);
    await again.stop();
    expect(other.getDomain('local').state).toBe('running');

    // Destroyed where it now runs: the host is as it was.
    await other.destroyDomain('local').done;
    expect(await host.hypervisor.list()).toEqual([]);
    expect(await dumpOurTree(host.xs)).toEqual(before);
  });
});
