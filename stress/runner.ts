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
import type { DeviceSnapshot } from '../src/runtime/view.js';
import type { FmStep } from '../src/runtime/device-api.js';
import type { Knobs, Variant } from '../src/scenario/types.js';
import type { Personality } from '../src/device/config.js';
import { NOISE_SITE, SCHED_FREE, SCHED_RECORD, POINT_NAMES, PT_ACQUIRE, PT_HANDOFF, PT_STEAL, PT_NOISE, PT_RESUME, PT_CLOCK } from '../src/shm/sched.js';
import { standardCheckers, classify, splitAtDeadlock, OUTCOMES, type Classification } from './checkers/index.js';
import { Bindings, claimRoundsInWorkers, runOp, type Actor, type OpOutcome, type Plan } from './ops.js';
import { ControlledScheduler, type Policy, type TraceStep } from './turnstile.js';
import { WORKLOADS, SWARM_FOCUS, SWARM_PLAN_VERSION, type PlanHint, type Workload } from './workloads.js';
import { writeTrace, type StressTrace, type TraceRecord } from './trace.js';
import { addFinding, signatureOf, sortFindings, type FindingRow, type NamedEvent } from './signature.js';
import type { DecodedEvent } from '../src/protocol.js';
import { outcomesSeen } from './checkers/outcomes.js';
import { addIteration, avoidList, emptyCoverage, iterationCoverage, knobWindows, symmetricWindow, windowOpen, type CoverageSummary, type IterationCoverage } from './coverage.js';
import { join } from 'node:path';
import { envMs } from './env.js';
import { CXL_MBOX_OP, DC_EVENT_TYPE } from '../src/wire/cxl.js';

/** `random` with `skew`: the weighted walk; `pct` with `steps`: the run length its change points
 *  are spread over (stress/turnstile.ts Policy) */
export type Schedule = { kind: 'free' } | { kind: 'random'; skew?: number } | { kind: 'pct'; depth: number; steps?: number };

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
  /** swarm: aim half the aimed iterations at the windows a changed knob touches (default on;
   *  stress/coverage.ts knobWindows) */
  directed?: boolean;
  /** swarm: weighted random walks and PCT change points over the measured run length (default
   *  on; off: the uniform walk and k = 400, for an A/B) */
  calibrated?: boolean;
  /**
   * Reset the devices for the next iteration as soon as an iteration's check has read them, while
   * the main thread classifies and records it (DcdSystem.beginDeviceReset). Off by default: with
   * it on, the devices are reset when `iteration()` returns, so a caller must not read or drive
   * them between iterations (the sweeps and benches do neither; a test that reads `state()` after
   * an iteration does). Replays and plans given by the caller never overlap.
   */
  overlapReset?: boolean;
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
  /** plans with several races per reset (Plan.rounds): how many, and the round the most severe
   *  outcome's detail names (its tag), when one does; the trace replays the whole iteration */
  rounds?: number;
  round?: number;
  /** controlled iterations: scheduling decisions taken (steps of the schedule) */
  decisions?: number;
  detail?: string;
  trace?: string;
  ms: number;
  /**
   * Racy-window counts of this iteration (controlled runs; see WindowCounts): how often the race a
   * lock or gate prevents was set up. A negative control asserts it above zero with the rule on.
   * (`coverage` above is the conflict-order coverage of stress/coverage.ts.)
   */
  windows?: Record<string, number>;
  /** stress/signature.ts: the finding's key and title (non-acceptable outcomes) */
  signature?: string;
  title?: string;
  /** schedule steps of the iteration (the reproducer's length) */
  traceSteps?: number;
  /** `--minimize S`: the minimized trace written for a new signature */
  minimized?: string;
  /** where the iteration's time went, ms per phase (reset, setup, setup-idle, race, quiesce,
   *  check, record): bench/stress.ts prints their means */
  phases?: Record<string, number>;
}

/** Per-phase wall time of one iteration (mark(name) closes the phase that began at the last mark). */
class Phases {
  readonly ms: Record<string, number> = {};
  private t = performance.now();
  mark(name: string): void {
    const now = performance.now();
    this.ms[name] = (this.ms[name] ?? 0) + now - this.t;
    this.t = now;
  }
}

/** Options of one iteration beyond the schedule (minimize, explain). */
export interface IterationOptions {
  /** run this plan instead of the workload's plan for (seed, iteration) */
  plan?: Plan;
  /** the swarm's coverage focus to re-use (replay of a swarm trace) */
  hint?: PlanHint;
}

