/**
 * DOC: the `qemu` personality — upstream QEMU's DCD rules R1–R28 (device-reference.md §2).
 *
 * Mirrors `hw/mem/cxl_type3.c` (`qmp_cxl_process_dynamic_capacity_prescriptive`) and
 * `hw/cxl/cxl-mailbox-utils.c` (`cmd_dcd_add_dyn_cap_rsp`, `cxl_detect_malformed_extent_list`,
 * `cxl_dcd_add_dyn_cap_rsp_dry_run`, `cmd_dcd_release_dyn_cap`, `cxl_dc_extent_release_dry_run`):
 *  - the FM side refuses bad offers before any event is emitted (R1–R5, R26, R27);
 *  - one pending extent group per chain, FIFO (R6); one record per extent, More=1 on all but the
 *    last (R7); an IRQ only when the log goes from 0 to 1 records (R7); 8-record log, overflow
 *    drops records (R8);
 *  - Add DC Response answers the FIRST pending group; sub-ranges are accepted; all-or-nothing dry
 *    run; the whole front group is deleted on success (R10–R18);
 *  - Release DC splits accepted extents, all-or-nothing (R19–R22);
 *  - Get DC Config / Extent List per R23 / R24 (personality.ts).
 *
 * `tagPassthrough` (default true, DECISIONS.md) keeps tags and seqs like the QEMU-TAG-RFC tree
 * the v11 series was tested on, and turns on R18 and R28; false is upstream (R6, R16: zero tag and
 * seq 0 on offered and accepted extents; tag-based removal refused, R1).
 *
 * O1 does not arise here: QEMU checks containment in the front group, not list order.
 * O3 (device side): a refused response leaves the front group pending, unchanged (dry runs are
 * all-or-nothing); a later response or a 0-entry response resolves it.
 */
import {
  DC_EVENT_TYPE, RC, decodeDcResponse, u64ToNumber,
} from '../wire/cxl.js';
import type { Personality } from './config.js';
import { DevicePersonality } from './personality.js';
import { rangeContains, rangesOverlap, type DcExtent } from './extents.js';
import type { NormalizedRelease, OfferRecord } from './device.js';
import { fmError, type AddCapacityOk, type FmResult, type ReleaseCapacityOk, type SelectionPolicy } from './types.js';

type Range = { dpa: number; length: number };

export class QemuPersonality extends DevicePersonality {
  readonly name: Personality = 'qemu';
  readonly irqEveryRecord = false;
  readonly qemuConfigReply = true;
  readonly clearOtherLogRc = RC.INVALID_INPUT;

  private get opts() {
    return this.dev.config.qemu;
  }

