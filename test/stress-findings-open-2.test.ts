// The two forbidden outcomes of the fifth session's 10-minute soak diagnosed here
// (docs/findings-open.md, "The 10-minute v11 soak on the fifth session's merged code"):
//  - released-unaccepted (swarm-released-unaccepted-1-1323, controlled): H5's consequence. The
//    extent is the leftover host-extent-not-accepted-after-h5 names — staged in the chain an H5
//    use-after-free unwound, realized from add_ctx.group in the first group the memdev onlined
//    after it, left out of the response — and the FM released it before quiescence, so the host's
//    Release DC names an extent no response listed. Outcome released-unaccepted-after-h5;
//  - host-extent-not-accepted (swarm-host-extent-not-accepted-1-10139, free run): a v11 defect,
//    H23. The cxl_dax_region probe's scan snapshots the device's extent list
//    (drivers/cxl/core/mbox.c __cxl_process_extent_list), a held extent the unbind unregistered
//    is released at its last put in between (drivers/cxl/core/extent.c dc_extent_release: Release
//    DC, xa_erase), and the scan's cxl_add_extent classifies the stale entry as new. Outcome
//    host-extent-released-under-scan-h23; found again under the controlled scheduler and replayed.
// And H24 (seventh session) under the controlled scheduler: a targeted trace, bench:find's free
// finding re-recorded and minimized, and a write to the partially claimed device refused inside
// the teardown's next Release DC (dax-access-refused-h15).
import t from 'tap';
import { region0Host, region0State } from './helpers/region0.js';
import { join } from 'node:path';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { StressJob } from '../stress/runner.js';
import type { Plan, StressOp } from '../stress/ops.js';
import { readTrace, type StressTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import type { NamedEvent } from '../stress/signature.js';
import { DataChecker, ExtentsChecker, classify } from '../stress/checkers/index.js';
import { HostDeviceExplainer } from '../stress/checkers/common.js';

const M = 1024 * 1024;
const NULL = '00000000-0000-0000-0000-000000000000';
const DOCS = join(import.meta.dirname, '..', 'docs', 'findings-open');

function load(name: string): StressTrace {
  const r = readTrace(join(DOCS, name));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r)}`);
  return r.trace;
}

/** index of the first event matching `f` at or after `from` (-1 when none) */
function at(evs: NamedEvent[], f: (e: NamedEvent) => boolean, from = 0): number {
  for (let k = from; k < evs.length; k++) if (f(evs[k]!)) return k;
  return -1;
}

// ---------------------------------------------------------------- released-unaccepted: H5's leftover, released

t.test('released-unaccepted (soak): H5\'s unwound leftover, released before quiescence — replayed step for step', async (t) => {
  // a version-1 swarm draw: its extent-refs action holds extents across time, so the trace carries
  // the knob extent-refs=user (NOT v11; docs/fidelity-holders.md), added when the knob came in
  const tr = load('swarm-released-unaccepted-1-1323.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('released-unaccepted-after-h5'), 'classified as released-unaccepted-after-h5');
  t.notOk(r.outcomes.includes('released-unaccepted'), 'no unexplained Release DC');
  t.ok(r.outcomes.includes('dc-extent-use-after-free-h5'), 'beside the H5 use-after-free that caused it');
  t.equal(r.class, 'known-hazard', 'the iteration is a known hazard, not forbidden');
  // the causal chain, from the replayed run's events (mem0, 0xb1800000 = extent0.1)
  const evs = r.run!.record!.events;
  const X = 0xb1800000;
  const mem0 = (e: NamedEvent): boolean => 'memdev' in e.ev && e.ev.memdev === 0;
  const staged = at(evs, (e) => e.ev.type === 'dc-record' && mem0(e) && e.ev.eventType === 0 && e.ev.dpa === X);
  const uaf = at(evs, (e) => e.ev.type === 'use-after-free' && mem0(e) && e.ev.site === 1);
  const realized = at(evs, (e) => e.ev.type === 'extent-tracked' && mem0(e) && e.ev.dpa === X);
  const firstOnline = at(evs, (e) => e.ev.type === 'extent-tracked' && mem0(e), uaf);
  const closed = at(evs, (e) => e.ev.type === 'chain-closed' && mem0(e), realized);
  const relRec = at(evs, (e) => e.ev.type === 'dc-record' && mem0(e) && e.ev.eventType === 1 && e.ev.dpa === X);
  const relDc = at(evs, (e) => e.ev.type === 'mbox' && mem0(e) && e.ev.opcode === CXL_MBOX_OP.RELEASE_DC && e.ev.dpa === X);
  const gone = at(evs, (e) => e.ev.type === 'extent-untracked' && mem0(e) && e.ev.dpa === X);
  t.ok(staged >= 0 && staged < uaf && uaf < realized, `staged (event ${staged}) → use-after-free on irq/mem0 (${uaf}) → realized (${realized})`);
  const g = (k: number): number => { const e = evs[k]!.ev; return e.type === 'extent-tracked' ? e.group : -1; };
  t.equal(g(realized), g(firstOnline), 'in the first group mem0 onlined after the use-after-free (add_ctx.group\'s leftover)');
  const closeEv = evs[closed]!.ev;
  t.ok(closeEv.type === 'chain-closed' && closeEv.staged === 3, 'the chain closed with 3 staged: the two the unwind left in pending_extents and the redelivered record');
  const listed = evs.filter((e) => e.ev.type === 'response-extent' && mem0(e) && e.ev.chain === (closeEv.type === 'chain-closed' ? closeEv.chain : -1)).map((e) => (e.ev.type === 'response-extent' ? e.ev.dpa : 0));
  t.same(listed, [0xa4000000, 0xa4000000], 'its response lists the redelivered range twice and not 0xb1800000');
  t.notOk(evs.some((e) => e.ev.type === 'response-extent' && mem0(e) && e.ev.dpa === X), 'no response ever listed 0xb1800000');
  t.ok(closed < relRec && relRec < relDc && relDc < gone, `then the FM's Release record (${relRec}) → cxl_rm_extent → dc_extent_release's Release DC (${relDc}) → untracked (${gone})`);
  const goneEv = evs[gone]!.ev;
  t.equal(goneEv.type === 'extent-untracked' ? goneEv.sentRelease : -1, 1, 'with Release DC sent');
});

// ---------------------------------------------------------------- synthetic: both H5-consequence rules are narrow

const BASE = 2048 * M;
const REGION = 65536;
const IRQ = 4;
const SCAN = 2; // the dax-bus thread (cxl_dax_region_probe)
const PUT = 6; // a user thread dropping an extent reference
const D = (ev: RuntimeEvent, thread = IRQ): DecodedEvent => ({ ev, thread, timeMs: 0 });
const addRec = (dpa: number, more: number, handle: number): RuntimeEvent => ({ type: 'dc-record', memdev: 0, eventType: 0, more, dpa: BASE + dpa, len: 8 * M, uuid: NULL, seq: 0, hostId: 0, regionIndex: 255, handle });
const uaf = (memdev = 0): RuntimeEvent => ({ type: 'use-after-free', memdev, extent: 99, site: 1 });
const trackedEv = (extent: number, dpa: number, group = 7, existing = 0, len = 8 * M): RuntimeEvent => ({ type: 'extent-tracked', memdev: 0, region: REGION, extent, id: extent, dpa: BASE + dpa, len, uuid: NULL, seq: 0, group, existing, shareable: 0 });
const untrackedEv = (extent: number, dpa: number, len = 8 * M, sentRelease = 1): RuntimeEvent => ({ type: 'extent-untracked', memdev: 0, region: REGION, extent, dpa: BASE + dpa, len, sentRelease });
const closedEv = (chain: number): RuntimeEvent => ({ type: 'chain-closed', memdev: 0, chain, staged: 1, byTimeout: 0, handle: chain });
const listedEv = (chain: number, dpa: number): RuntimeEvent => ({ type: 'response-extent', memdev: 0, chain, dpa: BASE + dpa, len: 8 * M });
const mbox = (opcode: number, dpa = 0, len = 0, rc = 0): RuntimeEvent => ({ type: 'mbox', memdev: 0, opcode, rc, nrExtents: opcode === CXL_MBOX_OP.GET_DC_EXTENT_LIST ? 0 : 1, more: 0, dpa: BASE + dpa, len });

const quiescent = (extents: { offset: number; length: number }[]): SystemState => region0State(extents, 0);

/** host tables with region0 at DPA BASE */
const sys = region0Host(REGION, BASE);

function judge(evs: DecodedEvent[], hostExtents: { offset: number; length: number }[] = []): string[] {
  const c = new ExtentsChecker();
  // the region's existing-extent scan is done (runtime extents pass the E6 gate)
  c.onEvent(D({ type: 'scan-done', region: REGION, rc: 0, attempts: 1, found: 0 }, SCAN));
  for (const e of evs) c.onEvent(e);
  return classify(c.atQuiescence(quiescent(hostExtents), sys)).outcomes;
}
const irq = (evs: RuntimeEvent[]): DecodedEvent[] => evs.map((e) => D(e));

t.test('released-unaccepted-after-h5 only with the unwound chain\'s staging, the use-after-free first, and the first group onlined after it', (t) => {
  // A (0) staged More=1, B (64M) staged More=0; closing, the walk's use-after-free unwinds the
  // handler; B redelivered; the leftover A onlined with the two B copies; the response lists B
  const chain = [addRec(0, 1, 1), addRec(64 * M, 0, 2), uaf(), addRec(64 * M, 0, 2), trackedEv(10, 0), trackedEv(11, 64 * M), closedEv(1), listedEv(1, 64 * M)];
  const ok = judge(irq([...chain, untrackedEv(10, 0)]));
  t.ok(ok.includes('released-unaccepted-after-h5') && !ok.includes('released-unaccepted'), `the causal chain: H5's consequence (${ok.join(', ')})`);
  const forbidden = (why: string, evs: RuntimeEvent[]): void => {
    const o = judge(irq(evs));
    t.ok(o.includes('released-unaccepted') && !o.includes('released-unaccepted-after-h5'), `${why}: forbidden (${o.join(', ')})`);
  };
  forbidden('no use-after-free at all', [addRec(0, 1, 1), addRec(64 * M, 0, 2), trackedEv(10, 0), trackedEv(11, 64 * M), closedEv(1), listedEv(1, 64 * M), untrackedEv(10, 0)]);
  forbidden('the use-after-free after the extent was realized', [addRec(0, 1, 1), addRec(64 * M, 0, 2), trackedEv(10, 0), uaf(), trackedEv(11, 64 * M), closedEv(1), listedEv(1, 64 * M), untrackedEv(10, 0)]);
  forbidden('the record staged only after the use-after-free (a later chain)', [addRec(128 * M, 0, 1), uaf(), closedEv(1), addRec(0, 0, 2), trackedEv(10, 0), closedEv(2), untrackedEv(10, 0)]);
  forbidden('the use-after-free on another memdev', [addRec(0, 1, 1), uaf(1), addRec(0, 1, 1), trackedEv(10, 0), closedEv(1), untrackedEv(10, 0)]);
  forbidden('realized in a later group than the first one onlined after the use-after-free (not add_ctx.group\'s leftover)',
    [addRec(0, 1, 1), uaf(), trackedEv(20, 256 * M, 8), closedEv(1), addRec(0, 0, 3), trackedEv(10, 0, 9), closedEv(2), untrackedEv(10, 0)]);
  // a listed extent's Release DC is no finding at all
  const listedRel = judge(irq([...chain.slice(0, 7), listedEv(1, 0), untrackedEv(10, 0)]));
  t.notOk(listedRel.some((o) => o.startsWith('released-unaccepted')), `listed, then released: nothing (${listedRel.join(', ')})`);
  t.end();
});

