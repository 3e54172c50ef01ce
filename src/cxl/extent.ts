/**
 * DOC: cxl extent — Dynamic Capacity add and release handling, the v11 series as written
 * (drivers/cxl/core/extent.c and the DC parts of mbox.c; docs/kernel-map.md–§2.9, §3).
 *
 * Add: `handle_add_event` stages each record while More is set (100-record cap, 20 s inactivity
 * watchdog); on More=0 `cxl_add_pending` groups the staged extents by tag (arrival order, stable
 * sort by sequence), runs the group gates G1–G4 (`cxl_validate_group`), realizes each surviving
 * group extent by extent (`cxl_add_extent`, gates E1–E11), onlines it (`online_tag_group`),
 * notifies the DAX bus, and answers with exactly one logical Add DC Response.
 *
 * Release: `cxl_rm_extent` releases a whole tag group (X1–X5); the Release DC for each member is
 * sent from the member's device release (`dc_extent_release`), one command per member.
 *
 * The tag registry (cxl_tag_register, G1's cxl_tag_already_committed), alloc/free_tag_group and
 * a group's nr_extents refcount are in src/cxl/tag-group.ts.
 *
 * Quirks kept on purpose (they are what the model exists to exercise): G1 and the registry
 * insert are separate critical sections; partial groups are onlined and acknowledged; duplicates
 * are re-acknowledged when mixed with new extents; untagged extents of one chain form ONE group;
 * a late tail after a watchdog expiry becomes a new chain (H4); the scan gate refuses, it does not
 * defer (H3); `nr_extents` is a plain, unlocked counter (H6); `dc_extents` walks are not RCU-safe
 * unless the `rcu` knob is on (H5) — a walk that meets a freed record throws StaleHandleError,
 * the model's use-after-free.
 *
 * Locks (docs/kernel-map.md): event.log_lock → add_ctx.lock → {cxl_rwsem.region(R) per extent →
 * cxl_tag_lock} → device_lock(cxlr_dax) → dax_region_rwsem(W) → mailbox.
 */
import { CXL_MBOX_OP, NULL_UUID, u64ToNumber, type CxlExtentRaw, type DcEventRecord } from '../wire/cxl.js';
import { lockdepAssertHeld, noisePoint, withLock, withRead, assertHeld } from '../shm/lock.js';
import { NO_HANDLE, type FieldRef, type Handle } from '../shm/table.js';
import { kickWorkqueue, wqKickNeeded } from '../shm/clock.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { GroupHandle, ExtentHandle } from '../host/state.js';
import type { HostCtx } from '../host/context.js';
import { GROUP_GATE, RELEASE_REASON, UAF_SITE } from '../protocol.js';
import { cxl_send_dc_response, memdev_release_extent, memdev_release_extent_u64, type DcRange } from './mbox-cmd.js';
import { PMD_SIZE, hex } from '../units.js';
import { CxlError, EBUSY, EEXIST, EINVAL, ENOMEM, ENOSPC, ENXIO, ERRNO_CODES, StaleHandleError } from '../errors.js';
import { memdevName } from './cxlmem.js';
import { cxl_dpa_to_region, cxlr_dax_alive, cxlr_dax_gen, cxlr_dax_link_extent, regionName } from './region.js';
import { cxl_dax_region_notify, dax_release_resource } from './dax-driver.js';
import { alloc_tag_group, cxl_tag_already_committed, groupGet, groupHasSeq, groupMembers, groupPut } from './tag-group.js';

export const CXL_DC_MAX_PENDING_EXTENTS = 100;
export const CXL_DC_ADD_TIMEOUT_MS = 20_000;

export type DcEvent = 'add' | 'release';

function warn(ctx: HostCtx, memdev: number, msg: string): void {
  ctx.dmesg('warn', memdevName(memdev), msg);
}

// ------------------------------------------------------------------------------ staging

/** clear_pending_extents(): free the staged list; nr_pending = 0, group = NULL. */
export function clear_pending_extents(ctx: HostCtx, memdev: number): void {
  const h = ctx.host;
  const m = h.memdev(memdev);
  const MF = h.memdevs.f; // refs resolved once (#17)
  assertHeld(h.memdevs.getRef(m, MF.addLock));
  // the list and each node's memdev in one pass under the table lock (no array per chain, #17),
  // then each of ours freed (ours are stable under our add_ctx.lock)
  const P = h.pending;
  clearRefs ??= [P.field('memdev')];
  if (clearList.length < P.capacity) { clearList = new Int32Array(P.capacity); clearVals = new Float64Array(P.capacity); }
  const n = h.pendingList.membersRefsInto(m, clearRefs, clearList, clearVals);
  for (let k = 0; k < n; k++) {
    if (clearVals[k] === memdev) P.free(clearList[k]!);
  }
  h.memdevs.setRef(m, MF.nrPending, 0);
  h.memdevs.setRef(m, MF.lastHandle, 0);
  // v11 only forgets the group (drivers/cxl/core/mbox.c clear_pending_extents at f5e075e2: the
  // list nodes freed, add_ctx.group = NULL): a group is freed by its members' last put, never here
  // (fidelity-audit item 11; the model once freed an empty one, which no path leaves behind)
  h.memdevs.setRef(m, MF.group, NO_HANDLE);
}

let clearRefs: FieldRef[] | null = null;
let clearList = new Int32Array(0);
let clearVals = new Float64Array(0);

/** Stage one wire extent on the memdev's pending list (kmemdup). NO_HANDLE when out of memory. */
export function stage_extent(ctx: HostCtx, memdev: number, ext: CxlExtentRaw): Handle {
  const h = ctx.host;
  const m = h.memdev(memdev);
  const p = h.pending.alloc();
  if (p === NO_HANDLE) return NO_HANDLE;
  const start = u64ToNumber(ext.startDpa);
  const len = u64ToNumber(ext.length);
  // E1 as cxl_extent_dc_partition() computes it (drivers/cxl/core/extent.c): the range end is
  // start + length - 1 in u64 arithmetic, refused when end < start (a wrap, or a zero length past
  // DPA 0). A start past 2^53 that does not wrap is not E1: it fails the partition check (E2).
  // Both below 2^53 (every record of a sane device): start + len - 1 cannot reach 2^64, so the
  // end is below the start exactly when len is 0 and start is not (0 - 1 wraps to 2^64 - 1) — the
  // same answer without the BigInt arithmetic (#17: four BigInts per staged record)
  const wraps = start !== null && len !== null ? len === 0 && start > 0 : ((ext.startDpa + ext.length - 1n) & 0xffffffffffffffffn) < ext.startDpa;
  // fields through refs resolved once (T.f): once per staged record (#17, docs/performance.md "Tenth session: the event thread's host work")
  const MF = h.memdevs.f;
  const P = h.pending;
  const PF = P.f;
  const order = h.memdevs.getRef(m, MF.pendingSeq);
  h.memdevs.setRef(m, MF.pendingSeq, order + 1);
  P.setRef(p, PF.memdev, memdev);
  h.pendingList.link(m, p);
  P.setRef(p, PF.order, order);
  P.setRef(p, PF.startDpa, start ?? -1);
  P.setRef(p, PF.length, len ?? 0);
  P.setUuidRef(p, PF.uuid, ext.uuid);
  P.setRef(p, PF.sharedSeq, ext.sharedExtnSeq);
  P.setRef(p, PF.wraps, wraps ? 1 : 0);
  // G4 judges the wire values: a u64 start beyond 2^53 (stored as -1 above) can still be aligned
  // (below 2^53 a double holds the value exactly, and PMD_SIZE is a power of two: % is exact)
  const aligned = start !== null && len !== null ? start % PMD_SIZE === 0 && len % PMD_SIZE === 0 : ext.startDpa % PMD_BIG === 0n && ext.length % PMD_BIG === 0n;
  P.setRef(p, PF.pmdAligned, aligned ? 1 : 0);
  return p;
}

