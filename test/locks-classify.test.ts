// The lock checker classifies cycles and hung waits by their own chain (issue 13 point 3): H2 only
// for the add chain's add_ctx.lock against the probe's device_lock(cxlr_dax), H17 only for its own
// chain, anything else forbidden with each dependency annotated from the v11 nesting table.
import t from 'tap';
import { LocksChecker, V11_NESTINGS, annotateCycle, isH17Hung, isH2Hung, v11Nesting } from '../stress/checkers/locks.js';
import { classify } from '../stress/checkers/index.js';
import type { CheckResult } from '../stress/checkers/outcomes.js';
import type { SysLike } from '../stress/checkers/common.js';
import type { LockOrderReport } from '../src/shm/lockdep.js';
import type { HungReport, ThreadLockInfo } from '../src/errors.js';
import type { SystemState } from '../src/state.js';

/** one slot per thread name: the locks checker tells threads apart by slot (afterKnownDeadlock) */
const slots = new Map<string, number>();
const slotOf = (name: string): number => { if (!slots.has(name)) slots.set(name, slots.size + 1); return slots.get(name)!; };
const th = (name: string, held: [string, 'read' | 'write'][], waiting: [string, 'read' | 'write'] | null): ThreadLockInfo => ({
  slot: slotOf(name), name, held: held.map(([cls, mode], i) => ({ lock: i, cls, mode })), waitingFor: waiting ? { lock: 9, cls: waiting[0], mode: waiting[1] } : null,
});
const hung = (waiter: ThreadLockInfo, holders: ThreadLockInfo[]): HungReport => ({ kind: 'hung-wait', waitedMs: 2000, boundMs: 1500, waiter, holders });
const order = (held: string, acquiring: string, newChain: string[], existing: { thread: string; chain: string[] }[]): LockOrderReport => ({
  kind: 'lock-order', held, acquiring, newChain: { thread: 'x', chain: newChain }, existingChains: existing,
});
const sysOf = (orders: LockOrderReport[], hungs: HungReport[]): SysLike => ({
  lockOrderReports: () => orders, hungReports: () => hungs, sys: { reports: { read: <T>() => [...orders, ...hungs] as T[] } },
} as unknown as SysLike);
const outcomes = (orders: LockOrderReport[], hungs: HungReport[]): string[] =>
  (new LocksChecker().atQuiescence({} as SystemState, sysOf(orders, hungs)) as CheckResult[]).filter((r) => !r.ok).map((r) => r.outcome);

const DL = 'device_lock(cxlr_dax)', AC = 'add_ctx.lock', RR = 'cxl_rwsem.region';

