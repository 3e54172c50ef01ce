/**
 * DOC: dax bus — DC dax regions, their resources, and dev_dax devices with the tag-aware uuid
 * claim (drivers/dax/bus.c after the v11 resource patches and patches 23–26; docs/kernel-map.md).
 *
 * Resources: one `dax_resource` per host-tracked extent, added and removed per tag group
 * all-or-none under ONE hold of the global dax_region_rwsem (v11). With `group-lock=per-extent`
 * (the v10 locking) the rwsem is taken per extent, so a claimer can observe a partial group —
 * the knob exists to show that the v11 invariant is what prevents it.
 *
 * Devices (every sysfs store runs in the calling user worker; errors are CxlError values with
 * the kernel's errno names):
 *  - ids come from the dax_region's ida (lowest free id first), so names match the kernel's
 *    after deletes; `delete_store` gives the id back before the device is unregistered;
 *  - `create_store` makes a 0-size device and records it as the region's `seed` only when no
 *    seed is set; adding a device autoprobes it, which fails (-ENXIO) at size 0;
 *  - binding a driver (enable) clears `seed` when it was the seed (dax_bus_probe);
 *  - the region probe's own 0-size device (dax0.0) is never the seed (only create_store sets it).
 * The daxctl side (`daxctl_create_device`, `daxctl_destroy_device`) is the user-space sequence
 * of ndctl's daxctl/device.c on top of these stores.
 *
 * Lock order (all from drivers/dax/bus.c):
 *   create_store:  dax_region_rwsem(W) → device_lock(dev_dax) → dax_dev_rwsem(R)  (autoprobe)
 *   uuid_store / size_store: dax_region_rwsem(W) → dax_dev_rwsem(W)
 *   delete_store:  device_lock(cxlr_dax) → device_lock(dev_dax) → dax_dev_rwsem(W); then
 *                  device_lock(cxlr_dax) → dax_region_rwsem(W) → device_lock(dev_dax) (unregister)
 *   bind (enable): device_lock(dev_dax) → dax_dev_rwsem(R)
 */
import { assertHeldWrite, isHeld, noisePoint, withLock, withRead, withWrite } from '../shm/lock.js';
import { NO_HANDLE, type FieldRef, type Handle } from '../shm/table.js';
import { CxlError, EBUSY, EEXIST, EINVAL, ENODEV, ENOENT, ENOMEM, ENOSPC, ENXIO, EOPNOTSUPP, StaleHandleError, errnoOf } from '../errors.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { ExtentHandle, DaxResHandle } from '../host/state.js';
import type { HostCtx } from '../host/context.js';
import { UAF_SITE } from '../protocol.js';
import { NULL_UUID } from '../wire/cxl.js';
import { kstrtoull } from '../kstrtox.js';
import { KN_ACTIVE, kernfs_dev_activate, kernfs_dev_remove, sysfs_dev_op, sysfs_region_op } from './kernfs.js';
import { cxl_extent_put } from '../cxl/extent.js';
import { cxlr_dax_gen } from '../cxl/region.js';
import { devm_register_dax_mapping, devm_release_dax_mapping } from './mapping.js';

export interface DaxResourceSpec {
  extent: ExtentHandle;
  start: number;
  length: number;
  seq: number;
}

function overlapsResource(ctx: HostCtx, region: Handle, start: number, length: number): boolean {
  const D = ctx.host.daxRes;
  // resolved once, the table's live records and their fields read into reused scratch: this runs
  // once per surfaced extent, over every resource of every region (#17: no allocation per call).
  // The pass runs under the table's own lock (RecordTable.liveRefsIntoLocked; __request_region
  // checks under resource_lock): the table is shared by every region, and another region's
  // resources are allocated and freed under that region's lock, not ours, but never mid-pass.
  // Only the current dax_region's tree: an earlier instance's leftover is not a child of it
  const inst = ctx.host.regions.load(region, 'daxRegionGen');
  resRefs ??= [D.field('region'), D.field('start'), D.field('length'), D.field('inst')];
  if (resList.length < D.capacity) { resList = new Int32Array(D.capacity); resVals = new Float64Array(RES_STRIDE * D.capacity); }
  const n = D.liveRefsIntoLocked(resRefs, resList, resVals);
  const V = resVals;
  for (let k = 0; k < n; k++) {
    const b = RES_STRIDE * k;
    if (V[b]! !== region || V[b + 3]! !== inst) continue;
    const s = V[b + 1]!;
    if (start < s + V[b + 2]! && s < start + length) return true;
  }
  return false;
}
/** fields read per resource by the scans: region, start, length, inst */
const RES_STRIDE = 4;
let resRefs: FieldRef[] | null = null;
let resList = new Int32Array(0);
let resVals = new Float64Array(0);

/**
 * __dax_region_add_resource(): __request_region(&dax_region->res, start, length) + uuid/seq +
 * drvdata. __request_region fails — and the add returns -ENOSPC — for a range that overlaps a
 * child already there OR does not lie inside the dax_region resource (the region's HPA range:
 * offsets [0, size)). The second case is reachable with H11 cross-region groups, whose stray
 * member's offset is relative to ANOTHER region's decoder (cxl_dax_group_add adds
 * dax_region->res.start + dc_extent->hpa_range.start).
 */
function addOne(ctx: HostCtx, region: Handle, spec: DaxResourceSpec, uuid: string, known: RegionResources | null = null): DaxResHandle | number {
  const h = ctx.host;
  const size = h.regions.get(region, 'size');
  if (spec.start < 0 || spec.length <= 0 || spec.start + spec.length > size) {
    ctx.dmesg('err', `region${h.regions.get(region, 'id')}`, `Failed to add region s:0x${spec.start.toString(16)} l:0x${spec.length.toString(16)} (outside the dax_region [0, 0x${size.toString(16)}))`);
    return ENOSPC;
  }
  if (known ? known.overlaps(spec.start, spec.length) : overlapsResource(ctx, region, spec.start, spec.length)) {
    ctx.dmesg('err', `region${h.regions.get(region, 'id')}`, `Failed to add region s:0x${spec.start.toString(16)} l:0x${spec.length.toString(16)} (overlaps a resource)`);
    return ENOSPC;
  }
  const r = h.daxRes.alloc();
  if (r === NO_HANDLE) return ENOMEM;
  h.daxRes.set(r, 'region', region);
  h.daxRes.set(r, 'extent', spec.extent);
  h.daxRes.set(r, 'start', spec.start);
  h.daxRes.set(r, 'length', spec.length);
  h.daxRes.setUuid(r, 'uuid', uuid);
  h.daxRes.set(r, 'seq', spec.seq);
  // requested in the current dax_region's resource tree (cxl_dax_region_notify passes the bound
  // driver's drvdata, the dax_region alloc_dax_region made at this probe)
  h.daxRes.set(r, 'inst', h.regions.load(region, 'daxRegionGen'));
  h.extents.set(spec.extent, 'daxRes', r);
  h.extents.set(spec.extent, 'daxDevres', 1); // devm_add_action(device, dax_release_resource, …)
  known?.push(spec.start, spec.length);
  return r;
}

/**
 * The region's resources (start, length) as overlapsResource would read them, collected by ONE
 * scan for a whole group added under one write hold of dax_region_rwsem, then extended with each
 * resource the group adds. In drivers/dax/bus.c every child of dax_region->res is requested and
 * released with dax_region_rwsem held for write ("All changes to the dax region configuration
 * occur with this lock held for write": dax_region_add_resource's guard, __dax_release_resource's
 * lockdep_assert_held_write); so are the model's (addOne / removeOne, whose callers hold it), and a
 * resource's region, start and length are set only in addOne: while the
 * group's hold lasts, the scan that overlapsResource would repeat per member returns exactly this
 * list (the noise point between members lets another thread run, but not take the rwsem). One
 * O(R) pass per group instead of one per extent (#17).
 */
