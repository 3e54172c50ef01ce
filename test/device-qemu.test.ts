/**
 * The `qemu` personality, rule by rule (docs/personalities.md, R1–R28). The device runs in its
 * own worker (workers/device.ts); the FM API is called over comlink and the host side is played by
 * this thread through the register file (RegFile.submit + the wire codecs).
 *
 * Config: 256M static capacity, two DC regions of 512M with 2M blocks (QEMU num-dc-regions=2),
 * QEMU's 2,048-byte mailbox payload. `Q` is QEMU with the tagged-memory RFC (`qemu-tag-rfc`, the
 * tree the v11 cover letter tested with); `U` is upstream (`qemu`) with a small extent limit so
 * the 512-extent rules can be hit with a few extents.
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import type { DeviceConfig } from '../src/device/config.js';
import { startDevice, recExtent, MiB, type Range } from './helpers/device-harness.js';

const M = MiB;
const P0 = 256 * M;
const P1 = 768 * M;
const TAG = '5be13bce-ae34-4a77-b6c3-16df975fcf1a';
const TAG2 = '6be13bce-ae34-4a77-b6c3-16df975fcf1a';

const Q: DeviceConfig = {
  name: 'mem0', serial: 99, personality: 'qemu-tag-rfc', seed: 'qemu-test', payloadSize: 2048, staticBytes: 256 * M,
  partitions: [
    { base: P0, decodeLength: 512 * M, length: 512 * M, blockSize: 2 * M, dsmadHandle: 0, sharable: false },
    { base: P1, decodeLength: 512 * M, length: 512 * M, blockSize: 2 * M, dsmadHandle: 1, sharable: false },
  ],
  preAccepted: [],
};
const U: DeviceConfig = { ...Q, personality: 'qemu', maxExtents: 8 };

const h = await startDevice(Q);
t.teardown(() => h.close());
const { dev, host } = h;

async function reset(cfg: DeviceConfig = Q): Promise<void> {
  const r = await dev.reconfigure(cfg);
  if (!r.ok) throw new Error(r.error);
}
const ext = (offset: number, length: number) => ({ offset, length });
async function add(extents: { offset: number; length: number }[], more: { region?: number; tag?: string } = {}) {
  return dev.addCapacity({ policy: 'prescriptive', extents, ...more });
}
/** add, drain the records, accept everything offered */
async function addAccept(extents: { offset: number; length: number }[], more: { region?: number; tag?: string } = {}): Promise<Range[]> {
  const r = await add(extents, more);
  if (!r.ok) throw new Error(r.message);
  host.drain();
  const ranges = r.extents.map((e) => ({ dpa: e.dpa, length: e.length }));
  const rc = host.addResponse(ranges);
  if (rc !== W.RC.SUCCESS) throw new Error(`accept failed: ${W.rcName(rc)}`);
  return ranges;
}
const rc = (n: number) => W.rcName(n);
/** the v11 host's cxl_event_config_msgnums: Set Event Interrupt Policy with dcd_settings = MSI/MSI-X */
const enableIrq = (): number => host.cmd(W.CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, new Uint8Array([0, 0, 0, 0, W.CXL_INT_MSI_MSIX])).rc;

t.test('R1: only prescriptive selection; tag-based removal needs the tagged RFC; forced removal is refused', async (t) => {
  await reset();
  t.match(await dev.addCapacity({ policy: 'free', length: 4 * M }), { ok: false, errno: 'EOPNOTSUPP', message: /Selection policy not supported/ });
  t.match(await dev.addCapacity({ policy: 'contiguous', length: 4 * M }), { ok: false, message: /Selection policy not supported/ });
  await addAccept([ext(0, 4 * M)], { tag: TAG });
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(0, 4 * M)], forced: true }), { ok: false, message: /Forced removal not supported yet/ });
  await reset(U);
  t.match(await dev.releaseCapacity({ policy: 'tag-based', tag: TAG }), { ok: false, errno: 'EOPNOTSUPP', message: /Removal policy not supported/ });
  t.equal((await dev.eventLog()).queued, 0, 'no event emitted');
});

t.test('R2: region >= num_regions is refused ("region id is too large")', async (t) => {
  await reset();
  t.match(await add([ext(0, 2 * M)], { region: 2 }), { ok: false, message: /region id is too large/ });
  t.ok((await add([ext(0, 2 * M)], { region: 1 })).ok, 'region 1 exists');
  t.equal((await dev.pending())[0]?.extents[0]?.dpa, P1, 'region 1 offsets are relative to its base');
});

