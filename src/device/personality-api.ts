/**
 * DOC: the contract between the device core and its personalities (issue 16.3).
 *
 * `DcdDevice` (device.ts) owns the state — the three extent sets, the event log and its FM queue,
 * the media, the counters — and the mailbox switch. Every rule on which the reference devices
 * differ (docs/personalities.md) is a hook of `DevicePersonality`, which the device calls and
 * nothing else. A personality sees the device only through the `DeviceContext` the device builds
 * for it: methods (queue a record, pump the queue, book an accept or a release, count a lie, …),
 * never the device's fields. The dependency points one way:
 *
 *     device.ts ──▶ personality-api.ts (this file: types only)
 *         └──────▶ registry.ts ──▶ qemu.ts / cxl-test.ts / hostile.ts ──▶ personality.ts (base)
 *
 * No personality imports device.ts, and device.ts names no personality class.
 */
import type { CxlExtentRaw } from '../wire/cxl.js';
import type { Personality, ResolvedDeviceConfig, ConfigViolation, EventRecordLie, ExtentListLie } from './config.js';
import type { ClearRule } from './event-log.js';
import type { DcExtent, ExtentStore } from './extents.js';
import type { HostileChainKind } from './hostile-kinds.js';
import type { AddCapacityOk, DeviceEvent, ExtentView, FmResult, FmVia, ReleaseCapacityOk, SelectionPolicy } from './types.js';

/** What a mailbox handler returns: the CXL return code (or a mock errno) and the output length. */
export interface MboxReply {
  rc: number;
  outLen: number;
}

/** One DC Add record as the personality receives it: absolute DPA, normalised tag. */
export interface OfferRecord {
  dpa: number;
  length: number;
  tag: string | null;
  seq: number;
  more: boolean;
  shared: boolean;
}

/** Where an FM add came from: QMP, a cxl_test inject / scenario record, or the FM API (5604h). */
export interface FmAddSource {
  source: 'qmp' | 'inject' | 'fm-api';
  /** the addressed DC region; null = the partition containing each extent (scenario records) */
  region: number | null;
}

export interface NormalizedRelease {
  policy: 'prescriptive' | 'tag-based';
  /** absolute DPA; `tag` undefined = use the request tag or the accepted extent's */
  ranges: { dpa: number; length: number; tag: string | null | undefined }[];
  tag: string | null;
  forced: boolean;
  region: number | null;
  via: FmVia;
}

/** A record waiting in the FM queue for room in the event log. */
export interface QueuedRecord {
  eventType: number;
  extent: CxlExtentRaw;
  more: boolean;
  updatedRegionIndex: number;
  /** cxl-test: the FM-state extent this record offers; it moves fm → sent when the record is logged */
  offers?: DcExtent;
  /** hostile: a record UUID other than the DC event UUID */
  recordUuid?: string;
  /** hostile: log even when `offers` was deleted meanwhile */
  force?: boolean;
}

/** The lies a hostile device chose for its seed (hostile.ts). */
export interface HostileChoices {
  configViolation: ConfigViolation;
  extentListLie: ExtentListLie;
  eventRecordLie: EventRecordLie;
}

/** The hostile personality's FM-side generator; the device forwards `hostileInject` / `hostileBurst`. */
export interface HostileHooks {
  inject(kind: HostileChainKind, opts?: { count?: number }): FmResult<{ records: number }>;
  burst(n: number): FmResult<{ records: number; kinds: HostileChainKind[] }>;
  choices(): HostileChoices;
}

/**
 * The device as a personality sees it. `config` is the resolved configuration (immutable data) and
 * `extents` the extent sets, an object with its own methods (extents.ts) on which the reference
 * devices' rules are written; everything else is a method, so the device keeps its counters,
 * event log, FM queue, PRNG and IRQ state to itself.
 */
