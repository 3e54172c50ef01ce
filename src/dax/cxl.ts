/**
 * DOC: dax cxl — the `cxl_dax_region` driver (drivers/dax/cxl.c in the series; host-kernel.md
 * §2.8, §5.1, §7.1–§7.4): its asynchronous probe, its remove, and the notify callback through
 * which the CXL core adds and releases tag groups.
 *
 * Probe (dax-bus worker, device_lock(cxlr_dax) held by the driver core): allocate the DC dax
 * region (PMD alignment, IORESOURCE_DAX_DCD), run the existing-extent scan, surface every tracked
 * group that has no resources yet, create the idle seed device of size 0, mark the driver bound.
 * A failed scan fails the probe: the driver stays unbound, extents_scanned stays false.
 *
 * Decision (rebind): extents added while the driver was unbound are host-tracked without DAX
 * resources (notify returns 0 with no driver); the next probe surfaces every such group, so
 * "rebind surfaces them". Remove tears down the dax region, its devices and resources, and —
 * devres on cxlr_dax being released at driver detach — unregisters every dc_extent, which sends
 * their Release DC to the device.
 */
import { assertHeld, withWrite } from '../shm/lock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import type { HostCtx } from '../host/context.js';
import { ERRNO_CODE } from '../protocol.js';
import { cxl_region_add_existing_extents, cxl_region_teardown_extents } from '../cxl/region.js';
import { groupMembers } from '../cxl/extent.js';
import {
  dax_region_add_resources, dax_region_rm_resources, dax_release_resource_locked, daxDevsOf,
  devm_create_dev_dax, rangesOf, type DaxResourceSpec,
} from './bus.js';

/** cxl_dax_region_notify(): DCD_ADD_CAPACITY / DCD_RELEASE_CAPACITY for one tag group. */
export function cxl_dax_region_notify(ctx: HostCtx, region: Handle, event: 'add' | 'release', g: Handle): number {
  const h = ctx.host;
  assertHeld(h.regionLockFor(region));
  const members = groupMembers(ctx, g);
  if (event === 'add') {
    const specs: DaxResourceSpec[] = members.map((e) => ({
      extent: e, start: h.extents.get(e, 'hpaOffset'), length: h.extents.get(e, 'length'), seq: h.extents.get(e, 'seq'),
    }));
    const rc = dax_region_add_resources(ctx, region, specs, h.groups.getUuid(g, 'uuid'));
    ctx.emit({ type: 'dax-group', region, group: g, n: specs.length, add: 1, rc: -rc });
    return rc;
  }
  // cxl_dax_group_rm() (drivers/dax/cxl.c): nothing to check when group->nr_extents reads 0, and
  // at most nr_extents members are checked — the plain counter H6 can lose a decrement of, so an
  // in-use member past the count is never looked at (X4)
  const nr = h.groups.get(g, 'nrExtents');
  if (nr <= 0) {
    ctx.emit({ type: 'dax-group', region, group: g, n: 0, add: 0, rc: 0 });
    return 0;
  }
  const walked = members.slice(0, nr);
  const rc = dax_region_rm_resources(ctx, walked);
  ctx.emit({ type: 'dax-group', region, group: g, n: walked.length, add: 0, rc: -rc });
  return rc;
}

/** dax_release_resource(): the devm action on a dc_extent device. */
export function dax_release_resource(ctx: HostCtx, e: Handle): void {
  const h = ctx.host;
  if (h.extents.get(e, 'daxRes') === NO_HANDLE) return;
  withWrite(h.daxRegionRwsem, () => dax_release_resource_locked(ctx, e));
}

/** Groups tracked on the region with no DAX resources (added while the driver was unbound). */
function unsurfacedGroups(ctx: HostCtx, region: Handle): Handle[] {
  const X = ctx.host.extents;
  const gs = new Set<Handle>();
  for (const e of X.live()) {
    // peek: other memdevs' threads free their extents concurrently
    if (X.peek(e, 'region') !== region || !X.peek(e, 'registered') || X.peek(e, 'daxRes') !== NO_HANDLE) continue;
    const g = X.peek(e, 'group');
    if (g !== undefined) gs.add(g);
  }
  return [...gs].filter((g) => ctx.host.groups.isLive(g));
}

