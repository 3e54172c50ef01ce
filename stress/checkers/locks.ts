/**
 * DOC: locks checker — the lock graph has no cycle, no thread waits beyond the bound unreported,
 * and lockdep assertions hold (§8.1-19; product §6; hazards H2, H12). Labels: docs/kernel-map.md.
 *
 * Model. The runtime's lockdep (src/shm/lockdep.ts: lockdep's dependency types and strong-path
 * rule, so a cycle through down_read() edges is reported as lockdep reports it) and hung-wait
 * detector (src/shm/lock.ts; the controlled scheduler's deadlock report in stress/turnstile.ts)
 * write reports to the system report log; this checker reads them at quiescence. A lock-order
 * report names the new dependency held → acquiring and, for every recorded dependency on the
 * strong path acquiring ⇝ held, the chain that recorded it (whose last class is that
 * dependency's target), so the cycle is [acquiring, last(chain_0), …, last(chain_n) = held].
 *
 * Classification — by the cycle's own chain, never by "made of documented nestings":
 *  - a cycle or hung wait is a known hazard only when it is that hazard's chain (KNOWN_CYCLES):
 *    H2 is exactly the AB-BA add_ctx.lock ↔ device_lock(cxlr_dax) — an add chain holding its
 *    add_ctx.lock into cxlr_notify_extent()'s device_lock, against the probe's scan holding
 *    device_lock(cxlr_dax) into add_ctx.lock (cxl_dax_region_probe → cxl_region_add_existing_
 *    extents → cxl_process_extent_list);
 *    H17 is exactly the cycle device_lock(cxlr_dax) → add_ctx.lock → cxl_rwsem.region(R) →
 *    device_lock(cxlr_dax): the probe's scan (device_lock, then add_ctx.lock, then
 *    cxl_add_extent's down_read) against cxl_rm_extent (down_read held into cxlr_notify_extent's
 *    device_lock). Strong because down_read is a non-recursive read: a cxl_rwsem.region writer
 *    waiting past the handoff blocks the scan's down_read — a three-task deadlock (isH17Hung);
 *    H21 is exactly the AB-BA kn->active(delete) ↔ device_lock(cxlr_dax): delete_store runs inside
 *    an active reference of dax_region/delete and takes device_lock(cxlr_dax) (bus.c
 *    delete_store: device_lock(dev), dev = dax_region->dev = cxlr_dax), while the cxl_dax_region
 *    unbind holds device_lock(cxlr_dax) across devres_release_all → dax_region_unregister →
 *    sysfs_remove_groups, which drains that reference (fs/kernfs/dir.c kernfs_drain) (isH21Hung);
 *    H22 is exactly kn->active(size) ↔ dax_region_rwsem or kn->active(uuid) ↔ dax_region_rwsem:
 *    size_store / uuid_store inside their node's active reference wait in
 *    down_write_killable(&dax_region_rwsem), which unregister_dev_dax holds across
 *    device_del(dev_dax) — and device_del drains that node (isH22Hung);
 *  - any other cycle is `lock-order-cycle` and any other hung wait `hung-wait`: forbidden until
 *    confirmed in the v11 code and named. The detail lists each dependency of the cycle with its
 *    V11_NESTINGS citation, or says it is not a documented v11 nesting (then suspect the model).
 *  - a hung wait is H2 when the report shows H2's chain: the waiter holds one of the two locks and
 *    waits for the other while a holder holds that one and waits for the first (the deadlock
 *    itself), or the waiter is queued behind a holder caught in that pattern;
 *  - a hung wait in one half of H2 whose holder waits for nothing is H2 only when a later report
 *    of the iteration shows that holder in the other half (same threads, same locks:
 *    h2ProbeHalfLater);
 *  - a hung wait in which a thread of an earlier known deadlock of the iteration is the waiter or a
 *    holder is that deadlock's consequence (afterKnownDeadlock: the model's hung task gives up
 *    and unwinds, the kernel's and its cycle's stay blocked for good); so is a hung wait whose
 *    holder waits for a lock a thread of a known deadlock's report holds (queuedBehindKnown: the
 *    waiter queued behind the deadlock through another waiter, e.g. two destroys of one region
 *    behind H2, seen in a 180 s soak); otherwise it stays `hung-wait`;
 *  - `assert-held` reports (a lockdep_assert_held that failed, a WARN in the kernel) are
 *    `assert-held-h12` (known: the recovery scan notifying another region's extent).
 *
 * Not verified (and why):
 *  - reports are per system, not per iteration: lockdep reports each cycle once per run, so a
 *    stress loop reusing one system sees a cycle in the first iteration only;
 *  - same-class nesting (the runtime's lockdep does not model subclasses);
 *  - onEvent has nothing to consume: lock holds are traced (`lock-hold`) only for Perfetto, and
 *    the reports are the verdicts.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import type { LockOrderReport } from '../../src/shm/lockdep.js';
import type { HungReport, ThreadLockInfo } from '../../src/errors.js';
import { Findings, type SysLike } from './common.js';
import { finding, held, INV, type OutcomeName } from './outcomes.js';

const ADD_CTX = 'add_ctx.lock';
const DEVICE_LOCK = 'device_lock(cxlr_dax)';
const REGION_RWSEM = 'cxl_rwsem.region';
const DAX_REGION_RWSEM = 'dax_region_rwsem';
/** kernfs active references (src/dax/kernfs.ts): a store holds its node for read, a drain waits for write */
const KN_DELETE = 'kn->active(delete)';
const KN_DEV_ATTRS = ['kn->active(size)', 'kn->active(uuid)'] as const;
/** a mappingN device's attributes (src/dax/mapping.ts): each show's get_dax_range takes dax_region_rwsem (write, killable) inside its reference */
const KN_MAP_ATTRS = ['kn->active(start)', 'kn->active(end)', 'kn->active(page_offset)'] as const;
const DAX_DEV_RWSEM = 'dax_dev_rwsem';

