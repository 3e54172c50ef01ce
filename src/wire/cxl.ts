/**
 * DOC: cxl wire — the binary CXL mailbox payloads shared by device and host, and nothing else.
 *
 * This is the model's `cxlmem.h` / `include/cxl/event.h`: opcodes, the mailbox return-code table,
 * and the little-endian layouts of every payload the Dynamic Capacity flow moves through the
 * register file. Each struct cites the CXL specification table it implements (r3.1 numbering, as
 * the kernel's comments use; r4.0 numbers in brackets where docs/kernel-map.md gives them).
 *
 * Trust model: the host treats every byte the device sends as hostile, and the device treats every
 * byte the host sends the same way. So:
 *  - every decoder bounds-checks, never throws, never reads beyond the view it is given, and never
 *    allocates from a count it has not first checked against the payload length;
 *  - decoders return `{ ok: true, value } | { ok: false, error: WireError }`;
 *  - 64-bit fields decode to `bigint` (a hostile device sends u64 wrap values such as
 *    start 0xFFFF_FFFF_FFE0_0000 + length 0x40_0000); `u64ToNumber()` converts when ≤ 2^53 − 1;
 *  - encoders write exactly the header fields they are given (counts included), so a hostile
 *    device can encode a payload whose count disagrees with its length. `encodeX(v, buf, off)`
 *    writes into a caller-supplied buffer and returns the length; `xBytes(v)` returns a new
 *    buffer of exactly that length. Encoders throw RangeError only on programmer errors (buffer
 *    too small, malformed UUID string).
 *
 * UUIDs are lower-case strings; the null UUID (untagged) is `NULL_UUID`.
 */
import { EINVAL, EIO, ENOMEM, type ErrnoSubset } from '../errors.js';
import { HEX_BYTE, MiB } from '../units.js';

// ---------------------------------------------------------------------------------------------
// Opcodes (CXL r3.1 Table 8-37 command opcodes; kernel `enum cxl_opcode`)
// ---------------------------------------------------------------------------------------------

export const CXL_MBOX_OP = {
  /** §8.2.9.2.2 Get Event Records */
  GET_EVENT_RECORDS: 0x0100,
  /** §8.2.9.2.3 Clear Event Records */
  CLEAR_EVENT_RECORDS: 0x0101,
  /** §8.2.9.2.5 Set Event Interrupt Policy (v11 pci.c `cxl_event_config_msgnums` sends it with dcd_settings) */
  SET_EVENT_INTERRUPT_POLICY: 0x0103,
  /** §8.2.9.9.9.1 Get Dynamic Capacity Configuration */
  GET_DC_CONFIG: 0x4800,
  /** §8.2.9.9.9.2 Get Dynamic Capacity Extent List */
  GET_DC_EXTENT_LIST: 0x4801,
  /** §8.2.9.9.9.3 Add Dynamic Capacity Response */
  ADD_DC_RESPONSE: 0x4802,
  /** §8.2.9.9.9.4 Release Dynamic Capacity */
  RELEASE_DC: 0x4803,
} as const;
export type CxlOpcodeName = keyof typeof CXL_MBOX_OP;

const OPCODE_NAMES = new Map<number, CxlOpcodeName>(
  (Object.entries(CXL_MBOX_OP) as [CxlOpcodeName, number][]).map(([k, v]) => [v, k]),
);

/** "ADD_DC_RESPONSE", or "UNKNOWN_0x1234" for an opcode the model does not name. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `UNKNOWN_0x${(opcode >>> 0).toString(16).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Mailbox return codes (CXL r3.1 §8.2.8.4.5.1 Table 8-34; QEMU `CXLRetCode`), errno per the kernel's
// CMD_CMD_RC_TABLE in drivers/cxl/cxlmem.h: every device error becomes -ENXIO except
// Invalid Physical Address (-EFAULT) and Poison Limit (-EBUSY). The code is the table index.
// ---------------------------------------------------------------------------------------------

export type MboxErrno = 'OK' | ErrnoSubset<'ENXIO' | 'EFAULT' | 'EBUSY'> | MockErrno;

/**
 * errnos a cxl_test mock handler returns straight from `cxl_mock_mbox_send` (tools/testing/cxl/test/
 * mem.c): `cxl_internal_send_cmd` passes a negative mbox_send() result to its caller unchanged, so
 * the host sees -EINVAL / -ENOMEM, not a CXL return code. The device writes them into the return
 * code register as negative numbers (-1 stays the register file's timeout; the mock never returns
 * -EPERM).
 */
export type MockErrno = ErrnoSubset<'EINVAL' | 'ENOMEM' | 'EIO'>;
export const MOCK_ERRNO_RC: Readonly<Record<MockErrno, number>> = { EINVAL, ENOMEM, EIO };
const MOCK_ERRNO_BY_RC = new Map<number, MockErrno>(Object.entries(MOCK_ERRNO_RC).map(([k, v]) => [v, k as MockErrno]));

export interface MboxRcEntry {
  code: number;
  /** model name (QEMU CXLRetCode spelling without the CXL_MBOX_ prefix) */
  name: string;
  /** errno the kernel turns this code into (`cxl_mbox_cmd_rc2errno`); 'OK' for success */
  errno: MboxErrno;
  desc: string;
}

/** THE return-code table. Index = code. */
export const MBOX_RC: readonly MboxRcEntry[] = [
  { code: 0x00, name: 'SUCCESS', errno: 'OK', desc: 'success' },
  { code: 0x01, name: 'BG_STARTED', errno: 'ENXIO', desc: 'background cmd started successfully' },
  { code: 0x02, name: 'INVALID_INPUT', errno: 'ENXIO', desc: 'cmd input was invalid' },
  { code: 0x03, name: 'UNSUPPORTED', errno: 'ENXIO', desc: 'cmd is not supported' },
  { code: 0x04, name: 'INTERNAL_ERROR', errno: 'ENXIO', desc: 'internal device error' },
  { code: 0x05, name: 'RETRY_REQUIRED', errno: 'ENXIO', desc: 'temporary error, retry once' },
  { code: 0x06, name: 'BUSY', errno: 'ENXIO', desc: 'ongoing background operation' },
  { code: 0x07, name: 'MEDIA_DISABLED', errno: 'ENXIO', desc: 'media access is disabled' },
  { code: 0x08, name: 'FW_XFER_IN_PROGRESS', errno: 'ENXIO', desc: 'one FW package can be transferred at a time' },
  { code: 0x09, name: 'FW_XFER_OUT_OF_ORDER', errno: 'ENXIO', desc: 'FW package content was transferred out of order' },
  { code: 0x0a, name: 'FW_AUTH_FAILED', errno: 'ENXIO', desc: 'FW package authentication failed' },
  { code: 0x0b, name: 'FW_INVALID_SLOT', errno: 'ENXIO', desc: 'FW slot is not supported for requested operation' },
  { code: 0x0c, name: 'FW_ROLLEDBACK', errno: 'ENXIO', desc: 'rolled back to the previous active FW' },
  { code: 0x0d, name: 'FW_REST_REQD', errno: 'ENXIO', desc: 'FW failed to activate, needs cold reset' },
  { code: 0x0e, name: 'INVALID_HANDLE', errno: 'ENXIO', desc: 'one or more Event Record Handles were invalid' },
  { code: 0x0f, name: 'INVALID_PA', errno: 'EFAULT', desc: 'physical address specified is invalid' },
  { code: 0x10, name: 'INJECT_POISON_LIMIT', errno: 'EBUSY', desc: 'poison injection limit has been reached' },
  { code: 0x11, name: 'PERMANENT_MEDIA_FAILURE', errno: 'ENXIO', desc: 'permanent issue with the media' },
  { code: 0x12, name: 'ABORTED', errno: 'ENXIO', desc: 'background cmd was aborted by device' },
  { code: 0x13, name: 'INVALID_SECURITY_STATE', errno: 'ENXIO', desc: 'not valid in the current security state' },
  { code: 0x14, name: 'INCORRECT_PASSPHRASE', errno: 'ENXIO', desc: "phrase doesn't match current set passphrase" },
  { code: 0x15, name: 'UNSUPPORTED_MAILBOX', errno: 'ENXIO', desc: 'unsupported on the mailbox it was issued on' },
  { code: 0x16, name: 'INVALID_PAYLOAD_LENGTH', errno: 'ENXIO', desc: 'invalid payload length' },
  { code: 0x17, name: 'INVALID_LOG', errno: 'ENXIO', desc: 'invalid or unsupported log page' },
  { code: 0x18, name: 'INTERRUPTED', errno: 'ENXIO', desc: 'asynchronous event occurred' },
  { code: 0x19, name: 'UNSUPPORTED_FEATURE_VERSION', errno: 'ENXIO', desc: 'unsupported feature version' },
  { code: 0x1a, name: 'UNSUPPORTED_FEATURE_SELECTION_VALUE', errno: 'ENXIO', desc: 'unsupported feature selection value' },
  { code: 0x1b, name: 'FEATURE_TRANSFER_IN_PROGRESS', errno: 'ENXIO', desc: 'feature transfer in progress' },
  { code: 0x1c, name: 'FEATURE_TRANSFER_OUT_OF_ORDER', errno: 'ENXIO', desc: 'feature transfer out of order' },
  { code: 0x1d, name: 'RESOURCES_EXHAUSTED', errno: 'ENXIO', desc: 'resources are exhausted' },
  { code: 0x1e, name: 'INVALID_EXTENT_LIST', errno: 'ENXIO', desc: 'invalid Extent List' },
];