t.test('R3: zero length, misalignment, beyond the region end and overlap within a command are refused, no event', async (t) => {
  await reset();
  t.match(await add([ext(0, 0)]), { ok: false, message: /length cannot be zero/ });
  t.match(await add([ext(1 * M, 2 * M)]), { ok: false, message: /not aligned/ });
  t.match(await add([ext(0, 3 * M)]), { ok: false, message: /not aligned/ });
  t.match(await add([ext(510 * M, 4 * M)]), { ok: false, message: /beyond the region end/ });
  t.match(await add([ext(0, 4 * M), ext(2 * M, 4 * M)]), { ok: false, message: /overlaps extents\[0\]/ });
  t.match(await add([ext(0, 4 * M), ext(0, 4 * M)]), { ok: false, message: /overlaps/ }, 'duplicate');
  t.equal((await dev.eventLog()).queued, 0);
  t.same(await dev.pending(), []);
});

t.test('R4: an add must not overlap an accepted extent nor a pending group', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  t.match(await add([ext(4 * M, 8 * M)]), { ok: false, message: /already accessible to the same LD/ });
  t.ok((await add([ext(64 * M, 8 * M)])).ok);
  t.match(await add([ext(66 * M, 2 * M)]), { ok: false, message: /again while still pending/ });
});

t.test('R5: a release must not overlap a pending group and must be fully accepted', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  t.ok((await add([ext(8 * M, 8 * M)])).ok);
  host.drain();
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(4 * M, 8 * M)] }), { ok: false, message: /pending DPA range/ });
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(32 * M, 2 * M)] }), { ok: false, message: /non-existing DPA range/ });
  t.ok((await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(2 * M, 2 * M)] })).ok, 'a sub-range of accepted capacity is fine');
});

t.test('R6: one command = one pending group, FIFO, total_extent_count grows; upstream zeroes tag and seq', async (t) => {
  await reset();
  t.ok((await add([ext(0, 2 * M), ext(4 * M, 2 * M), ext(8 * M, 2 * M)], { region: 1 })).ok);
  t.ok((await add([ext(64 * M, 2 * M)])).ok);
  const p = await dev.pending();
  t.equal(p.length, 2, 'two groups');
  t.equal(p[0]?.extents.length, 3);
  t.ok((p[0]?.id ?? 0) < (p[1]?.id ?? 0), 'FIFO');
  t.equal(host.getConfig().value?.trailer?.numExtentsAvailable, 512 - 4, 'num_extents_available = 512 - total');
  await reset(U);
  t.ok((await add([ext(0, 2 * M)], { tag: TAG })).ok);
  const [rec] = host.drain();
  t.equal(rec?.extent.uuid, W.NULL_UUID, 'upstream writes a zero tag into the offered extent');
  t.equal((await dev.pending())[0]?.extents[0]?.tag, null);
});

t.test('R7: one record per extent, More on all but the last, num_avail_extents, IRQ only on the 0->1 transition once enabled', async (t) => {
  await reset();
  let irq0 = h.rf.irqCount();
  t.ok((await add([ext(200 * M, 2 * M)])).ok);
  t.equal(h.rf.irqCount() - irq0, 0, 'no IRQ before Set Event Interrupt Policy enabled the DC log (irq_enabled false at power-on)');
  host.drain();
  host.addResponse([]);
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, new Uint8Array([0, 0, 0])).rc), 'INVALID_PAYLOAD_LENGTH', 'fewer than 4 bytes');
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, new Uint8Array([1, 1, 1, 1])).rc), 'SUCCESS', '4 bytes: DCD settings absent, DC irq unchanged');
  t.ok((await add([ext(204 * M, 2 * M)])).ok);
  t.equal(h.rf.irqCount() - irq0, 0, 'still none');
  host.drain();
  host.addResponse([]);
  t.equal(rc(enableIrq()), 'SUCCESS');
  irq0 = h.rf.irqCount();
  t.ok((await add([ext(0, 2 * M), ext(2 * M, 2 * M), ext(4 * M, 2 * M)])).ok);
  t.equal(h.rf.irqCount() - irq0, 1, 'one IRQ for three records into an empty log');
  t.equal(h.rf.eventStatus() & 0x10, 0x10, 'Event Status bit 4 set');
  t.ok((await add([ext(64 * M, 2 * M)])).ok);
  t.equal(h.rf.irqCount() - irq0, 1, 'no IRQ while the log already holds records');
  const recs = host.drain().map(recExtent);
  t.same(recs.map((r) => r.more), [true, true, false, false]);
  t.same(recs.map((r) => r.type), [0, 0, 0, 0]);
  t.equal(h.rf.eventStatus() & 0x10, 0, 'status cleared once drained');
  t.ok((await add([ext(128 * M, 2 * M)])).ok);
  t.equal(h.rf.irqCount() - irq0, 2, 'the next record into the empty log raises the IRQ again');
  const [last] = host.drain();
  t.equal(last?.numAvailExtents, 512 - 5, 'extents_avail = 512 - total_extent_count');
  // release events use the same chaining
  host.addResponse([{ dpa: P0, length: 2 * M }, { dpa: P0 + 2 * M, length: 2 * M }, { dpa: P0 + 4 * M, length: 2 * M }]);
  host.addResponse([]);
  host.addResponse([]);
  t.ok((await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(0, 2 * M), ext(2 * M, 2 * M)] })).ok);
  t.same(host.drain().map((r) => [r.eventType, (r.flags & 1) === 1]), [[1, true], [1, false]]);
});

