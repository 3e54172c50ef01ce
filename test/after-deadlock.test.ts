// "No outcome hides another" across a deadlock (docs/finding.md): an iteration with a hung wait is
// unwound by the model, so what the checkers see afterwards is only listed (`afterDeadlock`) — but
// a finding whose evidence was complete before the deadlock began keeps its class. The checkers
// stamp a finding with the time of the event (or report) that raised it; `splitAtDeadlock` keeps it
// when that time precedes the earliest hung wait's start (report time less what it had waited).
import t from 'tap';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { HungReport } from '../src/errors.js';
import type { LockOrderReport } from '../src/shm/lockdep.js';
import type { SystemState } from '../src/state.js';
import { INV, LocksChecker, RegistryChecker, classify, deadlockBegan, splitAtDeadlock, type CheckResult, type SysLike } from '../stress/checkers/index.js';

const TAG = '11111111-1111-1111-1111-111111111111';
const state: SystemState = { regions: {}, daxDevices: {}, memdevs: {}, trace: { mailbox: [], dynamicCapacityEvents: [], log: [] }, ops: {}, checks: [] };
const at = (ev: RuntimeEvent, timeMs: number, thread = 4): DecodedEvent => ({ ev, thread, timeMs });

/** an H2 hung wait (the AB-BA of add_ctx.lock and device_lock(cxlr_dax)) reported at `atMs` after `waitedMs` */
function h2(atMs: number | undefined, waitedMs: number): HungReport {
  const r: HungReport = {
    kind: 'hung-wait', waitedMs, boundMs: 1500,
    waiter: { slot: 4, name: 'irq/mem0', held: [{ lock: 1, cls: 'add_ctx.lock', mode: 'write' }], waitingFor: { lock: 2, cls: 'device_lock(cxlr_dax)', mode: 'write' } },
    holders: [{ slot: 6, name: 'user0', held: [{ lock: 2, cls: 'device_lock(cxlr_dax)', mode: 'write' }], waitingFor: { lock: 1, cls: 'add_ctx.lock', mode: 'write' } }],
  };
  if (atMs !== undefined) r.atMs = atMs;
  return r;
}

/** the registry checker's results after a second registration of one uuid at `whenMs` */
function doubleRegistration(whenMs: number): CheckResult[] {
  const c = new RegistryChecker();
  c.onEvent(at({ type: 'tag-registered', uuid: TAG, group: 1, memdev: 0 }, whenMs - 5));
  c.onEvent(at({ type: 'tag-registered', uuid: TAG, group: 2, memdev: 1 }, whenMs, 5));
  return c.atQuiescence(state, {}) as CheckResult[];
}

t.test('a finding raised by an event is stamped with its time; one judged at quiescence is not', async (t) => {
  const res = doubleRegistration(1000);
  const twice = res.find((r) => r.outcome === 'tag-registered-twice');
  t.ok(twice, 'the double registration is found');
  t.equal(twice?.atMs, 1000, 'stamped with the second registration event\'s time');
  t.ok(res.filter((r) => r.outcome === 'ok').every((r) => r.atMs === undefined), 'the invariants held at quiescence carry no time');
});

t.test('deadlockBegan: the earliest wait start; -Infinity when no report carries a time', async (t) => {
  t.equal(deadlockBegan([h2(5000, 1500), h2(4800, 2000)]), 2800);
  t.equal(deadlockBegan([h2(undefined, 1500)]), -Infinity, 'an untimed report: everything counts as after it (the former rule)');
  t.equal(deadlockBegan([{ ...h2(7000, 0), boundMs: 0 }]), 7000, 'a controlled-schedule report began when it was made');
});

t.test('a forbidden finding before the deadlock is classified; one after it is only listed', async (t) => {
  const hung = [h2(5000, 1500)]; // the deadlock began at 3500
  const locks = new LocksChecker().atQuiescence(state, { hungReports: () => hung } satisfies SysLike);
  t.ok(locks.some((r) => (r as CheckResult).outcome === 'hung-wait-h2'), 'the hung wait itself is H2');

  const early = splitAtDeadlock([...doubleRegistration(1000), ...locks], hung);
  const ce = classify(early.results);
  t.equal(ce.outcome, 'tag-registered-twice', 'evidence at 1000 ms, deadlock from 3500 ms: forbidden, not hidden by H2');
  t.equal(ce.class, 'forbidden');
  t.ok(ce.outcomes.includes('hung-wait-h2'), 'the deadlock is still reported beside it');
  t.notOk(early.afterDeadlock.includes('tag-registered-twice'), 'not listed as after the deadlock');

  const late = splitAtDeadlock([...doubleRegistration(4000), ...locks], hung);
  const cl = classify(late.results);
  t.equal(cl.outcome, 'hung-wait-h2', 'evidence at 4000 ms, after the wait began: the deadlock is the outcome');
  t.ok(late.afterDeadlock.includes('tag-registered-twice'), 'and the later finding is listed, not dropped');
  t.notOk(late.results.some((r) => (r as CheckResult).outcome === 'tag-registered-twice'), 'nor classified');

  const untimed = splitAtDeadlock([...doubleRegistration(1000), ...locks], [h2(undefined, 1500)]);
  t.equal(classify(untimed.results).outcome, 'hung-wait-h2', 'an untimed hung report keeps the former rule');
});

t.test('a lockdep report before the deadlock is stamped with its report time and kept', async (t) => {
  const order: LockOrderReport = {
    kind: 'lock-order', atMs: 900, held: 'dax_region_rwsem', acquiring: 'kn->active#dev_attrs',
    newChain: { thread: 'user0', chain: ['dax_region_rwsem', 'kn->active#dev_attrs'] },
    existingChains: [{ thread: 'dax-bus', chain: ['kn->active#dev_attrs', 'dax_region_rwsem'] }],
  };
  const hung = [h2(5000, 1500)];
  const res = new LocksChecker().atQuiescence(state, { lockOrderReports: () => [order], hungReports: () => hung }) as CheckResult[];
  const ord = res.find((r) => r.invariant === INV.lockOrder && !r.ok);
  t.ok(ord, 'the lock-order report is judged');
  t.equal(ord?.atMs, 900, 'stamped with the report\'s time');
  const split = splitAtDeadlock(res, hung);
  t.ok(split.results.includes(ord!), 'kept for classification: it precedes the deadlock');
});
