/**
 * DOC: the stress runner — iterations of a workload on one reused topology, each ending in a
 * classified outcome (jcstress: acceptable / forbidden / known hazard), failures saved as traces.
 *
 * One `StressJob` owns one DcdSystem for all its iterations: workers and buffers are reused and
 * the state is reset in place between iterations (no worker spawn per iteration). An iteration:
 *  1. reset in place; 2. run the plan's setup ops one by one and wait for idleness (free,
 *     unrecorded); 3. race the actors — free (OS scheduling, optional seeded noise, the step log
 *     recording the global order) or controlled (the turnstile, random walk or PCT); 4. wait for
 *     quiescence; 5. run the checkers and classify; 6. save a trace for anything not acceptable.
 */
import { Prng } from '../src/prng.js';
import { DcdSystem } from '../src/runtime/system.js';
import type { Knobs, Variant } from '../src/scenario/types.js';
import type { Personality } from '../src/device/config.js';
import { SCHED_FREE, SCHED_RECORD, POINT_NAMES, PT_ACQUIRE, PT_NOISE, PT_RESUME, PT_CLOCK } from '../src/shm/sched.js';
import { standardCheckers, classify, OUTCOMES, INV, type Classification } from './checkers/index.js';
import { Bindings, runOp, type Actor, type OpOutcome } from './ops.js';
import { ControlledScheduler, type Policy, type TraceStep } from './turnstile.js';
import { WORKLOADS, SWARM_FOCUS, type PlanHint, type Workload } from './workloads.js';
import { writeTrace, type StressTrace } from './trace.js';
import { outcomesSeen } from './checkers/outcomes.js';
import { addIteration, avoidList, emptyCoverage, iterationCoverage, windowOpen, type CoverageSummary, type IterationCoverage } from './coverage.js';
import { join } from 'node:path';

export type Schedule = { kind: 'free' } | { kind: 'random' } | { kind: 'pct'; depth: number };

export interface JobOptions {
  workload: string;
  variant: Variant;
  knobs: Knobs;
  device: Personality;
  seed: string;
  schedule: Schedule;
  noise: boolean;
  /** directory for traces; null = do not write */
  outDir: string | null;
  /** swarm: aim each iteration at a named window not yet seen in both orders (default on) */
  feedback?: boolean;
  /** swarm under the free schedule: draw each iteration's schedule (default on) */
  mixSchedules?: boolean;
}

export interface IterationResult {
  iteration: number;
  outcome: string;
  class: 'acceptable' | 'forbidden' | 'known-hazard';
  invariant: string;
  /** every distinct outcome the checkers named this iteration, most severe first (`ok` only
   *  when nothing else): a known hazard never hides a forbidden outcome of the same iteration */
  outcomes?: string[];
  /** outcomes named after an unwound deadlock (hung wait): listed and counted, not classified */
  afterDeadlock?: string[];
  /** the race windows this iteration reached (stress/coverage.ts) */
  coverage?: IterationCoverage;
  /** swarm: the named window the coverage feedback aimed this iteration at */
  focus?: string;
  /** swarm under the free schedule: the schedule this iteration drew, when not free */
  schedule?: string;
  /** controlled iterations: scheduling decisions taken (steps of the schedule) */
  decisions?: number;
  detail?: string;
  trace?: string;
  ms: number;
}

export function scheduleName(s: Schedule): string {
  return s.kind === 'pct' ? `pct:depth=${s.depth}` : s.kind;
}

export class StressJob {
  readonly opts: JobOptions;
  readonly workload: Workload;
  private sys: DcdSystem | null = null;
  private fresh = true;
  /** what this job's iterations covered so far (the swarm's feedback reads it) */
  readonly coverage: CoverageSummary = emptyCoverage();
  /** swarm feedback: iterations aimed at each window so far */
  readonly focusAttempts = new Map<string, number>();

  constructor(opts: JobOptions) {
    const w = WORKLOADS[opts.workload];
    if (!w) throw new Error(`unknown workload ${opts.workload}`);
    this.opts = opts;
    this.workload = w;
  }

  async system(): Promise<DcdSystem> {
    if (!this.sys) {
      const cfg = this.workload.config({ variant: this.opts.variant, knobs: this.opts.knobs, device: this.opts.device });
      const controlled = this.opts.schedule.kind !== 'free';
      this.sys = await DcdSystem.start({
        ...cfg,
        // controlled runs need virtual time (timeouts move only when the schedule says so)
        clock: controlled ? 'virtual' : cfg.clock ?? 'real',
        seed: this.opts.seed,
        noisePermille: this.opts.noise ? 50 : 0,
        hungMs: cfg.hungMs ?? 1500,
        mboxTimeoutMs: 5000,
      });
      for (const c of standardCheckers()) this.sys.addChecker(c);
      this.fresh = true;
    }
    return this.sys;
  }

