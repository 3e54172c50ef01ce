/**
 * DOC: cxl region — DC regions over the dynamic_ram_1 partition, DPA→region lookup, the
 * cxl_region driver's probe and unbind, and destroy (drivers/cxl/core/region.c and region_dax.c
 * in the series; docs/kernel-map.md). The existing-extent scan (crash recovery) reads the
 * device's extent list and stages into extent.ts: it is in src/cxl/mbox.ts, beside
 * __cxl_process_extent_list's home in v11 (drivers/cxl/core/mbox.c), so region.ts stays below
 * extent.ts.
 *
 * Lifecycle, as v11 and the driver core run it:
 *  - create (`cxl create-region`, a user worker): attach_target nests cxl_rwsem.region(W) →
 *    cxl_rwsem.dpa(R) (region.c attach_target); the region exists but cxlr->cxlr_dax is NULL;
 *  - the cxl_region driver probes (dax-bus worker, device_lock(cxlr)): cxl_region_probe →
 *    devm_cxl_add_dax_region → cxl_dax_region_alloc sets cxlr->cxlr_dax (region_dax.c), so adds
 *    before it fail E5 (-ENXIO) and adds after it, before the scan, fail E6 (-EBUSY);
 *  - the cxl_dax_region driver then probes asynchronously under device_lock(cxlr_dax)
 *    (src/dax/cxl.ts), running `cxl_region_add_existing_extents` — recovery takes device_lock →
 *    add_ctx.lock, the reverse of the runtime add path (H2);
 *  - disable (`cxl disable-region`) and destroy unbind the cxl_region driver under
 *    device_lock(cxlr): its devres action cxlr_dax_unregister unregisters cxlr_dax, which unbinds
 *    the cxl_dax_region driver under device_lock(cxlr_dax) (device_lock(cxlr) →
 *    device_lock(cxlr_dax)) and tears the extents down WITHOUT cxl_rwsem.region. v11's
 *    cxlr_dax_unregister does not clear cxlr->cxlr_dax (region_dax.c): after a disable the
 *    region keeps a pointer to a freed cxl_dax_region (H16) — freed unless a tag group still
 *    pins it (an H14 orphan's);
 *  - a re-probe (`cxl enable-region`) allocates a NEW cxl_dax_region (cxl_dax_region_alloc): the
 *    model's region record carries the instance as a generation (packed with its kref in `cxlrDaxRefs`, read by `cxlr_dax_gen`),
 *    and what the old instance kept (H14's orphans, their groups' pins) stays with it.
 */
import { assertHeld, withLock, withRead, withWrite } from '../shm/lock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { CxlError, ENODEV } from '../errors.js';
import type { HostCtx } from '../host/context.js';
import { G_NEXT_HPA_256M, G_NEXT_REGION_ID, PROBE_STATE, type ExtentHandle } from '../host/state.js';
import { UAF_SITE } from '../protocol.js';
import { MiB, PMD_SIZE } from '../units.js';
import { memdevName } from './cxlmem.js';
import { cxl_dax_region_unbind, devres_release_all } from './dax-driver.js';

const HPA_UNIT = 256 * MiB;

export function regionName(ctx: HostCtx, r: Handle): string {
  return `region${ctx.host.regions.get(r, 'id')}`;
}

/** cxl_dpa_to_region(): the region whose ED DPA resource (on this memdev) contains `dpa`. */
export function cxl_dpa_to_region(ctx: HostCtx, memdev: number, dpa: number): Handle {
  const R = ctx.host.regions;
  // the live regions into a reused scratch instead of a generator per call (once per extent, #17)
  if (dpaRegions.length < R.capacity) dpaRegions = new Int32Array(R.capacity);
  const n = R.liveInto(dpaRegions);
  for (let k = 0; k < n; k++) {
    const r = dpaRegions[k]!;
    // per region, twice per extent (add and release): refs (#17)
    if (R.getRef(r, R.f.memdev) !== memdev) continue;
    const s = R.getRef(r, R.f.edDpaStart);
    if (dpa >= s && dpa < s + R.getRef(r, R.f.size)) return r;
  }
  return NO_HANDLE;
}
let dpaRegions = new Int32Array(0);

/**
 * `cxl create-region -t dynamic_ram_1 -w 1 [-s size] memX` (runs in the calling user worker):
 * allocate an ED from the partition's free DPA (first fit), a region id and an HPA window, and
 * the cxl_dax_region. The DAX driver probe is asynchronous and is started by the caller.
 */
