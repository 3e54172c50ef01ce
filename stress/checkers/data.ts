/**
 * DOC: data checker — bytes written through a DAX device read back intact until that device is
 * destroyed (README.md), and a DAX access to mapped bytes is not refused by the device
 * (docs/kernel-map.md seen from user space; H10).
 *
 * What "still alive, ranges unchanged" means from the events. A `data` event names the device by
 * its host-table handle, which carries a generation: a destroyed device's handle never comes back
 * (up to the 15-bit generation wrap), so every data event is about a live device at that instant.
 * dax_access emits no data event for a disabled device or an access beyond the device's current
 * size — so after a trim to 0 a verify cannot fail with an event. A device's ranges change only
 * by (a) a new successful `claim` on it (after a trim) — the write log restarts; (b) the removal of
 * one of the extents backing it (`extent-untracked` of an extent of its region with its tag, or
 * any untagged extent of its region for an untagged claim: conservative, the claim does not say
 * which one it took) — the write log restarts; (c) a Forced Release record on its region's memdev
 * (the device may take the memory back) — the write log restarts.
 *
 * Invariants verified:
 *  - a failed verify (`data` write=0 ok=0) of [off, off+len) on device D is `data-lost` when an
 *    earlier successful write on D with the same pattern covers the range, no write overlapping
 *    it with another pattern came between (in ring order), D's ranges did not change since, and —
 *    judged at quiescence — no other thread wrote an overlapping other pattern on D later in the
 *    ring (such a write may have run concurrently with the verify: a user-space data race);
 *  - a failed write (`data` write=1 ok=0) means the device refused bytes the host maps (writes
 *    never mismatch): `dax-access-refused-h10` when the run explains it (an Add DC Response
 *    failed on that memdev, or the recovery scan adopted half-staged runtime extents — H10/H2),
 *    else `dax-access-refused` — unless an extent backing the device was released to the device
 *    (Release DC) before the refusal while the device still mapped it: cxlr_dax's devres runs in
 *    reverse order and dax_release_resource ignores use_cnt, so a teardown gives back capacity
 *    a live, enabled device maps (`dax-access-refused-h15`, known: H15). "Backing" is narrowed to
 *    what the claim may have taken: an extent of its tag tracked at the claim, counted only past
 *    the members the claim did not take (tracked − ranges: the member a teardown had device_del'd
 *    before the claim is still tracked but not taken, H24) — or an extent backing it
 *    was realized by the probe's scan from a snapshot another thread's Release DC of it had made
 *    stale (`dax-access-refused-h23`, known: H23). H15 also covers the refusal that falls inside
 *    the teardown's Release DC round trip of a backing extent: the device (which answers at once)
 *    has dropped the range while the teardown thread's `mbox`/`extent-untracked` events are only
 *    emitted at the completion, after the refusal. Evidence: a device claimed inside its region's
 *    teardown (H24's claim takes the members still registered: of the tag's tracked members at
 *    the claim, all but the one the teardown may be releasing — then the teardown's next release
 *    is that one and backs nothing), and the teardown thread's first release of a backing extent
 *    completes after the refusal with no event of that thread between the refusal and it — or
 *    completed before the refusal while its `extent-untracked` (the older rule's time) came after.
 *    Since the twelfth session a refusal names the DPA the device refused (`data`'s `dpa`), and
 *    H15 is judged by that byte alone (releasedByte): a teardown of the device's region released
 *    (Release DC) a range containing it — completed before the refusal, or in flight across it
 *    with the extent accepted. The member-counting rules above judge only traces recorded
 *    without the field (three of their blind spots were found by soaks: docs/findings-open.md).
 *    A failed verify that names its DPA is judged the same way (lostByte).
 *  - the same in-flight evidence explains a `data-lost` verify (`data-lost-h15`, known: H15): a
 *    teardown Release DC of an extent backing the device, the first of that thread's to complete
 *    after the verify, with no event of that thread between the verify and its completion — the
 *    device dropped capacity the device maps between the write and the read.
 *
 * Not verified (and why):
 *  - which device bytes a data event touched: the event has device offsets, not DPAs, so two
 *    devices aliasing the same bytes are caught by dax.ts's `dax-double-map`, not here;
 *  - a failed verify with no covering write: the data event does not say "refused" vs
 *    "mismatch", and a verify of bytes another thread overwrote (or nobody wrote) is a user-space
 *    race or a caller error, not a kernel fault — not judged;
 *  - verifies that succeed are not cross-checked against the last write (a success is the
 *    expected outcome; a verify can only report what its caller asked for);
 *  - claims whose region never had an extent tracked (unknown memdev) cannot be explained by
 *    H10/H2 and are judged forbidden on a refused access.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { CXL_MBOX_OP } from '../../src/wire/cxl.js';
import { DC_EVENT_FORCED, Findings, HostDeviceExplainer, NULL_UUID, contains, overlaps, rng, tagStr, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

interface Write {
  offset: number;
  len: number;
  pattern: number;
  thread: number;
  idx: number;
}

interface Dev {
  region: number;
  uuid: string | null;
  /** the extents that could back it: its region's extents of its tag (untagged: any untagged one)
   *  still tracked at the claim, and how many of them it did not take (tracked − ranges) — a
   *  teardown release counts for the older H15 rule only past that many (releasedUnder) */
  backing?: { extents: Set<number>; notTaken: number; seen: number };
  /** a tagged claim: its event index, and how many of the tag's tracked members it did not take
   *  (the member a teardown was releasing at the claim: 0 or 1), for the in-flight H15 rule */
  /** `extent`: an untagged claim's one extent (the claim event names it); a tagged claim's members are counted */
  claim?: { idx: number; notTaken: number; extent?: number };
  /** writes since the last range change */
  writes: Write[];
  /** the event index of its successful claim (the byte rules count only releases after it) */
  claimedAt?: number;
}

