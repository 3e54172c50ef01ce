/**
 * DOC: `dcd minimize TRACE` — shrink a failing trace to the race and nothing else.
 *
 * Every candidate is checked by running it under the controlled scheduler on one reused topology
 * and comparing its outcome signature (stress/signature.ts) with the original's: a candidate that
 * ends in anything else is rejected, so the result fails the same way by construction.
 *
 *  1. Baseline: replay the trace (exactly as `dcd replay` does: its stored plan, else the
 *     workload's drawn with the trace's swarm focus); its controlled steps become the
 *     guide. Preemptions are counted from the enabled choices at each decision: a switch away
 *     from a thread that could have continued.
 *  2. Schedule, from zero preemptions upward (CHESS's bounded preemption search): the
 *     non-preemptive default alone (the running thread continues; with none, the next actor's op
 *     is issued; else the first enabled thread by name), then one preemption at each point of
 *     that run — racy windows (noise points) first, then lock acquisitions. A preemption is named
 *     by points (`Preempt`: "when irq/mem0 is about to pass noise site2 for the first time, run
 *     irq/mem1"), so it keeps its meaning on a smaller plan. When none suffices, the recorded
 *     run's own deviations from the default are taken as point-named preemptions and shrunk by
 *     delta debugging.
 *  3. Plan (delta debugging to a 1-minimal plan): drop whole actors, then chunks of each actor's
 *     ops and of each FM add's records (the chain's More flags re-closed), then setup ops — but
 *     never a wait-idle on its own (the setup runs free; its wait-idles order it). A
 *     candidate runs under the schedule of step 2 (its preemptions; a recorded guide, followed
 *     leniently, when step 2 found none).
 *  4. Schedule again on the smaller plan (shrink its preemptions; search up to two; a guide
 *     still in use turned into preemptions and shrunk, else ddmin over its steps).
 *  5. The minimized trace carries the smaller plan and the complete steps of its run (a strict
 *     `dcd replay` follows them), its record (for `dcd explain`), what was removed, the schedule as
 *     preemptions, and the schedule's size as it matters (scheduleSegments): per thread that
 *     shares a lock with the racing threads, its runs to the next switch up to the failure; steps
 *     after the failure and threads that touch nothing the racing threads touch are not counted.
 *     It is replayed once more to check.
 */
import { StressJob, type IterationOptions, type IterationResult } from './runner.js';
import type { Plan, StressOp } from './ops.js';
import type { GuidedChoice, Policy, TraceStep } from './turnstile.js';
import { replayTrace } from './replay.js';
import { writeTrace, type MinimizedInfo, type StressTrace, type TraceRecord } from './trace.js';
import { failurePoint } from './explain.js';
import { traceHint } from './workloads.js';

export interface PlanStats { steps: number; ops: number; actors: number; records: number; preemptions: number }

export interface MinimizeResult {
  ok: boolean;
  message: string;
  before: PlanStats;
  after: PlanStats;
  /** per thread: steps in the minimized run */
  perThread: Record<string, number>;
  /** per thread that matters to the failure: segments (runs to its next switch) up to the failure (scheduleSegments) */
  segments: Record<string, number>;
  /** the schedule as point-named preemptions over the non-preemptive default (empty: the default alone, or a guide) */
  preempts: string[];
  /** threads before the failure that share no lock class with the racing threads */
  dropped?: string[];
  /** steps after the failure (its consequence) */
  trailing?: number;
  trace: StressTrace | null;
  file: string | null;
  candidates: number;
  ms: number;
  /** the written trace reproduced under a strict `dcd replay` */
  verified: boolean;
}

function clonePlan(p: Plan): Plan {
  return JSON.parse(JSON.stringify(p)) as Plan;
}

export function planStats(p: Plan): Omit<PlanStats, 'steps' | 'preemptions'> {
  let ops = 0;
  let records = 0;
  for (const a of p.actors) for (const o of a.ops) { ops++; if (o.op === 'add') records += o.records.length; }
  return { ops, actors: p.actors.length, records };
}

/**
 * A preemption named by the points of the run, not by decision numbers: "when `who` is about to
 * pass point (`what`, `arg`) for the `nth` time, run `to` instead". It keeps its meaning when the
 * plan shrinks (decision numbers shift; the thread's own passes of one point do not), so a
 * schedule found on the whole plan carries over to the smaller plans tried after it.
 */
