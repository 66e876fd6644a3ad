// Xen's libxl-save-helper: the process libxl runs to save and restore a domain's memory through
// libxenguest (xc_domain_save, xc_domain_restore). Running it as libxl does, rather than calling
// libxenguest in-process, keeps a libxc crash out of the daemon and gives a save the one clean
// way out libxc has: SIGTERM, which the helper turns into a failed write and libxc's own error
// path (the guest is left suspended, not half torn down).
//
// Its argv is libxl_save_callout.c's; its callback protocol is libxl_save_msgs_gen.pl's: on its
// stdout, u16 length then the message (u16 type, arguments in machine order: int/unsigned 4
// bytes, unsigned long and xen_pfn_t 8, STRING = u32 length + bytes ending in NUL); a callback
// that returns a value (suspend, static_data_done, complete...) is answered with one int on its
// stdin. The memory stream itself goes through fd 3 (the io fd), a socket pair here.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { TsxError } from '../../errors.js';
import { E_XEN_SAVE_HELPER } from '../errors.js';

export const DEFAULT_SAVE_HELPER = '/usr/lib/xen-4.17/bin/libxl-save-helper';

/** Message numbers: their order in libxl_save_msgs_gen.pl's @msgs, from 1. */
const MSG = {
  log: 1,
  progress: 2,
  suspend: 3,
  postcopy: 4,
  checkpoint: 5,
  waitCheckpoint: 6,
  switchQemuLogdirty: 7,
  staticDataDone: 8,
  restoreResults: 9,
  complete: 10,
} as const;

/** A callback's bit in the helper's cbflags argument: 1 << its message number. */
const cbflag = (msg: number): number => 1 << msg;

/** xenguest.h: XCFLAGS_LIVE; XC_STREAM_PLAIN (no Remus/COLO). */
const XCFLAGS_LIVE = 1;
const XC_STREAM_PLAIN = 0;
/** xenguest.h: what a restored stream lacked (static_data_done's argument). */
export const XGR_SDD_MISSING_CPUID = 1;
export const XGR_SDD_MISSING_MSR = 2;

export interface HelperLog {
  /** xentoollog level: XTL_DEBUG 1 … XTL_WARN 7, XTL_ERROR 8, XTL_CRITICAL 9. */
  readonly level: number;
  readonly errno: number;
  readonly context: string;
  readonly message: string;
}

export interface HelperProgress {
  readonly context: string;
  readonly doing: string;
  readonly done: bigint;
  readonly total: bigint;
}

export interface HelperHooks {
  /** libxc wants the guest suspended now: answer once it is (true) or cannot be (false). */
  readonly suspend?: () => Promise<boolean>;
  /** The restored stream's static data is in; `missing` has XGR_SDD_* bits. Answer 0 on success. */
  readonly staticDataDone?: (missing: number) => Promise<number>;
  readonly progress?: (p: HelperProgress) => void;
  readonly log?: (entry: HelperLog) => void;
}

export interface HelperOutcome {
  /** xc_domain_save/restore's answer: 0 on success. */
  readonly retval: number;
  readonly errno: number;
  /** Restore only: the store and console ring frames of the restored guest. */
  readonly storeGfn?: bigint;
  readonly consoleGfn?: bigint;
}

export interface HelperRun {
  /** The memory stream: the helper writes it here (save) or reads it from here (restore); null when it has a file descriptor of its own. */
  readonly io: Duplex | null;
  readonly pid: number | undefined;
  /** Settles when the helper has exited: its outcome, or a typed failure. */
  readonly done: Promise<HelperOutcome>;
  /** Interrupts a save through libxc's error path (SIGTERM), as libxl's abort does. */
  stop(): void;
}

interface CommonOptions {
  readonly path?: string;
  readonly domid: number;
  readonly hooks?: HelperHooks;
  /** A file descriptor the helper reads or writes the stream on itself (libxl's way); else a pipe to `io`. */
  readonly fd?: number;
}

export interface SaveHelperOptions extends CommonOptions {
  /** Pre-copy iterations while the guest runs (live migration), then stop-and-copy. */
  readonly live?: boolean;
}

export interface RestoreHelperOptions extends CommonOptions {
  readonly storeEvtchn: number;
  readonly consoleEvtchn: number;
  /** The domains serving the store and console rings: dom0 here. */
  readonly storeDomid?: number;
  readonly consoleDomid?: number;
}

/** `--save-domain io_fd recv_fd domid flags cbflags stream_type` (libxl__xc_domain_save). */
export function startSaveHelper(options: SaveHelperOptions): HelperRun {
  const flags = options.live ? XCFLAGS_LIVE : 0;
  const cbflags = cbflag(MSG.suspend);
  return run('save', options, ['--save-domain', '3', '-1', String(options.domid), String(flags), String(cbflags), String(XC_STREAM_PLAIN)]);
}

