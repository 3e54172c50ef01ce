/**
 * DOC: the outcome vocabulary of the checkers — one stable, readable name per thing a run can end
 * in, with its jcstress class and the invariant (docs/kernel-map.md) or hazard (§4.4 H1–H13,
 * §8.2; H17 found by the lock checker, docs/kernel-map.md) it maps to. The stress runner counts iterations by these names; `classify()` (index.ts)
 * turns one iteration's results into exactly one of them.
 *
 * Invariants verified: none here (this is a table). Not verified: n/a.
 *
 * Rules for the table (a published contract like the scenario format: add freely, rename nothing):
 *  - a name has exactly one class, forever; a checker that sees "the same thing" under two
 *    classes uses two names (`lock-order-h2` vs `lock-order-cycle`);
 *  - the order is the priority `classify()` uses to pick one outcome among several results of
 *    the same class: forbidden outcomes first, most specific first; then known hazards; then the
 *    notable acceptable outcomes; `ok` last.
 */
import type { CheckerResult } from '../../src/state.js';

export type OutcomeClass = CheckerResult['class'];

export interface OutcomeSpec {
  class: OutcomeClass;
  /** the invariant as CheckerResult.invariant spells it, e.g. "8.1-5 tag uniqueness" */
  invariant: string;
  /** the hazard or §8.2 row that makes a known-hazard outcome expected for v11, else null */
  hazard: string | null;
  /** one line: what was observed */
  description: string;
}

// invariant names, spelled once
export const INV = {
  cap: '8.1-1 one open chain, staged <= 100',
  cardinality: '8.1-2 response cardinality',
  listed: '8.1-3 response lists only tracked extents',
  xor: '8.1-4 accepted xor released',
  tag: '8.1-5 tag uniqueness',
  seq: '8.1-6 sequence density',
  overlap: '8.1-7 no overlap',
  containment: '8.1-8 containment and alignment',
  daxAtomic: '8.1-10 DAX group atomicity',
  claim: '8.1-11 claim integrity',
  inUse: '8.1-12 in-use protection',
  wholeGroup: '8.1-13 whole-group release',
  scanGate: '8.1-14 scan gate',
  conservation: '8.1-15 conservation',
  hostSubset: '8.1-16 host subset of device',
  watchdog: '8.1-18 watchdog answers open chains only',
  lockOrder: '8.1-19 lock order',
  hung: 'product 6 no unreported hung wait',
  doubleMap: 'product 6 no double mapping',
  data: 'product 6 data integrity',
  memory: '8.2 memory safety of dc_extents walks',
} as const;

const F = (invariant: string, description: string): OutcomeSpec => ({ class: 'forbidden', invariant, hazard: null, description });
const K = (invariant: string, hazard: string, description: string): OutcomeSpec => ({ class: 'known-hazard', invariant, hazard, description });
const A = (invariant: string, description: string): OutcomeSpec => ({ class: 'acceptable', invariant, hazard: null, description });