/**
 * cxl_dax_region_probe(): called with device_lock(cxlr_dax) held (the dax-bus worker takes it,
 * as the driver core does around probe). Returns 0 or a negative errno.
 */
export function cxl_dax_region_probe(ctx: HostCtx, region: Handle): number {
  const h = ctx.host;
  assertHeld(h.regionLockFor(region));
  if (h.regions.load(region, 'driverBound')) return 0;
  h.regions.store(region, 'probeState', 1);
  withWrite(h.daxRegionRwsem, () => {
    if (!h.regions.get(region, 'daxRegion')) {
      h.regions.store(region, 'daxRegion', 1); // alloc_dax_region(align = PMD_SIZE, IORESOURCE_DAX_DCD)
    }
  });
  const scan = cxl_region_add_existing_extents(ctx, region);
  if (scan.rc) {
    h.regions.store(region, 'probeState', 3);
    ctx.dmesg('err', `region${h.regions.get(region, 'id')}`, `cxl_dax_region probe failed: existing extents scan: ${scan.rc}`);
    return scan.rc;
  }
  h.regions.store(region, 'driverBound', 1);
  for (const g of unsurfacedGroups(ctx, region)) {
    const rc = cxl_dax_region_notify(ctx, region, 'add', g);
    if (rc) ctx.dmesg('warn', `region${h.regions.get(region, 'id')}`, `surfacing tracked group failed: ${rc}`);
  }
  withWrite(h.daxRegionRwsem, () => {
    const seed = h.regions.get(region, 'seedDev');
    if (seed === NO_HANDLE || !h.daxDevs.isLive(seed)) h.regions.set(region, 'seedDev', devm_create_dev_dax(ctx, region));
  });
  h.regions.store(region, 'probeState', 2);
  return 0;
}

/**
 * cxl_dax_region_remove() + devres release on cxlr_dax: destroy the dax devices and resources,
 * then unregister every dc_extent (Release DC each, regardless of use counts). Called with
 * device_lock(cxlr_dax) held.
 */
export function cxl_dax_region_remove(ctx: HostCtx, region: Handle): number {
  const h = ctx.host;
  assertHeld(h.regionLockFor(region));
  if (!h.regions.load(region, 'driverBound')) return -ERRNO_CODE.ENXIO!;
  h.regions.store(region, 'driverBound', 0);
  withWrite(h.daxRegionRwsem, () => withWrite(h.daxDevRwsem, () => {
    for (const d of daxDevsOf(ctx, region)) {
      for (const g of rangesOf(ctx, d)) {
        const r = h.daxRanges.get(g, 'res');
        if (h.daxRes.isLive(r)) h.daxRes.set(r, 'useCnt', h.daxRes.get(r, 'useCnt') - 1);
        h.daxRanges.free(g);
      }
      h.daxDevs.free(d);
    }
    h.regions.set(region, 'seedDev', NO_HANDLE);
    h.regions.set(region, 'nextDaxId', 0);
    for (const r of [...h.daxRes.live()]) {
      if (h.daxRes.get(r, 'region') !== region) continue;
      const e = h.daxRes.get(r, 'extent');
      if (h.extents.isLive(e)) h.extents.set(e, 'daxRes', NO_HANDLE);
      h.daxRes.free(r);
    }
    h.regions.store(region, 'daxRegion', 0);
  }));
  const n = cxl_region_teardown_extents(ctx, region);
  h.regions.store(region, 'probeState', 4);
  ctx.dmesg('info', `region${h.regions.get(region, 'id')}`, `cxl_dax_region unbound; ${n} extents released`);
  return 0;
}
