// MockXenstored: the embedded xenstore daemon, reachable in-process through an in-memory
// duplex that speaks the byte protocol (so clients exercise the same framing as on a socket)
// and on a Unix socket (mode 0600, like cxenstored) for real clients.

import { chmod, lstat, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { MockConnection } from './connection.js';
import { MockCore } from './core.js';
import type { DomainRegistry } from './domains.js';
import type { NodePerms } from './permissions.js';
import type { Limits } from './tree.js';

export interface MockXenstoredOptions {
  /** Structured log (connections, unknown operations, CONTROL print). */
  log?: Logger;
  /** Override the unprivileged-domain limits (reference §2.9). */
  limits?: Partial<Limits>;
}

export interface ConnectOptions {
  /**
   * Connect "as domain N" (an unprivileged guest's ring connection, home
   * `/local/domain/N`). Default 0: a privileged connection, like a dom0 socket client.
   */
  domid?: number;
}

export class MockXenstored {
  /** The simulated hypervisor's handle on domains (see domains.ts). */
  readonly domains: DomainRegistry;
  private readonly core: MockCore;
  private readonly log: Logger | undefined;
  private server: Server | undefined;
  private path: string | undefined;
  private readonly sockets = new Set<Socket>();
  /** Set by crash(): new connections are refused until restart(). */
  private down = false;

  constructor(options: MockXenstoredOptions = {}) {
    this.log = options.log;
    this.core = new MockCore({ ...(options.log ? { log: options.log } : {}), ...(options.limits ? { limits: options.limits } : {}) });
    this.domains = this.core.domains;
  }

  /** An in-memory connection: write requests into it, read replies and events from it. */
  connect(options: ConnectOptions = {}): Duplex {
    if (this.down) throw Object.assign(new Error('mock xenstored is down (crashed)'), { code: 'ECONNREFUSED' });
    const domid = options.domid ?? 0;
    const core = this.core;
    // The sink's closures run only after `duplex` exists.
    const conn: MockConnection = core.open(domid, {
      write: (b) => void duplex.push(b),
      backlogged: () => duplex.readableLength > 0,
      close: () => {
        duplex.push(null);
        duplex.end();
      },
    });
    const duplex: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const run = (): void => {
          conn.receive(chunk);
          cb();
        };
        // Output pushed to another client can make it write back synchronously; let the
        // current request finish first (requests are processed one at a time, as in C).
        if (core.busy) queueMicrotask(run);
        else run();
      },
      final(cb) {
        conn.ended();
        duplex.push(null);
        cb();
      },
      destroy(err, cb) {
        conn.ended();
        cb(err);
      },
    });
    return duplex;
  }

  /** Serves the protocol on a Unix socket at `path` (replacing a stale socket there). */
  async listen(path: string): Promise<void> {
    if (this.server) throw new Error('already listening');
    await removeStaleSocket(path);
    const server = createServer((socket) => this.accept(socket));
    // Bound under a private name, made 0600, then renamed into place: the socket never appears
    // at `path` with the umask's wider mode, not even for a moment.
    const staging = join(dirname(path), `.${basename(path)}.${process.pid}.binding`);
    await rm(staging, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(staging, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await chmod(staging, 0o600);
      await rename(staging, path);
    } catch (err) {
      server.close();
      await rm(staging, { force: true });
      throw err;
    }
    this.server = server;
    this.path = path;
    this.log?.info({ socket: path }, 'mock xenstored listening');
  }

  get socketPath(): string | undefined {
    return this.path;
  }

  /** Stops listening, drops every connection and removes the socket. */
  async close(): Promise<void> {
    for (const c of [...this.core.connections]) c.close();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.path) {
      await unlink(this.path).catch(() => undefined);
      this.log?.info({ socket: this.path }, 'mock xenstored stopped');
      this.path = undefined;
    }
  }

  /**
   * A crash for fault tests: every connection (socket and in-memory) drops at once, the socket
   * goes away and new connections are refused, but the tree, the domains and their
   * introductions are kept, as a daemon restarted from a saved state would have them.
   */
  async crash(): Promise<void> {
    this.down = true;
    const path = this.path;
    await this.close();
    this.path = path;
  }

  /** Serves again after crash(), on the same socket path, with the tree as it was. */
  async restart(): Promise<void> {
    this.down = false;
    const path = this.path;
    this.path = undefined;
    if (path !== undefined) await this.listen(path);
  }

  get isDown(): boolean {
    return this.down;
  }

  // ---- inspection (tests, debugging) ----

  /** The committed value of a node, or undefined. */
  read(path: string): Buffer | undefined {
    return this.core.store.get(path)?.value;
  }

  /** The committed permissions of a node, or undefined (whole-tree diffs in tests). */
  perms(path: string): NodePerms | undefined {
    return this.core.store.get(path)?.perms;
  }

  /** Every committed node path, sorted. */
  paths(): string[] {
    return this.core.store.paths();
  }

  /** Open connections (sockets and in-memory). */
  get connectionCount(): number {
    return this.core.connections.size;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const conn = this.core.open(0, {
      write: (b) => void socket.write(b),
      backlogged: () => socket.writableLength > 0,
      close: () => socket.destroy(),
    });
    this.log?.debug({ conn: conn.connId }, 'socket connection');
    socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    socket.on('drain', () => conn.drained());
    socket.on('error', (err) => this.log?.debug({ conn: conn.connId, err }, 'socket error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      conn.ended();
    });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
