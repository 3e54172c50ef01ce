/**
 * DOC: `dcd explain TRACE` — a failing interleaving as kernel developers read one.
 *
 * The layout follows lockdep's "possible unsafe locking scenario" (CPU0 / CPU1 side by side) and
 * KCSAN's reports (the field, its old → new value): one column per racing thread, one row per
 * step that matters, each named by the kernel function it models (stress/kernel-fns.ts) with the
 * locks the thread held there, the shared state it changed as old → new, objects named as sysfs
 * names them (`region0`, `extent0.1`, `dax0.1`, the tag's uuid) — never table handles — and last
 * the invariant that broke with its docs/kernel-map.md anchor.
 *
 * Input: a trace with a `record` (events per step, locks held; written by `dcd stress` for
 * controlled runs since this version). A trace without one (a free run, an older trace) is
 * replayed once under the controlled scheduler to record it.
 *
 * Which steps matter: the racing threads are those whose events witness the outcome
 * (stress/signature.ts); of their steps, those that passed a racy window (a noise point), or
 * changed shared state (emitted an event other than mailbox traffic); consecutive steps of one
 * thread in the same function fold into one row.
 */
import type { RuntimeEvent } from '../src/protocol.js';
import { RELEASE_REASON, UAF_SITE } from '../src/protocol.js';
import { ERRNO_NAME, formatHungReport, type HungReport } from '../src/errors.js';
import { DC_EVENT_TYPE, isNullUuid, rcName } from '../src/wire/cxl.js';
import { hex, MiB } from '../src/units.js';
import { OUTCOMES } from './checkers/index.js';
import { actorThread, eventFunction, noiseWindow, roleOfThread, stepFunction, threadTitle } from './kernel-fns.js';
import { signatureOf, type NamedEvent } from './signature.js';
import './findings-workloads.js';
import type { StressTrace, TraceRecord } from './trace.js';
import type { TraceStep } from './turnstile.js';

export interface ExplainRow {
  step: number;
  thread: string;
  fn: string;
  held: string[];
  /** what the step changed, one line each (old → new where known) */
  effects: string[];
}

export interface Explanation {
  title: string;
  signature: string;
  outcome: string;
  class: string;
  invariant: string;
  /** docs/kernel-map.md anchors: the outcome, the invariant, the hazard */
  anchors: string[];
  threads: string[];
  rows: ExplainRow[];
  /** steps of the whole run, and how many rows show */
  totalSteps: number;
  preemptions: number;
  detail: string;
  hazard: string | null;
  /** the iteration's hung-wait reports in the order they were made (khungtaskd's INFO lines) */
  hung: HungReport[];
}

const SIZE = (n: number): string => (n >= MiB && n % MiB === 0 ? `${n / MiB}M` : hex(n));
/** untagged: the null uuid (or none at all) */
const untagged = (u: string): boolean => !u || isNullUuid(u);

/** Names of table handles (record.names) with fallbacks that never print a bare handle. */
class Namer {
  constructor(private readonly n: TraceRecord['names']) {}
  region(h: number): string { return this.n.regions[String(h)] ?? 'a freed region'; }
  extent(h: number): string { return this.n.extents[String(h)] ?? 'a freed extent'; }
  dax(h: number): string { return this.n.daxDevs[String(h)] ?? 'a deleted dax device'; }
  group(h: number): string { return this.n.groups[String(h)] ?? 'an untagged group'; }
  /** rewrite "group 196608", "extent 65632", "region 3", "dev 7" in checker details */
  text(s: string): string {
    return s
      .replace(/\b(tracked extent|extent) (\d+)/g, (_m, w: string, h: string) => `${w.replace(/extent$/, '')}${this.n.extents[h] ?? `extent (handle ${h}, freed)`}`)
      .replace(/\bdax device (\d+)/g, (_m, h: string) => this.n.daxDevs[h] ?? 'a deleted dax device')
      .replace(/\bregion handle (\d+)/g, (_m, h: string) => this.n.regions[h] ?? 'a freed region')
      .replace(/\bgroup (\d+)\b( on mem\d+)?/g, (_m, h: string, on: string | undefined) => `the ${this.n.groups[h] ?? `untagged group${on ?? ''}`}`)
      .replace(/\bregion (\d{4,})/g, (_m, h: string) => this.n.regions[h] ?? 'a freed region')
      .replace(/\bdev (\d+)/g, (_m, h: string) => this.n.daxDevs[h] ?? 'a deleted dax device');
  }
}