t.test('host-extent-not-accepted-after-h5 (tightened here): only in the first group onlined after the use-after-free', (t) => {
  const pos = judge(irq([addRec(0, 1, 1), uaf(), addRec(0, 1, 1), trackedEv(10, 0), closedEv(1)]), [{ offset: 0, length: 8 * M }]);
  t.ok(pos.includes('host-extent-not-accepted-after-h5'), `the leftover, tracked at quiescence: H5's consequence (${pos.join(', ')})`);
  const neg = judge(irq([addRec(0, 1, 1), uaf(), trackedEv(20, 256 * M, 8), closedEv(1), addRec(0, 0, 3), trackedEv(10, 0, 9), closedEv(2)]), [{ offset: 0, length: 8 * M }]);
  t.ok(neg.includes('host-extent-not-accepted') && !neg.includes('host-extent-not-accepted-after-h5'), `a later group, not the leftover: forbidden (${neg.join(', ')})`);
  t.end();
});

// ---------------------------------------------------------------- H23: the probe scan's stale snapshot

const R = 32 * M; // the held extent's range, 16 MiB
const L = 16 * M;
/** the recorded shape: the scan's Get DC Extent List, another thread's Release DC of R (a held
 *  extent's last put), its untrack, then the scan realizing R from its snapshot */