const PMD_BIG = BigInt(PMD_SIZE);

/**
 * mod_delayed_work(system_wq, &timeout_work, 20 s): re-arm atomically. The kernel steals a queued
 * work item back (try_to_grab_pending) and re-queues it with the new expiry, so a superseded
 * expiry never runs. The model writes the new due time, then publishes a NEW generation in
 * timeoutPending: a workqueue that read the old generation and the old (expired) due time fails
 * its compare-exchange (startWorkqueue). An expiry the workqueue dequeued before this store is
 * already running, as in the kernel, and sees delayed_work_pending() in cxl_dc_add_timeout.
 */
export function mod_delayed_work(ctx: HostCtx, m: Handle): void {
  const T = ctx.host.memdevs;
  const F = T.f; // once per staged record: refs resolved once (#17)
  const now = ctx.clock.now();
  const due = now + CXL_DC_ADD_TIMEOUT_MS;
  const wasPending = T.loadRef(m, F.timeoutPending) !== 0;
  const earlier = due < T.getRef(m, F.timeoutDue);
  const gen = (T.getRef(m, F.timeoutGen) % 0x3fffffff) + 1; // never 0 (0 = not queued)
  T.setRef(m, F.timeoutGen, gen);
  T.setRef(m, F.timeoutDue, due);
  T.storeRef(m, F.timeoutPending, gen);
  // Wake the workqueue only when it must re-arm sooner: newly pending, or due earlier. Re-arming a
  // pending timer pushes it later; the workqueue wakes at the old due, sees the new one and sleeps
  // again (as a kernel timer re-armed later needs no early interrupt). One wake per staged record
  // cost the pipeline a workqueue wake-up per extent (#8). A free-running real-clock system does
  // not wake it for a due time beyond the kworker's next look either (wqKickNeeded: one wake-up
  // per chain, #17).
  if ((!wasPending || earlier) && wqKickNeeded(ctx.sys, due, now)) kickWorkqueue(ctx.sys);
}

/** cancel_delayed_work() — non-synchronous (a sync cancel would deadlock on add_ctx.lock). */
function cancel_delayed_work(ctx: HostCtx, m: Handle): void {
  const T = ctx.host.memdevs;
  T.storeRef(m, T.f.timeoutPending, 0);
}

/** handle_add_event(): stage one Add Capacity record; close the chain on More=0 (§2.3). */
export function handle_add_event(ctx: HostCtx, memdev: number, rec: DcEventRecord): number {
  const h = ctx.host;
  const m = h.memdev(memdev);
  const more = (rec.flags & 1) !== 0;
  const T = h.memdevs;
  const MF = T.f; // once per record: refs resolved once (#17)
  return withLock(T.getRef(m, MF.addLock), () => {
    const staged = T.getRef(m, MF.nrPending);
    if (staged >= CXL_DC_MAX_PENDING_EXTENTS) {
      warn(ctx, memdev, `DC add chain exceeds ${CXL_DC_MAX_PENDING_EXTENTS} extents; dropping (firmware bug)`);
      clear_pending_extents(ctx, memdev);
      ctx.emit({ type: 'chain-dropped', memdev, reason: ERRNO_CODES.ENOSPC, staged });
      // S1: no response, armed and the timer untouched (v11). post-v11: empty response on More=0.
      if (!more && ctx.knobs['staging-failure-response'] === 'on') sendChainResponse(ctx, memdev, m, [], false);
      return ENOSPC;
    }
    const node = stage_extent(ctx, memdev, rec.extent);
    if (node === NO_HANDLE) {
      clear_pending_extents(ctx, memdev);
      ctx.emit({ type: 'chain-dropped', memdev, reason: ERRNO_CODES.ENOMEM, staged });
      if (!more && ctx.knobs['staging-failure-response'] === 'on') sendChainResponse(ctx, memdev, m, [], false);
      return ENOMEM;
    }
    T.setRef(m, MF.nrPending, staged + 1);
    T.setRef(m, MF.lastHandle, rec.hdr.handle);
    if (more) {
      mod_delayed_work(ctx, m);
      T.setRef(m, MF.armed, 1);
      return 0;
    }
    // More == 0: the chain closes
    T.setRef(m, MF.armed, 0);
    cancel_delayed_work(ctx, m);
    const rc = cxl_add_pending(ctx, memdev, false);
    clear_pending_extents(ctx, memdev);
    return rc;
  });
}

/**
 * cxl_dc_add_timeout(): the watchdog, on the workqueue (§2.3). Runs after the work item was
 * dequeued (timeoutPending cleared by the workqueue); a re-armed timer or a closed chain makes it
 * return without a response (invariant 18).
 */
export function cxl_dc_add_timeout(ctx: HostCtx, memdev: number): void {
  const h = ctx.host;
  const m = h.memdev(memdev);
  withLock(h.memdevs.get(m, 'addLock'), () => {
    if (!h.memdevs.get(m, 'armed') || h.memdevs.load(m, 'timeoutPending')) return;
    warn(ctx, memdev, 'DC add chain timed out; refusing staged extents');
    sendChainResponse(ctx, memdev, m, [], true);
    clear_pending_extents(ctx, memdev);
    h.memdevs.set(m, 'armed', 0);
  });
}