/** Checker text with table handles replaced by sysfs names (for `dcd replay`'s detail line). */
export function nameHandles(text: string, names: TraceRecord['names']): string {
  return new Namer(names).text(text);
}

/**
 * A kernel return (`rc` < 0) as dmesg's `%pe` prints it: `-2` → `-ENOENT`, by the one errno table
 * (src/errors.ts); a code the table lacks stays a number. Events that carry the positive code
 * (`dax-group`, `claim`, `chain-dropped`) pass its negation.
 */
export function errnoText(rc: number): string {
  const name = ERRNO_NAME[-rc];
  return name ? `-${name}` : String(rc);
}

function uuidText(u: string): string {
  return untagged(u) ? 'untagged' : u;
}

/** One event's line as `dcd explain` prints it (null: not shown), with no earlier events. */
export function effectText(ev: RuntimeEvent, names: TraceRecord['names']): string | null {
  return effectOf(ev, new Namer(names), new Map(), '');
}

/** One event as a state change, old → new where the events tell the old value. */
function effectOf(ev: RuntimeEvent, nm: Namer, registry: Map<string, string>, who: string): string | null {
  switch (ev.type) {
    case 'dc-record': {
      const kind = ['DC Add', 'DC Release', 'DC Forced Release', 'Region Config Updated'][ev.eventType] ?? `DC event ${ev.eventType}`;
      return `${kind} record: mem${ev.memdev} dpa ${hex(ev.dpa)} len ${SIZE(ev.len)} tag ${untagged(ev.uuid) ? 'none' : `${ev.uuid.slice(0, 8)}…`} more=${ev.more}`;
    }
    case 'tag-registered': {
      const owner = `tag group on mem${ev.memdev}`;
      const old = registry.get(ev.uuid) ?? '(none)';
      registry.set(ev.uuid, owner);
      return `cxl_tag_groups[${ev.uuid}]: ${old} → ${owner}${old !== '(none)' ? '   <-- second owner' : ''}`;
    }
    case 'tag-unregistered': {
      const old = registry.get(ev.uuid) ?? `tag group on mem${ev.memdev}`;
      registry.delete(ev.uuid);
      return `cxl_tag_groups[${ev.uuid}]: ${old} → (none)`;
    }
    case 'extent-tracked':
      return `${nm.region(ev.region)} dc_extents: + ${nm.extent(ev.extent)} (mem${ev.memdev} dpa ${hex(ev.dpa)} len ${SIZE(ev.len)}, ${uuidText(ev.uuid)} seq ${ev.seq}${ev.existing ? ', recovered' : ''})`;
    case 'extent-untracked':
      return `${nm.region(ev.region)} dc_extents: − ${nm.extent(ev.extent)}${ev.sentRelease ? ' (Release DC sent)' : ''}`;
    case 'chain-closed':
      return ev.byTimeout ? `add_ctx: chain ${ev.chain} answered by the watchdog (${ev.staged} staged)` : `add_ctx: chain ${ev.chain} closed by More=0 (${ev.staged} staged)`;
    case 'response':
      return `Add DC Response for chain ${ev.chain}: ${ev.nrExtents} extent(s)${ev.rc ? ` rc ${rcName(ev.rc)}` : ''}`;
    case 'chain-dropped':
      return `add_ctx: chain dropped without a response (${errnoText(-ev.reason)}, ${ev.staged} staged)`;
    case 'group-dropped':
      return `tag group ${uuidText(ev.uuid)} dropped by gate G${ev.gate} (${errnoText(ev.rc)})`;
    case 'region-teardown':
      return `${nm.region(ev.region)}: unregister its ${ev.extents} dc_extent(s)`;
    case 'use-after-free':
      if (ev.site === UAF_SITE.daxMappingStale) return `unregister_dax_mapping: mapping ${ev.extent} indexes dev_dax->ranges past nr_range   <-- H28`;
      return `walk meets ${nm.extent(ev.extent)} after it was freed   <-- use-after-free`;
    case 'dax-group':
      return `dax_region ${nm.region(ev.region)} resources: ${ev.add ? '+' : '−'}${ev.n} (${nm.group(ev.group)})${ev.rc ? ` rc ${errnoText(-ev.rc)}` : ''}`;
    case 'claim':
      return ev.rc
        ? `uuid_store(${uuidText(ev.uuid)}) on ${nm.region(ev.region)}: ${errnoText(-ev.rc)}`
        : `${nm.dax(ev.dev)} uuid: (none) → ${uuidText(ev.uuid)}; ranges 0 → ${ev.nRanges} of ${ev.groupMembers} group member(s)`;
    case 'release-outcome': {
      const reason = Object.entries(RELEASE_REASON).find(([, v]) => v === ev.reason)?.[0] ?? String(ev.reason);
      return `release mem${ev.memdev} dpa ${hex(ev.dpa)} len ${SIZE(ev.len)}: ${reason}`;
    }
    case 'data':
      return `${ev.write ? 'write' : 'verify'} ${nm.dax(ev.dev)} +${hex(ev.offset)} len ${SIZE(ev.len)}${ev.ok ? '' : ' FAILED'}`;
    case 'scan-done':
      // cxl_region_add_existing_extents publishes extents_scanned only when the scan succeeded
      return ev.rc
        ? `${nm.region(ev.region)} extents_scanned stays 0: scan failed ${errnoText(ev.rc)} after ${ev.attempts} attempt(s) (found ${ev.found})`
        : `${nm.region(ev.region)} extents_scanned: 0 → 1 (found ${ev.found})`;
    case 'region-probe':
      return `${nm.region(ev.region)} cxlr->cxlr_dax: a new cxl_dax_region (instance ${ev.gen})`;
    case 'lost-update':
      return `${nm.group(ev.group)} nr_extents: ${ev.found} → ${ev.wrote} (this thread read ${ev.read}: the update to ${ev.found} is lost)   <-- lost update`;
    case 'mbox':
    case 'response-extent':
    case 'lock-hold':
      return null;
  }
  void who;
  return null;
}

