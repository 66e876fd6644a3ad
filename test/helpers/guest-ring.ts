// A guest's xenstore ring on a real daemon started by test/fixtures/xenstored.ts (the stub maps
// the guest's page from DIR/ring-<domid>), played from the test as a byte stream.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { args, frame, T } from '../xenstore/mock-raw-client.js';

/**
 * A guest's xenstore ring, played from the test: requests go into the shared page the fixture
 * maps from `file` (struct xenstore_domain_interface: req[1024], rsp[1024], then req_cons,
 * req_prod, rsp_cons, rsp_prod), and a dom0 socket request wakes the daemon's loop, which scans
 * every ring when it wakes (cxenstored 4.17's main loop).
 */
export class GuestRing extends Duplex {
  readonly #fd: number;
  #pending = Buffer.alloc(0);
  readonly #timer: NodeJS.Timeout;
  #activeUntil = 0;

  constructor(
    file: string,
    private readonly kick: Socket,
  ) {
    super();
    this.#fd = openSync(file, 'r+');
    this.#timer = setInterval(() => this.#pump(), 2);
  }

  #u32(off: number): number {
    const b = Buffer.alloc(4);
    readSync(this.#fd, b, 0, 4, off);
    return b.readUInt32LE(0);
  }

  #setU32(off: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    writeSync(this.#fd, b, 0, 4, off);
  }

  #pump(): void {
    if (this.#pending.length > 0) {
      const cons = this.#u32(2048);
      const prod = this.#u32(2052);
      const n = Math.min(1024 - ((prod - cons) >>> 0), this.#pending.length);
      for (let i = 0; i < n; ) {
        const at = (prod + i) % 1024;
        const len = Math.min(n - i, 1024 - at);
        writeSync(this.#fd, this.#pending, i, len, at);
        i += len;
      }
      this.#pending = this.#pending.subarray(n);
      this.#setU32(2052, prod + n);
    }
    const cons = this.#u32(2056);
    const prod = this.#u32(2060);
    const avail = (prod - cons) >>> 0;
    if (avail > 0) {
      const out = Buffer.alloc(avail);
      for (let i = 0; i < avail; ) {
        const at = (cons + i) % 1024;
        const len = Math.min(avail - i, 1024 - at);
        readSync(this.#fd, out, i, len, 1024 + at);
        i += len;
      }
      this.#setU32(2056, prod);
      this.push(out);
      this.#activeUntil = Date.now() + 300;
    }
    // Wake the daemon while a request may be in flight.
    if (Date.now() < this.#activeUntil) this.kick.write(frame(T.GET_DOMAIN_PATH, args('0'), 0xffff));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    this.#activeUntil = Date.now() + 2000;
    cb();
  }

  override _read(): void {}

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    clearInterval(this.#timer);
    closeSync(this.#fd);
    cb(err);
  }
}
