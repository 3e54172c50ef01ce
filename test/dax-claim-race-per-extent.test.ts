// A uuid claim racing the DAX add of its tag group (docs/kernel-map.md, §5.2, H7, §8.1 invariant
// 10): v11 adds a group's dax_resources under ONE hold of dax_region_rwsem, so a claim sees none
// or all of them — a successful claim's nRanges always equals the group's members. With the knob
// group-lock=per-extent (the v10 locking) the rwsem is taken per member and a concurrent claimer
// does observe a partial group. Two user workers hammer `daxctl create-device --uuid T` while the
// device offers a 16-extent group; every claim is read back from the runtime 'claim' events.
// Both files run with the same seeded noise at instrumented points; only the knob differs.
// Every round holds device_lock(cxlr_dax) on the test thread while the group is onlined, until a
// claim has run between online_tag_group and the DAX add (sys-helpers claimRaceRound holdNotify):
// the window is reached by a handshake, not by how the machine schedules the user workers.
import t from 'tap';
import { claimRaceRound, region, withSystem } from './sys-helpers.js';

await t.test('group-lock=per-extent: a concurrent claimer observes a partial group', (t) => withSystem(t, { users: 2, knobs: { 'group-lock': 'per-extent' }, noisePermille: 1000 }, async (s) => {
  await region(s);
  const MAX = 150; // a count bound, not a clock: stop at the first partial claim
  let partial = 0;
  let attempts = 0;
  let whileAdding = 0;
  let r = 0;
  for (; r < MAX && partial === 0; r++) {
    const o = await claimRaceRound(s, 1000 + r, { holdNotify: true });
    partial += o.partial;
    attempts += o.attempts;
    whileAdding += o.whileAdding;
  }
  t.comment(`per-extent: first partial claim after ${r} round(s) of at most ${MAX}, ${attempts} claim attempts (${whileAdding} while the group was being added)`);
  t.ok(partial > 0, `a successful claim saw a partial group within ${r} rounds`);
}));
