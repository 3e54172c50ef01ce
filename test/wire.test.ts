/**
 * Wire codecs: round trips for every struct, the decoders' typed errors, the return-code table,
 * and a seeded fuzz of 100,000 random and mutated payloads into every decoder and into
 * DcdDevice.mbox (all three personalities), then across threads into a device worker.
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import { Prng } from '../src/prng.js';
import { DcdDevice } from '../src/device/device.js';
import type { DeviceConfig, Personality } from '../src/device/config.js';
import { startDevice, MiB } from './helpers/device-harness.js';

const TAG = '5be13bce-ae34-4a77-b6c3-16df975fcf1a';
const WRAP = 0xffff_ffff_ffe0_0000n;

function codes(): Set<string> {
  return new Set(['short-payload', 'count-exceeds-payload', 'bad-uuid', 'bad-value', 'unsafe-integer']);
}

t.test('opcodes and the MBOX_RC table', async (t) => {
  t.equal(W.opcodeName(0x4802), 'ADD_DC_RESPONSE');
  t.equal(W.opcodeName(0x0100), 'GET_EVENT_RECORDS');
  t.equal(W.opcodeName(0x1234), 'UNKNOWN_0x1234');
  t.equal(W.MBOX_RC.length, 0x1f, 'codes 0x00..0x1e');
  W.MBOX_RC.forEach((e, i) => t.equal(e.code, i, `${e.name} sits at index ${i}`));
  t.equal(W.rcName(0), 'SUCCESS');
  t.equal(W.rcErrno(0), 'OK');
  t.equal(W.rcName(W.RC.INVALID_PA), 'INVALID_PA');
  t.equal(W.rcErrno(W.RC.INVALID_PA), 'EFAULT', 'kernel CMD_CMD_RC_TABLE: PADDR → -EFAULT');
  t.equal(W.rcErrno(0x10), 'EBUSY', 'POISONLMT → -EBUSY');
  for (const c of [W.RC.INVALID_INPUT, W.RC.UNSUPPORTED, W.RC.INVALID_PAYLOAD_LENGTH, W.RC.RESOURCES_EXHAUSTED, W.RC.INVALID_EXTENT_LIST]) {
    t.equal(W.rcErrno(c), 'ENXIO', `${W.rcName(c)} → -ENXIO`);
  }
  t.equal(W.rcName(0x16), 'INVALID_PAYLOAD_LENGTH');
  t.equal(W.rcName(0x1d), 'RESOURCES_EXHAUSTED');
  t.equal(W.rcName(0x1e), 'INVALID_EXTENT_LIST');
  t.equal(W.rcName(-1), 'TIMEOUT');
  t.equal(W.rcErrno(-1), 'ETIMEDOUT');
  t.equal(W.rcName(0x99), 'RC_0x99');
});

t.test('u64 helpers and UUIDs', async (t) => {
  t.equal(W.u64ToNumber(5n), 5);
  t.equal(W.u64ToNumber(2n ** 53n), null);
  t.equal(W.toU64(-1), W.U64_MASK);
  t.ok(W.u64RangeWraps(WRAP, 0x40_0000n));
  t.notOk(W.u64RangeWraps(WRAP, 0x20_0000n), 'ends exactly at 2^64');
  const b = new Uint8Array(16);
  W.uuidToBytes(TAG.toUpperCase(), b, 0);
  t.equal(W.uuidFromBytes(b, 0), TAG, 'lower-case on decode');
  t.throws(() => W.uuidToBytes('nope', b, 0), RangeError);
  t.equal(W.uuidFromBytes(new Uint8Array(16), 0), W.NULL_UUID);
});

t.test('extent round trip (Table 8-51)', async (t) => {
  const ext = { startDpa: WRAP, length: 0x40_0000n, uuid: TAG, sharedExtnSeq: 0xfffe };
  const b = new Uint8Array(W.EXTENT_SIZE);
  t.equal(W.encodeExtent(ext, b), 0x28);
  t.same(W.decodeExtent(b), { ok: true, value: ext });
  t.match(W.decodeExtent(b.subarray(0, 0x27)), { ok: false, error: { code: 'short-payload' } });
});

t.test('DC event record round trip (Table 8-50, host-kernel §1.3 layout)', async (t) => {
  const rec = W.makeDcEventRecord({ eventType: 1, more: true, handle: 0x1234, timestamp: 0x1122334455667788n, updatedRegionIndex: 3, hostId: 7, numAvailExtents: 509, numAvailTags: 2, extent: { startDpa: 0x8000_0000n, length: 0x20_0000n, uuid: TAG, sharedExtnSeq: 1 } });
  const buf = new Uint8Array(128);
  t.equal(W.encodeDcEventRecord(rec, buf), 128);
  t.same([...W.dcEventRecordBytes(rec)], [...buf], 'allocating variant');
  const dv = new DataView(buf.buffer);
  t.equal(W.uuidFromBytes(buf, 0), W.DC_EVENT_UUID, 'record UUID at 0x00');
  t.equal(buf[0x10], 128, 'length at 0x10');
  t.equal(dv.getUint16(0x14, true), 0x1234, 'handle le16 at 0x14');
  t.equal(dv.getBigUint64(0x18, true), 0x1122334455667788n, 'timestamp at 0x18');
  t.equal(buf[0x30], 1, 'event_type at 0x30');
  t.equal(dv.getUint16(0x32, true), 7, 'host_id at 0x32');
  t.equal(buf[0x34], 3, 'updated_region_index at 0x34');
  t.equal(buf[0x35], 1, 'More flag bit 0 at 0x35');
  t.equal(dv.getBigUint64(0x38, true), 0x8000_0000n, 'extent at 0x38');
  t.equal(dv.getUint32(0x78, true), 509, 'num_avail_extents at 0x78');
  t.equal(dv.getUint32(0x7c, true), 2, 'num_avail_tags at 0x7c');
  const d = W.decodeDcEventRecord(buf);
  t.ok(d.ok);
  if (d.ok) {
    t.same(d.value, rec);
    t.ok(W.dcRecordMore(d.value));
  }
  W.uuidToBytes(TAG, buf, 0);
  t.match(W.decodeDcEventRecord(buf), { ok: false, error: { code: 'bad-uuid' } });
  t.match(W.decodeDcEventRecord(buf.subarray(0, 127)), { ok: false, error: { code: 'short-payload' } });
  for (let type = 0; type <= 5; type++) t.not(W.dcEventTypeName(type), `UNKNOWN_${type}`);
});

t.test('Get Event Records in/out round trip', async (t) => {
  const inb = new Uint8Array(1);
  W.encodeGetEventRecordsIn({ logType: 4 }, inb);
  t.same(W.decodeGetEventRecordsIn(inb), { ok: true, value: { logType: 4 } });
  t.match(W.decodeGetEventRecordsIn(new Uint8Array(0)), { ok: false, error: { code: 'short-payload' } });
  const r1 = new Uint8Array(128);
  W.encodeDcEventRecord(W.makeDcEventRecord({ eventType: 0, extent: { startDpa: 1n, length: 2n, uuid: W.NULL_UUID, sharedExtnSeq: 0 } }), r1);
  const v = { flags: W.GET_EVENT_FLAG_OVERFLOW | W.GET_EVENT_FLAG_MORE_RECORDS, overflowErrCount: 3, firstOverflowTimestamp: 10n, lastOverflowTimestamp: 20n, recordCount: 2, records: [r1, r1] };
  const out = new Uint8Array(W.getEventRecordsOutSize(2));
  t.equal(W.encodeGetEventRecordsOut(v, out), 0x20 + 256);
  const d = W.decodeGetEventRecordsOut(out);
  t.ok(d.ok);
  if (d.ok) {
    t.equal(d.value.flags, 3);
    t.equal(d.value.overflowErrCount, 3);
    t.equal(d.value.firstOverflowTimestamp, 10n);
    t.equal(d.value.lastOverflowTimestamp, 20n);
    t.equal(d.value.recordCount, 2);
    t.same([...(d.value.records[1] ?? [])], [...r1]);
  }
  t.match(W.decodeGetEventRecordsOut(out.subarray(0, 0x1f)), { ok: false, error: { code: 'short-payload' } });
  t.match(W.decodeGetEventRecordsOut(out.subarray(0, 0x20 + 200)), { ok: false, error: { code: 'count-exceeds-payload' } });
});

t.test('Clear Event Records round trip', async (t) => {
  const b = new Uint8Array(W.clearEventRecordsInSize(3));
  W.encodeClearEventRecordsIn({ logType: 4, flags: 0, handles: [1, 2, 0xffff] }, b);
  t.same(W.decodeClearEventRecordsIn(b), { ok: true, value: { logType: 4, flags: 0, nrRecs: 3, handles: [1, 2, 0xffff] } });
  t.match(W.decodeClearEventRecordsIn(b.subarray(0, 5)), { ok: false, error: { code: 'short-payload' } });
  t.match(W.decodeClearEventRecordsIn(b.subarray(0, 9)), { ok: false, error: { code: 'count-exceeds-payload' } });
  t.throws(() => W.encodeClearEventRecordsIn({ logType: 4, flags: 0, handles: new Array(256).fill(1) }, new Uint8Array(1024)), RangeError);
});

t.test('Get DC Config in/out round trip (40-byte partition records + trailer)', async (t) => {
  const inb = new Uint8Array(2);
  W.encodeGetDcConfigIn({ partitionCount: 8, startPartitionIndex: 1 }, inb);
  t.same(W.decodeGetDcConfigIn(inb), { ok: true, value: { partitionCount: 8, startPartitionIndex: 1 } });
  t.match(W.decodeGetDcConfigIn(inb.subarray(0, 1)), { ok: false, error: { code: 'short-payload' } });
  const part = { base: 0x8000_0000n, decodeLength: 2n, length: 512n * 1024n * 1024n, blockSize: 512n, dsmadHandle: 0xfa, flags: 0 };
  for (const trailer of [null, { numExtentsSupported: 512, numExtentsAvailable: 500, numTagsSupported: 0, numTagsAvailable: 0 }]) {
    const v = { availPartitionCount: 2, partitionsReturned: 2, partitions: [part, { ...part, base: 0xa000_0000n }], trailer };
    const out = new Uint8Array(W.getDcConfigOutSize(2, trailer !== null));
    t.equal(W.encodeGetDcConfigOut(v, out), 8 + 80 + (trailer ? 16 : 0));
    t.same(W.decodeGetDcConfigOut(out), { ok: true, value: v }, `trailer ${trailer ? 'present' : 'absent'}`);
    t.equal(out[8 + 0x20], 0xfa, 'dsmad_handle at 0x20 of the record');
  }
  const short = new Uint8Array(W.getDcConfigOutSize(1, false));
  W.encodeGetDcConfigOut({ availPartitionCount: 1, partitionsReturned: 2, partitions: [part], trailer: null }, short);
  t.match(W.decodeGetDcConfigOut(short), { ok: false, error: { code: 'count-exceeds-payload' } });
});

t.test('Get DC Extent List in/out round trip', async (t) => {
  const inb = new Uint8Array(8);
  W.encodeGetDcExtentListIn({ extentCount: 101, startExtentIndex: 7 }, inb);
  t.same(W.decodeGetDcExtentListIn(inb), { ok: true, value: { extentCount: 101, startExtentIndex: 7 } });
  t.match(W.decodeGetDcExtentListIn(inb.subarray(0, 7)), { ok: false, error: { code: 'short-payload' } });
  const e = { startDpa: WRAP, length: 0x40_0000n, uuid: TAG, sharedExtnSeq: 2 };
  const v = { returnedExtentCount: 2, totalExtentCount: 9, generationNum: 0xffff_ffff, extents: [e, { ...e, uuid: W.NULL_UUID }] };
  const out = new Uint8Array(W.getDcExtentListOutSize(2));
  W.encodeGetDcExtentListOut(v, out);
  t.same(W.decodeGetDcExtentListOut(out), { ok: true, value: v });
  const lie = new Uint8Array(W.getDcExtentListOutSize(1));
  W.encodeGetDcExtentListOut({ ...v, returnedExtentCount: 0xffff_ffff, extents: [e] }, lie);
  t.match(W.decodeGetDcExtentListOut(lie), { ok: false, error: { code: 'count-exceeds-payload' } }, 'a 2^32-1 count never sizes an allocation');
});

t.test('Add DC Response / Release DC payload round trip (8-byte header, 24-byte entries)', async (t) => {
  const v = { extentListSize: 2, flags: W.DC_RESPONSE_FLAG_MORE, extents: [{ dpaStart: 0x1000n, length: 0x2000n }, { dpaStart: WRAP, length: 0x40_0000n }] };
  const b = new Uint8Array(W.dcResponseSize(2));
  t.equal(W.encodeDcResponse(v, b), 8 + 48);
  t.same(W.decodeDcResponse(b), { ok: true, value: v });
  t.same([...W.dcResponseBytes(v)], [...b], 'allocating variant');
  t.ok(W.dcResponseMore(v));
  t.match(W.decodeDcResponse(b.subarray(0, 7)), { ok: false, error: { code: 'short-payload' } });
  t.match(W.decodeDcResponse(b.subarray(0, 8 + 24)), { ok: false, error: { code: 'count-exceeds-payload' } });
  t.equal(W.dcResponseMaxEntries(4096), 170);
});

// ---------------------------------------------------------------------------------------------
// fuzz
// ---------------------------------------------------------------------------------------------

const M = MiB;
function fuzzConfig(personality: Personality, name: string): DeviceConfig {
  return {
    name, serial: 1, personality, seed: `fuzz/${name}`, payloadSize: 4096, staticBytes: 256 * M,
    partitions: [
      { base: 256 * M, decodeLength: 256 * M, length: 256 * M, blockSize: 2 * M, dsmadHandle: 1, sharable: false },
      { base: 512 * M, decodeLength: 256 * M, length: 256 * M, blockSize: 2 * M, dsmadHandle: 2, sharable: true },
    ],
    preAccepted: [{ dpa: 256 * M + 64 * M, length: 8 * M, tag: null, seq: 0 }],
    ...(personality === 'hostile' ? { hostile: { lieRate: 0.5, configViolation: 'seeded', extentListLie: 'generation-flip', eventRecordLie: 'count-exceeds-payload' } } : {}),
  } as DeviceConfig;
}

/** Valid payloads of each kind, the seeds for mutation. */
function validPayloads(): Uint8Array[] {
  const out: Uint8Array[] = [];
  out.push(new Uint8Array([4]), new Uint8Array([0]));
  const c = new Uint8Array(10);
  W.encodeClearEventRecordsIn({ logType: 4, flags: 0, handles: [1, 2] }, c);
  out.push(c);
  out.push(new Uint8Array([8, 0]));
  const l = new Uint8Array(8);
  W.encodeGetDcExtentListIn({ extentCount: 100, startExtentIndex: 0 }, l);
  out.push(l);
  const r = new Uint8Array(W.dcResponseSize(3));
  W.encodeDcResponse({ flags: 0, extents: [{ dpaStart: BigInt(256 * M), length: BigInt(2 * M) }, { dpaStart: BigInt(260 * M), length: BigInt(4 * M) }, { dpaStart: BigInt(320 * M), length: BigInt(8 * M) }] }, r);
  out.push(r);
  const ev = new Uint8Array(W.getEventRecordsOutSize(2));
  const rec = new Uint8Array(128);
  W.encodeDcEventRecord(W.makeDcEventRecord({ eventType: 0, extent: { startDpa: 1n, length: 2n, uuid: TAG, sharedExtnSeq: 0 } }), rec);
  W.encodeGetEventRecordsOut({ flags: 0, overflowErrCount: 0, firstOverflowTimestamp: 0n, lastOverflowTimestamp: 0n, recordCount: 2, records: [rec, rec] }, ev);
  out.push(ev, rec);
  const cfg = new Uint8Array(W.getDcConfigOutSize(1, true));
  W.encodeGetDcConfigOut({ availPartitionCount: 1, partitionsReturned: 1, partitions: [{ base: 1n, decodeLength: 1n, length: 1n, blockSize: 64n, dsmadHandle: 0, flags: 0 }], trailer: { numExtentsSupported: 1, numExtentsAvailable: 1, numTagsSupported: 0, numTagsAvailable: 0 } }, cfg);
  out.push(cfg);
  const xl = new Uint8Array(W.getDcExtentListOutSize(1));
  W.encodeGetDcExtentListOut({ returnedExtentCount: 1, totalExtentCount: 1, generationNum: 1, extents: [{ startDpa: 1n, length: 1n, uuid: TAG, sharedExtnSeq: 0 }] }, xl);
  out.push(xl);
  return out;
}