interface Suspect {
  dev: number;
  offset: number;
  len: number;
  pattern: number;
  thread: number;
  idx: number;
  write: Write;
  /** the DPA the verify found refused or changed (null in traces recorded before the field) */
  dpa: number | null;
}

/** per device: writes kept for the quiescent re-check (a limit on everything) */
const MAX_WRITES = 4096;

export class DataChecker implements Checker {
  readonly name = 'data';
  private readonly findings = new Findings();
  private readonly explainer = new HostDeviceExplainer();
  private readonly devs = new Map<number, Dev>();
  private readonly allWrites = new Map<number, Write[]>();
  /** tracked extents; `pending`: a runtime extent no Add DC Response has listed yet (H26) */
  private readonly extents = new Map<number, { region: number; uuid: string; memdev: number; dpa: number; len: number; pending: boolean }>();
  /** per thread: the extents its Add DC Response being sent lists (until its mailbox completes) */
  private readonly listing = new Map<number, Set<number>>();
  private readonly regionMemdev = new Map<number, number>();
  private readonly suspects: Suspect[] = [];
  /** `h23`: at the refusal, an extent backing the device was one the recovery scan realized from a
   *  stale Get DC Extent List snapshot (H23 evidence, HostDeviceExplainer.staleScanH23) */
  private readonly refused: { dev: number; offset: number; len: number; idx: number; h23: string | null; h26: { id: number; what: string }[]; dpa: number | null }[] = [];
  /** extent → event index at which the Add DC Response listing it completed (H26's evidence) */
  private readonly acceptedAt = new Map<number, number>();
  /** device → event index at which an extent backing it was released to the device (Release DC)
   *  while the device still mapped it: a teardown's devres (H15), which ignores use counts */
  private readonly releasedUnder = new Map<number, number>();
  /** per thread: the region whose teardown (`region-teardown`) that thread is running */
  private readonly tearingDown = new Map<number, number>();
  /** per region: the index of its latest `region-teardown` */
  private readonly teardownAt = new Map<number, number>();
  /** per thread: the index of its latest event */
  private readonly lastOf = new Map<number, number>();
  /** per teardown thread: its Release DC completion being handled, and its previous event */
  private readonly releaseDc = new Map<number, { idx: number; dpa: number; quietSince: number }>();
  /** teardown releases (Release DC sent): region, tag, thread, and the Release DC's completion */
  private readonly teardownReleases: { thread: number; region: number; uuid: string; extent: number; dpa: number; len: number; idx: number; mboxIdx: number; quietSince: number }[] = [];
  private idx = 0;

