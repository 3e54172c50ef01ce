// Raw u64 record fields (issue 13 point 11): add-capacity extents take offsets and lengths up to
// 2^64−1 as decimal or hex strings, kept exact past 2^53 from the scenario validator through the
// FM API (a real device worker, across the worker boundary) into the DC event record the device
// encodes; the host's E1 check (cxl_extent_dc_partition, `end < start`) then sees the wrap.
import { join } from 'node:path';
import t from 'tap';
import type { DeviceConfig } from '../src/device/config.js';
import { parseSize, parseU64Size, U64_MAX } from '../src/scenario/units.js';
import { parseScenario } from '../src/scenario/validate.js';
import type { AddCapacityStep } from '../src/scenario/types.js';
import { startDevice, MiB, GiB } from './helpers/device-harness.js';
import { dcdRun, SCENARIO_DIR } from './helpers/scenario-files.js';

const M = MiB;
const BASE = 2 * GiB;
/** 2^53 + 1: the first integer a double cannot hold (it rounds to 2^53) */
const P53_1 = 9007199254740993n;
/** a start DPA 2M below 2^64: with a 4M length, start + length − 1 wraps to 0x1fffff */
const WRAP_DPA = 0xffff_ffff_ffe0_0000n;

t.test('parseU64Size: exact to 2^64−1, numbers where they are exact, bigints past 2^53', async (t) => {
  t.same(parseU64Size('0xffffffffffffffff'), { ok: true, value: U64_MAX }, 'hex u64 max');
  t.same(parseU64Size('18446744073709551615'), { ok: true, value: U64_MAX }, 'decimal u64 max');
  t.same(parseU64Size('9007199254740993'), { ok: true, value: P53_1 }, '2^53 + 1 stays exact (a double would round it)');
  t.same(parseU64Size('9007199254740991'), { ok: true, value: Number.MAX_SAFE_INTEGER }, '2^53 − 1 is a number');
  t.same(parseU64Size('64M'), { ok: true, value: 64 * M }, 'suffixes as parseSize');
  t.same(parseU64Size('16384T'), { ok: true, value: 1n << 54n }, 'a suffix past 2^53 too');
  t.match(parseU64Size('18446744073709551616'), { ok: false, error: { kind: 'size-too-large', message: /exceeds 2\^64-1/ } }, '2^64 refused');
  t.match(parseU64Size('0x10000000000000000'), { ok: false, error: { kind: 'size-too-large' } });
  t.match(parseU64Size(2 ** 60), { ok: false, error: { kind: 'size-too-large', message: /write it as a string.*"0x1000000000000000"/ } }, 'an inexact JSON number is refused, naming the string to write');
  t.match(parseU64Size('-0xffffffffffffffffff'), { ok: false, error: { kind: 'negative-size' } });
  t.match(parseSize('0xffffffffffe00000'), { ok: false, error: { kind: 'size-too-large', message: /exceeds 2\^53-1 bytes/ } }, 'other sizes keep the 2^53 limit');
});

