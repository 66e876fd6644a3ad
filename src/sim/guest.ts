// Simulated PV guests for the simulated hypervisor. While a domain runs (unpaused, not shut
// down) its "kernel" watches its own dom path, like xenbus in a Linux guest does:
//  - frontends: a device whose backend is at InitWait (2) or later is connected, frontend and
//    (standing in for the backend driver reacting) backend to Connected (4);
//  - control/shutdown: cleared, then the shutdown hypercall with the reason (poweroff and halt
//    both mean poweroff to Linux);
//  - a serial console (console.ts): a boot banner and a prompt, attachable while the domain
//    exists (the embedded default's `tsxend console`).
// Guests use their own xenstore connection, so the toolstack's round-trip counts stay its own.

import type { Hypervisor, ShutdownReason } from '../hypervisor/types.js';
import { isError } from '../errors.js';
import { E_XS_DISCONNECTED, E_XS_UNAVAILABLE } from '../xenstore/errors.js';
import type { Watch, XenstoreClient } from '../xenstore/types.js';
import { SimConsole, SimConsoleSource } from './console.js';
import { SimulatedHypervisor } from './hypervisor.js';

interface Guest {
  domid: number;
  watch?: Watch;
  frontends?: Promise<{ stop(): Promise<void> } | undefined>;
  stopped: boolean;
  scanning: boolean;
  again: boolean;
}

/** Starts a guest's frontend drivers (the devices layer's simulator); answers how to stop them. */
export type FrontendDriver = (domid: number) => Promise<{ stop(): Promise<void> }>;

export interface SimGuestsOptions {
  /**
   * The guest's frontend drivers. When given (the devices layer's simulator, talking to the
   * backend simulator over the store), the guest starts them on unpause instead of connecting
   * devices itself.
   */
  frontendDriver?: FrontendDriver;
  /** When false, frontends never connect (tests of the devices deadline). */
  connectFrontends?: boolean;
  /** When false, the guest ignores control/shutdown (an unresponsive guest). */
  honourShutdown?: boolean;
}

export class SimGuests {
  readonly #guests = new Map<number, Guest>();
  readonly #consoles = new Map<number, SimConsole>();
  readonly #unsubscribe: () => void;
  readonly options: Required<Omit<SimGuestsOptions, 'frontendDriver'>> & Pick<SimGuestsOptions, 'frontendDriver'>;
  #closed = false;