function mutate(r: Prng, seeds: Uint8Array[]): Uint8Array {
  const kind = r.int(6);
  if (kind === 0) {
    // random bytes, random length
    const b = new Uint8Array(r.int(600));
    for (let i = 0; i < b.length; i++) b[i] = r.int(256);
    return b;
  }
  const base = r.pick(seeds);
  let b: Uint8Array = base.slice();
  if (kind === 1 && b.length > 0) b = b.subarray(0, r.int(b.length)); // truncate
  else if (kind === 2) {
    const ext = new Uint8Array(b.length + r.int(64));
    ext.set(b);
    b = ext; // extend with zeros
  } else if (kind === 3) {
    for (let i = 0, n = 1 + r.int(8); i < n && b.length > 0; i++) b[r.int(b.length)] = r.int(256); // flip bytes
  } else if (kind === 4 && b.length >= 4) {
    // extreme counts in the first header words
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    dv.setUint32(0, r.pick([0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, r.u32()]), true);
    if (b.length >= 0x16) dv.setUint16(0x14, r.pick([0, 1, 0xffff, r.int(65536)]), true);
  } else if (kind === 5 && b.length >= 24) {
    // u64 wrap values at a random 8-byte slot
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    dv.setBigUint64(8 * r.int(Math.floor(b.length / 8)), r.pick([WRAP, W.U64_MASK, 2n ** 53n, 0n]), true);
  }
  return b;
}

