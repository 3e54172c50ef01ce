// The swarm's coverage feedback: with every named window seen in both orders except H1 (the same
// tag closing on two memdevs), the job aims at H1 far more often than at any other window, the plan's weights boost the
// action that puts the same tag on both memdevs at once, and the plans drawn that way contain
// that collision more often than plans drawn without feedback. Plans only: no threads needed
// (the feedback is a function of the coverage counts, which test/coverage.test.ts checks).
import t from 'tap';
import { Prng } from '../src/prng.js';
import { FRESH_AIMS, StressJob } from '../stress/runner.js';
import { WORKLOADS, swarmWeights, type PlanHint } from '../stress/workloads.js';
import type { Plan } from '../stress/ops.js';
import { avoidList, emptyCoverage } from '../stress/coverage.js';

/** fm/mem0 and fm/mem1 both start with an add of the same tag */
function sameTagCollision(plan: Plan): boolean {
  const first = (name: string) => plan.actors.find((a) => a.name === name)?.ops[0];
  const a = first('fm/mem0'), b = first('fm/mem1');
  if (a?.op !== 'add' || b?.op !== 'add') return false;
  const ta = a.records[0]?.tag, tb = b.records[0]?.tag;
  return ta !== null && ta !== undefined && ta === tb;
}

t.test('feedback aims first at the one window not seen in both orders', async (t) => {
  const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '9', schedule: { kind: 'free' }, noise: false, outDir: null });
  for (const w of Object.values(job.coverage.windows)) {
    if (w.id === 'H1') continue;
    w.reached = 2; w.ab = 1; w.ba = 1;
  }
  const N = 60;
  let aimed = 0;
  const aims = new Map<string, number>();
  const firstAims: string[] = [];
  let withFocus = 0, without = 0;
  for (let i = 0; i < N; i++) {
    const hint = job.focusFor(i);
    if (hint?.focus) { aimed++; aims.set(hint.focus, (aims.get(hint.focus) ?? 0) + 1); if (firstAims.length < FRESH_AIMS) firstAims.push(hint.focus); }
    const w = WORKLOADS.swarm!;
    if (sameTagCollision(w.plan(new Prng(`9:swarm:${i}`), i, { focus: 'H1' }))) withFocus++;
    if (sameTagCollision(w.plan(new Prng(`9:swarm:${i}`), i))) without++;
  }
  const h1Aims = aims.get('H1') ?? 0;
  const runnerUp = Math.max(0, ...[...aims].filter(([id]) => id !== 'H1').map(([, n]) => n));
  t.comment(`${N} iterations: ${aimed} aimed, ${h1Aims} at H1, at most ${runnerUp} at any other window (the rest run the plain swarm); same-tag collisions in ${withFocus} plans with the focus, ${without} without`);
  t.ok(aimed >= N / 2, 'most iterations aim at a window');
  t.same(firstAims, Array(FRESH_AIMS).fill('H1'), `the first ${FRESH_AIMS} aims are all at the open window`);
  t.ok(h1Aims > runnerUp, 'the open window is aimed at more often than any closed one');
  t.ok(withFocus > without, 'the focus makes the collision more frequent than the plain swarm draws it');
  t.ok(withFocus >= (3 * N) / 4, 'with the focus, at least three plans in four contain the collision');
  const wts = swarmWeights(new Prng('w'), { focus: 'H1' } satisfies PlanHint);
  t.equal(wts.get('same-tag'), 24, 'the focus window\'s action gets the top weight');

  // once H1 is seen in both orders too, nothing is open: the focus rotates over every window
  // (both orders seen is not the hazard's interleaving), the least aimed at first
  const h1 = job.coverage.windows.H1!;
  h1.reached = 2; h1.ab = 1; h1.ba = 1;
  const before = new Map(job.focusAttempts);
  const ids = new Set<string>();
  for (let i = N; i < N + 80; i++) { const h = job.focusFor(i); if (h?.focus) ids.add(h.focus); }
  t.comment(`80 more iterations with nothing open: aimed at ${ids.size} windows (${[...ids].sort().join(', ')})`);
  t.ok(ids.size >= 8, 'nothing open: the aim spreads over the closed windows');
  const h1Before = before.get('H1') ?? 0;
  const gained = (id: string): number => (job.focusAttempts.get(id) ?? 0) - (before.get(id) ?? 0);
  t.ok(gained('H1') < Math.max(...[...ids].map(gained)), `H1, aimed at ${h1Before} times already, is not the favourite any more`);
});

t.test('the scheduler feedback names the thread that always won a conflict', async (t) => {
  const c = emptyCoverage();
  c.conflicts['dax_region_rwsem user0 user1'] = { resource: 'dax_region_rwsem', a: 'user0', b: 'user1', ab: 5, ba: 0 };
  c.conflicts['add_ctx.lock irq/mem0 workqueue'] = { resource: 'add_ctx.lock', a: 'irq/mem0', b: 'workqueue', ab: 0, ba: 3 };
  c.conflicts['mbox_mutex irq/mem0 user0'] = { resource: 'mbox_mutex', a: 'irq/mem0', b: 'user0', ab: 2, ba: 2 };
  const p = new Prng('avoid');
  const av = avoidList(c, (n) => p.int(n), 5);
  t.same(av.sort((x, y) => (x.resource < y.resource ? -1 : 1)), [{ who: 'workqueue', resource: 'add_ctx.lock' }, { who: 'user0', resource: 'dax_region_rwsem' }], 'one-order conflicts only, the winner yields');
});