export function cxl_create_dc_region(ctx: HostCtx, memdev: number, size: number | null): Handle {
  const h = ctx.host;
  const m = h.memdev(memdev);
  if (!h.memdevs.load(m, 'dcdSupported')) throw new CxlError('EINVAL', `${memdevName(memdev)} has no dynamic capacity (DCD disabled)`);
  // attach_target (region.c): cxl_rwsem.region for write, then cxl_rwsem.dpa for READ
  return withWrite(h.cxlRegionRwsem, () => withRead(h.cxlDpaRwsem, () => {
    const base = h.memdevs.get(m, 'partBase');
    const partSize = h.memdevs.get(m, 'partSize');
    const used: [number, number][] = [];
    for (const r of h.regions.live()) {
      if (h.regions.get(r, 'memdev') === memdev) used.push([h.regions.get(r, 'edDpaStart'), h.regions.get(r, 'size')]);
    }
    used.sort((a, b) => a[0] - b[0]);
    // first fit over the gaps of the partition
    let cursor = base;
    let start = -1;
    let avail = 0;
    for (const [s, l] of [...used, [base + partSize, 0] as [number, number]]) {
      const gap = s - cursor;
      if (size === null ? gap > 0 : gap >= size) { start = cursor; avail = gap; break; }
      cursor = Math.max(cursor, s + l);
    }
    if (start < 0) throw new CxlError('ENOSPC', `no free DPA in ${memdevName(memdev)} dynamic_ram_1 for a region${size === null ? '' : ` of ${size} bytes`}`);
    const bytes = size ?? avail;
    if (bytes <= 0 || bytes % HPA_UNIT !== 0) throw new CxlError('EINVAL', `region size ${bytes} must be a positive multiple of 256M`);
    const r = h.regions.alloc();
    if (r === NO_HANDLE) throw new CxlError('ENOMEM', 'region table full');
    const id = Atomics.add(h.globals, G_NEXT_REGION_ID, 1);
    const hpa256 = Atomics.add(h.globals, G_NEXT_HPA_256M, Math.ceil(bytes / HPA_UNIT));
    h.regions.set(r, 'id', id);
    h.regions.set(r, 'memdev', memdev);
    h.regions.set(r, 'edDpaStart', start);
    h.regions.set(r, 'size', bytes);
    h.regions.set(r, 'hpaStart', hpa256 * HPA_UNIT);
    h.regions.set(r, 'nextExtentId', 0);
    h.regions.set(r, 'daxAlign', PMD_SIZE);
    // cxlr->cxlr_dax stays NULL until the cxl_region driver probes (cxl_region_probe)
    ctx.dmesg('info', memdevName(memdev), `region${id}: dynamic_ram_1 DPA 0x${start.toString(16)}+0x${bytes.toString(16)}`);
    return r;
  }));
}

/**
 * cxl_region_probe() → devm_cxl_add_dax_region() → cxl_dax_region_alloc() (region_dax.c): under
 * cxl_rwsem.region (read) kzalloc a NEW cxl_dax_region — an empty dc_extents xarray
 * (XA_FLAGS_ALLOC1), its own kref, an empty devres list — and set cxlr->cxlr_dax to it,
 * overwriting the pointer to the previous instance; device_add it (its own reference) and register
 * cxlr_dax_unregister as a devres action on the region device. Caller holds device_lock(cxlr).
 *
 * The previous instance (a `cxl disable-region` unregistered it) is freed only at its last put
 * (cxl_dax_region_release), and the tag groups an H14 teardown left on it pin it
 * (alloc_tag_group / free_tag_group, extent.c): those groups and their extents stay with the OLD
 * instance — its xarray, its devres list — which nothing walks again. The model keeps one region
 * record, so the instance is a generation (`cxlr_dax_gen`): the new instance starts with one
 * reference, the old one's remaining pins move to `oldDaxRefs`, and the old instance's extents
 * leave the region's list (docs/kernel-map.md H14). Returns 0 or a negative errno.
 */
export function cxl_region_probe(ctx: HostCtx, r: Handle): number {
  const h = ctx.host;
  assertHeld(h.cxlrLockFor(r));
  if (h.regions.load(r, 'regionBound')) return 0;
  // __driver_probe_device (drivers/base/dd.c) refuses a device device_del has killed: a probe
  // that lost the race with `cxl destroy-region` binds nothing
  if (h.regions.load(r, 'regionDead')) return ENODEV;
  withRead(h.cxlRegionRwsem, () => {
    const R = h.regions;
    R.store(r, 'extentsScanned', 0);
    R.store(r, 'driverBound', 0);
    R.store(r, 'probeState', PROBE_STATE.idle);
    R.set(r, 'daxRegion', 0);
    R.set(r, 'devresSeq', 0);
    R.set(r, 'seedDev', NO_HANDLE);
    // kzalloc + device_initialize: a new instance with one reference (device_add keeps it). Only
    // probes change the generation, and they are serialized by device_lock(cxlr): the exchange
    // below cannot lose a generation, and a racing pin or put CASes the count of the word it read
    const gen = (krefGen(R.load(r, 'cxlrDaxRefs')) + 1) & KREF_GEN_MASK;
    const prev = R.exchange(r, 'cxlrDaxRefs', gen * KREF_GEN_UNIT + 1);
    R.add(r, 'oldDaxRefs', prev & KREF_COUNT_MASK); // the previous instance's remaining pins (0 on the first probe)
    R.store(r, 'hasCxlrDax', 1); // cxlr->cxlr_dax = cxlr_dax
    detach_old_instance_extents(ctx, r, gen);
    ctx.emit({ type: 'region-probe', region: r, gen });
  });
  h.regions.store(r, 'regionBound', 1);
  return 0;
}

