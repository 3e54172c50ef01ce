/**
 * DOC: finding signatures and titles — one stable key per distinct race, so `dcd stress`,
 * `dcd merge` and `dcd report` count a race once however many seeds, jobs and shards hit it.
 *
 * A signature is the outcome name plus the kernel functions of the two racing sides, sorted:
 * `tag-registered-twice@cxl_tag_register/cxl_tag_register`. The racing sides are read from the
 * iteration's runtime events: for each outcome a few witness event types (the registry insert for
 * a double registration, the claim and the DAX group add for a partial claim, …); the last
 * witness of each of two distinct threads names a side through stress/kernel-fns.ts. When the
 * events show no second thread, the table's static pair stands. Keyed on outcome names and kernel
 * functions only (no table handles, no seeds), so equal races on other seeds or shards agree.
 * The title reads like a syzbot title: `DCD: tag registered twice in cxl_tag_register / cxl_tag_register`.
 */
import type { RuntimeEvent } from '../src/protocol.js';
import { OUTCOMES } from './checkers/index.js';
import { eventFunction } from './kernel-fns.js';

export interface NamedEvent {
  /** index of the schedule step during which it was emitted (-1 setup, -2 unknown: free run) */
  step: number;
  thread: string;
  ev: RuntimeEvent;
}

interface Witness {
  /** what broke, in a few words (the title's phrase) */
  phrase: string;
  /** event types that witness the race */
  events: RuntimeEvent['type'][];
  /** the two racing functions when the events do not show two threads */
  pair: [string, string];
}

/** Per outcome (names from stress/checkers/outcomes.ts); an outcome missing here gets a generic entry. */
const WITNESS: Record<string, Witness> = {
  'tag-registered-twice': { phrase: 'tag registered twice', events: ['tag-registered'], pair: ['cxl_tag_register', 'cxl_tag_register'] },
  'chain-mixed': { phrase: 'one Add DC Response mixes two device chains', events: ['chain-closed', 'response'], pair: ['handle_add_event', 'handle_add_event'] },
  'partial-group-claimed': { phrase: 'claim sees a partial tag group', events: ['claim', 'dax-group'], pair: ['dax_region_add_resources', 'uuid_store'] },
  // lockdep names lock classes, not events: the pair is the two orders of H2 (recovery vs runtime add)
  'lock-order-h2': { phrase: 'AB-BA add_ctx.lock / device_lock(cxlr_dax)', events: [], pair: ['__cxl_process_extent_list', 'cxlr_notify_extent'] },
  'hung-wait-h2': { phrase: 'deadlock add_ctx.lock / device_lock(cxlr_dax)', events: [], pair: ['__cxl_process_extent_list', 'cxlr_notify_extent'] },
  'host-extent-adopted-h2': { phrase: 'recovery scan adopts half-staged runtime extents', events: ['scan-done', 'extent-tracked'], pair: ['__cxl_process_extent_list', 'handle_add_event'] },
  'double-response-after-timeout': { phrase: 'two Add DC Responses for one chain', events: ['chain-closed'], pair: ['cxl_dc_add_timeout', 'cxl_add_pending'] },
  'tag-leaked': { phrase: 'lost nr_extents decrement leaks the tag', events: ['extent-untracked'], pair: ['dc_extent_release', 'dc_extent_release'] },
  'dc-extent-use-after-free-h5': { phrase: 'use-after-free in the dc_extents walk', events: ['use-after-free', 'region-teardown', 'extent-untracked'], pair: ['cxl_rm_extent', 'cxlr_dax_unregister'] },
  'extent-readopted-h5': { phrase: 'released extent re-adopted by the recovery scan', events: ['extent-untracked', 'extent-tracked'], pair: ['cxl_rm_extent', 'cxl_add_extent'] },
  'response-lists-torn-down': { phrase: 'response lists extents a teardown unregistered', events: ['response', 'region-teardown'], pair: ['cxl_send_dc_response', 'cxlr_dax_unregister'] },
  'released-before-response': { phrase: 'Release DC before the Add DC Response', events: ['response', 'region-teardown'], pair: ['cxl_send_dc_response', 'cxlr_dax_unregister'] },
  // H17: three tasks; lockdep and the hung-wait report name lock classes — the two kernel sides of
  // the cycle are the probe's scan and the release (the region writer only closes it)
  'lock-order-h17': { phrase: 'lock cycle device_lock(cxlr_dax) / add_ctx.lock / cxl_rwsem.region(R)', events: [], pair: ['__cxl_process_extent_list', 'cxl_rm_extent'] },
  'hung-wait-h17': { phrase: 'deadlock through the cxl_rwsem.region handoff', events: [], pair: ['__cxl_process_extent_list', 'cxl_rm_extent'] },
  // H15: the teardown's devres frees the claimed dax_resource, unregister_dev_dax trims it later
  'dax-resource-use-after-free-trim': { phrase: 'use-after-free of a claimed dax_resource', events: [], pair: ['dax_release_resource', 'trim_dev_dax_range'] },
  // H16: cxlr_dax_unregister leaves cxlr->cxlr_dax set; the add path's E5/E6 read it
  'cxlr-dax-use-after-free-disabled-region': { phrase: 'use-after-free of cxlr->cxlr_dax on a disabled region', events: [], pair: ['cxl_add_extent', 'cxlr_dax_unregister'] },
  // H18: one chain, no second thread: classification never compares chain mates
  'extent-dup-in-chain': { phrase: 'overlapping members of one chain both tracked', events: [], pair: ['cxlr_dax_classify_extent', 'cxlr_dax_classify_extent'] },
  // H27: lockdep and the hung-wait report name lock classes; the two kernel sides are the mapping
  // attribute's show (get_dax_range) and the store that drains it (docs/kernel-map.md#h27) — the
  // shrink or unregister_dev_dax, chosen by h27Pair from the report
  'lock-order-h27': { phrase: 'lock cycle kn->active(mappingN attribute) / dax_region_rwsem', events: [], pair: ['dev_dax_shrink', 'start_show'] },
  'hung-wait-h27': { phrase: 'deadlock kn->active(mappingN attribute) / dax_region_rwsem', events: [], pair: ['dev_dax_shrink', 'start_show'] },
  // H28: the shrink cannot release the action the teardown took (or a claim inside the teardown
  // registered one behind it); the stale action then runs — the pair is chosen by h28Pair
  'dax-mapping-stale-range-h28': { phrase: 'mappingN device outlived its dev_dax range', events: [], pair: ['dev_dax_shrink', 'unregister_dax_mapping'] },
  'sharable-group-refused-seq': { phrase: 'v11 sharable group refused by sequence gate', events: ['group-dropped'], pair: ['cxl_validate_group', 'cxl_validate_group'] },
};

