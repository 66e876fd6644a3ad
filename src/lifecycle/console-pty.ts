// The real console: xenconsoled gives each guest's console a pty and writes its slave's path to
// /local/domain/<domid>/console/tty; attaching opens that path (as xenconsole does: read/write,
// no controlling terminal, raw mode) and relays bytes. Node's tty.ReadStream reads and writes a
// terminal fd without blocking a thread.

import { constants, openSync, closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { TsxError } from '../errors.js';
import type { XenstoreClient } from '../xenstore/types.js';
import { ConsoleListeners, type ConsoleSource, type ConsoleStream } from './console.js';
import { E_CONSOLE_UNAVAILABLE } from './errors.js';

export const consoleTtyPath = (domid: number): string => `/local/domain/${domid}/console/tty`;

export interface PtyConsoleOptions {
  /** How long to wait for xenconsoled to publish the tty of a domain just created (ms). */
  readonly waitMs?: number;
}

export class PtyConsoleSource implements ConsoleSource {
  readonly kind = 'pty';
  readonly #waitMs: number;

  constructor(
    private readonly xs: XenstoreClient,
    options: PtyConsoleOptions = {},
  ) {
    this.#waitMs = options.waitMs ?? 5000;
  }

  /** The pty path xenconsoled published, waiting a little for one it has not written yet. */
  async ttyOf(domid: number): Promise<string> {
    const path = consoleTtyPath(domid);
    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      const tty = await this.xs.tryRead(path);
      if (tty !== undefined && tty !== '') return tty;
      if (Date.now() >= deadline) {
        throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${domid} has no console pty: ${path} is ${tty === undefined ? 'missing' : 'empty'} (is xenconsoled running?)`, { details: { domid, path } });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async open(domid: number): Promise<ConsoleStream> {
    const tty = await this.ttyOf(domid);
    // Only a pty slave is ever opened: a node naming anything else is refused, not followed.
    if (!/^\/dev\/pts\/\d+$/.test(tty) && !/^\/dev\/tty[a-zA-Z0-9]+$/.test(tty)) {
      throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${domid}: ${consoleTtyPath(domid)} names ${JSON.stringify(tty)}, not a pty`, { details: { domid, tty } });
    }
    let fd: number;
    try {
      fd = openSync(tty, constants.O_RDWR | constants.O_NOCTTY);
    } catch (err) {
      throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${domid}: cannot open its console ${tty}: ${(err as Error).message}`, { cause: err, details: { domid, tty } });
    }
    let stream: ReadStream;
    try {
      stream = new ReadStream(fd);
      stream.setRawMode(true);
    } catch (err) {
      closeSync(fd);
      throw new TsxError(E_CONSOLE_UNAVAILABLE, `domain ${domid}: ${tty} is not a terminal`, { cause: err, details: { domid, tty } });
    }
    return ptyStream(stream, tty);
  }
}

function ptyStream(stream: ReadStream, tty: string): ConsoleStream {
  const listeners = new ConsoleListeners();
  let closed = false;
  stream.on('data', (bytes: Buffer) => listeners.data(bytes));
  // The master side went away (xenconsoled dropped the domain): EIO or end of file.
  stream.on('end', () => listeners.end(`console ${tty} closed`));
  stream.on('error', (err: NodeJS.ErrnoException) => listeners.end(`console ${tty}: ${err.code ?? err.message}`));
  stream.on('close', () => listeners.end(`console ${tty} closed`));
  return {
    backlog: Buffer.alloc(0),
    onData: (l) => listeners.onData(l),
    onEnd: (l) => listeners.onEnd(l),
    write: (bytes) => {
      if (!closed) stream.write(bytes);
    },
    close: () => {
      if (closed) return;
      closed = true;
      stream.destroy();
    },
  };
}
