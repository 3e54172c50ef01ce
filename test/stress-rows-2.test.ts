// Issue "dcd stress": rows (d)–(f) are found by the stress runner and reproduced by replay.
import t from 'tap';
import { findAndReplay } from './stress-helpers.js';

t.test('(d) v11 AB-BA add_ctx.lock / device_lock(cxlr_dax): the deadlock reported as a hung wait (known hazard H2)', (t) =>
  findAndReplay(t, { row: 'd', workload: 'chain-close-vs-probe', knobs: {}, variant: 'v11', want: 'hung-wait-h2', wantClass: 'known-hazard', maxIterations: 20 }));

t.test('(e) watchdog vs late tail: two responses for one device chain (known hazard H4)', (t) =>
  findAndReplay(t, { row: 'e', workload: 'watchdog-vs-late-tail', knobs: {}, variant: 'v11', want: 'double-response-after-timeout', wantClass: 'known-hazard', maxIterations: 10 }));

t.test('(f) a v10 host against a v11 device: sharable groups refused (known hazard)', (t) =>
  findAndReplay(t, { row: 'f', workload: 'v10-sharable', knobs: {}, variant: 'v10', want: 'sharable-group-refused-seq', wantClass: 'known-hazard', maxIterations: 5 }));

// Beyond the rows: H6 gets its own workload. Two sysfs readers hold the two extents of a
// group while the FM releases it; their last puts race on the unlocked nr_extents. Seed 8 finds it
// at iteration 20 under the controlled random walk (about 3% of iterations lose the decrement).
t.test('(H6) concurrent last puts of one group: a lost nr_extents decrement leaks the tag (known hazard H6)', (t) =>
  findAndReplay(t, { row: 'h6', workload: 'extent-refs-vs-release', knobs: {}, variant: 'v11', want: 'tag-leaked', wantClass: 'known-hazard', maxIterations: 60 }, '8'));
