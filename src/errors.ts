/**
 * DOC: typed errors, with the kernel's errno names where the kernel returns one.
 *
 * Operating errors (a device or user doing something the model refuses) are values: functions
 * that model kernel functions return `0 | Errno`-like results or throw a `CxlError` carrying the
 * errno name, so a scenario can `expectError: "EBUSY"`. Programmer errors — a broken lock rule, a
 * stale table handle — throw their own classes and end the worker, as a kernel WARN/BUG would.
 * Factories (piscina's `Errors` style) give each throw a fresh stack.
 */

/**
 * THE errno table: every errno name the model uses and its code, as the kernel numbers them
 * (include/uapi/asm-generic/errno-base.h, errno.h). Everything else derives from it: the `Errno`
 * type, the negative returns below, the codes on the binary event stream (`ERRNO_NAME` decodes
 * them), the device's `FmErrorCode` subset and the scenario contract's errno list.
 */
export const ERRNO_CODES = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, E2BIG: 7, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EBUSY: 16,
  EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28, ERANGE: 34, EDEADLK: 35,
  EOPNOTSUPP: 95, ETIMEDOUT: 110,
} as const;
export type Errno = keyof typeof ERRNO_CODES;
/** A subset of the errno names, checked: a name the table lacks does not compile. */
export type ErrnoSubset<E extends Errno> = E;
/** the names, in code order */
export const ERRNOS = Object.keys(ERRNO_CODES) as readonly Errno[];
/** positive code → name */
export const ERRNO_NAME: Readonly<Record<number, Errno>> = Object.fromEntries(ERRNOS.map((n) => [ERRNO_CODES[n], n]));

export function isErrno(s: unknown): s is Errno {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ERRNO_CODES, s);
}

/** The name of a kernel return `rc` (< 0); `fallback` when the table lacks it. */
export function errnoOf(rc: number, fallback: Errno = 'EIO'): Errno {
  return ERRNO_NAME[-rc] ?? fallback;
}

/**
 * The negative returns, as kernel functions `return -ENXIO`: the value of `ENXIO` here is the
 * kernel's `-ENXIO`. Only the ones the model returns.
 */
export const EPERM = -ERRNO_CODES.EPERM;
export const ENOENT = -ERRNO_CODES.ENOENT;
export const EIO = -ERRNO_CODES.EIO;
export const ENXIO = -ERRNO_CODES.ENXIO;
export const EAGAIN = -ERRNO_CODES.EAGAIN;
export const ENOMEM = -ERRNO_CODES.ENOMEM;
export const EBUSY = -ERRNO_CODES.EBUSY;
export const EEXIST = -ERRNO_CODES.EEXIST;
export const ENODEV = -ERRNO_CODES.ENODEV;
export const EINVAL = -ERRNO_CODES.EINVAL;
export const ENOSPC = -ERRNO_CODES.ENOSPC;
export const EOPNOTSUPP = -ERRNO_CODES.EOPNOTSUPP;

/** The kernel return (`-code`) for an errno name; `fallback` (a negative return) for a name the
 *  table lacks, e.g. a mailbox reply's 'OK'. */
export function rcOfErrno(name: string, fallback: number): number {
  return isErrno(name) ? -ERRNO_CODES[name] : fallback;
}

/**
 * The one failure shape of the control plane (sysfs-like ops, FM API calls, the scenario's op
 * outcomes): not ok, the errno name, and a message saying what was refused.
 */
export interface Failure<E extends Errno = Errno> {
  ok: false;
  errno: E;
  message: string;
}

export function failure<E extends Errno>(errno: E, message: string): Failure<E> {
  return { ok: false, errno, message };
}

/**
 * DCD_ERROR_STACKS=1: every CxlError captures its stack, as before the swarm8 session. By default
 * it does not (see CxlError).
 */
const CXL_ERROR_STACKS = typeof process !== 'undefined' && process.env?.DCD_ERROR_STACKS === '1';

/**
 * An errno-carrying error: what a sysfs store or a kernel function returns as -E…. It is an
 * expected outcome, not a bug: `op()` (src/runtime/host-workers.ts) turns it into a typed result
 * `{ ok: false, errno, message }` and the stack is never read. So it captures no stack unless
 * DCD_ERROR_STACKS=1 — the capture cost ~0.5 ms of user-worker CPU per swarm iteration
 * (docs/performance.md, "Eleventh session: swarm iterations"). Its message names the errno and what was refused; a CxlError that
 * escapes where no caller expects one (a scenario run aborting on it) still prints that message.
 * Bugs keep their stacks: LockMisuseError, LockNotHeldError, HungWaitError, StaleHandleError and
 * every other Error capture theirs as usual.
 */
