// Audit item 9 (docs/fidelity-audit.md): v11's cxl_dax_group_add() (drivers/dax/cxl.c at f5e075e2)
// returns 0 without calling dax_region_add_resources when group->nr_extents reads 0, and collects
// at most nr_extents members — the same bound as cxl_dax_group_rm(). The model added every member.
// The counter is the plain one H6 can leave wrong, so the test sets it white-box; everything else
// is the real system on real threads.
import t from 'tap';
import { cxl_dax_region_notify } from '../src/dax/cxl.js';
import { M, addChain, region, withSystem } from './sys-helpers.js';

const TAG = '6f1d2c3b-4a59-4e68-9f70-8192a3b4c5d6';

t.test('a DAX group add reads group->nr_extents first: 0 adds nothing', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    const o = await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: TAG, more: true }, { offset: 8 * M, length: 4 * M, tag: TAG, more: false }]);
    t.equal(o.tracked.length, 2, 'a two-member tagged group, onlined and added to the DAX region');
    const g = s.host.extents.get(o.tracked[0]!.extent as never, 'group') as never;
    const G = s.host.groups;
    const nr = G.get(g, 'nrExtents');
    t.ok(nr >= 2, `nr_extents ${nr}`);
    // a second add of the same group with the counter at 0: v11 returns before any
    // dax_region_add_resources; the old model re-requested both members' ranges (overlap: an error)
    G.set(g, 'nrExtents', 0);
    let rc: number;
    try { rc = cxl_dax_region_notify(s.ctx, r, 'add', g); } finally { G.set(g, 'nrExtents', nr); }
    t.equal(rc, 0, 'nr_extents 0: returns 0, nothing requested (the old model: an overlap error)');
    // with the counter intact the same second add reaches dax_region_add_resources and is refused
    // there (both ranges are requested already): the bound above is what made it 0
    const rc2 = cxl_dax_region_notify(s.ctx, r, 'add', g);
    t.not(rc2, 0, `with nr_extents ${nr} the add reaches dax_region_add_resources and is refused (${rc2})`);
  });
});
