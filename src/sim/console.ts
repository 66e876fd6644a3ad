// The simulated guests' serial line, so the embedded default has a console to attach to: a
// boot banner when the guest first runs, then a shell prompt that echoes what is typed and
// answers a few commands (help, hostname, uname, uptime, echo, poweroff, reboot). Input typed
// while the guest is paused waits until it runs, as on a real console. Output is kept (64 KiB)
// so a late attach sees what was printed before, like xenconsoled's log.

import { TsxError } from '../errors.js';
import { ConsoleListeners, type ConsoleSource, type ConsoleStream } from '../lifecycle/console.js';
import { E_CONSOLE_UNAVAILABLE } from '../lifecycle/errors.js';

const BACKLOG_BYTES = 64 * 1024;
/** The screen tail a snapshot keeps (it must fit in the state page of a saved image). */
const SNAPSHOT_SCREEN_BYTES = 2048;

export interface SimConsoleGuest {
  /** The guest asked for its own shutdown (poweroff/reboot typed at its prompt). */
  shutdown(reason: 'poweroff' | 'reboot'): void;
}

export class SimConsole {
  readonly #listeners = new Set<ConsoleListeners>();
  #backlog: Buffer[] = [];
  #backlogBytes = 0;
  #line = '';
  #pending: Buffer[] = [];
  #running = false;
  #booted = false;
  #bootedAt = 0;
  #ended: string | undefined;

  constructor(
    readonly domid: number,
    private name: string,
    private readonly guest: SimConsoleGuest,
  ) {}

  get backlog(): Buffer {
    return Buffer.concat(this.#backlog);
  }

  /** What the guest keeps in its memory across a save: whether it booted, its uptime, its screen's tail. */
  snapshot(): { booted: boolean; uptimeMs: number; screen: string } {
    const tail = this.backlog.subarray(-SNAPSHOT_SCREEN_BYTES);
    return { booted: this.#booted, uptimeMs: this.#booted ? Date.now() - this.#bootedAt : 0, screen: tail.toString('base64') };
  }

  /** A restored guest carries on: no boot banner, its uptime and screen go on from the snapshot. */
  resumeFrom(s: { booted?: unknown; uptimeMs?: unknown; screen?: unknown }): void {
    if (s.booted !== true) return;
    this.#booted = true;
    this.#bootedAt = Date.now() - (typeof s.uptimeMs === 'number' ? s.uptimeMs : 0);
    if (typeof s.screen === 'string') {
      const screen = Buffer.from(s.screen, 'base64');
      this.#backlog = [screen];
      this.#backlogBytes = screen.length;
    }
  }

  /** The guest runs (first unpause: it boots; later ones: it goes on with typed input). */
  run(name?: string): void {
    if (name !== undefined) this.name = name;
    this.#running = true;
    if (!this.#booted) this.#boot();
    for (const b of this.#pending.splice(0)) this.#input(b);
  }

  pause(): void {
    this.#running = false;
  }

  /** The domain is gone: every attached stream ends. */
  end(reason: string): void {
    this.#ended = reason;
    for (const l of [...this.#listeners]) l.end(reason);
    this.#listeners.clear();
  }

  attach(): ConsoleStream {
    if (this.#ended !== undefined) throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${this.domid}: ${this.#ended}`);
    const l = new ConsoleListeners();
    this.#listeners.add(l);
    let closed = false;
    return {
      backlog: this.backlog,
      onData: (f) => l.onData(f),
      onEnd: (f) => l.onEnd(f),
      write: (bytes) => {
        if (closed || this.#ended !== undefined) return;
        if (this.#running) this.#input(bytes);
        else this.#pending.push(bytes);
      },
      close: () => {
        closed = true;
        this.#listeners.delete(l);
      },
    };
  }

  #print(text: string): void {
    // Kept in the backlog, so in memory of its own: a Buffer.from slice would pin the whole 8 KiB
    // pool slab it came from, one per console (8 MB with 1,000 guests).
    const crlf = text.replace(/\r?\n/g, '\r\n');
    const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(crlf, 'utf8'));
    bytes.write(crlf, 'utf8');
    this.#backlog.push(bytes);
    this.#backlogBytes += bytes.length;
    while (this.#backlogBytes > BACKLOG_BYTES && this.#backlog.length > 1) this.#backlogBytes -= this.#backlog.shift()!.length;
    for (const l of this.#listeners) l.data(bytes);
  }

  #prompt(): void {
    this.#print(`root@${this.name}:~# `);
  }

  #boot(): void {
    this.#booted = true;
    this.#bootedAt = Date.now();
    this.#print(
      [
        `[    0.000000] Linux version 6.1.0-tsxend-sim (simulated guest of tsxend)`,
        `[    0.000000] Xen: booting paravirtualized kernel on Xen (domid ${this.domid})`,
        `[    0.120000] xen_blkfront, xen_netfront: devices connected`,
        `[    0.480000] Run /sbin/init as init process`,
        '',
        `Welcome to ${this.name} (a simulated guest: type 'help').`,
        '',
        '',
      ].join('\n'),
    );
    this.#prompt();
  }

  /** A terminal line discipline in miniature: echo, backspace, Ctrl-C, Enter runs the line. */
  #input(bytes: Buffer): void {
    for (const ch of bytes.toString('utf8')) {
      if (ch === '\r' || ch === '\n') {
        this.#print('\n');
        const line = this.#line.trim();
        this.#line = '';
        if (this.#command(line)) return;
        this.#prompt();
      } else if (ch === '\x7f' || ch === '\b') {
        if (this.#line.length > 0) {
          this.#line = this.#line.slice(0, -1);
          this.#print('\b \b');
        }
      } else if (ch === '\x03') {
        this.#line = '';
        this.#print('^C\n');
        this.#prompt();
      } else if (ch >= ' ') {
        this.#line += ch;
        this.#print(ch);
      }
    }
  }

  /** Runs one command line; answers true when the guest is going down (no prompt after). */
  #command(line: string): boolean {
    const [cmd = '', ...args] = line.split(/\s+/);
    switch (cmd) {
      case '':
        return false;
      case 'help':
        this.#print('commands: help hostname uname uptime echo poweroff reboot\n');
        return false;
      case 'hostname':
        this.#print(`${this.name}\n`);
        return false;
      case 'uname':
        this.#print(args.includes('-a') ? `Linux ${this.name} 6.1.0-tsxend-sim #1 SMP x86_64 GNU/Linux\n` : 'Linux\n');
        return false;
      case 'uptime':
        this.#print(`up ${Math.round((Date.now() - this.#bootedAt) / 1000)} s\n`);
        return false;
      case 'echo':
        this.#print(`${args.join(' ')}\n`);
        return false;
      case 'poweroff':
      case 'reboot':
        this.#print(`[ ok ] ${cmd === 'poweroff' ? 'Powering off' : 'Rebooting'}.\n`);
        this.guest.shutdown(cmd);
        return true;
      default:
        this.#print(`-sh: ${cmd}: command not found\n`);
        return false;
    }
  }
}

/** The simulated guests' consoles as a ConsoleSource (see guest.ts). */
export class SimConsoleSource implements ConsoleSource {
  readonly kind = 'simulated';

  constructor(private readonly consoleOf: (domid: number) => Promise<SimConsole | undefined>) {}

  async open(domid: number): Promise<ConsoleStream> {
    const c = await this.consoleOf(domid);
    if (!c) throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${domid} has no simulated guest (is it running?)`, { details: { domid } });
    return c.attach();
  }
}
