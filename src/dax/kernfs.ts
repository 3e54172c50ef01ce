/**
 * DOC: kernfs active references of the DAX sysfs attributes (fs/kernfs/dir.c, fs/kernfs/file.c;
 * docs/kernel-map.md#h21, #h22).
 *
 * Every sysfs store and show runs inside an active reference of its attribute's kernfs_node:
 * kernfs_fop_write_iter / kernfs_seq_show call kernfs_get_active() around the callback, which
 * fails once the node is deactivated (the write returns -ENODEV). Removing the attribute
 * (sysfs_remove_groups, device_del → device_remove_attrs → __kernfs_remove) first deactivates
 * every node of the subtree, then kernfs_drain() waits, node by node, until no active reference
 * is left. For lockdep the reference is a read acquisition of kn->dep_map (rwsem_acquire_read in
 * kernfs_get_active) and the drain a write acquisition (rwsem_acquire in kernfs_drain), so a
 * store that takes a lock the remover holds is an ordinary lock-order cycle — and a deadlock.
 *
 * The model: one rwsem per attribute node (src/host/state.ts, classes `kn->active(ATTR)` in
 * src/shm/lock-classes.ts — one class per attribute, as sysfs keys kn->dep_map by the attribute),
 * and a state word per owner record (`knState`: the dax_region group on the region record, the
 * dev_dax attributes on the dax device record): 1 active, 2 deactivated.
 *  - sysfs_op (kernfs_get_active + the callback + kernfs_put_active): deactivated → -ENODEV;
 *    else take the node for read, re-check (a drain that started meanwhile wins: drop, -ENODEV),
 *    run the callback, release. A record with no node (0: a region whose dax_region was never
 *    allocated or is gone) runs the callback unwrapped, which answers as it did before (its own
 *    "no dax_region" check). The kernel's reference never blocks; the model's read can wait only
 *    while a drain that began after its first check holds the node, then fails the re-check.
 *  - kernfs_drain: the caller deactivated the node; with no active reference the kernel skips
 *    the drain and its lockdep annotation ("Skip draining if already fully drained"), and so does
 *    the model; else it takes the node for write — waiting for the readers, recording the
 *    dependency held → kn->active — and releases it.
 * The mapping devices (`mappingN`, children of a dev_dax; src/dax/mapping.ts) have their own
 * three nodes (start, end, page_offset) and state word on the mapping record. device_del of a
 * dev_dax removes its kobject's directory, and __kernfs_remove deactivates and drains the whole
 * subtree — the attributes of a mapping child still registered included (fs/kernfs/dir.c
 * kernfs_remove; kernfs_dev_remove below).
 * Not modelled: the kernfs_rwsem dropped around the drain, open-file draining (sysfs attributes
 * have no mmap or release), show attributes the model never reads (id, size, align, ...).
 */
import { downRead, rwsemState, upRead, withWrite } from '../shm/lock.js';
import { CxlError } from '../errors.js';
import type { Handle } from '../shm/table.js';
import type { HostCtx } from '../host/context.js';
import type { KnAttr } from '../host/state.js';

export const KN_NONE = 0;
export const KN_ACTIVE = 1;
export const KN_DEACTIVATED = 2;

/**
 * kernfs_get_active → fn → kernfs_put_active on node `kn`, whose owner's state `state()` reads.
 * Throws ENODEV when the node is deactivated (kernfs_fop_write_iter's -ENODEV).
 */
function kernfs_active<T>(kn: number, state: () => number, what: string, fn: () => T): T {
  const s = state();
  if (s === KN_NONE) return fn();
  if (s !== KN_ACTIVE) throw new CxlError('ENODEV', `${what}: the attribute is being removed (kernfs_get_active failed)`);
  downRead(kn);
  try {
    // atomic_inc_unless_negative: a deactivation ordered before our reference makes it fail
    if (state() !== KN_ACTIVE) throw new CxlError('ENODEV', `${what}: the attribute is being removed (kernfs_get_active failed)`);
    return fn();
  } finally {
    upRead(kn);
  }
}

/** A store or show of a dax_region attribute of `region` (the group on cxlr_dax's device). */
export function sysfs_region_op<T>(ctx: HostCtx, region: Handle, attr: KnAttr, fn: () => T): T {
  const h = ctx.host;
  return kernfs_active(h.knRegionLockFor(region, attr), () => h.regions.load(region, 'knState'), `dax_region/${attr}`, fn);
}

/** A store or show of a dev_dax attribute of `dev`. A freed device: the callback answers (stale). */
export function sysfs_dev_op<T>(ctx: HostCtx, dev: Handle, attr: KnAttr, fn: () => T): T {
  const h = ctx.host;
  if (!h.daxDevs.isLive(dev)) return fn();
  return kernfs_active(h.knDevLockFor(dev, attr), () => h.daxDevs.load(dev, 'knState'), attr, fn);
}

