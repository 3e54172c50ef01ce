/**
 * DOC: what a host-side thread carries — its view of the shared system.
 *
 * Every host thread (event-thread, workqueue, dax-bus, user workers; the main thread for
 * queries) builds one `HostCtx` from the startup handshake: the host state tables, each memdev's
 * register file, the device media (the memory bus DAX users touch), the knobs of the variant under
 * test, the clock, and the two outputs production code writes: the runtime event stream (binary,
 * for checkers and traces) and the kernel log (dmesg, JSON lines, ratelimited where the kernel
 * ratelimits).
 */
import { Clock } from '../shm/clock.js';
import { MpscRing } from '../shm/ring.js';
import { RegFile } from '../shm/regfile.js';
import { TextLog } from '../shm/textlog.js';
import { SystemShm } from '../shm/system.js';
import { currentSlot, currentThread, hasThread, setLockTraceHook } from '../shm/lock.js';
import { HostState } from './state.js';
import { encodeEvent, EVENT_RECORD_WORDS, type HostOptions, type RuntimeEvent, type SharedHandles } from '../protocol.js';
import type { KnobValues } from '../scenario/types.js';

export interface DmesgLine {
  t: number;
  level: 'err' | 'warn' | 'info' | 'dbg';
  dev: string;
  msg: string;
}

/** the `performance` object, read once (the global is an accessor: ~8 ns per read on Node 20; one clock read per event) */
const PERF = performance;

export class HostCtx {
  readonly sys: SystemShm;
  readonly host: HostState;
  readonly regfiles: RegFile[];
  readonly media: SharedArrayBuffer[];
  readonly events: MpscRing;
  readonly dmesgLog: TextLog;
  readonly options: HostOptions;
  readonly knobs: KnobValues;
  readonly clock: Clock;
  /** events the ring had no room for (checkers treat a run with drops as inconclusive) */
  droppedEvents = 0;
  /**
   * dev_dbg lines are written (the kernel's dynamic debug for these call sites). Hot call sites
   * test it before building their message: a dev_dbg that is off costs the kernel nothing either.
   */
  readonly dynDbg: boolean;
  /** event types not emitted (HostOptions.dropEvents), null when every type is */
  private readonly drop: ReadonlySet<string> | null;
  private readonly rec = new Int32Array(EVENT_RECORD_WORDS);
  private readonly recF64 = new Float64Array(this.rec.buffer);
  /** performance.timeOrigin read once: its getter costs ~19 ns per event (#17) */
  private readonly timeOrigin = performance.timeOrigin;

  constructor(h: SharedHandles, sys?: SystemShm, host?: HostState) {
    this.sys = sys ?? SystemShm.attach(h.system);
    this.host = host ?? HostState.attach(h.host);
    this.regfiles = h.regfiles.map((s, i) => RegFile.attach(s, i));
    this.media = h.media;
    this.events = MpscRing.attach(h.events);
    this.dmesgLog = new TextLog(h.dmesg);
    this.options = h.options;
    this.knobs = h.options.knobs;
    this.clock = new Clock(this.sys);
    this.dynDbg = h.options.dynamicDebug !== false;
    this.drop = h.options.dropEvents?.length ? new Set(h.options.dropEvents) : null;
    if (h.options.traceLocks) {
      setLockTraceHook((cls, lock, t0, t1) => this.emit({ type: 'lock-hold', cls, lock, thread: hasThread() ? currentThread().slot : -1, t0, t1, waitStart: 0 }));
    }
  }

  /** Emit a runtime event (never blocks kernel code: a full ring counts a drop). */
  emit(ev: RuntimeEvent): void {
    if (this.drop !== null && this.drop.has(ev.type)) return;
    // events carry wall-clock time (traces line up across threads even in virtual-time runs)
    encodeEvent(ev, currentSlot(), this.timeOrigin + PERF.now(), this.rec, this.recF64);
    if (!this.events.tryPush(this.rec)) this.droppedEvents++;
  }

  /** dev_err / dev_warn / dev_info / dev_dbg */
  dmesg(level: DmesgLine['level'], dev: string, msg: string): void {
    if (level === 'dbg' && !this.dynDbg) return;
    this.dmesgLog.append({ t: this.clock.now(), level, dev, msg } satisfies DmesgLine);
  }

  regfile(memdevIdx: number): RegFile {
    const r = this.regfiles[memdevIdx];
    if (!r) throw new RangeError(`no register file for mem${memdevIdx}`);
    return r;
  }
}
