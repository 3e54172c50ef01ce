/**
 * DOC: the `cxl-test` personality — the v11 cxl_test mock's rules, mock behaviours 1–12
 * (docs/personalities.md; tools/testing/cxl/test/mem.c, "[PATCH v11 30/31]").
 *
 *  - Injection checks nothing but `new_extent_valid` (length ≠ 0, start not the start of any FM,
 *    sent or accepted extent); overlaps with a different start reach the host on purpose (mock 6).
 *  - An injected extent moves FM → sent when its record is logged, with `offer_seq` (mock 7).
 *  - Add DC Response (`mock_add_dc_response`, mock 9): each entry must be in sent with the exact
 *    length — or already accepted with the same length (a replay: success, no change) — else
 *    "not found"; entries must be in offer order (non-decreasing offer_seq) else Invalid Input;
 *    then every still-sent extent is cleared (rejected). Like the mock, a failure part-way leaves
 *    the entries before it accepted and the sent set uncleared (Sashiko: "torn state").
 *  - Release DC (`mock_dc_release`, mock 10): entries not accepted with exact start and length are
 *    ignored; the command still succeeds.
 *  - `dc_del_extent` (mock 8): erases overlapping FM-state extents, leaves accepted ones for the
 *    host, logs one Release (or Forced) record with seq 0 and More 0.
 *  - 15-record log (17 slots, slot 0 unused, full one before wrap), records per Get from one
 *    counter shared by every mock device and log (`% 4 + 1`), MORE_RECORDS only when records
 *    remain, Clear ignores `clear_flags` and tolerates extra handles and an empty log, IRQ after
 *    every record ("Fake the irq") (mock 12; mem.c `mes_add_event`, `mock_get_event`,
 *    `mock_clear_event`).
 *  - "Fake the irq" is synchronous: `log_dc_event` calls `cxl_mem_get_event_records()` inside the
 *    sysfs write, so every FM record is drained before the next is logged (config `syncDrain`,
 *    device.ts `pump`, service.ts).
 *
 * Return codes: the mock's handlers return errnos, and `cxl_internal_send_cmd` hands a negative
 * mbox_send() result to the host unchanged: -EINVAL (out of order, bad input) and -ENOMEM
 * (`dc_accept_extent`: "Extent … not found") reach the host as -EINVAL / -ENOMEM
 * (wire/cxl.ts `MOCK_ERRNO_RC`).
 *
 * O1 (device side): the offer-order rule is kept exactly as v11 posted it, so a host response
 * grouped by tag (A1, A2, B1 for an offer A1, B1, A2) is refused with -EINVAL after A1 and
 * A2 were accepted — the torn outcome a checker classifies as a known hazard.
 */
import { DC_EVENT_TYPE, MOCK_ERRNO_RC, RC, decodeDcResponse, u64ToNumber } from '../wire/cxl.js';
import type { Personality } from './config.js';
import { BasePersonality } from './personality.js';
import type { DcExtent } from './extents.js';
import type { FmAddSource, NormalizedRelease, OfferRecord } from './personality-api.js';
import { fmError, type AddCapacityOk, type FmResult, type ReleaseCapacityOk, type SelectionPolicy } from './types.js';

export class CxlTestPersonality extends BasePersonality {
  readonly name: Personality = 'cxl-test';
  readonly irqEveryRecord = true;
  readonly qemuConfigReply = false;
  readonly mockErrnos = true;
  readonly moreWhenNonEmpty = false;
  readonly exactInputLengths = false;
  readonly clearRule = 'mock' as const;

  /**
   * The mock has no Set Event Interrupt Policy (`cxl_mock_mbox_send` has no case for it; its
   * memdevs never probe through cxl_pci, so the v11 host never sends it there). The model's host
   * probes every personality the same way, so the mock accepts it and changes nothing: its
   * "interrupt" is the synchronous drain in `log_dc_event`.
   */
  setEventInterruptPolicy(_input: Uint8Array): number {
    return RC.SUCCESS;
  }

  /** The mock has no selection policies; free/contiguous are model conveniences on top of inject. */
  policyRefusal(_policy: SelectionPolicy): string | null {
    return null;
  }

  /** mock `new_extent_valid` (mock 6); `batch` = starts already used by this command. */
  newExtentValid(start: number, length: number, batch: Set<number>): boolean {
    if (length === 0) return false;
    if (batch.has(start)) return false;
    return !this.dev.extents.startInUse(start);
  }

  /** `__dc_inject_extent_store` for each record: FM state, then logged in order (mock 5–7). */
  fmAdd(records: OfferRecord[], _src: FmAddSource): FmResult<AddCapacityOk> {
    const batch = new Set<number>();
    for (const [i, r] of records.entries()) {
      if (!this.newExtentValid(r.dpa, r.length, batch)) {
        return fmError('EINVAL', `extents[${i}] at DPA 0x${r.dpa.toString(16)}: zero length or start already in use (new_extent_valid, mock 6)`);
      }
      batch.add(r.dpa);
    }
    const views = [];
    for (const r of records) {
      const e: DcExtent = { dpa: r.dpa, length: r.length, tag: r.tag, seq: r.seq, offerSeq: 0, shared: r.shared, group: 0 };
      this.dev.extents.addFmExtent(e);
      this.dev.queueRecord({ eventType: DC_EVENT_TYPE.ADD_CAPACITY, extent: this.dev.rawExtent(e.dpa, e.length, e.tag, e.seq), more: r.more, updatedRegionIndex: 0, offers: e });
      views.push(this.dev.view(e));
    }
    this.dev.pump();
    return { ok: true, extents: views, records: records.length };
  }

