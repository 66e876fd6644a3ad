// The C number parsing cxenstored applies to wire arguments, reproduced exactly so the mock
// answers the same odd inputs the same way: glibc strtol() on a 64-bit long (saturating),
// atoi() = (int)strtol(s, NULL, 10), and the unsigned int conversions of domids.

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
const TWO32 = 1n << 32n;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x5a) return c - 0x41 + 10;
  return 99;
}

export interface StrtolResult {
  /** The (saturated) value as a 64-bit signed long. */
  readonly value: bigint;
  /** Index of the first character not consumed (0 when nothing was parsed). */
  readonly end: number;
}

/** glibc strtol(s, &end, base) for base 0 or 10 (what xenstored uses). */
export function cStrtol(s: string, base: 0 | 10): StrtolResult {
  let i = 0;
  const n = s.length;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (i < n && (s[i] === '+' || s[i] === '-')) {
    neg = s[i] === '-';
    i++;
  }
  let b: number = base === 0 ? 10 : base;
  if (base === 0) {
    if (s[i] === '0') {
      if ((s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s.charCodeAt(i + 2)) < 16) {
        b = 16;
        i += 2;
      } else {
        b = 8;
      }
    }
  }
  const start = i;
  let acc = 0n;
  let overflow = false;
  const bigB = BigInt(b);
  while (i < n) {
    const d = digitValue(s.charCodeAt(i));
    if (d >= b) break;
    if (!overflow) {
      acc = acc * bigB + BigInt(d);
      if (acc > LONG_MAX + 1n) overflow = true;
    }
    i++;
  }
  if (i === start) return { value: 0n, end: 0 };
  let value = neg ? -acc : acc;
  if (overflow || value > LONG_MAX) value = neg ? LONG_MIN : LONG_MAX;
  if (value < LONG_MIN) value = LONG_MIN;
  return { value, end: i };
}

/** Truncates a C long to unsigned int, as assigning it to a `unsigned int` does. */
export function u32(v: bigint): number {
  return Number(((v % TWO32) + TWO32) % TWO32);
}

/** atoi(s) stored in an unsigned int: the domid conversions of GET_DOMAIN_PATH, RELEASE... */
export function atoiU32(s: string): number {
  // Fast path for the common plain-decimal case.
  if (s.length > 0 && s.length < 10 && /^[0-9]+$/.test(s)) return Number(s);
  return u32(cStrtol(s, 10).value);
}

/** atoi(s) as a signed int (INTRODUCE's port check `port <= 0`). */
export function atoiI32(s: string): number {
  const v = u32(cStrtol(s, 10).value);
  return v >= 0x80000000 ? v - 0x100000000 : v;
}
