/**
 * DOC: `dcd bench` — throughput and latency of the whole DC pipeline on the real worker topology
 * (README.md), with its ceilings measured in the same run.
 *
 * What one extent goes through (add): the FM call on the main thread (comlink → device worker) →
 * the device's event log → the interrupt word → the event-thread worker's drain (Get Event
 * Records, decode, Clear) → staging → on More=0 the group gates → realization (`cxl_add_extent`,
 * `online_tag_group`, the `extent-tracked` event) → DAX notify (dax_region resources) → one Add DC
 * Response per chain → the device accepts. And back (release): the FM's release call → a Release
 * Capacity record → `cxl_rm_extent` → DAX release of the group → one Release DC per member → the
 * device releases (`extent-untracked`).
 *
 * The driver (main thread) runs one lane per memdev. Each lane owns a pool of 2 MiB blocks of its
 * DC partition; it offers chains of `chain` extents (untagged, or one fresh tag per chain), and as
 * soon as a chain is accepted (the `response` runtime event, emitted after the device completed
 * the Add DC Response) it releases it with one Release Capacity record naming the chain's first
 * extent — the host releases the whole tag group (X5; an untagged chain is one group), and the
 * blocks return to the pool when every member's `extent-untracked` has been seen. So a run can go
 * on for any number of extents with bounded live state.
 *
 * How many chains a lane keeps in flight (offered, not yet accepted) depends on the device:
 *  - `cxl-test`: ONE. The mock clears every still-sent extent when it accepts an Add DC Response
 *    (mock 9, `dc_clear_sent`), so a second chain logged before the first one's response would be
 *    rejected under the host. The real mock never sees this because each inject drains
 *    synchronously ("fake the irq"); an FM driving it asynchronously must serialize chains.
 *  - `qemu`: a window of up to WINDOW_EXTENTS extents (pending groups are FIFO, R6, and the host
 *    answers them in order). The 8-record QEMU log would drop records of a long burst (R8), so the
 *    bench runs qemu with `eventLogFull: 'hold'` (the FM queue holds records until the host clears
 *    room) — the alternative is an FM that paces itself to the log depth, which is this.
 *
 * Figures per cell:
 *  - eventsPerSec: extents accepted by the device (the entries of the `response` parts it took)
 *    per second of the measurement window, under the throughput window above; releasedPerSec
 *    likewise (host-untracked extents). On qemu a chain of 86+ is torn at the 85-entry split as
 *    QEMU tears it (H10): counted in `tornChains`, its accepted part in eventsPerSec (`Phase`);
 *  - latencyUs: per extent, FM call (main-thread wall clock) → its `extent-tracked` event (event
 *    thread wall clock), closed loop (one chain in flight per memdev);
 *  - loadedLatencyUs: the same under the throughput window (includes queueing behind the window);
 *  - releaseLatencyUs: FM release call → `extent-untracked`, under the throughput window;
 *  - lockStats: per lock class, summed over threads (`lockStats`), for the throughput phase.
 * Baselines (once per run): the same two thread hops as the pipeline's data plane (device → event
 * thread → device) with no work, over SpscRings and over postMessage (bench/workers/relay.ts).
 * Memory: RSS before and after N accepted extents on 1 memdev (1,000,000 in the full run).
 * Instrumentation: lockdep, lock statistics and the full event stream on (DCD_BENCH_LOCKDEP,
 * DCD_BENCH_LOCKSTAT, DCD_BENCH_EVENTS switch them; DCD_BENCH_LOCK_HOLD_EVERY=1 times every lock hold
 * instead of 1 in 8); dev_dbg lines off, as in a kernel without
 * dynamic debug (DCD_BENCH_DYNDBG=1). bench/instrumentation.ts prices each per operation.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import * as Comlink from 'comlink';
import { MessageChannel } from 'node:worker_threads';
import { writeHeapSnapshot } from 'node:v8';
import { settleGc } from '../src/runtime/gc.js';
import { DcdSystem } from '../src/runtime/system.js';
import { lockStats, resetLockStats, type LockStat } from '../src/shm/lockdep.js';
import { SpscRing } from '../src/shm/ring.js';
import { CAPACITY } from '../src/host/state.js';
import { spawnWorker, type WorkerHandle } from '../src/runtime/spawn.js';
import { EVENT_TYPES, type DecodedEvent, type RuntimeEventType, type WorkerHeapStats } from '../src/protocol.js';
import type { Knobs, Variant } from '../src/scenario/types.js';
import type { InjectRecord } from '../src/device/types.js';
import type { RelayApi } from './workers/relay.js';
import type { CeilingApi } from './workers/ceiling.js';
import { C_STOP, C_WORDS } from './ceiling-words.js';
import { deviceConfigFromTopology, type DeviceConfig } from '../src/device/config.js';
import { allocateDeviceBuffers } from '../src/device/service.js';
import { CXL_MBOX_OP, RC, dcResponseMaxEntries } from '../src/wire/cxl.js';
import { MiB } from '../src/units.js';
import { sampleThreads, threadDeltas, type ThreadDelta, type ThreadSample } from '../src/runtime/thread-stats.js';
import { DEFAULT_LOCK_HOLD_EVERY, type SystemShm } from '../src/shm/system.js';

export type BenchDevice = 'qemu' | 'cxl-test' | 'hostile';
export type DriverWait = 'ring' | 'poll' | 'fm';

export interface VariantSpec {
  /** label in tables and JSON: `v11`, `v11+group-lock=per-extent`, … */
  label: string;
  variant: Variant;
  knobs: Knobs;
}

export interface BenchOptions {
  quick?: boolean;
  chains?: number[];
  tagged?: boolean[];
  memdevs?: number[];
  devices?: BenchDevice[];
  variants?: VariantSpec[];
  /** measurement window of the throughput phase, ms */
  durationMs?: number;
  /** run-in before the window opens, ms */
  warmupMs?: number;
  /** closed-loop latency phase, ms (0 = reuse the throughput phase's figures) */
  latencyMs?: number;
  /** accepted extents for the memory measurement (0 = skip) */
  memoryEvents?: number;
  /** records moved by each baseline */
  baselineRecords?: number;
  /** skip the ring / postMessage baselines (vs ring / vs pM read as NaN) */
  skipBaselines?: boolean;
  seed?: number;
  /** progress lines (stderr on a TTY) */
  progress?: (line: string) => void;
  /**
   * How the driver waits for runtime events: 'ring' sleeps on the event ring (producers then
   * notify it), 'poll' sleeps 0.2–2 ms naps without announcing itself (producers never notify),
   * 'fm' sleeps on the FM rings' reply bell with the nap as its timeout (a device wakes it when
   * it answers an FM call: for cxl-test after the host's drain of the call's records, i.e. when
   * the chain was answered or released). Default 'fm' with the FM command ring, else 'poll'
   * (see the DOC: the event ring's notify is a cost the observer imposes on the event thread).
   */
  driverWait?: DriverWait;
  /** modelled device mailbox latencies, µs per command: one set of cells per value (default [0]) */
  deviceLatenciesUs?: number[];
  /** skip the protocol ceiling (vs ceiling reads NaN) */
  skipCeiling?: boolean;
  /** lockdep and lock statistics on (default; env DCD_BENCH_LOCKDEP=0 turns them off for an A/B) */
  lockdep?: boolean;
  /** lock statistics alone (default: as lockdep; env DCD_BENCH_LOCKSTAT=0 turns them off) */
  lockStats?: boolean;
  /**
   * the runtime event stream: 'all' (default) or 'driver' — only the types the bench driver reads
   * (DRIVER_EVENTS; env DCD_BENCH_EVENTS=driver), to price the rest
   */
  events?: 'all' | 'driver';
  /**
   * dev_dbg lines in the kernel log: off by default, as in a kernel without dynamic debug enabled
   * (two per released extent that nobody reads in a bench; bench/instrumentation.ts prices them);
   * env DCD_BENCH_DYNDBG=1 turns them on
   */
  dynamicDebug?: boolean;
  /**
   * the FM's transport: the FM command ring (default: the device sleeps on one futex for FM calls
   * and the doorbell) or comlink (env DCD_BENCH_FM=comlink) — docs/performance.md, "The FM command ring"
   */
  fm?: 'comlink' | 'ring';
}

/** The protocol ceiling of one cell's command sequence (bench/workers/ceiling.ts). */
export interface CeilingResult {
  device: BenchDevice;
  chain: number;
  tagged: boolean;
  releaseBatch: 'extent' | 'group';
  deviceLatencyUs: number;
  /** extents accepted by the device per second, no host work */
  perSec: number;
  /** mailbox commands per accepted extent (its release included) */
  mboxPerExtent: number;
  accepted: number;
  windowMs: number;
  /** the ceiling's host and device (+ FM) threads per accepted extent (as a cell's threadsPerExtent) */
  threadsPerExtent: ThreadDelta[];
  errors: string[];
}

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  samples: number;
}

export interface CellResult {
  chain: number;
  tagged: boolean;
  memdevs: number;
  device: BenchDevice;
  variant: string;
  knobs: Knobs;
  /** extents accepted by the device per second */
  eventsPerSec: number;
  /** extents released back to the device per second (same window) */
  releasedPerSec: number;
  /** modelled device mailbox latency, µs per command */
  deviceLatencyUs: number;
  /** closed-loop per-extent latency, FM call → extent-tracked, µs */
  latencyUs: Percentiles;
  /** closed-loop chain latency, FM call → the chain's Add DC Response completed, µs */
  chainLatencyUs: Percentiles;
  /** the same under the throughput window */
  loadedLatencyUs: Percentiles;
  /** FM release call → extent-untracked, µs, under the throughput window */
  releaseLatencyUs: Percentiles;
  accepted: number;
  released: number;
  windowMs: number;
  /** chains a lane keeps in flight in the throughput phase */
  windowChains: number;
  fmCalls: number;
  /** process CPU time (all threads, spinning included) per accepted extent in the window, µs */
  cpuUsPerExtent: number;
  /**
   * per registered thread, per accepted extent in the window (Linux's own counters,
   * src/runtime/thread-stats.ts): CPU µs, µs runnable but waiting for a CPU (the load's share),
   * sleeps (voluntary context switches: futex waits someone paid a wake-up for) and preemptions;
   * empty off Linux
   */
  threadsPerExtent: ThreadDelta[];
  /** runtime events the main thread decoded per extent (its add and its release) */
  runtimeEventsPerExtent: number;
  vsRing: number;
  vsPostMessage: number;
  /** mailbox commands the devices completed per accepted extent (its release included) */
  mboxPerExtent: number;
  /** the protocol ceiling of this cell's command sequence, measured in the same run */
  protocolCeilingPerSec: number;
  ceilingMboxPerExtent: number;
  /** eventsPerSec ÷ protocolCeilingPerSec */
  vsCeiling: number;
  /**
   * chains of the throughput phase torn by the device: their Add DC Response split at the payload
   * and refused after the first part (QEMU at 86+ entries, H10); their extents past the split are
   * offered but never accepted (`accepted` counts what the device accepted)
   */
  tornChains: number;
  lockStats: LockStat[];
  errors: string[];
}

