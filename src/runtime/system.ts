/**
 * DOC: a running DCD system — the library API that `dcd run`, `dcd stress`, `dcd bench` and
 * users' own tests drive (README "Library API").
 *
 * `DcdSystem.start(config)` builds the shared memory (system buffer, host state tables, one
 * register file and one media buffer per memdev, the runtime event ring, the kernel log) and
 * spawns the topology of README.md: one device worker and `parallel-event-handlers`
 * event-thread workers per memdev, one workqueue, one dax-bus worker and N user workers. The main
 * thread plays the fabric manager (it drives each device's FM API over comlink) and drains the
 * event ring into the traces and into any checkers the caller attached.
 *
 * One system per process thread at a time: the calling thread registers itself with the system
 * buffer (it takes locks when it reads a consistent state).
 */
import { SystemShm } from '../shm/system.js';
import { initThread, withRead } from '../shm/lock.js';
import { RegFile } from '../shm/regfile.js';
import { MpscRing } from '../shm/ring.js';
import { TextLog } from '../shm/textlog.js';
import { Clock } from '../shm/clock.js';
import { SYS_HUNG_REPORTS, SYS_LOCKDEP_REPORTS, SYS_WQ_DONE, SYS_WQ_KICK, SYS_NOISE_PERMILLE, SYS_WAIT_CYCLE, EVENT_STATUS_DCD, REG_IRQ } from '../shm/layout.js';
import { G_INFLIGHT, G_NEXT_HPA_256M, G_NEXT_REGION_ID, HostState } from '../host/state.js';
import { HostCtx, type DmesgLine } from '../host/context.js';
import { Media } from '../device/media.js';
import { deviceConfigFromTopology, isQemuPersonality, MOCK_PAYLOAD_SIZE, QEMU_PAYLOAD_SIZE, type DeviceConfig, type Personality } from '../device/config.js';
import { decodeEventAt, EVENT_RECORD_WORDS, type DaxBusApi, type DecodedEvent, type DeviceWorkerInit, type EventThreadApi, type HostOptions, type OpResult, type RuntimeEvent, type RuntimeEventType, type SharedHandles, type UserApi, type WorkqueueApi, type WorkerHeapStats } from '../protocol.js';
import { resolveKnobs } from '../scenario/knobs.js';
import type { KnobValues, Knobs, MemdevSpec, Variant } from '../scenario/types.js';
import { spawnWorker, WorkerCrash, type WorkerHandle } from './spawn.js';
import { createFmBell, createFmRing, FmRingClient, waitFmReplies, type FmRingHandle } from '../device/fm-ring.js';
import { snapshotState, type DeviceSnapshot } from './view.js';
import type { DeviceApi } from './device-api.js';
import { MiB } from '../units.js';
import type { CheckerResult, SystemState } from '../state.js';
import type { HungReport } from '../errors.js';
import type { LockOrderReport } from '../shm/lockdep.js';

export type { DeviceApi } from './device-api.js';

export interface SystemConfig {
  memdevs: MemdevSpec[];
  variant?: Variant;
  knobs?: Knobs;
  device?: Personality;
  clock?: 'real' | 'virtual';
  seed?: number | string;
  /** user (sysfs writer) workers; default 2 */
  users?: number;
  /** hung-wait bound, ms (default 5000) */
  hungMs?: number;
  lockdep?: boolean;
  /** lock statistics (default: as `lockdep`) */
  lockStats?: boolean;
  /** lock statistics' hold-time sampling period, a power of two (default 8; 1 times every hold: SystemOptions) */
  lockHoldEvery?: number;
  /** runtime event types the host does not emit (the bench prices the event stream) */
  dropEvents?: RuntimeEventType[];
  /** dev_dbg lines in the kernel log (default on, as tests read them; the kernel's default is off) */
  dynamicDebug?: boolean;
  /** record lock holds for Perfetto traces */
  traceLocks?: boolean;
  payloadSize?: number;
  mboxTimeoutMs?: number;
  /** seeded noise at instrumented points, per mille (stress "free" schedule) */
  noisePermille?: number;
  /**
   * A lock waiter that finds a cycle of lock waits through itself reports the hung wait at once
   * instead of after `hungMs` (src/shm/wait-cycle.ts; default off: the stress runner turns it on,
   * so a free run's deadlock costs milliseconds, not the bound).
   */
  waitCycleCheck?: boolean;
  /** per-memdev overrides of the device config (tests) */
  deviceOverrides?: Partial<DeviceConfig>[];
  /**
   * Modelled mailbox latency of every device, µs per command (`DeviceConfig.mboxLatencyUs`;
   * scenario `topology.deviceLatencyUs`, `--device-latency`); a deviceOverrides entry wins.
   */
  deviceLatencyUs?: number;
}

