// The controlled scheduler's device steps were never choices (stress/turnstile.ts: a device whose
// doorbell is rung runs at once). Three switches make them cheaper (docs/performance.md, "Eleventh session: swarm iterations"): the device
// no longer spins on its doorbell under the scheduler (DCD_CONTROLLED_DEVICE_SPIN=1 restores the
// spin), and it serves outside the turnstile while the scheduler waits for its doorbell to clear
// (DCD_FREE_DEVICES=0 restores the eager grants), idling in a synchronous wait on its doorbell
// (DCD_FREE_DEVICE_SYNC_WAIT=0: an event-loop wait). None may change what a controlled run does:
// the same seed must take the same steps and reach the same outcomes, step for step.
import t from 'tap';
import { StressJob } from '../stress/runner.js';
import type { Schedule } from '../stress/runner.js';
import { SL_ENROLLED } from '../src/shm/sched.js';

interface Run { outcome: string; outcomes?: string[]; steps: string[] }

async function runWith(env: Record<string, string>, schedule: Schedule, n: number): Promise<{ runs: Run[]; deviceEnrolled: boolean[] }> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v; }
  // workers copy process.env when they start: the job's system starts here, under `env`
  const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '11', schedule, noise: false, outDir: null, feedback: false });
  const runs: Run[] = [];
  let deviceEnrolled: boolean[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const r = await job.iteration(i);
      runs.push({ outcome: r.outcome, ...(r.outcomes ? { outcomes: r.outcomes } : {}), steps: r.steps.map((s) => `${s.who} ${s.what} ${s.arg}`) });
    }
    const sys = (await job.system()).sys;
    const T = sys.turnstile;
    deviceEnrolled = [...Array(sys.threadCount()).keys()].filter((s) => sys.threadName(s).startsWith('device/')).map((s) => T.controlled(s) || Atomics.load(T.slots, T.base(s) + SL_ENROLLED) === 1);
  } finally {
    await job.close();
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
  return { runs, deviceEnrolled };
}

for (const schedule of [{ kind: 'random' }, { kind: 'pct', depth: 3 }] as Schedule[]) {
  t.test(`${schedule.kind}: free devices and no controlled spin take the same steps to the same outcomes as eager grants with the spin`, async (t) => {
    const N = 5;
    const before = await runWith({ DCD_FREE_DEVICES: '0', DCD_CONTROLLED_DEVICE_SPIN: '1' }, schedule, N);
    const after = await runWith({ DCD_FREE_DEVICES: '', DCD_CONTROLLED_DEVICE_SPIN: '', DCD_FREE_DEVICE_SYNC_WAIT: '' }, schedule, N);
    // a free device idling in an event-loop wait instead of the synchronous one (sleepControlled)
    const asyncWait = await runWith({ DCD_FREE_DEVICES: '', DCD_CONTROLLED_DEVICE_SPIN: '', DCD_FREE_DEVICE_SYNC_WAIT: '0' }, schedule, N);
    t.same(before.deviceEnrolled, [true, true], 'DCD_FREE_DEVICES=0: the device threads are enrolled in the turnstile');
    t.same(after.deviceEnrolled, [false, false], 'default: the device threads serve outside it');
    const steps = before.runs.reduce((n, r) => n + r.steps.length, 0);
    const mbox = before.runs.reduce((n, r) => n + r.steps.filter((s) => / resume pred2\d{5}$/.test(s)).length, 0);
    t.ok(steps > 100 && mbox > 0, `${N} controlled iterations, ${steps} steps, ${mbox} resumes from register-file waits (the device ran under both)`);
    for (let i = 0; i < N; i++) {
      t.same(after.runs[i]!.steps, before.runs[i]!.steps, `iteration ${i}: the same ${before.runs[i]!.steps.length} steps`);
      t.same([after.runs[i]!.outcome, after.runs[i]!.outcomes], [before.runs[i]!.outcome, before.runs[i]!.outcomes], `iteration ${i}: the same outcome (${before.runs[i]!.outcome})`);
      t.same(asyncWait.runs[i], after.runs[i], `iteration ${i}: DCD_FREE_DEVICE_SYNC_WAIT=0 takes the same steps to the same outcome`);
    }
  });
}