/**
 * Coverage counters beside the checkers: they decide nothing, they show a race window was
 * reached. Sources: the controlled scheduler's window counts (a thread in a named racy window
 * while another waits for a lock it holds, or sits in the same window); named points passed
 * (`point:<site>`, e.g. `point:rcuSkip` — a dc_extents walk met a freed entry and skipped it);
 * `log re-read mid-chain` — an event thread went back to the log (Get Event Records) while a
 * More chain of that memdev was open, where a second handler (parallel-event-handlers=2) takes
 * the rest of the chain; `scan-gate refused` — E6 refused a runtime add before the scan.
 */
class Coverage {
  private open = new Map<number, boolean>();
  counts: Record<string, number> = {};
  reset(): void { this.open.clear(); this.counts = {}; }
  add(key: string, n = 1): void { this.counts[key] = (this.counts[key] ?? 0) + n; }
  onEvent(e: DecodedEvent): void {
    const ev = e.ev;
    if (ev.type === 'dc-record' && ev.eventType === DC_EVENT_TYPE.ADD_CAPACITY) this.open.set(ev.memdev, ev.more === 1);
    else if (ev.type === 'mbox' && ev.opcode === CXL_MBOX_OP.GET_EVENT_RECORDS && this.open.get(ev.memdev)) this.add('log re-read mid-chain');
  }
}

/** The runner's quiescence waits look again this often while busy, ms (DcdSystem.waitIdle;
 *  DCD_IDLE_POLL_MS=1: the 1 ms timer of other callers, for an A/B) */
const IDLE_POLL_MS = envMs('DCD_IDLE_POLL_MS', 0.25);

/** Aims at an open window before it loses its preference (StressJob.focusFor). */
export const FRESH_AIMS = 8;

export function scheduleName(s: Schedule): string {
  if (s.kind === 'pct') return `pct:depth=${s.depth}${s.steps !== undefined ? `:steps=${s.steps}` : ''}`;
  return s.kind === 'random' && s.skew ? `random:skew=${s.skew}` : s.kind;
}