t.test('R8: an 8-record log drops the 9th record, counts the overflow and loses the final More=0', async (t) => {
  await reset();
  const ten = Array.from({ length: 10 }, (_, i) => ext(i * 2 * M, 2 * M));
  t.ok((await add(ten)).ok);
  const log = await dev.eventLog();
  t.equal(log.queued, 8);
  t.equal(log.overflow, 2);
  const g = host.getEvents();
  t.equal((g.value?.flags ?? 0) & W.GET_EVENT_FLAG_OVERFLOW, W.GET_EVENT_FLAG_OVERFLOW, 'OVERFLOW reported');
  t.equal(g.value?.overflowErrCount, 2);
  t.ok((g.value?.firstOverflowTimestamp ?? 0n) > 0n && (g.value?.firstOverflowTimestamp ?? 0n) <= (g.value?.lastOverflowTimestamp ?? 0n), 'first/last overflow timestamps');
  t.equal(g.records.length, 8, 'QEMU returns as many records as fit');
  t.ok(g.records.every((r) => (r.flags & 1) === 1), 'every surviving record has More=1: the chain never closes');
  t.equal(host.clear(g.records.map((r) => r.hdr.handle)), W.RC.SUCCESS);
  t.equal((await dev.eventLog()).overflow, 0, 'a clear resets the overflow state');
  t.equal((await dev.pending())[0]?.extents.length, 10, 'the whole group is still pending on the device');
});

t.test('R9: Clear Event Records must name the head handles in order; handle 0 is invalid; nothing cleared on error', async (t) => {
  await reset();
  t.ok((await add([ext(0, 2 * M), ext(2 * M, 2 * M), ext(4 * M, 2 * M)])).ok);
  const hs = host.getEvents().records.map((r) => r.hdr.handle);
  t.equal(hs.length, 3);
  t.ok(hs.every((x) => x !== 0), 'handles are never 0');
  t.equal(host.clear([hs[1] as number]), W.RC.INVALID_INPUT, 'not the head');
  t.equal(host.clear([0]), W.RC.INVALID_INPUT, 'handle 0');
  t.equal(host.clear([hs[0] as number, hs[2] as number]), W.RC.INVALID_INPUT, 'gap');
  t.equal((await dev.eventLog()).queued, 3, 'nothing cleared');
  t.equal(host.clear([hs[0] as number, hs[1] as number]), W.RC.SUCCESS);
  t.equal((await dev.eventLog()).queued, 1);
});

t.test('R10: Add DC Response shorter than its header is Invalid Payload Length', async (t) => {
  await reset();
  await add([ext(0, 2 * M)]);
  t.equal(rc(host.addResponse([], { truncateTo: 4 })), 'INVALID_PAYLOAD_LENGTH');
});

t.test('R11: num_entries_updated == 0 rejects all: the front pending group is deleted', async (t) => {
  await reset();
  await add([ext(0, 2 * M), ext(2 * M, 2 * M)]);
  await add([ext(64 * M, 2 * M)]);
  t.equal(rc(host.addResponse([])), 'SUCCESS');
  const p = await dev.pending();
  t.equal(p.length, 1);
  t.equal(p[0]?.extents[0]?.dpa, P0 + 64 * M, 'only the second group is left');
  t.equal(host.getConfig().value?.trailer?.numExtentsAvailable, 511, 'total_extent_count -= n');
});

