// A guest's console, attached. A ConsoleSource opens one domain's console as a byte stream: the
// simulated guests' serial line (src/sim/console.ts) or, on real Xen, the pty that xenconsoled
// serves and names in /local/domain/<domid>/console/tty (console-pty.ts). The daemon's
// websocket route and so `tsxend console` see only this interface.

export interface ConsoleStream {
  /** What the console printed before the attach (the simulated guest keeps it; a pty does not). */
  readonly backlog: Buffer;
  /** Bytes from the guest. */
  onData(listener: (bytes: Buffer) => void): void;
  /** The console went away (domain destroyed, pty closed); `reason` says which. */
  onEnd(listener: (reason: string) => void): void;
  /** Bytes to the guest (keystrokes). */
  write(bytes: Buffer): void;
  /** Detaches; the guest is untouched. Safe to call twice. */
  close(): void;
}

export interface ConsoleSource {
  readonly kind: 'simulated' | 'pty';
  /** Attaches to the primary console of a domain; fails typed (E_CONSOLE_UNAVAILABLE). */
  open(domid: number): Promise<ConsoleStream>;
}

/** Small listener sets for the streams below (an EventEmitter's untyped names are not needed). */
export class ConsoleListeners {
  readonly #data = new Set<(bytes: Buffer) => void>();
  readonly #end = new Set<(reason: string) => void>();
  #ended: string | undefined;

  onData(l: (bytes: Buffer) => void): void {
    this.#data.add(l);
  }

  onEnd(l: (reason: string) => void): void {
    if (this.#ended !== undefined) l(this.#ended);
    else this.#end.add(l);
  }

  data(bytes: Buffer): void {
    for (const l of this.#data) l(bytes);
  }

  end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    for (const l of this.#end) l(reason);
    this.#data.clear();
    this.#end.clear();
  }
}
