/**
 * DOC: device personalities — where QEMU's rules and the cxl_test mock's rules differ.
 *
 * The device core (`device.ts`) owns the state (the three extent sets, the event log, the media)
 * and the mailbox switch. Everything that differs between the two public reference devices
 * (docs/personalities.md "How the mock differs from QEMU") is a method or a flag of a personality:
 *  - how the FM offers capacity (QEMU validates R1–R4 and forms one pending group per chain; the
 *    mock checks only duplicate starts, mock 6),
 *  - how an Add DC Response is judged (QEMU: sub-ranges of the FIRST pending group, all-or-nothing,
 *    R10–R18; mock: exact matches in offer order, mock 9),
 *  - how Release DC is judged (QEMU: split and all-or-nothing, R19–R22; mock: ignore what is not
 *    accepted, mock 10),
 *  - the IRQ rule (QEMU: only on the log's 0→1 transition, R7; mock: after every record, "fake the
 *    irq"), Get Event Records batch sizes, Get DC Config details.
 *
 * The hostile personality is the mock plus lies (`hostile.ts`). A variant is data consulted where
 * behaviour differs, never a copied module (README.md). The hooks the device calls and the context
 * it hands in are `personality-api.ts`; `registry.ts` maps a name to its class.
 */
import {
  decodeGetDcConfigIn, decodeGetDcExtentListIn, encodeGetDcConfigOut, encodeGetDcExtentListOut,
  CXL_CAPACITY_MULTIPLIER, DC_CONFIG_IN_SIZE, DC_CONFIG_OUT_HDR, DC_CONFIG_TRAILER_SIZE, DC_PARTITION_SIZE,
  EXTENT_LIST_OUT_HDR, EXTENT_SIZE, MOCK_ERRNO_RC, NULL_UUID, RC, type CxlExtentRaw, type DcPartitionRaw,
} from '../wire/cxl.js';
import { MOCK_EVENT_RET_MAX, type Personality } from './config.js';
import type { ClearRule } from './event-log.js';
import type {
  DeviceContext, DevicePersonality, FmAddSource, HostileHooks, MboxReply, NormalizedRelease, OfferRecord,
} from './personality-api.js';
import type { AddCapacityOk, FmResult, ReleaseCapacityOk, SelectionPolicy } from './types.js';

/**
 * The shared base of the personalities: the mock's defaults (Get DC Config, Get DC Extent List,
 * records per Get, …) written against the `DeviceContext`, never the device itself.
 */
export abstract class BasePersonality implements DevicePersonality {
  abstract readonly name: Personality;
  /** raise the event IRQ after every logged record (mock "Fake the irq"), not only on the 0→1 edge (R7) */
  abstract readonly irqEveryRecord: boolean;
  /** QEMU Get DC Config: trailer counts and `start_rid >= num_regions` → Invalid Input (R23) */
  abstract readonly qemuConfigReply: boolean;
  /**
   * Failures are the mock's errnos (-EINVAL, -ENOMEM) passed to the host unchanged
   * (`cxl_mock_mbox_send` → `cxl_internal_send_cmd`), not CXL return codes.
   */
  abstract readonly mockErrnos: boolean;
  /**
   * MORE_RECORDS whenever the log is not empty (QEMU `cxl_event_get_records`: `if
   * (!cxl_event_empty(log))`) rather than only when records remain beyond the batch (mock
   * `mock_get_event`: `if (handle != log->last_handle)`).
   */
  abstract readonly moreWhenNonEmpty: boolean;
  /**
   * Fixed-size inputs must have exactly their size, else Invalid Payload Length (QEMU
   * `cxl_process_cci_message`: `len_in != cxl_cmd->in && cxl_cmd->in != ~0`). The mock checks
   * only Get Event Records (`size_in != sizeof(log_type)` → -EINVAL).
   */
  abstract readonly exactInputLengths: boolean;
  /** overflow reset rule of Clear Event Records (event-log.ts) */
  abstract readonly clearRule: ClearRule;