function staleScan(over: { relThread?: number; relFirst?: boolean; rescan?: boolean; relDpa?: number; rc?: number; existing?: number } = {}): DecodedEvent[] {
  const get = D(mbox(CXL_MBOX_OP.GET_DC_EXTENT_LIST), SCAN);
  // the held extent R goes either way; with `relDpa` the Release DC names another range (R's own
  // release skipped, as skip_device_release does)
  const relDpa = over.relDpa ?? R;
  const rel = [D(mbox(CXL_MBOX_OP.RELEASE_DC, relDpa, L, over.rc ?? 0), over.relThread ?? PUT), D(untrackedEv(5, R, L, relDpa === R ? 1 : 0), over.relThread ?? PUT)];
  return [
    D(trackedEv(5, R, 3, 0, L)), D(trackedEv(4, 0, 3, 0, L)), D(closedEv(1)), D(listedEv(1, R)), D(listedEv(1, 0)), // the group, accepted earlier
    ...(over.relFirst ? [...rel, get] : [get, ...rel]),
    ...(over.rescan ? [D(mbox(CXL_MBOX_OP.GET_DC_EXTENT_LIST), SCAN)] : []),
    D(trackedEv(9, R, 11, over.existing ?? 1, L), SCAN),
  ];
}

t.test('host-extent-released-under-scan-h23 only when another thread\'s Release DC of the range fell between the scan\'s snapshot and its realization', (t) => {
  const host = [{ offset: R, length: L }];
  const pos = judge(staleScan(), host);
  t.ok(pos.includes('host-extent-released-under-scan-h23') && !pos.includes('host-extent-not-accepted'), `snapshot → foreign Release DC → realized: H23 (${pos.join(', ')})`);
  const forbidden = (why: string, evs: DecodedEvent[]): void => {
    const o = judge(evs, host);
    t.ok(o.includes('host-extent-not-accepted') && !o.includes('host-extent-released-under-scan-h23'), `${why}: forbidden (${o.join(', ')})`);
  };
  forbidden('the Release DC before the snapshot (the device list no longer held it)', staleScan({ relFirst: true }));
  forbidden('the Release DC sent by the scan thread itself', staleScan({ relThread: SCAN }));
  forbidden('a fresh snapshot after the Release DC', staleScan({ rescan: true }));
  forbidden('a Release DC of another range', staleScan({ relDpa: 128 * M }));
  forbidden('a Release DC the device failed', staleScan({ rc: 1 }));
  forbidden('a runtime extent, not the scan\'s', staleScan({ existing: 0 }));
  t.end();
});