export interface Preempt { who: string; what: string; arg: string; nth: number; to: string }

export function preemptText(p: Preempt): string {
  const nth = p.nth === 1 ? '' : ` (pass ${p.nth})`;
  return `${p.who} at ${p.what}${p.arg ? ` ${p.arg}` : ''}${nth} → ${p.to}`;
}

/**
 * A guided chooser: applies preemption directives (by decision number, or `Preempt`s named by
 * points), else follows `guide` leniently, else the non-preemptive default (the running thread
 * continues; with none, the next actor's op is issued; else the first enabled thread by name).
 */
export class Chooser {
  private cursor = 0;
  private last: string | null = null;
  preemptions = 0;
  /** guide steps jumped over because their thread was elsewhere (the run drifted from the guide) */
  skipped = 0;
  /** guide steps never reached (the run ended first) */
  get unfollowed(): number { return this.guide.length - this.cursor; }
  /** `Preempt`s that fired */
  fired = 0;
  /** per thread and point: passes so far (for `Preempt.nth`) */
  private readonly passes = new Map<string, number>();
  /** per decision: the enabled keys, what the default would pick, and the picked thread's point */
  readonly decisions: { keys: string[]; def: string; whatOfDef: string; picked: string; point: { what: string; arg: string; nth: number }; defPoint: { what: string; arg: string; nth: number } }[] = [];
  constructor(private readonly guide: readonly TraceStep[], private readonly window: number, private readonly directives: ReadonlyMap<number, string> = new Map(), private readonly preempts: readonly Preempt[] = []) {}

  private match(want: TraceStep, c: GuidedChoice): boolean {
    if (want.who.startsWith('actor:')) return c.actor && c.key === want.who;
    return !c.actor && c.key === want.who && c.what === want.what && c.arg === want.arg;
  }

  private defaultPick(choices: GuidedChoice[]): number {
    if (this.last !== null) { const i = choices.findIndex((c) => !c.actor && c.key === this.last); if (i >= 0) return i; }
    const a = choices.findIndex((c) => c.actor);
    return a >= 0 ? a : 0;
  }

  private nthOf(c: GuidedChoice): number {
    return (this.passes.get(`${c.key} ${c.what} ${c.arg}`) ?? 0) + 1;
  }

  readonly choose = (choices: GuidedChoice[], decision: number): number => {
    const def = this.defaultPick(choices);
    let pick = -1;
    const dir = this.directives.get(this.decisions.length);
    if (dir !== undefined) pick = choices.findIndex((c) => c.key === dir);
    for (let j = this.cursor; pick < 0 && j < Math.min(this.guide.length, this.cursor + this.window); j++) {
      const i = choices.findIndex((c) => this.match(this.guide[j]!, c));
      if (i >= 0) { pick = i; this.skipped += j - this.cursor; this.cursor = j + 1; }
    }
    if (pick < 0) pick = def;
    // a point-named preemption: the thread about to run is at the named pass of its point
    const p0 = choices[pick]!;
    if (this.preempts.length) {
      const n = this.nthOf(p0);
      const pr = this.preempts.find((x) => x.who === p0.key && x.what === p0.what && x.arg === p0.arg && x.nth === n);
      const to = pr ? choices.findIndex((c) => c.key === pr.to) : -1;
      if (to >= 0) { pick = to; this.fired++; }
    }
    const dc = choices[def]!;
    const defPoint = { what: dc.what, arg: dc.arg, nth: this.nthOf(dc) };
    const c = choices[pick]!;
    if (!c.actor && this.last !== null && c.key !== this.last && choices.some((x) => !x.actor && x.key === this.last)) this.preemptions++;
    if (!c.actor) this.last = c.key;
    const n = this.nthOf(c);
    this.passes.set(`${c.key} ${c.what} ${c.arg}`, n);
    const point = { what: c.what, arg: c.arg, nth: n };
    this.decisions.push({ keys: choices.map((x) => x.key), def: choices[def]!.key, whatOfDef: choices[def]!.what, picked: c.key, point, defPoint });
    void decision;
    return pick;
  };
}