  policyRefusal(policy: SelectionPolicy): string | null {
    if (policy === 'prescriptive' || this.opts.extendedPolicies) return null;
    return `Selection policy not supported: ${policy} (R1)`;
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

  /** QMP add (`qmp_cxl_process_dynamic_capacity_prescriptive`, R2–R7, R26). */
  fmAdd(records: OfferRecord[], ctx: { source: 'qmp' | 'inject'; region: number | null }): FmResult<AddCapacityOk> {
    const ext = this.dev.extents;
    const bad = this.checkRanges(records, ctx.region, 'extents');
    if (bad) return fmError('EINVAL', bad);
    for (const [i, r] of records.entries()) {
      // R4
      if (ext.overlapsAccepted(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot add DPA already accessible to the same LD (R4)`);
      if (ext.overlapsPending(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot add DPA again while still pending (R4)`);
    }
    // R26: the device cannot track more than CXL_NUM_EXTENTS_SUPPORTED extents.
    if (ext.totalExtentCount() + records.length > this.dev.config.maxExtents) {
      return fmError('ENOSPC', `Resources Exhausted: ${records.length} + ${ext.totalExtentCount()} extents exceed ${this.dev.config.maxExtents} (R26)`);
    }
    const pass = this.opts.tagPassthrough;
    const views = [];
    for (const r of records) {
      // R6: upstream writes a zero tag and seq 0 into every offered extent.
      const e: DcExtent = { dpa: r.dpa, length: r.length, tag: pass ? r.tag : null, seq: pass ? r.seq : 0, offerSeq: 0, shared: r.shared, group: 0 };
      this.dev.offer(e, r.more);
      this.dev.queueRecord({ eventType: DC_EVENT_TYPE.ADD_CAPACITY, extent: this.dev.rawExtent(e.dpa, e.length, e.tag, e.seq), more: r.more, updatedRegionIndex: 0 });
      views.push(this.dev.view(e));
    }
    this.dev.pump();
    return { ok: true, extents: views, records: records.length };
  }

  /** QMP release (R1, R3, R5, R7, R27, R28): records only, no state change until 4803h. */
  fmRelease(req: NormalizedRelease): FmResult<ReleaseCapacityOk> {
    const ext = this.dev.extents;
    if (req.forced && !this.opts.forcedRelease) return fmError('EOPNOTSUPP', 'Forced removal not supported yet (R1)');
    let ranges: { dpa: number; length: number; tag: string | null | undefined }[];
    if (req.policy === 'tag-based') {
      if (!this.opts.tagPassthrough) return fmError('EOPNOTSUPP', 'Removal policy not supported: tag-based (R1; needs tagPassthrough, R28)');
      // R28: every accepted extent whose tag matches.
      ranges = ext.accepted.filter((e) => e.tag === req.tag).map((e) => ({ dpa: e.dpa, length: e.length, tag: e.tag }));
      if (ranges.length === 0) return fmError('ENOENT', `no accepted extent carries tag ${req.tag} (not-found, R28)`);
    } else {
      ranges = req.ranges;
      const bad = this.checkRanges(ranges, req.region, 'extents');
      if (bad) return fmError('EINVAL', bad);
      for (const [i, r] of ranges.entries()) {
        // R5 / R27
        if (ext.overlapsPending(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot release extent with pending DPA range (R5)`);
        if (!ext.fullyAccepted(r.dpa, r.length)) return fmError('EINVAL', `extents[${i}]: cannot release extent with non-existing DPA range (R5)`);
      }
    }
    const type = req.forced ? DC_EVENT_TYPE.FORCED_CAPACITY_RELEASE : DC_EVENT_TYPE.RELEASE_CAPACITY;
    const views = [];
    for (const [i, r] of ranges.entries()) {
      // The host releases a tag group only when the record carries the group's tag (v11-18), so
      // a release record names the tag of the accepted extent unless the FM gave one.
      const owner = ext.accepted.find((e) => rangeContains(e.dpa, e.length, r.dpa, 1));
      const tag = r.tag !== undefined ? r.tag : this.opts.tagPassthrough ? owner?.tag ?? null : null;
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
   * Extent List). A zero-length entry is refused as Invalid Extent List (QEMU would let it through;
   * DECISIONS.md). Entries whose u64 values exceed 2^53 cannot be in a region: Invalid PA.
   */
  detectMalformedExtentList(list: readonly { dpa: number | null; length: number | null }[]): number {
    const parts = this.dev.config.partitions;
    const seen: Range[] = [];
    for (const e of list) {
      if (e.dpa === null || e.length === null) return RC.INVALID_PA;
      const rid = this.dev.partitionOf(e.dpa, e.length);
      const p = parts[rid];
      if (!p) return RC.INVALID_PA;
      if (e.dpa % p.blockSize !== 0 || e.length % p.blockSize !== 0 || e.length === 0) return RC.INVALID_EXTENT_LIST;
      if (seen.some((s) => rangesOverlap(s.dpa, s.length, e.dpa as number, e.length as number))) return RC.INVALID_EXTENT_LIST;
      seen.push({ dpa: e.dpa, length: e.length });
    }
    return RC.SUCCESS;
  }

  /**
   * `cxl_dcd_add_dyn_cap_rsp_dry_run` (R15, R17, R18): every range contained in an extent of the
   * FIRST pending group and not overlapping an accepted extent, else Invalid PA. With tag
   * passthrough a tagged pending extent must be matched exactly (R18). No group pending → Invalid
   * PA (R17, inferred: QEMU dereferences an empty list).
   */
  dcdAddDynCapRspDryRun(list: readonly Range[]): { rc: number; owners: DcExtent[] } {
    const front = this.dev.extents.frontGroup();
    if (!front) return { rc: RC.INVALID_PA, owners: [] };
    const owners: DcExtent[] = [];
    for (const e of list) {
      const owner = front.extents.find((p) => rangeContains(p.dpa, p.length, e.dpa, e.length));
      if (!owner) return { rc: RC.INVALID_PA, owners: [] };
      if (this.dev.extents.overlapsAccepted(e.dpa, e.length)) return { rc: RC.INVALID_PA, owners: [] };
      if (this.opts.tagPassthrough && owner.tag !== null && (owner.dpa !== e.dpa || owner.length !== e.length)) return { rc: RC.INVALID_PA, owners: [] };
      owners.push(owner);
    }
    return { rc: RC.SUCCESS, owners };
  }

  /** `cmd_dcd_add_dyn_cap_rsp` (4802h), R10–R18. */
  addDcResponse(input: Uint8Array): number {
    const ext = this.dev.extents;
    const d = decodeDcResponse(input);
    if (!d.ok) return RC.INVALID_PAYLOAD_LENGTH; // R10 (short header), R12 (entries do not fit)
    const n = d.value.extentListSize;
    if (n === 0) {
      // R11: "reject all" — the front pending group is deleted.
      if (!ext.frontGroup()) return RC.INVALID_INPUT; // R17 (inferred, clean failure)
      this.dev.noteRejected(ext.dropFrontGroup(), 'reject-all');
      return RC.SUCCESS;
    }
    if (n + ext.totalExtentCount() > this.dev.config.maxExtents) return RC.RESOURCES_EXHAUSTED; // R13
    const list = d.value.extents.map((e) => ({ dpa: u64ToNumber(e.dpaStart), length: u64ToNumber(e.length) }));
    const rc = this.detectMalformedExtentList(list); // R14
    if (rc !== RC.SUCCESS) return rc;
    const ranges = list as Range[];
    const dry = this.dcdAddDynCapRspDryRun(ranges); // R15, R17, R18
    if (dry.rc !== RC.SUCCESS) return dry.rc;
    // R16: insert the ranges as accepted, mark blocks backed, delete the whole front group.
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

  /** `cmd_dcd_release_dyn_cap` (4803h), R19–R22. */
  releaseDc(input: Uint8Array): number {
    const ext = this.dev.extents;
    if (input.byteLength < 8) return RC.INVALID_PAYLOAD_LENGTH; // R19
    const n = new DataView(input.buffer, input.byteOffset, 4).getUint32(0, true);
    if (n === 0) return RC.INVALID_INPUT; // R19
    const d = decodeDcResponse(input);
    if (!d.ok) return RC.INVALID_PAYLOAD_LENGTH;
    const list = d.value.extents.map((e) => ({ dpa: u64ToNumber(e.dpaStart), length: u64ToNumber(e.length) }));
    const rc = this.detectMalformedExtentList(list); // R20
    if (rc !== RC.SUCCESS) return rc;
    const ranges = list as Range[];
    const dry = ext.releaseDryRun(ranges); // R21, on a copy
    if (!dry.ok) return RC.INVALID_PA;
    if (dry.list.length + ext.pendingCount() > this.dev.config.maxExtents) return RC.RESOURCES_EXHAUSTED; // R21
    const tags = ranges.map((r) => ext.accepted.find((e) => rangeContains(e.dpa, e.length, r.dpa, 1))?.tag ?? null);
    ext.commitAcceptedList(dry.list, ranges.length); // R22
    for (const [i, r] of ranges.entries()) this.dev.noteReleased(r.dpa, r.length, tags[i] ?? null);
    return RC.SUCCESS;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