/** A show of a mappingN attribute of mapping `m` (kernfs_seq_show's active reference). */
export function sysfs_map_op<T>(ctx: HostCtx, m: Handle, attr: KnAttr, fn: () => T): T {
  const h = ctx.host;
  if (!h.daxMaps.isLive(m)) throw new CxlError('ENODEV', `mapping/${attr}: the device is gone`);
  return kernfs_active(h.knMapLockFor(m, attr), () => h.daxMaps.load(m, 'knState'), `mapping/${attr}`, fn);
}

/**
 * kernfs_drain(kn) of a node already deactivated: wait until its active references are gone.
 * No reference now → nothing to wait for and no lockdep annotation (fs/kernfs/dir.c: "Skip
 * draining if already fully drained"); else the write acquisition records held → kn->active.
 */
export function kernfs_drain(ctx: HostCtx, kn: number): void {
  if (rwsemState(ctx.sys, kn).readers === 0) return;
  withWrite(kn, () => undefined);
}

/** sysfs_create_groups(&cxlr_dax->dev.kobj, dax_region_attribute_groups) in alloc_dax_region. */
export function kernfs_region_activate(ctx: HostCtx, region: Handle): void {
  ctx.host.regions.store(region, 'knState', KN_ACTIVE);
}

/**
 * sysfs_remove_groups(&dax_region->dev->kobj, dax_region_attribute_groups) in
 * dax_region_unregister (drivers/dax/bus.c): deactivate the group's nodes, drain each, and the
 * nodes are gone.
 */
export function kernfs_region_remove(ctx: HostCtx, region: Handle): void {
  const h = ctx.host;
  if (h.regions.load(region, 'knState') !== KN_ACTIVE) return;
  h.regions.store(region, 'knState', KN_DEACTIVATED);
  for (const a of ['create', 'delete', 'seed', 'available_size'] as const) kernfs_drain(ctx, h.knRegionLockFor(region, a));
  h.regions.store(region, 'knState', KN_NONE);
}

/** device_add of a dev_dax: its attribute files exist (active). */
export function kernfs_dev_activate(ctx: HostCtx, dev: Handle): void {
  ctx.host.daxDevs.store(dev, 'knState', KN_ACTIVE);
}

/**
 * device_del(dev_dax) → device_remove_attrs → sysfs_remove_groups(dev_dax_attribute_groups):
 * deactivate the device's nodes and drain each (before bus_remove_device unbinds the driver).
 */
export function kernfs_dev_remove(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  if (h.daxDevs.load(dev, 'knState') !== KN_ACTIVE) return;
  h.daxDevs.store(dev, 'knState', KN_DEACTIVATED);
  // kobject_del → sysfs_remove_dir → kernfs_remove(dev's directory): the subtree goes too — the
  // nodes of a mappingN child still registered (its unregister_dax_mapping has not run: H28)
  // are deactivated with the device's own and drained in the same removal
  const M = h.daxMaps;
  const kids: Handle[] = [];
  for (const m of M.live()) if (M.peek(m, 'dev') === dev && M.peek(m, 'knState') === KN_ACTIVE) { M.store(m, 'knState', KN_DEACTIVATED); kids.push(m); }
  for (const a of ['uuid', 'size'] as const) kernfs_drain(ctx, h.knDevLockFor(dev, a));
  for (const m of kids) for (const a of MAP_ATTRS) kernfs_drain(ctx, h.knMapLockFor(m, a));
}

/** the attributes of a mapping device (drivers/dax/bus.c dax_mapping_attributes) */
export const MAP_ATTRS = ['start', 'end', 'page_offset'] as const;

/** device_add of a mappingN: its attribute files exist (dax_mapping_type's groups). */
export function kernfs_map_activate(ctx: HostCtx, m: Handle): void {
  ctx.host.daxMaps.store(m, 'knState', KN_ACTIVE);
}

/**
 * device_del(mapping) → device_remove_attrs (and kobject_del of its directory): deactivate the
 * mapping's start, end and page_offset nodes and drain each — in the caller's locks: size_store's
 * dax_region_rwsem(W) and dax_dev_rwsem(W) on dev_dax_shrink's path (H27). Nothing to do when
 * its parent's device_del already removed the subtree.
 */
export function kernfs_map_remove(ctx: HostCtx, m: Handle): void {
  const h = ctx.host;
  if (h.daxMaps.load(m, 'knState') !== KN_ACTIVE) return;
  h.daxMaps.store(m, 'knState', KN_DEACTIVATED);
  for (const a of MAP_ATTRS) kernfs_drain(ctx, h.knMapLockFor(m, a));
}
