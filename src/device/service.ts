/**
 * DOC: the device service — one DcdDevice bound to its memdev's register file and media.
 *
 * `createDeviceService(init)` attaches the register file and the media SharedArrayBuffers, builds
 * the device with a sink that mirrors the DC log into Event Status bit 4 (`EVENT_STATUS_DCD`) and
 * raises the interrupt word per the personality's IRQ rule, and returns an object whose methods
 * are the FM API, the queries, `reset()`, `start()` and `stop()`. The runtime exposes it over
 * comlink from `workers/device.ts`; the FM API is the control plane, the register file the data
 * plane (style-anchors "absorb" item 3).
 *
 * The serve loop (`start()`): `await regfile.waitCommandAsync()` while idle, so the worker's event
 * loop stays live for FM calls; then execute the command synchronously (`DcdDevice.mbox`) and
 * complete it; then spin briefly on the doorbell for the next command before awaiting again — a
 * host draining a log posts its next command within microseconds. Every `YIELD_EVERY` back-to-back
 * commands the loop yields a macrotask so FM calls are never starved. FM calls and mailbox
 * commands therefore never interleave inside an operation: the device is single-threaded, as
 * firmware with one mailbox is.
 *
 * The input payload is copied out of the register file before the handler runs, because the
 * output is written into the same payload area (CXL mailbox: one payload register block).
 *
 * cxl_test's synchronous drain (`syncDrain`, cxl-test): the mock's `log_dc_event` calls
 * `cxl_mem_get_event_records()` inside the sysfs write ("Fake the irq"), so `echo … >
 * dc_inject_extent` returns only after the host fetched, handled, answered and cleared that
 * record. Here the device logs one FM record at a time (device.ts `pump`), and an FM call on such
 * a device resolves only once every record it queued has been logged and cleared — the Clear
 * comes after the record's handling and, for a More=0 record, after the Add DC Response
 * (v11 mbox.c `cxl_mem_get_records_log`: handle, then clear). Which thread drains: the memdev's
 * event thread (`irq/memN`, `cxl_event_thread`), woken by the interrupt word — not the FM's
 * thread, as in the mock where the writer's task runs the drain. Lockdep therefore sees the
 * drain's lock classes (event.log_lock, the mailbox mutex, cxl_rwsem.region, …) taken in the
 * event thread's context with the same order as v11's IRQ thread; no edge ties them to the FM
 * side, which holds no lock while it waits (the mock's writer would hold the sysfs attribute's
 * kernfs active reference, which the model does not have). The wait never blocks the device's
 * event loop: the FM call is an async method whose promise the serve loop resolves after the
 * Clear, so the same thread keeps serving the mailbox the drain needs. Bounded by `drainTimeoutMs`
 * (ETIMEDOUT, counted in `drainTimeouts`), skipped under the controlled scheduler (FM commands
 * run atomically there; the one-record-at-a-time gating still holds) and when `awaitDrain` is off
 * (the device harness plays the host on the caller's thread).
 */
import { RegFile } from '../shm/regfile.js';
import { fmStart, schedControlled } from '../shm/points.js';
import { currentThread, hasThread } from '../shm/lock.js';
import { SCHED_CONTROLLED } from '../shm/sched.js';
import { Clock } from '../shm/clock.js';
import type { SystemHandle, SystemShm } from '../shm/system.js';
import { EVENT_STATUS_DCD, REG_DOORBELL } from '../shm/layout.js';
import { DcdDevice, type DeviceSink } from './device.js';
import { Media } from './media.js';
import type { DeviceConfig, ResolvedDeviceConfig } from './config.js';
import { FM_CTL_SLEEPING, FM_OP_INJECT, FM_SLEEP_SLICE_MS, FmRingServer, type FmRingHandle } from './fm-ring.js';
import type { HostileChainKind } from './hostile-kinds.js';
import type { HostileChoices } from './personality-api.js';
import {
  fmError,
  type AddCapacityOk, type AddCapacityRequest, type DeviceCounters, type DeviceEvent, type DeviceObserver, type DsmasView, type EventLogView,
  type ExtentView, type FmResult, type InjectU64Record, type PendingGroupView, type ReleaseCapacityOk, type ReleaseCapacityRequest,
} from './types.js';