const DECODERS: [string, (v: Uint8Array) => W.Decoded<unknown>][] = [
  ['decodeExtent', (v) => W.decodeExtent(v)],
  ['decodeEventRecordHeader', (v) => W.decodeEventRecordHeader(v)],
  ['decodeDcEventRecord', (v) => W.decodeDcEventRecord(v)],
  ['decodeGetEventRecordsIn', (v) => W.decodeGetEventRecordsIn(v)],
  ['decodeGetEventRecordsOut', (v) => W.decodeGetEventRecordsOut(v)],
  ['decodeClearEventRecordsIn', (v) => W.decodeClearEventRecordsIn(v)],
  ['decodeGetDcConfigIn', (v) => W.decodeGetDcConfigIn(v)],
  ['decodeDcPartition', (v) => W.decodeDcPartition(v)],
  ['decodeGetDcConfigOut', (v) => W.decodeGetDcConfigOut(v)],
  ['decodeGetDcExtentListIn', (v) => W.decodeGetDcExtentListIn(v)],
  ['decodeGetDcExtentListOut', (v) => W.decodeGetDcExtentListOut(v)],
  ['decodeDcResponse', (v) => W.decodeDcResponse(v)],
];

const OPCODES = [0x0100, 0x0101, 0x4800, 0x4801, 0x4802, 0x4803];

