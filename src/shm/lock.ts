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
 * Each thread keeps its held stack locally (fast) and mirrors it into its thread slot (so another
 * thread's hung-wait report can say what this one holds). Lock order and statistics live in
 * lockdep.ts; the controlled scheduler (sched.ts) parks threads at acquisitions and noise points.
 */
import { Errors, HungWaitError, type HeldLockInfo, type HungReport, type ThreadLockInfo } from '../errors.js';
import {
  LOCK_CLASS, LOCK_KIND, LOCK_OWNER, LOCK_STATE, LOCK_WORDS, MAX_HELD, STAT_ACQUIRE, STAT_CONTENDED,
  STAT_FIELDS, STAT_HOLD_MAX_NS, STAT_HOLD_TOTAL_NS, STAT_WAIT_MAX_NS, STAT_WAIT_TOTAL_NS,
  MAX_LOCK_CLASSES, SYS_HUNG_REPORTS, SYS_LOCKDEP_REPORTS, SYS_NOISE_PERMILLE, THREAD_HELD_BASE, THREAD_HELD_COUNT,
  THREAD_WAITING_FOR, THREAD_WAITING_MODE, THREAD_WORDS, SYS_NOISE_SEED,
} from './layout.js';
import { lockClassName } from './lock-classes.js';
import { lockdepAcquire } from './lockdep.js';
import { PRED_LOCK, PT_ACQUIRE, PT_NOISE } from './sched.js';
import type { SystemShm } from './system.js';

/** spins before sleeping on a contended lock */
export const LOCK_SPIN = 200;
/** one Atomics.wait slice; the hung-wait bound is checked between slices */
const WAIT_SLICE_MS = 50;

const MODE_WRITE = 1;
const MODE_READ = 2;
export type LockMode = 'read' | 'write';


export interface ThreadCtx {
  readonly sys: SystemShm;
  readonly slot: number;
  readonly name: string;
  /** held entries: (lockId + 1) | (mode << 24) */
  readonly held: number[];
  readonly heldSince: number[];
  readonly lockdep: boolean;
  noiseState: number;
}

let current: ThreadCtx | null = null;

/** Register the calling thread with the system buffer. Every thread does this once, at startup. */
export function initThread(sys: SystemShm, name: string): ThreadCtx {
  const slot = sys.registerThread(name);
  current = { sys, slot, name, held: [], heldSince: [], lockdep: sys.lockdepOn, noiseState: ((slot + 1) * 0x9e3779b1) ^ Atomics.load(sys.header, SYS_NOISE_SEED) };
  return current;
}

export function currentThread(): ThreadCtx {
  if (!current) throw new Error('thread not registered with the system buffer (initThread not called)');
  return current;
}

export function hasThread(): boolean {
  return current !== null;
}

/** Forget locally held locks (in-place reset after an aborted iteration; the arena is reset too). */
export function resetThreadHeld(): void {
  const c = currentThread();
  c.held.length = 0;
  c.heldSince.length = 0;
  Atomics.store(c.sys.threads, c.slot * THREAD_WORDS + THREAD_HELD_COUNT, 0);
}

// ------------------------------------------------------------------------------- held stack

function pushHeld(c: ThreadCtx, id: number, mode: number): void {
  if (c.held.length >= MAX_HELD) throw Errors.misuse(c.sys.lockClassNameOf(id), `more than ${MAX_HELD} locks held at once`);
  const e = (id + 1) | (mode << 24);
  const base = c.slot * THREAD_WORDS;
  Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + c.held.length, e);
  c.held.push(e);
  c.heldSince.push(c.lockdep ? performance.now() : 0);
  Atomics.store(c.sys.threads, base + THREAD_HELD_COUNT, c.held.length);
}

function popHeld(c: ThreadCtx, id: number, mode: number): number {
  const e = (id + 1) | (mode << 24);
  const i = c.held.lastIndexOf(e);
  if (i < 0) return -1;
  const since = c.heldSince[i] ?? 0;
  c.held.splice(i, 1);
  c.heldSince.splice(i, 1);
  const base = c.slot * THREAD_WORDS;
  for (let k = i; k < c.held.length; k++) Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + k, c.held[k] ?? 0);
  Atomics.store(c.sys.threads, base + THREAD_HELD_BASE + c.held.length, 0);
  Atomics.store(c.sys.threads, base + THREAD_HELD_COUNT, c.held.length);
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

