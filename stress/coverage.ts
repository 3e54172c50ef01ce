/**
 * DOC: race-window coverage — what a stress run exercised, so a clean run says what it covered.
 *
 * Input: one iteration's global step order (the turnstile's step log of a free run, or the
 * controlled scheduler's decisions — both as `TraceStep`s) and the outcomes the iteration saw.
 *
 * An ACCESS is a thread passing an instrumented point that touches a shared resource: a lock
 * acquisition (the resource is the lock CLASS, e.g. `dax_region_rwsem`; mode read or write) or a
 * named noise site (a kind of shared record: `dc-record`, `tag-insert`, `group-put`, `dc-walk`,
 * `dax-per-extent`; always a write). Points that touch nothing shared (op starts, resumes, clock
 * steps) are not accesses.
 *
 * A CONFLICT is a resource with two different threads that both accessed it in the iteration, at
 * least one of them writing (two readers of an rwsem do not conflict). Its ORDER in the iteration
 * is which of the two touched the resource FIRST ("ab": the thread whose name sorts first won the
 * race; "ba": the other). Each conflict gets exactly one order per iteration it is reached in, so
 * over a run `ab + ba` = iterations that reached it, and "seen in both orders" means each side won
 * at least once — the two interleavings a race has at that resource.
 *
 * NAMED WINDOWS (Antithesis "sometimes" assertions): one per hazard of the catalogue
 * (docs/kernel-map.md H1–H24) and per concurrency assumption of the v11 cover letter. A window is
 * REACHED in an iteration when its two sides (thread pattern × resources) both happen — a conflict
 * between the code paths the hazard or assumption is about — or when an outcome naming the hazard
 * was seen (single-thread hazards such as H10/H11 have no two-sided window: only their outcome
 * reaches them). "H1 reached 12 times" says the same tag was inserted by two memdevs' event
 * threads in 12 iterations, whichever way it went. A window that needs a specific order (H14: a
 * teardown between realization and response) is matched on the step sequence itself.
 *
 * Checkers and production code never import this module (it is the stress runner's bookkeeping).
 */
import { NOISE_SITE } from '../src/shm/sched.js';
import { DEFAULT_KNOBS, resolveKnobs } from '../src/scenario/knobs.js';
import type { KnobName, Knobs, Variant } from '../src/scenario/types.js';
import type { TraceStep } from './turnstile.js';

export type Order = 'ab' | 'ba';

/** What one iteration covered: conflict key → order; window id → order, 'reached' (a window with
 *  no order to it, e.g. H13) or 'outcome' (reached only through an outcome naming it). */
export interface IterationCoverage {
  conflicts: Record<string, Order>;
  windows: Record<string, Order | 'reached' | 'outcome'>;
}

export interface ConflictStat {
  resource: string;
  /** the two threads, a < b by name */
  a: string;
  b: string;
  /** iterations in which a touched the resource first */
  ab: number;
  /** iterations in which b touched it first */
  ba: number;
}

export interface WindowStat {
  id: string;
  kind: 'hazard' | 'assumption';
  title: string;
  /** what the two sides are, readable */
  sides: string;
  /** iterations in which the window was reached (either side first, or by outcome) */
  reached: number;
  /** iterations with side a first / side b first */
  ab: number;
  ba: number;
  /** iterations reached only through an outcome naming it */
  byOutcome: number;
  /** false: the window has no two orders (outcome-only, or a single-sided step pattern); it is
   *  covered once reached */
  ordered: boolean;
}

export interface CoverageSummary {
  version: 1;
  iterations: number;
  conflicts: Record<string, ConflictStat>;
  windows: Record<string, WindowStat>;
}

// ------------------------------------------------------------------------------------------------
// accesses

const SITE_NAMES: Record<number, string> = {
  [NOISE_SITE.dcRecord]: 'dc-record',
  [NOISE_SITE.tagInsert]: 'tag-insert',
  [NOISE_SITE.groupPut]: 'group-put',
  [NOISE_SITE.dcWalk]: 'dc-walk',
  [NOISE_SITE.daxPerExtent]: 'dax-per-extent',
  // between two devres actions of a cxl_dax_region teardown (dc_extent_unregister of each
  // extent), and the irq's H14 point between online_tag_group and the notify
  [NOISE_SITE.teardownWindow]: 'teardown',
};