/** A checker fed by the event stream (stress/checkers implement this; production never imports one). */
export interface Checker {
  readonly name: string;
  onEvent(e: DecodedEvent): void;
  /** results at quiescence; `state` is the consistent snapshot of the same moment */
  atQuiescence(state: SystemState, sys: DcdSystem): CheckerResult[];
  reset?(): void;
}

export class DcdSystem {
  readonly config: SystemConfig;
  readonly knobs: KnobValues;
  readonly sys: SystemShm;
  readonly host: HostState;
  readonly ctx: HostCtx;
  readonly clock: Clock;
  readonly regfiles: RegFile[];
  readonly media: Media[];
  readonly devices: WorkerHandle<DeviceApi>[] = [];
  readonly eventThreads: WorkerHandle<EventThreadApi>[] = [];
  /** the first memdev's kworker (see `workqueues`) */
  workqueue!: WorkerHandle<WorkqueueApi>;
  /** system_wq's kworkers, one per memdev (workqueue/<memdev name>) */
  readonly workqueues: WorkerHandle<WorkqueueApi>[] = [];
  daxBus!: WorkerHandle<DaxBusApi>;
  readonly users: WorkerHandle<UserApi>[] = [];
  /** every decoded runtime event, in ring order (bounded by `keepEvents`) */
  readonly events: DecodedEvent[] = [];
  keepEvents = 200_000;
  private readonly ring: MpscRing;
  private readonly dmesg: TextLog;
  private readonly listeners = new Set<(e: DecodedEvent) => void>();
  private readonly pendingOps = new Set<Promise<unknown>>();
  private pump: NodeJS.Timeout | null = null;
  private crash: WorkerCrash | null = null;
  private readonly crashWaiters = new Set<(e: WorkerCrash) => void>();
  readonly checkers: Checker[] = [];
  private stopped = false;
  private readonly recBuf = new Int32Array(EVENT_RECORD_WORDS * 256);
  private readonly recF64 = new Float64Array(this.recBuf.buffer);
  /** the cxl_test mock's `static atomic_t event_counter`, shared by every device worker */
  private readonly mockCounter = new SharedArrayBuffer(4);
  /** per memdev: the FM command ring (src/device/fm-ring.ts), and its client once used */
  private readonly fmRings: FmRingHandle[];
  private readonly fmClients: (FmRingClient | undefined)[] = [];
  /** the FM rings' reply bell (one for all memdevs: the FM is this thread) */
  private readonly fmBell = createFmBell();
  private readonly fmBellWords = new Int32Array(this.fmBell);

  private constructor(config: SystemConfig) {
    this.config = config;
    this.knobs = resolveKnobs(config.variant ?? 'v11', config.knobs ?? {});
    this.sys = SystemShm.create({ hungMs: config.hungMs ?? 5000, lockdep: config.lockdep ?? true, lockStats: config.lockStats ?? config.lockdep ?? true, ...(config.lockHoldEvery !== undefined ? { lockHoldEvery: config.lockHoldEvery } : {}), clock: config.clock ?? 'real' });
    if (config.noisePermille) Atomics.store(this.sys.header, SYS_NOISE_PERMILLE, config.noisePermille);
    if (config.waitCycleCheck) Atomics.store(this.sys.header, SYS_WAIT_CYCLE, 1);
    initThread(this.sys, 'main');
    this.host = HostState.create(this.sys, config.memdevs.length);
    // the device advertises its payload size: QEMU 2,048 bytes, the cxl_test mock 4 KiB
    this.regfiles = config.memdevs.map(() => RegFile.create(config.payloadSize ?? (isQemuPersonality(config.device ?? 'cxl-test') ? QEMU_PAYLOAD_SIZE : MOCK_PAYLOAD_SIZE)));
    // media granularity: at least 2 MiB per stamp line, so a 512 B-block partition stays cheap
    this.media = config.memdevs.map((m) => Media.create(m.dc.base, m.dc.size, Math.max(m.dc.blockSize, 2 * MiB)));
    this.fmRings = config.memdevs.map(() => createFmRing(this.fmBell));
    this.ring = MpscRing.create(1 << 16, EVENT_RECORD_WORDS);
    this.dmesg = TextLog.create(4 * MiB);
    this.ctx = new HostCtx(this.handles(), this.sys, this.host);
    this.clock = this.ctx.clock;
  }