t.test('seeded fuzz: 100,000 random and mutated payloads into every decoder and DcdDevice.mbox', async (t) => {
  const ITER = 100_000;
  const r = new Prng('wire-fuzz');
  const seeds = validPayloads();
  const known = codes();
  const devices = (['qemu', 'cxl-test', 'hostile'] as const).map((p) => new DcdDevice(fuzzConfig(p, `fuzz-${p}`)));
  const out = new Uint8Array(4096);
  // a table rc, or one of the mock's errnos (passed to the host unchanged, MOCK_ERRNO_RC)
  const rcs = new Set([...W.MBOX_RC.map((e) => e.code), ...Object.values(W.MOCK_ERRNO_RC)]);
  let decoderCalls = 0, decoderOk = 0, decoderErr = 0, mboxCalls = 0, escaped = 0, badResult = 0, sentinel = 0;
  const errCounts: Record<string, number> = {};
  for (let i = 0; i < ITER; i++) {
    const payload = mutate(r, seeds);
    // Decoders must never read beyond the view: decode a subarray of a larger buffer whose tail is
    // poisoned, and compare with decoding an exact copy.
    const big = new Uint8Array(payload.length + 64).fill(0xa5);
    big.set(payload);
    const view = big.subarray(0, payload.length);
    for (const [name, dec] of DECODERS) {
      decoderCalls++;
      let res: W.Decoded<unknown>;
      try {
        res = dec(view);
      } catch (e) {
        escaped++;
        t.fail(`${name} threw: ${String(e)}`);
        continue;
      }
      if (res.ok === true) decoderOk++;
      else if (res.ok === false && known.has(res.error.code) && typeof res.error.message === 'string') {
        decoderErr++;
        errCounts[res.error.code] = (errCounts[res.error.code] ?? 0) + 1;
      } else badResult++;
      if (i % 97 === 0) {
        const again = dec(payload.slice());
        if (JSON.stringify(again, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? [...v] : v)) !==
            JSON.stringify(res, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? [...v] : v))) sentinel++;
      }
    }
    const dev = devices[i % devices.length] as DcdDevice;
    const opcode = r.chance(0.95) ? r.pick(OPCODES) : r.int(0x10000);
    mboxCalls++;
    try {
      const rep = dev.mbox(opcode, payload, out);
      if (!rcs.has(rep.rc) || !Number.isInteger(rep.outLen) || rep.outLen < 0 || rep.outLen > 4096) badResult++;
    } catch (e) {
      escaped++;
      t.fail(`mbox threw: ${String(e)}`);
    }
    // Keep the devices' state moving so handlers see pending and accepted extents.
    if (i % 250 === 0) {
      dev.addCapacity({ policy: 'contiguous', length: 2 * M, count: 1 + r.int(3) });
      dev.injectRecords([{ offset: r.int(128) * 2 * M, length: 2 * M, more: r.chance(0.3) }]);
    }
    if (i % 5000 === 4999) dev.reset();
  }
  t.equal(escaped, 0, 'no exception escaped');
  t.equal(badResult, 0, 'every result typed (decoders: ok or a known WireError; mbox: a table rc and a bounded outLen)');
  t.equal(sentinel, 0, 'decoding a view inside a poisoned buffer equals decoding an exact copy (no read past the view)');
  for (const d of devices) t.equal(d.counters().internalErrors, 0, `${d.config.personality}: no handler exception was caught`);
  t.comment(`fuzz: ${ITER} payloads, ${decoderCalls} decoder calls (${decoderOk} ok, ${decoderErr} typed errors ${JSON.stringify(errCounts)}), ${mboxCalls} mbox calls`);
  // the devices keep serving: a valid command still works
  for (const d of devices) {
    d.reset();
    const rep = d.mbox(W.CXL_MBOX_OP.GET_DC_EXTENT_LIST, seeds[4] as Uint8Array, out);
    t.equal(rep.rc, W.RC.SUCCESS, `${d.config.personality}: Get DC Extent List after the fuzz`);
    const x = W.decodeGetDcExtentListOut(out.subarray(0, rep.outLen));
    t.ok(x.ok && x.value.totalExtentCount === 1, `${d.config.personality}: the pre-accepted extent is listed`);
  }
});

t.test('fuzz across threads: the device worker survives garbage and keeps serving', async (t) => {
  const h = await startDevice(fuzzConfig('cxl-test', 'xfuzz'));
  t.teardown(() => h.close());
  const r = new Prng('thread-fuzz');
  const seeds = validPayloads();
  const N = 2000;
  let timeouts = 0;
  for (let i = 0; i < N; i++) {
    const p = mutate(r, seeds).subarray(0, 4096);
    const res = h.rf.submit(r.pick(OPCODES), p, 2000);
    if (res.rc === -1) timeouts++;
  }
  t.equal(timeouts, 0, `${N} garbage commands all completed`);
  const c = await h.dev.counters();
  t.equal(c.internalErrors, 0);
  t.ok(c.mboxCommands >= N);
  const g = h.host.getConfig();
  t.equal(g.rc, W.RC.SUCCESS, 'a valid Get DC Config afterwards');
  t.equal(g.value?.partitionsReturned, 2);
  t.comment(`thread fuzz: ${N} commands through the register file`);
});
