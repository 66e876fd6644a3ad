// One domain as the orchestrator tracks it, and its public view.

import type { XendConfig } from '../config/model.js';
import type { DeviceView, DomainState, DomainView, ShutdownMode, TaskView } from './api.js';
import { E_XS_DISCONNECTED } from '../xenstore/errors.js';
import { vmPath } from './layout.js';
import { SerialQueue } from './states.js';

/** The reason prefix of a domain that runs but whose xenstore nodes a restarted xenstored lost. */
export const XENSTORE_LOST = 'xenstore-lost';

/** Where a quarantined domain is kept among the records: apart from ours, which are keyed by uuid (it may share one). */
export const quarantineKey = (domid: number, uuid: string): string => `quarantine:${domid}:${uuid}`;

/** What a record is found by besides its key: the registry (records.ts) indexes them. */
export interface RecordKeys {
  readonly domid: number | undefined;
  readonly name: string;
  readonly uuid: string;
}

export class DomainRecord {
  #domid: number | undefined;
  #config: XendConfig;
  /** The registry holding this record, told of every change of its keys (records.ts). */
  #onKeys: ((r: DomainRecord, before: RecordKeys) => void) | undefined;
  state: DomainState;
  reason: string | undefined;
  shutdownReason: string | undefined;
  devices: DeviceView[] = [];
  readonly queue = new SerialQueue();
  /** The mode of the shutdown the toolstack asked for, if any (halt destroys whatever on_poweroff says). */
  requestedShutdown: ShutdownMode | undefined;
  /** Set while the reaction to a shutdown runs, so it runs once. */
  reacting = false;
  startedAt = 0;
  protocol: string | undefined;
  /** The domain's VM path (layout.ts: /vm/UUID, or /vm/UUID-N beside another copy); undefined until written. */
  vm: string | undefined;
  /** Resolved when the domain next settles after a shutdown (the shutdown operation's result). */
  settleWaiters: ((view: DomainView) => void)[] = [];

  constructor(
    config: XendConfig,
    public managed: boolean,
    public autostart: boolean,
    public autostartOrder: number,
    state: DomainState,
  ) {
    this.#config = config;
    this.state = state;
  }

  get domid(): number | undefined {
    return this.#domid;
  }
  set domid(domid: number | undefined) {
    const before = this.keys();
    this.#domid = domid;
    this.#onKeys?.(this, before);
  }
  /** Its config; a new one may rename it (or, for a corpse, give it a new uuid): the registry follows. */
  get config(): XendConfig {
    return this.#config;
  }
  set config(config: XendConfig) {
    const before = this.keys();
    this.#config = config;
    this.#onKeys?.(this, before);
  }

  keys(): RecordKeys {
    return { domid: this.#domid, name: this.#config.name, uuid: this.#config.uuid };
  }

  /** For the registry that holds the record (records.ts) only: one at a time. */
  watchKeys(listener: ((r: DomainRecord, before: RecordKeys) => void) | undefined): void {
    if (listener && this.#onKeys && this.#onKeys !== listener) throw new Error(`domain record ${this.uuid} is already held by another registry`);
    this.#onKeys = listener;
  }

  get uuid(): string {
    return this.config.uuid;
  }
  get name(): string {
    return this.config.name;
  }
  /** Where its VM keys are read and written: the path it took, else /vm/UUID (only removals need to know which). */
  get vmPath(): string {
    return this.vm ?? vmPath(this.uuid);
  }

  /**
   * Flags a running domain whose nodes the store no longer has: it stays listed and can be
   * destroyed, never dropped. False when it was flagged already.
   */
  flagStoreLost(why: string): boolean {
    if (this.reason?.startsWith(XENSTORE_LOST)) return false;
    this.reason = `${XENSTORE_LOST}: ${why}; it still runs and can be destroyed`;
    this.devices = this.devices.map((d) => ({ ...d, state: 'error', error: { code: E_XS_DISCONNECTED.code, message: "xenstored lost this device's nodes" } }));
    return true;
  }

  view(operations: TaskView[]): DomainView {
    return {
      ...(this.domid === undefined ? {} : { domid: this.domid }),
      name: this.config.name,
      uuid: this.config.uuid,
      state: this.state,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this.shutdownReason === undefined ? {} : { shutdownReason: this.shutdownReason }),
      managed: this.managed,
      autostart: this.autostart,
      config: this.config,
      devices: this.devices,
      operations,
    };
  }
}