t.test('H23 in the soak\'s free run: the step log and the recorded events show the window', (t) => {
  // A free run: it may not replay; its step log (every instrumented point, in order) and its
  // events (in order, not tied to steps) are the evidence.
  const tr = load('swarm-host-extent-not-accepted-1-10139.trace.json');
  t.same(tr.outcomes, ['host-extent-not-accepted'], 'alone in its iteration');
  const s = tr.steps.map((x, k) => ({ ...x, k }));
  const busBind = s.filter((x) => x.who === 'dax-bus' && x.what === 'op-start').map((x) => x.k)[1]!;
  const getList = s.find((x) => x.k > busBind && x.who === 'dax-bus' && x.what === 'acquire' && x.arg === 'mbox_mutex(write)')!;
  const putRelease = s.find((x) => x.k > getList.k && x.who === 'user1' && x.what === 'acquire' && x.arg === 'mbox_mutex(write)')!;
  const addExtent = s.find((x) => x.k > putRelease.k && x.who === 'dax-bus' && x.what === 'acquire' && x.arg === 'cxl_rwsem.region(read)')!;
  t.comment(`dax-bus bind at step ${busBind}, its Get DC Extent List's mbox_mutex at ${getList.k}; user1's Release DC mbox_mutex at ${putRelease.k}; the scan's cxl_add_extent at ${addExtent.k}`);
  t.ok(busBind < getList.k && getList.k < putRelease.k && putRelease.k < addExtent.k, 'the probe\'s snapshot, then the held extent\'s Release DC, then the scan\'s cxl_add_extent');
  // the events through the explainer the extents checker uses
  const threads = new Map<string, number>();
  const x = new HostDeviceExplainer();
  for (const e of tr.record!.events) {
    if (!threads.has(e.thread)) threads.set(e.thread, threads.size + 1);
    x.onEvent({ ev: e.ev, thread: threads.get(e.thread)!, timeMs: 0 });
  }
  const why = x.staleScanH23(0, 0xa1000000, 16 * M);
  t.comment(why ?? 'no H23 evidence');
  t.ok(why, 'the recorded events carry H23\'s evidence for 0xa1000000 (the held extent0.2, realized again as extent0.1)');
  t.equal(x.explain(0, 0xa1000000, 16 * M), null, 'and nothing else explains it (no H2 adoption, no H5 re-adoption, no failed response)');
  t.equal(x.staleScanH23(0, 0xbd000000, 16 * M), null, 'not the extent the teardown released before the snapshot');
  t.end();
});