export interface DeviceServiceInit {
  config: DeviceConfig;
  /** memdev index (names the register file in controlled-scheduler predicates) */
  memdev?: number;
  regfile: SharedArrayBuffer;
  media: SharedArrayBuffer;
  /** in-thread observer (not available across a worker boundary — use recordEvents) */
  observer?: DeviceObserver;
  /** keep up to this many DeviceEvents for `drainEvents()` (oldest dropped); default 0 = off */
  recordEvents?: number;
  /** doorbell spins after a command before the loop sleeps; default 20000 */
  spin?: number;
  /** the mock's shared Get Event Records counter (4 bytes), shared by every device worker */
  mockCounter?: SharedArrayBuffer;
  /**
   * syncDrain devices: FM calls resolve only after the host drained their records (see DOC).
   * Default false; the device worker turns it on inside a DcdSystem, where an event thread drains.
   */
  awaitDrain?: boolean;
  /** bound on that wait, ms; default 15000 (above the 5 s hung-wait bound a stuck drain ends with) */
  drainTimeoutMs?: number;
  /**
   * The run's clock, for the modelled mailbox latency (`mboxLatencyUs`): advanced by it per
   * command when virtual. Without one (device harness, bench ceiling) the latency is spun.
   */
  clock?: Pick<Clock, 'advanceModelled'>;
  /** the FM command ring (src/device/fm-ring.ts); the loop sleeps on the doorbell once a client attached */
  fmRing?: FmRingHandle;
}

export const DRAIN_TIMEOUT_MS = 15_000;

/**
 * Doorbell spins after a command whose completion woke the host, or after an interrupt that woke
 * the event thread (see `serveLoop`), instead of the loop's `spin`. DCD_DEVICE_WAKE_SPIN=N sets
 * it (20000 = the behaviour before the eighth session: no difference).
 */
const WAKE_SPIN = envSpin(process.env.DCD_DEVICE_WAKE_SPIN, 4000);

/**
 * The run is under the controlled scheduler. For an enrolled device thread this is
 * `schedControlled()`; a device serving outside the turnstile (workers/device.ts, DCD_FREE_DEVICES)
 * is not enrolled, yet its FM calls must still skip the drain wait (the scheduler runs them
 * atomically) and it must not spin or sleep synchronously there, so it reads the mode itself.
 */
function runControlled(): boolean {
  return schedControlled() || (hasThread() && currentThread().sys.turnstile.mode() === SCHED_CONTROLLED);
}

/** DCD_FM_RELEASE_YIELD=0: the serve loop spins after a command that ended an FM call, as before (see serveLoop). */
const FM_RELEASE_YIELD = process.env.DCD_FM_RELEASE_YIELD !== '0';

/** DCD_FREE_DEVICE_SYNC_WAIT=0: a device outside the controlled scheduler's turnstile idles in an
 *  event-loop wait (waitAsync) instead of a synchronous one (see sleepControlled). */
const FREE_DEVICE_SYNC_WAIT = process.env.DCD_FREE_DEVICE_SYNC_WAIT !== '0';

/** DCD_CONTROLLED_DEVICE_SPIN=1: the device spins on its doorbell under the controlled scheduler
 *  too (before the swarm8 session; an A/B switch — the spin cannot see a command there). */
const CONTROLLED_SPIN = process.env.DCD_CONTROLLED_DEVICE_SPIN === '1';

function envSpin(v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`DCD_DEVICE_WAKE_SPIN=${v}: expected a non-negative integer (doorbell loads)`);
  return n;
}

/** Back-to-back commands served before the loop yields a macrotask to FM calls. */
export const YIELD_EVERY = 64;
/** Longest idle sleep; bounds how long stop() waits. */
export const IDLE_WAIT_MS = 50;