/**
 * The lock nestings v11 documents in its code, outer → inner, with the function that nests them
 * (v11: anisa-su993/anisa-linux-kernel f5e075e24a45; docs/kernel-map.md). Modes: W exclusive
 * (mutex, device_lock, down_write), R down_read. The lock checker cites them in cycle details;
 * a reported dependency not listed here is a nesting only the model makes.
 */
export interface Nesting { outer: string; outerMode: 'W' | 'R'; inner: string; innerMode: 'W' | 'R'; where: string }
export const V11_NESTINGS: readonly Nesting[] = [
  { outer: 'event.log_lock', outerMode: 'W', inner: 'mbox_mutex', innerMode: 'W', where: 'drivers/cxl/core/mbox.c cxl_mem_get_records_log: Get/Clear Event Records under the log lock' },
  { outer: ADD_CTX, outerMode: 'W', inner: 'cxl_rwsem.region', innerMode: 'R', where: 'drivers/cxl/core/extent.c cxl_add_extent (guard(rwsem_read)) under the add chain\'s add_ctx.lock' },
  { outer: ADD_CTX, outerMode: 'W', inner: DEVICE_LOCK, innerMode: 'W', where: 'drivers/cxl/core/extent.c cxlr_notify_extent (guard(device)) when the add chain closes (H2, add side)' },
  { outer: DEVICE_LOCK, outerMode: 'W', inner: ADD_CTX, innerMode: 'W', where: 'drivers/cxl/core/region_dax.c cxl_region_add_existing_extents -> mbox.c cxl_process_extent_list in cxl_dax_region_probe (H2, probe side)' },
  { outer: 'cxl_rwsem.region', outerMode: 'R', inner: 'cxl_tag_lock', innerMode: 'W', where: 'drivers/cxl/core/extent.c cxl_add_extent -> cxlr_add_extent -> alloc_tag_group -> cxl_tag_register' },
  { outer: 'cxl_rwsem.region', outerMode: 'R', inner: DEVICE_LOCK, innerMode: 'W', where: 'drivers/cxl/core/extent.c cxl_rm_extent: guard(rwsem_read)(&cxl_rwsem.region) held across cxlr_notify_extent' },
  { outer: DEVICE_LOCK, outerMode: 'W', inner: 'dax_region_rwsem', innerMode: 'W', where: 'drivers/dax/cxl.c cxl_dax_region_notify -> cxl_dax_group_add/rm -> bus.c dax_region_add_resources/dax_region_rm_resources (down_write) under cxlr_notify_extent\'s device_lock; and drivers/dax/bus.c delete_store -> devm_release_action -> unregister_dev_dax (down_write) under device_lock(dax_region->dev = cxlr_dax)' },
  { outer: 'dax_region_rwsem', outerMode: 'W', inner: 'dax_dev_rwsem', innerMode: 'W', where: 'drivers/dax/bus.c size/create stores: dax_region_rwsem then dax_dev_rwsem' },
  { outer: 'device_lock(cxlr)', outerMode: 'W', inner: DEVICE_LOCK, innerMode: 'W', where: 'drivers/cxl/core/region_dax.c cxlr_dax_unregister, a devm action of the cxl_region device (devm_cxl_add_dax_region): region driver unbind runs it under device_lock(cxlr), and device_unregister(cxlr_dax) unbinds cxl_dax_region under device_lock(cxlr_dax)' },
  { outer: DEVICE_LOCK, outerMode: 'W', inner: 'device_lock(dev_dax)', innerMode: 'W', where: 'drivers/dax/bus.c delete_store: device_lock(dev) then device_lock(victim)' },
  { outer: 'device_lock(dev_dax)', outerMode: 'W', inner: 'dax_dev_rwsem', innerMode: 'W', where: 'drivers/dax/bus.c delete_store: down_write(&dax_dev_rwsem) under device_lock(victim)' },
  { outer: 'cxl_rwsem.region', outerMode: 'W', inner: 'cxl_rwsem.dpa', innerMode: 'R', where: 'drivers/cxl/core/region.c attach_target: guard(rwsem_write)(&cxl_rwsem.region) then guard(rwsem_read)(&cxl_rwsem.dpa) (region create)' },
  // kernfs active references (fs/kernfs/file.c kernfs_fop_write_iter → kernfs_get_active around
  // every store; fs/kernfs/dir.c kernfs_drain when the attribute is removed; src/dax/kernfs.ts)
  { outer: KN_DELETE, outerMode: 'R', inner: DEVICE_LOCK, innerMode: 'W', where: 'drivers/dax/bus.c delete_store: device_lock(dev) (the dax_region attribute\'s device, cxlr_dax) inside the store\'s kernfs active reference (H21, store side)' },
  { outer: DEVICE_LOCK, outerMode: 'W', inner: KN_DELETE, innerMode: 'W', where: 'drivers/dax/bus.c dax_region_unregister -> sysfs_remove_groups -> kernfs_drain, a devres action of cxlr_dax run by the driver core under device_lock(cxlr_dax) (H21, unbind side)' },
  { outer: 'kn->active(create)', outerMode: 'R', inner: DAX_REGION_RWSEM, innerMode: 'W', where: 'drivers/dax/bus.c create_store: down_write_killable(&dax_region_rwsem) inside the store\'s kernfs active reference' },
  { outer: 'kn->active(seed)', outerMode: 'R', inner: DAX_REGION_RWSEM, innerMode: 'R', where: 'drivers/dax/bus.c seed_show: down_read_interruptible(&dax_region_rwsem) inside the show\'s kernfs active reference' },
  { outer: 'kn->active(available_size)', outerMode: 'R', inner: DAX_REGION_RWSEM, innerMode: 'R', where: 'drivers/dax/bus.c available_size_show: down_read_interruptible(&dax_region_rwsem) inside the show\'s kernfs active reference' },
  ...(['create', 'seed', 'available_size'] as const).map((a): Nesting => ({ outer: DEVICE_LOCK, outerMode: 'W', inner: `kn->active(${a})`, innerMode: 'W', where: 'drivers/dax/bus.c dax_region_unregister -> sysfs_remove_groups -> kernfs_drain under the driver core\'s device_lock(cxlr_dax)' })),
  ...KN_DEV_ATTRS.map((k): Nesting => ({ outer: k, outerMode: 'R', inner: DAX_REGION_RWSEM, innerMode: 'W', where: `drivers/dax/bus.c ${k === 'kn->active(size)' ? 'size_store' : 'uuid_store (v11 patch 26)'}: down_write_killable(&dax_region_rwsem) inside the store's kernfs active reference (H22, store side)` })),
  ...KN_DEV_ATTRS.map((k): Nesting => ({ outer: DAX_REGION_RWSEM, outerMode: 'W', inner: k, innerMode: 'W', where: 'drivers/dax/bus.c unregister_dev_dax: down_write(&dax_region_rwsem) across device_del -> device_remove_attrs -> kernfs_drain of the dev_dax attributes (H22, teardown side)' })),
  // the mapping devices (src/dax/mapping.ts; H27)
  ...KN_MAP_ATTRS.map((k): Nesting => ({ outer: k, outerMode: 'R', inner: DAX_REGION_RWSEM, innerMode: 'W', where: 'drivers/dax/bus.c start_show / end_show / pgoff_show -> get_dax_range: down_write_killable(&dax_region_rwsem) inside the show\'s kernfs active reference (H27, show side)' })),
  ...KN_MAP_ATTRS.map((k): Nesting => ({ outer: DAX_REGION_RWSEM, outerMode: 'W', inner: k, innerMode: 'W', where: 'drivers/dax/bus.c size_store -> dev_dax_shrink -> devm_release_action -> unregister_dax_mapping -> device_unregister(mapping): kernfs_drain of start/end/page_offset under dax_region_rwsem; or unregister_dev_dax -> device_del(dev_dax) removing a still-registered mapping\'s directory (H27, remover side)' })),
  ...KN_MAP_ATTRS.map((k): Nesting => ({ outer: DEVICE_LOCK, outerMode: 'W', inner: k, innerMode: 'W', where: 'drivers/dax/bus.c unregister_dax_mapping, a devres action of cxlr_dax run by the unbind\'s devres_release_all under the driver core\'s device_lock(cxlr_dax): device_unregister(mapping) drains its attributes' })),
  ...KN_MAP_ATTRS.map((k): Nesting => ({ outer: DAX_DEV_RWSEM, outerMode: 'W', inner: k, innerMode: 'W', where: 'drivers/dax/bus.c size_store: dax_dev_rwsem held too across dev_dax_shrink -> unregister_dax_mapping\'s drain (H27)' })),
];