/** An event thread's current record kind (add or release), for functions shared by both paths. */
function recordKind(who: string, evs: readonly RuntimeEvent[], opOf: Map<string, string>): void {
  if (!who.startsWith('irq/')) return;
  const r = evs.find((e) => e.type === 'dc-record');
  if (r && r.type === 'dc-record') opOf.set(who, r.eventType === DC_EVENT_TYPE.ADD_CAPACITY ? 'add-record' : 'release-record');
}

function anchorOf(label: string): string | null {
  const h = /^(H\d+)\b/.exec(label);
  if (h) return `docs/kernel-map.md#${h[1]!.toLowerCase()}`;
  const inv = /^8\.1-(\d+)/.exec(label);
  if (inv) return `docs/kernel-map.md#8-1-${inv[1]}`;
  if (label.startsWith('8.2')) return 'docs/kernel-map.md#8-2';
  if (label.startsWith('product 6')) return 'docs/kernel-map.md#product-6';
  if (/^S\d/.test(label)) return `docs/kernel-map.md#${label.slice(0, 2).toLowerCase()}`;
  return null;
}

/** Count preemptions: a switch away from a thread whose next step shows it was still runnable. */
export function countSwitches(steps: readonly TraceStep[]): number {
  let n = 0;
  let last: string | null = null;
  for (const s of steps) {
    if (s.who.startsWith('actor:')) continue;
    if (last !== null && s.who !== last) n++;
    last = s.who;
  }
  return n;
}

/**
 * Where an iteration failed: the racing threads (those whose events witness the outcome's
 * signature, else the two busiest; a lock report's named threads) and the last step that
 * witnesses the failure (a lock outcome: the end of the run). Steps after it are its consequence.
 * Shared by `dcd explain` (what to show) and `dcd minimize` (what counts as before the failure).
 */