class RegionResources {
  private start = new Float64Array(64);
  private len = new Float64Array(64);
  private n = 0;

  collect(ctx: HostCtx, region: Handle): this {
    const D = ctx.host.daxRes;
    const inst = ctx.host.regions.load(region, 'daxRegionGen'); // this dax_region's tree (overlapsResource)
    resRefs ??= [D.field('region'), D.field('start'), D.field('length'), D.field('inst')];
    if (resList.length < D.capacity) { resList = new Int32Array(D.capacity); resVals = new Float64Array(RES_STRIDE * D.capacity); }
    const m = D.liveRefsIntoLocked(resRefs, resList, resVals);
    this.n = 0;
    for (let k = 0; k < m; k++) {
      const b = RES_STRIDE * k;
      if (resVals[b] === region && resVals[b + 3] === inst) this.push(resVals[b + 1]!, resVals[b + 2]!);
    }
    return this;
  }

  push(start: number, length: number): void {
    if (this.n === this.start.length) {
      const s = new Float64Array(2 * this.n); s.set(this.start); this.start = s;
      const l = new Float64Array(2 * this.n); l.set(this.len); this.len = l;
    }
    this.start[this.n] = start;
    this.len[this.n] = length;
    this.n++;
  }

  /** overlapsResource's test against the list */
  overlaps(start: number, length: number): boolean {
    for (let k = 0; k < this.n; k++) {
      const s = this.start[k]!;
      if (start < s + this.len[k]! && s < start + length) return true;
    }
    return false;
  }
}
const groupResources = new RegionResources();

function removeOne(ctx: HostCtx, r: DaxResHandle): void {
  const h = ctx.host;
  const e = h.daxRes.get(r, 'extent');
  if (h.extents.isLive(e) && h.extents.get(e, 'daxRes') === r) h.extents.set(e, 'daxRes', NO_HANDLE);
  h.daxRes.free(r);
}

/**
 * dax_region_add_resources(): surface a whole group. v11: all-or-none under one write hold of
 * dax_region_rwsem; on any failure the ones added in this call are rolled back.
 */
export function dax_region_add_resources(ctx: HostCtx, region: Handle, specs: DaxResourceSpec[], uuid: string): number {
  const h = ctx.host;
  if (ctx.knobs['group-lock'] === 'per-extent') {
    // v10 locking: one hold per extent — a concurrent claim can run between two members
    const added: DaxResHandle[] = [];
    for (const s of specs) {
      const r = withWrite(h.daxRegionRwsem, () => addOne(ctx, region, s, uuid));
      if (r <= 0) {
        withWrite(h.daxRegionRwsem, () => { for (const a of added) if (h.daxRes.isLive(a) && h.daxRes.get(a, 'useCnt') === 0) removeOne(ctx, a); });
        return r as number;
      }
      added.push(r as DaxResHandle); // r > 0: a handle
      noisePoint(NOISE_SITE.daxPerExtent);
    }
    return 0;
  }
  return withWrite(h.daxRegionRwsem, () => {
    const added: DaxResHandle[] = [];
    const known = specs.length ? groupResources.collect(ctx, region) : null;
    for (const s of specs) {
      const r = addOne(ctx, region, s, uuid, known);
      if (r <= 0) {
        for (const a of added) removeOne(ctx, a);
        return r as number;
      }
      added.push(r as DaxResHandle); // r > 0: a handle
      // instrumented (inside the one hold): a claim arriving here must wait for the whole group;
      // the negative control for group-lock counts it (stress/turnstile.ts windows)
      if (added.length < specs.length) noisePoint(NOISE_SITE.daxPerExtent);
    }
    return 0;
  });
}

/**
 * dax_region_rm_resources(): remove a whole group. Pass 1: any member in use → -EBUSY and
 * nothing changes; pass 2: release every member (v11, one write hold). Per-extent locking checks
 * and removes member by member, so a refusal can leave the group partly removed.
 */
export function dax_region_rm_resources(ctx: HostCtx, extents: ExtentHandle[]): number {
  const h = ctx.host;
  const resOf = (e: ExtentHandle): DaxResHandle => (h.extents.isLive(e) ? h.extents.get(e, 'daxRes') : NO_HANDLE);
  if (ctx.knobs['group-lock'] === 'per-extent') {
    for (const e of extents) {
      const rc = withWrite(h.daxRegionRwsem, () => {
        const r = resOf(e);
        if (r === NO_HANDLE) return 0;
        if (h.daxRes.get(r, 'useCnt') !== 0) return EBUSY;
        removeOne(ctx, r);
        return 0;
      });
      if (rc) return rc;
      noisePoint(NOISE_SITE.daxPerExtent);
    }
    return 0;
  }
  return withWrite(h.daxRegionRwsem, () => {
    for (const e of extents) {
      const r = resOf(e);
      if (r !== NO_HANDLE && h.daxRes.get(r, 'useCnt') !== 0) return EBUSY;
    }
    for (const e of extents) {
      const r = resOf(e);
      if (r !== NO_HANDLE) removeOne(ctx, r);
    }
    return 0;
  });
}

/**
 * dax_release_resource(): devres action of a dc_extent device, run by its device_del — free the
 * dax_resource whatever its use_cnt (bus.c dax_release_resource: __dax_release_resource, kfree).
 * A dev_dax range carved from it keeps pointing at the freed dax_resource (H15).
 */
export function dax_release_resource_locked(ctx: HostCtx, e: ExtentHandle): void {
  const h = ctx.host;
  assertHeldWrite(h.daxRegionRwsem);
  const r = h.extents.get(e, 'daxRes');
  if (r === NO_HANDLE || !h.daxRes.isLive(r)) return;
  if (ctx.dynDbg) ctx.dmesg('dbg', 'dax_region', `Extent release resource 0x${h.daxRes.get(r, 'start').toString(16)}+0x${h.daxRes.get(r, 'length').toString(16)}`);
  removeOne(ctx, r);
}

// ------------------------------------------------------------------------------ dax region

/**
 * available_size: dax_region_avail_size() (drivers/dax/bus.c) of a dynamic region — the bytes of
 * the children of dax_region->res with no child of their own (unclaimed). One dax_region: every
 * cxl_dax_region probe's alloc_dax_region makes a new one with its own resource tree, so a
 * resource an earlier instance left behind is not counted (regions.daxRegionGen, daxRes.inst;
 * such a leftover needs a DAX add inside a teardown's window, which only H12's cross-region notify
 * makes: docs/fidelity-fidel2.md). available_size_show reads under
 * dax_region_rwsem (read); callers that already hold it (state views) walk directly.
 */
export function available_size(ctx: HostCtx, region: Handle): number {
  const D = ctx.host.daxRes;
  const sum = (): number => {
    const inst = ctx.host.regions.load(region, 'daxRegionGen');
    let n = 0;
    for (const r of D.live()) if (D.get(r, 'region') === region && D.get(r, 'inst') === inst && D.get(r, 'useCnt') === 0) n += D.get(r, 'length');
    return n;
  };
  return isHeld(ctx.host.daxRegionRwsem) ? sum() : withRead(ctx.host.daxRegionRwsem, sum);
}

/**
 * The region's dax devices in id order — the bus's device list, which the driver core walks safely
 * while other writers delete devices (klist): a device deleted during the walk is skipped, not a
 * use-after-free. (Two users destroying two devices at once must not fault each other's lookup.)
 */
