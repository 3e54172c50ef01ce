/**
 * DOC: cross-thread Mutex and RwSem on Atomics, with lockdep-style tracking.
 *
 * A lock is a few Int32 words in the system buffer's arena (layout.ts LOCK_*), named by its id,
 * so any thread can take it and a record table can store it. Acquisition: compare-exchange fast
 * path, a bounded spin, then `Atomics.wait` in slices — each slice checks the hung-wait bound, so a
 * deadlock ends as a report naming the waiter, the holder and what each holds, not as a hang.
 *
 * Use only the scoped forms — `withLock`, `withRead`, `withWrite` (and their async twins) — so
 * nothing ever unlocks by hand (the kernel's "all unlock is implicit / scope-based"). Callees that
 * rely on a lock say so with `assertHeld` / `assertHeldWrite`, the `lockdep_assert_held` of this
 * model. Misuse — unlock by a non-owner, double unlock, recursive acquire — throws
 * `LockMisuseError` naming the class.
 *
 * An rwsem behaves as Linux's (kernel/locking/rwsem.c): down_read() enters while readers hold it
 * even if writers wait — it steals the lock past them (rwsem_try_read_lock_unqueued) — until a
 * waiting writer has waited RWSEM_WAIT_TIMEOUT (4 ms, on the run's clock: real, or virtual time
 * moved only by the run); that writer then takes the handoff (RWSEM_FLAG_HANDOFF) and every new
 * reader and writer queues behind it. Under the controlled scheduler the handoff is a scheduling
 * decision (stress/turnstile.ts); in free runs a recorded step. `downReadRecursive` models a
 * recursive reader (read_lock / rcu_read_lock: blocked only by a writer holder) for lockdep.
 *
 * Each thread keeps its held stack locally (fast) and mirrors it into its thread slot (so another
 * thread's hung-wait report can say what this one holds). Lock order and statistics live in
 * lockdep.ts; the controlled scheduler (sched.ts) parks threads at acquisitions and noise points.
 */
import { Errors, HungWaitError, type HeldLockInfo, type HungReport, type ThreadLockInfo } from '../errors.js';
import {
  LOCK_CLASS, LOCK_KIND, LOCK_KIND_MUTEX, LOCK_KIND_RWSEM, LOCK_OWNER, LOCK_STATE, LOCK_WORDS, MAX_HELD, STAT_ACQUIRE, STAT_CONTENDED,
  STAT_FIELDS, STAT_HOLD_EXACT_FIRST, STAT_HOLD_MAX_NS, STAT_HOLD_SAMPLES, STAT_HOLD_TOTAL_NS, STAT_RELEASES, STAT_WAIT_MAX_NS, STAT_WAIT_TOTAL_NS,
  MAX_LOCK_CLASSES, SYS_HUNG_REPORTS, SYS_LOCKDEP_REPORTS, SYS_NOISE_PERMILLE, THREAD_HELD_BASE, THREAD_HELD_COUNT, THREAD_UNWINDING,
  THREAD_WAITING_FOR, THREAD_WAITING_MODE, THREAD_WORDS, SYS_NOISE_SEED, SYS_WAIT_CYCLE,
} from './layout.js';
import { findWaitCycle } from './wait-cycle.js';
import { lockClassName } from './lock-classes.js';
import { lockdepAcquire } from './lockdep.js';
import { clockIsVirtual, clockNow, wallMs } from './clock.js';
import { PRED_LOCK, PT_ACQUIRE, PT_HANDOFF, PT_NOISE, PT_STEAL, SCHED_CONTROLLED } from './sched.js';
import type { SystemShm } from './system.js';

/** spins before sleeping on a contended lock */
export const LOCK_SPIN = 200;
/** one Atomics.wait slice; the hung-wait bound is checked between slices */
const WAIT_SLICE_MS = 50;

const MODE_WRITE = 1;
const MODE_READ = 2;
/** a recursive reader (lockdep read=2): `read_lock()` on an rwlock_t, `rcu_read_lock()` */
const MODE_READ_RECURSIVE = 3;
export type LockMode = 'read' | 'write' | 'read-recursive';

/*
 * rwsem state word (LOCK_STATE of an rwsem), after the kernel's count word (kernel/locking/rwsem.c:
 * writer-locked bit, handoff bit, reader count):
 *   bits  0-15  readers holding it
 *   bit   16    a writer holds it
 *   bits 17-22  writers waiting in rwsemAcquire's loop (for reports and for recording steals)
 *   bits 23-29  slot + 1 of the writer that set the handoff, 0 when none
 * A mutex keeps its own encoding (0 free, 1 locked, 2 locked with waiters).
 */
const RW_READERS = 0xffff;
const RW_WRITER = 1 << 16;
const RW_WAITER_ONE = 1 << 17;
const RW_WAITERS = 0x3f << 17;
const RW_HANDOFF_SHIFT = 23;
const RW_HANDOFF = 0x7f << RW_HANDOFF_SHIFT;