export interface Access {
  /** position in the iteration's step order */
  at: number;
  who: string;
  resource: string;
  write: boolean;
}

/** The shared resource a step touches and whether it writes, or null (not an access). */
export function accessOfStep(s: TraceStep): { resource: string; write: boolean } | null {
  if (s.who.startsWith('actor:') || s.who === 'main') return null;
  if (s.what === 'acquire') {
    const m = /^(.*)\((read|write)\)$/.exec(s.arg);
    return m ? { resource: m[1]!, write: m[2] === 'write' } : null;
  }
  if (s.what === 'noise') {
    const m = /^site(\d+)$/.exec(s.arg);
    const name = m ? SITE_NAMES[Number(m[1])] : undefined;
    return name ? { resource: name, write: true } : null;
  }
  return null;
}

export function resourceOfStep(s: TraceStep): string | null {
  return accessOfStep(s)?.resource ?? null;
}

/** The accesses of a step order (steps that touch no shared resource are skipped). */
export function accessesOf(steps: readonly TraceStep[]): Access[] {
  const out: Access[] = [];
  steps.forEach((s, at) => {
    const a = accessOfStep(s);
    if (a) out.push({ at, who: s.who, ...a });
  });
  return out;
}

/**
 * The scheduler's feedback for a controlled iteration: up to `n` conflicts seen so far in one order
 * only, drawn by `p`; for each, the thread that always touched the resource first is to yield
 * there once (stress/turnstile.ts `Avoid`).
 */
export function avoidList(s: CoverageSummary, pickInt: (n: number) => number, n = 3): { who: string; resource: string }[] {
  const one = Object.values(s.conflicts).filter((c) => (c.ab > 0) !== (c.ba > 0)).sort((x, y) => (x.resource + x.a + x.b < y.resource + y.a + y.b ? -1 : 1));
  const out: { who: string; resource: string }[] = [];
  while (out.length < n && one.length > 0) {
    const c = one.splice(pickInt(one.length), 1)[0]!;
    out.push({ who: c.ab > 0 ? c.a : c.b, resource: c.resource });
  }
  return out;
}

/** Per resource, per thread: first access position and whether it ever wrote. */
type Touches = Map<string, Map<string, { first: number; write: boolean; count: number }>>;

function touchesOf(acc: readonly Access[]): Touches {
  const t: Touches = new Map();
  for (const a of acc) {
    let m = t.get(a.resource);
    if (!m) { m = new Map(); t.set(a.resource, m); }
    const cur = m.get(a.who);
    if (cur) { cur.write ||= a.write; cur.count++; } else m.set(a.who, { first: a.at, write: a.write, count: 1 });
  }
  return t;
}

export function conflictKey(resource: string, a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `${resource} ${x} ${y}`;
}

// ------------------------------------------------------------------------------------------------
// named windows

interface Side { who: RegExp; resources: string[]; label: string }

export interface WindowSpec {
  id: string;
  kind: 'hazard' | 'assumption';
  title: string;
  a?: Side;
  b?: Side;
  /** both sides' threads must serve the same memdev (irq/mem0 vs irq/mem0#1) */
  sameMemdev?: boolean;
  /** both sides' threads must serve different memdevs (irq/mem0 vs irq/mem1) */
  otherMemdev?: boolean;
  /** a window matched on the step order itself (H13: no order, 'reached'; H14: inside or before) */
  custom?: (acc: readonly Access[]) => Order | 'reached' | null;
  /** custom windows: whether their result has two orders */
  unordered?: boolean;
  /** custom windows: the resources their step pattern reads (for knobWindows) */
  touches?: string[];
  /** outcomes that prove the window was reached */
  outcomes: string[];
}

const IRQ: Side['who'] = /^irq\/mem\d+/;
const side = (who: RegExp, resources: string[], label: string): Side => ({ who, resources, label });

function memdevOf(thread: string): string | null {
  return /mem(\d+)/.exec(thread)?.[1] ?? null;
}

/** H13: one event thread walks dc_extents for two or more release records in one race. */
function h13(acc: readonly Access[]): 'reached' | null {
  const walks = new Map<string, number>();
  for (const a of acc) if (a.resource === 'dc-walk' && IRQ.test(a.who)) walks.set(a.who, (walks.get(a.who) ?? 0) + 1);
  for (const n of walks.values()) if (n >= 2) return 'reached';
  return null;
}

