/**
 * DOC: the host's kernel memory — every object the CXL driver and the DAX bus share between
 * threads, as record tables in SharedArrayBuffers, and the global locks that guard them.
 *
 * In Linux these are kmalloc'd structs reached from several contexts (the per-memdev event IRQ
 * thread, system_wq, the driver core's async probe, sysfs writers). Here each context is a worker
 * and each struct is a record in a table every worker maps; the lock that guards each field is
 * written beside it (docs/kernel-map.md). Who may touch what:
 *  - src/cxl/* (the CXL core: mbox, extent, region, memdev) owns memdevs, pending, groups, tags,
 *    extents and the CXL side of regions;
 *  - src/dax/* (the DAX bus) owns daxRes, daxDevs, daxRanges and the DAX side of regions;
 *  - the two meet only through the notify interface (src/cxl/notify.ts), as in Linux.
 */
import { RecordTable, TableList, type Handle, type TableHandle, type TableSchema } from '../shm/table.js';
import type { SystemShm } from '../shm/system.js';
import { lockClassId } from '../shm/lock-classes.js';

/** struct cxl_memdev_state (DC part) — one per memdev. */
export const MEMDEV_SCHEMA = {
  /** memdev index (memX) */
  idx: 'i32',
  /** mds->dcd_supported (set at probe; read-only afterwards) */
  dcdSupported: 'i32',
  /** the dynamic_ram_1 partition (partition 0 of the device): absolute DPA start */
  partBase: 'f64',
  /** partition size = decode_length × 256 MiB */
  partSize: 'f64',
  partLength: 'f64',
  blockSize: 'f64',
  /** from the CDAT DSMAS sharable flag */
  shareable: 'i32',
  /** event.log_lock: serialises one drain of the DC log */
  logLock: 'i32',
  /** add_ctx.lock: guards nrPending, armed, group, the pending list, timeout state */
  addLock: 'i32',
  /** the mailbox mutex: one command at a time */
  mboxLock: 'i32',
  /** add_ctx.nr_pending [add_ctx.lock] */
  nrPending: 'i32',
  /** add_ctx.armed: a More=1 chain is open [add_ctx.lock] */
  armed: 'i32',
  /** add_ctx.group: the cxl_dc_tag_group being assembled (handle) [add_ctx.lock] */
  group: 'i32',
  /** arrival counter for the pending list order [add_ctx.lock] */
  pendingSeq: 'i32',
  /** timeout_work queued (delayed_work_pending): 0, or the generation of the arm that queued it
   *  [add_ctx.lock; cleared by the workqueue's compare-exchange] */
  timeoutPending: 'i32',
  /** generation of the last mod_delayed_work: timeoutPending holds it while queued, so a dequeue
   *  that read a superseded expiry fails its compare-exchange [add_ctx.lock for writers] */
  timeoutGen: 'i32',
  /** when the queued timeout_work fires (clock ms) */
  timeoutDue: 'f64',
  /** timeout_work currently executing on the workqueue */
  timeoutRunning: 'i32',
  /** the last workqueue kick this memdev's kworker has fully processed (SYS_WQ_DONE follows the slowest) */
  wqDone: 'i32',
  /** bumped by an in-place reset (a new boot of the topology): the event thread allocates a fresh
   *  mds->event.buf, so no stale record of an earlier run survives into the next */
  bootGen: 'i32',
  /** count of DC records handled (diagnostics) */
  recordsHandled: 'i32',
  /** logical Add DC Responses sent (diagnostics / checkers) */
  responses: 'i32',
  /** event handler threads currently inside the drain (parallel-event-handlers knob) */
  drainers: 'i32',
  /** device log handle of the last record staged on the pending list, 0 if none [add_ctx.lock] */
  lastHandle: 'i32',
  /** add_ctx.pending_extents: head / tail of the memdev's staged list (HostState.pendingList) */
  pendHead: 'i32',
  pendTail: 'i32',
} as const satisfies TableSchema;

