// Attaching the terminal to a guest's console through the daemon (`tsxend console`, `create
// -c`): raw mode on a TTY, keystrokes to the guest, its output to the screen, Ctrl-] (0x1d)
// detaches as in xl/xenconsole and virsh. The guest is never touched by a detach.

import type { ApiClient } from './client.js';
import { EXIT, type CliIo } from './command.js';
import { UsageError } from './daemon-cli.js';

/** Ctrl-]: the escape character of xenconsole, virsh console and telnet. */
export const DETACH_BYTE = 0x1d;
/** The daemon closed the console because it went away (domain destroyed, pty closed). */
const CLOSE_CONSOLE_ENDED = 4000;

export interface AttachOptions {
  /**
   * Stay attached this long, then detach (exit 0): for scripts, which pipe what to type and
   * read what the guest prints. Piped input ending does not detach then.
   */
  readonly timeoutMs?: number;
}

export async function attachConsole(api: ApiClient, ref: string, io: CliIo, options: AttachOptions = {}): Promise<number> {
  const term = io.terminal;
  if (!term) throw new UsageError('console: no terminal to attach');
  // What the guest printed before the attach arrives with the handshake: shown after the banner.
  let early: Buffer[] | undefined = [];
  const ws = await api.openConsole(ref, (bytes) => (early ? early.push(bytes) : term.write(bytes)));
  const input = term.input;
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  if (raw) input.setRawMode?.(true);
  io.stderr(`Connected to the console of ${ref}; Ctrl-] detaches.\r\n`);
  for (const b of early) term.write(b);
  early = undefined;
  return new Promise<number>((resolve) => {
    let done = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            ws.close(1000, 'timeout');
            finish(EXIT.ok);
          }, options.timeoutMs);
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      input.off('data', onData);
      input.off('end', onEnd);
      if (raw) input.setRawMode?.(false);
      input.pause();
      resolve(code);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      const at = bytes.indexOf(DETACH_BYTE);
      if (at < 0) return void ws.send(bytes, { binary: true });
      if (at > 0) ws.send(bytes.subarray(0, at), { binary: true });
      ws.close(1000, 'detached');
      io.stderr('\r\n');
      finish(EXIT.ok);
    };
    // Piped input that ends detaches too (a script typed what it meant to), unless the script
    // asked to stay for a while (--timeout) to read what the guest answers.
    const onEnd = (): void => {
      if (timer) return;
      ws.close(1000, 'input ended');
      finish(EXIT.ok);
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
    ws.on('close', (code: number, reason: Buffer) => {
      if (done) return;
      io.stderr(`\r\ntsxend: console closed${reason.length > 0 ? `: ${reason.toString('utf8')}` : ''}\r\n`);
      finish(code === CLOSE_CONSOLE_ENDED || code === 1000 ? EXIT.ok : code === 4009 ? EXIT.conflict : EXIT.failure);
    });
  });
}
