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

await t.test('v11 (group lock): a claim never sees a partial group', (t) => withSystem(t, { users: 2, noisePermille: 1000 }, async (s) => {
  await region(s);
  // at least ROUNDS rounds, then on (at most MAX) until the window was hit and a claim won: both
  // need the user workers scheduled while the group is onlined, which CPU hogs on a loaded CI
  // machine can deny them round after round — a count bound, never a time budget
  const ROUNDS = 16;
  const MAX = 64;
  let partial = 0;
  let full = 0;
  let attempts = 0;
  let whileAdding = 0;
  let wonRounds = 0;
  let r = 0;
  for (; r < ROUNDS || ((whileAdding === 0 || wonRounds === 0) && r < MAX); r++) {
    const o = await claimRaceRound(s, r, { holdNotify: true });
    partial += o.partial;
    full += o.full;
    attempts += o.attempts;
    whileAdding += o.whileAdding;
    if (o.full + o.partial > 0) wonRounds++;
  }
  t.comment(`v11: ${r} rounds (at least ${ROUNDS}, at most ${MAX}), ${attempts} claim attempts, ${whileAdding} of them failed after the members were onlined, before any claim won; ${full} whole-group claims, ${partial} partial; a claim won in ${wonRounds} rounds`);
  t.equal(partial, 0, 'no successful claim saw fewer ranges than the group has members');
  t.ok(whileAdding > 0, `the race window was hit: ${whileAdding} claims ran while the group's members were onlined and its DAX add was in progress`);
  t.equal(full, wonRounds, 'every round a claim won, it won the whole group');
  t.ok(wonRounds > 0, `claims won (${wonRounds} of ${r} rounds)`);
  const st = await s.state();
  t.same(st.regions.region0!.extents, [], 'all released');
}));