/**
 * The handoff interval: kernel/locking/rwsem.c RWSEM_WAIT_TIMEOUT is DIV_ROUND_UP(HZ, 250) jiffies,
 * i.e. 4 ms at HZ=250 and HZ=1000. A writer first in the wait queue that has waited past it turns
 * to WRITER_HANDOFF in rwsem_down_write_slowpath(), and rwsem_try_write_lock() then sets
 * RWSEM_FLAG_HANDOFF while the lock is still held; from then on readers cannot steal the lock
 * (rwsem_try_read_lock_unqueued() and the empty-queue check of rwsem_down_read_slowpath() refuse
 * when RWSEM_FLAG_HANDOFF is set) and neither can other writers. Before it, a down_read() finding
 * readers in and a writer waiting takes the lock by optimistic spinning (rwsem_optimistic_spin ->
 * rwsem_try_read_lock_unqueued refuses only for a writer *holder* or the handoff bit).
 * Measured on the run's clock (clock.ts): real, or virtual time moved only by the run's driver.
 */
export const RWSEM_WAIT_TIMEOUT_MS = 4;

function handoffOf(s: number): number {
  return (s & RW_HANDOFF) >>> RW_HANDOFF_SHIFT;
}


export interface ThreadCtx {
  readonly sys: SystemShm;
  readonly slot: number;
  readonly name: string;
  /** held entries: (lockId + 1) | (mode << 24) */
  readonly held: number[];
  readonly heldSince: number[];
  readonly lockdep: boolean;
  /** lock statistics (SystemShm `lockStats`): the hold timestamps and the per-class counters */
  readonly stats: boolean;
  /** the hold-time sampling mask (SystemShm `lockHoldEvery` − 1; 0 = time every hold) */
  readonly holdMask: number;
  /** the hold sampler's xorshift32 state (its own: the noise generator's sequence must not move) */
  holdRng: number;
  noiseState: number;
  /** the wait-for cycle this thread's current wait saw at its last look (wait-cycle.ts), and since when */
  cycleKey: string;
  cycleSince: number;
}

let current: ThreadCtx | null = null;

/**
 * The `performance` object, read once: the global is an accessor on Node 20, and reading it costs
 * ~8 ns of the ~49 ns a `performance.now()` takes (measured); the lock statistics read the clock
 * twice per acquisition (#17, docs/performance.md "Tenth session: the event thread's host work").
 */
const PERF = performance;

/** Register the calling thread with the system buffer. Every thread does this once, at startup. */
export function initThread(sys: SystemShm, name: string): ThreadCtx {
  const slot = sys.registerThread(name);
  current = { sys, slot, name, held: [], heldSince: [], lockdep: sys.lockdepOn, stats: sys.lockStatsOn, holdMask: sys.lockHoldEvery - 1, holdRng: ((slot + 1) * 0x85ebca6b) | 1, noiseState: ((slot + 1) * 0x9e3779b1) ^ Atomics.load(sys.header, SYS_NOISE_SEED), cycleKey: '', cycleSince: 0 };
  return current;
}

export function currentThread(): ThreadCtx {
  if (!current) throw new Error('thread not registered with the system buffer (initThread not called)');
  return current;
}

export function hasThread(): boolean {
  return current !== null;
}

/** The calling thread's slot, -1 when it is not registered (the runtime event's thread; once per event). */
export function currentSlot(): number {
  return current !== null ? current.slot : -1;
}

// ------------------------------------------------------------------------------- held stack

function pushHeld(c: ThreadCtx, id: number, mode: number): void {
  if (c.held.length >= MAX_HELD) throw Errors.misuse(c.sys.lockClassNameOf(id), `more than ${MAX_HELD} locks held at once`);
  const e = (id + 1) | (mode << 24);
  const base = c.slot * THREAD_WORDS;
  Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + c.held.length, e);
  c.held.push(e);
  // the hold's start: for a trace hook always, for the statistics when noteAcquired samples it
  c.heldSince.push(lockTraceHook ? PERF.now() : 0);
  Atomics.store(c.sys.threads, base + THREAD_HELD_COUNT, c.held.length);
}

function popHeld(c: ThreadCtx, id: number, mode: number): number {
  const e = (id + 1) | (mode << 24);
  const i = c.held.lastIndexOf(e);
  if (i < 0) return -1;
  const since = c.heldSince[i] ?? 0;
  const base = c.slot * THREAD_WORDS;
  if (i === c.held.length - 1) {
    // released in LIFO order (nearly always): nothing above it to shift down
    c.held.pop();
    c.heldSince.pop();
  } else {
    c.held.splice(i, 1);
    c.heldSince.splice(i, 1);
    for (let k = i; k < c.held.length; k++) Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + k, c.held[k] ?? 0);
  }
  Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + c.held.length, 0);
  Atomics.store(c.sys.threads, base + THREAD_HELD_COUNT, c.held.length);
  if (c.held.length === 0) Atomics.store(c.sys.threads, base + THREAD_UNWINDING, 0);
  return since;
}

