/**
 * DOC: dax cxl — the `cxl_dax_region` driver (drivers/dax/cxl.c in the series) as the driver
 * core runs it (drivers/base/dd.c really_probe / __device_release_driver, drivers/base/devres.c;
 * docs/kernel-map.md): its asynchronous probe, its unbind as devres released action by action,
 * and the notify callback through which the CXL core adds and releases tag groups.
 *
 * Probe (dax-bus worker, device_lock(cxlr_dax) held by the driver core). really_probe refuses a
 * device that already has devres ("Resources present before probing", -EBUSY) — extents onlined
 * while the driver was unbound leave their dc_extent_unregister actions on cxlr_dax, so the next
 * probe fails until the device releases them. Otherwise dev->driver is set BEFORE the driver's
 * probe runs: alloc_dax_region (drvdata, the dax_region_unregister action), the existing-extent
 * scan — whose notify reaches this driver and adds the recovered groups' resources during the
 * probe — then the 0-size seed device. A failed probe releases every devres (the dax_region, the
 * recovered extents: Release DC for each) and clears dev->driver and drvdata.
 *
 * Unbind (__device_release_driver; the driver has no remove callback): devres_release_all runs
 * the actions in reverse registration order, each taking its own locks, with dev->driver still
 * set (a uuid_store can run in the middle); only then are dev->driver and drvdata cleared.
 *  - dc_extent_unregister → device_unregister(extent): device_del ends with the extent device's
 *    own devres — dax_release_resource, under dax_region_rwsem(W), frees the dax_resource
 *    WHATEVER its use_cnt, in this thread whoever else holds the extent (drivers/base/core.c
 *    device_del; bus.c dax_release_resource); the last reference's device_release then runs
 *    dc_extent_release, which sends Release DC;
 *  - unregister_dev_dax, under dax_region_rwsem(W): trims the device's ranges, reading each
 *    range's dax_resource — freed already when that extent was onlined after this device was
 *    created (H15, bus.c trim_dev_dax_range);
 *  - dax_region_unregister (the first action, so the last to run).
 */
import { assertHeld, noisePoint, withWrite } from '../shm/lock.js';
import { NOISE_SITE } from '../shm/sched.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import type { HostCtx } from '../host/context.js';
import { EBUSY, ENXIO } from '../errors.js';
import { PROBE_STATE, type GroupHandle, type ExtentHandle } from '../host/state.js';
import { cxl_region_add_existing_extents } from '../cxl/mbox.js';
import { dc_extent_unregister } from '../cxl/extent.js';
import { groupMembers } from '../cxl/tag-group.js';
import { cxl_dax_region_driver_register } from '../cxl/dax-driver.js';
import { cxlr_dax_gen } from '../cxl/region.js';
import {
  dax_region_add_resources, dax_region_rm_resources, dax_release_resource_locked,
  devm_create_dev_dax, unregister_dev_dax, type DaxResourceSpec,
} from './bus.js';
import { kernfs_region_activate, kernfs_region_remove } from './kernfs.js';
import { mappingDevresActions, mappingDevresPresent } from './mapping.js';

/**
 * cxl_dax_region_notify(): DCD_ADD_CAPACITY / DCD_RELEASE_CAPACITY for one tag group. It asserts
 * no lock (drivers/dax/cxl.c): a recovery scan notifying another region (H12) adds that region's
 * resources although only the probed region's device_lock is held.
 */