/** How a candidate is scheduled: point-named preemptions over the non-preemptive default, or a recorded guide followed leniently. */
type Sched = { kind: 'preempts'; preempts: Preempt[] } | { kind: 'guide' };
type Run = { res: IterationResult & { steps: TraceStep[] }; chooser: Chooser; plan: Plan; sig: string | undefined; sched: Sched };

export interface MinimizeOptions {
  /** time budget, s (default 60) */
  seconds?: number;
  /** where to write (default: next to the input, .min.trace.json) */
  out?: string | null;
  log?: (line: string) => void;
  /** stop trying candidates after this many (a bound on work rather than time: tests use it) */
  maxCandidates?: number;
}

/**
 * The schedule of a run as it matters to its failure: the steps up to the last one that witnesses
 * the failure (stress/explain.ts failurePoint; what follows is its consequence), of the threads
 * that share a lock class with the racing threads or are racing themselves (a thread that touches
 * nothing they touch cannot change their outcome), each thread's steps collapsed into segments —
 * one segment is the thread running from where it was scheduled to where it was switched out,
 * i.e. to its next conflict with another thread.
 */
export function scheduleSegments(steps: readonly TraceStep[], rec: TraceRecord | null, outcome: string, detail = ''): { segments: Record<string, number>; steps: Record<string, number>; racing: string[]; dropped: string[]; trailing: number; failureStep: number } {
  const fp = rec ? failurePoint(outcome, rec, steps, detail) : { threads: [] as string[], last: steps.length - 1, witnessStep: -1 };
  const upto = steps.slice(0, fp.last + 1);
  const classesOf = (who: string): Set<string> => {
    const c = new Set<string>();
    upto.forEach((s, k) => {
      if (s.who !== who) return;
      if (/^(acquire|steal|handoff)$/.test(s.what)) c.add(s.arg.replace(/\((read|write)\)$/, ''));
      for (const h of rec?.held[k] ?? []) c.add(h.replace(/\(read\)$/, ''));
    });
    return c;
  };
  const racingClasses = new Set<string>();
  for (const w of fp.threads) for (const c of classesOf(w)) racingClasses.add(c);
  const threads = [...new Set(upto.filter((s) => !s.who.startsWith('actor:')).map((s) => s.who))];
  const relevant = new Set(threads.filter((w) => fp.threads.includes(w) || [...classesOf(w)].some((c) => racingClasses.has(c))));
  const segments: Record<string, number> = {};
  const counts: Record<string, number> = {};
  let prev: string | null = null;
  for (const s of upto) {
    if (s.who.startsWith('actor:')) continue; // an op issued from the main thread does not switch a thread out
    if (!relevant.has(s.who)) continue;
    counts[s.who] = (counts[s.who] ?? 0) + 1;
    if (s.who !== prev) segments[s.who] = (segments[s.who] ?? 0) + 1;
    prev = s.who;
  }
  return { segments, steps: counts, racing: fp.threads, dropped: threads.filter((w) => !relevant.has(w)), trailing: steps.length - upto.length, failureStep: fp.last };
}

/** How the baseline runs a trace's plan: its stored (minimized) plan, else the workload's, drawn
 *  with the swarm's coverage focus the trace records (stress/replay.ts does the same). */
export function baselineIo(t: StressTrace): IterationOptions {
  return t.plan ? { plan: t.plan } : { hint: traceHint(t) };
}

/**
 * The setup with op `k` dropped (a candidate of the setup shrinking; `k` is never a wait-idle),
 * and any wait-idle that is then redundant: at the start of the setup (nothing before it to wait
 * for) or right after another wait-idle. The others stay: each orders the free-running setup.
 */
export function setupWithout(setup: readonly StressOp[], k: number): StressOp[] {
  if (setup[k]?.op === 'wait-idle') throw new Error(`setupWithout: op ${k} is a wait-idle (kept)`);
  const out: StressOp[] = [];
  for (const [i, o] of setup.entries()) {
    if (i === k) continue;
    if (o.op === 'wait-idle' && (out.length === 0 || out[out.length - 1]!.op === 'wait-idle')) continue;
    out.push(o);
  }
  return out;
}

