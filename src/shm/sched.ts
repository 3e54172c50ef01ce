/**
 * DOC: the turnstile — instrumented points where a controlled scheduler decides who runs next,
 * and where free runs record the global order of steps so a failure can be replayed.
 *
 * Modes (SCHED_MODE in the turnstile buffer):
 *  - FREE: points are no-ops (plain OS scheduling; seeded noise may still spin at them);
 *  - RECORD: free scheduling, but every point appends (thread, kind, arg) to the step log with a
 *    global sequence number — the order a failure found in free mode is replayed in;
 *  - CONTROLLED: one thread at a time. A thread reaching a point parks (state PARKED, kind, arg)
 *    and clears RUNNING; a thread that must wait for a condition parks BLOCKED with a predicate
 *    the scheduler can evaluate from shared memory (a lock being free, a register word's value).
 *    The scheduler (stress/turnstile.ts, in the main thread) picks one enabled thread — by seeded
 *    random walk, PCT, or a recorded order — sets RUNNING and its GO word, and waits until it parks
 *    again. Same production code, same workers: only the turnstile differs.
 *
 * Point kinds: ACQUIRE (before a lock acquisition; enabled only when the lock is free in the
 * wanted mode), NOISE (a racy window in kernel code, e.g. between the tag check and the insert),
 * OP_START (a sysfs / driver-core operation begins on a user or dax-bus worker), FM_START (a
 * fabric-manager command runs on a device), RESUME (a blocking wait — mailbox completion, command
 * doorbell, interrupt, workqueue kick — returns).
 *
 * In RECORD mode ACQUIRE is logged after the lock was obtained: the order of acquisitions, not of
 * attempts, is what a replay must reproduce.
 */
import { I32, MAX_THREADS } from './layout.js';

export const SCHED_FREE = 0;
export const SCHED_RECORD = 1;
export const SCHED_CONTROLLED = 2;

export const PT_ACQUIRE = 1;
export const PT_NOISE = 2;
export const PT_OP_START = 3;
export const PT_FM_START = 4;
export const PT_RESUME = 5;
/** main thread advanced the (virtual) clock — recorded so a replay re-issues it in order */
export const PT_CLOCK = 6;
/**
 * rwsem decisions (lock.ts): a writer's wait passed RWSEM_WAIT_TIMEOUT and it took the handoff
 * (new readers queue behind it) — a choice of the controlled scheduler, a timed event in free
 * runs; and a reader that took an rwsem past a waiting writer (stole it). Both are steps of a
 * trace so a replay takes the same side of the handoff.
 */
export const PT_HANDOFF = 7;
export const PT_STEAL = 8;
/** named noise sites (step-log argument of PT_NOISE) */
export const NOISE_SITE = { generic: 0, dcRecord: 1, tagInsert: 2, groupPut: 3, dcWalk: 4, daxPerExtent: 5, teardownWindow: 6, rcuSkip: 7, childRef: 8 } as const;
export const POINT_NAMES: Record<number, string> = { 1: 'acquire', 2: 'noise', 3: 'op-start', 4: 'fm-start', 5: 'resume', 6: 'clock', 7: 'handoff', 8: 'steal' };

/** thread states */
export const TS_FREE = 0; // outside the turnstile (free mode, or in a free wait about to re-enter)
export const TS_RUNNING = 1;
export const TS_PARKED = 2; // at a point, ready when granted (ACQUIRE: when the lock is free)
export const TS_BLOCKED = 3; // waiting for a predicate
export const TS_IDLE = 4; // waiting for a message from the main thread (user, dax-bus workers)

/** predicate sources */
export const PRED_NONE = 0;
export const PRED_SYS = 1; // a word of the system buffer header
export const PRED_REG = 2; // a word of memdev `buf`'s register file
export const PRED_LOCK = 3; // lock `idx` available in mode `val` (1 write, 2 read)
/** predicate operators */
export const OP_EQ = 0;
export const OP_NE = 1;

// header words
export const SH_MODE = 0;
/** slot + 1 of the thread holding the turnstile, 0 when none runs */
export const SH_RUNNING = 1;
/** global step sequence (RECORD) */
export const SH_STEP = 2;
/** 1 = abort: every parked thread is released with an abort flag (deadlock unwinding) */
export const SH_ABORT = 3;
export const SH_WORDS = 8;

