/**
 * The `hostile` personality: the cxl-test rules plus a seeded generator of bad payloads. Every
 * malformed chain kind and every mailbox lie is selected explicitly and checked on the wire, with
 * the device in a worker and this thread as the host.
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import {
  CONFIG_VIOLATIONS, EVENT_RECORD_LIES, EXTENT_LIST_LIES, MOCK_PRE_TAG,
  type ConfigViolation, type DeviceConfig, type EventRecordLie, type ExtentListLie, type HostileOptions,
} from '../src/device/config.js';
import { DcdDevice } from '../src/device/device.js';
import { HostilePersonality, seedTag } from '../src/device/hostile.js';
import { HOSTILE_CHAIN_KINDS } from '../src/device/hostile-kinds.js';
import { startDevice, recExtent, MiB, GiB } from './helpers/device-harness.js';

const M = MiB;
const BASE = 2 * GiB;
const SEED = 'hostile-seed-1';
const PINNED: HostileOptions = { configViolation: 'none', extentListLie: 'none', eventRecordLie: 'none' };

function cfg(hostile: HostileOptions = PINNED, over: Partial<DeviceConfig> = {}): DeviceConfig {
  return {
    name: 'mem2', serial: 3, personality: 'hostile', seed: SEED, payloadSize: 4096, staticBytes: BASE,
    partitions: [{ base: BASE, decodeLength: 512 * M, length: 512 * M, blockSize: 512, dsmadHandle: 0xfa, sharable: false }],
    preAccepted: [{ dpa: BASE + 128 * M, length: 64 * M, tag: null, seq: 0 }, { dpa: BASE + 256 * M, length: 64 * M, tag: MOCK_PRE_TAG, seq: 0 }],
    hostile,
    ...over,
  };
}

const h = await startDevice(cfg());
t.teardown(() => h.close());
const { dev, host } = h;
async function reset(c: DeviceConfig = cfg()): Promise<void> {
  const r = await dev.reconfigure(c);
  if (!r.ok) throw new Error(r.error);
}
const rc = (n: number) => W.rcName(n);

t.test('hostile keeps the cxl-test rules (exact match, offer order, mock 9)', async (t) => {
  await reset();
  await dev.injectRecords([{ offset: 0, length: 2 * M, more: true }, { offset: 2 * M, length: 2 * M }]);
  host.drain();
  t.equal(rc(host.addResponse([{ dpa: BASE + 2 * M, length: 2 * M }, { dpa: BASE, length: 2 * M }])), '-EINVAL', 'the mock errno, unchanged');
  t.equal(rc(host.addResponse([{ dpa: BASE, length: 2 * M }])), 'SUCCESS');
  t.equal((await dev.counters()).internalErrors, 0);
});

t.test('generator: every malformed chain kind reaches the host as specified', async (t) => {
  const expect: Record<string, (recs: ReturnType<typeof recExtent>[], raw: W.DcEventRecord[]) => boolean> = {
    'misaligned': (r) => r.length === 1 && (r[0]?.dpa ?? 0) % (2 * M) !== 0,
    'zero-length': (r) => r.length === 1 && r[0]?.length === 0,
    'outside-partition': (r) => r.length === 1 && (r[0]?.dpa ?? 0) >= BASE + 512 * M,
    'dup-tag': (r) => r.length === 1 && r[0]?.tag === seedTag(SEED, 'dup-tag'),
    'seq-gap': (r) => JSON.stringify(r.map((x) => [x.seq, x.more])) === '[[0,true],[2,false]]' && r[0]?.tag === r[1]?.tag && r[0]?.tag !== W.NULL_UUID,
    'seq-dup': (r) => JSON.stringify(r.map((x) => x.seq)) === '[0,0]',
    'seq-nonzero-start': (r) => JSON.stringify(r.map((x) => x.seq)) === '[1,2]',
    'null-tag-sharable': (r) => r.length === 1 && r[0]?.tag === W.NULL_UUID,
    'nonzero-seq-nonsharable': (r) => r.length === 1 && r[0]?.seq !== 0 && r[0]?.tag !== W.NULL_UUID,
    'never-closing': (r) => r.length === 3 && r.every((x) => x.more),
    'over-100': (r) => r.length === 101 && r.slice(0, 100).every((x) => x.more) && r[100]?.more === false,
    'overlap-accepted': (r) => r.length === 1 && (r[0]?.dpa ?? 0) > BASE + 128 * M && (r[0]?.dpa ?? 0) < BASE + 192 * M,
    'interleaved-tags': (r) => r.length === 3 && r[0]?.tag === r[2]?.tag && r[0]?.tag !== r[1]?.tag && JSON.stringify(r.map((x) => x.more)) === '[true,true,false]',
    'wrong-event-type': (r) => JSON.stringify(r.map((x) => x.type)) === '[4,5]',
    'bad-record-uuid': (_r, raw) => raw.length === 0,
  };
  for (const kind of HOSTILE_CHAIN_KINDS) {
    await reset();
    const res = await dev.hostileInject(kind);
    t.ok(res.ok, `${kind}: generated`);
    // Collect raw images too: a foreign record UUID does not decode as a DC record.
    const raw: W.DcEventRecord[] = [];
    let foreign = 0;
    for (let i = 0; i < 200; i++) {
      const g = host.getEvents();
      const n = g.value?.recordCount ?? 0;
      if (n === 0) break;
      for (const img of g.value?.records ?? []) {
        const d = W.decodeDcEventRecord(img);
        if (d.ok) raw.push(d.value);
        else if (d.error.code === 'bad-uuid') foreign++;
      }
      const hs = (g.value?.records ?? []).map((img) => new DataView(img.buffer, img.byteOffset + 0x14, 2).getUint16(0, true));
      host.clear(hs);
    }
    const recs = raw.map(recExtent);
    if (kind === 'u64-wrap') t.ok(raw.length === 1 && W.u64RangeWraps(raw[0]?.extent.startDpa ?? 0n, raw[0]?.extent.length ?? 0n), 'u64-wrap: start + length wraps past 2^64');
    else t.ok(expect[kind]?.(recs, raw), `${kind}: ${JSON.stringify(recs.slice(0, 4).map((r) => [r.type, r.dpa - BASE, r.length, r.tag.slice(0, 8), r.seq, r.more]))}`);
    if (kind === 'bad-record-uuid') t.equal(foreign, 1, 'bad-record-uuid: the host sees a record with a foreign UUID');
  }
  t.equal((await dev.counters()).internalErrors, 0);
});

t.test('dup-tag is derived from the seed alone: two memdevs with the same seed collide', async (t) => {
  const other = new DcdDevice({ ...cfg(), name: 'mem7', serial: 8 });
  t.ok(other.hostileInject('dup-tag').ok);
  const tagOther = other.eventLog().records[0]?.tag;
  await reset();
  await dev.hostileInject('dup-tag');
  const [r] = host.drain();
  t.equal(r?.extent.uuid, tagOther, 'same tag on mem2 and mem7');
  const third = new DcdDevice({ ...cfg(), seed: 'another-seed' });
  third.hostileInject('dup-tag');
  t.not(third.eventLog().records[0]?.tag, tagOther, 'a different seed gives a different tag');
});

t.test('O1 on the hostile/mock device: a tag-grouped response to an interleaved chain is refused part-way', async (t) => {
  await reset();
  await dev.hostileInject('interleaved-tags');
  const r = host.drain().map(recExtent);
  const [a1, b1, a2] = r;
  // v11 cxl_add_pending responds grouped by tag: A1, A2, B1.
  const resp = [a1, a2, b1].map((x) => ({ dpa: x?.dpa ?? 0, length: x?.length ?? 0 }));
  t.equal(rc(host.addResponse(resp)), '-EINVAL', 'B1 (offer 1) after A2 (offer 2)');
  const acc = (await dev.accepted()).map((e) => e.dpa);
  t.ok(acc.includes(a1?.dpa ?? -1) && acc.includes(a2?.dpa ?? -1) && !acc.includes(b1?.dpa ?? -1), 'A1 and A2 accepted, B1 still sent: torn');
});

t.test('never-closing and over-100 chains flow through a 16-record log as the host drains', async (t) => {
  await reset();
  t.ok((await dev.hostileInject('never-closing', { count: 40 })).ok);
  const recs = host.drain();
  t.equal(recs.length, 40);
  t.ok(recs.every((r) => (r.flags & 1) === 1), 'no record ever closes the chain');
  await reset();
  const r = await dev.hostileInject('over-100', { count: 150 });
  t.match(r, { ok: true, records: 150 });
  t.equal(host.drain().length, 150);
});

t.test('hostileBurst draws kinds from the seed, reproducibly', async (t) => {
  await reset();
  const a = await dev.hostileBurst(12);
  await reset();
  const b = await dev.hostileBurst(12);
  t.ok(a.ok && b.ok);
  if (a.ok && b.ok) {
    t.same(a.kinds, b.kinds, 'same seed, same chains');
    t.ok(new Set(a.kinds).size > 3, `varied: ${a.kinds.join(',')}`);
  }
  host.drain();
});

t.test('seeded lie choices: deterministic per seed, varied across seeds, pinnable', async (t) => {
  const seen = new Set<string>();
  let none = 0;
  for (let s = 0; s < 40; s++) {
    const d = new DcdDevice({ ...cfg({}), seed: s });
    const c = (d.p as HostilePersonality).choices();
    const again = (new DcdDevice({ ...cfg({}), seed: s }).p as HostilePersonality).choices();
    if (JSON.stringify(c) !== JSON.stringify(again)) t.fail(`seed ${s} not deterministic`);
    seen.add(c.configViolation);
    if (c.configViolation === 'none') none++;
  }
  t.ok(none > 5 && none < 35, `about half the seeds tell no config lie (${none}/40)`);
  t.ok(seen.size > 5, `config violations vary across seeds: ${[...seen].join(',')}`);
  await reset(cfg({ configViolation: 'C3-skip-pmem', extentListLie: 'none', eventRecordLie: 'none' }));
  t.same(await dev.hostileChoices(), { configViolation: 'C3-skip-pmem', extentListLie: 'none', eventRecordLie: 'none' });
});

/** The host's configuration checks (docs/kernel-map.md steps 1–7), returning the violated rule. */
function hostVerdict(code: number, out: Uint8Array, staticBytes: number): string {
  if (code !== W.RC.SUCCESS) return code === W.RC.UNSUPPORTED ? 'C4' : 'C1';
  const d = W.decodeGetDcConfigOut(out);
  if (!d.ok) return 'C1';
  const v = d.value;
  if (v.partitionsReturned > 8) return 'C1';
  if (v.partitionsReturned === 0 && v.availPartitionCount > 0) return 'C1';
  if (v.partitionsReturned < 1 || v.availPartitionCount < 1 || v.availPartitionCount > 8) return 'C1';
  const MUL = 256n * 1024n * 1024n;
  let prevEnd = -1n;
  for (const p of v.partitions) {
    const size = p.decodeLength * MUL;
    if (p.dsmadHandle > 0xff) return 'C2';
    if (prevEnd > p.base) return 'C2';
    if (size === 0n || p.length === 0n || size < p.length || (p.blockSize !== 0n && p.length % p.blockSize !== 0n)) return 'C2';
    const bs = p.blockSize;
    if (bs === 0n || bs % 0x40n !== 0n || (bs & (bs - 1n)) !== 0n) return 'C2';
    if (p.base % MUL !== 0n || p.base % bs !== 0n) return 'C2';
    prevEnd = p.base + size;
  }
  if (v.partitions[0]?.base !== BigInt(staticBytes)) return 'C3';
  return 'ok';
}

