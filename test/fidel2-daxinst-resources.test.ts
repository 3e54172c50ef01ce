// Audit item "per-instance DAX resources" (docs/fidelity-fidel2.md): every cxl_dax_region probe's
// alloc_dax_region (drivers/dax/bus.c) kzallocs a NEW dax_region whose `res` is the root of its own
// resource tree; dax_region_avail_size walks that tree's children, and __request_region checks
// overlaps in it. The model kept one pool of dax_resources per region, so a resource requested in
// an earlier dax_region counted in the next one's available_size and overlap checks.
//
// Since dax_release_resource runs in the extent's device_del (docs/fidelity-holders.md) and a DAX
// add needs device_lock(cxlr_dax) — which the unbind holds from taking its devres list to
// dev->driver = NULL — such a leftover needs H12's cross-region notify (a recovery scan of another
// region adds resources under that region's lock only, src/cxl/extent.ts __cxlr_notify_extent)
// landing in a teardown's window, and then a cxl_region re-probe. This test therefore plants the
// leftover white-box: the resource of a live extent is marked as requested in the previous
// dax_region instance (daxRes.inst), as that path would leave it. Everything else is the real
// system, on real threads.
import t from 'tap';
import { available_size, create_store } from '../src/dax/bus.js';
import { CxlError } from '../src/errors.js';
import { M, addChain, region, withSystem } from './sys-helpers.js';

t.test('available_size and create_store see only the current dax_region instance\'s resources', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    const R = s.host.regions;
    const D = s.host.daxRes;
    const o = await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null, more: false }]);
    const e = o.tracked[0]!.extent;
    const res = s.host.extents.get(e as never, 'daxRes');
    const inst = R.load(r, 'daxRegionGen');
    t.equal(inst, 1, 'the first probe\'s dax_region is instance 1');
    t.equal(D.get(res, 'inst'), inst, 'the extent\'s dax_resource was requested in it');
    t.equal(available_size(s.ctx, r), 4 * M, 'it counts in that instance\'s available_size');
    // the leftover: the same resource as if requested in the previous instance's tree
    D.set(res, 'inst', inst - 1);
    t.equal(available_size(s.ctx, r), 0, 'a resource of an earlier dax_region is not a child of this one\'s res (the old model: 4M)');
    let errno = 'ok';
    try { create_store(s.ctx, r, '1'); } catch (err) { if (err instanceof CxlError) errno = err.errno; else throw err; }
    t.equal(errno, 'ENOSPC', 'create_store: dax_region_avail_size is 0 → -ENOSPC (the old model created a device)');
    D.set(res, 'inst', inst); // put it back: the teardown at stop releases it as usual
    // a re-probe makes instance 2, and the next resource lands there
    t.ok((await s.daxBus.call((a) => a.unbindDriver(id))).ok, 'unbind');
    t.ok((await s.daxBus.call((a) => a.bindDriver(id))).ok, 'bind: a new dax_region');
    await s.waitIdle();
    t.equal(R.load(r, 'daxRegionGen'), 2, 'instance 2');
    const o2 = await addChain(s, 0, [{ offset: 16 * M, length: 4 * M, tag: null, more: false }]);
    const res2 = s.host.extents.get(o2.tracked[0]!.extent as never, 'daxRes');
    t.equal(D.get(res2, 'inst'), 2, 'a resource added after the re-probe is requested in instance 2');
    t.equal(available_size(s.ctx, r), 4 * M, 'and counted there');
  });
});
