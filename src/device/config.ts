/**
 * DOC: device configuration — what one Dynamic Capacity Device looks like before it is powered on.
 *
 * A `DeviceConfig` is plain data (it crosses the worker boundary in workerData): the memdev's
 * name and serial, the personality (`qemu`, `cxl-test`, `hostile`), the seed, the mailbox payload
 * size, the static (ram + pmem) capacity in front of the DC partitions, the DC partitions
 * themselves in absolute DPA, the extents that are already accepted at power-on (crash recovery,
 * mock behaviour 3), and per-personality knobs.
 *
 * A config is validated as a sane device: it must satisfy the host's configuration checks C1–C3
 * (docs/kernel-map.md step 5–7), because a device that violates them does so on the wire, not in
 * its own bookkeeping — `hostile.configViolation` fabricates such Get DC Config replies.
 *
 * All sizes are numbers of bytes; every value must be a safe integer.
 */
import { CXL_CAPACITY_MULTIPLIER, CXL_DCD_BLOCK_LINE_SIZE, CXL_MAX_DC_PARTITIONS, isUuid, NULL_UUID } from '../wire/cxl.js';
import { MiB, PMD_SIZE, isPow2 } from '../units.js';
import type { Seed } from '../prng.js';

/**
 * `qemu` is upstream QEMU (hw/mem/cxl_type3.c, hw/cxl/cxl-mailbox-utils.c, hw/cxl/cxl-events.c);
 * `qemu-tag-rfc` is QEMU with the tagged-memory RFC the v11 cover letter's end-to-end flow used
 * ("[RFC QEMU PATCH 0/7] Application Specific Tagged Memory Support in CXL Type 3 Devices");
 * `cxl-test` the v11 mock (tools/testing/cxl/test/mem.c); `hostile` the mock plus lies.
 */
export type Personality = 'qemu' | 'qemu-tag-rfc' | 'cxl-test' | 'hostile';
export const PERSONALITIES: readonly Personality[] = ['qemu', 'qemu-tag-rfc', 'cxl-test', 'hostile'];

/** Both QEMU personalities share the QEMU rules; they differ only in tag handling. */
export function isQemuPersonality(p: Personality): boolean {
  return p === 'qemu' || p === 'qemu-tag-rfc';
}

export { MiB, GiB, PMD_SIZE } from '../units.js';
export { CXL_DCD_BLOCK_LINE_SIZE, CXL_MAX_DC_PARTITIONS } from '../wire/cxl.js';
/** `CXL_NUM_EXTENTS_SUPPORTED` (QEMU) */
export const QEMU_NUM_EXTENTS_SUPPORTED = 512;
/** QEMU's event log depth (`CXL_TEST_EVENT_OVERFLOW`, hw/cxl/cxl-events.c `cxl_event_insert`), R8 */
export const QEMU_EVENT_LOG_CAPACITY = 8;
/**
 * cxl_test mock's usable event slots: `CXL_TEST_EVENT_ARRAY_SIZE` = CNT_MAX (16) + 1 slots, index 0
 * unused ("Handle can never be 0"), and `mes_add_event` reports overflow when
 * `event_inc_handle(last_handle) == current_handle` — the ring is full one slot before it wraps,
 * so 15 records fit (tools/testing/cxl/test/mem.c).
 */
export const MOCK_EVENT_LOG_CAPACITY = 15;
/** QEMU `CXL_MAILBOX_MAX_PAYLOAD_SIZE` (1 << CXL_MAILBOX_PAYLOAD_SHIFT = 11): 2,048 bytes */
export const QEMU_PAYLOAD_SIZE = 2048;
/** cxl_test `cxl_mbox->payload_size = SZ_4K` (cxl_mock_mem_probe) */
export const MOCK_PAYLOAD_SIZE = 4096;
/** `CXL_TEST_EVENT_RET_MAX`: mock_get_event returns (counter % 4) + 1 records */
export const MOCK_EVENT_RET_MAX = 4;
/** `MOCK_DC_SHARABLE_SERIAL`, mock behaviour 4 */
export const MOCK_DC_SHARABLE_SERIAL = 0xdcdc;
/** the mock's pre-existing tagged extent (mock behaviour 3) */
export const MOCK_PRE_TAG = 'deadbeef-cafe-baad-f00d-fedcba987654';