// per-slot words
export const SL_STATE = 0;
export const SL_KIND = 1;
export const SL_ARG = 2;
export const SL_MODE = 3;
export const SL_GO = 4;
export const SL_PRED = 5;
export const SL_PRED_BUF = 6;
export const SL_PRED_IDX = 7;
export const SL_PRED_VAL = 8;
export const SL_PRED_OP = 9;
/** operations completed (user / dax-bus workers), read by the scheduler to sequence actors */
export const SL_OPS_DONE = 10;
/** 1 when this thread participates in controlled scheduling */
export const SL_ENROLLED = 11;
/**
 * control-plane messages this worker has handled (its handler returned: ran to its first
 * turnstile point or its end). Against the count the main thread posted (WorkerHandle.posted), a
 * worker that is idle with a message in flight is about to enter the turnstile (the
 * cxl_dax_region probe the main thread posts after create-region), so the scheduler waits for it
 * before it chooses — otherwise the choices depend on message latency and a seed's schedule is
 * not reproducible
 */
export const SL_HANDLED = 12;
export const SL_WORDS = 13;

/** step log record: [seq, slot, kind, arg, mode] */
export const STEP_WORDS = 5;
export const STEP_LOG_CAPACITY = 1 << 16;

export function schedBufferBytes(): number {
  return (SH_WORDS + MAX_THREADS * SL_WORDS + 4 + STEP_LOG_CAPACITY * STEP_WORDS) * I32;
}

/** Thrown in a parked thread when the scheduler aborts a deadlocked controlled run. */
export class SchedAbort extends Error {
  override get name(): string {
    return 'SchedAbort';
  }
}

/** A predicate as a step argument: source, memdev (register files) and word. */
export function predArg(p: { src: number; buf: number; idx: number }): number {
  return p.src * 100000 + (p.src === PRED_REG ? p.buf * 100 : 0) + p.idx;
}