export function failurePoint(outcome: string, rec: TraceRecord, steps: readonly TraceStep[], detail = ''): { threads: string[]; last: number; witnessStep: number } {
  const sig = signatureOf(outcome, rec.events);
  const witnessFns = new Set(sig.functions);
  const threadsOrder: string[] = [];
  for (const e of rec.events) {
    if (e.step < 0 || e.thread === 'main') continue;
    if (witnessFns.has(eventFunction(e.ev, e.thread)) && !threadsOrder.includes(e.thread)) threadsOrder.push(e.thread);
  }
  const counts = new Map<string, number>();
  for (const s of steps) if (!s.who.startsWith('actor:') && !s.who.startsWith('device/')) counts.set(s.who, (counts.get(s.who) ?? 0) + 1);
  for (const [w] of [...counts].sort((a, b) => b[1] - a[1])) if (threadsOrder.length < 2 && !threadsOrder.includes(w)) threadsOrder.push(w);
  // a lock report names its threads (the new edge's and the recorded one's): those are the racers
  const named = [...new Set((detail.match(/\b(irq\/mem\d+(?:\.\d+)?|dax-bus|user\d+|workqueue)\b/g) ?? []))].filter((w) => counts.has(w));
  const lockOutcome = /^(lock-order|hung-wait)/.test(outcome);
  const threads = lockOutcome && named.length >= 2 ? named.slice(0, 3) : threadsOrder.slice(0, 3);
  let last = -1;
  for (const e of rec.events) if (e.step >= 0 && threads.includes(e.thread) && witnessFns.has(eventFunction(e.ev, e.thread))) last = Math.max(last, e.step);
  return { threads, last: last >= 0 && !lockOutcome ? last : steps.length - 1, witnessStep: last };
}

/**
 * Only the steps that matter: per run of one thread (between switches), the rows that witness the
 * race — a racing function (the signature's), a switch-out point, a marked effect (`<--`), the
 * failure — stay as they are; the context rows between them (record handling, mailbox traffic,
 * staging) fold into one row naming the first and last function, with their state changes (at
 * most three; the rest counted). A thread's run then reads in a few rows.
 */
function compactRows(rows: ExplainRow[], racing: ReadonlySet<string>, objects: readonly string[] = []): ExplainRow[] {
  const isKey = (r: ExplainRow): boolean => r.thread.startsWith('actor:') || r.fn.startsWith('-- ') || racing.has(r.fn)
    || r.effects.some((e) => e.includes('<--') || [...racing].some((f) => e.startsWith(`${f}:`)));
  const out: ExplainRow[] = [];
  let ctx: ExplainRow[] = [];
  const flush = (): void => {
    if (ctx.length === 0) return;
    const named = [...new Set(ctx.map((r) => r.fn))].filter((f) => f !== 'instrumented point');
    const fns = named.length ? named : [ctx[0]!.fn];
    const effects = ctx.flatMap((r) => r.effects.filter((e) => !e.startsWith('racy window')));
    // a context step that changed nothing shared does not matter
    if (effects.length === 0) { ctx = []; return; }
    if (ctx.length === 1) { out.push({ ...ctx[0]!, effects }); ctx = []; return; }
    // the state changes of the objects the failure names come first (in their order), then the rest
    const onFailure = (e: string): boolean => objects.some((o) => new RegExp(`\\b${o.replace('.', '\\.')}\\b`).test(e));
    const pick = new Set(effects.map((e, i) => (onFailure(e) ? i : -1)).filter((i) => i >= 0).slice(0, 4));
    for (let i = 0; i < effects.length && pick.size < 3; i++) pick.add(i);
    const keep = effects.filter((_, i) => pick.has(i));
    if (effects.length > keep.length) keep.push(`(${effects.length - keep.length} more state change(s))`);
    out.push({ step: ctx[0]!.step, thread: ctx[0]!.thread, fn: fns.length === 1 ? fns[0]! : `${fns[0]}() … ${fns[fns.length - 1]}()`, held: ctx[0]!.held, effects: keep });
    ctx = [];
  };
  for (const r of rows) {
    if (ctx.length && ctx[0]!.thread !== r.thread) flush();
    if (isKey(r)) { flush(); out.push(r); continue; }
    ctx.push(r);
  }
  flush();
  return out;
}