t.test('H23 under the controlled scheduler: the minimized trace replays step for step', async (t) => {
  const tr = load('scan-vs-held-release-h23-3-4.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('host-extent-released-under-scan-h23'), 'classified as H23');
  t.notOk(r.outcomes.includes('host-extent-not-accepted'), 'no unexplained host extent');
  const evs = r.run!.record!.events;
  const X = 0x82000000;
  const get = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.GET_DC_EXTENT_LIST);
  const rel = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.RELEASE_DC && e.ev.dpa === X);
  const untag = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'tag-unregistered');
  const real = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'extent-tracked' && e.ev.dpa === X && e.ev.existing === 1);
  t.ok(get >= 0 && get < rel && rel < untag && untag < real, `Get DC Extent List (event ${get}) → user0's put: Release DC (${rel}), free_tag_group's unregister (${untag}) → the scan realizes it (${real})`);
  const steps = r.run!.steps;
  const pre = steps.findIndex((x) => x.who === 'user0' && x.what === 'op-start');
  t.ok(pre > 0 && steps.slice(0, pre).filter((x) => x.who === 'user0').length === 0, `user0's whole put runs inside the bind (from step ${pre})`);
});

t.test('H23 seen from user space: a claim of the tag maps the stale extent and the device refuses the write (controlled trace)', async (t) => {
  // the search plan below with user0 claiming the tag and writing after its put (seed 3,
  // iteration 4, not minimized: dcd minimize keeps the primary finding and dropped the write)
  const tr = load('scan-vs-held-release-dax-h23-3-4.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('dax-access-refused-h23') && r.outcomes.includes('host-extent-released-under-scan-h23'), 'the refused write is H23\'s, beside the stale extent');
  t.notOk(r.outcomes.includes('dax-access-refused'), 'no unexplained refusal');
  const evs = r.run!.record!.events;
  const real = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'extent-tracked' && e.ev.existing === 1 && e.ev.dpa === 0x82000000);
  const claim = at(evs, (e) => e.ev.type === 'claim' && e.ev.rc === 0, real);
  const refused = at(evs, (e) => e.ev.type === 'data' && e.ev.write === 1 && e.ev.ok === 0, claim);
  const c = evs[claim]?.ev;
  t.ok(real >= 0 && real < claim && claim < refused, `the stale extent realized (event ${real}) → claimed (${claim}) → the write refused (${refused})`);
  t.ok(c?.type === 'claim' && c.nRanges === 1 && c.size === 16 * M, 'the claim took exactly that extent\'s 16 MiB');
});

