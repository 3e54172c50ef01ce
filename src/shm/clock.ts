/**
 * DOC: the one clock every timeout reads — real, or virtual (moved only by `advance`).
 *
 * The kernel's 20 s add-chain watchdog and every other timeout read `now()`, and so does the
 * rwsem handoff interval (lock.ts RWSEM_WAIT_TIMEOUT_MS: jiffies do not move in virtual time, so
 * a writer's handoff comes only when the run advances the clock). In virtual mode time is a Float64 in the system buffer that only the driver of the run
 * (a test, `advance-clock` in a scenario) moves forward; every advance bumps the workqueue kick
 * word so the workqueue thread re-examines its timers. Real mode reads the wall clock
 * (performance.timeOrigin + now(), consistent across threads).
 */
import { CLOCK_MODE_VIRTUAL, SYS_CLOCK_MODE, SYS_CLOCK_NOW_F64, SYS_WQ_KICK } from './layout.js';
import { SCHED_FREE } from './sched.js';
import type { SystemShm } from './system.js';

/** scratch for the Float64 ↔ bits conversion of the CAS loop in `add` (per thread) */
const bits = new DataView(new ArrayBuffer(8));
/** performance.timeOrigin is fixed per thread; its getter costs ~19 ns per read (once per staged record) */
const TIME_ORIGIN = performance.timeOrigin;
/** the `performance` object, read once (the global is an accessor: ~8 ns per read on Node 20) */
const PERF = performance;

export class Clock {
  private readonly sys: SystemShm;
  /** the same 8 bytes as `sys.clockF64[SYS_CLOCK_NOW_F64]`, for compare-and-swap */
  private readonly word: BigInt64Array;
  constructor(sys: SystemShm) {
    this.sys = sys;
    const f = sys.clockF64;
    this.word = new BigInt64Array(f.buffer, f.byteOffset + SYS_CLOCK_NOW_F64 * 8, 1);
  }

  get virtual(): boolean {
    return Atomics.load(this.sys.header, SYS_CLOCK_MODE) === CLOCK_MODE_VIRTUAL;
  }

  /** milliseconds */
  now(): number {
    if (this.virtual) return this.sys.clockF64[SYS_CLOCK_NOW_F64]!;
    return TIME_ORIGIN + PERF.now();
  }

  /** Move virtual time forward and wake the workqueue. */
  advance(ms: number): void {
    if (!this.virtual) throw new Error('advance-clock needs the virtual clock (scenario "clock": "virtual")');
    if (!(ms >= 0)) throw new RangeError(`advance by ${ms} ms`);
    this.add(ms);
    kickWorkqueue(this.sys);
  }

  /**
   * The device's modelled mailbox latency (src/device/service.ts): on the virtual clock, move time
   * forward by `ms` and wake the workqueue, and return true; on the real clock do nothing and
   * return false (the caller spins instead).
   */
  advanceModelled(ms: number): boolean {
    if (!this.virtual) return false;
    this.add(ms);
    kickWorkqueue(this.sys);
    return true;
  }

  /** Atomic `now += ms`: the driver's advance-clock and a device's modelled latency may race. */
  private add(ms: number): void {
    for (;;) {
      const old = Atomics.load(this.word, 0);
      bits.setBigInt64(0, old, true);
      bits.setFloat64(0, bits.getFloat64(0, true) + ms, true);
      if (Atomics.compareExchange(this.word, 0, old, bits.getBigInt64(0, true)) === old) return;
    }
  }

  /** Reset virtual time to 0 (stress iterations). */
  reset(): void {
    this.sys.clockF64[SYS_CLOCK_NOW_F64] = 0;
  }
}

/** The run's clock in ms, without a Clock object (lock.ts reads it on every rwsem wait). */
export function clockNow(sys: SystemShm): number {
  if (Atomics.load(sys.header, SYS_CLOCK_MODE) === CLOCK_MODE_VIRTUAL) return sys.clockF64[SYS_CLOCK_NOW_F64]!;
  return TIME_ORIGIN + PERF.now();
}

/**
 * Wall time in ms on the runtime event stream's clock (performance.timeOrigin + now(), whatever
 * the run's clock mode): what a report is stamped with, so a checker can order it against events.
 */
export function wallMs(): number {
  return TIME_ORIGIN + PERF.now();
}

export function clockIsVirtual(sys: SystemShm): boolean {
  return Atomics.load(sys.header, SYS_CLOCK_MODE) === CLOCK_MODE_VIRTUAL;
}

/**
 * The longest a kworker sleeps between looks at its timers on the real clock (ms): it re-reads
 * every due time at least this often, kicked or not (host-workers.ts startWorkqueue).
 */
export const WQ_MAX_SLEEP_MS = 500;

/**
 * Does a timer armed now for `due` (the run's clock, ms) need the workqueue woken to fire on time?
 * Not on the real clock in a free-running system when `due` is further away than the kworker's
 * longest sleep: the kworker looks again within WQ_MAX_SLEEP_MS anyway and then sleeps until
 * the due time (#17: the add chain's 20 s watchdog armed by every chain's first record cost a
 * kworker wake-up per chain). The virtual clock (time moves only by advance, which kicks) and a
 * recorded or controlled schedule (the kick is a step of the schedule, and the stored traces
 * replay it) keep the kick.
 */
export function wqKickNeeded(sys: SystemShm, due: number, now: number): boolean {
  return due - now <= WQ_MAX_SLEEP_MS || clockIsVirtual(sys) || sys.turnstile.mode() !== SCHED_FREE;
}

export function kickWorkqueue(sys: SystemShm): void {
  Atomics.add(sys.header, SYS_WQ_KICK, 1);
  Atomics.notify(sys.header, SYS_WQ_KICK);
}