t.test('R12: a payload too short for num_entries entries is Invalid Payload Length', async (t) => {
  await reset();
  await add([ext(0, 2 * M), ext(2 * M, 2 * M)]);
  t.equal(rc(host.addResponse([{ dpa: P0, length: 2 * M }], { count: 2 })), 'INVALID_PAYLOAD_LENGTH');
  t.equal((await dev.pending()).length, 1, 'no state change');
});

t.test('R13: num_entries + total_extent_count > 512 is Resources Exhausted', async (t) => {
  await reset(U); // maxExtents 8
  await add([ext(0, 2 * M), ext(2 * M, 2 * M), ext(4 * M, 2 * M), ext(6 * M, 2 * M), ext(8 * M, 2 * M)]);
  const four = [0, 2, 4, 6].map((o) => ({ dpa: P0 + o * M, length: 2 * M }));
  t.equal(rc(host.addResponse(four)), 'RESOURCES_EXHAUSTED', '4 + 5 > 8 (faithful: pending extents count too)');
  t.equal(rc(host.addResponse(four.slice(0, 3))), 'SUCCESS', '3 + 5 <= 8');
});

t.test('R14: entries outside or across DC regions are Invalid PA; misaligned or overlapping entries are Invalid Extent List', async (t) => {
  await reset();
  await add([ext(0, 16 * M)]);
  await add([ext(0, 16 * M)], { region: 1 });
  t.equal(rc(host.addResponse([{ dpa: 0, length: 2 * M }])), 'INVALID_PA', 'static capacity is no DC region');
  t.equal(rc(host.addResponse([{ dpa: P1 - 2 * M, length: 4 * M }])), 'INVALID_PA', 'crosses regions 0 and 1');
  t.equal(rc(host.addResponse([{ dpa: P0 + 1 * M, length: 2 * M }])), 'INVALID_EXTENT_LIST', 'misaligned');
  t.equal(rc(host.addResponse([{ dpa: P0, length: 4 * M }, { dpa: P0 + 2 * M, length: 4 * M }])), 'INVALID_EXTENT_LIST', 'overlapping entries');
  t.equal((await dev.pending()).length, 2, 'no state change');
});

t.test('R15: response must be contained in the FIRST pending group; sub-ranges accepted; re-accept is Invalid PA', async (t) => {
  await reset();
  await add([ext(0, 8 * M)]); // group A
  await add([ext(64 * M, 8 * M)]); // group B
  t.equal(rc(host.addResponse([{ dpa: P0 + 64 * M, length: 8 * M }])), 'INVALID_PA', 'B is not in the first group');
  t.equal(rc(host.addResponse([{ dpa: P0 + 2 * M, length: 4 * M }])), 'SUCCESS', 'a sub-range of A');
  t.same((await dev.accepted()).map((e) => [e.offset, e.length]), [[2 * M, 4 * M]]);
  t.equal(rc(host.addResponse([{ dpa: P0 + 64 * M, length: 8 * M }])), 'SUCCESS', 'B is now first');
  await add([ext(128 * M, 2 * M)]);
  t.equal(rc(host.addResponse([{ dpa: P0 + 128 * M, length: 2 * M }, { dpa: P0 + 64 * M, length: 8 * M }])), 'INVALID_PA', 're-accept of an accepted DPA');
  t.equal((await dev.pending()).length, 1, 'all-or-nothing');
});

t.test('R16: accepted ranges are inserted and backed, the whole front group is deleted; upstream keeps tag NULL, seq 0', async (t) => {
  await reset();
  await add([ext(0, 8 * M), ext(16 * M, 8 * M)], { tag: TAG });
  const gen0 = await dev.generation();
  t.equal(rc(host.addResponse([{ dpa: P0, length: 8 * M }])), 'SUCCESS');
  t.same((await dev.accepted()).map((e) => [e.dpa, e.length, e.tag]), [[P0, 8 * M, TAG]], 'tag passthrough (qemu-tag-rfc)');
  t.same(await dev.pending(), [], 'the unlisted extent was rejected with its group');
  t.ok(h.media.isBacked(P0, 8 * M));
  t.notOk(h.media.isBacked(P0 + 16 * M, 8 * M));
  t.equal(await dev.generation(), gen0, 'ext_list_gen_seq is never written');
  t.equal(host.getExtentList().value?.extents[0]?.uuid, TAG);
  await reset(U);
  await add([ext(0, 8 * M)], { tag: TAG });
  t.equal(rc(host.addResponse([{ dpa: P0, length: 4 * M }])), 'SUCCESS');
  const [a] = await dev.accepted();
  t.equal(a?.tag, null);
  t.equal(a?.seq, 0);
});