export function daxDevsOf(ctx: HostCtx, region: Handle): Handle[] {
  const D = ctx.host.daxDevs;
  const out: { d: Handle; id: number }[] = [];
  for (const d of D.live()) {
    try {
      if (D.get(d, 'region') === region) out.push({ d, id: D.get(d, 'id') });
    } catch (e) {
      if (!(e instanceof StaleHandleError)) throw e; // deleted under the walk
    }
  }
  out.sort((a, b) => a.id - b.id);
  return out.map((x) => x.d);
}

export function rangesOf(ctx: HostCtx, dev: Handle): Handle[] {
  const G = ctx.host.daxRanges;
  const out: Handle[] = [];
  for (const g of G.live()) if (G.get(g, 'dev') === dev) out.push(g);
  out.sort((a, b) => G.get(a, 'order') - G.get(b, 'order'));
  return out;
}

/**
 * trim_dev_dax_range(): release the range from its dax_resource and drop its use_cnt. When a
 * teardown's dax_release_resource freed that dax_resource first (H15), the kernel reads and
 * writes freed memory here: the model reports the stale handle as a use-after-free and skips it.
 */
function dropRange(ctx: HostCtx, g: Handle): void {
  const h = ctx.host;
  const dev = h.daxRanges.get(g, 'dev');
  const r = h.daxRanges.get(g, 'res');
  if (h.daxRes.isLive(r)) h.daxRes.set(r, 'useCnt', h.daxRes.get(r, 'useCnt') - 1);
  else if (r !== NO_HANDLE) {
    const region = h.daxDevs.isLive(dev) ? h.daxDevs.get(dev, 'region') : NO_HANDLE;
    const memdev = h.regions.isLive(region) ? h.regions.get(region, 'memdev') : -1;
    ctx.emit({ type: 'use-after-free', memdev, extent: r, site: UAF_SITE.daxResourceTrim });
    ctx.dmesg('err', 'dax_region', 'BUG: use-after-free: trim_dev_dax_range reads a dax_resource that dax_release_resource freed');
  }
  if (h.daxDevs.isLive(dev)) {
    h.daxDevs.set(dev, 'size', h.daxDevs.get(dev, 'size') - h.daxRanges.get(g, 'length'));
    h.daxDevs.set(dev, 'nrRanges', h.daxDevs.get(dev, 'nrRanges') - 1);
  }
  h.daxRanges.free(g);
}

/**
 * __dev_dax_resize(parent = resource) → alloc_dev_dax_range (drivers/dax/bus.c): carve a whole
 * resource into the device as its next range — pgoff the pages of the ranges before it — then,
 * the dev_dax being registered, devm_register_dax_mapping adds its `mappingN` child
 * (src/dax/mapping.ts); a failure there trims the range again (trim_dev_dax_range) and fails.
 */
function carve(ctx: HostCtx, dev: Handle, r: DaxResHandle): void {
  const h = ctx.host;
  const g = h.daxRanges.alloc();
  if (g === NO_HANDLE) throw new CxlError('ENOMEM', 'dax range table full');
  const n = h.daxDevs.get(dev, 'nrRanges');
  let pgoff = 0;
  for (const o of rangesOf(ctx, dev)) pgoff += h.daxRanges.get(o, 'length') / PAGE_SIZE; // PHYS_PFN(range_len)
  h.daxRanges.set(g, 'dev', dev);
  h.daxRanges.set(g, 'order', n);
  h.daxRanges.set(g, 'res', r);
  h.daxRanges.set(g, 'start', h.daxRes.get(r, 'start'));
  h.daxRanges.set(g, 'length', h.daxRes.get(r, 'length'));
  h.daxRanges.set(g, 'pgoff', pgoff);
  h.daxRanges.set(g, 'mapping', NO_HANDLE);
  h.daxRes.set(r, 'useCnt', h.daxRes.get(r, 'useCnt') + 1);
  h.daxDevs.set(dev, 'nrRanges', n + 1);
  h.daxDevs.set(dev, 'size', h.daxDevs.get(dev, 'size') + h.daxRes.get(r, 'length'));
  // the dev_dax is registered (device_is_registered): its claims and resizes run through its own
  // sysfs attributes. The region check inside cannot fail here — every caller checked
  // dax_region->dev->driver under the same write hold of dax_region_rwsem
  const rc = devm_register_dax_mapping(ctx, dev, g);
  if (rc < 0) {
    dropRange(ctx, g);
    throw errnoError(-rc, 'devm_register_dax_mapping');
  }
}
const PAGE_SIZE = 4096;

/**
 * A claim's rollback: trim the device's ranges, the last first (trim_dev_dax_range pops the last
 * one). The stored bus.c's uuid_claim_tagged rollback calls trim_dev_dax_range alone: the ranges'
 * mapping devices stay registered, their unregister_dax_mapping actions with them (H28).
 */
function trimAll(ctx: HostCtx, dev: Handle): void {
  for (const g of rangesOf(ctx, dev).reverse()) dropRange(ctx, g);
}

/**
 * dev_dax_shrink(dev_dax, 0) (drivers/dax/bus.c; size_store holds dax_region_rwsem(W) and
 * dax_dev_rwsem(W)): from the last range down, devm_release_action(dax_region->dev,
 * unregister_dax_mapping, &ranges[i].mapping->dev) — device_del(mapping) drains its attributes'
 * active references under both rwsems (H27) — then trim_dev_dax_range. A mapping whose action a
 * devres_release_all already took is not found: a WARN, and it stays registered over a trimmed
 * range (H28).
 */
function dev_dax_shrink(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  const region = h.daxDevs.get(dev, 'region');
  for (const g of rangesOf(ctx, dev).reverse()) {
    devm_release_dax_mapping(ctx, region, h.daxRanges.get(g, 'mapping'));
    dropRange(ctx, g);
  }
}

function regionIsDynamic(ctx: HostCtx, region: Handle): boolean {
  return ctx.host.regions.load(region, 'daxRegion') === 1;
}

/**
 * uuid_claim_untagged() (drivers/dax/bus.c, v11 patch 26): device_find_child(dax_region->dev, …,
 * find_uuid_extent) returns the first child extent — in the parent's klist order, i.e. the OLDEST
 * registered (extentChildren), not the lowest id — with a free untagged dax_resource, WITH a
 * reference (get_device), held across the alignment check and __dev_dax_resize, then put_device —
 * which can be the extent's last put (childPut). Exactly one resource; a misaligned one fails
 * (-EINVAL), no other is tried.
 */
function uuid_claim_untagged(ctx: HostCtx, region: Handle, dev: Handle, took: { extent: number }): number {
  const h = ctx.host;
  const align = h.regions.get(region, 'daxAlign');
  let found: ExtentHandle | null = null;
  let res: DaxResHandle = NO_HANDLE;
  // device_find_child: the klist walk holds each child while it tests it; the match keeps its ref
  device_for_each_child(ctx, region, (e) => {
    const r = childResource(ctx, region, e);
    if (r === NO_HANDLE || h.daxRes.get(r, 'useCnt') !== 0 || h.daxRes.getUuid(r, 'uuid') !== NULL_UUID) return 0;
    // get_device(child) on the match, before the iterator drops its own: a kref_get on a device
    // the iterator holds, so it cannot fail — even when a teardown's device_del has klist_del'd
    // the child since the iterator took it (childGet's "no longer on the list" is the iterator's
    // skip, not this). The model once used childGet here: a child unlinked in that window gave no
    // reference, and the claim's put below then dropped the teardown's — the extent released in
    // the claim's thread while its device_del still waited for dax_region_rwsem (a forbidden
    // `conservation` in bench:find's rcu=on control, twelfth session: docs/findings-open.md)
    get_device_held(ctx, e);
    found = e;
    res = r;
    return 1;
  });
  if (found === null) return ENOENT;
  const e: ExtentHandle = found;
  let rc = 1;
  if (h.daxRes.get(res, 'length') % align !== 0) rc = EINVAL; // does not try another
  else { carve(ctx, dev, res); took.extent = e; }
  childPut(ctx, e); // put_device(extent_dev)
  return rc;
}