/** cxlrDaxRefs: bits 0–11 the kref of the current cxl_dax_region, bits 12–30 its generation */
const KREF_COUNT_MASK = 0xfff;
const KREF_GEN_UNIT = 0x1000;
const KREF_GEN_MASK = 0x7ffff;
function krefGen(w: number): number {
  return (w >>> 12) & KREF_GEN_MASK;
}

/** The generation of the cxl_dax_region instance cxlr->cxlr_dax points at now (0: none yet). */
export function cxlr_dax_gen(ctx: HostCtx, r: Handle): number {
  const R = ctx.host.regions;
  return krefGen(R.loadRef(r, R.f.cxlrDaxRefs));
}

/**
 * The re-probe's new instance starts with an empty dc_extents xarray (cxl_dax_region_alloc): the
 * previous instance's extents — H14's orphans, or an extent still held open — leave the region's
 * list, so no walk of the new instance (classify, cxl_rm_extent, the recovery scan, sysfs) meets
 * them. Their records, tag registrations and group pins stay (on the old instance). Each is
 * unlinked under the extents' table lock (the xarray's xa_lock), re-checked live there: a held
 * extent's last put may free it concurrently.
 */
function detach_old_instance_extents(ctx: HostCtx, r: Handle, gen: number): void {
  const X = ctx.host.extents;
  for (const e of ctx.host.regionExtentList.members(r)) {
    X.lock();
    try {
      if (X.isLive(e) && X.get(e, 'daxGen') !== gen) ctx.host.regionExtentList.unlinkLocked(X.indexOf(e));
    } finally {
      X.unlock();
    }
  }
}

/**
 * Link a new dc_extent to its region's list (cxl_add_extent; online_tag_group's xa_alloc puts it
 * in group->cxlr_dax->dc_extents). A chain whose group was allocated on the previous instance
 * can add a member after a re-probe replaced it (cxl_add_extent and cxl_dax_region_alloc both
 * hold cxl_rwsem.region for READ only): that member belongs to the old instance, so it is unlinked
 * again when the generation moved — whether the re-probe's detach walk ran before or after the
 * link, one of the two removes it.
 */
export function cxlr_dax_link_extent(ctx: HostCtx, region: Handle, e: ExtentHandle): void {
  const h = ctx.host;
  h.regionExtentList.link(region, e);
  if (h.regions.isLive(region) && h.extents.getRef(e, h.extents.f.daxGen) !== cxlr_dax_gen(ctx, region)) {
    detach_old_instance_extents(ctx, region, cxlr_dax_gen(ctx, region));
  }
}

/**
 * get_device(&cxlr_dax->dev) — alloc_tag_group's pin (extent.c) on the instance of generation
 * `gen` (the cxlr->cxlr_dax cxl_validate_extent read). If a re-probe replaced it since, the pin is
 * the old instance's.
 */
export function cxlr_dax_get(ctx: HostCtx, r: Handle, gen: number): void {
  krefAdd(ctx, r, gen, 1);
}

/**
 * put_device(&cxlr_dax->dev) on the instance of generation `gen`: the last reference frees it
 * (cxl_dax_region_release, region_dax.c). A put on an instance a re-probe replaced drops one of
 * `oldDaxRefs`, never the current instance's count (an old group's free_tag_group, H14).
 */
export function cxlr_dax_put(ctx: HostCtx, r: Handle, gen: number): void {
  if (!ctx.host.regions.isLive(r)) return; // the region went first (the kernel frees cxlr_dax independently)
  krefAdd(ctx, r, gen, -1);
}

