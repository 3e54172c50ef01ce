/**
 * DOC: the wait-for cycle check — a deadlock proven from the thread slots, not from a timeout.
 *
 * A thread about to sleep on a lock (src/shm/lock.ts) may ask: is there a chain of waits from me
 * back to me — I wait for lock L0, held by T1, which waits for L1, held by T2, …, held by me? Every
 * thread on such a chain is blocked in a wait that only another thread of the chain can end, so
 * none of them ever runs again: the kernel's tasks would stay blocked for good (khungtaskd reports
 * them after its timeout). The hung-wait bound (SYS_HUNG_MS) finds the same deadlock by waiting it
 * out — 1.5 s in the stress swarm, where an H2 of a free run cost as much as fifty iterations — so
 * with SYS_WAIT_CYCLE on, the waiter that finds a cycle through itself reports it at once, as the
 * same hung-wait report (same waiter, same holders), and the bound stays for waits that are not a
 * cycle of locks (a long hold, a leaked lock). The cycle's lowest thread slot reports and unwinds
 * (one report per cycle; the member that confirms it first wakes that thread to look); the
 * bound's report came from whichever wait passed it first (which half of a deadlock unwinds was
 * timing-dependent before; now it is the lowest slot's).
 *
 * Edges, as the hung-wait report names holders (lock.ts hungCheck): a thread waiting for lock L
 * waits for L's exclusive owner (mutex, rwsem writer) when the owner's own held list still shows
 * L; a writer waiting for an rwsem also for every reader whose held list shows it; and any waiter
 * but a recursive reader for the writer holding the rwsem's handoff. A held list shows a lock only
 * between its acquisition and its release (pushed after, popped before), so a held entry is never
 * stale; a `waiting for` word may be (the waiter just took the lock and has not cleared it yet), so
 * the caller confirms the same cycle in a second look after a pause (lock.ts cycleSlice).
 */
import { LOCK_KIND, LOCK_KIND_RWSEM, LOCK_OWNER, LOCK_STATE, LOCK_WORDS, THREAD_WAITING_FOR, THREAD_WAITING_MODE, THREAD_WORDS } from './layout.js';
import type { SystemShm } from './system.js';

/** lock.ts's wait modes (THREAD_WAITING_MODE) */
const MODE_WRITE = 1;
const MODE_READ_RECURSIVE = 3;

export interface WaitCycle {
  /** the threads of the cycle, from the asking thread: slots[i] waits for locks[i], held by slots[i+1] (the last's by slots[0]) */
  slots: number[];
  locks: number[];
}

/** The threads `slot`'s current wait waits for (ascending slots), and the lock; null when it waits for nothing. */
export function waitsFor(sys: SystemShm, slot: number, handoffSlot: (state: number) => number): { lock: number; on: number[] } | null {
  const w = Atomics.load(sys.threads, slot * THREAD_WORDS + THREAD_WAITING_FOR) - 1;
  if (w < 0) return null;
  const mode = Atomics.load(sys.threads, slot * THREAD_WORDS + THREAD_WAITING_MODE);
  const L = sys.locks;
  const on = new Set<number>();
  const holds = (s: number): boolean => sys.heldBy(s).some((h) => h.lock === w);
  const owner = Atomics.load(L, w * LOCK_WORDS + LOCK_OWNER) - 1;
  if (owner >= 0 && owner !== slot && holds(owner)) on.add(owner);
  if (Atomics.load(L, w * LOCK_WORDS + LOCK_KIND) === LOCK_KIND_RWSEM) {
    if (mode === MODE_WRITE) {
      for (let s = 0; s < sys.threadCount(); s++) if (s !== slot && sys.heldBy(s).some((h) => h.lock === w && h.mode === 'read')) on.add(s);
    }
    const h = handoffSlot(Atomics.load(L, w * LOCK_WORDS + LOCK_STATE));
    if (mode !== MODE_READ_RECURSIVE && h >= 0 && h !== slot) on.add(h);
  }
  return { lock: w, on: [...on].sort((a, b) => a - b) };
}

/**
 * A cycle of waits through `me`, or null: a depth-first walk of the wait-for edges (at most one
 * wait per thread, so the walk visits each thread once).
 */
export function findWaitCycle(sys: SystemShm, me: number, handoffSlot: (state: number) => number): WaitCycle | null {
  const seen = new Set<number>([me]);
  const slots: number[] = [];
  const locks: number[] = [];
  const walk = (s: number): boolean => {
    const e = waitsFor(sys, s, handoffSlot);
    if (!e) return false;
    slots.push(s);
    locks.push(e.lock);
    for (const t of e.on) {
      if (t === me) return true;
      if (seen.has(t)) continue;
      seen.add(t);
      if (walk(t)) return true;
    }
    slots.pop();
    locks.pop();
    return false;
  };
  return walk(me) ? { slots, locks } : null;
}
