/**
 * DOC: every lock class of the model, by the kernel's name (docs/kernel-map.md).
 *
 * Lockdep reasons about classes, not instances: every memdev's `event.log_lock` is one class.
 * The table is a constant compiled into every thread, so class ids agree everywhere. The lock
 * checker (lockdep.ts) and the statistics (lockstat.ts) know every class through this table.
 */
export const LOCK_CLASS_NAMES = [
  /** per memdev: one log drain (Get -> handle each -> Clear) */
  'event.log_lock',
  /** per memdev: pending_extents, nr_pending, armed, group; held across a whole chain close */
  'add_ctx.lock',
  /** global rwsem: region topology (cxl_rwsem.region) */
  'cxl_rwsem.region',
  /** global rwsem: DPA space (cxl_rwsem.dpa) */
  'cxl_rwsem.dpa',
  /** global mutex: the host-wide tag registry (cxl_tag_groups) */
  'cxl_tag_lock',
  /** per DC region: the cxl_region device's lock (region driver bind/unbind, teardown's outer lock) */
  'device_lock(cxlr)',
  /** per DC region: serialises notify with cxl_dax_region bind/unbind and probe */
  'device_lock(cxlr_dax)',
  /** per dax device: the dev_dax device lock (bind/unbind of the device_dax driver, delete_store) */
  'device_lock(dev_dax)',
  /** global rwsem: dax_region resource trees, dax_resources, use_cnt */
  'dax_region_rwsem',
  /** global rwsem: dev_dax configuration (ranges) */
  'dax_dev_rwsem',
  /** per memdev: one mailbox command at a time */
  'mbox_mutex',
  /** per xarray / record table: insert and erase (the xarray's internal xa_lock) */
  'xa_lock',
  /** per device: the device model's own state (FM API vs mailbox) */
  'device.state',
  /**
   * kernfs active references (fs/kernfs/dir.c kernfs_get_active / kernfs_drain), one class per
   * sysfs attribute as the kernel's lockdep has them (sysfs_add_file_mode_ns keys kn->dep_map by
   * the attribute). Per DC region, the dax_region group's attributes on cxlr_dax's device:
   */
  'kn->active(create)',
  'kn->active(delete)',
  'kn->active(seed)',
  'kn->active(available_size)',
  /** per dax device, the dev_dax attributes the model writes */
  'kn->active(uuid)',
  'kn->active(size)',
  /** per dax mapping device (mappingN, a child of a dev_dax), its three attributes
   *  (drivers/dax/bus.c dax_mapping_attributes; src/dax/mapping.ts) */
  'kn->active(start)',
  'kn->active(end)',
  'kn->active(page_offset)',
  /** the checker event ring's producer side (never nests with kernel locks) */
  'event_ring',
  // classes used by tests and benchmarks only
  'test.a',
  'test.b',
  'test.c',
  'test.counter',
] as const;

export type LockClassName = (typeof LOCK_CLASS_NAMES)[number];

export function lockClassId(name: LockClassName): number {
  return LOCK_CLASS_NAMES.indexOf(name);
}

export function lockClassName(id: number): string {
  return LOCK_CLASS_NAMES[id] ?? `class#${id}`;
}
