// A controlled schedule is a function of its seed: the same seed run twice takes the same steps,
// even where an op's follow-up message reaches a worker after a delay — scan-gate-vs-add's
// create-region makes the main thread post the cxl_dax_region probe to the DAX bus, and the
// scheduler used to choose before the bus had taken it (12 of 16 iterations differed between two
// runs under CPU load). Now it waits for a user or dax-bus worker that is idle with a message in
// flight (stress/turnstile.ts awaitMessages; the counts: WorkerHandle.posted, SL_HANDLED).
import t from 'tap';
import './neg-workloads.js';
import { StressJob } from '../stress/runner.js';
import type { Knobs } from '../src/scenario/types.js';

async function schedules(n: number): Promise<string[][]> {
  const job = new StressJob({ workload: 'scan-gate-vs-add', variant: 'v11', knobs: { 'scan-gate': 'off' } as Knobs, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: null });
  const out: string[][] = [];
  try {
    for (let i = 0; i < n; i++) out.push((await job.iteration(i)).steps.map((s) => `${s.who} ${s.what} ${s.arg}`));
  } finally {
    await job.close();
  }
  return out;
}

t.test('the same seed twice: the same schedule in every iteration (create-region and its async probe)', async (t) => {
  const N = 10;
  const a = await schedules(N);
  const b = await schedules(N);
  let probes = 0;
  for (let i = 0; i < N; i++) {
    if (a[i]!.some((s) => s.startsWith('dax-bus op-start'))) probes++;
    const k = a[i]!.findIndex((s, j) => s !== b[i]![j]);
    t.same(b[i], a[i], `iteration ${i}: ${a[i]!.length} steps alike${k >= 0 ? ` (first difference at step ${k}: ${a[i]![k]} / ${b[i]![k]})` : ''}`);
  }
  t.comment(`${N} iterations × 2 runs; the probe's dax-bus op-start is a step in ${probes} of them`);
  t.ok(probes > 0, 'the async probe was scheduled as a step (the message the scheduler must wait for)');
});
