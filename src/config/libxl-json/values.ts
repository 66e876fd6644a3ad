// The two model values that libxl stores in another form: xl's CPU lists (a bitmap per vcpu)
// and xl's vif rate (bytes per replenishment interval). Both directions, with the forms written
// back chosen so that writing them again gives the same libxl values.

/** Why a value cannot be converted; the caller names the field. */
export class ValueError extends Error {}

/** Highest CPU number accepted in a list (Xen's NR_CPUS is at most 8192 on x86). */
const MAX_CPU = 8191;

/**
 * xl's CPU list ("0-3,^2", "5", "all") → the set CPUs, sorted. "all" needs the host's CPU count;
 * "nodes:" needs its NUMA layout, which no libxl config carries.
 */
export function cpuListToBits(list: string, hostCpus: number | undefined): number[] {
  const set = new Set<number>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'all') {
      if (hostCpus === undefined) throw new ValueError('"all" needs the host\'s CPU count (the hostCpus option)');
      for (let c = 0; c < hostCpus; c++) set.add(c);
      continue;
    }
    if (/^nodes?:/.test(item)) throw new ValueError(`${JSON.stringify(item)} names NUMA nodes; a libxl config needs the CPUs themselves`);
    const m = /^(\^?)(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) throw new ValueError(`${JSON.stringify(item)} is not a CPU, a range or ^CPU`);
    const from = Number(m[2]);
    const to = m[3] !== undefined ? Number(m[3]) : from;
    if (to < from || to > MAX_CPU) throw new ValueError(`${JSON.stringify(item)} is not a valid CPU range`);
    for (let c = from; c <= to; c++) {
      if (m[1]) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** A set of CPUs → the shortest xl list: runs as "a-b", single CPUs as "a" ("0-1,3"). */
export function bitsToCpuList(bits: readonly number[]): string {
  const sorted = [...new Set(bits)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface NicRate {
  bytesPerInterval: number;
  intervalUsecs: number;
}

const UINT32_MAX = 0xffffffff;
const UNIT: Record<string, number> = { G: 1e9, M: 1e6, K: 1e3, '': 1 };

/** strtoull(…, 0) on an all-digit string: a leading 0 makes it octal, as in xl. */
function cNumber(digits: string): number {
  return digits.length > 1 && digits.startsWith('0') ? parseInt(digits, 8) : Number(digits);
}

/** xl's vif `rate=` ("10Mb/s", "1MB/s@20ms") as libxl stores it (libxlu_vif.c's rules). */
export function parseRate(rate: string): NicRate {
  const [perSec = '', interval, ...more] = rate.split('@');
  if (more.length > 0) throw new ValueError('more than one "@"');
  const r = /^([0-9]+)([GMK]?)([Bb])\/s$/.exec(perSec);
  if (!r) throw new ValueError(`${JSON.stringify(perSec)} is not a rate (e.g. 10Mb/s, 1MB/s)`);
  const n = cNumber(r[1]!);
  if (n === 0 || n > UINT32_MAX) throw new ValueError(`${JSON.stringify(perSec)} is out of range`);
  let bytesPerSec = n * UNIT[r[2]!]!;
  if (r[3] === 'b') bytesPerSec = Math.floor(bytesPerSec / 8);
  let intervalUsecs = 50_000; // xl's default: 50 ms
  if (interval !== undefined) {
    const m = /^([0-9]+)([mu]?)s?$/.exec(interval);
    if (!m) throw new ValueError(`${JSON.stringify(interval)} is not an interval (e.g. 50ms, 20000us)`);
    const v = cNumber(m[1]!);
    intervalUsecs = v * (m[2] === 'm' ? 1e3 : m[2] === 'u' ? 1 : 1e6);
    if (v === 0 || intervalUsecs > UINT32_MAX) throw new ValueError(`${JSON.stringify(interval)} is out of range`);
  }
  const bytesPerInterval = (BigInt(bytesPerSec) * BigInt(intervalUsecs)) / 1_000_000n;
  // A JSON number beyond 2^53 would not be read back as written.
  if (bytesPerInterval > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValueError('is too large');
  return { bytesPerInterval: Number(bytesPerInterval), intervalUsecs };
}

/**
 * libxl's rate → an xl rate string, and whether parseRate turns it back into exactly these two
 * numbers. It does when the interval is at most a second: rounding the rate per second up adds
 * less than one byte per interval, which parseRate's rounding down takes off again.
 */
export function formatRate(rate: NicRate): { text: string; exact: boolean } {
  const us = rate.intervalUsecs;
  // In integers: bytes × 10^6 passes 2^53 long before the rates do.
  const scaled = BigInt(rate.bytesPerInterval) * 1_000_000n;
  const perSec = scaled / BigInt(us) + (scaled % BigInt(us) === 0n ? 0n : 1n);
  const unit = (['G', 'M', 'K'] as const).find((u) => perSec % BigInt(UNIT[u]!) === 0n) ?? '';
  const interval = us % 1e6 === 0 ? `${us / 1e6}s` : us % 1e3 === 0 ? `${us / 1e3}ms` : `${us}us`;
  // Nothing per interval (xl's rounding of a tiny rate) is written as 1 bit a second, which
  // parseRate rounds to 0 bytes whatever the interval.
  const text = rate.bytesPerInterval === 0 ? `1b/s@${interval}` : `${perSec / BigInt(UNIT[unit]!)}${unit}B/s@${interval}`;
  let exact = false;
  try {
    const back = parseRate(text);
    exact = back.bytesPerInterval === rate.bytesPerInterval && back.intervalUsecs === rate.intervalUsecs;
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
  }
  return { text, exact };
}
