/**
 * DOC: `npm run bench:find` — the finding power of the DEFAULT swarm (what `dcd stress --knob X`
 * runs: workload swarm, free scheduling, no noise, coverage feedback on), given only a seeded
 * defect (a knob or a variant), over N seeds: found n/N, median and max seconds to the first
 * detection (wall time from the job's start, topology start-up included), and the coverage the runs
 * reached. Then iterations/s of two-claims, two-claims-x16 (16 races per reset: races/s), free and
 * controlled (random walk), and of the swarm three ways: the default (`dcd stress`: the free
 * schedule with controlled iterations mixed in, StressJob.scheduleFor), free only (`--mix off`)
 * and controlled only (`--schedule random`), with decisions/s of the controlled iterations.
 * Each seed stops at its first detection; seeds run one after another (in parallel they would
 * share the two cores and distort each other's seconds).
 *
 *   npm run bench:find -- [--seeds N] [--seconds S] [--rate-seconds R] [--only ID,...] [--directed on|off] [--calibrated on|off] [--out FILE] [--traces DIR]
 *
 * Defaults: 20 seeds × 60 s per defect (the issue's aim: found in >= 19/20 within 60 s), rates over
 * 10 s each. A benchmark, not a test: figures depend on the machine and its load (printed).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { StressJob, type JobOptions } from '../stress/runner.js';
import { coverageCounts, mergeCoverage, type CoverageSummary } from '../stress/coverage.js';
import { OUTCOMES } from '../stress/checkers/outcomes.js';
import type { Knobs, Variant } from '../src/scenario/types.js';

interface Defect {
  id: string;
  /** what a user types */
  flags: string;
  variant: Variant;
  knobs: Knobs;
  /** detection: an iteration that saw one of these outcomes — the defect's own (any forbidden
   *  outcome counts too when `anyForbidden`; no row sets it: outcomes the v11 default also shows,
   *  such as the open claim-mismatch, say nothing about the knob) */
  want: string[];
  anyForbidden: boolean;
  /** the named coverage window the defect lives in */
  window: string;
  /** a control row: the same window with the defect fixed; "found" should be 0 */
  control?: boolean;
}

const DEFECTS: Defect[] = [
  { id: 'tag-lock', flags: '--knob tag-lock=off', variant: 'v11', knobs: { 'tag-lock': 'off' } as Knobs, want: ['tag-registered-twice'], anyForbidden: false, window: 'H1' },
  { id: 'group-lock', flags: '--knob group-lock=per-extent', variant: 'v11', knobs: { 'group-lock': 'per-extent' } as Knobs, want: ['partial-group-claimed'], anyForbidden: false, window: 'H7' },
  { id: 'handlers', flags: '--knob parallel-event-handlers=2', variant: 'v11', knobs: { 'parallel-event-handlers': 2 } as Knobs, want: ['chain-mixed'], anyForbidden: false, window: 'CL-serial' },
  { id: 'v10', flags: '--variant v10 (v11 device)', variant: 'v10', knobs: {} as Knobs, want: ['sharable-group-refused-seq'], anyForbidden: false, window: 'CL-seq' },
  { id: 'h14', flags: '(v11 default: H14 teardown vs response)', variant: 'v11', knobs: {} as Knobs, want: ['response-lists-torn-down', 'released-before-response', 'tag-group-use-after-free-h14', 'region-use-after-free-h14', 'extent-orphaned-h14'], anyForbidden: false, window: 'H14' },
  { id: 'h5-rcu-off', flags: '--knob rcu=off (v11 as posted)', variant: 'v11', knobs: { rcu: 'off' } as Knobs, want: ['dc-extent-use-after-free-h5'], anyForbidden: false, window: 'H5' },
  { id: 'h5-rcu-on', flags: '--knob rcu=on (the post-v11 fix)', variant: 'v11', knobs: { rcu: 'on' } as Knobs, want: ['dc-extent-use-after-free-h5'], anyForbidden: false, window: 'H5', control: true },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) { process.stderr.write(`bench:find: --${name} needs a value\n`); process.exit(2); }
  return v;
}
function num(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) { process.stderr.write(`bench:find: --${name} must be a positive number, got "${v}"\n`); process.exit(2); }
  return n;
}

const SEEDS = Math.floor(num('seeds', 20));
const SECONDS = num('seconds', 60);
const RATE_SECONDS = num('rate-seconds', 10);
const ONLY = arg('only')?.split(',');
/** `--directed off`: the swarm's knob-directed focus off (A/B against stress/coverage.ts knobWindows) */
const DIRECTED = arg('directed') ?? 'on';
if (DIRECTED !== 'on' && DIRECTED !== 'off') { process.stderr.write(`bench:find: --directed must be on or off, got "${DIRECTED}"\n`); process.exit(2); }
/** `--calibrated off`: the uniform random walk and PCT over k = 400 (A/B against the weighted
 *  walk and the measured run length, StressJob.scheduleFor) */
