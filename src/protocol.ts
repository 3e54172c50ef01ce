/**
 * DOC: every message between threads, in one place.
 *
 * Three kinds of traffic cross threads:
 *  1. startup handshakes — `workerData`: `SharedHandles` (below) for the host-side workers, plus
 *     each kind's own fields (`EventThreadInit` in src/runtime/host-workers.ts, the device's
 *     `DeviceServiceInit` in src/device/service.ts); they hand over the SharedArrayBuffers;
 *  2. the control plane — comlink RPC, typed by the `*Api` interfaces of each worker kind, whose
 *     implementations live in src/ (the workers/ files only expose them);
 *  3. the runtime event stream — `RuntimeEvent`, a discriminated union that production code emits
 *     at the points checkers and traces care about. It travels as fixed-size binary records
 *     through a multi-producer ring (no JSON on the hot path); `encodeEvent` / `decodeEvent` are
 *     the codec. Production code never imports a checker: checkers subscribe to decoded events.
 * Device ↔ host traffic is not here: it is the CXL wire format (src/wire/cxl.ts) over the
 * register file (src/shm/regfile.ts), as on real hardware.
 */
import type { Failure } from './errors.js';
import type { SystemHandle } from './shm/system.js';
import type { HostStateHandle } from './host/state.js';
import type { KnobValues } from './scenario/types.js';
import type { DeviceConfig } from './device/config.js';
import type { FmRingHandle } from './device/fm-ring.js';
import { uuidToWords, wordsToUuid } from './shm/table.js';

// ------------------------------------------------------------------------------ runtime events

export type RuntimeEvent =
  /** trace_cxl_dynamic_capacity: one per DC record read from the log */
  | { type: 'dc-record'; memdev: number; eventType: number; more: number; dpa: number; len: number; uuid: string; seq: number; hostId: number; regionIndex: number; handle: number }
  /** one mailbox command and its return code (rc -1: timed out) */
  | { type: 'mbox'; memdev: number; opcode: number; rc: number; nrExtents: number; more: number; dpa: number; len: number }
  /** a runtime chain closed (More=0) or was answered by the watchdog; `chain` numbers it per memdev;
   *  `handle` is the device log handle of the last record staged (the closing record for a More=0
   *  close), 0 when nothing was staged */
  | { type: 'chain-closed'; memdev: number; chain: number; staged: number; byTimeout: number; handle: number }
  /** one logical Add DC Response: `parts` mailbox commands carrying `nrExtents` entries in all */
  | { type: 'response'; memdev: number; chain: number; nrExtents: number; parts: number; rc: number }
  /** one extent listed in a logical response (emitted before the response event) */
  | { type: 'response-extent'; memdev: number; chain: number; dpa: number; len: number }
  /** a tag group dropped by a group gate (G1–G4) in cxl_add_pending: `gate` 1..4, its members'
   *  device sequence numbers min/max, `existing` for the recovery scan */
  | { type: 'group-dropped'; memdev: number; gate: number; rc: number; n: number; uuid: string; seqMin: number; seqMax: number; shareable: number; existing: number }
  /** a staged chain dropped without a response (S1 -ENOSPC cap, S2 -ENOMEM) */
  | { type: 'chain-dropped'; memdev: number; reason: number; staged: number }
  /** a dc_extent became host-tracked (registered under a cxlr_dax) */
  | { type: 'extent-tracked'; memdev: number; region: number; extent: number; id: number; dpa: number; len: number; uuid: string; seq: number; group: number; existing: number; shareable: number }
  /** a dc_extent was released (its device release ran); `sentRelease` = a Release DC was sent */
  | { type: 'extent-untracked'; memdev: number; region: number; extent: number; dpa: number; len: number; sentRelease: number }
  /** region teardown (region destroy or cxl_dax_region driver unbind) starts unregistering the
   *  region's dc_extents in this thread (§7.4); the extent-untracked events that follow in the
   *  same thread for this region are that teardown's */
  | { type: 'region-teardown'; region: number; extents: number }
  /** a walk met a record another thread had freed (the kernel's use-after-free; `site` UAF_SITE) */
  | { type: 'use-after-free'; memdev: number; extent: number; site: number }
  | { type: 'tag-registered'; uuid: string; group: number; memdev: number }
  | { type: 'tag-unregistered'; uuid: string; group: number; memdev: number }
  /** DAX resources of a group added / removed (n members, rc 0 or -errno code) */
  | { type: 'dax-group'; region: number; group: number; n: number; add: number; rc: number }
  /** a uuid claim: rc 0 or an errno code; members seen at the claim */
  /** `extent`: an untagged claim's extent (the one child uuid_claim_untagged took), else 0; absent in traces recorded before it */
  | { type: 'claim'; region: number; dev: number; uuid: string; rc: number; nRanges: number; size: number; groupMembers: number; extent?: number }
  /** a release record that the host ignored or refused (reason code, see RELEASE_REASON) */
  | { type: 'release-outcome'; memdev: number; dpa: number; len: number; reason: number }
  /** data written / verified through a DAX device (ok 1/0); `dpa`: a failed access's first refused
   *  (or mismatching) device DPA, the media's answer — -1 when ok, absent in traces recorded
   *  before the twelfth session */
  | { type: 'data'; dev: number; offset: number; len: number; pattern: number; write: number; ok: number; dpa?: number }
  /** a region's existing-extent scan finished (rc 0 or errno code, attempts) */
  | { type: 'scan-done'; region: number; rc: number; attempts: number; found: number }
  /** a non-atomic read-modify-write of a group's nr_extents (groupGet/groupPut) overwrote a value
   *  another thread stored after this one read it: that update is lost (H6); `read` what this
   *  thread read, `found` what its store overwrote, `wrote` what it stored */
  | { type: 'lost-update'; memdev: number; group: number; read: number; found: number; wrote: number }
  /** the cxl_region driver probed (cxl_region_probe → cxl_dax_region_alloc): cxlr->cxlr_dax now
   *  points at a NEW cxl_dax_region, instance `gen` of the region; what earlier instances hold
   *  (H14's orphans) stays with them */
  | { type: 'region-probe'; region: number; gen: number }
  /** a lock was held (for traces only; emitted when tracing is on) */
  | { type: 'lock-hold'; cls: number; lock: number; thread: number; t0: number; t1: number; waitStart: number };