export interface DeviceService {
  /** Begin serving the mailbox (returns at once; idempotent). */
  start(): void;
  /** Stop serving; resolves when the loop has exited. */
  stop(): Promise<void>;
  running(): boolean;
  // FM API (async: a syncDrain device resolves after the host's drain)
  addCapacity(req: AddCapacityRequest): Promise<FmResult<AddCapacityOk>>;
  injectRaw(record: string, opts?: { shared?: boolean; absolute?: boolean }): Promise<FmResult<AddCapacityOk>>;
  injectRecords(records: InjectU64Record[]): Promise<FmResult<AddCapacityOk>>;
  deleteRaw(record: string, opts?: { forced?: boolean; absolute?: boolean }): Promise<FmResult<ReleaseCapacityOk>>;
  releaseCapacity(req: ReleaseCapacityRequest): Promise<FmResult<ReleaseCapacityOk>>;
  regionConfigUpdated(regionIndex: number): Promise<FmResult<{ records: number }>>;
  hostileInject(kind: HostileChainKind, opts?: { count?: number }): FmResult<{ records: number }>;
  hostileBurst(n: number): FmResult<{ records: number; kinds: HostileChainKind[] }>;
  // queries
  accepted(): ExtentView[];
  pending(): PendingGroupView[];
  fmExtents(): ExtentView[];
  eventLog(): EventLogView;
  counters(): DeviceCounters;
  generation(): number;
  cdatDsmas(): DsmasView[];
  config(): ResolvedDeviceConfig;
  /** hostile personality: the lies chosen for this seed (null for other personalities) */
  hostileChoices(): HostileChoices | null;
  /** mailbox commands completed by this service */
  commandsServed(): number;
  /** buffered DeviceEvents since the last drain (recordEvents > 0) */
  drainEvents(): DeviceEvent[];
  /** back to the initial config, in place */
  reset(): void;
  /**
   * Replace the device with one built from `config` (same register file and media; the media must
   * cover the new DC range). Stress iterations and tests use it to change knobs without a new worker.
   */
  reconfigure(config: DeviceConfig): { ok: true } | { ok: false; error: string };
}

