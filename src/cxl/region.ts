/**
 * DOC: cxl region — DC regions over the dynamic_ram_1 partition, DPA→region lookup, the
 * existing-extent scan (crash recovery) and teardown (host-kernel.md §7; drivers/cxl/core/region.c
 * and region_dax.c in the series).
 *
 * A DC region has interleave 1 and one endpoint decoder (ED) carved from the memdev's
 * dynamic_ram_1 partition; two regions may share one partition. Creating the region allocates its
 * cxl_dax_region (`hasCxlrDax`); the cxl_dax_region driver then probes asynchronously on the
 * dax-bus worker (src/dax/cxl.ts), which runs `cxl_region_add_existing_extents` under
 * device_lock(cxlr_dax) — so recovery takes device_lock → add_ctx.lock, the reverse of the
 * runtime add path (the AB-BA of host-kernel.md §4.3, H2).
 */
import { CXL_MBOX_OP, decodeGetDcExtentListOut, EXTENT_LIST_OUT_HDR, EXTENT_SIZE, encodeGetDcExtentListIn } from '../wire/cxl.js';
import { assertHeld, noisePoint, withLock, withWrite } from '../shm/lock.js';
import { NOISE_SITE } from '../shm/sched.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { CxlError } from '../errors.js';
import type { HostCtx } from '../host/context.js';
import { G_NEXT_HPA_256M, G_NEXT_REGION_ID } from '../host/state.js';
import { ERRNO_CODE } from '../protocol.js';
import { cxl_internal_send_cmd } from './mbox.js';
import { memdevName, PMD_SIZE } from './memdev.js';
import { cxl_add_pending, clear_pending_extents, dc_extent_unregister, EAGAIN, EIO, ENOMEM, pending_extents_nonempty, stage_extent } from './extent.js';

export const CXL_READ_EXTENT_LIST_RETRY = 10;
const HPA_UNIT = 256 * 1024 * 1024;

export function regionName(ctx: HostCtx, r: Handle): string {
  return `region${ctx.host.regions.get(r, 'id')}`;
}

/** cxl_dpa_to_region(): the region whose ED DPA resource (on this memdev) contains `dpa`. */
export function cxl_dpa_to_region(ctx: HostCtx, memdev: number, dpa: number): Handle {
  const R = ctx.host.regions;
  for (const r of R.live()) {
    if (R.get(r, 'memdev') !== memdev) continue;
    const s = R.get(r, 'edDpaStart');
    if (dpa >= s && dpa < s + R.get(r, 'size')) return r;
  }
  return NO_HANDLE;
}

/**
 * `cxl create-region -t dynamic_ram_1 -w 1 [-s size] memX` (runs in the calling user worker):
 * allocate an ED from the partition's free DPA (first fit), a region id and an HPA window, and
 * the cxl_dax_region. The DAX driver probe is asynchronous and is started by the caller.
 */
export function cxl_create_dc_region(ctx: HostCtx, memdev: number, size: number | null): Handle {
  const h = ctx.host;
  const m = h.memdev(memdev);
  if (!h.memdevs.load(m, 'dcdSupported')) throw new CxlError('EINVAL', `${memdevName(memdev)} has no dynamic capacity (DCD disabled)`);
  return withWrite(h.cxlRegionRwsem, () => withWrite(h.cxlDpaRwsem, () => {
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
    h.regions.store(r, 'hasCxlrDax', 1); // devm_cxl_add_dax_region: interleave 1 only
    ctx.dmesg('info', memdevName(memdev), `region${id}: dynamic_ram_1 DPA 0x${start.toString(16)}+0x${bytes.toString(16)}`);
    return r;
  }));
}

/**
 * Region teardown after the DAX driver has been unbound: unregister every tracked dc_extent
 * (each release sends its Release DC unless the group skips it), then free the region.
 * Regardless of DAX use counts (§7.4): the use-count check exists only in the event path.
 */
export function cxl_region_teardown_extents(ctx: HostCtx, r: Handle): number {
  const X = ctx.host.extents;
  // instrumented: the walk reads the extent table another thread may be filling (a chain being
  // realized); a point here lets a replay of a free run order the walk against those writes
  noisePoint(NOISE_SITE.dcWalk);
  // peek, not get: an extent of this region may be freed by a racing release between the table
  // snapshot and the read (the recheck below skips it); get would throw a stale handle here
  const mine = [...X.live()].filter((e) => X.peek(e, 'region') === r);
  ctx.emit({ type: 'region-teardown', region: r, extents: mine.length });
  let n = 0;
  for (const e of mine) {
    if (X.peek(e, 'region') === r) { dc_extent_unregister(ctx, e); n++; }
  }
  return n;
}

