/**
 * DOC: replaying a stress trace — same topology, same plan (workload, seed, iteration), the
 * recorded global order of steps forced through the turnstile; reproduced when the outcome is the
 * same. When the run cannot follow the recording, the first step where it diverged is reported.
 */
import { StressJob } from './runner.js';
import type { StressTrace } from './trace.js';

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
}

/**
 * Replay a trace. A free-run recording orders only the instrumented points; if a strict replay
 * diverges (a step the controlled run cannot take in that order), the replay is retried with the
 * recorded prefix up to the divergence — up to `attempts` times — and the divergence reported.
 */
export async function replayTrace(t: StressTrace, attempts = 3): Promise<ReplayResult> {
  const job = new StressJob({
    workload: t.workload, variant: t.variant, knobs: t.knobs, device: t.device, seed: t.seed,
    schedule: { kind: 'random' }, noise: false, outDir: null,
  });
  let last: ReplayResult | null = null;
  try {
    for (let a = 1; a <= attempts; a++) {
      const r = await job.iteration(t.iteration, { kind: 'replay', steps: t.steps }, t.focus ? { focus: t.focus } : undefined);
      // reproduced when the recorded outcome is among this run's outcomes: a replay starts a fresh
      // topology, whose lockdep graph may report the v11 cycle again beside the recorded outcome
      last = { reproduced: r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome), expected: t.outcome, got: r.outcome, outcomes: r.outcomes ?? [r.outcome], class: r.class, ...(r.detail ? { detail: r.detail } : {}), divergence: r.divergence, steps: r.steps.length, attempts: a };
      if (last.reproduced) break;
    }
  } finally {
    await job.close();
  }
  return last!;
}