export interface DcPartitionConfig {
  /** absolute DPA of the partition start */
  base: number;
  /** decoded size in bytes; a multiple of 256 MiB (sent on the wire in 256 MiB units) */
  decodeLength: number;
  /** usable bytes (≤ decodeLength, a multiple of blockSize) */
  length: number;
  blockSize: number;
  dsmadHandle: number;
  /** CDAT DSMAS shareable flag for this partition (mock behaviour 4) */
  sharable: boolean;
}

export interface PreAcceptedConfig {
  /** absolute DPA */
  dpa: number;
  length: number;
  tag: string | null;
  seq: number;
}

/** QEMU knobs. Defaults in docs/decisions-device.md. */
export interface QemuOptions {
  /**
   * Keep the FM's tag and shared_extn_seq on offered and accepted extents (the QEMU-TAG-RFC tree
   * the v11 series was tested on), and enable R18 exact-match for tagged extents and R28
   * tag-based release. false = upstream QEMU: tag zeroed, seq 0 on QMP adds, accepted extents and
   * release remainders (R6, R16). Default: true for `qemu-tag-rfc`, false for `qemu`.
   */
  tagPassthrough?: boolean;
  /** accept 'free' / 'contiguous' selection policies (upstream refuses them, R1). Default false. */
  extendedPolicies?: boolean;
  /** accept forced removal (upstream: "Forced removal not supported yet", R1). Default false. */
  forcedRelease?: boolean;
}

export type ConfigViolation =
  | 'none'
  | 'C1-too-many-returned'
  | 'C1-zero-returned'
  | 'C1-zero-available'
  | 'C1-short-reply'
  | 'C2-dsmad-handle'
  | 'C2-overlap'
  | 'C2-length-gt-size'
  | 'C2-length-zero'
  | 'C2-length-misaligned'
  | 'C2-block-size'
  | 'C2-base-misaligned'
  | 'C3-skip-pmem'
  | 'C4-no-dc-opcodes';

export const CONFIG_VIOLATIONS: readonly Exclude<ConfigViolation, 'none'>[] = [
  'C1-too-many-returned', 'C1-zero-returned', 'C1-zero-available', 'C1-short-reply',
  'C2-dsmad-handle', 'C2-overlap', 'C2-length-gt-size', 'C2-length-zero', 'C2-length-misaligned',
  'C2-block-size', 'C2-base-misaligned', 'C3-skip-pmem', 'C4-no-dc-opcodes',
];

export type ExtentListLie =
  | 'none'
  | 'count-exceeds-payload'
  | 'total-exceeds'
  | 'generation-flip'
  | 'short-payload'
  | 'u64-wrap-extent';

export const EXTENT_LIST_LIES: readonly Exclude<ExtentListLie, 'none'>[] = [
  'count-exceeds-payload', 'total-exceeds', 'generation-flip', 'short-payload', 'u64-wrap-extent',
];

export type EventRecordLie =
  | 'none'
  | 'count-exceeds-payload'
  | 'short-payload'
  | 'zero-handle'
  | 'more-records-forever';

export const EVENT_RECORD_LIES: readonly Exclude<EventRecordLie, 'none'>[] = [
  'count-exceeds-payload', 'short-payload', 'zero-handle', 'more-records-forever',
];

