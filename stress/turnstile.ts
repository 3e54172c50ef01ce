/**
 * DOC: the controlled scheduler — the main-thread side of the turnstile (src/shm/sched.ts).
 *
 * One worker at a time passes an instrumented point. Each decision looks at every enrolled
 * thread (parked at a point, or blocked on a predicate it can evaluate from shared memory) and at
 * every actor whose previous operation is complete, and picks one:
 *  - `random`: a seeded random walk over the enabled choices;
 *  - `pct:depth=D`: probabilistic concurrency testing (Burckhardt et al.) — random distinct
 *    priorities per thread/actor, D-1 random priority change points over the estimated run length;
 *    always the highest-priority enabled choice;
 *  - `replay`: follow a recorded order of steps (from a controlled run or a free run recorded by
 *    the step log), reporting the first step where the run diverges; from there (or when the
 *    trace runs out) the run goes on to quiescence as a random walk seeded by `replay.seed`.
 * rwsem handoff (src/shm/lock.ts, kernel/locking/rwsem.c): time is abstract here, so whether a
 * writer parked at an rwsem held by readers has waited past RWSEM_WAIT_TIMEOUT is a decision.
 * When a reader is parked at the same rwsem and could enter, the choices include both the reader
 * (it steals the lock past the writer: step `steal`) and `<writer>:handoff` (the writer's interval
 * elapsed: step `handoff`, new readers now queue behind it). Both are trace steps, so a replay —
 * of a controlled run, or of a free run that recorded them — takes the same side.
 * Device threads are eager: a device whose doorbell is rung runs at once (it touches only its own
 * state and the register file while its host waits), so device steps are never choices.
 * Fabric-manager commands and clock advances run atomically from the main thread.
 *
 * No enabled choice with work remaining is a deadlock: it is reported like a hung wait (waiter,
 * holder, what each holds) and the run is aborted — parked threads are released with SchedAbort
 * and unwind, their locks released by the scoped lock helpers.
 */
import { Prng } from '../src/prng.js';
import type { DcdSystem } from '../src/runtime/system.js';
import { lockAvailable, lockOwner, rwsemSetHandoff, rwsemState } from '../src/shm/lock.js';
import {
  SH_RUNNING, NOISE_SITE, OP_EQ, PRED_LOCK, PRED_REG, PRED_SYS, PT_ACQUIRE, PT_CLOCK, PT_FM_START, PT_HANDOFF, PT_NOISE, PT_OP_START, PT_RESUME, PT_STEAL,
  SCHED_CONTROLLED, SCHED_FREE, SL_ENROLLED, SL_KIND, SL_ARG, SL_MODE, SL_PRED, SL_PRED_BUF, SL_PRED_IDX, SL_PRED_OP, SL_PRED_VAL,
  TS_BLOCKED, TS_FREE, TS_IDLE, TS_PARKED, POINT_NAMES, type Turnstile,
} from '../src/shm/sched.js';
import { LOCK_KIND, LOCK_KIND_RWSEM, LOCK_WORDS, REG_DOORBELL, REG_IRQ, SYS_HUNG_REPORTS, SYS_WQ_KICK } from '../src/shm/layout.js';
import type { HungReport } from '../src/errors.js';
import { wallMs } from '../src/shm/clock.js';
import { Bindings, opLabel, runOp, type Actor, type OpOutcome } from './ops.js';
import { resourceOfStep } from './coverage.js';
import { envMs } from './env.js';

/** grantAndWait's synchronous wait for the granted thread to park (ms; 0: waitAsync only).
 *  DCD_SYNC_GRANT_WAIT_MS overrides it for an A/B. */
const SYNC_GRANT_WAIT_MS = envMs('DCD_SYNC_GRANT_WAIT_MS', 2);

/**
 * issue(): how long the scheduler sleeps for a user or dax-bus worker to take the op it was just
 * posted and park (at its op-start point) before polling for it, ms. DCD_OP_START_WAIT_MS=0:
 * polling only (A/B).
 */
const OP_START_WAIT_MS = envMs('DCD_OP_START_WAIT_MS', 2);

/**
 * `replay.seed`: the seed of the scheduler's own PRNG during a replay. A replay that follows its
 * trace makes no random choice, so a seed different from the search's proves the order came from
 * the trace (stress/replay.ts passes one).
 */
export type Policy =
  /** `skew` S > 0: a weighted walk — each agent (an actor and its worker thread count as one:
   *  `actor:user0` and `user0`) draws a speed 2^u, u uniform in [-S, S], at its first choice, and
   *  each decision picks in proportion to the speeds (see ControlledScheduler.speedOf) */
  | { kind: 'random'; avoid?: Avoid[]; skew?: number }
  /** `steps`: the run length the change points are spread over (default PCT_STEPS) */
  | { kind: 'pct'; depth: number; avoid?: Avoid[]; steps?: number }
  | { kind: 'replay'; steps: TraceStep[]; seed?: string }
  /** the caller picks (stress/minimize.ts: bounded-preemption search, lenient replay) */
  | { kind: 'guided'; choose: (choices: GuidedChoice[], decision: number) => number; avoid?: Avoid[] };

/** One enabled choice as a guided policy sees it: the choice key and, for a thread, its point. */
export interface GuidedChoice {
  key: string;
  /** true: issue this actor's next op; false: let this thread pass its point */
  actor: boolean;
  what: string;
  arg: string;
}

