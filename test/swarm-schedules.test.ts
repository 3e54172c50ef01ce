// The swarm's schedules and its teardown collisions (docs/finding.md "Schedules"): a weighted
// random walk puts a short teardown inside a long chain, which the uniform walk almost never
// does; PCT spreads its change points over the run length the job measured, not a fixed 400; the
// swarm aimed at H14 races a chain against a region destroy; and an actor whose worker is busy
// with another actor's work (the probe a create-region posts on the dax-bus) waits its turn
// instead of hanging the scheduler. Real threads under the controlled scheduler.
import t from 'tap';
import { Prng } from '../src/prng.js';
import { StressJob, type JobOptions, type Schedule } from '../stress/runner.js';
import { WORKLOADS } from '../stress/workloads.js';
import { PCT_STEPS } from '../stress/turnstile.js';
import type { Plan } from '../stress/ops.js';

const H14 = ['response-lists-torn-down', 'released-before-response', 'tag-group-use-after-free-h14', 'region-use-after-free-h14', 'extent-orphaned-h14'];
const opts = (workload: string, schedule: Schedule, seed = '7'): JobOptions => ({ workload, variant: 'v11', knobs: {}, device: 'cxl-test', seed, schedule, noise: false, outDir: null });

/** iterations of `workload` under `schedule` that saw an H14 outcome, and the decisions taken */
async function h14Hits(schedule: Schedule, n: number): Promise<{ hits: number; decisions: number }> {
  const job = new StressJob(opts('teardown-vs-add-response', schedule));
  let hits = 0, decisions = 0;
  try {
    for (let i = 0; i < n; i++) {
      const r = await job.iteration(i);
      decisions += r.decisions ?? 0;
      if ((r.outcomes ?? []).some((o) => H14.includes(o))) hits++;
    }
  } finally {
    await job.close();
  }
  return { hits, decisions };
}

t.test('the weighted walk lands a teardown inside a chain far more often than the uniform walk', async (t) => {
  // a region destroy (8 steps to its first devres action) against a two-group chain (about 25
  // event-thread steps to its realization): under the uniform walk the teardown is over first
  const N = 60;
  const uniform = await h14Hits({ kind: 'random' }, N);
  const skewed = await h14Hits({ kind: 'random', skew: 3 }, N);
  t.comment(`teardown-vs-add-response, ${N} controlled iterations each: H14 outcome in ${uniform.hits} (uniform walk, ${uniform.decisions} decisions) against ${skewed.hits} (skew 3, ${skewed.decisions} decisions)`);
  t.ok(skewed.hits >= 3, 'the weighted walk reaches H14\'s outcome in several iterations');
  t.ok(skewed.hits > 2 * uniform.hits, 'more than twice as often as the uniform walk');
});

t.test('PCT over the measured run length: change points inside the run', async (t) => {
  const N = 60;
  const fixed = await h14Hits({ kind: 'pct', depth: 3 }, N);
  const k = Math.round(fixed.decisions / N);
  const measured = await h14Hits({ kind: 'pct', depth: 3, steps: k }, N);
  t.comment(`teardown-vs-add-response, PCT depth 3, ${N} iterations each: H14 outcome in ${fixed.hits} with k = ${PCT_STEPS}, in ${measured.hits} with k = ${k} (the runs' mean length)`);
  t.ok(k < PCT_STEPS / 2, `these runs are short (${k} decisions) against the default k`);
  t.ok(measured.hits > fixed.hits, 'change points within the run find the teardown race more often');

  // the swarm measures k per focus: the mean decisions of its controlled iterations
  const job = new StressJob(opts('swarm', { kind: 'free' }, '11'));
  try {
    t.equal(job.pctSteps('H14'), undefined, 'nothing measured yet: the default k');
    const seen = new Map<string, number[]>();
    for (let i = 0; i < 40 && !(seen.get('')?.length! >= 2 && [...seen.keys()].some((f) => f !== '' && seen.get(f)!.length >= 2)); i++) {
      const r = await job.iteration(i);
      if (r.decisions === undefined) continue;
      const f = r.focus ?? '';
      seen.set(f, [...(seen.get(f) ?? []), r.decisions]);
    }
    const mean = (xs: number[]): number => Math.max(8, Math.round(xs.reduce((a, b) => a + b, 0) / xs.length));
    const all = [...seen.values()].flat();
    t.comment(`swarm seed 11: controlled runs per focus ${JSON.stringify(Object.fromEntries(seen))}`);
    t.ok(all.length > 0, 'some iterations ran controlled');
    for (const [f, xs] of seen) {
      const want = xs.length >= 2 ? mean(xs) : mean(all);
      t.equal(job.pctSteps(f || undefined), want, `focus ${f || '(none)'}: k is the mean of ${xs.length >= 2 ? 'its own' : 'all'} runs`);
    }
    t.equal(job.pctSteps('never-aimed-at'), mean(all), 'a focus without two runs yet: the mean of all runs');
  } finally {
    await job.close();
  }
});