export type RuntimeEventType = RuntimeEvent['type'];

/** `group-dropped.gate`: the cxl_validate_group gate that refused the group (G1–G4); 0 = passed */
export const GROUP_GATE = { passed: 0, tagUnique: 1, seqIntegrity: 2, samePartition: 3, aligned: 4 } as const;

export const RELEASE_REASON = {
  acked: 0, noRegion: 1, noMatch: 2, inUse: 3, invalidateFailed: 4, forcedIgnored: 5, noDax: 6,
} as const;

/** where a `use-after-free` event was seen */
export const UAF_SITE = {
  /** a dc_extents walk without RCU met a freed dc_extent (H5) */
  dcExtentsWalk: 1,
  /** trim_dev_dax_range read a dax_resource that a teardown devres action had freed (H15);
   *  `extent` carries the freed dax_resource handle */
  daxResourceTrim: 2,
  /** the add path used a tag group a teardown freed between online_tag_group and its notify
   *  (H14); `extent` carries the group handle */
  tagGroupNotify: 3,
  /** cxlr->cxlr_dax was used after the cxl_dax_region was freed (H16: v11's cxlr_dax_unregister
   *  leaves the pointer set); `extent` carries the region handle */
  cxlrDax: 4,
  /** online_tag_group used group->cxlr_dax->cxlr after a region destroy freed the region,
   *  between the group's first cxl_add_extent and its onlining (H14); `extent` = the group */
  regionOnline: 5,
  /** delete_store found a dc_extent device by name among cxlr_dax's children and to_dev_dax'd it
   *  (H20, a type confusion rather than a use-after-free); `extent` = the dc_extent handle */
  deleteTypeConfusion: 6,
  /** unregister_dax_mapping (or a mappingN show) indexed dev_dax->ranges[range_id] after that
   *  range was trimmed or freed while the mapping stayed registered (H28); `extent` = the
   *  dax mapping handle */
  daxMappingStale: 7,
} as const;