export function cxl_dax_region_notify(ctx: HostCtx, region: Handle, event: 'add' | 'release', g: GroupHandle): number {
  const h = ctx.host;
  const members = groupMembers(ctx, g);
  if (event === 'add') {
    // cxl_dax_group_add() (drivers/dax/cxl.c at v11): returns 0 when group->nr_extents reads 0 and
    // collects at most nr_extents members, as cxl_dax_group_rm() below — the same plain counter
    // H6 can leave wrong (docs/fidelity-audit.md item 9)
    const nrAdd = h.groups.get(g, 'nrExtents');
    if (nrAdd <= 0) {
      ctx.emit({ type: 'dax-group', region, group: g, n: 0, add: 1, rc: 0 });
      return 0;
    }
    const specs: DaxResourceSpec[] = members.slice(0, nrAdd).map((e) => ({
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

/**
 * dax_release_resource() (drivers/dax/bus.c): the devres action __dax_region_add_resource put on
 * the EXTENT device (devm_add_action(device, …), device = the dc_extent). It runs once, from
 * whichever devres_release_all meets it first — device_del's (drivers/base/core.c), in the thread
 * that unregisters the extent — and always takes dax_region_rwsem (write): after a
 * dax_region_rm_resource the dax_resource is still there (res NULL, drvdata cleared) and the
 * action still locks before finding nothing to release. It frees the resource regardless of
 * use_cnt (H15).
 */
export function dax_release_resource(ctx: HostCtx, e: ExtentHandle): void {
  const h = ctx.host;
  if (h.extents.get(e, 'daxDevres') !== 1) return; // no such devres (never added, or already run)
  h.extents.set(e, 'daxDevres', 0);
  withWrite(h.daxRegionRwsem, () => dax_release_resource_locked(ctx, e));
}

/** devm_add_action on cxlr_dax: the next ordinal of its devres list. */
export function devres_next(ctx: HostCtx, region: Handle): number {
  return ctx.host.regions.add(region, 'devresSeq', 1);
}

/**
 * Is `e` on the devres list of `region`'s current cxl_dax_region? An extent onlined on an earlier
 * instance (an H14 orphan a re-probe left behind) has its dc_extent_unregister action on THAT
 * device (online_tag_group: devm_add_action_or_reset(&group->cxlr_dax->dev, …)), not on the new
 * one cxl_dax_region_alloc made (region_dax.c).
 */
function onDevres(ctx: HostCtx, region: Handle, gen: number, e: ExtentHandle): number {
  const X = ctx.host.extents;
  if (X.peek(e, 'region') !== region || X.peek(e, 'daxGen') !== gen) return 0;
  return X.peek(e, 'devres') ?? 0;
}

/** Has cxlr_dax any devres action installed? (really_probe's devres_head check) */
function devres_present(ctx: HostCtx, region: Handle): boolean {
  const h = ctx.host;
  if (h.regions.get(region, 'daxRegion')) return true;
  const gen = cxlr_dax_gen(ctx, region);
  for (const e of h.extents.live()) if (onDevres(ctx, region, gen, e) > 0) return true;
  for (const d of h.daxDevs.live()) if (h.daxDevs.peek(d, 'region') === region && (h.daxDevs.peek(d, 'devres') ?? 0) > 0) return true;
  return mappingDevresPresent(ctx, region); // unregister_dax_mapping actions (src/dax/mapping.ts)
}

/**
 * devres_release_all(&cxlr_dax->dev): every installed action, in reverse registration order,
 * each with its own locks. Returns the number of extents it unregistered.
 */
export function devres_release_all(ctx: HostCtx, region: Handle): number {
  const h = ctx.host;
  const X = h.extents;
  const D = h.daxDevs;
  const actions: { ord: number; run: () => void; extent: boolean }[] = [];
  // announced before the devres list is taken (remove_nodes): an extent tracked after this event
  // either made it onto the list or was onlined after it, and then no teardown releases it
  let pending = 0;
  // remove_nodes: every action registered so far moves to the local todo list; one registered
  // from here on (a claim's devm_register_dax_mapping, a create's unregister_dev_dax: H24) lands
  // on the emptied dev->devres_head, and devm_release_action finds only those (src/dax/mapping.ts)
  const taken = h.regions.load(region, 'devresSeq');
  h.regions.store(region, 'devresTaken', taken);
  const gen = cxlr_dax_gen(ctx, region); // this device's instance (its caller holds device_lock(cxlr) or (cxlr_dax))
  const onList = (ord: number): boolean => ord > 0 && ord <= taken;
  try {
    for (const e of X.live()) if (onList(onDevres(ctx, region, gen, e))) pending++;
    ctx.emit({ type: 'region-teardown', region, extents: pending });
    // peek: other memdevs' threads free their own extents concurrently
    for (const e of X.live()) {
      const ord = onDevres(ctx, region, gen, e);
      if (onList(ord)) actions.push({ ord, extent: true, run: () => { if (X.isLive(e) && X.get(e, 'devres') === ord) dc_extent_unregister(ctx, e); } });
    }
    for (const d of D.live()) {
      const ord = D.peek(d, 'region') === region ? (D.peek(d, 'devres') ?? 0) : 0;
      if (onList(ord)) actions.push({ ord, extent: false, run: () => { if (D.isLive(d) && D.get(d, 'devres') === ord) unregister_dev_dax(ctx, d); } });
    }
    // each dev_dax range's mapping device: its unregister_dax_mapping action (devm_register_dax_mapping,
    // registered after its dev_dax's unregister_dev_dax, so it runs before it) — with no lock held
    for (const a of mappingDevresActions(ctx, region, taken)) actions.push({ ...a, extent: false });
    actions.sort((a, b) => b.ord - a.ord);
    const n = actions.filter((a) => a.extent).length;
    for (const a of actions) {
      // a racing uuid_store, release or notify may run between two actions (dev->driver still set)
      noisePoint(NOISE_SITE.teardownWindow);
      a.run();
    }
    // dax_region_unregister: the first action registered (alloc_dax_region), the last to run
    finalDaxRegionUnregister(ctx, region);
    return n;
  } finally {
    h.regions.store(region, 'devresTaken', 0); // release_nodes is done with the todo list
  }
}

function finalDaxRegionUnregister(ctx: HostCtx, region: Handle): void {
  const h = ctx.host;
  if (h.regions.get(region, 'daxRegion')) {
    // sysfs_remove_groups(dax_region_attribute_groups): drain create/delete/seed/available_size
    // under the caller's device_lock(cxlr_dax) — a delete_store inside its node waits for that
    // lock (H21)
    kernfs_region_remove(ctx, region);
    // then release_resource(&dax_region->res) and dax_region_put — under NO dax lock
    // (drivers/dax/bus.c dax_region_unregister; the stored bus.c nearest v11, 002871cc and
    // a0123a73, agree): the model stored this under dax_region_rwsem (W), an acquisition v11 does
    // not make. Its ida goes with it: ids derive from live devices (ida_alloc)
    h.regions.store(region, 'daxRegion', 0);
  }
}

/**
 * cxl_dax_region_probe() as really_probe() runs it: called with device_lock(cxlr_dax) held (the
 * dax-bus worker takes it, as the driver core does). Returns 0 or a negative errno.
 */
export function cxl_dax_region_probe(ctx: HostCtx, region: Handle): number {
  const h = ctx.host;
  assertHeld(h.regionLockFor(region));
  if (h.regions.load(region, 'driverBound')) return 0;
  const name = `region${h.regions.get(region, 'id')}`;
  // really_probe: devres present before probing → -EBUSY, the driver stays unbound
  if (devres_present(ctx, region)) {
    ctx.dmesg('err', `dax_region${h.regions.get(region, 'id')}`, 'Resources present before probing');
    h.regions.store(region, 'probeState', PROBE_STATE.failed);
    return EBUSY;
  }
  h.regions.store(region, 'probeState', PROBE_STATE.probing);
  h.regions.store(region, 'driverBound', 1); // dev->driver = drv, before drv->probe
  // alloc_dax_region(align = PMD_SIZE, IORESOURCE_DAX_DCD): a NEW dax_region (kzalloc: its own
  // resource tree, regions.daxRegionGen), drvdata, sysfs_create_groups, its devres action — under
  // no dax lock (drivers/dax/bus.c alloc_dax_region in both stored copies nearest v11, 002871cc
  // and a0123a73; v11's drivers/dax/cxl.c cxl_dax_region_probe calls it with only the driver
  // core's device_lock(cxlr_dax) held). The model took dax_region_rwsem (W) here.
  h.regions.add(region, 'daxRegionGen', 1);
  h.regions.store(region, 'daxRegion', 1);
  kernfs_region_activate(ctx, region); // sysfs_create_groups(dax_region_attribute_groups)
  devres_next(ctx, region);
  // the scan's notify reaches this driver: recovered groups get their resources now
  const scan = cxl_region_add_existing_extents(ctx, region);
  if (scan.rc) {
    ctx.dmesg('err', name, `cxl_dax_region probe failed: existing extents scan: ${scan.rc}`);
    probe_failed(ctx, region);
    return scan.rc;
  }
  // the probe's 0-size device (dax0.0): not dax_region->seed — only create_store sets that
  devm_create_dev_dax(ctx, region);
  h.regions.store(region, 'probeState', PROBE_STATE.probed);
  return 0;
}

/** really_probe's probe_failed: devres_release_all, dev->driver = NULL, drvdata = NULL. */
function probe_failed(ctx: HostCtx, region: Handle): void {
  const h = ctx.host;
  devres_release_all(ctx, region);
  h.regions.set(region, 'seedDev', NO_HANDLE);
  h.regions.store(region, 'driverBound', 0);
  h.regions.store(region, 'probeState', PROBE_STATE.failed);
}

/**
 * __device_release_driver() of cxlr_dax (module unload, `cxl disable-region`, destroy): called
 * with device_lock(cxlr_dax) held. The devres actions run with dev->driver still set; Release DC
 * goes out for every extent, whatever its DAX use. Returns 0 or -ENXIO when no driver is bound.
 */
export function cxl_dax_region_unbind(ctx: HostCtx, region: Handle): number {
  const h = ctx.host;
  assertHeld(h.regionLockFor(region));
  if (!h.regions.load(region, 'driverBound')) return ENXIO;
  const n = devres_release_all(ctx, region);
  h.regions.set(region, 'seedDev', NO_HANDLE);
  h.regions.store(region, 'driverBound', 0); // dev->driver = NULL; dev_set_drvdata(dev, NULL)
  h.regions.store(region, 'probeState', PROBE_STATE.unbound);
  ctx.dmesg('info', `region${h.regions.get(region, 'id')}`, `cxl_dax_region unbound; ${n} extents released`);
  return 0;
}

// module_init → cxl_driver_register(&cxl_dax_region_driver): every worker that loads this module
// (all host workers do, through src/runtime/host-workers.ts) can take the CXL core's calls
cxl_dax_region_driver_register({
  notify: cxl_dax_region_notify,
  release_resource: dax_release_resource,
  unbind: cxl_dax_region_unbind,
  devres_release_all,
});
