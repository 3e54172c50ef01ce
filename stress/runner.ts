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
import { NOISE_SITE, SCHED_FREE, SCHED_RECORD, POINT_NAMES, PT_ACQUIRE, PT_HANDOFF, PT_STEAL, PT_NOISE, PT_RESUME, PT_CLOCK } from '../src/shm/sched.js';
import { standardCheckers, classify, OUTCOMES, INV, type Classification } from './checkers/index.js';
import { Bindings, runOp, type Actor, type OpOutcome, type Plan } from './ops.js';
import { ControlledScheduler, type Policy, type TraceStep } from './turnstile.js';
import { WORKLOADS, type Workload } from './workloads.js';
import { writeTrace, type StressTrace, type TraceRecord } from './trace.js';
import { addFinding, signatureOf, sortFindings, type FindingRow, type NamedEvent } from './signature.js';
import type { DecodedEvent } from '../src/protocol.js';
import { join } from 'node:path';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';

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
}

export interface IterationResult {
  iteration: number;
  outcome: string;
  class: 'acceptable' | 'forbidden' | 'known-hazard';
  invariant: string;
  /** every distinct outcome the checkers named this iteration, most severe first */
  outcomes?: string[];
  detail?: string;
  trace?: string;
  ms: number;
  /**
   * Racy-window coverage of this iteration (controlled runs; see Coverage): how often the race a
   * lock or gate prevents was set up. A negative control asserts it above zero with the rule on.
   */
  coverage?: Record<string, number>;
  /** stress/signature.ts: the finding's key and title (non-acceptable outcomes) */
  signature?: string;
  title?: string;
  /** schedule steps of the iteration (the reproducer's length) */
  traceSteps?: number;
  /** `--minimize S`: the minimized trace written for a new signature */
  minimized?: string;
}

/** Options of one iteration beyond the schedule (minimize, explain). */
export interface IterationOptions {
  /** run this plan instead of the workload's plan for (seed, iteration) */
  plan?: Plan;
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
    if (ev.type === 'dc-record' && ev.eventType === 0) this.open.set(ev.memdev, ev.more === 1);
    else if (ev.type === 'mbox' && ev.opcode === CXL_MBOX_OP.GET_EVENT_RECORDS && this.open.get(ev.memdev)) this.add('log re-read mid-chain');
  }
}

export function scheduleName(s: Schedule): string {
  return s.kind === 'pct' ? `pct:depth=${s.depth}` : s.kind;
}

