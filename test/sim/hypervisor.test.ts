// The simulated hypervisor on its own: domids, accounting against host totals, states and
// shutdown reasons, event channels, the fake build, state-change events, and publishing to the
// stub's domains file (atomic) and to the mock's registry.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isError } from '../../src/errors.js';
import { RegistryPublisher, SimulatedHypervisor } from '../../src/sim/index.js';
import type { DomainStateChange } from '../../src/hypervisor/types.js';
import { E_HV_INVALID, E_HV_NO_CPUS, E_HV_NO_DOMAIN, E_HV_NO_MEMORY } from '../../src/hypervisor/errors.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';

const spec = (n: number) => ({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'pv' as const, maxVcpus: 2 });
const build = (memoryKiB: number) => ({ type: 'pv' as const, memoryKiB, maxMemoryKiB: memoryKiB, vcpus: 1, storeEvtchn: 1, consoleEvtchn: 2 });

describe('SimulatedHypervisor', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('hands out domids from 1, never reusing a live one, and wraps', async () => {
    const hv = new SimulatedHypervisor({ maxDomid: 3 });
    expect(await hv.createDomain(spec(1))).toBe(1);
    expect(await hv.createDomain(spec(2))).toBe(2);
    await hv.destroy(1);
    expect(await hv.createDomain(spec(3))).toBe(3);
    expect(await hv.createDomain(spec(4))).toBe(1);
    await expect(hv.createDomain(spec(5))).rejects.toThrow(/no free domid/);
  });

  it('accounts memory and vcpus against the host; what does not fit fails typed and changes nothing', async () => {
    const hv = new SimulatedHypervisor({ totalMemoryKiB: 100_000, nrCpus: 2 });
    const a = await hv.createDomain(spec(1));
    await hv.build(a, build(60_000));
    const b = await hv.createDomain(spec(2));
    const err = await hv.build(b, build(50_000)).catch((e: unknown) => e);
    expect(isError(err, E_HV_NO_MEMORY)).toBe(true);
    expect((await hv.hostInfo()).freeMemoryKiB).toBe(40_000);
    expect(isError(await hv.createDomain({ ...spec(3), maxVcpus: 3 }).catch((e: unknown) => e), E_HV_NO_CPUS)).toBe(true);
    // mem-set over the free memory, and over the domain's maximum.
    expect(isError(await hv.setMemoryTarget(a, 70_000).catch((e: unknown) => e), E_HV_INVALID)).toBe(true);
    await hv.destroy(b);
    expect(isError(await hv.setMemoryTarget(a, 110_000).catch((e: unknown) => e), E_HV_INVALID)).toBe(true);
    await hv.setMemoryTarget(a, 30_000);
    expect((await hv.hostInfo()).freeMemoryKiB).toBe(70_000);
  });

  it('tracks pause, shutdown reasons and crash, and reports each change', async () => {
    const hv = new SimulatedHypervisor();
    const changes: DomainStateChange[] = [];
    hv.onStateChange((c) => changes.push(c));
    const d = await hv.createDomain(spec(1));
    expect((await hv.getInfo(d))?.paused).toBe(true);
    await hv.unpause(d);
    expect((await hv.getInfo(d))?.running).toBe(true);
    await hv.shutdown(d, 'reboot');
    expect(await hv.getInfo(d)).toMatchObject({ shutdown: true, shutdownReason: 'reboot', running: false });
    const e = await hv.createDomain(spec(2));
    await hv.crash(e);
    expect(await hv.getInfo(e)).toMatchObject({ crashed: true, shutdownReason: 'crash' });
    await hv.destroy(d);
    expect(await hv.getInfo(d)).toBeUndefined();
    expect(changes.map((c) => c.type)).toEqual(['created', 'changed', 'changed', 'created', 'changed', 'destroyed']);
    expect(isError(await hv.pause(d).catch((x: unknown) => x), E_HV_NO_DOMAIN)).toBe(true);
  });

  it('allocates event channels per domain and builds with store/console frames', async () => {
    const hv = new SimulatedHypervisor();
    const d = await hv.createDomain(spec(1));
    expect([await hv.allocUnboundEvtchn(d, 0), await hv.allocUnboundEvtchn(d, 0)]).toEqual([1, 2]);
    const r = await hv.build(d, build(65536));
    expect(r.storeGfn).toBe(16384n - 2n);
    expect(r.consoleGfn).toBe(16384n - 1n);
    expect(r.protocol).toBe('x86_64-abi');
  });

  it('writes the stub domains file atomically, one `<domid> <state>` line per domain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-sim-'));
    dirs.push(dir);
    const file = join(dir, 'domains');
    const hv = new SimulatedHypervisor({ domainsFile: file });
    const a = await hv.createDomain(spec(1));
    const b = await hv.createDomain(spec(2));
    await hv.unpause(a);
    expect(readFileSync(file, 'utf8')).toBe(`${a} running\n${b} paused\n`);
    await hv.crash(b);
    expect(readFileSync(file, 'utf8')).toBe(`${a} running\n${b} crashed\n`);
    await hv.destroy(a);
    await hv.destroy(b);
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['domains', 'domains.sim.json']); // no temp files left
  });

  it('keeps its domains across toolstack restarts, as Xen does (the table persists next to the domains file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-sim-'));
    dirs.push(dir);
    const file = join(dir, 'domains');
    const first = new SimulatedHypervisor({ domainsFile: file });
    const a = await first.createDomain(spec(1));
    await first.unpause(a);
    await first.close();
    const second = new SimulatedHypervisor({ domainsFile: file });
    expect((await second.list()).map((d) => ({ domid: d.domid, running: d.running }))).toEqual([{ domid: a, running: true }]);
    // Domids keep counting from where the first process left off.
    expect(await second.createDomain(spec(2))).toBe(a + 1);
    await second.close();
  });

  it('setHandle gives a domain another uuid, kept across toolstack restarts; a bad uuid or domid fails typed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-sim-'));
    dirs.push(dir);
    const file = join(dir, 'domains');
    const first = new SimulatedHypervisor({ domainsFile: file });
    const a = await first.createDomain(spec(1));
    await first.setHandle(a, spec(9).uuid);
    expect(await first.getInfo(a)).toMatchObject({ uuid: spec(9).uuid, paused: true });
    expect(isError(await first.setHandle(a, 'not-a-uuid').catch((e: unknown) => e), E_HV_INVALID)).toBe(true);
    expect(isError(await first.setHandle(a + 1, spec(2).uuid).catch((e: unknown) => e), E_HV_NO_DOMAIN)).toBe(true);
    first.failNext('setHandle');
    await expect(first.setHandle(a, spec(3).uuid)).rejects.toThrow(/injected failure in setHandle/);
    await first.close();
    const second = new SimulatedHypervisor({ domainsFile: file });
    expect((await second.list()).map((d) => d.uuid)).toEqual([spec(9).uuid]);
    await second.close();
  });

  it('a toolstack killed between saving its table and publishing it: the restarted one publishes what it restored before listing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-sim-'));
    dirs.push(dir);
    const file = join(dir, 'domains');
    const first = new SimulatedHypervisor({ domainsFile: file });
    const a = await first.createDomain(spec(1));
    const b = await first.createDomain(spec(2));
    await first.unpause(a);
    await first.destroy(b);
    await first.close();
    // The kill came after the table lost b and gained a's run, before the domains file did.
    writeFileSync(file, `${a} paused\n${b} paused\n`);
    const second = new SimulatedHypervisor({ domainsFile: file });
    expect((await second.list()).map((d) => d.domid)).toEqual([a]);
    expect(readFileSync(file, 'utf8')).toBe(`${a} running\n`);
    await second.close();
  });

  it('publishes to the mock registry, so INTRODUCE works and vanishing fires @releaseDomain', async () => {
    const mock = new MockXenstored();
    const hv = new SimulatedHypervisor({ publisher: new RegistryPublisher(mock.domains) });
    const d = await hv.createDomain(spec(1));
    expect(mock.domains.exists(d)).toBe(true);
    await hv.shutdown(d, 'poweroff');
    expect(mock.domains.list().find((x) => x.domid === d)?.state).toBe('shutdown');
    await hv.destroy(d);
    expect(mock.domains.exists(d)).toBe(false);
    await mock.close();
  });
});