function holdsLocally(c: ThreadCtx, id: number, mode?: number): boolean {
  for (const e of c.held) {
    if ((e & 0xffffff) - 1 === id && (mode === undefined || e >>> 24 === mode)) return true;
  }
  return false;
}

// ------------------------------------------------------------------------------- statistics

function statBase(c: ThreadCtx, cls: number): number {
  return (c.slot * MAX_LOCK_CLASSES + cls) * STAT_FIELDS;
}

/**
 * Count an acquisition (called right after pushHeld). Contention is counted on every acquisition
 * whose fast path failed, and its wait timed only then (the callers read the clock on the slow
 * path only). The hold is timed — two clock reads, ~80 ns of a ~220 ns acquisition on Node 20
 * (#17, docs/performance.md, "Eleventh session: the DCD pipeline") — for every acquisition of the class's first STAT_HOLD_EXACT_FIRST in
 * this thread, then for 1 in `lockHoldEvery` at random (a per-thread xorshift, its own sequence:
 * no schedule or noise point moves). lockStats() estimates hold total from the timed holds.
 */
function noteAcquired(c: ThreadCtx, cls: number, waitNs: number, contended: boolean): void {
  if (!c.stats) return;
  const s = c.sys.stats;
  const b = statBase(c, cls);
  const n = (s[b + STAT_ACQUIRE]! += 1);
  if (contended) {
    s[b + STAT_CONTENDED]! += 1;
    s[b + STAT_WAIT_TOTAL_NS]! += waitNs;
    if (waitNs > s[b + STAT_WAIT_MAX_NS]!) s[b + STAT_WAIT_MAX_NS] = waitNs;
  }
  let x = c.holdRng;
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  c.holdRng = x;
  if (n <= STAT_HOLD_EXACT_FIRST || ((x >>> 11) & c.holdMask) === 0) {
    const top = c.heldSince.length - 1;
    if (c.heldSince[top] === 0) c.heldSince[top] = PERF.now();
  }
}

/** Optional per-thread hook called on every release with the hold interval (Perfetto traces). */
let lockTraceHook: ((cls: number, lock: number, t0: number, t1: number) => void) | null = null;

export function setLockTraceHook(fn: ((cls: number, lock: number, t0: number, t1: number) => void) | null): void {
  lockTraceHook = fn;
}

function noteReleased(c: ThreadCtx, cls: number, since: number, id = -1): void {
  if (lockTraceHook && since > 0) lockTraceHook(cls, id, performance.timeOrigin + since, performance.timeOrigin + performance.now());
  if (!c.stats) return;
  const s = c.sys.stats;
  const b = statBase(c, cls);
  s[b + STAT_RELEASES]! += 1;
  if (since <= 0) return; // a hold not timed (sampling)
  const holdNs = (PERF.now() - since) * 1e6;
  s[b + STAT_HOLD_SAMPLES]! += 1;
  s[b + STAT_HOLD_TOTAL_NS]! += holdNs;
  if (holdNs > s[b + STAT_HOLD_MAX_NS]!) s[b + STAT_HOLD_MAX_NS] = holdNs;
}

// ------------------------------------------------------------------------------- noise

/**
 * An instrumented point in a racy window of kernel code (`site` names it in step logs): the
 * controlled scheduler may switch threads here; in free runs seeded noise may spin here.
 */
export function noisePoint(site = 0): void {
  const c = current;
  if (!c) return;
  c.sys.turnstile.point(c.slot, PT_NOISE, site);
  noiseSpin(c);
}

/** Seeded noise: with the configured per-mille probability, a short spin (widens races). */
function noiseSpin(c: ThreadCtx): void {
  // a configuration word (set when the system starts): a plain load, as the turnstile's mode word
  // (sched.ts modeWord) — this runs at every noise point, one per entry of the E8/E9 walk (#17)
  const p = c.sys.header[SYS_NOISE_PERMILLE]!;
  if (p <= 0) return;
  let x = c.noiseState;
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  c.noiseState = x | 0;
  if ((x >>> 0) % 1000 < p) {
    const spins = ((x >>> 10) & 0x3ff) * 4;
    let acc = 0;
    for (let i = 0; i < spins; i++) acc += i;
    if (acc < 0) throw new Error('unreachable');
  }
}

// ------------------------------------------------------------------------------- hung waits

function threadInfo(sys: SystemShm, slot: number): ThreadLockInfo {
  const base = slot * THREAD_WORDS;
  // another thread's slot changes under us (it may be unwinding its own hung wait): re-read until
  // what it waits for is the same before and after its held list, so the report is one moment
  let w = 0;
  let wm = 0;
  let heldRaw: { lock: number; mode: 'read' | 'write' }[] = [];
  for (let tries = 0; tries < 8; tries++) {
    w = Atomics.load(sys.threads, base + THREAD_WAITING_FOR);
    wm = Atomics.load(sys.threads, base + THREAD_WAITING_MODE);
    heldRaw = sys.heldBy(slot);
    if (Atomics.load(sys.threads, base + THREAD_WAITING_FOR) === w && Atomics.load(sys.threads, base + THREAD_HELD_COUNT) === heldRaw.length) break;
  }
  const held: HeldLockInfo[] = heldRaw.map((h) => ({ lock: h.lock, cls: sys.lockClassNameOf(h.lock), mode: h.mode }));
  const info: ThreadLockInfo = {
    slot,
    name: sys.threadName(slot),
    held,
    waitingFor: w > 0 ? { lock: w - 1, cls: sys.lockClassNameOf(w - 1), mode: wm === MODE_READ || wm === MODE_READ_RECURSIVE ? 'read' : 'write' } : null,
  };
  if (w === 0 && Atomics.load(sys.threads, base + THREAD_UNWINDING) === 1) info.unwinding = true;
  return info;
}

