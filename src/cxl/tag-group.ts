/**
 * DOC: cxl tag groups — the host-wide registry of tagged groups and a group's lifetime, as v11
 * writes them in drivers/cxl/core/extent.c (docs/kernel-map.md):
 *
 *  - the registry `cxl_tag_groups` under `cxl_tag_lock`: `cxl_tag_register` (insert, -EBUSY when
 *    the uuid is live), `cxl_tag_unregister`, `cxl_tag_already_committed` (gate G1's lookup).
 *    Null-uuid (untagged) groups are never registered. The `tag-lock` knob (off = a mutant of
 *    v11) drops the lock, opening the check/insert race of H1;
 *  - `alloc_tag_group` / `free_tag_group`: a group pins its cxlr_dax (get_device / put_device);
 *  - `group->nr_extents`, the group's manual refcount (`groupGet` / `groupPut`): a plain
 *    read-modify-write, as in v11, which concurrent last puts race on (H6);
 *  - the group's own dc_extents xarray, walked in seq order (`groupMembers`).
 *
 * Adding extents to a group, onlining it and removing it (cxl_add_extent, online_tag_group,
 * rm_tag_group) stay in src/cxl/extent.ts with the dc_extent device they drive; this module
 * imports nothing from there, so the two import in one direction only.
 */
import { noisePoint, withLock } from '../shm/lock.js';
import { NO_HANDLE, type FieldRef, type Handle } from '../shm/table.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { GroupHandle, ExtentHandle } from '../host/state.js';
import type { HostCtx } from '../host/context.js';
import { EBUSY, ENOMEM } from '../errors.js';
import { NULL_UUID } from '../wire/cxl.js';
import { cxlr_dax_get, cxlr_dax_put } from './region.js';

/** cxl_tag_already_committed(): is a live group with this uuid registered anywhere? */
export function cxl_tag_already_committed(ctx: HostCtx, uuid: string): boolean {
  const h = ctx.host;
  const check = (): boolean => {
    for (const t of h.tags.live()) if (h.tags.getUuid(t, 'uuid') === uuid) return true;
    return false;
  };
  return ctx.knobs['tag-lock'] === 'on' ? withLock(h.cxlTagLock, check) : check();
}

/**
 * alloc_tag_group(): allocate a group on `region`'s cxl_dax_region of generation `gen` (the
 * cxlr->cxlr_dax cxl_validate_extent read, extent.c), registering a non-null uuid (-EBUSY if taken).
 */
export function alloc_tag_group(ctx: HostCtx, memdev: number, region: Handle, uuid: string, gen: number): number {
  const h = ctx.host;
  const g = h.groups.alloc();
  if (g === NO_HANDLE) return ENOMEM;
  h.groups.set(g, 'region', region);
  h.groups.set(g, 'memdev', memdev);
  h.groups.setUuid(g, 'uuid', uuid);
  if (uuid !== NULL_UUID) {
    const rc = cxl_tag_register(ctx, memdev, g, uuid);
    if (rc) { h.groups.free(g); return rc; }
  }
  h.groups.set(g, 'daxGen', gen); // group->cxlr_dax = cxlr_dax
  cxlr_dax_get(ctx, region, gen); // get_device(&cxlr_dax->dev): the pin free_tag_group drops
  return g;
}

/** cxl_tag_register(): insert into cxl_tag_groups under cxl_tag_lock; -EBUSY if present. */
function cxl_tag_register(ctx: HostCtx, memdev: number, g: GroupHandle, uuid: string): number {
  const h = ctx.host;
  const insert = (): number => {
    for (const t of h.tags.live()) if (h.tags.getUuid(t, 'uuid') === uuid) return EBUSY;
    noisePoint(NOISE_SITE.tagInsert); // the window a dropped cxl_tag_lock (tag-lock=off) leaves open
    const t = h.tags.alloc();
    if (t === NO_HANDLE) return ENOMEM;
    h.tags.setUuid(t, 'uuid', uuid);
    h.tags.set(t, 'group', g);
    h.tags.set(t, 'memdev', memdev);
    h.groups.set(g, 'registered', 1);
    ctx.emit({ type: 'tag-registered', uuid, group: g, memdev });
    return 0;
  };
  return ctx.knobs['tag-lock'] === 'on' ? withLock(h.cxlTagLock, insert) : insert();
}

