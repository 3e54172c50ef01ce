/**
 * DOC: dax mapping devices — the `mappingN` children of a dev_dax, one per range (drivers/dax/bus.c
 * devm_register_dax_mapping, unregister_dax_mapping, dax_mapping_release, get_dax_range,
 * start_show / end_show / pgoff_show; docs/fidelity-mapping.md, docs/kernel-map.md H27, H28).
 *
 * Read in the stored drivers/dax/bus.c of anisa-su993/anisa-linux-kernel (the index holds it at a
 * later commit than v11's f5e075e2 only; this code is the generic dax-bus code the series builds
 * on and does not touch):
 *  - alloc_dev_dax_range (every range a claim or a resize carves, under dax_region_rwsem(W)) ends,
 *    once the dev_dax is registered, in devm_register_dax_mapping: a dax_mapping device named
 *    mapping<ida_alloc(&dev_dax->ida)>, parent the dev_dax (get_device), device_add (its
 *    attributes start, end, page_offset appear), then devm_add_action_or_reset(dax_region->dev,
 *    unregister_dax_mapping, dev) — an action on cxlr_dax's devres list, like unregister_dev_dax;
 *  - unregister_dax_mapping: ranges[range_id].mapping = NULL, range_id = -1, device_unregister —
 *    no lock of its own: dev_dax_shrink calls it (through devm_release_action) under size_store's
 *    dax_region_rwsem(W) and dax_dev_rwsem(W); a cxl_dax_region unbind's devres_release_all calls
 *    it with device_lock(cxlr_dax) only;
 *  - dax_mapping_release (the last put): ida_free, put_device(parent);
 *  - every show goes through get_dax_range: down_write_killable(&dax_region_rwsem) (a WRITE,
 *    killable acquisition — not a read), -ENXIO when range_id < 0, then the range's value, then
 *    put_dax_range's up_write. It runs inside the attribute's kernfs active reference.
 *
 * So device_del(mapping) under dax_region_rwsem(W) (size_store → dev_dax_shrink) waits for a show
 * that holds its active reference and waits for dax_region_rwsem: H27, a deadlock until the
 * reader is killed. And devm_release_action finds nothing once a devres_release_all has taken
 * cxlr_dax's list (it WARNs and does not run the action): the mapping outlives its range and the
 * teardown's later unregister_dax_mapping writes ranges[range_id] of an emptied ranges array:
 * H28. The dev_dax in the model is freed at unregister_dev_dax; the kernel's survives on the
 * mapping's parent reference with ranges NULL — the write faults either way.
 */
import { assertHeldWrite, withWrite } from '../shm/lock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { CxlError, ENOMEM, ENXIO, StaleHandleError } from '../errors.js';
import { UAF_SITE } from '../protocol.js';
import type { HostCtx } from '../host/context.js';
import { kernfs_map_activate, kernfs_map_remove, sysfs_map_op } from './kernfs.js';

export type MapAttr = 'start' | 'end' | 'page_offset';

/** the ranges of `dev` in index order (dev_dax->ranges[0..nr_range)) */
function rangesOfDev(ctx: HostCtx, dev: Handle): Handle[] {
  const G = ctx.host.daxRanges;
  const out: Handle[] = [];
  for (const g of G.live()) if (G.peek(g, 'dev') === dev) out.push(g);
  out.sort((a, b) => G.get(a, 'order') - G.get(b, 'order'));
  return out;
}

/** ida_alloc(&dev_dax->ida): the lowest id no mapping of `dev` holds (freed by dax_mapping_release). */
function mapping_ida_alloc(ctx: HostCtx, dev: Handle): number {
  const M = ctx.host.daxMaps;
  const used = new Set<number>();
  for (const m of M.live()) if (M.peek(m, 'dev') === dev) used.add(M.get(m, 'id'));
  let id = 0;
  while (used.has(id)) id++;
  return id;
}

/**
 * devm_register_dax_mapping(dev_dax, range_id) (drivers/dax/bus.c), from alloc_dev_dax_range with
 * dax_region_rwsem held for write. The region's driver gone → dev_WARN_ONCE, -ENXIO. Returns 0 or
 * a negative errno (the caller trims the range, as alloc_dev_dax_range does).
 */
