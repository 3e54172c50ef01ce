/**
 * DOC: per-thread scheduler accounting of a run's threads, from Linux's own counters.
 *
 * Wall-clock figures on a shared 2-core machine move 5–15× with the load (docs/performance.md);
 * what a thread *did* moves far less: the CPU time it ran, and how often it went to sleep
 * (voluntary context switches: each one is a futex wait that another thread must pay a wake-up
 * for). The kernel keeps both per task — `/proc/self/task/TID/schedstat` (ns on CPU, ns waiting
 * on a run queue, time slices) and `status` (voluntary_ctxt_switches, nonvoluntary_ctxt_switches)
 * — and every registered thread publishes its TID in its slot (src/shm/os-tid.ts), so the main
 * thread reads them without asking the workers anything. Run-queue wait is the load's share:
 * time a thread was runnable and another task had its CPU.
 *
 * `dcd bench` takes a snapshot at the start and at the end of each cell's window and reports the
 * difference per accepted extent (docs/performance.md, "Per-thread accounting").
 */
import { readFileSync } from 'node:fs';
import type { SystemShm } from '../shm/system.js';

/** One thread's cumulative counters at one moment. */
export interface ThreadSample {
  slot: number;
  name: string;
  tid: number;
  /** ns on CPU (schedstat field 1) */
  cpuNs: number;
  /** ns runnable but waiting for a CPU (schedstat field 2) */
  runqNs: number;
  /** context switches the thread asked for: it blocked (a futex wait, a sleep) */
  voluntary: number;
  /** context switches forced on it: preempted while runnable */
  involuntary: number;
}

/** One thread's activity between two samples. */
export interface ThreadDelta {
  name: string;
  cpuUs: number;
  runqUs: number;
  /** voluntary context switches: the times this thread went to sleep */
  sleeps: number;
  preemptions: number;
}

/** One task's counters now, by Linux task id (null when it is gone or there is no /proc). */
function readTask(tid: number): { cpuNs: number; runqNs: number; voluntary: number; involuntary: number } | null {
  try {
    const ss = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/);
    const st = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
    const v = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(st);
    const nv = /^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(st);
    if (ss.length < 2 || !v || !nv) return null;
    return { cpuNs: Number(ss[0]), runqNs: Number(ss[1]), voluntary: Number(v[1]), involuntary: Number(nv[1]) };
  } catch {
    return null; // the thread exited, or no /proc: no figure rather than a wrong one
  }
}

/** The counters of every registered thread that published a TID (empty off Linux). */
export function sampleThreads(sys: SystemShm): ThreadSample[] {
  const out: ThreadSample[] = [];
  for (let slot = 0; slot < sys.threadCount(); slot++) {
    const tid = sys.osTid(slot);
    if (tid <= 0) continue;
    const t = readTask(tid);
    if (t) out.push({ slot, name: sys.threadName(slot), tid, ...t });
  }
  return out;
}

/** Named tasks' counters now (threads outside a system: the bench's ceiling workers). */
export function sampleTasks(tasks: readonly { name: string; tid: number }[]): ThreadSample[] {
  const out: ThreadSample[] = [];
  tasks.forEach((x, slot) => {
    const t = x.tid > 0 ? readTask(x.tid) : null;
    if (t) out.push({ slot, name: x.name, tid: x.tid, ...t });
  });
  return out;
}

/** Per-thread activity from `before` to `after` (threads present in both, by slot and TID). */
export function threadDeltas(before: readonly ThreadSample[], after: readonly ThreadSample[]): ThreadDelta[] {
  const out: ThreadDelta[] = [];
  for (const a of after) {
    const b = before.find((x) => x.slot === a.slot && x.tid === a.tid);
    if (!b) continue;
    out.push({
      name: a.name,
      cpuUs: (a.cpuNs - b.cpuNs) / 1000,
      runqUs: (a.runqNs - b.runqNs) / 1000,
      sleeps: a.voluntary - b.voluntary,
      preemptions: a.involuntary - b.involuntary,
    });
  }
  return out;
}
