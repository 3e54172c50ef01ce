/**
 * DOC: stress trace files — everything needed to reproduce one iteration.
 *
 * A trace names the workload, the seed and iteration (which fix the plan), the host variant and
 * knobs, the device personality, the schedule, the outcome seen, and the global order of
 * instrumented steps (from the controlled scheduler, or from the step log of a free run).
 * `dcd replay TRACE` rebuilds the same topology and plan and forces that order with the turnstile.
 *
 * Optional fields (still version 1: a reader that does not know them replays the same run):
 * `plan` replaces the workload's plan for (seed, iteration) — a minimized trace (`dcd minimize`)
 * carries the smaller plan it reproduces with; `record` holds what the failing iteration did —
 * its runtime events, each tagged with the schedule step it was emitted in, the locks each
 * stepping thread held, and the sysfs names of the objects the events mention — which
 * `dcd explain` prints instead of table handles; `signature`/`title` name the finding
 * (stress/signature.ts); `minimized` says what `dcd minimize` removed.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Knobs, Variant } from '../src/scenario/types.js';
import type { Personality } from '../src/device/config.js';
import type { TraceStep } from './turnstile.js';
import type { Plan } from './ops.js';
import { SWARM_PLAN_VERSION } from './workloads.js';
import type { NamedEvent } from './signature.js';
import type { HungReport } from '../src/errors.js';

/** What the failing iteration did, for `dcd explain` (stress/explain.ts). */
export interface TraceRecord {
  /** runtime events (lock holds omitted), tagged with the step they were emitted in */
  events: NamedEvent[];
  /** per step: the lock classes the stepping thread held when it reached its point */
  held: string[][];
  /** sysfs / kernel names of table handles: region, extent, dax device, group handles */
  names: { regions: Record<string, string>; extents: Record<string, string>; daxDevs: Record<string, string>; groups: Record<string, string> };
  /**
   * the iteration's hung-wait reports, in the order they were made (a free run does not replay, and
   * which half of a deadlock was reported first decides its classification: afterKnownDeadlock, stress/checkers/locks.ts)
   */
  hung?: HungReport[];
  /** events were truncated at this many */
  truncated?: number;
  /** per step: wall-clock start and end (ms since the race began), for timelines */
  times?: [number, number][];
}

export interface MinimizedInfo {
  from: { steps: number; ops: number; actors: number; records: number; preemptions: number };
  to: { steps: number; ops: number; actors: number; records: number; preemptions: number };
  candidates: number;
  ms: number;
  source: string;
  /** the schedule as point-named preemptions over the non-preemptive default (stress/minimize.ts) */
  preempts?: string[];
  /** per thread that matters: its runs to the next switch, up to the failure */
  segments?: Record<string, number>;
  /** the racing threads (their events witness the failure) */
  racing?: string[];
  /** threads that share no lock class with the racing threads before the failure */
  dropped?: string[];
  /** steps after the failure */
  trailing?: number;
}

export const TRACE_VERSION = 1;

export interface StressTrace {
  version: number;
  kind: 'dcd-stress-trace';
  workload: string;
  seed: string;
  iteration: number;
  variant: Variant;
  knobs: Knobs;
  device: Personality;
  schedule: string;
  noise: boolean;
  outcome: string;
  class: string;
  invariant: string;
  detail?: string;
  steps: TraceStep[];
  /** free runs: the step log was recorded while threads ran freely */
  recordedFree: boolean;
  /** optional: the plan to run instead of the workload's (a minimized plan) */
  plan?: Plan;
  /** optional: what the failing iteration did (events per step, locks held, object names) */
  record?: TraceRecord;
  signature?: string;
  title?: string;
  /** optional: context switches away from a thread that could have continued */
  preemptions?: number;
  minimized?: MinimizedInfo;
  /** swarm: the named window the coverage feedback aimed the plan at (replay needs it) */
  focus?: string;
  /** swarm: the plan generator's version the plan was drawn with (stress/workloads.ts
   *  SWARM_PLAN_VERSION; absent: 1) */
  swarmPlan?: number;
  /** every outcome the iteration saw, most severe first */
  outcomes?: string[];
}

export function writeTrace(file: string, t: StressTrace): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(t, null, 1)}\n`);
}

export type TraceRead = { ok: true; trace: StressTrace } | { ok: false; message: string };

/** Read and validate a trace file; a bad file is a typed error naming what is wrong. */
export function readTrace(file: string): TraceRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, message: `cannot read ${file}: ${(e as Error).message}` };
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `${file} is not JSON: ${(e as Error).message}` };
  }
  const t = j as Partial<StressTrace>;
  if (typeof j !== 'object' || j === null || t.kind !== 'dcd-stress-trace') return { ok: false, message: `${file}: not a dcd stress trace (kind must be "dcd-stress-trace")` };
  if (t.version !== TRACE_VERSION) return { ok: false, message: `${file}: trace version ${String(t.version)} (this dcd reads ${TRACE_VERSION})` };
  for (const k of ['workload', 'seed', 'variant', 'device', 'outcome', 'schedule'] as const) {
    if (typeof t[k] !== 'string') return { ok: false, message: `${file}: field "${k}" missing or not a string` };
  }
  if (!Number.isInteger(t.iteration)) return { ok: false, message: `${file}: field "iteration" must be an integer` };
  if (!Array.isArray(t.steps)) return { ok: false, message: `${file}: field "steps" must be an array` };
  if (t.plan !== undefined && (typeof t.plan !== 'object' || t.plan === null || !Array.isArray(t.plan.setup) || !Array.isArray(t.plan.actors))) return { ok: false, message: `${file}: field "plan" must be {setup: [...], actors: [...]}` };
  // a newer generator than this dcd has would draw another plan: refuse rather than replay that
  if (t.swarmPlan !== undefined && (!Number.isInteger(t.swarmPlan) || t.swarmPlan < 1 || t.swarmPlan > SWARM_PLAN_VERSION)) return { ok: false, message: `${file}: field "swarmPlan" must be an integer 1..${SWARM_PLAN_VERSION} (the swarm plan generator versions this dcd draws)` };
  if (t.record !== undefined && (typeof t.record !== 'object' || t.record === null || !Array.isArray(t.record.events) || !Array.isArray(t.record.held))) return { ok: false, message: `${file}: field "record" must hold events and held arrays` };
  // a swarm plan that holds an extent device across time replays only under the NOT-v11 knob that
  // allows it (docs/fidelity-holders.md); the targeted workloads that hold force the knob themselves
  if (t.workload === 'swarm' && t.plan && (t.knobs as Record<string, string> | undefined)?.['extent-refs'] !== 'user') {
    const ops = [...t.plan.setup, ...t.plan.actors.flatMap((a) => a.ops)];
    if (ops.some((o) => o.op === 'hold-extent')) return { ok: false, message: `${file}: the plan holds an extent device across time (hold-extent), which is NOT a v11 mechanism: the trace's knobs need "extent-refs": "user" (docs/fidelity-holders.md)` };
  }
  return { ok: true, trace: t as StressTrace };
}