export function devm_register_dax_mapping(ctx: HostCtx, dev: Handle, g: Handle): number {
  const h = ctx.host;
  assertHeldWrite(h.daxRegionRwsem);
  const region = h.daxDevs.get(dev, 'region');
  if (!h.regions.load(region, 'driverBound')) {
    ctx.dmesg('warn', `dax${h.regions.get(region, 'id')}.${h.daxDevs.get(dev, 'id')}`, 'WARNING: region disabled (devm_register_dax_mapping)');
    return ENXIO;
  }
  const M = h.daxMaps;
  const id = mapping_ida_alloc(ctx, dev); // before the new record is on the table's live list
  const m = M.alloc();
  if (m === NO_HANDLE) return ENOMEM;
  M.set(m, 'dev', dev);
  M.set(m, 'region', region);
  M.set(m, 'id', id);
  M.set(m, 'rangeId', h.daxRanges.get(g, 'order'));
  h.daxRanges.set(g, 'mapping', m); // dev_dax->ranges[range_id].mapping = mapping
  M.store(m, 'registered', 1);
  kernfs_map_activate(ctx, m); // device_add: dax_mapping_type's attribute group
  // devm_add_action_or_reset(dax_region->dev, unregister_dax_mapping, dev): on cxlr_dax's list
  M.store(m, 'devres', h.regions.add(region, 'devresSeq', 1));
  return 0;
}

/**
 * unregister_dax_mapping(dev) (drivers/dax/bus.c): dev_dax->ranges[mapping->range_id].mapping =
 * NULL; mapping->range_id = -1; device_unregister(dev) — device_del drains start, end and
 * page_offset (kernfs_map_remove) in whatever locks the caller holds, then the put releases it
 * (dax_mapping_release: ida_free, put_device(parent)). A range_id at or past the parent's
 * nr_range — its ranges trimmed (dev_dax_shrink's devm_release_action found no action: the list
 * was taken) or freed (unregister_dev_dax ran first) — is the write into an emptied array (H28):
 * reported as a use-after-free, and the model goes on; so is a range_id that now indexes a newer
 * range (the write clears that range's mapping pointer).
 */
export function unregister_dax_mapping(ctx: HostCtx, m: Handle): void {
  const h = ctx.host;
  const M = h.daxMaps;
  const dev = M.get(m, 'dev');
  const rid = M.get(m, 'rangeId');
  let g: Handle = NO_HANDLE;
  try {
    if (h.daxDevs.isLive(dev) && rid >= 0) g = rangesOfDev(ctx, dev)[rid] ?? NO_HANDLE;
  } catch (e) {
    if (!(e instanceof StaleHandleError)) throw e;
  }
  // a teardown's action holds no dax_region_rwsem: a size_store trimming the same ranges under it
  // (H28 path a) can free the range under this write — the kernel's write into a kfree'd array
  // ranges[range_id] can also be a NEWER range carved after this one was trimmed (a claim rollback
  // trims without unregistering, then a claim carves again): the write clears that range's
  // mapping pointer instead, and its own mapping is then left behind the same way — H28 too
  let stale = g === NO_HANDLE;
  if (!stale) {
    try {
      if (h.daxRanges.get(g, 'mapping') !== m) stale = true;
      h.daxRanges.set(g, 'mapping', NO_HANDLE);
    } catch (e) {
      if (!(e instanceof StaleHandleError)) throw e;
      stale = true;
    }
  }
  if (stale) staleRange(ctx, m, rid, 'unregister_dax_mapping writes');
  M.store(m, 'rangeId', -1);
  // device_unregister → device_del: the attribute nodes are drained here, in the caller's locks
  M.store(m, 'registered', 0);
  kernfs_map_remove(ctx, m);
  // put_device: the last reference (no other holder is modelled) → dax_mapping_release
  M.free(m);
}

/** H28: a mapping whose range_id indexes past its dev_dax's ranges (trimmed, or freed). */
function staleRange(ctx: HostCtx, m: Handle, rid: number, what: string): void {
  const h = ctx.host;
  const region = h.daxMaps.get(m, 'region');
  const memdev = h.regions.isLive(region) ? h.regions.get(region, 'memdev') : -1;
  ctx.emit({ type: 'use-after-free', memdev, extent: m, site: UAF_SITE.daxMappingStale });
  ctx.dmesg('err', `mapping${h.daxMaps.get(m, 'id')}`, `BUG: ${what} dev_dax->ranges[${rid}] past nr_range (the range was trimmed or freed while its mapping stayed registered)`);
}

/**
 * devm_release_action(dax_region->dev, unregister_dax_mapping, &mapping->dev) as dev_dax_shrink
 * calls it (drivers/base/devres.c: devres_release → devres_remove under devres_lock; not found →
 * WARN_ON(-ENOENT) and the action does not run). Not found when `m` is none (ranges[i].mapping
 * already NULL), its action already ran, or a devres_release_all has taken cxlr_dax's list
 * (`devresTaken`): the mapping stays registered with its range about to be trimmed (H28).
 */