/** Hostile knobs; 'seeded' = chosen from the device seed (P(none) = 1/2). */
export interface HostileOptions {
  /** fabricated Get DC Config reply violating one of C1–C4. Default 'seeded'. */
  configViolation?: ConfigViolation | 'seeded';
  /** lie told by Get DC Extent List. Default 'seeded'. */
  extentListLie?: ExtentListLie | 'seeded';
  /** lie told by Get Event Records. Default 'seeded'. */
  eventRecordLie?: EventRecordLie | 'seeded';
  /**
   * Probability that an eligible command carries its lie (the config violation is permanent).
   * Default 0.25, so a host can still make progress between lies.
   */
  lieRate?: number;
  /** how many Get DC Extent List pages may see a changed generation ('generation-flip'). Default 3 */
  generationFlips?: number;
}

export interface DeviceConfig {
  name: string;
  serial: number;
  personality: Personality;
  seed: Seed;
  /** mailbox payload size in bytes (the register file's) */
  payloadSize: number;
  /** bytes of static (ram + pmem) capacity: DC partition 0 must start exactly here (C3) */
  staticBytes: number;
  partitions: DcPartitionConfig[];
  preAccepted: PreAcceptedConfig[];
  /** DC event log depth. Defaults: qemu 8 (R8), cxl-test / hostile 15 (mock 12: 17 slots, index 0 unused, full one before wrap) */
  eventLogCapacity?: number;
  /**
   * Event record handle numbering: 'u16' (1..0xFFFF, QEMU's `next_handle`) or 'mock-slots' (the
   * mock's slot index, 1..capacity+1, mem.c `event_inc_handle`). Default 'u16' for every
   * personality: the stress checkers order records by handle (stress/checkers/common.ts
   * `HandleUnwrapper` assumes a u16 space), and the v11 host only echoes handles back in order, so
   * the values are not host-visible behaviour. The mock's capacity rule (15 of 17 slots) applies
   * either way (docs/decisions-device.md).
   */
  eventLogHandles?: 'u16' | 'mock-slots';
  /** extents the device can track (accepted + pending). Default 512 (QEMU); enforced by qemu only */
  maxExtents?: number;
  /**
   * When the log is full: 'drop' (the record is lost and overflow counted — QEMU R8 and the mock's
   * mes_add_event) or 'hold' (the record waits in the FM queue until the host clears room). Default:
   * qemu and cxl-test 'drop' (cxl-test's `syncDrain` keeps one FM record in the log at a time, so
   * its log only overflows when a test fills it on purpose); hostile 'hold'.
   */
  eventLogFull?: 'drop' | 'hold';
  /**
   * The mock's "Fake the irq": `log_dc_event` calls `cxl_mem_get_event_records()` inside the sysfs
   * write, so each FM record is drained (fetched, handled, answered, cleared) before the next one
   * is logged. With syncDrain the device logs one FM record at a time and holds the rest until
   * the host clears it; the device service also makes the FM call return only after that drain.
   * Default: true for cxl-test, false otherwise (docs/decisions-device.md).
   */
  syncDrain?: boolean;
  /**
   * Get Event Records batch size: a range (seeded per device), or 'mock-counter' — the mock's
   * `(atomic_inc_return(&event_counter) % CXL_TEST_EVENT_RET_MAX) + 1` on one counter shared by
   * every mock device and every log. Default: qemu as many as fit; cxl-test 'mock-counter';
   * hostile [1, 4].
   */
  recordsPerGet?: { min: number; max: number } | 'mock-counter';
  /** media granularity (one backed counter and one 64-byte stamp line per block). Default 2 MiB */
  mediaBlockSize?: number;
  /** event record timestamps: wall clock ns (default) or a deterministic counter */
  timestamps?: 'real' | 'counter';
  /**
   * Modelled mailbox latency, µs per command (issue #17): the device service takes this long to
   * complete each mailbox command — spun on the real clock, added to the virtual clock when the
   * run's clock is virtual (src/device/service.ts). Default 0: the model's own speed. Neither
   * reference device has it (QEMU and the mock answer as fast as the CPU does); a real device's
   * firmware takes microseconds to milliseconds per command.
   */
  mboxLatencyUs?: number;
  qemu?: QemuOptions;
  hostile?: HostileOptions;
}