export const OUTCOMES = {
  // ---------------------------------------------------------------- forbidden
  'tag-registered-twice': F(INV.tag, 'a uuid was registered while another group held it (what tag-lock=off breaks)'),
  'chain-mixed': F(INV.cardinality, 'one logical response answered extents of two device chains (what parallel-event-handlers=2 breaks)'),
  'partial-group-claimed': F(INV.daxAtomic, 'a successful claim saw fewer DAX ranges than the group has CXL members (what group-lock=per-extent breaks)'),
  'chain-answered-twice': F(INV.cardinality, 'a device chain was answered by two logical responses, not explained by a timeout or a drop'),
  'chain-answered-out-of-order': F(INV.cardinality, 'a device chain was first answered after a later chain of the same memdev'),
  'chain-unanswered': F(INV.cardinality, 'a closed device chain was never answered and was not dropped'),
  'response-unmatched': F(INV.cardinality, 'a response listed an extent no Add record of the memdev offered'),
  'watchdog-after-close': F(INV.watchdog, 'the watchdog answered a chain whose More=0 record had already closed it'),
  'staged-over-cap': F(INV.cap, 'more than 100 records were staged in one runtime chain'),
  'tag-registration-leaked': F(INV.tag, 'a uuid stays registered with no live extent, and the trace shows no lost nr_extents update (H6), no group an H5 unwind left in add_ctx and no group H14 left behind'),
  'response-lists-untracked': F(INV.listed, 'a response listed an extent the host did not track at that moment'),
  'released-unaccepted': F(INV.xor, 'a Release DC was sent for a runtime extent no response ever listed'),
  'extent-overlap': F(INV.overlap, 'two host-tracked extents of one memdev overlap in DPA'),
  'extent-misaligned': F(INV.containment, 'a host-tracked extent is not PMD (2 MiB) aligned or has no length'),
  'extent-outside-region': F(INV.containment, "a host-tracked extent lies outside its region's endpoint decoder"),
  'sequence-broken': F(INV.seq, 'a live group has a duplicate seq_num, or a sharable member whose seq differs from the device-stamped one'),
  'scan-gate-bypassed': F(INV.scanGate, "a runtime extent became host-tracked on a region before its existing-extent scan succeeded"),
  'host-extent-not-accepted': F(INV.hostSubset, 'at quiescence a host-tracked extent is not inside any device-accepted extent (no failed response explains it)'),
  'tag-not-registered': F(INV.tag, 'at quiescence a live tagged extent has a uuid that is not registered'),
  'registry-mismatch': F(INV.tag, "at quiescence the event-derived registry differs from the host's registry table"),
  'claim-mismatch': F(INV.claim, 'a successful claim has foreign ranges, a size that is not the sum of its members, or an untagged claim with more than one range'),
  'release-in-use': F(INV.inUse, 'a release refused as in use changed state, or a live claimed device lost ranges under it'),
  'group-release-incomplete': F(INV.wholeGroup, 'a release was acknowledged but members of its group are still tracked at quiescence'),
  'conservation': F(INV.conservation, 'per region: tracked bytes != claimed bytes + available_size, or a DAX range lies outside every tracked extent'),
  'dax-double-map': F(INV.doubleMap, 'two live DAX device ranges of one region map the same bytes'),
  'data-lost': F(INV.data, 'a verify failed on a live device after a covering write, with no range change since'),
  'dax-access-refused': F(INV.data, 'a DAX access to mapped bytes was refused by the device, with no failed response to explain it'),
  // a cycle or hung wait is a known hazard only when it is that hazard's own chain (locks.ts
  // KNOWN_CYCLES); any other is forbidden until confirmed in the v11 code and named
  'lock-order-cycle': F(INV.lockOrder, "lockdep found a lock-order cycle that is not a named hazard's own chain"),
  'hung-wait': F(INV.hung, "a thread waited on a lock beyond the bound, and the wait is not a named hazard's own chain"),
  'unnamed-forbidden': F('any', 'a forbidden result from a checker that names no outcome'),
  // ---------------------------------------------------------------- known hazards (v11 as written)
  'double-response-after-timeout': K(INV.cardinality, 'H4', 'the watchdog answered a chain, then its late tail was answered again'),
  'double-response-after-drop': K(INV.cardinality, '8.2 one response per device chain', 'a chain was dropped (S1/S2) and still answered twice'),
  'chain-redelivered': K(INV.cardinality, '8.2 one response per device chain', 'the device delivered a record twice (Clear failed / handle lie): the host cannot tell it from a new chain'),
  'watchdog-after-drop': K(INV.watchdog, 'S1 (§2.3: -ENOSPC leaves armed and the timer queued)', 'the watchdog answered a chain the cap had dropped'),
  // H14 (the teardown race; docs/kernel-map.md): between the event thread's realization of a
  // chain — from its first group's online_tag_group, whose devm_add_action_or_reset puts the
  // extents on cxlr_dax's devres — and its Add DC Response, no lock both sides take covers the
  // chain: a region teardown or cxl_dax_region unbind (drivers/base/dd.c __device_release_driver
  // → devres_release_all → dc_extent_unregister) can release the extents. If it frees a group
  // before the group's notify, the event thread dereferences the freed tag group
  // (mbox.c cxl_realize_group: tag_group->cxlr_dax->cxlr) — a use-after-free; either way the
  // Release DC goes out for extents the device has not yet seen accepted, then the response
  // lists them (extent.c online_tag_group; dax/cxl.c; mbox.c cxl_add_pending).
  'tag-group-use-after-free-h14': K(INV.memory, 'H14', 'a region teardown freed a tag group between its online_tag_group and its notify; the event thread then used the freed group'),
  'region-use-after-free-h14': K(INV.memory, 'H14', "a region destroy freed the cxl_region between a group's cxl_add_extent and its online_tag_group, which then read cxlr_dax->cxlr"),
  'response-lists-torn-down': K(INV.listed, 'H14', 'a response listed extents a region teardown unregistered after they were realized and before the response was sent'),
  'released-before-response': K(INV.xor, 'H14', 'a region teardown sent Release DC for realized runtime extents before the response that lists them'),
  'extent-overlap-after-h14': K(INV.overlap, 'H14 (consequence: the orphan keeps its range tracked)', "two tracked extents of one memdev overlap: the older is H14's orphan (realized onto a region after its teardown began, left behind when the region went or when a re-probe replaced its cxl_dax_region instance), the newer the same range realized again (the re-created or re-probed region's scan, or a later chain)"),
  'extent-orphaned-h14': K(INV.wholeGroup, 'H14', "a chain's later group was realized onto a cxl_dax_region after the region teardown's devres had run; the region went away, or a re-probe replaced that cxl_dax_region instance (cxl_dax_region_alloc), and the group, its extents and its tag are never released"),
  // H15: v11's dax_release_resource frees a dax_resource whatever its use_cnt (dax/bus.c), and
  // cxlr_dax's devres runs in reverse registration order, so an extent onlined after the dev_dax
  // that claimed it is unregistered first; unregister_dev_dax → trim_dev_dax_range then reads
  // and decrements the freed dax_resource (dev_range->dax_resource->res, ->use_cnt).
  'partial-group-claimed-in-teardown-h24': K(INV.daxAtomic, 'H24', 'a tagged claim inside a cxl_dax_region teardown took the members its devres actions had not unregistered yet: fewer DAX ranges than the group has CXL members'),
  'data-lost-h15': K(INV.data, 'H15', "a verify failed on a live device while a region teardown's Release DC of an extent backing it was in flight: the device had dropped capacity the still-enabled device maps"),
  'dax-access-refused-h15': K(INV.data, 'H15', "a DAX access was refused by the device after a region teardown released (Release DC) an extent the device still mapped, before unregistering the device"),
  'dax-resource-use-after-free-trim': K(INV.memory, 'H15', 'a teardown freed a claimed dax_resource before the claiming device was unregistered; trim_dev_dax_range used the freed dax_resource'),
  // H16: cxlr_dax_unregister (region_dax.c) does not clear cxlr->cxlr_dax, so after `cxl
  // disable-region` an add reaching E5/E6 or a release reaching X1/X2 dereferences the freed
  // cxl_dax_region (extent.c cxl_validate_extent, cxl_rm_extent).
  'dax-mapping-stale-range-h28': K(INV.memory, 'H28', 'a mappingN device outlived its dev_dax range: devm_release_action found no unregister_dax_mapping action (a devres_release_all had taken cxlr_dax\'s list) or unregister_dev_dax freed the ranges first, and the later unregister_dax_mapping (or a show) indexed dev_dax->ranges[range_id] of the emptied array'),
  'dev-dax-type-confusion-delete-h20': K(INV.memory, 'H20', "a write of an extent's name (extentR.N) to dax_region/delete: delete_store's device_find_child_by_name returns the dc_extent device, a sibling of the dev_dax devices, and to_dev_dax() reinterprets it"),
  'cxlr-dax-use-after-free-disabled-region': K(INV.memory, 'H16', 'an add or release on a disabled region used cxlr->cxlr_dax, which points at the freed cxl_dax_region (its last reference gone: the device\'s own and every tag group\'s pin on that instance)'),
  'chain-dropped': K(INV.cardinality, '8.2 no lost extent (S1/S2)', 'a closed device chain was dropped without a response'),
  'host-extent-adopted-h2': K(INV.hostSubset, 'H2', 'the recovery scan adopted half-staged runtime extents the device never accepted'),
  // H10 as v11 can produce it: an Add DC Response fails at the mailbox (the device refuses it —
  // cxl_test's offer-order -EINVAL (O1) or -ENOMEM, QEMU's Invalid PA — or the command times out)
  // and cxl_send_dc_response does not roll back the groups already onlined. Not the model's old
  // artifact of several cxl-test chains logged at once (the mock drains each inject inside the write).
  'host-extent-not-accepted-h10': K(INV.hostSubset, 'H10', 'a host-tracked extent is not device-accepted after its Add DC Response failed at the mailbox (v11 does not roll back onlined groups)'),
  'dax-access-refused-h10': K(INV.data, 'H10', 'a DAX access was refused by the device after a failed Add DC Response (or an H2 adoption)'),
  'partial-group-cxl': K(INV.seq, '8.2 group all-or-none at the CXL layer; tail-safe claim (SK-26)', 'a group was onlined without some offered members (per-extent failure)'),
  'wrong-region-parent': K(INV.containment, 'H11', 'an extent is parented to a region whose decoder does not contain it'),
  // v11's cxl_add_extent classifies an extent against cxlr_dax->dc_extents only (cxlr_dax_classify_extent,
  // drivers/cxl/core/extent.c); the chain's own members sit in add_ctx.group until online_tag_group,
  // so a chain that carries one range twice realizes two dc_extents for it. Reached through a
  // record the device delivered twice (a failed Clear, a stale record read past a lying
  // record_count — cxl_mem_get_records_log trusts the count). Both are onlined (extentX.Y) before the
  // DAX add refuses the overlap and rm_tag_group drops the group; the chain is answered empty.
  'extent-dup-in-chain': K(INV.overlap, 'H18 (cxlr_dax_classify_extent compares with dc_extents only, never the chain\'s own members)', 'one chain staged the same range twice (a redelivered record) and both copies became dc_extents of one group'),
  'extent-readopted-h5': K(INV.overlap, 'H5 (release vs recovery realize)', 'the recovery scan realized an extent the release path had unregistered but not yet released; both were tracked at once'),
  'host-extent-readopted-h5': K(INV.hostSubset, 'H5 (release vs recovery realize)', 'a host extent the recovery scan re-adopted from a dying one is not device-accepted (its Release DC went out)'),
  'conservation-readopted-h5': K(INV.conservation, 'H5 (release vs recovery realize)', 'DAX accounting of a region differs after the recovery scan re-adopted a dying extent'),
  'host-extent-not-accepted-after-h5': K(INV.hostSubset, 'H5 (consequence: the model unwound the handler; what it left in add_ctx was onlined beside the redelivered records)', 'a host-tracked extent no response listed, realized after an H5 use-after-free unwound its memdev\'s event thread, from a record that handler had staged'),
  'released-unaccepted-after-h5': K(INV.xor, 'H5 (consequence: the model unwound the handler; what it left in add_ctx was onlined beside the redelivered records, then released)', 'a Release DC was sent for a runtime extent no response listed, realized after an H5 use-after-free unwound its memdev\'s event thread, from a record that handler had staged (host-extent-not-accepted-after-h5\'s extent, released before quiescence)'),
  // H23 (found by the swarm's 10-minute soak, free run; confirmed in v11): drivers/cxl/core/mbox.c
  // __cxl_process_extent_list snapshots the device's extent list (Get DC Extent List; its
  // generation check covers only the pages of that read), then cxl_add_pending(existing) →
  // extent.c cxl_add_extent classifies each entry against cxlr_dax->dc_extents. A held extent
  // the teardown unregistered is released at its last put (extent.c dc_extent_release: Release
  // DC, then xa_erase), under no lock the probe holds: between the snapshot and the classify the
  // entry is gone from the xarray and the device has reclaimed the range, so the scan realizes it.
  'host-extent-released-under-scan-h23': K(INV.hostSubset, 'H23', 'a host extent the recovery scan realized from its Get DC Extent List snapshot after another thread\'s Release DC of that range went out: the device no longer holds it'),
  // H25 (found by bench:find's rcu=on control, swarm, free run, seed 102; confirmed in v11):
  // drivers/cxl/core/extent.c cxl_add_extent → cxlr_dax_classify_extent meets a held extent (one
  // a Release record or a teardown unregistered, still in cxlr_dax->dc_extents until the last put's
  // dc_extent_release → xa_erase) containing a re-offered range: "accept again" (0), and mbox.c
  // cxl_realize_group lists it. The put's Release DC runs under no lock the event thread holds;
  // when it falls between the classify and the Add DC Response, the response lists capacity the
  // host tracks nowhere (the device accepts it; only the next probe scan of the region adopts it).
  'response-lists-released-h25': K(INV.listed, 'H25', "a response listed a re-offered range that the chain's classify accepted again as a duplicate of a held extent, whose last put's Release DC then went out before the response"),
  // H26 (found by bench:find's rcu=on control, PCT, seed 100 it 60; confirmed in v11): mbox.c
  // cxl_realize_group onlines a group and notifies the DAX driver (dax_region_add_resources)
  // before cxl_add_pending sends the Add DC Response, so uuid_claim_tagged can map the capacity
  // and user space touch it before the device has been told the host accepted it.
  'dax-access-refused-h26': K(INV.data, 'H26', 'a DAX access was refused by the device: an extent backing the device had been realized, surfaced to DAX and claimed, but no Add DC Response had listed it yet'),
  'dax-access-refused-h23': K(INV.data, 'H23', 'a DAX access was refused by the device: an extent backing the device was realized by the probe\'s scan from a Get DC Extent List snapshot another thread\'s Release DC of it had made stale'),
  'extent-overlap-after-h5': K(INV.overlap, 'H5 (consequence: the kernel read freed memory; the model unwound the handler, whose records were redelivered)', 'two tracked extents overlap after a dc_extents walk use-after-free unwound an add handler on the same memdev'),
  'dc-extent-use-after-free-h5': K(INV.memory, 'H5', 'a dc_extents walk without RCU met an extent another thread had freed (the handler is unwound)'),
  'tag-leaked': K(INV.tag, 'H6', 'a uuid stays registered with no live extent, and the registering group\'s nr_extents read-modify-write lost an update (a lost decrement)'),
  'tag-leaked-after-h5': K(INV.tag, 'H5 (consequence: the model unwound the handler; the group it was assembling stays registered)', 'a uuid stays registered with no live extent: its group was still in add_ctx, never onlined, when an H5 use-after-free unwound its memdev\'s handler, and the redelivered records\' group was refused by G1'),
  'tag-leaked-after-h14': K(INV.tag, 'H14 (consequence: the group it left behind keeps its tag)', 'a uuid stays registered with no live extent: its group is one H14 left behind (a member realized after its region\'s teardown began, the region gone or re-probed since, or an onlining the destroy refused)'),
  'lock-order-h2': K(INV.lockOrder, 'H2', 'lockdep cycle add_ctx.lock <-> device_lock(cxlr_dax) exactly: the add chain into cxlr_notify_extent vs the probe scan into add_ctx.lock'),
  'hung-wait-h2': K(INV.hung, 'H2', 'hung wait in the AB-BA add_ctx.lock <-> device_lock(cxlr_dax) (add chain vs probe scan), queued behind a thread caught in it, or its add half reported before the same holder reached the probe half (a later report of the iteration)'),
  // H17 (found by the lock checker in a 60 s swarm, free schedule, seed 11; confirmed in v11):
  // drivers/cxl/core/extent.c cxl_rm_extent holds cxl_rwsem.region for read across
  // cxlr_notify_extent's device_lock(cxlr_dax); drivers/dax/cxl.c cxl_dax_region_probe holds
  // device_lock(cxlr_dax) across cxl_region_add_existing_extents -> cxl_process_extent_list
  // (add_ctx.lock) -> cxl_add_extent's down_read(cxl_rwsem.region). down_read is non-recursive:
  // a writer of cxl_rwsem.region (drivers/cxl/core/region.c attach_target, region create) waiting
  // past RWSEM_WAIT_TIMEOUT for the release's read blocks the scan's read.
  'lock-order-h17': K(INV.lockOrder, 'H17', 'lockdep cycle device_lock(cxlr_dax) -> add_ctx.lock -> cxl_rwsem.region(R) -> device_lock(cxlr_dax): the probe scan vs cxl_rm_extent'),
  'hung-wait-h17': K(INV.hung, 'H17', 'deadlock: a release holds cxl_rwsem.region(R) waiting for device_lock(cxlr_dax), the probe scan holds it waiting for cxl_rwsem.region(R) behind a region writer\'s handoff, the writer waits for the release'),
  // H21 / H22 (found by modelling kernfs active references, src/dax/kernfs.ts; confirmed in
  // drivers/dax/bus.c and fs/kernfs/dir.c): a sysfs store runs inside kernfs_get_active() of its
  // attribute, and removing the attribute (kernfs_drain) waits for it.
  // H21: delete_store takes device_lock(dax_region->dev = cxlr_dax) inside dax_region/delete's
  // reference; the cxl_dax_region unbind holds that device_lock across devres_release_all ->
  // dax_region_unregister -> sysfs_remove_groups, which drains it. The kernel's lockdep cannot
  // see it (device_lock is lockdep_set_novalidate_class): an unkillable hang.
  'lock-order-h21': K(INV.lockOrder, 'H21', 'lockdep cycle kn->active(delete)(R) -> device_lock(cxlr_dax) -> kn->active(delete)(W): delete_store vs the cxl_dax_region unbind draining dax_region/delete (the kernel\'s lockdep does not validate device_lock)'),
  'hung-wait-h21': K(INV.hung, 'H21', 'deadlock: delete_store holds dax_region/delete\'s active reference waiting for device_lock(cxlr_dax); the unbind holds it and dax_region_unregister waits to drain the reference'),
  // H22: size_store / uuid_store wait in down_write_killable(&dax_region_rwsem) inside their
  // node's reference; unregister_dev_dax holds dax_region_rwsem (write) across device_del, which
  // drains that node. Killable: the kernel hangs until the writer is killed.
  'lock-order-h22': K(INV.lockOrder, 'H22', 'lockdep cycle kn->active(size|uuid)(R) -> dax_region_rwsem(W) -> kn->active(size|uuid)(W): a dev_dax size/uuid store vs unregister_dev_dax\'s device_del'),
  'hung-wait-h22': K(INV.hung, 'H22', 'deadlock: a size/uuid store holds the attribute\'s active reference waiting for dax_region_rwsem; unregister_dev_dax holds it and device_del waits to drain the reference (killable: ends when the writer is killed)'),
  // H27: a mappingN show waits in get_dax_range's down_write_killable(&dax_region_rwsem) inside
  // its node's reference; size_store's dev_dax_shrink (or unregister_dev_dax) holds
  // dax_region_rwsem (write) across device_del(mapping), which drains that node. Killable.
  'lock-order-h27': K(INV.lockOrder, 'H27', 'lockdep cycle kn->active(start|end|page_offset)(R) -> dax_region_rwsem(W) -> kn->active(same)(W): a mappingN show vs dev_dax_shrink\'s (or unregister_dev_dax\'s) device_del of the mapping'),
  'hung-wait-h27': K(INV.hung, 'H27', 'deadlock: a mappingN show holds the attribute\'s active reference waiting for dax_region_rwsem; size_store(0) (or unregister_dev_dax) holds it and device_del(mapping) waits to drain the reference (killable: ends when the reader is killed)'),
  'assert-held-h12': K(INV.lockOrder, 'H12', "lockdep_assert_held failed in __cxlr_notify_extent (scan realizing another region's extent)"),
  'sharable-group-refused-seq': K(INV.seq, 'v10/v11 sequence numbering (v10: 1..n, v11: 0..n-1)', 'a sharable tagged group whose sequence numbers are exactly 0..n-1 (valid for a v11 device) was refused by the host sequence gate G2 — a v10 host against a v11 device'),
  'unnamed-known-hazard': K('any', 'unspecified', 'a known-hazard result from a checker that names no outcome'),
  // ---------------------------------------------------------------- acceptable, worth a row of their own
  'chain-open': A(INV.cardinality, 'a device chain is still open at quiescence (no More=0 yet; the watchdog is pending)'),
  'chain-ignored': A(INV.cardinality, 'the host ignored a closing record (not a DC event uuid), so nothing was staged or answered'),
  'ok': A('all', 'every checked invariant held'),
} as const satisfies Record<string, OutcomeSpec>;