export class Turnstile {
  readonly sab: SharedArrayBuffer;
  readonly hdr: Int32Array;
  readonly slots: Int32Array;
  /** step log: [count, dropped, _, _] then records */
  readonly log: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.hdr = new Int32Array(sab, 0, SH_WORDS);
    this.slots = new Int32Array(sab, SH_WORDS * I32, MAX_THREADS * SL_WORDS);
    this.log = new Int32Array(sab, (SH_WORDS + MAX_THREADS * SL_WORDS) * I32);
  }

  static create(): Turnstile {
    return new Turnstile(new SharedArrayBuffer(schedBufferBytes()));
  }

  mode(): number {
    return this.modeWord();
  }

  /**
   * The mode word, read with a plain load at the entry of every point (#17, docs/performance.md "Tenth session: the event thread's host work"):
   * it is a configuration word the main thread sets between a run's phases, not a hand-off —
   * reading it atomically cannot order anything a plain read does not (on x86 both are one `mov`,
   * and V8 re-reads a typed-array element on every call: it neither caches nor hoists it), but
   * `Atomics.load` is a call here (~7 ns on Node 20, not inlined), and the E8/E9 walk makes one
   * point per entry (~100 per extent on the target cell). A parked thread's wait for its grant
   * still reads it with `Atomics.load` (waitGo), where it is part of the hand-off.
   */
  private modeWord(): number {
    return this.hdr[SH_MODE]!;
  }

  base(slot: number): number {
    return slot * SL_WORDS;
  }

  // ------------------------------------------------------------------ thread side

  private record(slot: number, kind: number, arg: number, mode: number): void {
    const seq = Atomics.add(this.hdr, SH_STEP, 1);
    if (seq >= STEP_LOG_CAPACITY) { Atomics.add(this.log, 1, 1); return; }
    const at = 4 + seq * STEP_WORDS;
    this.log[at + 1] = slot;
    this.log[at + 2] = kind;
    this.log[at + 3] = arg;
    this.log[at + 4] = mode;
    Atomics.store(this.log, at, seq + 1); // published
    Atomics.add(this.log, 0, 1);
  }

  private park(slot: number, state: number, kind: number, arg: number, mode: number): void {
    const b = this.base(slot);
    const s = this.slots;
    Atomics.store(s, b + SL_KIND, kind);
    Atomics.store(s, b + SL_ARG, arg);
    Atomics.store(s, b + SL_MODE, mode);
    Atomics.store(s, b + SL_GO, 0);
    Atomics.store(s, b + SL_STATE, state);
    // release the turnstile if we held it
    if (Atomics.load(this.hdr, SH_RUNNING) === slot + 1) {
      Atomics.store(this.hdr, SH_RUNNING, 0);
      Atomics.notify(this.hdr, SH_RUNNING);
    }
  }

  /**
   * We were granted. On an aborted run only threads parked at a point (a lock acquisition in a
   * deadlock cycle, an operation start) unwind with SchedAbort; threads in a blocking wait
   * (device doorbell, interrupt, mailbox completion) just fall back to their free waits.
   */
  private granted(slot: number, abortable: boolean): void {
    const b = this.base(slot);
    Atomics.store(this.slots, b + SL_STATE, TS_RUNNING);
    Atomics.store(this.slots, b + SL_PRED, PRED_NONE);
    if (abortable && Atomics.load(this.hdr, SH_ABORT) !== 0) throw new SchedAbort('controlled run aborted by the scheduler (deadlock unwinding)');
  }

  /** Wait for our grant. False when the run left controlled mode meanwhile (we run freely). */
  private waitGo(slot: number, abortable: boolean): boolean {
    const b = this.base(slot);
    while (Atomics.load(this.slots, b + SL_GO) === 0) {
      if (Atomics.load(this.hdr, SH_MODE) !== SCHED_CONTROLLED) return this.released(slot, abortable);
      Atomics.wait(this.slots, b + SL_GO, 0, 100);
    }
    this.granted(slot, abortable);
    return true;
  }

  private async waitGoAsync(slot: number): Promise<boolean> {
    const b = this.base(slot);
    while (Atomics.load(this.slots, b + SL_GO) === 0) {
      if (Atomics.load(this.hdr, SH_MODE) !== SCHED_CONTROLLED) return this.released(slot, false);
      const r = Atomics.waitAsync(this.slots, b + SL_GO, 0, 100);
      if (r.async) {
        const keep = setTimeout(() => undefined, 110);
        try { await r.value; } finally { clearTimeout(keep); }
      }
    }
    this.granted(slot, false);
    return true;
  }

  private released(slot: number, abortable: boolean): boolean {
    Atomics.store(this.slots, this.base(slot) + SL_STATE, TS_FREE);
    if (abortable && Atomics.load(this.hdr, SH_ABORT) !== 0) throw new SchedAbort('controlled run aborted by the scheduler (deadlock unwinding)');
    return false;
  }

  /** An instrumented point. `enrolled` threads park in CONTROLLED mode; RECORD logs it. */
  point(slot: number, kind: number, arg = 0, mode = 0, pred?: { src: number; buf: number; idx: number; op: number; val: number }): void {
    const m = this.modeWord();
    if (m === SCHED_FREE) return;
    if (m === SCHED_RECORD) {
      if (kind !== PT_ACQUIRE) this.record(slot, kind, arg, mode);
      return;
    }
    const b = this.base(slot);
    if (!Atomics.load(this.slots, b + SL_ENROLLED)) return;
    if (kind === PT_FM_START) return; // FM commands run atomically: the scheduler awaits them whole
    if (pred) this.setPred(slot, pred);
    else Atomics.store(this.slots, b + SL_PRED, PRED_NONE);
    this.park(slot, TS_PARKED, kind, arg, mode);
    this.waitGo(slot, true); // false: the run left controlled mode; carry on freely
  }

  /** RECORD mode: log a step taken by the main thread (clock advance). */
  recordMain(slot: number, kind: number, arg: number): void {
    if (this.modeWord() === SCHED_RECORD) this.record(slot, kind, arg, 0);
  }

  /** RECORD mode: log a step taken inside a lock acquisition (a handoff, a steal). */
  recordStep(slot: number, kind: number, arg: number, mode: number): void {
    if (this.modeWord() === SCHED_RECORD) this.record(slot, kind, arg, mode);
  }

  /** RECORD mode: log a lock acquisition once it succeeded. */
  acquired(slot: number, lockId: number, mode: number): void {
    if (this.modeWord() === SCHED_RECORD) this.record(slot, PT_ACQUIRE, lockId, mode);
  }

  private setPred(slot: number, p: { src: number; buf: number; idx: number; op: number; val: number }): void {
    const b = this.base(slot);
    const s = this.slots;
    Atomics.store(s, b + SL_PRED_BUF, p.buf);
    Atomics.store(s, b + SL_PRED_IDX, p.idx);
    Atomics.store(s, b + SL_PRED_OP, p.op);
    Atomics.store(s, b + SL_PRED_VAL, p.val);
    Atomics.store(s, b + SL_PRED, p.src);
  }

  /**
   * A blocking wait under the controlled scheduler: park BLOCKED until the predicate holds and the
   * scheduler grants us. Returns false when not controlled (the caller does its ordinary wait)
   * — in RECORD mode the caller logs `resumed()` after its ordinary wait returns.
   */
  block(slot: number, pred: { src: number; buf: number; idx: number; op: number; val: number }): boolean {
    if (this.modeWord() !== SCHED_CONTROLLED || !Atomics.load(this.slots, this.base(slot) + SL_ENROLLED)) return false;
    this.setPred(slot, pred);
    this.park(slot, TS_BLOCKED, PT_RESUME, predArg(pred), 0);
    return this.waitGo(slot, false);
  }

  async blockAsync(slot: number, pred: { src: number; buf: number; idx: number; op: number; val: number }): Promise<boolean> {
    if (this.modeWord() !== SCHED_CONTROLLED || !Atomics.load(this.slots, this.base(slot) + SL_ENROLLED)) return false;
    this.setPred(slot, pred);
    this.park(slot, TS_BLOCKED, PT_RESUME, predArg(pred), 0);
    return this.waitGoAsync(slot);
  }

  /** RECORD mode: a blocking wait returned. */
  resumed(slot: number, pred: { src: number; buf: number; idx: number }): void {
    if (this.modeWord() === SCHED_RECORD) this.record(slot, PT_RESUME, predArg(pred), 0);
  }

  /** True when this thread must go through the turnstile now (controlled mode, enrolled). */
  controlled(slot: number): boolean {
    return this.modeWord() === SCHED_CONTROLLED && Atomics.load(this.slots, this.base(slot) + SL_ENROLLED) === 1;
  }

  /** The thread goes idle (waits for a message): it leaves the turnstile. */
  idle(slot: number, opDone: boolean): void {
    const b = this.base(slot);
    if (opDone) Atomics.add(this.slots, b + SL_OPS_DONE, 1);
    this.park(slot, TS_IDLE, 0, 0, 0);
  }

  /** worker: its handler of a posted message returned (src/runtime/worker-side.ts exposeApi) */
  handled(slot: number): void {
    Atomics.add(this.slots, this.base(slot) + SL_HANDLED, 1);
  }

  /** messages this worker has handled since it started */
  handledCount(slot: number): number {
    return Atomics.load(this.slots, this.base(slot) + SL_HANDLED);
  }

  enroll(slot: number, on: boolean): void {
    Atomics.store(this.slots, this.base(slot) + SL_ENROLLED, on ? 1 : 0);
  }

  // ------------------------------------------------------------------ scheduler side

  setMode(mode: number): void {
    if (mode === SCHED_CONTROLLED) Atomics.store(this.hdr, SH_ABORT, 0);
    Atomics.store(this.hdr, SH_MODE, mode);
    if (mode !== SCHED_CONTROLLED) {
      // release every thread still waiting for a grant: it falls back to its free wait
      for (let s = 0; s < MAX_THREADS; s++) Atomics.notify(this.slots, this.base(s) + SL_GO);
    }
  }

  resetLog(): void {
    const n = Math.min(Atomics.load(this.hdr, SH_STEP), STEP_LOG_CAPACITY);
    this.log.fill(0, 0, 4 + n * STEP_WORDS);
    Atomics.store(this.hdr, SH_STEP, 0);
  }

  /** Recorded steps in global order (RECORD mode). */
  steps(): { slot: number; kind: number; arg: number; mode: number }[] {
    const n = Math.min(Atomics.load(this.hdr, SH_STEP), STEP_LOG_CAPACITY);
    const out: { slot: number; kind: number; arg: number; mode: number }[] = [];
    for (let i = 0; i < n; i++) {
      const at = 4 + i * STEP_WORDS;
      if (Atomics.load(this.log, at) !== i + 1) continue; // not published (thread died mid-record)
      out.push({ slot: this.log[at + 1]!, kind: this.log[at + 2]!, arg: this.log[at + 3]!, mode: this.log[at + 4]! });
    }
    return out;
  }

  state(slot: number): number {
    return Atomics.load(this.slots, this.base(slot) + SL_STATE);
  }

  running(): number {
    return Atomics.load(this.hdr, SH_RUNNING) - 1;
  }

  grant(slot: number): void {
    const b = this.base(slot);
    Atomics.store(this.hdr, SH_RUNNING, slot + 1);
    Atomics.store(this.slots, b + SL_STATE, TS_RUNNING);
    Atomics.store(this.slots, b + SL_GO, 1);
    Atomics.notify(this.slots, b + SL_GO);
  }

  abortAll(): void {
    Atomics.store(this.hdr, SH_ABORT, 1); // cleared by the next setMode(SCHED_CONTROLLED)
    for (let s = 0; s < MAX_THREADS; s++) {
      const b = this.base(s);
      const st = Atomics.load(this.slots, b + SL_STATE);
      if (st === TS_PARKED) {
        Atomics.store(this.slots, b + SL_GO, 1);
        Atomics.notify(this.slots, b + SL_GO);
      }
    }
  }

  opsDone(slot: number): number {
    return Atomics.load(this.slots, this.base(slot) + SL_OPS_DONE);
  }
}
