// H20 (docs/kernel-map.md#h20): drivers/dax/bus.c delete_store finds its victim with
// device_find_child_by_name(dax_region->dev, buf) and casts it with to_dev_dax() unchecked. v11's
// online_tag_group (drivers/cxl/core/extent.c) parents every dc_extent device (extentR.N) on
// cxlr_dax->dev, the dax_region's device (drivers/dax/cxl.c cxl_dax_region_probe), so an extent's
// name written to dax_regionR/delete reaches to_dev_dax() with a dc_extent. Real worker threads:
// the write runs in a user worker against the running system; the standard checkers classify it.
import t from 'tap';
import { classify, standardCheckers } from '../stress/checkers/index.js';
import { TAG_A, addChain, chain, region, withSystem, M } from './sys-helpers.js';

await withSystem(t, { users: 1 }, async (s) => {
  for (const c of standardCheckers()) s.addChecker(c);
  const rid = await region(s);
  const out = await addChain(s, 0, chain([0, 32 * M], 32 * M, TAG_A));
  t.equal(out.tracked.length, 2, 'a two-extent tagged chain is accepted');
  const st = await s.state();
  const reg = st.regions[`region${rid}`]!;
  const extentNames = reg.extents.map((e) => e.name);
  const daxNames = reg.daxDevices.map((d) => d.name);
  t.equal(extentNames.length, 2, `two extent devices: ${extentNames.join(', ')}`);
  t.notOk(extentNames.some((n) => n !== undefined && daxNames.includes(n)), "extent and dax device names are distinct siblings");

  const u = s.user(0);
  // A name that is no child at all: -ENXIO, no finding.
  const none = await u.call((a) => a.deleteByName(rid, `extent${rid}.999`));
  t.match(none, { ok: false, errno: 'ENXIO' }, 'a name no child has: -ENXIO');
  t.same(classify(await s.check()).outcomes.filter((o) => o.includes('h20')), [], 'no H20 finding for an unknown name');

  // The dax device the probe made is still deletable by its name? It is device-id 0: -EBUSY.
  const seed = await u.call((a) => a.deleteByName(rid, daxNames[0]!));
  t.match(seed, { ok: false, errno: 'EBUSY' }, `${daxNames[0]} (device-id 0) is never deleted`);

  // An extent's name: device_find_child_by_name returns the dc_extent; to_dev_dax reinterprets it.
  const r = await u.call((a) => a.deleteByName(rid, `${extentNames[0]!}\n`));
  t.match(r, { ok: false, errno: 'EFAULT' }, `echo ${extentNames[0]} > dax_region${rid}/delete reaches to_dev_dax with a dc_extent`);
  const c = classify(await s.check());
  t.ok(c.outcomes.includes('dev-dax-type-confusion-delete-h20'), `classified: ${c.outcomes.join(', ')}`);
  t.equal(c.class, 'known-hazard', 'a known hazard (H20), not forbidden');
  const after = await s.state();
  t.equal(after.regions[`region${rid}`]!.extents.length, 2, 'the model stops at the confusion: both extents stay');
});