/** Number a logical response (one per closed chain / watchdog expiry) and send it. */
function sendChainResponse(ctx: HostCtx, memdev: number, m: Handle, list: DcRange[], byTimeout: boolean): number {
  const h = ctx.host;
  const T = h.memdevs;
  const chain = T.addRef(m, T.f.responses, 1);
  ctx.emit({ type: 'chain-closed', memdev, chain, staged: T.getRef(m, T.f.nrPending), byTimeout: byTimeout ? 1 : 0, handle: T.getRef(m, T.f.lastHandle) });
  return cxl_send_dc_response(ctx, memdev, CXL_MBOX_OP.ADD_DC_RESPONSE, list, chain);
}

// ------------------------------------------------------------------------------ closing a chain

interface PendingNode {
  h: Handle;
  /** arrival order on the memdev's list */
  order: number;
  start: number;
  len: number;
  uuid: string;
  seq: number;
  wraps: boolean;
  /** start_dpa and length PMD_SIZE-aligned as u64 wire values */
  aligned: boolean;
}

function pendingList(ctx: HostCtx, memdev: number): PendingNode[] {
  const P = ctx.host.pending;
  pendRefs ??= [P.field('memdev'), P.field('order'), P.field('startDpa'), P.field('length'), P.field('sharedSeq'), P.field('wraps'), P.field('pmdAligned')];
  const nr = pendRefs.length;
  if (pendList.length < P.capacity) { pendList = new Int32Array(P.capacity); pendVals = new Float64Array(nr * P.capacity); }
  // the memdev's list and each node's fields in one pass under the table lock (#17); ours are
  // stable under our add_ctx.lock
  const m = ctx.host.pendingList.membersRefsInto(ctx.host.memdev(memdev), pendRefs, pendList, pendVals);
  const V = pendVals;
  const out: PendingNode[] = [];
  for (let k = 0; k < m; k++) {
    const vb = k * nr;
    if (V[vb] !== memdev) continue;
    const p = pendList[k]!;
    const node: PendingNode = { h: p, order: V[vb + 1]!, start: V[vb + 2]!, len: V[vb + 3]!, uuid: P.getUuidRef(p, P.f.uuid), seq: V[vb + 4]!, wraps: V[vb + 5] !== 0, aligned: V[vb + 6] !== 0 };
    // arrival order (stable insertion sort: the list is linked in arrival order, so ~linear)
    let j = out.length;
    out.push(node);
    while (j > 0 && out[j - 1]!.order > node.order) { out[j] = out[j - 1]!; j--; }
    out[j] = node;
  }
  return out;
}
/** pendingList's fields (the schema is static), list and values */
let pendRefs: FieldRef[] | null = null;
let pendList = new Int32Array(0);
let pendVals = new Float64Array(0);

/** !list_empty(&mds->add_ctx.pending_extents): staged runtime records count, not only scan reads. */
export function pending_extents_nonempty(ctx: HostCtx, memdev: number): boolean {
  assertHeld(ctx.host.memdevs.get(ctx.host.memdev(memdev), 'addLock'));
  return pendingList(ctx, memdev).length > 0;
}

/** Is the range inside the memdev's dynamic_ram_1 partition? (the host surfaces partition 0 only) */
function inPartition(ctx: HostCtx, m: Handle, start: number, len: number): boolean {
  const T = ctx.host.memdevs;
  const base = T.getRef(m, T.f.partBase); // twice per extent: refs (#17)
  return start >= base && len > 0 && start + len <= base + T.getRef(m, T.f.partSize);
}

/**
 * cxl_add_pending(): process the closed chain (or the recovery scan's list), holding add_ctx.lock
 * (§2.4). Returns the response's rc (0 for recovery, which never answers).
 */
export function cxl_add_pending(ctx: HostCtx, memdev: number, existing: boolean): number {
  const h = ctx.host;
  const m = h.memdev(memdev);
  const MF = h.memdevs.f;
  assertHeld(h.memdevs.getRef(m, MF.addLock));
  let list = pendingList(ctx, memdev);
  const accepted: DcRange[] = [];
  while (list.length) {
    const tag = list[0]!.uuid;
    // extract_tag_group: every pending extent with this uuid (null == null), arrival order; the
    // rest stays in order for the next round (one pass, #17)
    const group: PendingNode[] = [];
    const rest: PendingNode[] = [];
    for (const n of list) (n.uuid === tag ? group : rest).push(n);
    list = rest;
    group.sort((a, b) => a.seq - b.seq); // Array.prototype.sort is stable
    const shareable = inPartition(ctx, m, group[0]!.start, group[0]!.len) && h.memdevs.getRef(m, MF.shareable) === 1;
    const gate = cxl_validate_group(ctx, memdev, tag, group, shareable);
    if (gate.rc !== 0) {
      const seqs = group.map((n) => n.seq);
      ctx.emit({ type: 'group-dropped', memdev, gate: gate.gate, rc: gate.rc, n: group.length, uuid: tag, seqMin: Math.min(...seqs), seqMax: Math.max(...seqs), shareable: shareable ? 1 : 0, existing: existing ? 1 : 0 });
      for (const n of group) h.pending.free(n.h);
      continue;
    }
    const { cnt, survivors } = cxl_realize_group(ctx, memdev, group, shareable, existing);
    if (cnt < 0) {
      for (const n of survivors) if (h.pending.isLive(n.h)) h.pending.free(n.h);
      continue;
    }
    for (const n of survivors) accepted.push({ dpa: n.start, len: n.len });
  }
  if (existing) return 0; // recovered extents are NEVER re-acknowledged
  return sendChainResponse(ctx, memdev, m, accepted, false);
}

/** cxl_validate_group(): the group gates G1–G4, in order (§2.5). Returns the rc and the gate that failed. */
export function cxl_validate_group(ctx: HostCtx, memdev: number, tag: string, group: PendingNode[], shareable: boolean): { rc: number; gate: number } {
  const h = ctx.host;
  const m = h.memdev(memdev);
  const tagged = tag !== NULL_UUID;
  // (G1) host-wide tag uniqueness — checked here, inserted later in a separate critical section
  if (tagged && cxl_tag_already_committed(ctx, tag)) {
    warn(ctx, memdev, `tag ${tag} already committed on another region (firmware bug)`);
    return { rc: EEXIST, gate: GROUP_GATE.tagUnique };
  }
  // (G2) sequence integrity for sharable partitions: exactly 0..n-1 (v10: 1..n)
  if (shareable) {
    const base = ctx.knobs['v10-seq'] === 'on' ? 1 : 0;
    for (let i = 0; i < group.length; i++) {
      if (group[i]!.seq !== base + i) {
        warn(ctx, memdev, `tag ${tag}: sequence numbers are not ${base}..${base + group.length - 1} (firmware bug)`);
        return { rc: EINVAL, gate: GROUP_GATE.seqIntegrity };
      }
    }
  }
  // (G3) partition equality: every member of a tagged group in the same DC partition
  if (tagged && group.some((n) => n.wraps || !inPartition(ctx, m, n.start, n.len))) {
    warn(ctx, memdev, `tag ${tag}: members span DC partitions (firmware bug)`);
    return { rc: EINVAL, gate: GROUP_GATE.samePartition };
  }
  // (G4) alignment
  if (group.some((n) => !n.aligned)) {
    warn(ctx, memdev, `tag ${tag}: extent not ${PMD_SIZE}-aligned (firmware bug)`);
    return { rc: EINVAL, gate: GROUP_GATE.aligned };
  }
  return { rc: 0, gate: GROUP_GATE.passed };
}