/** A config with every default filled in and validated. */
export interface ResolvedDeviceConfig extends DeviceConfig {
  eventLogCapacity: number;
  eventLogHandles: 'u16' | 'mock-slots';
  maxExtents: number;
  eventLogFull: 'drop' | 'hold';
  syncDrain: boolean;
  recordsPerGet: { min: number; max: number } | 'mock-counter';
  mediaBlockSize: number;
  timestamps: 'real' | 'counter';
  mboxLatencyUs: number;
  qemu: Required<QemuOptions>;
  hostile: Required<HostileOptions>;
  /** first DC byte (partitions[0].base) */
  dcBase: number;
  /** bytes from dcBase to the end of the last partition's usable length (what media must cover) */
  dcBytes: number;
}

export type ConfigResult = { ok: true; value: ResolvedDeviceConfig } | { ok: false; error: string };

const isSafeNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** a configuration value: a power of two that is also a safe integer */
const isPow2Safe = (v: number): boolean => Number.isSafeInteger(v) && isPow2(v);

export function maxRecordsPerGet(payloadSize: number): number {
  return Math.max(0, Math.floor((payloadSize - 0x20) / 128));
}

type Resolved<T> = { ok: true; value: T } | { ok: false; error: string };
const err = (path: string, msg: string): { ok: false; error: string } => ({ ok: false, error: `device config ${path}: ${msg}` });

/** Validate a config and fill its defaults. Error messages name the bad field (checked in field order). */
export function resolveDeviceConfig(c: DeviceConfig): ConfigResult {
  if (typeof c !== 'object' || c === null) return err('', 'must be an object');
  const bad = checkIdentity(c) ?? checkPartitions(c);
  if (bad) return bad;
  const pre = resolvePreAccepted(c);
  if (!pre.ok) return pre;
  const log = resolveEventLog(c);
  if (!log.ok) return log;
  const media = resolveMedia(c);
  if (!media.ok) return media;
  const { mediaBlockSize, timestamps, mboxLatencyUs, dcBase, dcBytes } = media.value;
  const { hostile, qemu } = variantOptions(c);
  // key order as before the split (a config prints in traces and reports)
  return {
    ok: true,
    value: {
      ...c, partitions: c.partitions.map((p) => ({ ...p })), preAccepted: pre.value,
      ...log.value, mediaBlockSize, timestamps, mboxLatencyUs, qemu, hostile, dcBase, dcBytes,
    },
  };
}

/** name, serial, personality, seed, payload and static capacity */
function checkIdentity(c: DeviceConfig): { ok: false; error: string } | null {
  if (typeof c.name !== 'string' || c.name.length === 0) return err('name', 'must be a non-empty string');
  if (!isSafeNat(c.serial)) return err('serial', `must be a non-negative safe integer, got ${String(c.serial)}`);
  if (!PERSONALITIES.includes(c.personality)) return err('personality', `must be one of ${PERSONALITIES.join(', ')}, got ${String(c.personality)}`);
  if (typeof c.seed !== 'number' && typeof c.seed !== 'string') return err('seed', 'must be a number or a string');
  if (!isSafeNat(c.payloadSize) || c.payloadSize < 256 || c.payloadSize > MiB) return err('payloadSize', `must be an integer in [256, 1M], got ${String(c.payloadSize)}`);
  if (!isSafeNat(c.staticBytes) || c.staticBytes % CXL_CAPACITY_MULTIPLIER !== 0) return err('staticBytes', `must be a multiple of 256M, got ${String(c.staticBytes)}`);
  return null;
}