const CALIBRATED = arg('calibrated') ?? 'on';
if (CALIBRATED !== 'on' && CALIBRATED !== 'off') { process.stderr.write(`bench:find: --calibrated must be on or off, got "${CALIBRATED}"\n`); process.exit(2); }
const OUT = arg('out') ?? 'results/bench-find.json';
/** traces of every non-acceptable iteration (a forbidden outcome in a default run must be diagnosable) */
const TRACES = arg('traces') ?? 'results/bench-find-traces';
if (ONLY) for (const o of ONLY) if (o !== 'rates' && !DEFECTS.some((d) => d.id === o)) { process.stderr.write(`bench:find: unknown --only "${o}"; known: ${DEFECTS.map((d) => d.id).join(', ')}, rates\n`); process.exit(2); }

const base = (o: Partial<JobOptions>): JobOptions => ({
  workload: 'swarm', variant: 'v11', knobs: {} as Knobs, device: 'cxl-test', seed: '1', schedule: { kind: 'free' }, noise: false, outDir: null, directed: DIRECTED === 'on', calibrated: CALIBRATED === 'on', overlapReset: true, ...o,
});

interface SeedRun { seed: string; found: boolean; seconds: number | null; iterations: number; outcome: string | null; forbidden: string[]; detail?: string; iteration?: number; focus?: string; schedule?: string; trace?: string; forbiddenTraces?: string[] }