t.test('dax-access-refused-h23 only for a device an H23 extent backs', (t) => {
  const TAG = '3276f481-f4e5-b9b4-0226-b412eb41e9b9';
  const OTHER = '11111111-2222-3333-4444-555555555555';
  const run = (evs: DecodedEvent[]): string[] => {
    const c = new DataChecker();
    for (const e of evs) c.onEvent(e);
    return classify(c.atQuiescence(quiescent([]), sys)).outcomes;
  };
  const tagged = (e: DecodedEvent): DecodedEvent => (e.ev.type === 'extent-tracked' ? { ...e, ev: { ...e.ev, uuid: TAG } } : e);
  const claimOf = (uuid: string): DecodedEvent => D({ type: 'claim', region: REGION, dev: 1, uuid, rc: 0, nRanges: 1, size: L, groupMembers: 1 }, PUT);
  const write = D({ type: 'data', dev: 1, offset: 0, len: 2 * M, pattern: 7, write: 1, ok: 0 }, PUT);
  const pos = run([...staleScan().map(tagged), claimOf(TAG), write]);
  t.ok(pos.includes('dax-access-refused-h23') && !pos.includes('dax-access-refused'), `backed by the stale extent: H23 (${pos.join(', ')})`);
  const noRel = run([...staleScan({ relFirst: true }).map(tagged), claimOf(TAG), write]);
  t.ok(noRel.includes('dax-access-refused') && !noRel.includes('dax-access-refused-h23'), `no H23 evidence (the Release DC before the snapshot): forbidden (${noRel.join(', ')})`);
  const other = run([...staleScan().map(tagged), claimOf(OTHER), write]);
  t.ok(other.includes('dax-access-refused') && !other.includes('dax-access-refused-h23'), `a device of another tag: forbidden (${other.join(', ')})`);
  t.end();
});

/** The plan the H23 trace was found with: padding lookups (failing sysfs reads of a missing
 *  extent) delay user0's put by `pad` ops, sweeping it across the unbind and the bind. */
function heldReleaseVsRebind(pad: number): Plan {
  const TAG = '3276f481-f4e5-b9b4-0226-b412eb41e9b9';
  const pads: StressOp[] = Array.from({ length: pad }, () => ({ op: 'hold-extent', region: 'r0', index: 7, as: 'pad' }));
  return {
    setup: [
      { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
      { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * M, tag: TAG, seq: 0, more: true }, { offset: 32 * M, length: 16 * M, tag: TAG, seq: 0, more: false }] },
      { op: 'wait-idle' },
      { op: 'hold-extent', region: 'r0', index: 1, as: 'x' },
    ],
    actors: [
      { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }, { op: 'bind', region: 'r0' }] },
      { name: 'user0', kind: 'user', index: 0, ops: [...pads, { op: 'put-extent', ref: 'x' }] },
    ],
  };
}

