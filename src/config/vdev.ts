// Guest device names ↔ virtual-device numbers, as libxl__device_disk_dev_number and
// libxl__devid_to_vdev do (reference xenstore.md §6.5). Anything Xen rejects answers undefined.

const XVD_MAJOR = 202;
const EXT_BIT = 1 << 28;

/** Bijective base-26: a=0 … z=25, aa=26 … */
function lettersToIndex(s: string): number | undefined {
  if (!/^[a-z]+$/.test(s)) return undefined;
  let n = 0;
  for (const ch of s) {
    n = n * 26 + (ch.charCodeAt(0) - 96);
    if (n > 1 << 21) return undefined;
  }
  return n - 1;
}

function indexToLetters(n: number): string {
  let s = '';
  n += 1;
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/** Partition: decimal without a leading zero, 1..255; absent = 0. */
function partition(s: string, max: number): number | undefined {
  if (s === '') return 0;
  if (!/^[1-9]\d*$/.test(s)) return undefined;
  const p = Number(s);
  return p <= max ? p : undefined;
}

function xvd(disk: number, part: number): number | undefined {
  if (disk >= 1 << 20 || part > 255) return undefined;
  if (disk <= 15 && part <= 15) return (XVD_MAJOR << 8) | (disk << 4) | part;
  return EXT_BIT | (disk << 8) | part;
}

export function vdevToNumber(vdev: string): number | undefined {
  let m = /^d(\d+)p(\d+)$/.exec(vdev);
  if (m) {
    const disk = Number(m[1]);
    const part = Number(m[2]);
    if (!/^(0|[1-9]\d*)$/.test(m[1]!) || !/^(0|[1-9]\d*)$/.test(m[2]!)) return undefined;
    return xvd(disk, part);
  }
  m = /^xvd([a-z]+)(\d*)$/.exec(vdev);
  if (m) {
    const disk = lettersToIndex(m[1]!);
    const part = partition(m[2]!, 255);
    return disk === undefined || part === undefined ? undefined : xvd(disk, part);
  }
  if (/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(vdev)) {
    const n = vdev.startsWith('0x') ? parseInt(vdev, 16) : vdev.length > 1 && vdev.startsWith('0') ? parseInt(vdev, 8) : Number(vdev);
    return n <= 0x7fffffff ? n : undefined;
  }
  m = /^hd([a-z])(\d*)$/.exec(vdev);
  if (m) {
    const disk = m[1]!.charCodeAt(0) - 97;
    const part = partition(m[2]!, 63);
    if (disk > 3 || part === undefined) return undefined;
    return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part;
  }
  m = /^sd([a-z])(\d*)$/.exec(vdev);
  if (m) {
    const disk = m[1]!.charCodeAt(0) - 97;
    const part = partition(m[2]!, 15);
    if (disk > 15 || part === undefined) return undefined;
    return (8 << 8) | (disk << 4) | part;
  }
  return undefined;
}

/** The canonical xvd name of a device number (libxl__devid_to_vdev). */
export function numberToVdev(num: number): string | undefined {
  if (!Number.isInteger(num) || num < 0) return undefined;
  let minor: number;
  let parts: number;
  if (num & EXT_BIT) {
    minor = num & ~EXT_BIT;
    parts = 256;
  } else {
    if (num >> 8 !== XVD_MAJOR) return undefined;
    minor = num & 0xff;
    parts = 16;
  }
  const disk = Math.floor(minor / parts);
  const part = minor % parts;
  return `xvd${indexToLetters(disk)}${part === 0 ? '' : part}`;
}