export class StressJob {
  readonly opts: JobOptions;
  readonly workload: Workload;
  private sys: DcdSystem | null = null;
  private fresh = true;
  private readonly cov = new Coverage();
  /** what the last iteration did (events per step, locks held, names): for traces and explain */
  lastRecord: TraceRecord | null = null;
  /** the plan the last iteration ran */
  lastPlan: Plan | null = null;

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
      this.sys.onEvent((e) => this.cov.onEvent(e));
      this.fresh = true;
    }
    return this.sys;
  }

  async close(): Promise<void> {
    if (this.sys) await this.sys.stop();
    this.sys = null;
  }

  /** Run one iteration; `policy` overrides the schedule (replay). */
  async iteration(i: number, policy?: Policy, io: IterationOptions = {}): Promise<IterationResult & { steps: TraceStep[]; divergence: string | null; ops: OpOutcome[]; followed: number }> {
    const t0 = performance.now();
    const sys = await this.system();
    if (!this.fresh) await sys.resetInPlace();
    this.fresh = false;
    const p = new Prng(`${this.opts.seed}:${this.workload.name}:${i}`);
    const plan = io.plan ?? this.workload.plan(p, i);
    this.lastPlan = plan;
    const b = new Bindings();
    const T = sys.sys.turnstile;
    T.setMode(SCHED_FREE);
    for (const op of plan.setup) await runOp(sys, b, op, { name: 'setup', kind: 'user', index: 0, ops: [] });
    await sys.waitIdle(10_000);
    sys.drainEvents();
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
    const controlled = policy ?? (this.opts.schedule.kind === 'free' ? null : this.opts.schedule.kind === 'pct' ? { kind: 'pct' as const, depth: this.opts.schedule.depth } : { kind: 'random' as const });
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
      ops = (await Promise.all(plan.actors.map((a) => runActor(sys, b, a)))).flat();
      // keep recording until quiescence: the host's handling of an FM command outlives the
      // command, and a replay must be given those steps too, or it would choose them freely
      await sys.waitIdle(15_000).catch(() => undefined);
      T.setMode(SCHED_FREE);
      steps = this.freeSteps(sys);
    }
    await sys.waitIdle(15_000).catch(() => undefined);
    let results = await sys.check();
    for (const s of steps) if (s.what === 'noise') this.cov.add(`point:${siteName(s.arg)}`);
    this.cov.add('scan-gate refused', sys.dmesgLines().slice(dmesg0).filter((l) => /not scanned yet; refusing/.test(l.msg)).length);
    // A deadlock (hung wait, or no enabled choice under the controlled scheduler) ends the run in
    // the kernel; the model unwinds it to keep going, so what happens after it (a chain answered
    // by no one, groups onlined without a response) is an artifact: the hung wait is the outcome.
    if (sys.reportCounts().hung > 0) results = results.filter((r) => r.invariant === INV.hung);
    const c: Classification = classify(results);
    const coverage = Object.fromEntries(Object.entries(this.cov.counts).filter(([, n]) => n > 0));
    const res: IterationResult = { iteration: i, outcome: c.outcome, class: c.class, invariant: c.invariant, outcomes: c.outcomes, ms: performance.now() - t0, traceSteps: steps.length, ...(Object.keys(coverage).length ? { coverage } : {}) };
    if (c.detail) res.detail = c.detail;
    sys.drainEvents();
    captureNames(sys, names);
    const record = buildRecord(sys, raceStart, controlled ? marks : null, held, names);
    if (controlled) record.times = times;
    this.lastRecord = record;
    let sig: ReturnType<typeof signatureOf> | null = null;
    if (c.class !== 'acceptable') {
      sig = signatureOf(c.outcome, record.events, c.detail ?? '');
      res.signature = sig.signature;
      res.title = sig.title;
    }
    if (c.class !== 'acceptable' && this.opts.outDir && !policy) {
      const file = join(this.opts.outDir, `${this.workload.name}-${c.outcome}-${this.opts.seed}-${i}.trace.json`);
      const trace: StressTrace = {
        version: 1, kind: 'dcd-stress-trace', workload: this.workload.name, seed: this.opts.seed, iteration: i,
        variant: this.opts.variant, knobs: this.opts.knobs, device: this.opts.device, schedule: scheduleName(this.opts.schedule),
        noise: this.opts.noise, outcome: c.outcome, class: c.class, invariant: c.invariant, ...(c.detail ? { detail: c.detail } : {}),
        steps, recordedFree: !controlled,
        ...(io.plan ? { plan: io.plan } : {}),
        ...(sig ? { signature: sig.signature, title: sig.title } : {}),
        record,
      };
      writeTrace(file, trace);
      res.trace = file;
    }
    return { ...res, steps, divergence, ops, followed };
  }

  /** The step log of a free run, as schedule steps (device resumes are not choices). */
  private freeSteps(sys: DcdSystem): TraceStep[] {
    const out: TraceStep[] = [];
    for (const s of sys.sys.turnstile.steps()) {
      const name = s.slot === 0 ? 'main' : sys.sys.threadName(s.slot);
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
  count: number;
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
  /** non-acceptable iterations grouped by signature (stress/signature.ts); absent in older results */
  findings?: FindingRow[];
  shard?: string;
}

export function summarize(job: JobOptions, results: IterationResult[], elapsedMs: number, shard?: string): StressSummary {
  const rows = new Map<string, OutcomeRow>();
  for (const r of results) {
    const row = rows.get(r.outcome);
    if (row) { row.count++; if (!row.trace && r.trace) row.trace = r.trace; continue; }
    rows.set(r.outcome, {
      outcome: r.outcome, class: r.class, count: 1, firstSeed: `${job.seed}:${r.iteration}`, firstIteration: r.iteration,
      trace: r.trace ?? null, description: (OUTCOMES as Record<string, { description?: string }>)[r.outcome]?.description ?? '',
    });
  }
  const order = { forbidden: 0, 'known-hazard': 1, acceptable: 2 } as const;
  const outcomes = [...rows.values()].sort((a, b) => order[a.class] - order[b.class] || b.count - a.count);
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
    iterations: results.length,
    forbidden: results.filter((r) => r.class === 'forbidden').length,
    knownHazards: results.filter((r) => r.class === 'known-hazard').length,
    elapsedMs, iterationsPerSec: results.length / Math.max(elapsedMs / 1000, 1e-9), outcomes,
    findings: sortFindings(frows.values()),
    ...(shard ? { shard } : {}),
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
function buildRecord(sys: DcdSystem, raceStart: number, marks: number[] | null, held: string[][], names: TraceRecord['names']): TraceRecord {
  const all: DecodedEvent[] = sys.events;
  const events: NamedEvent[] = [];
  let m = 0;
  let truncated: number | undefined;
  for (let k = 0; k < all.length; k++) {
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
  return { events, held, names, ...(truncated ? { truncated: MAX_RECORD_EVENTS } : {}) };
}