function noteAcquired(c: ThreadCtx, cls: number, waitNs: number, contended: boolean): void {
  if (!c.lockdep) return;
  const s = c.sys.stats;
  const b = statBase(c, cls);
  s[b + STAT_ACQUIRE]! += 1;
  if (contended) {
    s[b + STAT_CONTENDED]! += 1;
    s[b + STAT_WAIT_TOTAL_NS]! += waitNs;
    if (waitNs > s[b + STAT_WAIT_MAX_NS]!) s[b + STAT_WAIT_MAX_NS] = waitNs;
  }
}

/** Optional per-thread hook called on every release with the hold interval (Perfetto traces). */
let lockTraceHook: ((cls: number, lock: number, t0: number, t1: number) => void) | null = null;

export function setLockTraceHook(fn: ((cls: number, lock: number, t0: number, t1: number) => void) | null): void {
  lockTraceHook = fn;
}

function noteReleased(c: ThreadCtx, cls: number, since: number, id = -1): void {
  if (lockTraceHook && since > 0) lockTraceHook(cls, id, performance.timeOrigin + since, performance.timeOrigin + performance.now());
  if (!c.lockdep || since <= 0) return;
  const holdNs = (performance.now() - since) * 1e6;
  const s = c.sys.stats;
  const b = statBase(c, cls);
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
  const p = Atomics.load(c.sys.header, SYS_NOISE_PERMILLE);
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
  const w = Atomics.load(sys.threads, base + THREAD_WAITING_FOR);
  const wm = Atomics.load(sys.threads, base + THREAD_WAITING_MODE);
  const held: HeldLockInfo[] = sys.heldBy(slot).map((h) => ({ lock: h.lock, cls: sys.lockClassNameOf(h.lock), mode: h.mode }));
  return {
    slot,
    name: sys.threadName(slot),
    held,
    waitingFor: w > 0 ? { lock: w - 1, cls: sys.lockClassNameOf(w - 1), mode: wm === MODE_READ ? 'read' : 'write' } : null,
  };
}

function hungCheck(c: ThreadCtx, id: number, t0: number): void {
  const bound = c.sys.hungMs;
  if (bound <= 0) return;
  const waited = performance.now() - t0;
  if (waited < bound) return;
  const sys = c.sys;
  const owner = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_OWNER);
  const holders: ThreadLockInfo[] = [];
  if (owner > 0) holders.push(threadInfo(sys, owner - 1));
  else {
    for (let s = 0; s < sys.threadCount(); s++) {
      if (s !== c.slot && sys.heldBy(s).some((h) => h.lock === id)) holders.push(threadInfo(sys, s));
    }
  }
  // No holder: the lock was released while this thread slept through its last slice (a long
  // hold on a loaded machine, not a deadlock) — the caller's loop retries at once. A deadlock
  // always has a holder; only a lock leaked by a model bug has none for long, so that is still
  // reported once the wait passes four bounds.
  if (holders.length === 0 && waited < 4 * bound) return;
  const report: HungReport = { kind: 'hung-wait', waitedMs: waited, boundMs: bound, waiter: threadInfo(sys, c.slot), holders };
  Atomics.add(sys.header, SYS_HUNG_REPORTS, 1);
  sys.reports.append(report);
  clearWaiting(c);
  throw new HungWaitError(report);
}

function setWaiting(c: ThreadCtx, id: number, mode: number): void {
  const base = c.slot * THREAD_WORDS;
  Atomics.store(c.sys.threads, base + THREAD_WAITING_MODE, mode);
  Atomics.store(c.sys.threads, base + THREAD_WAITING_FOR, id + 1);
}

function clearWaiting(c: ThreadCtx): void {
  Atomics.store(c.sys.threads, c.slot * THREAD_WORDS + THREAD_WAITING_FOR, 0);
}

// ------------------------------------------------------------------------------- acquire / release

function checkKind(c: ThreadCtx, id: number, want: 0 | 1): number {
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  if (id < 0 || id >= c.sys.lockCount()) throw new RangeError(`no lock with id ${id}`);
  if (Atomics.load(L, b + LOCK_KIND) !== want) {
    throw Errors.misuse(lockClassName(Atomics.load(L, b + LOCK_CLASS)), want === 0 ? 'mutex operation on an rwsem' : 'rwsem operation on a mutex');
  }
  return Atomics.load(L, b + LOCK_CLASS);
}

