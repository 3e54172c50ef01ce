/**
 * DOC: dax bus — DC dax regions, their resources, and dev_dax devices with the tag-aware uuid
 * claim (drivers/dax/bus.c in the series; host-kernel.md §2.8, §5, §6).
 *
 * Resources: one `dax_resource` per host-tracked extent, added and removed per tag group
 * all-or-none under ONE hold of the global dax_region_rwsem (v11). With `group-lock=per-extent`
 * (the v10 locking) the rwsem is taken per extent, so a claimer can observe a partial group —
 * the knob exists to show that the v11 invariant is what prevents it.
 *
 * Devices: every sysfs store runs in the calling user worker (`uuid_store`, `size_store`,
 * `delete_store`, create). Errors are CxlError values with the kernel's errno names.
 * Lock order: dax_region_rwsem(W) → dax_dev_rwsem(W) (uuid_store).
 */
import { assertHeldWrite, isHeld, noisePoint, withRead, withWrite } from '../shm/lock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { CxlError, StaleHandleError } from '../errors.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { HostCtx } from '../host/context.js';
import { ERRNO_CODE } from '../protocol.js';
import { NULL_UUID } from '../wire/cxl.js';

const ENOSPC = -ERRNO_CODE.ENOSPC!;
const EBUSY = -ERRNO_CODE.EBUSY!;

export interface DaxResourceSpec {
  extent: Handle;
  start: number;
  length: number;
  seq: number;
}

function overlapsResource(ctx: HostCtx, region: Handle, start: number, length: number): boolean {
  const D = ctx.host.daxRes;
  const refs = [D.field('region'), D.field('start'), D.field('length')];
  const v = [0, 0, 0];
  for (const r of D.live()) {
    // one snapshot per resource: the table is shared by every region, and another region's
    // resources are freed under that region's lock, not ours
    if (!D.peekRefs(r, refs, v) || v[0] !== region) continue;
    const s = v[1]!;
    if (start < s + v[2]! && s < start + length) return true;
  }
  return false;
}

/** __request_region + record uuid/seq + drvdata: one resource; -ENOSPC on overlap. */
function addOne(ctx: HostCtx, region: Handle, spec: DaxResourceSpec, uuid: string): Handle | number {
  const h = ctx.host;
  if (overlapsResource(ctx, region, spec.start, spec.length)) return ENOSPC;
  const r = h.daxRes.alloc();
  if (r === NO_HANDLE) return -ERRNO_CODE.ENOMEM!;
  h.daxRes.set(r, 'region', region);
  h.daxRes.set(r, 'extent', spec.extent);
  h.daxRes.set(r, 'start', spec.start);
  h.daxRes.set(r, 'length', spec.length);
  h.daxRes.setUuid(r, 'uuid', uuid);
  h.daxRes.set(r, 'seq', spec.seq);
  h.extents.set(spec.extent, 'daxRes', r);
  return r;
}