  /** Shared buffers handed to host-side workers. */
  handles(): SharedHandles {
    const options: HostOptions = {
      knobs: this.knobs, traceLocks: this.config.traceLocks ?? false, mboxTimeoutMs: this.config.mboxTimeoutMs ?? 2000,
      ...(this.config.dropEvents?.length ? { dropEvents: this.config.dropEvents } : {}),
      ...(this.config.dynamicDebug === false ? { dynamicDebug: false } : {}),
    };
    return {
      system: this.sys.handle(), host: this.host.handle(), regfiles: this.regfiles.map((r) => r.sab),
      media: this.media.map((m) => m.sab), events: this.ring.sab, dmesg: this.dmesg.sab, options,
    };
  }

  static async start(config: SystemConfig): Promise<DcdSystem> {
    if (config.memdevs.length < 1 || config.memdevs.length > 8) throw new RangeError(`a system needs 1..8 memdevs, got ${config.memdevs.length}`);
    const s = new DcdSystem(config);
    try {
      await s.spawnAll();
    } catch (e) {
      await s.stop().catch(() => undefined);
      throw e;
    }
    s.pump = setInterval(() => s.drainEvents(), 2);
    return s;
  }

  private watch<T>(w: WorkerHandle<T>): WorkerHandle<T> {
    w.onCrash((e) => {
      if (this.stopped) return;
      this.crash ??= e;
      for (const f of this.crashWaiters) f(e);
    });
    return w;
  }

  private async spawnAll(): Promise<void> {
    const cfg = this.config;
    const personality = cfg.device ?? 'cxl-test';
    const seed = cfg.seed ?? 0;
    const h = this.handles();
    await Promise.all(cfg.memdevs.map(async (m, i) => {
      const config = {
        ...deviceConfigFromTopology(m, personality, `${seed}/${m.name}`), payloadSize: this.regfiles[i]!.payloadSize,
        ...(cfg.deviceLatencyUs ? { mboxLatencyUs: cfg.deviceLatencyUs } : {}), ...(cfg.deviceOverrides?.[i] ?? {}),
      };
      const w = this.watch(spawnWorker<DeviceApi>({
        kind: 'device', name: `device/${m.name}`,
        data: { kind: 'device', memdev: i, system: h.system, regfile: h.regfiles[i]!, media: h.media[i]!, config, mockCounter: this.mockCounter, fmRing: this.fmRings[i] } satisfies DeviceWorkerInit,
      }));
      this.devices[i] = w;
      await w.call((a) => a.start());
    }));
    // system_wq: one kworker per memdev's timeout_work, so one blocked watchdog delays no other
    for (let i = 0; i < cfg.memdevs.length; i++) {
      this.workqueues.push(this.watch(spawnWorker<WorkqueueApi>({ kind: 'workqueue', name: `workqueue/${cfg.memdevs[i]!.name}`, data: { kind: 'workqueue', memdev: i, ...h } })));
    }
    this.workqueue = this.workqueues[0]!;
    this.daxBus = this.watch(spawnWorker<DaxBusApi>({ kind: 'dax-bus', name: 'dax-bus', data: { kind: 'dax-bus', ...h } }));
    const nUsers = cfg.users ?? 2;
    for (let u = 0; u < nUsers; u++) {
      this.users.push(this.watch(spawnWorker<UserApi>({ kind: 'user', name: `user${u}`, data: { kind: 'user', user: u, ...h } })));
    }
    const handlers = this.knobs['parallel-event-handlers'];
    for (let i = 0; i < cfg.memdevs.length; i++) {
      const m = cfg.memdevs[i]!;
      for (let k = 0; k < handlers; k++) {
        const w = this.watch(spawnWorker<EventThreadApi>({
          kind: 'event-thread', name: `irq/${m.name}${handlers > 1 ? `#${k}` : ''}`,
          data: { kind: 'event-thread', memdev: i, handler: k, cdat: { staticBytes: m.dc.base, sharable: m.sharable }, ...h },
        }));
        this.eventThreads.push(w);
        await w.call((a) => a.ready()); // handler 0 probes the memdev before the others start
      }
    }
    await Promise.all(this.workqueues.map((w) => w.call((a) => a.ready())));
    await this.daxBus.call((a) => a.ready());
    await Promise.all(this.users.map((w) => w.call((a) => a.ready())));
  }