export interface BenchReport {
  tool: 'dcd bench';
  date: string;
  quick: boolean;
  host: { cpus: number; cpuModel: string; node: string; platform: string; totalMemBytes: number; loadAvgStart: number[]; loadAvgEnd: number[] };
  setup: {
    blockBytes: number;
    partitionBytes: number;
    durationMs: number;
    warmupMs: number;
    latencyMs: number;
    driverWait: DriverWait;
    /** lockdep and lock statistics in the pipeline's systems */
    lockdep?: boolean;
    lockStats?: boolean;
    events?: 'all' | 'driver';
    dynamicDebug?: boolean;
    fm?: 'comlink' | 'ring';
    deviceLatenciesUs?: number[];
    qemuWindowExtents: number;
    deviceOverrides: Record<string, unknown>;
    hops: string;
  };
  results: CellResult[];
  baselines: {
    ringPerSec: number;
    postMessagePerSec: number;
    postMessageBatchedPerSec: number;
    batch: number;
    records: number;
    hops: number;
    /**
     * The protocol ceiling of the target cell (cxl-test, chain 100, untagged, v11, no modelled
     * latency — or the first cell measured when the run has no such cell): the cell's mailbox
     * command sequence over the same register file and wait/wake, no host work. Per cell in
     * `results[].protocolCeilingPerSec`; every ceiling measured in `protocolCeilings`.
     */
    protocolCeilingPerSec: number;
    protocolCeilingCell: string;
    protocolCeilings: CeilingResult[];
  };
  memory: {
    rssBeforeBytes: number;
    rssAfterBytes: number;
    events: number;
    growthPct: number;
    heapUsedBeforeBytes: number;
    heapUsedAfterBytes: number;
    /** every worker isolate's heap, each read after a full GC of that isolate, before and after */
    workers?: Record<string, { before: WorkerHeapStats; after: WorkerHeapStats }>;
    /** RSS before the warm-up */
    rssAtStartBytes?: number;
    /** extents accepted in the warm-up, and whether it ended on steady readings (else on its cap) */
    warmupEvents?: number;
    warmupSettled?: boolean;
    /** readings after each tenth of the run */
    curve?: MemoryCheckpoint[];
    cell: string;
    note: string;
  };
  elapsedMs: number;
}

// ------------------------------------------------------------------------------ constants

const BLOCK = 2 * MiB;
/** static capacity in front of the DC partition (C3: partition 0 starts at the end of pmem) */
const DC_BASE = 2048 * MiB;
/** DC partition: 4 GiB of 2 MiB blocks per memdev */
const DC_SIZE = 4096 * MiB;
const DC_BLOCKS = DC_SIZE / BLOCK;
/** qemu: extents a lane keeps offered and not yet accepted */
export const QEMU_WINDOW_EXTENTS = 256;
/** qemu tracks at most 512 extents (accepted + pending, R26) */
const QEMU_MAX_OUTSTANDING = 480;
/** records per FM call */
const MAX_RECORDS_PER_CALL = 256;
/** the pipeline's data-plane hops per extent: device → event thread → device */
const HOPS = 2;
const BASELINE_BATCH = 64;
const RECORD_WORDS = 10;
/** no progress for this long ends a phase with an error instead of a hang */
const STALL_MS = 15_000;

const QEMU_OVERRIDES = { eventLogFull: 'hold' as const };

export const DEFAULT_VARIANTS: VariantSpec[] = [
  { label: 'v11', variant: 'v11', knobs: {} },
  { label: 'v11+group-lock=per-extent', variant: 'v11', knobs: { 'group-lock': 'per-extent' } },
];

/**
 * The design table (`dcd bench --device-latency …` without --knob/--variant): v11 beside the
 * alternatives the series invites comparing, each a knob (NOT v11 unless it says so).
 */
export const DESIGN_VARIANTS: VariantSpec[] = [
  { label: 'v11', variant: 'v11', knobs: {} },
  { label: 'v11+release-batch=group', variant: 'v11', knobs: { 'release-batch': 'group' } },
  { label: 'v11+group-lock=per-extent', variant: 'v11', knobs: { 'group-lock': 'per-extent' } },
];

export function variantLabel(variant: Variant, knobs: Knobs): string {
  const k = Object.entries(knobs).map(([n, v]) => `${n}=${String(v)}`).join(',');
  return k ? `${variant}+${k}` : variant;
}

const wall = (): number => performance.timeOrigin + performance.now();

/** A GC of the main isolate settled twice over (finalizers between) before a memory reading. */
async function settleMainGc(): Promise<void> {
  await settleGc(100);
  await settleGc(100);
}
/** BENCH_DEBUG=1: on an error, print the last runtime events and kernel log lines */
const DEBUG = process.env.BENCH_DEBUG === '1';
/**
 * DCD_BENCH_TAIL=1 (or a file path for the JSON): on chain-1 cells, trace every measured chain's
 * add — the memdev's runtime events from the FM call to extent-tracked, and every thread's
 * schedstat counters before the FM call and when the response is seen — and print the samples
 * above p99 beside the median sample (docs/performance.md "Tenth session: the event thread's host work"). Bench-only: it adds two reads of
 * /proc per thread per chain to the driver, outside each sample's interval.
 */
const TAIL = process.env.DCD_BENCH_TAIL;
/**
 * DCD_BENCH_TAIL's reading of the threads on a sample's path (the driver, the device, the event
 * thread): schedstat only (CPU and run-queue ns; sleeps are not read, to keep the driver's reading
 * at ~3 file reads), so the tracing changes the driver's own CPU as little as it can.
 */
function sampleTailThreads(sys: SystemShm): ThreadSample[] {
  const out: ThreadSample[] = [];
  for (let slot = 0; slot < sys.threadCount(); slot++) {
    const name = sys.threadName(slot);
    if (name !== 'main' && !name.startsWith('device/') && !name.startsWith('irq/')) continue;
    const tid = sys.osTid(slot);
    if (tid <= 0) continue;
    try {
      const ss = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
      out.push({ slot, name, tid, cpuNs: Number(ss[0]), runqNs: Number(ss[1]), voluntary: 0, involuntary: 0 });
    } catch {
      // the thread exited: no figure
    }
  }
  return out;
}
const MBOX_NAMES: Record<number, string> = {
  [CXL_MBOX_OP.GET_EVENT_RECORDS]: 'get', [CXL_MBOX_OP.CLEAR_EVENT_RECORDS]: 'clear',
  [CXL_MBOX_OP.ADD_DC_RESPONSE]: 'addrsp', [CXL_MBOX_OP.RELEASE_DC]: 'reldc',
};

/**
 * DCD_BENCH_TAIL's report: the traced samples at or above p99 against those at or below p50 —
 * per stage (µs after the FM call: first Get done, dc-record, extent-tracked; what the event thread
 * did before the record: events of the previous chain's release), and per thread what Linux
 * counted between the two readings (CPU µs, run-queue µs, sleeps, preemptions). Printed on stderr;
 * the JSON (every traced sample) goes to DCD_BENCH_TAIL when it is a path.
 */
function tailReport(label: string, chains: readonly Chain[]): void {
  const xs = chains.filter((c) => c.trace && c.trace.after && Number.isFinite(c.trace.latUs)).map((c) => c.trace!);
  if (xs.length < 20) return;
  const sorted = xs.map((x) => x.latUs).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const p50 = at(0.5);
  const p99 = at(0.99);
  const first = (x: ChainTrace, name: string): number => x.marks.find((m) => m[0] === name)?.[1] ?? NaN;
  const beforeRecord = (x: ChainTrace): number => {
    const rec = first(x, 'dc-record');
    return x.marks.filter((m) => m[1] < rec && m[0] !== 'mbox:get').length;
  };
  const deltas = (x: ChainTrace): ThreadDelta[] => threadDeltas(x.before, x.after!);
  const med = (a: number[]): number => { const s = a.filter(Number.isFinite).sort((p, q) => p - q); return s.length ? s[s.length >> 1]! : NaN; };
  const f0 = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '—');
  const names = [...new Set(xs.flatMap((x) => deltas(x).map((d) => d.name)))];
  const summary = (sel: ChainTrace[]): string => {
    const st = `latency ${f0(med(sel.map((x) => x.latUs)))} · first Get done ${f0(med(sel.map((x) => first(x, 'mbox:get'))))} · dc-record ${f0(med(sel.map((x) => first(x, 'dc-record'))))} · tracked ${f0(med(sel.map((x) => first(x, 'extent-tracked'))))} · events before the record ${f0(med(sel.map(beforeRecord)))}`;
    const th = names.map((n) => {
      const ds = sel.map((x) => deltas(x).find((d) => d.name === n)).filter((d): d is ThreadDelta => d !== undefined);
      return `${n} ${f0(med(ds.map((d) => d.cpuUs)))}/${f0(med(ds.map((d) => d.runqUs)))}`;
    }).join(', ');
    return `${st}\n      per thread (CPU µs / runq µs, FM call → response seen): ${th}`;
  };
  const tail = xs.filter((x) => x.latUs >= p99).sort((a, b) => b.latUs - a.latUs);
  const body = xs.filter((x) => x.latUs <= p50);
  const out: string[] = [];
  out.push(`tail trace (DCD_BENCH_TAIL) — ${label}: ${xs.length} traced adds, p50 ${f0(p50)} µs, p99 ${f0(p99)} µs`);
  out.push(`  median of the samples ≤ p50 (${body.length}): ${summary(body)}`);
  out.push(`  median of the samples ≥ p99 (${tail.length}): ${summary(tail)}`);
  for (const x of tail.slice(0, 12)) {
    let prev = 0;
    const marks = x.marks.filter((m) => m[1] <= x.latUs + 1).map(([n, t, th]) => { const d = t - prev; prev = t; return `${n}@t${th} +${d.toFixed(0)}`; }).join(', ');
    const th = deltas(x).map((d) => `${d.name} ${d.cpuUs.toFixed(0)}/${d.runqUs.toFixed(0)}`).join(', ');
    out.push(`    ${x.latUs.toFixed(0)} µs: ${marks}\n      ${th}`);
  }
  process.stderr.write(out.join('\n') + '\n');
  if (TAIL !== '1') writeFileSync(TAIL!, JSON.stringify({ label, p50, p99, samples: xs.map((x) => ({ latUs: x.latUs, marks: x.marks, threads: deltas(x) })) }) + '\n');
}
/** a word nobody notifies: the driver's short sleeps */
const nap = new Int32Array(new SharedArrayBuffer(4));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
/** the driver's poll period: NAP_MIN_MS after it acted, doubling up to NAP_MAX_MS while it waits */
const NAP_MIN_MS = 0.2;
const NAP_MAX_MS = 2;

// ------------------------------------------------------------------------------ statistics

class Samples {
  private buf = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = v;
  }
  percentiles(): Percentiles {
    if (this.n === 0) return { p50: NaN, p99: NaN, p999: NaN, samples: 0 };
    const s = this.buf.slice(0, this.n).sort();
    const at = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    return { p50: round(at(0.5)), p99: round(at(0.99)), p999: round(at(0.999)), samples: this.n };
  }
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ------------------------------------------------------------------------------ lanes

interface Chain {
  blocks: number[];
  tag: string | null;
  tSubmit: number;
  measured: boolean;
  tracked: number;
  /** extents the device accepted (the successful parts of the chain's Add DC Response) */
  accepted: number;
  /** extents in a refused later part of the response (QEMU's torn chain, see `Phase.onResponse`) */
  refused: number;
  released: number;
  tRelease: number;
  releaseMeasured: boolean;
  /** DCD_BENCH_TAIL=1: what happened on the chain's memdev from its FM call to its response (TailTrace) */
  trace?: ChainTrace;
}

/** One chain's add, as DCD_BENCH_TAIL=1 records it (bench-only diagnosis of the latency tail). */
interface ChainTrace {
  /** every runtime event of the memdev from the FM call on: [name, µs after the FM call, emitting thread slot] */
  marks: [string, number, number][];
  /** every registered thread's counters just before the FM call and when the chain's response was seen */
  before: ThreadSample[];
  after: ThreadSample[] | null;
  /** FM call → extent-tracked, µs (the latency sample) */
  latUs: number;
}

let tagCounter = 0;
function freshTag(): string {
  tagCounter++;
  return `b0000000-0000-4000-8000-${tagCounter.toString(16).padStart(12, '0')}`;
}

class Lane {
  readonly memdev: number;
  readonly free: number[] = [];
  /** chains offered and not yet accepted */
  inflight = 0;
  /** chains holding blocks (offered, accepted, or being released) */
  outstanding = 0;
  readonly toRelease: Chain[] = [];
  readonly byDpa = new Map<number, Chain>();
  /** the entries of the response being sent (its `response-extent` events) */
  respDpas: number[] = [];
  /** entries per Add DC Response part: the memdev's payload (`dcResponseMaxEntries`) */
  readonly maxEntries: number;

