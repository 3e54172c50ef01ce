// dcd minimize on every seeded defect (the knob or variant that breaks a v11 mechanism, as the
// negative controls use them): the trace the targeted workload finds under the controlled random
// schedule (seed 7) is minimized; the result must keep the outcome and its signature, replay
// strictly, and shrink to a few steps per thread — a step here being one run of a thread to its
// next switch (stress/minimize.ts scheduleSegments), counted up to the failure for the threads
// that share a lock with the racing ones. Before and after are printed.
//
// The work is bounded by candidate counts, not time (the result does not depend on the load).
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace } from '../stress/trace.js';
import { formatMinimize, minimizeTrace } from '../stress/minimize.js';
import { explainTrace, formatExplanation } from '../stress/explain.js';
import type { Knobs, Variant } from '../src/scenario/types.js';

/** at most this many runs-to-the-next-switch per thread after minimization */
const N = 4;

interface Seeded { defect: string; workload: string; variant: Variant; knobs: Knobs; outcome: string; maxCandidates: number }

const SEEDED: Seeded[] = [
  { defect: 'cxl_tag_lock dropped (tag-lock=off)', workload: 'same-tag-two-memdevs', variant: 'v11', knobs: { 'tag-lock': 'off' }, outcome: 'tag-registered-twice', maxCandidates: 60 },
  { defect: 'per-extent dax_region_rwsem (group-lock=per-extent)', workload: 'partial-group-claim', variant: 'v11', knobs: { 'group-lock': 'per-extent' }, outcome: 'partial-group-claimed', maxCandidates: 60 },
  { defect: 'two handlers per memdev (parallel-event-handlers=2)', workload: 'parallel-handlers', variant: 'v11', knobs: { 'parallel-event-handlers': 2 }, outcome: 'chain-mixed', maxCandidates: 60 },
  { defect: 'the v10 sequence gate (--variant v10)', workload: 'v10-sharable', variant: 'v10', knobs: {}, outcome: 'sharable-group-refused-seq', maxCandidates: 40 },
];

const dir = mkdtempSync(join(tmpdir(), 'dcd-minimize-seeded-'));

for (const c of SEEDED) {
  t.test(`minimize: ${c.defect}`, async (t) => {
    const job = new StressJob({ workload: c.workload, variant: c.variant, knobs: c.knobs, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: dir });
    let file: string | undefined;
    let i = 0;
    try {
      for (; i < 20 && !file; i++) {
        const r = await job.iteration(i);
        if (r.outcome === c.outcome && r.trace) file = r.trace;
      }
    } finally {
      await job.close();
    }
    t.ok(file, `${c.workload} finds ${c.outcome} (iteration ${i - 1})`);
    if (!file) return;
    const orig = readTrace(file);
    if (!orig.ok) throw new Error(orig.message);
    const m = await minimizeTrace(orig.trace, { seconds: 120, maxCandidates: c.maxCandidates, out: join(dir, `${c.workload}.min.trace.json`) });
    t.comment(`${c.workload} ${c.variant} ${JSON.stringify(c.knobs)}, seed 7 iteration ${i - 1}:\n${formatMinimize(m)}`);
    t.ok(m.ok, `minimized (${m.message})`);
    if (!m.ok || !m.trace) return;
    t.equal(m.trace.outcome, c.outcome, 'keeps the outcome');
    t.equal(m.trace.signature, orig.trace.signature, `keeps the signature ${orig.trace.signature}`);
    t.ok(m.verified, 'the written trace reproduces under a strict dcd replay');
    t.ok(m.after.steps < m.before.steps, `steps shrink (${m.before.steps} → ${m.after.steps})`);
    t.ok(m.after.preemptions <= 2 && m.after.preemptions <= m.before.preemptions, `preemptions ${m.before.preemptions} → ${m.after.preemptions} (at most two)`);
    const seg = Object.entries(m.segments);
    t.ok(seg.length >= 1, `the threads that matter: ${seg.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [who, n] of seg) t.ok(n <= N, `${who}: ${n} step(s) up to the failure (≤ ${N})`);
    t.same(m.trace.minimized?.segments, m.segments, 'the trace records the per-thread steps');
    // dcd explain of the minimized trace: a few rows per thread, the racing functions named
    const x = explainTrace(m.trace, m.trace.record!, m.trace.steps);
    t.comment(formatExplanation(x, m.trace));
    const rowsOf = new Map<string, number>();
    for (const r of x.rows) if (!r.thread.startsWith('actor:')) rowsOf.set(r.thread, (rowsOf.get(r.thread) ?? 0) + 1);
    for (const [who, n] of rowsOf) t.ok(n <= 6, `explain: ${who} in ${n} row(s) (≤ 6)`);
    t.ok(x.rows.filter((r) => !r.thread.startsWith('actor:')).length >= 2, `explain shows the interleaving (${x.rows.length} rows of ${x.totalSteps} steps)`);
    t.match(formatExplanation(x, m.trace), new RegExp(`\\*\\*\\* ${x.invariant.replace(/[.()]/g, '\\$&')} broken`), 'and the broken invariant');
    t.ok(m.preempts.length <= 2, `the schedule: ${m.preempts.join('; ') || 'the non-preemptive default'}`);
  });
}