t.test('the validator keeps add-capacity u64s exact and keeps every other size below 2^53', async (t) => {
  const doc = (steps: unknown[], memdev: object = { name: 'mem0' }): string => JSON.stringify({ topology: { memdevs: [memdev] }, steps });
  const ok = parseScenario(doc([
    { op: 'add-capacity', memdev: 'mem0', extents: [
      { offset: '0xffffffff7fe00000', length: '4M' },
      { offset: '9007199254740993', length: '0xffffffffffffffff' },
      { offset: 0, length: '2M' },
    ] },
  ]), 's.json');
  t.ok(ok.ok, ok.ok ? 'valid' : JSON.stringify(ok.errors));
  if (ok.ok) {
    const ext = (ok.scenario.steps[0] as AddCapacityStep).extents;
    t.equal(ext[0]!.offset, 0xffff_ffff_7fe0_0000n, 'hex offset → exact bigint');
    t.equal(ext[0]!.length, 4 * M, 'small length → number');
    t.equal(ext[1]!.offset, P53_1, 'decimal 2^53 + 1 → exact bigint');
    t.equal(ext[1]!.length, U64_MAX, 'length u64 max');
    t.equal(ext[2]!.offset, 0, 'ordinary values stay numbers');
  }
  const errs = (text: string): string[] => { const r = parseScenario(text, 's.json'); return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`); };
  t.match(errs(doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: '18446744073709551616', length: '2M' }] }])),
    [/^\$\.steps\[0\]\.extents\[0\]\.offset: offset: "18446744073709551616" exceeds 2\^64-1/], 'past u64: named with its path');
  t.match(errs(doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '0x0' }] }])),
    [/^\$\.steps\[0\]\.extents\[0\]\.length: length must be a positive size/], 'zero length still refused');
  t.match(errs(doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 9007199254740993, length: '2M' }] }])),
    [/extents\[0\]\.offset: offset: size 9007199254740992 is past 2\^53-1.*write it as a string/], 'a JSON number past 2^53 (already rounded by JSON.parse) is refused');
  t.match(errs(doc([{ op: 'release-capacity', memdev: 'mem0', extents: [{ offset: '0xffffffffffe00000', length: '2M' }] }])),
    [/extents\[0\]\.offset: offset: "0xffffffffffe00000" exceeds 2\^53-1 bytes/], 'release records keep the safe-integer limit');
  t.match(errs(doc([], { name: 'mem0', preAccepted: [{ offset: '0xffffffffffe00000', length: '2M' }] })),
    [/preAccepted\[0\]\.offset: offset: "0xffffffffffe00000" exceeds 2\^53-1 bytes/], 'pre-accepted extents too (device state)');
});

const C: DeviceConfig = {
  name: 'mem0', serial: 2, personality: 'cxl-test', seed: 'u64', payloadSize: 4096, staticBytes: BASE,
  partitions: [{ base: BASE, decodeLength: 512 * M, length: 512 * M, blockSize: 2 * M, dsmadHandle: 0xfa, sharable: false }],
  preAccepted: [],
};

t.test('the FM API encodes u64 records exactly, in order among ordinary ones (device worker)', async (t) => {
  const h = await startDevice(C);
  t.teardown(() => h.close());
  const { dev, host } = h;

  const r = await dev.injectRecords([
    { offset: 0, length: 2 * M, tag: null, more: true },
    { offset: WRAP_DPA - BigInt(BASE), length: 4n * BigInt(M), tag: null, more: true },
    { offset: P53_1, length: 2 * M, tag: null, more: false },
  ]);
  t.match(r, { ok: true, records: 3 }, 'three records logged');
  if (r.ok) t.same(r.extents.map((e) => e.dpa), [BASE], 'only the ordinary record is FM state');
  const recs = host.drain();
  t.equal(recs.length, 3, 'three DC event records read back');
  t.same(recs.map((x) => [x.extent.startDpa, x.extent.length, x.flags & 1]), [
    [BigInt(BASE), 2n * BigInt(M), 1],
    [WRAP_DPA, 4n * BigInt(M), 1],
    [BigInt(BASE) + P53_1, 2n * BigInt(M), 0],
  ], 'record bytes carry the exact u64s, in order, More as written');
  t.ok(((recs[1]!.extent.startDpa + recs[1]!.extent.length - 1n) & U64_MAX) < recs[1]!.extent.startDpa, 'the second record wraps: end < start');

  const small = await dev.injectRecords([{ offset: 64n * BigInt(M), length: 2n * BigInt(M), tag: null }]);
  t.match(small, { ok: true, extents: [{ dpa: BASE + 64 * M, length: 2 * M }] }, 'a bigint that fits 2^53 is an ordinary record');
  host.drain();

  const zero = await dev.injectRecords([{ offset: WRAP_DPA, length: 0n, tag: null }]);
  t.match(zero, { ok: false, errno: 'EINVAL' }, 'zero length refused (new_extent_valid)');
  const over = await dev.injectRecords([{ offset: 1n << 64n, length: 2 * M, tag: null }]);
  t.match(over, { ok: false, errno: 'EINVAL' }, 'a value past 2^64 − 1 refused');

  const q = await dev.reconfigure({ ...C, personality: 'qemu' });
  t.ok(q.ok, 'now as QEMU');
  const refused = await dev.injectRecords([{ offset: 0, length: 2 * M, tag: null, more: true }, { offset: WRAP_DPA - BigInt(BASE), length: 4 * M, tag: null }]);
  t.match(refused, { ok: false, errno: 'EINVAL', message: /beyond the region end \(R3\)/ }, 'QEMU refuses it (R3)');
  t.equal(host.drain().length, 0, 'and logs nothing of the command');

  // the tag RFC tree has the same FM checks (it logged the record as the mock does until the
  // personality interface moved this rule into qemu.ts)
  const rfc = await dev.reconfigure({ ...C, personality: 'qemu-tag-rfc' });
  t.ok(rfc.ok, 'now as QEMU with the tag RFC');
  const refusedRfc = await dev.injectRecords([{ offset: WRAP_DPA - BigInt(BASE), length: 4 * M, tag: null }]);
  t.match(refusedRfc, { ok: false, errno: 'EINVAL', message: /beyond the region end \(R3\)/ }, 'qemu-tag-rfc refuses it too (R3)');
  t.equal(host.drain().length, 0, 'and logs nothing');
});

t.test('end to end: scenarios/fm-wrapping-record.json — the host refuses the wrap at E1', async (t) => {
  const r = await dcdRun(['run', join(SCENARIO_DIR, 'fm-wrapping-record.json'), '--json']);
  t.equal(r.err, '');
  const doc = JSON.parse(r.out) as {
    ok: boolean; failures: string[];
    state: { trace: { log: string[]; dynamicCapacityEvents: Array<{ eventType: string; dpaStart: number }> }; regions: Record<string, { extents: unknown[] }> };
  };
  t.equal(r.code, 0, `exit 0${doc.failures.length ? `: ${doc.failures.join('; ')}` : ''}`);
  t.same(doc.failures, []);
  const log = doc.state.trace.log;
  t.equal(log.filter((l) => /invalid length \(firmware bug\)/.test(l)).length, 1, 'exactly one E1 refusal: the wrapping record, not the 2^53 + 1 or 2^54 ones');
  t.ok(log.some((l) => /not 2097152-aligned/.test(l)), '2^53 + 1 reached the host exact: odd, so G4 drops it (rounded to 2^53 it would be aligned)');
  t.ok(log.some((l) => /not in a DC partition/.test(l)), '2^54 does not wrap: the partition check refuses it');
  t.equal(doc.state.trace.dynamicCapacityEvents.filter((e) => e.eventType === 'ADD_CAPACITY').length, 4, 'the host read all four records');
  t.equal(doc.state.regions.region0?.extents.length, 1, 'and tracks only the valid one');
});
