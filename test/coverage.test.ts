// Race-window coverage on a tiny real run: two users claim one tag at once (two-claims), free
// scheduling with seeded noise. Both claims take dax_region_rwsem for write, so the conflict
// "dax_region_rwsem user0 user1" must appear; its per-iteration order must be the first-touch
// order in that iteration's step log, and the job's totals must add up to those orders.
// Then: dcd merge adds coverage (two halves merged = the whole).
import t from 'tap';
import { StressJob, summarize, type IterationResult } from '../stress/runner.js';
import { mergeSummaries } from '../stress/merge.js';
import { conflictKey, formatCoverage } from '../stress/coverage.js';

const KEY = conflictKey('dax_region_rwsem', 'user0', 'user1');

t.test('two-claims: the claims conflict is counted in the order the step log shows', async (t) => {
  const opts = { workload: 'two-claims', variant: 'v11' as const, knobs: {}, device: 'cxl-test' as const, seed: '5', schedule: { kind: 'free' as const }, noise: true, outDir: null };
  const job = new StressJob(opts);
  const N = 8;
  const results: IterationResult[] = [];
  let user0First = 0, user1First = 0;
  try {
    for (let i = 0; i < N; i++) {
      const r = await job.iteration(i);
      results.push(r);
      // the first write acquisition of dax_region_rwsem by each user, read straight off the log
      const first = (who: string): number => r.steps.findIndex((s) => s.who === who && s.what === 'acquire' && s.arg === 'dax_region_rwsem(write)');
      const a = first('user0'), b = first('user1');
      if (a >= 0 && b >= 0) {
        const want = a < b ? 'ab' : 'ba';
        if (want === 'ab') user0First++; else user1First++;
        t.equal(r.coverage?.conflicts[KEY], want, `iteration ${i}: order ${want} (user0 at step ${a}, user1 at step ${b})`);
      } else {
        t.equal(r.coverage?.conflicts[KEY], undefined, `iteration ${i}: one user never took the lock, no conflict`);
      }
    }
  } finally {
    await job.close();
  }
  const c = job.coverage.conflicts[KEY];
  t.comment(`${N} iterations: user0 first ${user0First}, user1 first ${user1First}`);
  t.ok(c, 'the claims conflict was reached');
  t.equal(c!.ab, user0First, 'ab = iterations where user0 took the lock first');
  t.equal(c!.ba, user1First, 'ba = iterations where user1 took the lock first');
  t.equal(job.coverage.iterations, N, 'every iteration counted');
  t.equal(c!.ab + c!.ba, user0First + user1First, 'one order per iteration that reached it');
  const s = summarize(opts, results, 1000);
  t.same(s.coverage?.conflicts[KEY], c, 'the run summary carries the same coverage');
  t.match(formatCoverage(s.coverage!), /coverage over 8 iterations: conflicts \d+ seen in both orders/, 'the summary prints');

  t.test('dcd merge adds coverage up', async (t) => {
    const a = summarize(opts, results.slice(0, 3), 1000, '1/2');
    const b = summarize(opts, results.slice(3), 1000, '2/2');
    const m = mergeSummaries([a, b]);
    t.equal(m.coverage?.iterations, N);
    t.same(m.coverage?.conflicts[KEY], s.coverage?.conflicts[KEY], 'conflict orders add up');
    for (const [id, w] of Object.entries(s.coverage!.windows)) {
      t.same([m.coverage!.windows[id]!.reached, m.coverage!.windows[id]!.ab, m.coverage!.windows[id]!.ba], [w.reached, w.ab, w.ba], `window ${id} adds up`);
    }
  });
});

t.test('H4\'s window is reached by its sides (the per-memdev workqueue thread), not only through its outcome', async (t) => {
  // the workqueue threads are named workqueue/memN; the window's pattern once missed them, so H4
  // and CL-chain-bound were "reached" only when double-response-after-timeout was seen
  const job = new StressJob({ workload: 'watchdog-vs-late-tail', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '1', schedule: { kind: 'random' }, noise: false, outDir: null });
  const N = 6;
  let sided = 0;
  try {
    for (let i = 0; i < N; i++) {
      const r = await job.iteration(i);
      const wq = r.steps.some((s) => /^workqueue\/mem\d+$/.test(s.who) && s.what === 'acquire' && s.arg === 'add_ctx.lock(write)');
      const irq = r.steps.some((s) => /^irq\/mem\d+$/.test(s.who) && s.what === 'acquire' && s.arg === 'add_ctx.lock(write)');
      const w = r.coverage?.windows['H4'];
      if (wq && irq) { sided++; t.ok(w === 'ab' || w === 'ba', `iteration ${i}: both sides took add_ctx.lock, the window has an order (${w})`); }
    }
  } finally {
    await job.close();
  }
  const h4 = job.coverage.windows['H4']!;
  t.comment(`${N} iterations, ${sided} with both sides; H4: a first ${h4.ab}, b first ${h4.ba}, by outcome ${h4.byOutcome}`);
  t.ok(sided > 0, 'the watchdog and the event thread both took add_ctx.lock');
  t.equal(h4.ab + h4.ba, sided, 'every such iteration counted in one order');
  t.equal(job.coverage.windows['CL-chain-bound']!.ab + job.coverage.windows['CL-chain-bound']!.ba, sided, 'CL-chain-bound likewise');
});
