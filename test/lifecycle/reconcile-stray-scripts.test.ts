// A hotplug script still running when the daemon dies (a real, tiny shell script run by
// RealHotplugRunner, detached in its own process group) must not act after the restarted
// daemon's reconcile tore its domain down. Reconcile finds it by its environment, waits
// (bounded) and kills its group before the teardown: the store ends as it was before the
// domain and the script's side effect (a file, a backend node) is complete-and-undone or never
// happened. A control without the settle step shows the gap this closes.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceManager, RealHotplugRunner, type DeviceManager, type HotplugRunner } from '../../src/devices/index.js';
import { MemoryConfigStore } from '../../src/lifecycle/config-store.js';
import { createEnvironment, type Environment } from '../../src/lifecycle/environment.js';
import { DomainOrchestrator } from '../../src/lifecycle/orchestrator.js';
import { dumpOurTree, tinyConfig } from './helpers.js';
import { alive } from '../helpers/proc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `add`: records its pid, sleeps $(cat sleep), then makes its file and a backend node; `remove` undoes both. */
function writeScript(dir: string): string {
  const path = join(dir, 'stray-hotplug');
  writeFileSync(
    path,
    `#!/bin/sh
f="${dir}/made-$(echo "$XENBUS_PATH" | tr / _)"
case "$1" in
add)
  echo $$ > "${dir}/pid"
  sleep "$(cat "${dir}/sleep")"
  xenstore-write "/local/domain/0/$XENBUS_PATH/late-node" 1 || exit 1
  : > "$f"
  echo add-done >> "${dir}/log"
  ;;
remove)
  rm -f "$f"
  echo remove >> "${dir}/log"
  ;;
esac
`,
    { mode: 0o755 },
  );
  return path;
}

describe('reconcile settles hotplug scripts a dead daemon left running', () => {
  let env: Environment;
  let store: MemoryConfigStore;
  let dir: string;
  let script: string;
  let socket: string;
  let before: string[];
  beforeEach(async () => {
    store = new MemoryConfigStore();
    env = await createEnvironment({ xenstore: 'embedded', store });
    socket = env.mock!.socketPath!;
    dir = mkdtempSync(join(tmpdir(), 'tsxend-stray-'));
    script = writeScript(dir);
    // The store as a started daemon leaves it (dom0's nodes), before any domain.
    await env.orchestrator.start();
    await env.orchestrator.stop();
    before = await dumpOurTree(env.xs);
  });
  afterEach(async () => {
    const pid = existsSync(join(dir, 'pid')) ? Number(readFileSync(join(dir, 'pid'), 'utf8')) : 0;
    if (pid > 0 && alive(pid)) process.kill(-pid, 'SIGKILL');
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A first daemon starts the create and dies while the script runs: its runner spawns the
   * script for real but never hears back (nothing of the dead daemon acts again).
   */
  async function dieDuringScript(seconds: number): Promise<{ uuid: string; pid: number; t0: number }> {
    writeFileSync(join(dir, 'sleep'), String(seconds));
    const real = new RealHotplugRunner();
    const dead: HotplugRunner = {
      run: (req) => {
        const { signal: _s, ...rest } = req;
        void real.run(rest);
        return new Promise(() => undefined);
      },
      settle: () => Promise.resolve({ found: 0, killed: 0, paths: [], waitedMs: 0 }),
    };
    const o1 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices: createDeviceManager({ hotplug: dead, xenstoredPath: socket }), store });
    const config = tinyConfig('stray', { devices: { 'b5a1e0f2-0000-4000-8000-000000000001': { class: 'vbd', config: { vdev: 'xvda', target: '/srv/stray.img', script } } } } as never);
    void o1.createDomain(config).done.catch(() => undefined);
    await expect.poll(() => existsSync(join(dir, 'pid')), { timeout: 10_000 }).toBe(true);
    const t0 = Date.now();
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    return { uuid: config.uuid, pid, t0 };
  }

  async function restart(devices: DeviceManager): Promise<DomainOrchestrator> {
    const o2 = new DomainOrchestrator({ xs: env.xs, hypervisor: env.hypervisor, devices, store });
    await o2.start();
    return o2;
  }

  const stray = (o: DomainOrchestrator, uuid: string) => {
    const events = o.events.replay(0);
    if (!Array.isArray(events)) throw new Error('event ring overrun');
    return events.find((e) => e.type === 'hotplug.stray' && e.uuid === uuid)?.data as { found: number; killed: number; paths: string[] };
  };
  const made = () => readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean);
  const madeFiles = () => ['made-backend_vbd_1_51712'].filter((f) => existsSync(join(dir, f)));

  it('a script that finishes within the wait: reconcile waits, then tears down and runs remove (complete and undone)', async () => {
    const { uuid, pid, t0 } = await dieDuringScript(1);
    const o2 = await restart(createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: socket, strayScriptWaitMs: 10_000 }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // The script and its `sleep` (same environment, same group): both found, none killed.
    expect(stray(o2, uuid)).toMatchObject({ killed: 0, paths: ['backend/vbd/1/51712'] });
    expect(stray(o2, uuid).found).toBeGreaterThanOrEqual(1);
    expect(o2.events.replay(0)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'domain.rolled-back', uuid })]));
    expect(alive(pid)).toBe(false);
    expect(made()).toEqual(['add-done', 'remove']);
    expect(madeFiles()).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('a script that outlives the wait: its group is killed before the teardown and never acts (never happened)', async () => {
    const { uuid, pid, t0 } = await dieDuringScript(3);
    const o2 = await restart(createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: socket, strayScriptWaitMs: 300 }));
    const s = stray(o2, uuid);
    expect(s.found).toBeGreaterThanOrEqual(1);
    expect(s.killed).toBe(s.found);
    expect(alive(pid)).toBe(false);
    // Past the moment the script would have acted.
    await sleep(Math.max(0, t0 + 3_500 - Date.now()));
    expect(existsSync(join(dir, 'log')) ? made() : []).toEqual(['remove']);
    expect(madeFiles()).toEqual([]);
    expect(await env.hypervisor.list()).toEqual([]);
    expect(store.size).toBe(0);
    expect(await dumpOurTree(env.xs)).toEqual(before);
    await o2.stop();
  });

  it('control: without the settle step the script acts after the teardown (a backend node is back, its file stays)', async () => {
    const { pid } = await dieDuringScript(1);
    const without: DeviceManager = { ...createDeviceManager({ hotplug: new RealHotplugRunner(), xenstoredPath: socket }) };
    delete without.settleHotplug;
    const o2 = await restart(without);
    expect(alive(pid)).toBe(true);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    expect(made()).toEqual(['remove', 'add-done']);
    expect(madeFiles()).toEqual(['made-backend_vbd_1_51712']);
    expect(await dumpOurTree(env.xs)).not.toEqual(before);
    expect(await env.xs.tryRead('/local/domain/0/backend/vbd/1/51712/late-node')).toBe('1');
    await o2.stop();
  });
});