/** cxl_realize_group(): add each member, online the group, notify DAX (§2.6). */
export function cxl_realize_group(ctx: HostCtx, memdev: number, group: PendingNode[], shareable: boolean, existing: boolean): { cnt: number; survivors: PendingNode[] } {
  const h = ctx.host;
  const m = h.memdev(memdev);
  let seq = -1;
  let cnt = 0;
  const survivors: PendingNode[] = [];
  for (const n of group) {
    // host arrival index; advances even when the add fails (an interior failure leaves a gap)
    seq = shareable ? n.seq : (seq + 1) & 0xffff;
    const r = cxl_add_extent(ctx, memdev, n, seq, existing);
    if (r < 0) {
      h.pending.free(n.h);
      continue;
    }
    survivors.push(n);
    cnt++;
  }
  const tg = h.memdevs.getRef(m, h.memdevs.f.group) as GroupHandle;
  h.memdevs.setRef(m, h.memdevs.f.group, NO_HANDLE);
  if (tg === NO_HANDLE) return { cnt: ENXIO, survivors }; // nothing new (all duplicates / all failed)
  let rc = online_tag_group(ctx, tg, !existing);
  if (rc) return { cnt: rc, survivors };
  // H14: from here until the Add DC Response nothing both sides lock covers the group: a region
  // teardown or cxl_dax_region unbind can run its devres (dc_extent_unregister) now, and the last
  // dc_extent_release frees the group (extent.c free_tag_group). The notify below then
  // dereferences tag_group->cxlr_dax->cxlr (mbox.c cxl_realize_group): a use-after-free.
  noisePoint(NOISE_SITE.teardownWindow);
  if (!h.groups.isLive(tg)) {
    ctx.emit({ type: 'use-after-free', memdev, extent: tg, site: UAF_SITE.tagGroupNotify });
    ctx.dmesg('err', memdevName(memdev), 'BUG: use-after-free: the tag group was freed by a region teardown before its notify (H14)');
    // the kernel reads the freed group; with the driver gone the notify would return 0
    return { cnt, survivors };
  }
  const region = h.groups.getRef(tg, h.groups.f.region);
  rc = existing ? __cxlr_notify_extent(ctx, region, 'add', tg) : cxlr_notify_extent(ctx, region, 'add', tg);
  if (rc) {
    if (!existing) h.groups.set(tg, 'skipDeviceRelease', 1);
    rm_tag_group(ctx, tg);
    return { cnt: rc, survivors };
  }
  return { cnt, survivors };
}

/**
 * Walk a region's dc_extents (cxlr_dax->dc_extents) for the region's own endpoint decoder (same
 * cxled), by xarray id (cxlr_dax_classify_extent, cxl_rm_extent: drivers/cxl/core/extent.c).
 * Entries are erased only in dc_extent_release, so an `extentX.Y` already unregistered but still
 * held (a DAX bus child walk or delete_store in v11; cxl_extent_get under the NOT-v11 knob
 * extent-refs=user) is still met: a re-offer of its range is
 * DUPLICATE or OVERLAP, and a release record matches it again. Only onlined extents are in that
 * xarray (xa_alloc in online_tag_group):
 * members of the group still being assembled (add_ctx.group) are not, so E8/E9 never compare an
 * extent with its own chain mates. An extent parented to another region's group (H11) is in that
 * region's xarray with a foreign cxled, so neither region's walk finds it.
 */
function regionExtents(ctx: HostCtx, region: Handle, memdev: number, w: RegionWalk): number {
  const X = ctx.host.extents;
  regionRefs ??= [X.field('region'), X.field('cxled'), X.field('memdev'), X.field('id'), X.field('dpaStart'), X.field('length')];
  w.fit(X.capacity);
  if (!ctx.host.regions.isLive(region)) return regionExtentsScan(ctx, region, memdev, w);
  // the list and each member's fields in one pass under the table lock (TableList.beginWalk): a
  // member is in the list from link to free, so each read is of a live record (#17); read by
  // offsets resolved once, only the four it filters on for a member it does not keep
  const o = extOffsets(X);
  const W = X.words;
  const F = X.f64;
  const L = ctx.host.regionExtentList;
  const cap = w.list.length;
  let n = 0;
  let seen = 0;
  let i = L.beginWalk(region);
  try {
    while (i !== 0 && seen < cap) {
      seen++;
      const b = X.base(i - 1);
      const id = W[b + o.id]!;
      // in the xarray from xa_alloc (online_tag_group) until xa_erase in dc_extent_release — the
      // LAST put, not the unregister: an extent unregistered but still held stays in every walk
      if (W[b + o.region] === region && W[b + o.cxled] === region && W[b + o.memdev] === memdev && id > 0) {
        w.e[n] = L.handleAt(i);
        w.id[n] = id;
        w.start[n] = F[(b + o.dpaStart) >> 1]!;
        w.len[n] = F[(b + o.length) >> 1]!;
        n++;
      }
      i = L.nextLocked(region, i);
    }
  } finally {
    L.endWalk();
  }
  for (let k = 0; k < n; k++) insertById(w, k, w.id[k]!);
  return n;
}

/** The extents table's word offsets the hand-written walks read (the schema is static: resolved once per thread). */
interface ExtOffsets { region: number; cxled: number; memdev: number; id: number; dpaStart: number; length: number; group: number; seq: number }
let extOff: ExtOffsets | null = null;
function extOffsets(X: HostCtx['host']['extents']): ExtOffsets {
  if (extOff) return extOff;
  const f = X.offset;
  extOff = { region: f.region, cxled: f.cxled, memdev: f.memdev, id: f.id, dpaStart: f.dpaStart, length: f.length, group: f.group, seq: f.seq };
  return extOff;
}

/** xarray order: ids ascending (an insertion sort, stable; the list is nearly in id order) */
function insertById(w: RegionWalk, n: number, id: number): void {
  let j = n;
  while (j > 0 && w.id[w.order[j - 1]!]! > id) {
    w.order[j] = w.order[j - 1]!;
    j--;
  }
  w.order[j] = n;
}