type FieldKind = 'n' | 'u'; // number (f64) | uuid
/** Field order of each event on the wire. */
const EVENT_FIELDS: { [K in RuntimeEventType]: [string, FieldKind][] } = {
  'dc-record': [['memdev', 'n'], ['eventType', 'n'], ['more', 'n'], ['dpa', 'n'], ['len', 'n'], ['uuid', 'u'], ['seq', 'n'], ['hostId', 'n'], ['regionIndex', 'n'], ['handle', 'n']],
  'mbox': [['memdev', 'n'], ['opcode', 'n'], ['rc', 'n'], ['nrExtents', 'n'], ['more', 'n'], ['dpa', 'n'], ['len', 'n']],
  'chain-closed': [['memdev', 'n'], ['chain', 'n'], ['staged', 'n'], ['byTimeout', 'n'], ['handle', 'n']],
  'response': [['memdev', 'n'], ['chain', 'n'], ['nrExtents', 'n'], ['parts', 'n'], ['rc', 'n']],
  'response-extent': [['memdev', 'n'], ['chain', 'n'], ['dpa', 'n'], ['len', 'n']],
  'chain-dropped': [['memdev', 'n'], ['reason', 'n'], ['staged', 'n']],
  'group-dropped': [['memdev', 'n'], ['gate', 'n'], ['rc', 'n'], ['n', 'n'], ['uuid', 'u'], ['seqMin', 'n'], ['seqMax', 'n'], ['shareable', 'n'], ['existing', 'n']],
  'extent-tracked': [['memdev', 'n'], ['region', 'n'], ['extent', 'n'], ['id', 'n'], ['dpa', 'n'], ['len', 'n'], ['uuid', 'u'], ['seq', 'n'], ['group', 'n'], ['existing', 'n'], ['shareable', 'n']],
  'extent-untracked': [['memdev', 'n'], ['region', 'n'], ['extent', 'n'], ['dpa', 'n'], ['len', 'n'], ['sentRelease', 'n']],
  'region-teardown': [['region', 'n'], ['extents', 'n']],
  'use-after-free': [['memdev', 'n'], ['extent', 'n'], ['site', 'n']],
  'tag-registered': [['uuid', 'u'], ['group', 'n'], ['memdev', 'n']],
  'tag-unregistered': [['uuid', 'u'], ['group', 'n'], ['memdev', 'n']],
  'dax-group': [['region', 'n'], ['group', 'n'], ['n', 'n'], ['add', 'n'], ['rc', 'n']],
  'claim': [['region', 'n'], ['dev', 'n'], ['uuid', 'u'], ['rc', 'n'], ['nRanges', 'n'], ['size', 'n'], ['groupMembers', 'n'], ['extent', 'n']],
  'release-outcome': [['memdev', 'n'], ['dpa', 'n'], ['len', 'n'], ['reason', 'n']],
  'data': [['dev', 'n'], ['offset', 'n'], ['len', 'n'], ['pattern', 'n'], ['write', 'n'], ['ok', 'n'], ['dpa', 'n']],
  'scan-done': [['region', 'n'], ['rc', 'n'], ['attempts', 'n'], ['found', 'n']],
  'lock-hold': [['cls', 'n'], ['lock', 'n'], ['thread', 'n'], ['t0', 'n'], ['t1', 'n'], ['waitStart', 'n']],
  'lost-update': [['memdev', 'n'], ['group', 'n'], ['read', 'n'], ['found', 'n'], ['wrote', 'n']],
  // appended: the codes of the types above stay what stored traces recorded
  'region-probe': [['region', 'n'], ['gen', 'n']],
};
export const EVENT_TYPES = Object.keys(EVENT_FIELDS) as RuntimeEventType[];
/** The wire field order of an event type (tests build random events from it). */
export function eventFieldKinds(type: RuntimeEventType): ReadonlyArray<readonly [string, FieldKind]> {
  return EVENT_FIELDS[type];
}
const EVENT_CODE = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, i + 1])) as Record<RuntimeEventType, number>;

/** Int32 words per event record: type, thread slot, timestamp (f64 = 2 words), then fields. */
export const EVENT_RECORD_WORDS = 32;
const HDR_WORDS = 4;

/**
 * Encode an event into `rec` (EVENT_RECORD_WORDS Int32 words). The f64 view must alias `rec`.
 * Numbers are stored as f64 so DPAs and sizes up to 2^53 travel exactly.
 */