  private dev(d: number): Dev {
    let x = this.devs.get(d);
    if (!x) {
      x = { region: -1, uuid: null, writes: [] };
      this.devs.set(d, x);
    }
    return x;
  }

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const idx = this.idx++;
    this.explainer.onEvent(e);
    this.handle(e, idx);
    this.lastOf.set(e.thread, idx);
  }

  private handle(e: DecodedEvent, idx: number): void {
    const ev = e.ev;
    switch (ev.type) {
      case 'mbox': {
        if (ev.opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
          // the listed extents are accepted when the response succeeds (a refused one: H10's)
          if (ev.rc === 0) for (const id of this.listing.get(e.thread) ?? []) { const x = this.extents.get(id); if (x) x.pending = false; this.acceptedAt.set(id, idx); }
          this.listing.delete(e.thread);
          return;
        }
        // a teardown's Release DC (dc_extent_release → memdev_release_extent): recorded at its completion
        if (ev.opcode === CXL_MBOX_OP.RELEASE_DC && ev.rc === 0 && this.tearingDown.has(e.thread)) this.releaseDc.set(e.thread, { idx, dpa: ev.dpa, quietSince: this.lastOf.get(e.thread) ?? -1 });
        return;
      }
      case 'extent-tracked':
        this.extents.set(ev.extent, { region: ev.region, uuid: ev.uuid, memdev: ev.memdev, dpa: ev.dpa, len: ev.len, pending: ev.existing !== 1 });
        this.regionMemdev.set(ev.region, ev.memdev);
        return;
      case 'extent-untracked': {
        const x = this.extents.get(ev.extent);
        this.extents.delete(ev.extent);
        if (!x) return;
        for (const [h, d] of this.devs) {
          if (d.region !== x.region || (d.uuid !== null && d.uuid !== x.uuid)) continue;
          d.writes = [];
          if (ev.sentRelease !== 1 || this.tearingDown.get(e.thread) !== x.region || this.releasedUnder.has(h)) continue;
          // only a member the device may have taken: one tracked at its claim, and past the
          // members it did not take. A claim takes the members still registered
          // (uuid_claim_tagged walks cxlr_dax's children, drivers/dax/bus.c; dc_extent_unregister's
          // device_del takes one off at once, its Release DC comes later in dc_extent_release,
          // drivers/cxl/core/extent.c): a member device_del'd before the claim is still tracked,
          // was not taken, and its release backs nothing of the device (H24's in-flight member)
          const b = d.backing;
          if (!b || !b.extents.has(ev.extent)) continue;
          if (++b.seen > b.notTaken) this.releasedUnder.set(h, idx);
        }
        const rdc = this.releaseDc.get(e.thread);
        this.releaseDc.delete(e.thread);
        if (ev.sentRelease === 1 && this.tearingDown.get(e.thread) === x.region && rdc && rdc.dpa === x.dpa && this.lastOf.get(e.thread) === rdc.idx) {
          this.teardownReleases.push({ thread: e.thread, region: x.region, uuid: x.uuid, extent: ev.extent, dpa: x.dpa, len: x.len, idx, mboxIdx: rdc.idx, quietSince: rdc.quietSince });
        }
        return;
      }
      case 'response-extent': {
        // listed by an Add DC Response: emitted before its mailbox command, so the device has
        // accepted it only once that command completes (the `mbox` event below, same thread)
        let list = this.listing.get(e.thread);
        if (!list) { list = new Set(); this.listing.set(e.thread, list); }
        for (const [id, x] of this.extents) if (x.pending && x.memdev === ev.memdev && contains(x.dpa, x.len, ev.dpa, ev.len)) list.add(id);
        return;
      }
      case 'region-teardown':
        this.tearingDown.set(e.thread, ev.region);
        this.teardownAt.set(ev.region, idx);
        return;
      case 'dc-record':
        if (ev.eventType === DC_EVENT_FORCED) {
          for (const d of this.devs.values()) if (this.regionMemdev.get(d.region) === ev.memdev) d.writes = [];
        }
        return;
      case 'claim':
        if (ev.rc === 0) {
          // an untagged claim names the extent it took (uuid_claim_untagged's device_find_child
          // match): exactly that one backs it. Counting "the first releases were of members not
          // taken" is right for a tagged claim inside a teardown (H24's dense prefix) but not for
          // an untagged one beside another untagged device, whose extent is released later
          // (soak seed 12, iteration 5031: an H15 refusal taken for forbidden). Traces recorded
          // before the field keep the conservative set.
          const took = ev.uuid === NULL_UUID && (ev.extent ?? 0) > 0 ? ev.extent! : 0;
          const ids = took ? [took] : [...this.extents].filter(([, x]) => x.region === ev.region && x.uuid === ev.uuid).map(([id]) => id);
          const tracked = took ? ev.nRanges : ids.length;
          // a new claim: what an earlier claim of this handle was released under no longer counts
          this.releasedUnder.delete(ev.dev);
          this.devs.set(ev.dev, {
            region: ev.region, uuid: ev.uuid, writes: [], claimedAt: idx, backing: { extents: new Set(ids), notTaken: Math.max(0, tracked - ev.nRanges), seen: 0 },
            ...(ev.uuid !== NULL_UUID ? { claim: { idx, notTaken: tracked - ev.nRanges } } : took ? { claim: { idx, notTaken: 0, extent: took } } : {}),
          });
        }
        return;
      case 'data': {
        const d = this.dev(ev.dev);
        if (ev.write === 1) {
          if (ev.ok !== 1) {
            // the refused DPA (the media's answer; not in traces recorded before the field)
            const dpa = typeof ev.dpa === 'number' && ev.dpa >= 0 ? ev.dpa : null;
            this.refused.push({ dev: ev.dev, offset: ev.offset, len: ev.len, idx, h23: this.staleBacking(d), h26: this.unacceptedBacking(d), dpa });
            return;
          }
          const w: Write = { offset: ev.offset, len: ev.len, pattern: ev.pattern, thread: e.thread, idx };
          d.writes.push(w);
          if (d.writes.length > MAX_WRITES) d.writes.shift();
          const all = this.allWrites.get(ev.dev) ?? [];
          all.push(w);
          if (all.length > MAX_WRITES) all.shift();
          this.allWrites.set(ev.dev, all);
          return;
        }
        if (ev.ok === 1) return;
        const cover = this.coveringWrite(d, ev.offset, ev.len, ev.pattern);
        if (cover) this.suspects.push({ dev: ev.dev, offset: ev.offset, len: ev.len, pattern: ev.pattern, thread: e.thread, idx, write: cover, dpa: typeof ev.dpa === 'number' && ev.dpa >= 0 ? ev.dpa : null });
        return;
      }
      default:
        return;
    }
  }

  /**
   * H26: is an extent the claim may have taken (tracked at the claim, on its region, of its tag)
   * a runtime extent that no Add DC Response had listed when the write was refused? v11 onlines a
   * group and adds its DAX resources (cxl_realize_group: online_tag_group, cxlr_notify_extent →
   * the DAX driver's dax_region_add_resources) before cxl_add_pending's cxl_send_dc_response, so
   * a claim (uuid_claim_tagged) can map the capacity before the device is told the host accepted
   * it — and the device refuses access to capacity it has not seen accepted. Null otherwise.
   */
  private unacceptedBacking(d: Dev): { id: number; what: string }[] {
    const out: { id: number; what: string }[] = [];
    for (const id of d.backing?.extents ?? []) {
      const x = this.extents.get(id);
      if (x?.pending) out.push({ id, what: `extent ${id} ${rng(x.dpa, x.len)} backing it was realized and claimed, and the Add DC Response listing it completed only after the refusal (mem${x.memdev}: the device had not seen it accepted)` });
    }
    return out;
  }

  /**
   * H23's DAX consequence: is an extent backing `d` (its region's extents of its tag; any untagged
   * one for an untagged claim) one the probe's scan realized from a device-list snapshot that a
   * later Release DC of it made stale? The device no longer holds that range, so a DAX access to
   * it is refused (drivers/cxl/core/mbox.c __cxl_process_extent_list, extent.c cxl_add_extent vs
   * dc_extent_release).
   */
  private staleBacking(d: Dev): string | null {
    for (const x of this.extents.values()) {
      if (x.region !== d.region || (d.uuid !== null && d.uuid !== x.uuid)) continue;
      const why = this.explainer.staleScanH23(x.memdev, x.dpa, x.len);
      if (why) return why;
    }
    return null;
  }

  /**
   * H15 (H24's claim): was the refusal inside the teardown's Release DC round trip of an extent
   * backing the device? The device was claimed inside its region's teardown; the teardown thread's
   * releases of the tag after the claim, less the one it may have been in the middle of at the
   * claim (a member device_del'd before the claim, so not taken: `notTaken`), begin with one whose
   * Release DC completes after the refusal, and that thread emitted nothing between the refusal
   * and that completion. Nothing else can make the device refuse bytes of a group it accepted
   * (a Forced Release record restarts nothing here: it is not a teardown release). For a failed
   * verify (`data-lost-h15`) the backing release in flight need not be the first.
   */
  private releaseInFlight(dev: number, at: number, access: 'refusal' | 'verify', since?: number): string | null {
    const d = this.devs.get(dev);
    if (!d?.claim || d.uuid === null || (d.claim.notTaken !== 0 && d.claim.notTaken !== 1)) return null;
    const claimIdx = d.claim.idx;
    const region = d.region;
    // the threads that released extents while tearing this region down — from the releases
    // recorded then, not from `tearingDown`, which holds each thread's LATEST teardown: judged at
    // quiescence, a dax-bus that went on to unbind another region no longer showed this one (a
    // forbidden dax-access-refused in bench:find's rcu=on control, tenth session, seed 100
    // iteration 1215: docs/findings-open.md)
    const threads = new Set(this.teardownReleases.filter((x) => x.region === region).map((x) => x.thread));
    for (const thread of threads) {
      // (an untagged device: the releases of its one extent)
      // — of the members tracked at the claim (d.backing), in the order their Release DCs
      // completed: the member the teardown was releasing at the claim (device_del'd, so not
      // taken) may have completed its Release DC just BEFORE the claim and been untracked after
      // it (seed 105, iteration 533, a free run: docs/findings-open.md); counting only releases
      // completed after the claim took the next member for the not-taken one
      const atClaim = d.backing?.extents;
      const mine = this.teardownReleases.filter((x) => x.thread === thread && x.region === d.region && x.uuid === d.uuid && (d.claim!.extent === undefined || x.extent === d.claim!.extent) && (atClaim ? atClaim.has(x.extent) : x.mboxIdx > claimIdx));
      const backing = mine.slice(d.claim.notTaken);
      // a refusal: the first backing release (an earlier completed one: below, or the older rule's); a
      // failed verify: the one in flight at it — the thread's first backing release completing
      // after it (the ones before completed before the covering write: they restarted its log)
      const first = access === 'verify' ? backing.find((x) => x.mboxIdx > at) : backing[0];
      if (first && first.mboxIdx > at && first.quietSince < at) {
        const inside = (this.teardownAt.get(region) ?? Infinity) < claimIdx;
        const h24 = !inside ? '' : d.claim.extent === undefined ? ' (the device was claimed inside the teardown: H24)' : ' (an untagged claim inside the teardown)';
        return `the ${access} fell inside the cxl_dax_region teardown's Release DC of ${rng(first.dpa, first.len)}, an extent backing the device${h24}; its completion was recorded ${first.mboxIdx - at} events later`;
      }
      // a refusal after such a Release DC COMPLETED, its `extent-untracked` (releasedUnder's time)
      // still to come: the device had dropped the range (soak seed 31, iteration 30871: H24's
      // claim took the one member still registered, the teardown released it, the write was
      // refused, then the member's untrack — docs/findings-open.md)
      // (only an extent tracked at the claim: one tracked later backs nothing of the device)
      const gone = access === 'refusal' ? backing.find((x) => x.mboxIdx < at && d.backing?.extents.has(x.extent)) : undefined;
      if (gone) {
        const inside = (this.teardownAt.get(region) ?? Infinity) < claimIdx;
        return `the cxl_dax_region teardown's Release DC of ${rng(gone.dpa, gone.len)}, an extent backing the device${inside ? ' (claimed inside the teardown: H24)' : ''}, completed ${at - gone.mboxIdx} events before the refusal (its extent-untracked came after it)`;
      }
      // a failed verify after such a Release DC COMPLETED, between the covering write (`since`) and
      // the verify: the device dropped the range, and the extent's `extent-untracked` (which
      // restarts the write log) came only after the verify (soak seed 12, iteration 11861: a
      // partial claim inside the teardown, H24, its one member released between write and verify)
      const done = access === 'verify' && since !== undefined ? backing.find((x) => x.mboxIdx > since && x.mboxIdx < at) : undefined;
      if (done) {
        const inside = (this.teardownAt.get(region) ?? Infinity) < claimIdx;
        return `the cxl_dax_region teardown's Release DC of ${rng(done.dpa, done.len)}, an extent backing the device${inside ? ' (claimed inside the teardown)' : ''}, completed after the covering write at event ${since} and ${at - done.mboxIdx} events before the verify`;
      }
    }
    return null;
  }

  /**
   * H15 by the refused byte itself: the `data` event names the DPA the device refused, so the
   * extent whose bytes they were is known, and with it the teardown release that gave them back —
   * a Release DC of a range containing that DPA, sent while tearing down the device's own region
   * (cxlr_dax's devres: dc_extent_unregister → dc_extent_release → memdev_release_extent, whatever
   * the DAX use count, drivers/cxl/core/extent.c). It completed before the refusal, or it was in
   * flight across it (completed after, that thread silent in between) with the extent accepted
   * at the refusal (an extent not yet accepted is H26's refusal, not this). No counting of which
   * members a claim took (the rules above, for traces without the DPA). Null otherwise.
   */
  private releasedByte(r: { dev: number; idx: number; dpa: number | null; h26: { id: number }[] }): string | null {
    const d = this.devs.get(r.dev);
    if (r.dpa === null || !d) return null;
    const dpa = r.dpa;
    const mine = this.releasesOfByte(d, dpa);
    const before = mine.find((x) => x.mboxIdx < r.idx);
    if (before) return `the refused DPA 0x${dpa.toString(16)} lies in ${rng(before.dpa, before.len)}, which the cxl_dax_region teardown released (Release DC) ${r.idx - before.mboxIdx} events earlier while the device mapped it`;
    const inFlight = mine.find((x) => x.mboxIdx > r.idx && x.quietSince < r.idx && !r.h26.some((p) => p.id === x.extent));
    if (inFlight) return `the refused DPA 0x${dpa.toString(16)} lies in ${rng(inFlight.dpa, inFlight.len)}, whose Release DC by the cxl_dax_region teardown was in flight (its completion was recorded ${inFlight.mboxIdx - r.idx} events later, that thread silent in between)`;
    return null;
  }

  /**
   * The teardown releases (Release DC sent by a teardown of `d`'s region) of a range containing
   * `dpa`, completed after `d`'s claim: a release before the claim gave back bytes the device never
   * mapped from that extent (a stale re-realize of them is H23's, judged apart). Both byte rules.
   */
  private releasesOfByte(d: Dev, dpa: number): typeof this.teardownReleases {
    const after = d.claimedAt ?? -1;
    return this.teardownReleases.filter((x) => x.region === d.region && x.dpa <= dpa && dpa < x.dpa + x.len && x.mboxIdx > after);
  }

  /**
   * `data-lost-h15` by the failing byte: a Release DC of a range containing it, sent by a teardown
   * of the device's region, that completed between the covering write and the verify, or was in
   * flight across the verify (completed after it, that thread silent in between). A release
   * completed before the covering write explains nothing (the write would have been refused).
   */
  private lostByte(s: Suspect): string | null {
    const d = this.devs.get(s.dev);
    if (s.dpa === null || !d) return null;
    const dpa = s.dpa;
    const mine = this.releasesOfByte(d, dpa);
    const between = mine.find((x) => x.mboxIdx > s.write.idx && x.mboxIdx < s.idx);
    if (between) return `the failing DPA 0x${dpa.toString(16)} lies in ${rng(between.dpa, between.len)}, which the cxl_dax_region teardown released (Release DC) ${s.idx - between.mboxIdx} events before the verify`;
    const inFlight = mine.find((x) => x.mboxIdx > s.idx && x.quietSince < s.idx);
    if (inFlight) return `the failing DPA 0x${dpa.toString(16)} lies in ${rng(inFlight.dpa, inFlight.len)}, whose Release DC by the cxl_dax_region teardown was in flight across the verify (completion recorded ${inFlight.mboxIdx - s.idx} events later)`;
    return null;
  }

  /** The latest write with this pattern covering the range, not overwritten since by another pattern. */
  private coveringWrite(d: Dev, offset: number, len: number, pattern: number): Write | null {
    for (let i = d.writes.length - 1; i >= 0; i--) {
      const w = d.writes[i]!;
      if (!overlaps(w.offset, w.len, offset, len)) continue;
      if (w.pattern !== pattern) return null; // overwritten (or never this pattern)
      if (contains(w.offset, w.len, offset, len)) return w;
    }
    return null;
  }

  atQuiescence(_state: SystemState, _sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    const out = new Findings();
    for (const s of this.suspects) {
      const racing = (this.allWrites.get(s.dev) ?? []).find((w) => w.idx > s.write.idx && w.thread !== s.thread && w.pattern !== s.pattern && overlaps(w.offset, w.len, s.offset, s.len));
      // Exemption (reviewed for issue 19, kept): a write of another pattern by another thread,
      // published after the covering write, may have landed before the verify read it — events
      // are emitted after each access, so the order of the accesses themselves is unknown. It
      // requires evidence (an overlapping foreign write), never just a failed verify.
      if (racing) continue;
      const d = this.devs.get(s.dev);
      // H15: the failed verify fell inside the teardown's Release DC round trip of an extent
      // backing the device (the device answers at once and drops the range; the teardown thread's
      // events come at the completion, after the verify's)
      // with the failing DPA known, by that byte alone (lostByte); else the member rules
      const inFlight = s.dpa !== null ? this.lostByte(s) : this.releaseInFlight(s.dev, s.idx, 'verify', s.write.idx);
      if (inFlight) {
        out.add(`lost:${s.dev}:${s.idx}`, finding('data-lost-h15', `dax device ${s.dev} (tag ${d?.uuid ? tagStr(d.uuid) : '?'}): verify of ${rng(s.offset, s.len)} pattern ${s.pattern} failed after the covering write at event ${s.write.idx}; ${inFlight}`));
        continue;
      }
      out.add(`lost:${s.dev}:${s.idx}`, finding('data-lost',
        `dax device ${s.dev} (tag ${d?.uuid ? tagStr(d.uuid) : '?'}): verify of ${rng(s.offset, s.len)} pattern ${s.pattern} failed; the write at event ${s.write.idx} covered it and the device's ranges did not change since`));
    }
    for (const r of this.refused) {
      const d = this.devs.get(r.dev);
      const memdev = d ? this.regionMemdev.get(d.region) : undefined;
      const ex = memdev === undefined ? null : this.explainer.explain(memdev);
      const what = `dax device ${r.dev} (tag ${d?.uuid ? tagStr(d.uuid) : '?'}): write of ${rng(r.offset, r.len)} was refused`;
      const h26 = r.h26.find((p) => (this.acceptedAt.get(p.id) ?? -1) > r.idx);
      // with the refused DPA known, H15 needs the byte's own release (releasedByte): the member
      // rules below judge only traces recorded without it
      const byte = this.releasedByte(r);
      const memberRules = r.dpa === null;
      const rel = memberRules ? this.releasedUnder.get(r.dev) : undefined;
      const inFlight = !memberRules || (rel !== undefined && rel < r.idx) ? null : this.releaseInFlight(r.dev, r.idx, 'refusal');
      if (byte) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h15', `${what}; ${byte}`));
      else if (rel !== undefined && rel < r.idx) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h15', `${what}; a region teardown released an extent backing it (Release DC) ${r.idx - rel} events earlier, before unregistering the device`));
      else if (inFlight) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h15', `${what}; ${inFlight}`));
      else if (r.h23) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h23', `${what}; an extent backing it: ${r.h23}`));
      else if (ex) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h10', `${what}; ${ex.why}`));
      // H26 needs the acceptance to come AFTER the refusal (a response that completed later),
      // not merely no response seen: a chain never answered is another story (H10, S1/S2)
      else if (h26) out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused-h26', `${what}; ${h26.what} (event ${this.acceptedAt.get(h26.id)})`));
      else out.add(`refused:${r.dev}:${r.offset}`, finding('dax-access-refused', `${what}; no failed response explains it`));
    }
    const results = [...this.findings.list(), ...out.list()];
    if (!results.some((r) => r.invariant === INV.data)) results.push(held(INV.data));
    return results;
  }

  reset(): void {
    this.findings.clear();
    this.explainer.clear();
    this.devs.clear();
    this.allWrites.clear();
    this.extents.clear();
    this.regionMemdev.clear();
    this.suspects.length = 0;
    this.releasedUnder.clear();
    this.tearingDown.clear();
    this.lastOf.clear();
    this.teardownAt.clear();
    this.releaseDc.clear();
    this.teardownReleases.length = 0;
    this.listing.clear();
    this.acceptedAt.clear();
    this.refused.length = 0;
    this.idx = 0;
  }
}
