/**
 * The `cxl-test` personality, behaviour by behaviour (docs/personalities.md, mock 1–12). The
 * device runs in a worker; the host side is this thread on the register file.
 *
 * `C` is a non-sharable mock memdev (pdev id != 0) with the pre-existing fixture; `S` is the
 * sharable memdev (serial 0xDCDC, no pre-extents), here also with syncDrain off so a burst of
 * injects can fill its log and reach the mock's overflow path (the real mock drains each inject
 * inside the write, so only a test that bypasses that fills it).
 *
 * The harness thread plays the host and the device does not wait for it (awaitDrain off), but
 * syncDrain still logs one FM record at a time: the next enters the log when the host clears it.
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import { MOCK_DC_SHARABLE_SERIAL, MOCK_PRE_TAG, type DeviceConfig } from '../src/device/config.js';
import { ACPI_CDAT_DSMAS_SHAREABLE } from '../src/device/types.js';
import { startDevice, recExtent, MiB, GiB } from './helpers/device-harness.js';

const M = MiB;
const BASE = 2 * GiB;
const TAG = '11111111-1111-1111-1111-111111111111';

const C: DeviceConfig = {
  name: 'mem1', serial: 2, personality: 'cxl-test', seed: 'mock-test', payloadSize: 4096, staticBytes: BASE,
  partitions: [{ base: BASE, decodeLength: 512 * M, length: 512 * M, blockSize: 512, dsmadHandle: 0xfa, sharable: false }],
  preAccepted: [
    { dpa: BASE + 128 * M, length: 64 * M, tag: null, seq: 0 },
    { dpa: BASE + 256 * M, length: 64 * M, tag: MOCK_PRE_TAG, seq: 0 },
  ],
};
const S: DeviceConfig = {
  ...C, name: 'mem0', serial: MOCK_DC_SHARABLE_SERIAL, preAccepted: [], eventLogFull: 'drop', syncDrain: false, eventLogHandles: 'mock-slots',
  partitions: [{ base: BASE, decodeLength: 512 * M, length: 512 * M, blockSize: 512, dsmadHandle: 0xfa, sharable: true }],
};

const h = await startDevice(C);
t.teardown(() => h.close());
const { dev, host } = h;

async function reset(cfg: DeviceConfig = C): Promise<void> {
  const r = await dev.reconfigure(cfg);
  if (!r.ok) throw new Error(r.error);
}
const rc = (n: number) => W.rcName(n);
const at = (off: number) => BASE + off;
async function inject(offset: number, length: number, more = false, tag: string | null = null, seq = 0) {
  const r = await dev.injectRecords([{ offset, length, more, tag, seq }]);
  if (!r.ok) throw new Error(r.message);
}

t.test('mock 1: one DC partition: base 2G, 512M, 512-byte blocks, dsmad 0xFA; no trailer; start past the end is empty', async (t) => {
  await reset();
  const g = host.getConfig(8, 0);
  t.equal(rc(g.rc), 'SUCCESS');
  t.equal(g.out.length, 8 + 40, 'struct_size(resp, partition, 1): no trailing counts');
  t.same(g.value?.partitions, [{ base: BigInt(BASE), decodeLength: 2n, length: BigInt(512 * M), blockSize: 512n, dsmadHandle: 0xfa, flags: 0 }]);
  t.equal(g.value?.availPartitionCount, 1);
  const past = host.getConfig(8, 1);
  t.equal(rc(past.rc), 'SUCCESS');
  t.equal(past.value?.partitionsReturned, 0);
});

t.test('mock 2: extents move FM -> sent -> accepted; the generation is bumped on every accept and release', async (t) => {
  await reset();
  const g0 = await dev.generation();
  // syncDrain: one record in the log at a time, the rest wait in the FM state (one write at a time)
  await dev.injectRecords(Array.from({ length: 3 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M, more: i < 2 })));
  t.equal((await dev.fmExtents()).length, 2, 'FM state: records not yet logged');
  t.equal((await dev.pending()).flatMap((g) => g.extents).length, 1, 'sent');
  t.equal((await dev.eventLog()).queued, 1, 'one record in the log');
  t.equal(await dev.generation(), g0, 'offering does not bump the generation');
  const recs = host.drain();
  t.equal(recs.length, 3, 'each Clear let the next record in');
  t.equal((await dev.fmExtents()).length, 0);
  t.equal(rc(host.addResponse(recs.map((r) => ({ dpa: Number(r.extent.startDpa), length: Number(r.extent.length) })))), 'SUCCESS');
  t.equal(await dev.generation(), g0 + 3, 'accepted');
  t.equal(rc(host.release([{ dpa: at(0), length: 2 * M }])), 'SUCCESS');
  t.equal(await dev.generation(), g0 + 4, 'released');
});

t.test('mock 3: pre-existing extents at +128M (untagged) and +256M (tagged) are accepted at power-on', async (t) => {
  await reset();
  const l = host.getExtentList().value;
  t.same(l?.extents.map((e) => [Number(e.startDpa) - BASE, Number(e.length), e.uuid]), [[128 * M, 64 * M, W.NULL_UUID], [256 * M, 64 * M, MOCK_PRE_TAG]]);
  t.equal(l?.generationNum, 2, 'placed in sent then accepted: two generation bumps');
  t.ok(h.media.isBacked(at(128 * M), 64 * M));
  await reset(S);
  t.equal(host.getExtentList().value?.totalExtentCount, 0, 'the sharable memdev has no pre-extents');
});

t.test('mock 4: the sharable memdev (serial 0xDCDC) has a shareable DSMAS and carries shared_extn_seq', async (t) => {
  await reset(S);
  t.equal((await dev.config()).serial, 0xdcdc);
  t.equal((await dev.cdatDsmas())[0]?.flags, ACPI_CDAT_DSMAS_SHAREABLE);
  const r = await dev.injectRaw(`0:0x200000:${TAG}:1:0`, { shared: true });
  t.ok(r.ok);
  await dev.injectRaw(`0x200000:0x200000:${TAG}:0:1`, { shared: true });
  t.same(host.drain().map((x) => [x.extent.uuid, x.extent.sharedExtnSeq]), [[TAG, 0], [TAG, 1]]);
  t.ok((await dev.pending())[0]?.extents.every((e) => e.shared));
  await reset();
  t.equal((await dev.cdatDsmas())[0]?.flags, 0, 'other memdevs are not sharable');
});

t.test('mock 5: inject format <start>:<length>:<tag>:<more>[:<seq>]', async (t) => {
  await reset();
  t.ok((await dev.injectRaw('0x0:0x200000::1')).ok, 'empty tag = null');
  t.ok((await dev.injectRaw(`0x200000:2097152:0:1`)).ok, '"0" = null, decimal length');
  t.ok((await dev.injectRaw(`0x400000:0x200000:${TAG}:0:7`)).ok, 'tag and seq');
  t.match(await dev.injectRaw(`0x600000:0x200000:${TAG}:0:0x10000`), { ok: false, message: /seq/ }, 'seq > 0xFFFF');
  t.match(await dev.injectRaw('0x600000:0x200000'), { ok: false, message: /format/ });
  t.match(await dev.injectRaw('0x600000:zz:0:0'), { ok: false, message: /bad number/ });
  t.match(await dev.injectRaw('0x600000:0x200000:not-a-uuid:0'), { ok: false, message: /bad tag/ });
  t.ok((await dev.injectRaw(`${BASE + 8 * M}:0x200000:0:0`, { absolute: true })).ok, 'absolute DPA like the sysfs attribute');
  const recs = host.drain().map(recExtent);
  t.same(recs.map((r) => [r.dpa - BASE, r.tag === W.NULL_UUID ? null : r.tag, r.more, r.seq]), [[0, null, true, 0], [2 * M, null, true, 0], [4 * M, TAG, false, 7], [8 * M, null, false, 0]]);
});

t.test('mock 6: inject validity is new_extent_valid only: length != 0 and a start no extent uses; no overlap check', async (t) => {
  await reset();
  t.match(await dev.injectRaw('0:0:0:0'), { ok: false, errno: 'EINVAL', message: /new_extent_valid/ }, 'zero length');
  t.match(await dev.injectRaw(`${128 * M}:0x200000:0:0`), { ok: false, message: /new_extent_valid/ }, 'start of an accepted extent');
  t.ok((await dev.injectRaw('0:0x200000:0:0')).ok);
  t.match(await dev.injectRaw('0:0x400000:0:0'), { ok: false, message: /new_extent_valid/ }, 'start of a sent extent');
  t.ok((await dev.injectRaw(`${130 * M}:0x200000:0:0`)).ok, 'overlapping an accepted extent with a different start reaches the host');
  t.ok((await dev.injectRaw('0x1000:0x1000:0:0')).ok, 'not PMD aligned: not enforced');
  t.match(await dev.injectRecords([{ offset: 64 * M, length: 2 * M }, { offset: 64 * M, length: 2 * M }]), { ok: false }, 'duplicate starts in one command');
});

t.test('mock 7: an inject moves FM -> sent with offer_seq and logs one ADD record with the More flag', async (t) => {
  await reset();
  await inject(0, 2 * M, true, TAG);
  await inject(4 * M, 2 * M, true, TAG);
  await inject(8 * M, 2 * M, false, TAG);
  t.same((await dev.pending()).flatMap((g) => g.extents).map((e) => e.offerSeq), [0], 'only the first is sent: the others wait for its drain');
  const recs = host.drain().map(recExtent);
  const sent = (await dev.pending()).flatMap((g) => g.extents);
  t.same(sent.map((e) => e.offerSeq), [0, 1, 2], 'offer_seq in event order');
  t.same(recs.map((r) => [r.type, r.dpa, r.length, r.tag, r.more]), [
    [0, at(0), 2 * M, TAG, true], [0, at(4 * M), 2 * M, TAG, true], [0, at(8 * M), 2 * M, TAG, false],
  ]);
});

t.test('mock 8: dc_del_extent erases overlapping FM extents, leaves accepted ones, logs one Release (seq 0, More 0)', async (t) => {
  await reset();
  await dev.injectRecords(Array.from({ length: 3 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M })));
  t.equal((await dev.fmExtents()).length, 2, 'two writes still waiting behind the first');
  t.ok((await dev.deleteRaw(`${4 * M}:0x200000:0`)).ok);
  t.same((await dev.fmExtents()).map((e) => e.offset), [2 * M], 'the FM-state extent is gone');
  t.ok((await dev.deleteRaw(`${128 * M}:${64 * M}:${W.NULL_UUID}\n`)).ok, 'accepted extent: trailing newline trimmed');
  t.ok((await dev.deleteRaw(`${256 * M}:${64 * M}:${MOCK_PRE_TAG}`, { forced: true })).ok);
  const recs = host.drain().map(recExtent);
  t.equal(recs.filter((r) => r.type === 0).length, 2, 'the deleted extent never reached the host');
  const rel = recs.filter((r) => r.type !== 0);
  t.same(rel.map((r) => [r.type, r.dpa, r.tag, r.seq, r.more]), [
    [1, at(4 * M), W.NULL_UUID, 0, false], [1, at(128 * M), W.NULL_UUID, 0, false], [2, at(256 * M), MOCK_PRE_TAG, 0, false],
  ]);
  t.equal((await dev.accepted()).length, 2, 'accepted extents are left for the host to release');
});

t.test('mock 9: Add DC Response: exact match in offer order; replay of accepted is a no-op; the rest of sent is cleared', async (t) => {
  await reset();
  await inject(0, 2 * M, true);
  await inject(4 * M, 2 * M, true);
  await inject(8 * M, 2 * M, false);
  host.drain();
  const A = { dpa: at(0), length: 2 * M }, B = { dpa: at(4 * M), length: 2 * M }, Cx = { dpa: at(8 * M), length: 2 * M };
  t.equal(rc(host.addResponse([B, A])), '-EINVAL', 'out of offer order: the errno reaches the host unchanged');
  t.same((await dev.accepted()).map((e) => e.dpa).filter((d) => d < at(64 * M)), [B.dpa], 'torn like the mock: B was accepted before the order check hit A');
  t.equal(rc(host.addResponse([{ dpa: A.dpa, length: 4 * M }])), '-ENOMEM', 'length mismatch: not found (-ENOMEM)');
  t.equal(rc(host.addResponse([{ dpa: at(100 * M), length: 2 * M }])), '-ENOMEM', 'unknown start');
  const g = await dev.generation();
  t.equal(rc(host.addResponse([A, Cx])), 'SUCCESS');
  t.equal(await dev.generation(), g + 2);
  t.equal(rc(host.addResponse([B])), 'SUCCESS', 'replay of an accepted extent');
  t.equal(await dev.generation(), g + 2, 'no change');
  await inject(16 * M, 2 * M, true);
  await inject(20 * M, 2 * M, false);
  host.drain();
  t.equal(rc(host.addResponse([{ dpa: at(16 * M), length: 2 * M }])), 'SUCCESS');
  t.same(await dev.pending(), [], 'dc_clear_sent: the unlisted extent was rejected');
  t.equal(rc(host.addResponse([{ dpa: at(20 * M), length: 2 * M }])), '-ENOMEM', 'a rejected extent cannot be accepted later');
});

t.test('mock 10: Release DC ignores entries not accepted with the exact start and length and still succeeds', async (t) => {
  await reset();
  const g = await dev.generation();
  t.equal(rc(host.release([{ dpa: at(0), length: 2 * M }])), 'SUCCESS', 'never accepted');
  t.equal(rc(host.release([{ dpa: at(128 * M), length: 2 * M }])), 'SUCCESS', 'a sub-range: not an exact match');
  t.equal((await dev.counters()).releasesIgnored, 2);
  t.equal(await dev.generation(), g);
  t.equal((await dev.accepted()).length, 2);
  t.equal(rc(host.release([{ dpa: at(128 * M), length: 64 * M }])), 'SUCCESS');
  t.equal((await dev.accepted()).length, 1);
  t.equal(await dev.generation(), g + 1);
  t.notOk(h.media.isBacked(at(128 * M), 2 * M));
});

t.test('mock 11: Get DC Extent List returns accepted extents only, in the whole buffer; start_idx > total is -EINVAL', async (t) => {
  await reset();
  await inject(0, 2 * M, false, TAG, 3);
  const whole = host.getExtentList();
  t.equal(whole.out.length, 4096, 'the mock never sets size_out: the reply is the whole payload buffer');
  const l = whole.value;
  t.equal(l?.totalExtentCount, 2, 'the sent extent is not listed');
  t.equal(l?.returnedExtentCount, 2);
  t.equal(host.getExtentList(2).value?.returnedExtentCount, 0);
  t.equal(rc(host.getExtentList(3).rc), '-EINVAL');
  host.drain();
  host.addResponse([{ dpa: at(0), length: 2 * M }]);
  const e = host.getExtentList(0, 1).value?.extents[0];
  t.same([e?.uuid, e?.sharedExtnSeq], [TAG, 3], 'full records: tag and shared_extn_seq kept');
});

t.test('mock 12: 15-record log (17 slots, slot 0 unused), handles 1..16, MORE_RECORDS only when records remain, overflow drop', async (t) => {
  await reset(S); // syncDrain off, eventLogFull 'drop': a burst fills the log
  const irq0 = h.rf.irqCount();
  await dev.injectRecords(Array.from({ length: 20 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M, tag: TAG, seq: i })));
  t.equal(h.rf.irqCount() - irq0, 20, 'fake the irq: one IRQ per inject, logged or dropped');
  const s0 = await dev.eventLog();
  t.equal(s0.capacity, 15);
  t.equal(s0.queued, 15, 'event_inc_handle(last) == current one slot before the wrap: 15 fit');
  t.equal(s0.overflow, 5, 'nr_overflow++ for each dropped record');
  t.same(s0.records.map((r) => r.handle), Array.from({ length: 15 }, (_, i) => i + 1), 'handles are slot indexes 1..15');
  let g = host.getEvents();
  t.ok((g.value?.flags ?? 0) & W.GET_EVENT_FLAG_OVERFLOW, 'OVERFLOW');
  t.equal(g.value?.overflowErrCount, 5);
  t.equal(rc(host.clear([])), 'SUCCESS', 'a Clear naming nothing succeeds...');
  t.equal((await dev.eventLog()).overflow, 0, '...and resets nr_overflow (mock: on every successful Clear)');
  // drain: handles continue 16, 1, 2 … after the ring wraps
  const seen: number[] = [];
  let sawMore = false;
  let last = -1;
  for (let i = 0; i < 40; i++) {
    g = host.getEvents();
    const n = g.value?.recordCount ?? 0;
    if (n === 0) break;
    const more = ((g.value?.flags ?? 0) & W.GET_EVENT_FLAG_MORE_RECORDS) !== 0;
    const left = (await dev.eventLog()).queued - n;
    t.equal(more, left > 0, `MORE_RECORDS iff records remain beyond the batch of ${n}`);
    if (more) sawMore = true;
    const hs = g.records.map((r) => r.hdr.handle);
    if (hs.length > 1) t.equal(rc(host.clear([...hs].reverse())), '-EINVAL', 'out of order: -EINVAL');
    t.equal(rc(host.clear(hs)), 'SUCCESS');
    seen.push(...hs);
    last = n;
  }
  t.ok(sawMore);
  t.ok(last >= 1);
  await dev.injectRecords([{ offset: 100 * M, length: 2 * M }, { offset: 102 * M, length: 2 * M }]);
  t.same((await dev.eventLog()).records.map((r) => r.handle), [16, 1], 'the ring wraps 16 → 1, never 0');
  const hs = (await dev.eventLog()).records.map((r) => r.handle);
  t.equal(rc(host.clear([...hs, 7, 9])), 'SUCCESS', 'more handles than records: the extras are ignored');
  t.equal((await dev.eventLog()).queued, 0);
  t.equal(rc(host.clear([3, 4], { flags: W.CLEAR_EVENT_FLAG_ALL })), 'SUCCESS', 'an empty log: success; clear_flags is never read');
  t.equal(rc(host.clear([1], { log: 7 })), '-EINVAL', 'log type >= CXL_EVENT_TYPE_MAX');
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array([4, 0])).rc), '-EINVAL', 'Get Event Records: size_in != 1');
});

t.test('mock 12: records per Get follow one counter shared by every mock device and log: (n % 4) + 1', async (t) => {
  // three workers' worth of devices, one counter: a Get on any of them moves it for all
  const counter = new SharedArrayBuffer(4);
  const a = await startDevice({ ...C, syncDrain: false }, { mockCounter: counter });
  const b = await startDevice({ ...C, name: 'mem2', serial: 3, syncDrain: false }, { mockCounter: counter });
  t.teardown(async () => { await a.close(); await b.close(); });
  for (const x of [a, b]) await x.dev.injectRecords(Array.from({ length: 12 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M })));
  const sizes: number[] = [];
  for (const x of [a, b, a, b, a]) sizes.push(x.host.getEvents().value?.recordCount ?? 0);
  t.same(sizes, [2, 3, 4, 1, 2], 'atomic_inc_return from 0: 1%4+1, 2%4+1, … alternating devices');
  const v = new Int32Array(counter)[0];
  t.equal(v, 5, 'one counter word, bumped once per Get');
  t.equal(a.host.getEvents(W.CXL_EVENT_LOG.INFO).value?.recordCount, 0, 'a Get on another (empty) log…');
  t.equal(new Int32Array(counter)[0], 6, '…moves the same counter');
  t.equal(b.host.getEvents().value?.recordCount, ((6 + 1) % 4) + 1);
});
