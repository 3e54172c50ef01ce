// Negative controls: each lock or gate the series relies on, switched on and off under the
// controlled scheduler with the same workload, seed and iteration count. With the rule on the
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

async function run(c: Control, knobs: Knobs): Promise<{ outcomes: Map<string, number>; coverage: Map<string, number> }> {
  const job = new StressJob({ workload: c.workload, variant: 'v11', knobs, device: 'cxl-test', seed: c.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  const outcomes = new Map<string, number>();
  const coverage = new Map<string, number>();
  try {
    for (let i = 0; i < c.iterations; i++) {
      const r = await job.iteration(i);
      // every outcome the checkers named this iteration, not only the most severe
      for (const o of new Set([r.outcome, ...(r.outcomes ?? [])])) outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      for (const [k, n] of Object.entries(r.windows ?? {})) coverage.set(k, (coverage.get(k) ?? 0) + n);
    }
  } finally {
    await job.close();
  }
  return { outcomes, coverage };
}

for (const c of CONTROLS) {
  t.test(`negative control: ${c.rule}`, async (t) => {
    const on = await run(c, c.on);
    const off = await run(c, c.off);
    const fmt = (m: Map<string, number>): string => JSON.stringify(Object.fromEntries(m));
    t.comment(`${c.workload}, seed ${c.seed}, controlled random schedule, ${c.iterations} iterations each`);
    t.comment(`rule on  ${JSON.stringify(c.on)}: outcomes ${fmt(on.outcomes)}; coverage ${fmt(on.coverage)}`);
    t.comment(`rule off ${JSON.stringify(c.off)}: outcomes ${fmt(off.outcomes)}; coverage ${fmt(off.coverage)}`);
    t.equal(on.outcomes.get(c.outcome) ?? 0, 0, `rule on: ${c.outcome} in none of ${c.iterations} iterations`);
    t.ok((on.coverage.get(c.window) ?? 0) > 0, `rule on: the race window was reached (${c.window}: ${on.coverage.get(c.window) ?? 0})`);
    t.ok((off.outcomes.get(c.outcome) ?? 0) > 0, `rule off: ${c.outcome} found (${off.outcomes.get(c.outcome) ?? 0} of ${c.iterations} iterations)`);
    t.notOk([...on.outcomes.keys()].some((o) => o === 'unnamed-forbidden' || o === 'hung-wait'), 'rule on: no unexplained forbidden outcome');
  });
}