  async close(): Promise<void> {
    if (this.sys) await this.sys.stop();
    this.sys = null;
  }

  /**
   * Coverage feedback for the swarm: aim iteration i at a named window (stress/coverage.ts) this
   * job has not yet seen in both orders (outcome-only windows: not yet reached), the less reached
   * the likelier; one iteration in four aims at nothing (the plain swarm). Drawn from
   * (seed, iteration) and the job's coverage so far; the trace records it for replay.
   */
  focusFor(i: number): PlanHint | undefined {
    if (this.workload.name !== 'swarm' || this.opts.feedback === false) return undefined;
    const p = new Prng(`${this.opts.seed}:focus:${i}`);
    if (p.chance(0.25)) return undefined;
    const open = Object.values(this.coverage.windows).filter((w) => SWARM_FOCUS[w.id] && windowOpen(w));
    if (open.length === 0) return undefined;
    // the more often a window was aimed at without closing it, the less likely it is chosen again
    // (a window the configuration cannot reach — CL-serial with one handler — fades out)
    const weights = open.map((w) => 1 / (1 + (this.focusAttempts.get(w.id) ?? 0)));
    let x = (p.u32() / 2 ** 32) * weights.reduce((a, b) => a + b, 0);
    let id = open[open.length - 1]!.id;
    for (let k = 0; k < open.length; k++) { if (x < weights[k]!) { id = open[k]!.id; break; } x -= weights[k]!; }
    this.focusAttempts.set(id, (this.focusAttempts.get(id) ?? 0) + 1);
    return { focus: id };
  }

  /**
   * The swarm draws its schedule per iteration like everything else: under the free schedule, one
   * iteration in two runs free, one in four under the controlled random walk and one in four under
   * PCT (depth 2–4). On two loaded cores free threads rarely overlap inside a narrow window (the
   * tag check and insert of H1 is a few instructions), while the controlled scheduler puts a switch
   * there by construction; free iterations keep real timing in the mix. A controlled run's trace
   * says which schedule it drew.
   */
  scheduleFor(i: number): Schedule {
    if (this.opts.schedule.kind !== 'free' || this.workload.name !== 'swarm' || this.opts.mixSchedules === false) return this.opts.schedule;
    const p = new Prng(`${this.opts.seed}:schedule:${i}`);
    const x = p.int(4);
    if (x < 2) return this.opts.schedule;
    return x === 2 ? { kind: 'random' } : { kind: 'pct', depth: 2 + p.int(3) };
  }