t.test('R17: no pending group: a non-empty response is Invalid PA; a 0-entry one is a device fault (QEMU dereferences NULL)', async (t) => {
  await reset();
  t.equal(rc(host.addResponse([{ dpa: P0, length: 2 * M }])), 'INVALID_PA', 'cxl_extents_contains_dpa_range(NULL) is false');
  t.equal((await dev.counters()).faults, 0);
  t.equal(rc(host.addResponse([])), 'INTERNAL_ERROR', 'cxl_extent_group_list_delete_front on an empty list: not a silent success');
  t.equal((await dev.counters()).faults, 1, 'counted as a device fault');
  t.equal((await dev.counters()).internalErrors, 0, 'not a model exception');
});

t.test('zero-length response entries: Add DC Response → Invalid PA (an empty Range is never contained); Release DC → success, nothing released', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  await add([ext(16 * M, 4 * M)]);
  host.drain();
  t.equal(rc(host.addResponse([{ dpa: P0 + 16 * M, length: 0 }])), 'INVALID_PA', 'passes the malformed-list check, fails the dry run');
  t.equal((await dev.pending()).length, 1, 'all-or-nothing: the group is still pending');
  t.equal(rc(host.release([{ dpa: P0, length: 0 }])), 'SUCCESS', 'zero bits are all backed; the split loop never runs');
  t.same((await dev.accepted()).map((e) => [e.offset, e.length]), [[0, 8 * M]], 'nothing released');
});

t.test('R18: with tagged backends (the RFC) a tagged pending extent must be accepted exactly; upstream accepts a sub-range', async (t) => {
  await reset();
  await add([ext(0, 8 * M)], { tag: TAG });
  t.equal(rc(host.addResponse([{ dpa: P0, length: 4 * M }])), 'INVALID_PA', 'sub-range of a tagged extent');
  t.equal(rc(host.addResponse([{ dpa: P0, length: 8 * M }])), 'SUCCESS', 'exact match');
  await reset(U);
  await add([ext(0, 8 * M)], { tag: TAG });
  t.equal(rc(host.addResponse([{ dpa: P0 + 2 * M, length: 4 * M }])), 'SUCCESS', 'upstream: any contained sub-range of any offer');
});

t.test('R19: Release DC: short payload is Invalid Payload Length, 0 entries is Invalid Input', async (t) => {
  await reset();
  await addAccept([ext(0, 4 * M)]);
  t.equal(rc(host.release([], { truncateTo: 6 })), 'INVALID_PAYLOAD_LENGTH');
  t.equal(rc(host.release([])), 'INVALID_INPUT');
  t.equal(rc(host.release([{ dpa: P0, length: 4 * M }], { count: 3 })), 'INVALID_PAYLOAD_LENGTH');
});

t.test('R20: Release DC applies the malformed-list checks', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  t.equal(rc(host.release([{ dpa: 0, length: 2 * M }])), 'INVALID_PA');
  t.equal(rc(host.release([{ dpa: P0 + 1 * M, length: 2 * M }])), 'INVALID_EXTENT_LIST');
  t.equal(rc(host.release([{ dpa: P0, length: 4 * M }, { dpa: P0 + 2 * M, length: 2 * M }])), 'INVALID_EXTENT_LIST');
  t.equal((await dev.accepted()).length, 1);
});