function hungCheck(c: ThreadCtx, id: number, t0: number): void {
  const bound = c.sys.hungMs;
  if (bound <= 0) return;
  const waited = performance.now() - t0;
  if (waited < bound) return;
  const holders = holdersOf(c, id);
  // No holder: the lock was released while this thread slept through its last slice (a long
  // hold on a loaded machine, not a deadlock), or is being released right now — the caller's
  // loop retries at once. A deadlock
  // always has a holder; only a lock leaked by a model bug has none for long, so that is still
  // reported once the wait passes four bounds.
  if (holders.length === 0 && waited < 4 * bound) return;
  reportHung(c, { kind: 'hung-wait', waitedMs: waited, boundMs: bound, waiter: threadInfo(c.sys, c.slot), holders });
}

/** The threads holding `id` that the calling thread's wait for it waits on (hung-wait reports). */
function holdersOf(c: ThreadCtx, id: number): ThreadLockInfo[] {
  const sys = c.sys;
  const owner = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_OWNER);
  const holders: ThreadLockInfo[] = [];
  if (owner > 0) {
    // the owner word is cleared after the owner's held list: an owner whose list no longer shows
    // the lock is releasing it right now (e.g. unwinding its own reported wait) — not a holder
    const o = threadInfo(sys, owner - 1);
    if (o.held.some((h) => h.lock === id)) holders.push(o);
  } else {
    for (let s = 0; s < sys.threadCount(); s++) {
      if (s !== c.slot && sys.heldBy(s).some((h) => h.lock === id)) holders.push(threadInfo(sys, s));
    }
  }
  // a reader queued behind a writer's handoff waits for that writer too: name it
  if (Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_KIND) === LOCK_KIND_RWSEM) {
    const h = handoffOf(Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_STATE)) - 1;
    if (h >= 0 && h !== c.slot && !holders.some((x) => x.slot === h)) holders.push(threadInfo(sys, h));
  }
  return holders;
}

function reportHung(c: ThreadCtx, report: HungReport): never {
  const sys = c.sys;
  report.atMs = wallMs(); // the event stream's clock: the wait began waitedMs before (splitAtDeadlock)
  Atomics.add(sys.header, SYS_HUNG_REPORTS, 1);
  sys.reports.append(report);
  // unwinding is set before the wait is cleared: another thread's check never sees this thread
  // waiting for nothing without it
  if (c.held.length > 0) Atomics.store(sys.threads, c.slot * THREAD_WORDS + THREAD_UNWINDING, 1);
  clearWaiting(c);
  throw new HungWaitError(report);
}

/** Pause between the two looks that confirm a wait-for cycle (wait-cycle.ts), ms. */
export const CYCLE_CONFIRM_MS = 2;
const handoffSlot = (s: number): number => handoffOf(s) - 1;

/**
 * How long the next sleep of a lock wait may last (`slice`), after a look for a wait-for cycle
 * through this thread when SYS_WAIT_CYCLE is on (the stress runner's systems; wait-cycle.ts): a
 * cycle seen twice, CYCLE_CONFIRM_MS apart, is reported at once as this wait's hung-wait report
 * (the same waiter and holders the bound would have named, `cycle` added); a cycle seen once
 * shortens the sleep to the confirming look. A thread holding nothing cannot be on a cycle.
 */
