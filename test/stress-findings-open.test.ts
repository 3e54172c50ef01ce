// The forbidden outcomes the collision-seeking swarm found on the v11 model (docs/findings-open.md),
// each diagnosed and replayed here:
//  - claim-mismatch was a MODEL bug: the model's uuid claims took the dax_resource of a dc_extent
//    a region teardown had already unregistered. v11's claims walk the cxl_dax_region device's
//    children (drivers/dax/bus.c uuid_claim_tagged: device_for_each_child; uuid_claim_untagged:
//    device_find_child), and device_unregister → device_del takes the extent off that list at
//    once, long before its device_release frees the dax_resource. A claim racing an unbind under
//    the controlled scheduler, and a recorded trace of that race (strict replay), show the fix;
//  - host-extent-not-accepted beside H18 is H5's consequence (host-extent-not-accepted-after-h5):
//    the trace replays step for step, and the checker names it only when the hazard's event and
//    the staging it unwound are there, causally before (negative cases below).
import t from 'tap';
import { region0Host, region0State } from './helpers/region0.js';
import { join } from 'node:path';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { StressJob } from '../stress/runner.js';
import type { Plan } from '../stress/ops.js';
import { readTrace, type StressTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import { ExtentsChecker, LocksChecker, classify, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import type { HungReport, ThreadLockInfo } from '../src/errors.js';

const M = 1024 * 1024;
const TAG = '5eaffb34-d7c0-b0e7-acdc-e2ca1ac1917f';
const NULL = '00000000-0000-0000-0000-000000000000';
const DOCS = join(import.meta.dirname, '..', 'docs', 'findings-open');
const ENOENT = 2;

function load(name: string): StressTrace {
  const r = readTrace(join(DOCS, name));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r)}`);
  return r.trace;
}

/**
 * A seed created before a two-extent tagged group is onlined (so the seed's devres action runs
 * after the group's), a reader holding the group's second extent (knob extent-refs=user, NOT v11;
 * when the plan was written its device_release was believed to free the dax_resource — device_del
 * does, docs/fidelity-holders.md), then the cxl_dax_region unbind racing the seed's claim of the
 * tag. Inside the teardown an extent whose device_del began is not a child of cxlr_dax any more
 * while its dax_resource lives on until that device_del's dax_release_resource gets the
 * dax_region_rwsem the claim holds: the window the model's claim used to reach into.
 */
function claimRacingUnbind(): Plan {
  return {
    setup: [
      { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
      // create_store refuses while nothing is available: an unclaimed untagged extent first
      { op: 'add', memdev: 0, records: [{ offset: 496 * M, length: 16 * M, tag: null, seq: 0, more: false }] }, { op: 'wait-idle' },
      { op: 'create-seed', region: 'r0' },
      { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * M, tag: TAG, seq: 0, more: true }, { offset: 32 * M, length: 16 * M, tag: TAG, seq: 0, more: false }] },
      { op: 'wait-idle' },
      // extents in id order: the untagged one (0), the group's seq 0 (1) and seq 1 (2)
      { op: 'hold-extent', region: 'r0', index: 2, as: 'x' },
    ],
    actors: [
      { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }] },
      { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'claim-seed', region: 'r0', uuid: TAG, as: 's' }, { op: 'put-extent', ref: 'x' }] },
    ],
  };
}

t.test('claim-mismatch (model bug, fixed): a claim inside a teardown never takes an unregistered extent\'s dax_resource', async (t) => {
  // the plan's reader holds a member across time: NOT v11, the knob extent-refs=user
  const job = new StressJob({ workload: 'teardown-claimed-seed', variant: 'v11', knobs: { 'extent-refs': 'user' }, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: null });
  const N = 24;
  const counts = new Map<string, number>();
  let inTeardown = 0;
  let claimed = 0;
  const over: string[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const r = await job.iteration(i, undefined, { plan: claimRacingUnbind() });
      for (const o of r.outcomes ?? [r.outcome]) counts.set(o, (counts.get(o) ?? 0) + 1);
      const evs = job.lastRecord!.events.map((e) => e.ev);
      const td = evs.findIndex((e) => e.type === 'region-teardown');
      const lastUntrack = evs.reduce((n, e, k) => (e.type === 'extent-untracked' ? k : n), -1);
      for (const [k, e] of evs.entries()) {
        if (e.type !== 'claim') continue;
        if (td >= 0 && k > td && k < lastUntrack) inTeardown++;
        if (e.rc !== 0) continue;
        claimed++;
        // groupMembers: the tag's extents still registered (children of cxlr_dax) at the claim
        if (e.nRanges > e.groupMembers) over.push(`iteration ${i}: ${e.nRanges} ranges, ${e.groupMembers} registered members`);
      }
    }
  } finally {
    await job.close();
  }
  t.comment(`${N} controlled iterations: ${inTeardown} claims inside the teardown, ${claimed} succeeded; outcomes ${JSON.stringify(Object.fromEntries(counts))}`);
  t.ok(inTeardown > 0, 'the schedule put the claim inside the teardown (the window was reached)');
  t.same(over, [], 'no successful claim carved more ranges than the tag has registered extents');
  t.notOk(counts.has('claim-mismatch'), 'no claim-mismatch');
  // what v11 does there instead: the claimed members' dax_resources are freed under the claim (H15)
  t.ok((counts.get('dax-resource-use-after-free-trim') ?? 0) > 0, 'a claim inside the teardown ends in H15 (trim_dev_dax_range on a freed dax_resource)');
});

t.test('claim-mismatch: a recorded claim inside the teardown, after the last member\'s device_del, is refused (-ENOENT)', async (t) => {
  // Re-recorded on the current model (the swarm's trace swarm-claim-mismatch-1-1785 predates the
  // kernfs active references of the DAX sysfs attributes, src/dax/kernfs.ts, so its schedule no
  // longer replays; iteration 0's, recorded next, predates dax_release_resource in device_del):
  // claimRacingUnbind() under the controlled random schedule, seed 7, iteration 12, knob
  // extent-refs=user. There the dax-bus's devres actions unregister both members of the tag
  // (dc_extent_unregister → device_del) before user0's uuid_store claims it.
  const tr = load('claim-vs-unbind-enoent-7-12.trace.json');
  t.same(tr.plan, claimRacingUnbind(), 'the trace runs the claim-vs-unbind plan above');
  const claimStep = tr.record!.events.find((e) => e.ev.type === 'claim')!.step;
  const r = await replayTrace(tr, 1);
  const evs = r.run!.record!.events;
  const ev = evs.find((e) => e.ev.type === 'claim');
  const td = evs.find((e) => e.ev.type === 'region-teardown');
  t.comment(`recorded claim at step ${claimStep}; replay followed ${r.followed} of ${tr.steps.length} steps (${r.divergence ?? 'no divergence'}); outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.followed > claimStep, 'the replay followed the recorded schedule past the claim');
  t.equal(ev?.step, claimStep, 'the claim ran at the recorded step');
  t.ok(td !== undefined && td.step < claimStep, 'inside the cxl_dax_region teardown');
  t.equal(ev?.ev.type === 'claim' ? ev.ev.groupMembers : -1, 0, 'with no member of the tag still registered (both device_del\'d)');
  t.equal(ev?.ev.type === 'claim' ? ev.ev.rc : -1, ENOENT, 'v11\'s children walk finds no registered member of the tag: -ENOENT');
  t.notOk(r.outcomes.includes('claim-mismatch'), 'no claim-mismatch');
});

