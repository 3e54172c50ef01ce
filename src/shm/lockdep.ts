/**
 * DOC: lock-order checking in the manner of lockdep, across every thread of the run.
 *
 * Every acquisition of class B while the thread holds class A records the edge A→B in the shared
 * edge table (first occurrence only, with the thread and the chain of classes it held). When a
 * new edge A→B closes a cycle — B already reaches A through recorded edges, taken anywhere in
 * the run by any thread — the inversion is reported with both acquisition chains: the new one
 * and each recorded edge on the path B ⇝ A. Reports go to the system report log and a counter;
 * they are never thrown, so a stress run can count them (host-kernel.md §8.1 invariant 19 is
 * expected to fail for v11: add_ctx.lock ↔ device_lock(cxlr_dax)).
 *
 * Deliberately not modelled: same-class nesting (lockdep's "possible recursive locking" with
 * subclasses) — the model never nests two instances of one class; read-lock recursion rules.
 */
import {
  EDGE_CHAIN_BASE, EDGE_CHAIN_LEN, EDGE_REPORTED, EDGE_SEEN, EDGE_THREAD, EDGE_WORDS, MAX_HELD,
  MAX_LOCK_CLASSES, STAT_ACQUIRE, STAT_CONTENDED, STAT_FIELDS, STAT_HOLD_MAX_NS, STAT_HOLD_TOTAL_NS,
  STAT_WAIT_MAX_NS, STAT_WAIT_TOTAL_NS, SYS_LOCKDEP_REPORTS,
} from './layout.js';
import { LOCK_CLASS_NAMES, lockClassName } from './lock-classes.js';
import type { ThreadCtx } from './lock.js';
import type { SystemShm } from './system.js';

export interface LockChain {
  thread: string;
  /** classes held, outermost first, ending with the class being acquired */
  chain: string[];
}

export interface LockOrderReport {
  kind: 'lock-order';
  /** the new dependency that closed the cycle: `held` → `acquiring` */
  held: string;
  acquiring: string;
  /** the chain that just took `acquiring` while holding `held` */
  newChain: LockChain;
  /** the recorded chains on the reverse path acquiring ⇝ held */
  existingChains: LockChain[];
}

function edgeBase(a: number, b: number): number {
  return (a * MAX_LOCK_CLASSES + b) * EDGE_WORDS;
}

/** Called by lock.ts before every acquisition when lockdep is on. */
export function lockdepAcquire(c: ThreadCtx, _id: number, cls: number): void {
  const held = c.held;
  if (held.length === 0) return;
  const sys = c.sys;
  const E = sys.edges;
  for (let i = 0; i < held.length; i++) {
    const heldCls = sys.lockClassOf((held[i]! & 0xffffff) - 1);
    if (heldCls === cls) continue;
    const eb = edgeBase(heldCls, cls);
    if (Atomics.load(E, eb + EDGE_SEEN) !== 0) continue;
    if (Atomics.compareExchange(E, eb + EDGE_SEEN, 0, 2) !== 0) continue; // another thread is recording it
    // record the chain: classes held (outermost first) then the one being acquired
    const n = Math.min(held.length, MAX_HELD);
    for (let k = 0; k < n; k++) Atomics.store(E, eb + EDGE_CHAIN_BASE + k, sys.lockClassOf((held[k]! & 0xffffff) - 1));
    Atomics.store(E, eb + EDGE_CHAIN_BASE + n, cls);
    Atomics.store(E, eb + EDGE_CHAIN_LEN, n + 1);
    Atomics.store(E, eb + EDGE_THREAD, c.slot);
    Atomics.store(E, eb + EDGE_SEEN, 1);
    const path = findPath(sys, cls, heldCls);
    if (path) report(c, heldCls, cls, eb, path);
  }
}

