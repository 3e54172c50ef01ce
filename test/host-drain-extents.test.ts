// What the drain hands to the extent code, as v11 wrote it, on real threads:
//  - 18.6 __cxl_process_extent_list (drivers/cxl/core/mbox.c) runs cxl_add_pending(existing=true)
//    whenever add_ctx.pending_extents is non-empty — a runtime More=1 chain staged there is
//    realized as "existing" by the next region scan, even when the device returned 0 extents, and
//    never acknowledged (an H2 variant); the watchdog then refuses it with an empty response;
//  - 18.9 cxlr_dax->dc_extents entries are erased only at the last put (dc_extent_release,
//    drivers/cxl/core/extent.c): a held (knob extent-refs=user, NOT v11), unregistered `extentX.Y` is still met by the walks — a
//    re-offer inside it is a DUPLICATE, a second release record matches it and its group is
//    notified and rm_tag_group'ed again (devm_release_action WARNs: no devres left);
//  - extent ids come from xa_alloc with XA_FLAGS_ALLOC1 (online_tag_group): the lowest free id;
//  - 13.9 cxl_dax_group_rm (drivers/dax/cxl.c) returns 0 when group->nr_extents is 0 and checks at
//    most nr_extents members.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { RELEASE_REASON } from '../src/protocol.js';
import { DC_BASE, M, addChain, chain, dmesgMatching, events, inject, mark, mboxSince, region, release, withSystem } from './sys-helpers.js';

t.test('18.6: a staged runtime More=1 chain is realized as existing by a scan that read 0 extents', async (t) => {
  await withSystem(t, { clock: 'virtual' }, async (s) => {
    const m0 = mark(s);
    // staged before any region exists: handle_add_event stages without looking at regions
    await inject(s, 0, [{ offset: 0, length: 2 * M, tag: null, more: true }]);
    await s.waitIdle();
    t.equal(s.host.memdevs.get(s.host.memdev(0), 'nrPending'), 1, 'one record staged, chain armed');
    t.equal(events(s, 'response', m0).length, 0, 'no response yet');
    await region(s); // the probe's scan: Get DC Extent List returns 0 extents
    const scan = events(s, 'scan-done', m0);
    t.equal(scan.length, 1);
    t.equal(scan[0]!.found, 0, 'the device returned 0 extents');
    const tracked = events(s, 'extent-tracked', m0);
    t.equal(tracked.length, 1, 'the staged runtime record is realized anyway');
    t.equal(tracked[0]!.existing, 1, 'as an existing (recovered) extent');
    t.equal(tracked[0]!.dpa, DC_BASE);
    t.equal(events(s, 'response', m0).length, 0, 'never acknowledged: existing extents get no Add DC Response');
    let st = await s.state();
    t.equal(st.memdevs.mem0!.accepted.length, 0, 'the device never accepted it');
    t.equal(st.regions.region0!.extents.length, 1, 'the host tracks it');
    // the chain is still armed (clear_pending_extents leaves `armed`): the watchdog refuses it
    await s.advanceClock(20_000);
    await s.waitIdle();
    const closed = events(s, 'chain-closed', m0);
    t.equal(closed.length, 1);
    t.equal(closed[0]!.byTimeout, 1, 'the 20 s watchdog fires for the chain the scan consumed');
    t.same(events(s, 'response', m0).map((r) => r.nrExtents), [0], 'with an empty Add DC Response (refuse all)');
    st = await s.state();
    t.equal(st.regions.region0!.extents.length, 1, 'host and device diverge: the host keeps an extent the device refused');
  });
});

