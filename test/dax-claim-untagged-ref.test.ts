// uuid_claim_untagged() (drivers/dax/bus.c, v11 patch 26) finds its extent with device_find_child:
// the klist iterator holds the current child, and the match takes get_device(child) before the
// iterator lets go — a kref_get on a device someone holds, which cannot fail. A teardown's
// device_del (dc_extent_unregister) can klist_del the child in between; the kernel's reference is
// taken all the same. The model used the iterator's "still on the list?" get for the match, so a
// child unlinked in that window got no reference and the claim's put dropped the teardown's: the
// extent was released in the claim's thread while its device_del still waited for
// dax_region_rwsem (bench:find's rcu=on control, twelfth session, seed 100 iteration 31: a
// forbidden `conservation`; docs/findings-open.md). That window has no instrumented point, so the
// test opens it white-box: the unlink is made the moment the match reads the child's resource.
import t from 'tap';
import { daxctl_create_device } from '../src/dax/bus.js';
import '../src/dax/cxl.js'; // the cxl_dax_region driver in this thread: an extent release here runs its dax_release_resource
import { M, addChain, region, withSystem } from './sys-helpers.js';

t.test('the untagged claim\'s get_device holds even when the child was unlinked after the iterator took it', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    const o = await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null, more: false }]);
    t.equal(o.tracked.length, 1, 'one untagged extent, onlined with its DAX resource');
    const e = o.tracked[0]!.extent as never;
    const X = s.host.extents;
    const refs0 = X.get(e, 'refs');
    // the teardown's klist_del (dc_extent_unregister's first step) lands while the match runs
    const get = X.get.bind(X) as (h: never, f: string) => number;
    let unlinked = false;
    (X as unknown as { get: (h: never, f: string) => number }).get = (h, f) => {
      if (!unlinked && h === e && f === 'daxRes') { unlinked = true; X.store(e, 'registered', 0); }
      return get(h, f);
    };
    let dev: number;
    try { dev = daxctl_create_device(s.ctx, r, null); } finally { (X as unknown as { get: unknown }).get = get; }
    t.ok(unlinked, 'the child was unlinked inside the claim\'s walk');
    t.ok(X.isLive(e), 'the extent is not released by the claim\'s put (the old model released it here)');
    t.equal(X.get(e, 'refs'), refs0, `its references are what they were (${refs0}): the match's get and the claim's put pair up`);
    t.ok(s.host.daxDevs.get(dev as never, 'size') > 0, 'the claim mapped the extent (v11: the resource lives until the teardown\'s dax_release_resource)');
    X.store(e, 'registered', 1); // no teardown really ran: put the child back for the system's own checks
  });
});