function cycleSlice(c: ThreadCtx, id: number, t0: number, slice: number): number {
  if (c.held.length === 0 || Atomics.load(c.sys.header, SYS_WAIT_CYCLE) === 0) return slice;
  const bound = c.sys.hungMs;
  if (bound <= 0) return slice;
  const cyc = findWaitCycle(c.sys, c.slot, handoffSlot);
  if (!cyc || cyc.locks[0] !== id) { c.cycleKey = ''; return slice; }
  const now = performance.now();
  const key = `${cyc.slots.join(',')}|${cyc.locks.join(',')}`;
  if (key !== c.cycleKey) { c.cycleKey = key; c.cycleSince = now; return Math.min(slice, CYCLE_CONFIRM_MS); }
  if (now - c.cycleSince < CYCLE_CONFIRM_MS) return Math.min(slice, CYCLE_CONFIRM_MS - (now - c.cycleSince) + 0.05);
  // one report per cycle: its lowest slot reports. Two members that both confirmed it (the first
  // waiter's slice can end between the closer's looks on a loaded machine) both reported and both
  // unwound (test/wait-cycle.test.ts saw 13 reports for 12 rounds in CI). A member that confirms
  // it first wakes the reporter's wait (a spurious wake; its loop looks again at once).
  // (among members holding a lock: one that only holds a rwsem's handoff never looks)
  const reporter = Math.min(...cyc.slots.filter((s) => s === c.slot || c.sys.heldBy(s).length > 0));
  if (reporter !== c.slot) {
    const k = cyc.slots.indexOf(reporter);
    Atomics.notify(c.sys.locks, cyc.locks[k]! * LOCK_WORDS + LOCK_STATE);
    return Math.min(slice, CYCLE_CONFIRM_MS);
  }
  const holders = holdersOf(c, id);
  if (holders.length === 0) { c.cycleKey = ''; return slice; }
  return reportHung(c, {
    kind: 'hung-wait', waitedMs: now - t0, boundMs: bound, waiter: threadInfo(c.sys, c.slot), holders,
    cycle: cyc.slots.map((s) => c.sys.threadName(s)),
  });
}

function setWaiting(c: ThreadCtx, id: number, mode: number): void {
  const base = c.slot * THREAD_WORDS;
  c.cycleKey = '';
  Atomics.store(c.sys.threads, base + THREAD_UNWINDING, 0);
  Atomics.store(c.sys.threads, base + THREAD_WAITING_MODE, mode);
  Atomics.store(c.sys.threads, base + THREAD_WAITING_FOR, id + 1);
}

function clearWaiting(c: ThreadCtx): void {
  Atomics.store(c.sys.threads, c.slot * THREAD_WORDS + THREAD_WAITING_FOR, 0);
}

// ------------------------------------------------------------------------------- acquire / release

/**
 * The lock's class, after checking the id and the kind. A lock's kind and class are written once,
 * by `allocLock`, before its id is handed to any thread (through a table field or a worker's
 * startup data): plain loads read them (#17: three `Atomics.load`s, ~7 ns each on Node 20, on
 * every acquisition and release).
 */
function checkKind(c: ThreadCtx, id: number, want: typeof LOCK_KIND_MUTEX | typeof LOCK_KIND_RWSEM): number {
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  if (id < 0 || id >= c.sys.lockCountPlain()) throw new RangeError(`no lock with id ${id}`);
  if (L[b + LOCK_KIND] !== want) {
    throw Errors.misuse(lockClassName(L[b + LOCK_CLASS]!), want === LOCK_KIND_MUTEX ? 'mutex operation on an rwsem' : 'rwsem operation on a mutex');
  }
  return L[b + LOCK_CLASS]!;
}

function beforeAcquire(c: ThreadCtx, id: number, cls: number, mode: number): void {
  if (holdsLocally(c, id)) throw Errors.misuse(lockClassName(cls), `recursive acquire by ${c.name} (the lock is not recursive)`);
  if (c.lockdep) lockdepAcquire(c, id, cls, mode);
  // controlled scheduling: park until granted, which happens only when the lock is free
  try {
    // Turnstile.point does nothing for an acquisition unless the run is controlled (RECORD logs it
    // in `acquired`): only then build its predicate (one object per acquisition otherwise, #17)
    if (c.sys.turnstile.mode() === SCHED_CONTROLLED) c.sys.turnstile.point(c.slot, PT_ACQUIRE, id, mode, { src: PRED_LOCK, buf: 0, idx: id, op: 0, val: mode });
  } catch (e) {
    // an aborted controlled run unwinds a writer the scheduler may have given the handoff to:
    // drop it, as rwsem_down_write_slowpath()'s out_nolock path clears RWSEM_FLAG_HANDOFF
    if (mode === MODE_WRITE) dropHandoff(c, id);
    throw e;
  }
  noiseSpin(c);
}

/** Take a mutex (blocking). Prefer `withLock`. */
export function mutexLock(id: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, LOCK_KIND_MUTEX);
  beforeAcquire(c, id, cls, MODE_WRITE);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  let contended = false;
  let waitNs = 0;
  if (Atomics.compareExchange(L, b + LOCK_STATE, 0, 1) !== 0) {
    contended = true;
    let got = false;
    for (let i = 0; i < LOCK_SPIN; i++) {
      if (Atomics.load(L, b + LOCK_STATE) === 0 && Atomics.compareExchange(L, b + LOCK_STATE, 0, 1) === 0) { got = true; break; }
    }
    if (!got) {
      const t0 = performance.now();
      setWaiting(c, id, MODE_WRITE);
      try {
        while (Atomics.exchange(L, b + LOCK_STATE, 2) !== 0) {
          Atomics.wait(L, b + LOCK_STATE, 2, cycleSlice(c, id, t0, WAIT_SLICE_MS));
          hungCheck(c, id, t0);
        }
      } finally {
        clearWaiting(c);
      }
      waitNs = (performance.now() - t0) * 1e6;
    }
  }
  Atomics.store(L, b + LOCK_OWNER, c.slot + 1);
  pushHeld(c, id, MODE_WRITE);
  noteAcquired(c, cls, waitNs, contended);
  c.sys.turnstile.acquired(c.slot, id, MODE_WRITE);
}