async function runSeed(d: Defect, seed: string): Promise<{ run: SeedRun; coverage: CoverageSummary }> {
  const job = new StressJob(base({ variant: d.variant, knobs: d.knobs, seed, outDir: `${TRACES}/${d.id}` }));
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  const run: SeedRun = { seed, found: false, seconds: null, iterations: 0, outcome: null, forbidden: [] };
  try {
    for (let i = 0; performance.now() < deadline; i++) {
      const r = await job.iteration(i);
      run.iterations++;
      const names = r.outcomes ?? [r.outcome];
      for (const n of names) if ((OUTCOMES as Record<string, { class: string }>)[n]?.class === 'forbidden' && !run.forbidden.includes(n)) run.forbidden.push(n);
      if (r.class === 'forbidden' && r.trace) (run.forbiddenTraces ??= []).push(r.trace);
      const hit = names.find((n) => d.want.includes(n) || (d.anyForbidden && (OUTCOMES as Record<string, { class: string }>)[n]?.class === 'forbidden'));
      if (hit) {
        run.found = true;
        run.seconds = (performance.now() - t0) / 1000;
        run.outcome = hit;
        run.iteration = i;
        if (r.detail) run.detail = r.detail;
        if (r.focus) run.focus = r.focus;
        run.schedule = r.schedule ?? 'free';
        if (r.trace) run.trace = r.trace;
        break;
      }
    }
  } finally {
    await job.close();
  }
  return { run, coverage: job.coverage };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `label`: the schedule as a user runs it (the swarm's `free` mixes controlled iterations in
 *  unless `mix` is false: `dcd stress --mix off`) */
async function rate(workload: string, schedule: JobOptions['schedule'], label: string, mix = true): Promise<{ workload: string; schedule: string; iterations: number; controlled: number; races: number; seconds: number; perSec: number; racesPerSec: number; decisionsPerSec: number }> {
  const job = new StressJob(base({ workload, schedule, seed: '1', mixSchedules: mix }));
  await job.system(); // start-up is not part of the rate
  const t0 = performance.now();
  let n = 0;
  let races = 0;
  let decisions = 0;
  let controlled = 0;
  try {
    while (performance.now() - t0 < RATE_SECONDS * 1000) { const r = await job.iteration(n); n++; races += r.rounds ?? 1; decisions += r.decisions ?? 0; if (r.decisions !== undefined) controlled++; }
  } finally {
    await job.close();
  }
  const s = (performance.now() - t0) / 1000;
  return { workload, schedule: label, iterations: n, controlled, races, seconds: s, perSec: n / s, racesPerSec: races / s, decisionsPerSec: decisions / s };
}

const load0 = loadavg();
process.stdout.write(`bench:find: ${SEEDS} seeds x ${SECONDS} s per defect, rates over ${RATE_SECONDS} s; directed ${DIRECTED}, calibrated ${CALIBRATED}; ${cpus().length} cpus, load average ${load0.map((x) => x.toFixed(1)).join(' ')}\n`);
const rows: unknown[] = [];
const lines: string[] = [];
lines.push('| defect (flags) | found | median s | max s | iterations to detection (median) | outcome | window reached (iterations, a/b first) | coverage: windows both / one / never | other forbidden outcomes (seeds) |');
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const d of DEFECTS) {
  if (ONLY && !ONLY.includes(d.id)) continue;
  const runs: SeedRun[] = [];
  const covs: CoverageSummary[] = [];
  for (let k = 0; k < SEEDS; k++) {
    const { run, coverage } = await runSeed(d, String(100 + k));
    runs.push(run);
    covs.push(coverage);
    process.stderr.write(`  ${d.id} seed ${run.seed}: ${run.found ? `found ${run.outcome} after ${run.seconds!.toFixed(1)} s (${run.iterations} iterations)` : `not found in ${run.iterations} iterations`}${run.forbidden.length ? `; forbidden seen: ${run.forbidden.join(', ')}` : ''}\n`);
  }
  const cov = mergeCoverage(covs);
  const cc = coverageCounts(cov);
  const found = runs.filter((r) => r.found);
  const secs = found.map((r) => r.seconds!);
  const w = cov.windows[d.window];
  const outcomes = [...new Set(found.map((r) => r.outcome!))].join(', ') || '-';
  const row = {
    id: d.id, flags: d.flags, control: d.control ?? false, seeds: SEEDS, secondsBudget: SECONDS, found: found.length,
    medianSeconds: median(secs), maxSeconds: secs.length ? Math.max(...secs) : null,
    medianIterations: median(found.map((r) => r.iterations)), outcomes, window: d.window,
    windowReached: w?.reached ?? 0, windowAb: w?.ab ?? 0, windowBa: w?.ba ?? 0, coverage: cc, runs,
  };
  rows.push(row);
  const f = (x: number | null): string => (x === null ? '-' : x.toFixed(1));
  const others = new Map<string, number>();
  for (const r of runs) for (const n of r.forbidden) if (!d.want.includes(n)) others.set(n, (others.get(n) ?? 0) + 1);
  const otherText = [...others].map(([n, k]) => `${n} (${k})`).join(', ') || '-';
  lines.push(`| ${d.flags}${d.control ? ' (control: should be 0)' : ''} | ${found.length}/${SEEDS} | ${f(row.medianSeconds)} | ${f(row.maxSeconds)} | ${row.medianIterations ?? '-'} | ${outcomes} | ${d.window}: ${row.windowReached} (${row.windowAb}/${row.windowBa}) of ${cov.iterations} | ${cc.windowsBoth} / ${cc.windowsOne} / ${cc.windowsNever} | ${otherText} |`);
  process.stdout.write(`${lines[lines.length - 1]}\n`);
}
const rates: Awaited<ReturnType<typeof rate>>[] = [];
if (!ONLY || ONLY.includes('rates')) {
  const cells: [string, JobOptions['schedule'], string, boolean][] = [
    ['two-claims', { kind: 'free' }, 'free', true], ['two-claims', { kind: 'random' }, 'random', true],
    ['two-claims-x16', { kind: 'free' }, 'free', true], ['two-claims-x16', { kind: 'random' }, 'random', true],
    // the swarm as `dcd stress` runs it (free, controlled iterations mixed in), free only
    // (`--mix off`: the issue's "100 swarm iterations/s (free)") and controlled only
    ['swarm', { kind: 'free' }, 'default (free, mixed)', true], ['swarm', { kind: 'free' }, 'free only (--mix off)', false], ['swarm', { kind: 'random' }, 'controlled (random)', true],
  ];
  for (const [wl, sch, label, mix] of cells) {
    const r = await rate(wl, sch, label, mix);
    rates.push(r);
    process.stderr.write(`  rate ${wl} ${label}: ${r.iterations} iterations (${r.controlled} controlled) in ${r.seconds.toFixed(1)} s\n`);
  }
}
const load1 = loadavg();
const report = [
  `bench:find — ${SEEDS} seeds x ${SECONDS} s per defect; load average before ${load0.map((x) => x.toFixed(1)).join(' ')}, after ${load1.map((x) => x.toFixed(1)).join(' ')} (${cpus().length} cpus)`,
  '',
  ...lines,
  '',
  ...(rates.length ? ['| workload | schedule | iterations (controlled) | races | seconds | iterations/s | races/s | decisions/s |', '|---|---|---|---|---|---|---|---|',
    ...rates.map((r) => `| ${r.workload} | ${r.schedule} | ${r.iterations} (${r.controlled}) | ${r.races} | ${r.seconds.toFixed(1)} | ${r.perSec.toFixed(1)} | ${r.racesPerSec.toFixed(1)} | ${r.decisionsPerSec ? r.decisionsPerSec.toFixed(0) : '-'} |`)] : []),
].join('\n');
process.stdout.write(`\n${report}\n`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ seeds: SEEDS, seconds: SECONDS, rateSeconds: RATE_SECONDS, loadBefore: load0, loadAfter: load1, cpus: cpus().length, rows, rates, report }, null, 1)}\n`);
process.stdout.write(`\nresults: ${OUT}\n`);