t.test('partition configs violating C1-C4, one per option', async (t) => {
  await reset();
  const sane = host.getConfig();
  t.equal(hostVerdict(sane.rc, sane.out, BASE), 'ok', 'no violation: the host accepts the config');
  for (const v of CONFIG_VIOLATIONS) {
    await reset(cfg({ ...PINNED, configViolation: v as ConfigViolation }));
    const g = host.getConfig();
    t.equal(hostVerdict(g.rc, g.out, BASE), v.slice(0, 2), `${v} is rejected by the host as ${v.slice(0, 2)}`);
    if (v === 'C4-no-dc-opcodes') {
      for (const op of [W.CXL_MBOX_OP.GET_DC_EXTENT_LIST, W.CXL_MBOX_OP.ADD_DC_RESPONSE, W.CXL_MBOX_OP.RELEASE_DC]) {
        t.equal(rc(host.cmd(op, new Uint8Array(8)).rc), 'UNSUPPORTED', `C4: ${W.opcodeName(op)} unsupported`);
      }
    }
  }
});

t.test('Get DC Extent List lies: count beyond the payload, phantom total, generation changing mid-scan, short, u64 wrap', async (t) => {
  const lie = async (l: ExtentListLie) => reset(cfg({ ...PINNED, extentListLie: l, lieRate: 1, generationFlips: 3 }));
  for (const l of EXTENT_LIST_LIES) {
    await lie(l);
    const x = host.getExtentList(0, 1);
    t.equal(rc(x.rc), 'SUCCESS', `${l}: the command itself succeeds`);
    switch (l) {
      case 'count-exceeds-payload':
        t.equal(x.error?.code, 'count-exceeds-payload', 'returned_extent_count larger than the payload');
        break;
      case 'total-exceeds':
        t.ok((x.value?.totalExtentCount ?? 0) > 2, `total ${x.value?.totalExtentCount} > 2 real extents`);
        break;
      case 'short-payload':
        t.equal(x.out.length, 8);
        t.equal(x.error?.code, 'short-payload');
        break;
      case 'u64-wrap-extent':
        t.ok(x.value && W.u64RangeWraps(x.value.extents[0]?.startDpa ?? 0n, x.value.extents[0]?.length ?? 0n), 'first extent wraps');
        break;
      case 'generation-flip': {
        const gens = [x.value?.generationNum, ...[1, 2, 3, 4].map(() => host.getExtentList(1, 1).value?.generationNum)];
        t.ok(new Set(gens.slice(0, 3)).size === 3, `generation changes between pages: ${gens.join(',')}`);
        t.equal(gens[3], gens[4], 'and settles after generationFlips pages, so a retrying host recovers');
        break;
      }
    }
  }
});

