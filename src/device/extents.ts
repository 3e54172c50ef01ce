/**
 * DOC: device extent state — the three sets of the cxl_test mock, with QEMU's pending groups.
 *
 * As `struct cxl_mockmem_data` says, extents are "in 1 of 3 states: FM (sysfs added but not sent
 * to the host yet), sent (sent to the host but not accepted), accepted (by the host)" (mock 2):
 *  - `fm`: offered by the fabric manager, its event record not yet in the event log (waiting for
 *    room when the log is full and the personality holds records);
 *  - `sent`: offered to the host, awaiting an Add DC Response. Held as FIFO *pending groups*
 *    (QEMU's `extents_pending`, R6): a group is open while the last record offered into it had
 *    More=1 and closes with the More=0 record. The mock keys sent extents by start DPA and orders
 *    them by `offerSeq` (mock 7); both views are served from the same list;
 *  - `accepted`: the device's extent list, returned by Get DC Extent List. The mock keeps it in
 *    an xarray keyed by start DPA, so it iterates sorted by DPA; QEMU keeps a QTAILQ and appends
 *    (`cxl_insert_extent_to_extent_list` → QTAILQ_INSERT_TAIL), so its list is in insertion
 *    order, and a release split appends its head and tail remainders at the tail
 *    (`cxl_dc_extent_release_dry_run`). `order` picks the rule.
 *
 * Each transition is one named function (`addFmExtent`, `markExtentSent`, `dcAcceptExtent`,
 * `acceptRange`, `dcClearSent`, `dropFrontGroup`, `releaseAcceptedExtent`, `commitAcceptedList`,
 * `eraseFmOverlapping`). The mock bumps the generation number on every accept and every release
 * (`dc_accept_extent`, `release_accepted_extent`); QEMU never writes `ext_list_gen_seq`, so its
 * generation stays 0 (`generationWritten` false).
 *
 * Single-threaded: only the device's own thread touches this state.
 */

export interface DcExtent {
  /** absolute DPA */
  dpa: number;
  length: number;
  /** tag; null = untagged (the null UUID on the wire) */
  tag: string | null;
  /** shared_extn_seq */
  seq: number;
  /** order in which the extent was offered to the host (mock `offer_seq`, mock 7); 0 if never offered */
  offerSeq: number;
  /** injected through dc_inject_shared_extent (mock 5) */
  shared: boolean;
  /** pending group id while in `sent`, else 0 */
  group: number;
}

export interface PendingGroup {
  id: number;
  /** false while the chain that fills it is still open (its last record had More=1) */
  closed: boolean;
  extents: DcExtent[];
}

