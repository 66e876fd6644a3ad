// The create pipeline (xend.md §1.1–1.4, xenstore.md §5.1): fit → hypervisor domain → store
// layout → event channels and build → INTRODUCE → devices (write, then activate) → unpause →
// devices Connected → running. Every step registers its inverse in the journal; the caller
// rolls back everything on any failure or cancellation. From a prepared shell (shells.ts) the
// hypervisor domain and the config-free part of the layout exist already: the shell's handle
// becomes the uuid and the rest runs as ever, its rollback destroying the shell.

import { E_ABORTED, TsxError } from '../errors.js';
import { orderedDeviceRefs } from '../config/order.js';
import type { XendConfig } from '../config/model.js';
import type { DeviceEvent, DeviceManager, DomainDeviceContext, PlannedDevice } from '../devices/api.js';
import type { Readable } from 'node:stream';
import type { Hypervisor, MemoryProgress } from '../hypervisor/types.js';
import type { UndoJournal } from '../util/journal.js';
import type { XenstoreClient } from '../xenstore/types.js';
import type { DeviceView } from './api.js';
import { E_HV_NO_CPUS, E_HV_NO_MEMORY } from '../hypervisor/errors.js';
import { removeDomainNodes, writeBuildPost, writeDomainBase, writeShellIdentity } from './layout.js';

export type CreateStep =
  | 'fit'
  | 'hypervisor-domain'
  | 'store-layout'
  | 'event-channels'
  | 'build'
  | 'introduce'
  | 'write-devices'
  | 'activate-devices'
  | 'unpause'
  | 'devices-connected';

export const CREATE_STEPS: readonly CreateStep[] = ['fit', 'hypervisor-domain', 'store-layout', 'event-channels', 'build', 'introduce', 'write-devices', 'activate-devices', 'unpause', 'devices-connected'];

export interface CreateContext {
  readonly xs: XenstoreClient;
  readonly hv: Hypervisor;
  readonly devices: DeviceManager;
  readonly journal: UndoJournal;
  readonly signal: AbortSignal;
  readonly deadline: number;
  readonly paused: boolean;
  /** Called at each step start; progress 0..1. */
  step(step: CreateStep, progress: number): void;
  emitDevice(domid: number, event: DeviceEvent): void;
  /** Called once the domid is known (the record shows it while creating). */
  onDomid(domid: number): void | Promise<void>;
  /** Called once the VM path is taken (/vm/UUID, or /vm/UUID-N beside another copy: layout.ts). */
  onVm?(vm: string): void;
  /** Tests: throws at a step to exercise the rollback. */
  inject?: (step: CreateStep) => void | Promise<void>;
  /** A restore: the memory comes from a saved image instead of the kernel (restore.ts). */
  restore?: RestoreSource;
  /** A prepared shell the config fits, taken at the hypervisor-domain step (none: a domain of its own). */
  takeShell?: () => ShellLease | undefined;
}

/** A prepared shell (shells.ts) handed to one create: its domain is the create's from then on. */
export interface ShellLease {
  readonly domid: number;
  /** The max memory the shell has, KiB: set again only when the config's differs. */
  readonly maxMemoryKiB: number;
  /** Drops the shell's own record (idempotent): once the create's record holds the domid, or in its rollback. */
  forget(): Promise<void>;
}

/** Where a restored domain's memory comes from: a libxc stream, and what to read after it. */
export interface RestoreSource {
  readonly input: Readable;
  readonly onProgress?: (p: MemoryProgress) => void;
  /** The image's own error for a failure of the hypervisor to read it (a corrupt page, say). */
  readonly explain: (err: unknown) => unknown;
  /** Reads (and checks) what follows the memory in the image. */
  readonly afterMemory: () => Promise<void>;
}

export interface CreateResult {
  domid: number;
  devices: DeviceView[];
  protocol?: string;
}

function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new TsxError(E_ABORTED, 'create cancelled');
}

