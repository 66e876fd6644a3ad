// Ways to reach xenstored: its Unix socket, the kernel's xenbus device, or any Duplex (the
// embedded mock's in-memory connection). Each is a `Connect` function the client can call
// again to reconnect.

import { open } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { Duplex } from 'node:stream';
import { TsxError } from '../errors.js';
import type { Connect } from './client.js';
import { E_XS_UNAVAILABLE } from './errors.js';

function connectOnce(path: string): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const sock = createConnection(path);
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** cxenstored listens with a tiny backlog: a busy daemon answers EAGAIN, which is worth a retry. */
const EAGAIN_RETRIES = 400; // with the pause capped below: about 10 s of a saturated backlog

export function socketConnect(path: string): Connect {
  return async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await connectOnce(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' && attempt < EAGAIN_RETRIES) {
          await new Promise((r) => setTimeout(r, Math.min(25, 2 + attempt)));
          continue;
        }
        throw new TsxError(E_XS_UNAVAILABLE, `cannot connect to xenstored at ${path}: ${(err as Error).message}`, {
          cause: err,
          details: { path, errno: code },
        });
      }
    }
  };
}

/**
 * The kernel device (/dev/xen/xenbus). Each write must be one whole message, which the client
 * guarantees; reads return whole messages. WATCH/UNWATCH are served by the kernel itself.
 */
export function xenbusConnect(path: string): Connect {
  return async () => {
    let handle;
    try {
      handle = await open(path, 'r+');
    } catch (err) {
      throw new TsxError(E_XS_UNAVAILABLE, `cannot open xenbus device ${path}: ${(err as Error).message}`, { cause: err, details: { path } });
    }
    const fh = handle;
    const buf = Buffer.alloc(4096 + 16);
    let reading = false;
    const stream: Duplex = new Duplex({
      read() {
        if (reading) return;
        reading = true;
        fh.read(buf, 0, buf.length, null).then(
          ({ bytesRead }) => {
            reading = false;
            if (bytesRead === 0) this.push(null);
            else this.push(Buffer.from(buf.subarray(0, bytesRead)));
          },
          (err: Error) => this.destroy(err),
        );
      },
      write(chunk: Buffer, _enc, cb) {
        fh.write(chunk, 0, chunk.length, null).then(() => cb(), cb);
      },
      destroy(err, cb) {
        fh.close().then(() => cb(err), () => cb(err));
      },
    });
    return stream;
  };
}
