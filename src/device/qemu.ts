/**
 * DOC: the QEMU personalities — upstream QEMU (`qemu`) and QEMU with the tagged-memory RFC
 * (`qemu-tag-rfc`), rules R1–R28 (docs/personalities.md) plus the numbers read from the code.
 *
 * Mirrors `hw/mem/cxl_type3.c` (`qmp_cxl_process_dynamic_capacity_prescriptive`,
 * `qmp_cxl_release_dynamic_capacity`, `cxl_extents_contains_dpa_range`), `hw/cxl/cxl-mailbox-utils.c`
 * (`cmd_dcd_get_dyn_cap_ext_list`, `cmd_dcd_add_dyn_cap_rsp`, `cxl_detect_malformed_extent_list`,
 * `cxl_dcd_add_dyn_cap_rsp_dry_run`, `cmd_dcd_release_dyn_cap`, `cxl_dc_extent_release_dry_run`,
 * `cmd_fm_initiate_dc_add`, `cmd_fm_initiate_dc_release`, `cmd_events_set_interrupt_policy`,
 * `cxl_process_cci_message`) and `hw/cxl/cxl-events.c` (`cxl_event_insert`,
 * `cxl_event_get_records`, `cxl_event_clear_records`, `cxl_event_irq_assert`):
 *  - the FM side refuses bad offers before any event is emitted (R1–R5, R27); a QMP add has no
 *    512-extent check (only the FM API's 5604h has one, R26);
 *  - one pending extent group per chain, FIFO (R6); one record per extent, More=1 on all but the
 *    last (R7); an IRQ only on the log's 0→1 transition AND only once Set Event Interrupt Policy
 *    enabled the DC log's interrupt (`log->irq_enabled`, false at power-on); 8-record log,
 *    overflow drops records (R8); MORE_RECORDS whenever the log is not empty;
 *  - mailbox payload 2,048 bytes (`CXL_MAILBOX_MAX_PAYLOAD_SIZE`): 15 records per Get, extent
 *    pages of 50, host responses split at 85 entries; fixed-size inputs must be exact;
 *  - Add DC Response answers the FIRST pending group; sub-ranges are accepted; all-or-nothing dry
 *    run; the whole front group is deleted on success (R10–R18); accepted extents are appended
 *    (insertion order); a 0-entry response with nothing pending dereferences NULL
 *    (`cxl_extent_group_list_delete_front`) — a device fault here;
 *  - Release DC splits accepted extents, all-or-nothing, remainders appended at the tail (R19–R22);
 *  - the generation number (`ext_list_gen_seq`) is never written: always 0; Get DC Extent List's
 *    count includes pending extents (`total_extent_count`), the extra entries zeroed.
 *
 * `tagPassthrough` (default: on for `qemu-tag-rfc`, off for `qemu`) keeps the FM's tag and seq
 * on QMP adds, accepted extents and release remainders, and turns on R18 (a tagged pending extent
 * must be accepted exactly) and R28 (tag-based release). Upstream zeroes all three and accepts a
 * sub-range of any offer.
 *
 * O1 does not arise here: QEMU checks containment in the front group, not list order.
 * O3 (device side): a refused response leaves the front group pending, unchanged (dry runs are
 * all-or-nothing); a later response or a 0-entry response resolves it.
 */
import {
  CXL_INT_MODE_MASK, CXL_INT_MSI_MSIX, DC_EVENT_TYPE, EVENT_INT_POLICY_LEN, EVENT_INT_POLICY_MIN_LEN,
  EXTENT_LIST_IN_SIZE, EXTENT_LIST_OUT_HDR, EXTENT_SIZE, NULL_UUID, RC, decodeDcResponse, decodeDcResponseHeader, decodeGetDcExtentListIn,
  encodeGetDcExtentListOut, u64ToNumber, type CxlExtentRaw,
} from '../wire/cxl.js';
import type { Personality } from './config.js';
import { hex } from '../units.js';
import { BasePersonality } from './personality.js';
import { rangeContains, rangesOverlap, type DcExtent } from './extents.js';
import type { FmAddSource, MboxReply, NormalizedRelease, OfferRecord } from './personality-api.js';
import { fmError, type AddCapacityOk, type FmResult, type ReleaseCapacityOk, type SelectionPolicy } from './types.js';