/** The V11_NESTINGS entry for a dependency, or null. */
export function v11Nesting(outer: string, inner: string): Nesting | null {
  return V11_NESTINGS.find((n) => n.outer === outer && n.inner === inner) ?? null;
}

interface AssertHeldReport {
  kind: 'assert-held';
  atMs?: number;
  lock: string;
  where: string;
  thread: string;
}

/** The classes of a reported cycle, in order: acquiring → … → held (→ acquiring). */
export function cycleOf(r: LockOrderReport): string[] {
  const path = [r.acquiring];
  for (const ch of r.existingChains) {
    const last = ch.chain[ch.chain.length - 1];
    if (last !== undefined && last !== path[path.length - 1]) path.push(last);
  }
  if (path[path.length - 1] !== r.held) path.push(r.held);
  return path;
}

/** Each dependency of the cycle with its citation: "A(R) -> B: v11 …" or "not a documented v11 nesting". */
export function annotateCycle(r: LockOrderReport): string[] {
  const cycle = cycleOf(r);
  return cycle.map((a, i) => {
    const b = cycle[(i + 1) % cycle.length]!;
    const n = v11Nesting(a, b);
    return `${a} -> ${b}: ${n ? `v11 ${n.where}` : 'not a documented v11 nesting'}`;
  });
}