/** regionExtents for a region no longer live (a racing teardown): the whole table, each member peeked */
function regionExtentsScan(ctx: HostCtx, region: Handle, memdev: number, w: RegionWalk): number {
  const X = ctx.host.extents;
  const v = regionVals;
  const m = X.liveInto(w.list);
  let n = 0;
  for (let k = 0; k < m; k++) {
    const e = w.list[k]!;
    // one snapshot per member: it may be freed concurrently once the list is read
    if (!X.peekRefs(e as ExtentHandle, regionRefs!, v)) continue;
    if (v[0] !== region || v[1] !== region || v[2] !== memdev || v[3]! <= 0) continue;
    w.e[n] = e;
    w.id[n] = v[3]!;
    w.start[n] = v[4]!;
    w.len[n] = v[5]!;
    insertById(w, n, v[3]!);
    n++;
  }
  return n;
}
/** regionExtents' fields (the schema is static) and its snapshot */
let regionRefs: FieldRef[] | null = null;
const regionVals = [0, 0, 0, 0, 0, 0];

/**
 * One region walk as `regionExtents` read it: member `order[k]` is the k-th in id order; `e`,
 * `id`, `start`, `len` of each (start and length never change while it is live). Scratch kept per
 * call site, so the per-extent walks of the event thread allocate nothing (#17).
 */
class RegionWalk {
  list = new Int32Array(0);
  e = new Int32Array(0);
  id = new Int32Array(0);
  start = new Float64Array(0);
  len = new Float64Array(0);
  order = new Int32Array(0);
  /** membersRefsInto's field values, six per member */
  vals = new Float64Array(0);
  /** size the scratch for a table of `cap` records */
  fit(cap: number): void {
    if (this.list.length >= cap) return;
    this.list = new Int32Array(cap);
    this.vals = new Float64Array(cap * 6);
    this.e = new Int32Array(cap);
    this.id = new Int32Array(cap);
    this.start = new Float64Array(cap);
    this.len = new Float64Array(cap);
    this.order = new Int32Array(cap);
  }
}
/** cxl_add_extent's E8/E9 walk and cxl_rm_extent's X2 walk */
const addWalk = new RegionWalk();
const rmWalk = new RegionWalk();

/**
 * cxl_add_extent(): the per-extent gates E1–E11 and the build, holding cxl_rwsem.region for read
 * for its duration. Returns 1 (new extent added to add_ctx.group), 0 (duplicate: accept again)
 * or a negative errno (extent omitted).
 */
export function cxl_add_extent(ctx: HostCtx, memdev: number, n: PendingNode, seq: number, existing: boolean): number {
  const h = ctx.host;
  const m = h.memdev(memdev);
  return withRead(h.cxlRegionRwsem, () => {
    const dev = memdevName(memdev);
    // (E1) zero length / u64 wrap
    if (n.wraps || n.len <= 0) { ctx.dmesg('err', dev, `extent ${hex(n.start)}: invalid length (firmware bug)`); return ENXIO; }
    // (E2) fully inside the dynamic_ram_1 partition
    if (!inPartition(ctx, m, n.start, n.len)) { ctx.dmesg('err', dev, `extent ${hex(n.start)} len ${hex(n.len)} not in a DC partition`); return ENXIO; }
    const MF = h.memdevs.f; // per extent: refs resolved once (#17)
    const RF = h.regions.f;
    const shareable = h.memdevs.getRef(m, MF.shareable) === 1;
    // (E3) a sharable partition requires a tag; (E4) a non-sharable one requires seq 0
    if (shareable && n.uuid === NULL_UUID) { ctx.dmesg('err', dev, `extent ${hex(n.start)}: untagged extent on a sharable partition`); return ENXIO; }
    if (!shareable && n.seq !== 0) { ctx.dmesg('err', dev, `extent ${hex(n.start)}: shared_extn_seq ${n.seq} on a non-sharable partition`); return ENXIO; }
    // (E5) the DPA maps to a region with a cxl_dax_region
    const r = cxl_dpa_to_region(ctx, memdev, n.start);
    if (r === NO_HANDLE || !h.regions.getRef(r, RF.hasCxlrDax)) { ctx.dmesg('err', dev, `extent ${hex(n.start)}: no DC region`); return ENXIO; }
    // cxlr->cxlr_dax is never cleared (H16): a disabled region's pointer dangles
    if (!cxlr_dax_alive(ctx, r, memdev)) return ENXIO;
    // the instance cxl_validate_extent read (*out_cxlr_dax): a new group pins it
    const gen = cxlr_dax_gen(ctx, r);
    // (E6) runtime adds only after the region's existing-extent scan: refused, not deferred (H3)
    if (!existing && ctx.knobs['scan-gate'] === 'on' && !h.regions.loadRef(r, RF.extentsScanned)) {
      ctx.dmesg('dbg', dev, `extent ${hex(n.start)}: ${regionName(ctx, r)} not scanned yet; refusing (-EBUSY)`);
      return EBUSY;
    }
    // (E7) fully inside the endpoint decoder's DPA resource
    const edStart = h.regions.getRef(r, RF.edDpaStart);
    if (n.start + n.len > edStart + h.regions.getRef(r, RF.size)) { ctx.dmesg('err', dev, `extent ${hex(n.start)}: straddles the endpoint decoder end`); return ENXIO; }
    // (E8)/(E9) classify against tracked extents of the same ED
    const X = h.extents;
    const walked = regionExtents(ctx, r, memdev, addWalk);
    for (let k = 0; k < walked; k++) {
      const j = addWalk.order[k]!;
      if (!walkStep(ctx, memdev, addWalk.e[j]! as ExtentHandle)) continue;
      const s = addWalk.start[j]!;
      const l = addWalk.len[j]!;
      if (s <= n.start && n.start + n.len <= s + l) return 0; // duplicate: "accept again"
      if (n.start < s + l && s < n.start + n.len) { ctx.dmesg('err', dev, `extent ${hex(n.start)} overlaps accepted extent ${hex(s)}`); return ENXIO; }
    }
    // build the dc_extent
    const dc = X.alloc();
    if (dc === NO_HANDLE) return ENOMEM;
    const XF = X.f;
    X.setRef(dc, XF.cxled, r);
    X.setRef(dc, XF.memdev, memdev);
    X.setRef(dc, XF.dpaStart, n.start);
    X.setRef(dc, XF.length, n.len);
    X.setRef(dc, XF.hpaOffset, n.start - edStart); // ED and region HPA starts coincide (interleave 1)
    X.setRef(dc, XF.seq, seq);
    X.setUuidRef(dc, XF.uuid, n.uuid);
    // (E10) cxlr_add_extent: attach to add_ctx.group, allocating (and registering) it first
    let g = h.memdevs.getRef(m, MF.group) as GroupHandle;
    if (g !== NO_HANDLE && h.groups.getUuidRef(g, h.groups.f.uuid) !== n.uuid) { X.free(dc); return EINVAL; }
    if (g === NO_HANDLE) {
      const a = alloc_tag_group(ctx, memdev, r, n.uuid, gen);
      if (a < 0) { X.free(dc); return a; }
      g = a as GroupHandle;
      h.memdevs.setRef(m, MF.group, g);
    }
    // (E11) unique seq within the group (xa_insert -EBUSY, WARN_ONCE)
    if (groupHasSeq(ctx, g, seq)) { ctx.dmesg('warn', dev, `WARN: duplicate seq ${seq} in tag group`); X.free(dc); return EBUSY; }
    X.setRef(dc, XF.group, g);
    h.groupList.link(g, dc);
    // parented to the group's cxlr_dax: the FIRST extent's region, even when this one's DPA maps
    // to another region (cross-region chains, H11 / SK-14, SK-17)
    X.setRef(dc, XF.region, h.groups.getRef(g, h.groups.f.region));
    X.setRef(dc, XF.daxGen, h.groups.getRef(g, h.groups.f.daxGen)); // and to its instance (group->cxlr_dax)
    cxlr_dax_link_extent(ctx, X.getRef(dc, XF.region), dc);
    return 1;
  });
}

