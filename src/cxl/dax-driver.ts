/**
 * DOC: cxl dax driver — how the CXL core reaches the DAX side without importing it, as Linux
 * does: the core calls the driver bound to cxlr_dax through the driver's ops
 * (drivers/cxl/core/extent.c `cxlr_notify_extent` → `to_cxl_drv(dev->driver)->notify`, the
 * cxl_dax_region driver of drivers/dax/cxl.c), and the driver core runs the devres actions the DAX
 * driver installed (drivers/base/devres.c, drivers/base/dd.c __device_release_driver). The DAX
 * side registers its callbacks here when its module loads (src/dax/cxl.ts, as module_init →
 * cxl_driver_register), so src/cxl/* imports nothing from src/dax/* (no import cycle).
 *
 * A call with no driver registered is a wiring bug of the worker (the module never loaded), not a
 * "no driver bound" state (that is `driverBound`, checked by the callers): it throws, never skips.
 */
import type { Handle } from '../shm/table.js';
import type { GroupHandle, ExtentHandle } from '../host/state.js';
import type { HostCtx } from '../host/context.js';

/** The callbacks of the cxl_dax_region driver (drivers/dax/cxl.c) the CXL core calls. */
export interface CxlDaxRegionDriver {
  /** cxl_dax_region_notify(): DCD_ADD_CAPACITY / DCD_RELEASE_CAPACITY for one tag group */
  notify(ctx: HostCtx, region: Handle, event: 'add' | 'release', g: GroupHandle): number;
  /** dax_release_resource(): the devres action dax_region_add_resource put on the extent device */
  release_resource(ctx: HostCtx, e: ExtentHandle): void;
  /** __device_release_driver() of cxlr_dax: cxl_dax_region_unbind */
  unbind(ctx: HostCtx, region: Handle): number;
  /** devres_release_all(&cxlr_dax->dev): every action the driver installed, in reverse order */
  devres_release_all(ctx: HostCtx, region: Handle): number;
}

let driver: CxlDaxRegionDriver | null = null;

/** cxl_driver_register(&cxl_dax_region_driver): called once by src/dax/cxl.ts at module load. */
export function cxl_dax_region_driver_register(drv: CxlDaxRegionDriver): void {
  driver = drv;
}

function drv(what: string): CxlDaxRegionDriver {
  if (!driver) throw new Error(`${what}: no cxl_dax_region driver registered in this worker (src/dax/cxl.ts was never loaded here)`);
  return driver;
}

export function cxl_dax_region_notify(ctx: HostCtx, region: Handle, event: 'add' | 'release', g: GroupHandle): number {
  return drv('cxl_dax_region_notify').notify(ctx, region, event, g);
}

export function dax_release_resource(ctx: HostCtx, e: ExtentHandle): void {
  drv('dax_release_resource').release_resource(ctx, e);
}

export function cxl_dax_region_unbind(ctx: HostCtx, region: Handle): number {
  return drv('cxl_dax_region_unbind').unbind(ctx, region);
}

export function devres_release_all(ctx: HostCtx, region: Handle): number {
  return drv('devres_release_all').devres_release_all(ctx, region);
}
