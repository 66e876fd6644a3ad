// API listeners. A Unix socket is created 0600 (umask held tight while binding, then chmod to be
// sure). On start a socket file left by a dead daemon is replaced; one a live daemon still
// answers on is refused, and a path that is not a socket is never unlinked.

import { connect } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TsxError } from '../errors.js';
import { E_SERVE_OPTIONS, E_SOCKET_IN_USE } from './errors.js';

export const SOCKET_MODE = 0o600;

/** Answers true when something accepts connections on the socket at `path`. */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (live: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // a hung daemon is still a daemon
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Makes `path` ready to bind: its directory exists, no stale socket is in the way. */
export async function prepareSocketPath(path: string): Promise<'fresh' | 'replaced-stale'> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'fresh';
    throw err;
  }
  if (!st.isSocket()) throw new TsxError(E_SERVE_OPTIONS, `${path} exists and is not a socket: refusing to replace it`);
  if (await socketIsLive(path)) {
    throw new TsxError(E_SOCKET_IN_USE, `another daemon is answering on ${path}; stop it first (systemctl stop tsxend) or use --listen`);
  }
  await unlink(path);
  return 'replaced-stale';
}

/** Binds with a tight umask so the socket is never briefly world-connectable. */
export async function withSocketUmask<T>(path: string, bind: () => Promise<T>): Promise<T> {
  const old = process.umask(0o177);
  try {
    return await bind();
  } finally {
    process.umask(old);
    await chmod(path, SOCKET_MODE).catch(() => undefined);
  }
}