/**
 * The extent children of a region's dax_region->dev (cxlr_dax->dev; online_tag_group parents each
 * dc_extent there) in the parent's klist order, registered ones only: a dc_extent is a child of
 * cxlr_dax only until device_unregister → device_del takes it off the parent's klist.
 * The klist is in REGISTRATION order (device_add → klist_add_tail(&dev->p->knode_parent, …),
 * drivers/base/core.c), not id order: online_tag_group's xa_alloc hands out the lowest free id
 * (XA_FLAGS_ALLOC1), so an extent onlined after a release can take a lower id than an older one.
 * The model's registration order is the extent's devres ordinal (online_tag_group registers its
 * dc_extent_unregister action right after device_add; the region's devresSeq only grows within
 * one cxl_dax_region instance); an extent caught between its device_add and that action (devres
 * still 0) is the newest.
 * A teardown's dc_extent_unregister therefore hides the extent from claims at once, although its
 * dax_resource lives on until the end of that device_del (devres_release_all →
 * dax_release_resource, which waits for the dax_region_rwsem a claim holds).
 */
function extentChildren(ctx: HostCtx, region: Handle): ExtentHandle[] {
  const X = ctx.host.extents;
  // children of THIS cxlr_dax: a re-probe's new instance (cxl_dax_region_alloc) is a new parent
  // device, and the old instance's extents still registered (H14's orphans) are not its children
  const gen = cxlr_dax_gen(ctx, region);
  const out: { e: ExtentHandle; ord: number; id: number }[] = [];
  for (const e of X.live()) {
    if (X.peek(e, 'region') !== region || X.peek(e, 'registered') !== 1 || X.peek(e, 'daxGen') !== gen) continue;
    const id = X.peek(e, 'id');
    const ord = X.peek(e, 'devres');
    if (id !== undefined && ord !== undefined) out.push({ e, ord: ord > 0 ? ord : Number.MAX_SAFE_INTEGER, id });
  }
  out.sort((a, b) => a.ord - b.ord || a.id - b.id);
  return out.map((x) => x.e);
}

/**
 * A reference on an extent device taken by a DAX-bus child walk. device_for_each_child /
 * device_find_child iterate the parent's klist (drivers/base/core.c): klist_next holds the current
 * child's node — and through it the klist's get_device reference (klist_children_get) — until it
 * moves on, skipping a node device_del's klist_del has killed. A child unregistered meanwhile
 * (device_unregister: device_del, then put_device) keeps that reference until the walk lets go,
 * so the walk's put can be the LAST one: device_release → dc_extent_release then runs in the
 * walking thread, under every lock it holds. False when the child is no longer on the list.
 */
function childGet(ctx: HostCtx, e: ExtentHandle): boolean {
  const X = ctx.host.extents;
  try {
    for (;;) {
      if (X.load(e, 'registered') !== 1) return false; // knode_dead: skipped
      const refs = X.load(e, 'refs');
      if (refs <= 0) return false;
      if (X.cas(e, 'refs', refs, refs + 1) === refs) return true;
    }
  } catch (err) {
    if (err instanceof StaleHandleError) return false; // released under the walk
    throw err;
  }
}

/** get_device() on a child the caller already holds (a walk's current child): a plain kref_get. */
function get_device_held(ctx: HostCtx, e: ExtentHandle): void {
  ctx.host.extents.add(e, 'refs', 1);
}

/** put_device() on a walk's reference: the last one releases the extent in this thread. */
function childPut(ctx: HostCtx, e: ExtentHandle): void {
  cxl_extent_put(ctx, e);
}

/**
 * device_for_each_child(dax_region->dev, data, fn) over the extent children (the dev_dax children
 * are no extents: count/collect/find_uuid_extent skip them). fn runs with the child held; a non-zero
 * return stops the walk (klist_iter_exit drops the current child). The scheduler point while a
 * child is held sits only where the hold can decide anything: on a child with no
 * dax_release_resource devres (its dax add has not run or failed — the H14 window between
 * online_tag_group and the notify), whose device_del can complete while the walker holds
 * dax_region_rwsem. Any other child's device_del ends in dax_release_resource, which waits for the
 * walker's dax_region_rwsem (uuid_store holds it across both walks), so the walk's put is never
 * the last and a preemption there adds no outcome of the hold.
 */
function device_for_each_child(ctx: HostCtx, region: Handle, fn: (e: ExtentHandle) => number): number {
  const X = ctx.host.extents;
  for (const e of extentChildren(ctx, region)) {
    if (!childGet(ctx, e)) continue;
    const rc = fn(e);
    if (X.get(e, 'daxDevres') !== 1) noisePoint(NOISE_SITE.childRef);
    childPut(ctx, e); // klist_next (or klist_iter_exit) lets the child go
    if (rc) return rc;
  }
  return 0;
}

/** dev_get_drvdata(child): the child's dax_resource in this region, or NO_HANDLE. */
function childResource(ctx: HostCtx, region: Handle, e: ExtentHandle): DaxResHandle {
  const h = ctx.host;
  const r = h.extents.get(e, 'daxRes');
  if (r === NO_HANDLE || !h.daxRes.isLive(r) || h.daxRes.get(r, 'region') !== region) return NO_HANDLE;
  return r;
}

/**
 * uuid_claim_tagged() (drivers/dax/bus.c): two device_for_each_child walks of dax_region->dev —
 * count_uuid_extent, then collect_uuid_extent into an array of that size (-ENOSPC if it grew) —
 * each holding the child it looks at (device_for_each_child); then every collected resource sorted
 * by seq and required to be 0..n-1 (v10: 1..n) — only what was collected, so missing TRAILING
 * members pass (SK-26). Any failure trims what was carved.
 */
function uuid_claim_tagged(ctx: HostCtx, region: Handle, dev: Handle, uuid: string): number {
  const h = ctx.host;
  const match = (e: ExtentHandle): DaxResHandle => {
    const r = childResource(ctx, region, e);
    return r !== NO_HANDLE && h.daxRes.get(r, 'useCnt') === 0 && h.daxRes.getUuid(r, 'uuid') === uuid ? r : NO_HANDLE;
  };
  let count = 0;
  device_for_each_child(ctx, region, (e) => { if (match(e) !== NO_HANDLE) count++; return 0; });
  if (count === 0) return ENOENT;
  const free: DaxResHandle[] = [];
  const rc = device_for_each_child(ctx, region, (e) => {
    const r = match(e);
    if (r === NO_HANDLE) return 0;
    if (free.length === count) return ENOSPC;
    free.push(r);
    return 0;
  });
  if (rc) return rc;
  free.sort((a, b) => h.daxRes.get(a, 'seq') - h.daxRes.get(b, 'seq'));
  const base = ctx.knobs['v10-seq'] === 'on' ? 1 : 0;
  for (let i = 0; i < free.length; i++) {
    if (h.daxRes.get(free[i]!, 'seq') !== base + i) {
      ctx.dmesg('warn', `dax_region`, `WARN: tag ${uuid}: sequence gap at ${i}; refusing claim`);
      return EINVAL;
    }
  }
  const align = h.regions.get(region, 'daxAlign');
  for (const r of free) {
    if (h.daxRes.get(r, 'length') % align !== 0) { trimAll(ctx, dev); return EINVAL; }
    carve(ctx, dev, r);
  }
  return free.length;
}

/**
 * Members a group has right now among the claim's children (for the claim event: did the claim see
 * the whole group?): this cxlr_dax instance's registered extents of the tag — an earlier instance's
 * (H14's orphans) are no children of dax_region->dev (extentChildren).
 */