/** Release a mutex. Throws LockMisuseError when the caller is not the owner. */
export function mutexUnlock(id: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, LOCK_KIND_MUTEX);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  const owner = Atomics.load(L, b + LOCK_OWNER);
  if (owner !== c.slot + 1) {
    throw Errors.misuse(lockClassName(cls), owner === 0
      ? `unlock by ${c.name} of a lock that is not locked (double unlock)`
      : `unlock by ${c.name}, a non-owner (owner: ${c.sys.threadName(owner - 1)})`);
  }
  const since = popHeld(c, id, MODE_WRITE);
  Atomics.store(L, b + LOCK_OWNER, 0);
  if (Atomics.sub(L, b + LOCK_STATE, 1) !== 1) {
    Atomics.store(L, b + LOCK_STATE, 0);
    Atomics.notify(L, b + LOCK_STATE, 1);
  }
  noteReleased(c, cls, since, id);
}

/** Clear the handoff if this thread owns it (a writer giving up), waking the queue. */
function dropHandoff(c: ThreadCtx, id: number): void {
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  if (Atomics.load(L, b + LOCK_KIND) !== LOCK_KIND_RWSEM) return;
  for (;;) {
    const s = Atomics.load(L, b + LOCK_STATE);
    if (handoffOf(s) !== c.slot + 1) return;
    if (Atomics.compareExchange(L, b + LOCK_STATE, s, s & ~RW_HANDOFF) === s) { Atomics.notify(L, b + LOCK_STATE); return; }
  }
}

/**
 * Can `slot` take the rwsem in `mode` given state `s`? Linux semantics (kernel/locking/rwsem.c):
 *  - a writer needs no reader and no writer in, and no handoff held by another writer
 *    (rwsem_try_write_lock: has_handoff && WRITER_NOT_FIRST fails);
 *  - a (non-recursive) down_read() needs no writer holder and no handoff: before the handoff it
 *    steals past waiting writers (rwsem_try_read_lock_unqueued), after it it queues;
 *  - a recursive reader is blocked only by a writer holder (lockdep-design.rst "Recursive read
 *    locks": recursive readers are not blocked by a write lock *waiter*).
 */
function rwAvailable(s: number, mode: number, slot: number): boolean {
  if (s & RW_WRITER) return false;
  if (mode === MODE_READ_RECURSIVE) return true;
  const h = handoffOf(s);
  if (mode === MODE_READ) return h === 0;
  return (s & RW_READERS) === 0 && (h === 0 || h === slot + 1);
}

function rwsemAcquire(id: number, mode: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, LOCK_KIND_RWSEM);
  beforeAcquire(c, id, cls, mode);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  const me = c.slot + 1;
  let contended = false;
  let t0 = 0;
  /** when this writer began waiting, on the run's clock (the kernel's waiter.timeout base) */
  let waitStart = 0;
  let queued = false;
  let spins = 0;
  let stole = false;
  let ok = false;
  try {
    for (;;) {
      const s = Atomics.load(L, b + LOCK_STATE);
      if (rwAvailable(s, mode, c.slot)) {
        let next: number;
        if (mode === MODE_WRITE) next = (s & ~RW_HANDOFF & ~RW_READERS) - (queued ? RW_WAITER_ONE : 0) + RW_WRITER;
        else next = s + 1;
        if (Atomics.compareExchange(L, b + LOCK_STATE, s, next) === s) {
          // a reader entering while writers wait has stolen the lock past them
          stole = mode !== MODE_WRITE && (s & RW_WAITERS) !== 0;
          break;
        }
        continue;
      }
      if (!contended) { contended = true; t0 = performance.now(); }
      if (mode === MODE_WRITE) {
        if (!queued) {
          // join the queue: count this writer as waiting (rwsem_down_write_slowpath's list_add_tail)
          if (Atomics.compareExchange(L, b + LOCK_STATE, s, s + RW_WAITER_ONE) !== s) continue;
          queued = true;
          waitStart = clockNow(c.sys);
          continue;
        }
        // waited past RWSEM_WAIT_TIMEOUT: take the handoff (WRITER_HANDOFF -> RWSEM_FLAG_HANDOFF)
        if (handoffOf(s) === 0 && clockNow(c.sys) - waitStart >= RWSEM_WAIT_TIMEOUT_MS) {
          if (Atomics.compareExchange(L, b + LOCK_STATE, s, s | (me << RW_HANDOFF_SHIFT)) === s) {
            c.sys.turnstile.recordStep(c.slot, PT_HANDOFF, id, MODE_WRITE);
          }
          continue;
        }
      }
      if (spins++ < LOCK_SPIN) continue;
      if (spins === LOCK_SPIN + 1) setWaiting(c, id, mode);
      let slice = WAIT_SLICE_MS;
      if (mode === MODE_WRITE && handoffOf(s) === 0 && !clockIsVirtual(c.sys)) {
        // wake at the handoff deadline (the kernel's writer re-checks time_after(jiffies, timeout))
        slice = Math.max(0.5, Math.min(slice, waitStart + RWSEM_WAIT_TIMEOUT_MS - clockNow(c.sys) + 0.1));
      }
      Atomics.wait(L, b + LOCK_STATE, s, cycleSlice(c, id, t0, slice));
      hungCheck(c, id, t0);
    }
    ok = true;
  } finally {
    if (spins > LOCK_SPIN) clearWaiting(c);
    if (!ok && queued) {
      // a writer giving up (hung-wait report): leave the queue and drop its handoff
      for (;;) {
        const s = Atomics.load(L, b + LOCK_STATE);
        let next = s - RW_WAITER_ONE;
        if (handoffOf(s) === me) next &= ~RW_HANDOFF;
        if (Atomics.compareExchange(L, b + LOCK_STATE, s, next) === s) break;
      }
      Atomics.notify(L, b + LOCK_STATE);
    }
  }
  if (mode === MODE_WRITE) Atomics.store(L, b + LOCK_OWNER, me);
  pushHeld(c, id, mode);
  noteAcquired(c, cls, contended ? (performance.now() - t0) * 1e6 : 0, contended);
  if (stole) c.sys.turnstile.recordStep(c.slot, PT_STEAL, id, mode);
  else c.sys.turnstile.acquired(c.slot, id, mode);
}