export type OutcomeName = keyof typeof OUTCOMES;

export const OUTCOME_NAMES = Object.keys(OUTCOMES) as OutcomeName[];

/** A CheckerResult that also names its outcome (extra field: the runner reads it via classify()). */
export interface CheckResult extends CheckerResult {
  outcome: OutcomeName;
  /** when its evidence was complete (the event stream's clock): the event that raised it, or the
   *  report it judges; absent for a verdict reached only at quiescence */
  atMs?: number;
}

/** A violation (or notable acceptable outcome) of `outcome`, with what was seen. */
export function finding(outcome: OutcomeName, detail: string): CheckResult {
  const o: OutcomeSpec = OUTCOMES[outcome];
  const hz = o.hazard ? `${o.hazard}: ` : '';
  return { invariant: o.invariant, ok: o.class === 'acceptable', class: o.class, detail: hz + detail, outcome };
}

/** "This invariant held" — one per invariant a checker verified without a finding. */
export function held(invariant: string, detail?: string): CheckResult {
  return detail === undefined
    ? { invariant, ok: true, class: 'acceptable', outcome: 'ok' }
    : { invariant, ok: true, class: 'acceptable', detail, outcome: 'ok' };
}

/** One outcome an iteration saw, with how many checker results named it and the first one's detail. */
export interface SeenOutcome {
  outcome: OutcomeName;
  class: OutcomeClass;
  invariant: string;
  /** checker results that named this outcome in the iteration */
  results: number;
  detail?: string;
}