type Range = { dpa: number; length: number };

export class QemuPersonality extends BasePersonality {
  readonly irqEveryRecord = false;
  readonly qemuConfigReply = true;
  readonly mockErrnos = false;
  readonly moreWhenNonEmpty = true;
  readonly exactInputLengths = true;
  readonly clearRule = 'qemu' as const;

  get name(): Personality {
    return this.dev.config.personality;
  }

  /**
   * `cmd_events_set_interrupt_policy`: fewer than 4 bytes → Invalid Payload Length; the DC log's
   * `irq_enabled` is set from `dcd_settings` only when the 5th byte is present ("DCD is
   * optional"), to (settings & 3) == MSI/MSI-X.
   */
  setEventInterruptPolicy(input: Uint8Array): number {
    if (input.byteLength < EVENT_INT_POLICY_MIN_LEN) return RC.INVALID_PAYLOAD_LENGTH;
    if (input.byteLength >= EVENT_INT_POLICY_LEN) this.dev.setDcIrqEnabled(((input[4] ?? 0) & CXL_INT_MODE_MASK) === CXL_INT_MSI_MSIX);
    return RC.SUCCESS;
  }

  private get opts() {
    return this.dev.config.qemu;
  }

  policyRefusal(policy: SelectionPolicy): string | null {
    if (policy === 'prescriptive' || this.opts.extendedPolicies) return null;
    return `Selection policy not supported: ${policy} (R1)`;
  }

  /**
   * A scenario record past 2^53 is beyond every region: refused, R3, by both QEMU trees (QEMU's own
   * u64 `offset + len` check would let a wrapping extent into out-of-range bitmap indexing, which
   * the model does not emulate). Before the personality interface device.ts compared the name with
   * 'qemu', so `qemu-tag-rfc` logged such a record as the mock would — a model bug.
   */
  override u64RecordRefusal(dpa: bigint, length: bigint): string | null {
    return `extent range is beyond the region end (R3): DPA 0x${dpa.toString(16)} length 0x${length.toString(16)}`;
  }

  /** R7: `extents_avail = 512 - total_extent_count` */
  override numAvailExtents(): number {
    return Math.max(0, this.dev.config.maxExtents - this.dev.extents.totalExtentCount());
  }

  /** R16: upstream inserts accepted extents with tag NULL, seq 0. */
  override acceptedTagSeq(p: { tag: string | null; seq: number }): { tag: string | null; seq: number } {
    return this.opts.tagPassthrough ? { tag: p.tag, seq: p.seq } : { tag: null, seq: 0 };
  }

  /**
   * R3 per-extent checks, shared by add and release: non-zero length, block aligned, inside the
   * region, no overlap with another extent of the same command. `region` null = the partition that
   * contains each extent (scenario records carry no region).
   */
  private checkRanges(ranges: readonly Range[], region: number | null, what: string): string | null {
    const parts = this.dev.config.partitions;
    for (const [i, r] of ranges.entries()) {
      if (r.length === 0) return `${what}[${i}]: extent length cannot be zero (R3)`;
      const rid = region ?? this.dev.partitionAt(r.dpa);
      const p = rid >= 0 ? parts[rid] : undefined;
      if (!p || r.dpa < p.base) return `${what}[${i}]: DPA ${hex(r.dpa)} is not in a DC region (R3)`;
      if ((r.dpa - p.base) % p.blockSize !== 0 || r.length % p.blockSize !== 0) {
        return `${what}[${i}]: offset/length not aligned to the region block size ${hex(p.blockSize)} (R3)`;
      }
      if (r.dpa + r.length > p.base + p.length) return `${what}[${i}]: extent goes beyond the region end (R3)`;
      for (let j = 0; j < i; j++) {
        const o = ranges[j] as Range;
        if (rangesOverlap(o.dpa, o.length, r.dpa, r.length)) return `${what}[${i}]: overlaps ${what}[${j}] in the same request (R3)`;
      }
    }
    return null;
  }

