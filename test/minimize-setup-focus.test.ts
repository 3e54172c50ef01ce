// Two `dcd minimize` defects (found while minimizing the H24 traces, docs/findings-open.md):
//  (a) the baseline ignored a trace's swarm `focus`: a swarm trace without a stored plan re-draws
//      its plan from (workload, seed, iteration) and the coverage focus it was drawn with, as
//      `dcd replay` does; without the focus the minimizer drew another plan and its baseline
//      diverged (swarm-released-unaccepted-1-2366: "diverged at step 5: expected actor:fm/mem0
//      release mem0 x1"), so the trace could not be minimized at all;
//  (b) the setup shrinking dropped the setup's wait-idles. The setup runs free (unrecorded): its
//      wait-idles are what order it, and without them an add races the probe's seed device, so a
//      candidate that happened to reproduce once left a minimized trace whose strict replay could
//      diverge (before the fix: H24's targeted trace minimized to setup [create-region, add], and 2
//      of 6 strict replays of it did not reproduce).
// Each test fails on the code before the fix. The work is bounded by candidate counts, not time.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace, type StressTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import { baselineIo, formatMinimize, minimizeTrace, setupWithout } from '../stress/minimize.js';
import type { StressOp } from '../stress/ops.js';
import '../stress/findings-workloads.js';

const dir = mkdtempSync(join(tmpdir(), 'dcd-minimize-setup-focus-'));

t.test('setupWithout: drops the op and only the wait-idles it leaves redundant', (t) => {
  const W: StressOp = { op: 'wait-idle' };
  const cr: StressOp = { op: 'create-region', memdev: 0, size: null, as: 'r0' };
  const add: StressOp = { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 << 20, tag: null, seq: 0, more: false }] };
  const hold: StressOp = { op: 'hold-extent', region: 'r0', index: 1, as: 'x' };
  const ops = (s: StressOp[]): string => s.map((o) => o.op).join(' ');
  const setup = [cr, W, add, W, hold];
  t.equal(ops(setupWithout(setup, 4)), 'create-region wait-idle add wait-idle', 'dropping the last op keeps both wait-idles');
  t.equal(ops(setupWithout(setup, 2)), 'create-region wait-idle hold-extent', 'dropping the add: its wait-idle now follows another, so it goes too');
  t.equal(ops(setupWithout(setup, 0)), 'add wait-idle hold-extent', 'dropping the first op: a leading wait-idle waits for nothing');
  t.equal(ops(setupWithout([cr, add, W], 1)), 'create-region wait-idle', 'a wait-idle with an op before it stays');
  t.throws(() => setupWithout(setup, 1), /wait-idle/, 'a wait-idle is never a candidate on its own');
  t.end();
});

t.test('(a) a swarm trace without a plan: the baseline re-draws the plan with the trace\'s focus', async (t) => {
  const r0 = readTrace(join(import.meta.dirname, '..', 'docs', 'findings-open', 'swarm-released-unaccepted-1-2366.trace.json'));
  if (!r0.ok) throw new Error(r0.message);
  const stored = r0.trace;
  t.equal(stored.focus, 'H5', 'the stored trace was drawn with focus H5');
  t.notOk(stored.plan, 'and stores no plan');
  t.same(baselineIo(stored), { hint: { focus: 'H5', version: 1 } }, 'the baseline draws the plan with that focus (and the trace\'s plan generator, version 1: no swarmPlan field)');
  t.same(baselineIo({ ...stored, plan: { setup: [], actors: [] } }), { plan: { setup: [], actors: [] } }, 'a stored plan wins over the focus');
  // The trace was recorded before later checker rules reclassified its outcome; its replay follows
  // every step. Re-record its classification from that replay (what the minimizer must keep).
  const rep = await replayTrace(stored, 1);
  t.equal(rep.divergence, null, `the stored trace replays step for step (with its focus): ${rep.outcomes.join(', ')}`);
  const tr: StressTrace = { ...stored, outcome: rep.got, class: rep.class as StressTrace['class'], ...(rep.detail ? { detail: rep.detail } : {}) };
  delete tr.signature; delete tr.title;
  const m = await minimizeTrace(tr, { seconds: 300, maxCandidates: 3, out: join(dir, 'swarm-2366.min.trace.json') });
  t.comment(m.ok ? formatMinimize(m) : m.message);
  t.ok(m.ok, `the baseline reproduces (${m.message}); before the fix: "the trace does not reproduce … diverged at step 5"`);
  if (!m.ok || !m.trace) return;
  t.ok(m.trace.plan && m.trace.plan.actors.some((a) => a.ops.some((o) => o.op === 'release')), 'the written trace stores the focused plan (its FM release is there)');
  t.ok(m.verified, 'and replays strictly');
});

t.test('(b) the setup\'s wait-idles survive minimization, and the minimized trace replays strictly', async (t) => {
  // H24's targeted workload (stress/findings-workloads.ts): setup create-region, wait-idle, a
  // 3-member tagged add, wait-idle; the unbind against a tagged claim
  const job = new StressJob({ workload: 'claim-vs-teardown', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: dir });
  let file: string | undefined;
  let i = 0;
  try {
    for (; i < 24 && !file; i++) {
      const r = await job.iteration(i);
      if (r.outcome === 'partial-group-claimed-in-teardown-h24' && r.trace) file = r.trace;
    }
  } finally {
    await job.close();
  }
  t.ok(file, `claim-vs-teardown finds H24 (seed 7, iteration ${i - 1})`);
  if (!file) return;
  const orig = readTrace(file);
  if (!orig.ok) throw new Error(orig.message);
  const m = await minimizeTrace(orig.trace, { seconds: 300, maxCandidates: 40, out: join(dir, 'h24.min.trace.json') });
  t.comment(formatMinimize(m));
  t.ok(m.ok && m.trace, `minimized (${m.message})`);
  if (!m.trace) return;
  const setup = m.trace.plan!.setup.map((o) => o.op);
  t.same(setup, ['create-region', 'wait-idle', 'add', 'wait-idle'], `the setup keeps its wait-idles (${setup.join(', ')}); before the fix: create-region, add`);
  t.equal(m.trace.outcome, 'partial-group-claimed-in-teardown-h24', 'keeps the outcome');
  t.ok(m.verified, 'the written trace reproduces under a strict dcd replay');
  // strict replays, one attempt each: every one follows every step
  let ok = 0;
  const N = 4;
  for (let k = 0; k < N; k++) {
    const r = await replayTrace(m.trace, 1);
    if (r.reproduced && r.sameSteps) ok++;
    else t.comment(`replay ${k}: ${r.divergence ?? 'no divergence'}; ${r.outcomes.join(', ')}`);
  }
  t.comment(`${ok} of ${N} single-attempt strict replays of the minimized trace reproduced`);
  t.equal(ok, N, 'each single-attempt strict replay reproduces');
});