t.test('Get Event Records lies: count beyond the payload, short payload, handle 0, MORE_RECORDS forever', async (t) => {
  for (const l of EVENT_RECORD_LIES) {
    await reset(cfg({ ...PINNED, eventRecordLie: l as EventRecordLie, lieRate: 1 }));
    await dev.injectRecords([{ offset: 0, length: 2 * M, more: true }, { offset: 2 * M, length: 2 * M }]);
    const r = host.cmd(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array([4]));
    t.equal(rc(r.rc), 'SUCCESS');
    const d = W.decodeGetEventRecordsOut(r.out);
    switch (l) {
      case 'count-exceeds-payload':
        t.match(d, { ok: false, error: { code: 'count-exceeds-payload' } });
        break;
      case 'short-payload':
        t.match(d, { ok: false, error: { code: 'short-payload' } });
        break;
      case 'zero-handle': {
        t.ok(d.ok);
        const img = d.ok ? d.value.records[0] : undefined;
        const handle = img ? new DataView(img.buffer, img.byteOffset).getUint16(0x14, true) : -1;
        t.equal(handle, 0, 'first record carries handle 0');
        t.equal(rc(host.clear([0])), '-EINVAL', 'clearing handle 0 is refused (R9; the mock answers -EINVAL)');
        break;
      }
      case 'more-records-forever':
        t.ok(d.ok && (d.value.flags & W.GET_EVENT_FLAG_MORE_RECORDS) !== 0);
        break;
    }
    t.equal((await dev.counters()).lies >= 1, true, `${l}: counted as a lie`);
  }
});

t.test('lieRate: lies are intermittent so the host can make progress', async (t) => {
  await reset(cfg({ ...PINNED, eventRecordLie: 'short-payload', lieRate: 0.25 }));
  await dev.injectRecords([{ offset: 0, length: 2 * M }]);
  let lies = 0;
  const N = 200;
  for (let i = 0; i < N; i++) if (host.cmd(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array([4])).out.length === 0x10) lies++;
  t.ok(lies > N * 0.1 && lies < N * 0.45, `${lies}/${N} replies lied`);
  let got = 0;
  for (let i = 0; i < 50 && got === 0; i++) {
    const g = host.getEvents(); // a lying reply fails to decode: the host retries
    if (g.value && g.records.length > 0) {
      got = g.records.length;
      t.equal(rc(host.clear(g.records.map((r) => r.hdr.handle))), 'SUCCESS');
    }
  }
  t.equal(got, 1, 'the record still gets through');
});