/** cxl_tag_unregister(): remove the group's entry from cxl_tag_groups under cxl_tag_lock. */
function cxl_tag_unregister(ctx: HostCtx, g: GroupHandle): void {
  const h = ctx.host;
  const remove = (): void => {
    for (const t of [...h.tags.live()]) {
      if (h.tags.get(t, 'group') === g) {
        ctx.emit({ type: 'tag-unregistered', uuid: h.tags.getUuid(t, 'uuid'), group: g, memdev: h.tags.get(t, 'memdev') });
        h.tags.free(t);
      }
    }
  };
  if (ctx.knobs['tag-lock'] === 'on') withLock(h.cxlTagLock, remove);
  else remove();
}

/**
 * free_tag_group(): leave the registry, drop the pin alloc_tag_group took on cxlr_dax, free the
 * group (the last nr_extents put, or clear_pending_extents for a group that never got a member).
 */
export function free_tag_group(ctx: HostCtx, g: GroupHandle): void {
  const G = ctx.host.groups;
  if (G.getRef(g, G.f.registered)) cxl_tag_unregister(ctx, g);
  const region = G.getRef(g, G.f.region);
  const gen = G.getRef(g, G.f.daxGen);
  G.free(g);
  // put_device(&group->cxlr_dax->dev): the instance the group pinned, which a re-probe may have
  // replaced since (cxl_dax_region_alloc) — never the region's current one then
  cxlr_dax_put(ctx, region, gen);
}

/**
 * `group->nr_extents--; if (!group->nr_extents) free_tag_group(group);` (dc_extent_release,
 * rm_tag_group): a plain read-modify-write, as in v11 (H6).
 */
export function groupPut(ctx: HostCtx, g: GroupHandle): void {
  const G = ctx.host.groups;
  const v = G.getRef(g, G.f.nrExtents); // once per released extent: a ref (#17)
  noisePoint(NOISE_SITE.groupPut);
  nrExtentsStore(ctx, g, v, v - 1);
  if (v - 1 === 0) free_tag_group(ctx, g);
}

/** `group->nr_extents += n` (online_tag_group's members and pin, rm_tag_group's pin). */
export function groupGet(ctx: HostCtx, g: GroupHandle, n: number): void {
  const G = ctx.host.groups;
  const v = G.getRef(g, G.f.nrExtents);
  nrExtentsStore(ctx, g, v, v + n);
}

/**
 * The plain store ending a nr_extents read-modify-write, as v11 does it. The model's store is an
 * exchange so it knows what it overwrote: a value other than the one this thread read means
 * another thread's update landed in between and this store just lost it (H6). The `lost-update`
 * event is the checkers' evidence for `tag-leaked` (stress/checkers/registry.ts); the stored
 * value is the plain store's either way.
 */
function nrExtentsStore(ctx: HostCtx, g: GroupHandle, read: number, value: number): void {
  const G = ctx.host.groups;
  const found = G.exchangeRef(g, G.f.nrExtents, value);
  if (found !== read) ctx.emit({ type: 'lost-update', memdev: ctx.host.groups.get(g, 'memdev'), group: g, read, found, wrote: value });
}

/** Members (dc_extent handles) of a group, in seq order (the group's xarray walk). */
export function groupMembers(ctx: HostCtx, g: GroupHandle): ExtentHandle[] {
  const n = groupWalk(ctx, g);
  const out = new Array<ExtentHandle>(n);
  for (let k = 0; k < n; k++) out[k] = walkE[walkOrder[k]!]! as ExtentHandle;
  return out;
}

/**
 * xa_insert(&group->extents, seq, …) returning -EBUSY: is `seq` taken by a member of `g`? The
 * same snapshot as groupMembersSeq (its list, or a scan for a freed group's orphans), without
 * building and sorting it — cxl_add_extent asks once per extent, so a chain of N asked N times (#17).
 */
