// A small in-memory Orchestrator for route tests: it keeps domains, tasks and an event ring and
// raises errors shaped like the lifecycle's (code + statusCode), without touching the registry.

import { randomUUID } from 'node:crypto';
import type { DeviceClass, DeviceEntry, XendConfig } from '../../../src/config/model.js';
import type {
  DeviceView,
  DomainView,
  SaveReport,
  EventFeed,
  HealthView,
  Operation,
  Orchestrator,
  TaskView,
  TsxEvent,
} from '../../../src/lifecycle/api.js';
import type { ConfigInput } from '../../../src/daemon/config-input.js';

export function fakeError(code: string, statusCode: number, message: string, cause?: Error): Error & { code: string; statusCode: number } {
  const err = new Error(message, cause ? { cause } : undefined) as Error & { code: string; statusCode: number };
  err.code = code;
  err.statusCode = statusCode;
  return err;
}

export class FakeFeed implements EventFeed {
  ring: TsxEvent[] = [];
  seq = 0;
  listeners = new Set<(e: TsxEvent) => void>();
  constructor(readonly capacity = 1000) {}
  get currentSeq(): number {
    return this.seq;
  }
  emit(e: { [K in keyof Omit<TsxEvent, 'seq' | 'time'>]?: TsxEvent[K] | undefined } & { type: string }): TsxEvent {
    const ev = { ...e, seq: ++this.seq, time: new Date().toISOString() } as TsxEvent;
    for (const k of Object.keys(ev) as (keyof TsxEvent)[]) if (ev[k] === undefined) delete (ev as unknown as Record<string, unknown>)[k];
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) l(ev);
    return ev;
  }
  replay(since: number): TsxEvent[] | 'resync-required' {
    const first = this.ring[0];
    if (since < this.seq && first !== undefined && first.seq > since + 1) return 'resync-required';
    return this.ring.filter((e) => e.seq > since);
  }
  subscribe(listener: (e: TsxEvent) => void) {
    this.listeners.add(listener);
    return { close: () => void this.listeners.delete(listener) };
  }
}

interface Dom {
  view: DomainView;
}

export class FakeOrchestrator implements Orchestrator {
  readonly events: FakeFeed;
  domains = new Map<string, Dom>();
  tasks = new Map<string, TaskView>();
  xenstoreUp = true;
  nextDomid = 1;
  /** When set, creates wait for this promise before finishing (to test 202 and cancel). */
  gate: Promise<void> | undefined;
  started = 0;
  stopped = 0;

  constructor(ringCapacity = 1000) {
    this.events = new FakeFeed(ringCapacity);
  }