function groupSizeOfTag(ctx: HostCtx, region: Handle, uuid: string): number {
  const X = ctx.host.extents;
  const gen = cxlr_dax_gen(ctx, region);
  let n = 0;
  for (const e of X.live()) {
    // extents are freed by CXL threads that do not hold dax_region_rwsem: peek, and re-check
    if (X.peek(e, 'region') !== region || !X.peek(e, 'registered') || X.peek(e, 'daxGen') !== gen) continue;
    let u: string;
    try { u = X.getUuid(e, 'uuid'); } catch { continue; }
    if (u === uuid) n++;
  }
  return n;
}


// ------------------------------------------------------------------------------ dax devices

/** dev_dax_size(): the sum of the device's ranges (the model keeps it in `size`). */
function dev_dax_size(ctx: HostCtx, dev: Handle): number {
  return ctx.host.daxDevs.get(dev, 'size');
}

/**
 * ida_alloc(&dax_region->ida): the lowest id no device of the region holds. A device holds its
 * id from alloc_dev_dax_id until __free_dev_dax_id (delete_store) — NOT until it is unregistered —
 * so an id can be handed out again while a deleted device of that name is still registered.
 */
function ida_alloc(ctx: HostCtx, region: Handle): number {
  const D = ctx.host.daxDevs;
  const used = new Set<number>();
  for (const d of D.live()) if (D.get(d, 'region') === region && D.get(d, 'idValid') === 1) used.add(D.get(d, 'id'));
  let id = 0;
  while (used.has(id)) id++;
  return id;
}

/**
 * __devm_create_dev_dax() for a DC region (size 0; caller holds dax_region_rwsem for write):
 * alloc_dev_dax_id, dev_set_name("daxX.Y"), device_add — which fails -EEXIST when a device of that
 * name is still registered (its id was freed by delete_store, its unregister has not run yet) —
 * then the bus autoprobes the new device. Returns the device or a negative errno.
 */
export function __devm_create_dev_dax(ctx: HostCtx, region: Handle): Handle | number {
  const h = ctx.host;
  const D = h.daxDevs;
  assertHeldWrite(h.daxRegionRwsem);
  const id = ida_alloc(ctx, region);
  for (const d of D.live()) {
    if (D.get(d, 'region') === region && D.get(d, 'id') === id) {
      // device_add → sysfs "cannot create duplicate filename"; the error path's put_device →
      // dev_dax_release → free_dev_dax_id gives the id back
      ctx.dmesg('err', `region${h.regions.get(region, 'id')}`, `sysfs: cannot create duplicate filename dax${h.regions.get(region, 'id')}.${id}`);
      return EEXIST;
    }
  }
  const d = D.alloc();
  if (d === NO_HANDLE) return ENOMEM;
  D.set(d, 'region', region);
  D.set(d, 'id', id);
  D.set(d, 'idValid', 1);
  D.set(d, 'daxGen', cxlr_dax_gen(ctx, region)); // dev_dax->region->dev: this cxlr_dax instance
  // devm_add_action_or_reset(dax_region->dev, unregister_dev_dax, dev_dax): an action on cxlr_dax's
  // devres list, which the unbind runs in reverse registration order
  D.set(d, 'devres', h.regions.add(region, 'devresSeq', 1));
  kernfs_dev_activate(ctx, d); // device_add created its attribute files
  // device_add → bus_probe_device → __device_attach: device_lock(dev) → dax_bus_probe, which reads
  // the size under dax_dev_rwsem (read) and refuses a 0-size device (-ENXIO): it stays unbound
  dax_bus_probe(ctx, d);
  return d;
}

/** devm_create_dev_dax(): the same under dax_region_rwsem (write); throws on failure. */
export function devm_create_dev_dax(ctx: HostCtx, region: Handle): Handle {
  const h = ctx.host;
  const d = isHeld(h.daxRegionRwsem) ? __devm_create_dev_dax(ctx, region) : withWrite(h.daxRegionRwsem, () => __devm_create_dev_dax(ctx, region));
  if (d < 0) throw errnoError(-d, 'devm_create_dev_dax');
  return d;
}

/**
 * dax_bus_probe() as the driver core runs it (really_probe), with device_lock(dev_dax) held by the
 * caller: the size under dax_dev_rwsem (read); 0, or an id already invalidated by delete_store,
 * → -ENXIO; else the driver binds and — when this device is the region's seed — the seed is
 * cleared ("track new seed creation only after successful probe of the previous seed"). v11
 * writes dax_region->seed here under device_lock(dev_dax) only, not dax_region_rwsem; so does
 * the model.
 */
function dax_bus_probe_locked(ctx: HostCtx, dev: Handle): number {
  const h = ctx.host;
  const size = withRead(h.daxDevRwsem, () => dev_dax_size(ctx, dev));
  if (size === 0 || h.daxDevs.get(dev, 'idValid') !== 1) return ENXIO;
  h.daxDevs.set(dev, 'enabled', 1);
  const region = h.daxDevs.get(dev, 'region');
  if (h.regions.get(region, 'seedDev') === dev) h.regions.set(region, 'seedDev', NO_HANDLE);
  return 0;
}

/** Autoprobe at device_add: device_lock(dev_dax) → dax_bus_probe. Returns its rc (quietly). */
function dax_bus_probe(ctx: HostCtx, dev: Handle): number {
  return withLock(ctx.host.daxDevLockFor(dev), () => dax_bus_probe_locked(ctx, dev));
}

/**
 * Bind the device_dax driver (`daxctl enable-device`; the driver core's bind): device_lock(dev_dax),
 * then dax_bus_probe. Already bound: nothing to do (daxctl_dev_enable returns 0).
 */
export function dax_bind(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  const rc = withLock(h.daxDevLockFor(dev), () => {
    if (!h.daxDevs.isLive(dev)) return ENODEV;
    if (h.daxDevs.get(dev, 'enabled')) return 0;
    return dax_bus_probe_locked(ctx, dev);
  });
  if (rc === ENXIO) throw new CxlError('ENXIO', 'enable failed: dax_bus_probe refused the device (size 0, or its id was invalidated)');
  if (rc < 0) throw errnoError(-rc, 'enable');
}

/** Unbind the driver (`daxctl disable-device`): device_lock(dev_dax) → dax_bus_remove. */
export function dax_unbind(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  withLock(h.daxDevLockFor(dev), () => {
    if (h.daxDevs.isLive(dev)) h.daxDevs.set(dev, 'enabled', 0);
  });
}

/** Compatibility: enable (bind) or disable (unbind) a device. */
export function enable_dev_dax(ctx: HostCtx, dev: Handle, on: boolean): void {
  if (on) dax_bind(ctx, dev);
  else dax_unbind(ctx, dev);
}

/** sysfs_streq(): equal, ignoring one trailing newline on either side. */
function sysfs_streq(a: string, b: string): boolean {
  const strip = (s: string): string => (s.endsWith('\n') ? s.slice(0, -1) : s);
  return strip(a) === strip(b);
}

/**
 * uuid_parse() of lib/uuid.c: uuid_is_valid() checks exactly the first 36 characters — '-' at
 * 8, 13, 18, 23 and a hex digit (either case) everywhere else — and nothing after them (a
 * trailing newline or any other suffix is ignored); anything else, leading whitespace or a
 * short string included, is -EINVAL. Returns the canonical lower-case form, or null.
 */
export function uuid_parse(buf: string): string | null {
  if (buf.length < 36) return null;
  for (let i = 0; i < 36; i++) {
    const c = buf[i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== '-') return null;
    } else if (!/[0-9a-fA-F]/.test(c)) {
      return null;
    }
  }
  return buf.slice(0, 36).toLowerCase();
}