export function devm_release_dax_mapping(ctx: HostCtx, region: Handle, m: Handle): void {
  const h = ctx.host;
  const M = h.daxMaps;
  const ord = m !== NO_HANDLE && M.isLive(m) ? (M.peek(m, 'devres') ?? 0) : 0;
  const taken = h.regions.load(region, 'devresTaken');
  if (ord > 0 && (taken === 0 || ord > taken) && claimAction(ctx, m, ord)) {
    unregister_dax_mapping(ctx, m);
    return;
  }
  ctx.dmesg('warn', `region${h.regions.get(region, 'id')}`, `WARNING: devm_release_action: no unregister_dax_mapping action for ${m !== NO_HANDLE && M.isLive(m) ? `mapping${M.get(m, 'id')}` : 'a NULL mapping'}${ord > 0 ? ' (a devres_release_all took the list)' : ''}`);
}

/**
 * Take the action of ordinal `ord` off whichever list holds it (devres_remove / release_nodes):
 * true for the one thread that gets it; false when it ran already or the mapping is gone.
 */
function claimAction(ctx: HostCtx, m: Handle, ord: number): boolean {
  try {
    return ctx.host.daxMaps.cas(m, 'devres', ord, 0) === ord;
  } catch (e) {
    if (e instanceof StaleHandleError) return false; // released by the other thread meanwhile
    throw e;
  }
}

/**
 * The mappings whose unregister_dax_mapping action is on `region`'s cxlr_dax devres list with an
 * ordinal at or below `upTo` (devres_release_all's snapshot; src/dax/cxl.ts): [ordinal, run].
 * The action runs only if no devm_release_action removed it meanwhile (cas of the ordinal).
 */
export function mappingDevresActions(ctx: HostCtx, region: Handle, upTo: number): { ord: number; run: () => void }[] {
  const M = ctx.host.daxMaps;
  const out: { ord: number; run: () => void }[] = [];
  for (const m of M.live()) {
    if (M.peek(m, 'region') !== region) continue;
    const ord = M.peek(m, 'devres') ?? 0;
    if (ord > 0 && ord <= upTo) out.push({ ord, run: () => { if (claimAction(ctx, m, ord)) unregister_dax_mapping(ctx, m); } });
  }
  return out;
}

/** Has any mapping of `region` an unregister_dax_mapping action installed? (really_probe's devres check) */
export function mappingDevresPresent(ctx: HostCtx, region: Handle): boolean {
  const M = ctx.host.daxMaps;
  for (const m of M.live()) if (M.peek(m, 'region') === region && (M.peek(m, 'devres') ?? 0) > 0) return true;
  return false;
}

/** The mapping `mappingN` of dev_dax `dev` (a sysfs lookup: a walk of its children, no lock), or NO_HANDLE. */
export function dax_mapping_by_id(ctx: HostCtx, dev: Handle, n: number): Handle {
  const M = ctx.host.daxMaps;
  for (const m of M.live()) {
    try {
      if (M.peek(m, 'dev') === dev && M.peek(m, 'registered') === 1 && M.get(m, 'id') === n) return m;
    } catch (e) {
      if (!(e instanceof StaleHandleError)) throw e;
    }
  }
  return NO_HANDLE;
}

/**
 * start_show / end_show / pgoff_show (drivers/dax/bus.c) as sysfs runs them: inside the node's
 * kernfs active reference, get_dax_range takes dax_region_rwsem with down_write_killable; a
 * mapping already unregistered (range_id < 0) → -ENXIO; else the value ("%#llx" / "%#lx": the
 * model answers numbers — start and end as HPA offsets within the region, as the model's ranges
 * carry them; page_offset in pages), then put_dax_range's up_write.
 */
export function dax_mapping_show(ctx: HostCtx, m: Handle, attr: MapAttr): number {
  const h = ctx.host;
  return sysfs_map_op(ctx, m, attr, () => withWrite(h.daxRegionRwsem, () => {
    const M = h.daxMaps;
    const rid = M.isLive(m) ? M.get(m, 'rangeId') : -1;
    if (rid < 0) throw new CxlError('ENXIO', `mapping/${attr}: the mapping was unregistered (range_id -1)`);
    const dev = M.get(m, 'dev');
    const g = h.daxDevs.isLive(dev) ? rangesOfDev(ctx, dev)[rid] : undefined;
    // dev_dax->ranges[range_id] of a trimmed array: the kernel reads stale memory (H28's state)
    if (g === undefined) {
      staleRange(ctx, m, rid, `${attr === 'page_offset' ? 'pgoff' : attr}_show reads`);
      throw new CxlError('EFAULT', `mapping/${attr}: ranges[${rid}] is past the device's nr_range (H28)`);
    }
    const R = h.daxRanges;
    if (attr === 'start') return R.get(g, 'start');
    if (attr === 'end') return R.get(g, 'start') + R.get(g, 'length') - 1;
    return R.get(g, 'pgoff');
  }));
}
