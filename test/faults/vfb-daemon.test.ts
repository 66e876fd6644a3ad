// The framebuffer backend daemon dies during and after a create: noticed, reported as an event,
// and — during a create — a typed failure whose rollback leaves nothing behind.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { parseXl } from '../../src/config/index.js';
import { simfbCommand } from '../../src/sim/index.js';
import { E_BACKEND_DAEMON_EXITED } from '../../src/devices/errors.js';
import { isError } from '../../src/errors.js';
import { UndoJournal } from '../../src/util/journal.js';
import { dumpTree } from '../helpers/xstree.js';
import { startBench, type Bench } from '../devices/sim-env.js';

const { config } = parseXl('name = "fb"\nuuid = "fbfbfbfb-0000-4000-8000-0000000000fb"\nkernel = "/k"\nvfb = [ "vnc=1" ]\n');
const devices = Object.entries(config.devices).map(([uuid, entry]) => ({ uuid, entry }));

describe('framebuffer daemon supervision', () => {
  let b: Bench | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });

  it('a daemon that dies before it is ready fails the create with TSX_ERR_BACKEND_DAEMON_EXITED, fully rolled back', async () => {
    b = await startBench({ dm: { vfbCommand: { argv: ['sh', '-c', 'echo "cannot open display" >&2; exit 3', 'sh'] } } });
    b.mock.domains.create(30, 'paused');
    // The directories the lifecycle makes for a domain before its devices.
    for (const p of ['/local/domain/30/device', '/libxl/30/device']) await b.xs.write(p, '');
    const before = await dumpTree(b.xs, '/');
    const journal = new UndoJournal();
    const ctx = b.ctx(30, config.uuid);
    const err = await b.dm
      .writeDevices(ctx, devices, journal)
      .then((w) => b!.dm.activateDevices(ctx, w, journal))
      .catch((e: unknown) => e);
    expect(isError(err, E_BACKEND_DAEMON_EXITED), String(err)).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ exitCode: 3, stderrTail: 'cannot open display' });
    expect(b.events.some((e) => e.type === 'backend.exited')).toBe(true);
    await journal.rollback();
    expect(await dumpTree(b.xs, '/')).toEqual(before);
  });

  it('a daemon that dies after the create is reported as backend.exited', async () => {
    const [node, script] = simfbCommand().argv as [string, string];
    // Runs the real simulator, then kills it once it has served the devices for a moment.
    b = await startBench({ dm: { vfbCommand: { argv: ['sh', '-c', '"$0" "$@" & p=$!; sleep 1; kill -9 $p; wait $p', node, script] } } });
    b.mock.domains.create(31, 'paused');
    const journal = new UndoJournal();
    const ctx = b.ctx(31, config.uuid);
    const active = await b.dm.activateDevices(ctx, await b.dm.writeDevices(ctx, devices, journal), journal);
    expect(active.map((v) => v.state)).toEqual(['init-wait', 'init-wait']);
    await expect.poll(() => b!.events.some((e) => e.type === 'backend.exited'), { timeout: 5000 }).toBe(true);
    await b.dm.destroyDevices(ctx, active, { force: true });
  });

  it('a daemon that leaves on its own while its domain is torn down (as the device model does) is no failure, and is not waited for', async () => {
    const [node, script] = simfbCommand().argv as [string, string];
    // The simulator, frozen once its devices wait for the guest (then it says so in `frozen`), and
    // gone without a word (it never writes Closed) as soon as the toolstack asks the vfb to close
    // or removes it ($7 is the store's socket: node script --domid N --backend-domid 0 --xenstore PATH).
    const vfbState = '/local/domain/0/backend/vfb/34/0/state';
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-fb-'));
    const frozen = join(dir, 'frozen');
    const read = `s=$(XENSTORED_PATH=$7 xenstore-read ${vfbState} 2>/dev/null)`;
    const leaveOnClose = `"$0" "$@" & p=$!; until ${read} && [ "$s" -ge 2 ]; do sleep 0.05; done; kill -STOP $p; : >${frozen}; until ! ${read} || [ "$s" -ge 5 ]; do sleep 0.05; done; kill -9 $p; exit 0`;
    // A disk whose hotplug remove takes a while, as the real block script does, so the daemon
    // is gone before the teardown gets to stopping it; a close deadline far past the test's
    // timeout, so that waiting for the unserved devices would fail it.
    const slowRemove = async (req: { args: readonly string[] }) => (req.args[0] === 'remove' ? (await new Promise((r) => setTimeout(r, 1500)), undefined) : undefined);
    b = await startBench({ respond: slowRemove, dm: { closeTimeoutMs: 600_000, vfbCommand: { argv: ['sh', '-c', leaveOnClose, node, script] } } });
    const { config: withDisk } = parseXl('name = "fb2"\nuuid = "fbfbfbfb-0000-4000-8000-0000000000f2"\nkernel = "/k"\nvfb = [ "vnc=1" ]\ndisk = [ "/srv/fb2.img,xvda,w" ]\n');
    const planned = Object.entries(withDisk.devices).map(([uuid, entry]) => ({ uuid, entry }));
    b.mock.domains.create(34, 'paused');
    const journal = new UndoJournal();
    const ctx = b.ctx(34, withDisk.uuid);
    const active = await b.dm.activateDevices(ctx, await b.dm.writeDevices(ctx, planned, journal), journal);
    await expect.poll(() => existsSync(frozen), { timeout: 10_000 }).toBe(true);
    const { leftovers } = await b.dm.destroyDevices({ ...ctx, deadline: Date.now() + 600_000 }, active, { force: false });
    rmSync(dir, { recursive: true, force: true });
    expect(leftovers).toEqual([]);
    expect(b.events.filter((e) => e.type === 'backend.exited' || e.type === 'device.close-timeout')).toEqual([]);
  });

  it('a daemon that starts after its devices were removed (toolstack killed, domain torn down) resurrects nothing and exits', async () => {
    b = await startBench();
    b.mock.domains.create(32, 'paused');
    for (const p of ['/local/domain/32/device', '/libxl/32/device']) await b.xs.write(p, '');
    const before = await dumpTree(b.xs, '/');
    const ctx = b.ctx(32, config.uuid);
    const written = await b.dm.writeDevices(ctx, devices, new UndoJournal());
    // The daemon of a killed toolstack, still starting while a restarted one tears the devices down.
    const [node, script] = simfbCommand().argv as [string, string];
    const child = spawn(node, [script, '--domid', '32', '--xenstore', b.socket, '--delay-ms', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    await b.dm.destroyDevices(ctx, written, { force: true });
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(await dumpTree(b.xs, '/')).toEqual(before);
  });
});