t.test('host-extent-not-accepted beside H18: H5\'s consequence, replayed step for step', async (t) => {
  // Re-found on the current model (the swarm's trace swarm-host-extent-not-accepted-3-118 predates
  // the kernfs active references of the DAX sysfs attributes, src/dax/kernfs.ts, so its schedule no
  // longer replays): region0 with three untagged extents, the cxl_dax_region unbind racing a
  // two-record More chain on mem0, under the controlled random schedule (seed 1, iteration 4).
  const tr = load('unbind-vs-chain-after-h5-1-4.trace.json');
  const r = await replayTrace(tr, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.sameSteps, 'and took no other');
  t.ok(r.outcomes.includes('host-extent-not-accepted-after-h5'), 'classified as host-extent-not-accepted-after-h5');
  t.ok(r.outcomes.includes('dc-extent-use-after-free-h5'), 'beside the H5 use-after-free that caused it');
  t.notOk(r.outcomes.includes('host-extent-not-accepted'), 'no unexplained host extent');
  t.equal(r.class, 'known-hazard', 'the iteration is a known hazard, not forbidden');
  // the causal chain, from the recorded events: the record staged, the walk's use-after-free on
  // the same memdev's event thread, then the extent realized from it — and never listed
  const evs = r.run!.record!.events.map((e) => e.ev);
  // the chain's first record (More=1): staged before the use-after-free, never listed
  const X = 0x88000000;
  const uaf = evs.findIndex((e) => e.type === 'use-after-free' && e.memdev === 0 && e.site === 1);
  const staged = evs.findIndex((e) => e.type === 'dc-record' && e.memdev === 0 && e.eventType === 0 && e.dpa === X);
  const realized = evs.findIndex((e) => e.type === 'extent-tracked' && e.memdev === 0 && e.dpa === X);
  t.ok(staged >= 0 && staged < uaf && uaf < realized, `staged (event ${staged}) → use-after-free (${uaf}) → realized (${realized})`);
  t.notOk(evs.some((e) => e.type === 'response-extent' && e.memdev === 0 && e.dpa === X), 'no response listed it');
});

