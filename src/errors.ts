/**
 * DOC: typed errors, with the kernel's errno names where the kernel returns one.
 *
 * Operating errors (a device or user doing something the model refuses) are values: functions
 * that model kernel functions return `0 | Errno`-like results or throw a `CxlError` carrying the
 * errno name, so a scenario can `expectError: "EBUSY"`. Programmer errors — a broken lock rule, a
 * stale table handle — throw their own classes and end the worker, as a kernel WARN/BUG would.
 * Factories (piscina's `Errors` style) give each throw a fresh stack.
 */

export const ERRNOS = [
  'EPERM', 'ENOENT', 'EIO', 'ENXIO', 'E2BIG', 'ENOMEM', 'EFAULT', 'EBUSY', 'EEXIST', 'ENODEV',
  'EINVAL', 'ENOSPC', 'ENOTTY', 'EAGAIN', 'EDEADLK', 'EOPNOTSUPP', 'ETIMEDOUT',
] as const;
export type Errno = (typeof ERRNOS)[number];

export function isErrno(s: unknown): s is Errno {
  return typeof s === 'string' && (ERRNOS as readonly string[]).includes(s);
}

/** An errno-carrying error: what a sysfs store or a kernel function returns as -E…. */
export class CxlError extends Error {
  readonly errno: Errno;
  constructor(errno: Errno, message: string) {
    super(`${errno}: ${message}`);
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
}

export interface HungReport {
  kind: 'hung-wait';
  waitedMs: number;
  boundMs: number;
  waiter: ThreadLockInfo;
  /** the exclusive owner, or for an rwsem held for read, every reader found */
  holders: ThreadLockInfo[];
}

export function formatHungReport(r: HungReport): string {
  const fmtThread = (t: ThreadLockInfo): string => {
    const held = t.held.length ? t.held.map((h) => `${h.cls}#${h.lock}(${h.mode})`).join(', ') : 'nothing';
    const waits = t.waitingFor ? `${t.waitingFor.cls}#${t.waitingFor.lock}(${t.waitingFor.mode})` : 'nothing';
    return `${t.name} [slot ${t.slot}] holds ${held}; waits for ${waits}`;
  };
  const lines = [
    `INFO: task ${r.waiter.name} blocked for more than ${r.boundMs} ms (waited ${Math.round(r.waitedMs)} ms)`,
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