export function cxl_destroy_region(ctx: HostCtx, r: Handle): void {
  const h = ctx.host;
  withWrite(h.cxlRegionRwsem, () => {
    cxl_region_teardown_extents(ctx, r);
    h.regions.store(r, 'hasCxlrDax', 0);
    h.regions.free(r);
  });
}

// ------------------------------------------------------------------------------ recovery

/**
 * cxl_region_add_existing_extents(): in cxl_dax_region_probe with device_lock(cxlr_dax) held.
 * Reads the device's whole accepted list (every region's extents, each resolved to its own
 * region) and realizes them with existing=true — never acknowledged. Publishes extents_scanned
 * (store-release) only when every target succeeded.
 */
export function cxl_region_add_existing_extents(ctx: HostCtx, r: Handle): { rc: number; attempts: number; found: number } {
  const h = ctx.host;
  assertHeld(h.regionLockFor(r));
  const memdev = h.regions.get(r, 'memdev');
  let rc = 0;
  let attempts = 0;
  let found = 0;
  for (attempts = 1; attempts <= CXL_READ_EXTENT_LIST_RETRY; attempts++) {
    const res = __cxl_process_extent_list(ctx, memdev);
    rc = res.rc;
    found = res.found;
    if (rc !== EAGAIN) break;
  }
  attempts = Math.min(attempts, CXL_READ_EXTENT_LIST_RETRY);
  // the event precedes the store-release, so no runtime add can be tracked between flag and event
  ctx.emit({ type: 'scan-done', region: r, rc, attempts, found });
  if (rc === 0) h.regions.store(r, 'extentsScanned', 1);
  return { rc, attempts, found };
}

/** __cxl_process_extent_list(): one paged read of Get DC Extent List under add_ctx.lock. */
export function __cxl_process_extent_list(ctx: HostCtx, memdev: number): { rc: number; found: number } {
  const h = ctx.host;
  const m = h.memdev(memdev);
  return withLock(h.memdevs.get(m, 'addLock'), () => {
    const per = Math.floor((ctx.regfile(memdev).payloadSize - EXTENT_LIST_OUT_HDR) / EXTENT_SIZE);
    let idx = 0;
    let read = 0;
    let expected = -1;
    let gen0 = -1;
    let rc = 0;
    try {
      do {
        const inBuf = new Uint8Array(8);
        encodeGetDcExtentListIn({ extentCount: per, startExtentIndex: idx }, inBuf, 0);
        const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.GET_DC_EXTENT_LIST, inBuf);
        if (reply.rc !== 0) { rc = -(ERRNO_CODE[reply.errno] ?? ERRNO_CODE.ENXIO!); break; }
        // v11 does not check returned_extent_count against the buffer (SK-27: min_out = 1); the
        // model's decoder does, and a lying count becomes -EIO instead of an out-of-bounds read.
        const d = decodeGetDcExtentListOut(reply.out);
        if (!d.ok) { ctx.dmesg('err', memdevName(memdev), `Get DC Extent List: ${d.error.message}`); rc = EIO; break; }
        const out = d.value;
        if (expected < 0) { expected = out.totalExtentCount; gen0 = out.generationNum; }
        if (out.generationNum !== gen0 || out.totalExtentCount !== expected) { rc = EAGAIN; break; }
        if (out.returnedExtentCount === 0 && expected > read) { rc = EIO; break; }
        for (const e of out.extents) {
          if (stage_extent(ctx, memdev, e) === NO_HANDLE) { rc = ENOMEM; break; } // no 100 cap here
        }
        if (rc) break;
        read += out.returnedExtentCount;
        idx += out.returnedExtentCount;
      } while (expected > read);
      // v11 (__cxl_process_extent_list, drivers/cxl/core/mbox.c) tests the LIST, not what was
      // read: a runtime More=1 chain staged on the same list is realized here as existing and
      // never acknowledged, even when the device returned 0 extents (an H2 variant)
      if (rc === 0 && pending_extents_nonempty(ctx, memdev)) cxl_add_pending(ctx, memdev, true);
    } finally {
      clear_pending_extents(ctx, memdev);
    }
    return { rc, found: read };
  });
}