  async start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
  health(): HealthView {
    return { status: this.xenstoreUp ? 'ok' : 'degraded', xenstore: this.xenstoreUp ? 'up' : 'down', hypervisor: 'simulated', domains: this.domains.size, seq: this.events.seq };
  }
  async hostInfo() {
    return { hypervisor: 'simulated' as const, version: '4.17-sim', nrCpus: 4, totalMemoryKiB: 8 << 20, freeMemoryKiB: 6 << 20 };
  }
  listDomains() {
    return { seq: this.events.seq, domains: [...this.domains.values()].map((d) => d.view) };
  }
  #find(ref: string): Dom {
    for (const d of this.domains.values()) {
      if (d.view.uuid === ref || d.view.name === ref || String(d.view.domid) === ref) return d;
    }
    throw fakeError('TSX_ERR_FAKE_NO_DOMAIN', 404, `no domain ${ref}`);
  }
  getDomain(ref: string) {
    return this.#find(ref).view;
  }
  #task(operation: string, domainUuid: string): TaskView {
    const t: TaskView = { id: randomUUID(), operation, domainUuid, state: 'running', step: 'starting', progress: 0, startedAt: new Date().toISOString() };
    this.tasks.set(t.id, t);
    return t;
  }
  #end(t: TaskView, state: TaskView['state'], error?: { code: string; message: string }) {
    const ended: TaskView = { ...t, state, progress: 1, step: state, endedAt: new Date().toISOString(), ...(error ? { error } : {}) };
    this.tasks.set(t.id, ended);
  }
  createDomain(config: XendConfig): Operation<DomainView> {
    for (const d of this.domains.values()) {
      if (d.view.name === config.name) {
        const task = this.#task('createDomain', config.uuid);
        const err = fakeError('TSX_ERR_FAKE_NAME_TAKEN', 409, `a domain named ${config.name} exists`);
        this.#end(task, 'failed', { code: err.code, message: err.message, statusCode: 409 } as { code: string; message: string });
        return { task, done: Promise.reject(err) };
      }
    }
    const task = this.#task('createDomain', config.uuid);
    const domid = this.nextDomid++;
    const base = { domid, uuid: config.uuid, name: config.name };
    const devices: DeviceView[] = Object.entries(config.devices).map(([uuid, e], i) => ({
      uuid,
      class: e.class,
      devid: i,
      state: 'connected',
      backendDomid: 0,
      frontendPath: `/local/domain/${domid}/device/${e.class}/${i}`,
      backendPath: `/local/domain/0/backend/${e.class}/${domid}/${i}`,
      config: e.config,
    }));
    const view: DomainView = { ...base, state: 'creating', managed: false, autostart: false, config, devices: [], operations: [task] };
    this.domains.set(config.uuid, { view });
    this.events.emit({ type: 'create.step', ...base, step: 'domain created', outcome: 'started', taskId: task.id });
    const done = (async () => {
      if (this.gate) await this.gate;
      if (this.tasks.get(task.id)?.state === 'cancelled') {
        this.domains.delete(config.uuid);
        throw fakeError('TSX_ERR_ABORTED', 499, 'create cancelled');
      }
      for (const d of devices) this.events.emit({ type: 'device.connected', ...base, devClass: d.class, devid: d.devid, taskId: task.id });
      const running: DomainView = { ...view, state: 'running', devices, operations: [] };
      this.domains.set(config.uuid, { view: running });
      this.events.emit({ type: 'domain.running', ...base, taskId: task.id });
      this.#end(task, 'succeeded');
      return running;
    })();
    return { task, done };
  }
  destroyDomain(ref: string): Operation<{ uuid: string; domid?: number; leftovers: string[] }> {
    const d = this.#find(ref);
    const task = this.#task('destroyDomain', d.view.uuid);
    this.domains.delete(d.view.uuid);
    this.events.emit({ type: 'domain.destroyed', domid: d.view.domid, uuid: d.view.uuid, name: d.view.name });
    this.#end(task, 'succeeded');
    return { task, done: Promise.resolve({ uuid: d.view.uuid, ...(d.view.domid === undefined ? {} : { domid: d.view.domid }), leftovers: [] }) };
  }
  #set(ref: string, from: DomainView['state'][], to: DomainView['state'], type: string): DomainView {
    const d = this.#find(ref);
    if (!from.includes(d.view.state)) throw fakeError('TSX_ERR_FAKE_WRONG_STATE', 409, `domain ${d.view.name} is ${d.view.state}`);
    d.view = { ...d.view, state: to };
    this.events.emit({ type, domid: d.view.domid, uuid: d.view.uuid, name: d.view.name });
    return d.view;
  }
  async pauseDomain(ref: string) {
    return this.#set(ref, ['running'], 'paused', 'domain.paused');
  }
  async unpauseDomain(ref: string) {
    return this.#set(ref, ['paused'], 'running', 'domain.unpaused');
  }
  shutdownDomain(ref: string): Operation<DomainView> {
    const view = this.#set(ref, ['running', 'paused'], 'shutdown', 'domain.shutdown');
    const task = this.#task('shutdownDomain', view.uuid);
    this.#end(task, 'succeeded');
    return { task, done: Promise.resolve(view) };
  }
  async setMemory(ref: string, mib: number) {
    const d = this.#find(ref);
    if (mib > d.view.config.maxmem) throw fakeError('TSX_ERR_FAKE_OVER_MAXMEM', 422, `${mib} MiB is over maxmem ${d.view.config.maxmem}`);
    d.view = { ...d.view, config: { ...d.view.config, memory: mib } };
    return d.view;
  }
  async setVcpus(ref: string, vcpus: number) {
    const d = this.#find(ref);
    d.view = { ...d.view, config: { ...d.view.config, vcpus } };
    return d.view;
  }
  async defineDomain(): Promise<DomainView> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  async undefineDomain() {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  startDomain(): Operation<DomainView> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  saveDomain(): Operation<SaveReport> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake (the real orchestrator is tested in test/lifecycle/save-restore.test.ts)');
  }
  restoreDomain(): Operation<DomainView> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake (the real orchestrator is tested in test/lifecycle/save-restore.test.ts)');
  }
  // Migration: the real orchestrator is tested between two daemons (test/lifecycle/migrate.test.ts).
  migrateDomain(): Operation<never> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  async prepareIncoming(): Promise<never> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  receiveIncoming(): Operation<never> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  async commitIncoming(): Promise<never> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  async abortIncoming(): Promise<never> {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  getIncoming(): never {
    throw fakeError('TSX_ERR_FAKE_UNSUPPORTED', 422, 'not in the fake');
  }
  listDevices(ref: string) {
    return this.#find(ref).view.devices;
  }
  attachDevice(ref: string, device: DeviceEntry): Operation<DeviceView> {
    const d = this.#find(ref);
    const devid = d.view.devices.filter((x) => x.class === device.class).length + 10;
    const view: DeviceView = {
      uuid: randomUUID(),
      class: device.class,
      devid,
      state: 'connected',
      backendDomid: 0,
      frontendPath: `/local/domain/${d.view.domid}/device/${device.class}/${devid}`,
      backendPath: `/local/domain/0/backend/${device.class}/${d.view.domid}/${devid}`,
      config: device.config,
    };
    d.view = { ...d.view, devices: [...d.view.devices, view] };
    this.events.emit({ type: 'device.connected', domid: d.view.domid, uuid: d.view.uuid, name: d.view.name, devClass: device.class, devid });
    const task = this.#task('attachDevice', d.view.uuid);
    this.#end(task, 'succeeded');
    return { task, done: Promise.resolve(view) };
  }
  detachDevice(ref: string, devClass: DeviceClass, devid: number): Operation<void> {
    const d = this.#find(ref);
    if (!d.view.devices.some((x) => x.class === devClass && x.devid === devid)) throw fakeError('TSX_ERR_FAKE_NO_DEVICE', 404, `no ${devClass} ${devid}`);
    d.view = { ...d.view, devices: d.view.devices.filter((x) => !(x.class === devClass && x.devid === devid)) };
    this.events.emit({ type: 'device.closed', domid: d.view.domid, uuid: d.view.uuid, name: d.view.name, devClass, devid });
    const task = this.#task('detachDevice', d.view.uuid);
    this.#end(task, 'succeeded');
    return { task, done: Promise.resolve() };
  }
  getTask(id: string) {
    const t = this.tasks.get(id);
    if (!t) throw fakeError('TSX_ERR_FAKE_NO_TASK', 404, `no task ${id}`);
    return t;
  }
  listTasks() {
    return [...this.tasks.values()];
  }
  cancelTask(id: string) {
    const t = this.getTask(id);
    if (t.state !== 'running') throw fakeError('TSX_ERR_FAKE_TASK_ENDED', 409, `task ${id} is ${t.state}`);
    this.#end(t, 'cancelled');
    return this.getTask(id);
  }
}

