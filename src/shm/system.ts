/**
 * DOC: the system buffer — what every thread of a run shares besides the per-memdev register
 * files and the host state tables: thread slots (what each thread holds and waits for), the lock
 * arena, the lockdep edge table, per-thread lock statistics, the clock words and a report log.
 *
 * The main thread creates it; every worker attaches to it in its startup handshake and registers
 * itself, getting a slot. Layout constants are in layout.ts.
 */
import {
  EDGE_WORDS, I32, LOCK_CLASS, LOCK_KIND, LOCK_OWNER, LOCK_STATE, LOCK_WORDS, MAX_LOCKS,
  CLOCK_MODE_REAL, CLOCK_MODE_VIRTUAL, LOCK_KIND_MUTEX, LOCK_KIND_RWSEM, MAX_LOCK_CLASSES, MAX_THREADS, STAT_FIELDS, SYS_CLOCK_MODE, SYS_HEADER_WORDS, SYS_HUNG_MS, SYS_LOCKSTAT_HOLD_EVERY, SYS_LOCKSTAT_ON,
  SYS_LOCKDEP_ON, SYS_LOCK_COUNT, SYS_MAGIC, SYS_MAGIC_VALUE, SYS_THREAD_COUNT, THREAD_ALIVE,
  THREAD_HELD_BASE, THREAD_HELD_COUNT, THREAD_NAME_BYTES, THREAD_OS_TID, THREAD_UNWINDING, THREAD_WORDS, SYS_CLOCK_NOW_F64,
} from './layout.js';
import { LOCK_CLASS_NAMES, lockClassName } from './lock-classes.js';
import { TextLog } from './textlog.js';
import { Turnstile } from './sched.js';
import { osThreadId } from './os-tid.js';

export type LockKind = 'mutex' | 'rwsem';

/** What a worker receives in its startup handshake to attach to the system buffer. */
export interface SystemHandle {
  sab: SharedArrayBuffer;
  reports: SharedArrayBuffer;
  sched: SharedArrayBuffer;
}

export interface SystemOptions {
  /** hung-wait bound in ms (default 5000; 0 disables) */
  hungMs?: number;
  /** lock-order tracking (default on) */
  lockdep?: boolean;
  /** lock statistics (default: as `lockdep`) — separable so the bench can price each */
  lockStats?: boolean;
  /**
   * Lock statistics' hold-time sampling period, a power of two (default 8): every hold of a
   * class's first STAT_HOLD_EXACT_FIRST acquisitions per thread is timed, then 1 in this many at
   * random; 1 times every hold (layout.ts SYS_LOCKSTAT_HOLD_EVERY).
   */
  lockHoldEvery?: number;
  clock?: 'real' | 'virtual';
}

/** SystemOptions.lockHoldEvery's default: ~1/8 of the acquisitions pay for the hold's two clock reads */
export const DEFAULT_LOCK_HOLD_EVERY = 8;

const OFF_HEADER = 0;
const OFF_THREADS = OFF_HEADER + SYS_HEADER_WORDS * I32;
const OFF_NAMES = OFF_THREADS + MAX_THREADS * THREAD_WORDS * I32;
const OFF_LOCKS = OFF_NAMES + MAX_THREADS * THREAD_NAME_BYTES;
const OFF_EDGES = OFF_LOCKS + MAX_LOCKS * LOCK_WORDS * I32;
const OFF_STATS = alignTo(OFF_EDGES + MAX_LOCK_CLASSES * MAX_LOCK_CLASSES * EDGE_WORDS * I32, 8);
const TOTAL = OFF_STATS + MAX_THREADS * MAX_LOCK_CLASSES * STAT_FIELDS * 8;

