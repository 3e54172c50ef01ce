// Issue "dcd stress": rows (d)–(f) are found by the stress runner and reproduced by replay.
import t from 'tap';
import { findAndReplay } from './stress-helpers.js';

t.test('(d) v11 AB-BA add_ctx.lock / device_lock(cxlr_dax): the deadlock reported as a hung wait (known hazard H2)', (t) =>
  findAndReplay(t, { row: 'd', workload: 'chain-close-vs-probe', knobs: {}, variant: 'v11', want: 'hung-wait-h2', wantClass: 'known-hazard', maxIterations: 20 }));

t.test('(e) watchdog vs late tail: two responses for one device chain (known hazard H4)', (t) =>
  findAndReplay(t, { row: 'e', workload: 'watchdog-vs-late-tail', knobs: {}, variant: 'v11', want: 'double-response-after-timeout', wantClass: 'known-hazard', maxIterations: 10 }));

t.test('(f) a v10 host against a v11 device: sharable groups refused (known hazard)', (t) =>
  findAndReplay(t, { row: 'f', workload: 'v10-sharable', knobs: {}, variant: 'v10', want: 'sharable-group-refused-seq', wantClass: 'known-hazard', maxIterations: 5 }));

// Beyond the rows: H6 gets its own workload. Two users hold the two extents of a group
// across time while the FM releases it (the workload forces the knob extent-refs=user: such a hold
// is NOT a v11 mechanism, docs/fidelity-holders.md); their last puts race on the unlocked
// nr_extents. Since dax_release_resource runs in device_del (the release path takes
// dax_region_rwsem once more per member) seed 8 no longer finds it in 200 iterations; seed 4 does
// (2 of 60). v11's own holders reach H6 too: workload delete-name-vs-release (docs/fidelity-holders.md).
t.test('(H6) concurrent last puts of one group: a lost nr_extents decrement leaks the tag (known hazard H6)', (t) =>
  findAndReplay(t, { row: 'h6', workload: 'extent-refs-vs-release', knobs: {}, variant: 'v11', want: 'tag-leaked', wantClass: 'known-hazard', maxIterations: 60 }, '4'));

// H5: a release record's dc_extents walk (no RCU in v11) races the region teardown of a driver
// unbind. Seed 7 finds the use-after-free at iteration 4 (20 of 300 iterations); the post-v11
// `rcu` knob makes the walk skip freed entries, and the same 30 iterations stay clean.
t.test('(H5) release walk vs teardown: use-after-free in the dc_extents walk (known hazard H5)', (t) =>
  findAndReplay(t, { row: 'h5', workload: 'release-vs-teardown', knobs: {}, variant: 'v11', want: 'dc-extent-use-after-free-h5', wantClass: 'known-hazard', maxIterations: 30 }));

t.test('(H5) with rcu=on the same schedules meet no freed extent', async (t) => {
  const { StressJob } = await import('../stress/runner.js');
  const job = new StressJob({ workload: 'release-vs-teardown', variant: 'v11', knobs: { rcu: 'on' }, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: null });
  const seen = new Map<string, number>();
  try {
    for (let i = 0; i < 30; i++) { const r = await job.iteration(i); seen.set(r.outcome, (seen.get(r.outcome) ?? 0) + 1); }
  } finally {
    await job.close();
  }
  t.comment(`30 iterations with rcu=on: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.notOk(seen.has('dc-extent-use-after-free-h5'), 'no use-after-free');
  t.notOk([...seen.keys()].some((o) => !['ok', 'lock-order-h2', 'lock-order-h17', 'chain-open'].includes(o)), 'nothing else either (known lock-order cycles aside)');
});