export function createDeviceService(init: DeviceServiceInit): DeviceService {
  const rf = RegFile.attach(init.regfile, init.memdev ?? -1);
  const media = Media.attach(init.media);
  const events = eventBuffer(init.recordEvents ?? 0, init.observer);
  const sink: DeviceSink = {
    setEventStatus: (on) => rf.setEventStatus(EVENT_STATUS_DCD, on),
    raiseIrq: () => { if (rf.raiseIrq() > 0) irqWoke = true; },
  };
  /** an interrupt woke the event thread since the serve loop last looked (see serveLoop) */
  let irqWoke = false;
  const mockCounter = init.mockCounter ? new Int32Array(init.mockCounter, 0, 1) : undefined;
  const build = (config: DeviceConfig): DcdDevice => {
    const d = new DcdDevice(config, { media, sink, ...(events.observer ? { observer: events.observer } : {}), ...(mockCounter ? { mockCounter } : {}) });
    if (rf.payloadSize < d.config.payloadSize) {
      throw new RangeError(`device ${d.name}: register file payload ${rf.payloadSize} < config payloadSize ${d.config.payloadSize}`);
    }
    return d;
  };
  let dev = build(init.config);
  const current = (): DcdDevice => dev;
  const gate = drainGate(current, init.awaitDrain ?? false, init.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
  const loop = serveLoop(rf, current, gate, init, () => { const w = irqWoke; irqWoke = false; return w; });
  const afterFm = gate.after;

  return {
    start: () => loop.start(),
    async stop(): Promise<void> {
      gate.cancel();
      await loop.stop();
    },
    running: () => loop.running(),
    addCapacity: (req) => afterFm(dev.addCapacity(req)),
    injectRaw: (record, opts) => afterFm(dev.injectRaw(record, opts)),
    injectRecords: (records) => afterFm(dev.injectRecords(records)),
    deleteRaw: (record, opts) => afterFm(dev.deleteRaw(record, opts)),
    releaseCapacity: (req) => afterFm(dev.releaseCapacity(req)),
    regionConfigUpdated: (i) => afterFm(dev.regionConfigUpdated(i)),
    hostileInject: (kind, opts) => dev.hostileInject(kind, opts),
    hostileBurst: (n) => dev.hostileBurst(n),
    accepted: () => dev.accepted(),
    pending: () => dev.pending(),
    fmExtents: () => dev.fmExtents(),
    eventLog: () => dev.eventLog(),
    counters: () => dev.counters(),
    generation: () => dev.generation(),
    cdatDsmas: () => dev.cdatDsmas(),
    config: () => structuredClone(dev.config),
    hostileChoices: () => dev.hostileChoices(),
    commandsServed: () => loop.served(),
    drainEvents: () => events.take(),
    reset(): void {
      dev.reset();
      events.clear();
      gate.notify(true); // the queue is gone: nothing left to wait for
    },
    reconfigure(config: DeviceConfig): { ok: true } | { ok: false; error: string } {
      try {
        dev = build(config);
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      events.clear();
      gate.notify(true);
      return { ok: true };
    },
  };
}

/** The observer the device gets: the caller's, plus the last `cap` DeviceEvents kept for `drainEvents()`. */
function eventBuffer(cap: number, inner: DeviceObserver | undefined): { observer: DeviceObserver | undefined; take(): DeviceEvent[]; clear(): void } {
  let buffered: DeviceEvent[] = [];
  const observer: DeviceObserver | undefined =
    cap > 0 || inner
      ? (ev) => {
          inner?.(ev);
          if (cap > 0) {
            if (buffered.length >= cap) buffered.shift();
            buffered.push(ev);
          }
        }
      : undefined;
  return {
    observer,
    take(): DeviceEvent[] {
      const out = buffered;
      buffered = [];
      return out;
    },
    clear(): void {
      buffered = [];
    },
  };
}

interface DrainGate {
  /** an FM call's result, held until the host drained its records (syncDrain, see DOC) */
  after<T extends object>(r: FmResult<T>): Promise<FmResult<T>>;
  /** after a mailbox command: release the waiters once every FM record is drained (or `force`) */
  notify(force?: boolean): boolean;
  /** stop(): every waiter gives up */
  cancel(): void;
}

/** cxl_test's synchronous drain: FM calls waiting for the host's drain of their records (see DOC). */
function drainGate(dev: () => DcdDevice, awaitDrain: boolean, drainTimeoutMs: number): DrainGate {
  const waiters = new Set<(drained: boolean) => void>();
  return {
    notify(force = false): boolean {
      if (waiters.size === 0 || !(force || dev().fmDrained())) return false;
      for (const w of [...waiters]) w(true);
      return true;
    },
    cancel(): void {
      for (const w of [...waiters]) w(false);
    },
    async after<T extends object>(r: FmResult<T>): Promise<FmResult<T>> {
      const d = dev();
      if (!r.ok || !awaitDrain || !d.config.syncDrain || runControlled() || d.fmDrained()) return r;
      const drained = await new Promise<boolean>((resolve) => {
        const w = (v: boolean): void => {
          clearTimeout(timer);
          waiters.delete(w);
          resolve(v);
        };
        const timer = setTimeout(() => w(false), drainTimeoutMs);
        waiters.add(w);
      });
      if (drained) return r;
      dev().noteDrainTimeout();
      return fmError('ETIMEDOUT', `device ${dev().name}: the host did not drain the injected record(s) within ${drainTimeoutMs} ms (the mock's write would still be inside cxl_mem_get_event_records); they stay queued`);
    },
  };
}

/**
 * One mailbox command: the input is copied out of the payload area first, because the output is
 * written into the same area (CXL mailbox: one payload register block); then the modelled latency.
 */
function executeCommand(rf: RegFile, d: DcdDevice, scratch: Uint8Array, clock: DeviceServiceInit['clock']): number {
  const latencyUs = d.config.mboxLatencyUs;
  const t0 = latencyUs > 0 ? performance.now() : 0;
  const op = rf.opcode();
  const src = rf.input();
  scratch.set(src);
  const reply = d.mbox(op, scratch.subarray(0, src.byteLength), rf.payload);
  // the modelled mailbox latency (issue #17): the command completes `mboxLatencyUs` after the
  // doorbell — virtual time moves by it, or the device spins out the rest of it on the real
  // clock (a busy device: firmware with one mailbox does nothing else meanwhile)
  if (latencyUs > 0 && !clock?.advanceModelled(latencyUs / 1000)) {
    const end = t0 + latencyUs / 1000;
    while (performance.now() < end) { /* spin: the modelled command time */ }
  }
  return rf.complete(reply.rc, reply.outLen);
}

/**
 * The FM command ring: requests run as the comlink FM calls do (the drain gate included); the
 * reply goes back on the ring when the call resolves (for cxl-test, after the host's drain).
 */
function serveFmRing(ring: FmRingServer, d: DcdDevice, gate: DrainGate): void {
  for (const r of ring.take()) {
    const p = r.op === FM_OP_INJECT
      ? gate.after(d.injectRecords(r.records))
      : gate.after(d.releaseCapacity({ policy: 'prescriptive', extents: r.records.map((x) => ({ offset: x.offset, length: x.length, tag: x.tag ?? null })) }));
    void p.then((res) => ring.reply(r.seq, res.ok ? { ok: true } : { ok: false, errno: res.errno }), () => ring.reply(r.seq, null));
  }
}

interface ServeLoop {
  start(): void;
  /** resolves when the loop has exited */
  stop(): Promise<void>;
  running(): boolean;
  served(): number;
}

/**
 * The serve loop (see DOC): mailbox commands from the register file, FM requests from the FM ring,
 * and the idle waits between them. `dev()` is read per command: `reconfigure` swaps the device.
 */
function serveLoop(rf: RegFile, dev: () => DcdDevice, gate: DrainGate, init: Pick<DeviceServiceInit, 'spin' | 'clock' | 'fmRing'>, takeIrqWoke: () => boolean = () => false): ServeLoop {
  const spin = init.spin ?? 20000;
  const scratch = new Uint8Array(rf.payloadSize);
  let loop: Promise<void> | null = null;
  let stopping = false;
  let served = 0;

  /** the last completion woke the host from its futex wait (see the idle wait below) */
  let wokeHost = false;
  /** the last command drained an FM call's records and released its waiter (see the spin below) */
  let fmReleased = false;
  const execute = (): void => {
    wokeHost = executeCommand(rf, dev(), scratch, init.clock) > 0;
    served++;
    fmReleased = gate.notify();
  };
  const fm = init.fmRing ? new FmRingServer(init.fmRing) : null;
  /**
   * Idle with the ring in use: one futex for both — sleep synchronously on the doorbell word
   * (the host's submit notifies it; so does an FM producer that sees FM_CTL_SLEEPING), in slices,
   * with a macrotask between slices for comlink control calls, timers and FM replies.
   */
  const sleepOnDoorbell = async (ring: FmRingServer): Promise<void> => {
    await new Promise<void>((r) => setImmediate(r));
    if (rf.commandPending() || ring.pending() || stopping) return;
    Atomics.store(ring.ctl, FM_CTL_SLEEPING, 1);
    if (!rf.commandPending() && !ring.pending() && !rf.stopped()) Atomics.wait(rf.words, REG_DOORBELL, 0, FM_SLEEP_SLICE_MS);
    Atomics.store(ring.ctl, FM_CTL_SLEEPING, 0);
  };

  /**
   * Idle under the controlled scheduler, outside its turnstile (workers/device.ts,
   * DCD_FREE_DEVICES): sleep synchronously on the doorbell word, in slices, so the poster's
   * notify wakes this thread directly rather than as an event-loop task. The scheduler notifies
   * the word after it posts an FM call (stress/turnstile.ts issue), which the macrotask before
   * each slice then serves.
   */
  const sleepControlled = async (): Promise<void> => {
    await new Promise<void>((r) => setImmediate(r));
    if (rf.commandPending() || stopping || rf.stopped()) return;
    Atomics.wait(rf.words, REG_DOORBELL, 0, FM_SLEEP_SLICE_MS);
  };

  const serve = async (): Promise<void> => {
    let burst = 0;
    while (!stopping && !rf.stopped()) {
      if (fm?.pending()) serveFmRing(fm, dev(), gate);
      // After a completion that woke a sleeping host, or an interrupt that woke the event thread,
      // a short idle spin (WAKE_SPIN): the woken thread needs a CPU to run on, and on a busy
      // machine the one it is woken onto is often this one — a device spinning its full `spin`
      // would hold it ~150 µs before the host could post its next command. The device sleeps
      // sooner; that next command wakes it (the host's doorbell notify).
      const irqWoke = takeIrqWoke();
      // Under the controlled scheduler the device runs only while it holds the turnstile (a grant
      // for a rung doorbell), and no other thread runs until it parks again: nothing can ring the
      // doorbell during a spin, so the spin is dead time on the scheduler's critical path (~140 µs
      // per eager device step at 20,000 loads). CONTROLLED_SPIN (DCD_CONTROLLED_DEVICE_SPIN=1)
      // restores it for an A/B.
      // A command that released an FM call's waiter (cxl-test: the Clear of its last record) ends
      // that call, and the next FM command — of an FM batch (DeviceApi.fmSteps) or the FM ring —
      // runs only once this loop yields to its event loop: no command can come before it (the
      // host's drain is done and its event thread sleeps until the next record's interrupt), so
      // the loop yields at once instead of spinning up to `spin` loads (~140 µs) first.
      // DCD_FM_RELEASE_YIELD=0 spins as before.
      const spinNow = (!CONTROLLED_SPIN && runControlled()) || (fmReleased && FM_RELEASE_YIELD) ? 0 : wokeHost || irqWoke ? Math.min(WAKE_SPIN, spin) : spin;
      wokeHost = false;
      fmReleased = false;
      if (!rf.commandPending() && !rf.waitCommand(0, spinNow)) {
        burst = 0;
        if (fm?.pending()) continue;
        if (fm?.active() && !runControlled()) await sleepOnDoorbell(fm);
        else if (FREE_DEVICE_SYNC_WAIT && !schedControlled() && runControlled()) await sleepControlled();
        else await rf.waitCommandAsync(IDLE_WAIT_MS);
        continue;
      }
      if (stopping) break;
      execute();
      if (++burst >= YIELD_EVERY) {
        burst = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  };

  return {
    start(): void {
      if (loop) return;
      stopping = false;
      loop = serve().finally(() => {
        loop = null;
      });
    },
    async stop(): Promise<void> {
      stopping = true;
      // Wake an idle waitAsync so the loop sees `stopping` now rather than after IDLE_WAIT_MS.
      Atomics.notify(rf.words, REG_DOORBELL);
      if (loop) await loop;
    },
    running: () => loop !== null,
    served: () => served,
  };
}

/**
 * What the device worker reads from workerData: a `DeviceServiceInit`, plus the system handle when
 * part of a DcdSystem (src/protocol.ts `DeviceWorkerInit` is that payload as the runtime sends it).
 */
export type DeviceWorkerData = DeviceServiceInit & { system?: SystemHandle };

/** FM API methods: under the controlled scheduler each is one recorded step (src/shm/points.ts `fmStart`). */
const FM_METHODS = ['addCapacity', 'injectRaw', 'injectRecords', 'deleteRaw', 'releaseCapacity', 'regionConfigUpdated', 'hostileInject', 'hostileBurst'] as const;

/**
 * The device worker (workers/device.ts): the service for its startup payload. Inside a DcdSystem
 * (`sys` attached, the thread registered by `workerStartup`) the run's clock carries the modelled
 * mailbox latency, an event thread drains the log — so a cxl-test FM call waits for the drain
 * (`awaitDrain`, see DOC) — and every FM call is recorded in the step log. Outside one (device
 * harness, benches) the payload is a bare `DeviceServiceInit`.
 */
export function startDeviceWorker(data: DeviceWorkerData, sys: SystemShm | null): DeviceService {
  const clock = sys ? new Clock(sys) : undefined;
  const service = createDeviceService({ ...data, awaitDrain: data.awaitDrain ?? sys !== null, ...(clock ? { clock } : {}) });
  for (const k of FM_METHODS) {
    const f = service[k] as (...a: unknown[]) => unknown;
    (service as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => { fmStart(); return f.apply(service, a); };
  }
  return service;
}

/**
 * Allocate the SharedArrayBuffers a device service needs for `config` (the runtime may allocate
 * them itself; tests and benches use this).
 */
export function allocateDeviceBuffers(config: DeviceConfig): { regfile: SharedArrayBuffer; media: SharedArrayBuffer } {
  const probe = new DcdDevice(config); // validates and resolves defaults
  const rf = RegFile.create(probe.config.payloadSize);
  return { regfile: rf.sab, media: probe.media.sab };
}