const DEFAULT_EVENTS: RuntimeEvent['type'][] = ['tag-registered', 'tag-unregistered', 'extent-tracked', 'extent-untracked', 'claim', 'dax-group', 'response', 'chain-closed', 'region-teardown', 'use-after-free', 'release-outcome', 'scan-done'];

export interface Signature {
  /** `outcome@fnA/fnB` (functions sorted) */
  signature: string;
  /** `DCD: <phrase> in fnA / fnB` */
  title: string;
  /** the two racing functions, in the order the title prints them */
  functions: [string, string];
  phrase: string;
}

function phraseOf(outcome: string): string {
  const w = WITNESS[outcome];
  if (w) return w.phrase;
  const d = (OUTCOMES as Record<string, { description?: string }>)[outcome]?.description;
  if (!d) return outcome.replace(/-/g, ' ');
  const short = d.split(/[(:;,]/)[0]!.trim();
  return short.length <= 70 ? short : outcome.replace(/-/g, ' ');
}

/** The racing functions of an iteration: the last witness event of each of two distinct threads. */
export function racingFunctions(outcome: string, events: readonly NamedEvent[], detail = ''): [string, string] {
  const w = WITNESS[outcome];
  if (outcome === 'dax-mapping-stale-range-h28') return h28Pair(events);
  if (outcome === 'lock-order-h27' || outcome === 'hung-wait-h27') return h27Pair(detail);
  if (w && w.events.length === 0) return [...w.pair].sort() as [string, string];
  if (!w && /^(lock-order|hung-wait)/.test(outcome)) {
    // a lock report: the lock classes it names stand for the two sides
    const cls = [...new Set(detail.match(/[a-z_]+(\.[a-z_]+)?(\([a-z_]+\))?(?=[ ,;)\]]|$)/g)?.filter((c) => /lock|rwsem|mutex/.test(c)) ?? [])].slice(0, 2);
    if (cls.length === 2) return cls.sort() as [string, string];
  }
  const types = new Set(w?.events ?? DEFAULT_EVENTS);
  const lastByThread = new Map<string, string>();
  for (const e of events) {
    if (!types.has(e.ev.type) || e.thread === 'main') continue;
    const f = eventFunction(e.ev, e.thread);
    if (f) { lastByThread.delete(e.thread); lastByThread.set(e.thread, f); }
  }
  const fns = [...lastByThread.values()].slice(-2);
  if (fns.length === 2) return fns.sort() as [string, string];
  if (w) return [...w.pair].sort() as [string, string];
  if (fns.length === 1) return [fns[0]!, fns[0]!];
  return ['?', '?'];
}