// ---------------------------------------------------------------- the classification is narrow

const BASE = 2048 * M;
const REGION = 65536;
const IRQ = 4;
const D = (ev: RuntimeEvent, thread = IRQ): DecodedEvent => ({ ev, thread, timeMs: 0 });
const addRec = (dpa: number, more: number, handle: number): RuntimeEvent => ({ type: 'dc-record', memdev: 0, eventType: 0, more, dpa: BASE + dpa, len: 8 * M, uuid: NULL, seq: 0, hostId: 0, regionIndex: 255, handle });
const uaf = (memdev = 0): RuntimeEvent => ({ type: 'use-after-free', memdev, extent: 99, site: 1 });
const trackedEv = (extent: number, dpa: number): RuntimeEvent => ({ type: 'extent-tracked', memdev: 0, region: REGION, extent, id: extent, dpa: BASE + dpa, len: 8 * M, uuid: NULL, seq: 0, group: 7, existing: 0, shareable: 0 });
const closedEv = (chain: number): RuntimeEvent => ({ type: 'chain-closed', memdev: 0, chain, staged: 1, byTimeout: 0, handle: chain });

const quiescent = (): SystemState => region0State([{ offset: 0, length: 8 * M }], 8 * M);

/** host tables with region0 at DPA BASE */
const sys = region0Host(REGION, BASE);

function judge(evs: RuntimeEvent[]): string[] {
  const c = new ExtentsChecker();
  // the region's existing-extent scan is done (runtime extents pass the E6 gate)
  for (const e of [{ type: 'scan-done', region: REGION, rc: 0, attempts: 1, found: 0 } as RuntimeEvent, ...evs]) c.onEvent(D(e));
  return classify(c.atQuiescence(quiescent(), sys)).outcomes;
}

t.test('host-extent-not-accepted-after-h5 only when the unwound handler staged the record, before the realization', (t) => {
  // staged in the open chain → the walk's use-after-free → redelivered and realized: H5's
  t.ok(judge([addRec(0, 1, 1), uaf(), addRec(0, 1, 1), trackedEv(10, 0), closedEv(1)]).includes('host-extent-not-accepted-after-h5'), 'the causal chain: H5\'s consequence');
  const forbidden = (why: string, evs: RuntimeEvent[]): void => {
    const o = judge(evs);
    t.ok(o.includes('host-extent-not-accepted') && !o.includes('host-extent-not-accepted-after-h5'), `${why}: forbidden (${o.join(', ')})`);
  };
  forbidden('no use-after-free at all', [addRec(0, 1, 1), trackedEv(10, 0), closedEv(1)]);
  forbidden('the use-after-free after the extent was realized', [addRec(0, 1, 1), trackedEv(10, 0), uaf(), closedEv(1)]);
  forbidden('the record staged only after the use-after-free (a later chain)', [addRec(64 * M, 0, 1), uaf(), closedEv(1), addRec(0, 0, 2), trackedEv(10, 0), closedEv(2)]);
  forbidden('the use-after-free on another memdev', [addRec(0, 1, 1), uaf(1), addRec(0, 1, 1), trackedEv(10, 0), closedEv(1)]);
  t.end();
});

// ---------------------------------------------------------------- hung-wait: H2 seen before its probe half

const thr = (slot: number, name: string, held: [string, number][], waits: [string, number] | null): ThreadLockInfo => ({
  slot, name, held: held.map(([cls, lock]) => ({ cls, lock, mode: 'write' as const })), waitingFor: waits ? { cls: waits[0], lock: waits[1], mode: 'write' } : null,
});
const ADD = 'add_ctx.lock';
const DEV = 'device_lock(cxlr_dax)';
/** irq/mem1 in the add half; dax-bus holds the device_lock and waits for nothing (yet) */
const firstHalf = (add = 5): HungReport => ({
  kind: 'hung-wait', waitedMs: 1505, boundMs: 1500,
  waiter: thr(4, 'irq/mem1', [['event.log_lock', 1], [ADD, add]], [DEV, 9]), holders: [thr(2, 'dax-bus', [[DEV, 9]], null)],
});
/** the AB-BA closed: dax-bus, holding the device_lock, waits for irq/mem1's add_ctx.lock */
const probeHalf = (add = 5): HungReport => ({
  kind: 'hung-wait', waitedMs: 1502, boundMs: 1500,
  waiter: thr(2, 'dax-bus', [[DEV, 9]], [ADD, add]), holders: [thr(4, 'irq/mem1', [['event.log_lock', 1], [ADD, add]], [DEV, 9])],
});