t.test('R21: release must be fully backed; sub-ranges split, spans cross extents, all-or-nothing, split limit', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M), ext(8 * M, 8 * M)]);
  t.equal(rc(host.release([{ dpa: P0 + 2 * M, length: 2 * M }])), 'SUCCESS', 'sub-range');
  t.same((await dev.accepted()).map((e) => [e.offset / M, e.length / M]), [[8, 8], [0, 2], [4, 4]], 'head and tail remainders appended at the tail (QTAILQ order)');
  t.equal(rc(host.release([{ dpa: P0 + 6 * M, length: 4 * M }])), 'SUCCESS', 'span across two adjacent extents');
  t.same((await dev.accepted()).map((e) => [e.offset / M, e.length / M]), [[0, 2], [4, 2], [10, 6]]);
  t.same(host.getExtentList().value?.extents.map((e) => (Number(e.startDpa) - P0) / M), [0, 4, 10], 'Get DC Extent List walks the same order');
  t.equal(rc(host.release([{ dpa: P0 + 2 * M, length: 2 * M }])), 'INVALID_PA', 'double release');
  t.equal(rc(host.release([{ dpa: P0, length: 2 * M }, { dpa: P0 + 2 * M, length: 2 * M }])), 'INVALID_PA', 'second range not backed');
  t.equal((await dev.accepted())[0]?.offset, 0, 'all-or-nothing: the first range was not released');
  await reset(U); // maxExtents 8
  await addAccept([ext(0, 16 * M)]);
  t.ok((await add(Array.from({ length: 7 }, (_, i) => ext(64 * M + i * 2 * M, 2 * M)))).ok, '1 accepted + 7 pending = 8');
  t.equal(rc(host.release([{ dpa: P0 + 4 * M, length: 2 * M }])), 'RESOURCES_EXHAUSTED', 'the split would make 9');
  t.equal(rc(host.release([{ dpa: P0, length: 2 * M }])), 'SUCCESS', 'trimming the head does not add an extent');
});

t.test('R22: a successful release replaces the list, unbacks the blocks, and needs no pending release request', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  const gen = await dev.generation();
  t.equal(rc(host.release([{ dpa: P0, length: 8 * M }])), 'SUCCESS', 'host-initiated, no FM release asked for it');
  t.same(await dev.accepted(), []);
  t.notOk(h.media.isBacked(P0, 2 * M));
  t.equal(await dev.generation(), gen, 'generation never written (0)');
  t.equal(host.getExtentList().value?.totalExtentCount, 0);
});

t.test('R23: Get DC Config: start_rid >= num_regions is Invalid Input; regions and the four trailing counts', async (t) => {
  await reset();
  await add([ext(0, 2 * M), ext(2 * M, 2 * M)]);
  t.equal(rc(host.getConfig(8, 2).rc), 'INVALID_INPUT');
  const g = host.getConfig(8, 0).value;
  t.equal(g?.availPartitionCount, 2);
  t.equal(g?.partitionsReturned, 2);
  t.same(g?.partitions[1], { base: BigInt(P1), decodeLength: 2n, length: BigInt(512 * M), blockSize: BigInt(2 * M), dsmadHandle: 1, flags: 0 });
  t.same(g?.trailer, { numExtentsSupported: 512, numExtentsAvailable: 510, numTagsSupported: 0, numTagsAvailable: 0 });
  t.equal(host.getConfig(8, 1).value?.partitions[0]?.base, BigInt(P1));
  t.equal(host.getConfig(1, 0).value?.partitionsReturned, 1);
});

t.test('R24: Get DC Extent List: count includes pending (extra entries zeroed), total = accepted, generation 0, pages of 50', async (t) => {
  await reset();
  await addAccept([ext(0, 2 * M), ext(4 * M, 2 * M), ext(8 * M, 2 * M)]);
  await add([ext(64 * M, 2 * M), ext(68 * M, 2 * M)]); // pending
  const all = host.getExtentList().value;
  t.equal(all?.totalExtentCount, 3, 'total_extents = nr_extents_accepted');
  t.equal(all?.returnedExtentCount, 5, 'count = min(extent_cnt, total_extent_count - start): the 2 pending count');
  t.same(all?.extents.map((e) => [Number(e.startDpa) ? Number(e.startDpa) - P0 : 0, Number(e.length)]), [[0, 2 * M], [4 * M, 2 * M], [8 * M, 2 * M], [0, 0], [0, 0]], 'the extra entries come back zeroed');
  t.equal(all?.generationNum, 0, 'ext_list_gen_seq is never written');
  t.same(host.getExtentList(1, 1).value?.extents.map((e) => Number(e.startDpa)), [P0 + 4 * M]);
  t.equal(host.getExtentList(3).value?.returnedExtentCount, 2, 'start == accepted is fine (and still counts the pending)');
  t.equal(rc(host.getExtentList(4).rc), 'INVALID_INPUT', 'start > nr_extents_accepted');
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.GET_DC_EXTENT_LIST, new Uint8Array(9)).rc), 'INVALID_PAYLOAD_LENGTH', 'input not exactly 8 bytes');
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.GET_DC_CONFIG, new Uint8Array(3)).rc), 'INVALID_PAYLOAD_LENGTH', 'Get DC Config input not exactly 2 bytes');
  t.equal(rc(host.cmd(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array(2)).rc), 'INVALID_PAYLOAD_LENGTH', 'Get Event Records input not exactly 1 byte');
  host.addResponse([]);
  await reset();
  for (let b = 0; b < 3; b++) await addAccept(Array.from({ length: 30 }, (_, i) => ext((b * 30 + i) * 2 * M, 2 * M)));
  const page = host.getExtentList(0, 1000);
  t.equal(page.value?.returnedExtentCount, 50, '(2048 - 16) / 40 = 50 per page');
  t.equal(page.out.length, 16 + 50 * 40);
});