  constructor(memdev: number, poolBlocks: number, payloadSize: number) {
    this.memdev = memdev;
    this.maxEntries = Math.max(1, dcResponseMaxEntries(payloadSize));
    for (let b = poolBlocks - 1; b >= 0; b--) this.free.push(b);
  }

  dpaOf(block: number): number {
    return DC_BASE + block * BLOCK;
  }
}

interface PhaseParams {
  chain: number;
  tagged: boolean;
  windowChains: number;
  maxOutstandingChains: number;
  /** measurement window; the phase ends when it closed and everything was released */
  durationMs?: number;
  warmupMs: number;
  /** or: end after this many accepted extents (memory phase) */
  targetAccepted?: number;
  progress?: (line: string) => void;
  progressLabel?: string;
  driverWait: DriverWait;
  /** keep latency samples (off for the memory phase: the driver's own arrays would grow) */
  samples?: boolean;
}

interface PhaseResult {
  /** process CPU time (all threads) inside the window, µs */
  cpuUs: number;
  /** each registered thread's CPU, run-queue wait and sleeps inside the window (thread-stats.ts) */
  threads: ThreadDelta[];
  accepted: number;
  /** accepted over the whole phase (run-in and drain included) */
  acceptedTotal: number;
  released: number;
  windowMs: number;
  latency: Samples;
  chainLatency: Samples;
  releaseLatency: Samples;
  fmCalls: number;
  runtimeEvents: number;
  /** chains whose Add DC Response was refused after its first part (QEMU's split, H10) */
  tornChains: number;
  errors: string[];
}

/**
 * One phase's state: the window, the lanes' chains, the counters and samples, fed by the runtime
 * events (`onEvent`) and acting through the FM (`submit`, `release`). `runPhase` drives it.
 *
 * Counts extents whose `response` / `extent-untracked` events fall inside the window
 * [start + warmup, start + warmup + duration].
 */
class Phase {
  readonly lat = new Samples();
  readonly chainLat = new Samples();
  readonly relLat = new Samples();
  readonly errors: string[] = [];
  readonly wStart: number;
  wEnd: number;
  accepted = 0;
  acceptedTotal = 0;
  released = 0;
  fmCalls = 0;
  runtimeEvents = 0;
  tornChains = 0;
  lastProgress = wall();
  /** events the driver acts on (a chain answered, a chain released), for its poll back-off */
  actionable = 0;
  /** BENCH_DEBUG: the last runtime events */
  readonly recent: DecodedEvent[] = [];
  /** DCD_BENCH_TAIL: trace this phase's measured chains (chain 1 only) */
  readonly tracing: boolean;
  /** the traced chains, in order */
  readonly traced: Chain[] = [];
  /** per lane: the chain being traced (from its FM call until its response) */
  private readonly tracing1: (Chain | null)[];
  private readonly K: number;
  /** per lane: the FM call's completion handlers (made once, not per call) */
  private readonly fmDone: { add: [(r: unknown) => void, (e: unknown) => void]; release: [(r: unknown) => void, (e: unknown) => void] }[];