export class StressJob {
  readonly opts: JobOptions;
  readonly workload: Workload;
  private sys: DcdSystem | null = null;
  private fresh = true;
  private readonly cov = new Coverage();
  /** what the last iteration did (events per step, locks held, names): for traces and explain.
   *  Built on first read (most iterations are acceptable and never need it); valid until the
   *  next iteration starts */
  get lastRecord(): TraceRecord | null {
    if (!this.recordCache && this.recordThunk) this.recordCache = this.recordThunk();
    return this.recordCache;
  }
  private recordThunk: (() => TraceRecord) | null = null;
  private recordCache: TraceRecord | null = null;
  /** the plan the last iteration ran */
  lastPlan: Plan | null = null;
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
        // a deadlock of lock waits is reported when its cycle closes, not after hungMs (a free
        // run's H2 waited out the 1.5 s bound: fifty iterations' time; DCD_WAIT_CYCLE=0 for an A/B)
        waitCycleCheck: process.env.DCD_WAIT_CYCLE !== '0',
        mboxTimeoutMs: 5000,
      });
      for (const c of standardCheckers()) this.sys.addChecker(c);
      this.sys.onEvent((e) => this.cov.onEvent(e));
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
   * job has not yet seen in both orders (outcome-only windows: not yet reached) and aimed at fewer
   * than FRESH_AIMS times; when there is none, at any window, the least aimed at the likelier.
   * One iteration in four aims at nothing (the plain swarm). When the run changes a knob (or the
   * variant does), half of the aimed iterations aim instead at the windows that knob's code touches
   * (knobWindows: a directed fuzzer aims at the lines a patch changed), the least aimed at the
   * likelier, whatever their coverage — both orders seen is not the interleaving that breaks.
   * Drawn from (seed, iteration) and the job's coverage so far; the trace records it for replay.
   */
  focusFor(i: number): PlanHint | undefined {
    if (this.workload.name !== 'swarm' || this.opts.feedback === false) return undefined;
    const p = new Prng(`${this.opts.seed}:focus:${i}`);
    if (p.chance(0.25)) return undefined;
    const directed = this.opts.directed === false ? [] : this.directedWindows();
    if (directed.length > 0 && p.chance(0.5)) return this.aim(p, directed);
    const all = Object.values(this.coverage.windows).filter((w) => SWARM_FOCUS[w.id]);
    const fresh = all.filter((w) => windowOpen(w) && (this.focusAttempts.get(w.id) ?? 0) < FRESH_AIMS);
    const open = fresh.length > 0 ? fresh : all;
    if (open.length === 0) return undefined;
    // the more often a window was aimed at, the less likely it is chosen again. Open windows
    // stop being preferred after FRESH_AIMS aims (the configuration may not reach them at all:
    // CL-serial with one handler), and closed windows stay in the draw: both orders seen is not
    // the hazard's interleaving (tag-lock=off: H1 was reached in both orders 48 times before the
    // registry race showed). With closed windows out, once the reachable ones had closed every
    // aimed iteration went to the seven the default configuration cannot reach.
    return this.aim(p, open.map((w) => w.id));
  }

  /** the windows the run's changed knobs touch that the swarm can aim at (computed once) */
  private directedCache: string[] | null = null;
  directedWindows(): string[] {
    this.directedCache ??= knobWindows(this.opts.variant, this.opts.knobs).filter((id) => SWARM_FOCUS[id]);
    return this.directedCache;
  }

  /** Draw one of `ids`, the more often aimed at the less likely; count the aim. */
  private aim(p: Prng, ids: readonly string[]): PlanHint {
    const weights = ids.map((id) => 1 / (1 + (this.focusAttempts.get(id) ?? 0)));
    let x = (p.u32() / 2 ** 32) * weights.reduce((a, b) => a + b, 0);
    let id = ids[ids.length - 1]!;
    for (let k = 0; k < ids.length; k++) { if (x < weights[k]!) { id = ids[k]!; break; } x -= weights[k]!; }
    this.focusAttempts.set(id, (this.focusAttempts.get(id) ?? 0) + 1);
    return { focus: id };
  }

  /**
   * The swarm draws its schedule per iteration like everything else: under the free schedule, one
   * unaimed iteration in two runs free, one in four under the controlled random walk and one in
   * four under PCT (depth 2–4); an iteration the feedback aimed at a window runs free one time in
   * four, controlled otherwise (random walk or PCT, even odds). On two loaded cores free threads
   * rarely overlap inside a narrow window (the tag check and insert of H1 is a few instructions),
   * while the controlled scheduler puts a switch there by construction; free iterations keep real
   * timing in the mix. A controlled run's trace says which schedule it drew.
   *
   * In an iteration aimed at an asymmetric window (a short path that must land inside a long
   * one: H14's teardown inside a chain), one random walk in two is weighted (`skew` 2 or 3:
   * agents' speeds differ by up to 16× or 64×, stress/turnstile.ts speedOf); unaimed iterations
   * and those aimed at a symmetric window keep the uniform walk. PCT spreads its change points
   * over the run length this job has measured for plans of the same focus (pctSteps), not a
   * fixed 400.
   */
  scheduleFor(i: number, focus?: PlanHint): Schedule {
    if (this.opts.schedule.kind !== 'free' || this.workload.name !== 'swarm' || this.opts.mixSchedules === false) return this.opts.schedule;
    const p = new Prng(`${this.opts.seed}:schedule:${i}`);
    const x = p.int(4);
    // an iteration aimed at a window runs free one time in four only: the windows are a few
    // instructions wide (H1's check and insert, H5's walk step), which free threads on two loaded
    // cores almost never split, and the controlled scheduler puts switches there by construction
    if (x < (focus?.focus ? 1 : 2)) return this.opts.schedule;
    const walk = x === 2 || (x === 1 && p.chance(0.5));
    if (walk) {
      // a window whose sides are one code path twice (H1's two event threads) needs both at the
      // same speed: aimed at one, the walk stays uniform (the weighted walk found H1 in 10 of 200
      // targeted iterations, the uniform one in 31); unaimed iterations too (with weighted walks
      // there, tag-lock=off took 27.5 iterations to detection, median of 10 seeds, against 9)
      const skew = this.opts.calibrated === false || !focus?.focus || symmetricWindow(focus.focus) ? 0 : p.pick([0, 0, 2, 3]);
      return skew ? { kind: 'random', skew } : { kind: 'random' };
    }
    const depth = 2 + p.int(3);
    const steps = this.opts.calibrated === false ? undefined : this.pctSteps(focus?.focus);
    return steps === undefined ? { kind: 'pct', depth } : { kind: 'pct', depth, steps };
  }

  /** decisions of this job's controlled iterations, per focus ('' = unaimed): count and sum */
  private readonly runLengths = new Map<string, { n: number; sum: number }>();

  /**
   * PCT's k for a plan of this focus: the mean decisions of this job's controlled iterations of
   * the same focus (aimed plans handle 15–35 records, unaimed ones 77: their runs differ several
   * times in length), after two of them; before that, of any controlled iteration; before any,
   * undefined (PCT_STEPS). With k = 400 where runs take 50–60 decisions (the targeted
   * teardown-vs-add-response), seven change points in eight fell past the run's end: H14 in 8
   * of 300 iterations at depth 2, against 38 with k = 60.
   */
  pctSteps(focus: string | undefined): number | undefined {
    const own = this.runLengths.get(focus ?? '');
    const all = this.runLengths.get('*');
    const m = own && own.n >= 2 ? own : all;
    return m && m.n > 0 ? Math.max(8, Math.round(m.sum / m.n)) : undefined;
  }

  private noteRunLength(focus: string | undefined, decisions: number): void {
    for (const k of [focus ?? '', '*']) {
      const m = this.runLengths.get(k) ?? { n: 0, sum: 0 };
      m.n++; m.sum += decisions;
      this.runLengths.set(k, m);
    }
  }

  /** Run one iteration; `policy` overrides the schedule (replay); `io` a plan (minimize) or the swarm's focus (replay). */
  async iteration(i: number, policy?: Policy, io: IterationOptions = {}): Promise<IterationResult & { steps: TraceStep[]; divergence: string | null; ops: OpOutcome[]; followed: number }> {
    const t0 = performance.now();
    // the last iteration's record reads events the reset below clears
    this.recordThunk = null;
    this.recordCache = null;
    const sys = await this.system();
    const ph = new Phases();
    if (!this.fresh) await sys.resetInPlace();
    this.fresh = false;
    ph.mark('reset');
    const p = new Prng(`${this.opts.seed}:${this.workload.name}:${i}`);
    const focus = io.hint ?? (policy || io.plan ? undefined : this.focusFor(i));
    // a swarm trace carries its plan since the eighth session; a replay of one without a plan
    // (written before) re-draws it with the generator version it records (replay's traceHint)
    const plan = io.plan ?? this.workload.plan(p, i, focus);
    this.lastPlan = plan;
    const b = new Bindings();
    const T = sys.sys.turnstile;
    T.setMode(SCHED_FREE);
    const setupActor: Actor = { name: 'setup', kind: 'user', index: 0, ops: [] };
    for (let k = 0; k < plan.setup.length; k++) {
      const op = plan.setup[k]!;
      // a trailing wait-idle is the runner's own wait below (one quiescence wait, not two)
      if (op.op === 'wait-idle') {
        if (k < plan.setup.length - 1) await sys.waitIdle(10_000, IDLE_POLL_MS);
      } else if (op.op === 'create-region' && plan.setup[k + 1]?.op === 'create-region' && PIPELINE_SETUP) {
        // back-to-back regions: both posted at once to the same user worker, which creates them
        // in order (the same ids and addresses), instead of a main-thread round trip between
        await Promise.all([runOp(sys, b, op, setupActor), runOp(sys, b, plan.setup[++k]!, setupActor)]);
      } else await runOp(sys, b, op, setupActor);
      ph.mark(`setup:${op.op}`);
    }
    await sys.waitIdle(10_000, IDLE_POLL_MS);
    sys.drainEvents();
    ph.mark('setup-idle');
    this.cov.reset();
    const dmesg0 = sys.dmesgLines().length;
    const names = emptyNames();
    captureNames(sys, names);
    const raceStart = sys.events.length;
    const held: string[][] = [];
    const marks: number[] = [];
    const times: [number, number][] = [];
    const tRace = performance.now();
    let steps: TraceStep[] = [];
    let divergence: string | null = null;
    let followed = 0;
    let ops: OpOutcome[] = [];
    let quiet = false;
    /** the devices' reads of the last quiescence look: the check's (DcdSystem.waitIdleReads) */
    let reads: DeviceSnapshot[] | undefined;
    const schedule = this.scheduleFor(i, focus);
    let controlled: Policy | null = policy ?? (schedule.kind === 'free' ? null
      : schedule.kind === 'pct' ? { kind: 'pct' as const, depth: schedule.depth, ...(schedule.steps !== undefined ? { steps: schedule.steps } : {}) }
        : { kind: 'random' as const, ...(schedule.skew ? { skew: schedule.skew } : {}) });
    // swarm feedback for the controlled scheduler: threads that always won a conflict so far yield
    // there once (a change point at the window), so the other order gets its chance
    if (controlled && controlled.kind !== 'replay' && this.workload.name === 'swarm' && this.opts.feedback !== false) {
      const ap = new Prng(`${this.opts.seed}:avoid:${i}`);
      const avoid = avoidList(this.coverage, (n) => ap.int(n));
      if (avoid.length > 0) controlled = { ...controlled, avoid };
    }
    if (controlled) {
      const sched = new ControlledScheduler(sys, controlled, `${this.opts.seed}:${i}`);
      // per step: the locks the thread holds at its point, and how many events it had emitted
      // when it parked again (one thread runs at a time, so the events between marks are its own)
      sched.observer = {
        before: (k, _st, slot) => { times[k] = [performance.now() - tRace, 0]; held[k] = slot >= 0 ? sys.sys.heldBy(slot).map((h) => `${sys.sys.lockClassNameOf(h.lock)}${h.mode === 'read' ? '(read)' : ''}`) : []; },
        after: (k) => { sys.drainEvents(); marks[k] = sys.events.length; if (times[k]) times[k]![1] = performance.now() - tRace; },
      };
      const r = await sched.run(plan.actors, b);
      steps = r.steps;
      divergence = r.divergence;
      followed = r.followed;
      ops = r.outcomes;
      for (const [k, n] of Object.entries(r.windows)) this.cov.add(k, n);
      if (r.deadlock) sys.ctx.dmesg('err', 'sched', r.deadlock);
    } else {
      T.resetLog();
      T.setMode(SCHED_RECORD);
      // rounds need every actor's ops to split evenly (a minimized plan may not: it runs unbarriered)
      const rounds = plan.rounds?.length ?? 0;
      ops = rounds > 1 && plan.actors.every((a) => a.ops.length % rounds === 0) ? await runRounds(sys, b, plan.actors, rounds) : (await Promise.all(plan.actors.map((a) => (fmBatch(a) ? runFmActor(sys, a) : runActor(sys, b, a))))).flat();
      // keep recording until quiescence: the host's handling of an FM command outlives the
      // command, and a replay must be given those steps too, or it would choose them freely
      reads = await sys.waitIdleReads(15_000, IDLE_POLL_MS).catch(() => undefined);
      quiet = reads !== undefined;
      T.setMode(SCHED_FREE);
      steps = this.freeSteps(sys);
    }
    ph.mark('race');
    // a free race ends quiescent already (above): leaving the record mode starts no work, so a
    // second wait would only repeat the same checks (two device round trips each)
    if (!quiet) reads = await sys.waitIdleReads(15_000, IDLE_POLL_MS).catch(() => undefined);
    ph.mark('quiesce');
    let results = await sys.check(reads);
    // the devices have been read: their reset for the next iteration runs beside what follows
    if (this.opts.overlapReset && OVERLAP_RESET && !policy && !io.plan) sys.beginDeviceReset();
    ph.mark('check');
    for (const s of steps) if (s.what === 'noise') this.cov.add(`point:${siteName(s.arg)}`);
    this.cov.add('scan-gate refused', sys.dmesgLines().slice(dmesg0).filter((l) => /not scanned yet; refusing/.test(l.msg)).length);
    // A deadlock (hung wait, or no enabled choice under the controlled scheduler) ends the run in
    // the kernel; the model unwinds it to keep going, so what happens after it (a chain answered
    // by no one, groups onlined without a response) is an artifact: the hung wait is the outcome.
    // The other outcomes are still listed (afterDeadlock) so nothing is silently dropped.
    // ... but a finding whose evidence was complete before the deadlock began is classified as in
    // any other iteration (splitAtDeadlock), so a deadlock never hides it.
    let afterDeadlock: string[] = [];
    if (sys.reportCounts().hung > 0) ({ results, afterDeadlock } = splitAtDeadlock(results, sys.hungReports()));
    const c: Classification = classify(results);
    const windows = Object.fromEntries(Object.entries(this.cov.counts).filter(([, n]) => n > 0));
    const seen = outcomesSeen(results).map((o) => o.outcome);
    const res: IterationResult = { iteration: i, outcome: c.outcome, class: c.class, invariant: c.invariant, outcomes: seen, ms: 0, traceSteps: steps.length, ...(Object.keys(windows).length ? { windows } : {}) };
    if (afterDeadlock.length > 0) res.afterDeadlock = afterDeadlock;
    if (focus?.focus) res.focus = focus.focus;
    if (schedule !== this.opts.schedule) res.schedule = scheduleName(schedule);
    if (controlled) {
      res.decisions = steps.length;
      if (!policy && this.workload.name === 'swarm') this.noteRunLength(focus?.focus, steps.length);
    }
    res.coverage = iterationCoverage(steps, [...seen, ...afterDeadlock]);
    addIteration(this.coverage, res.coverage);
    if (c.detail) res.detail = c.detail;
    if (plan.rounds) {
      res.rounds = plan.rounds.length;
      if (c.class !== 'acceptable') {
        const k = roundOf(plan.rounds, results.filter((r) => !r.ok && classify([r]).outcome === c.outcome));
        if (k >= 0) res.round = k;
      }
    }
    sys.drainEvents();
    captureNames(sys, names);
    // the record (events per step, names) is built when asked for — for a trace, a signature,
    // explain or replay — not for every acceptable iteration; what it reads is fixed here (the
    // event count, the hung reports) and stays in place until the next iteration's reset
    const evEnd = sys.events.length;
    const hung = sys.hungReports();
    const recMarks = controlled ? marks : null;
    this.recordThunk = () => {
      const r = buildRecord(sys, raceStart, evEnd, hung, recMarks, held, names);
      if (controlled) r.times = times;
      return r;
    };
    let sig: ReturnType<typeof signatureOf> | null = null;
    if (c.class !== 'acceptable') {
      sig = signatureOf(c.outcome, this.lastRecord!.events, c.detail ?? '');
      res.signature = sig.signature;
      res.title = sig.title;
    }
    if (c.class !== 'acceptable' && this.opts.outDir && !policy) {
      const file = join(this.opts.outDir, `${this.workload.name}-${c.outcome}-${this.opts.seed}-${i}.trace.json`);
      const trace: StressTrace = {
        version: 1, kind: 'dcd-stress-trace', workload: this.workload.name, seed: this.opts.seed, iteration: i,
        variant: this.opts.variant, knobs: this.opts.knobs, device: this.opts.device, schedule: scheduleName(schedule),
        noise: this.opts.noise, outcome: c.outcome, class: c.class, invariant: c.invariant, ...(c.detail ? { detail: c.detail } : {}),
        steps, recordedFree: !controlled,
        // the swarm's plan rules change as it learns to seek collisions: its traces keep their plan
        ...(io.plan || this.workload.name === 'swarm' ? { plan } : {}),
        ...(sig ? { signature: sig.signature, title: sig.title } : {}),
        record: this.lastRecord!,
        ...(focus?.focus ? { focus: focus.focus } : {}), outcomes: seen,
        ...(this.workload.name === 'swarm' && !io.plan ? { swarmPlan: focus?.version ?? SWARM_PLAN_VERSION } : {}),
      };
      writeTrace(file, trace);
      res.trace = file;
    }
    ph.mark('record');
    res.ms = performance.now() - t0;
    res.phases = ph.ms;
    return { ...res, steps, divergence, ops, followed };
  }

  /** The step log of a free run, as schedule steps (device resumes are not choices). */
  private freeSteps(sys: DcdSystem): TraceStep[] {
    const out: TraceStep[] = [];
    // a free race logs ~330 steps over ten threads: decode each thread's name once
    const names = new Map<number, string>();
    for (const s of sys.sys.turnstile.steps()) {
      let name = names.get(s.slot);
      if (name === undefined) names.set(s.slot, name = s.slot === 0 ? 'main' : sys.sys.threadName(s.slot));
      if (name.startsWith('device/') && s.kind === PT_RESUME) continue;
      let arg = '';
      if (s.kind === PT_ACQUIRE || s.kind === PT_HANDOFF || s.kind === PT_STEAL) arg = `${sys.sys.lockClassNameOf(s.arg)}(${s.mode >= 2 ? 'read' : 'write'})`;
      else if (s.kind === PT_NOISE) arg = `site${s.arg}`;
      else if (s.kind === PT_RESUME) arg = `pred${s.arg}`;
      out.push({ who: name, what: POINT_NAMES[s.kind] ?? String(s.kind), arg });
    }
    void PT_CLOCK;
    return out;
  }
}

