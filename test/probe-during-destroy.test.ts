// A dax-bus probe racing `cxl destroy-region` (bench:find's rcu=on control, tenth session; the
// controlled trace docs/findings-open/swarm-tag-registration-leaked-105-415). unregister_region
// (drivers/cxl/core/region.c) → device_del marks the cxl_region device dead (kill_device, under
// device_lock) before bus_remove_device unbinds its driver, and __driver_probe_device refuses a
// dead device (drivers/base/core.c, dd.c). The model had no such flag on the region: a destroy
// that found the new region not yet bound unbound nothing, the dax-bus's async probe then bound it
// (step 27: `cxl_region_probe` takes cxl_rwsem.region for read), a chain's tag group was onlined
// onto it, and the destroy freed the region with the tag still registered: a forbidden
// `tag-registration-leaked` (the old code reproduces it on this trace in one attempt). Now the
// probe is refused at that step, so the replay parts from the trace exactly there, and the leak
// is gone. Real threads, the recorded controlled schedule.
import t from 'tap';
import { join } from 'node:path';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';

t.test('the probe at the destroy\'s step is refused; the leaked registration is gone', async (t) => {
  const r0 = readTrace(join(import.meta.dirname, '..', 'docs/findings-open/swarm-tag-registration-leaked-105-415.trace.json'));
  if (!r0.ok) { t.fail(r0.message); return; }
  t.equal(r0.trace.outcome, 'tag-registration-leaked', 'recorded as the forbidden leak');
  // steps 20 and 26 (were 21 and 27): the destroy's recorded acquisition of dax_region_rwsem in
  // dax_region_unregister (step 13), which v11 does not make, was taken out of the stored schedule
  // (docs/fidelity-fidel2.md)
  t.match(JSON.stringify(r0.trace.steps[20]), /user0.*device_lock\(cxlr\)/, 'step 20: the destroy holds device_lock(cxlr)');
  const r = await replayTrace(r0.trace, 1);
  t.comment(`replay: ${r.steps} steps (${r.followed} recorded steps followed), outcomes ${r.outcomes.join(', ')}; ${r.divergence ?? 'no divergence'}`);
  t.notOk(r.reproduced, 'not reproduced');
  t.match(r.divergence ?? '', /step 26: expected dax-bus acquire cxl_rwsem\.region\(read\)/, 'the replay parts from the trace at the probe\'s cxl_rwsem.region: the probe was refused before it');
  t.notOk(r.outcomes.includes('tag-registration-leaked'), 'no leaked registration');
});