t.test('H23 search: a held extent\'s last put swept across the cxl_dax_region unbind and rebind (controlled, real threads)', async (t) => {
  // the reader's hold across time is NOT v11: the knob extent-refs=user (docs/fidelity-holders.md).
  // Seed 25 (was 3): without alloc_dax_region's and dax_region_unregister's dax_region_rwsem
  // acquisitions (v11 takes neither; docs/fidelity-fidel2.md) the random walk's choices moved, and
  // seed 3's 16 iterations no longer put the Release DC in the window (seeds 15–40: 25 and 32 do)
  const job = new StressJob({ workload: 'teardown-claimed-seed', variant: 'v11', knobs: { 'extent-refs': 'user' }, device: 'cxl-test', seed: '25', schedule: { kind: 'random' }, noise: false, outDir: null });
  const N = 16;
  const where = { beforeSnapshot: 0, inWindow: 0, afterScan: 0 };
  const counts = new Map<string, number>();
  const bad: string[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const r = await job.iteration(i, undefined, { plan: heldReleaseVsRebind(i) });
      for (const o of r.outcomes ?? [r.outcome]) counts.set(o, (counts.get(o) ?? 0) + 1);
      const evs = job.lastRecord!.events;
      const rel = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.RELEASE_DC);
      const gets = evs.map((e, k) => (e.thread === 'dax-bus' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.GET_DC_EXTENT_LIST ? k : -1)).filter((k) => k >= 0);
      const snap = gets[gets.length - 1] ?? -1;
      const done = at(evs, (e) => e.ev.type === 'scan-done', snap < 0 ? evs.length : snap);
      if (rel < 0) continue; // the put was not the last reference (the teardown's devres released it)
      const win = snap >= 0 && rel > snap && rel < done;
      if (rel < snap) where.beforeSnapshot++; else if (win) where.inWindow++; else where.afterScan++;
      const h23 = (r.outcomes ?? []).includes('host-extent-released-under-scan-h23');
      // the scan realized the held range after the put's Release DC (else its classify met the
      // held extent still in cxlr_dax->dc_extents: a duplicate, "accept again", nothing realized)
      const realizedAfter = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'extent-tracked' && e.ev.existing === 1 && e.ev.dpa === 0x82000000, rel) >= 0;
      if (h23 !== (win && realizedAfter)) bad.push(`iteration ${i}: Release DC in the window ${win}, realized after it ${realizedAfter}, H23 ${h23}`);
    }
  } finally {
    await job.close();
  }
  t.comment(`${N} controlled iterations: user0's Release DC before the scan's snapshot ${where.beforeSnapshot}, between the snapshot and the realization ${where.inWindow}, after the scan ${where.afterScan}; outcomes ${JSON.stringify(Object.fromEntries(counts))}`);
  t.ok(where.inWindow > 0, 'the schedule put the put\'s Release DC inside the scan\'s window');
  t.ok(where.beforeSnapshot + where.afterScan > 0, 'and outside it (the negative control)');
  t.same(bad, [], 'H23 exactly when the Release DC fell inside the window');
  t.notOk(counts.has('host-extent-not-accepted'), 'no unexplained host extent');
});

