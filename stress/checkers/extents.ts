/**
 * DOC: extents checker — what the host tracks versus what it answers and what the device holds
 * (docs/kernel-map.md–§2.9, §7.2, §8.1-3/4/6/7/8/13/14/16; hazards H2, H10, H11, §8.2 partial
 * groups).
 *
 * Model. `extent-tracked` / `extent-untracked` replay the host-tracked set (dc_extent devices)
 * per memdev, with each extent's region, group, seq and whether the recovery scan realized it
 * (`existing`). `response-extent` events are checked against that set at the instant they are
 * emitted (inside cxl_send_dc_response, before the mailbox command). `scan-done` marks regions
 * whose existing-extent scan succeeded. Add `dc-record`s give the device-stamped sequence
 * numbers. The quiescent state gives the device's accepted list.
 *
 * Invariants verified:
 *  - 8.1-3 every extent a response lists is contained in an extent tracked on the same memdev at
 *    that moment (`response-lists-untracked`), continuously;
 *  - 8.2 memory safety: a `use-after-free` event (a dc_extents walk without RCU meeting an extent
 *    freed by another thread) is `dc-extent-use-after-free-h5` (known: H5); with the `rcu` knob
 *    the walk skips freed entries and emits nothing;
 *  - 8.1-4 a runtime extent whose Release DC is sent (`extent-untracked` sentRelease=1) was listed
 *    by some response while tracked (`released-unaccepted`), continuously — unless it is the
 *    leftover an H5 unwind left in add_ctx.group, with the same evidence as
 *    `host-extent-not-accepted-after-h5` below, released before quiescence
 *    (`released-unaccepted-after-h5`);
 *  - 8.2 memory safety, the teardown hazards: a `use-after-free` at site tagGroupNotify is
 *    `tag-group-use-after-free-h14` (H14), at daxResourceTrim `dax-resource-use-after-free-trim`
 *    (H15), at cxlrDax `cxlr-dax-use-after-free-disabled-region` (H16) — see outcomes.ts;
 *  - 8.1-3/8.1-4 exception, known (H14, the teardown race — see outcomes.ts): a region teardown
 *    (`region-teardown`, then that thread's `extent-untracked` of the region) that unregisters
 *    realized runtime extents before any response listed them is `released-before-response`,
 *    and the response that lists them afterwards is `response-lists-torn-down` — as is a later
 *    response listing a duplicate sub-range that E8 accepted against an extent the teardown then
 *    removed (seen in the soak: the duplicate staged, the unbind, then the chain's close);
 *  - 8.1-7 tracked extents of one memdev never overlap in DPA (`extent-overlap`), continuously —
 *    except two members of one tag group (`extent-dup-in-chain`, known: v11 classifies a new
 *    extent against cxlr_dax->dc_extents only, so a chain carrying one range twice — a record the
 *    device delivered twice — realizes both copies); after an H5 use-after-free unwound a handler
 *    on that memdev the overlap is H5's consequence (`extent-overlap-after-h5`: the unwound
 *    chain's records are redelivered and restaged); and —
 *    except the recovery scan realizing the exact range of an extent that the release path then
 *    releases: the scan met it unregistered but not yet released (`extent-readopted-h5`, known H5:
 *    release vs recovery realize); the device then holds no such extent, so the host-subset check
 *    names the re-adopted one `host-extent-readopted-h5`;
 *  - 8.1-8 tracked extents are PMD-aligned with non-zero length (`extent-misaligned`),
 *    continuously; at quiescence each lies inside its region's endpoint decoder
 *    (`extent-outside-region`) — unless it lies in another region of the same memdev, which is
 *    H11's wrong parenting (`wrong-region-parent`, known); the state's region extents are also
 *    checked against the region size;
 *  - 8.1-6 at quiescence every live group has distinct seq_nums (`sequence-broken`) forming
 *    base..base+n-1 (base 0; 1 for sharable groups under v10-seq); a gap is a partial
 *    realization (`partial-group-cxl`, known: 8.2 group all-or-none at the CXL layer); a sharable
 *    runtime member's seq equals the shared_extn_seq of the record that offered it
 *    (`sequence-broken`), continuously;
 *  - 8.1-13 after a release acknowledged for group G (`release-outcome` acked), no member of G is
 *    still tracked at quiescence (`group-release-incomplete`);
 *  - 8.1-14 no runtime extent (existing=0) is tracked on a region before its `scan-done` rc=0
 *    (`scan-gate-bypassed`; `scan-gate=off` is named in the detail), judged at quiescence. No
 *    exemption: cxl_region_add_existing_extents emits scan-done BEFORE it publishes
 *    extents_scanned (store-release), and the event ring orders events by reservation, so an
 *    extent that passed the gate (load-acquire of the flag) is always tracked after scan-done.
 *    (An earlier `scan-gate-emit-race` exemption for "tracked just before scan-done" hid a real
 *    bypass: with the gate dropped and the knob on, every bypass was classed acceptable.)
 *  - 8.1-16 at quiescence every region extent (state, via the region's dpaOffset) lies inside a
 *    device-accepted extent of its memdev (`host-extent-not-accepted`), unless the run explains
 *    it: the recovery scan adopted a half-staged runtime chain (`host-extent-adopted-h2`, H2) or
 *    an Add DC Response on that memdev failed at the mailbox (`host-extent-not-accepted-h10`,
 *    H10 — what v11 itself produces: a device refusing the response, e.g. the cxl-test mock's
 *    -EINVAL for an out-of-offer-order response (O1), or a mailbox timeout; the model's cxl-test
 *    device drains each inject before the next, as the mock's write does, so one chain's response
 *    can no longer erase a later chain's offers); or an H5 use-after-free unwound the event thread
 *    of its memdev while the record of the extent was staged in the open chain, and the extent
 *    was realized after it, in the first group onlined on that memdev since
 *    (`host-extent-not-accepted-after-h5`: what the unwound handler left in add_ctx is onlined
 *    beside the redelivered records, whose copy is refused and unlisted); or the probe's scan
 *    realized it (existing) from a Get DC Extent List snapshot that another thread's Release DC
 *    of the range followed (`host-extent-released-under-scan-h23`, H23: a held extent's last put
 *    ran dc_extent_release between the scan's read and its classify).
 *
 * Not verified (and why):
 *  - 8.1-9 HPA mapping as a separate property: the state exposes only region-relative offsets,
 *    so it is checked implicitly (offset + dpaOffset must land in a device-accepted extent);
 *  - the reverse of 8.1-16 (device-accepted ⊆ host-tracked): §8.2 says v11 does not guarantee it
 *    ("no lost extent"), and capacity outside every region is legitimately untracked;
 *  - surfaced-set = tracked-set is the DAX checker's conservation check (dax.ts);
 *  - extents whose release is delayed by open references are only judged at quiescence;
 *  - without the host tables (unit tests), region containment and the precise H2/H10 attribution
 *    per extent fall back to the state and to a per-memdev explanation.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import { RELEASE_REASON, UAF_SITE } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import {
  DC_EVENT_ADD, DC_EVENT_RELEASE, Findings, HostDeviceExplainer, NULL_UUID, PMD_SIZE, contains, listOf, overlaps,
  TeardownEpisodes, regionFacts, rng, stateRegions, tagStr, type SysLike,
} from './common.js';
import { finding, held, INV } from './outcomes.js';

interface Tracked {
  extent: number;
  memdev: number;
  region: number;
  dpa: number;
  len: number;
  uuid: string;
  seq: number;
  group: number;
  existing: boolean;
  shareable: boolean;
  idx: number;
  listed: boolean;
  /** its region's cxl_dax_region instance when it was realized (TeardownEpisodes.instance) */
  inst: number;
  /** realized after that instance's teardown began (its devres already taken): H14's late extent */
  late: boolean;
}