/**
 * uuid_store() (v11 patch 26, "dax/bus: Tag-aware uuid claim and show on DC dax devices"):
 * not a DC region → -EOPNOTSUPP; "0" (sysfs_streq) is the null uuid, anything else goes through
 * uuid_parse (-EINVAL); then under dax_region_rwsem(W): dax_region->dev->driver unset → -ENXIO;
 * under dax_dev_rwsem(W): the device already has size → -EBUSY; then the claim (untagged: -ENOENT
 * / -EINVAL alignment; tagged: -ENOENT, -EINVAL sequence gap or alignment).
 *
 * is_dynamic(dev_dax->region) reads IORESOURCE_DAX_DCD in the dax_region struct, which
 * cxl_dax_region_probe sets for a DYNAMIC_RAM_1 region — every region the model creates — and
 * which dax_region_unregister does not clear (the struct lives while referenced): a device that
 * outlived its dax_region's unregistration (H24's device created inside the teardown) is still
 * dynamic, and its write fails -ENXIO at the driver check, not -EOPNOTSUPP. The -EOPNOTSUPP
 * branch is therefore never taken in the model. dax_region->dev is the cxl_dax_region instance the
 * device was created under (daxDevs.daxGen): after a re-probe (cxl_dax_region_alloc: a new
 * instance) the old one has no driver, whatever the new one has.
 */
function __uuid_store(ctx: HostCtx, dev: Handle, buf: string): void {
  const h = ctx.host;
  const region = h.daxDevs.get(dev, 'region');
  const gen = h.daxDevs.get(dev, 'daxGen');
  let uuid: string;
  if (sysfs_streq(buf, '0')) uuid = NULL_UUID;
  else {
    const u = uuid_parse(buf);
    if (u === null) throw new CxlError('EINVAL', `uuid_parse: cannot parse ${JSON.stringify(buf)}`);
    uuid = u;
  }
  const rc = withWrite(h.daxRegionRwsem, () => {
    if (!h.regions.load(region, 'driverBound') || gen !== cxlr_dax_gen(ctx, region)) return ENXIO;
    return withWrite(h.daxDevRwsem, () => {
      if (dev_dax_size(ctx, dev) !== 0) return EBUSY;
      const members = uuid === NULL_UUID ? 1 : groupSizeOfTag(ctx, region, uuid);
      // (the checkers are told which extent an untagged claim took: stress/checkers/data.ts)
      const took = { extent: 0 };
      const r = uuid === NULL_UUID ? uuid_claim_untagged(ctx, region, dev, took) : uuid_claim_tagged(ctx, region, dev, uuid);
      ctx.emit({ type: 'claim', region, dev, uuid, rc: r < 0 ? -r : 0, nRanges: h.daxDevs.get(dev, 'nrRanges'), size: h.daxDevs.get(dev, 'size'), groupMembers: members, extent: r < 0 ? 0 : took.extent });
      return r;
    });
  });
  if (rc < 0) throw errnoError(-rc, `uuid ${uuid === NULL_UUID ? '0' : uuid}`);
}

/** uuid_store as sysfs runs it: inside an active reference of the device's `uuid` node (kernfs.ts). */
export function uuid_store(ctx: HostCtx, dev: Handle, buf: string): void {
  sysfs_dev_op(ctx, dev, 'uuid', () => __uuid_store(ctx, dev, buf));
}

/** uuid_show(): the first tagged range's uuid, else the null UUID ("0" under v10-uuid-show). */
export function uuid_show(ctx: HostCtx, dev: Handle): string {
  const h = ctx.host;
  for (const g of rangesOf(ctx, dev)) {
    const r = h.daxRanges.get(g, 'res');
    if (h.daxRes.isLive(r)) {
      const u = h.daxRes.getUuid(r, 'uuid');
      if (u !== NULL_UUID) return u;
    }
  }
  return ctx.knobs['v10-uuid-show'] === 'on' ? '0' : NULL_UUID;
}

/**
 * alloc_is_aligned(): IS_ALIGNED(size, max(dev_dax->align, memremap_compat_align())). A DC
 * device's align is the region's (PMD_SIZE, set at __devm_create_dev_dax); the generic
 * memremap_compat_align() is PAGE_SIZE, so PMD_SIZE decides.
 */
export function alloc_is_aligned(ctx: HostCtx, dev: Handle, size: number): boolean {
  const align = Math.max(ctx.host.regions.get(ctx.host.daxDevs.get(dev, 'region'), 'daxAlign'), 4096);
  return size % align === 0;
}

/**
 * size_store() → dev_dax_resize() in v11's order (patch 25, "Reject resize on DC dax devices and
 * enforce 0-size creation"): kstrtoull (-EINVAL); misaligned → -EINVAL, before any lock; under
 * dax_region_rwsem(W) the region driver unbound → -ENXIO; under dax_dev_rwsem(W) a driver bound
 * → -EBUSY; the current size → success; any other non-zero size on a DC region → -EOPNOTSUPP;
 * 0 shrinks: every range trimmed, each resource's use_cnt dropped.
 */
function __size_store(ctx: HostCtx, dev: Handle, buf: string | number): void {
  const h = ctx.host;
  const val = typeof buf === 'number' ? buf : kstrtoull(buf);
  if (val === null || !Number.isSafeInteger(val) || val < 0) throw new CxlError('EINVAL', `size: cannot parse ${JSON.stringify(buf)}`);
  if (!alloc_is_aligned(ctx, dev, val)) throw new CxlError('EINVAL', `size ${val} misaligned (align ${h.regions.get(h.daxDevs.get(dev, 'region'), 'daxAlign')})`);
  const region = h.daxDevs.get(dev, 'region');
  const rc = withWrite(h.daxRegionRwsem, () => {
    if (!h.regions.load(region, 'driverBound')) return ENXIO;
    return withWrite(h.daxDevRwsem, () => {
      if (h.daxDevs.get(dev, 'enabled')) return EBUSY;
      const cur = dev_dax_size(ctx, dev);
      if (val === cur) return 0;
      if (val !== 0 && regionIsDynamic(ctx, region)) return EOPNOTSUPP;
      // val < cur and val == 0 here (DC): dev_dax_shrink unregisters each range's mapping and trims it
      dev_dax_shrink(ctx, dev);
      return 0;
    });
  });
  if (rc === ENXIO) throw new CxlError('ENXIO', 'size: the dax region driver is not bound');
  if (rc === EBUSY) throw new CxlError('EBUSY', 'size: the device is enabled (a driver is bound)');
  if (rc < 0) throw new CxlError('EOPNOTSUPP', 'size: DC dax devices cannot be resized (only to 0)');
}

/** size_store as sysfs runs it: inside an active reference of the device's `size` node (kernfs.ts). */
export function size_store(ctx: HostCtx, dev: Handle, buf: string | number): void {
  sysfs_dev_op(ctx, dev, 'size', () => __size_store(ctx, dev, buf));
}

/** kstrtoint(buf, 0): kstrtoull's syntax with an optional '-' and the int range. */
function kstrtoint(buf: string): number | null {
  const t = buf.endsWith('\n') ? buf.slice(0, -1) : buf;
  const neg = t.startsWith('-');
  const v = kstrtoull(neg ? t.slice(1) : t);
  if (v === null) return null;
  const n = neg ? -v : v;
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : null;
}

/**
 * create_store() (drivers/dax/bus.c): kstrtoint; anything but 1 → -EINVAL; under
 * dax_region_rwsem(W): available_size 0 → -ENOSPC; else a new 0-size device, recorded as the
 * region's seed only when no seed is set. The attribute lives in the dax_region sysfs group,
 * which exists only while the cxl_dax_region driver holds a dax_region (alloc_dax_region in the
 * probe, removed at unbind) — without it there is nothing to write to: -ENXIO here. A number
 * argument is written as its decimal text (compatibility with callers that passed a size).
 */