/**
 * H14: a teardown (dax-bus unbind, user region destroy) takes device_lock(cxlr_dax) after an event
 * thread took it to notify a chain's groups (cxlr_notify_extent) and before that event thread's
 * next mailbox command (the Add DC Response, cxl_send_dc_response). 'ab' = inside the window.
 */
function h14(acc: readonly Access[]): Order | null {
  let before = false;
  for (let i = 0; i < acc.length; i++) {
    const n = acc[i]!;
    if (!IRQ.test(n.who) || n.resource !== 'device_lock(cxlr_dax)') continue;
    let j = i + 1;
    while (j < acc.length && !(acc[j]!.who === n.who && acc[j]!.resource === 'mbox_mutex')) j++;
    for (let k = i + 1; k < j && k < acc.length; k++) {
      const t = acc[k]!;
      if (t.resource === 'device_lock(cxlr_dax)' && /^(dax-bus|user\d+)$/.test(t.who)) return 'ab';
    }
    // a teardown that took the lock before the notify is the other order of the same race
    if (acc.slice(0, i).some((t) => t.resource === 'device_lock(cxlr_dax)' && /^(dax-bus|user\d+)$/.test(t.who))) before = true;
  }
  return before ? 'ba' : null;
}

/**
 * H5: a teardown's devres action (dax-bus unbind / user destroy: the cxl_dax_region's devres runs
 * dc_extent_unregister per extent, each after a `teardown` point) falls between two steps of an
 * event thread's release walk (walkStep in cxl_rm_extent's dc_extents walk): the walk is in
 * progress while the teardown frees — 'ab', the use-after-free window. 'ba': the release walk ran
 * only after the teardown began (the teardown won).
 */
function h5(acc: readonly Access[]): Order | null {
  let after = false;
  for (let k = 0; k < acc.length; k++) {
    const t = acc[k]!;
    // the teardown frees the extents one devres action at a time, each after a 'teardown'
    // point (cxlr_dax's devres in src/dax/cxl.ts); it has no dc-walk step of its own
    if (t.resource !== 'teardown' || !/^(dax-bus|user\d+)$/.test(t.who)) continue;
    const walkers = new Set(acc.slice(0, k).filter((a) => a.resource === 'dc-walk' && IRQ.test(a.who)).map((a) => a.who));
    for (let j = k + 1; j < acc.length; j++) {
      const a = acc[j]!;
      if (a.resource !== 'dc-walk' || !IRQ.test(a.who)) continue;
      if (walkers.has(a.who)) return 'ab';
      after = true;
    }
  }
  return after ? 'ba' : null;
}

const BUS = /^dax-bus$/;
const USER = /^user\d+$/;
// the per-memdev workqueue threads are named workqueue/memN (src/runtime/host-workers.ts): a bare
// /^workqueue$/ never matched, so H4 and CL-chain-bound were reached only through their outcomes
const WQ = /^workqueue\/mem\d+$/;