const SEEN_CLASS_RANK: Record<OutcomeClass, number> = { forbidden: 0, 'known-hazard': 1, acceptable: 2 };

/**
 * Every outcome one iteration's results name — not only the most severe — most severe first
 * (forbidden, known hazard, acceptable; within a class in table order). `ok` is listed only when
 * nothing else was seen: a known hazard can then never stand in for a forbidden outcome of the
 * same iteration, since both are listed and counted.
 */
export function outcomesSeen(results: readonly CheckerResult[]): SeenOutcome[] {
  const order = new Map<string, number>(OUTCOME_NAMES.map((n, i) => [n, i]));
  const seen = new Map<OutcomeName, SeenOutcome>();
  for (const r of results) {
    const named = (r as Partial<CheckResult>).outcome;
    const name: OutcomeName = named !== undefined && Object.prototype.hasOwnProperty.call(OUTCOMES, named)
      ? named
      : r.ok ? 'ok' : r.class === 'forbidden' ? 'unnamed-forbidden' : r.class === 'known-hazard' ? 'unnamed-known-hazard' : 'ok';
    const cur = seen.get(name);
    if (cur) { cur.results++; if (cur.detail === undefined && r.detail !== undefined && name !== 'ok') cur.detail = r.detail; continue; }
    const s: SeenOutcome = { outcome: name, class: OUTCOMES[name].class, invariant: name === 'ok' ? 'all' : r.invariant, results: 1 };
    if (r.detail !== undefined && name !== 'ok') s.detail = r.detail;
    seen.set(name, s);
  }
  if (seen.size > 1) seen.delete('ok');
  if (seen.size === 0) return [{ outcome: 'ok', class: 'acceptable', invariant: 'all', results: 0 }];
  const rank = (s: SeenOutcome): number => SEEN_CLASS_RANK[s.class] * 10_000 + (order.get(s.outcome) ?? 9_999);
  return [...seen.values()].sort((a, b) => rank(a) - rank(b));
}