  /** the hostile generator (hostile.ts overrides) */
  readonly hostile: HostileHooks | null = null;

  constructor(protected readonly dev: DeviceContext) {}

  /** This device's code for a refusal QEMU answers with `rc` (the mock answers -EINVAL). */
  refuse(rc: number): number {
    return this.mockErrnos ? MOCK_ERRNO_RC.EINVAL : rc;
  }

  /** null if the selection policy is supported, else the refusal message (R1). */
  abstract policyRefusal(policy: SelectionPolicy): string | null;

  /** Offer capacity (QMP add / FM API 5604h / cxl_test inject / scenario add-capacity records). */
  abstract fmAdd(records: OfferRecord[], src: FmAddSource): FmResult<AddCapacityOk>;

  /** Ask the host to release capacity (QMP release / FM API 5605h / cxl_test dc_del_extent). */
  abstract fmRelease(req: NormalizedRelease): FmResult<ReleaseCapacityOk>;

  /** Add Dynamic Capacity Response (4802h): returns the mailbox rc. */
  abstract addDcResponse(input: Uint8Array): number;

  /** Release Dynamic Capacity (4803h): returns the mailbox rc. */
  abstract releaseDc(input: Uint8Array): number;

  /** Set Event Interrupt Policy (0103h): returns the mailbox rc. */
  abstract setEventInterruptPolicy(input: Uint8Array): number;

  /**
   * A record past 2^53 (device.ts `injectWithU64`): the mock's `new_extent_valid` refuses only a
   * zero length, so anything else is logged as written.
   */
  u64RecordRefusal(_dpa: bigint, length: bigint): string | null {
    return length === 0n ? 'zero length (new_extent_valid, mock 6)' : null;
  }

  /** `num_avail_extents` in event records (QEMU R7: 512 − total_extent_count; the mock sends 0). */
  numAvailExtents(): number {
    return 0;
  }

  /**
   * How many records one Get Event Records may return (before the payload-fit cap). 'mock-counter':
   * `ret_limit = (atomic_inc_return(&event_counter) % CXL_TEST_EVENT_RET_MAX) + 1` — one static
   * counter for every mock device and every log (mem.c `mock_get_event`), here a SharedArrayBuffer
   * word shared by all device workers (DeviceOptions.mockCounter). So the sequence a device sees
   * depends on Gets to other devices: 2, 3, 4, 1, 2, … for a lone device.
   */
  recordsPerGet(): number {
    const r = this.dev.config.recordsPerGet;
    if (r === 'mock-counter') return ((this.dev.bumpMockCounter() + 1) % MOCK_EVENT_RET_MAX) + 1;
    return r.min === r.max ? r.min : this.dev.randomRange(r.min, r.max);
  }

  /** Tag and seq kept on an accepted sub-range of `pending` (QEMU upstream zeroes them, R16). */
  acceptedTagSeq(pending: { tag: string | null; seq: number }): { tag: string | null; seq: number } {
    return { tag: pending.tag, seq: pending.seq };
  }

  /** Called after a device reset (personalities with seeded state re-draw it). */
  onReset(): void {}

  /** Last word on every mailbox reply (the hostile personality lies here). */
  transformReply(_opcode: number, _input: Uint8Array, _out: Uint8Array, reply: MboxReply): MboxReply {
    return reply;
  }

  // ----------------------------------------------------------------------------- Get DC Config

  partitionsRaw(): DcPartitionRaw[] {
    return this.dev.config.partitions.map((p) => ({
      base: BigInt(p.base),
      decodeLength: BigInt(p.decodeLength / CXL_CAPACITY_MULTIPLIER),
      length: BigInt(p.length),
      blockSize: BigInt(p.blockSize),
      dsmadHandle: p.dsmadHandle,
      flags: 0,
    }));
  }