/** Observation of each decision (stress/runner.ts records events, held locks per step). */
export interface StepObserver {
  /** before the step runs: `slot` is the thread's slot (-1 for an actor issue) */
  before?(index: number, step: TraceStep, slot: number): void;
  /** after the thread parked again (or the actor's op was issued) */
  after?(index: number, step: TraceStep, slot: number): void;
}

/**
 * Coverage feedback (stress/coverage.ts): a thread that has so far always touched `resource`
 * before another thread. At its first step onto that resource in a run, when something else is
 * enabled, the scheduler runs something else first (PCT: a priority change point placed there),
 * so the conflict's other order gets its chance.
 */
/** PCT's default estimate of a run's length in decisions (its change points are drawn below it) */
export const PCT_STEPS = 400;

export interface Avoid {
  who: string;
  resource: string;
}

/** One step of a schedule: a thread passing a point, or an actor issuing its next op. */
export interface TraceStep {
  /** thread name (e.g. "irq/mem0", "user1") or "actor:<name>" */
  who: string;
  /** point kind name (acquire, noise, op-start, resume, fm-start, clock) or the op label */
  what: string;
  /** lock class / predicate / noise site, for matching */
  arg: string;
}

export interface ControlledResult {
  steps: TraceStep[];
  outcomes: OpOutcome[];
  deadlock: string | null;
  divergence: string | null;
  /** replay: how many recorded steps were consumed (all of them when the replay followed the trace) */
  followed: number;
  /**
   * Racy-window coverage: per decision, a thread parked at a named noise point (a racy window)
   * while another thread waits to acquire a lock the first holds (`<site> vs <lock class>`), or
   * sits at the same point (`<site> x2`). A negative control's rule-on run asserts its window
   * count is above zero, so "the outcome never happened" means the window was reached.
   */
  windows: Record<string, number>;
}

const SITE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(NOISE_SITE).map(([k, v]) => [v, k]));

/** A word nobody notifies: `Atomics.wait` on it is a sleep finer than a timer's 1 ms. */
const PAUSE_WORD = new Int32Array(new SharedArrayBuffer(4));
/** How long pollWait sleeps between looks, ms (DCD_SCHED_POLL_MS=0: the old 1 ms timers). */
const POLL_MS = envMs('DCD_SCHED_POLL_MS', 0.2);

/**
 * The k-th wait of a poll for a worker to reach its point: the first few are one event-loop turn
 * each; then a short synchronous sleep and one event-loop turn (a worker receiving a message
 * needs nothing from this thread, and a reply that settles an op is read in the turn). A 1 ms
 * timer there made an actor's op cost 2.2 ms of a controlled race on average (a worker takes a
 * fraction of a millisecond to reach its op-start point), eighth session.
 */
async function pollWait(k: number, first = 20): Promise<void> {
  if (k < first) return sleep(0);
  if (POLL_MS <= 0) return sleep(1);
  Atomics.wait(PAUSE_WORD, 0, 0, POLL_MS);
  return sleep(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms)));
}

/** One decision: an actor issues its next op, a thread passes its point, or a writer takes the handoff. */
interface Choice {
  key: string;
  actor?: Actor;
  thread?: ThreadInfo;
  handoff?: { writer: ThreadInfo; lock: number };
}

interface ThreadInfo {
  slot: number;
  name: string;
  role: 'device' | 'irq' | 'workqueue' | 'bus' | 'user';
  /**
   * A device serving outside the turnstile (not enrolled: workers/device.ts, DCD_FREE_DEVICES):
   * the scheduler waits for its memdev's doorbell to clear instead of granting it. Its memdev.
   */
  freeDevice?: number;
}

function roleOf(name: string): ThreadInfo['role'] {
  if (name.startsWith('device/')) return 'device';
  if (name.startsWith('irq/')) return 'irq';
  if (name === 'workqueue' || name.startsWith('workqueue/')) return 'workqueue';
  if (name === 'dax-bus') return 'bus';
  return 'user';
}

export class ControlledScheduler {
  private readonly sys: DcdSystem;
  private readonly T: Turnstile;
  private readonly threads: ThreadInfo[] = [];
  private readonly prng: Prng;
  private readonly policy: Policy;
  private readonly priorities = new Map<string, number>();
  private changePoints: number[] = [];
  private decisions = 0;
  /** optional per-step observation (additive: unset, nothing changes) */
  observer: StepObserver | null = null;

