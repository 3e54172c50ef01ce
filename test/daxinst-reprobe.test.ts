// A cxl_region re-probe allocates a NEW cxl_dax_region (drivers/cxl/core/region_dax.c
// devm_cxl_add_dax_region → cxl_dax_region_alloc: a fresh dc_extents xarray, kref and devres list;
// cxlr->cxlr_dax overwritten). The previous instance lives on while a tag group pins it
// (drivers/cxl/core/extent.c alloc_tag_group / free_tag_group), and what was onlined onto it after
// its teardown (H14's orphan, docs/kernel-map.md) stays with it. The model used to keep one
// instance per region: the re-probe failed "Resources present" on the orphan's devres, the old
// group's last put dropped the NEW instance's count (a spurious H16 on the next add), and the new
// instance's walks met the old extents. Real topology, real threads, no timing assumptions.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { RELEASE_REASON, UAF_SITE } from '../src/protocol.js';
import { M, TAG_A, TAG_C, addChain, chain, dmesgMatching, dpa, events, mark, mboxSince, region, release, withSystem } from './sys-helpers.js';

// The hold that keeps group A pinned across the disable is the NOT-v11 knob extent-refs=user
// (docs/fidelity-holders.md): a deterministic stand-in for H14's race (an extent realized into a
// region whose teardown already began), which leaves a group pinning the old instance the same way.
await withSystem(t, { knobs: { 'extent-refs': 'user' } }, async (s) => {
  await t.test('an orphan on the disabled instance: the re-probe gets a clean instance, the old pins stay old', async (t) => {
    const R = s.host.regions;
    const id = await region(s);
    const r = s.host.regionById(id);
    const m0 = mark(s);
    // group A, one extent; a user holds it open (cxl_extent_get, under the knob), so the disable's teardown
    // unregisters it but cannot release it: group A, and its pin on the instance, live on
    t.same((await addChain(s, 0, chain([0], 4 * M, TAG_A))).listed, [0], 'A accepted');
    t.ok((await s.user(0).call((a) => a.holdExtent(id, 0, 'a'))).ok, 'extent A held open');
    t.ok((await s.disableRegion(id)).ok, 'cxl disable-region');
    await s.waitIdle();
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 0, 'the held extent is not released yet');
    // cxlr->cxlr_dax still points at the unregistered instance, which A's group keeps allocated:
    // an untagged add is realized onto it after its devres ran (H14's orphan; nothing releases it)
    t.same((await addChain(s, 0, [{ offset: 16 * M, length: 4 * M, tag: null }])).listed, [16 * M], 'B accepted onto the pinned, disabled instance');
    const orphan = events(s, 'extent-tracked', m0).find((e) => e.dpa === dpa(16 * M) && e.existing === 0);
    t.ok(orphan, 'B tracked (the orphan)');
    const gen0 = R.load(r, 'cxlrDaxRefs') >>> 12;
    t.equal(R.load(r, 'oldDaxRefs'), 0, 'no old instance yet');

    // enable-region: cxl_region_probe allocates a new instance; the dax driver probes it
    const m1 = mark(s);
    const p = await s.daxBus.call((a) => a.probe(id));
    t.ok(p.ok, `the re-probe binds (the old model: -EBUSY "Resources present before probing"): ${p.ok ? 'ok' : p.message}`);
    await s.waitIdle();
    t.same(dmesgMatching(s, /Resources present/), [], 'no "Resources present" refusal');
    t.equal(R.load(r, 'cxlrDaxRefs') >>> 12, gen0 + 1, 'a new instance generation');
    t.equal(R.load(r, 'cxlrDaxRefs') & 0xfff, 2, 'the new instance holds its own reference and the scan\'s group pin');
    t.equal(R.load(r, 'oldDaxRefs'), 2, 'the old instance keeps the pins of groups A and B');
    // the new instance's recovery scan does not see the orphan: it realizes B's range afresh
    // (the old model's shared list classified it DUPLICATE, "accept again")
    const scanned = events(s, 'extent-tracked', m1).filter((e) => e.existing === 1 && e.dpa === orphan!.dpa);
    t.equal(scanned.length, 1, 'the scan realized B\'s range on the new instance (v11: the orphan is in the old xarray)');
    const st = await s.state();
    const rv = st.regions[`region${id}`]!;
    t.equal(rv.driverBound, true, 'the cxl_dax_region driver is bound');
    t.same(rv.extents.map((x) => x.offset), [16 * M], 'dax_region shows only the new instance\'s extent (the scan\'s)');
    // (not asserted: available_size — the held extent A keeps its dax_resource until its last put,
    // and the model's dax_region side does not yet tell the old dax_region's resources from the
    // new one's; docs/fidelity-daxinst.md, "left")

    // the held extent's last put: dc_extent_release → free_tag_group puts the OLD instance
    const m2 = mark(s);
    t.ok((await s.user(0).call((a) => a.putExtent('a'))).ok, 'extent A put');
    await s.waitIdle();
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m2).length, 1, 'A released to the device at its last put');
    t.equal(R.load(r, 'oldDaxRefs'), 1, 'group A\'s put dropped an old-instance pin');
    t.equal(R.load(r, 'cxlrDaxRefs') & 0xfff, 2, 'the new instance\'s count is untouched');
    // so the next add uses a live instance: no spurious H16
    t.same((await addChain(s, 0, chain([32 * M], 4 * M, TAG_C))).listed, [32 * M], 'a later add is accepted');
    t.equal(events(s, 'use-after-free', m0).filter((e) => e.site === UAF_SITE.cxlrDax).length, 0, 'no cxlr_dax use-after-free reported');
    // a Release record for B's range matches the NEW instance's extent (the scan's), never the
    // orphan: cxl_rm_extent walks cxlr->cxlr_dax->dc_extents, the current instance
    const m3 = mark(s);
    await release(s, 0, [{ offset: 16 * M, length: 4 * M, tag: null }]);
    await s.waitIdle();
    const outs = events(s, 'release-outcome', m3);
    t.same(outs.map((o) => o.reason), [RELEASE_REASON.acked], 'the release is acknowledged');
    const gone = events(s, 'extent-untracked', m3).map((e) => e.extent);
    t.ok(gone.includes(scanned[0]!.extent), 'the new instance\'s extent was released');
    t.notOk(gone.includes(orphan!.extent), 'the orphan stays with the old instance');
    t.ok(s.host.extents.isLive(orphan!.extent as never), 'the orphan record is still allocated (leaked with its instance, as in v11)');
  });
});
