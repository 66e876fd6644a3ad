// The source's HTTP side of a migration (src/daemon/peer.ts) against a bare HTTP server: an
// image stream the source gives up on (destroyed, no error) must end the request, or the
// destination waits on its body for ever (seen between two daemons on real Xen).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { httpMigrationPeer } from '../../src/daemon/peer.js';

describe('httpMigrationPeer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxend-peer-'));
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends the image request when the image stream is destroyed without an error: the destination sees its body cut short', async () => {
    const socket = join(dir, 'dest.sock');
    const seen = new Promise<{ bytes: number; ended: boolean }>((resolve) => {
      server = createServer((req: IncomingMessage) => {
        let bytes = 0;
        let ended = false;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => (ended = true));
        req.on('error', () => undefined);
        req.on('close', () => resolve({ bytes, ended }));
      });
      server.listen(socket);
    });
    await new Promise((r) => server!.once('listening', r));
    const peer = httpMigrationPeer({ destination: `unix:${socket}` });
    const image = new PassThrough();
    const sent = peer.sendImage('m1', image);
    image.write(Buffer.alloc(4096, 1));
    await new Promise((r) => setTimeout(r, 50));
    image.destroy();
    await expect(sent).rejects.toThrow(/cannot be reached|cut short|socket hang up/);
    expect(await seen).toEqual({ bytes: 4096, ended: false });
  });
});