/**
 * H27's draining side (docs/kernel-map.md#h27): the mapping attribute's show waits for
 * dax_region_rwsem inside its active reference (get_dax_range, named by start_show for all three
 * attributes), and the side holding the rwsem (W) drains that reference either in size_store →
 * dev_dax_shrink → unregister_dax_mapping, or in unregister_dev_dax's device_del of the parent
 * (delete_store, or a cxl_dax_region unbind's devres action). The lock report names the store's
 * own active reference: kn->active(size) is the shrink. Without the report (a caller that has
 * none), the shrink, the path daxctl destroy-device takes first.
 */
function h27Pair(detail: string): [string, string] {
  if (detail && !detail.includes('kn->active(size)')) return ['start_show', 'unregister_dev_dax'];
  return ['dev_dax_shrink', 'start_show'];
}

/**
 * H28 has two paths (docs/kernel-map.md#h28), and a sweep should not merge them: the mapping
 * registered by a claim that ran after the teardown took the region's devres list (`uuid_store` →
 * alloc_dev_dax_range → devm_register_dax_mapping lands on the emptied list), or the shrink whose
 * devm_release_action could not find the action the teardown had already taken (dev_dax_shrink).
 * The teardown's `region-teardown` event is emitted when it takes the list (devres_release_all in
 * src/dax/cxl.ts), so a successful claim of that region after it is the claim path.
 */
function h28Pair(events: readonly NamedEvent[]): [string, string] {
  const tornDown = new Set<number>();
  for (const e of events) {
    if (e.ev.type === 'region-teardown') tornDown.add(e.ev.region);
    else if (e.ev.type === 'claim' && e.ev.rc === 0 && tornDown.has(e.ev.region)) return ['unregister_dax_mapping', 'uuid_store'];
  }
  return ['dev_dax_shrink', 'unregister_dax_mapping'];
}

export function signatureOf(outcome: string, events: readonly NamedEvent[], detail = ''): Signature {
  const functions = racingFunctions(outcome, events, detail);
  const phrase = phraseOf(outcome);
  return { signature: `${outcome}@${functions.join('/')}`, title: `DCD: ${phrase} in ${functions.join(' / ')}`, functions, phrase };
}

/** One distinct finding of a sweep: every iteration with the same signature counted once here. */
export interface FindingRow {
  signature: string;
  title: string;
  outcome: string;
  class: 'forbidden' | 'known-hazard' | 'acceptable';
  /** iterations that ended in it */
  count: number;
  /** who found it first (lowest global iteration) */
  firstSeed: string;
  firstIteration: number;
  schedule: string;
  /** the shortest reproducer: trace file and its step count */
  trace: string | null;
  traceSteps: number | null;
  /** the minimized trace, when `dcd stress --minimize S` produced one */
  minimized?: string | null;
}

/** Add `r` into `rows` (keyed by signature): counts add, the first finder and the shortest trace are kept. */
export function addFinding(rows: Map<string, FindingRow>, r: FindingRow): void {
  const cur = rows.get(r.signature);
  if (!cur) { rows.set(r.signature, { ...r }); return; }
  cur.count += r.count;
  if (r.firstIteration < cur.firstIteration || (r.firstIteration === cur.firstIteration && r.firstSeed < cur.firstSeed)) {
    cur.firstIteration = r.firstIteration; cur.firstSeed = r.firstSeed; cur.schedule = r.schedule;
  }
  const shorter = r.trace !== null && (cur.trace === null || (r.traceSteps ?? Infinity) < (cur.traceSteps ?? Infinity));
  if (shorter) { cur.trace = r.trace; cur.traceSteps = r.traceSteps; }
  if (r.minimized && !cur.minimized) cur.minimized = r.minimized;
}

const ORDER = { forbidden: 0, 'known-hazard': 1, acceptable: 2 } as const;

export function sortFindings(rows: Iterable<FindingRow>): FindingRow[] {
  return [...rows].sort((a, b) => ORDER[a.class] - ORDER[b.class] || b.count - a.count || (a.signature < b.signature ? -1 : 1));
}

/** Group findings of several result sets (seeds, jobs, shards) by signature. */
export function mergeFindings(parts: readonly (readonly FindingRow[] | undefined)[]): FindingRow[] {
  const rows = new Map<string, FindingRow>();
  for (const p of parts) for (const r of p ?? []) addFinding(rows, r);
  return sortFindings(rows.values());
}
