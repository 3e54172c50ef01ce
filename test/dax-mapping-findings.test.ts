// H27 and H28 (docs/kernel-map.md#h27, #h28; docs/fidelity-mapping.md), the two hazards the
// mapping devices (`daxR.D/mappingN`, src/dax/mapping.ts) reach:
//  - H27: a mappingN show (drivers/dax/bus.c start_show → get_dax_range:
//    down_write_killable(&dax_region_rwsem)) inside its kernfs active reference, against
//    size_store → dev_dax_shrink → unregister_dax_mapping → device_del(mapping), which drains that
//    reference holding dax_region_rwsem(W) — or unregister_dev_dax's device_del(dev_dax) removing
//    a mapping still registered (H28's state);
//  - H28: unregister_dax_mapping indexing dev_dax->ranges[range_id] after the range was trimmed or
//    freed: dev_dax_shrink's devm_release_action cannot find an action a devres_release_all took
//    (drivers/base/devres.c), or a claim inside the teardown (H24's window) registered mapping
//    actions that outlive the seed's unregister_dev_dax.
// Each workload is searched under the controlled scheduler (the iterations it took are printed),
// and the traces saved in docs/findings-open/ replay to their outcome, classified known-hazard.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace, type StressTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import '../stress/findings-workloads.js';

const DOCS = join(import.meta.dirname, '..', 'docs', 'findings-open');

function load(name: string): StressTrace {
  const r = readTrace(join(DOCS, name));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r)}`);
  return r.trace;
}

const TRACES: [string, string][] = [
  ['mapping-read-vs-shrink-hung-wait-h27-5-74.trace.json', 'hung-wait-h27'],
  ['mapping-claim-in-teardown-lock-order-h27-5-164.trace.json', 'lock-order-h27'],
  ['mapping-shrink-vs-teardown-dax-mapping-stale-range-h28-5-141.trace.json', 'dax-mapping-stale-range-h28'],
  ['mapping-claim-in-teardown-dax-mapping-stale-range-h28-5-248.trace.json', 'dax-mapping-stale-range-h28'],
  // minimized (`dcd minimize`): one preemption each — the dax-bus parked at the teardown's first
  // point after it took the devres list, user0's whole op, then the dax-bus on
  ['mapping-shrink-vs-teardown-dax-mapping-stale-range-h28-5-141.min.trace.json', 'dax-mapping-stale-range-h28'],
  ['mapping-claim-in-teardown-dax-mapping-stale-range-h28-5-248.min.trace.json', 'dax-mapping-stale-range-h28'],
];

for (const [file, outcome] of TRACES) {
  t.test(`${file} replays to ${outcome}`, async (t) => {
    const tr = load(file);
    t.equal(tr.outcome, outcome, 'recorded outcome');
    const r = await replayTrace(tr, 3);
    t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}${r.divergence ? `, ${r.divergence}` : ''}`);
    t.ok(r.reproduced, 'reproduced');
    t.ok(r.outcomes.includes(outcome), `classified ${outcome}`);
    t.equal(r.class, 'known-hazard', 'a known hazard, not forbidden');
    t.notOk(r.outcomes.some((o) => o === 'hung-wait' || o === 'lock-order-cycle' || o === 'dc-extent-use-after-free-h5' || o.startsWith('unnamed')),
      'no unclassified cycle or hung wait, and the stale mapping is not taken for H5\'s walk');
  });
}

/** Search `workload` under the controlled random walk (seed 5) until `want` or `max` iterations. */
async function search(t: Test, workload: string, want: string, max: number): Promise<void> {
  const job = new StressJob({ workload, variant: 'v11', knobs: {}, device: 'cxl-test', seed: '5', schedule: { kind: 'random' }, noise: false, outDir: null });
  const seen = new Map<string, number>();
  let i = 0, at = -1, forbidden = 0;
  try {
    for (; i < max && at < 0; i++) {
      const it = await job.iteration(i);
      for (const o of [it.outcome, ...(it.afterDeadlock ?? [])]) seen.set(o, (seen.get(o) ?? 0) + 1);
      if (it.class === 'forbidden') forbidden++;
      if (it.outcome === want || it.afterDeadlock?.includes(want)) at = i;
    }
  } finally {
    await job.close();
  }
  t.comment(`${workload}: ${i} controlled iterations (random, seed 5): ${JSON.stringify(Object.fromEntries(seen))}`);
  t.ok(at >= 0, `${want} found (iteration ${at})`);
  t.equal(forbidden, 0, 'no forbidden outcome');
}

t.test('the controlled scheduler finds H27 and both H28 paths', async (t) => {
  await search(t, 'mapping-read-vs-shrink', 'hung-wait-h27', 60);
  await search(t, 'mapping-shrink-vs-teardown', 'dax-mapping-stale-range-h28', 80);
  await search(t, 'mapping-claim-in-teardown', 'dax-mapping-stale-range-h28', 80);
});