/** cxl_extent_list_node: a staged (kmemdup'd) extent on add_ctx.pending_extents. */
export const PENDING_SCHEMA = {
  memdev: 'i32',
  /** arrival order within the memdev's list */
  order: 'i32',
  startDpa: 'f64',
  length: 'f64',
  uuid: 'uuid',
  sharedSeq: 'i32',
  /** 1 when the extent's start/length were u64 values beyond 2^53 or wrapping (E1 fails) */
  wraps: 'i32',
  /** 1 when the wire start_dpa and length (u64, possibly beyond 2^53) are PMD_SIZE-aligned (G4) */
  pmdAligned: 'i32',
  /** links of the memdev's pending list (HostState.pendingList) [table lock] */
  listOwner: 'i32',
  listNext: 'i32',
  listPrev: 'i32',
} as const satisfies TableSchema;

/** struct cxl_region + struct cxl_dax_region (CXL side) + struct dax_region (DAX side). */
/** regions.probeState: where the cxl_dax_region driver's probe of the region stands */
export const PROBE_STATE = { idle: 0, probing: 1, probed: 2, failed: 3, unbound: 4 } as const;

export const REGION_SCHEMA = {
  /** region id (regionZ) */
  id: 'i32',
  memdev: 'i32',
  /** endpoint decoder DPA resource: absolute start and size */
  edDpaStart: 'f64',
  size: 'f64',
  /** region HPA start (model address space) */
  hpaStart: 'f64',
  /**
   * cxlr->cxlr_dax is set (cxl_dax_region_alloc, in the region driver's probe) [cxl_rwsem.region].
   * v11's cxlr_dax_unregister never clears it, so it can point at a freed cxl_dax_region.
   */
  hasCxlrDax: 'i32',
  /**
   * The cxl_dax_region cxlr->cxlr_dax points at, as one word: bits 0–11 its kref (the device's own
   * reference + one pin per live tag group, alloc_tag_group; 0 = freed), bits 12–30 its instance
   * generation (src/cxl/region.ts `cxlr_dax_gen`). Each cxl_region probe allocates a NEW instance
   * (cxl_dax_region_alloc, region_dax.c) and bumps the generation; one word, so a pin or a put
   * (CAS) lands on the instance whose generation it names, never on a successor (src/cxl/region.ts).
   */
  cxlrDaxRefs: 'i32',
  /** pins still held on earlier cxl_dax_region instances of this region: the groups H14 left on
   *  an instance a re-probe replaced keep it allocated (free_tag_group's put_device) */
  oldDaxRefs: 'i32',
  /** the cxl_region driver is bound (cxl_region_probe ran devm_cxl_add_dax_region) [device_lock(cxlr)] */
  regionBound: 'i32',
  /**
   * the cxl_region device is being deleted: unregister_region → device_del → kill_device sets
   * dev->p->dead under device_lock(cxlr), and a later probe of it is refused [device_lock(cxlr)]
   */
  regionDead: 'i32',
  /** ordinal of the last devres action added to cxlr_dax (devres runs in reverse order) */
  devresSeq: 'i32',
  /** devres_release_all(&cxlr_dax->dev) has taken the list (remove_nodes onto its local todo
   *  list, under devres_lock): the highest ordinal taken, 0 when no release is running. An action
   *  with an ordinal at or below it is no longer on dev->devres_head, so devm_release_action
   *  cannot find it (src/dax/mapping.ts). Written by the releasing thread (device_lock(cxlr_dax)
   *  or device_lock(cxlr)), read atomically by devm_release_action's callers [devres_lock] */
  devresTaken: 'i32',
  /** cxlr_dax->extents_scanned (store-release / load-acquire) */
  extentsScanned: 'i32',
  /** device_lock(&cxlr_dax->dev) */
  deviceLock: 'i32',
  /** the cxl_dax_region driver is bound (probe succeeded) [device_lock] */
  driverBound: 'i32',
  /** the cxl_dax_region driver's probe, a PROBE_STATE [device_lock] */
  probeState: 'i32',
  /** XA_FLAGS_ALLOC1 allocator for cxlr_dax->dc_extents ids */
  nextExtentId: 'i32',
  /** a dax_region exists for this region (alloc_dax_region in probe; dax_region_unregister clears
   *  it, under no lock in v11) */
  daxRegion: 'i32',
  /** the instance number of the region's latest dax_region: alloc_dax_region (every successful
   *  cxl_dax_region probe) makes a new one with its own resource tree; never reset */
  daxRegionGen: 'i32',
  /** dax_region->seed (handle into daxDevs): set by create_store under dax_region_rwsem (W), cleared by dax_bus_probe under device_lock(dev_dax) only, as v11 does */
  seedDev: 'i32',
  /** dax_region align (PMD_SIZE) */
  daxAlign: 'f64',
  /** the dax_region attribute group's kernfs nodes (src/dax/kernfs.ts): 0 none, 1 active
   *  (sysfs_create_groups in alloc_dax_region), 2 deactivated (__kernfs_remove in
   *  dax_region_unregister, until the drain ends and the nodes are gone) */
  knState: 'i32',
  /** the dc_extents parented here: head / tail of HostState.regionExtentList */
  extHead: 'i32',
  extTail: 'i32',
} as const satisfies TableSchema;