function beforeAcquire(c: ThreadCtx, id: number, cls: number, mode: number): void {
  if (holdsLocally(c, id)) throw Errors.misuse(lockClassName(cls), `recursive acquire by ${c.name} (the lock is not recursive)`);
  if (c.lockdep) lockdepAcquire(c, id, cls);
  // controlled scheduling: park until granted, which happens only when the lock is free
  c.sys.turnstile.point(c.slot, PT_ACQUIRE, id, mode, { src: PRED_LOCK, buf: 0, idx: id, op: 0, val: mode });
  noiseSpin(c);
}

/** Take a mutex (blocking). Prefer `withLock`. */
export function mutexLock(id: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, 0);
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
          Atomics.wait(L, b + LOCK_STATE, 2, WAIT_SLICE_MS);
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
  const cls = checkKind(c, id, 0);
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

function rwsemAcquire(id: number, mode: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, 1);
  beforeAcquire(c, id, cls, mode);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  let contended = false;
  let t0 = 0;
  let spins = 0;
  try {
    for (;;) {
      const s = Atomics.load(L, b + LOCK_STATE);
      if (mode === MODE_READ ? s >= 0 : s === 0) {
        if (Atomics.compareExchange(L, b + LOCK_STATE, s, mode === MODE_READ ? s + 1 : -1) === s) break;
        continue;
      }
      if (!contended) { contended = true; t0 = performance.now(); }
      if (spins++ < LOCK_SPIN) continue;
      if (spins === LOCK_SPIN + 1) setWaiting(c, id, mode);
      Atomics.wait(L, b + LOCK_STATE, s, WAIT_SLICE_MS);
      hungCheck(c, id, t0);
    }
  } finally {
    if (spins > LOCK_SPIN) clearWaiting(c);
  }
  if (mode === MODE_WRITE) Atomics.store(L, b + LOCK_OWNER, c.slot + 1);
  pushHeld(c, id, mode);
  noteAcquired(c, cls, contended ? (performance.now() - t0) * 1e6 : 0, contended);
  c.sys.turnstile.acquired(c.slot, id, mode);
}

function rwsemRelease(id: number, mode: number): void {
  const c = currentThread();
  const cls = checkKind(c, id, 1);
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
    Atomics.store(L, b + LOCK_STATE, 0);
    Atomics.notify(L, b + LOCK_STATE);
    noteReleased(c, cls, since, id);
  } else {
    const since = popHeld(c, id, MODE_READ);
    if (since < 0) throw Errors.misuse(lockClassName(cls), `up_read by ${c.name}, which does not hold it for read`);
    if (Atomics.sub(L, b + LOCK_STATE, 1) === 1) Atomics.notify(L, b + LOCK_STATE);
    noteReleased(c, cls, since, id);
  }
}

export const downRead = (id: number): void => rwsemAcquire(id, MODE_READ);
export const downWrite = (id: number): void => rwsemAcquire(id, MODE_WRITE);
export const upRead = (id: number): void => rwsemRelease(id, MODE_READ);
export const upWrite = (id: number): void => rwsemRelease(id, MODE_WRITE);

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
  c.sys.reports.append({ kind: 'assert-held', lock: c.sys.lockClassNameOf(id), where, thread: c.name });
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
  const cls = checkKind(c, id, 0);
  beforeAcquire(c, id, cls, MODE_WRITE);
  const L = c.sys.locks;
  const b = id * LOCK_WORDS;
  let contended = false;
  const t0 = performance.now();
  if (Atomics.compareExchange(L, b + LOCK_STATE, 0, 1) !== 0) {
    contended = true;
    setWaiting(c, id, MODE_WRITE);
    try {
      while (Atomics.exchange(L, b + LOCK_STATE, 2) !== 0) {
        const r = Atomics.waitAsync(L, b + LOCK_STATE, 2, WAIT_SLICE_MS);
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

/** Whether a lock could be taken now in `mode` (for the controlled scheduler's predicates). */
export function lockAvailable(sys: SystemShm, id: number, mode: LockMode): boolean {
  const s = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_STATE);
  const kind = Atomics.load(sys.locks, id * LOCK_WORDS + LOCK_KIND);
  if (kind === 0) return s === 0;
  return mode === 'read' ? s >= 0 : s === 0;
}
