// Node values in slabs of their own. A copy made with Buffer.allocUnsafe comes from Node's shared
// 8 KiB pool, whose slabs also hold reply frames that die at once: one kept value pins its whole
// slab, and the embedded store of 1,000 domains held ~100 MB of Buffer memory that way. These
// slabs hold only values, which live as long as their node; a domain's nodes, written together,
// share slabs and go together.

const SLAB_BYTES = 16 * 1024;
/** Larger values get memory of their own. */
const OWN_BYTES = 1024;
const NONE = Buffer.alloc(0);

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** A copy of `src[start, end)` that pins no memory but its own slab's. */
export function keepValue(src: Buffer, start: number, end: number): Buffer {
  const length = end - start;
  if (length === 0) return NONE;
  if (length > OWN_BYTES) {
    const own = Buffer.allocUnsafeSlow(length);
    src.copy(own, 0, start, end);
    return own;
  }
  if (used + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const value = slab.subarray(used, used + length);
  src.copy(value, 0, start, end);
  used += length;
  return value;
}