/** struct cxl_dc_tag_group. */
export const GROUP_SCHEMA = {
  region: 'i32',
  memdev: 'i32',
  uuid: 'uuid',
  /** manual refcount, no lock in v11 (hazard H6) */
  nrExtents: 'i32',
  skipDeviceRelease: 'i32',
  /** registered in the host-wide registry [cxl_tag_lock] */
  registered: 'i32',
  /** the generation of the cxl_dax_region instance group->cxlr_dax pins (alloc_tag_group) */
  daxGen: 'i32',
  /** the group's members: head / tail of HostState.groupList */
  memHead: 'i32',
  memTail: 'i32',
} as const satisfies TableSchema;

/** one entry of the host-wide cxl_tag_groups list [cxl_tag_lock]. */
export const TAG_SCHEMA = {
  uuid: 'uuid',
  group: 'i32',
  memdev: 'i32',
} as const satisfies TableSchema;

/** struct dc_extent (the `extentX.Y` device). */
export const EXTENT_SCHEMA = {
  /** the cxl_dax_region whose dc_extents holds it: its group's region (device parent, devm owner) */
  region: 'i32',
  /**
   * the region whose endpoint decoder holds its DPA (dc->cxled). Differs from `region` when a
   * chain's group spans regions and this extent was realized into the first extent's group (H11).
   */
  cxled: 'i32',
  memdev: 'i32',
  group: 'i32',
  /** xarray id in cxlr_dax->dc_extents (≥ 1) */
  id: 'i32',
  /** dense assembly index within the group */
  seq: 'i32',
  dpaStart: 'f64',
  length: 'f64',
  /** HPA offset relative to the region */
  hpaOffset: 'f64',
  uuid: 'uuid',
  /** device references (the device itself + open sysfs files): release runs when it drops to 0 */
  refs: 'i32',
  /** device_add done: visible in sysfs */
  registered: 'i32',
  /** the dax_resource attached to this extent (drvdata), or 0 [dax_region_rwsem] */
  daxRes: 'i32',
  /**
   * 1 while the extent device carries dax_release_resource on its own devres list
   * (bus.c __dax_region_add_resource: devm_add_action(device, …)); it outlives a
   * dax_region_rm_resource, and device_del's devres_release_all consumes it
   */
  daxDevres: 'i32',
  /** ordinal of its dc_extent_unregister devres action on cxlr_dax, 0 once released */
  devres: 'i32',
  /** the generation of the cxl_dax_region instance it belongs to (its group's): its parent, its
   *  dc_extents xarray and its devres list; a re-probe's new instance never sees it */
  daxGen: 'i32',
  /** links of its region's list (HostState.regionExtentList) and its group's (HostState.groupList) [table lock] */
  rgnOwner: 'i32',
  rgnNext: 'i32',
  rgnPrev: 'i32',
  grpOwner: 'i32',
  grpNext: 'i32',
  grpPrev: 'i32',
} as const satisfies TableSchema;

