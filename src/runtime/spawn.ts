/**
 * DOC: spawning named workers, from TypeScript sources or compiled JavaScript.
 *
 * Every worker kind has a thin entry point in `workers/<kind>.ts`. Run from sources (tests,
 * `npm run bench:*` under tsx) a worker must register the tsx loader itself — a Node 20 Worker does
 * not inherit `--import=tsx` — so it starts through `workers/bootstrap.mjs`, which registers tsx
 * and imports the entry. Run from `dist/` (the `dcd` CLI, the installed package) the compiled entry
 * starts directly: every path is relative to this module (`dist/src/runtime/` → `dist/workers/`),
 * so it resolves wherever the package is installed, and nothing at run time needs tsx (a dev
 * dependency that an installed package does not have; `workers/bootstrap.mjs` does not ship).
 *
 * A crash (uncaught exception, unhandled rejection, unexpected exit) surfaces at once as a
 * `WorkerCrash` naming the worker and carrying its stack: every pending call made through
 * `WorkerHandle.call` rejects with it, and `onCrash` listeners run, so a run ends instead of
 * hanging on a reply that will never come.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { HeapStatsApi, WorkerHeapStats } from '../protocol.js';

const fromSource = import.meta.url.endsWith('.ts');

export class WorkerCrash extends Error {
  readonly worker: string;
  readonly workerStack: string | undefined;
  constructor(worker: string, message: string, stack?: string) {
    super(`worker ${worker} crashed: ${message}`);
    this.worker = worker;
    this.workerStack = stack;
    if (stack) this.stack = `${this.name}: ${this.message}\n--- worker stack ---\n${stack}`;
  }
  override get name(): string {
    return 'WorkerCrash';
  }
}

/**
 * Resolve `workers/<kind>` for the current mode (source .ts via bootstrap, or compiled .js).
 * `DCD_WORKERS=dist` makes a run from sources (the test suite) start the compiled workers of
 * `dist/` instead — built by `npm test` just before — because transpiling every worker's module
 * graph with tsx at each start costs seconds per system on these machines.
 */
export function workerEntry(kind: string): { script: URL; entry?: string } {
  if (fromSource && process.env.DCD_WORKERS === 'dist') {
    const js = new URL(`../../dist/workers/${kind}.js`, import.meta.url);
    if (existsSync(fileURLToPath(js))) return { script: js };
  }
  if (fromSource) {
    const ts = new URL(`../../workers/${kind}.ts`, import.meta.url);
    return { script: new URL('../../workers/bootstrap.mjs', import.meta.url), entry: ts.href };
  }
  return { script: new URL(`../../workers/${kind}.js`, import.meta.url) };
}

/**
 * `DCD_WORKER_CPU_PROF=DIR`: every worker writes a V8 CPU profile `DIR/<name>.cpuprofile` when it
 * exits (profiling the threads of a bench or a test; off by default); `DCD_WORKER_CPU_PROF_INTERVAL_US=N`
 * samples every N µs instead of V8's 1,000 (the per-extent host work is tens of µs).
 */
