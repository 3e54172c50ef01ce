// Knob release-batch (a design alternative, NOT v11 — src/scenario/knobs.ts): v11 releases a tag
// group extent by extent (extent.c rm_tag_group → dc_extent_release → cxled_release_extent →
// mbox.c memdev_release_extent, one Release DC each); release-batch=group sends one Release DC
// listing every member. Checked on the device's own counters (Release DC commands served,
// extents released) and on the host's mailbox events, on the real worker topology.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { BLOCK, TAG_A, addChain, chain, events, inWindow, mark, mboxSince, observe, region, release, withSystem } from './sys-helpers.js';

const REL = CXL_MBOX_OP.RELEASE_DC;

for (const batch of ['extent', 'group'] as const) {
  await t.test(`release-batch=${batch}${batch === 'extent' ? ' (v11)' : ' (not v11)'}`, (t) => withSystem(t, { knobs: { 'release-batch': batch } }, async (s) => {
    await region(s);
    let groups = 0;
    for (const [tag, n, base] of [[null, 4, 0], [TAG_A, 3, 32 * BLOCK]] as const) {
      await addChain(s, 0, chain(Array.from({ length: n }, (_, i) => base + i * BLOCK), BLOCK, tag));
      const before = await s.device(0).call((a) => a.counters());
      const m0 = mark(s);
      await observe(s, 0, () => release(s, 0, [{ offset: base, length: BLOCK, tag }]));
      await s.waitIdle();
      const after = await s.device(0).call((a) => a.counters());
      groups++;
      const relCmds = (after.byOpcode.RELEASE_DC ?? 0) - (before.byOpcode.RELEASE_DC ?? 0);
      const label = `${tag ? 'tagged' : 'untagged'} group of ${n}`;
      t.equal(relCmds, batch === 'group' ? 1 : n, `${label}: the device served ${batch === 'group' ? 'one Release DC' : 'one Release DC per extent'} (${relCmds})`);
      t.equal(after.extentsReleased - before.extentsReleased, n, `${label}: the device released all ${n} extents`);
      t.equal(after.mboxErrors - before.mboxErrors, 0, `${label}: no mailbox errors`);
      const sent = mboxSince(s, REL, m0);
      t.same(sent.map((e) => e.nrExtents), batch === 'group' ? [n] : Array.from({ length: n }, () => 1), `${label}: Release DC entries per command as the host sent them`);
      // the Release DC precedes every member's extent-untracked, as in v11's dc_extent_release
      const evs = events(s, 'extent-untracked', m0);
      t.equal(evs.length, n, `${label}: every member untracked`);
      const st = await s.state();
      t.equal(inWindow(st.memdevs.mem0!.accepted, base, base + n * BLOCK).length, 0, `${label}: nothing of the group is left accepted on the device`);
      if (batch === 'group') {
        const all = s.events.slice(m0);
        const relAt = all.findIndex((d) => d.ev.type === 'mbox' && d.ev.opcode === REL);
        const firstUntracked = all.findIndex((d) => d.ev.type === 'extent-untracked');
        t.ok(relAt >= 0 && relAt < firstUntracked, `${label}: the one Release DC (event ${relAt}) comes before the first extent-untracked (event ${firstUntracked})`);
      }
    }
    t.equal(groups, 2, 'two groups released');
  }));
}