export class CxlError extends Error {
  readonly errno: Errno;
  constructor(errno: Errno, message: string) {
    if (CXL_ERROR_STACKS) {
      super(`${errno}: ${message}`);
    } else {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        super(`${errno}: ${message}`);
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
    this.errno = errno;
  }
  override get name(): string {
    return 'CxlError';
  }
}

/** Misuse of a lock: unlock by a non-owner, double unlock, recursive acquire. Names the class. */
export class LockMisuseError extends Error {
  readonly lockClass: string;
  constructor(lockClass: string, message: string) {
    super(`lock misuse on ${lockClass}: ${message}`);
    this.lockClass = lockClass;
  }
  override get name(): string {
    return 'LockMisuseError';
  }
}

/** `lockdep_assert_held` failed. */
export class LockNotHeldError extends Error {
  readonly lockClass: string;
  constructor(lockClass: string, how: string) {
    super(`lockdep_assert_held${how}(${lockClass}) failed: the lock is not held by this thread`);
    this.lockClass = lockClass;
  }
  override get name(): string {
    return 'LockNotHeldError';
  }
}

/** A wait on a lock or a condition exceeded the hung-task bound. Carries the full report. */
export class HungWaitError extends Error {
  readonly report: HungReport;
  constructor(report: HungReport) {
    super(formatHungReport(report));
    this.report = report;
  }
  override get name(): string {
    return 'HungWaitError';
  }
}

/** A table handle whose record was freed (and maybe reused): a use-after-free in kernel terms. */
export class StaleHandleError extends Error {
  constructor(table: string, handle: number) {
    super(`stale handle ${handle} into table ${table} (record freed or reused)`);
  }
  override get name(): string {
    return 'StaleHandleError';
  }
}

export interface HeldLockInfo {
  lock: number;
  cls: string;
  mode: 'read' | 'write';
}

export interface ThreadLockInfo {
  slot: number;
  name: string;
  held: HeldLockInfo[];
  waitingFor: HeldLockInfo | null;
  /**
   * Waits for nothing because it is unwinding a hung wait it reported itself (the model's hung
   * task gives up; the kernel's would still be blocked in that wait). Absent otherwise.
   */
  unwinding?: true;
}

export interface HungReport {
  kind: 'hung-wait';
  /** when the report was made (src/shm/clock.ts wallMs, the event stream's clock); the wait began
   *  `waitedMs` earlier. Absent in reports recorded before the field existed. */
  atMs?: number;
  waitedMs: number;
  boundMs: number;
  waiter: ThreadLockInfo;
  /** the exclusive owner, or for an rwsem held for read, every reader found */
  holders: ThreadLockInfo[];
  /**
   * Reported before the bound because the waiter found a cycle of waits through itself (src/shm/
   * wait-cycle.ts): the threads of the cycle, the waiter first. Absent when the bound ran out.
   */
  cycle?: string[];
}

export function formatHungReport(r: HungReport): string {
  const fmtThread = (t: ThreadLockInfo): string => {
    const held = t.held.length ? t.held.map((h) => `${h.cls}#${h.lock}(${h.mode})`).join(', ') : 'nothing';
    const waits = t.waitingFor ? `${t.waitingFor.cls}#${t.waitingFor.lock}(${t.waitingFor.mode})` : t.unwinding ? 'nothing (unwinding its own reported hung wait)' : 'nothing';
    return `${t.name} [slot ${t.slot}] holds ${held}; waits for ${waits}`;
  };
  const lines = [
    // bound 0: the controlled scheduler found no runnable thread (stress/turnstile.ts) — a
    // deadlock proven by the schedule's state, not a wait that outlasted a timeout
    r.boundMs === 0
      ? `INFO: task ${r.waiter.name} blocked for good: no thread can run (controlled schedule)`
      : r.cycle
        ? `INFO: task ${r.waiter.name} blocked for good: a cycle of lock waits (${[...r.cycle, r.cycle[0]].join(' -> ')}) after ${Math.round(r.waitedMs)} ms, before the ${r.boundMs} ms bound`
        : `INFO: task ${r.waiter.name} blocked for more than ${r.boundMs} ms (waited ${Math.round(r.waitedMs)} ms)`,
    `  waiter: ${fmtThread(r.waiter)}`,
    ...(r.holders.length ? r.holders.map((h) => `  holder: ${fmtThread(h)}`) : ['  holder: none found (lock free or holder gone)']),
  ];
  return lines.join('\n');
}

export const Errors = {
  errno: (errno: Errno, message: string) => new CxlError(errno, message),
  misuse: (cls: string, message: string) => new LockMisuseError(cls, message),
  notHeld: (cls: string, how = '') => new LockNotHeldError(cls, how),
  stale: (table: string, handle: number) => new StaleHandleError(table, handle),
};