/** struct dax_resource. */
export const DAX_RES_SCHEMA = {
  region: 'i32',
  extent: 'i32',
  /** HPA offset of the resource within the region */
  start: 'f64',
  length: 'f64',
  uuid: 'uuid',
  seq: 'i32',
  /** dev_dax ranges carved from it [dax_region_rwsem] */
  useCnt: 'i32',
  /** the dax_region instance (regions.daxRegionGen) whose resource tree it was requested in
   *  (__request_region(&dax_region->res, …)): available_size and overlap checks walk one tree */
  inst: 'i32',
} as const satisfies TableSchema;

/** struct dev_dax. */
export const DAX_DEV_SCHEMA = {
  region: 'i32',
  /** Y of daxX.Y: the device's name, fixed at device_add */
  id: 'i32',
  /** the region's ida still holds `id` (dev_dax->id >= 0); delete_store's __free_dev_dax_id
   *  clears it before the device is unregistered (drivers/dax/bus.c) [dax_dev_rwsem] */
  idValid: 'i32',
  size: 'f64',
  /** a driver (device_dax) is bound: enabled */
  enabled: 'i32',
  nrRanges: 'i32',
  /** ordinal of its unregister_dev_dax devres action on cxlr_dax, 0 once released */
  devres: 'i32',
  /** its attributes' kernfs nodes (src/dax/kernfs.ts): 1 active from device_add, 2 deactivated
   *  by device_del (unregister_dev_dax) */
  knState: 'i32',
  /** the cxl_dax_region instance (cxlr_dax_gen) of dev_dax->region->dev, its parent device */
  daxGen: 'i32',
} as const satisfies TableSchema;

/** struct dev_dax_range. */
export const DAX_RANGE_SCHEMA = {
  dev: 'i32',
  /** index within the device (pgoff order) */
  order: 'i32',
  res: 'i32',
  /** HPA offset within the region */
  start: 'f64',
  length: 'f64',
  /** dev_dax_range.pgoff: the pages of the ranges before it (alloc_dev_dax_range) [dax_region_rwsem] */
  pgoff: 'f64',
  /** dev_dax_range.mapping: its mappingN device (handle into daxMaps), 0 once
   *  unregister_dax_mapping cleared it [dax_region_rwsem; the teardown's action writes it without] */
  mapping: 'i32',
} as const satisfies TableSchema;

/**
 * struct dax_mapping (drivers/dax/bus.c): the `mappingN` child device of a dev_dax, one per range,
 * registered by devm_register_dax_mapping (src/dax/mapping.ts).
 */
export const DAX_MAP_SCHEMA = {
  /** the parent dev_dax (dev->parent, with a get_device on it) [set under dax_region_rwsem (W) before device_add; read-only after] */
  dev: 'i32',
  /** the dax_region's region record (dax_region->dev = cxlr_dax, whose devres list holds the action) [as `dev`] */
  region: 'i32',
  /** N of mappingN: ida_alloc(&dev_dax->ida), freed by dax_mapping_release [as `dev`] */
  id: 'i32',
  /** mapping->range_id: the index into dev_dax->ranges, -1 once unregister_dax_mapping ran
   *  [dax_region_rwsem; unregister_dax_mapping from a teardown's devres writes it without] */
  rangeId: 'i32',
  /** ordinal of its unregister_dax_mapping devres action on cxlr_dax, 0 once released [devres_lock:
   *  the model's cas — the one thread that clears it runs the action] */
  devres: 'i32',
  /** device_add done and device_del not yet begun [written by the thread running
   *  unregister_dax_mapping, which holds no lock of its own; atomic word] */
  registered: 'i32',
  /** its attributes' kernfs nodes (start, end, page_offset; src/dax/kernfs.ts): 1 active, 2
   *  deactivated (device_del of the mapping, or of its parent dev_dax: kernfs_remove of the
   *  subtree) [kernfs: atomic word, as kn->active] */
  knState: 'i32',
} as const satisfies TableSchema;