function krefAdd(ctx: HostCtx, r: Handle, gen: number, d: number): void {
  const R = ctx.host.regions;
  for (;;) {
    const w = R.loadRef(r, R.f.cxlrDaxRefs);
    if (krefGen(w) !== gen) {
      R.addRef(r, R.f.oldDaxRefs, d);
      return;
    }
    const n = (w & KREF_COUNT_MASK) + d;
    if (n < 0 || n > KREF_COUNT_MASK) throw new Error(`region${R.get(r, 'id')}: cxl_dax_region kref out of range (${n})`);
    if (R.casRef(r, R.f.cxlrDaxRefs, w, w - (w & KREF_COUNT_MASK) + n) === w) return;
  }
}

/**
 * A dereference of cxlr->cxlr_dax: true while the cxl_dax_region is allocated. v11 never clears
 * the pointer (cxlr_dax_unregister, region_dax.c), so after `cxl disable-region` it dangles once
 * the instance's last reference is gone (the device's own and every tag group's pin): the model
 * reports the use-after-free (H16) and the caller takes its "no dax region" path. Only the
 * current instance's count is read: a replaced instance's pins never keep a new one alive or
 * free it.
 */
export function cxlr_dax_alive(ctx: HostCtx, r: Handle, memdev: number): boolean {
  const R = ctx.host.regions;
  if (!R.loadRef(r, R.f.hasCxlrDax) || (R.loadRef(r, R.f.cxlrDaxRefs) & KREF_COUNT_MASK) > 0) return true;
  ctx.emit({ type: 'use-after-free', memdev, extent: r, site: UAF_SITE.cxlrDax });
  ctx.dmesg('err', `region${R.get(r, 'id')}`, 'BUG: use-after-free: cxlr->cxlr_dax points at a freed cxl_dax_region (cxlr_dax_unregister leaves it set)');
  return false;
}

/**
 * Unbind the cxl_region driver (`cxl disable-region`; the first half of destroy). Caller holds
 * device_lock(cxlr). Its devres action cxlr_dax_unregister → device_unregister(&cxlr_dax->dev):
 * device_del unbinds the cxl_dax_region driver under device_lock(cxlr_dax) (the teardown,
 * without cxl_rwsem.region), then releases any devres left on the unbound device (device_del's
 * own devres_release_all, drivers/base/core.c), then put_device drops the device's reference.
 * cxlr->cxlr_dax is NOT cleared (v11 region_dax.c cxlr_dax_unregister).
 */
export function cxl_region_disable(ctx: HostCtx, r: Handle): number {
  const h = ctx.host;
  assertHeld(h.cxlrLockFor(r));
  if (!h.regions.load(r, 'regionBound')) return 0; // device_release_driver: no driver, nothing to do
  withLock(h.regionLockFor(r), () => {
    // device_del → kill_device (dev->p->dead, under device_lock) before bus_remove_device unbinds
    // the driver (drivers/base/core.c): from here no bind can probe cxlr_dax again — the probe
    // checks it under the same lock (startDaxBus probeOne, as __driver_probe_device does). The
    // model cleared it only after device_del's devres_release_all, and a dax-bus bind in between
    // re-probed a device being deleted (bench:find's rcu=on control, ninth session)
    h.regions.store(r, 'regionBound', 0);
    if (h.regions.load(r, 'driverBound')) cxl_dax_region_unbind(ctx, r);
  });
  devres_release_all(ctx, r); // device_del: devres added while the driver was unbound
  cxlr_dax_put(ctx, r, cxlr_dax_gen(ctx, r)); // device_unregister's put: the instance probed last
  ctx.dmesg('info', regionName(ctx, r), 'cxl_region driver unbound (cxlr->cxlr_dax left set)');
  return 0;
}

/**
 * `cxl destroy-region`: unregister_region — the region driver's unbind under device_lock(cxlr)
 * (the extents are torn down there, WITHOUT cxl_rwsem.region), then the targets are detached and
 * the region freed under cxl_rwsem.region (write).
 */
export function cxl_destroy_region(ctx: HostCtx, r: Handle): void {
  const h = ctx.host;
  withLock(h.cxlrLockFor(r), () => {
    // unregister_region (region.c) → device_del(&cxlr->dev): kill_device under device_lock(cxlr)
    // (drivers/base/core.c) before bus_remove_device unbinds the driver, so a driver probe that
    // comes after this (the dax-bus's async probe of a just-created region) is refused. Without
    // it the model let such a probe bind the region between this unbind and the free below, and a
    // chain's tag group was onlined onto a region freed with no teardown (a forbidden
    // tag-registration-leaked in bench:find's rcu=on control, tenth session)
    h.regions.store(r, 'regionDead', 1);
    cxl_region_disable(ctx, r);
  });
  withWrite(h.cxlRegionRwsem, () => {
    h.regions.store(r, 'hasCxlrDax', 0);
    h.regions.free(r);
  });
}