  constructor(private readonly sys: DcdSystem, readonly lanes: Lane[], readonly p: PhaseParams) {
    this.K = p.chain;
    this.wStart = wall() + p.warmupMs;
    this.wEnd = p.durationMs !== undefined ? this.wStart + p.durationMs : Infinity;
    const handlers = (what: string): [(r: unknown) => void, (e: unknown) => void] => [
      (r) => { const res = r as { ok: boolean; error?: string }; if (!res.ok) this.errors.push(`${what}: ${res.error ?? 'failed'}`); },
      (e) => { this.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`); },
    ];
    this.fmDone = lanes.map((l) => ({ add: handlers(`mem${l.memdev} add`), release: handlers(`mem${l.memdev} release`) }));
    this.tracing = TAIL !== undefined && TAIL !== '' && TAIL !== '0' && p.chain === 1 && p.samples !== false;
    this.tracing1 = lanes.map(() => null);
  }

  inWindow(t: number): boolean {
    return t >= this.wStart && t <= this.wEnd;
  }

  readonly onEvent = (d: DecodedEvent): void => {
    this.runtimeEvents++;
    if (DEBUG) { this.recent.push(d); if (this.recent.length > 4000) this.recent.splice(0, 2000); }
    const ev = d.ev;
    if (this.tracing) {
      const md = (ev as { memdev?: number }).memdev;
      const tc = md === undefined ? null : this.tracing1[md];
      if (tc?.trace && tc.trace.after === null) {
        const name = ev.type === 'mbox' ? `mbox:${MBOX_NAMES[ev.opcode] ?? ev.opcode}` : ev.type;
        tc.trace.marks.push([name, (d.timeMs - tc.tSubmit) * 1000, d.thread]);
      }
    }
    switch (ev.type) {
      case 'extent-tracked': {
        const c = this.lanes[ev.memdev]?.byDpa.get(ev.dpa);
        if (!c) return;
        c.tracked++;
        if (c.measured) this.lat.push((d.timeMs - c.tSubmit) * 1000);
        if (c.trace) c.trace.latUs = (d.timeMs - c.tSubmit) * 1000;
        return;
      }
      case 'response-extent':
        this.lanes[ev.memdev]?.respDpas.push(ev.dpa);
        return;
      case 'response': {
        const lane = this.lanes[ev.memdev];
        if (lane) this.onResponse(lane, ev.rc, ev.parts, d.timeMs);
        return;
      }
      case 'extent-untracked': {
        const lane = this.lanes[ev.memdev];
        const c = lane?.byDpa.get(ev.dpa);
        if (lane && c) this.onUntracked(lane, c, d.timeMs);
        return;
      }
      case 'chain-dropped':
        this.errors.push(`mem${ev.memdev}: chain dropped by the host (reason ${ev.reason}, ${ev.staged} staged)`);
        return;
      case 'release-outcome':
        if (ev.reason !== 0) this.errors.push(`mem${ev.memdev}: release of dpa 0x${ev.dpa.toString(16)} not acknowledged (reason ${ev.reason})`);
        return;
      default:
        return;
    }
  };

  /**
   * A chain's Add DC Response went out. v11 `cxl_send_dc_response` sends it in parts of the
   * payload's size and stops at the first refused one. QEMU (85 entries per part) accepts the
   * first part and deletes the whole front group (`cmd_dcd_add_dyn_cap_rsp` ignores More), so on
   * a chain of 86–100 the next part is Invalid PA: the chain is torn (H10, docs/personalities.md)
   * and the host still tracks all of it — what QEMU does, counted (`tornChains`), not an error.
   * The device accepted the entries of the parts it took; the chain is answered.
   */
  private onResponse(lane: Lane, rc: number, parts: number, t: number): void {
    const dpas = lane.respDpas;
    lane.respDpas = [];
    // the parts before the refused one went through: `cxl_send_dc_response` sends parts of the
    // payload's entry count in order and stops at the first refused part (the last one sent)
    const ok = rc === 0 ? dpas.length : Math.min(dpas.length, (parts - 1) * lane.maxEntries);
    const torn = rc === RC.INVALID_PA && parts > 1 && ok > 0;
    if (rc !== 0 && !torn) {
      this.errors.push(`mem${lane.memdev}: Add DC Response refused (rc ${rc}) for ${dpas.length} extents`);
      return;
    }
    if (torn) this.tornChains++;
    this.lastProgress = wall();
    const measuredNow = this.inWindow(t);
    for (let i = 0; i < dpas.length; i++) {
      const c = lane.byDpa.get(dpas[i]!);
      if (!c) continue;
      if (i < ok) {
        c.accepted++;
        this.acceptedTotal++;
        if (measuredNow) this.accepted++;
      } else {
        c.refused++;
      }
      if (c.accepted + c.refused === this.K) {
        if (c.measured) this.chainLat.push((t - c.tSubmit) * 1000);
        if (c.trace && c.trace.after === null) { c.trace.after = sampleTailThreads(this.sys.sys); this.tracing1[lane.memdev] = null; }
        this.actionable++;
        lane.inflight--;
        lane.toRelease.push(c);
      }
    }
  }

  /** The host untracked one of a chain's extents; the last one frees the chain's blocks. */
  private onUntracked(lane: Lane, c: Chain, t: number): void {
    this.lastProgress = wall();
    c.released++;
    if (this.inWindow(t)) this.released++;
    if (c.releaseMeasured) this.relLat.push((t - c.tRelease) * 1000);
    if (c.released !== this.K) return;
    this.actionable++;
    for (const b of c.blocks) {
      lane.byDpa.delete(lane.dpaOf(b));
      lane.free.push(b);
    }
    lane.outstanding--;
  }

  /** Offer as many chains as the lane's window allows, in one FM call. */
  submit(lane: Lane, now: number): void {
    const K = this.K;
    const p = this.p;
    const records: InjectRecord[] = [];
    let lastChain: Chain | null = null;
    while (lane.inflight < p.windowChains && lane.outstanding < p.maxOutstandingChains && lane.free.length >= K && records.length + K <= Math.max(K, MAX_RECORDS_PER_CALL)) {
      const c: Chain = {
        blocks: [], tag: p.tagged ? freshTag() : null, tSubmit: now, measured: p.samples !== false && now >= this.wStart && now <= this.wEnd,
        tracked: 0, accepted: 0, refused: 0, released: 0, tRelease: 0, releaseMeasured: false,
      };
      lastChain = c;
      for (let k = 0; k < K; k++) {
        const b = lane.free.pop()!;
        c.blocks.push(b);
        lane.byDpa.set(lane.dpaOf(b), c);
        records.push({ offset: b * BLOCK, length: BLOCK, tag: c.tag, more: k < K - 1 });
      }
      lane.inflight++;
      lane.outstanding++;
    }
    if (!records.length) return;
    this.fmCalls++;
    if (this.tracing && K === 1) {
      // the counters before the call; the sample's clock starts after them (not inside the sample)
      const last = lastChain;
      if (last?.measured) {
        last.trace = { marks: [], before: sampleTailThreads(this.sys.sys), after: null, latUs: NaN };
        last.tSubmit = wall();
        this.traced.push(last);
        this.tracing1[lane.memdev] = last;
      }
    }
    const [ok, threw] = this.fmDone[lane.memdev]!.add;
    const viaRing = benchFm === 'ring' ? this.sys.fmRing(lane.memdev).injectRecords(records) : null;
    (viaRing ?? this.sys.device(lane.memdev).call((a) => a.injectRecords(records))).then(ok, threw);
  }

  /** Release every answered chain of the lane: one prescriptive record naming its first extent. */
  release(lane: Lane, now: number): void {
    if (!lane.toRelease.length) return;
    const chains = lane.toRelease.splice(0, MAX_RECORDS_PER_CALL);
    const measured = this.p.samples !== false && now >= this.wStart && now <= this.wEnd;
    const extents = chains.map((c) => {
      c.tRelease = now;
      c.releaseMeasured = measured;
      return { offset: c.blocks[0]! * BLOCK, length: BLOCK, tag: c.tag };
    });
    this.fmCalls++;
    const [ok, threw] = this.fmDone[lane.memdev]!.release;
    const viaRing = benchFm === 'ring' ? this.sys.fmRing(lane.memdev).releaseCapacity({ policy: 'prescriptive', extents }) : null;
    (viaRing ?? this.sys.device(lane.memdev).call((a) => a.releaseCapacity({ policy: 'prescriptive', extents }))).then(ok, threw);
  }

  stallReport(): string {
    return `no progress for ${STALL_MS} ms (lanes: ${this.lanes.map((l) => `mem${l.memdev} inflight ${l.inflight} outstanding ${l.outstanding} toRelease ${l.toRelease.length}`).join('; ')})`;
  }

  /** BENCH_DEBUG=1: the last runtime events per lane and the kernel log's tail, on stderr. */
  dumpDebug(): void {
    process.stderr.write(`--- last runtime events before: ${this.errors[0]}\n`);
    for (const lane of this.lanes) {
      process.stderr.write(`--- mem${lane.memdev}\n`);
      const mine = this.recent.filter((d) => (d.ev as { memdev?: number }).memdev === lane.memdev && d.ev.type !== 'mbox');
      for (const d of mine.slice(-25)) process.stderr.write(`${(d.timeMs % 100000).toFixed(3)} t${d.thread} ${JSON.stringify(d.ev)}\n`);
    }
    for (const l of this.sys.dmesgLines().slice(-30)) process.stderr.write(`dmesg ${l.level} ${l.dev} ${l.msg}\n`);
  }
}

/**
 * The driver loop of a phase: offer and release through the FM, wait for runtime events (the
 * event ring, or a poll that backs off while nothing the driver acts on happened — each wake of
 * this thread costs CPU the pipeline's own threads need on small machines), until the window
 * closed (or the target count was reached) and every chain was released. Returns the process CPU
 * time (every thread, spinning waits included) inside the window, µs: CPU per extent is less
 * sensitive than wall time to other processes on the machine.
 */
async function drivePhase(sys: DcdSystem, ph: Phase): Promise<{ cpuUs: number; threads: ThreadDelta[] }> {
  const p = ph.p;
  const ring = sys.ctx.events;
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  let cpuInWindow: NodeJS.CpuUsage | null = null;
  let threadsAtStart: ThreadSample[] = [];
  let threadsInWindow: ThreadDelta[] | null = null;
  let actionableSeen = 0;
  let napMs = NAP_MIN_MS;
  let lastPrint = wall();
  for (;;) {
    const now = wall();
    if (cpuAtStart === null && now >= ph.wStart) { cpuAtStart = process.cpuUsage(); threadsAtStart = sampleThreads(sys.sys); }
    if (cpuAtStart !== null && cpuInWindow === null && now >= ph.wEnd) { cpuInWindow = process.cpuUsage(cpuAtStart); threadsInWindow = threadDeltas(threadsAtStart, sampleThreads(sys.sys)); }
    const submitting = p.targetAccepted !== undefined ? ph.acceptedTotal < p.targetAccepted : now < ph.wEnd;
    if (p.targetAccepted !== undefined && !submitting && ph.wEnd === Infinity) ph.wEnd = now;
    if (ph.errors.length) break;
    for (const lane of ph.lanes) {
      if (submitting) ph.submit(lane, now);
      ph.release(lane, now);
    }
    if (!submitting && ph.lanes.every((l) => l.outstanding === 0)) break;
    if (now - ph.lastProgress > STALL_MS) { ph.errors.push(ph.stallReport()); break; }
    if (p.progress && now - lastPrint > 2000) {
      lastPrint = now;
      p.progress(`  ${p.progressLabel ?? ''} ${ph.acceptedTotal.toLocaleString('en-US')} extents accepted`);
    }
    // wait briefly for runtime events, then let comlink replies run
    if (p.driverWait === 'ring') ring.waitNonEmpty(1);
    else if (sys.drainEvents() === 0) {
      napMs = ph.actionable !== actionableSeen ? NAP_MIN_MS : Math.min(napMs * 2, NAP_MAX_MS);
      actionableSeen = ph.actionable;
      // 'fm': while an FM call is unanswered its reply is what the driver waits for (cxl-test
      // answers after the host's drain, so the chain's `response` or `extent-untracked` events
      // are published by then): sleep on the reply bell, the longest nap as the fallback. With
      // no call outstanding (qemu answers at once) the driver naps as 'poll' does.
      if (p.driverWait === 'fm' && fmOutstanding(sys, ph.lanes)) sys.waitFmReplies(NAP_MAX_MS);
      else Atomics.wait(nap, 0, 0, napMs);
    }
    sys.drainEvents();
    await tick();
  }
  cpuInWindow ??= cpuAtStart ? process.cpuUsage(cpuAtStart) : { user: 0, system: 0 };
  threadsInWindow ??= cpuAtStart ? threadDeltas(threadsAtStart, sampleThreads(sys.sys)) : [];
  return { cpuUs: cpuInWindow.user + cpuInWindow.system, threads: threadsInWindow };
}

/** Is an FM ring call of any lane unanswered? */
function fmOutstanding(sys: DcdSystem, lanes: readonly Lane[]): boolean {
  for (const l of lanes) if (sys.fmRing(l.memdev).outstanding() > 0) return true;
  return false;
}

/** Drive every lane of `sys` through one phase (see `Phase`, `drivePhase`). */
async function runPhase(sys: DcdSystem, lanes: Lane[], p: PhaseParams): Promise<PhaseResult> {
  const ph = new Phase(sys, lanes, p);
  const dmesgAtStart = sys.dmesgLines().length;
  const off = sys.onEvent(ph.onEvent);
  let cpuUs: number;
  let threads: ThreadDelta[];
  try {
    ({ cpuUs, threads } = await drivePhase(sys, ph));
  } finally {
    off();
  }
  if (ph.tracing && !ph.errors.length) tailReport(`chain ${p.chain}, ${p.windowChains} in flight`, ph.traced);
  if (ph.errors.length) {
    // the kernel log usually says why (e.g. a StaleHandleError in an event thread)
    const errs = sys.dmesgLines().slice(dmesgAtStart).filter((l) => l.level === 'err');
    for (const l of errs.slice(0, 3)) ph.errors.push(`dmesg: ${l.dev} ${l.msg}`);
    if (DEBUG) ph.dumpDebug();
  }
  const windowMs = Math.max(1e-3, Math.min(ph.wEnd, wall()) - ph.wStart);
  return {
    cpuUs, threads, accepted: ph.accepted, acceptedTotal: ph.acceptedTotal, released: ph.released, windowMs,
    latency: ph.lat, chainLatency: ph.chainLat, releaseLatency: ph.relLat, fmCalls: ph.fmCalls,
    runtimeEvents: ph.runtimeEvents, tornChains: ph.tornChains, errors: ph.errors,
  };
}

// ------------------------------------------------------------------------------ systems

function memdevSpecs(n: number): { name: string; serial: number; sharable: boolean; dc: { base: number; size: number; blockSize: number }; preAccepted: [] }[] {
  return Array.from({ length: n }, (_, i) => ({ name: `mem${i}`, serial: 0x100 + i, sharable: false, dc: { base: DC_BASE, size: DC_SIZE, blockSize: BLOCK }, preAccepted: [] as [] }));
}

let benchLockdep = true;
let benchLockStats = true;
let benchEvents: 'all' | 'driver' = 'all';
let benchDynDbg = false;
/** the runtime event types the driver reads (Phase.onEvent); `events: 'driver'` drops the others */
const DRIVER_EVENTS: ReadonlySet<RuntimeEventType> = new Set<RuntimeEventType>(['extent-tracked', 'response-extent', 'response', 'extent-untracked', 'chain-dropped', 'release-outcome']);
/** how the bench's FM reaches the devices: the FM command ring, or comlink (DCD_BENCH_FM=comlink) */
let benchFm: 'comlink' | 'ring' = 'ring';

async function startSystem(memdevs: number, device: BenchDevice, v: VariantSpec, seed: number, deviceLatencyUs = 0): Promise<DcdSystem> {
  const sys = await DcdSystem.start({
    deviceLatencyUs,
    memdevs: memdevSpecs(memdevs),
    device,
    variant: v.variant,
    knobs: v.knobs,
    seed,
    users: 1,
    lockdep: benchLockdep,
    lockStats: benchLockStats,
    // DCD_BENCH_LOCK_HOLD_EVERY=1: time every lock hold (the default samples 1 in 8: LockStat)
    ...(process.env.DCD_BENCH_LOCK_HOLD_EVERY ? { lockHoldEvery: Number(process.env.DCD_BENCH_LOCK_HOLD_EVERY) } : {}),
    dynamicDebug: benchDynDbg,
    ...(benchEvents === 'driver' ? { dropEvents: EVENT_TYPES.filter((t) => !DRIVER_EVENTS.has(t)) } : {}),
    deviceOverrides: device === 'qemu' ? Array.from({ length: memdevs }, () => ({ ...QEMU_OVERRIDES })) : [],
  });
  sys.keepEvents = 0; // the bench keeps no event history (memory stays flat over long runs)
  for (let i = 0; i < memdevs; i++) {
    const r = await sys.createRegion(i, null);
    if (!r.ok) throw new Error(`create-region mem${i}: ${r.errno} ${r.message}`);
  }
  await sys.waitIdle();
  return sys;
}

function lanePlan(memdevs: number, device: BenchDevice, chain: number): { poolBlocks: number; maxOutstandingChains: number; windowChains: number } {
  let poolBlocks = Math.min(DC_BLOCKS, Math.floor((CAPACITY.extents * 0.9) / memdevs), Math.floor((CAPACITY.daxRes * 0.9) / memdevs));
  if (device === 'qemu') poolBlocks = Math.min(poolBlocks, QEMU_MAX_OUTSTANDING);
  const maxOutstandingChains = Math.max(1, Math.min(Math.floor(poolBlocks / chain), Math.floor((CAPACITY.groups * 0.9) / memdevs), Math.floor((CAPACITY.tags * 0.9) / memdevs)));
  const windowChains = device === 'cxl-test' ? 1 : Math.max(1, Math.min(Math.floor(QEMU_WINDOW_EXTENTS / chain), Math.floor(maxOutstandingChains / 2)));
  return { poolBlocks, maxOutstandingChains, windowChains };
}

// ------------------------------------------------------------------------------ baselines

function workerFile(name: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./workers/${name}${ext}`, import.meta.url));
}

async function relayPair(): Promise<[WorkerHandle<RelayApi>, WorkerHandle<RelayApi>]> {
  const mk = (name: string): WorkerHandle<RelayApi> => spawnWorker<RelayApi>({ kind: 'bench', name, entryFile: workerFile('relay'), data: {} });
  const a = mk('baseline-device');
  const b = mk('baseline-event-thread');
  await Promise.all([a.call((x) => x.ready()), b.call((x) => x.ready())]);
  return [a, b];
}

async function ringBaseline(dev: WorkerHandle<RelayApi>, evt: WorkerHandle<RelayApi>, n: number): Promise<number> {
  const down = SpscRing.create(1024, RECORD_WORDS);
  const up = SpscRing.create(1024, RECORD_WORDS);
  const relay = evt.call((x) => x.ringEvent(down.sab, up.sab, n));
  const r = await dev.call((x) => x.ringDevice(down.sab, up.sab, n, BASELINE_BATCH));
  await relay;
  if (r.bad) throw new Error('ring baseline: records out of order');
  return n / ((r.t1 - r.t0) / 1000);
}

async function postMessageBaseline(dev: WorkerHandle<RelayApi>, evt: WorkerHandle<RelayApi>, n: number, batch: number): Promise<number> {
  const ch = new MessageChannel();
  await evt.call((x) => x.pmEvent(Comlink.transfer(ch.port2, [ch.port2]) as unknown as Parameters<RelayApi['pmEvent']>[0]));
  const r = await dev.call((x) => x.pmDevice(Comlink.transfer(ch.port1, [ch.port1]) as unknown as Parameters<RelayApi['pmDevice']>[0], n, batch <= 1 ? 256 : 256 * batch, batch, RECORD_WORDS));
  if (r.bad) throw new Error('postMessage baseline: records out of order');
  return n / ((r.t1 - r.t0) / 1000);
}

async function baselines(records: number, progress: (s: string) => void): Promise<Omit<BenchReport['baselines'], 'protocolCeilingPerSec' | 'protocolCeilingCell' | 'protocolCeilings'>> {
  progress('baselines: SAB ring and postMessage relay over device → event thread → device …');
  const [dev, evt] = await relayPair();
  try {
    const med = async (f: () => Promise<number>): Promise<number> => {
      const xs = [await f(), await f(), await f()].sort((a, b) => a - b);
      return xs[1]!;
    };
    await ringBaseline(dev, evt, Math.min(records, 50_000)); // warm-up
    const ringPerSec = await med(() => ringBaseline(dev, evt, records));
    const pmN = Math.max(10_000, Math.floor(records / 5));
    await postMessageBaseline(dev, evt, Math.min(pmN, 20_000), 1);
    const postMessagePerSec = await med(() => postMessageBaseline(dev, evt, pmN, 1));
    const postMessageBatchedPerSec = await med(() => postMessageBaseline(dev, evt, records, BASELINE_BATCH));
    return { ringPerSec: Math.round(ringPerSec), postMessagePerSec: Math.round(postMessagePerSec), postMessageBatchedPerSec: Math.round(postMessageBatchedPerSec), batch: BASELINE_BATCH, records, hops: HOPS };
  } finally {
    await Promise.all([dev.terminate(), evt.terminate()]);
  }
}

// ------------------------------------------------------------------------------ protocol ceiling

/**
 * The protocol ceiling of one cell (issue #17): bench/workers/ceiling.ts runs the real device
 * service of `device` (its records per Get, cxl-test's drain inside the inject, the modelled
 * latency) against a host that is v11's event drain reduced to its mailbox commands — Get,
 * handle (stage; the More=0 record's Add DC Response; a release record's Release DC per member,
 * or per group under release-batch=group), Clear, until a Get is empty — over its own register
 * file, with the FM beside the device (direct calls, no comlink). The same window as the cell.
 * `mboxPerExtent` beside the cell's own shows that both ran the same command sequence.
 */
async function protocolCeiling(device: BenchDevice, chain: number, tagged: boolean, releaseBatch: 'extent' | 'group', deviceLatencyUs: number, t: { durationMs: number; warmupMs: number }, seed: number): Promise<CeilingResult> {
  const spec = memdevSpecs(1)[0]!;
  const config: DeviceConfig = {
    ...deviceConfigFromTopology(spec, device, `${seed}/ceiling`),
    ...(device === 'qemu' ? QEMU_OVERRIDES : {}),
    ...(deviceLatencyUs > 0 ? { mboxLatencyUs: deviceLatencyUs } : {}),
  };
  const bufs = allocateDeviceBuffers(config);
  const shared = new SharedArrayBuffer(C_WORDS * 4);
  const words = new Int32Array(shared);
  const mk = (name: string): WorkerHandle<CeilingApi> => spawnWorker<CeilingApi>({ kind: 'bench', name, entryFile: workerFile('ceiling'), data: {} });
  const dev = mk('ceiling-device');
  const host = mk('ceiling-host');
  try {
    await Promise.all([dev.call((x) => x.ready()), host.call((x) => x.ready())]);
    await dev.call((x) => x.deviceStart(config, bufs.regfile, bufs.media, new SharedArrayBuffer(4)));
    const hostTid = await host.call((x) => x.tid());
    const hostRun = host.call((x) => x.hostRun(bufs.regfile, shared, releaseBatch));
    const plan = lanePlan(1, device, chain);
    // bounded: a ceiling that stops making progress ends as an error, not a hung bench
    let timer: NodeJS.Timeout | undefined;
    const bound = t.warmupMs + t.durationMs + 30_000;
    const r = await Promise.race([
      dev.call((x) => x.fmRun(shared, {
        chain, tagged, windowChains: plan.windowChains, maxOutstandingChains: plan.maxOutstandingChains, blockBytes: BLOCK, warmupMs: t.warmupMs, durationMs: t.durationMs, hostTid,
      })),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`protocol ceiling: no result within ${bound} ms`)), bound); }),
    ]).finally(() => clearTimeout(timer));
    Atomics.store(words, C_STOP, 1);
    const h = await hostRun;
    await dev.call((x) => x.deviceStop());
    return {
      device, chain, tagged, releaseBatch, deviceLatencyUs,
      perSec: Math.round(r.accepted / (r.windowMs / 1000)),
      // the host's commands less its probe's Set Event Interrupt Policy
      mboxPerExtent: round((h.commands - 1) / Math.max(1, r.acceptedTotal), 2),
      accepted: r.accepted,
      windowMs: Math.round(r.windowMs),
      threadsPerExtent: perExtent(r.threads, r.accepted),
      errors: [...r.errors, ...h.errors],
    };
  } finally {
    await Promise.all([dev.terminate(), host.terminate()]);
  }
}