export function encodeEvent(ev: RuntimeEvent, thread: number, timeMs: number, rec: Int32Array, f64: Float64Array): void {
  // the event types a chain emits per extent take a straight-line encoder: `o[name]` below is a
  // keyed load over ~20 object shapes (megamorphic), ~10-20 ns per field (#17)
  switch (ev.type) {
    case 'dc-record':
      rec[0] = CODE_DC_RECORD; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.eventType; f64[4] = ev.more; f64[5] = ev.dpa; f64[6] = ev.len;
      uuidToWords(ev.uuid ?? null, rec, 14);
      f64[9] = ev.seq; f64[10] = ev.hostId; f64[11] = ev.regionIndex; f64[12] = ev.handle;
      return;
    case 'mbox':
      rec[0] = CODE_MBOX; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.opcode; f64[4] = ev.rc; f64[5] = ev.nrExtents; f64[6] = ev.more; f64[7] = ev.dpa; f64[8] = ev.len;
      return;
    case 'response-extent':
      rec[0] = CODE_RESPONSE_EXTENT; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.chain; f64[4] = ev.dpa; f64[5] = ev.len;
      return;
    case 'extent-tracked':
      rec[0] = CODE_EXTENT_TRACKED; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.region; f64[4] = ev.extent; f64[5] = ev.id; f64[6] = ev.dpa; f64[7] = ev.len;
      uuidToWords(ev.uuid ?? null, rec, 16);
      f64[10] = ev.seq; f64[11] = ev.group; f64[12] = ev.existing; f64[13] = ev.shareable;
      return;
    case 'extent-untracked':
      rec[0] = CODE_EXTENT_UNTRACKED; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.region; f64[4] = ev.extent; f64[5] = ev.dpa; f64[6] = ev.len; f64[7] = ev.sentRelease;
      return;
    case 'release-outcome':
      rec[0] = CODE_RELEASE_OUTCOME; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.dpa; f64[4] = ev.len; f64[5] = ev.reason;
      return;
    case 'chain-closed':
      rec[0] = CODE_CHAIN_CLOSED; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.chain; f64[4] = ev.staged; f64[5] = ev.byTimeout; f64[6] = ev.handle;
      return;
    case 'response':
      rec[0] = CODE_RESPONSE; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.memdev; f64[3] = ev.chain; f64[4] = ev.nrExtents; f64[5] = ev.parts; f64[6] = ev.rc;
      return;
    case 'dax-group':
      rec[0] = CODE_DAX_GROUP; rec[1] = thread; f64[1] = timeMs;
      f64[2] = ev.region; f64[3] = ev.group; f64[4] = ev.n; f64[5] = ev.add; f64[6] = ev.rc;
      return;
    default:
      encodeEventGeneric(ev, thread, timeMs, rec, f64);
  }
}

const CODE_DC_RECORD = EVENT_CODE['dc-record'];
const CODE_MBOX = EVENT_CODE['mbox'];
const CODE_RESPONSE_EXTENT = EVENT_CODE['response-extent'];
const CODE_EXTENT_TRACKED = EVENT_CODE['extent-tracked'];
const CODE_EXTENT_UNTRACKED = EVENT_CODE['extent-untracked'];
const CODE_RELEASE_OUTCOME = EVENT_CODE['release-outcome'];
const CODE_CHAIN_CLOSED = EVENT_CODE['chain-closed'];
const CODE_RESPONSE = EVENT_CODE['response'];
const CODE_DAX_GROUP = EVENT_CODE['dax-group'];

/**
 * The table-driven encoder: the layout EVENT_FIELDS defines, which `encodeEvent`'s straight-line
 * cases must reproduce word for word (checked at load below and over random events in
 * test/event-codec-fast.test.ts).
 */
export function encodeEventGeneric(ev: RuntimeEvent, thread: number, timeMs: number, rec: Int32Array, f64: Float64Array): void {
  const fields = EVENT_FIELDS[ev.type];
  rec[0] = EVENT_CODE[ev.type];
  rec[1] = thread;
  f64[1] = timeMs;
  let w = HDR_WORDS;
  const o = ev as unknown as Record<string, number | string>;
  // an indexed loop: `for (const [name, kind] of fields)` runs an array iterator per field, on
  // every event of every thread (#17: ~7 events per extent)
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const name = f[0];
    if (f[1] === 'u') {
      uuidToWords((o[name] as string | null) ?? null, rec, w);
      w += 4;
    } else {
      f64[w >> 1] = o[name] as number;
      w += 2;
    }
  }
}

export interface DecodedEvent {
  ev: RuntimeEvent;
  thread: number;
  timeMs: number;
}

export function decodeEvent(rec: Int32Array, f64: Float64Array): DecodedEvent | null {
  return decodeEventAt(rec, f64, 0);
}

/**
 * `decodeEvent` of the record at word `at` of a batch (`rec` and `f64` alias the whole batch; `at`
 * a multiple of EVENT_RECORD_WORDS): no subarray views per event for the observer (#17).
 */