/**
 * Known hazards that are lock cycles, each by its own chain: the exact set of classes and, where
 * it matters, the modes. A cycle matching none is forbidden.
 */
export interface KnownCycle {
  hazard: string;
  lockOrder: OutcomeName;
  hung: OutcomeName;
  /** the cycle, as a set of classes */
  classes: readonly string[];
}
export const KNOWN_CYCLES: readonly KnownCycle[] = [
  { hazard: 'H2', lockOrder: 'lock-order-h2', hung: 'hung-wait-h2', classes: [ADD_CTX, DEVICE_LOCK] },
  // H17: found by this checker (swarm, free schedule, seed 11) and confirmed in v11 — see
  // isH17Hung and outcomes.ts 'lock-order-h17'
  { hazard: 'H17', lockOrder: 'lock-order-h17', hung: 'hung-wait-h17', classes: [DEVICE_LOCK, ADD_CTX, REGION_RWSEM] },
  // H21 / H22: found by modelling kernfs active references (src/dax/kernfs.ts) and confirmed in
  // drivers/dax/bus.c — see isH21Hung, isH22Hung and outcomes.ts 'lock-order-h21' / 'lock-order-h22'
  { hazard: 'H21', lockOrder: 'lock-order-h21', hung: 'hung-wait-h21', classes: [KN_DELETE, DEVICE_LOCK] },
  ...KN_DEV_ATTRS.map((k): KnownCycle => ({ hazard: 'H22', lockOrder: 'lock-order-h22', hung: 'hung-wait-h22', classes: [k, DAX_REGION_RWSEM] })),
  // H27: a mappingN show waits in get_dax_range's down_write_killable(&dax_region_rwsem) inside
  // its reference; size_store → dev_dax_shrink drains it holding dax_region_rwsem (and
  // dax_dev_rwsem, so lockdep may close the cycle through dax_region_rwsem -> dax_dev_rwsem) —
  // see isH27Hung and outcomes.ts 'lock-order-h27'
  ...KN_MAP_ATTRS.map((k): KnownCycle => ({ hazard: 'H27', lockOrder: 'lock-order-h27', hung: 'hung-wait-h27', classes: [k, DAX_REGION_RWSEM] })),
  ...KN_MAP_ATTRS.map((k): KnownCycle => ({ hazard: 'H27', lockOrder: 'lock-order-h27', hung: 'hung-wait-h27', classes: [k, DAX_REGION_RWSEM, DAX_DEV_RWSEM] })),
];

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The known cycle a lock-order report is, or null. */
export function knownCycleOf(r: LockOrderReport): KnownCycle | null {
  const classes = [...new Set(cycleOf(r))];
  return KNOWN_CYCLES.find((k) => sameSet(k.classes, classes)) ?? null;
}