/**
 * A handle into one host table: an extent handle does not pass where a group or a dax_resource
 * handle is wanted. Branded so far: the tables internal to the host (extents, tag groups,
 * dax_resources); regions and dax devices are still plain `Handle`s, as the runtime and the
 * tests pass them around by number.
 */
export type GroupHandle = TableHandle<'groups'>;
export type ExtentHandle = TableHandle<'extents'>;
export type DaxResHandle = TableHandle<'daxRes'>;

/** The branded handle-valued fields of each table and the table each points into. */
type GroupRefs = object;
type TagRefs = { group: GroupHandle };
type MemdevRefs = { group: GroupHandle };
type ExtentRefs = { group: GroupHandle; daxRes: DaxResHandle };
type DaxResRefs = { extent: ExtentHandle };
type DaxRangeRefs = { res: DaxResHandle };

export const CAPACITY = {
  memdevs: 8,
  pending: 2048,
  regions: 32,
  groups: 2048,
  tags: 2048,
  extents: 4096,
  daxRes: 4096,
  daxDevs: 512,
  daxRanges: 4096,
  /** three kn->active locks each (start, end, page_offset): the lock arena (MAX_LOCKS) bounds it */
  daxMaps: 256,
} as const;

export interface HostStateHandle {
  tables: Record<string, SharedArrayBuffer>;
  globals: SharedArrayBuffer;
}

/** Global words: the global lock ids and counters. */
export const G_CXL_REGION_RWSEM = 0;
export const G_CXL_DPA_RWSEM = 1;
export const G_CXL_TAG_LOCK = 2;
export const G_DAX_REGION_RWSEM = 3;
export const G_DAX_DEV_RWSEM = 4;
/** number of memdevs */
export const G_NR_MEMDEVS = 5;
/** next region id */
export const G_NEXT_REGION_ID = 6;
/** next HPA base for a region (in units of 256 MiB) */
export const G_NEXT_HPA_256M = 7;
/** in-flight operations (sysfs stores, probes, teardowns): wait-idle waits for 0 */
export const G_INFLIGHT = 8;
/** first lock id of the device_lock(dev_dax) block, one per daxDevs table slot (contiguous) */
export const G_DAX_DEV_LOCK_BASE = 12;
/** device_lock(cxlr_dax) lock ids, one per region table slot (locks are never freed, so a
 *  region record reuses its slot's lock) */
export const G_REGION_LOCKS = 16;
/** device_lock(cxlr) (the cxl_region device) lock ids, one per region table slot */
export const G_CXLR_LOCKS = 16 + 32;
/** kn->active lock blocks (src/dax/kernfs.ts): the first lock id of each attribute's block, one
 *  lock per region slot (dax_region attributes) or per daxDevs slot (dev_dax attributes), in
 *  KN_ATTRS order */
export const G_KN_LOCK_BASES = 16 + 32 + 32;
/** the sysfs attributes whose kernfs active references the model tracks, and whose record they
 *  belong to (fs/kernfs: one kernfs_node, and one lockdep class, per attribute) */
export const KN_ATTRS = [
  { attr: 'create', owner: 'region', cls: 'kn->active(create)' },
  { attr: 'delete', owner: 'region', cls: 'kn->active(delete)' },
  { attr: 'seed', owner: 'region', cls: 'kn->active(seed)' },
  { attr: 'available_size', owner: 'region', cls: 'kn->active(available_size)' },
  { attr: 'uuid', owner: 'dev', cls: 'kn->active(uuid)' },
  { attr: 'size', owner: 'dev', cls: 'kn->active(size)' },
  { attr: 'start', owner: 'map', cls: 'kn->active(start)' },
  { attr: 'end', owner: 'map', cls: 'kn->active(end)' },
  { attr: 'page_offset', owner: 'map', cls: 'kn->active(page_offset)' },
] as const;
export type KnAttr = (typeof KN_ATTRS)[number]['attr'];
export const G_WORDS = 16 + 32 + 32 + KN_ATTRS.length;