export function decodeEventAt(buf: Int32Array, f64: Float64Array, at: number): DecodedEvent | null {
  const type = EVENT_TYPES[(buf[at] ?? 0) - 1];
  if (!type) return null;
  const out: Record<string, number | string> = { type };
  let w = at + HDR_WORDS;
  const fields = EVENT_FIELDS[type];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const name = f[0];
    if (f[1] === 'u') {
      out[name] = wordsToUuid(buf, w);
      w += 4;
    } else {
      out[name] = f64[w >> 1]!;
      w += 2;
    }
  }
  return { ev: out as unknown as RuntimeEvent, thread: buf[at + 1]!, timeMs: f64[(at >> 1) + 1]! };
}

// check at load time that every event fits its record
for (const t of EVENT_TYPES) {
  const words = HDR_WORDS + EVENT_FIELDS[t].reduce((n, [, k]) => n + (k === 'u' ? 4 : 2), 0);
  if (words > EVENT_RECORD_WORDS) throw new Error(`event ${t} needs ${words} words > ${EVENT_RECORD_WORDS}`);
}

// check at load time that encodeEvent's straight-line cases write what the table-driven encoder
// writes (a field added to EVENT_FIELDS but not to its case fails here, before any event is sent)
{
  const a = new Int32Array(EVENT_RECORD_WORDS), af = new Float64Array(a.buffer);
  const b = new Int32Array(EVENT_RECORD_WORDS), bf = new Float64Array(b.buffer);
  for (const t of EVENT_TYPES) {
    const probe: Record<string, number | string> = { type: t };
    EVENT_FIELDS[t].forEach(([name, kind], i) => { probe[name] = kind === 'u' ? '0123abcd-0000-4000-8000-00000000000' + (i % 10) : 1000 + i; });
    a.fill(-1); b.fill(-1);
    encodeEvent(probe as unknown as RuntimeEvent, 3, 12.5, a, af);
    encodeEventGeneric(probe as unknown as RuntimeEvent, 3, 12.5, b, bf);
    for (let w = 0; w < EVENT_RECORD_WORDS; w++) if (a[w] !== b[w]) throw new Error(`encodeEvent(${t}) differs from EVENT_FIELDS at word ${w}`);
  }
}

// ------------------------------------------------------------------------------ startup handshakes

/** Host-side options every host thread reads (variant knobs, clock, tracing). */
export interface HostOptions {
  knobs: KnobValues;
  /** emit lock-hold events for the Perfetto trace */
  traceLocks: boolean;
  /** mailbox completion timeout, ms */
  mboxTimeoutMs: number;
  /** runtime event types the host does not emit (the bench prices the event stream); default none */
  dropEvents?: RuntimeEventType[];
  /** dev_dbg lines in the kernel log (the kernel's dynamic debug); default on */
  dynamicDebug?: boolean;
}

/** The shared buffers of a running system, as handed to host-side workers. */
export interface SharedHandles {
  system: SystemHandle;
  host: HostStateHandle;
  /** register file of each memdev, by memdev index */
  regfiles: SharedArrayBuffer[];
  /** device media of each memdev (DAX users access memory through it) */
  media: SharedArrayBuffer[];
  /** the runtime event ring (MPSC) */
  events: SharedArrayBuffer;
  /** the kernel log (TextLog of JSON lines) */
  dmesg: SharedArrayBuffer;
  options: HostOptions;
}

/**
 * The device worker's startup payload (workers/device.ts → src/device/service.ts
 * `startDeviceWorker`). No runtime event ring: the device reports through its register file
 * (status, IRQ) and its control plane, and never wrote to the ring it used to be handed.
 */
export interface DeviceWorkerInit {
  kind: 'device';
  memdev: number;
  system: SystemHandle;
  regfile: SharedArrayBuffer;
  media: SharedArrayBuffer;
  config: DeviceConfig;
  /** the mock's Get Event Records counter, one word shared by every device worker */
  mockCounter: SharedArrayBuffer;
  fmRing?: FmRingHandle;
}

// ------------------------------------------------------------------------------ control plane

/** Result of a sysfs-like operation: ok, or the errno it failed with. */
export type OpResult<T = void> = { ok: true; value: T } | Failure;

/** One worker isolate's heap, read after a full GC of that isolate (bench memory phase). */
export interface WorkerHeapStats {
  /** live objects after the GC */
  usedHeapBytes: number;
  /** pages the isolate's heap holds (live or not) */
  totalHeapBytes: number;
  /** of those, pages backed by physical memory */
  physicalHeapBytes: number;
  /** ArrayBuffer / external memory the isolate accounts (SharedArrayBuffers count once per isolate that maps them) */
  externalBytes: number;
  /** malloc'd by V8 itself outside the heap */
  mallocedBytes: number;
}