function __create_store(ctx: HostCtx, region: Handle, buf: string | number): Handle {
  const h = ctx.host;
  if (!h.regions.load(region, 'daxRegion')) throw new CxlError('ENXIO', 'no dax_region (the cxl_dax_region driver is not bound): no create attribute');
  const val = kstrtoint(String(buf));
  if (val === null) throw new CxlError('EINVAL', `create: cannot parse ${JSON.stringify(String(buf))}`);
  if (val !== 1) throw new CxlError('EINVAL', `create: only "1" is accepted (got ${val})`);
  const d = withWrite(h.daxRegionRwsem, () => {
    if (available_size(ctx, region) === 0) return ENOSPC;
    const dd = __devm_create_dev_dax(ctx, region);
    if (dd < 0) return dd;
    const seed = h.regions.get(region, 'seedDev');
    if (seed === NO_HANDLE || !h.daxDevs.isLive(seed)) h.regions.set(region, 'seedDev', dd);
    return dd;
  });
  if (d === ENOSPC) throw new CxlError('ENOSPC', 'create: the region has no available size');
  if (d < 0) throw errnoError(-d, 'create');
  return d;
}

/** create_store as sysfs runs it: inside an active reference of dax_region/create (kernfs.ts). */
export function create_store(ctx: HostCtx, region: Handle, buf: string | number = '1'): Handle {
  return sysfs_region_op(ctx, region, 'create', () => __create_store(ctx, region, buf));
}

/**
 * seed_show(): the seed device's name under dax_region_rwsem (read), "" when none; inside an
 * active reference of dax_region/seed (kernfs.ts).
 */
export function seed_show(ctx: HostCtx, region: Handle): string {
  const h = ctx.host;
  return sysfs_region_op(ctx, region, 'seed', () => withRead(h.daxRegionRwsem, () => {
    const seed = h.regions.get(region, 'seedDev');
    if (seed === NO_HANDLE || !h.daxDevs.isLive(seed)) return '';
    return `dax${h.regions.get(region, 'id')}.${h.daxDevs.get(seed, 'id')}`;
  }));
}

/** available_size_show(): available_size under dax_region_rwsem (read), inside an active reference of dax_region/available_size. */
export function available_size_show(ctx: HostCtx, region: Handle): number {
  return sysfs_region_op(ctx, region, 'available_size', () => withRead(ctx.host.daxRegionRwsem, () => available_size(ctx, region)));
}

/** The live dax device of `region` named `name` (device_find_child_by_name), or NO_HANDLE. */
export function dax_dev_by_name(ctx: HostCtx, region: Handle, name: string): Handle {
  const h = ctx.host;
  const rid = h.regions.get(region, 'id');
  for (const d of daxDevsOf(ctx, region)) {
    try {
      if (sysfs_streq(name, `dax${rid}.${h.daxDevs.get(d, 'id')}`)) return d;
    } catch (e) {
      if (!(e instanceof StaleHandleError)) throw e;
    }
  }
  return NO_HANDLE;
}

/**
 * unregister_dev_dax() (bus.c; the devm action on cxlr_dax, run by delete_store's
 * devm_release_action or at region teardown in reverse registration order): under
 * dax_region_rwsem(W) kill the device, device_del it — which unbinds a driver under
 * device_lock(dev_dax) — free its ranges from the last one (free_dev_dax_ranges →
 * trim_dev_dax_range, which reads each range's dax_resource: freed already if an extent's
 * dax_release_resource ran first, H15), then put_device → dev_dax_release → free_dev_dax_id under
 * dax_dev_rwsem(W).
 */
export function unregister_dev_dax(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  withWrite(h.daxRegionRwsem, () => {
    h.daxDevs.set(dev, 'devres', 0);
    // device_del → device_remove_attrs: drain the device's attribute nodes (a store inside one
    // that waits for dax_region_rwsem never ends: H22), then bus_remove_device unbinds
    kernfs_dev_remove(ctx, dev);
    withLock(h.daxDevLockFor(dev), () => { h.daxDevs.set(dev, 'enabled', 0); });
    for (const g of rangesOf(ctx, dev).reverse()) dropRange(ctx, g);
    withWrite(h.daxDevRwsem, () => h.daxDevs.free(dev));
  });
}

/**
 * device_find_child_by_name(dax_region->dev, name) among the dev_dax children: the device of that
 * name on cxlr_dax's klist — this cxl_dax_region instance's (daxDevs.daxGen), added (device_add)
 * and not yet device_del'd. device_del takes a device off its parent's klist
 * (klist_del(&dev->p->knode_parent), drivers/base/core.c) BEFORE device_remove_attrs drains its
 * attributes, so once unregister_dev_dax has deactivated the device's nodes (knState leaves
 * KN_ACTIVE, src/dax/kernfs.ts) the lookup no longer finds it: -ENXIO, as in v11.
 */
function dev_dax_child_by_name(ctx: HostCtx, region: Handle, name: string): Handle {
  const D = ctx.host.daxDevs;
  const d = dax_dev_by_name(ctx, region, name);
  if (d === NO_HANDLE) return NO_HANDLE;
  return D.peek(d, 'knState') === KN_ACTIVE && D.peek(d, 'daxGen') === cxlr_dax_gen(ctx, region) ? d : NO_HANDLE;
}

/**
 * The other children device_find_child_by_name(dax_region->dev) can return: the dc_extent devices
 * (`extentR.N`), which online_tag_group (drivers/cxl/core/extent.c) registers with
 * dev->parent = &cxlr_dax->dev — the device cxl_dax_region_probe (drivers/dax/cxl.c) hands to
 * alloc_dax_region as the dax_region's device. Registered extents only (device_add has run).
 */
function dc_extent_child_by_name(ctx: HostCtx, region: Handle, name: string): Handle {
  const X = ctx.host.extents;
  const rid = ctx.host.regions.get(region, 'id');
  const gen = cxlr_dax_gen(ctx, region); // this cxlr_dax's children only (extentChildren)
  for (const e of X.live()) {
    try {
      // device_find_child_by_name returns the match with get_device (childGet: still on the list)
      if (X.get(e, 'region') === region && X.get(e, 'registered') && X.get(e, 'daxGen') === gen && sysfs_streq(name, `extent${rid}.${X.get(e, 'id')}`) && childGet(ctx, e)) return e;
    } catch (err) {
      if (!(err instanceof StaleHandleError)) throw err; // freed under the walk
    }
  }
  return NO_HANDLE;
}

/**
 * delete_store() (drivers/dax/bus.c): device_find_child_by_name (-ENXIO); device_lock(cxlr_dax) →
 * device_lock(dev_dax) → dax_dev_rwsem(W): a driver bound or non-zero size → -EBUSY; an id not
 * above 0 → -EBUSY: id 0 is never deleted, and -1 is a device another delete already invalidated
 * (__free_dev_dax_id) — the loser of two deletes of one name that both found it gets -EBUSY, also
 * once the winner's unregister_dev_dax has run (it still holds the device: get_device in the
 * lookup); else the id goes back to the ida and seed is cleared if it was this device; the locks
 * drop to device_lock(cxlr_dax) alone, under which unregister_dev_dax takes dax_region_rwsem(W).
 */