/**
 * One step of a dc_extents walk, at the entry `e`: without RCU (v11) a record freed under the
 * walker is a use-after-free (reported, and the handler unwinds); with RCU it is skipped (false).
 */
function walkStep(ctx: HostCtx, memdev: number, e: ExtentHandle): boolean {
  noisePoint(NOISE_SITE.dcWalk);
  if (ctx.host.extents.isLive(e)) return true;
  if (ctx.knobs.rcu === 'on') {
    // RCU: skip freed entries. Instrumented (no effect on the walk): the negative control counts
    // how often the walk met a freed entry, i.e. reached the window v11 turns into H5
    noisePoint(NOISE_SITE.rcuSkip);
    return false;
  }
  // the kernel would read freed memory here; the model reports it and unwinds the handler
  ctx.emit({ type: 'use-after-free', memdev, extent: e, site: UAF_SITE.dcExtentsWalk });
  throw new StaleHandleError('extents (dc_extents walk without RCU: use-after-free, H5)', e);
}

// ------------------------------------------------------------------------------ onlining and removing a tag group

/**
 * online_tag_group(): register each member's `extentX.Y` device (visible in sysfs from here on,
 * before any DAX resource exists) and its devm unregister action on cxlr_dax (§2.6).
 */
export function online_tag_group(ctx: HostCtx, g: GroupHandle, skipRelease: boolean): number {
  const h = ctx.host;
  // H14: a region destroy between this group's cxl_add_extent and here freed the cxl_region;
  // the group's pin keeps cxlr_dax, but dev_set_name reads cxlr_dax->cxlr->id (extent.c
  // online_tag_group): a use-after-free. The model reports it and onlines nothing (the kernel
  // would online extents nobody can release: the group and its tag leak either way).
  const regionGone = (): number => {
    const memdev = h.groups.get(g, 'memdev');
    ctx.emit({ type: 'use-after-free', memdev, extent: g, site: UAF_SITE.regionOnline });
    ctx.dmesg('err', memdevName(memdev), 'BUG: use-after-free: online_tag_group reads the cxl_region a destroy freed (H14)');
    return ENXIO;
  };
  const region = h.groups.getRef(g, h.groups.f.region);
  if (!h.regions.isLive(region)) return regionGone();
  const members = groupMembers(ctx, g);
  groupGet(ctx, g, members.length + 1); // + pin
  // the destroy can free the region in the middle of the loop, too (nothing here locks it out)
  try {
    onlineMembers(ctx, g, region, members, skipRelease);
  } catch (err) {
    if (!(err instanceof StaleHandleError) || h.regions.isLive(region)) throw err;
    return regionGone(); // the pin stays: the group and what was onlined leak, as in the kernel
  }
  void skipRelease; // device_add cannot fail in the model; the failure unwind is not reachable
  groupPut(ctx, g); // drop the pin
  return 0;
}

function onlineMembers(ctx: HostCtx, g: GroupHandle, region: Handle, members: ExtentHandle[], skipRelease: boolean): void {
  const h = ctx.host;
  const X = h.extents;
  const XF = X.f; // per onlined extent: refs resolved once (#17)
  for (const e of members) {
    const id = xa_alloc_id(ctx, region);
    X.setRef(e, XF.id, id);
    X.setRef(e, XF.refs, 1);
    // the event goes out BEFORE the extent is published to other threads (registered: sysfs,
    // devres: a teardown's devres_release_all): a teardown preempting this thread right after
    // the publication would otherwise emit its extent-untracked first, and the checkers would
    // keep a released extent tracked (seen in bench:find's group-lock row as an `extent-overlap`)
    ctx.emit({
      type: 'extent-tracked', memdev: X.getRef(e, XF.memdev), region, extent: e, id,
      dpa: X.getRef(e, XF.dpaStart), len: X.getRef(e, XF.length), uuid: X.getUuidRef(e, XF.uuid),
      seq: X.getRef(e, XF.seq), group: g, existing: skipRelease ? 0 : 1,
      shareable: h.memdevs.getRef(h.memdev(X.getRef(e, XF.memdev)), h.memdevs.f.shareable),
    });
    X.storeRef(e, XF.registered, 1);
    // devm_add_action_or_reset(&cxlr_dax->dev, dc_extent_unregister): on cxlr_dax's devres list
    // whether or not a driver is bound (an unbound one then refuses its next probe, -EBUSY)
    X.setRef(e, XF.devres, h.regions.addRef(region, h.regions.f.devresSeq, 1));
  }
}

/**
 * xa_alloc(&cxlr_dax->dc_extents, &id, …) with XA_FLAGS_ALLOC1 (online_tag_group): the LOWEST
 * free id ≥ 1, so `extentX.Y` names are reused after deletes as the kernel reuses them. An id is
 * in use from xa_alloc until xa_erase in dc_extent_release (the record's free here).
 */
