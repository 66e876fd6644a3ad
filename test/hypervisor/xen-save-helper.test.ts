// The libxl-save-helper driver against a stand-in that speaks the real helper's protocol
// (test/fixtures/fake-save-helper.mjs); the real helper is driven under QEMU by test/xen/save.test.ts.

import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { saveMemory } from '../../src/hypervisor/xen/saverestore.js';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TsxError } from '../../src/errors.js';
import { startRestoreHelper, startSaveHelper, XGR_SDD_MISSING_CPUID, type HelperProgress } from '../../src/hypervisor/xen/save-helper.js';

const FAKE = fileURLToPath(new URL('../fixtures/fake-save-helper.mjs', import.meta.url));

/** Runs the fake with `env` set for this one start. */
function withEnv<T>(env: Record<string, string>, start: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await once(stream, 'end');
  return Buffer.concat(chunks);
}

async function saved(pages: number): Promise<Buffer> {
  const run = withEnv({ FAKE_SAVE_PAGES: String(pages) }, () => startSaveHelper({ path: FAKE, domid: 7, hooks: { suspend: async () => true } }));
  const [image] = await Promise.all([collect(run.io!), run.done]);
  return image;
}

describe('libxl-save-helper driver', () => {
  it('save: suspends once when libxc asks, streams the memory out, reports progress and completes', async () => {
    let suspends = 0;
    const progress: HelperProgress[] = [];
    const logs: string[] = [];
    const run = withEnv({ FAKE_SAVE_PAGES: '24' }, () =>
      startSaveHelper({
        path: FAKE,
        domid: 7,
        hooks: { suspend: async () => (suspends++, true), progress: (p) => progress.push(p), log: (l) => logs.push(l.message) },
      }),
    );
    const [image, outcome] = await Promise.all([collect(run.io!), run.done]);
    expect(outcome).toMatchObject({ retval: 0, errno: 0 });
    expect(suspends).toBe(1);
    // The libxc image header, then 24 PAGE_DATA records of 4 KiB and an END record.
    expect(image.readBigUInt64BE(0)).toBe(0xffffffffffffffffn);
    expect(image.readUInt32BE(8)).toBe(0x58454e46);
    expect(image.length).toBe(40 + 24 * (8 + 16 + 4096) + 8);
    expect(progress.at(-1)).toMatchObject({ doing: 'Memory', done: 24n, total: 24n });
    expect(logs).toContain('starting save');
  });

  it('save to a file descriptor: the helper writes the image file itself, after what is there, and the file goes on after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxend-savefd-'));
    const fd = openSync(join(dir, 'image'), 'w+');
    try {
      writeSync(fd, 'PROLOGUE');
      let progressed = 0;
      const summary = await withEnv({ FAKE_SAVE_PAGES: '16' }, () =>
        saveMemory(7, new PassThrough(), { fd, helper: FAKE, suspend: async () => undefined, onProgress: () => void progressed++ }),
      );
      writeSync(fd, 'EPILOGUE');
      const file = readFileSync(join(dir, 'image'));
      expect(summary.bytes).toBe(40 + 16 * (8 + 16 + 4096) + 8);
      expect(summary.pages).toBe(16);
      expect(progressed).toBeGreaterThan(0);
      expect(file.subarray(0, 8).toString()).toBe('PROLOGUE');
      expect(file.readBigUInt64BE(8)).toBe(0xffffffffffffffffn);
      expect(file.subarray(8, 8 + summary.bytes)).toEqual(await saved(16));
      expect(file.subarray(8 + summary.bytes).toString()).toBe('EPILOGUE');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('save: a guest that cannot be suspended fails the save with the helper\'s own words', async () => {
    const run = startSaveHelper({ path: FAKE, domid: 7, hooks: { suspend: async () => false } });
    run.io!.resume();
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsxError);
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER', details: { op: 'save', domid: 7, retval: -1 } });
    expect((err as Error).message).toContain('suspend() failed');
  });

  it('save: stop() interrupts it through libxc\'s error path (a failed write), not a kill', async () => {
    const run = withEnv({ FAKE_SAVE_PAGES: '400', FAKE_SAVE_DELAY_MS: '5' }, () => startSaveHelper({ path: FAKE, domid: 9, hooks: { suspend: async () => true } }));
    let bytes = 0;
    run.io!.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > 64 * 1024) run.stop();
    });
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER', details: { retval: -1, errno: 9 } });
    expect((err as Error).message).toContain('Bad file descriptor');
  });

  it('restore: feeds the stream, answers static_data_done, returns the store and console frames', async () => {
    const image = await saved(8);
    const missing: number[] = [];
    const run = startRestoreHelper({ path: FAKE, domid: 8, storeEvtchn: 3, consoleEvtchn: 4, hooks: { staticDataDone: async (m) => (missing.push(m), 0) } });
    run.io!.end(image);
    const outcome = await run.done;
    expect(outcome).toMatchObject({ retval: 0, storeGfn: 0x1003n, consoleGfn: 0x2004n });
    expect(missing).toEqual([0]);
  });

  it('restore: a stream without the CPU policy asks for it; a refusal fails the restore', async () => {
    const image = await saved(2);
    const run = withEnv({ FAKE_SAVE_MISSING: String(XGR_SDD_MISSING_CPUID) }, () =>
      startRestoreHelper({ path: FAKE, domid: 8, storeEvtchn: 1, consoleEvtchn: 2, hooks: { staticDataDone: async (m) => (m & XGR_SDD_MISSING_CPUID ? -1 : 0) } }),
    );
    run.io!.end(image);
    await expect(run.done).rejects.toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER', details: { op: 'restore', retval: -1 } });
  });

  it('save through a pipe to a slow reader (a migration\'s network): the stream arrives whole though the helper exits first', async () => {
    // The helper writes its last records into the pipe and exits while the copy still waits on
    // the reader: Node resumes a child's unread pipes at its exit, and what it had not read was lost.
    let got = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, done) {
        got += chunk.length;
        setTimeout(done, 2);
      },
    });
    const summary = await withEnv({ FAKE_SAVE_PAGES: '64' }, () => saveMemory(7, slow, { helper: FAKE, suspend: async () => undefined }));
    expect(summary.pages).toBe(64);
    expect(summary.bytes).toBe(40 + 64 * (8 + 16 + 4096) + 8);
    expect(got).toBe(summary.bytes);
  });

  it('a live save on a Xen that cannot log-dirty a PV guest: typed unsupported, libxc\'s cause first, and --no-live named', async () => {
    const live = await withEnv({ FAKE_SAVE_MODE: 'no-logdirty' }, () =>
      saveMemory(7, new PassThrough(), { helper: FAKE, live: true, suspend: async () => undefined }).catch((e: unknown) => e),
    );
    expect(live).toMatchObject({ code: 'TSX_ERR_XEN_UNSUPPORTED', details: { domid: 7, live: true } });
    expect((live as Error).message).toContain('--no-live');
    const cause = (live as { cause?: Error }).cause;
    expect(cause?.message).toContain('Failed to enable logdirty: 95,22,0 (22 = Invalid argument): Internal error; then Save failed');
    // A stop-and-copy save asks no log-dirty: it goes through on the same hypervisor.
    const copied = await withEnv({ FAKE_SAVE_MODE: 'no-logdirty', FAKE_SAVE_PAGES: '4' }, () => saveMemory(7, new PassThrough(), { helper: FAKE, live: false, suspend: async () => undefined }));
    expect(copied.pages).toBe(4);
  });

  it('restore: libxc\'s failure is typed with its errno and last log line', async () => {
    const image = await saved(2);
    const run = withEnv({ FAKE_SAVE_MODE: 'restore-fails' }, () => startRestoreHelper({ path: FAKE, domid: 8, storeEvtchn: 1, consoleEvtchn: 2 }));
    run.io!.end(image);
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER', details: { errno: 12 } });
    expect((err as Error).message).toContain('Cannot allocate memory');
  });

  it('a helper that is missing, exits without completing or breaks the protocol is a typed failure', async () => {
    await expect(startSaveHelper({ path: '/nonexistent/libxl-save-helper', domid: 1 }).done).rejects.toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER' });
    const early = withEnv({ FAKE_SAVE_MODE: 'exit-early' }, () => startSaveHelper({ path: FAKE, domid: 1, hooks: { suspend: async () => true } }));
    early.io!.resume();
    await expect(early.done).rejects.toMatchObject({ code: 'TSX_ERR_XEN_SAVE_HELPER', details: { exitCode: 3 } });
    const garbage = withEnv({ FAKE_SAVE_MODE: 'garbage' }, () => startSaveHelper({ path: FAKE, domid: 1 }));
    garbage.io!.resume();
    const err = await garbage.done.catch((e: unknown) => e);
    expect((err as Error).message).toContain('broke its protocol');
  });
});