function rwsemRelease(id: number, mode: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, LOCK_KIND_RWSEM);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  if (mode === MODE_WRITE) {
    const owner = Atomics.load(L, b + LOCK_OWNER);
    if (owner !== c.slot + 1) {
      throw Errors.misuse(lockClassName(cls), owner === 0
        ? `up_write by ${c.name} of an rwsem not held for write (double unlock)`
        : `up_write by ${c.name}, a non-owner (owner: ${c.sys.threadName(owner - 1)})`);
    }
    const since = popHeld(c, id, MODE_WRITE);
    Atomics.store(L, b + LOCK_OWNER, 0);
    // keep the waiters and a handoff another writer set while we held it (__up_write clears only
    // RWSEM_WRITER_LOCKED)
    Atomics.and(L, b + LOCK_STATE, ~RW_WRITER);
    Atomics.notify(L, b + LOCK_STATE);
    noteReleased(c, cls, since, id);
  } else {
    const since = popHeld(c, id, mode);
    if (since < 0) throw Errors.misuse(lockClassName(cls), `up_read by ${c.name}, which does not hold it for read`);
    if (((Atomics.sub(L, b + LOCK_STATE, 1) - 1) & RW_READERS) === 0) Atomics.notify(L, b + LOCK_STATE);
    noteReleased(c, cls, since, id);
  }
}

export const downRead = (id: number): void => rwsemAcquire(id, MODE_READ);
export const downWrite = (id: number): void => rwsemAcquire(id, MODE_WRITE);
export const upRead = (id: number): void => rwsemRelease(id, MODE_READ);
export const upWrite = (id: number): void => rwsemRelease(id, MODE_WRITE);
/**
 * A recursive read acquisition (lockdep read=2): blocked only by a writer holder, never by a
 * waiting writer or a handoff. Models `read_lock()` on an rwlock_t / the `rcu_read_lock()`
 * annotation for the lock-order checker; v11 takes no recursive read lock (its rwsems are taken
 * with down_read(), a non-recursive read).
 */
export const downReadRecursive = (id: number): void => rwsemAcquire(id, MODE_READ_RECURSIVE);
export const upReadRecursive = (id: number): void => rwsemRelease(id, MODE_READ_RECURSIVE);

// ------------------------------------------------------------------------------- scoped use

export function withLock<T>(id: number, fn: () => T): T {
  mutexLock(id);
  try {
    return fn();
  } finally {
    mutexUnlock(id);
  }
}

export function withRead<T>(id: number, fn: () => T): T {
  downRead(id);
  try {
    return fn();
  } finally {
    upRead(id);
  }
}

export function withReadRecursive<T>(id: number, fn: () => T): T {
  downReadRecursive(id);
  try {
    return fn();
  } finally {
    upReadRecursive(id);
  }
}

export function withWrite<T>(id: number, fn: () => T): T {
  downWrite(id);
  try {
    return fn();
  } finally {
    upWrite(id);
  }
}

/** `lockdep_assert_held`: the calling thread holds `id` (for an rwsem: read or write). */
export function assertHeld(id: number): void {
  const c = currentThread();
  if (!holdsLocally(c, id)) throw Errors.notHeld(c.sys.lockClassNameOf(id));
}

/** `lockdep_assert_held_write`: the calling thread holds `id` exclusively. */
export function assertHeldWrite(id: number): void {
  const c = currentThread();
  if (!holdsLocally(c, id, MODE_WRITE)) throw Errors.notHeld(c.sys.lockClassNameOf(id), '_write');
}

