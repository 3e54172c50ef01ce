/**
 * DOC: sweeps — spreading a stress run's iterations over jobs and shards.
 *
 * Iteration numbers are global: shard i of n takes the iterations k with k % n == i - 1, so any
 * set of machines running `--shard 1/n … n/n` covers the sweep exactly once and `dcd merge`
 * combines their JSON. Within one run, `--jobs J` spreads the shard's iterations over a piscina
 * pool (one task per job, each task owning one reused topology); with J = 1 the job runs in this
 * thread's event loop.
 */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { StressJob, summarize, type IterationResult, type JobOptions, type StressSummary } from './runner.js';

export interface SweepOptions extends JobOptions {
  iterations?: number;
  seconds?: number;
  jobs: number;
  shard?: { index: number; count: number };
  onProgress?: (done: number, total: number | null, forbidden: number, elapsedMs: number) => void;
}

export interface JobTask {
  opts: JobOptions;
  /** iterations to run (global numbers), or a time budget with a stride */
  iterations?: number[];
  seconds?: number;
  start?: number;
  stride?: number;
}

/** Run one job's iterations (in this thread). */
export async function runJob(task: JobTask, progress?: (r: IterationResult) => void): Promise<IterationResult[]> {
  // a sweep reads nothing from the devices between iterations: their reset overlaps each record
  const job = new StressJob({ ...task.opts, overlapReset: true });
  const out: IterationResult[] = [];
  try {
    if (task.iterations) {
      for (const i of task.iterations) {
        const r = await job.iteration(i);
        out.push(stripIteration(r));
        progress?.(r);
      }
    } else {
      const deadline = performance.now() + (task.seconds ?? 1) * 1000;
      for (let i = task.start ?? 0; performance.now() < deadline; i += task.stride ?? 1) {
        const r = await job.iteration(i);
        out.push(stripIteration(r));
        progress?.(r);
      }
    }
  } finally {
    await job.close();
  }
  return out;
}

function stripIteration(r: IterationResult & { steps?: unknown; ops?: unknown; divergence?: unknown }): IterationResult {
  const { steps: _s, ops: _o, divergence: _d, ...rest } = r;
  return rest;
}

function poolFilename(): string {
  const here = import.meta.url;
  if (here.endsWith('.ts') && process.env.DCD_WORKERS === 'dist') {
    const js = fileURLToPath(new URL('../dist/stress/pool-task.js', here));
    if (existsSync(js)) return js;
  }
  if (here.endsWith('.ts')) return fileURLToPath(new URL('../workers/stress-pool.mjs', here));
  return fileURLToPath(new URL('./pool-task.js', here));
}

export async function runSweep(o: SweepOptions): Promise<StressSummary> {
  const t0 = performance.now();
  const shardIdx = o.shard ? o.shard.index - 1 : 0;
  const shardN = o.shard ? o.shard.count : 1;
  const jobs = Math.max(1, o.jobs);
  const tasks: JobTask[] = [];
  const { iterations, seconds, jobs: _j, shard: _s, onProgress: _p, ...opts } = o;
  for (let j = 0; j < jobs; j++) {
    if (iterations !== undefined) {
      const mine: number[] = [];
      for (let k = 0; k < iterations; k++) {
        const global = k * shardN + shardIdx; // the shard's k-th iteration
        if (k % jobs === j) mine.push(global);
      }
      tasks.push({ opts, iterations: mine });
    } else {
      tasks.push({ opts, seconds: seconds ?? 10, start: j * shardN + shardIdx, stride: jobs * shardN });
    }
  }
  let done = 0;
  let forbidden = 0;
  const tick = (r: IterationResult): void => {
    done++;
    if (r.class === 'forbidden') forbidden++;
    o.onProgress?.(done, iterations ?? null, forbidden, performance.now() - t0);
  };
  let results: IterationResult[];
  if (jobs === 1) {
    results = await runJob(tasks[0]!, tick);
  } else {
    const file = poolFilename();
    if (!existsSync(file)) throw new Error(`stress pool entry ${file} not found`);
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: file, maxThreads: jobs, minThreads: jobs, idleTimeout: 1000 });
    try {
      const per = await Promise.all(tasks.map((t) => pool.run(t) as Promise<IterationResult[]>));
      results = per.flat();
      for (const r of results) tick(r);
    } finally {
      await pool.destroy();
    }
  }
  results.sort((a, b) => a.iteration - b.iteration);
  return summarize(opts, results, performance.now() - t0, o.shard ? `${o.shard.index}/${o.shard.count}` : undefined);
}