  constructor(sys: DcdSystem, policy: Policy, seed: string) {
    this.sys = sys;
    this.T = sys.sys.turnstile;
    this.policy = policy;
    this.prng = new Prng(policy.kind === 'replay' && policy.seed !== undefined ? policy.seed : `${seed}/schedule`);
    for (let s = 1; s < sys.sys.threadCount(); s++) {
      const name = sys.sys.threadName(s);
      const role = roleOf(name);
      // a device worker's memdev: its index among the system's devices (named device/<memdev name>)
      const m = role === 'device' ? sys.devices.findIndex((d) => d?.name === name) : -1;
      const free = m >= 0 && sys.regfiles[m] !== undefined && Atomics.load(this.T.slots, this.T.base(s) + SL_ENROLLED) === 0;
      if (role === 'device' && !free && Atomics.load(this.T.slots, this.T.base(s) + SL_ENROLLED) === 0) throw new Error(`controlled run: device thread ${name} serves outside the turnstile but has no register file of this system`);
      this.threads.push({ slot: s, name, role, ...(free ? { freeDevice: m } : {}) });
    }
    // choices are ordered by thread name, never by slot: slots follow worker start-up timing
    this.threads.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private argName(kind: number, arg: number, mode: number): string {
    if (kind === PT_ACQUIRE || kind === PT_HANDOFF || kind === PT_STEAL) return `${this.sys.sys.lockClassNameOf(arg)}(${mode === 2 || mode === 3 ? 'read' : 'write'})`;
    if (kind === PT_NOISE) return `site${arg}`;
    if (kind === PT_RESUME) return `pred${arg}`;
    return '';
  }

  private predHolds(slot: number): boolean {
    const s = this.T.slots;
    const b = this.T.base(slot);
    const src = Atomics.load(s, b + SL_PRED);
    const idx = Atomics.load(s, b + SL_PRED_IDX);
    const val = Atomics.load(s, b + SL_PRED_VAL);
    const op = Atomics.load(s, b + SL_PRED_OP);
    let v: number;
    if (src === PRED_SYS) v = Atomics.load(this.sys.sys.header, idx);
    else if (src === PRED_REG) v = Atomics.load(this.sys.regfiles[Atomics.load(s, b + SL_PRED_BUF)]!.words, idx);
    else if (src === PRED_LOCK) return lockAvailable(this.sys.sys, idx, val === 2 ? 'read' : val === 3 ? 'read-recursive' : 'write', slot);
    else return true;
    return op === OP_EQ ? v === val : v !== val;
  }

  private enabled(t: ThreadInfo): boolean {
    const st = this.T.state(t.slot);
    if (st === TS_PARKED) {
      const kind = Atomics.load(this.T.slots, this.T.base(t.slot) + SL_KIND);
      if (kind === PT_ACQUIRE) return this.predHolds(t.slot);
      return true;
    }
    if (st === TS_BLOCKED) return this.predHolds(t.slot);
    return false;
  }

  private describe(t: ThreadInfo): TraceStep {
    const b = this.T.base(t.slot);
    const kind = Atomics.load(this.T.slots, b + SL_KIND);
    return { who: t.name, what: POINT_NAMES[kind] ?? `kind${kind}`, arg: this.argName(kind, Atomics.load(this.T.slots, b + SL_ARG), Atomics.load(this.T.slots, b + SL_MODE)) };
  }

  /** Wait until no thread holds the turnstile and every service thread sits in it. */
  private async settle(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const runningFree = this.T.running() >= 0;
      const unsettled = this.threads.some((t) => {
        const st = this.T.state(t.slot);
        if (t.role === 'user' || t.role === 'bus') return (st !== TS_IDLE && st !== TS_FREE && st !== TS_PARKED && st !== TS_BLOCKED) || this.aboutToEnter(t);
        if (t.freeDevice !== undefined) return this.doorbellRung(t.freeDevice);
        return st !== TS_PARKED && st !== TS_BLOCKED;
      });
      if (!runningFree && !unsettled) return true;
      if (Date.now() > deadline) return false;
      // every 10 looks (about 2 ms in): a thread that checked the mode just before it changed
      // and then went to sleep in its free wait missed the first nudge, and sleeps out its slice
      // (a device's 50 ms idle wait) — every 50 looks, such a settle took 9–13 ms, against 2–4
      if (i % 10 === 0) this.nudge();
      await pollWait(i);
    }
  }

  /**
   * Wait until no user or dax-bus worker sits idle with a message in flight: it is about to enter
   * the turnstile (the cxl_dax_region probe the main thread posts once create-region returns), and
   * choosing before it does would make the choices depend on message latency — a seed's schedule
   * would not reproduce (found running the same seed twice under CPU load).
   */
  /** A user or dax-bus worker outside the turnstile with a control-plane message in flight. */
  private aboutToEnter(t: ThreadInfo): boolean {
    if (t.role !== 'user' && t.role !== 'bus') return false;
    const st = this.T.state(t.slot);
    return (st === TS_IDLE || st === TS_FREE) && this.sys.messagesInFlight(t.name, t.slot) > 0;
  }