/**
 * The kernel's `lockdep_assert_held` at a kernel call site: a failure is a WARN, not a BUG — it is
 * reported (system report log, counted as a lockdep report) and execution continues, so a model
 * of a kernel path that violates its own assertion (hazard H12) is observed, not aborted.
 */
export function lockdepAssertHeld(id: number, where: string): boolean {
  const c = currentThread();
  if (holdsLocally(c, id)) return true;
  Atomics.add(c.sys.header, SYS_LOCKDEP_REPORTS, 1);
  c.sys.reports.append({ kind: 'assert-held', atMs: wallMs(), lock: c.sys.lockClassNameOf(id), where, thread: c.name });
  return false;
}

/** True when the calling thread holds `id`. */
export function isHeld(id: number): boolean {
  return current !== null && holdsLocally(current, id);
}

// ------------------------------------------------------------------------------- async variants

/**
 * Take a mutex without blocking the thread's event loop (for threads that also serve messages,
 * e.g. a device worker's FM API). Uses `Atomics.waitAsync` with a keep-alive timer.
 */
export async function mutexLockAsync(id: number): Promise<void> {
  const c = currentThread();
  const cls = checkKind(c, id, LOCK_KIND_MUTEX);
  beforeAcquire(c, id, cls, MODE_WRITE);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  let contended = false;
  let t0 = 0;
  if (Atomics.compareExchange(L, b + LOCK_STATE, 0, 1) !== 0) {
    contended = true;
    t0 = performance.now(); // the wait is timed on the slow path only
    setWaiting(c, id, MODE_WRITE);
    try {
      while (Atomics.exchange(L, b + LOCK_STATE, 2) !== 0) {
        const r = Atomics.waitAsync(L, b + LOCK_STATE, 2, cycleSlice(c, id, t0, WAIT_SLICE_MS));
        if (r.async) {
          const keep = setTimeout(() => undefined, WAIT_SLICE_MS + 5);
          try { await r.value; } finally { clearTimeout(keep); }
        }
        hungCheck(c, id, t0);
      }
    } finally {
      clearWaiting(c);
    }
  }
  Atomics.store(L, b + LOCK_OWNER, c.slot + 1);
  pushHeld(c, id, MODE_WRITE);
  noteAcquired(c, cls, contended ? (performance.now() - t0) * 1e6 : 0, contended);
  c.sys.turnstile.acquired(c.slot, id, MODE_WRITE);
}

export async function withLockAsync<T>(id: number, fn: () => Promise<T> | T): Promise<T> {
  await mutexLockAsync(id);
  try {
    return await fn();
  } finally {
    mutexUnlock(id);
  }
}

/** Owner slot of a mutex / rwsem writer, or -1. For reports and the controlled scheduler. */
export function lockOwner(sys: SystemShm, id: number): number {
  return Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_OWNER) - 1;
}

/**
 * Whether a lock could be taken now in `mode` by thread `slot` (for the controlled scheduler's
 * predicates): an rwsem's handoff belongs to one writer (slot -1: no writer holds the handoff).
 */
export function lockAvailable(sys: SystemShm, id: number, mode: LockMode, slot = -1): boolean {
  const s = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_STATE);
  const kind = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_KIND);
  if (kind === LOCK_KIND_MUTEX) return s === 0;
  return rwAvailable(s, mode === 'read' ? MODE_READ : mode === 'read-recursive' ? MODE_READ_RECURSIVE : MODE_WRITE, slot);
}

/** An rwsem's state as the scheduler and tests see it. */
export interface RwsemState {
  readers: number;
  writer: boolean;
  /** writers waiting in the acquisition loop (free runs; the controlled scheduler parks them instead) */
  waitingWriters: number;
  /** slot of the writer holding the handoff, -1 when none */
  handoff: number;
}

export function rwsemState(sys: SystemShm, id: number): RwsemState {
  const s = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_STATE);
  return { readers: s & RW_READERS, writer: (s & RW_WRITER) !== 0, waitingWriters: (s & RW_WAITERS) >>> 17, handoff: handoffOf(s) - 1 };
}

/**
 * The controlled scheduler decides that writer `slot`, parked at its acquisition of rwsem `id`,
 * has waited past RWSEM_WAIT_TIMEOUT: set the handoff for it. False when the lock is free for it,
 * another handoff is set, or `id` is not an rwsem.
 */
export function rwsemSetHandoff(sys: SystemShm, id: number, slot: number): boolean {
  const L = sys.locks;
  const b = id * LOCK_WORDS;
  if (Atomics.load(L, b + LOCK_KIND) !== LOCK_KIND_RWSEM) return false;
  for (;;) {
    const s = Atomics.load(L, b + LOCK_STATE);
    if (handoffOf(s) !== 0 || (s & (RW_WRITER | RW_READERS)) === 0) return false;
    if (Atomics.compareExchange(L, b + LOCK_STATE, s, s | ((slot + 1) << RW_HANDOFF_SHIFT)) === s) return true;
  }
}