/** Named return codes the DC flow uses (values index MBOX_RC). */
export const RC = {
  SUCCESS: 0x00,
  INVALID_INPUT: 0x02,
  UNSUPPORTED: 0x03,
  INTERNAL_ERROR: 0x04,
  RETRY_REQUIRED: 0x05,
  BUSY: 0x06,
  INVALID_HANDLE: 0x0e,
  INVALID_PA: 0x0f,
  INVALID_PAYLOAD_LENGTH: 0x16,
  RESOURCES_EXHAUSTED: 0x1d,
  INVALID_EXTENT_LIST: 0x1e,
} as const;

/** The return code the register file reports when the device never completed a command. */
export const MBOX_RC_TIMEOUT = -1;

/** "INVALID_PA"; MBOX_RC_TIMEOUT is "TIMEOUT"; unknown codes "RC_0x2a". */
export function rcName(code: number): string {
  if (code === MBOX_RC_TIMEOUT) return 'TIMEOUT';
  const e = MOCK_ERRNO_BY_RC.get(code);
  if (e) return `-${e}`;
  return MBOX_RC[code]?.name ?? `RC_0x${(code >>> 0).toString(16)}`;
}

/** errno the host sees for a device return code (kernel CMD_CMD_RC_TABLE); timeout → ETIMEDOUT. */
export function rcErrno(code: number): MboxErrno | 'ETIMEDOUT' {
  if (code === MBOX_RC_TIMEOUT) return 'ETIMEDOUT';
  const e = MOCK_ERRNO_BY_RC.get(code);
  if (e) return e;
  return MBOX_RC[code]?.errno ?? 'ENXIO';
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const NULL_UUID = '00000000-0000-0000-0000-000000000000';
/** CXL r3.1 §8.2.9.2.1.6 Dynamic Capacity Event Record UUID (`CXL_EVENT_DC_EVENT_UUID`) */
export const DC_EVENT_UUID = 'ca95afa7-f183-4018-8c2f-95268e101a2a';

/** Event logs (CXL r3.0 §8.2.9.2.2 Table 8-49 + v11-12 `CXL_EVENT_TYPE_DCD`) */
export const CXL_EVENT_LOG = { INFO: 0, WARN: 1, FAIL: 2, FATAL: 3, DCD: 4 } as const;

/** DC event types (CXL r3.1 Table 8-50 byte 0x30; QEMU `CXLDCEventType`) */
export const DC_EVENT_TYPE = {
  ADD_CAPACITY: 0,
  RELEASE_CAPACITY: 1,
  FORCED_CAPACITY_RELEASE: 2,
  REGION_CONFIGURATION_UPDATED: 3,
  ADD_CAPACITY_RESPONSE: 4,
  CAPACITY_RELEASED: 5,
} as const;
export type DcEventTypeName = keyof typeof DC_EVENT_TYPE;
const DC_EVENT_TYPE_NAMES = Object.keys(DC_EVENT_TYPE) as DcEventTypeName[];

export function dcEventTypeName(t: number): string {
  return DC_EVENT_TYPE_NAMES[t] ?? `UNKNOWN_${t}`;
}

/** DC event record flags byte (0x35) bit 0 (`CXL_DCD_EVENT_MORE`) */
export const CXL_DCD_EVENT_MORE = 1 << 0;
/** Get Event Records output flags (CXL r3.0 §8.2.9.2.2 Table 8-50; kernel CXL_GET_EVENT_FLAG_*) */
export const GET_EVENT_FLAG_OVERFLOW = 1 << 0;
export const GET_EVENT_FLAG_MORE_RECORDS = 1 << 1;
/** Clear Event Records flags bit 0: Clear All Events */
export const CLEAR_EVENT_FLAG_ALL = 1 << 0;
/** Add DC Response / Release DC flags bit 0: More (r3.1 Table 8-168) */
export const DC_RESPONSE_FLAG_MORE = 1 << 0;

export const EVENT_RECORD_SIZE = 128;
export const EVENT_RECORD_HDR_SIZE = 0x30;
export const EXTENT_SIZE = 0x28;
export const DC_PARTITION_SIZE = 40;
export const DC_CONFIG_IN_SIZE = 2;
export const DC_CONFIG_OUT_HDR = 8;
export const DC_CONFIG_TRAILER_SIZE = 16;
export const EXTENT_LIST_IN_SIZE = 8;
export const EXTENT_LIST_OUT_HDR = 16;
export const DC_RESPONSE_HDR = 8;
export const DC_RESPONSE_ENTRY = 24;
export const GET_EVENT_IN_SIZE = 1;
export const GET_EVENT_OUT_HDR = 0x20;
export const CLEAR_EVENT_HDR = 6;
/** the Clear Event Records handle count is a u8 (`CXL_CLEAR_EVENT_MAX_HANDLES`) */
export const CLEAR_EVENT_MAX_HANDLES = 255;
/** CXL_CAPACITY_MULTIPLIER: decode_length unit and partition alignment */
export const CXL_CAPACITY_MULTIPLIER = 256 * MiB;
/** CXL_MAX_DC_PARTITIONS (cxlmem.h): a DC Config lists at most 8 partitions (r3.1 §8.2.9.9.9.2) */
export const CXL_MAX_DC_PARTITIONS = 8;
/** CXL_DCD_BLOCK_LINE_SIZE (cxlmem.h): a partition's block size is a multiple of 64 bytes */
export const CXL_DCD_BLOCK_LINE_SIZE = 0x40;
export const U64_MASK = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// Results and errors
// ---------------------------------------------------------------------------------------------

export type WireErrorCode =
  | 'short-payload' // fewer bytes than the fixed part needs
  | 'count-exceeds-payload' // a count field promises more entries than the payload holds
  | 'bad-uuid' // a record UUID that is not the expected one
  | 'bad-value' // a field outside its domain (e.g. a u8 count > 255 while encoding-side)
  | 'unsafe-integer'; // a 64-bit value that does not fit a JS number

export interface WireError {
  code: WireErrorCode;
  message: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: WireError };

function fail<T>(code: WireErrorCode, message: string): Decoded<T> {
  return { ok: false, error: { code, message } };
}

function need<T>(view: Uint8Array, bytes: number, what: string): Decoded<T> | null {
  if (view.byteLength < bytes) return fail('short-payload', `${what}: ${view.byteLength} bytes, need at least ${bytes}`);
  return null;
}

function dv(view: Uint8Array): DataView {
  return new DataView(view.buffer, view.byteOffset, view.byteLength);
}

// ---------------------------------------------------------------------------------------------
// 64-bit helpers and UUIDs
// ---------------------------------------------------------------------------------------------

/** A decoded u64 as a number when it is ≤ Number.MAX_SAFE_INTEGER, else null. */
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export function u64ToNumber(v: bigint): number | null {
  return v >= 0n && v <= MAX_SAFE_BIG ? Number(v) : null;
}

/** Any number/bigint to a u64 bigint (masked; negative numbers wrap like C). */
export function toU64(v: number | bigint): bigint {
  const b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  // in range already (every DPA and length the host sends): no masked copy (#17)
  return b >= 0n && b <= U64_MASK ? b : b & U64_MASK;
}

/** True when `start + length` wraps past 2^64 (the kernel's `end < start` check). */
export function u64RangeWraps(start: bigint, length: bigint): boolean {
  return length === 0n ? false : start + length - 1n > U64_MASK;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

export function isNullUuid(s: string | null | undefined): boolean {
  return s === null || s === undefined || s === NULL_UUID;
}


/** Read 16 bytes at `off` as a lower-case UUID string (big-endian byte order, as uuid_t). */
export function uuidFromBytes(view: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX_BYTE[view[off + i] ?? 0];
  }
  return s;
}

/**
 * `uuidFromBytes` with a one-entry cache: the string last built from these 16 bytes is returned
 * when they have not changed. A record stream repeats its UUIDs (every DC record header carries
 * DC_EVENT_UUID, every untagged extent the null UUID): 16 byte compares instead of a 36-character
 * string built from 20 concatenations (#17). One cache per call site (`UuidCache`).
 */
export class UuidCache {
  private readonly bytes = new Uint8Array(16);
  private str: string | null = null;

  fromBytes(view: Uint8Array, off: number): string {
    const b = this.bytes;
    const s = this.str;
    if (s !== null) {
      let i = 0;
      while (i < 16 && view[off + i] === b[i]) i++;
      if (i === 16) return s;
    }
    for (let i = 0; i < 16; i++) b[i] = view[off + i] ?? 0;
    // a byte past the end reads 0 in uuidFromBytes; cache the same 0 so a repeat compares equal
    // only when the same bytes (or the same missing bytes) are seen
    if (off + 16 > view.byteLength || off < 0) { this.str = null; return uuidFromBytes(view, off); }
    return (this.str = uuidFromBytes(view, off));
  }
}

/**
 * The last two strings uuidToBytes converted and their bytes (per thread): a device encodes two
 * uuids per DC event record — DC_EVENT_UUID and the extent's tag, the null uuid when untagged —
 * inside the Clear the host is waiting for (device.ts pump), and the regular expression, the
 * replace and sixteen parseInt cost ~1 µs each time (#17, docs/performance.md, "Eleventh session: the DCD pipeline"). A hit writes the
 * bytes the full conversion wrote for the same string.
 */
const u2bStr: (string | null)[] = [null, null];
const u2bBytes = [new Uint8Array(16), new Uint8Array(16)];
let u2bNext = 0;

/** Write a UUID string as 16 bytes at `off`. RangeError on a malformed string (programmer error). */
export function uuidToBytes(uuid: string, buf: Uint8Array, off: number): void {
  const hit = uuid === u2bStr[0] ? 0 : uuid === u2bStr[1] ? 1 : -1;
  if (hit >= 0 && off >= 0 && off + 16 <= buf.byteLength) { buf.set(u2bBytes[hit]!, off); return; }
  if (!isUuid(uuid)) throw new RangeError(`uuidToBytes: not a UUID: ${JSON.stringify(uuid)}`);
  const digits = uuid.replace(/-/g, '');
  for (let i = 0; i < 16; i++) buf[off + i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  if (off >= 0 && off + 16 <= buf.byteLength) {
    const k = u2bNext;
    u2bNext ^= 1;
    u2bBytes[k]!.set(buf.subarray(off, off + 16));
    u2bStr[k] = uuid;
  }
}

function ensure(buf: Uint8Array, off: number, len: number, what: string): Uint8Array {
  if (off < 0 || off + len > buf.byteLength) throw new RangeError(`${what}: needs ${len} bytes at offset ${off}, buffer has ${buf.byteLength}`);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Extent — CXL r3.1 Table 8-51 "Dynamic Capacity Extent" [r4.0 Table 8-230]; `struct cxl_extent`
//   0x00 start_dpa le64 | 0x08 length le64 | 0x10 uuid[16] (tag) | 0x20 shared_extn_seq le16 |
//   0x22 reserved[6]
// ---------------------------------------------------------------------------------------------

export interface CxlExtentRaw {
  startDpa: bigint;
  length: bigint;
  /** tag; NULL_UUID = untagged */
  uuid: string;
  sharedExtnSeq: number;
}

export function encodeExtent(ext: CxlExtentRaw, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, EXTENT_SIZE, 'encodeExtent');
  const d = dv(b);
  d.setBigUint64(off + 0x00, toU64(ext.startDpa), true);
  d.setBigUint64(off + 0x08, toU64(ext.length), true);
  uuidToBytes(ext.uuid, b, off + 0x10);
  d.setUint16(off + 0x20, ext.sharedExtnSeq & 0xffff, true);
  b.fill(0, off + 0x22, off + EXTENT_SIZE);
  return EXTENT_SIZE;
}

export function decodeExtent(view: Uint8Array, off = 0): Decoded<CxlExtentRaw> {
  if (off < 0 || off + EXTENT_SIZE > view.byteLength) {
    return fail('short-payload', `extent at ${off}: ${view.byteLength} bytes, need ${off + EXTENT_SIZE}`);
  }
  return { ok: true, value: readExtent(dv(view), view, off, null) };
}

/** The extent at `off` (bounds checked by the caller); `d` views the whole of `view`. */
function readExtent(d: DataView, view: Uint8Array, off: number, uuids: UuidCache | null): CxlExtentRaw {
  return {
    startDpa: d.getBigUint64(off + 0x00, true),
    length: d.getBigUint64(off + 0x08, true),
    uuid: uuids === null ? uuidFromBytes(view, off + 0x10) : uuids.fromBytes(view, off + 0x10),
    sharedExtnSeq: d.getUint16(off + 0x20, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Common Event Record header — CXL r3.0 §8.2.9.2.1, Table 8-42 (kernel `struct cxl_event_record_hdr`;
// the first 0x30 bytes of every record)
//   0x00 uuid[16] | 0x10 length u8 | 0x11 flags[3] | 0x14 handle le16 | 0x16 related_handle le16 |
//   0x18 timestamp le64 | 0x20 maint_op_class u8 | 0x21 maint_op_subclass u8 | 0x22 ld_id le16 |
//   0x24 head_id u8 | 0x25 reserved[0xb]
// Dynamic Capacity Event Record — CXL r3.1 Table 8-50 [r4.0 Table 8-229]; `struct cxl_event_dcd`
//   0x30 event_type u8 | 0x31 validity_flags u8 | 0x32 host_id le16 | 0x34 updated_region_index u8 |
//   0x35 flags u8 (bit 0 More) | 0x36 reserved[2] | 0x38 extent (0x28) | 0x60 reserved[0x18] |
//   0x78 num_avail_extents le32 | 0x7c num_avail_tags le32
// ---------------------------------------------------------------------------------------------

export interface EventRecordHeader {
  uuid: string;
  length: number;
  /** 24-bit flags field */
  flags: number;
  handle: number;
  relatedHandle: number;
  timestamp: bigint;
  maintOpClass: number;
  maintOpSubclass: number;
  ldId: number;
  headId: number;
}

export interface DcEventRecord {
  hdr: EventRecordHeader;
  eventType: number;
  validityFlags: number;
  hostId: number;
  updatedRegionIndex: number;
  /** flags byte at 0x35; bit 0 = More */
  flags: number;
  extent: CxlExtentRaw;
  numAvailExtents: number;
  numAvailTags: number;
}

/** A record with sensible defaults for the header (uuid = DC_EVENT_UUID, length 128). */
export function makeDcEventRecord(p: {
  eventType: number;
  extent: CxlExtentRaw;
  more?: boolean;
  handle?: number;
  timestamp?: bigint;
  updatedRegionIndex?: number;
  hostId?: number;
  numAvailExtents?: number;
  numAvailTags?: number;
  uuid?: string;
}): DcEventRecord {
  return {
    hdr: {
      uuid: p.uuid ?? DC_EVENT_UUID,
      length: EVENT_RECORD_SIZE,
      flags: 0,
      handle: p.handle ?? 0,
      relatedHandle: 0,
      timestamp: p.timestamp ?? 0n,
      maintOpClass: 0,
      maintOpSubclass: 0,
      ldId: 0,
      headId: 0,
    },
    eventType: p.eventType,
    validityFlags: 0,
    hostId: p.hostId ?? 0,
    updatedRegionIndex: p.updatedRegionIndex ?? 0,
    flags: p.more ? CXL_DCD_EVENT_MORE : 0,
    extent: p.extent,
    numAvailExtents: p.numAvailExtents ?? 0,
    numAvailTags: p.numAvailTags ?? 0,
  };
}

export function encodeEventRecordHeader(h: EventRecordHeader, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, EVENT_RECORD_HDR_SIZE, 'encodeEventRecordHeader');
  const d = dv(b);
  b.fill(0, off, off + EVENT_RECORD_HDR_SIZE);
  uuidToBytes(h.uuid, b, off);
  d.setUint8(off + 0x10, h.length & 0xff);
  d.setUint8(off + 0x11, h.flags & 0xff);
  d.setUint8(off + 0x12, (h.flags >>> 8) & 0xff);
  d.setUint8(off + 0x13, (h.flags >>> 16) & 0xff);
  d.setUint16(off + 0x14, h.handle & 0xffff, true);
  d.setUint16(off + 0x16, h.relatedHandle & 0xffff, true);
  d.setBigUint64(off + 0x18, toU64(h.timestamp), true);
  d.setUint8(off + 0x20, h.maintOpClass & 0xff);
  d.setUint8(off + 0x21, h.maintOpSubclass & 0xff);
  d.setUint16(off + 0x22, h.ldId & 0xffff, true);
  d.setUint8(off + 0x24, h.headId & 0xff);
  return EVENT_RECORD_HDR_SIZE;
}

export function decodeEventRecordHeader(view: Uint8Array, off = 0): Decoded<EventRecordHeader> {
  if (off < 0 || off + EVENT_RECORD_HDR_SIZE > view.byteLength) {
    return fail('short-payload', `event record header at ${off}: ${view.byteLength} bytes, need ${off + EVENT_RECORD_HDR_SIZE}`);
  }
  return { ok: true, value: readEventRecordHeader(dv(view), view, off, null) };
}

/** The record header at `off` (bounds checked by the caller); `d` views the whole of `view`. */
function readEventRecordHeader(d: DataView, view: Uint8Array, off: number, uuids: UuidCache | null): EventRecordHeader {
  return {
    uuid: uuids === null ? uuidFromBytes(view, off) : uuids.fromBytes(view, off),
    length: d.getUint8(off + 0x10),
    flags: d.getUint8(off + 0x11) | (d.getUint8(off + 0x12) << 8) | (d.getUint8(off + 0x13) << 16),
    handle: d.getUint16(off + 0x14, true),
    relatedHandle: d.getUint16(off + 0x16, true),
    timestamp: d.getBigUint64(off + 0x18, true),
    maintOpClass: d.getUint8(off + 0x20),
    maintOpSubclass: d.getUint8(off + 0x21),
    ldId: d.getUint16(off + 0x22, true),
    headId: d.getUint8(off + 0x24),
  };
}

export function encodeDcEventRecord(rec: DcEventRecord, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, EVENT_RECORD_SIZE, 'encodeDcEventRecord');
  const d = dv(b);
  b.fill(0, off, off + EVENT_RECORD_SIZE);
  encodeEventRecordHeader(rec.hdr, b, off);
  d.setUint8(off + 0x30, rec.eventType & 0xff);
  d.setUint8(off + 0x31, rec.validityFlags & 0xff);
  d.setUint16(off + 0x32, rec.hostId & 0xffff, true);
  d.setUint8(off + 0x34, rec.updatedRegionIndex & 0xff);
  d.setUint8(off + 0x35, rec.flags & 0xff);
  encodeExtent(rec.extent, b, off + 0x38);
  d.setUint32(off + 0x78, rec.numAvailExtents >>> 0, true);
  d.setUint32(off + 0x7c, rec.numAvailTags >>> 0, true);
  return EVENT_RECORD_SIZE;
}

/**
 * Decode one 128-byte DC event record. `bad-uuid` when the record UUID is not DC_EVENT_UUID (the
 * host's DC handler ignores such records, v11-12), `short-payload` when fewer than 128 bytes.
 * The header's `length` byte is reported, not trusted.
 */
export function decodeDcEventRecord(view: Uint8Array, off = 0): Decoded<DcEventRecord> {
  return decodeDcEventLayout(view, off, true);
}

/**
 * Decode 128 bytes laid out as a DC event record whatever the record UUID says — the device's
 * view of its own log, where a hostile device keeps records with a foreign UUID. `short-payload`
 * only.
 */
export function decodeDcEventLayout(view: Uint8Array, off = 0, checkUuid = false): Decoded<DcEventRecord> {
  if (off < 0 || off + EVENT_RECORD_SIZE > view.byteLength) {
    return fail('short-payload', `DC event record at ${off}: ${view.byteLength} bytes, need ${off + EVENT_RECORD_SIZE}`);
  }
  // one DataView and no intermediate Decoded objects per record; the two UUIDs through caches
  // (#17). The whole record is in bounds, so the header and extent reads cannot fail.
  const d = dv(view);
  const hdr = readEventRecordHeader(d, view, off, HDR_UUIDS);
  if (checkUuid && hdr.uuid !== DC_EVENT_UUID) return fail('bad-uuid', `record UUID ${hdr.uuid} is not the DC event UUID`);
  return {
    ok: true,
    value: {
      hdr,
      eventType: d.getUint8(off + 0x30),
      validityFlags: d.getUint8(off + 0x31),
      hostId: d.getUint16(off + 0x32, true),
      updatedRegionIndex: d.getUint8(off + 0x34),
      flags: d.getUint8(off + 0x35),
      extent: readExtent(d, view, off + 0x38, EXTENT_UUIDS),
      numAvailExtents: d.getUint32(off + 0x78, true),
      numAvailTags: d.getUint32(off + 0x7c, true),
    },
  };
}

const HDR_UUIDS = new UuidCache();
const EXTENT_UUIDS = new UuidCache();

export function dcRecordMore(rec: DcEventRecord): boolean {
  return (rec.flags & CXL_DCD_EVENT_MORE) !== 0;
}

// ---------------------------------------------------------------------------------------------
// Get Event Records — CXL r3.0 §8.2.9.2.2, Table 8-49 (input) / Table 8-50 (output);
// kernel `struct cxl_get_event_payload`.
//   in:  0x00 event_log u8
//   out: 0x00 flags u8 (bit0 overflow, bit1 more records) | 0x01 reserved | 0x02 overflow_err_count
//        le16 | 0x04 first_overflow_timestamp le64 | 0x0c last_overflow_timestamp le64 |
//        0x14 record_count le16 | 0x16 reserved[10] | 0x20 records[] (128 bytes each)
// ---------------------------------------------------------------------------------------------

export interface GetEventRecordsIn {
  logType: number;
}

export function encodeGetEventRecordsIn(v: GetEventRecordsIn, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, GET_EVENT_IN_SIZE, 'encodeGetEventRecordsIn');
  b[off] = v.logType & 0xff;
  return GET_EVENT_IN_SIZE;
}

export function decodeGetEventRecordsIn(view: Uint8Array): Decoded<GetEventRecordsIn> {
  return need<GetEventRecordsIn>(view, GET_EVENT_IN_SIZE, 'Get Event Records input') ?? { ok: true, value: { logType: view[0] ?? 0 } };
}

export interface GetEventRecordsOut {
  flags: number;
  overflowErrCount: number;
  firstOverflowTimestamp: bigint;
  lastOverflowTimestamp: bigint;
  /** the count field as written on the wire (a hostile device may lie) */
  recordCount: number;
  /** 128-byte record images (views into the payload when decoded — copy to keep) */
  records: Uint8Array[];
}

export function getEventRecordsOutSize(nrRecords: number): number {
  return GET_EVENT_OUT_HDR + nrRecords * EVENT_RECORD_SIZE;
}

/** Writes the header fields as given, then `records` (each exactly 128 bytes). */
export function encodeGetEventRecordsOut(v: GetEventRecordsOut, buf: Uint8Array, off = 0): number {
  const len = getEventRecordsOutSize(v.records.length);
  const b = ensure(buf, off, len, 'encodeGetEventRecordsOut');
  const d = dv(b);
  b.fill(0, off, off + GET_EVENT_OUT_HDR);
  d.setUint8(off + 0x00, v.flags & 0xff);
  d.setUint16(off + 0x02, v.overflowErrCount & 0xffff, true);
  d.setBigUint64(off + 0x04, toU64(v.firstOverflowTimestamp), true);
  d.setBigUint64(off + 0x0c, toU64(v.lastOverflowTimestamp), true);
  d.setUint16(off + 0x14, v.recordCount & 0xffff, true);
  let p = off + GET_EVENT_OUT_HDR;
  for (const r of v.records) {
    if (r.byteLength !== EVENT_RECORD_SIZE) throw new RangeError(`encodeGetEventRecordsOut: record of ${r.byteLength} bytes`);
    b.set(r, p);
    p += EVENT_RECORD_SIZE;
  }
  return len;
}

export function decodeGetEventRecordsOut(view: Uint8Array): Decoded<GetEventRecordsOut> {
  const short = need<GetEventRecordsOut>(view, GET_EVENT_OUT_HDR, 'Get Event Records output');
  if (short) return short;
  const d = dv(view);
  const recordCount = d.getUint16(0x14, true);
  if (getEventRecordsOutSize(recordCount) > view.byteLength) {
    return fail('count-exceeds-payload', `record_count ${recordCount} needs ${getEventRecordsOutSize(recordCount)} bytes, payload has ${view.byteLength}`);
  }
  const records: Uint8Array[] = [];
  for (let i = 0; i < recordCount; i++) {
    const p = GET_EVENT_OUT_HDR + i * EVENT_RECORD_SIZE;
    records.push(view.subarray(p, p + EVENT_RECORD_SIZE));
  }
  return {
    ok: true,
    value: {
      flags: d.getUint8(0x00),
      overflowErrCount: d.getUint16(0x02, true),
      firstOverflowTimestamp: d.getBigUint64(0x04, true),
      lastOverflowTimestamp: d.getBigUint64(0x0c, true),
      recordCount,
      records,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clear Event Records — CXL r3.0 §8.2.9.2.3, Table 8-51 input; `struct cxl_mbox_clear_event_payload`
//   0x00 event_log u8 | 0x01 clear_flags u8 (bit0 clear all) | 0x02 nr_recs u8 | 0x03 reserved[3] |
//   0x06 handles le16[nr_recs]
// ---------------------------------------------------------------------------------------------

export interface ClearEventRecordsIn {
  logType: number;
  flags: number;
  /** the u8 count field as written on the wire (the encoder writes handles.length when omitted) */
  nrRecs?: number;
  handles: number[];
}

export function clearEventRecordsInSize(nrHandles: number): number {
  return CLEAR_EVENT_HDR + 2 * nrHandles;
}

export function encodeClearEventRecordsIn(v: ClearEventRecordsIn, buf: Uint8Array, off = 0): number {
  if (v.handles.length > CLEAR_EVENT_MAX_HANDLES) throw new RangeError(`encodeClearEventRecordsIn: ${v.handles.length} handles > 255`);
  const len = clearEventRecordsInSize(v.handles.length);
  const b = ensure(buf, off, len, 'encodeClearEventRecordsIn');
  const d = dv(b);
  b.fill(0, off, off + CLEAR_EVENT_HDR);
  d.setUint8(off + 0, v.logType & 0xff);
  d.setUint8(off + 1, v.flags & 0xff);
  d.setUint8(off + 2, (v.nrRecs ?? v.handles.length) & 0xff);
  for (let i = 0; i < v.handles.length; i++) d.setUint16(off + CLEAR_EVENT_HDR + 2 * i, (v.handles[i] ?? 0) & 0xffff, true);
  return len;
}

export function decodeClearEventRecordsIn(view: Uint8Array): Decoded<Required<ClearEventRecordsIn>> {
  const short = need<Required<ClearEventRecordsIn>>(view, CLEAR_EVENT_HDR, 'Clear Event Records input');
  if (short) return short;
  const d = dv(view);
  const nrRecs = d.getUint8(2);
  if (clearEventRecordsInSize(nrRecs) > view.byteLength) {
    return fail('count-exceeds-payload', `nr_recs ${nrRecs} needs ${clearEventRecordsInSize(nrRecs)} bytes, payload has ${view.byteLength}`);
  }
  const handles: number[] = [];
  for (let i = 0; i < nrRecs; i++) handles.push(d.getUint16(CLEAR_EVENT_HDR + 2 * i, true));
  return { ok: true, value: { logType: d.getUint8(0), flags: d.getUint8(1), nrRecs, handles } };
}

// ---------------------------------------------------------------------------------------------
// Set Event Interrupt Policy (0103h) — CXL r3.1 §8.2.9.2.5; kernel `struct cxl_event_interrupt_policy`.
//   0x00 info_settings | 0x01 warn_settings | 0x02 failure_settings | 0x03 fatal_settings |
//   0x04 dcd_settings (optional: 4 bytes without it, 5 with it)
// Settings bits[1:0] interrupt mode: 00 none, 01 MSI/MSI-X (`CXL_INT_MSI_MSIX`), 10 FW.
// ---------------------------------------------------------------------------------------------

export const EVENT_INT_POLICY_MIN_LEN = 4;
export const EVENT_INT_POLICY_LEN = 5;
export const CXL_INT_MODE_MASK = 0x3;
export const CXL_INT_MSI_MSIX = 0x1;

export interface EventInterruptPolicy {
  info: number;
  warn: number;
  failure: number;
  fatal: number;
  /** absent when the host sent the 4-byte form (no DCD) */
  dcd?: number;
}

export function encodeEventInterruptPolicy(v: EventInterruptPolicy, buf: Uint8Array, off = 0): number {
  const len = v.dcd === undefined ? EVENT_INT_POLICY_MIN_LEN : EVENT_INT_POLICY_LEN;
  const b = ensure(buf, off, len, 'encodeEventInterruptPolicy');
  b[off] = v.info & 0xff;
  b[off + 1] = v.warn & 0xff;
  b[off + 2] = v.failure & 0xff;
  b[off + 3] = v.fatal & 0xff;
  if (v.dcd !== undefined) b[off + 4] = v.dcd & 0xff;
  return len;
}

export function decodeEventInterruptPolicy(view: Uint8Array): Decoded<EventInterruptPolicy> {
  const short = need<EventInterruptPolicy>(view, EVENT_INT_POLICY_MIN_LEN, 'Set Event Interrupt Policy input');
  if (short) return short;
  const v: EventInterruptPolicy = { info: view[0] ?? 0, warn: view[1] ?? 0, failure: view[2] ?? 0, fatal: view[3] ?? 0 };
  if (view.byteLength >= EVENT_INT_POLICY_LEN) v.dcd = view[4] ?? 0;
  return { ok: true, value: v };
}

// ---------------------------------------------------------------------------------------------
// Get Dynamic Capacity Configuration (4800h) — CXL r3.1 §8.2.9.9.9.1 (input/output payload tables
// in the 8-165.. range; the region record is "CXL 3.2 Table 8-180" per the v11-02 comment);
// kernel `cxl_mbox_get_dc_config_in/out`, `struct cxl_dc_partition`.
//   in:  0x00 region_count u8 | 0x01 start_region_index u8
//   out: 0x00 avail_region_count u8 | 0x01 regions_returned u8 | 0x02 reserved[6] |
//        0x08 region[n] (40 bytes each) | then num_extents_supported, num_extents_available,
//        num_tags_supported, num_tags_available (4 × le32; the kernel ignores them)
//   region: 0x00 base le64 | 0x08 decode_length le64 (256 MiB units) | 0x10 length le64 |
//        0x18 block_size le64 | 0x20 dsmad_handle le32 | 0x24 flags u8 | 0x25 reserved[3]
// ---------------------------------------------------------------------------------------------

export interface GetDcConfigIn {
  partitionCount: number;
  startPartitionIndex: number;
}

export function encodeGetDcConfigIn(v: GetDcConfigIn, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, DC_CONFIG_IN_SIZE, 'encodeGetDcConfigIn');
  b[off] = v.partitionCount & 0xff;
  b[off + 1] = v.startPartitionIndex & 0xff;
  return DC_CONFIG_IN_SIZE;
}

export function decodeGetDcConfigIn(view: Uint8Array): Decoded<GetDcConfigIn> {
  return (
    need<GetDcConfigIn>(view, DC_CONFIG_IN_SIZE, 'Get DC Config input') ?? {
      ok: true,
      value: { partitionCount: view[0] ?? 0, startPartitionIndex: view[1] ?? 0 },
    }
  );
}

export interface DcPartitionRaw {
  /** DPA start, bytes */
  base: bigint;
  /** in units of 256 MiB (CXL_CAPACITY_MULTIPLIER) */
  decodeLength: bigint;
  /** usable bytes */
  length: bigint;
  blockSize: bigint;
  /** u32 on the wire; the kernel requires ≤ 0xff (v11-03) */
  dsmadHandle: number;
  flags: number;
}

export interface DcConfigTrailer {
  numExtentsSupported: number;
  numExtentsAvailable: number;
  numTagsSupported: number;
  numTagsAvailable: number;
}

export interface GetDcConfigOut {
  availPartitionCount: number;
  /** the count field as written on the wire */
  partitionsReturned: number;
  partitions: DcPartitionRaw[];
  /** present when the payload carries the 16 trailing bytes */
  trailer: DcConfigTrailer | null;
}

export function getDcConfigOutSize(nrPartitions: number, withTrailer: boolean): number {
  return DC_CONFIG_OUT_HDR + nrPartitions * DC_PARTITION_SIZE + (withTrailer ? DC_CONFIG_TRAILER_SIZE : 0);
}

export function encodeDcPartition(p: DcPartitionRaw, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, DC_PARTITION_SIZE, 'encodeDcPartition');
  const d = dv(b);
  b.fill(0, off, off + DC_PARTITION_SIZE);
  d.setBigUint64(off + 0x00, toU64(p.base), true);
  d.setBigUint64(off + 0x08, toU64(p.decodeLength), true);
  d.setBigUint64(off + 0x10, toU64(p.length), true);
  d.setBigUint64(off + 0x18, toU64(p.blockSize), true);
  d.setUint32(off + 0x20, p.dsmadHandle >>> 0, true);
  d.setUint8(off + 0x24, p.flags & 0xff);
  return DC_PARTITION_SIZE;
}

export function decodeDcPartition(view: Uint8Array, off = 0): Decoded<DcPartitionRaw> {
  if (off < 0 || off + DC_PARTITION_SIZE > view.byteLength) {
    return fail('short-payload', `DC partition at ${off}: ${view.byteLength} bytes, need ${off + DC_PARTITION_SIZE}`);
  }
  const d = dv(view);
  return {
    ok: true,
    value: {
      base: d.getBigUint64(off + 0x00, true),
      decodeLength: d.getBigUint64(off + 0x08, true),
      length: d.getBigUint64(off + 0x10, true),
      blockSize: d.getBigUint64(off + 0x18, true),
      dsmadHandle: d.getUint32(off + 0x20, true),
      flags: d.getUint8(off + 0x24),
    },
  };
}

export function encodeGetDcConfigOut(v: GetDcConfigOut, buf: Uint8Array, off = 0): number {
  const len = getDcConfigOutSize(v.partitions.length, v.trailer !== null);
  const b = ensure(buf, off, len, 'encodeGetDcConfigOut');
  const d = dv(b);
  b.fill(0, off, off + DC_CONFIG_OUT_HDR);
  d.setUint8(off + 0, v.availPartitionCount & 0xff);
  d.setUint8(off + 1, v.partitionsReturned & 0xff);
  let p = off + DC_CONFIG_OUT_HDR;
  for (const part of v.partitions) p += encodeDcPartition(part, b, p);
  if (v.trailer) {
    d.setUint32(p + 0, v.trailer.numExtentsSupported >>> 0, true);
    d.setUint32(p + 4, v.trailer.numExtentsAvailable >>> 0, true);
    d.setUint32(p + 8, v.trailer.numTagsSupported >>> 0, true);
    d.setUint32(p + 12, v.trailer.numTagsAvailable >>> 0, true);
  }
  return len;
}

/**
 * Decode Get DC Config output. As the kernel (v11-02 `cxl_get_dc_config`): the reply must hold at
 * least `partitions_returned` records ("at least, not exactly"); the trailer is decoded when the
 * 16 bytes after the records are present. `partitions_returned > 8` is NOT rejected here — that is
 * a host policy (C1), not a wire error.
 */
export function decodeGetDcConfigOut(view: Uint8Array): Decoded<GetDcConfigOut> {
  const short = need<GetDcConfigOut>(view, DC_CONFIG_OUT_HDR, 'Get DC Config output');
  if (short) return short;
  const avail = view[0] ?? 0;
  const returned = view[1] ?? 0;
  const recEnd = getDcConfigOutSize(returned, false);
  if (recEnd > view.byteLength) {
    return fail('count-exceeds-payload', `partitions_returned ${returned} needs ${recEnd} bytes, payload has ${view.byteLength}`);
  }
  const partitions: DcPartitionRaw[] = [];
  for (let i = 0; i < returned; i++) {
    const p = decodeDcPartition(view, DC_CONFIG_OUT_HDR + i * DC_PARTITION_SIZE);
    if (!p.ok) return p;
    partitions.push(p.value);
  }
  let trailer: DcConfigTrailer | null = null;
  if (recEnd + DC_CONFIG_TRAILER_SIZE <= view.byteLength) {
    const d = dv(view);
    trailer = {
      numExtentsSupported: d.getUint32(recEnd + 0, true),
      numExtentsAvailable: d.getUint32(recEnd + 4, true),
      numTagsSupported: d.getUint32(recEnd + 8, true),
      numTagsAvailable: d.getUint32(recEnd + 12, true),
    };
  }
  return { ok: true, value: { availPartitionCount: avail, partitionsReturned: returned, partitions, trailer } };
}

// ---------------------------------------------------------------------------------------------
// Get Dynamic Capacity Extent List (4801h) — CXL r3.1 §8.2.9.9.9.2 (input/output payload tables)
// [v11-27 `cxl_mbox_get_extent_in/out`; QEMU `cmd_dcd_get_dyn_cap_ext_list`].
//   in:  0x00 extent_cnt le32 | 0x04 start_extent_index le32
//   out: 0x00 returned_extent_count le32 | 0x04 total_extent_count le32 | 0x08 generation_num le32 |
//        0x0c reserved[4] | 0x10 extent[returned] (0x28 each)
// ---------------------------------------------------------------------------------------------

export interface GetDcExtentListIn {
  extentCount: number;
  startExtentIndex: number;
}

export function encodeGetDcExtentListIn(v: GetDcExtentListIn, buf: Uint8Array, off = 0): number {
  const b = ensure(buf, off, EXTENT_LIST_IN_SIZE, 'encodeGetDcExtentListIn');
  const d = dv(b);
  d.setUint32(off, v.extentCount >>> 0, true);
  d.setUint32(off + 4, v.startExtentIndex >>> 0, true);
  return EXTENT_LIST_IN_SIZE;
}

export function decodeGetDcExtentListIn(view: Uint8Array): Decoded<GetDcExtentListIn> {
  const short = need<GetDcExtentListIn>(view, EXTENT_LIST_IN_SIZE, 'Get DC Extent List input');
  if (short) return short;
  const d = dv(view);
  return { ok: true, value: { extentCount: d.getUint32(0, true), startExtentIndex: d.getUint32(4, true) } };
}

export interface GetDcExtentListOut {
  /** the count field as written on the wire */
  returnedExtentCount: number;
  totalExtentCount: number;
  generationNum: number;
  extents: CxlExtentRaw[];
}

export function getDcExtentListOutSize(nrExtents: number): number {
  return EXTENT_LIST_OUT_HDR + nrExtents * EXTENT_SIZE;
}

export function encodeGetDcExtentListOut(v: GetDcExtentListOut, buf: Uint8Array, off = 0): number {
  const len = getDcExtentListOutSize(v.extents.length);
  const b = ensure(buf, off, len, 'encodeGetDcExtentListOut');
  const d = dv(b);
  b.fill(0, off, off + EXTENT_LIST_OUT_HDR);
  d.setUint32(off + 0, v.returnedExtentCount >>> 0, true);
  d.setUint32(off + 4, v.totalExtentCount >>> 0, true);
  d.setUint32(off + 8, v.generationNum >>> 0, true);
  let p = off + EXTENT_LIST_OUT_HDR;
  for (const e of v.extents) p += encodeExtent(e, b, p);
  return len;
}

/** The 16-byte header of a Get DC Extent List output alone (no entries read). */
export function decodeGetDcExtentListOutHeader(view: Uint8Array): Decoded<Omit<GetDcExtentListOut, 'extents'>> {
  const short = need<Omit<GetDcExtentListOut, 'extents'>>(view, EXTENT_LIST_OUT_HDR, 'Get DC Extent List output header');
  if (short) return short;
  const d = dv(view);
  return { ok: true, value: { returnedExtentCount: d.getUint32(0, true), totalExtentCount: d.getUint32(4, true), generationNum: d.getUint32(8, true) } };
}

export function decodeGetDcExtentListOut(view: Uint8Array): Decoded<GetDcExtentListOut> {
  const short = need<GetDcExtentListOut>(view, EXTENT_LIST_OUT_HDR, 'Get DC Extent List output');
  if (short) return short;
  const d = dv(view);
  const returned = d.getUint32(0, true);
  // Compare in floating point: returned * 40 cannot overflow a double, and we never allocate
  // before this check (a hostile count of 0xFFFFFFFF must not size an array).
  if (getDcExtentListOutSize(returned) > view.byteLength) {
    return fail('count-exceeds-payload', `returned_extent_count ${returned} needs ${getDcExtentListOutSize(returned)} bytes, payload has ${view.byteLength}`);
  }
  const extents: CxlExtentRaw[] = [];
  for (let i = 0; i < returned; i++) {
    const e = decodeExtent(view, EXTENT_LIST_OUT_HDR + i * EXTENT_SIZE);
    if (!e.ok) return e;
    extents.push(e.value);
  }
  return {
    ok: true,
    value: { returnedExtentCount: returned, totalExtentCount: d.getUint32(4, true), generationNum: d.getUint32(8, true), extents },
  };
}

// ---------------------------------------------------------------------------------------------
// Add Dynamic Capacity Response (4802h) and Release Dynamic Capacity (4803h) input — CXL r3.1
// §8.2.9.9.9.3/.4, Tables 8-168/8-169/8-170; `struct cxl_mbox_dc_response`, QEMU
// `CXLUpdateDCExtentListInPl`.
//   0x00 extent_list_size (updated extent count) le32 | 0x04 flags u8 (bit0 More) | 0x05 reserved[3] |
//   0x08 + 24·i { dpa_start le64, length le64, reserved[8] }
// The response carries DPA start/length only — no tag, no sequence number.
// ---------------------------------------------------------------------------------------------

export interface DcResponseEntry {
  dpaStart: bigint;
  length: bigint;
}

export interface DcResponse {
  /** the count field as written on the wire (the encoder writes extents.length when omitted) */
  extentListSize?: number;
  flags: number;
  extents: DcResponseEntry[];
}

export function dcResponseSize(nrEntries: number): number {
  return DC_RESPONSE_HDR + nrEntries * DC_RESPONSE_ENTRY;
}

/** Most entries one mailbox command can carry (kernel `cxl_send_dc_response`). */
export function dcResponseMaxEntries(payloadSize: number): number {
  return Math.max(0, Math.floor((payloadSize - DC_RESPONSE_HDR) / DC_RESPONSE_ENTRY));
}

export function encodeDcResponse(v: DcResponse, buf: Uint8Array, off = 0): number {
  const len = dcResponseSize(v.extents.length);
  const b = ensure(buf, off, len, 'encodeDcResponse');
  const d = dv(b);
  b.fill(0, off, off + len);
  d.setUint32(off + 0, (v.extentListSize ?? v.extents.length) >>> 0, true);
  d.setUint8(off + 4, v.flags & 0xff);
  let p = off + DC_RESPONSE_HDR;
  const ex = v.extents;
  for (let i = 0; i < ex.length; i++) {
    const e = ex[i]!;
    d.setBigUint64(p, toU64(e.dpaStart), true);
    d.setBigUint64(p + 8, toU64(e.length), true);
    p += DC_RESPONSE_ENTRY;
  }
  return len;
}

/**
 * `encodeDcResponse` of `count` ranges of `list` from `from` (a DPA and a length in numbers, as
 * the host keeps them), without a DataView, an entry object and two BigInts per range (#17: one
 * Release DC per released extent): the same bytes `encodeDcResponse` writes for
 * `{ flags, extents: ranges as BigInt(dpa), BigInt(len) }` — a non-negative safe integer is written
 * as its two 32-bit halves; any other value (a fraction, a negative, beyond 2^53) takes
 * `encodeDcResponse` itself, so it throws or masks exactly as it did.
 */
export function encodeDcResponseRanges(flags: number, list: readonly { dpa: number; len: number }[], from: number, count: number, buf: Uint8Array, off = 0): number {
  for (let i = from; i < from + count; i++) {
    const e = list[i]!;
    if (!(Number.isSafeInteger(e.dpa) && e.dpa >= 0 && Number.isSafeInteger(e.len) && e.len >= 0)) {
      const extents: DcResponseEntry[] = [];
      for (let k = from; k < from + count; k++) extents.push({ dpaStart: BigInt(list[k]!.dpa), length: BigInt(list[k]!.len) });
      return encodeDcResponse({ flags, extents }, buf, off);
    }
  }
  const len = dcResponseSize(count);
  const b = ensure(buf, off, len, 'encodeDcResponse');
  b.fill(0, off, off + len);
  putU32(b, off, count);
  b[off + 4] = flags & 0xff;
  let p = off + DC_RESPONSE_HDR;
  for (let i = from; i < from + count; i++) {
    const e = list[i]!;
    putU64Safe(b, p, e.dpa);
    putU64Safe(b, p + 8, e.len);
    p += DC_RESPONSE_ENTRY;
  }
  return len;
}

/** little-endian u32 (v in [0, 2^32)) */
function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
}

/** little-endian u64 of a non-negative safe integer: its low and high 32-bit halves */
function putU64Safe(b: Uint8Array, p: number, v: number): void {
  putU32(b, p, v >>> 0);
  putU32(b, p + 4, Math.floor(v / 0x100000000) >>> 0);
}

/** The 8-byte header of an Add DC Response / Release DC payload alone (no entries read). */
export function decodeDcResponseHeader(view: Uint8Array): Decoded<Omit<Required<DcResponse>, 'extents'>> {
  const short = need<Omit<Required<DcResponse>, 'extents'>>(view, DC_RESPONSE_HDR, 'DC response header');
  if (short) return short;
  const d = dv(view);
  return { ok: true, value: { extentListSize: d.getUint32(0, true), flags: d.getUint8(4) } };
}

/**
 * Decode an Add DC Response / Release DC payload. `short-payload` when fewer than 8 bytes
 * (R10/R19), `count-exceeds-payload` when extent_list_size entries do not fit (R12).
 */
export function decodeDcResponse(view: Uint8Array): Decoded<Required<DcResponse>> {
  const short = need<Required<DcResponse>>(view, DC_RESPONSE_HDR, 'DC response header');
  if (short) return short;
  const d = dv(view);
  const n = d.getUint32(0, true);
  if (dcResponseSize(n) > view.byteLength) {
    return fail('count-exceeds-payload', `extent_list_size ${n} needs ${dcResponseSize(n)} bytes, payload has ${view.byteLength}`);
  }
  const extents: DcResponseEntry[] = [];
  for (let i = 0; i < n; i++) {
    const p = DC_RESPONSE_HDR + i * DC_RESPONSE_ENTRY;
    extents.push({ dpaStart: d.getBigUint64(p, true), length: d.getBigUint64(p + 8, true) });
  }
  return { ok: true, value: { extentListSize: n, flags: d.getUint8(4), extents } };
}

export function dcResponseMore(v: DcResponse): boolean {
  return (v.flags & DC_RESPONSE_FLAG_MORE) !== 0;
}

// ---------------------------------------------------------------------------------------------
// Allocating variants: a new Uint8Array of exactly the encoded length.
// ---------------------------------------------------------------------------------------------

function fresh(size: number, write: (b: Uint8Array) => number): Uint8Array {
  const b = new Uint8Array(size);
  const n = write(b);
  return n === size ? b : b.subarray(0, n);
}

export const extentBytes = (v: CxlExtentRaw): Uint8Array => fresh(EXTENT_SIZE, (b) => encodeExtent(v, b));
export const dcEventRecordBytes = (v: DcEventRecord): Uint8Array => fresh(EVENT_RECORD_SIZE, (b) => encodeDcEventRecord(v, b));
export const getEventRecordsInBytes = (v: GetEventRecordsIn): Uint8Array => fresh(GET_EVENT_IN_SIZE, (b) => encodeGetEventRecordsIn(v, b));
export const getEventRecordsOutBytes = (v: GetEventRecordsOut): Uint8Array => fresh(getEventRecordsOutSize(v.records.length), (b) => encodeGetEventRecordsOut(v, b));
export const clearEventRecordsInBytes = (v: ClearEventRecordsIn): Uint8Array => fresh(clearEventRecordsInSize(v.handles.length), (b) => encodeClearEventRecordsIn(v, b));
export const getDcConfigInBytes = (v: GetDcConfigIn): Uint8Array => fresh(DC_CONFIG_IN_SIZE, (b) => encodeGetDcConfigIn(v, b));
export const getDcConfigOutBytes = (v: GetDcConfigOut): Uint8Array => fresh(getDcConfigOutSize(v.partitions.length, v.trailer !== null), (b) => encodeGetDcConfigOut(v, b));
export const getDcExtentListInBytes = (v: GetDcExtentListIn): Uint8Array => fresh(EXTENT_LIST_IN_SIZE, (b) => encodeGetDcExtentListIn(v, b));
export const getDcExtentListOutBytes = (v: GetDcExtentListOut): Uint8Array => fresh(getDcExtentListOutSize(v.extents.length), (b) => encodeGetDcExtentListOut(v, b));
export const dcResponseBytes = (v: DcResponse): Uint8Array => fresh(dcResponseSize(v.extents.length), (b) => encodeDcResponse(v, b));