export function explainTrace(t: StressTrace, rec: TraceRecord, steps: readonly TraceStep[], opts: { maxRows?: number; detail?: string; all?: boolean } = {}): Explanation {
  const nm = new Namer(rec.names);
  const sig = signatureOf(t.outcome, rec.events, opts.detail ?? t.detail ?? '');
  const spec = (OUTCOMES as Record<string, { invariant: string; hazard: string | null; description: string }>)[t.outcome];
  // events per step
  const byStep = new Map<number, NamedEvent[]>();
  for (const e of rec.events) { const l = byStep.get(e.step) ?? []; l.push(e); byStep.set(e.step, l); }
  const fp = failurePoint(t.outcome, rec, steps, opts.detail ?? t.detail ?? '');
  const threads = fp.threads;
  // the op each user/bus thread runs (from the actor steps)
  const opOf = new Map<string, string>();
  const rows: ExplainRow[] = [];
  const registry = new Map<string, string>();
  // setup registrations are the starting state
  for (const e of rec.events) if (e.step === -1) effectOf(e.ev, nm, registry, e.thread);
  const lastWitness = fp.witnessStep;
  let lastRacer: string | null = null;
  const lockOutcome = /^(lock-order|hung-wait)/.test(t.outcome);
  // the lock classes the report names (the cycle's): only their acquisitions tell the story
  const detailText = opts.detail ?? t.detail ?? '';
  const cycleClasses = new Set((detailText.match(/(device_lock\([a-z_]+\)|[a-z_]+\.[a-z_]+|[a-z_]+_(?:lock|rwsem|mutex))/g) ?? []).filter((c) => !/^(irq|dax)$/.test(c)));
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k]!;
    if (s.who.startsWith('actor:')) {
      const th = actorThread(s.who);
      opOf.set(th, s.what.split(' ')[0] ?? s.what);
      // FM commands: show the ones that feed a racing thread's memdev
      const m = /^actor:fm\/mem(\d+)/.exec(s.who);
      if (m && threads.some((w) => w.startsWith(`irq/mem${m[1]}`))) {
        rows.push({ step: k, thread: s.who, fn: `FM → mem${m[1]}: ${s.what.replace(/^add mem\d+ x(\d+)/, 'Initiate DC Add of $1 extent(s)').replace(/^release mem\d+ x(\d+)/, 'Initiate DC Release of $1 extent(s)')}`, held: [], effects: [] });
      } else if (s.who === 'actor:clock' && threads.includes('workqueue')) {
        rows.push({ step: k, thread: s.who, fn: `clock: ${s.what.replace(/^advance/, 'advance')}`, held: [], effects: [] });
      } else if (threads.includes(th)) {
        rows.push({ step: k, thread: th, fn: `${stepFunction(s.who, s.what, s.arg, [], null)} (issued: ${s.what})`, held: [], effects: [] });
      }
      continue;
    }
    if (!threads.includes(s.who)) continue;
    if (lastRacer !== null && lastRacer !== s.who && k <= lastWitness && !lockOutcome) {
      // the previous racer stops here and resumes later: mark where (its next point)
      const nxt = steps.findIndex((x, j) => j > k && x.who === lastRacer);
      if (nxt > 0) {
        const ns = steps[nxt]!;
        const nfn = stepFunction(ns.who, ns.what, ns.arg, (byStep.get(nxt) ?? []).map((e) => e.ev), opOf.get(ns.who) ?? null);
        const where = ns.what === 'noise' ? `in ${nfn}: ${noiseWindow(ns.arg)}` : ns.what === 'acquire' ? `in ${nfn}, before taking ${ns.arg.replace(/\(write\)$/, '')}` : `in ${nfn} (${ns.what})`;
        rows.push({ step: k, thread: lastRacer, fn: '-- switched out --', held: [], effects: [`parked ${where}; runs again at #${nxt}`] });
      }
    }
    lastRacer = s.who;
    // after the last witness the race is decided: what follows is its consequence
    if (lastWitness >= 0 && k > lastWitness) continue;
    const evs = (byStep.get(k) ?? []).map((e) => e.ev);
    recordKind(s.who, evs, opOf);
    const fn = stepFunction(s.who, s.what, s.arg, evs, opOf.get(s.who) ?? null) || `${s.what}${s.arg ? ` ${s.arg}` : ''}`;
    const held = [...(rec.held[k] ?? [])];
    if (s.what === 'acquire') held.push(`${s.arg.replace(/\(write\)$/, '')} (taken here)`);
    const effects: string[] = [];
    if (s.what === 'noise' && s.arg !== 'site1') effects.push(`racy window: ${noiseWindow(s.arg)}`);
    if (t.knobs['tag-lock'] === 'off' && /^cxl_tag_(register|already_committed|unregister)$/.test(fn)) effects.push('cxl_tag_lock: not taken (--knob tag-lock=off)');
    for (const ev of evs) {
      const x = effectOf(ev, nm, registry, s.who);
      if (!x) continue;
      const fe = eventFunction(ev, s.who);
      effects.push(fe && fe !== fn && ev.type !== 'dc-record' ? `${fe}: ${x}` : x);
    }
    // in a lock report the acquisitions are the story
    const cls = s.arg.replace(/\((read|write)\)$/, '');
    const matters = lockOutcome
      ? (s.what === 'acquire' && (cycleClasses.size === 0 || cycleClasses.has(cls))) || s.what === 'op-start'
      : s.what === 'noise' || effects.length > 0 || s.what === 'op-start';
    if (!matters) continue;
    const prev = rows[rows.length - 1];
    if (prev && prev.thread === s.who && prev.fn === fn && s.what !== 'noise') {
      prev.effects.push(...effects.filter((x) => !x.startsWith('racy window')));
      continue;
    }
    rows.push({ step: k, thread: s.who, fn, held, effects });
  }
  // a deadlock ends with threads parked at acquisitions the scheduler never granted: the hung-wait
  // report names the waiter, what it waits for and who holds it
  const hung = /(\S+) holds ([^;]*?), waits for ([^;]+?); holder (\S+) holds (.+)$/.exec(opts.detail ?? t.detail ?? '');
  if (hung) {
    const [, waiter, wHeld, wFor, holder] = hung;
    const col = threads.includes(waiter!) ? waiter! : threads[0]!;
    rows.push({ step: steps.length, thread: col, fn: `-- blocked: waits for ${wFor!.replace(/\(write\)$/, '')} --`, held: wHeld!.split(', ').map((x) => x.replace(/\(write\)$/, '')), effects: [`${wFor!.replace(/\(write\)$/, '')} is held by ${holder}`] });
  }
  const max = opts.maxRows ?? 40;
  const objects = [...new Set(nm.text(opts.detail ?? t.detail ?? '').match(/\b(extent\d+\.\d+|region\d+|dax\d+\.\d+)\b/g) ?? [])];
  const compact = lockOutcome || opts.all ? rows : compactRows(rows, new Set(sig.functions), objects);
  const shown = compact.length > max ? compact.slice(compact.length - max) : compact;
  const anchors = [`docs/kernel-map.md#outcome-${t.outcome}`];
  const a1 = anchorOf(spec?.invariant ?? t.invariant);
  if (a1) anchors.push(a1);
  if (spec?.hazard) { const a2 = anchorOf(spec.hazard); if (a2 && !anchors.includes(a2)) anchors.push(a2); }
  const colThreads = [...new Set(shown.filter((r) => !r.thread.startsWith('actor:')).map((r) => r.thread))];
  return {
    title: sig.title, signature: sig.signature, outcome: t.outcome, class: t.class, invariant: spec?.invariant ?? t.invariant, anchors,
    threads: colThreads, rows: shown, totalSteps: steps.length, preemptions: t.preemptions ?? countSwitches(steps),
    detail: nm.text(opts.detail ?? t.detail ?? ''), hazard: spec?.hazard ?? null, hung: rec.hung ?? [],
  };
}

