/**
 * DOC: lock-order checking in the manner of lockdep, across every thread of the run.
 *
 * Dependencies. Acquiring class B while the thread's most recently taken, still held lock is of
 * class A records the dependency A → B (kernel/locking/lockdep.c check_prevs_add(): the
 * dependency goes from the nearest held lock only — earlier held locks reach B through it). The
 * shared edge table keeps, per class pair, the dependency *types* seen and the first chain that
 * recorded the pair (its thread and every class it held, with modes).
 *
 * Read semantics (Documentation/locking/lockdep-design.rst, "Recursive read locks" and
 * "Dependency types and strong dependency paths"; lockdep.c DEP_*_BIT, __calc_dep_bit):
 * a writer or mutex holder is E (exclusive), any reader is S (shared); the acquired lock is R if
 * it is a recursive read (rwlock read_lock, rcu_read_lock) and N otherwise — a writer or a
 * NON-recursive reader. down_read() is a non-recursive read (lock_acquire read=1): it can be
 * blocked by a *waiting* writer (the rwsem handoff, lock.ts), so a down_read() edge ends in N.
 * Four types: -(ER)->, -(EN)->, -(SR)->, -(SN)->.
 *
 * Cycles (lockdep.c check_noncircular(), __bfs(), hlock_conflict()): when a new dependency
 * prev → next is added, search for a *strong* path next ⇝ prev — one with no two adjacent edges
 * -(*R)-> -(S*)-> (a recursive reader followed by a shared holder: readers don't block recursive
 * readers, so no wait there). The cycle is a possible deadlock, and reported, when the path is
 * strong and the closing edge keeps it strong: prev → next is -(E*)->, or the path arrives at
 * prev through an -(*N)-> edge; and the first edge out of next is not -(S*)-> when prev → next is
 * -(*R)-> (bfs_init_root: only_xr = next->read == 2). A strong cycle is necessary and sufficient
 * for a deadlock (lockdep-design.rst Lemma 1 and 2). Since v11 takes no recursive read lock,
 * every v11 cycle — whatever mix of mutexes, down_read and down_write — is strong and reported,
 * not only cycles of writes. Departure: the kernel's __bfs() visits each class once, so a class
 * first reached through an -(*R)-> edge can hide a strong path through it; the model searches
 * (class, arrived-through-R) states and reports every strong cycle (the documented rule).
 *
 * Reports go to the system report log and a counter; they are never thrown, so a stress run can
 * count them (invariant 8.1-19 is expected to fail for v11: add_ctx.lock ↔ device_lock(cxlr_dax),
 * hazard H2). Each cycle is reported once.
 *
 * Deliberately not modelled: same-class nesting (lockdep's "possible recursive locking" with
 * subclasses) — the model never nests two instances of one class; trylocks (the model has
 * none); check_redundant() (it only avoids storing a dependency a stronger path already implies).
 */
import {
  EDGE_CHAIN_BASE, EDGE_CHAIN_LEN, EDGE_DEP, EDGE_REPORTED, EDGE_SEEN, EDGE_THREAD, EDGE_WORDS, MAX_HELD,
  MAX_LOCK_CLASSES, STAT_ACQUIRE, STAT_CONTENDED, STAT_FIELDS, STAT_HOLD_MAX_NS, STAT_HOLD_SAMPLES, STAT_HOLD_TOTAL_NS, STAT_RELEASES,
  STAT_WAIT_MAX_NS, STAT_WAIT_TOTAL_NS, SYS_LOCKDEP_REPORTS,
} from './layout.js';
import { wallMs } from './clock.js';
import { LOCK_CLASS_NAMES, lockClassName } from './lock-classes.js';
import type { ThreadCtx } from './lock.js';
import type { SystemShm } from './system.js';

export type LockdepMode = 'write' | 'read' | 'read-recursive';

export interface LockChain {
  thread: string;
  /** classes held, outermost first, ending with the class being acquired */
  chain: string[];
  /** the mode of each entry of `chain` (a mutex is 'write') */
  modes?: LockdepMode[];
}