t.test('payload 2,048 bytes: 15 records per Get Event Records; MORE_RECORDS whenever the log is not empty', async (t) => {
  await reset();
  const g = host.getEvents();
  t.equal(g.value?.flags ?? -1, 0, 'empty log: no MORE_RECORDS');
  t.ok((await add([ext(0, 2 * M), ext(2 * M, 2 * M)])).ok);
  const g1 = host.getEvents();
  t.equal(g1.value?.recordCount, 2, 'both records returned');
  t.ok((g1.value?.flags ?? 0) & W.GET_EVENT_FLAG_MORE_RECORDS, 'MORE_RECORDS although nothing remains beyond the batch (records are not consumed until cleared)');
  t.equal(rc(host.clear([...g1.records.map((r) => r.hdr.handle), 99])), 'SUCCESS', 'extra handles beyond the log are ignored');
  t.equal(rc(host.clear([5])), 'SUCCESS', 'an empty log clears nothing, successfully');
  t.equal(rc(host.clear([1], { log: 2 })), 'SUCCESS', 'another (empty) log: success');
  t.equal(W.dcResponseMaxEntries((await dev.config()).payloadSize), 85, 'the host splits responses at 85 entries');
  host.addResponse([]);
  const cfg = await dev.config();
  t.equal(Math.floor((cfg.payloadSize - W.GET_EVENT_OUT_HDR) / W.EVENT_RECORD_SIZE), 15);
});

t.test('R25: DPA not backed by an accepted extent refuses access (MEMTX_ERROR)', async (t) => {
  await reset();
  t.match(h.media.write(P0, 2 * M, 7), { ok: false, error: { code: 'unbacked' } });
  await addAccept([ext(0, 4 * M)]);
  t.match(h.media.write(P0, 4 * M, 7), { ok: true, blocks: 2 });
  t.match(h.media.verify(P0, 4 * M, 7), { ok: true });
  t.match(h.media.verify(P0, 4 * M, 8), { ok: false, error: { code: 'mismatch' } });
  t.match(h.media.write(P0 + 4 * M, 2 * M, 7), { ok: false, error: { code: 'unbacked' } });
  host.release([{ dpa: P0, length: 4 * M }]);
  t.match(h.media.verify(P0, 4 * M, 7), { ok: false, error: { code: 'unbacked' } });
  await addAccept([ext(0, 4 * M)]);
  t.match(h.media.verify(P0, 4 * M, 7), { ok: false, error: { code: 'mismatch' } }, 'released capacity lost its contents');
});

t.test('R26: the FM API add (5604h) over the extent limit is Resources Exhausted; a QMP add has no such check', async (t) => {
  await reset(U); // maxExtents 8
  const nine = Array.from({ length: 9 }, (_, i) => ext(i * 2 * M, 2 * M));
  t.match(await dev.addCapacity({ policy: 'prescriptive', extents: nine, via: 'fm-api' }), { ok: false, errno: 'ENOSPC', message: /Resources Exhausted/ });
  t.ok((await add(nine)).ok, 'QMP: qmp_cxl_process_dynamic_capacity_prescriptive never checks total_extent_count');
  t.equal((await dev.pending())[0]?.extents.length, 9);
  t.match(await add([ext(2 * M, 2 * M)]), { ok: false, message: /pending/ });
  t.match(await dev.addCapacity({ policy: 'prescriptive', extents: [ext(100 * M, 2 * M)], via: 'fm-api' }), { ok: false, errno: 'ENOSPC' }, '5604h counts the pending ones');
  await reset(U);
  t.ok((await dev.addCapacity({ policy: 'prescriptive', extents: [ext(0, 2 * M)], tag: TAG, via: 'fm-api' })).ok);
  t.equal((await dev.pending())[0]?.extents[0]?.tag, TAG, '5604h keeps the FM tag even upstream (QMP zeroes it)');
  t.match(await dev.addCapacity({ policy: 'prescriptive', extents: [ext(0, 2 * M)], via: 'fm-api' }), { ok: false, message: /Invalid Extent List/ });
});