// ------------------------------------------------------------------------------ the matrix

export function matrixFor(opts: BenchOptions): { chains: number[]; tagged: boolean[]; memdevs: number[]; devices: BenchDevice[]; variants: VariantSpec[] } {
  const q = opts.quick === true;
  return {
    chains: opts.chains ?? (q ? [1, 100] : [1, 8, 100]),
    tagged: opts.tagged ?? (q ? [false] : [false, true]),
    memdevs: opts.memdevs ?? (q ? [1, 2] : [1, 2, 4]),
    devices: opts.devices ?? ['qemu', 'cxl-test'],
    variants: opts.variants ?? (q ? [DEFAULT_VARIANTS[0]!] : DEFAULT_VARIANTS),
  };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const started = wall();
  const loadAvgStart = loadavg().map((x) => round(x, 2));
  const quick = opts.quick === true;
  const progress = opts.progress ?? ((): void => undefined);
  const m = matrixFor(opts);
  const durationMs = opts.durationMs ?? (quick ? 400 : 2500);
  const warmupMs = opts.warmupMs ?? (quick ? 100 : 400);
  const latencyMs = opts.latencyMs ?? (quick ? 200 : 1000);
  const memoryEvents = opts.memoryEvents ?? (quick ? 10_000 : 1_000_000);
  const seed = opts.seed ?? 1;
  benchLockdep = opts.lockdep ?? process.env.DCD_BENCH_LOCKDEP !== '0';
  benchLockStats = opts.lockStats ?? (process.env.DCD_BENCH_LOCKSTAT === '0' ? false : benchLockdep);
  benchEvents = opts.events ?? (process.env.DCD_BENCH_EVENTS === 'driver' ? 'driver' : 'all');
  benchDynDbg = opts.dynamicDebug ?? process.env.DCD_BENCH_DYNDBG === '1';
  benchFm = opts.fm ?? (process.env.DCD_BENCH_FM === 'comlink' ? 'comlink' : 'ring');
  const envWait = process.env.DCD_BENCH_DRIVER_WAIT;
  if (envWait !== undefined && envWait !== 'ring' && envWait !== 'poll' && envWait !== 'fm') throw new Error(`DCD_BENCH_DRIVER_WAIT=${envWait}: expected ring, poll or fm`);
  const driverWait: DriverWait = opts.driverWait ?? envWait ?? (benchFm === 'ring' ? 'fm' : 'poll');
  const base: BenchReport['baselines'] = opts.skipBaselines === true
    ? { ringPerSec: NaN, postMessagePerSec: NaN, postMessageBatchedPerSec: NaN, batch: BASELINE_BATCH, records: 0, hops: HOPS, protocolCeilingPerSec: NaN, protocolCeilingCell: '', protocolCeilings: [] }
    : { ...(await baselines(opts.baselineRecords ?? (quick ? 100_000 : 1_000_000), progress)), protocolCeilingPerSec: NaN, protocolCeilingCell: '', protocolCeilings: [] };
  const latencies = opts.deviceLatenciesUs ?? [0];
  /** one ceiling per command sequence: device × chain × tagging × release batching × latency */
  const ceilingFor = async (device: BenchDevice, chain: number, tagged: boolean, v: VariantSpec, lat: number): Promise<CeilingResult | null> => {
    if (opts.skipCeiling === true || process.env.DCD_BENCH_NO_CEILING === '1') return null;
    // the hostile device has no command sequence of its own to bound (it misbehaves on purpose)
    if (device === 'hostile') return null;
    const rb = v.knobs['release-batch'] === 'group' ? 'group' : 'extent';
    const hit = base.protocolCeilings.find((c) => c.device === device && c.chain === chain && c.tagged === tagged && c.releaseBatch === rb && c.deviceLatencyUs === lat);
    if (hit) return hit;
    progress(`protocol ceiling: ${device} chain ${chain} ${tagged ? 'tagged' : 'untagged'} release-batch=${rb} latency ${lat} µs …`);
    let c: CeilingResult;
    try {
      c = await protocolCeiling(device, chain, tagged, rb, lat, { durationMs, warmupMs }, seed);
    } catch (e) {
      c = { device, chain, tagged, releaseBatch: rb, deviceLatencyUs: lat, perSec: NaN, mboxPerExtent: NaN, accepted: 0, windowMs: 0, threadsPerExtent: [], errors: [e instanceof Error ? e.message : String(e)] };
    }
    base.protocolCeilings.push(c);
    for (const e of c.errors.slice(0, 3)) progress(`  ceiling error: ${e}`);
    return c;
  };

  const results: CellResult[] = [];
  /** the memory run uses the 1-memdev system of this device (and the first variant) once its cells are done */
  const memDevice: BenchDevice = m.devices.includes('qemu') ? 'qemu' : m.devices[0]!;
  let memory: BenchReport['memory'] | undefined;
  const cellsTotal = m.chains.length * m.tagged.length * m.memdevs.length * m.devices.length * m.variants.length * latencies.length;
  for (const device of m.devices) {
    for (const lat of latencies) for (const v of m.variants) {
      for (const nm of m.memdevs) {
        const latLabel = lat > 0 ? `, device latency ${lat} µs` : '';
        progress(`system: ${nm} memdev${nm > 1 ? 's' : ''}, ${device}, ${v.label}${latLabel}`);
        let sys = await startSystem(nm, device, v, seed, lat);
        try {
          for (const chain of m.chains) {
            for (const tagged of m.tagged) {
              const label = `[${results.length + 1}/${cellsTotal}] chain ${chain} ${tagged ? 'tagged' : 'untagged'} ${nm} memdev${nm > 1 ? 's' : ''} ${device} ${v.label}${latLabel}`;
              // the ceiling of this command sequence first, with the cell's system idle
              await sys.waitIdle();
              const ceiling = await ceilingFor(device, chain, tagged, v, lat);
              progress(label);
              const res = await runCell(sys, { chain, tagged, memdevs: nm, device, variant: v, deviceLatencyUs: lat }, { durationMs, warmupMs, latencyMs, driverWait }, base, ceiling, progress);
              results.push(res);
              if (res.errors.length) {
                // the system may hold extents the lanes no longer know about: start afresh
                await sys.stop();
                sys = await startSystem(nm, device, v, seed, lat);
              }
            }
          }
          if (!memory && memoryEvents > 0 && nm === 1 && lat === latencies[0] && device === memDevice && v === m.variants[0]) {
            await sys.waitIdle();
            memory = await memoryRun(sys, device, v, memoryEvents, driverWait, progress);
          }
        } finally {
          await sys.stop();
        }
      }
    }
  }

  if (!memory && memoryEvents > 0) {
    const v = m.variants[0]!;
    const sys = await startSystem(1, memDevice, v, seed);
    try {
      memory = await memoryRun(sys, memDevice, v, memoryEvents, driverWait, progress);
    } finally {
      await sys.stop();
    }
  }
  // the headline ceiling: the target cell's, or the first measured
  const target = base.protocolCeilings.find((c) => c.device === 'cxl-test' && c.chain === 100 && !c.tagged && c.releaseBatch === 'extent' && c.deviceLatencyUs === 0) ?? base.protocolCeilings[0];
  if (target) {
    base.protocolCeilingPerSec = target.perSec;
    base.protocolCeilingCell = `${target.device} chain ${target.chain} ${target.tagged ? 'tagged' : 'untagged'} release-batch=${target.releaseBatch} latency ${target.deviceLatencyUs} µs`;
  }
  memory ??= { rssBeforeBytes: 0, rssAfterBytes: 0, events: 0, growthPct: 0, heapUsedBeforeBytes: 0, heapUsedAfterBytes: 0, cell: '', note: 'skipped' };
  const cpu = cpus();
  return {
    tool: 'dcd bench',
    date: new Date().toISOString(),
    quick,
    host: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, totalMemBytes: totalmem(), loadAvgStart, loadAvgEnd: loadavg().map((x) => round(x, 2)) },
    setup: {
      blockBytes: BLOCK, partitionBytes: DC_SIZE, durationMs, warmupMs, latencyMs, driverWait, lockdep: benchLockdep, lockStats: benchLockStats, events: benchEvents, dynamicDebug: benchDynDbg, fm: benchFm, deviceLatenciesUs: latencies, qemuWindowExtents: QEMU_WINDOW_EXTENTS,
      deviceOverrides: { qemu: QEMU_OVERRIDES }, hops: 'device → event thread → device (2 hops)',
    },
    results,
    baselines: base,
    memory,
    elapsedMs: Math.round(wall() - started),
  };
}