  /**
   * QMP add (`qmp_cxl_process_dynamic_capacity_prescriptive`, R2–R7) or FM API Initiate Dynamic
   * Capacity Add (5604h, `cmd_fm_initiate_dc_add`, R26). QMP: per-extent checks, overlap with
   * accepted or pending refused, NO 512-extent check, and upstream writes a zero tag and seq 0
   * into every extent (`memset(extents[i].tag, 0, 0x10)`). 5604h: more than 512 extents →
   * Resources Exhausted, overlap with pending or accepted → Invalid Extent List (checked before
   * the malformed-list verdict is returned), and the FM's tag and seq are kept even upstream.
   */
  fmAdd(records: OfferRecord[], ctx: FmAddSource): FmResult<AddCapacityOk> {
    const ext = this.dev.extents;
    const fmApi = ctx.source === 'fm-api';
    if (fmApi && ext.totalExtentCount() + records.length > this.dev.config.maxExtents) {
      return fmError('ENOSPC', `Resources Exhausted: ${records.length} + ${ext.totalExtentCount()} extents exceed ${this.dev.config.maxExtents} (5604h, R26)`);
    }
    const bad = this.checkRanges(records, ctx.region, 'extents');
    if (bad && !fmApi) return fmError('EINVAL', bad);
    for (const [i, r] of records.entries()) {
      if (fmApi) {
        if (ext.overlapsPending(r.dpa, r.length) || ext.overlapsAccepted(r.dpa, r.length)) return fmError('EINVAL', `Invalid Extent List: extents[${i}] overlaps a pending or accepted extent (5604h, R26)`);
        continue;
      }
      // R4
      if (ext.overlapsAccepted(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot add DPA already accessible to the same LD (R4)`);
      if (ext.overlapsPending(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot add DPA again while still pending (R4)`);
    }
    if (bad) return fmError('EINVAL', `${bad} (5604h: cxl_detect_malformed_extent_list)`);
    const keep = this.opts.tagPassthrough || fmApi;
    const views = [];
    for (const r of records) {
      const e: DcExtent = { dpa: r.dpa, length: r.length, tag: keep ? r.tag : null, seq: keep ? r.seq : 0, offerSeq: 0, shared: r.shared, group: 0 };
      this.dev.offer(e, r.more);
      this.dev.queueRecord({ eventType: DC_EVENT_TYPE.ADD_CAPACITY, extent: this.dev.rawExtent(e.dpa, e.length, e.tag, e.seq), more: r.more, updatedRegionIndex: 0 });
      views.push(this.dev.view(e));
    }
    this.dev.pump();
    return { ok: true, extents: views, records: records.length };
  }

  /**
   * QMP release (`qmp_cxl_release_dynamic_capacity`, R1, R3, R5, R7, R28) or FM API Initiate
   * Dynamic Capacity Release (5605h, `cmd_fm_initiate_dc_release`, R27): records only, no state
   * change until the host's 4803h. QMP refuses forced removal ("Forced removal not supported
   * yet"; `qemu.forcedRelease` lifts that as a model extension) and, upstream, writes a zero tag
   * into the records. 5605h with the Forced bit skips only the pending-overlap check and then
   * emits an ORDINARY Release Capacity record (`DC_EVENT_RELEASE_CAPACITY`), carrying the FM's
   * tags; its dry run refuses what is not backed (Invalid PA) or would split past 512 extents.
   */
  fmRelease(req: NormalizedRelease): FmResult<ReleaseCapacityOk> {
    const ext = this.dev.extents;
    const fmApi = req.via === 'fm-api';
    if (req.forced && !fmApi && !this.opts.forcedRelease) return fmError('EOPNOTSUPP', 'Forced removal not supported yet (R1)');
    let ranges: { dpa: number; length: number; tag: string | null | undefined }[];
    if (req.policy === 'tag-based') {
      if (fmApi) return fmError('EINVAL', 'Invalid Input: CXL extent removal policy not supported (5605h: prescriptive only)');
      if (!this.opts.tagPassthrough) return fmError('EOPNOTSUPP', 'Removal policy not supported: tag-based (R1; the tag RFC adds it, R28)');
      // R28: every accepted extent whose tag matches.
      ranges = ext.accepted.filter((e) => e.tag === req.tag).map((e) => ({ dpa: e.dpa, length: e.length, tag: e.tag }));
      if (ranges.length === 0) return fmError('ENOENT', `no accepted extent carries tag ${req.tag} (not-found, R28)`);
    } else {
      ranges = req.ranges;
      if (fmApi) {
        const rc = this.detectMalformedExtentList(ranges);
        if (rc !== RC.SUCCESS) return fmError('EINVAL', `5605h: cxl_detect_malformed_extent_list → ${rc === RC.INVALID_PA ? 'Invalid PA' : 'Invalid Extent List'}`);
        if (!req.forced) {
          for (const [i, r] of ranges.entries()) {
            if (ext.overlapsPending(r.dpa, r.length)) return fmError('EINVAL', `Invalid PA: extents[${i}] overlaps a pending extent and the Forced Removal flag is clear (5605h, R27)`);
          }
        }
        const dry = ext.releaseDryRun(ranges, { total: ext.totalExtentCount(), maxExtents: this.dev.config.maxExtents, keepTag: this.opts.tagPassthrough });
        if (!dry.ok) return dry.reason === 'exhausted' ? fmError('ENOSPC', 'Resources Exhausted: the release would split past 512 extents (5605h)') : fmError('EINVAL', 'Invalid PA: a range is not fully backed by accepted extents (5605h)');
      } else {
        const bad = this.checkRanges(ranges, req.region, 'extents');
        if (bad) return fmError('EINVAL', bad);
        for (const [i, r] of ranges.entries()) {
          // R5
          if (ext.overlapsPending(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot release extent with pending DPA range (R5)`);
          if (!ext.fullyAccepted(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot release extent with non-existing DPA range (R5)`);
        }
      }
    }
    // QMP forced (model extension only) logs Forced records; 5605h's Forced bit does not.
    const type = req.forced && !fmApi ? DC_EVENT_TYPE.FORCED_CAPACITY_RELEASE : DC_EVENT_TYPE.RELEASE_CAPACITY;
    const views = [];
    for (const [i, r] of ranges.entries()) {
      // Tag of the record: 5605h copies the FM's raw extents; upstream QMP zeroes it; the RFC
      // names the FM's tag or, absent one, the accepted extent's (the host releases a tag group
      // only when the record carries its tag, v11 cxl_rm_extent).
      const owner = ext.accepted.find((e) => rangeContains(e.dpa, e.length, r.dpa, 1));
      const tag = fmApi ? r.tag ?? null : this.opts.tagPassthrough ? (r.tag !== undefined ? r.tag : owner?.tag ?? null) : null;
      const more = i < ranges.length - 1; // R7: release events use the same chaining
      this.dev.queueRecord({ eventType: type, extent: this.dev.rawExtent(r.dpa, r.length, tag, 0), more, updatedRegionIndex: 0 });
      views.push(this.dev.view({ dpa: r.dpa, length: r.length, tag, seq: 0 }));
    }
    this.dev.pump();
    return { ok: true, extents: views, records: ranges.length };
  }

  /**
   * `cxl_detect_malformed_extent_list` (R14, R20): each entry inside one DC region (else Invalid
   * PA), block aligned (else Invalid Extent List), no overlap with another entry (else Invalid
   * Extent List). A zero-length entry passes, as in QEMU (alignment 0 % bs = 0, an empty bitmap
   * range overlaps nothing); the dry runs decide what becomes of it. Entries whose u64 values
   * exceed 2^53 cannot be in a region: Invalid PA.
   */
  detectMalformedExtentList(list: readonly { dpa: number | null; length: number | null }[]): number {
    const parts = this.dev.config.partitions;
    const seen: Range[] = [];
    for (const e of list) {
      if (e.dpa === null || e.length === null) return RC.INVALID_PA;
      const rid = this.dev.partitionOf(e.dpa, e.length);
      const p = parts[rid];
      if (!p) return RC.INVALID_PA;
      if (e.dpa % p.blockSize !== 0 || e.length % p.blockSize !== 0) return RC.INVALID_EXTENT_LIST;
      if (seen.some((s) => rangesOverlap(s.dpa, s.length, e.dpa as number, e.length as number))) return RC.INVALID_EXTENT_LIST;
      seen.push({ dpa: e.dpa, length: e.length });
    }
    return RC.SUCCESS;
  }

  /**
   * `cxl_dcd_add_dyn_cap_rsp_dry_run` (R15, R17, R18): every range contained in an extent of the
   * FIRST pending group and not overlapping an accepted extent, else Invalid PA. With tag
   * passthrough a tagged pending extent must be matched exactly (R18). No group pending:
   * `QTAILQ_FIRST` is NULL and `&ext_group->list` is NULL too (the list is the struct's first
   * member), which `cxl_extents_contains_dpa_range` answers "not contained" — Invalid PA (R17).
   * A zero-length entry is an empty Range, which `range_contains_range` never contains — Invalid PA.
   */
  dcdAddDynCapRspDryRun(list: readonly Range[]): { rc: number; owners: DcExtent[] } {
    const front = this.dev.extents.frontGroup();
    if (!front) return { rc: RC.INVALID_PA, owners: [] };
    const owners: DcExtent[] = [];
    for (const e of list) {
      const owner = e.length === 0 ? undefined : front.extents.find((p) => rangeContains(p.dpa, p.length, e.dpa, e.length));
      if (!owner) return { rc: RC.INVALID_PA, owners: [] };
      if (this.dev.extents.overlapsAccepted(e.dpa, e.length)) return { rc: RC.INVALID_PA, owners: [] };
      if (this.opts.tagPassthrough && owner.tag !== null && (owner.dpa !== e.dpa || owner.length !== e.length)) return { rc: RC.INVALID_PA, owners: [] };
      owners.push(owner);
    }
    return { rc: RC.SUCCESS, owners };
  }

  /**
   * `cmd_dcd_add_dyn_cap_rsp` (4802h), R10–R18, in QEMU's order: short header → Invalid Payload
   * Length; 0 entries → delete the front pending group ("reject all", R11) — with NO group
   * pending, `cxl_extent_group_list_delete_front` dereferences NULL (QEMU would crash): the model
   * reports a device fault (Internal Error, `device-fault` event) rather than a silent success;
   * entries beyond the input → Invalid Payload Length; n + total > 512 → Resources Exhausted
   * (R13); malformed list (R14); dry run (R15, R17, R18); then each range is appended to the
   * accepted list and the whole front group is deleted (R16).
   */
  addDcResponse(input: Uint8Array): number {
    const ext = this.dev.extents;
    const hdr = decodeDcResponseHeader(input);
    if (!hdr.ok) return RC.INVALID_PAYLOAD_LENGTH; // R10: shorter than the 8-byte header
    const n = hdr.value.extentListSize;
    if (n === 0) {
      if (!ext.frontGroup()) return this.dev.fault(0x4802, 'Add DC Response with 0 entries and no pending extent group: cxl_extent_group_list_delete_front() dereferences NULL (QEMU crashes)');
      this.dev.noteRejected(ext.dropFrontGroup(), 'reject-all'); // R11
      return RC.SUCCESS;
    }
    const d = decodeDcResponse(input);
    if (!d.ok) return RC.INVALID_PAYLOAD_LENGTH; // R12
    if (n + ext.totalExtentCount() > this.dev.config.maxExtents) return RC.RESOURCES_EXHAUSTED; // R13
    const list = d.value.extents.map((e) => ({ dpa: u64ToNumber(e.dpaStart), length: u64ToNumber(e.length) }));
    const rc = this.detectMalformedExtentList(list); // R14
    if (rc !== RC.SUCCESS) return rc;
    const ranges = list as Range[];
    const dry = this.dcdAddDynCapRspDryRun(ranges); // R15, R17, R18
    if (dry.rc !== RC.SUCCESS) return dry.rc;
    // R16: append the ranges to the accepted list, mark blocks backed, delete the whole front group.
    const used = new Set<DcExtent>();
    for (const [i, r] of ranges.entries()) {
      const owner = dry.owners[i] as DcExtent;
      used.add(owner);
      const ts = this.acceptedTagSeq(owner);
      this.dev.noteAccepted(ext.acceptRange(r.dpa, r.length, ts.tag, ts.seq, owner.offerSeq));
    }
    this.dev.noteRejected(ext.dropFrontGroup().filter((e) => !used.has(e)), 'not-in-response');
    return RC.SUCCESS;
  }

  /**
   * `cmd_dcd_release_dyn_cap` (4803h), R19–R22: short header / entries beyond the input → Invalid
   * Payload Length; 0 entries → Invalid Input; malformed list; dry run on a copy (not backed →
   * Invalid PA; a split past 512 extents → Resources Exhausted); then the copy replaces the
   * accepted list (order kept, remainders at the tail). A zero-length entry is "backed" and
   * releases nothing.
   */
  releaseDc(input: Uint8Array): number {
    const ext = this.dev.extents;
    const hdr = decodeDcResponseHeader(input);
    if (!hdr.ok) return RC.INVALID_PAYLOAD_LENGTH; // R19: shorter than the 8-byte header
    const n = hdr.value.extentListSize;
    if (n === 0) return RC.INVALID_INPUT; // R19
    const d = decodeDcResponse(input);
    if (!d.ok) return RC.INVALID_PAYLOAD_LENGTH;
    const list = d.value.extents.map((e) => ({ dpa: u64ToNumber(e.dpaStart), length: u64ToNumber(e.length) }));
    const rc = this.detectMalformedExtentList(list); // R20
    if (rc !== RC.SUCCESS) return rc;
    const ranges = list as Range[];
    const dry = ext.releaseDryRun(ranges, { total: ext.totalExtentCount(), maxExtents: this.dev.config.maxExtents, keepTag: this.opts.tagPassthrough }); // R21
    if (!dry.ok) return dry.reason === 'exhausted' ? RC.RESOURCES_EXHAUSTED : RC.INVALID_PA;
    const tags = ranges.map((r) => ext.accepted.find((e) => rangeContains(e.dpa, e.length, r.dpa, 1))?.tag ?? null);
    ext.commitAcceptedList(dry.list, ranges.length); // R22
    for (const [i, r] of ranges.entries()) if (r.length > 0) this.dev.noteReleased(r.dpa, r.length, tags[i] ?? null);
    return RC.SUCCESS;
  }

  /**
   * `cmd_dcd_get_dyn_cap_ext_list` (4801h): input exactly 8 bytes; `start_extent_id >
   * nr_extents_accepted` → Invalid Input; count = min(extent_cnt, total_extent_count − start) —
   * total_extent_count counts PENDING extents too — capped at what fits the 2,048-byte payload
   * (50); only accepted extents are copied, so the extra entries come back zeroed; total_extents =
   * nr_extents_accepted; generation_num = ext_list_gen_seq, never written (0).
   */
  override getDcExtentList(input: Uint8Array, out: Uint8Array): MboxReply {
    if (input.byteLength !== EXTENT_LIST_IN_SIZE) return { rc: RC.INVALID_PAYLOAD_LENGTH, outLen: 0 };
    const dec = decodeGetDcExtentListIn(input);
    if (!dec.ok) return { rc: RC.INVALID_PAYLOAD_LENGTH, outLen: 0 };
    const { extentCount, startExtentIndex } = dec.value;
    const ext = this.dev.extents;
    const acc = ext.accepted;
    if (startExtentIndex > acc.length) return { rc: RC.INVALID_INPUT, outLen: 0 };
    const fit = Math.max(0, Math.floor((out.byteLength - EXTENT_LIST_OUT_HDR) / EXTENT_SIZE));
    const count = Math.min(extentCount, ext.totalExtentCount() - startExtentIndex, fit);
    const extents: CxlExtentRaw[] = [];
    for (let i = 0; i < count; i++) {
      const e = acc[startExtentIndex + i];
      extents.push(e ? { startDpa: BigInt(e.dpa), length: BigInt(e.length), uuid: e.tag ?? NULL_UUID, sharedExtnSeq: e.seq } : { startDpa: 0n, length: 0n, uuid: NULL_UUID, sharedExtnSeq: 0 });
    }
    const outLen = encodeGetDcExtentListOut({ returnedExtentCount: count, totalExtentCount: acc.length, generationNum: ext.generation, extents }, out);
    return { rc: RC.SUCCESS, outLen };
  }
}
