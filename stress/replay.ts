/**
 * DOC: replaying a stress trace — same topology, same plan (workload, seed, iteration), the
 * recorded global order of steps forced through the turnstile; reproduced when the outcome is the
 * same. When the run cannot follow the recording, the first step where it diverged is reported.
 */
import { StressJob } from './runner.js';
import './findings-workloads.js';
import { traceHint } from './workloads.js';
import type { StressTrace, TraceRecord } from './trace.js';
import type { TraceStep } from './turnstile.js';

export interface ReplayResult {
  reproduced: boolean;
  expected: string;
  /** the replay's outcome (the most severe); `outcomes` lists every one it saw */
  got: string;
  outcomes: string[];
  class: string;
  detail?: string;
  divergence: string | null;
  steps: number;
  attempts: number;
  /** recorded steps the replay consumed (= the trace's length when it followed all of it) */
  followed: number;
  /**
   * The replay's own step sequence, in the trace's form (see asRecorded), equals the trace: the
   * run took exactly the recorded steps, no more (after a trace runs out the scheduler would
   * choose freely) and no fewer.
   */
  sameSteps: boolean;
  /** the first index where the replayed sequence and the trace differ, when they do */
  firstMismatch: string | null;
  /** the reproduced run: its steps and record (events per step, locks held) — for `--trace` */
  run?: { steps: TraceStep[]; record: TraceRecord | null };
}

/**
 * A controlled run's steps in the form a trace of the same kind records them. Controlled traces
 * are recorded in that form already. A free-run step log has no actor steps: an FM command is its
 * device's `fm-start`, a clock advance the main thread's `clock`, and a user or dax-bus op the
 * worker's own `op-start` (which the controlled run lists a second time when the worker passes
 * the point — dropped here).
 */
export function asRecorded(steps: TraceStep[], free: boolean): TraceStep[] {
  if (!free) return steps;
  const out: TraceStep[] = [];
  const issued = new Set<string>();
  for (const s of steps) {
    if (s.who.startsWith('actor:')) {
      const a = s.who.slice(6);
      if (a.startsWith('fm/')) out.push({ who: `device/${a.slice(3)}`, what: 'fm-start', arg: '' });
      else if (a === 'clock') out.push({ who: 'main', what: 'clock', arg: '' });
      else { out.push({ who: a, what: 'op-start', arg: '' }); issued.add(a); }
      continue;
    }
    if (s.what === 'op-start' && issued.has(s.who)) { issued.delete(s.who); continue; }
    out.push(s);
  }
  return out;
}

function firstDifference(got: TraceStep[], want: TraceStep[]): string | null {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || g.who !== w.who || g.what !== w.what || g.arg !== w.arg) {
      const f = (x: TraceStep | undefined): string => (x ? `${x.who} ${x.what} ${x.arg}`.trim() : '(none)');
      return `step ${i}: replayed ${f(g)}, recorded ${f(w)}`;
    }
  }
  return null;
}

/**
 * Replay a trace. A free-run recording orders only the instrumented points; if a strict replay
 * diverges (a step the controlled run cannot take in that order), it is retried — up to
 * `attempts` times, each with its own scheduler seed for what follows the divergence — and the
 * divergence reported. Only a run that followed every recorded step, and took no other, counts
 * as reproduced.
 */
export async function replayTrace(t: StressTrace, attempts = 3): Promise<ReplayResult> {
  const job = new StressJob({
    workload: t.workload, variant: t.variant, knobs: t.knobs, device: t.device, seed: t.seed,
    schedule: { kind: 'random' }, noise: false, outDir: null,
  });
  let last: ReplayResult | null = null;
  try {
    for (let a = 1; a <= attempts; a++) {
      // the scheduler's PRNG is seeded apart from the search's (`${seed}:${i}/schedule`): a replay
      // that followed the trace made no random choice, so it cannot have re-found the outcome
      // a minimized trace carries its own (smaller) plan
      const r = await job.iteration(t.iteration, { kind: 'replay', steps: t.steps, seed: `${t.seed}:${t.iteration}/replay#${a}` }, t.plan ? { plan: t.plan } : { hint: traceHint(t) });
      const mismatch = firstDifference(asRecorded(r.steps, t.recordedFree), t.steps);
      // reproduced when the recorded outcome is among this run's outcomes: a replay starts a fresh
      // topology, whose lockdep graph may report the v11 cycle again beside the recorded outcome
      const sameOutcome = r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome);
      // reproduced = the same outcome by the recorded order: a run that diverged, or went on
      // choosing after the trace ran out, found it by its own choices, not by the trace
      const divergence = r.divergence ?? (mismatch ? `the replay left the trace at ${mismatch}` : null);
      last = { reproduced: sameOutcome && divergence === null, expected: t.outcome, got: r.outcome, outcomes: r.outcomes ?? [r.outcome], class: r.class, ...(r.detail ? { detail: r.detail } : {}), divergence, steps: r.steps.length, attempts: a, followed: r.followed, sameSteps: mismatch === null, firstMismatch: mismatch };
      last.run = { steps: r.steps, record: job.lastRecord };
      if (last.reproduced) break;
    }
  } finally {
    await job.close();
  }
  return last!;
}
