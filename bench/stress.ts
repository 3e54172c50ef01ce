/**
 * `npm run bench:stress` — stress-runner figures (printed, never asserted):
 *  - iterations per second for the two-claims race and the full swarm, free and controlled;
 *  - time to first detection of rows (a)–(e) over N seeds each (median and max), controlled
 *    random schedule, with the iteration it took.
 * Usage: node --import=tsx bench/stress.ts [--seeds N] [--iterations N (cap per seed, default 200)] [--rows abcde] [--rate-n N]
 * (`--rows ''` prints the rates only; each rate line says the mean ms per phase of an iteration)
 * Workers start from dist/ when DCD_WORKERS=dist (the npm script sets it).
 */
import { StressJob, type Schedule } from '../stress/runner.js';
import type { Knobs, Variant } from '../src/scenario/types.js';
import { loadavg } from 'node:os';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
};
const SEEDS = Number(arg('seeds', '20'));
const ITER = Number(arg('iterations', '200'));
const ROWS = arg('rows', 'abcde');
/** swarm iterations per rate (two-claims runs 8x as many) */
const RATE_N = Number(arg('rate-n', '15'));

/** Iterations/s of `workload` over `n` iterations after a warm-up one, and the mean ms per phase. */
async function rate(workload: string, schedule: Schedule, n: number): Promise<{ perSec: number; racesPerSec: number; phases: string }> {
  const job = new StressJob({ workload, variant: 'v11', knobs: {}, device: 'cxl-test', seed: 'bench', schedule, noise: false, outDir: null });
  await job.iteration(0); // start-up and warm-up are not counted
  const sum: Record<string, number> = {};
  let races = 0;
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    const r = await job.iteration(i);
    races += r.rounds ?? 1;
    for (const [k, v] of Object.entries(r.phases ?? {})) sum[k] = (sum[k] ?? 0) + v;
  }
  const s = (performance.now() - t0) / 1000;
  await job.close();
  return { perSec: n / s, racesPerSec: races / s, phases: Object.entries(sum).map(([k, v]) => `${k} ${(v / n).toFixed(2)}`).join(', ') };
}

const rows: Record<string, { workload: string; knobs: Knobs; variant: Variant; want: string }> = {
  a: { workload: 'same-tag-two-memdevs', knobs: { 'tag-lock': 'off' }, variant: 'v11', want: 'tag-registered-twice' },
  b: { workload: 'partial-group-claim', knobs: { 'group-lock': 'per-extent' }, variant: 'v11', want: 'partial-group-claimed' },
  c: { workload: 'parallel-handlers', knobs: { 'parallel-event-handlers': 2 }, variant: 'v11', want: 'chain-mixed' },
  d: { workload: 'chain-close-vs-probe', knobs: {}, variant: 'v11', want: 'hung-wait-h2' },
  e: { workload: 'watchdog-vs-late-tail', knobs: {}, variant: 'v11', want: 'double-response-after-timeout' },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

console.log(`bench:stress — seeds per row ${SEEDS}, at most ${ITER} iterations per seed`);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const [wl, n] of [['two-claims', RATE_N * 8], ['two-claims-x16', RATE_N], ['swarm', RATE_N]] as const) {
  for (const schedule of [{ kind: 'free' } as Schedule, { kind: 'random' } as Schedule]) {
    const r = await rate(wl, schedule, n);
    const races = r.racesPerSec !== r.perSec ? `, ${r.racesPerSec.toFixed(1)} races/s` : '';
    console.log(`${wl.padEnd(14)} ${schedule.kind.padEnd(7)} ${r.perSec.toFixed(1)} iterations/s${races}  (ms per iteration: ${r.phases})`);
  }
}
console.log('\nrow  workload               found  median s  max s  median iterations');
for (const key of ROWS) {
  const r = rows[key];
  if (!r) continue;
  const times: number[] = [];
  const iters: number[] = [];
  let found = 0;
  // one topology per row, reused across seeds (a fresh job per seed would measure start-up)
  for (let s = 0; s < SEEDS; s++) {
    const job = new StressJob({ workload: r.workload, variant: r.variant, knobs: r.knobs, device: 'cxl-test', seed: `row-${key}-${s}`, schedule: { kind: 'random' }, noise: false, outDir: null });
    await job.system();
    const t0 = performance.now();
    for (let i = 0; i < ITER; i++) {
      const it = await job.iteration(i);
      if (it.outcome === r.want) { found++; times.push((performance.now() - t0) / 1000); iters.push(i + 1); break; }
    }
    await job.close();
  }
  console.log(`(${key})  ${r.workload.padEnd(22)} ${String(found).padStart(2)}/${SEEDS}  ${median(times).toFixed(2).padStart(8)}  ${Math.max(...times, 0).toFixed(2).padStart(5)}  ${median(iters)}`);
}
