/**
 * `npm run bench:stress-profile` — where a swarm iteration's time goes (printed, never asserted).
 *
 * Runs the default swarm (`dcd stress --workload swarm`: free schedule, each iteration drawing its
 * own schedule) for S seconds after a warm-up iteration and prints, per drawn schedule (free,
 * random walk, PCT): iterations, mean ms per phase (IterationResult.phases), mean records offered,
 * mean decisions; then per thread (src/runtime/thread-stats.ts) the CPU µs, voluntary sleeps and
 * run-queue µs per iteration, and the main thread's CPU (process.cpuUsage minus the workers').
 *
 *   node --import=tsx bench/stress-profile.ts [--seconds S | --iterations N] [--seed X] [--workload W] [--schedule free|random] [--mix off] [--feedback off] [--phases] [--steps]
 *
 * `--mix off`: the free schedule for every iteration (JobOptions.mixSchedules false).
 *
 * `--iterations N` runs iterations 1..N whatever the time. The swarm's coverage feedback draws
 * each iteration's focus from what the run covered so far, which a free run's timing changes:
 * `--feedback off` (JobOptions.feedback false) gives an A/B's arms the same plans and schedules.
 * `--phases` prints each setup op's phase apart (setup:create-region, setup:add, ...).
 * `--steps` (controlled iterations): how long a step takes from its grant until its thread parks
 * again, and the scheduler's time between two steps (p10 / p50 / p90, ms per iteration), and the
 * steps' time by thread kind and point (from the runner's per-step times, TraceRecord.times; it
 * builds each iteration's record, which costs main-thread time of its own).
 * It also prints the control-plane messages the main thread posted per iteration (device, user,
 * dax-bus): round trips counted, which the machine's load does not blur (docs/performance.md "Tenth session: swarm iterations per second").
 */
import { StressJob, type Schedule } from '../stress/runner.js';
import { sampleThreads, threadDeltas } from '../src/runtime/thread-stats.js';
import { loadavg } from 'node:os';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
};
const SECONDS = Number(arg('seconds', '20'));
const SEED = arg('seed', '1');
const WORKLOAD = arg('workload', 'swarm');
const SCHED = arg('schedule', 'free');
const ITERATIONS = Number(arg('iterations', '0'));
if (!Number.isInteger(ITERATIONS) || ITERATIONS < 0) { process.stderr.write(`--iterations must be a non-negative integer\n`); process.exit(2); }
if (!Number.isFinite(SECONDS) || SECONDS <= 0) { process.stderr.write(`--seconds must be a positive number\n`); process.exit(2); }
if (SCHED !== 'free' && SCHED !== 'random') { process.stderr.write(`--schedule must be free or random\n`); process.exit(2); }