/** The DC partitions as Get DC Config reports them: the host's checks C1–C3. */
function checkPartitions(c: DeviceConfig): { ok: false; error: string } | null {
  if (!Array.isArray(c.partitions) || c.partitions.length < 1 || c.partitions.length > CXL_MAX_DC_PARTITIONS) {
    return err('partitions', `must hold 1..${CXL_MAX_DC_PARTITIONS} partitions (C1)`);
  }
  let prevEnd = -1;
  for (let i = 0; i < c.partitions.length; i++) {
    const p = c.partitions[i];
    const at = `partitions[${i}]`;
    if (!p) return err(at, 'missing');
    for (const k of ['base', 'decodeLength', 'length', 'blockSize', 'dsmadHandle'] as const) {
      if (!isSafeNat(p[k])) return err(`${at}.${k}`, `must be a non-negative safe integer, got ${String(p[k])}`);
    }
    if (typeof p.sharable !== 'boolean') return err(`${at}.sharable`, 'must be a boolean');
    if (p.dsmadHandle > 0xff) return err(`${at}.dsmadHandle`, 'must fit in 8 bits (C2)');
    if (!isPow2Safe(p.blockSize) || p.blockSize % CXL_DCD_BLOCK_LINE_SIZE !== 0) return err(`${at}.blockSize`, `must be a power of two and a multiple of 0x40 (C2), got ${p.blockSize}`);
    if (p.decodeLength === 0 || p.decodeLength % CXL_CAPACITY_MULTIPLIER !== 0) return err(`${at}.decodeLength`, `must be a non-zero multiple of 256M, got ${p.decodeLength}`);
    if (p.length === 0 || p.length > p.decodeLength || p.length % p.blockSize !== 0) {
      return err(`${at}.length`, `must be non-zero, ≤ decodeLength and a multiple of blockSize (C2), got ${p.length}`);
    }
    if (p.base % CXL_CAPACITY_MULTIPLIER !== 0 || p.base % p.blockSize !== 0) return err(`${at}.base`, `must be 256M and block aligned (C2), got ${p.base}`);
    if (p.base < prevEnd) return err(`${at}.base`, 'partitions must be in increasing DPA order without overlap (C2)');
    prevEnd = p.base + p.decodeLength;
  }
  const p0 = c.partitions[0] as DcPartitionConfig;
  if (p0.base !== c.staticBytes) return err('partitions[0].base', `must equal staticBytes ${c.staticBytes} (C3: DC partition 0 starts at the end of pmem), got ${p0.base}`);
  return null;
}

/** Extents accepted at power-on (mock `inject_prev_extents`), copied with normalised tags. */
function resolvePreAccepted(c: DeviceConfig): Resolved<PreAcceptedConfig[]> {
  if (!Array.isArray(c.preAccepted)) return err('preAccepted', 'must be an array');
  const pre = c.preAccepted.map((e) => ({ ...e }));
  for (let i = 0; i < pre.length; i++) {
    const e = pre[i] as PreAcceptedConfig;
    const at = `preAccepted[${i}]`;
    if (!isSafeNat(e.dpa) || !isSafeNat(e.length) || e.length === 0) return err(at, 'dpa and length must be safe integers, length non-zero');
    const part = c.partitions.find((p) => e.dpa >= p.base && e.dpa + e.length <= p.base + p.length);
    if (!part) return err(at, `[${e.dpa}, +${e.length}) is not inside one DC partition`);
    if (e.dpa % part.blockSize !== 0 || e.length % part.blockSize !== 0) return err(at, 'must be block aligned');
    if (e.tag !== null && !isUuid(e.tag)) return err(`${at}.tag`, `must be null or a UUID, got ${JSON.stringify(e.tag)}`);
    if (e.tag !== null) e.tag = e.tag.toLowerCase() === NULL_UUID ? null : e.tag.toLowerCase();
    if (!Number.isInteger(e.seq) || e.seq < 0 || e.seq > 0xffff) return err(`${at}.seq`, 'must be an integer in [0, 0xffff]');
    for (let j = 0; j < i; j++) {
      const o = pre[j] as PreAcceptedConfig;
      if (e.dpa < o.dpa + o.length && o.dpa < e.dpa + e.length) return err(at, `overlaps preAccepted[${j}]`);
    }
  }
  return { ok: true, value: pre };
}