const SITE_BY_NUMBER: Record<string, string> = Object.fromEntries(Object.entries(NOISE_SITE).map(([k, v]) => [`site${v}`, k]));
function siteName(arg: string): string {
  return SITE_BY_NUMBER[arg] ?? arg;
}

/**
 * Free runs of a plan with rounds (several independent races per reset, jcstress-style): round k
 * is slice k of every actor's ops, and every actor waits for the others at a main-thread barrier
 * before the next round, so each round's ops start together (a round's winner would otherwise run
 * ahead and meet the next round's objects alone). Outcomes in plan order per actor, as runActor.
 */
async function runRounds(sys: DcdSystem, b: Bindings, actors: Actor[], rounds: number): Promise<OpOutcome[]> {
  // claims only: the rounds run inside the user workers, a shared-memory barrier between them
  const inWorkers = await claimRoundsInWorkers(sys, b, actors, rounds);
  if (inWorkers) return inWorkers;
  const per = new Map<Actor, OpOutcome[]>(actors.map((a) => [a, []]));
  for (let k = 0; k < rounds; k++) {
    await Promise.all(actors.map(async (a) => {
      const n = a.ops.length / rounds;
      per.get(a)!.push(...await runActor(sys, b, { ...a, ops: a.ops.slice(k * n, (k + 1) * n) }));
    }));
  }
  return actors.flatMap((a) => per.get(a)!);
}

