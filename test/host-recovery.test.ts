// Existing-extent scan in the async cxl_dax_region probe (docs/kernel-map.md, §7.3, P1/P2, E6,
// §8.1 invariant 2): recovered extents are tracked but never acknowledged; recovered extents
// dropped by a group gate are neither tracked nor released (a lost extent, SK-27).
//
// mem0: cxl-test with the mock's two pre-existing extents (one untagged, one tagged).
// mem1: cxl-test, sharable, a pre-accepted tagged group with seqs {0, 2} (fails G2 at recovery).
// (The generation-number retry is in host-recovery-gen.test.ts.)
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { M, MOCK_PRE_TAG, addChain, chain, events, inWindow, mark, mboxSince, withSystem, region } from './sys-helpers.js';

await withSystem(t, {
  memdevs: [
    { preAccepted: [{ offset: 128 * M, length: 64 * M, tag: null }, { offset: 256 * M, length: 64 * M, tag: MOCK_PRE_TAG }] },
    { sharable: true, preAccepted: [{ offset: 0, length: 2 * M, tag: '44444444-4444-4444-4444-444444444444', seq: 0 }, { offset: 4 * M, length: 2 * M, tag: '44444444-4444-4444-4444-444444444444', seq: 2 }] },
  ],
}, async (s) => {
  await t.test('recovered extents are tracked at probe and never listed in an Add DC Response', async (t) => {
    const m0 = mark(s);
    await region(s, 0);
    const st = await s.state();
    t.same(st.regions.region0!.extents.map((e) => [e.offset, e.length, e.uuid]), [[128 * M, 64 * M, '00000000-0000-0000-0000-000000000000'], [256 * M, 64 * M, MOCK_PRE_TAG]], 'both pre-existing extents tracked');
    t.ok(events(s, 'extent-tracked', m0).every((e) => e.existing === 1), 'as existing (recovered)');
    t.equal(mboxSince(s, CXL_MBOX_OP.ADD_DC_RESPONSE, m0).length, 0, 'no Add DC Response at all for the recovery');
    const scan = events(s, 'scan-done', m0);
    t.same(scan.map((e) => [e.rc, e.found]), [[0, 2]], 'the scan found both, rc 0');
    t.equal(st.regions.region0!.extentsScanned, true);
    t.equal(st.regions.region0!.availableSize, 128 * M, 'both surfaced to DAX');

    const m1 = mark(s);
    const o = await addChain(s, 0, [{ offset: 0, length: 8 * M, tag: null }]);
    t.same(o.listed, [0], 'a later runtime add is acknowledged alone');
    t.same(events(s, 'response-extent', m1).map((e) => e.dpa - 2048 * M), [0], 'no recovered extent in any response');
    const c = await s.user(0).call((a) => a.createDaxDevice(0, MOCK_PRE_TAG));
    t.ok(c.ok, 'the recovered tagged extent is claimable');
  });

  await t.test('a recovered group dropped by a gate is neither tracked nor released (lost extent)', async (t) => {
    const m0 = mark(s);
    await region(s, 1);
    const st = await s.state();
    const r = st.regions.region1!;
    t.equal(r.extentsScanned, true, 'the scan itself succeeded');
    t.equal(r.extents.length, 0, 'the seq {0,2} group failed G2 and is not tracked');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0, 1).length, 0, 'and not released back');
    t.equal(inWindow(st.memdevs.mem1!.accepted, 0, 8 * M).length, 2, 'the device still holds both as accepted');
  });

  await t.test('a second tagged group on mem0 realizes fine next to recovered ones', async (t) => {
    const o = await addChain(s, 0, chain([400 * M, 402 * M], 2 * M, '55555555-5555-5555-5555-555555555555'));
    t.same(o.listed, [400 * M, 402 * M]);
  });

  await t.test('lockdep reports the recovery/runtime AB-BA (add_ctx.lock ↔ device_lock(cxlr_dax), §4.3, invariant 19 fails for v11)', async (t) => {
    const r = s.lockOrderReports().filter((x) => [x.held, x.acquiring].sort().join() === ['add_ctx.lock', 'device_lock(cxlr_dax)'].sort().join());
    t.ok(r.length >= 1, 'a lock-order report names the two locks');
    const chains = r.flatMap((x) => [x.newChain, ...x.existingChains]).map((c) => c.chain.join(' -> '));
    t.ok(chains.some((c) => /device_lock\(cxlr_dax\) -> add_ctx\.lock/.test(c)), 'the probe-side chain (device_lock then add_ctx.lock)');
    t.ok(chains.some((c) => /add_ctx\.lock -> device_lock\(cxlr_dax\)/.test(c)), 'the runtime-add chain (add_ctx.lock then device_lock)');
  });
});