type EventLogKnobs = Pick<ResolvedDeviceConfig, 'eventLogCapacity' | 'eventLogHandles' | 'maxExtents' | 'eventLogFull' | 'syncDrain' | 'recordsPerGet'>;

/** The event log and the Get Event Records batch, defaulted per personality. */
function resolveEventLog(c: DeviceConfig): Resolved<EventLogKnobs> {
  const isQemu = isQemuPersonality(c.personality);
  const eventLogCapacity = c.eventLogCapacity ?? (isQemu ? QEMU_EVENT_LOG_CAPACITY : MOCK_EVENT_LOG_CAPACITY);
  if (!Number.isInteger(eventLogCapacity) || eventLogCapacity < 1 || eventLogCapacity > 4096) return err('eventLogCapacity', 'must be an integer in [1, 4096]');
  const eventLogHandles = c.eventLogHandles ?? 'u16';
  if (eventLogHandles !== 'u16' && eventLogHandles !== 'mock-slots') return err('eventLogHandles', "must be 'u16' or 'mock-slots'");
  const maxExtents = c.maxExtents ?? QEMU_NUM_EXTENTS_SUPPORTED;
  if (!Number.isInteger(maxExtents) || maxExtents < 1 || maxExtents > 0xffffffff) return err('maxExtents', 'must be a positive integer');
  const eventLogFull = c.eventLogFull ?? (c.personality === 'hostile' ? 'hold' : 'drop');
  if (eventLogFull !== 'drop' && eventLogFull !== 'hold') return err('eventLogFull', "must be 'drop' or 'hold'");
  const syncDrain = c.syncDrain ?? c.personality === 'cxl-test';
  if (typeof syncDrain !== 'boolean') return err('syncDrain', 'must be a boolean');
  const fit = maxRecordsPerGet(c.payloadSize);
  const rpg = c.recordsPerGet ?? (isQemu ? { min: fit, max: fit } : c.personality === 'cxl-test' ? 'mock-counter' : { min: 1, max: Math.min(MOCK_EVENT_RET_MAX, fit) });
  let recordsPerGet: ResolvedDeviceConfig['recordsPerGet'];
  if (rpg === 'mock-counter') {
    recordsPerGet = rpg;
  } else {
    if (typeof rpg !== 'object' || rpg === null || !Number.isInteger(rpg.min) || !Number.isInteger(rpg.max) || rpg.min < 1 || rpg.max < rpg.min) {
      return err('recordsPerGet', "must be 'mock-counter' or integers with 1 ≤ min ≤ max");
    }
    recordsPerGet = { min: Math.min(rpg.min, fit), max: Math.min(rpg.max, fit) };
  }
  return { ok: true, value: { eventLogCapacity, eventLogHandles, maxExtents, eventLogFull, syncDrain, recordsPerGet } };
}

type MediaKnobs = Pick<ResolvedDeviceConfig, 'mediaBlockSize' | 'timestamps' | 'mboxLatencyUs' | 'dcBase' | 'dcBytes'>;

/** The media's backing granularity and DC range, timestamps, the modelled mailbox latency. */
function resolveMedia(c: DeviceConfig): Resolved<MediaKnobs> {
  const mediaBlockSize = c.mediaBlockSize ?? PMD_SIZE;
  if (!isPow2Safe(mediaBlockSize) || mediaBlockSize < 64) return err('mediaBlockSize', 'must be a power of two ≥ 64');
  const timestamps = c.timestamps ?? 'real';
  const mboxLatencyUs = c.mboxLatencyUs ?? 0;
  if (typeof mboxLatencyUs !== 'number' || !Number.isFinite(mboxLatencyUs) || mboxLatencyUs < 0 || mboxLatencyUs > 10_000_000) return err('mboxLatencyUs', `must be a number of microseconds in [0, 10000000], got ${String(mboxLatencyUs)}`);
  const last = c.partitions[c.partitions.length - 1] as DcPartitionConfig;
  const dcBase = (c.partitions[0] as DcPartitionConfig).base;
  const dcBytes = last.base + last.length - dcBase;
  if (dcBytes / mediaBlockSize > 1 << 22) return err('mediaBlockSize', `too fine for ${dcBytes} bytes of DC capacity (more than 4M blocks)`);
  return { ok: true, value: { mediaBlockSize, timestamps, mboxLatencyUs, dcBase, dcBytes } };
}