t.test('5605h with the Forced Removal flag skips the pending check and emits an ordinary Release Capacity record', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  await add([ext(8 * M, 2 * M)]);
  host.drain();
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(0, 8 * M)], forced: true }), { ok: false, message: /Forced removal not supported yet/ }, 'QMP refuses forced removal');
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(6 * M, 4 * M)], via: 'fm-api' }), { ok: false, message: /Invalid PA.*pending/ }, '5605h without Forced: pending overlap is Invalid PA');
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(6 * M, 4 * M)], via: 'fm-api', forced: true }), { ok: false, message: /not fully backed/ }, 'Forced skips the pending check, the dry run still needs backing');
  t.ok((await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(0, 8 * M)], via: 'fm-api', forced: true })).ok);
  const recs = host.drain();
  t.same(recs.map((r) => r.eventType), [W.DC_EVENT_TYPE.RELEASE_CAPACITY], 'DC_EVENT_RELEASE_CAPACITY, not Forced');
  t.equal((await dev.accepted()).length, 1, 'no state change until the host answers');
  host.addResponse([]);
});

t.test('R27: FM release with pending overlap is refused; the release event changes no state until 4803h', async (t) => {
  await reset();
  await addAccept([ext(0, 8 * M)]);
  await add([ext(8 * M, 2 * M)]);
  host.drain();
  t.match(await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(6 * M, 4 * M)] }), { ok: false, message: /pending DPA range/ });
  t.ok((await dev.releaseCapacity({ policy: 'prescriptive', extents: [ext(0, 8 * M)] })).ok);
  const [rel] = host.drain();
  t.equal(rel?.eventType, W.DC_EVENT_TYPE.RELEASE_CAPACITY);
  t.equal((await dev.accepted()).length, 1, 'still accepted until the host answers');
  t.equal(rc(host.release([{ dpa: P0, length: 8 * M }])), 'SUCCESS');
  t.same(await dev.accepted(), []);
});

t.test('R28: tag-based release (the RFC) emits records for every accepted extent with the tag; upstream refuses it', async (t) => {
  await reset();
  await addAccept([ext(0, 4 * M), ext(8 * M, 4 * M)], { tag: TAG });
  await addAccept([ext(32 * M, 4 * M)], { tag: TAG2 });
  const r = await dev.releaseCapacity({ policy: 'tag-based', tag: TAG });
  t.match(r, { ok: true, records: 2 });
  const recs = host.drain().map(recExtent);
  t.same(recs.map((x) => [x.type, x.dpa, x.tag, x.more]), [[1, P0, TAG, true], [1, P0 + 8 * M, TAG, false]]);
  t.match(await dev.releaseCapacity({ policy: 'tag-based', tag: '11111111-1111-1111-1111-111111111111' }), { ok: false, errno: 'ENOENT', message: /not-found/ });
  await reset(U);
  t.match(await dev.releaseCapacity({ policy: 'tag-based', tag: TAG }), { ok: false, errno: 'EOPNOTSUPP', message: /Removal policy not supported/ });
});

t.test('decision (docs/decisions-device.md): a More chain spanning several add-capacity ops is one pending group', async (t) => {
  await reset();
  t.ok((await dev.injectRecords([{ offset: 0, length: 2 * M, more: true }])).ok);
  t.ok((await dev.injectRecords([{ offset: 4 * M, length: 2 * M, more: true }, { offset: 8 * M, length: 2 * M }])).ok);
  t.ok((await dev.injectRecords([{ offset: 64 * M, length: 2 * M }])).ok);
  t.same((await dev.pending()).map((g) => [g.closed, g.extents.map((e) => e.offset / M)]), [[true, [0, 4, 8]], [true, [64]]]);
  host.drain();
  t.equal(rc(host.addResponse([0, 4, 8].map((o) => ({ dpa: P0 + o * M, length: 2 * M })))), 'SUCCESS', 'one response answers the whole chain');
  t.match(await dev.injectRecords([{ offset: 1 * M, length: 2 * M }]), { ok: false, message: /not aligned/ }, 'scenario records still pass the FM checks (R3)');
});
