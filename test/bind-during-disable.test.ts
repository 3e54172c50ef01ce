// A dax-bus bind racing a region disable (bench:find's rcu=on control, ninth session; the
// controlled trace docs/findings-open/swarm-tag-registration-leaked-113-1010). device_del marks
// cxlr_dax dead (kill_device, under device_lock) before bus_remove_device unbinds its driver, and
// __driver_probe_device refuses a dead device (drivers/base/core.c, dd.c). The model cleared its
// flag only after device_del's devres_release_all, so the dax-bus re-probed the region being
// deleted (step 135: `bind r1` took device_lock(cxlr_dax) and scanned), a later chain's tag group
// was onlined onto it, and its tag stayed registered after the region was gone: a forbidden
// `tag-registration-leaked` (the old code reproduces it on this trace in one attempt). Now the
// bind is refused at that step, so the replay parts from the trace exactly there, and the leak is
// gone. Real threads, the recorded controlled schedule.
import t from 'tap';
import { join } from 'node:path';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';

t.test('the bind at the disable\'s step is refused; the leaked registration is gone', async (t) => {
  const r0 = readTrace(join(import.meta.dirname, '..', 'docs/findings-open/swarm-tag-registration-leaked-113-1010.trace.json'));
  if (!r0.ok) { t.fail(r0.message); return; }
  t.equal(r0.trace.outcome, 'tag-registration-leaked', 'recorded as the forbidden leak');
  const r = await replayTrace(r0.trace, 1);
  t.comment(`replay: ${r.steps} steps (${r.followed} recorded steps followed), outcomes ${r.outcomes.join(', ')}; ${r.divergence ?? 'no divergence'}`);
  t.notOk(r.reproduced, 'not reproduced');
  // step 130 (was 135): the five recorded dax-bus acquisitions of dax_region_rwsem in
  // alloc_dax_region / dax_region_unregister before it (steps 19, 23, 37, 41, 105), which v11 does
  // not make, were taken out of the stored schedule (docs/fidelity-fidel2.md)
  t.match(r.divergence ?? '', /step 130: expected dax-bus acquire device_lock\(cxlr_dax\)/, 'the replay parts from the trace at the bind\'s device_lock(cxlr_dax): the bind was refused before it');
  t.notOk(r.outcomes.includes('tag-registration-leaked'), 'no leaked registration');
});