  /** `__dc_del_extent_store` per range (mock 8). Tag-based expands to the accepted extents with the tag. */
  fmRelease(req: NormalizedRelease): FmResult<ReleaseCapacityOk> {
    const ext = this.dev.extents;
    let ranges = req.ranges;
    if (req.policy === 'tag-based') {
      ranges = ext.accepted.filter((e) => e.tag === req.tag).map((e) => ({ dpa: e.dpa, length: e.length, tag: e.tag }));
      if (ranges.length === 0) return fmError('ENOENT', `no accepted extent carries tag ${req.tag}`);
    }
    const type = req.forced ? DC_EVENT_TYPE.FORCED_CAPACITY_RELEASE : DC_EVENT_TYPE.RELEASE_CAPACITY;
    const views = [];
    for (const r of ranges) {
      this.dcDeleteExtent(r.dpa, r.length);
      const tag = r.tag !== undefined ? r.tag : ext.findAcceptedByStart(r.dpa)?.tag ?? null;
      this.dev.queueRecord({ eventType: type, extent: this.dev.rawExtent(r.dpa, r.length, tag, 0), more: false, updatedRegionIndex: 0 });
      views.push(this.dev.view({ dpa: r.dpa, length: r.length, tag, seq: 0 }));
    }
    this.dev.pump();
    return { ok: true, extents: views, records: ranges.length };
  }

  /** mock `dc_delete_extent`: FM-state extents touching the range go; accepted ones stay for the host. */
  dcDeleteExtent(start: number, length: number): void {
    this.dev.noteRejected(this.dev.extents.eraseFmOverlapping(start, length), 'fm-deleted');
  }

  /**
   * mock `dc_accept_extent`: sent with the exact length → accepted (generation++); else already
   * accepted with the same length → success, no change; else "not found": -ENOMEM to the host.
   */
  dcAcceptExtent(start: number | null, length: number | null): number {
    const ext = this.dev.extents;
    if (start === null || length === null) return MOCK_ERRNO_RC.ENOMEM;
    const sent = ext.findSentByStart(start);
    if (!sent || sent.length !== length) {
      const acc = ext.findAcceptedByStart(start);
      if (acc && acc.length === length) return RC.SUCCESS;
      return MOCK_ERRNO_RC.ENOMEM;
    }
    ext.dcAcceptExtent(sent);
    this.dev.noteAccepted(sent);
    return RC.SUCCESS;
  }

  /**
   * mock `mock_add_dc_response` (mock 9). The mock reads `extent_list_size` entries whatever the
   * input length; a list longer than the input is refused with -EINVAL here (the model has no
   * stale payload bytes to read; docs/decisions-device.md).
   */
  addDcResponse(input: Uint8Array): number {
    const ext = this.dev.extents;
    const d = decodeDcResponse(input);
    if (!d.ok) return MOCK_ERRNO_RC.EINVAL;
    let first = true;
    let lastOfferSeq = 0;
    for (const e of d.value.extents) {
      const start = u64ToNumber(e.dpaStart);
      const length = u64ToNumber(e.length);
      // CXL r4.0 8.2.10.9.9.3: the host must list extents in the order the device offered them.
      const known = start === null ? undefined : ext.findSentByStart(start) ?? ext.findAcceptedByStart(start);
      if (known) {
        if (!first && known.offerSeq < lastOfferSeq) return MOCK_ERRNO_RC.EINVAL;
        lastOfferSeq = known.offerSeq;
        first = false;
      }
      const rc = this.dcAcceptExtent(start, length);
      if (rc !== RC.SUCCESS) return rc;
    }
    this.dcClearSent();
    return RC.SUCCESS;
  }

  /** mock `dc_clear_sent`: "Any extents not accepted must be cleared". */
  dcClearSent(): void {
    this.dev.noteRejected(this.dev.extents.dcClearSent(), 'not-in-response');
  }

  /** mock `mock_dc_release` / `release_accepted_extent` (mock 10): always 0. */
  releaseDc(input: Uint8Array): number {
    const d = decodeDcResponse(input);
    if (!d.ok) return MOCK_ERRNO_RC.EINVAL; // model: the mock would read past the input (see addDcResponse)
    for (const e of d.value.extents) {
      const start = u64ToNumber(e.dpaStart);
      const length = u64ToNumber(e.length);
      const gone = start === null || length === null ? null : this.dev.extents.releaseAcceptedExtent(start, length);
      if (gone) {
        this.dev.noteReleased(gone.dpa, gone.length, gone.tag);
      } else {
        this.dev.noteReleaseIgnored(Number(e.dpaStart), Number(e.length), 'not in accepted state');
      }
    }
    return RC.SUCCESS;
  }
}