export class HostState {
  readonly memdevs: RecordTable<typeof MEMDEV_SCHEMA, Handle, MemdevRefs>;
  readonly pending: RecordTable<typeof PENDING_SCHEMA>;
  readonly regions: RecordTable<typeof REGION_SCHEMA>;
  readonly groups: RecordTable<typeof GROUP_SCHEMA, GroupHandle, GroupRefs>;
  readonly tags: RecordTable<typeof TAG_SCHEMA, Handle, TagRefs>;
  readonly extents: RecordTable<typeof EXTENT_SCHEMA, ExtentHandle, ExtentRefs>;
  readonly daxRes: RecordTable<typeof DAX_RES_SCHEMA, DaxResHandle, DaxResRefs>;
  readonly daxDevs: RecordTable<typeof DAX_DEV_SCHEMA>;
  readonly daxRanges: RecordTable<typeof DAX_RANGE_SCHEMA, Handle, DaxRangeRefs>;
  readonly daxMaps: RecordTable<typeof DAX_MAP_SCHEMA>;
  readonly globals: Int32Array;
  /** add_ctx.pending_extents per memdev: staged extents in arrival order (members: pending) */
  readonly pendingList: TableList;
  /** per region: the dc_extents whose `region` (cxlr_dax parent) it is (members: extents) */
  readonly regionExtentList: TableList<Handle, ExtentHandle>;
  /** per tag group: its dc_extents (members: extents) */
  readonly groupList: TableList<GroupHandle, ExtentHandle>;
  /** memdev handles by index (memdevs are created once, before any worker starts) */
  readonly memdevByIdx: number[] = [];

  private constructor(h: HostStateHandle) {
    const t = h.tables;
    const need = (k: string): SharedArrayBuffer => {
      const s = t[k];
      if (!s) throw new Error(`host state handle lacks table ${k}`);
      return s;
    };
    this.memdevs = RecordTable.attach('memdevs', MEMDEV_SCHEMA, need('memdevs'));
    this.pending = RecordTable.attach('pending', PENDING_SCHEMA, need('pending'));
    this.regions = RecordTable.attach('regions', REGION_SCHEMA, need('regions'));
    this.groups = RecordTable.attach('groups', GROUP_SCHEMA, need('groups'));
    this.tags = RecordTable.attach('tags', TAG_SCHEMA, need('tags'));
    this.extents = RecordTable.attach('extents', EXTENT_SCHEMA, need('extents'));
    this.daxRes = RecordTable.attach('daxRes', DAX_RES_SCHEMA, need('daxRes'));
    this.daxDevs = RecordTable.attach('daxDevs', DAX_DEV_SCHEMA, need('daxDevs'));
    this.daxRanges = RecordTable.attach('daxRanges', DAX_RANGE_SCHEMA, need('daxRanges'));
    this.daxMaps = RecordTable.attach('daxMaps', DAX_MAP_SCHEMA, need('daxMaps'));
    this.globals = new Int32Array(h.globals);
    const T = <S extends TableSchema, H extends Handle, R extends object>(t: RecordTable<S, H, R>): RecordTable<TableSchema> => t as unknown as RecordTable<TableSchema>;
    this.pendingList = new TableList(T(this.pending), { owner: 'listOwner', next: 'listNext', prev: 'listPrev' }, T(this.memdevs), { head: 'pendHead', tail: 'pendTail' });
    this.regionExtentList = new TableList(T(this.extents), { owner: 'rgnOwner', next: 'rgnNext', prev: 'rgnPrev' }, T(this.regions), { head: 'extHead', tail: 'extTail' });
    this.groupList = new TableList(T(this.extents), { owner: 'grpOwner', next: 'grpNext', prev: 'grpPrev' }, T(this.groups), { head: 'memHead', tail: 'memTail' });
    for (const m of this.memdevs.live()) this.memdevByIdx[this.memdevs.get(m, 'idx')] = m;
  }