/** The catalogue's hazards and the cover letter's assumptions, as windows. */
export const WINDOWS: WindowSpec[] = [
  { id: 'H1', kind: 'hazard', title: 'the same tag closing on two memdevs at once', a: side(IRQ, ['tag-insert', 'cxl_tag_lock'], 'irq/memX tag insert'), b: side(IRQ, ['tag-insert', 'cxl_tag_lock'], 'irq/memY tag insert'), otherMemdev: true, outcomes: ['tag-registered-twice'] },
  { id: 'H2', kind: 'hazard', title: 'a runtime chain against the probe\'s recovery scan (add_ctx.lock vs device_lock(cxlr_dax))', a: side(IRQ, ['add_ctx.lock'], 'irq add_ctx.lock'), b: side(BUS, ['add_ctx.lock'], 'probe scan add_ctx.lock'), outcomes: ['lock-order-h2', 'hung-wait-h2', 'host-extent-adopted-h2'] },
  { id: 'H3', kind: 'hazard', title: 'a runtime add before the region\'s existing-extent scan', a: side(IRQ, ['device_lock(cxlr_dax)', 'add_ctx.lock'], 'irq add'), b: side(BUS, ['device_lock(cxlr_dax)'], 'probe (scan)'), outcomes: ['scan-gate-emit-race'] },
  { id: 'H4', kind: 'hazard', title: 'the watchdog answering a chain against its late tail', a: side(WQ, ['add_ctx.lock'], 'watchdog add_ctx.lock'), b: side(IRQ, ['add_ctx.lock'], 'irq add_ctx.lock'), sameMemdev: true, outcomes: ['double-response-after-timeout'] },
  { id: 'H5', kind: 'hazard', title: 'a teardown inside a release\'s dc_extents walk (a: inside the walk, b: the release walk after the teardown began)', custom: h5, touches: ['dc-walk', 'teardown'], outcomes: ['dc-extent-use-after-free-h5', 'extent-readopted-h5', 'host-extent-readopted-h5', 'conservation-readopted-h5', 'extent-overlap-after-h5', 'host-extent-not-accepted-after-h5', 'released-unaccepted-after-h5'] },
  { id: 'H6', kind: 'hazard', title: 'concurrent last puts of one group\'s extent devices', a: side(/./, ['group-put'], 'a last put'), b: side(/./, ['group-put'], 'another last put'), outcomes: ['tag-leaked'] },
  { id: 'H7', kind: 'hazard', title: 'a DAX claim against a group\'s DAX add', a: side(USER, ['dax_region_rwsem'], 'claim'), b: side(IRQ, ['dax_region_rwsem', 'dax-per-extent'], 'group DAX add/release'), outcomes: ['partial-group-claimed'] },
  { id: 'H8', kind: 'hazard', title: 'a DAX claim against a release', a: side(USER, ['dax_region_rwsem'], 'claim'), b: side(IRQ, ['dc-walk'], 'release'), outcomes: ['release-in-use'] },
  { id: 'H9', kind: 'hazard', title: 'a DAX driver unbind before a later extent release', a: side(BUS, ['device_lock(cxlr_dax)'], 'unbind'), b: side(IRQ, ['dc-walk'], 'release'), outcomes: [] },
  { id: 'H10', kind: 'hazard', title: 'an Add DC Response refused after onlining (outcome only)', outcomes: ['host-extent-not-accepted-h10', 'dax-access-refused-h10'] },
  { id: 'H11', kind: 'hazard', title: 'one chain\'s extents resolving to two regions (outcome only)', outcomes: ['wrong-region-parent'] },
  { id: 'H12', kind: 'hazard', title: 'the recovery scan realizing another region\'s extent (outcome only: one thread)', outcomes: ['assert-held-h12'] },
  { id: 'H13', kind: 'hazard', title: 'several release records handled in one race (one event thread walks dc_extents twice)', custom: h13, touches: ['dc-walk'], unordered: true, outcomes: [] },
  { id: 'H14', kind: 'hazard', title: 'a teardown between realization and the Add DC Response', custom: h14, touches: ['teardown', 'device_lock(cxlr_dax)'], outcomes: ['response-lists-torn-down', 'released-before-response', 'tag-group-use-after-free-h14', 'region-use-after-free-h14', 'extent-orphaned-h14'] },
  // H15 and H16 (named on main after this module was written): outcome only
  { id: 'H15', kind: 'hazard', title: 'a teardown releasing a claimed dax_resource whatever its use_cnt (outcome only)', outcomes: ['dax-access-refused-h15', 'dax-resource-use-after-free-trim'] },
  { id: 'H16', kind: 'hazard', title: 'an add or release on a disabled region using the freed cxl_dax_region (outcome only)', outcomes: ['cxlr-dax-use-after-free-disabled-region'] },
  // H17–H24 (docs/kernel-map.md; there is no H19). H17's two sides both take cxl_rwsem.region for
  // read (the writer queued at the handoff makes it a cycle), which a two-sided first-touch window
  // cannot order; H18 and H23 are one thread's or one snapshot's; H20 is no race; H24's claim and
  // devres action are told apart only by the group's membership at the claim. H21/H22: the
  // drain is a lock step only when it meets a held active reference (kernfs_drain skips a drained
  // node, src/dax/kernfs.ts), and on these paths the store holding it then waits for the drainer's
  // lock — the deadlock, which records no drain step: the outcome is the window
  { id: 'H17', kind: 'hazard', title: 'the release path against the probe scan through cxl_rwsem.region\'s writer handoff (outcome only)', outcomes: ['lock-order-h17', 'hung-wait-h17'] },
  { id: 'H18', kind: 'hazard', title: 'one chain carrying a range twice (outcome only: one thread)', outcomes: ['extent-dup-in-chain'] },
  { id: 'H20', kind: 'hazard', title: 'an extent\'s name written to dax_region/delete (outcome only: not a race)', outcomes: ['dev-dax-type-confusion-delete-h20'] },
  { id: 'H21', kind: 'hazard', title: 'delete_store inside its kernfs active reference against the cxl_dax_region unbind draining it (outcome only)', outcomes: ['lock-order-h21', 'hung-wait-h21'] },
  { id: 'H22', kind: 'hazard', title: 'a uuid/size store inside its kernfs active reference against unregister_dev_dax draining it (outcome only)', outcomes: ['lock-order-h22', 'hung-wait-h22'] },
  { id: 'H23', kind: 'hazard', title: 'a held extent\'s last put between the probe scan\'s extent-list snapshot and its classify (outcome only)', outcomes: ['host-extent-released-under-scan-h23', 'dax-access-refused-h23'] },
  { id: 'H24', kind: 'hazard', title: 'a tagged claim inside a cxl_dax_region teardown (outcome only)', outcomes: ['partial-group-claimed-in-teardown-h24'] },
  { id: 'H25', kind: 'hazard', title: 'a held extent\'s last put between a re-offering chain\'s classify and its Add DC Response (outcome only)', outcomes: ['response-lists-released-h25'] },
  { id: 'H26', kind: 'hazard', title: 'a claim and a write of a group between its DAX add and the chain\'s Add DC Response (outcome only)', outcomes: ['dax-access-refused-h26'] },
  // H27 is H22's shape on the mapping devices (src/dax/mapping.ts): the show's reference against a
  // drain under dax_region_rwsem — the deadlock records no drain step; H28 is a devres action run
  // over a range another path trimmed: an outcome, not a lock window
  { id: 'H27', kind: 'hazard', title: 'a mappingN show inside its kernfs active reference against size_store(0)\'s (or unregister_dev_dax\'s) drain (outcome only)', outcomes: ['lock-order-h27', 'hung-wait-h27'] },
  { id: 'H28', kind: 'hazard', title: 'a mapping device outliving its range: unregister_dax_mapping over trimmed or freed ranges (outcome only)', outcomes: ['dax-mapping-stale-range-h28'] },
  // the cover letter's assumptions ("Noteable", "Changes since v10")
  { id: 'CL-serial', kind: 'assumption', title: 'DCD events for a memdev are handled serially by its event-interrupt thread', a: side(IRQ, ['dc-record'], 'handler'), b: side(IRQ, ['dc-record'], 'another handler'), sameMemdev: true, outcomes: ['chain-mixed'] },
  { id: 'CL-one-owner', kind: 'assumption', title: 'a tag group is owned by exactly one memory device', a: side(IRQ, ['tag-insert', 'cxl_tag_lock', 'group-put'], 'irq/memX'), b: side(IRQ, ['tag-insert', 'cxl_tag_lock', 'group-put'], 'irq/memY'), otherMemdev: true, outcomes: ['tag-registered-twice'] },
  { id: 'CL-scan-defer', kind: 'assumption', title: 'new add events are deferred until the initial scan completes', a: side(IRQ, ['add_ctx.lock'], 'runtime add'), b: side(BUS, ['add_ctx.lock', 'device_lock(cxlr_dax)'], 'probe scan'), outcomes: ['scan-gate-bypassed'] },
  { id: 'CL-group-atomic', kind: 'assumption', title: 'per-tag-group add and release of DAX resources are all-or-none', a: side(USER, ['dax_region_rwsem'], 'claim'), b: side(IRQ, ['dax_region_rwsem', 'dax-per-extent'], 'group DAX add/release'), outcomes: ['partial-group-claimed'] },
  { id: 'CL-chain-bound', kind: 'assumption', title: 'a More=1 chain is bounded by the 20 s timeout and 100 pending extents', a: side(WQ, ['add_ctx.lock'], 'watchdog'), b: side(IRQ, ['add_ctx.lock'], 'chain'), sameMemdev: true, outcomes: ['staged-over-cap', 'watchdog-after-close'] },
  { id: 'CL-no-reack', kind: 'assumption', title: 'recovered extents are not re-acknowledged via Add DC Response', a: side(BUS, ['add_ctx.lock'], 'probe scan'), b: side(IRQ, ['mbox_mutex'], 'runtime response'), outcomes: [] },
  { id: 'CL-seq', kind: 'assumption', title: 'sharable extent sequence numbers are a dense 0..n-1 (outcome only)', outcomes: ['sharable-group-refused-seq', 'sequence-broken'] },
];

