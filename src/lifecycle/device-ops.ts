// Hot attach and detach of one device of a running or paused domain (xm block-attach,
// network-detach...): claims first, the device layer's write → activate → connect with the
// journal undoing a failed attach; a detach closes the device and frees its claims.

import type { DeviceClass, DeviceEntry } from '../config/model.js';
import { TsxError } from '../errors.js';
import { UndoJournal } from '../util/journal.js';
import type { DeviceView } from './api.js';
import type { DomainRecord } from './domain.js';
import { E_NO_DEVICE, E_PARTIAL_DESTROY } from './errors.js';
import type { DomainOrchestrator } from './orchestrator.js';
import { retryingXs } from './reconnect.js';
import { checkAllowed } from './states.js';
import type { Task } from './tasks.js';

export async function runAttach(o: DomainOrchestrator, r: DomainRecord, task: Task, device: DeviceEntry, devUuid: string): Promise<DeviceView> {
checkAllowed('attach', r.name, r.state);
o.claims.claimDevice(r.uuid, device);
const journal = new UndoJournal();
journal.push('device claims', async () => o.claims.releaseDevice(r.uuid, device));
const deadline = Date.now() + o.opts.createTimeoutMs;
// As for a create: forward steps fail fast without xenstore, the undo waits for it.
let rollingBack = false;
const ctx = { ...o.deviceContext(r, task.signal, deadline, task.id), xs: retryingXs(o.xs, o.opts.xsReconnectWaitMs, () => rollingBack) };
try {
  task.step('writing device nodes', 0.2);
  const written = await o.devices.writeDevices(ctx, [{ uuid: devUuid, entry: device }], journal);
  task.step('activating the device', 0.5);
  let views = await o.devices.activateDevices(ctx, written, journal);
  if (r.state === 'running') {
    task.step('waiting for the device to connect', 0.7);
    views = await o.devices.waitConnected(ctx, views);
  }
  const view = views[0] as DeviceView;
  journal.commit();
  r.devices = [...r.devices, view];
  r.config = { ...r.config, devices: { ...r.config.devices, [devUuid]: device } };
  await o.persist(r).catch(() => undefined);
  o.emitFor(r, 'device.attached', { devClass: view.class, devid: view.devid, taskId: task.id });
  return view;
} catch (err) {
  rollingBack = true;
  await journal.rollback();
  throw err;
}
}

export async function runDetach(o: DomainOrchestrator, r: DomainRecord, task: Task, devClass: DeviceClass, devid: number, force: boolean): Promise<void> {
checkAllowed('detach', r.name, r.state);
const dev = r.devices.find((d) => d.class === devClass && d.devid === devid);
if (!dev) throw new TsxError(E_NO_DEVICE, `domain ${r.name} has no ${devClass} ${devid}`, { details: { devClass, devid } });
task.step('closing the device', 0.3);
const xs = retryingXs(o.xs, o.opts.xsReconnectWaitMs);
const res = await o.devices.destroyDevices({ ...o.deviceContext(r, task.signal, Date.now() + 10_000, task.id), xs }, [dev], { force: force });
if (res.leftovers.length > 0) throw new TsxError(E_PARTIAL_DESTROY, `detach of ${devClass} ${devid} left ${res.leftovers.join(', ')}`, { details: { leftovers: res.leftovers } });
const entry = r.config.devices[dev.uuid];
if (entry) o.claims.releaseDevice(r.uuid, entry);
const devices = { ...r.config.devices };
delete devices[dev.uuid];
r.config = { ...r.config, devices };
r.devices = r.devices.filter((d) => d !== dev);
await o.persist(r).catch(() => undefined);
o.emitFor(r, 'device.detached', { devClass, devid, taskId: task.id });
}
