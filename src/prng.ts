/**
 * DOC: the project's seeded PRNG — the only source of randomness in `src/` (no global random source).
 *
 * Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, period
 * ≥ 2^32, passes PractRand to 2^40+), seeded through a 128-bit string hash (cyrb128). It is small,
 * fast with 32-bit integer arithmetic in V8, and — the property that matters here — fully
 * deterministic: the same seed yields the same sequence on every platform and Node version.
 *
 * Seeds: a number or a string. A number is hashed through its decimal text, so `Prng(42)` and
 * `Prng('42')` are the same stream (a git SHA or a scenario name is a valid seed). The first 16
 * outputs are discarded to spread a weak seed over the state.
 *
 * `fork(label)` derives an independent child from the ORIGINAL seed and the label, not from the
 * parent's current position: adding a draw somewhere in the parent never shifts a child's stream,
 * so a subsystem (e.g. the device of memdev `mem1`, `prng.fork('mem1')`) replays identically when
 * unrelated code changes. Forking the same label twice yields the same stream, on purpose.
 *
 * API: `next()` float in [0, 1) (a drop-in for the global random source), `u32()` raw 32-bit integer,
 * `int(n)` integer in [0, n), `range(lo, hi)` integer in [lo, hi] (inclusive), `chance(p)` true
 * with probability p, `pick(arr)` a uniformly chosen element, `shuffle(arr)` in place,
 * `fork(label)` a child stream, `seed` the normalised seed text.
 */

/** cyrb128: a 128-bit non-cryptographic string hash, used only to expand seeds into state. */
export function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export type Seed = number | string;

export class Prng {
  /** the normalised seed text this stream was built from (forks append `/label`) */
  readonly seed: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Seed) {
    this.seed = typeof seed === 'number' ? String(seed) : seed;
    [this.a, this.b, this.c, this.d] = cyrb128(this.seed);
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** Raw 32-bit unsigned output (sfc32 step). */
  u32(): number {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }

  /** Float in [0, 1), 32 bits of entropy. */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). n must be a positive integer ≤ 2^32; otherwise RangeError. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`prng.int: n=${n} must be an integer in [1, 2^32]`);
    // Rejection sampling avoids modulo bias for n that do not divide 2^32.
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % n;
    }
  }

  /** Integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(`prng.range: bad bounds [${lo}, ${hi}]`);
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p (p ≤ 0 never, p ≥ 1 always; no draw is consumed for those). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** A uniformly chosen element; RangeError on an empty array. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('prng.pick: empty array');
    return arr[this.int(arr.length)] as T;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = t;
    }
    return arr;
  }

  /** An independent child stream derived from the original seed and `label` (see DOC). */
  fork(label: string): Prng {
    return new Prng(`${this.seed}/${label}`);
  }
}

/** Convenience constructor. */
export function prng(seed: Seed): Prng {
  return new Prng(seed);
}