function workerProfArgs(name: string): string[] {
  const dir = process.env.DCD_WORKER_CPU_PROF;
  if (!dir) return [];
  const interval = process.env.DCD_WORKER_CPU_PROF_INTERVAL_US;
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.cpuprofile`, ...(interval ? [`--cpu-prof-interval=${interval}`] : [])];
}

/**
 * Each worker's young generation is capped (8 MiB; DCD_WORKER_YOUNG_MB=N to change, 0 for V8's
 * default). Left to V8, the event thread's and the device's young generation grow in steps over
 * the first ~100k events of a bench run and a worker's heap pages reach ~40 MiB; capped, RSS holds
 * within 0.5% over 300k events and the target cell's throughput is unchanged within run-to-run
 * noise (3 alternating rounds: 6,025–6,775 vs 4,025–6,475 extents/s). Measured for #8.
 */
export const WORKER_YOUNG_GENERATION_MB = 8;

function youngGenerationLimit(): { resourceLimits?: { maxYoungGenerationSizeMb: number } } {
  const env = process.env.DCD_WORKER_YOUNG_MB;
  const n = env === undefined || env === '' ? WORKER_YOUNG_GENERATION_MB : Number(env);
  if (!Number.isFinite(n) || n < 0) throw new Error(`DCD_WORKER_YOUNG_MB=${env ?? ''}: expected a size in MiB (0 = V8's default)`);
  return n === 0 ? {} : { resourceLimits: { maxYoungGenerationSizeMb: n } };
}

export interface SpawnOptions {
  /** worker kind = file name under workers/ (without extension) */
  kind: string;
  /** unique name, used in crash reports and thread slots */
  name: string;
  /** startup handshake payload (SharedArrayBuffers are shared, not copied) */
  data: object;
  /** an explicit entry file instead of workers/<kind> (test fixtures) */
  entryFile?: string;
}

export class WorkerHandle<T> {
  readonly name: string;
  readonly worker: Worker;
  readonly api: Comlink.Remote<T>;
  private crash: WorkerCrash | null = null;
  private readonly crashListeners = new Set<(e: WorkerCrash) => void>();
  /** rejecters of the control-plane calls in flight: a crash rejects them all */
  private readonly inFlight = new Set<(e: WorkerCrash) => void>();
  private exiting = false;
  /**
   * Messages posted to the worker since it started (control-plane calls, proxy releases); the
   * worker counts those it handled (Turnstile.handled, in exposeApi): the difference is what is
   * in flight (DcdSystem.messagesInFlight, read by the controlled scheduler).
   */
  posted = 0;

  constructor(opts: SpawnOptions) {
    this.name = opts.name;
    let script: URL;
    let entry: string | undefined;
    if (opts.entryFile) {
      const isTs = opts.entryFile.endsWith('.ts');
      if (isTs && !fromSource) throw new Error(`worker entry ${opts.entryFile}: a TypeScript entry needs the repository's tsx bootstrap (workers/bootstrap.mjs); the compiled runtime starts only .js entries`);
      script = isTs ? new URL('../../workers/bootstrap.mjs', import.meta.url) : pathToFileURL(opts.entryFile);
      entry = isTs ? pathToFileURL(opts.entryFile).href : undefined;
    } else {
      ({ script, entry } = workerEntry(opts.kind));
    }
    if (!existsSync(fileURLToPath(script))) throw new Error(`worker entry ${fileURLToPath(script)} not found (run \`npm run build\`?)`);
    this.worker = new Worker(script, {
      workerData: { ...opts.data, __entry: entry, __name: opts.name },
      name: opts.name,
      // do not inherit the parent's --import hooks (tap's, tsx's): a compiled worker needs none and
      // a source worker registers tsx itself in workers/bootstrap.mjs; inheriting them triples start-up
      execArgv: workerProfArgs(opts.name),
      ...youngGenerationLimit(),
      stdout: false,
      stderr: false,
    });
    const fail = (e: WorkerCrash): void => {
      if (this.crash) return;
      this.crash = e;
      for (const reject of this.inFlight) reject(e);
      this.inFlight.clear();
      for (const l of this.crashListeners) l(e);
    };
    this.worker.on('error', (err: Error) => fail(new WorkerCrash(this.name, err.message, err.stack)));
    this.worker.on('exit', (code) => {
      if (!this.exiting) fail(new WorkerCrash(this.name, `exited unexpectedly with code ${code}`));
    });
    const ep = nodeEndpoint(this.worker);
    const post = ep.postMessage.bind(ep);
    ep.postMessage = (...args: Parameters<typeof post>): void => { this.posted++; post(...args); };
    this.api = Comlink.wrap<T>(ep);
  }

  /** Race a control-plane call against the worker's crash, so a dead worker never hangs the caller. */
  call<F extends (api: Comlink.Remote<T>) => unknown>(fn: F): Promise<Awaited<ReturnType<F>>> {
    if (this.crash) return Promise.reject(this.crash);
    // Not Promise.race([call, crashedPromise]): every race leaves a reaction on the never-settling
    // crash promise that keeps the call's result alive — ~125 B per extent event over a bench run
    // (#8; found with a heap snapshot). A per-call entry, removed when the call settles, instead.
    let pending: Promise<Awaited<ReturnType<F>>>;
    try {
      pending = Promise.resolve(fn(this.api) as Awaited<ReturnType<F>>);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<Awaited<ReturnType<F>>>((resolve, reject) => {
      this.inFlight.add(reject);
      pending.then(
        (v) => { this.inFlight.delete(reject); resolve(v); },
        (e: unknown) => { this.inFlight.delete(reject); reject(e); },
      );
    });
  }

  /** The worker isolate's heap after a full GC of it (every worker API carries `__heapStats`). */
  heapStats(): Promise<WorkerHeapStats> {
    return this.call((api) => (api as unknown as Comlink.Remote<HeapStatsApi>).__heapStats());
  }

  /** Write the worker isolate's heap snapshot to `file`. */
  heapSnapshot(file: string): Promise<string> {
    return this.call((api) => (api as unknown as Comlink.Remote<HeapStatsApi>).__heapSnapshot(file));
  }

  onCrash(listener: (e: WorkerCrash) => void): void {
    if (this.crash) listener(this.crash);
    else this.crashListeners.add(listener);
  }

  crashedWith(): WorkerCrash | null {
    return this.crash;
  }

  /** Orderly shutdown: mark the exit as expected, release the proxy, terminate. */
  async terminate(): Promise<void> {
    this.exiting = true;
    try { this.api[Comlink.releaseProxy](); } catch { /* already gone */ }
    await this.worker.terminate();
  }
}

export function spawnWorker<T>(opts: SpawnOptions): WorkerHandle<T> {
  return new WorkerHandle<T>(opts);
}