/** The round whose objects (Plan.rounds[k]: its tag) a finding's detail names; -1 when none does. */
export function roundOf(rounds: string[][], results: { detail?: string }[]): number {
  for (const r of results) {
    const k = rounds.findIndex((keys) => keys.some((key) => r.detail?.includes(key)));
    if (k >= 0) return k;
  }
  return -1;
}

/** DCD_OVERLAP_RESET=0: no device reset overlaps an iteration's record, whatever the job asks (A/B) */
const OVERLAP_RESET = process.env.DCD_OVERLAP_RESET !== '0';
/** DCD_FM_BATCH=0: the free race's FM actors issue one command per main-thread round trip (A/B) */
const FM_BATCH = process.env.DCD_FM_BATCH !== '0';
/** DCD_PIPELINE_SETUP=0: setup's back-to-back create-regions one round trip after the other (A/B) */
const PIPELINE_SETUP = process.env.DCD_PIPELINE_SETUP !== '0';

/** A free race's FM actor whose commands all go to its own memdev: sent as one batch. */
function fmBatch(a: Actor): boolean {
  return FM_BATCH && a.kind === 'fm' && a.ops.length > 1 && a.ops.every((o) => (o.op === 'add' || o.op === 'release' || o.op === 'hostile') && o.memdev === a.index);
}

