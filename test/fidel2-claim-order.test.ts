// Audit item 6 (docs/fidelity-fidel2.md): uuid_claim_untagged (drivers/dax/bus.c, v11 patch 26)
// takes device_find_child(dax_region->dev, …, find_uuid_extent)'s match — the first child on
// cxlr_dax's klist, i.e. the OLDEST registered dc_extent with a free untagged dax_resource
// (device_add → klist_add_tail, drivers/base/core.c). online_tag_group's xa_alloc
// (drivers/cxl/core/extent.c, XA_FLAGS_ALLOC1) reuses the lowest free id, so an extent onlined
// after a release can carry a LOWER id than an older one. The model took the lowest id.
// What it changes for H15 (docs/kernel-map.md#h15): cxlr_dax's devres runs in reverse
// registration order, so a device's claim of an extent onlined BEFORE the device is trimmed while
// its dax_resource is alive; the old model's lowest-id pick could take the newer extent, onlined
// after the device, and report H15's use-after-free where v11 has none. H15 stays reachable for an
// untagged claim when the oldest free extent was onlined after the device (second test).
// Real topology and threads; the stores run on this thread (as test/dax-claim.test.ts does).
import t from 'tap';
import { create_store, rangesOf, uuid_store } from '../src/dax/bus.js';
import { UAF_SITE } from '../src/protocol.js';
import { M, addChain, events, mark, region, release, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

const untagged = (offset: number): { offset: number; length: number; tag: null; more: false }[] => [{ offset, length: 4 * M, tag: null, more: false }];

/** Add one untagged 4M extent at `offset` (its own group); returns its xarray id. */
async function online(s: DcdSystem, offset: number): Promise<number> {
  const o = await addChain(s, 0, untagged(offset));
  if (o.tracked.length !== 1) throw new Error(`extent at ${offset} not tracked`);
  return o.tracked[0]!.id;
}

/** The region offsets of a device's ranges, in pgoff order. */
function rangeStarts(s: DcdSystem, dev: number): number[] {
  return rangesOf(s.ctx, dev).map((g) => s.host.daxRanges.get(g, 'start'));
}

function trimUafs(s: DcdSystem, from: number): number {
  return events(s, 'use-after-free', from).filter((e) => e.site === UAF_SITE.daxResourceTrim).length;
}

t.test('an untagged claim takes the oldest registered free extent, not the lowest id; no H15 at the unbind', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    t.equal(await online(s, 0), 1, 'A: extent id 1');
    t.equal(await online(s, 16 * M), 2, 'B: extent id 2');
    await release(s, 0, [{ offset: 0, length: 4 * M }]);
    await s.waitIdle();
    t.notOk(events(s, 'extent-tracked').some((e) => e.id === 1 && s.host.extents.isLive(e.extent as never)), 'A released: id 1 is free');
    // the device exists before C is onlined: its unregister_dev_dax action precedes C's on cxlr_dax
    const d = create_store(s.ctx, r, '1');
    t.equal(await online(s, 32 * M), 1, 'C, onlined after B and after the device, reuses id 1 (xa_alloc: lowest free)');
    uuid_store(s.ctx, d, '0');
    t.same(rangeStarts(s, d), [16 * M], 'the claim took B — the older child — not C (the lowest id; the old model took C)');
    const m = mark(s);
    t.ok((await s.daxBus.call((a) => a.unbindDriver(id))).ok, 'the cxl_dax_region unbind');
    await s.waitIdle();
    t.equal(trimUafs(s, m), 0, 'no H15: the device\'s unregister_dev_dax trimmed B before B\'s dax_release_resource ran (the old model: C freed first, then trimmed)');
  });
});

t.test('H15 stays reachable for an untagged claim: the only free extent was onlined after the device', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    t.equal(await online(s, 0), 1, 'A: id 1');
    const d = create_store(s.ctx, r, '1'); // the seed, before C
    t.equal(await online(s, 16 * M), 2, 'C: id 2, onlined after the device');
    const e = create_store(s.ctx, r, '1'); // a second 0-size device, after C
    uuid_store(s.ctx, e, '0');
    t.same(rangeStarts(s, e), [0], 'the first claim takes A, the oldest');
    uuid_store(s.ctx, d, '0');
    t.same(rangeStarts(s, d), [16 * M], 'the device made before C claims C, the only free one');
    const m = mark(s);
    t.ok((await s.daxBus.call((a) => a.unbindDriver(id))).ok, 'the cxl_dax_region unbind');
    await s.waitIdle();
    t.equal(trimUafs(s, m), 1, 'H15: C\'s dax_release_resource ran before the device\'s trim read it (one use-after-free)');
  });
});