/** A window whose two sides are the same code path twice (H1: two memdevs' event threads
 *  inserting a tag): its race needs both threads at the same point at once. */
function isSymmetric(w: WindowSpec): boolean {
  return !!w.a && !!w.b && w.a.who.source === w.b.who.source && w.a.resources.join() === w.b.resources.join();
}

/** The named windows whose two sides are the same code path (H1, H6, CL-serial, CL-one-owner). */
export function symmetricWindow(id: string): boolean {
  const w = WINDOWS.find((x) => x.id === id);
  return w !== undefined && isSymmetric(w);
}

function matchWindow(w: WindowSpec, t: Touches): Order | null {
  if (!w.a || !w.b) return null;
  // the earliest pair (x on side a, y on side b, x != y) that both happened: its first-touch order
  type Hit = { who: string; first: number; write: boolean };
  const hits = (s: Side): Hit[] => {
    const out: Hit[] = [];
    for (const r of s.resources) for (const [who, v] of t.get(r) ?? []) if (s.who.test(who)) out.push({ who, first: v.first, write: v.write });
    return out;
  };
  const A = hits(w.a);
  const B = hits(w.b);
  // a symmetric window (the same side twice: irq/memX vs irq/memY) orders its pair by thread name,
  // so "a first" means the thread whose name sorts first won
  const symmetric = isSymmetric(w);
  let best: { late: number; order: Order } | null = null;
  for (const x of A) {
    for (const y of B) {
      if (x.who === y.who || (!x.write && !y.write) || (symmetric && x.who > y.who)) continue;
      const mx = memdevOf(x.who), my = memdevOf(y.who);
      if (w.sameMemdev && mx !== my) continue;
      if (w.otherMemdev && (mx === null || my === null || mx === my)) continue;
      const late = Math.max(x.first, y.first);
      if (!best || late < best.late) best = { late, order: x.first < y.first ? 'ab' : 'ba' };
    }
  }
  return best?.order ?? null;
}