/**
 * An FM actor of a free race: its commands in one message to its device, which runs them one
 * after another (DeviceApi.fmSteps: each its own recorded FM step, a cxl-test command waiting for
 * the host's drain before the next), instead of a main-thread round trip per command — the FM
 * actors finish last in most free races. Outcomes in op order, as runActor.
 */
async function runFmActor(sys: DcdSystem, a: Actor): Promise<OpOutcome[]> {
  const steps = a.ops.map((o): FmStep => {
    if (o.op === 'add') return { op: 'add', records: o.records };
    if (o.op === 'release') return { op: 'release', extents: o.extents, ...(o.forced ? { forced: true } : {}) };
    if (o.op === 'hostile') return { op: 'hostile', kind: o.kind };
    throw new Error(`runFmActor: ${o.op} is not an FM command`);
  });
  const r = await sys.guard(sys.device(a.index).call((d) => d.fmSteps(steps)));
  return a.ops.map((o, k) => ({ actor: a.name, op: o.op, ok: r[k]!.ok, ...(r[k]!.ok ? {} : { errno: (r[k] as { errno: string }).errno }) }));
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
  /** plans with several races per reset (Plan.rounds): races run (an iteration without rounds is
   *  one race), and races per second */
  races?: number;
  racesPerSec?: number;
  outcomes: OutcomeRow[];
  /** non-acceptable iterations grouped by signature (stress/signature.ts); absent in older results */
  findings?: FindingRow[];
  shard?: string;
  /** per iteration that saw anything but `ok`: every outcome it saw, most severe first */
  iterationOutcomes?: { iteration: number; outcomes: string[]; afterDeadlock?: string[] }[];
  /** outcomes named after an unwound deadlock (not classified), by iterations seen in */
  afterDeadlock?: Record<string, number>;
  /** race-window coverage (stress/coverage.ts) */
  coverage?: CoverageSummary;
  /** the swarm under the free schedule: true when each iteration drew its schedule (free, random
   *  walk or PCT: StressJob.scheduleFor), false when every iteration ran free (`--mix off`);
   *  absent for other workloads and schedules */
  mixed?: boolean;
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
  const races = results.reduce((n, r) => n + (r.rounds ?? 1), 0);
  const decided = results.filter((r) => r.decisions !== undefined);
  const decisions = decided.reduce((n, r) => n + r.decisions!, 0);
  const order = { forbidden: 0, 'known-hazard': 1, acceptable: 2 } as const;
  const outcomes = [...rows.values()].sort((a, b) => order[a.class] - order[b.class] || b.count - a.count || (b.seen ?? 0) - (a.seen ?? 0));
  const frows = new Map<string, FindingRow>();
  for (const r of results) {
    if (!r.signature) continue;
    addFinding(frows, {
      signature: r.signature, title: r.title ?? r.signature, outcome: r.outcome, class: r.class, count: 1,
      firstSeed: `${job.seed}:${r.iteration}`, firstIteration: r.iteration, schedule: scheduleName(job.schedule),
      trace: r.trace ?? null, traceSteps: r.trace ? r.traceSteps ?? null : null, ...(r.minimized ? { minimized: r.minimized } : {}),
    });
  }
  return {
    workload: job.workload, variant: job.variant, knobs: job.knobs, device: job.device, schedule: scheduleName(job.schedule), seed: job.seed,
    ...(job.workload === 'swarm' && job.schedule.kind === 'free' ? { mixed: job.mixSchedules !== false } : {}),
    iterations: results.length,
    // iterations with a forbidden outcome / with a known hazard (an iteration with both counts in both)
    forbidden: results.filter((r) => r.class === 'forbidden' || (r.outcomes ?? []).some((n) => classOf(n) === 'forbidden')).length,
    knownHazards: results.filter((r) => r.class === 'known-hazard' || (r.outcomes ?? []).some((n) => classOf(n) === 'known-hazard')).length,
    elapsedMs, iterationsPerSec: results.length / Math.max(elapsedMs / 1000, 1e-9),
    ...(results.some((r) => r.rounds) ? { races, racesPerSec: races / Math.max(elapsedMs / 1000, 1e-9) } : {}),
    outcomes,
    findings: sortFindings(frows.values()),
    ...(shard ? { shard } : {}),
    iterationOutcomes,
    ...(Object.keys(afterDeadlock).length > 0 ? { afterDeadlock } : {}),
    coverage,
    ...(decided.length > 0 ? { controlled: { iterations: decided.length, decisions, decisionsPerSec: decisions / Math.max(elapsedMs / 1000, 1e-9) } } : {}),
  };
}