function threadStr(t: ThreadLockInfo): string {
  const hold = t.held.map((h) => `${h.cls}(${h.mode})`).join(', ') || 'nothing';
  return `${t.name} holds ${hold}${t.waitingFor ? `, waits for ${t.waitingFor.cls}(${t.waitingFor.mode})` : t.unwinding ? ', unwinding its own reported hung wait' : ''}`;
}

const holds = (t: ThreadLockInfo, cls: string): boolean => t.held.some((h) => h.cls === cls);
const waits = (t: ThreadLockInfo, cls: string): boolean => t.waitingFor?.cls === cls;

/**
 * Is the hung wait H2's chain? The waiter holds add_ctx.lock and waits for device_lock(cxlr_dax)
 * (or the reverse) while a holder holds that lock and waits for the waiter's (the AB-BA itself);
 * or the waiter holds neither and waits behind a holder caught in one half of it (queued behind
 * the deadlock — that holder's own report shows the whole chain).
 */
export function isH2Hung(r: HungReport): boolean {
  const half = (t: ThreadLockInfo): [string, string] | null =>
    holds(t, ADD_CTX) && waits(t, DEVICE_LOCK) ? [ADD_CTX, DEVICE_LOCK] : holds(t, DEVICE_LOCK) && waits(t, ADD_CTX) ? [DEVICE_LOCK, ADD_CTX] : null;
  const w = half(r.waiter);
  if (w) return r.holders.some((h) => holds(h, w[1]) && waits(h, w[0]));
  if (holds(r.waiter, ADD_CTX) || holds(r.waiter, DEVICE_LOCK)) return false;
  return r.holders.some((h) => half(h) !== null);
}

/**
 * Is the hung wait H17's chain? H17 (v11, drivers/cxl/core/extent.c cxl_rm_extent against
 * drivers/dax/cxl.c cxl_dax_region_probe's scan): the release path holds cxl_rwsem.region for
 * read and waits for device_lock(cxlr_dax) (half A); the probe holds device_lock(cxlr_dax) and
 * its scan's cxl_add_extent() waits for cxl_rwsem.region for read (half B) — blocked only
 * because a writer of cxl_rwsem.region waits past the handoff interval for the release's read
 * (half C: waits for cxl_rwsem.region for write). The report is H17 when the waiter is in one
 * half and a holder in another, or the waiter is queued behind a holder in half A or B.
 */
export function isH17Hung(r: HungReport): boolean {
  const inA = (t: ThreadLockInfo): boolean => t.held.some((h) => h.cls === REGION_RWSEM && h.mode === 'read') && waits(t, DEVICE_LOCK);
  const inB = (t: ThreadLockInfo): boolean => holds(t, DEVICE_LOCK) && t.waitingFor?.cls === REGION_RWSEM && t.waitingFor.mode === 'read';
  const inC = (t: ThreadLockInfo): boolean => t.waitingFor?.cls === REGION_RWSEM && t.waitingFor.mode === 'write';
  const w = r.waiter;
  if (inA(w)) return r.holders.some(inB);
  if (inB(w)) return r.holders.some(inA);
  if (inC(w)) return r.holders.some(inA);
  if (holds(w, REGION_RWSEM) || holds(w, DEVICE_LOCK)) return false;
  return (waits(w, DEVICE_LOCK) || waits(w, REGION_RWSEM)) && r.holders.some((h) => inA(h) || inB(h));
}

/**
 * H2's deadlock seen in one report with a holder that waits for nothing (found by the 10-minute
 * soak on a loaded machine). The waiter is in one half — it holds add_ctx.lock A and waits for
 * device_lock(cxlr_dax) B (drivers/cxl/core/extent.c cxlr_notify_extent under cxl_add_pending's
 * add_ctx.lock), or the mirror — and the holder of B waits for nothing at the check. Alone the
 * report proves no deadlock (a runnable holder may be a long hold), so it is H2 only when a LATER
 * report of the iteration shows that holder waiting for A while holding B: it was on its way from
 * cxl_dax_region_probe's alloc_dax_region to cxl_region_add_existing_extents →
 * cxl_process_extent_list's add_ctx.lock (drivers/dax/cxl.c, drivers/cxl/core/region_dax.c,
 * mbox.c), with no lock or instrumented point between, and got there (same threads, same locks:
 * isH2Hung on the later report). An EARLIER known report sharing a thread is afterKnownDeadlock's.
 * Returns the later report's index, or -1.
 */
