/**
 * DOC: the Dynamic Capacity Device — one instance per memdev, pure single-threaded logic.
 *
 * `DcdDevice` is the model's `cxl_mockmem_data` + QEMU's `CXLType3Dev` DC state: three extent sets
 * (fm → sent → accepted, extents.ts), one DC event log (event-log.ts), media backed at block
 * granularity (media.ts), and a personality (qemu / cxl-test / hostile) for every rule on which
 * the two reference devices differ. The device calls the personality only through the hooks of
 * `DevicePersonality` and hands it a `DeviceContext` of methods (personality-api.ts); it gets one
 * from the registry by name (registry.ts) and names no personality class.
 *
 * Two faces:
 *  - the mailbox: `mbox(opcode, input, out)` is `cxl_mock_mbox_send`, one switch dispatching to
 *    `mock*` handlers (Get/Clear Event Records for the DC log — other logs are empty —, Set Event
 *    Interrupt Policy, 4800h–4803h);
 *    anything else is Unsupported. It never throws: a last-resort catch turns an exception into
 *    Internal Error and counts it;
 *  - the FM API (QMP `cxl-add/release-dynamic-capacity`, cxl_test's `dc_inject_extent` /
 *    `dc_del_extent`, scenario `add-capacity` records), with typed `{ok:true,…} | {ok:false,
 *    code, error}` results, plus queries and `reset()`.
 *
 * Records the FM offers go through an FM queue (`outbox`) into the event log. With
 * `eventLogFull: 'drop'` (QEMU, the mock) a record arriving at a full log is lost and counted
 * (R8, mock `mes_add_event`); with 'hold' (hostile default) it waits in the queue — extents stay
 * in the FM state — until the host clears room. With `syncDrain` (cxl-test) only one FM record
 * is in the log at a time: the next is logged when the host's Clear retires it, as the mock's
 * `log_dc_event` drains each record inside the sysfs write before the next write can run
 * (docs/decisions-device.md).
 *
 * Register-file effects (Event Status bit 4, the IRQ) go through a `DeviceSink`; the service wires
 * it to the register file, tests may leave it a no-op. Observers receive typed DeviceEvents; there
 * is no logging in hot paths.
 */
import {
  CXL_EVENT_LOG, CXL_MBOX_OP, DC_EVENT_TYPE, GET_EVENT_FLAG_MORE_RECORDS, GET_EVENT_IN_SIZE,
  GET_EVENT_FLAG_OVERFLOW, GET_EVENT_OUT_HDR, EVENT_RECORD_SIZE, NULL_UUID, RC,
  decodeClearEventRecordsIn, decodeGetEventRecordsIn, encodeDcEventRecord, encodeGetEventRecordsOut,
  DC_RESPONSE_FLAG_MORE, dcEventTypeName, dcRecordMore, decodeDcEventLayout, decodeDcResponseHeader, decodeGetDcExtentListOutHeader,
  isUuid, makeDcEventRecord, opcodeName, rcName, U64_MASK, type CxlExtentRaw,
} from '../wire/cxl.js';
import type { Failure } from '../errors.js';
import { Prng } from '../prng.js';
import { kstrtoull } from '../kstrtox.js';
import { PMD_SIZE, isQemuPersonality, resolveDeviceConfig, type DeviceConfig, type ResolvedDeviceConfig } from './config.js';
import { ExtentStore, rangesOverlap, type DcExtent } from './extents.js';
import { EventLog } from './event-log.js';
import { Media } from './media.js';
import type {
  DeviceContext, DevicePersonality, HostileChoices, MboxReply, NormalizedRelease, OfferRecord, QueuedRecord,
} from './personality-api.js';
import { createPersonality } from './registry.js';
import type { HostileChainKind } from './hostile-kinds.js';
import {
  ACPI_CDAT_DSMAS_SHAREABLE, fmError, newCounters,
  type AddCapacityOk, type AddCapacityRequest, type DeviceCounters, type DeviceEvent, type DeviceObserver,
  type DsmasView, type EventLogView, type ExtentView, type FmErrorCode, type FmOp, type FmResult, type FmVia, type InjectU64Record,
  type LoggedRecordView, type PendingGroupView, type ReleaseCapacityOk, type ReleaseCapacityRequest,
} from './types.js';

export type { MboxReply, NormalizedRelease, OfferRecord, QueuedRecord } from './personality-api.js';

/** Register-file side effects of the device. */
export interface DeviceSink {
  /** mirror "the DC log has records" into Event Status bit 4 */
  setEventStatus(on: boolean): void;
  /** raise the event interrupt */
  raiseIrq(): void;
}

const NO_SINK: DeviceSink = { setEventStatus: () => undefined, raiseIrq: () => undefined };

export interface DeviceOptions {
  observer?: DeviceObserver;
  sink?: DeviceSink;
  /** attach to an existing media buffer (the service passes the runtime's); default: a new one */
  media?: Media;
  /** timestamp source in ns; default per config.timestamps */
  clock?: () => bigint;
  /**
   * The mock's `static atomic_t event_counter` (mem.c `mock_get_event`): one word shared by every
   * mock device. Devices in different workers must be handed the same SharedArrayBuffer view;
   * default: one per thread (module scope).
   */
  mockCounter?: Int32Array;
}

/** Devices of one thread share this counter unless DeviceOptions.mockCounter is given. */
const THREAD_MOCK_COUNTER = new Int32Array(new SharedArrayBuffer(4));

