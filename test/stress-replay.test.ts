// Replay proves it followed the trace: the replay scheduler is seeded apart from the search
// (stress/replay.ts), so a replay that ignored the recorded order could not count on the search's
// random choices. For a controlled trace and for free-run traces: no divergence, every recorded
// step consumed, the replayed step sequence equal to the trace. A tampered trace diverges, and
// the replay says where and does not count as reproduced (nor does the CLI: exit 1).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace, type StressTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import { runCli } from '../src/cli/main.js';
import { assertFollowed } from './stress-helpers.js';
import type { Knobs } from '../src/scenario/types.js';
import './neg-workloads.js';

const dir = mkdtempSync(join(tmpdir(), 'dcd-replay-'));

/** The first non-acceptable iteration's trace (iterations 0..max-1). */
async function firstTrace(workload: string, knobs: Knobs, free: boolean, max: number): Promise<{ trace: StressTrace; iteration: number } | null> {
  const job = new StressJob({ workload, variant: 'v11', knobs, device: 'cxl-test', seed: '7', schedule: free ? { kind: 'free' } : { kind: 'random' }, noise: free, outDir: dir });
  try {
    for (let i = 0; i < max; i++) {
      const r = await job.iteration(i);
      if (r.trace) {
        const tr = readTrace(r.trace);
        if (!tr.ok) throw new Error(tr.message);
        return { trace: tr.trace, iteration: i };
      }
    }
  } finally {
    await job.close();
  }
  return null;
}

const cases: { name: string; workload: string; knobs: Knobs; free: boolean }[] = [
  { name: 'controlled: same tag on two memdevs, tag-lock=off', workload: 'same-tag-two-memdevs', knobs: { 'tag-lock': 'off' }, free: false },
  { name: 'free run: the H10 divergence of parallel chains', workload: 'parallel-handlers', knobs: {}, free: true },
  { name: 'free run: watchdog vs late tail (clock step)', workload: 'watchdog-vs-late-tail', knobs: {}, free: true },
  { name: 'free run: claims racing a failing group add (user op-starts)', workload: 'claim-vs-failed-group-add', knobs: {}, free: true },
];

for (const c of cases) {
  t.test(`replay follows the trace — ${c.name}`, async (t) => {
    const found = await firstTrace(c.workload, c.knobs, c.free, 20);
    t.ok(found, 'the search wrote a trace');
    if (!found) return;
    const tr = found.trace;
    t.equal(tr.recordedFree, c.free, c.free ? 'recorded by the free-run step log' : 'recorded by the controlled scheduler');
    const rep = await replayTrace(tr, 1);
    t.comment(`${c.workload} iteration ${found.iteration}: ${tr.outcome}; ${tr.steps.length} recorded steps; replay took ${rep.steps} scheduler steps, followed ${rep.followed}; got ${rep.outcomes.join(', ')}`);
    t.ok(tr.steps.length > 0, 'the trace has steps');
    assertFollowed(t, rep, tr.steps.length, c.name);
    t.ok(rep.reproduced, `the recorded outcome ${tr.outcome} is reproduced`);
  });
}

t.test('a tampered trace diverges and is reported', async (t) => {
  const found = await firstTrace('same-tag-two-memdevs', { 'tag-lock': 'off' }, false, 20);
  t.ok(found);
  if (!found) return;
  const k = Math.floor(found.trace.steps.length / 2);
  const steps = found.trace.steps.map((s) => ({ ...s }));
  steps[k] = { who: 'irq/mem0', what: 'acquire', arg: 'no_such_lock(write)' };
  const tampered: StressTrace = { ...found.trace, steps };
  const rep = await replayTrace(tampered, 1);
  t.comment(`tampered step ${k} of ${steps.length}: ${rep.divergence ?? '(no divergence)'}`);
  t.match(rep.divergence ?? '', new RegExp(`diverged at step ${k}: expected irq/mem0 acquire no_such_lock\\(write\\)`), 'the divergence names the tampered step');
  t.equal(rep.followed, k, `the replay followed the ${k} steps before it`);
  t.notOk(rep.reproduced, 'a replay that left its trace does not count as reproduced');
  // the same through the CLI: exit 1 with the divergence printed
  const file = join(dir, 'tampered.trace.json');
  writeFileSync(file, JSON.stringify(tampered));
  const out: string[] = [];
  const code = await runCli(['replay', file], { out: (s) => out.push(s), err: (s) => out.push(s) });
  t.equal(code, 1, 'dcd replay exits 1');
  t.match(out.join('\n'), /NOT reproduced[\s\S]*diverged at step/, 'and prints where it diverged');

  // a trace cut short: the replay runs out of steps with work left and must not count it
  const cut: StressTrace = { ...found.trace, steps: found.trace.steps.slice(0, k) };
  const rc = await replayTrace(cut, 1);
  t.comment(`trace cut to ${k} steps: ${rc.divergence ?? '(none)'}`);
  t.notOk(rc.sameSteps, 'the replay took steps the trace does not have');
  t.notOk(rc.reproduced, 'not reproduced');
});