export function h2ProbeHalfLater(r: HungReport, all: readonly HungReport[], i: number): number {
  const w = r.waiter;
  // either half may be the one reported first: the add half (holds add_ctx.lock, waits for
  // device_lock(cxlr_dax)) or, mirrored, the probe's scan (holds device_lock(cxlr_dax), waits for
  // add_ctx.lock) while the event thread holding add_ctx.lock is still on its way from
  // cxl_add_pending to cxlr_notify_extent. The same evidence is required either way.
  const held = w.waitingFor?.cls === DEVICE_LOCK ? ADD_CTX : w.waitingFor?.cls === ADD_CTX ? DEVICE_LOCK : null;
  const aHeld = held === null ? undefined : w.held.find((x) => x.cls === held);
  if (!aHeld || !w.waitingFor) return -1;
  const a = aHeld.lock;
  const b = w.waitingFor.lock;
  const h = r.holders.find((x) => x.waitingFor === null && x.held.some((y) => y.lock === b));
  if (!h) return -1;
  const closes = (s: HungReport): boolean => {
    if (!isH2Hung(s)) return false;
    const threads = [s.waiter, ...s.holders];
    const tw = threads.find((x) => x.slot === w.slot);
    const th = threads.find((x) => x.slot === h.slot);
    return !!tw && !!th && tw.held.some((x) => x.lock === a) && tw.waitingFor?.lock === b && th.held.some((x) => x.lock === b) && th.waitingFor?.lock === a;
  };
  for (let k = i + 1; k < all.length; k++) if (closes(all[k]!)) return k;
  return -1;
}

/**
 * A hung wait after a known deadlock of the same iteration, involving one of its threads. The
 * model's hung task gives up (hungCheck, src/shm/lock.ts, throws HungWaitError) and unwinds; the
 * kernel's stays blocked, and so does every other task of that cycle — khungtaskd names them all,
 * and none of them runs again. So a later report in which a thread of an earlier known report
 * (its waiter or a holder) is the waiter or a holder is that deadlock's consequence, not a new
 * one: the second half of the cycle timing out while the first reporter unwinds (its slot says
 * `unwinding`: THREAD_UNWINDING, src/shm/layout.ts), a third thread queued behind a lock a
 * deadlocked thread holds, or a deadlocked thread that went on after its unwind (a next op the
 * kernel would never reach). `known[k]` is the cycle report k was classified as (by knownHungOf,
 * h2ProbeHalfLater or this rule), null if none. Returns the earliest such report and its cycle.
 */
export function afterKnownDeadlock(r: HungReport, all: readonly HungReport[], i: number, known: readonly (KnownCycle | null)[]): { k: number; known: KnownCycle; thread: string } | null {
  const mine = new Map([r.waiter, ...r.holders].map((t) => [t.slot, t.name] as const));
  for (let k = 0; k < i; k++) {
    const c = known[k];
    if (!c) continue;
    const shared = [all[k]!.waiter, ...all[k]!.holders].find((t) => mine.has(t.slot));
    if (shared) return { k, known: c, thread: shared.name };
  }
  return null;
}

/**
 * A hung wait whose holder waits for a lock (the same lock, by identity) that a thread of a known
 * deadlock's report holds: the waiter is queued behind the deadlock through that holder, and in
 * the kernel stays blocked as long as the cycle does. Reports of either order are read (the
 * waiter may be reported before the holder is). Null when no holder's wait leads into one.
 */
export function queuedBehindKnown(r: HungReport, all: readonly HungReport[], known: readonly (KnownCycle | null)[]): { k: number; known: KnownCycle; holder: string; inIt: string } | null {
  for (const h of r.holders) {
    const lock = h.waitingFor?.lock;
    if (lock === undefined) continue;
    for (let k = 0; k < all.length; k++) {
      const c = known[k];
      if (!c || all[k] === r) continue;
      const t = [all[k]!.waiter, ...all[k]!.holders].find((x) => x.slot !== h.slot && x.held.some((y) => y.lock === lock));
      if (t) return { k, known: c, holder: h.name, inIt: t.name };
    }
  }
  return null;
}

/** The known cycle a hung wait is, or null. */
export function knownHungOf(r: HungReport): KnownCycle | null {
  if (isH2Hung(r)) return KNOWN_CYCLES.find((k) => k.hazard === 'H2')!;
  if (isH17Hung(r)) return KNOWN_CYCLES.find((k) => k.hazard === 'H17')!;
  if (isH21Hung(r)) return KNOWN_CYCLES.find((k) => k.hazard === 'H21')!;
  if (isH22Hung(r)) return KNOWN_CYCLES.find((k) => k.hazard === 'H22')!;
  if (isH27Hung(r)) return KNOWN_CYCLES.find((k) => k.hazard === 'H27')!;
  return null;
}