export interface DeviceContext {
  readonly name: string;
  readonly config: Readonly<ResolvedDeviceConfig>;
  readonly extents: ExtentStore;
  /** a seeded draw in [min, max] from the device PRNG (re-seeded at reset) */
  randomRange(min: number, max: number): number;
  /** the mock's shared `event_counter`: atomic increment, returns the value before it */
  bumpMockCounter(): number;
  /** records in the FM queue, not yet logged */
  queuedRecords(): number;
  queueRecord(q: QueuedRecord): void;
  /** move queued records into the event log while there is room (device.ts `pump`) */
  pump(): void;
  /** fm/new → sent (mock `mark_extent_sent`, QEMU pending group), with the observer event */
  offer(e: DcExtent, more: boolean): void;
  noteAccepted(e: DcExtent): void;
  noteRejected(list: readonly DcExtent[], reason: 'not-in-response' | 'reject-all' | 'fm-deleted'): void;
  noteReleased(dpa: number, length: number, tag: string | null): void;
  /** a Release DC entry the device ignored (mock 10), counted */
  noteReleaseIgnored(dpa: number, length: number, reason: string): void;
  /** a hostile lie told in a reply to `opcode`, counted */
  noteLie(opcode: number, lie: string): void;
  emit(ev: DeviceEvent): void;
  /** the modelled device would crash: count, report, answer Internal Error (returns the rc) */
  fault(opcode: number, message: string): number;
  /** QEMU `event_logs[DYNAMIC_CAP].irq_enabled` (Set Event Interrupt Policy) */
  setDcIrqEnabled(on: boolean): void;
  view(e: { dpa: number; length: number; tag: string | null; seq: number }): ExtentView;
  rawExtent(dpa: number | bigint, length: number | bigint, tag: string | null, seq: number): CxlExtentRaw;
  /** index of the DC partition that fully contains [dpa, dpa+len), or -1 */
  partitionOf(dpa: number, len: number): number;
  /** index of the DC partition containing `dpa`, or -1 */
  partitionAt(dpa: number): number;
  /** free-capacity runs of a region aligned to `gran`, excluding accepted, pending and FM extents */
  freeRunsOf(region: number, gran: number): { dpa: number; length: number }[];
}

/** Every hook the device calls: the rules on which the reference devices differ. */
export interface DevicePersonality {
  readonly name: Personality;
  /** raise the event IRQ after every logged record (mock "Fake the irq"), not only on the 0→1 edge (R7) */
  readonly irqEveryRecord: boolean;
  /** Get Event Records: MORE_RECORDS whenever the log is not empty (QEMU) or only when records remain (mock) */
  readonly moreWhenNonEmpty: boolean;
  /** overflow reset rule of Clear Event Records (event-log.ts) */
  readonly clearRule: ClearRule;
  /** the hostile generator; null for every other personality */
  readonly hostile: HostileHooks | null;
  /** this device's code for a refusal QEMU answers with `rc` (the mock answers -EINVAL) */
  refuse(rc: number): number;
  /** how many records one Get Event Records may return (before the payload-fit cap) */
  recordsPerGet(): number;
  /** `num_avail_extents` written into each logged DC event record */
  numAvailExtents(): number;
  /** null if the selection policy is supported, else the refusal message (R1) */
  policyRefusal(policy: SelectionPolicy): string | null;
  /**
   * A scenario record whose DPA range the FM state cannot hold (past 2^53; device.ts
   * `injectWithU64`): the refusal message, or null to log it as written.
   */
  u64RecordRefusal(dpa: bigint, length: bigint): string | null;
  /** offer capacity (QMP add / FM API 5604h / cxl_test inject / scenario add-capacity records) */
  fmAdd(records: OfferRecord[], src: FmAddSource): FmResult<AddCapacityOk>;
  /** ask the host to release capacity (QMP release / FM API 5605h / cxl_test dc_del_extent) */
  fmRelease(req: NormalizedRelease): FmResult<ReleaseCapacityOk>;
  /** Set Event Interrupt Policy (0103h): the mailbox rc */
  setEventInterruptPolicy(input: Uint8Array): number;
  /** Get Dynamic Capacity Configuration (4800h) */
  getDcConfig(input: Uint8Array, out: Uint8Array): MboxReply;
  /** Get Dynamic Capacity Extent List (4801h) */
  getDcExtentList(input: Uint8Array, out: Uint8Array): MboxReply;
  /** Add Dynamic Capacity Response (4802h): the mailbox rc */
  addDcResponse(input: Uint8Array): number;
  /** Release Dynamic Capacity (4803h): the mailbox rc */
  releaseDc(input: Uint8Array): number;
  /** last word on every mailbox reply (the hostile personality lies here) */
  transformReply(opcode: number, input: Uint8Array, out: Uint8Array, reply: MboxReply): MboxReply;
  /** after a device reset (personalities with seeded state re-draw it) */
  onReset(): void;
}

/** Builds a personality for a device: the registry (registry.ts) maps each name to one. */
export type PersonalityFactory = (ctx: DeviceContext) => DevicePersonality;
