// __request_region fails for a range outside the dax_region resource (drivers/dax/bus.c
// __dax_region_add_resource: -ENOSPC), not only for an overlap. Reachable with H11: an untagged
// chain spanning two regions becomes one group parented to the first extent's region, and
// cxl_dax_group_add adds dax_region->res.start + dc_extent->hpa_range.start for every member —
// the stray member's offset is relative to the OTHER region's decoder. Inside region0's size it
// lands (on the wrong bytes); beyond it the whole group add fails -ENOSPC (all-or-none).
import t from 'tap';
import { M, addChain, chain, events, mark, region, withSystem } from './sys-helpers.js';

await withSystem(t, { memdevs: [{ size: 1024 * M }] }, async (s) => {
  await region(s, 0, 256 * M); // region0: DC [0, 256M)
  await region(s, 0, 768 * M); // region1: DC [256M, 1G)

  await t.test('stray member at region1 offset 300M (beyond region0\'s 256M): the group add fails -ENOSPC', async (t) => {
    const m0 = mark(s);
    const l0 = s.dmesgLines().length;
    const o = await addChain(s, 0, chain([100 * M, 556 * M], 2 * M, null));
    const dg = events(s, 'dax-group', m0);
    t.same(dg.map((e) => [e.add, e.n, e.rc]), [[1, 2, 28]], 'one group add of 2 members, rc ENOSPC');
    t.ok(s.dmesgLines().slice(l0).some((l) => /Failed to add region s:0x12c00000 .*outside the dax_region/.test(l.msg)), 'dev_err names the range');
    const st = await s.state();
    t.equal(st.regions.region0!.availableSize, 0, 'nothing surfaced: the first member was rolled back');
    t.comment(`tracked ${o.tracked.length}, listed ${JSON.stringify(o.listed)}`);
  });

  await t.test('stray member at region1 offset 50M (inside region0\'s range): surfaced, on region0\'s bytes', async (t) => {
    const m0 = mark(s);
    await addChain(s, 0, chain([104 * M, 306 * M], 2 * M, null));
    const dg = events(s, 'dax-group', m0);
    t.same(dg.map((e) => [e.add, e.n, e.rc]), [[1, 2, 0]], 'added');
    const st = await s.state();
    t.equal(st.regions.region0!.availableSize, 4 * M, 'both surfaced on region0');
  });
});
