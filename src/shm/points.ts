/**
 * DOC: the calling thread's instrumented points — thin wrappers over the turnstile (sched.ts)
 * that know the thread's slot. Production code calls these; in a free run without recording
 * they cost one Atomics.load.
 */
import { currentThread, hasThread } from './lock.js';
import { setRegfileSched, type RegFile } from './regfile.js';
import { PRED_REG, PRED_SYS, PT_FM_START, PT_OP_START, SCHED_CONTROLLED, SCHED_RECORD } from './sched.js';

/** A sysfs / driver-core operation begins on this worker (user, dax-bus). */
export function opStart(kind = PT_OP_START): void {
  if (!hasThread()) return;
  const c = currentThread();
  c.sys.turnstile.point(c.slot, kind);
}

/** A fabric-manager command begins on a device worker (recorded; FM commands run atomically). */
export function fmStart(): void {
  opStart(PT_FM_START);
}

/** This worker finished an operation and goes back to waiting for messages. */
export function opDone(): void {
  if (!hasThread()) return;
  const c = currentThread();
  c.sys.turnstile.idle(c.slot, true);
}

/** Block (async) until a system-header word satisfies (op, val), under the controlled scheduler. */
export async function blockSysAsync(idx: number, op: number, val: number): Promise<boolean> {
  if (!hasThread()) return false;
  const c = currentThread();
  return c.sys.turnstile.blockAsync(c.slot, { src: PRED_SYS, buf: 0, idx, op, val });
}

export function resumedSys(idx: number): void {
  if (!hasThread()) return;
  const c = currentThread();
  c.sys.turnstile.resumed(c.slot, { src: PRED_SYS, buf: 0, idx });
}

/** True when the calling thread is under the controlled scheduler. */
export function schedControlled(): boolean {
  if (!hasThread()) return false;
  const c = currentThread();
  return c.sys.turnstile.controlled(c.slot);
}

/** Enroll the calling thread in controlled scheduling (every worker of the topology does). */
export function enrollThread(): void {
  if (!hasThread()) return;
  const c = currentThread();
  c.sys.turnstile.enroll(c.slot, true);
}

/** Route this thread's register-file waits through the turnstile. Call once per thread. */
export function installRegfileSched(): void {
  setRegfileSched({
    block(rf: RegFile, idx, op, val) {
      if (!hasThread() || rf.memdev < 0) return false;
      const c = currentThread();
      // not controlled: Turnstile.block returns false untouched — skip building its predicate
      // (one object per mailbox command on the event thread, #17)
      if (c.sys.turnstile.mode() !== SCHED_CONTROLLED) return false;
      return c.sys.turnstile.block(c.slot, { src: PRED_REG, buf: rf.memdev, idx, op, val });
    },
    async blockAsync(rf: RegFile, idx, op, val) {
      if (!hasThread() || rf.memdev < 0) return false;
      const c = currentThread();
      return c.sys.turnstile.blockAsync(c.slot, { src: PRED_REG, buf: rf.memdev, idx, op, val });
    },
    resumed(rf: RegFile, idx) {
      if (!hasThread() || rf.memdev < 0) return;
      const c = currentThread();
      if (c.sys.turnstile.mode() !== SCHED_RECORD) return; // Turnstile.resumed logs in RECORD mode only
      c.sys.turnstile.resumed(c.slot, { src: PRED_REG, buf: rf.memdev, idx });
    },
    controlled() {
      return schedControlled();
    },
  });
}