t.test('the swarm aimed at H14 races a chain against a region destroy on the same memdev', (t) => {
  const w = WORKLOADS.swarm!;
  const N = 200;
  /** a user's first ops destroy and recreate region m while fm/memM's first op is an add */
  const collision = (plan: Plan): boolean => plan.actors.some((a) => {
    const [d, c] = a.ops;
    if (a.kind !== 'user' || d?.op !== 'destroy-region' || c?.op !== 'create-region') return false;
    const fm = plan.actors.find((x) => x.name === `fm/mem${c.memdev}`);
    return d.region === `r${c.memdev}` && fm?.ops[0]?.op === 'add';
  });
  let aimed = 0, plain = 0, destroys = 0;
  for (let i = 0; i < N; i++) {
    if (collision(w.plan(new Prng(`5:swarm:${i}`), i, { focus: 'H14' }))) aimed++;
    const p = w.plan(new Prng(`5:swarm:${i}`), i);
    if (collision(p)) plain++;
    if (p.actors.some((a) => a.ops.some((o) => o.op === 'destroy-region'))) destroys++;
  }
  t.comment(`${N} plans: chain-vs-destroy collision in ${aimed} aimed at H14, ${plain} unaimed; region destroys in ${destroys} unaimed plans`);
  t.ok(aimed >= N / 3, 'aimed at H14: the collision in at least a third of the plans');
  t.ok(aimed > 2 * plain, 'more than twice as often as the plain swarm draws it');
  t.ok(destroys > N / 10, 'the plain swarm destroys regions too (region-cycle)');
  t.end();
});

t.test('an actor whose worker runs another actor\'s follow-up waits its turn (no scheduler hang)', async (t) => {
  // user0 destroys region r0 and creates it again: the new region's cxl_dax_region probe runs on
  // the dax-bus worker, while the dax-bus actor still has ops to issue on that worker
  const plan: Plan = {
    setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }],
    actors: [
      { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'destroy-region', region: 'r0' }, { op: 'create-region', memdev: 0, size: null, as: 'r0' }] },
      { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }, { op: 'bind', region: 'r0' }, { op: 'unbind', region: 'r0' }, { op: 'bind', region: 'r0' }] },
    ],
  };
  const job = new StressJob(opts('teardown-vs-add-response', { kind: 'random', skew: 2 }, '4'));
  const N = 30;
  let busyIssue = 0;
  const deadlocks: string[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const r = await job.iteration(i, undefined, { plan });
      // the probe of the new region ran on the dax-bus worker before the bus actor's last op
      // (an op-start of the dax-bus worker that no dax-bus actor issue preceded), with a dax-bus
      // actor op issued after it
      const idx = r.steps.map((s) => `${s.who} ${s.what}`);
      let pending = 0, probe = -1;
      for (let k = Math.max(0, idx.indexOf('actor:user0 create-region')); k < idx.length && probe < 0; k++) {
        if (idx[k]!.startsWith('actor:dax-bus ')) pending++;
        else if (idx[k] === 'dax-bus op-start') { if (pending > 0) pending--; else if (idx.includes('actor:user0 create-region')) probe = k; }
      }
      if (probe >= 0 && idx.slice(probe).some((s) => s.startsWith('actor:dax-bus '))) busyIssue++;
      if (/deadlock|hung/.test(r.outcome)) deadlocks.push(`${i}: ${r.outcome}`);
    }
  } finally {
    await job.close();
  }
  t.comment(`${N} iterations of destroy+create against unbind/bind: ${busyIssue} with the new region's probe on the dax-bus before the bus actor's last op`);
  t.ok(busyIssue > 0, 'the busy-worker case arose');
  t.same(deadlocks, [], 'every iteration ran to quiescence');
});

t.test('the swarm\'s schedule draw: weighted walks only when aimed at an asymmetric window', (t) => {
  const job = new StressJob(opts('swarm', { kind: 'free' }, '13')); // no topology: scheduleFor reads the job's own counts
  const N = 400;
  const draw = (focus?: string): Record<string, number> => {
    const n: Record<string, number> = {};
    for (let i = 0; i < N; i++) { const s = job.scheduleFor(i, focus ? { focus } : undefined); const k = s.kind === 'random' && s.skew ? 'weighted' : s.kind; n[k] = (n[k] ?? 0) + 1; }
    return n;
  };
  const h14 = draw('H14'), h1 = draw('H1'), plain = draw();
  t.comment(`${N} draws: aimed at H14 ${JSON.stringify(h14)}; at H1 ${JSON.stringify(h1)}; unaimed ${JSON.stringify(plain)}`);
  t.ok((h14.weighted ?? 0) > N / 8, 'aimed at H14 (a teardown inside a chain): weighted walks');
  t.equal(h1.weighted ?? 0, 0, 'aimed at H1 (two event threads at one tag insert): the uniform walk only');
  t.ok((h1.random ?? 0) > N / 4, 'and H1 keeps its random walks');
  t.equal(plain.weighted ?? 0, 0, 'unaimed: the uniform walk only (weighted walks there tripled tag-lock=off\'s iterations to detection)');
  t.ok((plain.random ?? 0) > N / 8, 'and unaimed iterations keep their random walks');
  const off = new StressJob({ ...opts('swarm', { kind: 'free' }, '13'), calibrated: false });
  let weighted = 0;
  for (let i = 0; i < N; i++) { const s = off.scheduleFor(i, { focus: 'H14' }); if ((s.kind === 'random' && s.skew) || (s.kind === 'pct' && s.steps !== undefined)) weighted++; }
  t.equal(weighted, 0, 'calibrated: false draws the old schedules (for an A/B)');
  t.end();
});