function hungOutcomes(reports: HungReport[]): string[] {
  const s = { hungReports: () => reports, lockOrderReports: () => [] } as unknown as SysLike;
  return new LocksChecker().atQuiescence(quiescent(), s).map(outcomeOf).filter((o) => o.startsWith('hung'));
}

t.test('hung-wait in H2\'s add half with a runnable holder: H2 only when the same holder later waits for the same add_ctx.lock', (t) => {
  t.same(hungOutcomes([firstHalf(), probeHalf()]), ['hung-wait-h2', 'hung-wait-h2'], 'the later report closes the AB-BA on the same threads and locks: both H2');
  t.same(hungOutcomes([firstHalf()]), ['hung-wait'], 'alone it proves no deadlock (a runnable holder may be a long hold): forbidden');
  t.same(hungOutcomes([firstHalf(5), probeHalf(6)]), ['hung-wait', 'hung-wait-h2'], 'another memdev\'s add_ctx.lock: not this deadlock');
  t.same(hungOutcomes([probeHalf(), firstHalf()]), ['hung-wait-h2', 'hung-wait-h2'], 'an EARLIER known report of the same threads counts too (afterKnownDeadlock: they are deadlocked there)');
  const busy = firstHalf();
  busy.holders[0]!.waitingFor = { cls: 'mbox_mutex', lock: 3, mode: 'write' };
  t.same(hungOutcomes([busy, probeHalf()]), ['hung-wait', 'hung-wait-h2'], 'a holder waiting for another lock is judged by its own chain, not this rule');
  t.end();
});

t.test('the mirror: the probe half reported first, its add_ctx.lock holder not yet waiting (bench:find, v11 default)', (t) => {
  /** dax-bus in the scan: holds the device_lock, waits for add_ctx.lock; irq/mem1 holds it, waits for nothing yet */
  const probeFirst = (add = 5): HungReport => ({
    kind: 'hung-wait', waitedMs: 1510, boundMs: 1500,
    waiter: thr(2, 'dax-bus', [[DEV, 9]], [ADD, add]), holders: [thr(4, 'irq/mem1', [['event.log_lock', 1], [ADD, add]], null)],
  });
  /** later: irq/mem1 reached cxlr_notify_extent's device_lock — the AB-BA closed */
  const addHalf = (add = 5): HungReport => ({
    kind: 'hung-wait', waitedMs: 1502, boundMs: 1500,
    waiter: thr(4, 'irq/mem1', [['event.log_lock', 1], [ADD, add]], [DEV, 9]), holders: [thr(2, 'dax-bus', [[DEV, 9]], [ADD, add])],
  });
  t.same(hungOutcomes([probeFirst(), addHalf()]), ['hung-wait-h2', 'hung-wait-h2'], 'closed later on the same threads and locks: both H2');
  t.same(hungOutcomes([probeFirst()]), ['hung-wait'], 'alone: forbidden');
  t.same(hungOutcomes([probeFirst(5), addHalf(6)]), ['hung-wait', 'hung-wait-h2'], 'another add_ctx.lock: not this deadlock');
  t.end();
});

t.test('the soak\'s hung-wait trace: the holder\'s last recorded point is the probe\'s alloc_dax_region, the next lock H2\'s add_ctx.lock', (t) => {
  // a free run: its recorded step log (every instrumented point of every thread until quiescence)
  // is the evidence; it does not replay (the free order diverges under the turnstile at step 136)
  const tr = load('swarm-hung-wait-1-1906.trace.json');
  t.same(tr.outcomes, ['hung-wait', 'hung-wait-h2'], 'the iteration also reported H2');
  const bus = tr.steps.map((s, k) => ({ ...s, k })).filter((s) => s.who === 'dax-bus');
  const last = bus[bus.length - 1]!;
  const starts = bus.filter((s) => s.what === 'op-start').map((s) => s.k);
  t.equal(starts.length, 4, 'dax-bus ran its four ops: unbind r0, bind r0, unbind r1, bind r1');
  const probe = bus.filter((s) => s.k > starts[3]!);
  t.same(probe.map((s) => `${s.what} ${s.arg}`), ['acquire device_lock(cxlr_dax)(write)', 'acquire dax_region_rwsem(write)'], 'bind r1: device_lock(cxlr_dax), then alloc_dax_region\'s dax_region_rwsem');
  t.ok(tr.steps.length - 1 - last.k > 50, `and no dax-bus point in the last ${tr.steps.length - 1 - last.k} recorded steps: descheduled before the scan's add_ctx.lock`);
  t.end();
});
