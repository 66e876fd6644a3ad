// A Unix-socket proxy in front of a real xenstored that counts the request frames its clients
// send (the 16-byte wire header: type, req_id, tx_id, len) and, once armed, SIGKILLs a process
// just before the N-th frame would be forwarded. From that frame on nothing reaches xenstored
// until the process is dead; then frames of connections that are still open (other processes:
// backend daemons, scripts) go on, those of the dead process are dropped. Kill points are thus
// reproducible positions in the request stream, not wall-clock guesses.

import { createServer, Socket, type Server } from 'node:net';

const HEADER = 16;

interface Pending {
  client: Socket;
  frame: Buffer;
}

export interface KillProxy {
  readonly path: string;
  /** Frames counted since the last arm() or count(). */
  readonly frames: number;
  /** Count frames from now on without killing. */
  count(): void;
  /** Kill `pid` just before the n-th frame from now (1-based); answers when it is dead. */
  arm(n: number, pid: number, exited: Promise<unknown>): void;
  /** Whether the armed kill happened. */
  readonly fired: boolean;
  close(): Promise<void>;
}

export async function startKillProxy(path: string, upstream: string): Promise<KillProxy> {
  let frames = 0;
  let target: { n: number; pid: number; exited: Promise<unknown> } | undefined;
  let fired = false;
  let holding = false;
  const held: Pending[] = [];
  const sockets = new Set<Socket>();

  const onFrame = (client: Socket, frame: Buffer, forward: (b: Buffer) => unknown): void => {
    if (holding) {
      held.push({ client, frame });
      return;
    }
    frames++;
    if (target && frames === target.n) {
      const t = target;
      target = undefined;
      fired = true;
      holding = true;
      held.push({ client, frame });
      process.kill(t.pid, 'SIGKILL');
      void t.exited.then(async () => {
        // Let the kernel close the dead process's sockets before deciding whose frames go on.
        await new Promise((r) => setTimeout(r, 50));
        holding = false;
        for (const p of held.splice(0)) if (!p.client.destroyed && p.client.readable) upstreamOf.get(p.client)?.(p.frame);
      });
      return;
    }
    forward(frame);
  };
  const upstreamOf = new Map<Socket, (b: Buffer) => unknown>();

  const server: Server = createServer((client) => {
    // A busy xenstored answers connect() with EAGAIN (full backlog): retry, holding the client.
    const up = new Socket();
    let tries = 0;
    let ready = false;
    const queue: Buffer[] = [];
    const send = (b: Buffer) => (ready ? up.write(b) : queue.push(b));
    up.on('connect', () => {
      ready = true;
      for (const b of queue.splice(0)) up.write(b);
    });
    const dial = () => up.connect(upstream);
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EAGAIN' && !up.connecting && tries++ < 500 && !client.destroyed) setTimeout(dial, 20);
      else closeBoth();
    });
    dial();
    upstreamOf.set(client, send);
    sockets.add(client).add(up);
    let buf: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= HEADER) {
        const len = buf.readUInt32LE(12);
        if (buf.length < HEADER + len) break;
        const frame = buf.subarray(0, HEADER + len);
        buf = buf.subarray(HEADER + len);
        onFrame(client, Buffer.from(frame), send);
      }
    });
    up.on('data', (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    const closeBoth = () => {
      client.destroy();
      up.destroy();
      upstreamOf.delete(client);
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('close', (hadError) => {
      if (!hadError) closeBoth();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    get frames() {
      return frames;
    },
    get fired() {
      return fired;
    },
    count() {
      frames = 0;
      target = undefined;
      fired = false;
    },
    arm(n, pid, exited) {
      frames = 0;
      fired = false;
      target = { n, pid, exited };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