  // ------------------------------------------------------------------------ events

  /** Subscribe to the decoded runtime event stream. */
  onEvent(fn: (e: DecodedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  addChecker(c: Checker): void {
    this.checkers.push(c);
  }

  /**
   * The FM command ring of `memdev` (src/device/fm-ring.ts): `injectRecords` and prescriptive
   * `releaseCapacity` through shared memory, so the device sleeps on one futex for FM calls and
   * its doorbell. The first call turns the ring on for that device. Its calls resolve as
   * `drainEvents()` reads the replies (the 2 ms pump does, so does a driver that drains).
   * Free-running runs only (a ring call is not a step of the controlled scheduler's log).
   */
  fmRing(memdev: number): FmRingClient {
    const h = this.fmRings[memdev];
    if (!h) throw new RangeError(`no memdev ${memdev}`);
    return (this.fmClients[memdev] ??= new FmRingClient(h, this.regfiles[memdev]!.sab));
  }

  /**
   * Sleep until a device answers an FM ring call (src/device/fm-ring.ts `waitFmReplies`), at most
   * `timeoutMs`; at once when a reply is unread. The caller then `drainEvents()`.
   */
  waitFmReplies(timeoutMs: number): void {
    waitFmReplies(this.fmBellWords, this.fmRepliesPending, timeoutMs);
  }
  private readonly fmRepliesPending = (): boolean => this.fmClients.some((c) => c?.repliesPending() === true);

  /** Move every published event from the ring to the listeners and checkers. */
  drainEvents(): number {
    for (const c of this.fmClients) c?.drainReplies();
    const w = EVENT_RECORD_WORDS;
    const f64 = this.recF64;
    let total = 0;
    for (;;) {
      const k = this.ring.popBatch(this.recBuf, 256);
      if (k === 0) break;
      for (let i = 0; i < k; i++) {
        // no views per event (#17: ~7 events per extent on this thread, which shares the cores)
        const d = decodeEventAt(this.recBuf, f64, i * w);
        if (!d) continue;
        if (this.events.length < this.keepEvents) this.events.push(d);
        for (const c of this.checkers) c.onEvent(d);
        for (const l of this.listeners) l(d);
      }
      total += k;
    }
    return total;
  }

  /** Kernel log lines (dmesg). */
  dmesgLines(): DmesgLine[] {
    return this.dmesg.read<DmesgLine>();
  }

  lockOrderReports(): LockOrderReport[] {
    return this.sys.reports.read<{ kind: string }>().filter((r): r is LockOrderReport => r.kind === 'lock-order');
  }

  hungReports(): HungReport[] {
    return this.sys.reports.read<{ kind: string }>().filter((r): r is HungReport => r.kind === 'hung-wait');
  }

  reportCounts(): { lockOrder: number; hung: number } {
    return { lockOrder: Atomics.load(this.sys.header, SYS_LOCKDEP_REPORTS), hung: Atomics.load(this.sys.header, SYS_HUNG_REPORTS) };
  }

  // ------------------------------------------------------------------------ handles

  device(memdev: number): WorkerHandle<DeviceApi> {
    const d = this.devices[memdev];
    if (!d) throw new RangeError(`no memdev ${memdev}`);
    return d;
  }

  user(i = 0): WorkerHandle<UserApi> {
    const u = this.users[i % this.users.length];
    if (!u) throw new RangeError('no user workers');
    return u;
  }

  memdevIndex(name: string): number {
    const i = this.config.memdevs.findIndex((m) => m.name === name);
    if (i < 0) throw new RangeError(`unknown memdev ${name}`);
    return i;
  }

  /**
   * Control-plane messages posted to the named user or dax-bus worker that it has not handled yet
   * (WorkerHandle.posted against Turnstile.handledCount): the controlled scheduler waits for a
   * worker that is idle with one in flight (stress/turnstile.ts). 0 for other threads.
   */
  messagesInFlight(thread: string, slot: number): number {
    const w = thread === this.daxBus.name ? this.daxBus : this.users.find((u) => u.name === thread);
    return w ? w.posted - this.sys.turnstile.handledCount(slot) : 0;
  }

  /** Track a control-plane operation so waitIdle() waits for it (e.g. an async probe). */
  track<T>(p: Promise<T>): Promise<T> {
    this.pendingOps.add(p);
    const done = (): void => { this.pendingOps.delete(p); };
    p.then(done, done);
    return p;
  }

  /**
   * `cxl create-region` on a user worker, then the cxl_dax_region probe on the dax-bus worker —
   * asynchronous, as the driver core probes it; waitIdle() waits for it. Resolves when the
   * region exists (not when its probe is done).
   */
  async createRegion(memdev: number, size: number | null, user = 0): Promise<OpResult<{ regionId: number; name: string }>> {
    const r = await this.guard(this.user(user).call((a) => a.createRegion(memdev, size)));
    if (r.ok) void this.track(this.guard(this.daxBus.call((a) => a.probe(r.value.regionId))));
    return r;
  }

  /**
   * `cxl disable-region`: unbind the cxl_region driver, which unregisters the region's
   * cxl_dax_region (its extents are released to the device) but keeps the region. v11 leaves
   * cxlr->cxlr_dax pointing at the freed cxl_dax_region (hazard H16, docs/kernel-map.md).
   */
  async disableRegion(regionId: number, user = 0): Promise<OpResult> {
    return this.guard(this.user(user).call((a) => a.disableRegion(regionId)));
  }

  /** `cxl destroy-region`: disable the region, then delete it. */
  async destroyRegion(regionId: number, user = 0): Promise<OpResult> {
    return this.guard(this.user(user).call((a) => a.destroyRegion(regionId)));
  }

  /** Race a control-plane promise against any worker's crash. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.crash) return Promise.reject(this.crash);
    return new Promise<T>((resolve, reject) => {
      const onCrash = (e: WorkerCrash): void => reject(e);
      this.crashWaiters.add(onCrash);
      p.then((v) => { this.crashWaiters.delete(onCrash); resolve(v); }, (e: unknown) => { this.crashWaiters.delete(onCrash); reject(e); });
    });
  }

  crashed(): WorkerCrash | null {
    return this.crash;
  }

  // ------------------------------------------------------------------------ time and idleness

  /** Move virtual time and wait until the workqueue has run whatever fell due. */
  async advanceClock(ms: number): Promise<void> {
    this.clock.advance(ms);
    const kick = Atomics.load(this.sys.header, SYS_WQ_KICK);
    const deadline = Date.now() + 10_000;
    while ((Atomics.load(this.sys.header, SYS_WQ_DONE) - kick) < 0 && Date.now() < deadline) await sleep(1);
  }

  /**
   * True when nothing is queued, running or in flight (timers are not fired). `devices: false`
   * looks at shared memory only, without asking the device workers for their FM queues.
   */
  async isIdle(devices = true): Promise<boolean> {
    return (await this.idleLook(devices, false)) !== false;
  }

  /**
   * isIdle's look; with `reads`, the device question is every device's state reads (one message
   * each, DeviceApi.reads) and an idle look returns them: the same moment's reads a check needs
   * (waitIdle's `reads`), so a check after a wait costs no second round trip.
   */
  private async idleLook(devices: boolean, reads: boolean): Promise<false | DeviceSnapshot[] | null> {
    if (this.pendingOps.size) return false;
    if (this.host.inflight() !== 0) return false;
    // the workqueue has looked at every kick (timer arm or clock advance) — it does not fire timers
    if (Atomics.load(this.sys.header, SYS_WQ_DONE) !== Atomics.load(this.sys.header, SYS_WQ_KICK)) return false;
    for (let i = 0; i < this.regfiles.length; i++) {
      const rf = this.regfiles[i]!;
      if (rf.eventStatus() !== 0 && this.host.memdevs.get(this.host.memdev(i), 'dcdSupported')) return false;
      if (rf.commandPending()) return false;
      const m = this.host.memdev(i);
      if (this.host.memdevs.load(m, 'drainers') !== 0 || this.host.memdevs.load(m, 'timeoutRunning') !== 0) return false;
    }
    if (!devices) return null;
    // a memdev whose DCD is disabled gets no event interrupt and no drain (cxl_event_config):
    // its records stay in the device log for good, which is quiescent, not busy
    const dcd = this.devices.map((_, i) => Boolean(this.host.memdevs.get(this.host.memdev(i), 'dcdSupported')));
    if (!reads && this.devicesStillQuiet()) return null;
    if (reads) {
      const all = await Promise.all(this.devices.map((d) => this.guard(d.call((a) => a.reads()))));
      const idle = all.every((r, i) => !dcd[i] || (r.log.fmQueued === 0 && r.log.queued === 0));
      this.noteDevicesQuiet(idle && all.every((r) => r.log.fmQueued === 0 && r.log.queued === 0));
      return idle ? all : false;
    }
    const asked = this.devices.filter((_, i) => dcd[i]);
    const logs = await Promise.all(asked.map((d) => this.guard(d.call((a) => a.eventLog()))));
    const idle = logs.every((log) => log.fmQueued === 0 && log.queued === 0);
    this.noteDevicesQuiet(idle && asked.length === this.devices.length);
    return idle ? null : false;
  }

  /**
   * Per device, the messages posted to it (WorkerHandle.posted) when a look last found its FM
   * queue and its event log empty; null when unknown. A device queues records only inside an FM
   * call (the personalities' fmAdd/fmRelease/inject: every queueRecord) and it handles its
   * messages in order, so while nothing was posted to it since (and no FM ring is in use: ring
   * calls are not messages) its FM queue is still empty, and its log is in the shared Event
   * Status that every look reads: a wait after setup ops that sent the devices nothing (region
   * creation, probes) costs no device round trip.
   */
  private quietAt: number[] | null = null;
  private noteDevicesQuiet(quiet: boolean): void {
    this.quietAt = quiet && DEVICE_QUIET_SKIP ? this.devices.map((d) => d.posted) : null;
  }
  private devicesStillQuiet(): boolean {
    const q = this.quietAt;
    return q !== null && this.fmClients.every((c) => c === undefined) && this.devices.every((d, i) => d.posted === q[i]);
  }

  /**
   * wait-idle: every queued event record fetched, handled and cleared; every mailbox command it
   * caused done; no sysfs op, probe or teardown in flight. Does not fire pending timers.
   * `pollMs` below 1: between busy looks, a synchronous sleep that long and one event-loop turn
   * instead of a 1 ms timer (the stress runner's waits: a timer's tick is 1 ms at best and more on
   * a loaded machine, at the end of every setup and every race).
   */
  async waitIdle(timeoutMs = 30_000, pollMs = 1): Promise<void> {
    await this.idleWait(timeoutMs, pollMs, false);
  }

  /**
   * waitIdle, and the devices' state reads of its last look (for `check(reads)`: nothing runs
   * between that look and the check, so they are the reads the check would make).
   */
  async waitIdleReads(timeoutMs = 30_000, pollMs = 1): Promise<DeviceSnapshot[]> {
    return (await this.idleWait(timeoutMs, pollMs, true))!;
  }

  private async idleWait(timeoutMs: number, pollMs: number, reads: boolean): Promise<DeviceSnapshot[] | null> {
    const deadline = Date.now() + timeoutMs;
    let stable = 0;
    let last: DeviceSnapshot[] | null = null;
    while (stable < 2) {
      if (this.crash) throw this.crash;
      // two idle looks in a row, the first from shared memory alone, the second asking the
      // devices too (their FM queues): one device round trip per wait instead of two per look
      const look = await this.idleLook(stable === 1, reads);
      if (look !== false) { stable++; last = look; }
      else { stable = 0; this.pokeStalledEventThreads(); }
      if (Date.now() > deadline) throw new Error(`wait-idle: not idle after ${timeoutMs} ms (${this.busyReason()})`);
      // a tracked control-plane op (a probe) wakes the wait when it settles, not the next 1 ms tick
      if (!stable && this.pendingOps.size) await Promise.race([...this.pendingOps, sleep(5)]).catch(() => undefined);
      else if (!stable && pollMs < 1) { Atomics.wait(PAUSE_WORD, 0, 0, pollMs); await sleep(0); }
      else await sleep(stable ? 0 : 1);
    }
    this.drainEvents();
    return last;
  }

  /**
   * A wait for quiescence wakes (a futex notify of the interrupt word, no interrupt) the event
   * thread of a memdev whose log holds records that no drain is handling and no command is
   * moving: after a controlled run that ended in a deadlock, the unwound drain left them there and
   * its thread looks again only when its 5 ms slice ends, or at the scheduler's nudge — which it
   * misses when it was still unwinding (a controlled iteration's quiescence took 5–46 ms in 8 of 40
   * random walks). Woken, the thread drains them at once (startEventThread: an unwound drain's
   * records); otherwise it sees the same interrupt count and sleeps again — no step is recorded,
   * nothing is handled that an interrupt did not announce. DCD_IDLE_POKE=0 for an A/B.
   */
  private pokeStalledEventThreads(): void {
    if (!IDLE_POKE) return;
    for (let i = 0; i < this.regfiles.length; i++) {
      const rf = this.regfiles[i]!;
      const m = this.host.memdev(i);
      if ((rf.eventStatus() & EVENT_STATUS_DCD) === 0 || rf.commandPending() || this.host.memdevs.load(m, 'drainers') !== 0) continue;
      if (!this.host.memdevs.get(m, 'dcdSupported')) continue;
      Atomics.notify(rf.words, REG_IRQ);
    }
  }

  private busyReason(): string {
    const why: string[] = [];
    if (this.pendingOps.size) why.push(`${this.pendingOps.size} control-plane operations pending`);
    if (this.host.inflight()) why.push(`${this.host.inflight()} host operations in flight`);
    this.regfiles.forEach((rf, i) => {
      if (rf.eventStatus()) why.push(`mem${i} event status 0x${rf.eventStatus().toString(16)}`);
      if (rf.commandPending()) why.push(`mem${i} mailbox busy`);
    });
    return why.join('; ') || 'device FM queue';
  }

  // ------------------------------------------------------------------------ state and checks

  /** The state paths of README.md (consistent: read under the host's read locks). */
  async state(reads?: DeviceSnapshot[]): Promise<SystemState> {
    this.drainEvents();
    // the four reads of each device in one message (DeviceApi.reads), or those of the idle look
    // that just ended (waitIdleReads: at quiescence nothing runs on the devices since)
    const devices = reads ?? await Promise.all(this.devices.map((d) => this.guard(d.call((a) => a.reads()))));
    return withRead(this.host.cxlRegionRwsem, () => withRead(this.host.daxRegionRwsem, () =>
      snapshotState(this.ctx, this.config.memdevs, devices, this.events)));
  }

  /** Run every attached checker at quiescence. */
  async check(reads?: DeviceSnapshot[]): Promise<CheckerResult[]> {
    const st = await this.state(reads);
    return this.checkers.flatMap((c) => c.atQuiescence(st, this));
  }

  /** Every worker of the topology (those started so far). */
  private allWorkers(): WorkerHandle<unknown>[] {
    const all: WorkerHandle<unknown>[] = [...this.devices, ...this.eventThreads, ...this.users];
    all.push(...this.workqueues);
    if (this.daxBus) all.push(this.daxBus);
    return all;
  }

  /** Every worker's heap after a full GC of its isolate, by worker name (bench memory phase). */
  async workerHeapStats(): Promise<Record<string, WorkerHeapStats>> {
    const out: Record<string, WorkerHeapStats> = {};
    for (const w of this.allWorkers()) out[w.name] = await w.heapStats(); // one at a time: each GC is a pause
    return out;
  }

  /** Write every worker's heap snapshot into `dir` as `<prefix><worker>.heapsnapshot`. */
  async workerHeapSnapshots(dir: string, prefix: string): Promise<string[]> {
    const files: string[] = [];
    for (const w of this.allWorkers()) files.push(await w.heapSnapshot(`${dir}/${prefix}${w.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.heapsnapshot`));
    return files;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pump) clearInterval(this.pump);
    for (const rf of this.regfiles) rf.stop();
    await Promise.all(this.allWorkers().map((w) => w.terminate().catch(() => undefined)));
    this.drainEvents();
  }

  /**
   * Reset the whole system in place between stress iterations — same workers, same buffers
   * (jcstress reuses its threads): host tables emptied, memdev chain state cleared, locks and the
   * lockdep graph reset, reports and logs emptied, virtual time back to 0, every device back to
   * its initial configuration. Call when the system is quiescent (after waitIdle or an aborted
   * controlled run).
   */
  async resetInPlace(): Promise<void> {
    const h = this.host;
    this.drainEvents();
    const early = this.devicesResetting;
    this.devicesResetting = null;
    // the devices reset while this thread empties the host's tables (they touch none of them:
    // DcdDevice.reset is the device's own state, its register file's status and its media, which
    // it clears itself before re-backing its pre-accepted extents — this thread cleared the media
    // too, before, a second scrub of the same buffer)
    const devices = early ?? Promise.all(this.devices.map((d) => this.guard(d.call((a) => a.reset()))));
    for (const t of [h.pending, h.regions, h.groups, h.tags, h.extents, h.daxRes, h.daxDevs, h.daxRanges, h.daxMaps]) t.clear();
    for (let i = 0; i < h.nrMemdevs; i++) {
      const m = h.memdev(i);
      for (const f of ['nrPending', 'armed', 'group', 'pendingSeq', 'timeoutPending', 'timeoutRunning', 'responses', 'drainers'] as const) h.memdevs.store(m, f, 0);
      h.memdevs.set(m, 'timeoutDue', 0);
      h.memdevs.add(m, 'bootGen', 1); // a new boot: the event thread's event buffer is allocated afresh
    }
    Atomics.store(h.globals, G_NEXT_REGION_ID, 0);
    Atomics.store(h.globals, G_NEXT_HPA_256M, 16);
    Atomics.store(h.globals, G_INFLIGHT, 0);
    this.sys.resetLocks();
    // the lockdep graph persists across iterations, as across a boot: a cycle is reported once
    this.sys.reports.reset();
    Atomics.store(this.sys.header, SYS_HUNG_REPORTS, 0);
    this.clock.reset();
    this.sys.turnstile.resetLog();
    await devices;
    // a reset device has an empty FM queue and log (DcdDevice.reset)
    this.noteDevicesQuiet(DEVICE_QUIET_SKIP);
    this.dmesg.reset();
    this.drainEvents();
    this.events.length = 0;
    for (const c of this.checkers) c.reset?.();
  }

  /**
   * Post the devices' part of the next `resetInPlace` now; that reset awaits it instead of posting
   * its own. For a stress job whose iteration has read everything it needs from the devices (the
   * check's reads): the devices reset while the main thread classifies and records the iteration.
   * Until the next resetInPlace the devices are back at their initial state while the host's
   * tables are not: nothing may read or drive the devices in between (StressJob overlapReset).
   */
  beginDeviceReset(): void {
    if (this.devicesResetting) return;
    const p = Promise.all(this.devices.map((d) => this.guard(d.call((a) => a.reset()))));
    p.catch(() => undefined); // awaited (and its error thrown) by the next resetInPlace
    this.devicesResetting = p;
    this.quietAt = null;
  }
  private devicesResetting: Promise<unknown> | null = null;

  /** Append a runtime event from the main thread (the scenario runner records FM ops). */
  emit(ev: RuntimeEvent): void {
    this.ctx.emit(ev);
  }
}

/** DCD_IDLE_POKE=0: a quiescence wait wakes no event thread (A/B; DcdSystem.pokeStalledEventThreads) */
const IDLE_POKE = process.env.DCD_IDLE_POKE !== '0';

/** DCD_IDLE_DEVICE_SKIP=0: every idle look asks the devices, as before (A/B; DcdSystem.quietAt) */
const DEVICE_QUIET_SKIP = process.env.DCD_IDLE_DEVICE_SKIP !== '0';

/** A word nobody notifies: `Atomics.wait` on it is a sleep finer than a timer's 1 ms. */
const PAUSE_WORD = new Int32Array(new SharedArrayBuffer(4));

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms)));
}