export function groupHasSeq(ctx: HostCtx, g: GroupHandle, seq: number): boolean {
  const X = ctx.host.extents;
  seqRefs ??= [X.field('group'), X.field('seq')];
  fitScratch(X.capacity);
  if (ctx.host.groups.isLive(g)) {
    // the list and each member's group and seq in one pass under the table lock (#17), read by
    // offsets resolved once (TableList.beginWalk)
    const W = X.words;
    const oGroup = X.offset.group;
    const oSeq = X.offset.seq;
    const L = ctx.host.groupList;
    const cap = seqList.length;
    let seen = 0;
    let found = false;
    let i = L.beginWalk(g);
    try {
      while (i !== 0 && seen < cap) {
        seen++;
        const b = X.base(i - 1);
        if (W[b + oGroup] === g && W[b + oSeq] === seq) { found = true; break; }
        i = L.nextLocked(g, i);
      }
    } finally {
      L.endWalk();
    }
    return found;
  }
  const v = seqPeek;
  const m = X.liveInto(seqList);
  for (let k = 0; k < m; k++) {
    if (X.peekRefs(seqList[k]! as ExtentHandle, seqRefs, v) && v[0] === g && v[1] === seq) return true;
  }
  return false;
}
/** the group walks' scratch (the schema is static): the list, its values, the members kept and their seq order */
let seqRefs: FieldRef[] | null = null;
const seqPeek = [0, 0];
let seqList = new Int32Array(0);
let seqVals = new Float64Array(0);
let walkE = new Int32Array(0);
let walkSeq = new Float64Array(0);
let walkOrder = new Int32Array(0);
function fitScratch(cap: number): void {
  if (seqList.length >= cap) return;
  seqList = new Int32Array(cap);
  seqVals = new Float64Array(2 * cap);
  walkE = new Int32Array(cap);
  walkSeq = new Float64Array(cap);
  walkOrder = new Int32Array(cap);
}

/**
 * The group's members in seq order into the scratch (`walkE[walkOrder[k]]`, `walkSeq[…]`): its own
 * list, read with each member's group and seq under the table lock; a group freed under a racing
 * thread (H6) keeps no list, so its orphans are scanned for, each peeked (it may be freed
 * concurrently once the table is read). Stable in list order among equal seqs, as
 * Array.prototype.sort was.
 */
function groupWalk(ctx: HostCtx, g: GroupHandle): number {
  const X = ctx.host.extents;
  seqRefs ??= [X.field('group'), X.field('seq')];
  fitScratch(X.capacity);
  let n = 0;
  const keep = (e: number, seq: number): void => {
    walkE[n] = e;
    walkSeq[n] = seq;
    // insertion sort by seq (stable; a group's list is linked in seq order, so this is ~linear)
    let j = n;
    while (j > 0 && walkSeq[walkOrder[j - 1]!]! > seq) {
      walkOrder[j] = walkOrder[j - 1]!;
      j--;
    }
    walkOrder[j] = n;
    n++;
  };
  if (ctx.host.groups.isLive(g)) {
    const m = ctx.host.groupList.membersRefsInto(g, seqRefs, seqList, seqVals);
    for (let k = 0; k < m; k++) if (seqVals[2 * k] === g) keep(seqList[k]!, seqVals[2 * k + 1]!);
  } else {
    const v = seqPeek;
    const m = X.liveInto(seqList);
    for (let k = 0; k < m; k++) if (X.peekRefs(seqList[k]! as ExtentHandle, seqRefs, v) && v[0] === g) keep(seqList[k]!, v[1]!);
  }
  return n;
}

/** groupMembers() with each member's seq as read in the same snapshot. */
export function groupMembersSeq(ctx: HostCtx, g: GroupHandle): { e: ExtentHandle; seq: number }[] {
  const n = groupWalk(ctx, g);
  const out: { e: ExtentHandle; seq: number }[] = [];
  for (let k = 0; k < n; k++) out.push({ e: walkE[walkOrder[k]!]! as ExtentHandle, seq: walkSeq[walkOrder[k]!]! });
  return out;
}