function xa_alloc_id(ctx: HostCtx, region: Handle): number {
  const X = ctx.host.extents;
  // no allocation per call (#17: it runs once per onlined extent): the used ids are marked in a
  // scratch bitmap (grown to the largest id seen), cleared after the search; the region's list and
  // each member's region and id are read in one pass under the table lock (TableList.beginWalk)
  const o = extOffsets(X);
  const W = X.words;
  const L = ctx.host.regionExtentList;
  const cap = X.capacity;
  let n = 0;
  let seen = 0;
  let i = L.beginWalk(region);
  try {
    while (i !== 0 && seen < cap) {
      seen++;
      const b = X.base(i - 1);
      const id = W[b + o.id]!;
      if (W[b + o.region] === region && id > 0) {
        if (id >= xaUsed.length) {
          const grown = new Uint8Array(Math.max(2 * xaUsed.length, id + 1));
          grown.set(xaUsed);
          xaUsed = grown;
        }
        xaUsed[id] = 1;
        if (id > n) n = id;
      }
      i = L.nextLocked(region, i);
    }
  } finally {
    L.endWalk();
  }
  let id = 1;
  while (id <= n && xaUsed[id] === 1) id++;
  xaUsed.fill(0, 0, n + 1);
  return id;
}
/** xa_alloc_id's marks of the ids in use */
let xaUsed = new Uint8Array(256);

/**
 * rm_tag_group() (drivers/cxl/core/extent.c): devm_release_action(dc_extent_unregister) for every
 * member still in the group's xarray (their device release sends the Release DC). A member whose
 * action already ran (unregistered, still held) has no devres left: devm_release_action WARNs
 * and does nothing for it.
 */
export function rm_tag_group(ctx: HostCtx, g: GroupHandle): void {
  const h = ctx.host;
  groupGet(ctx, g, 1); // pin
  // knob release-batch=group (NOT v11, docs/performance.md): collect the members released here
  const batch: ExtentHandle[] | null = ctx.knobs['release-batch'] === 'group' ? (releaseBatch = []) : null;
  try {
    for (const e of groupMembers(ctx, g)) {
      if (!h.extents.peekRef(e, h.extents.f.registered)) {
        ctx.dmesg('warn', memdevName(h.extents.peek(e, 'memdev') ?? 0), `WARNING: devm_release_action: no devres for dc_extent_unregister (extent id ${h.extents.peek(e, 'id') ?? 0}, already unregistered)`);
        continue;
      }
      dc_extent_unregister(ctx, e);
    }
  } finally {
    releaseBatch = null;
  }
  if (batch?.length) {
    const X = h.extents;
    // one Release DC per memdev of the group (a v11 DC region has one), its members in walk order
    for (const memdev of new Set(batch.map((e) => X.get(e, 'memdev')))) {
      const list = batch.filter((e) => X.get(e, 'memdev') === memdev).map((e) => ({ dpa: X.get(e, 'dpaStart'), len: X.get(e, 'length') }));
      const rc = cxl_send_dc_response(ctx, memdev, CXL_MBOX_OP.RELEASE_DC, list, 0);
      if (rc) ctx.dmesg('dbg', memdevName(memdev), `Release response for ${list.length} extents failed: ${rc}`);
    }
    for (const e of batch) dc_extent_release_rest(ctx, e, false);
  }
  groupPut(ctx, g);
}

/** release-batch=group: the members whose Release DC rm_tag_group is batching (this thread) */
let releaseBatch: ExtentHandle[] | null = null;

/**
 * devm action dc_extent_unregister → device_unregister = device_del + put_device
 * (drivers/base/core.c). device_del takes the device off its parent's children (klist_del: the
 * claims' walks no longer see it) and ENDS with devres_release_all(dev) (core.c since "driver
 * core: Call devres_release_all() in device_del()"): the extent device's own devres —
 * dax_release_resource, which bus.c __dax_region_add_resource registered on the dc_extent
 * (devm_add_action(device, …)) — runs HERE, in the unregistering thread, under dax_region_rwsem(W),
 * whoever else still holds a reference. Only then does put_device drop the device's own reference.
 */
export function dc_extent_unregister(ctx: HostCtx, e: ExtentHandle): void {
  const X = ctx.host.extents;
  const XF = X.f; // per released extent: refs resolved once (#17)
  if (!X.getRef(e, XF.registered)) return;
  X.setRef(e, XF.devres, 0); // the action is consumed (devm_release_action, or devres_release_all)
  X.storeRef(e, XF.registered, 0); // device_del: klist_del(&dev->p->knode_parent)
  dax_release_resource(ctx, e); // device_del: devres_release_all(dev)
  if (X.addRef(e, XF.refs, -1) === 0) dc_extent_release(ctx, e);
}

/**
 * knob extent-refs=user, NOT v11: get_device() on `extent<region>.<id>` held across time by user
 * space, with no lock. v11 has no such holder: since kernfs (3.14) an open sysfs attribute does not
 * pin its device (kernfs_get_active only around each read/write, and device_del drains it, as
 * dax/kernfs.ts models for the DAX attributes). v11's holders are the DAX bus's child walks
 * (dax/bus.ts uuid_claim_tagged, uuid_claim_untagged, delete_store). Kept to show what such a hold
 * would do (H6, H23, H25 as first found; docs/fidelity-holders.md). The `index`-th registered
 * extent of the region in id order; -ENODEV when there is none.
 * The lookup reads the region's dc_extents under cxl_rwsem.region (read), as unregistration
 * runs under it; the reference itself is a kref (atomic).
 */
export function cxl_extent_get(ctx: HostCtx, region: Handle, index: number): ExtentHandle {
  const h = ctx.host;
  return withRead(h.cxlRegionRwsem, () => {
    const X = h.extents;
    const mine = [...(h.regions.isLive(region) ? h.regionExtentList.members(region) : [])]
      .filter((e) => X.peek(e, 'region') === region && X.peek(e, 'registered') === 1)
      .sort((a, b) => (X.peek(a, 'id') ?? 0) - (X.peek(b, 'id') ?? 0));
    const e = mine[index];
    if (e === undefined) throw new CxlError('ENODEV', `region has no extent #${index}`);
    // without the knob only the failing lookup above is modelled (a v11 open of a missing path)
    if (ctx.knobs['extent-refs'] !== 'user') throw new CxlError('EOPNOTSUPP', 'hold-extent: a user hold of an extent device across time is not a v11 mechanism (knob extent-refs=user)');
    X.add(e, 'refs', 1);
    return e;
  });
}

/**
 * put_device() (drivers/base/core.c): drop a reference taken by cxl_extent_get or by a DAX-bus
 * child walk (dax/bus.ts). The last one runs device_release → dc_extent_release in the putter's
 * thread, under whatever locks it holds — Release DC (mbox_mutex), xa_erase, then the group's
 * non-atomic nr_extents decrement, which concurrent last puts of one group's members race on
 * (H6). The dax_resource is gone already: device_del released it (dc_extent_unregister).
 */