t.test('lock-order: H2 is exactly the AB-BA; H17 its own three classes; any other cycle is forbidden and annotated', async (t) => {
  const h2 = order(AC, DL, ['event.log_lock', AC, DL], [{ thread: 'dax-bus', chain: [DL, AC] }]);
  t.same(outcomes([h2], []), ['lock-order-h2']);
  const h15 = order(RR, DL, ['event.log_lock', RR, DL], [{ thread: 'dax-bus', chain: [DL, AC] }, { thread: 'dax-bus', chain: [DL, AC, RR] }]);
  t.same(outcomes([h15], []), ['lock-order-h17'], 'the probe scan vs cxl_rm_extent cycle is H17');
  // all documented nestings, but a chain no hazard names: forbidden
  const other = order('dax_region_rwsem', DL, ['dax_region_rwsem', DL], [{ thread: 'user0', chain: [DL, 'dax_region_rwsem'] }]);
  const res = new LocksChecker().atQuiescence({} as SystemState, sysOf([other], [])) as CheckResult[];
  const f = res.find((r) => r.outcome === 'lock-order-cycle');
  t.ok(f, 'a cycle of documented nestings that is not a named chain is forbidden');
  t.equal(classify(res).class, 'forbidden');
  t.match(f?.detail ?? '', /device_lock\(cxlr_dax\) -> dax_region_rwsem: v11 drivers\/dax\//, 'a documented dependency is cited');
  t.match(f?.detail ?? '', /dax_region_rwsem -> device_lock\(cxlr_dax\): not a documented v11 nesting/, 'an undocumented one is flagged');
  t.same(annotateCycle(h2).length, 2);
});

t.test('the nesting table holds the v11 nestings of issue 13', async (t) => {
  for (const [a, b, am, bm] of [
    ['device_lock(cxlr)', DL, 'W', 'W'], [DL, 'device_lock(dev_dax)', 'W', 'W'], ['device_lock(dev_dax)', 'dax_dev_rwsem', 'W', 'W'],
    [DL, 'dax_region_rwsem', 'W', 'W'], [RR, 'cxl_rwsem.dpa', 'W', 'R'], [AC, DL, 'W', 'W'], [DL, AC, 'W', 'W'], [RR, DL, 'R', 'W'],
  ] as const) {
    const n = v11Nesting(a, b);
    t.ok(n && n.outerMode === am && n.innerMode === bm && /drivers\/(cxl|dax)\//.test(n.where), `${a}(${am}) -> ${b}(${bm}) cited: ${n?.where}`);
  }
  t.equal(new Set(V11_NESTINGS.map((n) => `${n.outer}>${n.inner}`)).size, V11_NESTINGS.length, 'no duplicate entries');
});

t.test('hung waits: H2 and H17 by their own chains; everything else forbidden', async (t) => {
  const add = th('irq/mem0', [['event.log_lock', 'write'], [AC, 'write']], [DL, 'write']);
  const probe = th('dax-bus', [[DL, 'write']], [AC, 'write']);
  t.ok(isH2Hung(hung(add, [probe])), 'the AB-BA: add chain vs probe');
  t.ok(isH2Hung(hung(th('user0', [], [DL, 'write']), [probe])), 'queued behind the probe caught in H2');
  t.notOk(isH2Hung(hung(add, [th('dax-bus', [[DL, 'write']], [RR, 'read'])])), 'the holder waits for something else: not H2');
  t.notOk(isH2Hung(hung(th('irq/mem0', [[AC, 'write']], [RR, 'read']), [th('user1', [], null)])), 'add_ctx held against a region writer: not H2');

  const rel = th('irq/mem0', [['event.log_lock', 'write'], [RR, 'read']], [DL, 'write']);
  const scan = th('dax-bus', [[DL, 'write'], [AC, 'write']], [RR, 'read']);
  const writer = th('user1', [], [RR, 'write']);
  t.ok(isH17Hung(hung(rel, [scan])), 'release waits for the scan');
  t.ok(isH17Hung(hung(scan, [rel, writer])), 'the scan waits behind the handoff writer and the release\'s read');
  t.ok(isH17Hung(hung(writer, [rel])), 'the writer waits for the release');
  t.notOk(isH17Hung(hung(writer, [th('irq/mem0', [[RR, 'read']], ['mbox_mutex', 'write'])])), 'a writer waiting for an unrelated reader: not H17');
  t.same(outcomes([], [hung(rel, [scan]), hung(add, [probe]), hung(th('user0', [], ['dax_region_rwsem', 'write']), [th('user1', [['dax_region_rwsem', 'write']], null)])]),
    ['hung-wait-h17', 'hung-wait-h2', 'hung-wait'], 'each report classified by its own chain');
});

t.test('a hung wait queued behind a known deadlock through another waiter (by lock identity), in either report order', async (t) => {
  // the soak's report (swarm seed 8 it 102): H2 between irq/mem0 and dax-bus on device_lock(cxlr_dax)#5;
  // user1's destroy holds region0's device_lock(cxlr)#549 and waits for #5; user0 waits for #549
  const T = (name: string, held: [number, string][], waits: [number, string] | null): ThreadLockInfo =>
    ({ slot: slotOf(name), name, held: held.map(([lock, cls]) => ({ lock, cls, mode: 'write' as const })), waitingFor: waits ? { lock: waits[0], cls: waits[1], mode: 'write' as const } : null });
  const CX = 'device_lock(cxlr)';
  const bus = T('dax-bus', [[5, DL]], [1734, AC]);
  const irq = T('irq/mem0', [[1733, 'event.log_lock'], [1734, AC]], [5, DL]);
  const u1 = T('user1', [[549, CX]], [5, DL]);
  const u0 = T('user0', [], [549, CX]);
  const cycle = [hung(bus, [irq]), hung(irq, [bus])];
  t.same(outcomes([], [...cycle, hung(u0, [u1]), hung(u1, [bus])]), ['hung-wait-h2', 'hung-wait-h2', 'hung-wait-h2', 'hung-wait-h2'], 'user0 reported before user1: both H2');
  t.same(outcomes([], [...cycle, hung(u1, [bus]), hung(u0, [u1])]), ['hung-wait-h2', 'hung-wait-h2', 'hung-wait-h2', 'hung-wait-h2'], 'user1 first: the same');
  t.same(outcomes([], [hung(u0, [u1]), ...cycle]), ['hung-wait-h2', 'hung-wait-h2', 'hung-wait-h2'], 'user0 reported before the deadlock itself: the same');
  // negative: user1 waits for ANOTHER lock of the same class (a second cxlr_dax, no cycle holds it)
  const u1b = T('user1', [[549, CX]], [6, DL]);
  t.same(outcomes([], [...cycle, hung(u0, [u1b])]), ['hung-wait-h2', 'hung-wait-h2', 'hung-wait'], 'the holder waits for a lock no deadlocked thread holds: forbidden');
  t.same(outcomes([], [hung(u0, [u1])]), ['hung-wait'], 'no known deadlock in the iteration: forbidden');
});
