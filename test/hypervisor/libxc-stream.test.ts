// The libxc stream copier: it reads exactly one libxc stream (to its END record) and leaves what
// follows in the Readable, as libxl hands exactly the libxc part of an image to libxc.

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { copyLibxcStream, LibxcStreamError, readExactly, scanLibxcStreamFile } from '../../src/hypervisor/libxc-stream.js';
import { startSaveHelper } from '../../src/hypervisor/xen/save-helper.js';

const FAKE = fileURLToPath(new URL('../fixtures/fake-save-helper.mjs', import.meta.url));

async function libxcImage(pages: number): Promise<Buffer> {
  process.env.FAKE_SAVE_PAGES = String(pages);
  try {
    const run = startSaveHelper({ path: FAKE, domid: 1, hooks: { suspend: async () => true } });
    const chunks: Buffer[] = [];
    run.io!.on('data', (c: Buffer) => chunks.push(c));
    await run.done;
    return Buffer.concat(chunks);
  } finally {
    delete process.env.FAKE_SAVE_PAGES;
  }
}

describe('copyLibxcStream', () => {
  it('copies exactly to the END record and leaves the rest of the image in the stream', async () => {
    const image = await libxcImage(5);
    const trailer = Buffer.from('libxl END record follows');
    const input = new PassThrough();
    const out = new PassThrough();
    const copied: Buffer[] = [];
    out.on('data', (c: Buffer) => copied.push(c));
    // Delivered in odd-sized pieces, as a socket would.
    const all = Buffer.concat([image, trailer]);
    for (let at = 0; at < all.length; at += 1000) input.write(all.subarray(at, at + 1000));
    input.end();
    const summary = await copyLibxcStream(input, out);
    expect(summary).toMatchObject({ bytes: image.length, pages: 5, records: 6, domainType: 1, xenVersion: '4.17' });
    expect(Buffer.concat(copied).equals(image)).toBe(true);
    expect((await readExactly(input, trailer.length, 0, 'trailer')).equals(trailer)).toBe(true);
  });

  it('refuses a stream that is not libxc, or that ends early, naming the byte offset', async () => {
    const image = await libxcImage(2);
    const bad = Buffer.from(image);
    bad.writeUInt32BE(0x12345678, 8);
    const feed = (b: Buffer) => {
      const s = new PassThrough();
      s.end(b);
      return s;
    };
    await expect(copyLibxcStream(feed(bad), undefined)).rejects.toMatchObject({ offset: 8, truncated: false });
    const cut = image.subarray(0, 40 + 100);
    const err = await copyLibxcStream(feed(cut), undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibxcStreamError);
    expect(err).toMatchObject({ offset: 48, truncated: true });
    const huge = Buffer.from(image);
    huge.writeUInt32LE(0x7fffffff, 40 + 4);
    await expect(copyLibxcStream(feed(huge), undefined)).rejects.toMatchObject({ offset: 44, truncated: false });
  });
});

describe('scanLibxcStreamFile', () => {
  it('walks a stream in a file by its record headers: its length, pages and records; a cut one is refused with its offset', async () => {
    const image = await libxcImage(7);
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-scan-'));
    try {
      const whole = join(dir, 'whole');
      writeFileSync(whole, Buffer.concat([Buffer.from('HEADER--'), image]));
      const fd = openSync(whole, 'r');
      expect(scanLibxcStreamFile(fd, 8)).toMatchObject({ bytes: image.length, pages: 7, records: 8 });
      closeSync(fd);
      const cut = join(dir, 'cut');
      writeFileSync(cut, image.subarray(0, image.length - 100));
      const fd2 = openSync(cut, 'r');
      expect(() => scanLibxcStreamFile(fd2, 0)).toThrow(LibxcStreamError);
      closeSync(fd2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