// ------------------------------------------------------------------------------ trace records

const MAX_RECORD_EVENTS = 4000;

function emptyNames(): TraceRecord['names'] {
  return { regions: {}, extents: {}, daxDevs: {}, groups: {} };
}

/** Name the live regions, extents and dax devices as sysfs does (regionZ, extentZ.Y, daxZ.N). */
function captureNames(sys: DcdSystem, names: TraceRecord['names']): void {
  const h = sys.host;
  for (const r of h.regions.live()) names.regions[String(r)] = `region${h.regions.get(r, 'id')}`;
  for (const e of h.extents.live()) {
    const r = h.extents.peek(e, 'region');
    const id = h.extents.peek(e, 'id');
    const rn = r !== undefined ? names.regions[String(r)] : undefined;
    if (rn && id !== undefined) names.extents[String(e)] = `extent${rn.slice(6)}.${id}`;
  }
  for (const d of h.daxDevs.live()) {
    const r = h.daxDevs.peek(d, 'region');
    const id = h.daxDevs.peek(d, 'id');
    const rn = r !== undefined ? names.regions[String(r)] : undefined;
    if (rn && id !== undefined) names.daxDevs[String(d)] = `dax${rn.slice(6)}.${id}`;
  }
}

/** The iteration's events (lock holds omitted), tagged with the step they were emitted in. */
function buildRecord(sys: DcdSystem, raceStart: number, end: number, hung: ReturnType<DcdSystem['hungReports']>, marks: number[] | null, held: string[][], names: TraceRecord['names']): TraceRecord {
  const all: DecodedEvent[] = sys.events;
  const events: NamedEvent[] = [];
  let m = 0;
  let truncated: number | undefined;
  for (let k = 0; k < Math.min(end, all.length); k++) {
    const d = all[k]!;
    if (d.ev.type === 'lock-hold') continue;
    let step = -1;
    if (k >= raceStart) {
      if (!marks) step = -2;
      else { while (m < marks.length && (marks[m] ?? Infinity) <= k) m++; step = m; }
    }
    const thread = d.thread < 0 ? 'main' : sys.sys.threadName(d.thread);
    const ev = d.ev;
    // names the events carry (extent ids, group uuids)
    if (ev.type === 'extent-tracked') {
      const rn = names.regions[String(ev.region)];
      if (rn) names.extents[String(ev.extent)] ??= `extent${rn.slice(6)}.${ev.id}`;
      names.groups[String(ev.group)] ??= ev.uuid && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(ev.uuid) ? `tag group on mem${ev.memdev}` : `untagged group of ${names.extents[String(ev.extent)] ?? `mem${ev.memdev}`}`;
    } else if (ev.type === 'tag-registered') names.groups[String(ev.group)] ??= `tag group on mem${ev.memdev}`;
    if (events.length >= MAX_RECORD_EVENTS) { truncated = (truncated ?? 0) + 1; continue; }
    events.push({ step, thread, ev });
  }
  return { events, held, names, ...(hung.length ? { hung } : {}), ...(truncated ? { truncated: MAX_RECORD_EVENTS } : {}) };
}