export interface LockOrderReport {
  kind: 'lock-order';
  /** when lockdep reported it (src/shm/clock.ts wallMs, the event stream's clock) */
  atMs?: number;
  /** the new dependency that closed the cycle: `held` → `acquiring` */
  held: string;
  acquiring: string;
  /** the new dependency's type, as lockdep names it: ER, EN, SR or SN */
  dep?: DepType;
  /** the chain that just took `acquiring` while holding `held` */
  newChain: LockChain;
  /** the recorded chains on the strong path acquiring ⇝ held, in order */
  existingChains: LockChain[];
}

export type DepType = 'SR' | 'ER' | 'SN' | 'EN';

// lockdep.c DEP_*_BIT: bit0 = prev is exclusive (read == 0), bit1 = next is non-recursive (read != 2)
// (depBit computes them; DEP_ER, 1 << 1, is never tested by name, only through DEP_NAMES)
const DEP_SR = 1 << 0;
const DEP_SN = 1 << 2;
const DEP_EN = 1 << 3;
const DEP_NAMES: DepType[] = ['SR', 'ER', 'SN', 'EN'];

/** held-entry modes (lock.ts): 1 write / mutex, 2 read (down_read), 3 recursive read */
const MODE_WRITE = 1;
const MODE_READ_RECURSIVE = 3;

function depBit(prevMode: number, nextMode: number): number {
  return 1 << ((prevMode === MODE_WRITE ? 1 : 0) + (nextMode !== MODE_READ_RECURSIVE ? 2 : 0));
}

function modeName(m: number): LockdepMode {
  return m === MODE_WRITE ? 'write' : m === MODE_READ_RECURSIVE ? 'read-recursive' : 'read';
}

function edgeBase(a: number, b: number): number {
  return (a * MAX_LOCK_CLASSES + b) * EDGE_WORDS;
}

/** Called by lock.ts before every acquisition when lockdep is on; `mode` as held entries encode it. */
export function lockdepAcquire(c: ThreadCtx, _id: number, cls: number, mode: number): void {
  const held = c.held;
  if (held.length === 0) return;
  const sys = c.sys;
  const E = sys.edges;
  // check_prevs_add(): the dependency comes from the nearest held lock (skipping one of the same
  // class: the model never nests two instances of a class, see DOC)
  let i = held.length - 1;
  while (i >= 0 && sys.lockClassOf((held[i]! & 0xffffff) - 1) === cls) i--;
  if (i < 0) return;
  const prevEntry = held[i]!;
  const prevCls = sys.lockClassOf((prevEntry & 0xffffff) - 1);
  const prevMode = prevEntry >>> 24;
  const bit = depBit(prevMode, mode);
  const eb = edgeBase(prevCls, cls);
  if ((Atomics.load(E, eb + EDGE_DEP) & bit) !== 0) return; // this dependency type is known
  // check_prev_add() -> check_noncircular(next, prev) before the dependency is added
  const path = findStrongPath(sys, cls, prevCls, mode === MODE_READ_RECURSIVE, prevMode === MODE_WRITE);
  if (Atomics.compareExchange(E, eb + EDGE_SEEN, 0, 2) === 0) {
    // first dependency of this class pair: record the chain (classes held, outermost first, then
    // the one being acquired) with their modes
    const n = Math.min(held.length, MAX_HELD);
    for (let k = 0; k < n; k++) Atomics.store(E, eb + EDGE_CHAIN_BASE + k, sys.lockClassOf((held[k]! & 0xffffff) - 1) | ((held[k]! >>> 24) << 8));
    Atomics.store(E, eb + EDGE_CHAIN_BASE + n, cls | (mode << 8));
    Atomics.store(E, eb + EDGE_CHAIN_LEN, n + 1);
    Atomics.store(E, eb + EDGE_THREAD, c.slot);
    Atomics.store(E, eb + EDGE_SEEN, 1);
  }
  Atomics.or(E, eb + EDGE_DEP, bit);
  if (path) report(c, prevCls, cls, eb, bit, path, mode);
}