  /** Create the host state with `nrMemdevs` memdev records and the global locks. Main thread. */
  static create(sys: SystemShm, nrMemdevs: number): HostState {
    const tables: Record<string, SharedArrayBuffer> = {
      memdevs: RecordTable.create('memdevs', MEMDEV_SCHEMA, CAPACITY.memdevs).sab,
      pending: RecordTable.create('pending', PENDING_SCHEMA, CAPACITY.pending).sab,
      regions: RecordTable.create('regions', REGION_SCHEMA, CAPACITY.regions).sab,
      groups: RecordTable.create('groups', GROUP_SCHEMA, CAPACITY.groups).sab,
      tags: RecordTable.create('tags', TAG_SCHEMA, CAPACITY.tags).sab,
      extents: RecordTable.create('extents', EXTENT_SCHEMA, CAPACITY.extents).sab,
      daxRes: RecordTable.create('daxRes', DAX_RES_SCHEMA, CAPACITY.daxRes).sab,
      daxDevs: RecordTable.create('daxDevs', DAX_DEV_SCHEMA, CAPACITY.daxDevs).sab,
      daxRanges: RecordTable.create('daxRanges', DAX_RANGE_SCHEMA, CAPACITY.daxRanges).sab,
      daxMaps: RecordTable.create('daxMaps', DAX_MAP_SCHEMA, CAPACITY.daxMaps).sab,
    };
    const globals = new Int32Array(new SharedArrayBuffer(G_WORDS * 4));
    globals[G_CXL_REGION_RWSEM] = sys.allocLock(lockClassId('cxl_rwsem.region'), 'rwsem');
    globals[G_CXL_DPA_RWSEM] = sys.allocLock(lockClassId('cxl_rwsem.dpa'), 'rwsem');
    globals[G_CXL_TAG_LOCK] = sys.allocLock(lockClassId('cxl_tag_lock'), 'mutex');
    globals[G_DAX_REGION_RWSEM] = sys.allocLock(lockClassId('dax_region_rwsem'), 'rwsem');
    globals[G_DAX_DEV_RWSEM] = sys.allocLock(lockClassId('dax_dev_rwsem'), 'rwsem');
    globals[G_NR_MEMDEVS] = nrMemdevs;
    globals[G_NEXT_HPA_256M] = 16; // regions start at HPA 4 GiB in the model address space
    for (let i = 0; i < CAPACITY.regions; i++) globals[G_REGION_LOCKS + i] = sys.allocLock(lockClassId('device_lock(cxlr_dax)'), 'mutex');
    // device_lock(dev_dax): one per dax device table slot, allocated as one contiguous block
    for (let i = 0; i < CAPACITY.daxDevs; i++) {
      const id = sys.allocLock(lockClassId('device_lock(dev_dax)'), 'mutex');
      if (i === 0) globals[G_DAX_DEV_LOCK_BASE] = id;
      else if (id !== globals[G_DAX_DEV_LOCK_BASE]! + i) throw new Error('device_lock(dev_dax) block is not contiguous');
    }
    for (let i = 0; i < CAPACITY.regions; i++) globals[G_CXLR_LOCKS + i] = sys.allocLock(lockClassId('device_lock(cxlr)'), 'mutex');
    // kn->active: an rwsem per attribute node (readers = active references, the drain = the
    // writer), one contiguous block per attribute
    KN_ATTRS.forEach((a, k) => {
      const n = a.owner === 'region' ? CAPACITY.regions : a.owner === 'dev' ? CAPACITY.daxDevs : CAPACITY.daxMaps;
      for (let i = 0; i < n; i++) {
        const id = sys.allocLock(lockClassId(a.cls), 'rwsem');
        if (i === 0) globals[G_KN_LOCK_BASES + k] = id;
        else if (id !== globals[G_KN_LOCK_BASES + k]! + i) throw new Error(`${a.cls} block is not contiguous`);
      }
    });
    const st = new HostState({ tables, globals: globals.buffer as SharedArrayBuffer });
    for (let i = 0; i < nrMemdevs; i++) {
      const m = st.memdevs.alloc();
      st.memdevs.set(m, 'idx', i);
      st.memdevs.set(m, 'logLock', sys.allocLock(lockClassId('event.log_lock'), 'mutex'));
      st.memdevs.set(m, 'addLock', sys.allocLock(lockClassId('add_ctx.lock'), 'mutex'));
      st.memdevs.set(m, 'mboxLock', sys.allocLock(lockClassId('mbox_mutex'), 'mutex'));
      st.memdevByIdx[i] = m;
    }
    return st;
  }