/** Normalise an FM tag: undefined / null / "" / "0" / the null UUID → null; else a lower-case UUID. */
export function normTag(t: unknown): { ok: true; tag: string | null } | { ok: false } {
  if (t === undefined || t === null || t === '' || t === '0') return { ok: true, tag: null };
  if (typeof t !== 'string' || !isUuid(t)) return { ok: false };
  const s = t.toLowerCase();
  return { ok: true, tag: s === NULL_UUID ? null : s };
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** 2^64 − 1: a record's start and length are u64 fields */
/** a bigint FM value small enough to be exact as a number becomes one (the FM state keeps numbers) */
const smallU64 = (v: number | bigint): number | bigint => (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

export class DcdDevice {
  readonly name: string;
  readonly config: ResolvedDeviceConfig;
  readonly extents: ExtentStore;
  readonly log: EventLog;
  readonly media: Media;
  readonly p: DevicePersonality;
  private prng: Prng;
  private stats: DeviceCounters = newCounters();
  /** FM queue: records not yet in the event log (see DOC); read-only outside (bench/device.ts) */
  outbox: QueuedRecord[] = [];
  private readonly sink: DeviceSink;
  private readonly observer: DeviceObserver | undefined;
  private readonly clock: () => bigint;
  private tsCounter = 0n;
  private statusOn = false;
  /** mock Get Event Records counter (shared word) */
  private readonly mockCounter: Int32Array;
  /**
   * QEMU `event_logs[DYNAMIC_CAP].irq_enabled`: false at power-on, set by Set Event Interrupt
   * Policy. Kept across `reset()`: the model resets a device between stress iterations without
   * re-probing the host, which set it once at probe.
   */
  private dcIrqEnabled = false;
  /** syncDrain: handle of the FM record in the log whose Clear the device waits for */
  private awaitHandle: number | null = null;

  /** Throws RangeError on an invalid config (bad input to the runtime, not a device event). */
  constructor(config: DeviceConfig, opts: DeviceOptions = {}) {
    const r = resolveDeviceConfig(config);
    if (!r.ok) throw new RangeError(r.error);
    this.config = r.value;
    this.name = r.value.name;
    const qemu = isQemuPersonality(r.value.personality);
    // QEMU: u16 handles skipping 0; mock: the slot index of a capacity + 2 slot ring (event-log.ts),
    // opt-in through eventLogHandles (config.ts)
    this.log = new EventLog(r.value.eventLogCapacity, r.value.eventLogHandles === 'mock-slots' ? r.value.eventLogCapacity + 1 : 0xffff);
    this.extents = new ExtentStore(qemu ? 'insertion' : 'dpa', !qemu);
    this.mockCounter = opts.mockCounter ?? THREAD_MOCK_COUNTER;
    this.media = opts.media ?? Media.create(r.value.dcBase, r.value.dcBytes, r.value.mediaBlockSize);
    if (this.media.dcBase !== r.value.dcBase || this.media.dcBytes < r.value.dcBytes) {
      throw new RangeError(`device ${this.name}: media covers [${this.media.dcBase}, +${this.media.dcBytes}), config needs [${r.value.dcBase}, +${r.value.dcBytes})`);
    }
    this.sink = opts.sink ?? NO_SINK;
    this.observer = opts.observer;
    this.clock = opts.clock ?? (r.value.timestamps === 'counter' ? () => ++this.tsCounter : () => BigInt(Date.now()) * 1_000_000n);
    this.prng = new Prng(r.value.seed).fork(`device/${this.name}`);
    this.p = createPersonality(r.value.personality, this.context());
    this.reset();
  }

  /** The narrow view a personality gets (personality-api.ts): methods, none of the fields above. */
  private context(): DeviceContext {
    return {
      name: this.name,
      config: this.config,
      extents: this.extents,
      randomRange: (min, max) => this.prng.range(min, max),
      bumpMockCounter: () => Atomics.add(this.mockCounter, 0, 1),
      queuedRecords: () => this.outbox.length,
      queueRecord: (q) => this.queueRecord(q),
      pump: () => this.pump(),
      offer: (e, more) => this.offer(e, more),
      noteAccepted: (e) => this.noteAccepted(e),
      noteRejected: (list, reason) => this.noteRejected(list, reason),
      noteReleased: (dpa, length, tag) => this.noteReleased(dpa, length, tag),
      noteReleaseIgnored: (dpa, length, reason) => {
        this.stats.releasesIgnored++;
        this.emit({ type: 'release-ignored', memdev: this.name, dpa, length, reason });
      },
      noteLie: (opcode, lie) => {
        this.stats.lies++;
        this.emit({ type: 'hostile-lie', memdev: this.name, opcode, lie });
      },
      emit: (ev) => this.emit(ev),
      fault: (opcode, message) => this.fault(opcode, message),
      setDcIrqEnabled: (on) => this.setDcIrqEnabled(on),
      view: (e) => this.view(e),
      rawExtent: (dpa, length, tag, seq) => this.rawExtent(dpa, length, tag, seq),
      partitionOf: (dpa, len) => this.partitionOf(dpa, len),
      partitionAt: (dpa) => this.partitionAt(dpa),
      freeRunsOf: (region, gran) => this.freeRunsOf(region, gran),
    };
  }

  // =============================================================================== plumbing

  private emit(ev: DeviceEvent): void {
    if (this.observer) this.observer(ev);
  }

  private now(): bigint {
    return this.clock();
  }

  /** Index of the DC partition that fully contains [dpa, dpa+len) (usable length), or -1. */
  private partitionOf(dpa: number, len: number): number {
    const parts = this.config.partitions;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p && dpa >= p.base && dpa + len <= p.base + p.length) return i;
    }
    return -1;
  }

  /** Index of the DC partition containing `dpa`, or -1. */
  private partitionAt(dpa: number): number {
    return this.partitionOf(dpa, 1);
  }

  private view(e: { dpa: number; length: number; tag: string | null; seq: number }): ExtentView {
    return { dpa: e.dpa, offset: e.dpa - this.config.dcBase, length: e.length, tag: e.tag, seq: e.seq, partition: this.partitionAt(e.dpa) };
  }

  private rawExtent(dpa: number | bigint, length: number | bigint, tag: string | null, seq: number): CxlExtentRaw {
    return { startDpa: BigInt(dpa), length: BigInt(length), uuid: tag ?? NULL_UUID, sharedExtnSeq: seq & 0xffff };
  }

  private queueRecord(q: QueuedRecord): void {
    this.outbox.push(q);
  }

  /** Mirror the log state into Event Status bit 4 (only on change). */
  private updateStatus(): void {
    const on = this.log.count > 0;
    if (on === this.statusOn) return;
    this.statusOn = on;
    this.sink.setEventStatus(on);
    this.emit({ type: 'event-status', memdev: this.name, on });
  }

  private irq(): void {
    this.stats.irqs++;
    this.sink.raiseIrq();
    this.emit({ type: 'irq', memdev: this.name });
  }

  /** QEMU Set Event Interrupt Policy for the DC log. */
  private setDcIrqEnabled(on: boolean): void {
    this.dcIrqEnabled = on;
  }

  /**
   * The modelled device would crash here (QEMU dereferencing NULL): count it, report it, and
   * answer Internal Error so the host does not hang on a dead mailbox. Never a silent success.
   */
  private fault(opcode: number, message: string): number {
    this.stats.faults++;
    this.emit({ type: 'device-fault', memdev: this.name, opcode, message });
    return RC.INTERNAL_ERROR;
  }

  /** syncDrain: every FM record logged and its Clear seen (nothing queued, nothing awaited). */
  fmDrained(): boolean {
    return this.outbox.length === 0 && !this.awaiting();
  }

  /** syncDrain: is the last FM record still in the log (not yet cleared by the host)? */
  private awaiting(): boolean {
    if (this.awaitHandle === null) return false;
    if (this.log.has(this.awaitHandle)) return true;
    this.awaitHandle = null;
    return false;
  }

  /**
   * Move FM-queued records into the event log while there is room (or dropping them, per
   * eventLogFull). A cxl-test record moves its extent fm → sent as it is logged (mock
   * `mark_extent_sent` then `log_dc_event`). IRQ per the personality's rule (R7 / mock).
   */
  pump(): void {
    const hold = this.config.eventLogFull === 'hold';
    const sync = this.config.syncDrain;
    while (this.outbox.length > 0) {
      // syncDrain: the previous FM record has not been cleared yet (mock: the previous write is
      // still inside cxl_mem_get_event_records)
      if (sync && this.awaiting()) break;
      if (hold && this.log.full) break;
      const q = this.outbox.shift() as QueuedRecord;
      if (q.offers) {
        // one scan of the FM's list per record, not two (#17: O(chain) each, inside the Clear the host waits for)
        const inFm = this.extents.fm.includes(q.offers);
        if (!inFm && !q.force) continue; // deleted by the FM while queued
        if (inFm) this.offer(q.offers, q.more);
      }
      const rec = makeDcEventRecord({
        eventType: q.eventType,
        extent: q.extent,
        more: q.more,
        updatedRegionIndex: q.updatedRegionIndex,
        numAvailExtents: this.p.numAvailExtents(),
        ...(q.recordUuid ? { uuid: q.recordUuid } : {}),
      });
      const bytes = new Uint8Array(EVENT_RECORD_SIZE);
      encodeDcEventRecord(rec, bytes);
      const r = this.log.add(bytes, this.now());
      const dpa = Number(q.extent.startDpa);
      const length = Number(q.extent.length);
      if (r) {
        if (sync) this.awaitHandle = r.handle;
        this.stats.recordsLogged++;
        if (this.observer) {
          this.emit({
            type: 'record-logged', memdev: this.name, handle: r.handle, eventType: dcEventTypeName(q.eventType), dpa, length,
            tag: q.extent.uuid === NULL_UUID ? null : q.extent.uuid, seq: q.extent.sharedExtnSeq, more: q.more,
          });
        }
        this.updateStatus();
        // mock: "Fake the irq" after every record; QEMU: `cxl_event_insert` returns true only on
        // the 0→1 transition and `cxl_event_irq_assert` skips a log whose irq_enabled is false
        if (this.p.irqEveryRecord || (r.wasEmpty && this.dcIrqEnabled)) this.irq();
      } else {
        this.stats.recordsDropped++;
        this.emit({ type: 'record-dropped-overflow', memdev: this.name, eventType: dcEventTypeName(q.eventType), dpa, length, overflow: this.log.overflow });
        // The mock calls cxl_mem_get_event_records() after every inject even when the record was lost.
        if (this.p.irqEveryRecord) this.irq();
      }
    }
  }

  /** fm/new → sent, with the observer event (mock `mark_extent_sent`, QEMU pending group). */
  private offer(ext: DcExtent, more: boolean): void {
    const g = this.extents.markExtentSent(ext, more);
    this.stats.extentsOffered++;
    this.emit({ type: 'extent-offered', memdev: this.name, dpa: ext.dpa, length: ext.length, tag: ext.tag, seq: ext.seq, group: g.id, offerSeq: ext.offerSeq });
  }

  /** Accept bookkeeping shared by personalities: media backing + event. */
  private noteAccepted(e: DcExtent): void {
    this.media.setBacked(e.dpa, e.length, true);
    this.stats.extentsAccepted++;
    this.emit({ type: 'extent-accepted', memdev: this.name, dpa: e.dpa, length: e.length, tag: e.tag, seq: e.seq });
  }

  private noteRejected(list: readonly DcExtent[], reason: 'not-in-response' | 'reject-all' | 'fm-deleted'): void {
    for (const e of list) {
      this.stats.extentsRejected++;
      this.emit({ type: 'extent-rejected', memdev: this.name, dpa: e.dpa, length: e.length, tag: e.tag, reason });
    }
  }

  private noteReleased(dpa: number, length: number, tag: string | null): void {
    this.media.setBacked(dpa, length, false);
    this.stats.extentsReleased++;
    this.emit({ type: 'extent-released', memdev: this.name, dpa, length, tag });
  }

  // =============================================================================== mailbox

  /**
   * Execute one mailbox command. `out` receives the output payload (at most config.payloadSize
   * bytes are written). Never throws.
   */
  mbox(opcode: number, input: Uint8Array, out: Uint8Array): MboxReply {
    let reply: MboxReply;
    const cap = Math.min(out.byteLength, this.config.payloadSize);
    const o = cap === out.byteLength ? out : out.subarray(0, cap);
    try {
      reply = this.mboxSend(opcode, input, o);
      reply = this.p.transformReply(opcode, input, o, reply);
      if (!Number.isInteger(reply.outLen) || reply.outLen < 0 || reply.outLen > cap) throw new RangeError(`handler returned outLen ${reply.outLen} (cap ${cap})`);
    } catch (e) {
      this.stats.internalErrors++;
      this.emit({ type: 'internal-error', memdev: this.name, opcode, message: e instanceof Error ? e.message : String(e) });
      reply = { rc: RC.INTERNAL_ERROR, outLen: 0 };
    }
    const c = this.stats;
    c.mboxCommands++;
    if (reply.rc !== RC.SUCCESS) c.mboxErrors++;
    const on = opcodeName(opcode);
    const rn = rcName(reply.rc);
    c.byOpcode[on] = (c.byOpcode[on] ?? 0) + 1;
    c.byRc[rn] = (c.byRc[rn] ?? 0) + 1;
    if (this.observer) {
      const { nrExtents, more } = this.mboxExtentCount(opcode, input, o, reply);
      this.emit({ type: 'mbox-command', memdev: this.name, opcode, opcodeName: on, rc: reply.rc, rcName: rn, nrExtents, ...(more === undefined ? {} : { more }) });
    }
    return reply;
  }

  /**
   * The extent count (and More flag) an observed mailbox command carried, read with the wire
   * decoders' header-only variants: the response's `extent_list_size` and flags, or a successful
   * extent list's `returned_extent_count`. Only an observer needs it, so the unobserved mailbox
   * path does no decoding beyond the handler's own.
   */
  private mboxExtentCount(opcode: number, input: Uint8Array, out: Uint8Array, reply: MboxReply): { nrExtents: number; more?: boolean } {
    if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE || opcode === CXL_MBOX_OP.RELEASE_DC) {
      const h = decodeDcResponseHeader(input);
      return h.ok ? { nrExtents: h.value.extentListSize, more: (h.value.flags & DC_RESPONSE_FLAG_MORE) !== 0 } : { nrExtents: 0 };
    }
    // the count field lies within the reply (a hostile short reply of 4..15 bytes still reports it)
    if (opcode === CXL_MBOX_OP.GET_DC_EXTENT_LIST && reply.rc === RC.SUCCESS && reply.outLen >= 4) {
      const h = decodeGetDcExtentListOutHeader(out);
      if (h.ok) return { nrExtents: h.value.returnedExtentCount };
    }
    return { nrExtents: 0 };
  }

  /** The opcode switch (mock `cxl_mock_mbox_send`). */
  private mboxSend(opcode: number, input: Uint8Array, out: Uint8Array): MboxReply {
    switch (opcode) {
      case CXL_MBOX_OP.GET_EVENT_RECORDS:
        return this.mockGetEvent(input, out);
      case CXL_MBOX_OP.CLEAR_EVENT_RECORDS:
        return this.mockClearEvent(input);
      case CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY:
        return { rc: this.p.setEventInterruptPolicy(input), outLen: 0 };
      case CXL_MBOX_OP.GET_DC_CONFIG:
        return this.p.getDcConfig(input, out);
      case CXL_MBOX_OP.GET_DC_EXTENT_LIST:
        return this.p.getDcExtentList(input, out);
      case CXL_MBOX_OP.ADD_DC_RESPONSE:
        return { rc: this.p.addDcResponse(input), outLen: 0 };
      case CXL_MBOX_OP.RELEASE_DC:
        return { rc: this.p.releaseDc(input), outLen: 0 };
      default:
        return { rc: RC.UNSUPPORTED, outLen: 0 };
    }
  }

  /**
   * Get Event Records (mock `mock_get_event`, QEMU `cmd_events_get_records` /
   * `cxl_event_get_records`). Input exactly 1 byte (QEMU: Invalid Payload Length; mock: -EINVAL).
   * The mock bumps its shared counter before looking at the log type. Log types above 4 are
   * refused (QEMU Invalid Input, mock -EINVAL); logs 0–3 exist and are empty. Up to
   * `recordsPerGet()` head records (QEMU: as many as fit the payload, 15 at 2,048 bytes),
   * MORE_RECORDS per the personality (QEMU: log not empty; mock: records remain), OVERFLOW with
   * the counter and timestamps after a drop (R8).
   */
  private mockGetEvent(input: Uint8Array, out: Uint8Array): MboxReply {
    if (input.byteLength !== GET_EVENT_IN_SIZE) return { rc: this.p.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    const limit = this.p.recordsPerGet();
    const d = decodeGetEventRecordsIn(input);
    if (!d.ok) return { rc: this.p.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    if (d.value.logType > CXL_EVENT_LOG.DCD) return { rc: this.p.refuse(RC.INVALID_INPUT), outLen: 0 };
    const empty = { flags: 0, overflowErrCount: 0, firstOverflowTimestamp: 0n, lastOverflowTimestamp: 0n, recordCount: 0, records: [] };
    if (out.byteLength < GET_EVENT_OUT_HDR) return { rc: this.p.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    if (d.value.logType !== CXL_EVENT_LOG.DCD) return { rc: RC.SUCCESS, outLen: encodeGetEventRecordsOut(empty, out) };
    const fit = Math.floor((out.byteLength - GET_EVENT_OUT_HDR) / EVENT_RECORD_SIZE);
    const { records, remaining, nonEmpty } = this.log.get(Math.min(fit, limit));
    const more = this.p.moreWhenNonEmpty ? nonEmpty : remaining;
    const overflow = this.log.overflow > 0;
    const outLen = encodeGetEventRecordsOut(
      {
        flags: (overflow ? GET_EVENT_FLAG_OVERFLOW : 0) | (more ? GET_EVENT_FLAG_MORE_RECORDS : 0),
        overflowErrCount: this.log.overflow,
        firstOverflowTimestamp: this.log.firstOverflowTs,
        lastOverflowTimestamp: this.log.lastOverflowTs,
        recordCount: records.length,
        records: records.map((r) => r.bytes),
      },
      out,
    );
    return { rc: RC.SUCCESS, outLen };
  }

  /**
   * Clear Event Records (mock `mock_clear_event`, QEMU `cmd_events_clear_records` /
   * `cxl_event_clear_records`): handles are checked against the head records in order for as
   * many as the log holds (extras ignored, an empty log succeeds), handle 0 never matches; on a
   * mismatch nothing is cleared (QEMU Invalid Input, mock -EINVAL). Neither reads `clear_flags`.
   * Logs 0–3 are empty: success. A short input: QEMU Invalid Payload Length; mock -EINVAL
   * (`size_in < sizeof(*pl)`; past the header it would read stale bytes — refused here).
   * Clearing frees room, so held FM records move into the log; with syncDrain, the Clear of the
   * awaited record lets the next FM record in.
   */
  private mockClearEvent(input: Uint8Array): MboxReply {
    const d = decodeClearEventRecordsIn(input);
    if (!d.ok) return { rc: this.p.refuse(RC.INVALID_PAYLOAD_LENGTH), outLen: 0 };
    const v = d.value;
    if (v.logType > CXL_EVENT_LOG.DCD) return { rc: this.p.refuse(RC.INVALID_INPUT), outLen: 0 };
    if (v.logType !== CXL_EVENT_LOG.DCD) return { rc: RC.SUCCESS, outLen: 0 };
    const r = this.log.clear(v.handles, this.p.clearRule);
    if (!r.ok) return { rc: this.p.refuse(RC.INVALID_INPUT), outLen: 0 };
    const handles = r.cleared.map((x) => x.handle);
    if (this.observer && handles.length) this.emit({ type: 'records-cleared', memdev: this.name, handles, all: false });
    this.updateStatus();
    this.pump();
    return { rc: RC.SUCCESS, outLen: 0 };
  }

  // =============================================================================== FM API

  private fmDone<T extends object>(op: FmOp, r: FmResult<T>, records: (r: T) => number): FmResult<T> {
    this.stats.fmCommands++;
    if (!r.ok) this.stats.fmErrors++;
    if (this.observer) {
      this.emit(r.ok
        ? { type: 'fm-command', memdev: this.name, op, ok: true, records: records(r) }
        : { type: 'fm-command', memdev: this.name, op, ok: false, error: r.message, records: 0 });
    }
    return r;
  }

  private guard<T extends object>(op: FmOp, fn: () => FmResult<T>, records: (r: T) => number): FmResult<T> {
    let r: FmResult<T>;
    try {
      r = fn();
    } catch (e) {
      this.stats.internalErrors++;
      r = fmError('EINVAL', `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
    return this.fmDone(op, r, records);
  }

  /**
   * QMP `cxl-add-dynamic-capacity`. Offsets are relative to `region`. `free` takes `length` bytes
   * from free capacity anywhere in the region (seeded order, possibly several extents);
   * `contiguous` takes `count` extents of `length` bytes each, first fit. Device-chosen extents are
   * aligned to max(block size, 2 MiB) so the host's PMD gate (G4) accepts them.
   */
  addCapacity(req: AddCapacityRequest): FmResult<AddCapacityOk> {
    return this.guard('add', () => this.__addCapacity(req), (r) => r.records);
  }

  private __addCapacity(req: AddCapacityRequest): FmResult<AddCapacityOk> {
    if (typeof req !== 'object' || req === null) return fmError('EINVAL', 'request must be an object');
    const region = req.region ?? 0;
    const parts = this.config.partitions;
    if (!Number.isInteger(region) || region < 0 || region > 7) return fmError('EINVAL', `region ${String(region)} must be an integer in 0..7`);
    const part = parts[region];
    if (!part) return fmError('EINVAL', `region id is too large: ${region} (the device has ${parts.length}) (R2)`);
    const refusal = this.p.policyRefusal(req.policy);
    if (refusal) return fmError('EOPNOTSUPP', refusal);
    const tag = normTag(req.tag);
    if (!tag.ok) return fmError('EINVAL', `tag ${JSON.stringify(req.tag)} is not a UUID`);
    let ranges: { dpa: number; length: number }[];
    if (req.policy === 'prescriptive') {
      if (!Array.isArray(req.extents) || req.extents.length === 0) return fmError('EINVAL', 'prescriptive add needs at least one extent');
      ranges = [];
      for (const [i, e] of req.extents.entries()) {
        if (!e || !isNat(e.offset) || !isNat(e.length)) return fmError('EINVAL', `extents[${i}]: offset and length must be non-negative safe integers`);
        ranges.push({ dpa: part.base + e.offset, length: e.length });
      }
    } else if (req.policy === 'free' || req.policy === 'contiguous') {
      const r = this.chooseFree(region, req.policy, req.length, req.count);
      if (!r.ok) return r;
      ranges = r.ranges;
    } else {
      return fmError('EINVAL', `unknown selection policy ${JSON.stringify(req.policy)}`);
    }
    const n = ranges.length;
    if (req.seqs !== undefined && (!Array.isArray(req.seqs) || req.seqs.length !== n || !req.seqs.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff))) {
      return fmError('EINVAL', `seqs must be ${n} integers in [0, 0xffff]`);
    }
    const chain = (req.more ?? 'chain') === 'chain';
    const records: OfferRecord[] = ranges.map((r, i) => ({
      dpa: r.dpa,
      length: r.length,
      tag: tag.tag,
      seq: req.seqs?.[i] ?? (part.sharable && tag.tag !== null ? i : 0),
      more: chain && i < n - 1,
      shared: part.sharable,
    }));
    return this.p.fmAdd(records, { source: req.via === 'fm-api' ? 'fm-api' : 'qmp', region });
  }

  /** Free-capacity runs of a region, aligned to `gran`, excluding accepted, pending and FM extents. */
  private freeRunsOf(region: number, gran: number): { dpa: number; length: number }[] {
    const p = this.config.partitions[region];
    if (!p) return [];
    const busy = [...this.extents.accepted, ...this.extents.allSent(), ...this.extents.fm]
      .filter((e) => rangesOverlap(e.dpa, e.length, p.base, p.length))
      .map((e) => ({ s: e.dpa, e: e.dpa + e.length }))
      .sort((a, b) => a.s - b.s);
    const runs: { dpa: number; length: number }[] = [];
    let cur = p.base;
    const end = p.base + p.length;
    const alignUp = (x: number): number => p.base + Math.ceil((x - p.base) / gran) * gran;
    const alignDown = (x: number): number => p.base + Math.floor((x - p.base) / gran) * gran;
    for (const b of [...busy, { s: end, e: end }]) {
      const a = alignUp(cur);
      const z = alignDown(Math.min(b.s, end));
      if (z > a) runs.push({ dpa: a, length: z - a });
      cur = Math.max(cur, b.e);
    }
    return runs;
  }

  private chooseFree(region: number, policy: 'free' | 'contiguous', length: unknown, count: unknown): { ok: true; ranges: { dpa: number; length: number }[] } | Failure<FmErrorCode> {
    const p = this.config.partitions[region];
    if (!p) return fmError('EINVAL', `no region ${region}`);
    const gran = Math.max(p.blockSize, PMD_SIZE);
    if (!isNat(length) || length === 0 || length % gran !== 0) return fmError('EINVAL', `${policy} add: length must be a non-zero multiple of ${gran}`);
    const runs = this.freeRunsOf(region, gran);
    const ranges: { dpa: number; length: number }[] = [];
    if (policy === 'contiguous') {
      const n = count === undefined ? 1 : count;
      if (!isNat(n) || n < 1) return fmError('EINVAL', 'contiguous add: count must be a positive integer');
      for (let i = 0; i < n; i++) {
        const run = runs.find((r) => r.length >= length);
        if (!run) return fmError('ENOSPC', `contiguous add: no free run of ${length} bytes left in region ${region}`);
        ranges.push({ dpa: run.dpa, length });
        run.dpa += length;
        run.length -= length;
      }
    } else {
      let left = length;
      for (const run of this.prng.shuffle([...runs])) {
        if (left === 0) break;
        const take = Math.min(run.length, left);
        ranges.push({ dpa: run.dpa, length: take });
        left -= take;
      }
      if (left > 0) return fmError('ENOSPC', `free add: only ${length - left} of ${length} bytes free in region ${region}`);
      ranges.sort((a, b) => a.dpa - b.dpa);
    }
    return { ok: true, ranges };
  }

  /**
   * Scenario `add-capacity`: each record is one raw DC Add event record, logged in order, offsets
   * relative to DC partition 0. Under QEMU rules the records still pass the FM checks (R3, R4) and
   * form pending groups by chain (a group closes at a More=0 record, so a chain may span ops).
   */
  injectRecords(records: InjectU64Record[]): FmResult<AddCapacityOk> {
    return this.guard('inject', () => {
      if (Array.isArray(records)) records = records.map((r) => (r ? { ...r, offset: smallU64(r.offset), length: smallU64(r.length) } : r));
      const items = Array.isArray(records) ? records.map((r) => this.u64Record(r)) : [];
      if (!items.some((x) => x !== null)) {
        const r = this.normInject(records);
        return r.ok ? this.p.fmAdd(r.records, { source: 'inject', region: null }) : r;
      }
      return this.injectWithU64(records, items);
    }, (r) => r.records);
  }

  /**
   * A record whose DPA range the FM state cannot hold (it keeps safe-integer DPAs): a bigint
   * offset or length past 2^53−1, or a range ending past 2^53. Its fields are the u64s the record
   * will carry, DPA = DC base + offset modulo 2^64 (a 64-bit field). null: an ordinary record.
   */
  private u64Record(r: InjectU64Record | null | undefined): { dpa: bigint; length: bigint } | null {
    if (!r) return null;
    const big = (v: unknown): v is bigint => typeof v === 'bigint' && v > BigInt(Number.MAX_SAFE_INTEGER);
    const fits = (v: unknown): boolean => (typeof v === 'bigint' && v >= 0n && v <= U64_MASK) || isNat(v);
    const unrepresentable = big(r.offset) || big(r.length)
      || (isNat(r.offset) && isNat(r.length) && !Number.isSafeInteger(this.config.dcBase + r.offset + r.length));
    if (!unrepresentable || !fits(r.offset) || !fits(r.length)) return null;
    return { dpa: (BigInt(this.config.dcBase) + BigInt(r.offset)) & U64_MASK, length: BigInt(r.length) };
  }

  /**
   * Scenario `add-capacity` with raw u64 records among the others (issue 13 point 11): a fabric
   * manager sends exactly the record it wrote, e.g. a start near 2^64 with a length that wraps
   * past it, which the host refuses at E1 (cxl_extent_dc_partition, `end < start`: "invalid
   * length (firmware bug)"). No personality keeps such an extent as FM state:
   *  - cxl-test (and hostile, which extends it): the mock's `new_extent_valid` refuses only a zero
   *    length or a start already in use, so the record is logged as written. It is kept out of the
   *    FM state (which holds safe-integer DPAs); the mock would clear it unaccepted anyway
   *    (`dc_clear_sent`) once the host's response omits it.
   *  - qemu: refused, R3 (the extent is beyond the region end). QEMU's own u64 `offset + len`
   *    check would let a wrapping extent through into out-of-range bitmap indexing, which the
   *    model does not emulate.
   * Records are logged in order: each run of ordinary records is one FM add as without u64
   * records, each u64 record is queued between them. Everything is validated before anything is
   * logged; an ordinary run refused by the personality's FM-state checks (R4, a start in use)
   * ends the op with its error after the records before it were logged.
   */
  private injectWithU64(records: InjectU64Record[], items: ({ dpa: bigint; length: bigint } | null)[]): FmResult<AddCapacityOk> {
    type Step = { kind: 'run'; records: OfferRecord[] } | { kind: 'u64'; dpa: bigint; length: bigint; tag: string | null; seq: number; more: boolean };
    const steps: Step[] = [];
    let run: InjectU64Record[] = [];
    const flush = (): FmResult<object> | null => {
      if (run.length === 0) return null;
      const r = this.normInject(run);
      if (!r.ok) return r;
      steps.push({ kind: 'run', records: r.records });
      run = [];
      return null;
    };
    for (const [i, r] of records.entries()) {
      const u = items[i];
      if (!u) { run.push(r); continue; }
      const bad = flush();
      if (bad && !bad.ok) return bad;
      const refusal = this.p.u64RecordRefusal(u.dpa, u.length);
      if (refusal !== null) return fmError('EINVAL', `records[${i}]: ${refusal}`);
      const tag = normTag(r.tag);
      if (!tag.ok) return fmError('EINVAL', `records[${i}]: tag ${JSON.stringify(r.tag)} is not a UUID`);
      const seq = r.seq ?? 0;
      if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) return fmError('EINVAL', `records[${i}]: seq must be an integer in [0, 0xffff]`);
      steps.push({ kind: 'u64', dpa: u.dpa, length: u.length, tag: tag.tag, seq, more: r.more === true });
    }
    const bad = flush();
    if (bad && !bad.ok) return bad;
    const extents: ExtentView[] = [];
    let logged = 0;
    for (const st of steps) {
      if (st.kind === 'run') {
        const r = this.p.fmAdd(st.records, { source: 'inject', region: null });
        if (!r.ok) return r;
        extents.push(...r.extents);
        logged += r.records;
      } else {
        this.queueRecord({ eventType: DC_EVENT_TYPE.ADD_CAPACITY, extent: this.rawExtent(st.dpa, st.length, st.tag, st.seq), more: st.more, updatedRegionIndex: 0 });
        this.pump();
        logged++;
      }
    }
    return { ok: true, extents, records: logged };
  }

  private normInject(records: InjectU64Record[]): { ok: true; records: OfferRecord[] } | Failure<FmErrorCode> {
    if (!Array.isArray(records) || records.length === 0) return fmError('EINVAL', 'add-capacity needs at least one record');
    const out: OfferRecord[] = [];
    for (const [i, r] of records.entries()) {
      if (!r || !isNat(r.offset) || !isNat(r.length)) return fmError('EINVAL', `records[${i}]: offset and length must be non-negative safe integers (a u64 past 2^53-1 as a bigint)`);
      const tag = normTag(r.tag);
      if (!tag.ok) return fmError('EINVAL', `records[${i}]: tag ${JSON.stringify(r.tag)} is not a UUID`);
      const seq = r.seq ?? 0;
      if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) return fmError('EINVAL', `records[${i}]: seq must be an integer in [0, 0xffff]`);
      const dpa = this.config.dcBase + r.offset;
      if (!Number.isSafeInteger(dpa + r.length)) return fmError('EINVAL', `records[${i}]: range exceeds 2^53`);
      const pi = this.partitionAt(dpa);
      out.push({ dpa, length: r.length, tag: tag.tag, seq, more: r.more === true, shared: r.shared ?? (pi >= 0 && (this.config.partitions[pi]?.sharable ?? false)) });
    }
    return { ok: true, records: out };
  }

  /**
   * cxl_test `dc_inject_extent` / `dc_inject_shared_extent`: `<start>:<length>:<tag>:<more>[:<seq>]`
   * (mock 5). Numbers parse like kstrtoull base 0 (0x hex, leading-0 octal, decimal); tag "" or
   * "0" = null; seq ≤ 0xFFFF, default 0. `start` is relative to DC partition 0 unless
   * `absolute: true` (docs/decisions-device.md).
   */
  injectRaw(record: string, opts: { shared?: boolean; absolute?: boolean } = {}): FmResult<AddCapacityOk> {
    return this.guard('inject', () => {
      const f = typeof record === 'string' ? record.trim().split(':') : [];
      if (f.length < 4 || f.length > 5) return fmError('EINVAL', `inject "${String(record)}": format is <start>:<length>:<tag>:<more>[:<seq>]`);
      const start = kstrtoull(f[0] as string);
      const length = kstrtoull(f[1] as string);
      const more = kstrtoull(f[3] as string);
      const seq = f.length === 5 ? kstrtoull(f[4] as string) : 0;
      if (start === null || length === null || more === null || seq === null) return fmError('EINVAL', `inject "${record}": bad number`);
      if (seq > 0xffff) return fmError('EINVAL', `inject "${record}": seq ${seq} > 0xffff`);
      const tag = normTag(f[2]);
      if (!tag.ok) return fmError('EINVAL', `inject "${record}": bad tag`);
      const offset = opts.absolute ? start - this.config.dcBase : start;
      if (offset < 0) return fmError('EINVAL', `inject "${record}": start below the DC partition`);
      const r = this.normInject([{ offset, length, tag: tag.tag, seq, more: more !== 0, shared: opts.shared ?? false }]);
      return r.ok ? this.p.fmAdd(r.records, { source: 'inject', region: null }) : r;
    }, (r) => r.records);
  }

  /**
   * cxl_test `dc_del_extent` / `dc_force_del_extent`: `<start>:<length>:<uuid>` (mock 8), start
   * relative to DC partition 0 unless `absolute`.
   */
  deleteRaw(record: string, opts: { forced?: boolean; absolute?: boolean } = {}): FmResult<ReleaseCapacityOk> {
    return this.guard('delete', () => {
      const f = typeof record === 'string' ? record.split(':') : [];
      if (f.length !== 3) return fmError('EINVAL', `delete "${String(record)}": format is <start>:<length>:<uuid>`);
      const start = kstrtoull(f[0] as string);
      const length = kstrtoull(f[1] as string);
      if (start === null || length === null) return fmError('EINVAL', `delete "${record}": bad number`);
      const tag = normTag((f[2] as string).trim());
      if (!tag.ok) return fmError('EINVAL', `delete "${record}": bad uuid`);
      const dpa = opts.absolute ? start : this.config.dcBase + start;
      return this.p.fmRelease({ policy: 'prescriptive', ranges: [{ dpa, length, tag: tag.tag }], tag: tag.tag, forced: opts.forced ?? false, region: null, via: 'qmp' });
    }, (r) => r.records);
  }

  /** QMP `cxl-release-dynamic-capacity` / scenario `release-capacity`. */
  releaseCapacity(req: ReleaseCapacityRequest): FmResult<ReleaseCapacityOk> {
    return this.guard('release', () => {
      if (typeof req !== 'object' || req === null) return fmError('EINVAL', 'request must be an object');
      const region = req.region ?? 0;
      const part = this.config.partitions[region];
      if (!Number.isInteger(region) || !part) return fmError('EINVAL', `region id is too large: ${String(region)} (R2)`);
      const tag = normTag(req.tag);
      if (!tag.ok) return fmError('EINVAL', `tag ${JSON.stringify(req.tag)} is not a UUID`);
      const forced = req.forced === true;
      if (req.via !== undefined && req.via !== 'qmp' && req.via !== 'fm-api') return fmError('EINVAL', `via must be 'qmp' or 'fm-api', got ${JSON.stringify(req.via)}`);
      const via: FmVia = req.via ?? 'qmp';
      if (req.policy === 'tag-based') {
        if (tag.tag === null) return fmError('EINVAL', 'tag-based release needs a non-null tag');
        return this.p.fmRelease({ policy: 'tag-based', ranges: [], tag: tag.tag, forced, region, via });
      }
      if (req.policy !== 'prescriptive') return fmError('EINVAL', `unknown removal policy ${JSON.stringify(req.policy)}`);
      if (!Array.isArray(req.extents) || req.extents.length === 0) return fmError('EINVAL', 'prescriptive release needs at least one extent');
      const ranges: NormalizedRelease['ranges'] = [];
      for (const [i, e] of req.extents.entries()) {
        if (!e || !isNat(e.offset) || !isNat(e.length)) return fmError('EINVAL', `extents[${i}]: offset and length must be non-negative safe integers`);
        let etag: string | null | undefined;
        if (e.tag !== undefined) {
          const t = normTag(e.tag);
          if (!t.ok) return fmError('EINVAL', `extents[${i}]: tag is not a UUID`);
          etag = t.tag;
        } else if (req.tag !== undefined) {
          etag = tag.tag;
        }
        ranges.push({ dpa: part.base + e.offset, length: e.length, tag: etag });
      }
      return this.p.fmRelease({ policy: 'prescriptive', ranges, tag: tag.tag, forced, region, via });
    }, (r) => r.records);
  }

  /** Log a Region Configuration Updated record (event type 3) for `regionIndex`. */
  regionConfigUpdated(regionIndex: number): FmResult<{ records: number }> {
    return this.guard('region-config', () => {
      if (!Number.isInteger(regionIndex) || regionIndex < 0 || regionIndex > 0xff) return fmError('EINVAL', 'region index must be an integer in [0, 255]');
      this.queueRecord({ eventType: DC_EVENT_TYPE.REGION_CONFIGURATION_UPDATED, extent: this.rawExtent(0, 0, null, 0), more: false, updatedRegionIndex: regionIndex });
      this.pump();
      return { ok: true, records: 1 };
    }, (r) => r.records);
  }

  /** Hostile personality only: queue one malformed chain of `kind` (hostile-kinds.ts). */
  hostileInject(kind: HostileChainKind, opts: { count?: number } = {}): FmResult<{ records: number }> {
    return this.guard('hostile', () => {
      const h = this.p.hostile;
      if (!h) return fmError('EOPNOTSUPP', `hostileInject needs the hostile personality (device ${this.name} is ${this.p.name})`);
      return h.inject(kind, opts);
    }, (r) => r.records);
  }

  /** Hostile personality only: `n` chains of seeded kinds. */
  hostileBurst(n: number): FmResult<{ records: number; kinds: HostileChainKind[] }> {
    return this.guard('hostile', () => {
      const h = this.p.hostile;
      if (!h) return fmError('EOPNOTSUPP', `hostileBurst needs the hostile personality (device ${this.name} is ${this.p.name})`);
      if (!Number.isInteger(n) || n < 1 || n > 1000) return fmError('EINVAL', 'n must be an integer in [1, 1000]');
      return h.burst(n);
    }, (r) => r.records);
  }

  // =============================================================================== queries

  accepted(): ExtentView[] {
    return this.extents.accepted.map((e) => this.view(e));
  }

  pending(): PendingGroupView[] {
    return this.extents.sent.map((g) => ({
      id: g.id,
      closed: g.closed,
      extents: g.extents.map((e) => ({ ...this.view(e), offerSeq: e.offerSeq, shared: e.shared })),
    }));
  }

  /** FM-state extents (offered by the FM, record not yet logged). */
  fmExtents(): ExtentView[] {
    return this.extents.fm.map((e) => this.view(e));
  }

  eventLog(): EventLogView {
    const records: LoggedRecordView[] = this.log.snapshot().map((r) => {
      // any record UUID: a hostile device logs foreign ones (QueuedRecord.recordUuid)
      const d = decodeDcEventLayout(r.bytes);
      if (!d.ok) throw new Error(`device ${this.name}: event log record ${r.handle}: ${d.error.message}`); // the log holds only records pump() encoded
      const { extent, eventType, updatedRegionIndex } = d.value;
      const dpa = Number(extent.startDpa);
      return {
        handle: r.handle, eventType: dcEventTypeName(eventType), dpa, offset: dpa - this.config.dcBase,
        length: Number(extent.length), tag: extent.uuid === NULL_UUID ? null : extent.uuid, seq: extent.sharedExtnSeq, more: dcRecordMore(d.value),
        updatedRegionIndex,
      };
    });
    return {
      capacity: this.log.capacity, queued: this.log.count, fmQueued: this.outbox.length, overflow: this.log.overflow,
      firstOverflowTs: this.log.firstOverflowTs.toString(), lastOverflowTs: this.log.lastOverflowTs.toString(), records,
    };
  }

  counters(): DeviceCounters {
    return structuredClone(this.stats);
  }

  /** The service's syncDrain wait gave up (service.ts `afterFm`). */
  noteDrainTimeout(): void {
    this.stats.drainTimeouts++;
  }

  /** The hostile personality's choices for this seed; null for the others. */
  hostileChoices(): HostileChoices | null {
    return this.p.hostile?.choices() ?? null;
  }

  generation(): number {
    return this.extents.generation;
  }

  /** The CDAT DSMAS entries the host would read (sharability source, v11-03). */
  cdatDsmas(): DsmasView[] {
    return this.config.partitions.map((p) => ({ dsmadHandle: p.dsmadHandle, dpaBase: p.base, dpaLength: p.length, flags: p.sharable ? ACPI_CDAT_DSMAS_SHAREABLE : 0 }));
  }

  /**
   * Back to the initial config, in place (stress iterations reuse devices): empty sets, empty log
   * and FM queue, unbacked media, counters zeroed, PRNG re-seeded, then the pre-accepted extents
   * accepted (mock `inject_prev_extents`: sent then accepted at once, bumping the generation).
   */
  reset(): void {
    this.extents.reset();
    this.log.reset();
    this.outbox = [];
    this.awaitHandle = null;
    this.media.clearAll();
    this.stats = newCounters();
    this.tsCounter = 0n;
    this.prng = new Prng(this.config.seed).fork(`device/${this.name}`);
    for (const e of this.config.preAccepted) {
      const x = this.extents.acceptRange(e.dpa, e.length, e.tag, e.seq);
      this.media.setBacked(x.dpa, x.length, true);
    }
    this.p.onReset();
    this.statusOn = true; // force the status write below
    this.updateStatus();
    this.emit({ type: 'reset', memdev: this.name });
  }
}

export { kstrtoull };
