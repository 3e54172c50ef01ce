/**
 * DOC: device API types — FM requests and results, query views, and the DeviceEvent stream.
 *
 * Everything here is plain structured-cloneable data: the FM API and the queries cross the worker
 * boundary over comlink, and DeviceEvents feed checkers and traces (README.md: checkers see the
 * run only through typed events; production code never imports a checker).
 *
 * Offsets: `offset` fields are device-side offsets, relative to the start of DC partition 0 (the
 * scenario contract, README.md), except `AddCapacityRequest.extents[].offset` and
 * `ReleaseCapacityRequest.extents[].offset`, which are relative to the start of the addressed
 * `region` (QMP's `offset` within `region`; identical for region 0). `dpa` fields are absolute.
 */
import type { HostileChainKind } from './hostile-kinds.js';
import { failure, isErrno, type Errno, type Failure } from '../errors.js';

/** The errnos an FM API call fails with: a subset of src/errors.ts's table (`satisfies` checks it). */
const FM_ERRNOS = {
  EINVAL: true, ENOSPC: true, EOPNOTSUPP: true, EEXIST: true, ENOENT: true, EBUSY: true, ERANGE: true, ETIMEDOUT: true,
} as const satisfies Partial<Record<Errno, true>>;
export type FmErrorCode = keyof typeof FM_ERRNOS;
export function isFmErrorCode(s: unknown): s is FmErrorCode {
  return isErrno(s) && Object.prototype.hasOwnProperty.call(FM_ERRNOS, s);
}

/**
 * How the fabric manager reaches a QEMU device: QMP (`cxl-add/release-dynamic-capacity`, the
 * default) or the FM API over MCTP (Initiate Dynamic Capacity Add 5604h / Release 5605h). They
 * differ: QMP adds have no 512-extent check and upstream zeroes their tags; 5604h checks the count
 * and keeps tags; 5605h takes a Forced Removal flag that QMP refuses. Other personalities ignore it.
 */
export type FmVia = 'qmp' | 'fm-api';

/** FM API result: success payload, or the control plane's failure (errno, message saying what was refused). */
export type FmResult<T extends object> = ({ ok: true } & T) | Failure<FmErrorCode>;

export function fmError(errno: FmErrorCode, message: string): Failure<FmErrorCode> {
  return failure(errno, message);
}

export type SelectionPolicy = 'prescriptive' | 'free' | 'contiguous';
export type RemovalPolicy = 'prescriptive' | 'tag-based';

/** QMP `cxl-add-dynamic-capacity`, plus free/contiguous block selection. */
export interface AddCapacityRequest {
  /** DC region (partition) index; default 0 */
  region?: number;
  policy: SelectionPolicy;
  /** prescriptive: the extents, offsets relative to the region start */
  extents?: { offset: number; length: number }[];
  /** free: total bytes to find anywhere; contiguous: bytes per extent */
  length?: number;
  /** contiguous: number of extents of `length` (default 1) */
  count?: number;
  /** tag for every extent; null / undefined / "0" / "" / the null UUID = untagged */
  tag?: string | null;
  /** shared_extn_seq per extent; default 0..n-1 on a sharable partition with a tag, else 0 */
  seqs?: number[];
  /** 'chain' (default, R7: More=1 on all but the last record) or 'split-each' (every record More=0) */
  more?: 'chain' | 'split-each';
  /** QMP (default) or FM API 5604h (FmVia) */
  via?: FmVia;
}

/** One raw DC Add record of a scenario `add-capacity` op; offset relative to DC partition 0. */
export interface InjectRecord {
  offset: number;
  length: number;
  tag?: string | null;
  seq?: number;
  more?: boolean;
  /** dc_inject_shared_extent (mock 5) */
  shared?: boolean;
}

/**
 * An add record as the FM API's `injectRecords` takes it: `offset` and `length` are the record's
 * u64 fields, a bigint carrying a value past 2^53−1 exactly (Device.injectWithU64).
 */
export interface InjectU64Record extends Omit<InjectRecord, 'offset' | 'length'> {
  offset: number | bigint;
  length: number | bigint;
}

/** QMP `cxl-release-dynamic-capacity` / cxl_test `dc_del_extent`. */
export interface ReleaseCapacityRequest {
  region?: number;
  policy: RemovalPolicy;
  /** prescriptive: offsets relative to the region start; tag defaults to the request tag */
  extents?: { offset: number; length: number; tag?: string | null }[];
  /** tag-based: the tag to release; prescriptive: default tag for the records */
  tag?: string | null;
  /** Forced Capacity Release records instead of Release Capacity (QEMU 5605h: the Forced Removal flag) */
  forced?: boolean;
  /** QMP (default) or FM API 5605h (FmVia) */
  via?: FmVia;
}