const holdsMode = (t: ThreadLockInfo, cls: string, mode: string): boolean => t.held.some((h) => h.cls === cls && h.mode === mode);
const waitsMode = (t: ThreadLockInfo, cls: string, mode: string): boolean => t.waitingFor?.cls === cls && t.waitingFor.mode === mode;

/**
 * Is the hung wait H21's chain? delete_store (drivers/dax/bus.c) holds the active reference of
 * dax_region/delete (kn->active(delete), read) and waits for device_lock(cxlr_dax) (half A); the
 * cxl_dax_region unbind holds device_lock(cxlr_dax) and its dax_region_unregister waits to drain
 * that node (kn->active(delete), write: half B). H21 when the waiter is in one half and a holder
 * in the other, or the waiter holds neither class and waits behind a holder in a half.
 */
export function isH21Hung(r: HungReport): boolean {
  const inA = (t: ThreadLockInfo): boolean => holdsMode(t, KN_DELETE, 'read') && waits(t, DEVICE_LOCK);
  const inB = (t: ThreadLockInfo): boolean => holds(t, DEVICE_LOCK) && waitsMode(t, KN_DELETE, 'write');
  const w = r.waiter;
  if (inA(w)) return r.holders.some(inB);
  if (inB(w)) return r.holders.some(inA);
  if (holds(w, KN_DELETE) || holds(w, DEVICE_LOCK)) return false;
  return r.holders.some((h) => inA(h) || inB(h));
}

/**
 * Is the hung wait H22's chain? size_store or uuid_store (drivers/dax/bus.c) holds its node's
 * active reference (kn->active(size|uuid), read) and waits in down_write_killable for
 * dax_region_rwsem (half A); unregister_dev_dax holds dax_region_rwsem (write) and its
 * device_del waits to drain that node (kn->active(size|uuid), write: half B) — the same
 * attribute on both sides. H22 when the waiter is in one half and a holder in the other, or the
 * waiter holds none of the three classes and waits behind a holder in a half (a delete_store or
 * a region unbind queued behind the teardown, say).
 */
export function isH22Hung(r: HungReport): boolean {
  const inA = (t: ThreadLockInfo, k: string): boolean => holdsMode(t, k, 'read') && waitsMode(t, DAX_REGION_RWSEM, 'write');
  const inB = (t: ThreadLockInfo, k: string): boolean => holdsMode(t, DAX_REGION_RWSEM, 'write') && waitsMode(t, k, 'write');
  const w = r.waiter;
  for (const k of KN_DEV_ATTRS) {
    if (inA(w, k)) return r.holders.some((h) => inB(h, k));
    if (inB(w, k)) return r.holders.some((h) => inA(h, k));
  }
  if (holds(w, DAX_REGION_RWSEM) || KN_DEV_ATTRS.some((k) => holds(w, k))) return false;
  return r.holders.some((h) => KN_DEV_ATTRS.some((k) => inA(h, k) || inB(h, k)));
}

/**
 * Is the hung wait H27's chain? A show of a mappingN attribute (drivers/dax/bus.c start_show,
 * end_show, pgoff_show) holds its node's active reference (read) and waits in get_dax_range for
 * dax_region_rwsem (write, killable) — half A; size_store (dax_region_rwsem and dax_dev_rwsem for
 * write) → dev_dax_shrink → unregister_dax_mapping → device_del(mapping), or unregister_dev_dax →
 * device_del(dev_dax) over a mapping still registered, holds dax_region_rwsem and waits to drain
 * that node (write) — half B. The waiter in one half with a holder in the other, or a waiter
 * holding neither queued behind a holder in either.
 */
export function isH27Hung(r: HungReport): boolean {
  const inA = (t: ThreadLockInfo, k: string): boolean => holdsMode(t, k, 'read') && waitsMode(t, DAX_REGION_RWSEM, 'write');
  const inB = (t: ThreadLockInfo, k: string): boolean => holdsMode(t, DAX_REGION_RWSEM, 'write') && waitsMode(t, k, 'write');
  const w = r.waiter;
  for (const k of KN_MAP_ATTRS) {
    if (inA(w, k)) return r.holders.some((h) => inB(h, k));
    if (inB(w, k)) return r.holders.some((h) => inA(h, k));
  }
  if (holds(w, DAX_REGION_RWSEM) || KN_MAP_ATTRS.some((k) => holds(w, k))) return false;
  return r.holders.some((h) => KN_MAP_ATTRS.some((k) => inA(h, k) || inB(h, k)));
}

/**
 * When the iteration's first deadlock began: the earliest start of a reported hung wait (its
 * report's time less what it had waited; a controlled-schedule report waited 0). Nothing the
 * model's unwinding of that deadlock did can precede it. -Infinity when no report carries a time
 * (a report made before `atMs` existed): then every finding counts as after it, as it used to.
 */
