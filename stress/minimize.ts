/**
 * DOC: `dcd minimize TRACE` — shrink a failing trace to the race and nothing else.
 *
 * Every candidate is checked by running it under the controlled scheduler on one reused topology
 * and comparing its outcome signature (stress/signature.ts) with the original's: a candidate that
 * ends in anything else is rejected, so the result fails the same way by construction.
 *
 *  1. Baseline: replay the trace (exactly as `dcd replay` does); its controlled steps become the
 *     guide. Preemptions are counted from the enabled choices at each decision: a switch away
 *     from a thread that could have continued.
 *  2. Plan (delta debugging, greedy one-at-a-time to a 1-minimal plan): drop whole actors, then
 *     single ops, then single records of an FM add (the chain's More flags re-closed), then setup
 *     ops. A candidate plan runs under a *lenient* replay of the guide: a recorded step whose
 *     thread is not at that point is skipped (within a short window); with nothing to follow the
 *     running thread continues (no preemption).
 *  3. Schedule: zero preemptions first (the non-preemptive default alone); then delta debugging of
 *     the guide's steps (a dropped step is replaced by the default, which removes switches); then,
 *     while time remains and more than one preemption is left, a search over single preemption
 *     points of the non-preemptive run (racy windows — noise points — first).
 *  4. The minimized trace carries the smaller plan and the complete steps of its run (a strict
 *     `dcd replay` follows them), its record (for `dcd explain`) and what was removed; it is
 *     replayed once more to check.
 */
import { StressJob, type IterationResult } from './runner.js';
import type { Plan, StressOp } from './ops.js';
import type { GuidedChoice, Policy, TraceStep } from './turnstile.js';
import { replayTrace } from './replay.js';
import { writeTrace, type MinimizedInfo, type StressTrace } from './trace.js';

export interface PlanStats { steps: number; ops: number; actors: number; records: number; preemptions: number }

export interface MinimizeResult {
  ok: boolean;
  message: string;
  before: PlanStats;
  after: PlanStats;
  /** per thread: steps in the minimized run */
  perThread: Record<string, number>;
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

/** A guided chooser: follows `guide` leniently, applies preemption directives, else no preemption. */
export class Chooser {
  private cursor = 0;
  private last: string | null = null;
  preemptions = 0;
  /** guide steps jumped over because their thread was elsewhere (the run drifted from the guide) */
  skipped = 0;
  /** guide steps never reached (the run ended first) */
  get unfollowed(): number { return this.guide.length - this.cursor; }
  /** per decision: the enabled keys and what the default would pick (for the preemption search) */
  readonly decisions: { keys: string[]; def: string; whatOfDef: string; picked: string }[] = [];
  constructor(private readonly guide: readonly TraceStep[], private readonly window: number, private readonly directives: ReadonlyMap<number, string> = new Map()) {}

  private match(want: TraceStep, c: GuidedChoice): boolean {
    if (want.who.startsWith('actor:')) return c.actor && c.key === want.who;
    return !c.actor && c.key === want.who && c.what === want.what && c.arg === want.arg;
  }