/** The method every worker's API carries beside its own: `exposeApi` (runtime/worker-side.ts) adds it. */
export interface HeapStatsApi {
  __heapStats(): Promise<WorkerHeapStats>;
  /** write this isolate's heap snapshot to `file` (BENCH_HEAP_SNAPSHOT=DIR) */
  __heapSnapshot(file: string): string;
}

export interface EventThreadApi {
  ready(): string;
  /** stop the IRQ loop (orderly shutdown) */
  stop(): void;
  /** drain passes so far (cxl_event_thread's cxl_mem_get_event_records calls) */
  stats(): { drains: number };
}

export interface WorkqueueApi {
  ready(): string;
  stop(): void;
  /** work items executed */
  stats(): { timeouts: number };
}

export interface DaxBusApi {
  ready(): string;
  /** a committed region's probes: the cxl_region driver's (cxl_region_probe →
   *  devm_cxl_add_dax_region, which sets cxlr->cxlr_dax), then the asynchronous cxl_dax_region
   *  probe (driver core), incl. the existing-extent scan */
  probe(regionId: number): Promise<OpResult>;
  /** (not named bind/unbind: comlink treats a remote `.bind()` as Function.prototype.bind)
   *  unbind the cxl_dax_region driver from one region (or all when regionId is null) */
  unbindDriver(regionId: number | null): Promise<OpResult>;
  /** bind it again (re-probe) */
  bindDriver(regionId: number | null): Promise<OpResult>;
}

export interface UserApi {
  ready(): string;
  createRegion(memdev: number, size: number | null): Promise<OpResult<{ regionId: number; name: string }>>;
  destroyRegion(regionId: number): Promise<OpResult>;
  /** `cxl disable-region`: unbind the cxl_region driver without destroying the region */
  disableRegion(regionId: number): Promise<OpResult>;
  /** write `1` to the region's `create` (create_store): a 0-size device, which becomes the seed
   *  only when no seed is set */
  createSeed(regionId: number): Promise<OpResult<{ devId: number; name: string }>>;
  /** write `uuid` to the region's current seed device (set by a `create` write, never by the
   *  probe) and enable it, as `daxctl create-device --uuid` does with the seed; ENXIO if none */
  claimSeed(regionId: number, uuid: string | null): Promise<OpResult<{ devId: number; name: string }>>;
  createDaxDevice(regionId: number, uuid: string | null | undefined): Promise<OpResult<{ devId: number; name: string }>>;
  /**
   * `createDaxDevice` once per round, `uuids[k]` in round k, each round opened by a barrier in
   * shared memory (src/shm/barrier.ts) that `parties` user workers meet at: a batched workload's
   * races without a control-plane round trip per round (free runs; stress/runner.ts runRounds).
   * A round the others never reach within `timeoutMs` fails ETIMEDOUT, and so do the rest.
   */
  createDaxDeviceRounds(regionId: number, uuids: (string | null)[], barrier: SharedArrayBuffer, parties: number, timeoutMs: number): Promise<OpResult<{ devId: number; name: string }>[]>;
  destroyDaxDevice(regionId: number, devId: number): Promise<OpResult>;
  /** write `name` to the region's `dax_region/delete` attribute (delete_store), as a script
   *  would: whatever child of the dax_region's device has that name */
  deleteByName(regionId: number, name: string): Promise<OpResult>;
  disableDaxDevice(regionId: number, devId: number): Promise<OpResult>;
  enableDaxDevice(regionId: number, devId: number): Promise<OpResult>;
  reconfigureDaxDevice(regionId: number, devId: number, size: number): Promise<OpResult>;
  /** read `daxR.D/mappingN/ATTR` (start_show / end_show / pgoff_show, src/dax/mapping.ts): the
   *  value (start, end: HPA offsets in the region; page_offset: pages) */
  readMapping(regionId: number, devId: number, mapping: number, attr: 'start' | 'end' | 'page_offset'): Promise<OpResult<number>>;
  write(regionId: number, devId: number, offset: number, length: number, pattern: number): Promise<OpResult>;
  verify(regionId: number, devId: number, offset: number, length: number, pattern: number): Promise<OpResult>;
  /** hold a reference on the `index`-th extent of the region (an open extentX.Y attribute), kept
   *  by this user worker under `key` until putExtent */
  holdExtent(regionId: number, index: number, key: string): Promise<OpResult>;
  /** drop the reference held under `key` (the last one releases the extent in this thread) */
  putExtent(key: string): Promise<OpResult>;
}