/** Breadth-first search over recorded edges from `from` to `to`; returns the class path. */
function findPath(sys: SystemShm, from: number, to: number): number[] | null {
  const E = sys.edges;
  const n = LOCK_CLASS_NAMES.length;
  const prev = new Int32Array(n).fill(-2);
  prev[from] = -1;
  const queue = [from];
  while (queue.length) {
    const x = queue.shift()!;
    if (x === to) {
      const path: number[] = [];
      for (let v = to; v !== -1; v = prev[v]!) path.unshift(v);
      return path;
    }
    for (let y = 0; y < n; y++) {
      if (prev[y] !== -2) continue;
      if (Atomics.load(E, edgeBase(x, y) + EDGE_SEEN) === 1) {
        prev[y] = x;
        queue.push(y);
      }
    }
  }
  return null;
}

function chainOf(sys: SystemShm, eb: number): LockChain {
  const E = sys.edges;
  const len = Math.min(Atomics.load(E, eb + EDGE_CHAIN_LEN), MAX_HELD + 1);
  const chain: string[] = [];
  for (let k = 0; k < len; k++) chain.push(lockClassName(Atomics.load(E, eb + EDGE_CHAIN_BASE + k)));
  return { thread: sys.threadName(Atomics.load(E, eb + EDGE_THREAD)), chain };
}

function report(c: ThreadCtx, heldCls: number, cls: number, eb: number, path: number[]): void {
  const sys = c.sys;
  const E = sys.edges;
  // report each cycle once: mark the new edge; skip when every edge of the path was reported
  if (Atomics.compareExchange(E, eb + EDGE_REPORTED, 0, 1) !== 0) return;
  const existingChains: LockChain[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const pb = edgeBase(path[i]!, path[i + 1]!);
    Atomics.store(E, pb + EDGE_REPORTED, 1);
    existingChains.push(chainOf(sys, pb));
  }
  const r: LockOrderReport = {
    kind: 'lock-order',
    held: lockClassName(heldCls),
    acquiring: lockClassName(cls),
    newChain: chainOf(sys, eb),
    existingChains,
  };
  Atomics.add(sys.header, SYS_LOCKDEP_REPORTS, 1);
  sys.reports.append(r);
}

export function formatLockOrderReport(r: LockOrderReport): string {
  const fmt = (ch: LockChain): string => `    ${ch.thread}: ${ch.chain.join(' -> ')}`;
  return [
    'WARNING: possible circular locking dependency detected',
    `  ${r.newChain.thread} is trying to acquire ${r.acquiring} while holding ${r.held};`,
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

/** Forget recorded edges (between independent stress iterations that must not share history). */
export function resetLockdep(sys: SystemShm): void {
  sys.edges.fill(0);
  Atomics.store(sys.header, SYS_LOCKDEP_REPORTS, 0);
}

// ----------------------------------------------------------------------------- lock statistics

export interface LockStat {
  cls: string;
  acquisitions: number;
  contentions: number;
  waitTotalNs: number;
  waitMaxNs: number;
  holdTotalNs: number;
  holdMaxNs: number;
}

/** Per-class statistics summed over every thread (like /proc/lock_stat). Readable from any thread. */
export function lockStats(sys: SystemShm): LockStat[] {
  const out: LockStat[] = [];
  const threads = sys.threadCount();
  for (let cls = 0; cls < LOCK_CLASS_NAMES.length; cls++) {
    const st: LockStat = { cls: lockClassName(cls), acquisitions: 0, contentions: 0, waitTotalNs: 0, waitMaxNs: 0, holdTotalNs: 0, holdMaxNs: 0 };
    for (let t = 0; t < threads; t++) {
      const b = (t * MAX_LOCK_CLASSES + cls) * STAT_FIELDS;
      const s = sys.stats;
      st.acquisitions += s[b + STAT_ACQUIRE]!;
      st.contentions += s[b + STAT_CONTENDED]!;
      st.waitTotalNs += s[b + STAT_WAIT_TOTAL_NS]!;
      st.waitMaxNs = Math.max(st.waitMaxNs, s[b + STAT_WAIT_MAX_NS]!);
      st.holdTotalNs += s[b + STAT_HOLD_TOTAL_NS]!;
      st.holdMaxNs = Math.max(st.holdMaxNs, s[b + STAT_HOLD_MAX_NS]!);
    }
    if (st.acquisitions > 0) out.push(st);
  }
  return out;
}

export function resetLockStats(sys: SystemShm): void {
  sys.stats.fill(0);
}