  static attach(h: HostStateHandle): HostState {
    return new HostState(h);
  }

  handle(): HostStateHandle {
    return {
      tables: {
        memdevs: this.memdevs.sab, pending: this.pending.sab, regions: this.regions.sab,
        groups: this.groups.sab, tags: this.tags.sab, extents: this.extents.sab,
        daxRes: this.daxRes.sab, daxDevs: this.daxDevs.sab, daxRanges: this.daxRanges.sab,
        daxMaps: this.daxMaps.sab,
      },
      globals: this.globals.buffer as SharedArrayBuffer,
    };
  }

  get cxlRegionRwsem(): number { return this.globals[G_CXL_REGION_RWSEM]!; }
  get cxlDpaRwsem(): number { return this.globals[G_CXL_DPA_RWSEM]!; }
  get cxlTagLock(): number { return this.globals[G_CXL_TAG_LOCK]!; }
  get daxRegionRwsem(): number { return this.globals[G_DAX_REGION_RWSEM]!; }
  get daxDevRwsem(): number { return this.globals[G_DAX_DEV_RWSEM]!; }
  get nrMemdevs(): number { return this.globals[G_NR_MEMDEVS]!; }

  memdev(idx: number): number {
    const m = this.memdevByIdx[idx];
    if (m === undefined) throw new RangeError(`no memdev mem${idx}`);
    return m;
  }

  /** Region record with region id `id`, or 0. */
  regionById(id: number): number {
    for (const r of this.regions.live()) if (this.regions.get(r, 'id') === id) return r;
    return 0;
  }

  /** device_lock(cxlr_dax) of a region record's slot */
  regionLockFor(r: number): number {
    return this.globals[G_REGION_LOCKS + this.regions.indexOf(r)]!;
  }

  /** device_lock(&dev_dax->dev) of a dax device record's slot */
  daxDevLockFor(d: number): number {
    return this.globals[G_DAX_DEV_LOCK_BASE]! + this.daxDevs.indexOf(d);
  }

  /** device_lock(cxlr) of a region record's slot (the cxl_region device) */
  cxlrLockFor(r: number): number {
    return this.globals[G_CXLR_LOCKS + this.regions.indexOf(r)]!;
  }

  /** kn->active of a dax_region attribute (create, delete, seed, available_size) of a region slot */
  knRegionLockFor(r: number, attr: KnAttr): number {
    const k = KN_ATTRS.findIndex((a) => a.attr === attr && a.owner === 'region');
    if (k < 0) throw new RangeError(`${attr} is not a dax_region attribute`);
    return this.globals[G_KN_LOCK_BASES + k]! + this.regions.indexOf(r);
  }

  /** kn->active of a dev_dax attribute (uuid, size) of a daxDevs slot */
  knDevLockFor(d: number, attr: KnAttr): number {
    const k = KN_ATTRS.findIndex((a) => a.attr === attr && a.owner === 'dev');
    if (k < 0) throw new RangeError(`${attr} is not a dev_dax attribute`);
    return this.globals[G_KN_LOCK_BASES + k]! + this.daxDevs.indexOf(d);
  }

  /** kn->active of a mappingN attribute (start, end, page_offset) of a daxMaps slot */
  knMapLockFor(m: number, attr: KnAttr): number {
    const k = KN_ATTRS.findIndex((a) => a.attr === attr && a.owner === 'map');
    if (k < 0) throw new RangeError(`${attr} is not a dax mapping attribute`);
    return this.globals[G_KN_LOCK_BASES + k]! + this.daxMaps.indexOf(m);
  }

  /** An operation (sysfs store, probe, teardown, handler) starts / ends — for wait-idle. */
  inflightBegin(): void { Atomics.add(this.globals, G_INFLIGHT, 1); }
  inflightEnd(): void { Atomics.sub(this.globals, G_INFLIGHT, 1); }
  inflight(): number { return Atomics.load(this.globals, G_INFLIGHT); }
}