function removeOne(ctx: HostCtx, r: Handle): void {
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
    const added: Handle[] = [];
    for (const s of specs) {
      const r = withWrite(h.daxRegionRwsem, () => addOne(ctx, region, s, uuid));
      if (r <= 0) {
        withWrite(h.daxRegionRwsem, () => { for (const a of added) if (h.daxRes.isLive(a) && h.daxRes.get(a, 'useCnt') === 0) removeOne(ctx, a); });
        return r as number;
      }
      added.push(r);
      noisePoint(NOISE_SITE.daxPerExtent);
    }
    return 0;
  }
  return withWrite(h.daxRegionRwsem, () => {
    const added: Handle[] = [];
    for (const s of specs) {
      const r = addOne(ctx, region, s, uuid);
      if (r <= 0) {
        for (const a of added) removeOne(ctx, a);
        return r as number;
      }
      added.push(r);
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
export function dax_region_rm_resources(ctx: HostCtx, extents: Handle[]): number {
  const h = ctx.host;
  const resOf = (e: Handle): Handle => (h.extents.isLive(e) ? h.extents.get(e, 'daxRes') : NO_HANDLE);
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

/** dax_release_resource(): devm action of a dc_extent device — drop its resource if still there. */
export function dax_release_resource_locked(ctx: HostCtx, e: Handle): void {
  const h = ctx.host;
  assertHeldWrite(h.daxRegionRwsem);
  const r = h.extents.get(e, 'daxRes');
  if (r === NO_HANDLE || !h.daxRes.isLive(r)) return;
  // a dev_dax range may still point at it (teardown regardless of use_cnt, §7.4): cut it out
  for (const g of [...h.daxRanges.live()]) {
    if (h.daxRanges.get(g, 'res') === r) dropRange(ctx, g);
  }
  removeOne(ctx, r);
}

// ------------------------------------------------------------------------------ dax region

/**
 * available_size: bytes of resources with no child (unclaimed). available_size_show reads under
 * dax_region_rwsem (read); callers that already hold it (state views) walk directly.
 */
export function available_size(ctx: HostCtx, region: Handle): number {
  const D = ctx.host.daxRes;
  const sum = (): number => {
    let n = 0;
    for (const r of D.live()) if (D.get(r, 'region') === region && D.get(r, 'useCnt') === 0) n += D.get(r, 'length');
    return n;
  };
  return isHeld(ctx.host.daxRegionRwsem) ? sum() : withRead(ctx.host.daxRegionRwsem, sum);
}

/** Create a dev_dax of size 0 on a region (the seed, or `create` written by daxctl). */
export function devm_create_dev_dax(ctx: HostCtx, region: Handle): Handle {
  const h = ctx.host;
  const d = h.daxDevs.alloc();
  if (d === NO_HANDLE) throw new CxlError('ENOMEM', 'dax device table full');
  h.daxDevs.set(d, 'region', region);
  h.daxDevs.set(d, 'id', h.regions.add(region, 'nextDaxId', 1) - 1);
  return d;
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

function dropRange(ctx: HostCtx, g: Handle): void {
  const h = ctx.host;
  const dev = h.daxRanges.get(g, 'dev');
  const r = h.daxRanges.get(g, 'res');
  if (h.daxRes.isLive(r)) h.daxRes.set(r, 'useCnt', h.daxRes.get(r, 'useCnt') - 1);
  if (h.daxDevs.isLive(dev)) {
    h.daxDevs.set(dev, 'size', h.daxDevs.get(dev, 'size') - h.daxRanges.get(g, 'length'));
    h.daxDevs.set(dev, 'nrRanges', h.daxDevs.get(dev, 'nrRanges') - 1);
  }
  h.daxRanges.free(g);
}

/** __dev_dax_resize(parent = resource): carve a whole resource into the device. */
function carve(ctx: HostCtx, dev: Handle, r: Handle): void {
  const h = ctx.host;
  const g = h.daxRanges.alloc();
  if (g === NO_HANDLE) throw new CxlError('ENOMEM', 'dax range table full');
  const n = h.daxDevs.get(dev, 'nrRanges');
  h.daxRanges.set(g, 'dev', dev);
  h.daxRanges.set(g, 'order', n);
  h.daxRanges.set(g, 'res', r);
  h.daxRanges.set(g, 'start', h.daxRes.get(r, 'start'));
  h.daxRanges.set(g, 'length', h.daxRes.get(r, 'length'));
  h.daxRes.set(r, 'useCnt', h.daxRes.get(r, 'useCnt') + 1);
  h.daxDevs.set(dev, 'nrRanges', n + 1);
  h.daxDevs.set(dev, 'size', h.daxDevs.get(dev, 'size') + h.daxRes.get(r, 'length'));
}

/** Trim every range of a device (size store of 0), dropping each resource's use_cnt. */
function trimAll(ctx: HostCtx, dev: Handle): void {
  for (const g of rangesOf(ctx, dev)) dropRange(ctx, g);
}

function regionIsDynamic(ctx: HostCtx, region: Handle): boolean {
  return ctx.host.regions.load(region, 'daxRegion') === 1;
}

/** uuid_claim_untagged(): exactly one free untagged resource (first in device order). */
function uuid_claim_untagged(ctx: HostCtx, region: Handle, dev: Handle): number {
  const h = ctx.host;
  const align = h.regions.get(region, 'daxAlign');
  for (const r of resourcesOf(ctx, region)) {
    if (h.daxRes.get(r, 'useCnt') !== 0 || h.daxRes.getUuid(r, 'uuid') !== NULL_UUID) continue;
    if (h.daxRes.get(r, 'length') % align !== 0) return -ERRNO_CODE.EINVAL!; // does not try another
    carve(ctx, dev, r);
    return 1;
  }
  return -ERRNO_CODE.ENOENT!;
}

/** Resources of a region in device order (the order of their extents' ids). */
function resourcesOf(ctx: HostCtx, region: Handle): Handle[] {
  const h = ctx.host;
  const out: { r: Handle; key: number }[] = [];
  for (const r of h.daxRes.live()) {
    if (h.daxRes.get(r, 'region') !== region) continue;
    const e = h.daxRes.get(r, 'extent');
    out.push({ r, key: h.extents.isLive(e) ? h.extents.get(e, 'id') : 1e9 });
  }
  out.sort((a, b) => a.key - b.key);
  return out.map((x) => x.r);
}

/**
 * uuid_claim_tagged(): every free resource with the tag, sorted by seq, required to be 0..n-1
 * (v10: 1..n) — only what was collected, so missing TRAILING members pass (SK-26). Any failure
 * trims what was carved.
 */
function uuid_claim_tagged(ctx: HostCtx, region: Handle, dev: Handle, uuid: string): number {
  const h = ctx.host;
  const free = resourcesOf(ctx, region).filter((r) => h.daxRes.get(r, 'useCnt') === 0 && h.daxRes.getUuid(r, 'uuid') === uuid);
  if (free.length === 0) return -ERRNO_CODE.ENOENT!;
  free.sort((a, b) => h.daxRes.get(a, 'seq') - h.daxRes.get(b, 'seq'));
  const base = ctx.knobs['v10-seq'] === 'on' ? 1 : 0;
  for (let i = 0; i < free.length; i++) {
    if (h.daxRes.get(free[i]!, 'seq') !== base + i) {
      ctx.dmesg('warn', `dax_region`, `WARN: tag ${uuid}: sequence gap at ${i}; refusing claim`);
      return -ERRNO_CODE.EINVAL!;
    }
  }
  const align = h.regions.get(region, 'daxAlign');
  for (const r of free) {
    if (h.daxRes.get(r, 'length') % align !== 0) { trimAll(ctx, dev); return -ERRNO_CODE.EINVAL!; }
    carve(ctx, dev, r);
  }
  return free.length;
}

/** Members a group has right now (for the claim event: did the claim see the whole group?). */
function groupSizeOfTag(ctx: HostCtx, region: Handle, uuid: string): number {
  const X = ctx.host.extents;
  let n = 0;
  for (const e of X.live()) {
    // extents are freed by CXL threads that do not hold dax_region_rwsem: peek, and re-check
    if (X.peek(e, 'region') !== region || !X.peek(e, 'registered')) continue;
    let u: string;
    try { u = X.getUuid(e, 'uuid'); } catch { continue; }
    if (u === uuid) n++;
  }
  return n;
}

/**
 * uuid_store(): claim by tag ("0" = untagged). Runs in the writer's thread (§5.3).
 * Errors: EOPNOTSUPP (not DC), EINVAL (parse, density, alignment), ENXIO (driver unbound),
 * EBUSY (device already has size), ENOENT (nothing free matches).
 */
export function uuid_store(ctx: HostCtx, dev: Handle, buf: string): void {
  const h = ctx.host;
  const region = h.daxDevs.get(dev, 'region');
  if (!regionIsDynamic(ctx, region)) throw new CxlError('EOPNOTSUPP', 'uuid claims need a dynamic (DC) dax region');
  const s = buf.trim().toLowerCase();
  let uuid: string;
  if (s === '0') uuid = NULL_UUID;
  else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)) uuid = s;
  else throw new CxlError('EINVAL', `cannot parse uuid "${buf}"`);
  const rc = withWrite(h.daxRegionRwsem, () => {
    if (!h.regions.load(region, 'driverBound')) return -ERRNO_CODE.ENXIO!;
    return withWrite(h.daxDevRwsem, () => {
      if (h.daxDevs.get(dev, 'size') !== 0) return EBUSY;
      const members = uuid === NULL_UUID ? 1 : groupSizeOfTag(ctx, region, uuid);
      const r = uuid === NULL_UUID ? uuid_claim_untagged(ctx, region, dev) : uuid_claim_tagged(ctx, region, dev, uuid);
      ctx.emit({ type: 'claim', region, dev, uuid, rc: r < 0 ? -r : 0, nRanges: h.daxDevs.get(dev, 'nrRanges'), size: h.daxDevs.get(dev, 'size'), groupMembers: members });
      return r;
    });
  });
  if (rc < 0) throw errnoError(-rc, `uuid ${s}`);
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
 * size_store(): DC devices accept only 0 — non-zero → EOPNOTSUPP; 0 while a driver is bound →
 * EBUSY (upstream dev_dax_resize); 0 trims every range and drops use_cnt.
 */
export function size_store(ctx: HostCtx, dev: Handle, size: number): void {
  const h = ctx.host;
  const region = h.daxDevs.get(dev, 'region');
  if (regionIsDynamic(ctx, region) && size !== 0) throw new CxlError('EOPNOTSUPP', 'DC dax devices cannot be resized (only 0)');
  withWrite(h.daxRegionRwsem, () => withWrite(h.daxDevRwsem, () => {
    if (h.daxDevs.get(dev, 'enabled')) throw new CxlError('EBUSY', 'device is enabled (a driver is bound)');
    trimAll(ctx, dev);
  }));
}

/** delete_store(): EBUSY if enabled or non-zero size; the seed (id 0) is never deleted. */
export function delete_store(ctx: HostCtx, dev: Handle): void {
  const h = ctx.host;
  withWrite(h.daxRegionRwsem, () => {
    if (h.daxDevs.get(dev, 'enabled') || h.daxDevs.get(dev, 'size') !== 0) throw new CxlError('EBUSY', 'device is enabled or has size');
    if (h.daxDevs.get(dev, 'id') === 0) throw new CxlError('EBUSY', 'the seed device is never deleted');
    h.daxDevs.free(dev);
  });
}

/** Create a device with an initial size: DC regions require 0 (EINVAL otherwise). */
export function create_store(ctx: HostCtx, region: Handle, size: number): Handle {
  const h = ctx.host;
  if (regionIsDynamic(ctx, region) && size !== 0) throw new CxlError('EINVAL', 'DC DAX region devices must be created initially with 0 size');
  return withWrite(h.daxRegionRwsem, () => {
    if (!h.regions.load(region, 'driverBound')) throw new CxlError('ENXIO', 'the cxl_dax_region driver is not bound');
    return devm_create_dev_dax(ctx, region);
  });
}

export function enable_dev_dax(ctx: HostCtx, dev: Handle, on: boolean): void {
  withWrite(ctx.host.daxDevRwsem, () => {
    if (on && ctx.host.daxDevs.get(dev, 'size') === 0) throw new CxlError('ENXIO', 'cannot enable a device of size 0');
    ctx.host.daxDevs.set(dev, 'enabled', on ? 1 : 0);
  });
}

export function errnoError(code: number, what: string): CxlError {
  const name = Object.entries(ERRNO_CODE).find(([, v]) => v === code)?.[0] ?? 'EIO';
  return new CxlError(name as ConstructorParameters<typeof CxlError>[0], what);
}

/** A read-locked snapshot helper for views. */
export function withDaxRead<T>(ctx: HostCtx, fn: () => T): T {
  return withRead(ctx.host.daxRegionRwsem, fn);
}