/**
 * A strong dependency path `from` ⇝ `to` (lockdep.c __bfs() with hlock_conflict() as the match):
 * breadth-first over (class, arrived-through-only-*R) states. `fromRecursive`: the new dependency
 * ends in a recursive read, so the first step must not leave `from` as a shared holder
 * (bfs_init_root). `closingExclusive`: the new dependency leaves `to` as an exclusive holder, so
 * any arrival at `to` closes a strong cycle; else the arrival must be -(*N)->. Returns the class path.
 */
export function findStrongPath(sys: SystemShm, from: number, to: number, fromRecursive: boolean, closingExclusive: boolean): number[] | null {
  const E = sys.edges;
  const n = LOCK_CLASS_NAMES.length;
  // state index: cls * 2 + onlyXr
  const prev = new Int32Array(2 * n).fill(-2);
  const root = from * 2 + (fromRecursive ? 1 : 0);
  prev[root] = -1;
  const queue = [root];
  while (queue.length) {
    const st = queue.shift()!;
    const x = st >> 1;
    const onlyXr = (st & 1) === 1;
    if (st !== root && x === to && (closingExclusive || !onlyXr)) {
      const path: number[] = [];
      for (let v = st; v !== -1; v = prev[v]!) path.unshift(v >> 1);
      return path;
    }
    for (let y = 0; y < n; y++) {
      let dep = Atomics.load(E, edgeBase(x, y) + EDGE_DEP);
      if (dep === 0) continue;
      // -(*R)-> then -(S*)-> is not strong: mask out the shared-holder dependencies
      if (onlyXr) dep &= ~(DEP_SR | DEP_SN);
      if (dep === 0) continue;
      const ny = y * 2 + ((dep & (DEP_SN | DEP_EN)) === 0 ? 1 : 0);
      if (prev[ny] !== -2) continue;
      // arriving through *N dominates arriving through *R only: skip the weaker state if seen
      if ((ny & 1) === 1 && prev[y * 2] !== -2) continue;
      prev[ny] = st;
      queue.push(ny);
    }
  }
  return null;
}

function chainOf(sys: SystemShm, eb: number): LockChain {
  const E = sys.edges;
  const len = Math.min(Atomics.load(E, eb + EDGE_CHAIN_LEN), MAX_HELD + 1);
  const chain: string[] = [];
  const modes: LockdepMode[] = [];
  for (let k = 0; k < len; k++) {
    const v = Atomics.load(E, eb + EDGE_CHAIN_BASE + k);
    chain.push(lockClassName(v & 0xff));
    modes.push(modeName(v >>> 8));
  }
  return { thread: sys.threadName(Atomics.load(E, eb + EDGE_THREAD)), chain, modes };
}

function report(c: ThreadCtx, heldCls: number, cls: number, eb: number, bit: number, path: number[], mode: number): void {
  const sys = c.sys;
  const E = sys.edges;
  // report each cycle once: mark the new edge; skip when it already took part in a report
  if (Atomics.compareExchange(E, eb + EDGE_REPORTED, 0, 1) !== 0) return;
  const existingChains: LockChain[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const pb = edgeBase(path[i]!, path[i + 1]!);
    Atomics.store(E, pb + EDGE_REPORTED, 1);
    existingChains.push(chainOf(sys, pb));
  }
  const n = Math.min(c.held.length, MAX_HELD);
  const newChain: LockChain = { thread: c.name, chain: [], modes: [] };
  for (let k = 0; k < n; k++) {
    newChain.chain.push(lockClassName(sys.lockClassOf((c.held[k]! & 0xffffff) - 1)));
    newChain.modes!.push(modeName(c.held[k]! >>> 24));
  }
  newChain.chain.push(lockClassName(cls));
  newChain.modes!.push(modeName(mode));
  const r: LockOrderReport = {
    kind: 'lock-order',
    atMs: wallMs(),
    held: lockClassName(heldCls),
    acquiring: lockClassName(cls),
    dep: DEP_NAMES[31 - Math.clz32(bit)]!,
    newChain,
    existingChains,
  };
  Atomics.add(sys.header, SYS_LOCKDEP_REPORTS, 1);
  sys.reports.append(r);
}