t.test('18.9: a held, unregistered extent stays in dc_extents until its last put', async (t) => {
  // the lock-free user hold is NOT v11 (knob extent-refs=user, docs/fidelity-holders.md)
  await withSystem(t, { knobs: { 'extent-refs': 'user' } }, async (s) => {
    const rid = await region(s);
    const X = 4 * M;
    const o = await addChain(s, 0, chain([0], X, null));
    t.equal(o.tracked.length, 1, 'extent0 tracked');
    const held = await s.user(0).call((a) => a.holdExtent(rid, 0, 'x'));
    t.ok(held.ok, 'a reader holds extent0.1 (get_device)');

    // first release: the group is torn down (unregistered) but the device release waits for the put
    let m = mark(s);
    await release(s, 0, [{ offset: 0, length: X }]);
    await s.waitIdle();
    t.same(events(s, 'release-outcome', m).map((e) => e.reason), [RELEASE_REASON.acked], 'the first release is acked (rm_tag_group)');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m).length, 0, 'no Release DC yet: the reader still holds the device');

    // a re-offer inside the held extent: DUPLICATE, accepted again, nothing new tracked
    m = mark(s);
    const re = await addChain(s, 0, chain([2 * M], 2 * M, null));
    t.equal(re.tracked.length, 0, 'no new dc_extent: the held entry classifies the re-offer as a duplicate');
    // a group of nothing but duplicates builds no tag group: cxl_realize_group returns -ENXIO and
    // the chain is answered with an empty response (duplicates are re-listed only beside new ones)
    t.same(re.responses.map((r) => r.nrExtents), [0], 'the duplicate-only chain is answered with an empty response');
    t.same(re.listed, [], 'nothing listed');

    // a second release record for the same range matches the stale entry again
    m = mark(s);
    await release(s, 0, [{ offset: 0, length: X }]);
    await s.waitIdle();
    t.same(events(s, 'release-outcome', m).map((e) => e.reason), [RELEASE_REASON.acked], 'matched again: notified and rm_tag_group a second time (not "matches no dc_extent")');
    t.equal(events(s, 'dax-group', m).filter((e) => e.add === 0).length, 1, 'the DAX side is notified of the release a second time');
    t.ok(dmesgMatching(s, /devm_release_action: no devres/).length >= 1, 'rm_tag_group meets a member whose devres already ran (WARN)');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m).length, 0, 'still no Release DC');

    // the last put: dc_extent_release sends the Release DC and erases the entry
    m = mark(s);
    const put = await s.user(0).call((a) => a.putExtent('x'));
    t.ok(put.ok);
    await s.waitIdle();
    const rel = mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m);
    t.equal(rel.length, 1, 'the last put sends the Release DC');
    t.equal(rel[0]!.dpa, DC_BASE);
    t.equal(events(s, 'extent-untracked', m).length, 1, 'and erases the entry');
    // after the erase, a release of the same range matches nothing
    m = mark(s);
    await release(s, 0, [{ offset: 0, length: X }]);
    await s.waitIdle();
    t.same(events(s, 'release-outcome', m).map((e) => e.reason), [RELEASE_REASON.noMatch], 'once erased, the range matches no dc_extent');
  });
});

t.test('xa_alloc: extent ids are the lowest free id, so names match the kernel after deletes', async (t) => {
  await withSystem(t, {}, async (s) => {
    await region(s);
    const ids: number[] = [];
    for (const off of [0, 8, 16]) {
      const o = await addChain(s, 0, chain([off * M], 2 * M, null));
      ids.push(o.tracked[0]!.id);
    }
    t.same(ids, [1, 2, 3], 'extent0.1, extent0.2, extent0.3');
    await release(s, 0, [{ offset: 8 * M, length: 2 * M }]);
    await s.waitIdle();
    const o = await addChain(s, 0, chain([24 * M], 2 * M, null));
    t.equal(o.tracked[0]!.id, 2, 'the next extent reuses id 2 (extent0.2), as xa_alloc does');
    const o2 = await addChain(s, 0, chain([32 * M], 2 * M, null));
    t.equal(o2.tracked[0]!.id, 4, 'then 4');
    const st = await s.state();
    t.same(st.regions.region0!.extents.map((e) => e.offset).sort((a, b) => a - b), [0, 16 * M, 24 * M, 32 * M].map((x) => x), 'four extents tracked');
  });
});

t.test('13.9: cxl_dax_group_rm checks at most nr_extents members (the counter H6 can corrupt)', async (t) => {
  await withSystem(t, {}, async (s) => {
    const rid = await region(s);
    const T = '44444444-4444-4444-4444-444444444444';
    await addChain(s, 0, chain([0, 2 * M], 2 * M, T));
    const claim = await s.user(0).call((a) => a.createDaxDevice(rid, T));
    t.ok(claim.ok, 'the two-member group is claimed by a dax device (both members in use)');
    // the counter the unlocked read-modify-writes of H6 can leave behind, set directly
    const X = s.host.extents;
    const g = X.get([...X.live()][0]!, 'group');
    t.equal(s.host.groups.get(g, 'nrExtents'), 2);
    s.host.groups.set(g, 'nrExtents', 0); // what a lost increment / extra decrement (H6) leaves
    let m = mark(s);
    await release(s, 0, [{ offset: 0, length: 2 * M, tag: T }]);
    await s.waitIdle();
    const dg = events(s, 'dax-group', m).filter((e) => e.add === 0);
    t.same(dg.map((e) => [e.n, e.rc]), [[0, 0]], 'nr_extents 0: no member is checked, the DAX side agrees (0)');
    // X4 bypassed: rm_tag_group unregisters both members, whose releases send Release DC for
    // memory the dax device still maps
    t.same(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m).map((e) => e.dpa - DC_BASE), [0, 2 * M], 'Release DC for both in-use members');
    // and the corrupted count frees the group under rm_tag_group's own pin: its final put is a
    // use-after-free, detected as a stale handle (the drain unwinds; the record, handled again, matches nothing)
    t.ok(dmesgMatching(s, /stale handle .* table groups/).length >= 1, 'the put after free_tag_group is a detected use-after-free');
    t.ok(events(s, 'release-outcome', m).every((e) => e.reason !== RELEASE_REASON.inUse), 'never refused as in use');
  }, { allowHung: true });
});