export interface ExtentView {
  /** absolute DPA */
  dpa: number;
  /** relative to DC partition 0 start */
  offset: number;
  length: number;
  tag: string | null;
  seq: number;
  /** DC partition index containing the start, -1 if none */
  partition: number;
}

export interface PendingExtentView extends ExtentView {
  offerSeq: number;
  shared: boolean;
}

export interface PendingGroupView {
  id: number;
  closed: boolean;
  extents: PendingExtentView[];
}

export interface AddCapacityOk {
  extents: ExtentView[];
  /** records queued for the event log */
  records: number;
}

export interface ReleaseCapacityOk {
  extents: ExtentView[];
  records: number;
}

export interface LoggedRecordView {
  handle: number;
  eventType: string;
  /** absolute DPA (approximate above 2^53 — hostile wrap values) */
  dpa: number;
  offset: number;
  length: number;
  tag: string | null;
  seq: number;
  more: boolean;
  updatedRegionIndex: number;
}

export interface EventLogView {
  capacity: number;
  /** records in the log */
  queued: number;
  /** records waiting in the FM queue for room in the log */
  fmQueued: number;
  overflow: number;
  firstOverflowTs: string;
  lastOverflowTs: string;
  records: LoggedRecordView[];
}

export interface DeviceCounters {
  mboxCommands: number;
  mboxErrors: number;
  /** handler exceptions turned into Internal Error (should stay 0) */
  internalErrors: number;
  byOpcode: Record<string, number>;
  byRc: Record<string, number>;
  recordsLogged: number;
  recordsDropped: number;
  irqs: number;
  extentsOffered: number;
  extentsAccepted: number;
  extentsRejected: number;
  extentsReleased: number;
  releasesIgnored: number;
  fmCommands: number;
  fmErrors: number;
  lies: number;
  /** commands on which the modelled device would have crashed (QEMU NULL dereference) */
  faults: number;
  /** FM calls that returned before the host drained their records (syncDrain timeout) */
  drainTimeouts: number;
}

export function newCounters(): DeviceCounters {
  return {
    mboxCommands: 0, mboxErrors: 0, internalErrors: 0, byOpcode: {}, byRc: {}, recordsLogged: 0,
    recordsDropped: 0, irqs: 0, extentsOffered: 0, extentsAccepted: 0, extentsRejected: 0,
    extentsReleased: 0, releasesIgnored: 0, fmCommands: 0, fmErrors: 0, lies: 0, faults: 0, drainTimeouts: 0,
  };
}

/** CDAT DSMAS view of a partition (the host learns sharability from it, v11-03). */
export interface DsmasView {
  dsmadHandle: number;
  dpaBase: number;
  dpaLength: number;
  /** ACPI_CDAT_DSMAS_SHAREABLE (bit 3) when the partition is sharable */
  flags: number;
}
export const ACPI_CDAT_DSMAS_NON_VOLATILE = 1 << 2;
export const ACPI_CDAT_DSMAS_SHAREABLE = 1 << 3;

export type FmOp = 'add' | 'inject' | 'release' | 'delete' | 'region-config' | 'hostile';

/**
 * The device's typed event stream (observer callback; no logging in hot paths). `memdev` names
 * the device in every event.
 */
export type DeviceEvent =
  | { type: 'record-logged'; memdev: string; handle: number; eventType: string; dpa: number; length: number; tag: string | null; seq: number; more: boolean }
  | { type: 'record-dropped-overflow'; memdev: string; eventType: string; dpa: number; length: number; overflow: number }
  | { type: 'records-cleared'; memdev: string; handles: number[]; all: boolean }
  | { type: 'event-status'; memdev: string; on: boolean }
  | { type: 'irq'; memdev: string }
  | { type: 'mbox-command'; memdev: string; opcode: number; opcodeName: string; rc: number; rcName: string; nrExtents: number; more?: boolean }
  | { type: 'extent-offered'; memdev: string; dpa: number; length: number; tag: string | null; seq: number; group: number; offerSeq: number }
  | { type: 'extent-accepted'; memdev: string; dpa: number; length: number; tag: string | null; seq: number }
  | { type: 'extent-rejected'; memdev: string; dpa: number; length: number; tag: string | null; reason: 'not-in-response' | 'reject-all' | 'fm-deleted' }
  | { type: 'extent-released'; memdev: string; dpa: number; length: number; tag: string | null }
  | { type: 'release-ignored'; memdev: string; dpa: number; length: number; reason: string }
  | { type: 'fm-command'; memdev: string; op: FmOp; ok: boolean; error?: string; records: number }
  | { type: 'hostile-lie'; memdev: string; opcode: number; lie: string }
  | { type: 'hostile-chain'; memdev: string; kind: HostileChainKind; records: number }
  | { type: 'internal-error'; memdev: string; opcode: number; message: string }
  | { type: 'device-fault'; memdev: string; opcode: number; message: string }
  | { type: 'reset'; memdev: string };

export type DeviceObserver = (ev: DeviceEvent) => void;