export function formatLockOrderReport(r: LockOrderReport): string {
  const fmt = (ch: LockChain): string => `    ${ch.thread}: ${ch.chain.map((x, i) => (ch.modes?.[i] && ch.modes[i] !== 'write' ? `${x}(${ch.modes[i] === 'read' ? 'r' : 'R'})` : x)).join(' -> ')}`;
  return [
    'WARNING: possible circular locking dependency detected',
    `  ${r.newChain.thread} is trying to acquire ${r.acquiring} while holding ${r.held} (dependency -(${r.dep ?? '?'})->);`,
    `  the existing dependency chain (in reverse order) is:`,
    ...r.existingChains.map(fmt),
    '  and the new chain is:',
    fmt(r.newChain),
  ].join('\n');
}

export function lockOrderReports(sys: SystemShm): LockOrderReport[] {
  return sys.reports.read<{ kind: string }>().filter((r): r is LockOrderReport => r.kind === 'lock-order');
}

export function lockOrderReportCount(sys: SystemShm): number {
  return Atomics.load(sys.header, SYS_LOCKDEP_REPORTS);
}

// ----------------------------------------------------------------------------- lock statistics

/**
 * One lock class's statistics (lock.ts noteAcquired / noteReleased):
 *  - acquisitions: every acquisition; contentions: those whose fast path failed (the lock was
 *    not free at the first compare-exchange, or an rwsem was not available at the first look);
 *  - waitTotalNs / waitMaxNs: the time a contended acquisition slept for the lock (timed on the
 *    slow path only; a contention resolved within the spin counts 0);
 *  - holdTotalNs: the holds released so far, ESTIMATED from the timed ones (the sum of the timed
 *    holds × releases ÷ holdSamples, per thread) — every hold of a class's first 64 acquisitions in
 *    a thread is timed, then 1 in SystemOptions.lockHoldEvery (default 8) at random; exact when
 *    holdSamples === releases (lockHoldEvery 1, or a class taken rarely);
 *  - holdMaxNs: the longest TIMED hold (a lower bound of the longest hold when sampled);
 *  - releases, holdSamples: the releases counted and the holds timed among them.
 */
export interface LockStat {
  cls: string;
  acquisitions: number;
  contentions: number;
  waitTotalNs: number;
  waitMaxNs: number;
  holdTotalNs: number;
  holdMaxNs: number;
  releases: number;
  holdSamples: number;
}

/** Per-class statistics summed over every thread (like /proc/lock_stat). Readable from any thread. */
export function lockStats(sys: SystemShm): LockStat[] {
  const out: LockStat[] = [];
  const threads = sys.threadCount();
  for (let cls = 0; cls < LOCK_CLASS_NAMES.length; cls++) {
    const st: LockStat = { cls: lockClassName(cls), acquisitions: 0, contentions: 0, waitTotalNs: 0, waitMaxNs: 0, holdTotalNs: 0, holdMaxNs: 0, releases: 0, holdSamples: 0 };
    for (let t = 0; t < threads; t++) {
      const b = (t * MAX_LOCK_CLASSES + cls) * STAT_FIELDS;
      const s = sys.stats;
      st.acquisitions += s[b + STAT_ACQUIRE]!;
      st.contentions += s[b + STAT_CONTENDED]!;
      st.waitTotalNs += s[b + STAT_WAIT_TOTAL_NS]!;
      st.waitMaxNs = Math.max(st.waitMaxNs, s[b + STAT_WAIT_MAX_NS]!);
      const rel = s[b + STAT_RELEASES]!;
      const timed = s[b + STAT_HOLD_SAMPLES]!;
      st.releases += rel;
      st.holdSamples += timed;
      // this thread's timed holds stand for all its releases of the class (sampling, see LockStat)
      if (timed > 0) st.holdTotalNs += timed === rel ? s[b + STAT_HOLD_TOTAL_NS]! : (s[b + STAT_HOLD_TOTAL_NS]! * rel) / timed;
      st.holdMaxNs = Math.max(st.holdMaxNs, s[b + STAT_HOLD_MAX_NS]!);
    }
    if (st.acquisitions > 0) out.push(st);
  }
  return out;
}

export function resetLockStats(sys: SystemShm): void {
  sys.stats.fill(0);
}