interface CellSpec {
  chain: number;
  tagged: boolean;
  memdevs: number;
  device: BenchDevice;
  variant: VariantSpec;
  deviceLatencyUs: number;
}

/** per-thread window deltas ÷ accepted extents (threads that did nothing in the window are left out) */
function perExtent(threads: readonly ThreadDelta[], accepted: number): ThreadDelta[] {
  const n = Math.max(1, accepted);
  return threads
    .filter((t) => t.cpuUs > 0 || t.sleeps > 0)
    .map((t) => ({ name: t.name, cpuUs: round(t.cpuUs / n, 2), runqUs: round(t.runqUs / n, 2), sleeps: round(t.sleeps / n, 3), preemptions: round(t.preemptions / n, 3) }));
}

async function commandsServed(sys: DcdSystem, memdevs: number): Promise<number> {
  const xs = await Promise.all(Array.from({ length: memdevs }, (_, i) => sys.device(i).call((a) => a.commandsServed())));
  return xs.reduce((a, b) => a + b, 0);
}

async function runCell(sys: DcdSystem, c: CellSpec, t: { durationMs: number; warmupMs: number; latencyMs: number; driverWait: DriverWait }, base: BenchReport['baselines'], ceiling: CeilingResult | null, progress: (s: string) => void): Promise<CellResult> {
  const plan = lanePlan(c.memdevs, c.device, c.chain);
  const lanes = Array.from({ length: c.memdevs }, (_, i) => new Lane(i, plan.poolBlocks, sys.ctx.regfile(i).payloadSize));
  await sys.waitIdle();
  resetLockStats(sys.sys);
  const cmd0 = await commandsServed(sys, c.memdevs);
  const thr = await runPhase(sys, lanes, {
    chain: c.chain, tagged: c.tagged, windowChains: plan.windowChains, maxOutstandingChains: plan.maxOutstandingChains,
    durationMs: t.durationMs, warmupMs: t.warmupMs, driverWait: t.driverWait,
  });
  const locks = lockStats(sys.sys);
  const cmds = (await commandsServed(sys, c.memdevs)) - cmd0;
  let lat = thr.latency;
  let chainLat = thr.chainLatency;
  let latErrors: string[] = [];
  if (!thr.errors.length && plan.windowChains > 1 && t.latencyMs > 0) {
    await sys.waitIdle();
    const closed = await runPhase(sys, lanes, {
      chain: c.chain, tagged: c.tagged, windowChains: 1, maxOutstandingChains: plan.maxOutstandingChains,
      durationMs: t.latencyMs, warmupMs: Math.min(100, t.warmupMs), driverWait: t.driverWait,
    });
    lat = closed.latency;
    chainLat = closed.chainLatency;
    latErrors = closed.errors;
  }
  const errors = [...thr.errors, ...latErrors];
  if (!errors.length) {
    try {
      await sys.waitIdle(10_000);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  for (const e of errors.slice(0, 3)) progress(`  error: ${e}`);
  const eventsPerSec = thr.accepted / (thr.windowMs / 1000);
  return {
    chain: c.chain, tagged: c.tagged, memdevs: c.memdevs, device: c.device, variant: c.variant.label, knobs: c.variant.knobs,
    deviceLatencyUs: c.deviceLatencyUs,
    eventsPerSec: Math.round(eventsPerSec),
    releasedPerSec: Math.round(thr.released / (thr.windowMs / 1000)),
    latencyUs: lat.percentiles(),
    chainLatencyUs: chainLat.percentiles(),
    loadedLatencyUs: thr.latency.percentiles(),
    releaseLatencyUs: thr.releaseLatency.percentiles(),
    accepted: thr.accepted,
    released: thr.released,
    windowMs: Math.round(thr.windowMs),
    windowChains: plan.windowChains,
    fmCalls: thr.fmCalls,
    cpuUsPerExtent: round(thr.cpuUs / Math.max(1, thr.accepted), 1),
    threadsPerExtent: perExtent(thr.threads, thr.accepted),
    runtimeEventsPerExtent: round(thr.runtimeEvents / Math.max(1, thr.acceptedTotal), 2),
    vsRing: round(eventsPerSec / base.ringPerSec, 4),
    vsPostMessage: round(eventsPerSec / base.postMessagePerSec, 4),
    mboxPerExtent: round(cmds / Math.max(1, thr.acceptedTotal), 2),
    protocolCeilingPerSec: ceiling?.perSec ?? NaN,
    ceilingMboxPerExtent: ceiling?.mboxPerExtent ?? NaN,
    vsCeiling: ceiling ? round(eventsPerSec / ceiling.perSec, 4) : NaN,
    tornChains: thr.tornChains,
    lockStats: locks,
    errors,
  };
}

export interface MemoryCheckpoint {
  /** accepted extents since the 'before' reading */
  events: number;
  rssBytes: number;
  /** main isolate, after a GC */
  mainHeapUsedBytes: number;
  /** summed over worker isolates, each after its own GC */
  workersHeapUsedBytes: number;
  workersHeapPagesBytes: number;
}

interface MemoryReading {
  point: Omit<MemoryCheckpoint, 'events'>;
  /** each worker isolate after its own GC */
  workers: Record<string, WorkerHeapStats>;
  /** the main isolate after its GC */
  main: NodeJS.MemoryUsage;
}

async function memoryCheckpoint(sys: DcdSystem): Promise<MemoryReading> {
  const workers = await sys.workerHeapStats();
  await settleMainGc();
  const main = process.memoryUsage();
  const w = Object.values(workers);
  return {
    point: {
      rssBytes: main.rss,
      mainHeapUsedBytes: main.heapUsed,
      workersHeapUsedBytes: w.reduce((a, x) => a + x.usedHeapBytes, 0),
      workersHeapPagesBytes: w.reduce((a, x) => a + x.totalHeapBytes, 0),
    },
    workers,
    main,
  };
}

/** BENCH_HEAP_SNAPSHOT=DIR: heap snapshots of the main thread and every worker, before and after
 *  the measured run, for finding what a growth is (compare the two in Chrome DevTools) */
async function heapSnapshots(sys: DcdSystem, prefix: string): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeHeapSnapshot(join(dir, `${prefix}main.heapsnapshot`));
  await sys.workerHeapSnapshots(dir, prefix);
}

async function memoryRun(sys: DcdSystem, device: BenchDevice, v: VariantSpec, events: number, driverWait: DriverWait, progress: (s: string) => void): Promise<BenchReport['memory']> {
  const chain = 100;
  const cell = `chain ${chain} untagged 1 memdev ${device} ${v.label}`;
  progress(`memory: ${cell}, ${events.toLocaleString('en-US')} accepted extents …`);
  const plan = lanePlan(1, device, chain);
  const lanes = [new Lane(0, plan.poolBlocks, sys.ctx.regfile(0).payloadSize)];
  const params = { chain, tagged: false, windowChains: plan.windowChains, maxOutstandingChains: plan.maxOutstandingChains, warmupMs: 0, progress, progressLabel: 'memory:', driverWait, samples: false };
  // Warm-up until the process has its working size: V8 grows each worker's young generation (and
  // the allocator its arenas) over the first ~100k events of this cell, once. 'Before' is read when
  // two readings in a row move RSS by under 1% and worker heap pages by under 1%, after at least
  // a tenth of the run (≤ 50k) and at most 30% of it; the curve and the note say how it went.
  const warmSegment = Math.max(100, Math.min(10_000, Math.floor(events / 20)));
  const warmMin = Math.min(50_000, Math.max(100, Math.floor(events / 10)));
  const warmMax = Math.max(warmMin, Math.floor(events * 0.3));
  const rssAtStart = process.memoryUsage().rss;
  let warmTotal = 0;
  let warmSettled = false;
  let prev: MemoryReading['point'] | null = null;
  while (warmTotal < warmMax) {
    const warm = await runPhase(sys, lanes, { ...params, targetAccepted: warmSegment });
    if (warm.errors.length) throw new Error(`memory run (warm-up): ${warm.errors.join('; ')}`);
    warmTotal += warm.acceptedTotal;
    await sys.waitIdle();
    const cur = (await memoryCheckpoint(sys)).point;
    const steady = prev !== null
      && Math.abs(cur.rssBytes - prev.rssBytes) < 0.01 * prev.rssBytes
      && Math.abs(cur.workersHeapPagesBytes - prev.workersHeapPagesBytes) < 0.01 * prev.workersHeapPagesBytes;
    prev = cur;
    if (steady && warmTotal >= warmMin) { warmSettled = true; break; }
  }
  await heapSnapshots(sys, 'before-');
  // the run in CHECKPOINTS segments, a reading after each: growth that levels off (heap sizing,
  // JIT, allocator arenas reaching their working size) reads differently from growth per event
  const CHECKPOINTS = 10;
  const first = await memoryCheckpoint(sys);
  let last = first;
  const curve: MemoryCheckpoint[] = [{ events: 0, ...first.point }];
  let acceptedTotal = 0;
  for (let i = 1; i <= CHECKPOINTS; i++) {
    const target = Math.round((events * i) / CHECKPOINTS) - acceptedTotal;
    if (target <= 0) continue;
    const run = await runPhase(sys, lanes, { ...params, targetAccepted: target });
    if (run.errors.length) throw new Error(`memory run: ${run.errors.join('; ')}`);
    acceptedTotal += run.acceptedTotal;
    await sys.waitIdle();
    last = await memoryCheckpoint(sys);
    curve.push({ events: acceptedTotal, ...last.point });
  }
  await heapSnapshots(sys, 'after-');
  const before = first.main;
  const after = last.main;
  const workers: NonNullable<BenchReport['memory']['workers']> = {};
  for (const [name, b] of Object.entries(first.workers)) {
    const a = last.workers[name];
    if (a) workers[name] = { before: b, after: a };
  }
  return {
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    events: acceptedTotal,
    growthPct: round(((after.rss - before.rss) / before.rss) * 100, 2),
    rssAtStartBytes: rssAtStart,
    warmupEvents: warmTotal,
    warmupSettled: warmSettled,
    curve,
    heapUsedBeforeBytes: before.heapUsed,
    heapUsedAfterBytes: after.heapUsed,
    workers,
    cell,
    note: `RSS of the whole process (every worker thread; heapUsed is the main thread's, both read after a forced GC of the main thread) after a warm-up of ${warmTotal} extents (${warmSettled ? 'ended when RSS and worker heap pages held steady' : 'capped before RSS held steady'}; RSS ${(rssAtStart / MiB).toFixed(1)} MiB before it), then after ${acceptedTotal} more accepted (in ${CHECKPOINTS} segments, a reading after each) (and as many released)${events < 1_000_000 ? ' — a reduced count, not the 1,000,000 of the full run' : ''}`,
  };
}

// ------------------------------------------------------------------------------ output

function si(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(2)}k`;
  return v.toFixed(0);
}

function us(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)}ms`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)}ms`;
  return v.toFixed(0);
}

function grid(rows: string[][], leftCols: number): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, j) => {
    const s = r.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return j === 0 ? `${s}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : s;
  }).join('\n');
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`dcd bench${r.quick ? ' --quick' : ''} — ${r.host.cpus} CPUs (${r.host.cpuModel}), node ${r.host.node}, ${r.date}`);
  out.push(`load average at start ${r.host.loadAvgStart.join(' ')}, at end ${r.host.loadAvgEnd.join(' ')} (other processes share the CPUs: figures are only as quiet as the machine)`);
  out.push('');
  out.push(`baselines over ${r.baselines.hops} thread hops (${r.setup.hops}), no work:`);
  out.push(`  SAB ring (batch ${r.baselines.batch})          ${si(r.baselines.ringPerSec)} records/s`);
  out.push(`  postMessage, 1 record/message     ${si(r.baselines.postMessagePerSec)} records/s`);
  out.push(`  postMessage, ${r.baselines.batch} records/message   ${si(r.baselines.postMessageBatchedPerSec)} records/s`);
  out.push(`protocol ceiling (the cell's mailbox command sequence, same register file and wait/wake, no host work):`);
  for (const c of r.baselines.protocolCeilings) {
    out.push(`  ${c.device} chain ${c.chain} ${c.tagged ? 'tagged' : 'untagged'} release-batch=${c.releaseBatch}${c.deviceLatencyUs ? ` latency ${c.deviceLatencyUs} µs` : ''}: ${si(c.perSec)} extents/s, ${c.mboxPerExtent} mailbox commands/extent${c.errors.length ? ` (errors: ${c.errors.slice(0, 2).join(' | ')})` : ''}`);
  }
  if (!r.baselines.protocolCeilings.length) out.push('  (not measured)');
  out.push('');
  const rows: string[][] = [['device', 'variant', 'lat µs', 'chain', 'tag', 'mem', 'win', 'ext/s', 'rel/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'chain p50', 'loaded p50', 'loaded p99', 'rel p50', 'CPU µs/ext', 'mbox/ext', 'ceiling', 'vs ceil', 'vs ring', 'vs pM', 'err']];
  for (const x of r.results) {
    rows.push([
      x.device, x.variant, String(x.deviceLatencyUs ?? 0), String(x.chain), x.tagged ? 'yes' : 'no', String(x.memdevs), String(x.windowChains),
      si(x.eventsPerSec), si(x.releasedPerSec), us(x.latencyUs.p50), us(x.latencyUs.p99), us(x.latencyUs.p999), us(x.chainLatencyUs?.p50 ?? NaN),
      us(x.loadedLatencyUs.p50), us(x.loadedLatencyUs.p99), us(x.releaseLatencyUs.p50), x.cpuUsPerExtent.toFixed(0),
      `${x.mboxPerExtent ?? '—'} (${x.ceilingMboxPerExtent ?? '—'})`, si(x.protocolCeilingPerSec), Number.isFinite(x.vsCeiling) && x.vsCeiling !== null ? `${x.vsCeiling.toFixed(2)}×` : '—',
      // (a JSON round trip turns NaN into null: a --cells-only report read back from bench.json)
      Number.isFinite(x.vsRing) && x.vsRing !== null ? `${(x.vsRing * 100).toFixed(2)}%` : '—', Number.isFinite(x.vsPostMessage) && x.vsPostMessage !== null ? `${x.vsPostMessage.toFixed(2)}×` : '—', x.errors.length ? String(x.errors.length) : '',
    ]);
  }
  out.push('pipeline (ext/s = extents accepted by the device per second; latency = FM call → extent-tracked):');
  out.push(grid(rows, 2));
  out.push('  win = chains in flight per memdev in the throughput phase; p50/p99/p99.9 closed loop (1 chain in flight);');
  out.push('  loaded = under the throughput window; rel = FM release call → extent-untracked; CPU µs/ext = process CPU (all threads,');
  out.push('  spinning included) per accepted extent; vs ring / vs pM = ext/s ÷ baseline records/s; lat = modelled device mailbox');
  out.push('  latency per command; chain p50 = FM call → the chain\'s Add DC Response done; mbox/ext = mailbox commands per accepted');
  out.push('  extent, its release included (the ceiling\'s in brackets: the same sequence); vs ceil = ext/s ÷ the protocol ceiling');
  const acct = r.results.filter((x) => (x.threadsPerExtent ?? []).length > 0);
  if (acct.length) {
    out.push('  per thread, per accepted extent in the window (Linux schedstat/status; docs/performance.md "Per-thread accounting"):');
    out.push('  CPU µs on CPU / sleeps (voluntary context switches: each a futex wait another thread paid a wake-up for) /');
    out.push('  runq µs runnable but waiting for a CPU (the load\'s share)');
    const sum = (ts: readonly ThreadDelta[]): string => {
      const tot = ts.reduce((a, t) => ({ cpu: a.cpu + t.cpuUs, sl: a.sl + t.sleeps, rq: a.rq + t.runqUs }), { cpu: 0, sl: 0, rq: 0 });
      return `all ${tot.cpu.toFixed(1)} / ${tot.sl.toFixed(2)} / ${tot.rq.toFixed(1)}`;
    };
    const each = (ts: readonly ThreadDelta[]): string => ts.map((t) => `${t.name} ${t.cpuUs.toFixed(1)}/${t.sleeps.toFixed(2)}/${t.runqUs.toFixed(1)}`).join(', ');
    for (const x of acct) {
      out.push(`    ${x.device} ${x.variant} chain ${x.chain} ${x.tagged ? 'tagged' : 'untagged'} ${x.memdevs} memdev${x.memdevs > 1 ? 's' : ''}: ${sum(x.threadsPerExtent)}`);
      out.push(`      ${each(x.threadsPerExtent)}`);
      const c = r.baselines.protocolCeilings.find((k) => k.device === x.device && k.chain === x.chain && k.tagged === x.tagged
        && k.deviceLatencyUs === (x.deviceLatencyUs ?? 0) && k.releaseBatch === (x.knobs['release-batch'] === 'group' ? 'group' : 'extent'));
      if (x.memdevs === 1 && c && (c.threadsPerExtent ?? []).length) out.push(`      its protocol ceiling (host; device with the FM beside it): ${sum(c.threadsPerExtent)} — ${each(c.threadsPerExtent)}`);
    }
  }
  const torn = r.results.filter((x) => (x.tornChains ?? 0) > 0);
  if (torn.length) {
    out.push('  torn chains (the Add DC Response split at the payload, refused after its first part: QEMU deletes the whole front group');
    out.push('  on the first part, H10 — what QEMU does; ext/s counts the extents the device accepted):');
    for (const x of torn) out.push(`    ${x.device} ${x.variant} chain ${x.chain} ${x.tagged ? 'tagged' : 'untagged'} ${x.memdevs} memdev${x.memdevs > 1 ? 's' : ''}: ${x.tornChains} chains torn`);
  }
  const lats = [...new Set(r.results.map((x) => x.deviceLatencyUs ?? 0))].sort((a, b) => a - b);
  if (lats.length > 1) {
    out.push('');
    out.push('design × device mailbox latency (extents/s, chain latency p50 = FM call → Add DC Response done; untagged, 1 memdev first):');
    out.push('  floor = 1e6 ÷ (mailbox commands per extent × latency): the most extents/s the device\'s own time allows (load-independent)');
    const dr: string[][] = [['device', 'chain', 'design', 'mbox/ext', ...lats.flatMap((l) => (l > 0 ? [`${l} µs floor`, `${l} µs ext/s`, `${l} µs chain p50`] : [`${l} µs ext/s`, `${l} µs chain p50`]))]];
    const keys = [...new Set(r.results.map((x) => `${x.device}|${x.chain}|${x.tagged}|${x.memdevs}|${x.variant}`))];
    for (const k of keys) {
      const [d, c, tg, mm, v] = k.split('|');
      if (tg === 'true' || mm !== String(Math.min(...r.results.map((x) => x.memdevs)))) continue;
      const cells = lats.map((l) => r.results.find((x) => `${x.device}|${x.chain}|${x.tagged}|${x.memdevs}|${x.variant}` === k && (x.deviceLatencyUs ?? 0) === l));
      const mpe = cells.find((x) => x)?.mboxPerExtent ?? NaN;
      dr.push([d!, c!, v!, String(mpe), ...cells.flatMap((x, i) => {
        const l = lats[i]!;
        const row = x ? [si(x.eventsPerSec), us(x.chainLatencyUs.p50)] : ['—', '—'];
        return l > 0 ? [si(1e6 / ((x?.mboxPerExtent ?? mpe) * l)), ...row] : row;
      })]);
    }
    out.push(grid(dr, 3));
  }
  // lock statistics: the largest-memdev, chain-100 (or longest), untagged cell per device × variant
  const maxMem = Math.max(...r.results.map((x) => x.memdevs));
  const maxChain = Math.max(...r.results.map((x) => x.chain));
  const picks = r.results.filter((x) => x.memdevs === maxMem && x.chain === maxChain && !x.tagged);
  for (const x of picks.length ? picks : r.results.slice(0, 1)) {
    out.push('');
    out.push(`lock statistics — ${x.device} ${x.variant}, chain ${x.chain}, ${x.tagged ? 'tagged' : 'untagged'}, ${x.memdevs} memdev${x.memdevs > 1 ? 's' : ''} (${x.accepted + x.released} extent events; every run's table is in the JSON):`);
    const lr: string[][] = [['class', 'acquisitions', 'contentions', 'wait total', 'wait max', 'hold total', 'hold max', 'holds timed']];
    for (const l of x.lockStats) {
      lr.push([l.cls, String(l.acquisitions), String(l.contentions), ns(l.waitTotalNs), ns(l.waitMaxNs), ns(l.holdTotalNs), ns(l.holdMaxNs), `${l.holdSamples}/${l.releases}`]);
    }
    out.push(grid(lr, 1));
    out.push('  contentions: acquisitions whose fast path failed (the wait timed only then); hold total: estimated from the');
    out.push(`  timed holds (each class's first 64 acquisitions per thread, then 1 in ${process.env.DCD_BENCH_LOCK_HOLD_EVERY ?? DEFAULT_LOCK_HOLD_EVERY} at random; src/shm/lockdep.ts LockStat);`);
    out.push('  hold max: the longest timed hold');
  }
  out.push('');
  const mm = r.memory;
  out.push(`memory (${mm.cell}): RSS ${(mm.rssBeforeBytes / MiB).toFixed(1)} MiB → ${(mm.rssAfterBytes / MiB).toFixed(1)} MiB over ${mm.events.toLocaleString('en-US')} extent events (${mm.growthPct >= 0 ? '+' : ''}${mm.growthPct}%)`);
  out.push(`  ${mm.note}`);
  if (mm.workers && Object.keys(mm.workers).length) {
    const mib = (b: number): string => (b / MiB).toFixed(1);
    const wr: string[][] = [['isolate (after its GC)', 'used heap MiB', 'heap pages MiB', 'physical MiB', 'malloced MiB']];
    wr.push(['main', `${mib(mm.heapUsedBeforeBytes)} → ${mib(mm.heapUsedAfterBytes)}`, '', '', '']);
    for (const [name, w] of Object.entries(mm.workers)) {
      wr.push([name, `${mib(w.before.usedHeapBytes)} → ${mib(w.after.usedHeapBytes)}`, `${mib(w.before.totalHeapBytes)} → ${mib(w.after.totalHeapBytes)}`, `${mib(w.before.physicalHeapBytes)} → ${mib(w.after.physicalHeapBytes)}`, `${mib(w.before.mallocedBytes)} → ${mib(w.after.mallocedBytes)}`]);
    }
    out.push(grid(wr, 1));
  }
  if (mm.curve && mm.curve.length > 1) {
    const cr: string[][] = [['events', 'RSS MiB', 'main heap MiB', 'worker heaps used MiB', 'worker heap pages MiB']];
    for (const c of mm.curve) cr.push([c.events.toLocaleString('en-US'), (c.rssBytes / MiB).toFixed(1), (c.mainHeapUsedBytes / MiB).toFixed(1), (c.workersHeapUsedBytes / MiB).toFixed(1), (c.workersHeapPagesBytes / MiB).toFixed(1)]);
    out.push(grid(cr, 0));
  }
  const errs = r.results.filter((x) => x.errors.length);
  if (errs.length) {
    out.push('');
    out.push('errors:');
    for (const x of errs) out.push(`  ${x.device} ${x.variant} chain ${x.chain} ${x.tagged ? 'tagged' : 'untagged'} ${x.memdevs}: ${x.errors.slice(0, 2).join(' | ')}`);
  }
  out.push('');
  out.push(`elapsed ${(r.elapsedMs / 1000).toFixed(1)} s`);
  return out.join('\n');
}

function ns(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}ms`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}µs`;
  return `${v.toFixed(0)}ns`;
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The frame both bench charts share: an SVG of `nPanels` side-by-side panels with a log-scale y
 * axis from `lo` to `hi` (a grid line per decade, labels on the first panel), a title and a
 * subtitle. Returns the output parts (to which the caller adds its bars and closes the svg), the
 * y mapping and each panel's left edge.
 */
function logPanelsSvg(o: { nPanels: number; panelW: number; panelH: number; padL: number; padT: number; padB: number; extraW: number; lo: number; hi: number; title: string; subtitle: string }): { parts: string[]; y: (v: number) => number; x0: (i: number) => number; W: number; H: number } {
  const { nPanels, panelW, panelH, padL, padT, padB, lo, hi } = o;
  const W = padL + nPanels * (panelW + 30) + o.extraW;
  const H = padT + panelH + padB;
  const y = (v: number): number => padT + panelH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelH;
  const x0 = (i: number): number => padL + i * (panelW + 30);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${padL}" y="22" font-size="15" font-weight="bold">${o.title}</text>`);
  parts.push(`<text x="${padL}" y="40" fill="#555">${esc(o.subtitle)}</text>`);
  for (let i = 0; i < nPanels; i++) {
    parts.push(`<rect x="${x0(i)}" y="${padT}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) {
      const yy = y(10 ** e);
      parts.push(`<line x1="${x0(i)}" x2="${x0(i) + panelW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
      if (i === 0) parts.push(`<text x="${x0(i) - 6}" y="${yy + 4}" text-anchor="end">${si(10 ** e)}</text>`);
    }
  }
  return { parts, y, x0, W, H };
}

/**
 * Hand-written SVG: one panel per device personality, groups by chain length, one bar per memdev
 * count (untagged, the first variant; log scale), the two baselines as dashed lines.
 */
export function chartSvg(r: BenchReport): string {
  const devices = [...new Set(r.results.map((x) => x.device))];
  const chains = [...new Set(r.results.map((x) => x.chain))].sort((a, b) => a - b);
  const mems = [...new Set(r.results.map((x) => x.memdevs))].sort((a, b) => a - b);
  const variant = r.results[0]?.variant ?? 'v11';
  const taggedPick = r.results.some((x) => !x.tagged) ? false : true;
  const pick = (d: string, c: number, m: number): number => {
    const x = r.results.find((y) => y.device === d && y.chain === c && y.memdevs === m && y.tagged === taggedPick && y.variant === variant);
    return x ? x.eventsPerSec : NaN;
  };
  const values = r.results.map((x) => x.eventsPerSec).filter((v) => v > 0);
  const refs = [r.baselines.ringPerSec, r.baselines.postMessagePerSec].filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...values, ...refs)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...values, ...refs))));
  const panelW = 360;
  const panelH = 300;
  const padL = 70;
  const padT = 60;
  const padB = 70;
  const { parts, y, x0: panelX, H } = logPanelsSvg({
    nPanels: devices.length, panelW, panelH, padL, padT, padB, extraW: 150, lo, hi,
    title: `dcd bench — extents accepted per second (${taggedPick ? 'tagged' : 'untagged'}, ${esc(variant)}, log scale)`,
    subtitle: `${r.host.cpus} CPUs, node ${r.host.node}, ${r.date.slice(0, 10)}${r.quick ? ', quick run' : ''}`,
  });
  devices.forEach((d, di) => {
    const x0 = panelX(di);
    const gw = panelW / chains.length;
    const bw = Math.min(40, (gw - 20) / mems.length);
    chains.forEach((c, ci) => {
      const gx = x0 + ci * gw + (gw - bw * mems.length) / 2;
      mems.forEach((mm, mi) => {
        const v = pick(d, c, mm);
        if (!(v > 0)) return;
        const top = y(Math.max(v, lo));
        parts.push(`<rect x="${gx + mi * bw}" y="${top}" width="${bw - 2}" height="${padT + panelH - top}" fill="${COLORS[mi % COLORS.length]}"><title>${esc(`${d} chain ${c}, ${mm} memdev(s): ${v} ext/s`)}</title></rect>`);
        parts.push(`<text x="${gx + mi * bw + (bw - 2) / 2}" y="${top - 3}" text-anchor="middle" font-size="9">${si(v)}</text>`);
      });
      parts.push(`<text x="${x0 + ci * gw + gw / 2}" y="${padT + panelH + 16}" text-anchor="middle">chain ${c}</text>`);
    });
    parts.push(`<text x="${x0 + panelW / 2}" y="${padT + panelH + 36}" text-anchor="middle" font-weight="bold">${esc(d)}</text>`);
    const lines: [number, string, string][] = [[r.baselines.ringPerSec, 'SAB ring', '#333'], [r.baselines.postMessagePerSec, 'postMessage', '#b22']];
    for (const [v, name, col] of lines) {
      if (!(v > 0)) continue;
      const yy = y(v);
      parts.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${yy}" y2="${yy}" stroke="${col}" stroke-dasharray="5,4"/>`);
      parts.push(`<text x="${x0 + panelW - 4}" y="${yy - 4}" text-anchor="end" fill="${col}" font-size="10">${name} ${si(v)}/s</text>`);
    }
  });
  const lx = padL + devices.length * (panelW + 30);
  mems.forEach((mm, mi) => {
    parts.push(`<rect x="${lx}" y="${padT + mi * 20}" width="12" height="12" fill="${COLORS[mi % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 18}" y="${padT + mi * 20 + 10}">${mm} memdev${mm > 1 ? 's' : ''}</text>`);
  });
  parts.push(`<text x="${padL}" y="${H - 12}" fill="#555">baselines: ${r.baselines.hops} thread hops (device → event thread → device) with no work, records/s</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * The design chart (a run with several device latencies): one panel per device × chain, a group
 * of bars per latency (one bar per design, untagged, the fewest memdevs, log scale), and for each
 * design at each latency > 0 its floor (1e6 ÷ (mailbox commands per extent × latency)) as a tick.
 * null when the run has one latency.
 */
export function designChartSvg(r: BenchReport): string | null {
  const lats = [...new Set(r.results.map((x) => x.deviceLatencyUs ?? 0))].sort((a, b) => a - b);
  if (lats.length < 2) return null;
  const minMem = Math.min(...r.results.map((x) => x.memdevs));
  const rows = r.results.filter((x) => !x.tagged && x.memdevs === minMem);
  const panels = [...new Set(rows.map((x) => `${x.device} chain ${x.chain}`))];
  const designs = [...new Set(rows.map((x) => x.variant))];
  const floorOf = (x: CellResult): number => ((x.deviceLatencyUs ?? 0) > 0 ? 1e6 / (x.mboxPerExtent * x.deviceLatencyUs) : NaN);
  const vals = rows.flatMap((x) => [x.eventsPerSec, floorOf(x)]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...vals)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...vals))));
  const panelW = 330;
  const panelH = 260;
  const padL = 70;
  const padT = 60;
  const padB = 70;
  const { parts: p, y, x0: panelX, H } = logPanelsSvg({
    nPanels: panels.length, panelW, panelH, padL, padT, padB, extraW: 230, lo, hi,
    title: 'dcd bench — design × device mailbox latency: extents/s (bars) and the device-time floor (ticks), log scale',
    subtitle: `${r.host.cpus} CPUs, node ${r.host.node}, ${r.date.slice(0, 16)}, load ${r.host.loadAvgStart[0]}–${r.host.loadAvgEnd[0]}; untagged, ${minMem} memdev; floor = 1e6 / (mailbox commands per extent × latency)`,
  });
  panels.forEach((name, pi) => {
    const x0 = panelX(pi);
    const gw = panelW / lats.length;
    const bw = Math.min(34, (gw - 16) / designs.length);
    lats.forEach((l, li) => {
      const gx = x0 + li * gw + (gw - bw * designs.length) / 2;
      designs.forEach((d, di) => {
        const x = rows.find((c) => `${c.device} chain ${c.chain}` === name && c.variant === d && (c.deviceLatencyUs ?? 0) === l);
        if (!x) return;
        const bx = gx + di * bw;
        if (x.eventsPerSec > 0) {
          const top = y(Math.max(x.eventsPerSec, lo));
          p.push(`<rect x="${bx}" y="${top}" width="${bw - 2}" height="${padT + panelH - top}" fill="${COLORS[di % COLORS.length]}"><title>${esc(`${name}, ${d}, ${l} µs: ${x.eventsPerSec} ext/s, chain p50 ${x.chainLatencyUs.p50} µs`)}</title></rect>`);
          p.push(`<text x="${bx + (bw - 2) / 2}" y="${top - 3}" text-anchor="middle" font-size="8">${si(x.eventsPerSec)}</text>`);
        }
        const f = floorOf(x);
        if (f > 0 && Number.isFinite(f)) {
          const fy = y(Math.min(f, hi));
          p.push(`<line x1="${bx}" x2="${bx + bw - 2}" y1="${fy}" y2="${fy}" stroke="#222" stroke-width="2"><title>${esc(`floor ${Math.round(f)} ext/s (${x.mboxPerExtent} commands/extent × ${l} µs)`)}</title></line>`);
        }
      });
      p.push(`<text x="${x0 + li * gw + gw / 2}" y="${padT + panelH + 16}" text-anchor="middle">${l} µs</text>`);
    });
    p.push(`<text x="${x0 + panelW / 2}" y="${padT + panelH + 36}" text-anchor="middle" font-weight="bold">${esc(name)}</text>`);
  });
  const lx = padL + panels.length * (panelW + 30);
  designs.forEach((d, di) => {
    p.push(`<rect x="${lx}" y="${padT + di * 20}" width="12" height="12" fill="${COLORS[di % COLORS.length]}"/>`);
    p.push(`<text x="${lx + 18}" y="${padT + di * 20 + 10}">${esc(d)}</text>`);
  });
  p.push(`<line x1="${lx}" x2="${lx + 12}" y1="${padT + designs.length * 20 + 6}" y2="${padT + designs.length * 20 + 6}" stroke="#222" stroke-width="2"/>`);
  p.push(`<text x="${lx + 18}" y="${padT + designs.length * 20 + 10}">floor (device time)</text>`);
  p.push(`<text x="${padL}" y="${H - 12}" fill="#555">designs other than v11 are knobs, NOT v11 (docs/performance.md); measured bars on a loaded machine are lower bounds</text>`);
  p.push('</svg>');
  return `${p.join('\n')}\n`;
}

export function writeOutputs(r: BenchReport, dir: string): { json: string; svg: string; designSvg?: string } {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  const json = join(d, 'bench.json');
  const svg = join(d, 'bench.svg');
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(svg, chartSvg(r));
  const design = designChartSvg(r);
  if (!design) return { json, svg };
  const designSvg = join(d, 'bench-design.svg');
  writeFileSync(designSvg, design);
  return { json, svg, designSvg };
}
