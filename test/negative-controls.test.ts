// Negative controls: each lock or gate the series relies on, switched on and off under the
// controlled scheduler with the same workload and seed, the rule on for at least the iterations the
// rule off needed to find its outcome (a count, see run()). With the rule on the
// outcome it prevents never happens AND the race window it closes was reached (a coverage count
// above zero, so "nothing found" means something); with it off the outcome is found.
//
// Coverage keys (stress/runner.ts Coverage, stress/turnstile.ts countWindows):
//  - `tagInsert vs cxl_tag_lock`: a thread sat between the registry check and insert
//    (cxl_tag_register) while the other memdev's thread waited for cxl_tag_lock;
//  - `daxPerExtent vs dax_region_rwsem`: the DAX group add sat between two members inside its one
//    dax_region_rwsem hold (dax_region_add_resources) while a claim (uuid_store) waited for it;
//  - `log re-read mid-chain`: the event thread fetched more records (Get Event Records) while a
//    More chain was open — where a second handler would take the rest of the chain;
//  - `scan-gate refused`: E6 refused a runtime add on a region not yet scanned (v11
//    cxl_validate_extent's extents_scanned check; modelled in cxl_add_extent);
//  - `point:rcuSkip`: an RCU dc_extents walk met an extent the teardown had freed and skipped it.
import t from 'tap';
import { StressJob } from '../stress/runner.js';
import type { Knobs } from '../src/scenario/types.js';
import './neg-workloads.js';

interface Control {
  rule: string;
  workload: string;
  on: Knobs;
  off: Knobs;
  outcome: string;
  window: string;
  iterations: number;
  seed: string;
}

const CONTROLS: Control[] = [
  { rule: 'cxl_tag_lock (tag-lock)', workload: 'same-tag-two-memdevs', on: { 'tag-lock': 'on' }, off: { 'tag-lock': 'off' }, outcome: 'tag-registered-twice', window: 'tagInsert vs cxl_tag_lock', iterations: 20, seed: '7' },
  { rule: 'one dax_region_rwsem hold per group (group-lock)', workload: 'partial-group-claim', on: { 'group-lock': 'group' }, off: { 'group-lock': 'per-extent' }, outcome: 'partial-group-claimed', window: 'daxPerExtent vs dax_region_rwsem', iterations: 20, seed: '7' },
  { rule: 'serial handling under event.log_lock / add_ctx.lock (parallel-event-handlers)', workload: 'parallel-handlers', on: { 'parallel-event-handlers': 1 }, off: { 'parallel-event-handlers': 2 }, outcome: 'chain-mixed', window: 'log re-read mid-chain', iterations: 20, seed: '7' },
  { rule: 'the scan gate E6 (scan-gate)', workload: 'scan-gate-vs-add', on: { 'scan-gate': 'on' }, off: { 'scan-gate': 'off' }, outcome: 'scan-gate-bypassed', window: 'scan-gate refused', iterations: 40, seed: '7' },
  { rule: 'RCU dc_extents walks (rcu, post-v11)', workload: 'release-vs-teardown', on: { rcu: 'on' }, off: { rcu: 'off' }, outcome: 'dc-extent-use-after-free-h5', window: 'point:rcuSkip', iterations: 30, seed: '7' },
];

/**
 * Iterations of one control: at least `min`, then on (at most `max`, a count) until `enough` holds.
 * A controlled run is NOT the same on every machine when an actor's op has an asynchronous
 * follow-up: scan-gate-vs-add's create-region makes the main thread send the cxl_dax_region probe
 * to the DAX bus after the op returns, and the scheduler goes on choosing before that worker has
 * parked at its op-start, so where the probe joins depends on message latency. Measured for seed
 * 7, 40 iterations, gate off: scan-gate-bypassed in iterations {7, 12}, {7}, {7, 12}, {7} on one
 * machine and {12, 35}, {2, 12, 20} with two CPU hogs — a count as low as one in 40, so a loaded
 * CI machine can see none.
 */
async function run(c: Control, knobs: Knobs, min: number, max: number, enough: (r: { outcomes: Map<string, number>; coverage: Map<string, number> }) => boolean): Promise<{ outcomes: Map<string, number>; coverage: Map<string, number>; iterations: number }> {
  const job = new StressJob({ workload: c.workload, variant: 'v11', knobs, device: 'cxl-test', seed: c.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  const acc = { outcomes: new Map<string, number>(), coverage: new Map<string, number>() };
  let i = 0;
  try {
    for (; i < min || (!enough(acc) && i < max); i++) {
      const r = await job.iteration(i);
      // every outcome the checkers named this iteration, not only the most severe
      for (const o of new Set([r.outcome, ...(r.outcomes ?? [])])) acc.outcomes.set(o, (acc.outcomes.get(o) ?? 0) + 1);
      for (const [k, n] of Object.entries(r.windows ?? {})) acc.coverage.set(k, (acc.coverage.get(k) ?? 0) + n);
    }
  } finally {
    await job.close();
  }
  return { ...acc, iterations: i };
}

for (const c of CONTROLS) {
  t.test(`negative control: ${c.rule}`, async (t) => {
    const max = 5 * c.iterations;
    // rule off first, until its outcome is found; then rule on for at least as many iterations
    // (the same iterations 0..n-1 of the same seed), until its window was reached
    const off = await run(c, c.off, c.iterations, max, (r) => (r.outcomes.get(c.outcome) ?? 0) > 0);
    const on = await run(c, c.on, off.iterations, max, (r) => (r.coverage.get(c.window) ?? 0) > 0);
    const fmt = (m: Map<string, number>): string => JSON.stringify(Object.fromEntries(m));
    t.comment(`${c.workload}, seed ${c.seed}, controlled random schedule, at least ${c.iterations} iterations each (at most ${max}): rule off ${off.iterations}, rule on ${on.iterations}`);
    t.comment(`rule on  ${JSON.stringify(c.on)}: outcomes ${fmt(on.outcomes)}; coverage ${fmt(on.coverage)}`);
    t.comment(`rule off ${JSON.stringify(c.off)}: outcomes ${fmt(off.outcomes)}; coverage ${fmt(off.coverage)}`);
    t.ok(on.iterations >= off.iterations, `rule on ran at least the ${off.iterations} iterations rule off needed (${on.iterations})`);
    t.equal(on.outcomes.get(c.outcome) ?? 0, 0, `rule on: ${c.outcome} in none of ${on.iterations} iterations`);
    t.ok((on.coverage.get(c.window) ?? 0) > 0, `rule on: the race window was reached (${c.window}: ${on.coverage.get(c.window) ?? 0})`);
    t.ok((off.outcomes.get(c.outcome) ?? 0) > 0, `rule off: ${c.outcome} found (${off.outcomes.get(c.outcome) ?? 0} of ${off.iterations} iterations)`);
    t.notOk([...on.outcomes.keys()].some((o) => o === 'unnamed-forbidden' || o === 'hung-wait'), 'rule on: no unexplained forbidden outcome');
  });
}