export class ExtentsChecker implements Checker {
  readonly name = 'extents';
  private readonly findings = new Findings();
  private readonly explainer = new HostDeviceExplainer();
  private readonly tracked = new Map<number, Tracked>();
  private readonly scanned = new Map<number, number>(); // region -> idx of its first scan-done rc=0
  private readonly gateSuspects: { t: Tracked; idx: number }[] = [];
  /** per memdev "dpa:len" -> shared_extn_seq of the last Add record offering it */
  private readonly offeredSeq = new Map<number, Map<string, number>>();
  /** per thread: the group a Release record is about (to judge its acknowledgement) */
  private readonly releasing = new Map<number, { group: number; memdev: number; dpa: number; len: number } | null>();
  private readonly ackedGroups = new Map<number, string>();
  /** per thread: the region whose teardown that thread is running */
  private readonly tearingDown = new Map<number, number>();
  /** tracked extent → the existing extent the scan realized over its exact range (H5 suspects) */
  private readonly readoptSuspects = new Map<number, { nw: number; what: string }>();
  /** per memdev: realized runtime extents a teardown unregistered before any response listed them */
  private readonly tornDown = new Map<number, { dpa: number; len: number; extent: number }[]>();
  private readonly teardownAt = new TeardownEpisodes();
  /** memdevs whose handler a dc_extents-walk use-after-free (H5) unwound */
  private readonly unwoundH5 = new Set<number>();
  /** per memdev: Add records staged since its last chain-closed / chain-dropped (the open chain) */
  private readonly openStaged = new Map<number, { dpa: number; len: number }[]>();
  /** per memdev: the open chain's records when an H5 use-after-free unwound its handler, and when;
   *  `group`: the first tag group onlined on that memdev after it — the one that carried what the
   *  unwound attempt left in add_ctx.group (cxl_realize_group hands add_ctx.group to the next
   *  online_tag_group of the memdev and clears it) */
  private readonly unwoundStaged = new Map<number, { idx: number; ranges: { dpa: number; len: number }[]; group: number | null }[]>();
  /** per memdev "dpa:len" -> event index of the last Add record offering it (H25's evidence) */
  private readonly offeredAt = new Map<number, Map<string, number>>();
  /** per memdev: extents a Release DC released outside a teardown — when tracked, when released, by which thread (H25) */
  private readonly releasedOutsideTeardown = new Map<number, { dpa: number; len: number; extent: number; tracked: number; released: number; thread: number }[]>();
  /** new extent -> the H14 orphan it overlaps (judged at quiescence: `extent-overlap-after-h14` or `extent-overlap`) */
  private readonly h14OverlapSuspects = new Map<number, { old: number; what: string }>();
  private idx = 0;

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const ev = e.ev;
    const idx = this.idx++;
    this.explainer.onEvent(e);
    switch (ev.type) {
      case 'dc-record': {
        if (ev.eventType === DC_EVENT_ADD) {
          listOf(this.openStaged, ev.memdev).push({ dpa: ev.dpa, len: ev.len });
          let at = this.offeredAt.get(ev.memdev);
          if (!at) { at = new Map(); this.offeredAt.set(ev.memdev, at); }
          at.set(`${ev.dpa}:${ev.len}`, idx);
          let m = this.offeredSeq.get(ev.memdev);
          if (!m) { m = new Map(); this.offeredSeq.set(ev.memdev, m); }
          m.set(`${ev.dpa}:${ev.len}`, ev.seq);
        } else if (ev.eventType === DC_EVENT_RELEASE) {
          const t = this.findTracked(ev.memdev, ev.dpa, ev.len, ev.uuid);
          this.releasing.set(e.thread, t ? { group: t.group, memdev: ev.memdev, dpa: ev.dpa, len: ev.len } : null);
        }
        return;
      }
      case 'release-outcome': {
        const r = this.releasing.get(e.thread);
        this.releasing.delete(e.thread);
        if (r && ev.reason === RELEASE_REASON.acked && r.memdev === ev.memdev) {
          this.ackedGroups.set(r.group, `release ${rng(r.dpa, r.len)} on mem${r.memdev}`);
        }
        return;
      }
      case 'use-after-free':
        switch (ev.site) {
          case UAF_SITE.tagGroupNotify:
            this.findings.add(`uaf:g:${ev.memdev}:${ev.extent}`, finding('tag-group-use-after-free-h14',
              `mem${ev.memdev}: tag group ${ev.extent} was freed by a region teardown between its online_tag_group and its notify`));
            return;
          case UAF_SITE.regionOnline:
            this.findings.add(`uaf:o:${ev.memdev}:${ev.extent}`, finding('region-use-after-free-h14',
              `mem${ev.memdev}: tag group ${ev.extent} was onlined after a region destroy freed its cxl_region`));
            return;
          case UAF_SITE.daxResourceTrim:
            this.findings.add(`uaf:r:${ev.extent}`, finding('dax-resource-use-after-free-trim',
              `dax_resource ${ev.extent} was freed by its extent's devres before unregister_dev_dax trimmed the range claimed from it`));
            return;
          case UAF_SITE.daxMappingStale:
            this.findings.add(`uaf:m:${ev.extent}`, finding('dax-mapping-stale-range-h28',
              `dax mapping ${ev.extent}: dev_dax->ranges[range_id] indexed after the range was trimmed or freed (its unregister_dax_mapping action was left on a devres list the shrink could not reach, or ran after unregister_dev_dax)`));
            return;
          case UAF_SITE.deleteTypeConfusion:
            this.findings.add(`tc:${ev.extent}`, finding('dev-dax-type-confusion-delete-h20',
              `mem${ev.memdev}: dax_region delete_store found dc_extent ${ev.extent} by name and used it as a dev_dax (to_dev_dax without a type check)`));
            return;
          case UAF_SITE.cxlrDax:
            this.findings.add(`uaf:c:${ev.memdev}:${ev.extent}`, finding('cxlr-dax-use-after-free-disabled-region',
              `mem${ev.memdev}: region ${ev.extent}'s cxlr->cxlr_dax was used after the disabled region's cxl_dax_region was freed`));
            return;
          default:
            this.unwoundH5.add(ev.memdev);
            listOf(this.unwoundStaged, ev.memdev).push({ idx, ranges: [...(this.openStaged.get(ev.memdev) ?? [])], group: null });
            this.findings.add(`uaf:${ev.memdev}:${ev.extent}`, finding('dc-extent-use-after-free-h5',
              `mem${ev.memdev}: a dc_extents walk met extent ${ev.extent} after another thread freed it (no RCU in v11)`));
            return;
        }
      case 'chain-closed':
      case 'chain-dropped':
        this.openStaged.delete(ev.memdev);
        return;
      case 'region-teardown':
        this.tearingDown.set(e.thread, ev.region);
        this.teardownAt.onEvent(ev, idx);
        return;
      case 'scan-done':
        if (ev.rc === 0 && !this.scanned.has(ev.region)) this.scanned.set(ev.region, idx);
        this.teardownAt.onEvent(ev, idx);
        return;
      case 'region-probe': // a new cxl_dax_region instance (cxl_dax_region_alloc)
        this.teardownAt.onEvent(ev, idx);
        return;
      case 'extent-tracked': {
        const t: Tracked = {
          extent: ev.extent, memdev: ev.memdev, region: ev.region, dpa: ev.dpa, len: ev.len, uuid: ev.uuid, seq: ev.seq,
          group: ev.group, existing: ev.existing === 1, shareable: ev.shareable === 1, idx, listed: false,
          inst: this.teardownAt.instance(ev.region), late: (this.teardownAt.at(ev.region) ?? Infinity) < idx,
        };
        const what = `extent ${ev.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} on mem${t.memdev}`;
        if (t.len <= 0 || t.dpa % PMD_SIZE !== 0 || t.len % PMD_SIZE !== 0) {
          this.findings.add(`align:${ev.extent}`, finding('extent-misaligned', `${what} is not ${PMD_SIZE}-aligned`));
        }
        for (const o of this.tracked.values()) {
          if (o.memdev === t.memdev && overlaps(o.dpa, o.len, t.dpa, t.len)) {
            // the recovery scan re-adopting the exact range of an extent the release path has
            // unregistered but not yet released (H5): judged when that extent goes (or at quiescence)
            // two members of ONE tag group: the list realized (a runtime chain, or the pending list a
            // recovery scan consumed) held the range twice (a redelivered record); v11 compares a new
            // extent with cxlr_dax->dc_extents only, never with the members of its own group
            const dup = o.group === t.group;
            // exemption with proof (reviewed, issue 19): only a suspect until the older extent is
            // untracked (its release completing); still tracked at quiescence → extent-overlap
            if (!dup && t.existing && o.dpa === t.dpa && o.len === t.len) { this.readoptSuspects.set(o.extent, { nw: t.extent, what: `${what} overlaps tracked extent ${o.extent} ${rng(o.dpa, o.len)} tag ${tagStr(o.uuid)}` }); continue; }
            // H14's consequence, a suspect until quiescence: the older extent was realized onto its
            // region after that region's teardown began (a chain's later group, online_tag_group
            // after the destroy's devres ran) and, if that region is gone at quiescence, it is the
            // orphan `extent-orphaned-h14` names — never released, so it keeps its DPA tracked and
            // the re-created region's scan (or a later chain) realizes the same range beside it
            // — or, on the same region, the older extent is such a late extent of an instance a
            // re-probe has since replaced (cxl_dax_region_alloc): it stays in that instance's
            // dc_extents, which the new instance's classify never walks
            const td = this.teardownAt.at(o.region);
            if (!dup && ((o.region !== t.region && td !== undefined && td < o.idx) || (o.region === t.region && o.late && o.inst < t.inst))) {
              this.h14OverlapSuspects.set(t.extent, { old: o.extent, what: `${what} overlaps tracked extent ${o.extent} ${rng(o.dpa, o.len)} tag ${tagStr(o.uuid)}` });
              continue;
            }
            // after a dc_extents walk met a freed extent on this memdev (H5), the kernel has read
            // freed memory; the model unwinds that handler, so its records come back and are
            // staged again next to the unwound attempt's: what follows is H5's, not a new defect
            const after = !dup && this.unwoundH5.has(t.memdev);
            const outcome = dup ? 'extent-dup-in-chain' : after ? 'extent-overlap-after-h5' : 'extent-overlap';
            const why = dup ? ' of the same tag group (one chain carried the range twice)' : after ? ' (after an add handler on this memdev was unwound by a use-after-free in its dc_extents walk)' : '';
            this.findings.add(`overlap:${ev.extent}:${o.extent}`, finding(outcome, `${what} overlaps tracked extent ${o.extent} ${rng(o.dpa, o.len)} tag ${tagStr(o.uuid)}${why}`));
          }
        }
        for (const u of this.unwoundStaged.get(t.memdev) ?? []) if (u.group === null) u.group = t.group;
        if (!t.existing && !this.scanned.has(t.region) && this.gateSuspects.length < Findings.MAX) this.gateSuspects.push({ t, idx });
        if (!t.existing && t.shareable) {
          const dev = this.offeredSeq.get(t.memdev)?.get(`${t.dpa}:${t.len}`);
          if (dev !== undefined && dev !== t.seq) {
            this.findings.add(`seqdev:${ev.extent}`, finding('sequence-broken', `${what}: host seq ${t.seq} but the device stamped shared_extn_seq ${dev}`));
          }
        }
        this.tracked.set(ev.extent, t);
        return;
      }
      case 'extent-untracked': {
        const sus = this.readoptSuspects.get(ev.extent);
        if (sus) {
          this.readoptSuspects.delete(ev.extent);
          this.findings.add(`readopt:${ev.extent}`, finding('extent-readopted-h5', `${sus.what}, which the release path then released: the recovery scan re-adopted it between its unregistration and its Release DC`));
        }
        const t = this.tracked.get(ev.extent);
        this.tracked.delete(ev.extent);
        // the group a release record's acknowledgement is about is the one its handler actually
        // untracked: cxl_rm_extent (drivers/cxl/core/extent.c) walks only the dc_extents of the
        // region cxl_dpa_to_region names, so beside an H14 orphan on a destroyed region with the
        // same range (findTracked's first guess) it is the live region's extent
        const rel = this.releasing.get(e.thread);
        if (t && rel && rel.memdev === ev.memdev && rel.group !== t.group) rel.group = t.group;
        if (t && ev.sentRelease === 1 && this.tearingDown.get(e.thread) !== ev.region) {
          const list = listOf(this.releasedOutsideTeardown, ev.memdev);
          if (list.length >= 4096) list.shift();
          list.push({ dpa: t.dpa, len: t.len, extent: t.extent, tracked: t.idx, released: idx, thread: e.thread });
        }
        // H14 through a holder (docs/fidelity-holders.md): the teardown's device_del unregistered
        // the extent while a DAX-bus child walk of another thread held it (uuid_claim_tagged's
        // device_for_each_child, delete_store's device_find_child_by_name, drivers/dax/bus.c), so
        // that walk's put is the last and sends the Release DC (dc_extent_release) — the
        // teardown's release, in the holder's thread. Evidence: a teardown of the extent's region
        // is current (begun in another thread, no probe since), and the releasing thread is not
        // handling a Release record (cxl_rm_extent unregisters and releases in one thread) nor
        // releasing an H5 handler's leftover (released-unaccepted-after-h5 below)
        const tdSelf = this.tearingDown.get(e.thread) === ev.region;
        const tdHolder = !tdSelf && t !== undefined && this.teardownAt.at(ev.region) !== undefined && [...this.tearingDown.values()].includes(ev.region)
          && !this.releasing.has(e.thread) && !this.leftByUnwoundHandler(t);
        if (t && (tdSelf || tdHolder)) {
          // a torn-down extent can still be named by a response in flight: its own chain's (not
          // yet listed), or a later chain whose duplicate sub-range E8 accepted against it
          const list = listOf(this.tornDown, ev.memdev);
          if (list.length >= 4096) list.shift();
          list.push({ dpa: t.dpa, len: t.len, extent: t.extent });
        }
        if (t && !t.existing && !t.listed && (tdSelf || tdHolder)) {
          if (ev.sentRelease === 1) {
            this.findings.add(`xortd:${ev.extent}`, finding('released-before-response',
              `region teardown sent Release DC for runtime extent ${ev.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} on mem${t.memdev}, realized but not yet listed by a response${tdHolder ? ' (the last put of a DAX-bus child walk that held it across the teardown\'s device_del, in another thread)' : ''}`));
          }
        } else if (t && ev.sentRelease === 1 && !t.existing && !t.listed) {
          const what = `Release DC sent for runtime extent ${ev.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} on mem${t.memdev}, which no response listed`;
          // the same leftover as host-extent-not-accepted-after-h5, released (a Release record
          // for it, cxl_rm_extent → rm_tag_group → dc_extent_release) before quiescence
          const unwound = this.leftByUnwoundHandler(t);
          if (unwound) this.findings.add(`xor:${ev.extent}`, finding('released-unaccepted-after-h5', `${what}; ${unwound}`));
          else this.findings.add(`xor:${ev.extent}`, finding('released-unaccepted', what));
        }
        return;
      }
      case 'response-extent': {
        let found = false;
        for (const t of this.tracked.values()) {
          if (t.memdev === ev.memdev && contains(t.dpa, t.len, ev.dpa, ev.len)) {
            t.listed = true;
            found = true;
          }
        }
        const torn = found ? undefined : this.tornDown.get(ev.memdev)?.find((x) => contains(x.dpa, x.len, ev.dpa, ev.len));
        if (torn) {
          this.findings.add(`listedtd:${ev.memdev}:${ev.chain}`, finding('response-lists-torn-down',
            `mem${ev.memdev} response ${ev.chain} lists ${rng(ev.dpa, ev.len)}, realized as extent ${torn.extent} and unregistered by a region teardown before the response`));
        } else if (!found) {
          const h25 = this.releasedUnderChain(e, ev.memdev, ev.dpa, ev.len);
          if (h25) {
            this.findings.add(`listedrel:${ev.memdev}:${ev.chain}:${ev.dpa}`, finding('response-lists-released-h25',
              `mem${ev.memdev} response ${ev.chain} lists ${rng(ev.dpa, ev.len)}, offered at event ${h25.offered} inside extent ${h25.extent} ${rng(h25.dpa, h25.len)} (tracked since event ${h25.tracked}), which another thread's Release DC released at event ${h25.released}, before this response: the classify accepted it again as a duplicate of the held extent`));
          } else {
            this.findings.add(`listed:${ev.memdev}:${ev.chain}:${ev.dpa}`, finding('response-lists-untracked',
              `mem${ev.memdev} response ${ev.chain} lists ${rng(ev.dpa, ev.len)}, not contained in any extent tracked at that moment`));
          }
        }
        return;
      }
      default:
        return;
    }
  }

  /**
   * H25's evidence for a response listing an untracked range (docs/kernel-map.md#h25), narrowly:
   * the range's Add record was offered (event `offered`) while an extent containing it was
   * tracked, and that extent was released — a Release DC sent outside a teardown, by a thread
   * other than the one sending this response — after the offer and before the response. The
   * chain's cxl_add_extent (drivers/cxl/core/extent.c) can only have met it then:
   * cxlr_dax_classify_extent found the containing extent in cxlr_dax->dc_extents ("accept
   * again", 0; an extent unregistered but still held stays there until dc_extent_release's
   * xa_erase) and cxl_realize_group listed the range; the held extent's last put then sent its
   * Release DC under no lock the event thread holds. Null when the trace shows no such release.
   */
  private releasedUnderChain(e: DecodedEvent, memdev: number, dpa: number, len: number): { offered: number; extent: number; dpa: number; len: number; tracked: number; released: number } | null {
    const offered = this.offeredAt.get(memdev)?.get(`${dpa}:${len}`);
    if (offered === undefined) return null;
    for (const r of this.releasedOutsideTeardown.get(memdev) ?? []) {
      if (r.thread !== e.thread && r.tracked < offered && offered < r.released && contains(r.dpa, r.len, dpa, len)) return { offered, ...r };
    }
    return null;
  }

  /**
   * H5's consequence for 8.1-16 (`host-extent-not-accepted-after-h5`), narrowly: the extent was
   * realized AFTER an H5 use-after-free unwound the event thread of its memdev, from a record that
   * the unwound handler had already staged in its open chain. The kernel would have read freed
   * memory and gone on; the model unwinds the handler instead, so its uncleared records come back
   * and are staged again beside what the unwound attempt left in add_ctx (add_ctx.group keeps the
   * dc_extent it had built): cxlr_add_extent's xa_insert of the redelivered copy collides on its
   * seq_num (-EBUSY, "duplicate seq_num"), the copy drops out of the response, and the leftover
   * dc_extent is onlined unlisted (drivers/cxl/core/extent.c cxlr_add_extent, online_tag_group;
   * mbox.c cxl_add_pending). Null when the trace shows no such chain.
   */
  private stagedByUnwoundHandler(memdev: number, dpa: number, len: number): string | null {
    const t = [...this.tracked.values()].find((x) => x.memdev === memdev && x.dpa === dpa && x.len === len && !x.existing);
    return t ? this.leftByUnwoundHandler(t) : null;
  }

  /**
   * The evidence both H5-consequence outcomes of an unlisted runtime extent require (8.1-16 at
   * quiescence, `host-extent-not-accepted-after-h5`; 8.1-4 when its Release DC goes out first,
   * `released-unaccepted-after-h5`): an H5 use-after-free on the extent's memdev while its record
   * was staged in the open chain, and the extent realized after it, in the FIRST group onlined on
   * that memdev after it — the group that carried add_ctx.group's leftover (mbox.c
   * cxl_realize_group reads mds->add_ctx.group, onlines it and clears it; extent.c
   * cxlr_add_extent appends to it). Null when the trace shows no such chain.
   */
  private leftByUnwoundHandler(t: Tracked): string | null {
    if (t.existing) return null;
    for (const u of this.unwoundStaged.get(t.memdev) ?? []) {
      if (u.idx < t.idx && u.group === t.group && u.ranges.some((r) => contains(r.dpa, r.len, t.dpa, t.len))) {
        return `its record was staged in the chain an H5 use-after-free unwound on mem${t.memdev} (event ${u.idx}), and it was realized after it (event ${t.idx}), in the first group onlined on mem${t.memdev} since, from what the unwound handler left in add_ctx; the redelivered copy was left out of the response`;
      }
    }
    return null;
  }

  private findTracked(memdev: number, dpa: number, len: number, uuid: string): Tracked | null {
    for (const t of this.tracked.values()) if (t.memdev === memdev && t.uuid === uuid && contains(t.dpa, t.len, dpa, len)) return t;
    return null;
  }

  atQuiescence(state: SystemState, sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    const out = new Findings();
    // an overlap whose older extent is still tracked at quiescence was no dying extent: forbidden
    // (unless it is H14's orphan: the re-created region's scan realized the range it keeps)
    const orphaned = (old: number, nw: number): boolean => {
      const o = this.tracked.get(old);
      const n = this.tracked.get(nw);
      if (o === undefined) return false;
      // the newer one on a later instance of the same region: the older stays with the replaced one
      if (o.late && o.inst < this.teardownAt.instance(o.region) && (n === undefined || n.region !== o.region || n.inst > o.inst)) return true;
      const td = this.teardownAt.at(o.region);
      return td !== undefined && td < o.idx && (n === undefined || n.region !== o.region) &&
        sys.host?.regions !== undefined && !sys.host.regions.isLive(o.region);
    };
    const h14 = (what: string): string => `${what}, which was realized after its region's teardown began and outlives the destroyed region or the cxl_dax_region instance a re-probe replaced (H14's orphan)`;
    for (const [old, sus] of this.readoptSuspects) {
      if (orphaned(old, sus.nw)) out.add(`overlap:${sus.nw}:${old}`, finding('extent-overlap-after-h14', h14(sus.what)));
      else out.add(`overlap:${sus.nw}:${old}`, finding('extent-overlap', sus.what));
    }
    // an overlap with an H14 orphan: known only if the older extent is still tracked on a region
    // that is gone (the `extent-orphaned-h14` below); otherwise the overlap was no orphan's
    for (const [nw, sus] of this.h14OverlapSuspects) {
      if (orphaned(sus.old, nw)) out.add(`overlap:${nw}:${sus.old}`, finding('extent-overlap-after-h14', h14(sus.what)));
      else out.add(`overlap:${nw}:${sus.old}`, finding('extent-overlap', sus.what));
    }
    this.judgeGate(out, sys);
    this.judgeGroups(out, sys);
    this.judgeContainment(out, state, sys);
    this.judgeHostSubset(out, state, sys);
    for (const t of this.tracked.values()) {
      // H14: a later group of a chain realized after the teardown took its devres snapshot (and
      // after device_del's) onto a region that was then destroyed: nothing will ever release it
      const td = this.teardownAt.at(t.region);
      if (td !== undefined && t.idx > td && sys.host?.regions && !sys.host.regions.isLive(t.region)) {
        out.add(`orphan:${t.extent}`, finding('extent-orphaned-h14', `extent ${t.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} on mem${t.memdev} was realized after its region's teardown began and outlives the destroyed region (its group and tag leak)`));
      } else if (t.late && t.inst < this.teardownAt.instance(t.region)) {
        // the region was re-probed: cxl_dax_region_alloc made a new instance and this extent,
        // onlined onto the old one after its devres ran, stays there (pinning it) — never released
        out.add(`orphan:${t.extent}`, finding('extent-orphaned-h14', `extent ${t.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} on mem${t.memdev} was realized after its region's teardown began and outlives that cxl_dax_region instance, which a re-probe replaced (its group and tag leak)`));
      }
      const why = this.ackedGroups.get(t.group);
      if (why) out.add(`whole:${t.group}`, finding('group-release-incomplete', `${why} was acknowledged, yet extent ${t.extent} ${rng(t.dpa, t.len)} of group ${t.group} is still tracked`));
    }
    const results = [...this.findings.list(), ...out.list()];
    const seen = new Set(results.map((r) => r.invariant));
    for (const inv of [INV.memory, INV.listed, INV.xor, INV.overlap, INV.containment, INV.seq, INV.wholeGroup, INV.scanGate, INV.hostSubset]) {
      if (!seen.has(inv)) results.push(held(inv));
    }
    return results;
  }

  private judgeGate(out: Findings, sys: SysLike): void {
    const gateOff = sys.knobs?.['scan-gate'] === 'off';
    for (const { t, idx } of this.gateSuspects) {
      const later = this.scanned.get(t.region);
      const what = `runtime extent ${t.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} tracked on region handle ${t.region}`;
      const when = later === undefined ? ' (never, by quiescence)' : ` (${later - idx} events before its scan-done)`;
      out.add(`gate:${t.extent}`, finding('scan-gate-bypassed', `${what} before its existing-extent scan succeeded${when}${gateOff ? ' — scan-gate=off' : ''}`));
    }
  }

  private judgeGroups(out: Findings, sys: SysLike): void {
    const groups = new Map<number, Tracked[]>();
    for (const t of this.tracked.values()) listOf(groups, t.group).push(t);
    for (const [g, members] of groups) {
      const seqs = members.map((t) => t.seq).sort((a, b) => a - b);
      const shareable = members.some((t) => t.shareable);
      const base = shareable && sys.knobs?.['v10-seq'] === 'on' ? 1 : 0;
      const desc = `group ${g} tag ${tagStr(members[0]?.uuid ?? NULL_UUID)} on mem${members[0]?.memdev ?? '?'} (${shareable ? 'sharable' : 'non-sharable'}) seqs ${seqs.join(',')}`;
      if (new Set(seqs).size !== seqs.length) {
        out.add(`seqdup:${g}`, finding('sequence-broken', `${desc}: duplicate seq_num`));
      } else if (seqs.some((s, i) => s !== base + i)) {
        out.add(`seqgap:${g}`, finding('partial-group-cxl', `${desc}: not ${base}..${base + seqs.length - 1} — members were omitted at realization`));
      }
    }
  }

  private judgeContainment(out: Findings, state: SystemState, sys: SysLike): void {
    for (const r of stateRegions(state)) {
      for (const x of r.extents) {
        const what = `${r.name}/${x.name ?? '?'} offset ${rng(x.offset, x.length)}`;
        if (x.length <= 0 || x.offset % PMD_SIZE !== 0 || x.length % PMD_SIZE !== 0) out.add(`salign:${r.name}:${x.offset}`, finding('extent-misaligned', `${what} is not ${PMD_SIZE}-aligned`));
        if (x.offset < 0 || x.offset + x.length > r.size) out.add(`sout:${r.name}:${x.offset}`, finding('extent-outside-region', `${what} lies outside the region (size ${r.size})`));
      }
    }
    const R = sys.host?.regions;
    if (!R) return;
    for (const t of this.tracked.values()) {
      const f = regionFacts(sys, t.region);
      if (!f || contains(f.edDpaStart, f.size, t.dpa, t.len)) continue;
      let other: number | null = null;
      for (const r of R.live()) {
        if (R.get(r, 'memdev') === t.memdev && contains(R.get(r, 'edDpaStart'), R.get(r, 'size'), t.dpa, t.len)) other = R.get(r, 'id');
      }
      const what = `extent ${t.extent} ${rng(t.dpa, t.len)} tag ${tagStr(t.uuid)} parented to region${f.id} (decoder ${rng(f.edDpaStart, f.size)})`;
      if (other !== null) out.add(`parent:${t.extent}`, finding('wrong-region-parent', `${what} lies in region${other}`));
      else out.add(`ed:${t.extent}`, finding('extent-outside-region', `${what} lies outside every decoder of mem${t.memdev}`));
    }
  }

  private judgeHostSubset(out: Findings, state: SystemState, sys: SysLike): void {
    const memdevNames = Object.keys(state.memdevs);
    const R = sys.host?.regions;
    for (const r of stateRegions(state)) {
      const md = state.memdevs[r.memdev];
      if (!md) continue;
      const memdev = memdevNames.indexOf(r.memdev);
      let edStart: number | null = null;
      if (R) for (const h of R.live()) if (`region${R.get(h, 'id')}` === r.name) edStart = R.get(h, 'edDpaStart');
      for (const x of r.extents) {
        const devOff = r.dpaOffset + x.offset;
        if (md.accepted.some((a) => contains(a.offset, a.length, devOff, x.length))) continue;
        const abs = edStart === null ? undefined : edStart + x.offset;
        let ex = this.explainer.explain(memdev, abs, abs === undefined ? undefined : x.length);
        // without host tables (unit tests) the extent's device range is unknown: fall back to a
        // failed response anywhere on the memdev; with them, only a failed response listing it
        if (!ex && abs === undefined) {
          const failed = state.trace.mailbox.find((mb) => mb.memdev === r.memdev && mb.opcode === 'ADD_DC_RESPONSE' && mb.rc !== 'SUCCESS');
          if (failed) ex = { hazard: 'h10', why: `Add DC Response on ${r.memdev} failed with ${failed.rc} (trace.mailbox)` };
        }
        const what = `${r.name}/${x.name ?? '?'} (device offset ${rng(devOff, x.length)}, tag ${tagStr(x.uuid)}) is not inside any extent ${r.memdev} accepted`;
        const key = `subset:${r.name}:${x.offset}`;
        const unwound = ex || abs === undefined ? null : this.stagedByUnwoundHandler(memdev, abs, x.length);
        const stale = abs === undefined ? null : this.explainer.staleScanH23(memdev, abs, x.length);
        if (unwound) out.add(key, finding('host-extent-not-accepted-after-h5', `${what}; ${unwound}`));
        else if (ex?.hazard === 'h5') out.add(key, finding('host-extent-readopted-h5', `${what}; ${ex.why}`));
        else if (stale) out.add(key, finding('host-extent-released-under-scan-h23', `${what}; ${stale}`));
        else if (ex?.hazard === 'h2') out.add(key, finding('host-extent-adopted-h2', `${what}; ${ex.why}`));
        else if (ex?.hazard === 'h10') out.add(key, finding('host-extent-not-accepted-h10', `${what}; ${ex.why}`));
        else out.add(key, finding('host-extent-not-accepted', `${what}; every Add DC Response on ${r.memdev} succeeded`));
      }
    }
  }

  reset(): void {
    this.findings.clear();
    this.explainer.clear();
    this.tracked.clear();
    this.scanned.clear();
    this.gateSuspects.length = 0;
    this.offeredSeq.clear();
    this.releasing.clear();
    this.ackedGroups.clear();
    this.tearingDown.clear();
    this.readoptSuspects.clear();
    this.tornDown.clear();
    this.unwoundH5.clear();
    this.openStaged.clear();
    this.unwoundStaged.clear();
    this.teardownAt.clear();
    this.offeredAt.clear();
    this.releasedOutsideTeardown.clear();
    this.h14OverlapSuspects.clear();
    this.idx = 0;
  }
}