t.test('the sixth session\'s soak: its two released-unaccepted traces (controlled) replay as H5\'s consequence too', async (t) => {
  for (const name of ['swarm-released-unaccepted-1-2366.trace.json', 'swarm-released-unaccepted-1-3603.trace.json']) {
    const r = await replayTrace(load(name), 1);
    t.comment(`${name}: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
    t.equal(r.divergence, null, `${name}: the replay followed every recorded step`);
    t.ok(r.outcomes.includes('released-unaccepted-after-h5'), `${name}: released-unaccepted-after-h5`);
    t.notOk(r.outcomes.includes('released-unaccepted'), `${name}: no unexplained Release DC`);
    t.ok(r.outcomes.includes('dc-extent-use-after-free-h5'), `${name}: beside the H5 use-after-free`);
  }
});

// ---------------------------------------------------------------- H24 under the controlled scheduler (seventh session)

t.test('H24 under the controlled scheduler: the targeted trace replays step for step', async (t) => {
  // a 3-member tagged group on region0; dax-bus unbinds it while user0 runs daxctl create-device
  // + uuid (test/h24-controlled.test.ts's plan, seed 5, iteration 1, minimized to one preemption:
  // dax-bus after the first member's release, at dc_extent_release's group->nr_extents → user0)
  const tr = load('claim-vs-teardown-h24-5-1.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('partial-group-claimed-in-teardown-h24'), 'classified as H24');
  t.notOk(r.outcomes.includes('partial-group-claimed'), 'no forbidden partial claim');
  const evs = r.run!.record!.events;
  const td = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'region-teardown' && e.ev.extents === 3);
  const first = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'extent-untracked', td);
  const claim = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'claim' && e.ev.rc === 0, first);
  const next = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'extent-untracked', claim);
  const untag = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'tag-unregistered', next);
  t.ok(td >= 0 && td < first && first < claim && claim < next && next < untag, `the teardown of the 3-member group (event ${td}) released one member (${first}), the claim ran (${claim}), the teardown released the rest (${next}) and freed the tag (${untag})`);
  const c = evs[claim]?.ev;
  t.ok(c?.type === 'claim' && c.nRanges === 2 && c.size === 16 * M && c.groupMembers === 2, 'the claim took the 2 members still registered, 16 MiB of the group\'s 24');
  const steps = r.run!.steps;
  const u0 = steps.map((s, k) => (s.who === 'user0' ? k : -1)).filter((k) => k >= 0);
  const busBetween = steps.slice(u0[0], u0[u0.length - 1]).filter((s) => s.who === 'dax-bus').length;
  t.equal(busBetween, 0, `user0's whole op (steps ${u0[0]}–${u0[u0.length - 1]}) runs between two of the teardown's devres actions`);
});

t.test('H24: bench:find\'s free finding, re-recorded under the controlled scheduler and minimized, replays step for step', async (t) => {
  // swarm-partial-group-claimed-100-709 replayed (it diverges at step 153, after the claim) and its
  // controlled run stored and minimized: 10 ops, one preemption — dax-bus parked before the
  // mbox_mutex of a member's Release DC, after that member's dax_release_resource
  const tr = load('swarm-partial-group-claimed-in-teardown-h24-100-709.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('partial-group-claimed-in-teardown-h24'), 'classified as H24');
  t.notOk(r.outcomes.includes('partial-group-claimed') || r.outcomes.includes('conservation'), 'nothing forbidden');
  const evs = r.run!.record!.events;
  const td = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'region-teardown' && e.ev.extents === 2);
  const claim = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'claim' && e.ev.rc === 0, td);
  const rel = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.RELEASE_DC, td);
  t.ok(td >= 0 && td < claim && claim < rel, `the teardown began (event ${td}); the claim (${claim}) came before the teardown's first Release DC (${rel})`);
  const c = evs[claim]?.ev;
  t.ok(c?.type === 'claim' && c.nRanges === 1 && c.groupMembers === 1, 'and took the one member still registered of the two');
  // the released member's dax_release_resource ran before the claim: dax-bus took dax_region_rwsem
  // after its device_lock(cxlr_dax) and before user0's first step, then waited for mbox_mutex
  const steps = r.run!.steps;
  const lock = steps.findIndex((s) => s.who === 'dax-bus' && s.what === 'acquire' && s.arg === 'device_lock(cxlr_dax)(write)');
  const u0 = steps.findIndex((s) => s.who === 'user0');
  const busMid = steps.slice(lock, u0).filter((s) => s.who === 'dax-bus').map((s) => `${s.what} ${s.arg}`);
  t.ok(lock >= 0 && busMid.includes('acquire dax_region_rwsem(write)'), `before user0 ran, the teardown released a member's dax_resource (${busMid.join(', ')})`);
  const back = steps.findIndex((s, k) => k > u0 && s.who === 'dax-bus');
  t.same(steps[back] && `${steps[back]!.what} ${steps[back]!.arg}`, 'acquire mbox_mutex(write)', 'and resumed at the mailbox for that member\'s Release DC');
});

t.test('H24 seen from user space: a write to the partially claimed device, refused inside the teardown\'s next Release DC (controlled trace)', async (t) => {
  // the targeted plan with a write after the claim (seed 5, iteration 38, minimized to 3 ops): it
  // was a forbidden dax-access-refused — the refusal comes before the teardown's Release DC
  // completion is recorded; now dax-access-refused-h15 (test/h24-data.test.ts)
  const tr = load('claim-write-vs-teardown-h15-5-38.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('partial-group-claimed-in-teardown-h24') && r.outcomes.includes('dax-access-refused-h15'), 'H24\'s claim, and the refusal as H15\'s');
  t.notOk(r.outcomes.includes('dax-access-refused'), 'no unexplained refusal');
  const evs = r.run!.record!.events;
  const claim = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'claim' && e.ev.rc === 0);
  const write = at(evs, (e) => e.thread === 'user0' && e.ev.type === 'data' && e.ev.write === 1 && e.ev.ok === 0, claim);
  const rel = at(evs, (e) => e.thread === 'dax-bus' && e.ev.type === 'mbox' && e.ev.opcode === CXL_MBOX_OP.RELEASE_DC, claim);
  const busBefore = evs.slice(claim, write).filter((e) => e.thread === 'dax-bus').length;
  t.ok(claim >= 0 && claim < write && write < rel && busBefore === 0, `the claim (event ${claim}) took the last member; the write was refused (${write}) before the teardown's Release DC of it completed (${rel}), dax-bus silent in between`);
  const c = evs[claim]?.ev;
  t.ok(c?.type === 'claim' && c.nRanges === 1, 'one range of the three-member group');
});
