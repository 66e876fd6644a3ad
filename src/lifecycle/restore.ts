// Restore (xl restore / xm restore): a new domain from a save image. The image is read whole
// and checked first (save-image.ts checkImage), so a bad or truncated one is refused before
// anything is created; then it is read again and the create pipeline runs with the memory
// restored from it instead of a kernel built (create.ts RestoreSource): the same claims, the
// same devices written, the same journal undoing everything if any step fails.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { XendConfig } from '../config/model.js';
import type { RestoreSource } from './create.js';
import { checkImage, memoryStreamError, readImageHeader, readImageTrailer, type ImageHeader } from './save-image.js';

export interface RestoreOptions {
  /** Leave the restored domain paused (xl restore -p). */
  readonly paused?: boolean;
}

export interface OpenedImage {
  readonly header: ImageHeader;
  readonly config: XendConfig;
  readonly source: RestoreSource;
  close(): void;
}

/** Reads an image's header from `input` and answers the source the create pipeline restores from. */
export async function imageSource(input: Readable, name: string, onProgress?: RestoreSource['onProgress']): Promise<OpenedImage> {
  const header = await readImageHeader(input, name);
  const source: RestoreSource = {
    input,
    ...(onProgress ? { onProgress } : {}),
    explain: (err) => memoryStreamError(err, header, name),
    // The hypervisor read the memory stream exactly to its END: libxl's records follow.
    afterMemory: async () => void (await readImageTrailer(input, undefined, name)),
  };
  return { header, config: header.config, source, close: () => input.destroy() };
}

/** A file image, checked whole before it is opened for the restore. */
export async function openImageFile(file: string, onProgress?: RestoreSource['onProgress']): Promise<OpenedImage & { bytes: number }> {
  const { bytes } = await checkImage(file);
  const opened = await imageSource(createReadStream(file, { highWaterMark: 1 << 20 }), file, onProgress);
  return { ...opened, bytes };
}