  /**
   * Get Dynamic Capacity Configuration (4800h), QEMU `cmd_dcd_get_dyn_cap_config` / mock
   * `mock_get_dc_config`. QEMU: input exactly 2 bytes, `start_rid >= num_regions` → Invalid Input
   * and the four trailing counts (R23: supported 512, available 512 − total, tags 0/0). Mock: a
   * start past the end returns zero partitions, and no trailer; it reads 2 input bytes whatever
   * the length (a shorter input is refused with -EINVAL here: the model has no stale bytes to read).
   */
  getDcConfig(input: Uint8Array, out: Uint8Array): MboxReply {
    if (this.exactInputLengths && input.byteLength !== DC_CONFIG_IN_SIZE) return { rc: RC.INVALID_PAYLOAD_LENGTH, outLen: 0 };
    const d = decodeGetDcConfigIn(input);
    if (!d.ok) return { rc: this.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    const all = this.partitionsRaw();
    const start = d.value.startPartitionIndex;
    if (start >= all.length && this.qemuConfigReply) return { rc: RC.INVALID_INPUT, outLen: 0 };
    const trailer = this.qemuConfigReply;
    const fit = Math.floor((out.byteLength - DC_CONFIG_OUT_HDR - (trailer ? DC_CONFIG_TRAILER_SIZE : 0)) / DC_PARTITION_SIZE);
    const count = Math.max(0, Math.min(d.value.partitionCount, all.length - start, fit));
    const parts = all.slice(start, start + count);
    const cfg = this.dev.config;
    const total = this.dev.extents.totalExtentCount();
    const outLen = encodeGetDcConfigOut(
      {
        availPartitionCount: all.length,
        partitionsReturned: parts.length,
        partitions: parts,
        trailer: trailer
          ? { numExtentsSupported: cfg.maxExtents, numExtentsAvailable: Math.max(0, cfg.maxExtents - total), numTagsSupported: 0, numTagsAvailable: 0 }
          : null,
      },
      out,
    );
    return { rc: RC.SUCCESS, outLen };
  }

  // ----------------------------------------------------------------------------- Get DC Extent List

  /**
   * Get Dynamic Capacity Extent List (4801h), mock `mock_get_dc_extent_list` (mock 11): accepted
   * extents only, `start_idx > total` → -EINVAL, `total_extent_count` and `generation_num`
   * filled. The mock never sets `cmd->size_out`, so the reply is the whole payload buffer
   * (`outLen` = payload size; bytes past the entries are whatever the buffer held). It does not
   * bound `extent_cnt` by the buffer; the model stops at what fits. QEMU overrides (qemu.ts).
   */
  getDcExtentList(input: Uint8Array, out: Uint8Array): MboxReply {
    const dec = decodeGetDcExtentListIn(input);
    if (!dec.ok) return { rc: this.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    const d = dec.value;
    const acc = this.dev.extents.accepted;
    const total = acc.length;
    if (d.startExtentIndex > total) return { rc: this.refuse(RC.INVALID_INPUT), outLen: 0 };
    const fit = Math.max(0, Math.floor((out.byteLength - EXTENT_LIST_OUT_HDR) / EXTENT_SIZE));
    const count = Math.min(d.extentCount, total - d.startExtentIndex, fit);
    const extents: CxlExtentRaw[] = [];
    for (let i = 0; i < count; i++) {
      const e = acc[d.startExtentIndex + i];
      if (!e) break;
      extents.push({ startDpa: BigInt(e.dpa), length: BigInt(e.length), uuid: e.tag ?? NULL_UUID, sharedExtnSeq: e.seq });
    }
    encodeGetDcExtentListOut(
      { returnedExtentCount: extents.length, totalExtentCount: total, generationNum: this.dev.extents.generation, extents },
      out,
    );
    return { rc: RC.SUCCESS, outLen: out.byteLength };
  }
}

