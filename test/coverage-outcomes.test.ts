// No outcome hides another: an iteration whose checkers report a known hazard AND a forbidden
// outcome reports both (the runner's real path, two-claims under real threads, with an extra
// checker that reports both at quiescence); the table counts each, the JSON lists both for the
// iteration, and the trace carries both.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob, summarize, type IterationResult } from '../stress/runner.js';
import { finding, outcomesSeen } from '../stress/checkers/outcomes.js';
import { readTrace } from '../stress/trace.js';
import type { Checker } from '../src/runtime/system.js';

t.test('outcomesSeen lists every outcome, most severe first, ok only alone', async (t) => {
  const seen = outcomesSeen([finding('host-extent-not-accepted-h10', 'h'), { invariant: 'x', ok: true, class: 'acceptable' }, finding('tag-registered-twice', 'f'), finding('host-extent-not-accepted-h10', 'h2')]);
  t.same(seen.map((s) => s.outcome), ['tag-registered-twice', 'host-extent-not-accepted-h10']);
  t.equal(seen[1]!.results, 2, 'two results named the hazard');
  t.same(outcomesSeen([{ invariant: 'x', ok: true, class: 'acceptable' }]).map((s) => s.outcome), ['ok']);
});

t.test('an iteration with a known hazard and a forbidden outcome reports both', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'dcd-coverage-outcomes-'));
  const opts = { workload: 'two-claims', variant: 'v11' as const, knobs: {}, device: 'cxl-test' as const, seed: '2', schedule: { kind: 'free' as const }, noise: false, outDir: out };
  const job = new StressJob(opts);
  // reports the hazard on every iteration and the forbidden outcome on every second one
  let n = 0;
  const both: Checker = {
    name: 'test-both',
    onEvent() {},
    atQuiescence() {
      n++;
      const r = [finding('host-extent-not-accepted-h10', 'test: a hazard')];
      if (n % 2 === 0) r.push(finding('claim-mismatch', 'test: a forbidden outcome in the same iteration'));
      return r;
    },
  };
  (await job.system()).addChecker(both);
  const results: IterationResult[] = [];
  try {
    for (let i = 0; i < 4; i++) results.push(await job.iteration(i));
  } finally {
    await job.close();
  }
  t.comment(`4 iterations: ${results.map((r) => r.outcomes?.join('+')).join(', ')}`);
  for (const r of results) {
    t.ok(r.outcomes?.includes('host-extent-not-accepted-h10'), `iteration ${r.iteration} lists the hazard`);
  }
  const odd = results.filter((r) => r.outcomes?.includes('claim-mismatch'));
  t.equal(odd.length, 2, 'two iterations saw the forbidden outcome too');
  for (const r of odd) {
    t.equal(r.outcome, 'claim-mismatch', 'the most severe is the forbidden one');
    t.equal(r.class, 'forbidden');
    t.ok(r.outcomes!.indexOf('claim-mismatch') < r.outcomes!.indexOf('host-extent-not-accepted-h10'), 'forbidden listed first');
    const tr = readTrace(r.trace!);
    t.ok(tr.ok && tr.trace.outcomes?.includes('host-extent-not-accepted-h10') && tr.trace.outcomes.includes('claim-mismatch'), 'the trace carries both');
  }
  const s = summarize(opts, results, 1000);
  const row = (n: string) => s.outcomes.find((o) => o.outcome === n);
  t.equal(row('host-extent-not-accepted-h10')?.seen, 4, 'the hazard row counts every iteration that saw it (seen)');
  t.equal(row('host-extent-not-accepted-h10')?.count, 2, '… of which two had it as the most severe (count)');
  t.equal(row('claim-mismatch')?.count, 2, 'the forbidden row counts its iterations');
  t.equal(row('claim-mismatch')?.seen, 2);
  t.equal(s.outcomes.reduce((n, o) => n + o.count, 0), 4, 'the count column still adds up to the iterations');
  t.equal(s.forbidden, 2, 'iterations with a forbidden outcome');
  t.equal(s.knownHazards, 4, 'iterations with a known hazard (including the two with a forbidden one)');
  const listed = s.iterationOutcomes?.filter((x) => x.outcomes.includes('claim-mismatch') && x.outcomes.includes('host-extent-not-accepted-h10'));
  t.same(listed?.map((x) => x.iteration), odd.map((r) => r.iteration), 'the JSON lists both outcomes for those iterations');
});
