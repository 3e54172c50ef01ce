/**
 * The perf8 fast paths (#17, docs/performance.md "Tenth session: the event thread's host work") against the code they stand beside, over seeded
 * random inputs, malformed ones included:
 *   - encodeDcResponseRanges (numbers written as two 32-bit halves, no DataView, no BigInt) vs
 *     encodeDcResponse of the same ranges as BigInts: the same bytes, or the same error;
 *   - stage_extent's E1 wrap test and G4 alignment computed from numbers vs the u64 BigInt
 *     arithmetic v11's cxl_extent_dc_partition() does (extent.ts keeps both; this checks the rule).
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import { Prng } from '../src/prng.js';
import { PMD_SIZE } from '../src/units.js';

function randNum(r: Prng): number {
  switch (r.int(9)) {
    case 0: return r.int(2 ** 31) * 4096;
    case 1: return -r.int(1000) - 1;
    case 2: return r.next() * 1e6; // a fraction: BigInt() throws
    case 3: return Number.MAX_SAFE_INTEGER - r.int(3);
    case 4: return 2 ** 53 + 2 * r.int(1000); // beyond 2^53
    case 5: return 2 ** 32 * r.int(1 << 20) + r.int(2 ** 32); // both halves
    case 6: return r.chance(0.5) ? 0 : -0;
    case 7: return r.chance(0.5) ? NaN : Infinity;
    default: return r.int(2 ** 20) * PMD_SIZE;
  }
}

t.test('encodeDcResponseRanges writes what encodeDcResponse writes for the same ranges as BigInts', async (t) => {
  const r = new Prng('perf8-dc-response');
  let same = 0;
  let refused = 0;
  for (let i = 0; i < 6000; i++) {
    const n = r.int(12);
    const list = Array.from({ length: n }, () => ({ dpa: r.chance(0.7) ? r.int(2 ** 20) * PMD_SIZE : randNum(r), len: r.chance(0.7) ? PMD_SIZE * (1 + r.int(4)) : randNum(r) }));
    const from = n ? r.int(n) : 0;
    const count = r.int(n - from + 1);
    const flags = r.chance(0.8) ? r.int(2) : r.int(1 << 12) - 100;
    const size = r.chance(0.9) ? W.dcResponseSize(count) + r.int(64) : r.int(W.dcResponseSize(count) + 1);
    const off = r.chance(0.8) ? r.int(8) : r.int(size + 8) - 4;
    const a = new Uint8Array(size + 16).fill(0xa5);
    const b = new Uint8Array(size + 16).fill(0xa5);
    let ea: unknown = null;
    let eb: unknown = null;
    let la = -1;
    let lb = -1;
    try {
      la = W.encodeDcResponseRanges(flags, list, from, count, a.subarray(0, size), off);
    } catch (e) { ea = e; }
    try {
      const extents = list.slice(from, from + count).map((x) => ({ dpaStart: BigInt(x.dpa), length: BigInt(x.len) }));
      lb = W.encodeDcResponse({ flags, extents }, b.subarray(0, size), off);
    } catch (e) { eb = e; }
    if ((ea === null) !== (eb === null)) t.fail(`case ${i}: one threw (${String(ea)} | ${String(eb)})`);
    else if (ea !== null) {
      if (String(ea) !== String(eb)) t.fail(`case ${i}: different errors ${String(ea)} vs ${String(eb)}`);
      refused++;
    } else if (la !== lb || !a.every((v, k) => v === b[k])) {
      t.fail(`case ${i}: different bytes (${la} vs ${lb})`);
    } else same++;
  }
  t.ok(same > 2000 && refused > 200, `both ways exercised: ${same} identical, ${refused} refused the same way`);
  t.comment(`${same} identical encodings, ${refused} refused by both with the same error`);
});

t.test("stage_extent's number rules for E1 (wrap) and G4 (PMD alignment) agree with v11's u64 arithmetic", async (t) => {
  const r = new Prng('perf8-stage');
  const MASK = 0xffffffffffffffffn;
  const PMD = BigInt(PMD_SIZE);
  let n = 0;
  let wrapped = 0;
  let aligned = 0;
  const pick = (): bigint => {
    switch (r.int(6)) {
      case 0: return 0n;
      case 1: return BigInt(r.int(2 ** 20)) * PMD;
      case 2: return BigInt(r.int(2 ** 31)) * 4096n + BigInt(r.int(3));
      case 3: return BigInt(Number.MAX_SAFE_INTEGER) - BigInt(r.int(3));
      case 4: return BigInt(r.int(2 ** 30)) * 2n ** 20n;
      default: return BigInt(r.int(16));
    }
  };
  for (let i = 0; i < 20000; i++) {
    const sb = pick();
    const lb = pick();
    const s = W.u64ToNumber(sb);
    const l = W.u64ToNumber(lb);
    if (s === null || l === null) continue; // the BigInt path is kept for those
    const wrapsBig = ((sb + lb - 1n) & MASK) < sb;
    const alignedBig = sb % PMD === 0n && lb % PMD === 0n;
    const wrapsNum = l === 0 && s > 0;
    const alignedNum = s % PMD_SIZE === 0 && l % PMD_SIZE === 0;
    if (wrapsBig !== wrapsNum || alignedBig !== alignedNum) { t.fail(`start ${sb} len ${lb}: wrap ${wrapsBig}/${wrapsNum} aligned ${alignedBig}/${alignedNum}`); break; }
    n++;
    if (wrapsBig) wrapped++;
    if (alignedBig) aligned++;
  }
  t.ok(n > 15000 && wrapped > 100 && aligned > 100, `${n} pairs agree (${wrapped} wrap, ${aligned} aligned)`);
});