  /** Run one iteration; `policy` overrides the schedule (replay); `hint` the swarm's focus (replay). */
  async iteration(i: number, policy?: Policy, hint?: PlanHint): Promise<IterationResult & { steps: TraceStep[]; divergence: string | null; ops: OpOutcome[] }> {
    const t0 = performance.now();
    const sys = await this.system();
    if (!this.fresh) await sys.resetInPlace();
    this.fresh = false;
    const p = new Prng(`${this.opts.seed}:${this.workload.name}:${i}`);
    const focus = hint ?? (policy ? undefined : this.focusFor(i));
    const plan = this.workload.plan(p, i, focus);
    const b = new Bindings();
    const T = sys.sys.turnstile;
    T.setMode(SCHED_FREE);
    for (const op of plan.setup) await runOp(sys, b, op, { name: 'setup', kind: 'user', index: 0, ops: [] });
    await sys.waitIdle(10_000);
    sys.drainEvents();
    let steps: TraceStep[] = [];
    let divergence: string | null = null;
    let ops: OpOutcome[] = [];
    const schedule = this.scheduleFor(i);
    let controlled: Policy | null = policy ?? (schedule.kind === 'free' ? null : schedule.kind === 'pct' ? { kind: 'pct' as const, depth: schedule.depth } : { kind: 'random' as const });
    // swarm feedback for the controlled scheduler: threads that always won a conflict so far yield
    // there once (a change point at the window), so the other order gets its chance
    if (controlled && controlled.kind !== 'replay' && this.workload.name === 'swarm' && this.opts.feedback !== false) {
      const ap = new Prng(`${this.opts.seed}:avoid:${i}`);
      const avoid = avoidList(this.coverage, (n) => ap.int(n));
      if (avoid.length > 0) controlled = { ...controlled, avoid };
    }
    if (controlled) {
      const sched = new ControlledScheduler(sys, controlled, `${this.opts.seed}:${i}`);
      const r = await sched.run(plan.actors, b);
      steps = r.steps;
      divergence = r.divergence;
      ops = r.outcomes;
      if (r.deadlock) sys.ctx.dmesg('err', 'sched', r.deadlock);
    } else {
      T.resetLog();
      T.setMode(SCHED_RECORD);
      ops = (await Promise.all(plan.actors.map((a) => runActor(sys, b, a)))).flat();
      T.setMode(SCHED_FREE);
      steps = this.freeSteps(sys);
    }
    await sys.waitIdle(15_000).catch(() => undefined);
    let results = await sys.check();
    // A deadlock (hung wait, or no enabled choice under the controlled scheduler) ends the run in
    // the kernel; the model unwinds it to keep going, so what happens after it (a chain answered
    // by no one, groups onlined without a response) is an artifact: the hung wait is the outcome.
    // The other outcomes are still listed (afterDeadlock) so nothing is silently dropped.
    let afterDeadlock: string[] = [];
    if (sys.reportCounts().hung > 0) {
      afterDeadlock = outcomesSeen(results.filter((r) => r.invariant !== INV.hung)).map((o) => o.outcome).filter((n) => n !== 'ok');
      results = results.filter((r) => r.invariant === INV.hung);
    }
    const c: Classification = classify(results);
    const seen = outcomesSeen(results).map((o) => o.outcome);
    const res: IterationResult = { iteration: i, outcome: c.outcome, class: c.class, invariant: c.invariant, outcomes: seen, ms: 0 };
    if (afterDeadlock.length > 0) res.afterDeadlock = afterDeadlock;
    if (focus?.focus) res.focus = focus.focus;
    if (schedule !== this.opts.schedule) res.schedule = scheduleName(schedule);
    if (controlled) res.decisions = steps.length;
    res.coverage = iterationCoverage(steps, [...seen, ...afterDeadlock]);
    addIteration(this.coverage, res.coverage);
    if (c.detail) res.detail = c.detail;
    if (c.class !== 'acceptable' && this.opts.outDir && !policy) {
      const file = join(this.opts.outDir, `${this.workload.name}-${c.outcome}-${this.opts.seed}-${i}.trace.json`);
      const trace: StressTrace = {
        version: 1, kind: 'dcd-stress-trace', workload: this.workload.name, seed: this.opts.seed, iteration: i,
        variant: this.opts.variant, knobs: this.opts.knobs, device: this.opts.device, schedule: scheduleName(schedule),
        noise: this.opts.noise, outcome: c.outcome, class: c.class, invariant: c.invariant, ...(c.detail ? { detail: c.detail } : {}),
        steps, recordedFree: !controlled,
        ...(focus?.focus ? { focus: focus.focus } : {}), outcomes: seen,
      };
      writeTrace(file, trace);
      res.trace = file;
    }
    res.ms = performance.now() - t0;
    return { ...res, steps, divergence, ops };
  }

  /** The step log of a free run, as schedule steps (device resumes are not choices). */
  private freeSteps(sys: DcdSystem): TraceStep[] {
    const out: TraceStep[] = [];
    for (const s of sys.sys.turnstile.steps()) {
      const name = s.slot === 0 ? 'main' : sys.sys.threadName(s.slot);
      if (name.startsWith('device/') && s.kind === PT_RESUME) continue;
      let arg = '';
      if (s.kind === PT_ACQUIRE) arg = `${sys.sys.lockClassNameOf(s.arg)}(${s.mode === 2 ? 'read' : 'write'})`;
      else if (s.kind === PT_NOISE) arg = `site${s.arg}`;
      else if (s.kind === PT_RESUME) arg = `pred${s.arg}`;
      out.push({ who: name, what: POINT_NAMES[s.kind] ?? String(s.kind), arg });
    }
    void PT_CLOCK;
    return out;
  }
}

async function runActor(sys: DcdSystem, b: Bindings, a: Actor): Promise<OpOutcome[]> {
  const out: OpOutcome[] = [];
  for (const op of a.ops) {
    if (op.op === 'advance') sys.sys.turnstile.recordMain(0, PT_CLOCK, op.ms);
    out.push(await runOp(sys, b, op, a));
  }
  return out;
}