  constructor(
    private readonly hv: Hypervisor,
    private readonly xs: XenstoreClient,
    options: SimGuestsOptions = {},
  ) {
    this.options = {
      connectFrontends: options.connectFrontends ?? true,
      honourShutdown: options.honourShutdown ?? true,
      ...(options.frontendDriver ? { frontendDriver: options.frontendDriver } : {}),
    };
    this.#unsubscribe = hv.onStateChange((c) => {
      if (c.type === 'destroyed') {
        this.#stop(c.domid);
        this.#endConsole(c.domid, 'the domain was destroyed');
      } else if (c.info.shutdown && c.info.shutdownReason === 'suspend') {
        // Suspended for a save: the console stays (xenconsoled keeps it while the domain exists).
        this.#stop(c.info.domid);
        this.#consoles.get(c.info.domid)?.pause();
      } else if (c.info.shutdown || c.info.dying) {
        this.#stop(c.info.domid);
        this.#endConsole(c.info.domid, 'the guest shut down');
      } else if (c.info.paused) {
        this.#stop(c.info.domid);
        this.#consoles.get(c.info.domid)?.pause();
      } else this.#start(c.info.domid);
    });
    // What a guest keeps in memory travels in its saved image (memory-stream.ts).
    if (hv instanceof SimulatedHypervisor) {
      hv.setGuestMemory({ snapshot: (domid) => ({ console: this.#consoles.get(domid)?.snapshot() ?? null }) });
      this.#restored = (domid) => hv.restoredState(domid);
    }
  }

  #restored: (domid: number) => Record<string, unknown> | undefined = () => undefined;

  /** The guests' consoles, for the daemon's console route. */
  consoleSource(): SimConsoleSource {
    return new SimConsoleSource((domid) => this.console(domid));
  }

  /** A domain's console: there from its creation (a paused one boots when unpaused) until it goes. */
  async console(domid: number): Promise<SimConsole | undefined> {
    const existing = this.#consoles.get(domid);
    if (existing) return existing;
    const info = await this.hv.getInfo(domid).catch(() => undefined);
    if (!info || info.shutdown || info.dying || this.#closed) return undefined;
    return this.#consoleOf(domid);
  }

  #consoleOf(domid: number): SimConsole {
    let c = this.#consoles.get(domid);
    if (!c) {
      c = new SimConsole(domid, `dom${domid}`, { shutdown: (reason) => void this.hv.shutdown(domid, reason).catch(() => undefined) });
      const saved = this.#restored(domid)?.['console'];
      if (saved && typeof saved === 'object') c.resumeFrom(saved);
      this.#consoles.set(domid, c);
    }
    return c;
  }

  #endConsole(domid: number, reason: string): void {
    this.#consoles.get(domid)?.end(reason);
    this.#consoles.delete(domid);
  }

  /** Tests: make the guest's kernel panic. */
  async crash(domid: number): Promise<void> {
    await this.hv.shutdown(domid, 'crash');
  }

  running(domid: number): boolean {
    return this.#guests.has(domid);
  }

  #start(domid: number): void {
    if (this.#closed || this.#guests.has(domid)) return;
    const g: Guest = { domid, stopped: false, scanning: false, again: false };
    this.#guests.set(domid, g);
    // The console runs once the guest knows its name (the banner and prompt show it).
    const console = this.#consoleOf(domid);
    void this.xs
      .tryRead(`/local/domain/${domid}/name`)
      .catch(() => undefined)
      .then((name) => {
        if (!g.stopped) console.run(name);
      });
    void this.#run(g).catch(() => this.#stop(domid));
  }

  #stop(domid: number): void {
    const g = this.#guests.get(domid);
    if (!g) return;
    g.stopped = true;
    this.#guests.delete(domid);
    void g.watch?.close().catch(() => undefined);
    void g.frontends?.then((f) => f?.stop()).catch(() => undefined);
  }

  async #run(g: Guest): Promise<void> {
    const w = await this.#retry(g, () => this.xs.watch(`/local/domain/${g.domid}`));
    if (w === undefined) return;
    if (g.stopped) {
      await w.close();
      return;
    }
    g.watch = w;
    const driver = this.options.frontendDriver;
    if (driver && this.options.connectFrontends) {
      g.frontends = this.#retry(g, () => driver(g.domid))
        .then(async (f) => {
          if (f && g.stopped) await f.stop();
          return f;
        })
        .catch(() => undefined);
    }
    for await (const ev of w) {
      if (g.stopped) break;
      // The first event (the watch's own, on the dom path) also catches a request written before the guest booted.
      if (ev.path.endsWith('/control/shutdown') || ev.path === `/local/domain/${g.domid}`) void this.#shutdownRequested(g);
      if (ev.path === `/local/domain/${g.domid}` || ev.path.includes('/device/') || ev.path.includes('/console')) void this.#scan(g);
    }
  }

  /** A guest outlives a xenstored restart: what failed because the store was away is retried while it runs. */
  async #retry<T>(g: Guest, fn: () => Promise<T>): Promise<T | undefined> {
    for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
      try {
        return await fn();
      } catch (err) {
        if (g.stopped || this.#closed) return undefined;
        const unreachable = isError(err, E_XS_DISCONNECTED) || isError(err, E_XS_UNAVAILABLE) || (err as { code?: unknown }).code === 'ECONNREFUSED';
        if (!unreachable) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #shutdownRequested(g: Guest): Promise<void> {
    if (!this.options.honourShutdown) return;
    const path = `/local/domain/${g.domid}/control/shutdown`;
    const value = await this.xs.tryRead(path).catch(() => undefined);
    if (!value || g.stopped) return;
    await this.xs.write(path, '').catch(() => undefined);
    const reason: ShutdownReason | undefined =
      value === 'poweroff' || value === 'halt' ? 'poweroff' : value === 'reboot' ? 'reboot' : value === 'suspend' ? 'suspend' : undefined;
    if (reason) await this.hv.shutdown(g.domid, reason).catch(() => undefined);
  }

  /** Debounced: one scan at a time, and one more if anything changed meanwhile. */
  async #scan(g: Guest): Promise<void> {
    if (!this.options.connectFrontends || this.options.frontendDriver) return;
    if (g.scanning) {
      g.again = true;
      return;
    }
    g.scanning = true;
    try {
      do {
        g.again = false;
        await this.#connectFrontends(g).catch(() => undefined);
      } while (g.again && !g.stopped);
    } finally {
      g.scanning = false;
    }
  }

  async #connectFrontends(g: Guest): Promise<void> {
    const base = `/local/domain/${g.domid}`;
    const classes = (await this.xs.tryDirectory(`${base}/device`)) ?? [];
    const lists = await Promise.all(classes.map(async (c) => ((await this.xs.tryDirectory(`${base}/device/${c}`)) ?? []).map((id) => `${base}/device/${c}/${id}`)));
    const frontends = [...lists.flat(), `${base}/console`];
    await Promise.all(frontends.map((fe) => this.#connectOne(g, fe)));
  }

  async #connectOne(g: Guest, fe: string): Promise<void> {
    const [be, feState] = await Promise.all([this.xs.tryRead(`${fe}/backend`), this.xs.tryRead(`${fe}/state`)]);
    if (be === undefined || g.stopped) return;
    const beState = Number((await this.xs.tryRead(`${be}/state`)) ?? 0);
    // A console 0 frontend has no state node (libxl); its backend still goes to Connected.
    const feDone = feState === undefined || feState === '4';
    if (beState < 2 || beState >= 5 || (feDone && beState === 4)) return;
    await this.xs.transaction(async (tx) => {
      // Re-check inside the transaction: the toolstack may be tearing the device down.
      const [feNow, beNow] = await Promise.all([tx.tryRead(`${fe}/state`), tx.tryRead(`${be}/state`)]);
      if (g.stopped || beNow === undefined || Number(beNow) >= 5) return;
      const ops: Promise<void>[] = [];
      if (feNow !== undefined && feNow !== '4') ops.push(tx.write(`${fe}/state`, '4'));
      if (beNow !== '4') ops.push(tx.write(`${be}/state`, '4'));
      await Promise.all(ops);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    for (const domid of [...this.#guests.keys()]) this.#stop(domid);
    for (const domid of [...this.#consoles.keys()]) this.#endConsole(domid, 'the toolstack stopped');
    if (this.hv instanceof SimulatedHypervisor) this.hv.setGuestMemory(undefined);
  }
}