export async function runCreate(config: XendConfig, c: CreateContext): Promise<CreateResult> {
  const at = async (step: CreateStep) => {
    checkAbort(c.signal);
    c.step(step, CREATE_STEPS.indexOf(step) / CREATE_STEPS.length);
    await c.inject?.(step);
  };

  await at('fit');
  const host = await c.hv.hostInfo();
  if (config.maxvcpus > host.nrCpus) {
    throw new TsxError(E_HV_NO_CPUS, `domain ${config.name}: ${config.maxvcpus} vcpus but the host has ${host.nrCpus} CPUs`, { details: { maxvcpus: config.maxvcpus, nrCpus: host.nrCpus } });
  }
  if (config.memory * 1024 > host.freeMemoryKiB) {
    throw new TsxError(E_HV_NO_MEMORY, `domain ${config.name}: ${config.memory} MiB does not fit in ${Math.floor(host.freeMemoryKiB / 1024)} MiB free`, {
      details: { requestedMiB: config.memory, freeMiB: Math.floor(host.freeMemoryKiB / 1024) },
    });
  }

  await at('hypervisor-domain');
  const shell = c.takeShell?.();
  // Its record goes last in a rollback: a daemon dying in the middle still finds the domain by it.
  if (shell) c.journal.push(`the record of prepared shell ${shell.domid}`, () => shell.forget());
  const domid = shell ? shell.domid : await c.hv.createDomain({ uuid: config.uuid, type: config.type, maxVcpus: config.maxvcpus });
  // Introduced or not, the domain dies first and its introduction goes after: xenstored's own
  // @releaseDomain for a dying domain is what makes xenconsoled (and any other watcher) unmap
  // its pages. Released while still alive, they keep their mappings and the domain stays dying
  // for ever (seen on real Xen: `(null)` in `xl list`). As xl, a rollback is a destroy.
  let introduced = false;
  c.journal.push(`hypervisor domain ${domid}`, async () => {
    await c.hv.destroy(domid);
    if (introduced) await c.xs.releaseDomain(domid).catch(() => undefined);
  });
  // Undone as a whole: a transaction that fails half-way leaves nothing, one that commits is
  // undone. Only the VM path this create took goes: another copy of the uuid may hold /vm/UUID.
  const taken: { vm?: string } = {};
  const storeNodes = () =>
    c.journal.push(`store nodes of domain ${domid}`, async () => {
      const left = await removeDomainNodes(c.xs, domid, taken.vm);
      if (left.length > 0) throw new Error(`could not remove ${left.join(', ')}`);
    });
  if (shell) {
    storeNodes(); // the shell's home is there already
    // The guest's uuid before its record names the domid: a restart finds it by that uuid.
    await c.hv.setHandle(domid, config.uuid);
    await c.onDomid(domid);
    await shell.forget();
  } else {
    await c.onDomid(domid);
    await c.hv.setMaxVcpus(domid, config.maxvcpus);
  }
  // cpus=: hard affinity, where libxl__build_pre (and xend's _initDomain) pins, before max memory.
  if (config.cpus !== undefined) await c.hv.setVcpuAffinity?.(domid, config.maxvcpus, config.cpus);
  if (!shell || shell.maxMemoryKiB !== config.maxmem * 1024) await c.hv.setMaxMemory(domid, config.maxmem * 1024);

  await at('store-layout');
  if (!shell) storeNodes();
  const vm = (taken.vm = shell ? await writeShellIdentity(c.xs, domid, config) : await writeDomainBase(c.xs, domid, config));
  c.onVm?.(vm);

  await at('event-channels');
  const [store, consolePort] = await Promise.all([c.hv.allocUnboundEvtchn(domid, 0), c.hv.allocUnboundEvtchn(domid, 0)]);

  await at('build');
  const shape = { type: config.type, memoryKiB: config.memory * 1024, maxMemoryKiB: config.maxmem * 1024, vcpus: config.vcpus, storeEvtchn: store, consoleEvtchn: consolePort };
  const built = c.restore
    ? await c.hv.restoreMemory(domid, c.restore.input, shape, { signal: c.signal, ...(c.restore.onProgress ? { onProgress: c.restore.onProgress } : {}) }).catch((err: unknown) => {
        throw c.restore?.explain(err) ?? err;
      })
    : await c.hv.build(domid, {
        ...shape,
        ...(config.image.kernel === undefined ? {} : { kernel: config.image.kernel }),
        ...(config.image.ramdisk === undefined ? {} : { ramdisk: config.image.ramdisk }),
        ...(config.image.cmdline === undefined ? {} : { cmdline: config.image.cmdline }),
      });
  await c.restore?.afterMemory();
  await writeBuildPost(c.xs, domid, config, { store, console: consolePort }, built, vm);

  await at('introduce');
  await c.xs.introduceDomain(domid, built.storeGfn, store);
  introduced = true;

  await at('write-devices');
  const dctx: DomainDeviceContext = {
    xs: c.xs,
    domid,
    uuid: config.uuid,
    name: config.name,
    ...(built.protocol === undefined ? {} : { protocol: built.protocol }),
    signal: c.signal,
    deadline: c.deadline,
    unpauseFollows: !c.paused,
    emit: (e) => c.emitDevice(domid, e),
  };
  const planned: PlannedDevice[] = orderedDeviceRefs(config).map((uuid) => ({ uuid, entry: config.devices[uuid] as PlannedDevice['entry'] }));
  let devices = await c.devices.writeDevices(dctx, planned, c.journal);

  await at('activate-devices');
  devices = await c.devices.activateDevices(dctx, devices, c.journal);

  if (c.paused) return { domid, devices, ...(built.protocol === undefined ? {} : { protocol: built.protocol }) };

  await at('unpause');
  await c.hv.unpause(domid);
  await at('devices-connected');
  devices = await c.devices.waitConnected(dctx, devices);
  return { domid, devices, ...(built.protocol === undefined ? {} : { protocol: built.protocol }) };
}