/** `--restore-domain io_fd send_back_fd domid store_evtchn store_domid console_evtchn console_domid cbflags stream_type`. */
export function startRestoreHelper(options: RestoreHelperOptions): HelperRun {
  const cbflags = cbflag(MSG.staticDataDone) | cbflag(MSG.restoreResults);
  return run('restore', options, [
    '--restore-domain',
    '3',
    '-1',
    String(options.domid),
    String(options.storeEvtchn),
    String(options.storeDomid ?? 0),
    String(options.consoleEvtchn),
    String(options.consoleDomid ?? 0),
    String(cbflags),
    String(XC_STREAM_PLAIN),
  ]);
}

/** The last log lines kept for a failure's details. */
const KEEP_LOG = 8;
const XTL_WARN = 7;

function run(op: 'save' | 'restore', options: CommonOptions, argv: string[]): HelperRun {
  const path = options.path ?? DEFAULT_SAVE_HELPER;
  const hooks = options.hooks ?? {};
  const child = spawn(path, argv, { stdio: ['pipe', 'pipe', 'pipe', options.fd ?? 'pipe'] });
  const io = child.stdio[3] as Duplex | null;
  const recent: string[] = [];
  let stderr = '';
  let outcome: { retval: number; errno: number } | undefined;
  let results: { storeGfn: bigint; consoleGfn: bigint } | undefined;
  let protocolError: string | undefined;
  /** The first and the last error libxc logged: a failure is reported with both (the first is the cause). */
  let firstError: string | undefined;
  let lastError: string | undefined;

  const failure = (message: string, details: Record<string, unknown> = {}) =>
    new TsxError(E_XEN_SAVE_HELPER, `${op} of domain ${options.domid}: ${message}`, {
      details: { op, domid: options.domid, helper: path, log: recent.slice(), stderr: stderr.slice(-2000), ...details },
    });

  const reply = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    if (child.stdin?.writable) child.stdin.write(b);
  };

  const handle = (msg: Buffer) => {
    const r = new Reader(msg);
    const type = r.u16();
    switch (type) {
      case MSG.log: {
        const entry = { level: r.u32(), errno: r.u32(), context: r.string(), message: r.string() };
        recent.push(`${entry.context}: ${entry.message}`.trim());
        if (entry.level >= XTL_WARN) {
          firstError ??= entry.message;
          lastError = entry.message;
        }
        if (recent.length > KEEP_LOG) recent.shift();
        hooks.log?.(entry);
        break;
      }
      case MSG.progress: {
        const p = { context: r.string(), doing: r.string(), done: r.u64(), total: r.u64() };
        hooks.progress?.(p);
        break;
      }
      case MSG.suspend:
        r.end();
        void (hooks.suspend ?? (async () => false))().then(
          (ok) => reply(ok ? 1 : 0),
          () => reply(0),
        );
        return;
      case MSG.staticDataDone: {
        const missing = r.u32();
        r.end();
        void (hooks.staticDataDone ?? (async () => 0))(missing).then(reply, () => reply(-1));
        return;
      }
      case MSG.restoreResults:
        results = { storeGfn: r.u64(), consoleGfn: r.u64() };
        break;
      case MSG.complete:
        outcome = { retval: r.i32(), errno: r.i32() };
        r.end();
        reply(0);
        return;
      default:
        // postcopy, checkpoint, wait_checkpoint, logdirty: never enabled in cbflags here.
        throw new Error(`unexpected message ${type}`);
    }
    r.end();
  };

  let pending = Buffer.alloc(0);
  child.stdout?.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16LE(0);
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      try {
        handle(msg);
      } catch (err) {
        protocolError ??= (err as Error).message;
        child.kill('SIGKILL');
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8000);
  });
  // The helper may exit before reading what was written to it; that is its exit status's story.
  child.stdin?.on('error', () => undefined);
  io?.on('error', () => undefined);

  const done = new Promise<HelperOutcome>((resolve, reject) => {
    child.once('error', (err) => reject(failure(`cannot run ${path}: ${err.message}`, { cause: (err as NodeJS.ErrnoException).code })));
    child.once('close', (code, signal) => {
      if (protocolError) return reject(failure(`the helper broke its protocol: ${protocolError}`));
      if (!outcome) return reject(failure(`the helper exited (${signal ?? `status ${code}`}) without completing`, { exitCode: code, signal }));
      if (outcome.retval !== 0) {
        const said = [...new Set([firstError, lastError].filter((m) => m !== undefined))].join('; then ');
        return reject(failure(`xc_domain_${op} failed (errno ${outcome.errno})${said ? `: ${said}` : ''}`, { retval: outcome.retval, errno: outcome.errno }));
      }
      resolve({ ...outcome, ...(results ?? {}) });
    });
  });

  return { io, pid: child.pid, done, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

/** Reads one message's arguments; a short or overlong message is a protocol error. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): number {
    if (this.at + n > this.buf.length) throw new Error(`message truncated at byte ${this.at}`);
    const at = this.at;
    this.at += n;
    return at;
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  string(): string {
    const len = this.u32();
    const at = this.need(len);
    if (len === 0 || this.buf[at + len - 1] !== 0) throw new Error('string without its NUL');
    return this.buf.subarray(at, at + len - 1).toString('utf8');
  }
  end(): void {
    if (this.at !== this.buf.length) throw new Error(`${this.buf.length - this.at} bytes after the arguments`);
  }
}