/** The hostile and QEMU variant knobs with their defaults (not validated: the types bound them). */
function variantOptions(c: DeviceConfig): Pick<ResolvedDeviceConfig, 'hostile' | 'qemu'> {
  const hostile: Required<HostileOptions> = {
    configViolation: c.hostile?.configViolation ?? 'seeded',
    extentListLie: c.hostile?.extentListLie ?? 'seeded',
    eventRecordLie: c.hostile?.eventRecordLie ?? 'seeded',
    lieRate: c.hostile?.lieRate ?? 0.25,
    generationFlips: c.hostile?.generationFlips ?? 3,
  };
  const qemu: Required<QemuOptions> = {
    tagPassthrough: c.qemu?.tagPassthrough ?? c.personality === 'qemu-tag-rfc',
    extendedPolicies: c.qemu?.extendedPolicies ?? false,
    forcedRelease: c.qemu?.forcedRelease ?? false,
  };
  return { hostile, qemu };
}

/** Validate only. */
export function validateDeviceConfig(c: DeviceConfig): { ok: true } | { ok: false; error: string } {
  const r = resolveDeviceConfig(c);
  return r.ok ? { ok: true } : r;
}

/** One memdev of a scenario topology, numbers already in bytes (README.md). */
export interface MemdevTopologySpec {
  name: string;
  serial: number;
  sharable: boolean;
  /** base = the DC partition start = static capacity in front of it */
  dc: { base: number; size: number; blockSize: number };
  /** offsets relative to the DC partition start */
  preAccepted?: { offset: number; length: number; tag?: string | null; seq?: number }[];
}

/**
 * Build a device config from a scenario memdev. One DC partition: base = dc.base (= staticBytes,
 * C3), decode length = dc.size rounded up to 256M, usable length = dc.size. dsmad handle 0xFA as
 * the mock uses. `overrides` are merged last (knobs such as eventLogFull or qemu.tagPassthrough).
 */
export function deviceConfigFromTopology(
  memdev: MemdevTopologySpec,
  personality: Personality,
  seed: Seed,
  overrides: Partial<DeviceConfig> = {},
): DeviceConfig {
  const decodeLength = Math.ceil(memdev.dc.size / CXL_CAPACITY_MULTIPLIER) * CXL_CAPACITY_MULTIPLIER;
  return {
    name: memdev.name,
    serial: memdev.serial,
    personality,
    seed,
    payloadSize: isQemuPersonality(personality) ? QEMU_PAYLOAD_SIZE : MOCK_PAYLOAD_SIZE,
    staticBytes: memdev.dc.base,
    partitions: [
      {
        base: memdev.dc.base,
        decodeLength: Math.max(decodeLength, CXL_CAPACITY_MULTIPLIER),
        length: memdev.dc.size,
        blockSize: memdev.dc.blockSize,
        dsmadHandle: 0xfa,
        sharable: memdev.sharable,
      },
    ],
    preAccepted: (memdev.preAccepted ?? []).map((e) => ({
      dpa: memdev.dc.base + e.offset,
      length: e.length,
      tag: e.tag === undefined || e.tag === null || e.tag === '' || e.tag === '0' ? null : e.tag,
      seq: e.seq ?? 0,
    })),
    ...overrides,
  };
}