export function cxl_extent_put(ctx: HostCtx, e: ExtentHandle): void {
  const X = ctx.host.extents;
  if (X.addRef(e, X.f.refs, -1) === 0) dc_extent_release(ctx, e);
}

/** dc_extent_release(): the device release callback — Release DC (full range) unless skipped. */
export function dc_extent_release(ctx: HostCtx, e: ExtentHandle): void {
  const h = ctx.host;
  const X = h.extents;
  const XF = X.f; // per released extent: refs resolved once (#17)
  const g = X.getRef(e, XF.group) as GroupHandle;
  const memdev = X.getRef(e, XF.memdev);
  const dpa = X.getRef(e, XF.dpaStart);
  const len = X.getRef(e, XF.length);
  const skip = h.groups.isLive(g) && h.groups.getRef(g, h.groups.f.skipDeviceRelease) === 1;
  // device_release (drivers/base/core.c) runs devres_release_all once more before the type's
  // release: normally empty, device_del ran dax_release_resource already (dc_extent_unregister);
  // it finds the action only if a dax resource was added after the device_del
  dax_release_resource(ctx, e);
  if (!skip && releaseBatch) { releaseBatch.push(e); return; } // knob release-batch=group: rm_tag_group sends, then finishes
  if (!skip) memdev_release_extent(ctx, memdev, { dpa, len });
  dc_extent_release_rest(ctx, e, skip);
}

/** The rest of dc_extent_release after the Release DC (split out for the release-batch knob). */
function dc_extent_release_rest(ctx: HostCtx, e: ExtentHandle, skip: boolean): void {
  const h = ctx.host;
  const X = h.extents;
  const XF = X.f;
  const g = X.getRef(e, XF.group) as GroupHandle;
  const memdev = X.getRef(e, XF.memdev);
  const dpa = X.getRef(e, XF.dpaStart);
  const len = X.getRef(e, XF.length);
  ctx.emit({ type: 'extent-untracked', memdev, region: X.getRef(e, XF.region), extent: e, dpa, len, sentRelease: skip ? 0 : 1 });
  X.free(e);
  if (h.groups.isLive(g)) groupPut(ctx, g);
}

// ------------------------------------------------------------------------------ notify

/** cxlr_notify_extent(): take device_lock(cxlr_dax) and notify the DAX driver. */
export function cxlr_notify_extent(ctx: HostCtx, region: Handle, event: DcEvent, g: GroupHandle): number {
  return withLock(ctx.host.regionLockFor(region), () => __cxlr_notify_extent(ctx, region, event, g));
}

/**
 * __cxlr_notify_extent(): caller holds device_lock(cxlr_dax). No driver bound → 0 ("no user
 * space coordination was possible"). The assertion is the kernel's lockdep_assert_held: a WARN,
 * reported and counted, not fatal (H12 reaches it with another region's lock).
 */
export function __cxlr_notify_extent(ctx: HostCtx, region: Handle, event: DcEvent, g: GroupHandle): number {
  lockdepAssertHeld(ctx.host.regionLockFor(region), '__cxlr_notify_extent');
  const R = ctx.host.regions;
  if (!R.loadRef(region, R.f.driverBound)) return 0;
  return cxl_dax_region_notify(ctx, region, event, g);
}

// ------------------------------------------------------------------------------ release

/** cxl_rm_extent(): handle one Release Capacity record (§2.9, X1–X5). */
export function cxl_rm_extent(ctx: HostCtx, memdev: number, ext: CxlExtentRaw): number {
  const h = ctx.host;
  const dev = memdevName(memdev);
  const start = u64ToNumber(ext.startDpa) ?? -1;
  const len = u64ToNumber(ext.length) ?? 0;
  const outcome = (reason: number): void => ctx.emit({ type: 'release-outcome', memdev, dpa: start, len, reason });
  return withRead(h.cxlRegionRwsem, () => {
    const r = start >= 0 ? cxl_dpa_to_region(ctx, memdev, start) : NO_HANDLE;
    // (X1) No region can happen here for a few reasons: 1) the host never mapped this capacity;
    // 2) region destruction won the race with the device releasing all the extents; 3) the device
    // is confused. In every case release it back to the device — the record's range as read, a
    // zero length or a start past 2^53 included (memdev_release_extent_u64; fidelity-audit item 10)
    if (r === NO_HANDLE || !h.regions.getRef(r, h.regions.f.hasCxlrDax)) {
      memdev_release_extent_u64(ctx, memdev, ext.startDpa, ext.length);
      outcome(RELEASE_REASON.noRegion);
      return ENXIO;
    }
    // cxlr->cxlr_dax is never cleared (H16): the walk below would read a freed xarray
    if (!cxlr_dax_alive(ctx, r, memdev)) { outcome(RELEASE_REASON.noMatch); return EINVAL; }
    // (X2) the first dc_extent of this ED that contains the range and whose tag matches
    let group: GroupHandle = NO_HANDLE;
    const walked = regionExtents(ctx, r, memdev, rmWalk);
    for (let k = 0; k < walked; k++) {
      const j = rmWalk.order[k]!;
      const e = rmWalk.e[j]! as ExtentHandle;
      if (!walkStep(ctx, memdev, e)) continue;
      const s = rmWalk.start[j]!;
      const l = rmWalk.len[j]!;
      // no "still registered" test in v11: an unregistered, still-held member matches again, and
      // its group is notified and rm_tag_group'ed a second time
      if (s <= start && start + len <= s + l && h.extents.getUuidRef(e, h.extents.f.uuid) === ext.uuid) {
        group = h.extents.getRef(e, h.extents.f.group) as GroupHandle;
        break;
      }
    }
    if (group === NO_HANDLE || !h.groups.isLive(group)) {
      ctx.dmesg(ctx.knobs['unmatched-release-ack'] === 'on' ? 'dbg' : 'err', dev, `release ${hex(start)} len ${hex(len)} matches no dc_extent`);
      outcome(RELEASE_REASON.noMatch);
      if (ctx.knobs['unmatched-release-ack'] === 'on') {
        memdev_release_extent(ctx, memdev, { dpa: start, len });
        return 0;
      }
      return EINVAL;
    }
    // (X3) cxl_region_invalidate_memregion(): always succeeds in the model
    // (X4) the DAX layer must agree: a member in use refuses the whole release, nothing is sent
    const rc = cxlr_notify_extent(ctx, r, 'release', group);
    if (rc) {
      ctx.dmesg('info', dev, `release ${hex(start)}: in use, release ignored (${rc}); the device will retry`);
      outcome(RELEASE_REASON.inUse);
      return 0;
    }
    // (X5) whole group, always
    rm_tag_group(ctx, group);
    outcome(RELEASE_REASON.acked);
    return 0;
  });
}