const schedule: Schedule = SCHED === 'free' ? { kind: 'free' } : { kind: 'random' };
const MIX = arg('mix', 'on');
if (MIX !== 'on' && MIX !== 'off') { process.stderr.write(`--mix must be on or off\n`); process.exit(2); }
const FEEDBACK = arg('feedback', 'on');
if (FEEDBACK !== 'on' && FEEDBACK !== 'off') { process.stderr.write(`--feedback must be on or off\n`); process.exit(2); }
const SPLIT = process.argv.includes('--phases');
const STEPS = process.argv.includes('--steps');
/** --steps: grant..park durations, the gaps between steps, and step time by thread kind and point */
const stepMs: number[] = [];
const gapMs: number[] = [];
const stepBy = new Map<string, { n: number; ms: number }>();
const job = new StressJob({ workload: WORKLOAD, variant: 'v11', knobs: {}, device: 'cxl-test', seed: SEED, schedule, noise: false, outDir: null, mixSchedules: MIX === 'on', feedback: FEEDBACK === 'on', overlapReset: true });
console.log(`stress-profile: ${WORKLOAD}, ${SCHED}, seed ${SEED}, ${SECONDS} s; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await job.iteration(0);
const sys = await job.system();
const before = sampleThreads(sys.sys);
/** control-plane messages the main thread posted, per worker kind (WorkerHandle.posted): a
 *  count of round trips that the load does not blur, beside the wall-clock figures */
const posted = (): Record<string, number> => {
  const o: Record<string, number> = {};
  for (const w of [...sys.devices, ...sys.users, sys.daxBus]) { const k = w.name.replace(/\/.*/, ''); o[k] = (o[k] ?? 0) + w.posted; }
  return o;
};
const posted0 = posted();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
interface Group { n: number; ms: number; phases: Record<string, number>; records: number; decisions: number }
const groups = new Map<string, Group>();
let i = 1;
let records = 0;
/** iterations of a second or more (a deadlock waited out to the hung bound, say) and their time */
let stalls = 0;
let stallMs = 0;
while (ITERATIONS ? i <= ITERATIONS : performance.now() - t0 < SECONDS * 1000) {
  const r = await job.iteration(i++);
  const kind = (r.schedule ?? SCHED).replace(/:.*/, '');
  const times = STEPS && r.decisions !== undefined ? job.lastRecord?.times : undefined;
  if (times) {
    for (let k = 0; k < times.length; k++) {
      const tk = times[k];
      if (!tk) continue;
      stepMs.push(tk[1] - tk[0]);
      const prev = times[k - 1];
      if (prev) gapMs.push(tk[0] - prev[1]);
      const st = r.steps[k];
      const key = st ? `${st.who.replace(/mem\d+/, 'memN').replace(/^actor:.*/, 'actor')} ${st.who.startsWith('actor:') ? 'issue' : st.what}` : '?';
      const e = stepBy.get(key) ?? { n: 0, ms: 0 };
      e.n++; e.ms += tk[1] - tk[0];
      stepBy.set(key, e);
    }
  }
  const g = groups.get(kind) ?? { n: 0, ms: 0, phases: {}, records: 0, decisions: 0 };
  const plan = job.lastPlan!;
  const recs = [...plan.setup, ...plan.actors.flatMap((a) => a.ops)].reduce((n, o) => n + (o.op === 'add' ? o.records.length : 0), 0);
  if (r.ms >= 1000) { stalls++; stallMs += r.ms; }
  g.n++; g.ms += r.ms; g.records += recs; g.decisions += r.decisions ?? 0;
  records += recs;
  for (const [k, v] of Object.entries(r.phases ?? {})) {
    const key = k.startsWith('setup:') && !SPLIT ? 'setup' : k;
    g.phases[key] = (g.phases[key] ?? 0) + v;
  }
  groups.set(kind, g);
}
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const after = sampleThreads(sys.sys);
const n = i - 1;
console.log(`${n} iterations in ${wall.toFixed(1)} s: ${(n / wall).toFixed(1)} it/s; ${(records / n).toFixed(1)} records per iteration; load ${loadavg()[0]!.toFixed(2)}; ${stalls} iterations of 1 s or more (${(stallMs / 1000).toFixed(1)} s)`);
for (const [kind, g] of groups) {
  const ph = Object.entries(g.phases).map(([k, v]) => `${k} ${(v / g.n).toFixed(1)}`).join(', ');
  console.log(`  ${kind.padEnd(7)} ${String(g.n).padStart(4)} it (${(100 * g.ms / 1000 / wall).toFixed(0)}% of wall), ${(g.ms / g.n).toFixed(1)} ms/it, ${(g.records / g.n).toFixed(1)} rec/it${g.decisions ? `, ${(g.decisions / g.n).toFixed(0)} decisions/it` : ''}: ${ph}`);
}
if (STEPS && stepMs.length > 0) {
  const q = (a: number[], p: number): string => { const x = [...a].sort((u, v) => u - v); return (x[Math.floor(p * (x.length - 1))] ?? 0).toFixed(3); };
  const its = [...groups.entries()].filter(([k]) => k !== 'free').reduce((m, [, g]) => m + g.n, 0) || 1;
  const sum = (a: number[]): string => (a.reduce((u, v) => u + v, 0) / its).toFixed(1);
  console.log(`controlled steps: ${stepMs.length} in ${its} iterations; grant..park ms p10/p50/p90 ${q(stepMs, 0.1)}/${q(stepMs, 0.5)}/${q(stepMs, 0.9)} (${sum(stepMs)} ms/it); between steps ${q(gapMs, 0.1)}/${q(gapMs, 0.5)}/${q(gapMs, 0.9)} (${sum(gapMs)} ms/it)`);
  for (const [k, e] of [...stepBy].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) console.log(`  ${k.padEnd(28)} ${(e.n / its).toFixed(1).padStart(6)} steps/it ${(e.ms / its).toFixed(2).padStart(7)} ms/it ${((e.ms / e.n) * 1000).toFixed(0).padStart(5)} µs each`);
}
const posted1 = posted();
console.log(`messages posted per iteration: ${Object.keys(posted1).map((k) => `${k} ${((posted1[k]! - posted0[k]!) / n).toFixed(1)}`).join(', ')}`);
const d = threadDeltas(before, after);
let workersCpu = 0;
console.log('thread                 cpu µs/it  sleeps/it  runq µs/it');
for (const t of d) {
  workersCpu += t.cpuUs;
  console.log(`  ${t.name.padEnd(20)} ${(t.cpuUs / n).toFixed(0).padStart(9)}  ${(t.sleeps / n).toFixed(1).padStart(9)}  ${(t.runqUs / n).toFixed(0).padStart(10)}`);
}
const procUs = cpu.user + cpu.system;
console.log(`  main (process - workers) ${((procUs - workersCpu) / n).toFixed(0)} µs/it; process ${(procUs / n).toFixed(0)} µs/it = ${(procUs / 1e6 / wall).toFixed(2)} cores`);
await job.close();