export async function minimizeTrace(t: StressTrace, opts: MinimizeOptions = {}): Promise<MinimizeResult> {
  const t0 = performance.now();
  const none: PlanStats = { steps: t.steps.length, ops: 0, actors: 0, records: 0, preemptions: 0 };
  if (t.outcome.startsWith('lock-order')) {
    // lockdep's graph lives as long as the topology (a boot): a cycle is reported once, so
    // candidates on one reused topology cannot show it again — nothing to compare against
    return { ok: false, message: `${t.outcome} is reported once per topology (lockdep's graph persists): not minimized`, before: none, after: none, perThread: {}, segments: {}, preempts: [], trace: null, file: null, candidates: 0, ms: 0, verified: false };
  }
  const deadline = t0 + (opts.seconds ?? 60) * 1000;
  const log = opts.log ?? (() => undefined);
  const timeLeft = (): boolean => performance.now() < deadline && candidates < (opts.maxCandidates ?? Infinity);
  const job = new StressJob({ workload: t.workload, variant: t.variant, knobs: t.knobs, device: t.device, seed: t.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  let candidates = 0;
  const empty: PlanStats = { steps: t.steps.length, ops: 0, actors: 0, records: 0, preemptions: 0 };
  try {
    // 1. baseline: the trace as `dcd replay` runs it
    // (a swarm trace without a stored plan re-draws it from its workload, seed, iteration and the
    // coverage focus it was drawn with — as `dcd replay` does; without the focus it is another plan)
    const base = await job.iteration(t.iteration, { kind: 'replay', steps: t.steps }, baselineIo(t));
    const basePlan = clonePlan(job.lastPlan!);
    // reproduced as `dcd replay` judges it: the recorded outcome among the run's outcomes. A fresh
    // topology's lockdep reports the setup's cycle (H2) again beside a later iteration's own
    // finding and may rank first; the candidates below share this topology and do not report it
    const reproduced = base.outcome === t.outcome || (base.outcomes ?? []).includes(t.outcome);
    if (!reproduced) {
      // no divergence: the same interleaving, which a rule added since the trace was recorded now
      // names otherwise (dcd replay says the same) — minimizing toward the old name would fail
      const renamed = base.divergence ? '' : `; the replay followed the recorded steps, so the checkers now name this interleaving ${base.outcome} (docs/kernel-map.md#outcome-${base.outcome}) — the trace predates that rule`;
      return { ok: false, message: `the trace does not reproduce: expected ${t.outcome}, got ${base.outcome}${base.divergence ? ` (${base.divergence})` : ''}${renamed}`, before: empty, after: empty, perThread: {}, segments: {}, preempts: [], trace: null, file: null, candidates, ms: performance.now() - t0, verified: false };
    }
    // (when the baseline ranked another outcome first its signature is that outcome's: compare
    // the candidates by outcome alone)
    const target = base.outcome === t.outcome ? base.signature : undefined;
    const guide0 = base.steps;
    const runWith = async (plan: Plan, guide: readonly TraceStep[], window: number, directives?: Map<number, string>, preempts?: Preempt[]): Promise<Run> => {
      candidates++;
      const chooser = new Chooser(guide, window, directives, preempts);
      const policy: Policy = { kind: 'guided', choose: chooser.choose };
      const res = await job.iteration(t.iteration, policy, { plan });
      return { res, chooser, plan, sig: res.signature, sched: preempts ? { kind: 'preempts', preempts } : { kind: 'guide' } };
    };
    const same = (r: Run): boolean => r.res.outcome === t.outcome && (target === undefined || r.sig === target);
    // the baseline under the chooser (exact follow): its preemptions
    const b2 = await runWith(basePlan, guide0, 1);
    const before: PlanStats = { steps: t.steps.length, ...planStats(basePlan), preemptions: b2.chooser.preemptions };
    log(`baseline: ${t.outcome} (${target ?? 'no signature'}); ${before.steps} steps, ${before.actors} actors, ${before.ops} ops, ${before.records} records, ${before.preemptions} preemptions`);
    let best: Run = same(b2) ? b2 : { res: base, chooser: b2.chooser, plan: basePlan, sig: target, sched: { kind: 'guide' } };
    let guide = best.res.steps;
    const WINDOW = 8;
    const better = (r: Run, than: Run): boolean => r.chooser.preemptions < than.chooser.preemptions || (r.chooser.preemptions === than.chooser.preemptions && r.res.steps.length < than.res.steps.length);

    /**
     * Bounded preemption search (CHESS): the non-preemptive run first, then one preemption at
     * each point of it (racy windows first, then lock acquisitions), then — for the first few
     * one-preemption runs — a second preemption after the first. Returns the first run that fails
     * the same way, with its preemptions named by points.
     */
    const searchPreemptions = async (plan: Plan, maxK: number, limit: number): Promise<Run | null> => {
      if (!timeLeft()) return null;
      const r0 = await runWith(plan, [], 1, undefined, []);
      if (same(r0)) return r0;
      const cands = (r: Run, after: number, fixed: Preempt[]): Preempt[] => {
        const out: { p: Preempt; rank: number; d: number }[] = [];
        r.chooser.decisions.forEach((dec, d) => {
          if (d <= after) return;
          for (const k of dec.keys) {
            if (k === dec.picked) continue;
            const rank = dec.point.what === 'noise' && dec.point.arg !== 'site1' ? 0 : /^(acquire|steal)$/.test(dec.point.what) ? 1 : dec.picked.startsWith('actor:') ? 3 : 2;
            out.push({ p: { who: dec.picked, what: dec.point.what, arg: dec.point.arg, nth: dec.point.nth, to: k }, rank, d });
          }
        });
        out.sort((a, b) => a.rank - b.rank || a.d - b.d);
        return out.map((x) => x.p).filter((p) => !fixed.some((f) => f.who === p.who && f.what === p.what && f.arg === p.arg && f.nth === p.nth));
      };
      const firstOf = (r: Run, p: Preempt): number => r.chooser.decisions.findIndex((d) => d.picked === p.to && d.point !== null);
      const ones: { p: Preempt; r: Run }[] = [];
      let n = 0;
      for (const p of cands(r0, -1, [])) {
        if (!timeLeft() || n++ >= limit) break;
        const r = await runWith(plan, [], 1, undefined, [p]);
        if (r.chooser.fired === 0) continue;
        if (same(r)) return r;
        if (ones.length < 6) ones.push({ p, r });
      }
      if (maxK < 2) return null;
      for (const o of ones) {
        let m = 0;
        for (const p of cands(o.r, firstOf(o.r, o.p), [o.p])) {
          if (!timeLeft() || m++ >= Math.ceil(limit / 4)) break;
          const r = await runWith(plan, [], 1, undefined, [o.p, p]);
          if (r.chooser.fired < 2) continue;
          if (same(r)) return r;
        }
      }
      return null;
    };

    /** delta debugging (Zeller's ddmin) over one list: drop chunks, halving, while the outcome stays */
    const ddmin = async <T>(items: T[], min: number, test: (keep: T[]) => Promise<boolean>): Promise<void> => {
      let n = 2;
      while (items.length > min && timeLeft()) {
        const size = Math.ceil(items.length / n);
        let reduced = false;
        for (let i = 0; i < items.length && timeLeft(); i += size) {
          const keep = [...items.slice(0, i), ...items.slice(i + size)];
          if (keep.length < min) continue;
          if (await test(keep)) { items = keep; n = Math.max(n - 1, 2); reduced = true; break; }
        }
        if (!reduced) { if (size <= 1) break; n = Math.min(n * 2, items.length); }
      }
    };
    /** a run's choices that differ from the non-preemptive default, as point-named preemptions */
    const deviations = (r: Run): Preempt[] => r.chooser.decisions.filter((d) => d.picked !== d.def).map((d) => ({ who: d.def, ...d.defPoint, to: d.picked }));
    /** ddmin over the schedule's preemptions: drop those the failure does not need */
    const shrinkPreempts = async (): Promise<void> => {
      if (best.sched.kind !== 'preempts' || best.sched.preempts.length === 0) return;
      await ddmin([...best.sched.preempts], 0, async (keep) => {
        const r = await runWith(best.plan, [], 1, undefined, keep);
        if (!same(r)) return false;
        best = r; guide = r.res.steps;
        return true;
      });
    };

    // 2. schedule first, on the whole plan: from zero preemptions upward (the default alone, then
    // one preemption at a racy window or a lock acquisition); else the recorded schedule's own
    // deviations from the default, shrunk by delta debugging
    const s0 = await searchPreemptions(basePlan, 1, 30);
    if (s0) { best = s0; guide = s0.res.steps; }
    else if (timeLeft()) {
      const d = deviations(b2);
      const r = await runWith(basePlan, [], 1, undefined, d);
      if (same(r)) {
        log(`schedule: the recorded run is the default with ${d.length} deviation(s); shrinking them`);
        best = r; guide = r.res.steps;
        await shrinkPreempts();
      }
    }
    log(`schedule: ${best.sched.kind === 'preempts' ? `${best.sched.preempts.length} point-named preemption(s) suffice${best.sched.preempts.length ? `: ${best.sched.preempts.map(preemptText).join('; ')}` : ''}` : 'no schedule of one preemption found yet; the recorded one guides the shrinking of the plan'} (${candidates} candidates)`);

    // 3. plan: a candidate runs under the current schedule (its preemptions, else the guide)
    const tryPlan = async (p: Plan): Promise<boolean> => {
      if (!timeLeft()) return false;
      if (best.sched.kind === 'preempts') {
        const r = await runWith(p, [], 1, undefined, best.sched.preempts);
        if (same(r)) { best = r; guide = r.res.steps; return true; }
        return false;
      }
      const r = await runWith(p, guide, WINDOW);
      if (!same(r)) return false;
      best = r;
      guide = r.res.steps;
      return true;
    };
    for (let changed = true; changed && timeLeft();) {
      changed = false;
      for (let a = 0; a < best.plan.actors.length && timeLeft(); a++) {
        if (best.plan.actors.length <= 1) break;
        const p = clonePlan(best.plan);
        p.actors.splice(a, 1);
        if (await tryPlan(p)) { changed = true; a--; }
      }
    }
    for (let a = 0; a < best.plan.actors.length && timeLeft(); a++) {
      const name = best.plan.actors[a]!.name;
      await ddmin([...best.plan.actors[a]!.ops], 1, async (keep) => {
        const p = clonePlan(best.plan);
        const act = p.actors.find((x) => x.name === name);
        if (!act) return false;
        act.ops = JSON.parse(JSON.stringify(keep)) as StressOp[];
        return tryPlan(p);
      });
    }
    for (let a = 0; a < best.plan.actors.length && timeLeft(); a++) {
      for (let o = 0; o < best.plan.actors[a]!.ops.length && timeLeft(); o++) {
        if (best.plan.actors[a]!.ops[o]!.op !== 'add') continue;
        await ddmin([...(best.plan.actors[a]!.ops[o] as Extract<StressOp, { op: 'add' }>).records], 1, async (keep) => {
          const p = clonePlan(best.plan);
          const add = p.actors[a]!.ops[o] as Extract<StressOp, { op: 'add' }>;
          add.records = keep.map((x, i) => ({ ...x, more: i < keep.length - 1 }));
          return tryPlan(p);
        });
      }
    }
    // setup runs free (unrecorded): its wait-idles are what make it deterministic, so they are
    // never dropped on their own (without them an add races the probe's seed device and a
    // candidate that happened to pass leaves a trace that can diverge); one left redundant by the
    // ops dropped around it goes with them
    for (let s = 0; s < best.plan.setup.length && timeLeft(); s++) {
      if (best.plan.setup[s]!.op === 'wait-idle') continue;
      const p = clonePlan(best.plan);
      p.setup = setupWithout(p.setup, s);
      if (await tryPlan(p)) s--;
    }
    log(`plan: ${JSON.stringify(planStats(best.plan))} after ${candidates} candidates`);
    // 4. schedule again, on the smaller plan: fewer preemptions may now suffice
    await shrinkPreempts();
    if ((best.sched.kind === 'guide' || best.chooser.preemptions > 1) && timeLeft()) {
      const s1 = await searchPreemptions(best.plan, 2, best.sched.kind === 'guide' ? 200 : 60);
      if (s1 && (best.sched.kind === 'guide' || better(s1, best))) { best = s1; guide = s1.res.steps; }
    }
    if (best.sched.kind === 'guide' && timeLeft()) {
      const d = deviations(best);
      const r = await runWith(best.plan, [], 1, undefined, d);
      if (same(r)) { best = r; guide = r.res.steps; await shrinkPreempts(); }
    }
    if (best.sched.kind === 'guide' && best.chooser.preemptions > 0 && timeLeft()) {
      // no bounded schedule: ddmin over the guide's steps (a dropped step is replaced by the default)
      let g = [...best.res.steps];
      for (let n = 2; g.length > 0 && timeLeft();) {
        const size = Math.ceil(g.length / n);
        let removed = false;
        for (let i = 0; i < g.length && timeLeft(); i += size) {
          const cand = [...g.slice(0, i), ...g.slice(i + size)];
          const r = await runWith(best.plan, cand, WINDOW);
          if (same(r) && r.chooser.preemptions <= best.chooser.preemptions) {
            best = r; g = cand; removed = true; n = Math.max(n - 1, 2); break;
          }
        }
        if (!removed) { if (size <= 1) break; n = Math.min(n * 2, g.length); }
      }
    }
    const fin = best;
    const steps = fin.res.steps;
    const after: PlanStats = { steps: steps.length, ...planStats(fin.plan), preemptions: fin.chooser.preemptions };
    const perThread: Record<string, number> = {};
    for (const s of steps) perThread[s.who] = (perThread[s.who] ?? 0) + 1;
    const preempts = fin.sched.kind === 'preempts' ? fin.sched.preempts.map(preemptText) : [];
    const out: StressTrace = {
      ...t, schedule: 'minimized', recordedFree: false, steps, plan: fin.plan, outcome: fin.res.outcome, class: fin.res.class, invariant: fin.res.invariant,
      ...(fin.res.detail ? { detail: fin.res.detail } : {}), ...(fin.res.signature ? { signature: fin.res.signature, title: fin.res.title! } : {}),
      record: job.lastRecord ?? undefined, preemptions: after.preemptions,
    } as StressTrace;
    // the record must be the final run's: run it once more (strict replay of its own steps)
    const again = await job.iteration(t.iteration, { kind: 'replay', steps }, { plan: fin.plan });
    // (handles differ between runs: the detail must come from the run the record does)
    if (again.outcome === fin.res.outcome && job.lastRecord) { out.record = job.lastRecord; if (again.detail) out.detail = again.detail; }
    await job.close();
    const seg = scheduleSegments(steps, out.record ?? null, out.outcome, out.detail ?? '');
    const info: MinimizedInfo = {
      from: before, to: after, candidates, ms: Math.round(performance.now() - t0), source: t.schedule,
      ...(fin.sched.kind === 'preempts' ? { preempts } : {}), segments: seg.segments, racing: seg.racing, dropped: seg.dropped, trailing: seg.trailing,
    };
    out.minimized = info;
    const file = opts.out === null ? null : opts.out ?? null;
    if (file) writeTrace(file, out);
    // as `dcd replay` does: up to three attempts (a loaded machine can miss a settle)
    const rep = await replayTrace(out, 3);
    return { ok: true, message: 'minimized', before, after, perThread, segments: seg.segments, preempts, dropped: seg.dropped, trailing: seg.trailing, trace: out, file, candidates, ms: performance.now() - t0, verified: rep.reproduced };
  } finally {
    await job.close();
  }
}

export function formatMinimize(r: MinimizeResult): string {
  const f = (s: PlanStats): string => `${s.steps} steps, ${s.actors} actors, ${s.ops} ops, ${s.records} records, ${s.preemptions} preemptions`;
  return [
    `before: ${f(r.before)}`,
    `after:  ${f(r.after)}  (${Object.entries(r.perThread).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `schedule: ${r.preempts.length ? r.preempts.join('; ') : r.trace?.minimized?.preempts ? 'the non-preemptive default' : 'the recorded steps (no bounded schedule found)'}`,
    `steps per thread up to the failure, runs to the next switch: ${Object.entries(r.segments).map(([k, v]) => `${k} ${v}`).join(', ') || '(none)'}${r.trailing ? `; ${r.trailing} step(s) after the failure` : ''}${r.dropped?.length ? `; not causal (no lock shared with the racing threads): ${r.dropped.join(', ')}` : ''}`,
    `${r.candidates} candidates in ${(r.ms / 1000).toFixed(1)} s; strict replay of the minimized trace: ${r.verified ? 'REPRODUCED' : 'NOT reproduced'}`,
    ...(r.file ? [`wrote ${r.file}`] : []),
  ].join('\n');
}