/** What one iteration covered. */
export function iterationCoverage(steps: readonly TraceStep[], outcomes: readonly string[]): IterationCoverage {
  const acc = accessesOf(steps);
  const t = touchesOf(acc);
  const conflicts: Record<string, Order> = {};
  for (const [resource, m] of t) {
    const threads = [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    for (let i = 0; i < threads.length; i++) {
      for (let j = i + 1; j < threads.length; j++) {
        const [a, va] = threads[i]!;
        const [b, vb] = threads[j]!;
        if (!va.write && !vb.write) continue;
        conflicts[conflictKey(resource, a, b)] = va.first < vb.first ? 'ab' : 'ba';
      }
    }
  }
  const windows: Record<string, Order | 'reached' | 'outcome'> = {};
  const seen = new Set(outcomes);
  for (const w of WINDOWS) {
    const o = w.custom ? w.custom(acc) : matchWindow(w, t);
    if (o) windows[w.id] = o;
    else if (w.outcomes.some((n) => seen.has(n))) windows[w.id] = 'outcome';
  }
  return { conflicts, windows };
}

// ------------------------------------------------------------------------------------------------
// summaries

function sidesText(w: WindowSpec): string {
  if (w.custom) return 'matched on the step order';
  if (!w.a || !w.b) return `outcome: ${w.outcomes.join(', ') || '-'}`;
  return `${w.a.label} [${w.a.resources.join('|')}] vs ${w.b.label} [${w.b.resources.join('|')}]`;
}

export function emptyCoverage(): CoverageSummary {
  const windows: Record<string, WindowStat> = {};
  for (const w of WINDOWS) windows[w.id] = { id: w.id, kind: w.kind, title: w.title, sides: sidesText(w), reached: 0, ab: 0, ba: 0, byOutcome: 0, ordered: !w.unordered && (w.custom !== undefined || (w.a !== undefined && w.b !== undefined)) };
  return { version: 1, iterations: 0, conflicts: {}, windows };
}

/** Add one iteration's coverage to a summary (in place). */
export function addIteration(s: CoverageSummary, c: IterationCoverage): void {
  s.iterations++;
  for (const [key, o] of Object.entries(c.conflicts)) {
    let st = s.conflicts[key];
    if (!st) {
      const [resource, a, b] = splitKey(key);
      st = { resource, a, b, ab: 0, ba: 0 };
      s.conflicts[key] = st;
    }
    st[o]++;
  }
  for (const [id, o] of Object.entries(c.windows)) {
    const w = s.windows[id] ?? (s.windows[id] = { id, kind: 'hazard', title: id, sides: '', reached: 0, ab: 0, ba: 0, byOutcome: 0, ordered: true });
    w.reached++;
    if (o === 'outcome') w.byOutcome++;
    else if (o !== 'reached') w[o]++;
  }
}

function splitKey(key: string): [string, string, string] {
  // resource names may contain spaces? they do not (lock classes, site names); threads neither
  const parts = key.split(' ');
  const b = parts.pop()!;
  const a = parts.pop()!;
  return [parts.join(' '), a, b];
}

/** Sum of several summaries (dcd merge). */
export function mergeCoverage(parts: readonly (CoverageSummary | undefined)[]): CoverageSummary {
  const out = emptyCoverage();
  for (const p of parts) {
    if (!p) continue;
    out.iterations += p.iterations;
    for (const [k, c] of Object.entries(p.conflicts)) {
      const cur = out.conflicts[k] ?? (out.conflicts[k] = { ...c, ab: 0, ba: 0 });
      cur.ab += c.ab;
      cur.ba += c.ba;
    }
    for (const [id, w] of Object.entries(p.windows)) {
      const cur = out.windows[id] ?? (out.windows[id] = { ...w, reached: 0, ab: 0, ba: 0, byOutcome: 0 });
      cur.reached += w.reached;
      cur.ab += w.ab;
      cur.ba += w.ba;
      cur.byOutcome += w.byOutcome;
    }
  }
  return out;
}

export interface CoverageCounts {
  conflictsBoth: number;
  conflictsOne: number;
  windowsBoth: number;
  windowsOne: number;
  /** an ordered window reached only through an outcome (no two-sided order seen) */
  windowsOutcome: number;
  /** windows without two orders (outcome-only, H13), reached */
  windowsReached: number;
  windowsNever: number;
}

export function coverageCounts(s: CoverageSummary): CoverageCounts {
  const c: CoverageCounts = { conflictsBoth: 0, conflictsOne: 0, windowsBoth: 0, windowsOne: 0, windowsOutcome: 0, windowsReached: 0, windowsNever: 0 };
  for (const x of Object.values(s.conflicts)) {
    if (x.ab > 0 && x.ba > 0) c.conflictsBoth++;
    else if (x.ab + x.ba > 0) c.conflictsOne++;
  }
  for (const w of Object.values(s.windows)) {
    if (w.reached === 0) c.windowsNever++;
    else if (!w.ordered) c.windowsReached++;
    else if (w.ab > 0 && w.ba > 0) c.windowsBoth++;
    else if (w.ab + w.ba > 0) c.windowsOne++;
    else c.windowsOutcome++;
  }
  return c;
}

/** The coverage summary printed at the end of every stress run. */
export function formatCoverage(s: CoverageSummary, opts: { conflicts?: number } = {}): string {
  const c = coverageCounts(s);
  const lines: string[] = [];
  lines.push(`coverage over ${s.iterations} iterations: conflicts ${c.conflictsBoth} seen in both orders, ${c.conflictsOne} in one order; named windows ${c.windowsBoth} in both orders, ${c.windowsOne} in one order, ${c.windowsOutcome} by outcome only, ${c.windowsReached} order-free reached, ${c.windowsNever} never reached`);
  for (const w of Object.values(s.windows)) {
    const how = w.reached === 0 ? 'never reached'
      : `reached ${w.reached} time${w.reached === 1 ? '' : 's'}${w.ab + w.ba > 0 ? ` (a first ${w.ab}, b first ${w.ba}${w.ab > 0 && w.ba > 0 ? ', both orders' : ''})` : ''}${w.byOutcome ? `, ${w.byOutcome} by outcome` : ''}`;
    lines.push(`  ${w.id.padEnd(15)} ${how.padEnd(52)} ${w.title}`);
  }
  const one = Object.entries(s.conflicts).filter(([, x]) => (x.ab === 0) !== (x.ba === 0)).sort((x, y) => (y[1].ab + y[1].ba) - (x[1].ab + x[1].ba));
  const show = opts.conflicts ?? 8;
  if (one.length > 0 && show > 0) {
    lines.push(`  conflicts seen in one order only (${one.length}; first ${Math.min(show, one.length)}):`);
    for (const [, x] of one.slice(0, show)) lines.push(`    ${x.resource}: ${x.ab > 0 ? `${x.a} before ${x.b}` : `${x.b} before ${x.a}`} ${x.ab + x.ba}x, never the other way`);
  }
  return lines.join('\n');
}

/** Is this window still open for the feedback: an ordered window not yet seen in both orders, or
 *  an order-free one not yet reached? */
export function windowOpen(w: WindowStat): boolean {
  return w.ordered ? !(w.ab > 0 && w.ba > 0) : w.reached === 0;
}

/** Window ids still open (the swarm's feedback aims at these). */
export function unseenWindows(s: CoverageSummary): string[] {
  return Object.values(s.windows).filter(windowOpen).map((w) => w.id);
}

// ------------------------------------------------------------------------------------------------
// directed focus: the windows a changed knob's code touches

/**
 * The shared resources (lock classes and instrumented sites, as the step log names them) where
 * each knob changes what the host does. A knob is an assumption flipped — a patch to the series —
 * and, as a directed fuzzer aims at the lines a patch changed, the swarm aims at the windows whose
 * sides touch these resources (knobWindows; StressJob.focusFor).
 */
export const KNOB_RESOURCES: Readonly<Partial<Record<KnobName, readonly string[]>>> = {
  // cxl_tag_register's check and insert under cxl_tag_lock (drivers/cxl/core/extent.c)
  'tag-lock': ['cxl_tag_lock', 'tag-insert'],
  // a tag group's DAX add/release under one dax_region_rwsem hold or per extent (drivers/dax/bus.c)
  'group-lock': ['dax_region_rwsem', 'dax-per-extent'],
  // the event log's drain (cxl_event_thread → the DC record handler, drivers/cxl/core/mbox.c)
  'parallel-event-handlers': ['dc-record'],
  // the sharable group's sequence check, at the record's handling (v10-uuid-show is no race: absent)
  'v10-seq': ['dc-record'],
  // the existing-extent scan's gate on runtime adds (cxl_add_pending / the probe's scan)
  'scan-gate': ['add_ctx.lock', 'device_lock(cxlr_dax)'],
  // the response path (cxl_send_dc_response, the release walk's Release DC)
  'unmatched-release-ack': ['dc-walk', 'mbox_mutex'],
  'staging-failure-response': ['add_ctx.lock', 'mbox_mutex'],
  // dc_extents walks and their frees (cxlr_dax_classify_extent, cxl_rm_extent, dc_extent_release)
  rcu: ['dc-walk', 'teardown'],
  'release-batch': ['dc-walk', 'mbox_mutex'],
};

/** The resources a window reads: its sides', or a custom window's `touches`. */
function windowResources(w: WindowSpec): string[] {
  return [...(w.a?.resources ?? []), ...(w.b?.resources ?? []), ...(w.touches ?? [])];
}

/**
 * The named windows whose resources a knob the run changed touches: every knob whose resolved
 * value differs from the v11 default (a variant's presets included), mapped through
 * KNOB_RESOURCES. Empty for the v11 default. Outcome-only windows have no resources and are never
 * directed at.
 */
export function knobWindows(variant: Variant, knobs: Knobs): string[] {
  const v = resolveKnobs(variant, knobs) as unknown as Record<string, unknown>;
  const d = DEFAULT_KNOBS as unknown as Record<string, unknown>;
  const res = new Set<string>();
  for (const k of Object.keys(v)) if (v[k] !== d[k]) for (const r of KNOB_RESOURCES[k as KnobName] ?? []) res.add(r);
  if (res.size === 0) return [];
  return WINDOWS.filter((w) => windowResources(w).some((r) => res.has(r))).map((w) => w.id);
}
