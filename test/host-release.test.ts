// Host release path (docs/kernel-map.md, §2.9, §3 X1–X5, §5.5, §7.4, H13): whole-group release
// with one Release DC per member (full range), in-use releases ignored until re-issued, untagged
// chain mates released together, forced releases ignored, Region Configuration Updated refused,
// unmatched releases (v11: no ack; knob unmatched-release-ack: ack), region destroy releasing
// everything, and the dc-record trace — on the real worker topology.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { RELEASE_REASON } from '../src/protocol.js';
import { M, TAG_A, TAG_B, TAG_C, addChain, chain, dpa, events, inWindow, mark, mboxSince, observe, region, release, withSystem } from './sys-helpers.js';

const REL = CXL_MBOX_OP.RELEASE_DC;
const has = (log: string[], re: RegExp): boolean => log.some((l) => re.test(l));
const T = (n: number): string => `b000000${n}-0000-4000-8000-00000000000${n}`;

await t.test('v11', (t) => withSystem(t, {}, async (s) => {
  await region(s, 0, 256 * M); // [256M, 512M) has no region (X1)

  await t.test('an in-use release sends nothing; re-issued after the DAX device is destroyed it removes the whole group', async (t) => {
    await addChain(s, 0, chain([0, 16 * M], 8 * M, TAG_A));
    const c = await s.user(0).call((a) => a.createDaxDevice(0, TAG_A));
    if (!c.ok) throw new Error(c.message);
    let m0 = mark(s);
    let o = await observe(s, 0, () => release(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A }]));
    t.equal(mboxSince(s, REL, m0).length, 0, 'no Release DC while a member is claimed');
    t.same(events(s, 'release-outcome', m0).map((e) => e.reason), [RELEASE_REASON.inUse], 'release ignored: in use');
    t.ok(has(o.log, /in use, release ignored/));
    let st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 0, 32 * M).length, 2, 'both members still tracked');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 0, 32 * M).length, 2, 'both still accepted by the device');
    t.equal(st.daxDevices[c.value.name]!.size, 16 * M, 'the DAX device keeps its capacity');

    m0 = mark(s);
    const d = await s.user(0).call((a) => a.destroyDaxDevice(0, c.value.devId));
    t.ok(d.ok, 'destroy the DAX device');
    await s.waitIdle();
    t.equal(mboxSince(s, REL, m0).length, 0, 'destroying the DAX device releases nothing by itself');
    st = await s.state();
    t.equal(st.regions.region0!.availableSize >= 16 * M, true, 'the capacity is free DAX capacity again');

    m0 = mark(s);
    o = await observe(s, 0, () => release(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A }]));
    const rel = mboxSince(s, REL, m0);
    t.equal(rel.length, 2, 'the re-issued release: one Release DC per member');
    t.same(rel.map((r) => [r.dpa, r.len, r.nrExtents]), [[dpa(0), 8 * M, 1], [dpa(16 * M), 8 * M, 1]], 'each with the member\'s full range');
    t.same(events(s, 'tag-unregistered', m0).map((e) => e.uuid), [TAG_A], 'the tag is unregistered');
    st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 0, 32 * M).length, 0, 'no member left on the host');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 0, 32 * M).length, 0, 'the device took both back');
  });

  await t.test('a sub-range release record releases the member\'s full range and the rest of the group', async (t) => {
    await addChain(s, 0, chain([32 * M, 48 * M], 8 * M, TAG_B));
    const m0 = mark(s);
    await observe(s, 0, () => release(s, 0, [{ offset: 34 * M, length: 2 * M, tag: TAG_B }]));
    t.same(mboxSince(s, REL, m0).map((r) => [r.dpa - dpa(0), r.len]), [[32 * M, 8 * M], [48 * M, 8 * M]]);
  });

  await t.test('untagged extents of one chain form ONE group: releasing one releases both', async (t) => {
    const o = await addChain(s, 0, chain([64 * M, 72 * M], 4 * M, null));
    t.equal(o.tracked.length, 2);
    t.equal(o.tracked[0]!.group, o.tracked[1]!.group, 'same tag group');
    t.same(o.tracked.map((e) => e.seq), [0, 1], 'host seqs 0, 1');
    const m0 = mark(s);
    await observe(s, 0, () => release(s, 0, [{ offset: 72 * M, length: 4 * M, tag: null }]));
    t.same(mboxSince(s, REL, m0).map((r) => r.dpa - dpa(0)), [64 * M, 72 * M], 'both released');
    const st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 64 * M, 80 * M).length, 0);
  });

  await t.test('untagged extents of separate chains stay separate groups', async (t) => {
    await addChain(s, 0, [{ offset: 80 * M, length: 2 * M, tag: null }]);
    await addChain(s, 0, [{ offset: 84 * M, length: 2 * M, tag: null }]);
    const m0 = mark(s);
    await observe(s, 0, () => release(s, 0, [{ offset: 80 * M, length: 2 * M, tag: null }]));
    t.same(mboxSince(s, REL, m0).map((r) => r.dpa - dpa(0)), [80 * M], 'only the one');
    const st = await s.state();
    t.same(inWindow(st.regions.region0!.extents, 80 * M, 90 * M).map((e) => e.offset), [84 * M]);
  });

  await t.test('H13: a multi-record release of one group — the first tears down all, the rest are unmatched and not acked (v11)', async (t) => {
    await addChain(s, 0, chain([96 * M, 100 * M, 104 * M], 4 * M, TAG_C));
    const m0 = mark(s);
    // member 2 of 3 first, then members 1 and 3
    const o = await observe(s, 0, () => release(s, 0, [100, 96, 104].map((x) => ({ offset: x * M, length: 4 * M, tag: TAG_C }))));
    t.same(mboxSince(s, REL, m0).map((r) => r.dpa - dpa(0)), [96 * M, 100 * M, 104 * M], 'three Release DC, all from the first record');
    t.same(events(s, 'release-outcome', m0).map((e) => e.reason), [RELEASE_REASON.acked, RELEASE_REASON.noMatch, RELEASE_REASON.noMatch]);
    t.equal(o.log.filter((l) => /matches no dc_extent/.test(l)).length, 2, 'two unmatched records logged');
    t.equal(o.log.filter((l) => /dcd event failed: -22/.test(l)).length, 2, 'each failing -EINVAL');
    const st = await s.state();
    t.equal(inWindow(st.memdevs.mem0!.accepted, 96 * M, 112 * M).length, 0, 'the device has nothing left of the group');
  });

  await t.test('a release whose tag does not match the group is unmatched (no ack, nothing released)', async (t) => {
    await addChain(s, 0, [{ offset: 112 * M, length: 4 * M, tag: T(1) }]);
    const m0 = mark(s);
    const o = await observe(s, 0, () => release(s, 0, [{ offset: 112 * M, length: 4 * M, tag: T(2) }]));
    t.equal(mboxSince(s, REL, m0).length, 0);
    t.ok(has(o.log, /matches no dc_extent/));
    const st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 112 * M, 116 * M).length, 1, 'still tracked');
  });

  await t.test('X1: a release mapping to no region is acknowledged (-ENXIO)', async (t) => {
    const m0 = mark(s);
    const o = await observe(s, 0, () => release(s, 0, [{ offset: 300 * M, length: 2 * M, tag: null }]));
    const rel = mboxSince(s, REL, m0);
    t.equal(rel.length, 1, 'acked with a Release DC');
    t.same([rel[0]!.dpa, rel[0]!.len], [dpa(300 * M), 2 * M], 'for the requested range');
    t.same(events(s, 'release-outcome', m0).map((e) => e.reason), [RELEASE_REASON.noRegion]);
    t.ok(has(o.log, /dcd event failed: -6/), 'the handler returns -ENXIO');
  });

  await t.test('a Forced Capacity Release is ignored: nothing torn down, nothing sent', async (t) => {
    await addChain(s, 0, [{ offset: 128 * M, length: 4 * M, tag: null }]);
    const m0 = mark(s);
    const o = await observe(s, 0, () => release(s, 0, [{ offset: 128 * M, length: 4 * M, tag: null }], { forced: true }));
    t.equal(mboxSince(s, REL, m0).length, 0);
    t.ok(has(o.log, /Forced release event ignored\./));
    t.notOk(has(o.log, /dcd event failed/), 'rc 0');
    t.same(events(s, 'release-outcome', m0).map((e) => e.reason), [RELEASE_REASON.forcedIgnored]);
    t.same(events(s, 'dc-record', m0).map((e) => e.eventType), [2], 'one FORCED_CAPACITY_RELEASE record read');
    const st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 128 * M, 132 * M).length, 1, 'still tracked');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 128 * M, 132 * M).length, 1, 'still accepted');
  });

  await t.test('Region Configuration Updated → "dcd event failed" (-EINVAL)', async (t) => {
    const m0 = mark(s);
    const o = await observe(s, 0, () => s.device(0).call((a) => a.regionConfigUpdated(0)));
    t.ok(has(o.log, /dcd event failed: -22/));
    const rec = events(s, 'dc-record', m0);
    t.equal(rec.length, 1);
    t.equal(rec[0]!.eventType, 3);
    t.equal(rec[0]!.regionIndex, 0, 'updated_region_index traced for type 3');
    const st = await s.state();
    t.equal(st.trace.dynamicCapacityEvents.at(-1)!.eventType, 'REGION_CONFIGURATION_UPDATED');
  });

  await t.test('trace: one dc-record event per record read, mirrored in state().trace.dynamicCapacityEvents', async (t) => {
    s.drainEvents();
    const st = await s.state();
    const logged = (await s.device(0).call((a) => a.counters())).recordsLogged;
    const recs = events(s, 'dc-record');
    t.ok(logged > 10, `the device logged ${logged} records in this file`);
    t.equal(recs.length, logged, 'one dc-record per record logged (and read)');
    t.equal(st.trace.dynamicCapacityEvents.length, logged, 'the state trace has one entry per record');
    const byType = new Map<string, number>();
    for (const e of st.trace.dynamicCapacityEvents) byType.set(e.eventType, (byType.get(e.eventType) ?? 0) + 1);
    t.ok((byType.get('ADD_CAPACITY') ?? 0) > 0 && (byType.get('RELEASE_CAPACITY') ?? 0) > 0, 'add and release records both traced');
    t.equal(byType.get('FORCED_CAPACITY_RELEASE'), 1);
    t.equal(byType.get('REGION_CONFIGURATION_UPDATED'), 1);
    t.ok(st.trace.dynamicCapacityEvents.filter((e) => e.eventType !== 'REGION_CONFIGURATION_UPDATED').every((e) => e.updatedRegionIndex === 255), 'region index 255 unless type 3');
  });

  await t.test('region destroy releases every tracked extent to the device, claimed or not', async (t) => {
    await addChain(s, 0, chain([160 * M, 168 * M], 4 * M, TAG_A)); // TAG_A was released above: free again
    const c = await s.user(0).call((a) => a.createDaxDevice(0, TAG_A));
    t.ok(c.ok, 'one group is claimed');
    let st = await s.state();
    const tracked = st.regions.region0!.extents.map((e) => e.offset).sort((a, b) => a - b);
    t.ok(tracked.length >= 4, `${tracked.length} extents tracked before destroy`);
    const m0 = mark(s);
    const r = await s.user(0).call((a) => a.destroyRegion(0));
    t.ok(r.ok, 'destroy-region');
    await s.waitIdle();
    const rel = mboxSince(s, REL, m0).map((e) => e.dpa - dpa(0)).sort((a, b) => a - b);
    t.same(rel, tracked, 'one Release DC per tracked extent');
    st = await s.state();
    t.equal(st.regions.region0, undefined, 'the region is gone');
    t.equal(Object.keys(st.daxDevices).length, 0, 'and its DAX devices');
    t.same(st.memdevs.mem0!.accepted.filter((e) => e.offset < 256 * M).map((e) => e.offset), [], 'the device holds nothing of it');
  });
}));

await t.test('knob unmatched-release-ack=on: the unmatched records of a multi-record release are acked', (t) => withSystem(t, { knobs: { 'unmatched-release-ack': 'on' } }, async (s) => {
  await region(s);
  await addChain(s, 0, chain([0, 4 * M, 8 * M], 4 * M, TAG_C));
  const m0 = mark(s);
  const o = await observe(s, 0, () => release(s, 0, [4, 0, 8].map((x) => ({ offset: x * M, length: 4 * M, tag: TAG_C }))));
  const rel = mboxSince(s, REL, m0).map((r) => r.dpa - dpa(0));
  t.equal(rel.length, 5, 'three member releases + two acks of unmatched records');
  t.same(rel.slice(0, 3), [0, 4 * M, 8 * M], 'the group first');
  t.same(rel.slice(3), [0, 8 * M], 'then the acks, for the records\' ranges');
  t.notOk(has(o.log, /dcd event failed/), 'unmatched returns 0');
}));