export interface OutcomeRow {
  outcome: string;
  class: 'acceptable' | 'forbidden' | 'known-hazard';
  /** iterations where this was the most severe outcome (the counts add up to the iterations) */
  count: number;
  /** iterations that saw this outcome at all, beside others (>= count): a known hazard under a
   *  forbidden outcome of the same iteration is counted here, never hidden */
  seen?: number;
  firstSeed: string;
  firstIteration: number;
  trace: string | null;
  description: string;
}

export interface StressSummary {
  workload: string;
  variant: Variant;
  knobs: Knobs;
  device: Personality;
  schedule: string;
  seed: string;
  iterations: number;
  forbidden: number;
  knownHazards: number;
  elapsedMs: number;
  iterationsPerSec: number;
  outcomes: OutcomeRow[];
  shard?: string;
  /** per iteration that saw anything but `ok`: every outcome it saw, most severe first */
  iterationOutcomes?: { iteration: number; outcomes: string[]; afterDeadlock?: string[] }[];
  /** outcomes named after an unwound deadlock (not classified), by iterations seen in */
  afterDeadlock?: Record<string, number>;
  /** race-window coverage (stress/coverage.ts) */
  coverage?: CoverageSummary;
  /** controlled iterations: how many, their scheduling decisions, and decisions per second of run */
  controlled?: { iterations: number; decisions: number; decisionsPerSec: number };
}

export function summarize(job: JobOptions, results: IterationResult[], elapsedMs: number, shard?: string): StressSummary {
  const rows = new Map<string, OutcomeRow>();
  const spec = OUTCOMES as Record<string, { description?: string; class?: OutcomeRow['class'] }>;
  const iterationOutcomes: NonNullable<StressSummary['iterationOutcomes']> = [];
  const afterDeadlock: Record<string, number> = {};
  const coverage = emptyCoverage();
  for (const r of results) {
    // every outcome the iteration saw gets counted, not only the most severe
    const names = r.outcomes && r.outcomes.length > 0 ? r.outcomes : [r.outcome];
    for (const name of names) {
      const row = rows.get(name);
      const primary = name === r.outcome ? 1 : 0;
      if (row) { row.count += primary; row.seen = (row.seen ?? 0) + 1; if (!row.trace && r.trace) row.trace = r.trace; continue; }
      rows.set(name, {
        outcome: name, class: spec[name]?.class ?? r.class, count: primary, seen: 1, firstSeed: `${job.seed}:${r.iteration}`, firstIteration: r.iteration,
        trace: r.trace ?? null, description: spec[name]?.description ?? '',
      });
    }
    for (const n of r.afterDeadlock ?? []) afterDeadlock[n] = (afterDeadlock[n] ?? 0) + 1;
    if (names.some((n) => n !== 'ok') || r.afterDeadlock) {
      iterationOutcomes.push({ iteration: r.iteration, outcomes: names, ...(r.afterDeadlock ? { afterDeadlock: r.afterDeadlock } : {}) });
    }
    if (r.coverage) addIteration(coverage, r.coverage);
  }
  const classOf = (n: string): OutcomeRow['class'] | undefined => spec[n]?.class;
  const decided = results.filter((r) => r.decisions !== undefined);
  const decisions = decided.reduce((n, r) => n + r.decisions!, 0);
  const order = { forbidden: 0, 'known-hazard': 1, acceptable: 2 } as const;
  const outcomes = [...rows.values()].sort((a, b) => order[a.class] - order[b.class] || b.count - a.count || (b.seen ?? 0) - (a.seen ?? 0));
  return {
    workload: job.workload, variant: job.variant, knobs: job.knobs, device: job.device, schedule: scheduleName(job.schedule), seed: job.seed,
    iterations: results.length,
    // iterations with a forbidden outcome / with a known hazard (an iteration with both counts in both)
    forbidden: results.filter((r) => r.class === 'forbidden' || (r.outcomes ?? []).some((n) => classOf(n) === 'forbidden')).length,
    knownHazards: results.filter((r) => r.class === 'known-hazard' || (r.outcomes ?? []).some((n) => classOf(n) === 'known-hazard')).length,
    elapsedMs, iterationsPerSec: results.length / Math.max(elapsedMs / 1000, 1e-9), outcomes,
    ...(shard ? { shard } : {}),
    iterationOutcomes,
    ...(Object.keys(afterDeadlock).length > 0 ? { afterDeadlock } : {}),
    coverage,
    ...(decided.length > 0 ? { controlled: { iterations: decided.length, decisions, decisionsPerSec: decisions / Math.max(elapsedMs / 1000, 1e-9) } } : {}),
  };
}