function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SystemShm {
  readonly sab: SharedArrayBuffer;
  readonly header: Int32Array;
  readonly clockF64: Float64Array;
  readonly threads: Int32Array;
  readonly names: Uint8Array;
  readonly locks: Int32Array;
  readonly edges: Int32Array;
  readonly stats: Float64Array;
  readonly reports: TextLog;
  /** the controlled scheduler's turnstile and the step log (sched.ts) */
  readonly turnstile: Turnstile;

  private constructor(handle: SystemHandle) {
    const sab = handle.sab;
    if (sab.byteLength < TOTAL) throw new RangeError(`system buffer too small: ${sab.byteLength} < ${TOTAL}`);
    this.sab = sab;
    this.header = new Int32Array(sab, OFF_HEADER, SYS_HEADER_WORDS);
    this.clockF64 = new Float64Array(sab, OFF_HEADER, SYS_HEADER_WORDS / 2);
    this.threads = new Int32Array(sab, OFF_THREADS, MAX_THREADS * THREAD_WORDS);
    this.names = new Uint8Array(sab, OFF_NAMES, MAX_THREADS * THREAD_NAME_BYTES);
    this.locks = new Int32Array(sab, OFF_LOCKS, MAX_LOCKS * LOCK_WORDS);
    this.edges = new Int32Array(sab, OFF_EDGES, MAX_LOCK_CLASSES * MAX_LOCK_CLASSES * EDGE_WORDS);
    this.stats = new Float64Array(sab, OFF_STATS, MAX_THREADS * MAX_LOCK_CLASSES * STAT_FIELDS);
    this.reports = new TextLog(handle.reports);
    this.turnstile = new Turnstile(handle.sched);
    if (Atomics.load(this.header, SYS_MAGIC) !== SYS_MAGIC_VALUE) {
      throw new Error('system buffer: bad magic (not created by SystemShm.create)');
    }
  }

  static create(opts: SystemOptions = {}): SystemShm {
    if (LOCK_CLASS_NAMES.length > MAX_LOCK_CLASSES) throw new Error('too many lock classes');
    const sab = new SharedArrayBuffer(TOTAL);
    const h = new Int32Array(sab, 0, SYS_HEADER_WORDS);
    h[SYS_MAGIC] = SYS_MAGIC_VALUE;
    h[SYS_HUNG_MS] = opts.hungMs ?? 5000;
    h[SYS_LOCKDEP_ON] = opts.lockdep === false ? 0 : 1;
    h[SYS_LOCKSTAT_ON] = (opts.lockStats ?? opts.lockdep) === false ? 0 : 1;
    const every = opts.lockHoldEvery ?? DEFAULT_LOCK_HOLD_EVERY;
    if (!Number.isInteger(every) || every < 1 || every > 1 << 20 || (every & (every - 1)) !== 0) {
      throw new RangeError(`lockHoldEvery: ${every} is not a power of two in [1, 2^20]`);
    }
    h[SYS_LOCKSTAT_HOLD_EVERY] = every;
    h[SYS_CLOCK_MODE] = opts.clock === 'virtual' ? CLOCK_MODE_VIRTUAL : CLOCK_MODE_REAL;
    return new SystemShm({ sab, reports: TextLog.create().sab, sched: Turnstile.create().sab });
  }

  static attach(handle: SystemHandle): SystemShm {
    return new SystemShm(handle);
  }

  handle(): SystemHandle {
    return { sab: this.sab, reports: this.reports.sab, sched: this.turnstile.sab };
  }

  get hungMs(): number {
    return Atomics.load(this.header, SYS_HUNG_MS);
  }

  set hungMs(ms: number) {
    Atomics.store(this.header, SYS_HUNG_MS, ms);
  }

  get lockdepOn(): boolean {
    return Atomics.load(this.header, SYS_LOCKDEP_ON) !== 0;
  }

  get lockStatsOn(): boolean {
    return Atomics.load(this.header, SYS_LOCKSTAT_ON) !== 0;
  }

  /** the hold-time sampling period (SystemOptions.lockHoldEvery) */
  get lockHoldEvery(): number {
    return Atomics.load(this.header, SYS_LOCKSTAT_HOLD_EVERY) || 1;
  }

  // ------------------------------------------------------------------ clock words (clock.ts)
  get clockNowSlot(): number {
    return SYS_CLOCK_NOW_F64;
  }

  // ------------------------------------------------------------------ threads

  /** Allocate a thread slot and record its name and Linux task id (the calling thread's by default). */
  registerThread(name: string, osTid = osThreadId()): number {
    const slot = Atomics.add(this.header, SYS_THREAD_COUNT, 1);
    if (slot >= MAX_THREADS) throw new RangeError(`more than ${MAX_THREADS} threads registered`);
    const bytes = enc.encode(name).subarray(0, THREAD_NAME_BYTES - 1);
    this.names.set(bytes, slot * THREAD_NAME_BYTES);
    Atomics.store(this.threads, slot * THREAD_WORDS + THREAD_OS_TID, osTid);
    Atomics.store(this.threads, slot * THREAD_WORDS + THREAD_ALIVE, 1);
    return slot;
  }

  /** Linux task id of a registered thread (its scheduler accounting), 0 when unknown. */
  osTid(slot: number): number {
    return slot >= 0 && slot < MAX_THREADS ? Atomics.load(this.threads, slot * THREAD_WORDS + THREAD_OS_TID) : 0;
  }

  threadCount(): number {
    return Math.min(Atomics.load(this.header, SYS_THREAD_COUNT), MAX_THREADS);
  }

  threadName(slot: number): string {
    if (slot < 0 || slot >= MAX_THREADS) return `thread#${slot}`;
    const b = this.names.subarray(slot * THREAD_NAME_BYTES, (slot + 1) * THREAD_NAME_BYTES);
    const end = b.indexOf(0);
    return dec.decode(b.slice(0, end < 0 ? b.length : end)) || `thread#${slot}`;
  }

  threadBase(slot: number): number {
    return slot * THREAD_WORDS;
  }

  /** Held lock ids of a thread as published in its slot (for reports from other threads). */
  heldBy(slot: number): { lock: number; mode: 'read' | 'write' }[] {
    const base = slot * THREAD_WORDS;
    const n = Math.min(Atomics.load(this.threads, base + THREAD_HELD_COUNT), THREAD_WORDS - THREAD_HELD_BASE);
    const out: { lock: number; mode: 'read' | 'write' }[] = [];
    for (let i = 0; i < n; i++) {
      const e = Atomics.load(this.threads, base + THREAD_HELD_BASE + i);
      if (e === 0) continue;
      out.push({ lock: (e & 0xffffff) - 1, mode: ((e >>> 24) & 2) !== 0 ? 'read' : 'write' }); // 2 read, 3 recursive read
    }
    return out;
  }

  // ------------------------------------------------------------------ lock arena

  /** Allocate a lock of a class. Done by whoever builds the shared state (usually the main thread). */
  allocLock(cls: number, kind: LockKind): number {
    if (cls < 0 || cls >= LOCK_CLASS_NAMES.length) throw new RangeError(`unknown lock class ${cls}`);
    const id = Atomics.add(this.header, SYS_LOCK_COUNT, 1);
    if (id >= MAX_LOCKS) throw new RangeError(`lock arena full (${MAX_LOCKS})`);
    const b = id * LOCK_WORDS;
    Atomics.store(this.locks, b + LOCK_STATE, 0);
    Atomics.store(this.locks, b + LOCK_OWNER, 0);
    Atomics.store(this.locks, b + LOCK_CLASS, cls);
    Atomics.store(this.locks, b + LOCK_KIND, kind === 'rwsem' ? LOCK_KIND_RWSEM : LOCK_KIND_MUTEX);
    return id;
  }

  lockCount(): number {
    return Math.min(Atomics.load(this.header, SYS_LOCK_COUNT), MAX_LOCKS);
  }

  /** `lockCount` with a plain load (lock.ts checkKind, on every acquisition: see there) */
  lockCountPlain(): number {
    return Math.min(this.header[SYS_LOCK_COUNT]!, MAX_LOCKS);
  }

  /** A lock's class: written once by `allocLock` before the id is handed out, read plainly (lockdep reads it per held lock on every acquisition). */
  lockClassOf(id: number): number {
    return this.locks[id * LOCK_WORDS + LOCK_CLASS]!;
  }

  lockClassNameOf(id: number): string {
    return lockClassName(this.lockClassOf(id));
  }

  /** Force every lock free and every thread's held list empty (in-place reset between stress
   *  iterations, after all workers are quiescent). */
  resetLocks(): void {
    const n = this.lockCount();
    for (let id = 0; id < n; id++) {
      Atomics.store(this.locks, id * LOCK_WORDS + LOCK_STATE, 0);
      Atomics.store(this.locks, id * LOCK_WORDS + LOCK_OWNER, 0);
    }
    for (let s = 0; s < MAX_THREADS; s++) {
      Atomics.store(this.threads, s * THREAD_WORDS + THREAD_HELD_COUNT, 0);
      Atomics.store(this.threads, s * THREAD_WORDS + THREAD_UNWINDING, 0);
    }
  }
}