/** Wrap `s` to width `w`: the first line indented by `ind`, continuation lines by two more. */
function wrap(s: string, w: number, ind = '  '): string[] {
  const out: string[] = [];
  let cur = ind;
  for (const word of s.split(' ').filter((x) => x !== '')) {
    if (cur.trim() !== '' && cur.length + word.length + 1 > w) { out.push(cur); cur = `${ind}  ${word}`; } else cur = cur.trim() === '' ? `${cur}${word}` : `${cur} ${word}`;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

/** The lockdep-style text: one column per thread. */
export function formatExplanation(x: Explanation, t: StressTrace): string {
  const out: string[] = [];
  out.push(x.title);
  out.push(`  ${x.class}: ${x.outcome} — ${x.invariant}${x.hazard ? ` (known hazard ${x.hazard})` : ''}`);
  out.push(`  ${t.workload}, seed ${t.seed}, iteration ${t.iteration}, schedule ${t.schedule}, ${t.variant}${Object.keys(t.knobs).length ? ` ${Object.entries(t.knobs).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}: ${x.totalSteps} steps, ${x.preemptions} ${t.preemptions !== undefined ? 'preemption(s)' : 'thread switches'}; ${x.rows.length} rows shown`);
  out.push('');
  out.push(' Possible unsafe interleaving:');
  out.push('');
  const cols = x.threads;
  const W = cols.length <= 2 ? 52 : 42;
  const pad = (s: string): string => s.padEnd(W);
  out.push(`       ${cols.map((c) => pad(threadTitle(c))).join('  ').trimEnd()}`);
  out.push(`       ${cols.map((c) => pad('-'.repeat(Math.min(W - 2, threadTitle(c).length)))).join('  ').trimEnd()}`);
  for (const r of x.rows) {
    if (r.thread.startsWith('actor:')) { out.push(`  #${String(r.step).padEnd(4)}${r.fn}`); continue; }
    const ci = cols.indexOf(r.thread);
    const cell: string[] = [/[ -]/.test(r.fn) ? r.fn : `${r.fn}()`];
    if (r.held.length) cell.push(...wrap(`[${r.held.join(', ')}]`, W - 1));
    for (const e of r.effects) cell.push(...wrap(e, W - 1));
    cell.forEach((line, li) => {
      const cells = cols.map((_, i) => (i === ci ? line : ''));
      const head = li === 0 ? `  #${String(r.step).padEnd(4)}` : '       ';
      out.push(`${head}${cells.map((c, i) => (i < cols.length - 1 ? pad(c) : c)).join('  ').trimEnd()}`);
    });
  }
  out.push('');
  out.push(` *** ${x.invariant} broken: ${x.detail || (OUTCOMES as Record<string, { description: string }>)[x.outcome]?.description || x.outcome}`);
  if (x.hung.length) {
    // which half of a deadlock was reported first, and whether a holder was unwinding its own
    // report, decides the classification (stress/checkers/locks.ts afterKnownDeadlock)
    out.push('');
    out.push(` hung tasks, in report order (${x.hung.length}):`);
    x.hung.forEach((h, i) => formatHungReport(h).split('\n').forEach((l, k) => out.push(`  ${k === 0 ? `${i + 1}.` : '  '} ${l.trim()}`)));
  }
  out.push(` see ${x.anchors.join(', ')}`);
  out.push(` replay: dcd replay ${'<this trace>'}`);
  return out.join('\n');
}

export { roleOfThread };

/**
 * The record of a trace: its own when it has one from a controlled run; otherwise replay it once
 * under the controlled scheduler (the replay's steps are then the ones explained).
 */
export async function traceRecord(t: StressTrace, forceReplay = false): Promise<{ record: TraceRecord; steps: TraceStep[]; replayed: boolean; reproduced: boolean; detail?: string }> {
  const has = t.record && !t.recordedFree && t.record.held.length >= t.steps.length;
  if (has && !forceReplay) return { record: t.record!, steps: t.steps, replayed: false, reproduced: true, ...(t.detail ? { detail: t.detail } : {}) };
  const { StressJob } = await import('./runner.js');
  const job = new StressJob({ workload: t.workload, variant: t.variant, knobs: t.knobs, device: t.device, seed: t.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  try {
    const r = await job.iteration(t.iteration, { kind: 'replay', steps: t.steps }, t.plan ? { plan: t.plan } : {});
    // table handles differ from run to run: the detail is the replay's own
    return { record: job.lastRecord!, steps: r.steps, replayed: true, reproduced: r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome as never), ...(r.detail ? { detail: r.detail } : {}) };
  } finally {
    await job.close();
  }
}

/**
 * The replayed run as Perfetto tracks: per thread, its paths (a DC record's handling — the add
 * path or the release path —, a sysfs op, the probe and its scan, the watchdog) as outer slices,
 * each step as an inner slice named by the kernel function it models, the events it emitted as
 * instants; beside each thread a track of its lock holds (from the locks held at each step).
 */
export function timelineOf(rec: TraceRecord, steps: readonly TraceStep[]): import('../src/runtime/perfetto.js').TimelineTrack[] {
  const times = rec.times ?? steps.map((_, k) => [k, k + 0.9] as [number, number]);
  const byStep = new Map<number, RuntimeEvent[]>();
  for (const e of rec.events) if (e.step >= 0) { const l = byStep.get(e.step) ?? []; l.push(e.ev); byStep.set(e.step, l); }
  const threads = [...new Set(steps.map((s) => s.who).filter((w) => !w.startsWith('actor:')))].sort();
  const nm = new Namer(rec.names);
  const tracks: import('../src/runtime/perfetto.js').TimelineTrack[] = [];
  const actorTrack: import('../src/runtime/perfetto.js').TimelineTrack = { name: 'fabric manager / clock (main)', slices: [] };
  const opOf = new Map<string, string>();
  const threadSteps = new Map<string, number[]>();
  steps.forEach((s, k) => {
    if (s.who.startsWith('actor:')) {
      opOf.set(actorThread(s.who), s.what.split(' ')[0] ?? s.what);
      const [a, b] = times[k] ?? [k, k + 1];
      actorTrack.slices.push({ name: `${s.who.slice(6)}: ${s.what}`, t0: a, t1: Math.max(b, a + 0.01), cat: 'fm' });
      return;
    }
    const l = threadSteps.get(s.who) ?? [];
    l.push(k);
    threadSteps.set(s.who, l);
  });
  if (actorTrack.slices.length) tracks.push(actorTrack);
  for (const w of threads) {
    const ks = threadSteps.get(w) ?? [];
    const slices: import('../src/runtime/perfetto.js').TimelineSlice[] = [];
    const instants: import('../src/runtime/perfetto.js').TimelineInstant[] = [];
    const locks: import('../src/runtime/perfetto.js').TimelineSlice[] = [];
    let path: { name: string; t0: number; t1: number } | null = null;
    const open = new Map<string, number>();
    const role = roleOfThread(w);
    let op: string | null = null;
    for (const k of ks) {
      const s = steps[k]!;
      const [t0, t1r] = times[k] ?? [k, k + 1];
      const t1 = Math.max(t1r, t0 + 0.01);
      const evs = byStep.get(k) ?? [];
      recordKind(w, evs, opOf);
      if (s.what === 'op-start') op = null;
      const fn = stepFunction(w, s.what, s.arg, evs, op ?? opOf.get(w) ?? null);
      if (s.what === 'op-start') op = opOf.get(w) ?? null;
      // a new path: a DC record taken from the log, a sysfs / driver-core op, a watchdog run
      const rec0 = evs.find((e) => e.type === 'dc-record');
      const pathName = rec0 && rec0.type === 'dc-record' ? (rec0.eventType === DC_EVENT_TYPE.ADD_CAPACITY ? 'handle_add_event (DC Add record)' : 'cxl_rm_extent (DC Release record)')
        : s.what === 'op-start' ? `${fn} (${opOf.get(w) ?? 'op'})`
        : role === 'workqueue' && s.what === 'resume' ? 'cxl_dc_add_timeout (system_wq)'
        : null;
      if (pathName) { if (path) slices.push({ ...path, cat: 'path' }); path = { name: pathName, t0, t1 }; }
      else if (path) path.t1 = t1;
      slices.push({ name: fn, t0, t1, cat: 'kernel', args: { point: `${s.what}${s.arg ? ` ${s.arg}` : ''}`, step: k, held: (rec.held[k] ?? []).join(', ') } });
      for (const e of evs) { const x = effectOf(e, nm, new Map(), w); if (x) instants.push({ name: e.type, t: t1, args: { what: x, fn: eventFunction(e, w) } }); }
      // lock holds: held at this step (plus the one it takes) — open/close spans
      const now = new Set((rec.held[k] ?? []).map((h) => h.replace(/\(read\)$/, '')));
      if (s.what === 'acquire') now.add(s.arg.replace(/\((read|write)\)$/, ''));
      for (const [l, since] of open) if (!now.has(l)) { locks.push({ name: l, t0: since, t1: t0, cat: 'lock' }); open.delete(l); }
      for (const l of now) if (!open.has(l)) open.set(l, t0);
    }
    if (path) slices.push({ ...path, cat: 'path' });
    const end = ks.length ? (times[ks[ks.length - 1]!]?.[1] ?? 0) : 0;
    for (const [l, since] of open) locks.push({ name: l, t0: since, t1: Math.max(end, since + 0.01), cat: 'lock' });
    tracks.push({ name: threadTitle(w), slices, instants });
    if (locks.length) tracks.push({ name: `${w} locks held`, slices: locks });
  }
  return tracks;
}