export function deadlockBegan(hung: readonly HungReport[]): number {
  let t = Infinity;
  for (const r of hung) if (r.atMs !== undefined) t = Math.min(t, r.atMs - r.waitedMs);
  return t === Infinity ? -Infinity : t;
}

export class LocksChecker implements Checker {
  readonly name = 'locks';

  onEvent(_e: DecodedEvent): void {
    // verdicts come from the system's report log at quiescence (see DOC)
  }

  atQuiescence(_state: SystemState, sys: SysLike): CheckerResult[] {
    const out = new Findings();
    const orders = sys.lockOrderReports?.() ?? [];
    orders.forEach((r, i) => {
      const cycle = cycleOf(r);
      const text = `${cycle.join(' -> ')} -> ${cycle[0]} (new: ${r.newChain.thread} ${r.newChain.chain.join(' -> ')}; recorded: ${r.existingChains.map((c) => `${c.thread} ${c.chain.join(' -> ')}`).join('; ')})`;
      const known = knownCycleOf(r);
      const f = known ? finding(known.lockOrder, `cycle ${text}`) : finding('lock-order-cycle', `cycle ${text}; dependencies: ${annotateCycle(r).join(' | ')}`);
      if (r.atMs !== undefined) f.atMs = r.atMs;
      out.add(`order:${i}`, f);
    });
    const hung = sys.hungReports?.() ?? [];
    const cycles: (KnownCycle | null)[] = [];
    const verdicts: { name: OutcomeName; text: string }[] = [];
    hung.forEach((r, i) => {
      const text = `waited ${Math.round(r.waitedMs)} ms (bound ${r.boundMs}): ${threadStr(r.waiter)}; ${r.holders.map((h) => `holder ${threadStr(h)}`).join('; ') || 'no holder found'}`;
      const known = knownHungOf(r);
      const after = known ? null : afterKnownDeadlock(r, hung, i, cycles);
      const later = known || after ? -1 : h2ProbeHalfLater(r, hung, i);
      if (after) {
        cycles.push(after.known);
        verdicts.push({ name: after.known.hung, text: `${text} — after the ${after.known.hazard} deadlock of hung report ${after.k + 1} of ${hung.length}: ${after.thread} is in it (in the kernel it stays blocked there; the model's reporter unwound)` });
      } else if (later >= 0) {
        cycles.push(KNOWN_CYCLES.find((c) => c.hazard === 'H2')!);
        verdicts.push({ name: 'hung-wait-h2', text: `${text} — the holder, waiting for nothing here, then waited for this thread's lock holding the one this thread waits for (hung report ${later + 1} of ${hung.length}): the AB-BA reported before its other half was reached` });
      } else {
        cycles.push(known);
        verdicts.push({ name: known ? known.hung : 'hung-wait', text });
      }
    });
    // a wait queued behind a known deadlock through another waiter (user0 waits for a region's
    // device_lock(cxlr) held by user1, whose destroy waits for the device_lock(cxlr_dax) a thread of
    // the H2 cycle holds), in any report order: the chain of waits, by lock identity, ends in it
    for (let changed = true; changed;) {
      changed = false;
      hung.forEach((r, i) => {
        if (cycles[i]) return;
        const q = queuedBehindKnown(r, hung, cycles);
        if (!q) return;
        cycles[i] = q.known;
        verdicts[i] = { name: q.known.hung, text: `${verdicts[i]!.text} — queued behind the ${q.known.hazard} deadlock of hung report ${q.k + 1} of ${hung.length}: holder ${q.holder} waits for a lock ${q.inIt} holds, and ${q.inIt} is in it` };
        changed = true;
      });
    }
    verdicts.forEach((v, i) => out.add(`hung:${i}`, finding(v.name, v.text)));
    const asserts = (sys.sys?.reports.read<{ kind: string }>() ?? []).filter((r): r is AssertHeldReport => r.kind === 'assert-held');
    asserts.forEach((r, i) => {
      const f = finding('assert-held-h12', `lockdep_assert_held(${r.lock}) failed in ${r.where} on ${r.thread}`);
      if (r.atMs !== undefined) f.atMs = r.atMs;
      out.add(`assert:${i}`, f);
    });
    const results = out.list();
    if (!results.some((r) => r.invariant === INV.lockOrder)) results.push(held(INV.lockOrder));
    if (!results.some((r) => r.invariant === INV.hung)) results.push(held(INV.hung));
    return results;
  }

  reset(): void {
    // stateless between iterations: the report log belongs to the system
  }
}