/** A toy config input: `key = value` lines; enough for routes, not a parser. */
export const fakeConfigInput: ConfigInput = {
  parseDomain(text, _format, file) {
    const kv = new Map<string, string>();
    text.split('\n').forEach((line, i) => {
      const m = /^\s*(\w+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
      if (line.trim() === '' || line.trim().startsWith('#')) return;
      if (!m) {
        const err = fakeError('TSX_ERR_CONFIG_SYNTAX', 400, `${file}:${i + 1}:1: cannot parse`) as unknown as Error & { problems: unknown[] };
        err.problems = [{ file, line: i + 1, col: 1, message: 'cannot parse' }];
        throw err;
      }
      kv.set(m[1] as string, m[2] as string);
    });
    return { config: fakeModel(kv.get('name') ?? 'noname', Number(kv.get('memory') ?? 128), kv.has('disk') ? 1 : 0), warnings: [] };
  },
  validateDomain(model) {
    const m = model as { name?: string; memory?: number };
    if (typeof m.name !== 'string') throw fakeError('TSX_ERR_CONFIG_INVALID', 400, '<request>: name is required');
    return fakeModel(m.name, m.memory ?? 128, 0);
  },
  parseDevice(devClass, spec) {
    return { class: devClass, config: { backend: '0', ...(typeof spec === 'string' ? { spec } : spec) } } as unknown as DeviceEntry;
  },
};

export function fakeModel(name: string, memory: number, disks: number): XendConfig {
  const devices: XendConfig['devices'] = {};
  for (let i = 0; i < disks; i++) {
    devices[randomUUID()] = { class: 'vbd', config: { backend: '0', vdev: `xvd${'abcdefgh'[i]}`, target: '/dev/null', format: 'raw', access: 'w', devtype: 'disk', backendtype: 'phy' } };
  }
  devices[randomUUID()] = { class: 'vfb', config: { backend: '0', vnc: true, sdl: false, vnclisten: '127.0.0.1', vncunused: true, vncpasswd: 'sekrit' } };
  return {
    name,
    uuid: randomUUID(),
    type: 'pv',
    memory,
    maxmem: memory * 2,
    vcpus: 1,
    maxvcpus: 1,
    image: { kernel: '/boot/vmlinuz' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices,
    console_refs: [],
    vbd_refs: [],
    vif_refs: [],
    vtpm_refs: [],
  };
}