  private async awaitMessages(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const t = this.threads.find((x) => this.aboutToEnter(x));
      if (!t) return;
      if (Date.now() > deadline) throw new Error(`controlled run: ${t.name} has had a message in flight for ${timeoutMs} ms without taking it`);
      await pollWait(i);
    }
  }

  /** Wake threads sleeping in free waits so they re-enter through the turnstile. */
  private nudge(): void {
    for (const rf of this.sys.regfiles) { Atomics.notify(rf.words, REG_IRQ); Atomics.notify(rf.words, REG_DOORBELL); }
    Atomics.notify(this.sys.sys.header, SYS_WQ_KICK);
  }

  private async grantAndWait(t: ThreadInfo): Promise<boolean> {
    this.T.grant(t.slot);
    const deadline = Date.now() + 5000;
    // the granted thread clears SH_RUNNING and notifies it when it parks again (Turnstile.park):
    // sleep on that word instead of spinning the event loop, which took a core from the workers
    const want = t.slot + 1;
    // most granted threads park again within a fraction of a millisecond: a bounded synchronous
    // futex wait is woken by the park's notify directly, where waitAsync's wake reaches this
    // thread as an event-loop task (a second hop per decision); nothing a granted thread does
    // before its next point needs this thread's event loop, and past the bound the wait below
    // takes over
    if (SYNC_GRANT_WAIT_MS > 0 && Atomics.load(this.T.hdr, SH_RUNNING) === want) Atomics.wait(this.T.hdr, SH_RUNNING, want, SYNC_GRANT_WAIT_MS);
    while (Atomics.load(this.T.hdr, SH_RUNNING) === want) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const r = Atomics.waitAsync(this.T.hdr, SH_RUNNING, want, Math.min(left, 100));
      if (r.async) {
        const keep = setTimeout(() => undefined, 110);
        try { await r.value; } finally { clearTimeout(keep); }
      }
    }
    return true;
  }

  /** A command is posted on memdev `m`'s mailbox and not completed (the device is not stopped). */
  private doorbellRung(m: number): boolean {
    const rf = this.sys.regfiles[m]!;
    return Atomics.load(rf.words, REG_DOORBELL) === 1 && !rf.stopped();
  }

  /**
   * A device outside the turnstile (ThreadInfo.freeDevice) runs a posted command by itself: the
   * poster rang the doorbell and parked, and nothing else runs until the scheduler grants again,
   * so waiting here for the completion gives every decision the state an eager grant gave it.
   * The completion's notify wakes this thread (a bounded synchronous wait, then waitAsync).
   */
  private async awaitFreeDevice(t: ThreadInfo): Promise<void> {
    const m = t.freeDevice!;
    if (!this.doorbellRung(m)) return;
    const w = this.sys.regfiles[m]!.words;
    if (SYNC_GRANT_WAIT_MS > 0) Atomics.wait(w, REG_DOORBELL, 1, SYNC_GRANT_WAIT_MS);
    const deadline = Date.now() + 5000;
    while (this.doorbellRung(m)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`controlled run: ${t.name} did not complete its mailbox command`);
      const r = Atomics.waitAsync(w, REG_DOORBELL, 1, Math.min(left, 100));
      if (r.async) {
        const keep = setTimeout(() => undefined, 110);
        try { await r.value; } finally { clearTimeout(keep); }
      }
    }
  }

  /** Run device threads whose doorbell is rung, until none is. */
  private async runEagerDevices(): Promise<void> {
    for (let progress = true; progress;) {
      progress = false;
      for (const t of this.threads) {
        if (t.freeDevice !== undefined) { await this.awaitFreeDevice(t); continue; }
        if (t.role === 'device' && this.T.state(t.slot) === TS_BLOCKED && this.predHolds(t.slot)) {
          if (!(await this.grantAndWait(t))) throw new Error(`controlled run: ${t.name} did not return to the turnstile`);
          progress = true;
        }
      }
    }
  }

  /**
   * The weighted walk's speed of a choice's agent: an actor and its worker are one agent (the
   * user who writes to sysfs and the kernel code that write runs), a writer's handoff is its
   * thread's. Drawn once per run, when the agent first has a choice. A uniform walk gives every enabled thread the same odds at
   * each step, so a path of 8 steps (a teardown up to its first devres action) almost always
   * ends before one of 25 (an event thread's chain up to its realization): the interleavings
   * where one side is several times slower than the other — a teardown landing late in a chain,
   * a claim landing in the middle of a group's DAX add — are rare. Speeds that differ by up to
   * 2^(2S) make them common, as real threads of different speeds do. (A replay follows its
   * recorded steps and draws nothing.)
   */
  private readonly speeds = new Map<string, number>();
  private speedOf(key: string, skew: number): number {
    const agent = key.replace(/^actor:/, '').replace(/:handoff$/, '');
    let v = this.speeds.get(agent);
    if (v === undefined) { v = 2 ** ((this.prng.u32() / 2 ** 32) * 2 * skew - skew); this.speeds.set(agent, v); }
    return v;
  }

  private weightedPick(choices: Choice[], skew: number): Choice | undefined {
    const w = choices.map((c) => this.speedOf(c.key, skew));
    let x = (this.prng.u32() / 2 ** 32) * w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < choices.length; i++) { if (x < w[i]!) return choices[i]; x -= w[i]!; }
    return choices[choices.length - 1];
  }

  private pctPick(keys: string[]): number {
    for (const k of keys) if (!this.priorities.has(k)) this.priorities.set(k, 1000 + this.prng.int(1_000_000));
    if (this.changePoints.includes(this.decisions)) {
      // lower the priority of whoever would run now below every other
      const top = keys.reduce((a, b) => (this.priorities.get(a)! >= this.priorities.get(b)! ? a : b));
      this.priorities.set(top, -this.decisions);
    }
    let best = 0;
    for (let i = 1; i < keys.length; i++) if (this.priorities.get(keys[i]!)! > this.priorities.get(keys[best]!)!) best = i;
    return best;
  }

  /**
   * Drive the actors' plans to quiescence under the turnstile. The system must be idle and the
   * setup done; the turnstile is left in FREE mode on return.
   */
  async run(actors: Actor[], b: Bindings): Promise<ControlledResult> {
    const steps: TraceStep[] = [];
    const outcomes: OpOutcome[] = [];
    const next = new Map<Actor, number>(actors.map((a) => [a, 0]));
    const pendingOp = new Map<Actor, Promise<OpOutcome>>();
    let deadlock: string | null = null;
    let divergence: string | null = null;
    const replay = this.policy.kind === 'replay' ? this.policy.steps : null;
    let cursor = 0;
    const windows: Record<string, number> = {};
    let replayWaits = 0;
    if (this.policy.kind === 'pct') {
      // PCT's guarantee (a bug of depth d with probability 1/(n k^(d-1))) needs k, the run's
      // length: change points drawn past the run's end never happen, and the run degenerates to
      // fixed priorities (one thread to completion first). The swarm passes its own estimate.
      const k = Math.max(1, Math.round(this.policy.steps ?? PCT_STEPS));
      this.changePoints = Array.from({ length: Math.max(0, this.policy.depth - 1) }, () => this.prng.int(k));
    }
    this.T.setMode(SCHED_CONTROLLED);
    try {
      if (!(await this.settle())) throw new Error('controlled run: threads did not enter the turnstile');
      for (;;) {
        await this.runEagerDevices();
        // actors whose previous op is complete (their worker idle again)
        const actorChoices: Actor[] = [];
        for (const a of actors) {
          const i = next.get(a)!;
          if (i >= a.ops.length) continue;
          const p = pendingOp.get(a);
          if (p) {
            const slot = this.slotOfActor(a);
            if (slot >= 0 && this.T.state(slot) !== TS_IDLE) continue; // its op is still running
            outcomes.push(await p);
            pendingOp.delete(a);
          }
          actorChoices.push(a);
        }
        for (const [a, p] of pendingOp) {
          const slot = this.slotOfActor(a);
          if (slot >= 0 && this.T.state(slot) === TS_IDLE) { outcomes.push(await p); pendingOp.delete(a); }
        }
        // an op just resolved may have posted a follow-up (create-region → the probe): let its
        // worker enter before the choice
        await this.awaitMessages();
        // an actor whose worker is busy with work another actor's op posted (a `create-region`'s
        // cxl_dax_region probe runs on the dax-bus worker) waits its turn: an op issued now would
        // queue behind that work while issue() takes the probe's op-start for its own — the
        // scheduler then hung, not the kernel (checked after awaitMessages: the probe's worker
        // must have entered). The actor's turn comes when its worker is idle again.
        // (busy: parked at a point or blocked in the turnstile; a worker that has not run an op
        // in this run yet is not idle either, and is free to take one)
        for (let k = actorChoices.length - 1; k >= 0; k--) {
          const slot = this.slotOfActor(actorChoices[k]!);
          const st = slot >= 0 ? this.T.state(slot) : TS_IDLE;
          if (!pendingOp.has(actorChoices[k]!) && (st === TS_PARKED || st === TS_BLOCKED)) actorChoices.splice(k, 1);
        }
        const threadChoices = this.threads.filter((t) => t.role !== 'device' && this.enabled(t));
        if (actorChoices.length === 0 && threadChoices.length === 0) {
          const stuck = this.threads.filter((t) => this.T.state(t.slot) === TS_PARKED || (this.T.state(t.slot) === TS_BLOCKED && (t.role === 'user' || t.role === 'bus')));
          const stuckOps = [...pendingOp.keys()];
          if (stuck.length > 0 || stuckOps.length > 0) deadlock = this.deadlockReport(stuck);
          break;
        }
        this.countWindows(windows);
        // choose
        const choices: Choice[] = [
          ...actorChoices.map((a) => ({ key: `actor:${a.name}`, actor: a })),
          ...threadChoices.map((t) => ({ key: t.name, thread: t })),
          ...this.handoffChoices(threadChoices, replay !== null),
        ];
        let pick: Choice | undefined;
        if (replay && cursor < replay.length && divergence === null) {
          const want = replay[cursor]!;
          const m = this.matchReplay(want, choices, actors, next);
          pick = m?.pick;
          if (!pick && replayWaits++ < 250) {
            // the recorded thread may still be on its way to its point (a worker receiving a message
            // the main thread just sent, e.g. the async probe after create-region): look again
            await sleep(2);
            continue;
          }
          if (!pick) {
            divergence = `diverged at step ${cursor}: expected ${want.who} ${want.what} ${want.arg}; enabled: ${choices.map((c) => (c.thread ? `${c.key} ${this.describe(c.thread).what} ${this.describe(c.thread).arg}` : c.key)).join(', ')}`;
            // leave the trace and go on to quiescence, choosing with the replay's own seeded PRNG
            // (as after a trace that ran out). Aborting here unwound every parked thread in the
            // middle of its operation — a cxl_dax_region unbind between two devres actions, its
            // driver still bound — and the checkers judged that torn state as quiescent: a
            // `conservation` no kernel reaches (findings-open, H24's free-run replay)
            continue;
          }
          if (m!.consume) cursor++;
          replayWaits = 0;
        } else if (this.policy.kind === 'guided') {
          const gc: GuidedChoice[] = choices.map((c) => (c.thread ? { key: c.key, actor: false, ...(({ what, arg }) => ({ what, arg }))(this.describe(c.thread)) } : { key: c.key, actor: true, what: c.actor ? opLabel(c.actor.ops[next.get(c.actor)!]!) : '', arg: '' }));
          pick = choices[this.policy.choose(gc, this.decisions)] ?? choices[0];
        } else if (this.policy.kind === 'pct') {
          pick = choices[this.pctPick(choices.map((c) => c.key))];
          if (pick?.thread && choices.length > 1 && this.avoidHit(pick.thread)) {
            this.priorities.set(pick.key, -1_000_000 - this.decisions); // a change point here
            pick = choices[this.pctPick(choices.map((c) => c.key))];
          }
        } else {
          const skew = this.policy.kind === 'random' ? this.policy.skew ?? 0 : 0;
          pick = skew > 0 ? this.weightedPick(choices, skew) : choices[this.prng.int(choices.length)];
          if (pick?.thread && choices.length > 1 && this.avoidHit(pick.thread)) {
            const others = choices.filter((c) => c !== pick);
            pick = skew > 0 ? this.weightedPick(others, skew) : others[this.prng.int(others.length)];
          }
        }
        if (process.env.DCD_SCHED_DEBUG) process.stderr.write(`decision ${this.decisions}: [${choices.map((c) => c.key).join(', ')}] → ${pick!.key}${pick!.actor ? ` ${opLabel(pick!.actor.ops[next.get(pick!.actor)!]!)}` : pick!.thread ? ` ${this.describe(pick!.thread).what} ${this.describe(pick!.thread).arg}` : ''}\n`);
        this.decisions++;
        if (pick!.handoff) {
          // the writer has waited past RWSEM_WAIT_TIMEOUT: from now on readers queue behind it
          const { writer, lock } = pick!.handoff;
          if (!rwsemSetHandoff(this.sys.sys, lock, writer.slot)) throw new Error(`controlled run: handoff for ${writer.name} on ${this.sys.sys.lockClassNameOf(lock)} not possible`);
          steps.push({ who: writer.name, what: 'handoff', arg: `${this.sys.sys.lockClassNameOf(lock)}(write)` });
        } else if (pick!.actor) {
          const a = pick!.actor;
          const op = a.ops[next.get(a)!]!;
          next.set(a, next.get(a)! + 1);
          steps.push({ who: `actor:${a.name}`, what: opLabel(op), arg: '' });
          this.observer?.before?.(steps.length - 1, steps[steps.length - 1]!, -1);
          await this.issue(a, op, b, pendingOp, outcomes);
          this.observer?.after?.(steps.length - 1, steps[steps.length - 1]!, -1);
        } else {
          const t = pick!.thread!;
          const d = this.describe(t);
          // a reader entering an rwsem while a writer waits at it steals it past the writer
          if (d.what === 'acquire' && this.stealsPastWriter(t)) d.what = 'steal';
          steps.push(d);
          this.observer?.before?.(steps.length - 1, steps[steps.length - 1]!, t.slot);
          if (!(await this.grantAndWait(t))) throw new Error(`controlled run: ${t.name} did not return to the turnstile after ${steps[steps.length - 1]!.what}`);
          this.observer?.after?.(steps.length - 1, steps[steps.length - 1]!, t.slot);
        }
      }
    } finally {
      if (deadlock) this.T.abortAll();
      this.T.setMode(SCHED_FREE);
      this.nudge();
    }
    for (const [, p] of pendingOp) outcomes.push(await p.catch((e: Error) => ({ actor: '?', op: '?', ok: false, errno: e.message })));
    return { steps, outcomes, deadlock, divergence, followed: cursor, windows };
  }

  /** Coverage of racy windows at this decision (see ControlledResult.windows). */
  private countWindows(windows: Record<string, number>): void {
    const sys = this.sys.sys;
    for (const t of this.threads) {
      if (t.role === 'device' || this.T.state(t.slot) !== TS_PARKED) continue;
      const b = this.T.base(t.slot);
      if (Atomics.load(this.T.slots, b + SL_KIND) !== PT_NOISE) continue;
      const site = Atomics.load(this.T.slots, b + SL_ARG);
      const name = SITE_NAMES[site] ?? `site${site}`;
      const held = sys.heldBy(t.slot).map((h) => h.lock);
      for (const u of this.threads) {
        if (u === t || u.role === 'device' || this.T.state(u.slot) !== TS_PARKED) continue;
        const ub = this.T.base(u.slot);
        const kind = Atomics.load(this.T.slots, ub + SL_KIND);
        const arg = Atomics.load(this.T.slots, ub + SL_ARG);
        let key: string | null = null;
        if (kind === PT_ACQUIRE && held.includes(arg)) key = `${name} vs ${sys.lockClassNameOf(arg)}`;
        else if (kind === PT_NOISE && arg === site) key = `${name} x2`;
        if (key) windows[key] = (windows[key] ?? 0) + 1;
      }
    }
  }

  /** The rwsem id and mode a thread parked at an acquisition wants, or null. */
  private parkedAcquire(t: ThreadInfo): { lock: number; mode: number } | null {
    const b = this.T.base(t.slot);
    if (this.T.state(t.slot) !== TS_PARKED || Atomics.load(this.T.slots, b + SL_KIND) !== PT_ACQUIRE) return null;
    const lock = Atomics.load(this.T.slots, b + SL_ARG);
    if (Atomics.load(this.sys.sys.locks, lock * LOCK_WORDS + LOCK_KIND) !== LOCK_KIND_RWSEM) return null; // not an rwsem
    return { lock, mode: Atomics.load(this.T.slots, b + SL_MODE) };
  }

  /** Writers parked at an rwsem they cannot take, with no handoff set yet. */
  private waitingWriters(lock: number): ThreadInfo[] {
    if (rwsemState(this.sys.sys, lock).handoff >= 0) return [];
    return this.threads.filter((w) => {
      const a = this.parkedAcquire(w);
      return a !== null && a.lock === lock && a.mode === 1 && !lockAvailable(this.sys.sys, lock, 'write', w.slot);
    });
  }

  /**
   * Handoff choices: a writer parked at an rwsem it cannot take, while an enabled reader waits at
   * the same rwsem (steal or queue is then a decision). In replay every such writer is offered, so a
   * recorded handoff can be taken whenever the recording took it.
   */
  private handoffChoices(enabled: ThreadInfo[], all: boolean): Choice[] {
    const out: Choice[] = [];
    const locks = new Set<number>();
    if (all) {
      for (const t of this.threads) { const a = this.parkedAcquire(t); if (a && a.mode === 1) locks.add(a.lock); }
    } else {
      for (const t of enabled) { const a = this.parkedAcquire(t); if (a && a.mode === 2) locks.add(a.lock); }
    }
    for (const lock of locks) {
      for (const w of this.waitingWriters(lock)) out.push({ key: `${w.name}:handoff`, handoff: { writer: w, lock } });
    }
    return out;
  }

  private stealsPastWriter(t: ThreadInfo): boolean {
    const a = this.parkedAcquire(t);
    return a !== null && a.mode === 2 && this.waitingWriters(a.lock).length > 0;
  }

  private readonly avoided = new Set<string>();

  /** Is `t` about to make its first step onto a resource the feedback wants it to yield? (once) */
  private avoidHit(t: ThreadInfo): boolean {
    const avoid = this.policy.kind === 'replay' ? undefined : this.policy.avoid;
    if (!avoid || avoid.length === 0) return false;
    const r = resourceOfStep(this.describe(t));
    if (r === null) return false;
    const key = `${t.name} ${r}`;
    if (this.avoided.has(key) || !avoid.some((a) => a.who === t.name && a.resource === r)) return false;
    this.avoided.add(key);
    return true;
  }

  private slotOfActor(a: Actor): number {
    const name = a.kind === 'user' ? `user${a.index}` : a.kind === 'bus' ? 'dax-bus' : '';
    return this.threads.find((t) => t.name === name)?.slot ?? -1;
  }

  private async issue(a: Actor, op: Actor['ops'][number], b: Bindings, pendingOp: Map<Actor, Promise<OpOutcome>>, outcomes: OpOutcome[]): Promise<void> {
    if (a.kind === 'fm') {
      const p = runOp(this.sys, b, op, a); // atomic: nothing else runs meanwhile
      // runOp posted the call synchronously; a device outside the turnstile may be asleep on its
      // doorbell word (src/device/service.ts sleepControlled): wake it to take the call
      const rf = 'memdev' in op ? this.sys.regfiles[op.memdev] : undefined;
      if (rf) Atomics.notify(rf.words, REG_DOORBELL);
      outcomes.push(await p);
      return;
    }
    if (a.kind === 'clock') {
      if (op.op === 'advance') this.sys.clock.advance(op.ms); // the workqueue becomes enabled; no waiting here
      outcomes.push({ actor: a.name, op: op.op, ok: true });
      return;
    }
    if (op.op === 'wait-idle') { outcomes.push({ actor: a.name, op: op.op, ok: true }); return; }
    const slot = this.slotOfActor(a);
    const t = this.threads.find((x) => x.slot === slot);
    // the worker's first park after the message (its op-start point, or idle) clears SH_RUNNING
    // and notifies it when it holds this thread's slot (Turnstile.park): hold it as for a grant, so
    // the wait below sleeps until that park instead of polling for it
    const notified = OP_START_WAIT_MS > 0 && t !== undefined && Atomics.compareExchange(this.T.hdr, SH_RUNNING, 0, slot + 1) === 0;
    const p = runOp(this.sys, b, op, a);
    pendingOp.set(a, p);
    if (notified) {
      // runOp posts its message synchronously; a skipped op posts none (and never parks)
      if (this.sys.messagesInFlight(t.name, slot) > 0 && Atomics.load(this.T.hdr, SH_RUNNING) === slot + 1) Atomics.wait(this.T.hdr, SH_RUNNING, slot + 1, OP_START_WAIT_MS);
      Atomics.compareExchange(this.T.hdr, SH_RUNNING, slot + 1, 0);
    }
    // wait until the worker parks at its op-start point (or, for a skipped op, never starts)
    const deadline = Date.now() + 3000;
    let settled = false;
    // settled either way: a rejected op is reported where pendingOp is awaited, not as an
    // unhandled rejection of this wait
    const done = p.then(() => { settled = true; }, () => { settled = true; });
    for (let i = 0; Date.now() < deadline; i++) {
      if (this.T.state(slot) === TS_PARKED && Atomics.load(this.T.slots, this.T.base(slot) + SL_KIND) === PT_OP_START) return;
      if (settled) return;
      await pollWait(i, 5);
    }
    await done;
  }

  /**
   * The choice that takes recorded step `want`, and whether it consumes the step. A free-run
   * recording has one `op-start` step where the controlled run makes two decisions (issue the
   * actor's op, then let its worker pass the op-start point): the second is implied by the next
   * recorded step of that worker and does not consume it.
   */
  private matchReplay(want: TraceStep, choices: Choice[], actors: Actor[], next: Map<Actor, number>): { pick: Choice; consume: boolean } | undefined {
    const take = (pick: Choice | undefined, consume = true): { pick: Choice; consume: boolean } | undefined => (pick ? { pick, consume } : undefined);
    if (want.who.startsWith('actor:')) return take(choices.find((c) => c.key === want.who));
    const atOpStart = choices.find((c) => c.thread?.name === want.who && this.describe(c.thread).what === 'op-start');
    // a recorded free-run step: op-start / fm-start / clock mean "issue that actor's next op"
    if (want.what === 'op-start') {
      if (atOpStart) return take(atOpStart);
      // only user and bus actors run on a worker with an op-start point (fm and clock do not)
      const workerOf = (x: Actor): string | null => (x.kind === 'user' ? `user${x.index}` : x.kind === 'bus' ? 'dax-bus' : null);
      const a = actors.find((x) => workerOf(x) === want.who && next.get(x)! < x.ops.length);
      return take(a ? choices.find((c) => c.actor === a) : undefined);
    }
    if (want.what === 'fm-start') {
      const m = /^device\/mem(\d+)/.exec(want.who);
      const a = actors.find((x) => x.kind === 'fm' && m && x.index === Number(m[1]));
      return take(a ? choices.find((c) => c.actor === a) : undefined);
    }
    if (want.what === 'clock') return take(choices.find((c) => c.actor?.kind === 'clock'));
    if (want.what === 'handoff') return take(choices.find((c) => c.handoff && c.handoff.writer.name === want.who && `${this.sys.sys.lockClassNameOf(c.handoff.lock)}(write)` === want.arg));
    if (want.what === 'steal') {
      const st = choices.find((c) => c.thread && c.thread.name === want.who && (() => { const d = this.describe(c.thread); return d.what === 'acquire' && d.arg === want.arg; })());
      if (st) return take(st);
    }
    const exact = choices.find((c) => c.thread && c.thread.name === want.who && (() => { const d = this.describe(c.thread); return d.what === want.what && d.arg === want.arg; })());
    if (exact) return take(exact);
    // the worker was issued its op at the recorded op-start step and waits at the point itself
    return take(atOpStart, false);
  }

  /** What a thread parked at a lock acquisition waits for (a holder's own wait, in deadlock reports). */
  private parkedWait(slot: number): HungReport['waiter']['waitingFor'] {
    const b = this.T.base(slot);
    if (this.T.state(slot) !== TS_PARKED || Atomics.load(this.T.slots, b + SL_KIND) !== PT_ACQUIRE) return null;
    const lock = Atomics.load(this.T.slots, b + SL_ARG);
    return { lock, cls: this.sys.sys.lockClassNameOf(lock), mode: Atomics.load(this.T.slots, b + SL_MODE) >= 2 ? 'read' : 'write' };
  }

  /** A deadlock under the turnstile, reported as a hung wait (waiter, holder, what each holds). */
  private deadlockReport(stuck: ThreadInfo[]): string {
    const sys = this.sys.sys;
    const lines: string[] = [];
    for (const t of stuck) {
      const b = this.T.base(t.slot);
      const kind = Atomics.load(this.T.slots, b + SL_KIND);
      const arg = Atomics.load(this.T.slots, b + SL_ARG);
      const held = sys.heldBy(t.slot).map((h) => ({ lock: h.lock, cls: sys.lockClassNameOf(h.lock), mode: h.mode }));
      if (kind === PT_ACQUIRE) {
        const owner = lockOwner(sys, arg);
        const holders = owner >= 0 ? [owner] : [...Array(sys.threadCount()).keys()].filter((s) => s !== t.slot && sys.heldBy(s).some((h) => h.lock === arg));
        // a reader queued behind a writer's rwsem handoff waits for that writer too
        const ho = Atomics.load(sys.locks, arg * LOCK_WORDS + LOCK_KIND) === LOCK_KIND_RWSEM ? rwsemState(sys, arg).handoff : -1;
        if (ho >= 0 && ho !== t.slot && !holders.includes(ho)) holders.push(ho);
        const report: HungReport = {
          kind: 'hung-wait', atMs: wallMs(), waitedMs: 0, boundMs: 0,
          waiter: { slot: t.slot, name: t.name, held, waitingFor: { lock: arg, cls: sys.lockClassNameOf(arg), mode: Atomics.load(this.T.slots, b + SL_MODE) >= 2 ? 'read' : 'write' } },
          holders: holders.map((s) => ({ slot: s, name: sys.threadName(s), held: sys.heldBy(s).map((h) => ({ lock: h.lock, cls: sys.lockClassNameOf(h.lock), mode: h.mode })), waitingFor: this.parkedWait(s) })),
        };
        sys.reports.append(report);
        Atomics.add(sys.header, SYS_HUNG_REPORTS, 1);
        lines.push(`${t.name} waits for ${sys.lockClassNameOf(arg)} held by ${report.holders.map((h) => h.name).join(', ') || 'nobody'}; holds ${held.map((h) => h.cls).join(', ') || 'nothing'}`);
      } else {
        lines.push(`${t.name} parked at ${POINT_NAMES[kind] ?? kind}; holds ${held.map((h) => h.cls).join(', ') || 'nothing'}`);
      }
    }
    return `deadlock under the controlled scheduler:\n  ${lines.join('\n  ')}`;
  }
}

export { PT_CLOCK, PT_FM_START, TS_FREE };