export function rangesOverlap(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

export function rangeContains(outer: number, olen: number, inner: number, ilen: number): boolean {
  return inner >= outer && inner + ilen <= outer + olen;
}

export class ExtentStore {
  fm: DcExtent[] = [];
  sent: PendingGroup[] = [];
  /** sorted by dpa ('dpa', the mock's xarray) or in insertion order ('insertion', QEMU's QTAILQ) */
  accepted: DcExtent[] = [];
  /** u32, wraps */
  generation = 0;
  /** next mock offer_seq */
  offerSeq = 0;
  private nextGroupId = 1;

  constructor(
    readonly order: 'dpa' | 'insertion' = 'dpa',
    readonly generationWritten = true,
  ) {}

  reset(): void {
    this.fm = [];
    this.sent = [];
    this.accepted = [];
    this.generation = 0;
    this.offerSeq = 0;
    this.nextGroupId = 1;
  }

  private bumpGeneration(): void {
    if (this.generationWritten) this.generation = (this.generation + 1) >>> 0;
  }

  // ------------------------------------------------------------------------------- queries

  pendingCount(): number {
    let n = 0;
    for (const g of this.sent) n += g.extents.length;
    return n;
  }

  /** QEMU `total_extent_count`: accepted + pending (R6, R13) */
  totalExtentCount(): number {
    return this.accepted.length + this.pendingCount();
  }

  frontGroup(): PendingGroup | undefined {
    return this.sent[0];
  }

  *allSent(): Generator<DcExtent> {
    for (const g of this.sent) yield* g.extents;
  }

  findSentByStart(dpa: number): DcExtent | undefined {
    for (const g of this.sent) for (const e of g.extents) if (e.dpa === dpa) return e;
    return undefined;
  }

  findAcceptedByStart(dpa: number): DcExtent | undefined {
    if (this.order === 'insertion') return this.accepted.find((e) => e.dpa === dpa);
    const i = this.acceptedIndex(dpa);
    const e = this.accepted[i];
    return e && e.dpa === dpa ? e : undefined;
  }

  /** mock `new_extent_valid` start check: is `dpa` the start of any FM, sent or accepted extent? */
  startInUse(dpa: number): boolean {
    return this.fm.some((e) => e.dpa === dpa) || this.findSentByStart(dpa) !== undefined || this.findAcceptedByStart(dpa) !== undefined;
  }

  overlapsAccepted(dpa: number, len: number): boolean {
    return this.accepted.some((e) => rangesOverlap(e.dpa, e.length, dpa, len));
  }

  overlapsPending(dpa: number, len: number): boolean {
    for (const g of this.sent) for (const e of g.extents) if (rangesOverlap(e.dpa, e.length, dpa, len)) return true;
    return false;
  }

  overlapsFm(dpa: number, len: number): boolean {
    return this.fm.some((e) => rangesOverlap(e.dpa, e.length, dpa, len));
  }

  /** True when every byte of [dpa, dpa+len) is covered by accepted extents (R5, R21). */
  fullyAccepted(dpa: number, len: number): boolean {
    return fullyCovered(this.order === 'dpa' ? this.accepted : sortedByDpa(this.accepted), dpa, len);
  }

  /** first index whose dpa ≥ `dpa` */
  private acceptedIndex(dpa: number): number {
    let lo = 0, hi = this.accepted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.accepted[mid] as DcExtent).dpa < dpa) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ------------------------------------------------------------------------------- transitions

  /** FM → fm set (mock `devm_add_fm_extent`). */
  addFmExtent(ext: DcExtent): void {
    this.fm.push(ext);
  }

  /**
   * fm → sent (mock `mark_extent_sent`): assigns the next offer_seq and appends the extent to the
   * open pending group, or to a new group when none is open. `more` = the More flag of the record
   * that offers it: a More=0 record closes the group (R6: one group per chain). Extents not in `fm`
   * (QEMU offers straight into a pending group) are accepted too.
   */
  markExtentSent(ext: DcExtent, more: boolean): PendingGroup {
    const i = this.fm.indexOf(ext);
    if (i >= 0) this.fm.splice(i, 1);
    ext.offerSeq = this.offerSeq;
    this.offerSeq = (this.offerSeq + 1) >>> 0;
    let g = this.sent[this.sent.length - 1];
    if (!g || g.closed) {
      g = { id: this.nextGroupId++, closed: false, extents: [] };
      this.sent.push(g);
    }
    ext.group = g.id;
    g.extents.push(ext);
    if (!more) g.closed = true;
    return g;
  }

  /** Close the open group without adding to it (a chain ended by a record that carries no extent). */
  closeOpenGroup(): void {
    const g = this.sent[this.sent.length - 1];
    if (g) g.closed = true;
  }

  private insertAccepted(ext: DcExtent): void {
    ext.group = 0;
    if (this.order === 'insertion') this.accepted.push(ext);
    else this.accepted.splice(this.acceptedIndex(ext.dpa), 0, ext);
  }

  private removeFromSent(ext: DcExtent): void {
    for (let gi = 0; gi < this.sent.length; gi++) {
      const g = this.sent[gi] as PendingGroup;
      const i = g.extents.indexOf(ext);
      if (i >= 0) {
        g.extents.splice(i, 1);
        if (g.extents.length === 0 && g.closed) this.sent.splice(gi, 1);
        return;
      }
    }
  }

  /**
   * sent → accepted, exact extent (mock `dc_accept_extent`): bumps the generation.
   */
  dcAcceptExtent(ext: DcExtent): void {
    this.removeFromSent(ext);
    this.insertAccepted(ext);
    this.bumpGeneration();
  }

  /** Insert a new accepted range (QEMU R16: a sub-range of a pending extent, or pre-accepted). */
  acceptRange(dpa: number, length: number, tag: string | null, seq: number, offerSeq = 0): DcExtent {
    const ext: DcExtent = { dpa, length, tag, seq, offerSeq, shared: false, group: 0 };
    this.insertAccepted(ext);
    this.bumpGeneration();
    return ext;
  }

  /** Drop every sent extent (mock `dc_clear_sent`: "Any extents not accepted must be cleared"). */
  dcClearSent(): DcExtent[] {
    const gone = [...this.allSent()];
    this.sent = [];
    return gone;
  }

  /** Delete the front pending group (QEMU R11, R16). Returns its extents. */
  dropFrontGroup(): DcExtent[] {
    const g = this.sent.shift();
    return g ? g.extents : [];
  }

  /** Exact release of an accepted extent (mock `release_accepted_extent`, mock 10). */
  releaseAcceptedExtent(dpa: number, length: number): DcExtent | null {
    const e = this.findAcceptedByStart(dpa);
    if (!e || e.length !== length) return null;
    this.accepted.splice(this.accepted.indexOf(e), 1);
    this.bumpGeneration();
    return e;
  }

  /**
   * QEMU `cxl_dc_extent_release_dry_run` (R21) on a copy of the accepted list, step for step: for
   * each range, check every byte is backed (`ct3_test_region_block_backed`, else 'not-backed' →
   * Invalid PA), then walk it: the first extent containing the current DPA is removed and its
   * head (`len1`) and tail (`len2`) remainders are appended at the tail; after each split the
   * extent count (`total + cnt_delta`) must stay ≤ `maxExtents` ('exhausted' → Resources
   * Exhausted). A zero-length range is "backed" and changes nothing. `keepTag` false = upstream,
   * which inserts remainders with a NULL tag and seq 0; the tag RFC keeps them.
   */
  releaseDryRun(
    ranges: readonly { dpa: number; length: number }[],
    opts: { total: number; maxExtents: number; keepTag: boolean },
  ): { ok: true; list: DcExtent[] } | { ok: false; reason: 'not-backed' | 'exhausted' } {
    const list = this.accepted.map((e) => ({ ...e }));
    let delta = 0;
    for (const r of ranges) {
      if (!fullyCovered(sortedByDpa(list), r.dpa, r.length)) return { ok: false, reason: 'not-backed' };
      let dpa = r.dpa;
      let len = r.length;
      while (len > 0) {
        const i = list.findIndex((e) => dpa >= e.dpa && dpa < e.dpa + e.length);
        if (i < 0) return { ok: false, reason: 'not-backed' }; // unreachable after fullyCovered
        const e = list[i] as DcExtent;
        const len1 = dpa - e.dpa;
        const end = e.dpa + e.length;
        const len2 = dpa + len - 1 < end ? end - dpa - len : 0;
        const done = e.length - len1 - len2;
        list.splice(i, 1);
        delta--;
        const tag = opts.keepTag ? e.tag : null;
        const seq = opts.keepTag ? e.seq : 0;
        if (len1) { list.push({ ...e, length: len1, tag, seq }); delta++; }
        if (len2) { list.push({ ...e, dpa: dpa + len, length: len2, tag, seq }); delta++; }
        if (delta + opts.total > opts.maxExtents) return { ok: false, reason: 'exhausted' };
        if (!len2) dpa = end;
        len -= done;
      }
    }
    return { ok: true, list };
  }

  /** Replace the accepted list after a successful dry run (R22); bumps the generation once per range. */
  commitAcceptedList(list: DcExtent[], nrRanges: number): void {
    this.accepted = list;
    for (let i = 0; i < nrRanges; i++) this.bumpGeneration();
  }

  /** Erase FM-state extents overlapping the range (mock `dc_delete_extent`, mock 8). */
  eraseFmOverlapping(dpa: number, length: number): DcExtent[] {
    const gone = this.fm.filter((e) => rangesOverlap(e.dpa, e.length, dpa, length));
    if (gone.length) this.fm = this.fm.filter((e) => !gone.includes(e));
    return gone;
  }
}

function sortedByDpa(list: readonly DcExtent[]): DcExtent[] {
  return [...list].sort((a, b) => a.dpa - b.dpa);
}

/** `list` sorted by dpa. A zero-length range is covered (QEMU's bitmap test over zero bits). */
function fullyCovered(list: readonly DcExtent[], dpa: number, len: number): boolean {
  if (len === 0) return true;
  let cur = dpa;
  const end = dpa + len;
  for (const e of list) {
    if (e.dpa + e.length <= cur) continue;
    if (e.dpa > cur) return false;
    cur = e.dpa + e.length;
    if (cur >= end) return true;
  }
  return cur >= end;
}