  private defaultPick(choices: GuidedChoice[]): number {
    if (this.last !== null) { const i = choices.findIndex((c) => !c.actor && c.key === this.last); if (i >= 0) return i; }
    const a = choices.findIndex((c) => c.actor);
    return a >= 0 ? a : 0;
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
    const c = choices[pick]!;
    if (!c.actor && this.last !== null && c.key !== this.last && choices.some((x) => !x.actor && x.key === this.last)) this.preemptions++;
    if (!c.actor) this.last = c.key;
    this.decisions.push({ keys: choices.map((x) => x.key), def: choices[def]!.key, whatOfDef: choices[def]!.what, picked: c.key });
    void decision;
    return pick;
  };
}

type Run = { res: IterationResult & { steps: TraceStep[] }; chooser: Chooser; plan: Plan; sig: string | undefined };

export interface MinimizeOptions {
  /** time budget, s (default 60) */
  seconds?: number;
  /** where to write (default: next to the input, .min.trace.json) */
  out?: string | null;
  log?: (line: string) => void;
}

export async function minimizeTrace(t: StressTrace, opts: MinimizeOptions = {}): Promise<MinimizeResult> {
  const t0 = performance.now();
  const none: PlanStats = { steps: t.steps.length, ops: 0, actors: 0, records: 0, preemptions: 0 };
  if (t.outcome.startsWith('lock-order')) {
    // lockdep's graph lives as long as the topology (a boot): a cycle is reported once, so
    // candidates on one reused topology cannot show it again — nothing to compare against
    return { ok: false, message: `${t.outcome} is reported once per topology (lockdep's graph persists): not minimized`, before: none, after: none, perThread: {}, trace: null, file: null, candidates: 0, ms: 0, verified: false };
  }
  const deadline = t0 + (opts.seconds ?? 60) * 1000;
  const log = opts.log ?? (() => undefined);
  const timeLeft = (): boolean => performance.now() < deadline;
  const job = new StressJob({ workload: t.workload, variant: t.variant, knobs: t.knobs, device: t.device, seed: t.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  let candidates = 0;
  const empty: PlanStats = { steps: t.steps.length, ops: 0, actors: 0, records: 0, preemptions: 0 };
  try {
    // 1. baseline: the trace as `dcd replay` runs it
    const base = await job.iteration(t.iteration, { kind: 'replay', steps: t.steps }, t.plan ? { plan: t.plan } : {});
    const basePlan = clonePlan(job.lastPlan!);
    if (base.outcome !== t.outcome) {
      return { ok: false, message: `the trace does not reproduce: expected ${t.outcome}, got ${base.outcome}${base.divergence ? ` (${base.divergence})` : ''}`, before: empty, after: empty, perThread: {}, trace: null, file: null, candidates, ms: performance.now() - t0, verified: false };
    }
    const target = base.signature;
    const guide0 = base.steps;
    const runWith = async (plan: Plan, guide: readonly TraceStep[], window: number, directives?: Map<number, string>): Promise<Run> => {
      candidates++;
      const chooser = new Chooser(guide, window, directives);
      const policy: Policy = { kind: 'guided', choose: chooser.choose };
      const res = await job.iteration(t.iteration, policy, { plan });
      return { res, chooser, plan, sig: res.signature };
    };
    const same = (r: Run): boolean => r.res.outcome === t.outcome && (target === undefined || r.sig === target);
    // the baseline under the chooser (exact follow): its preemptions
    const b2 = await runWith(basePlan, guide0, 1);
    const before: PlanStats = { steps: t.steps.length, ...planStats(basePlan), preemptions: b2.chooser.preemptions };
    log(`baseline: ${t.outcome} (${target ?? 'no signature'}); ${before.steps} steps, ${before.actors} actors, ${before.ops} ops, ${before.records} records, ${before.preemptions} preemptions`);
    let best: Run = same(b2) ? b2 : { res: base, chooser: b2.chooser, plan: basePlan, sig: target };
    let guide = best.res.steps;
    const WINDOW = 8;
    // 2. plan: greedy one-at-a-time removal to a 1-minimal plan
    const tryPlan = async (p: Plan): Promise<boolean> => {
      if (!timeLeft()) return false;
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
      for (let o = 0; o < best.plan.actors[a]!.ops.length && timeLeft(); o++) {
        if (best.plan.actors[a]!.ops.length <= 1) break;
        const p = clonePlan(best.plan);
        p.actors[a]!.ops.splice(o, 1);
        if (await tryPlan(p)) o--;
      }
    }
    for (let a = 0; a < best.plan.actors.length && timeLeft(); a++) {
      for (let o = 0; o < best.plan.actors[a]!.ops.length && timeLeft(); o++) {
        const op = best.plan.actors[a]!.ops[o]!;
        if (op.op !== 'add') continue;
        for (let r = 0; r < (best.plan.actors[a]!.ops[o] as Extract<StressOp, { op: 'add' }>).records.length && timeLeft(); r++) {
          const cur = best.plan.actors[a]!.ops[o] as Extract<StressOp, { op: 'add' }>;
          if (cur.records.length <= 1) break;
          const p = clonePlan(best.plan);
          const add = p.actors[a]!.ops[o] as Extract<StressOp, { op: 'add' }>;
          add.records.splice(r, 1);
          add.records.forEach((x, i) => { x.more = i < add.records.length - 1; });
          if (await tryPlan(p)) r--;
        }
      }
    }
    for (let s = 0; s < best.plan.setup.length && timeLeft(); s++) {
      const p = clonePlan(best.plan);
      p.setup.splice(s, 1);
      if (await tryPlan(p)) s--;
    }
    log(`plan: ${JSON.stringify(planStats(best.plan))} after ${candidates} candidates`);
    // 3. schedule: zero preemptions, then drop guide steps, then single preemption points
    if (best.chooser.preemptions > 0 && timeLeft()) {
      const r0 = await runWith(best.plan, [], WINDOW);
      if (same(r0)) best = r0;
    }
    if (best.chooser.preemptions > 0 && timeLeft()) {
      // ddmin over the guide (chunks halving), keeping a removal when the outcome stays
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
    if (best.chooser.preemptions > 1 && timeLeft()) {
      // one preemption point of the non-preemptive run: racy windows first
      const r0 = await runWith(best.plan, [], WINDOW);
      const cands: { d: number; to: string; rank: number }[] = [];
      r0.chooser.decisions.forEach((dec, d) => {
        for (const k of dec.keys) if (k !== dec.def) cands.push({ d, to: k, rank: dec.whatOfDef === 'noise' ? 0 : dec.whatOfDef === 'acquire' ? 1 : 2 });
      });
      cands.sort((a, b) => a.rank - b.rank || a.d - b.d);
      for (const c of cands) {
        if (!timeLeft()) break;
        const r = await runWith(best.plan, [], WINDOW, new Map([[c.d, c.to]]));
        if (same(r) && r.chooser.preemptions < best.chooser.preemptions) { best = r; break; }
      }
    }
    const fin = best;
    const steps = fin.res.steps;
    const after: PlanStats = { steps: steps.length, ...planStats(fin.plan), preemptions: fin.chooser.preemptions };
    const perThread: Record<string, number> = {};
    for (const s of steps) perThread[s.who] = (perThread[s.who] ?? 0) + 1;
    const info: MinimizedInfo = { from: before, to: after, candidates, ms: Math.round(performance.now() - t0), source: t.schedule };
    const out: StressTrace = {
      ...t, schedule: 'minimized', recordedFree: false, steps, plan: fin.plan, outcome: fin.res.outcome, class: fin.res.class, invariant: fin.res.invariant,
      ...(fin.res.detail ? { detail: fin.res.detail } : {}), ...(fin.res.signature ? { signature: fin.res.signature, title: fin.res.title! } : {}),
      record: job.lastRecord ?? undefined, preemptions: after.preemptions, minimized: info,
    } as StressTrace;
    // the record must be the final run's: run it once more (strict replay of its own steps)
    const again = await job.iteration(t.iteration, { kind: 'replay', steps }, { plan: fin.plan });
    // (handles differ between runs: the detail must come from the run the record does)
    if (again.outcome === fin.res.outcome && job.lastRecord) { out.record = job.lastRecord; if (again.detail) out.detail = again.detail; }
    await job.close();
    const file = opts.out === null ? null : opts.out ?? null;
    if (file) writeTrace(file, out);
    const rep = await replayTrace(out, 1);
    return { ok: true, message: 'minimized', before, after, perThread, trace: out, file, candidates, ms: performance.now() - t0, verified: rep.reproduced };
  } finally {
    await job.close();
  }
}

export function formatMinimize(r: MinimizeResult): string {
  const f = (s: PlanStats): string => `${s.steps} steps, ${s.actors} actors, ${s.ops} ops, ${s.records} records, ${s.preemptions} preemptions`;
  return [
    `before: ${f(r.before)}`,
    `after:  ${f(r.after)}  (${Object.entries(r.perThread).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `${r.candidates} candidates in ${(r.ms / 1000).toFixed(1)} s; strict replay of the minimized trace: ${r.verified ? 'REPRODUCED' : 'NOT reproduced'}`,
    ...(r.file ? [`wrote ${r.file}`] : []),
  ].join('\n');
}