function __delete_store(ctx: HostCtx, region: Handle, name: string): void {
  const h = ctx.host;
  // device_find_child_by_name walks cxlr_dax's klist: no dax lock
  const victim = dev_dax_child_by_name(ctx, region, name);
  if (victim === NO_HANDLE) {
    const ext = dc_extent_child_by_name(ctx, region, name);
    if (ext !== NO_HANDLE) {
      // delete_store holds the child found (get_device) without any dax lock until its final
      // put_device, across device_lock(cxlr_dax) — which a cxl_dax_region unbind holds while its
      // devres unregisters the extents: the extent can be device_del'd and put by its owner
      // meanwhile, leaving this put the last (dc_extent_release in this thread, no lock held)
      noisePoint(NOISE_SITE.childRef);
      withLock(h.regionLockFor(region), () => {
        // H20: the child found is a dc_extent (online_tag_group parents it on cxlr_dax->dev, the
        // dax_region's device), and delete_store's to_dev_dax() has no type check. The kernel goes
        // on reading dev_dax fields out of the dc_extent; the model reports it and does nothing
        // more under the locks.
        ctx.emit({ type: 'use-after-free', memdev: h.regions.get(region, 'memdev'), extent: ext, site: UAF_SITE.deleteTypeConfusion });
        ctx.dmesg('err', `dax_region${h.regions.get(region, 'id')}`, `BUG: type confusion: delete_store treats ${name} (a dc_extent) as a dev_dax`);
      });
      noisePoint(NOISE_SITE.childRef); // device_unlock(dev), then put_device(victim)
      childPut(ctx, ext as ExtentHandle);
      throw new CxlError('EFAULT', `delete ${name}: a dc_extent device, not a dev_dax (H20 type confusion)`);
    }
    throw new CxlError('ENXIO', `delete: no device ${JSON.stringify(name)}`);
  }
  const rc = withLock(h.regionLockFor(region), () => {
    // another delete won and unregistered it meanwhile (every unregister_dev_dax runs under
    // device_lock(cxlr_dax), which we hold now, so this cannot change under us): the kernel's
    // dev_dax, pinned by the lookup's get_device, has no driver, no ranges and id -1 → -EBUSY
    // under device_lock(victim) and dax_dev_rwsem (W). The model's record is freed (its slot may
    // hold another device): dax_dev_rwsem is taken as v11 takes it, the dead device's own lock
    // (which nobody else can hold) is not. The model used to lock the freed slot and fail with a
    // stale handle (EFAULT).
    if (!h.daxDevs.isLive(victim)) return withWrite(h.daxDevRwsem, () => EBUSY);
    const r = withLock(h.daxDevLockFor(victim), () => withWrite(h.daxDevRwsem, () => {
      if (h.daxDevs.get(victim, 'enabled') || dev_dax_size(ctx, victim) !== 0) return EBUSY;
      // dev_dax->id > 0 or -EBUSY: device-id-0 is always preserved, and -1 (idValid 0) was
      // invalidated by another delete, whose devm_release_action unregisters it
      if (h.daxDevs.get(victim, 'id') === 0 || h.daxDevs.get(victim, 'idValid') !== 1) return EBUSY;
      h.daxDevs.set(victim, 'idValid', 0);
      if (h.regions.get(region, 'seedDev') === victim) h.regions.set(region, 'seedDev', NO_HANDLE);
      return 0;
    }));
    noisePoint(NOISE_SITE.generic); // the id is free while the device is still registered
    if (r === 0) unregister_dev_dax(ctx, victim);
    return r;
  });
  if (rc === EBUSY) throw new CxlError('EBUSY', `delete ${name}: the device is enabled, has size, is device-id 0, or another delete invalidated it`);
  if (rc < 0) throw errnoError(-rc, `delete ${name}`);
}

/**
 * delete_store as sysfs runs it: inside an active reference of dax_region/delete (kernfs.ts) —
 * held across device_lock(cxlr_dax), which the cxl_dax_region unbind holds while
 * dax_region_unregister drains this node (H21).
 */
export function delete_store(ctx: HostCtx, region: Handle, name: string): void {
  sysfs_region_op(ctx, region, 'delete', () => __delete_store(ctx, region, name));
}

// ------------------------------------------------------------------------------ daxctl

/** libuuid's uuid_parse (daxctl parses --uuid before it touches sysfs): exactly 36 characters. */
function libuuid_parse(s: string): string | null {
  return s.length === 36 ? uuid_parse(s) : null;
}

/**
 * `daxctl create-device [--uuid U]` — ndctl daxctl/device.c do_create() with the DCD series'
 * --uuid option, and libdaxctl's sysfs writes:
 *  - --uuid is parsed first ("0" = untagged; libuuid parse failure → EINVAL, nothing written);
 *  - write "1" to the region's `create`; ANY failure → ENOSPC (do_create maps it so);
 *  - read `seed`; empty, or no such device any more → ENOSPC;
 *  - with --uuid: write the uuid to the seed's `uuid` ("0\n" for null, else uuid_unparse);
 *    without: available_size (0 → ENOSPC), then write it to the seed's `size`;
 *  - enable (bind device_dax). Nothing is cleaned up on failure: a failed claim leaves the 0-size
 *    seed behind, still the seed; a claimed but not enabled device stays the seed.
 * Another daxctl may run the same steps at once: both can read the same seed, and the second
 * uuid write then fails -EBUSY (or its create -ENOSPC once the first claimed everything).
 */
export function daxctl_create_device(ctx: HostCtx, region: Handle, uuid: string | null | undefined): Handle {
  const h = ctx.host;
  let want: string | undefined;
  if (uuid !== undefined) {
    if (uuid === null || uuid === '0') want = '0\n';
    else {
      const u = libuuid_parse(uuid);
      if (u === null) throw new CxlError('EINVAL', `failed to parse uuid '${uuid}'`);
      want = u === NULL_UUID ? '0\n' : u;
    }
  }
  // daxctl lists regions by their dax_region attributes: none while the driver is unbound
  if (!h.regions.load(region, 'daxRegion')) throw new CxlError('ENXIO', `region${h.regions.get(region, 'id')}: no dax region (the cxl_dax_region driver is not bound)`);
  try {
    create_store(ctx, region, '1');
  } catch (e) {
    if (e instanceof CxlError) throw new CxlError('ENOSPC', `daxctl_region_create_dev failed (${e.errno})`);
    throw e;
  }
  noisePoint(NOISE_SITE.generic); // each step is its own syscall: other writers run between them
  const seedName = seed_show(ctx, region);
  const dev = seedName === '' ? NO_HANDLE : withRead(h.daxRegionRwsem, () => dax_dev_by_name(ctx, region, seedName));
  if (dev === NO_HANDLE) throw new CxlError('ENOSPC', `no seed device to configure (seed "${seedName}")`);
  noisePoint(NOISE_SITE.generic);
  try {
    if (want !== undefined) uuid_store(ctx, dev, want);
    else {
      const avail = available_size_show(ctx, region);
      if (avail <= 0) throw new CxlError('ENOSPC', 'no available size');
      size_store(ctx, dev, String(avail));
    }
    noisePoint(NOISE_SITE.generic);
    dax_bind(ctx, dev);
  } catch (e) {
    // the seed was deleted under us: its sysfs files are gone
    if (e instanceof StaleHandleError) throw new CxlError('ENOENT', `${seedName}: the device went away`);
    throw e;
  }
  return dev;
}

/**
 * `daxctl destroy-device --force`: disable (unbind), write 0 to `size`, write the name to the
 * region's `delete` (dev_destroy in daxctl/device.c).
 */
export function daxctl_destroy_device(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  const region = h.daxDevs.get(dev, 'region');
  const name = `dax${h.regions.get(region, 'id')}.${h.daxDevs.get(dev, 'id')}`;
  dax_unbind(ctx, dev);
  size_store(ctx, dev, '0');
  delete_store(ctx, region, name);
}

export function errnoError(code: number, what: string): CxlError {
  return new CxlError(errnoOf(-code), what);
}
