// The two halves of one AB-BA, each reported: the model's hung task gives up (HungWaitError) and
// unwinds with its first lock still held, so the other half can time out against a holder that
// "waits for nothing". The kernel's task would never unwind (both stay blocked; khungtaskd names
// both). The thread's slot says it is unwinding (THREAD_UNWINDING, src/shm/layout.ts), and the
// locks checker (stress/checkers/locks.ts afterKnownDeadlock) counts a report that involves a thread
// of an earlier known deadlock of the iteration as that deadlock's. The 10-minute soak's forbidden
// `hung-wait` (docs/findings-open.md) had this shape: every case's iteration also held `hung-wait-h2`.
import t from 'tap';
import type { SystemState } from '../src/state.js';
import type { HungReport, ThreadLockInfo } from '../src/errors.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { LocksChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import { newSystem, shmWorkers } from './helpers.js';
import { readTrace } from '../stress/trace.js';

const ADD = 'add_ctx.lock';
const DEV = 'device_lock(cxlr_dax)';

function hungOutcomes(reports: HungReport[]): string[] {
  const s = { hungReports: () => reports, lockOrderReports: () => [] } as unknown as SysLike;
  return new LocksChecker().atQuiescence({} as SystemState, s).map(outcomeOf).filter((o) => o.startsWith('hung'));
}

const thr = (slot: number, name: string, held: [string, number][], waits: [string, number] | null, unwinding = false): ThreadLockInfo => ({
  slot, name, held: held.map(([cls, lock]) => ({ cls, lock, mode: 'write' as const })), waitingFor: waits ? { cls: waits[0], lock: waits[1], mode: 'write' } : null,
  ...(unwinding ? { unwinding: true as const } : {}),
});
/** dax-bus, holding the device_lock, waits for irq/mem0's add_ctx.lock: the AB-BA closed */
const probeHalf = (add = 5, bus = 2): HungReport => ({
  kind: 'hung-wait', waitedMs: 1500, boundMs: 1500,
  waiter: thr(bus, 'dax-bus', [[DEV, 9]], [ADD, add]), holders: [thr(4, 'irq/mem0', [['event.log_lock', 1], [ADD, add]], [DEV, 9])],
});
/** irq/mem0 in the add half; the device_lock's holder waits for nothing (unwinding or not) */
const addHalf = (unwinding: boolean, add = 5): HungReport => ({
  kind: 'hung-wait', waitedMs: 1504, boundMs: 1500,
  waiter: thr(4, 'irq/mem0', [['event.log_lock', 1], [ADD, add]], [DEV, 9]), holders: [thr(2, 'dax-bus', [[DEV, 9]], null, unwinding)],
});

t.test('the rule: a hung wait involving a thread of an earlier known deadlock is that deadlock\'s', (t) => {
  t.same(hungOutcomes([probeHalf(), addHalf(true)]), ['hung-wait-h2', 'hung-wait-h2'], 'the second half, its holder unwinding the first report: both H2');
  t.same(hungOutcomes([probeHalf(), addHalf(false)]), ['hung-wait-h2', 'hung-wait-h2'], 'the holder is in the earlier deadlock whether or not the check caught it unwinding (it may have gone on to its next op): H2');
  t.same(hungOutcomes([addHalf(true)]), ['hung-wait'], 'unwinding, but no known deadlock earlier in the iteration: forbidden');
  const other: HungReport = {
    kind: 'hung-wait', waitedMs: 1502, boundMs: 1500,
    waiter: thr(6, 'user1', [[ADD, 5]], [DEV, 9]), holders: [thr(7, 'user0', [[DEV, 9]], null)],
  };
  t.same(hungOutcomes([probeHalf(), other]), ['hung-wait-h2', 'hung-wait'], 'a later report between two other threads: not the deadlock\'s, forbidden');
  const unknown: HungReport = {
    kind: 'hung-wait', waitedMs: 1502, boundMs: 1500,
    waiter: thr(2, 'dax-bus', [['mbox_mutex', 3]], ['cxl_tag_lock', 11]), holders: [thr(4, 'irq/mem0', [['cxl_tag_lock', 11]], null)],
  };
  t.same(hungOutcomes([unknown, addHalf(false)]), ['hung-wait', 'hung-wait'], 'an earlier report that is no known deadlock: the later one stays forbidden too');
  t.same(hungOutcomes([addHalf(false), probeHalf()]), ['hung-wait-h2', 'hung-wait-h2'], 'the other order: the earlier report is H2 by the later-report rule (h2ProbeHalfLater)');
  t.end();
});

t.test('the same rule for H22\'s halves: uuid_store inside kn->active(uuid) against unregister_dev_dax draining it', (t) => {
  const KN = 'kn->active(uuid)';
  const RW = 'dax_region_rwsem';
  const rd = (slot: number, name: string, waits: [string, 'read' | 'write'] | null, unwinding = false): ThreadLockInfo => ({
    slot, name, held: [{ cls: KN, lock: 7, mode: 'read' }], waitingFor: waits ? { cls: waits[0], lock: waits[0] === KN ? 7 : 8, mode: waits[1] } : null, ...(unwinding ? { unwinding: true as const } : {}),
  });
  const unreg = (waits: boolean, unwinding = false): ThreadLockInfo => ({
    slot: 2, name: 'dax-bus', held: [{ cls: RW, lock: 8, mode: 'write' }], waitingFor: waits ? { cls: KN, lock: 7, mode: 'write' } : null, ...(unwinding ? { unwinding: true as const } : {}),
  });
  /** unregister_dev_dax's device_del drains the node while uuid_store waits for the rwsem: the cycle */
  const drainFirst: HungReport = { kind: 'hung-wait', waitedMs: 1500, boundMs: 1500, waiter: unreg(true), holders: [rd(5, 'user0', [RW, 'write'])] };
  /** uuid_store's wait, timed out while unregister unwinds its own report */
  const storeLater = (unwinding: boolean): HungReport => ({ kind: 'hung-wait', waitedMs: 1503, boundMs: 1500, waiter: rd(5, 'user0', [RW, 'write']), holders: [unreg(false, unwinding)] });
  /** a third thread queued behind the rwsem the deadlocked unregister holds (seen in bench:find, rcu=on) */
  const queued: HungReport = { kind: 'hung-wait', waitedMs: 1505, boundMs: 1500, waiter: { slot: 6, name: 'user1', held: [{ cls: 'kn->active(create)', lock: 12, mode: 'read' }], waitingFor: { cls: RW, lock: 8, mode: 'write' } }, holders: [unreg(false, true)] };
  t.same(hungOutcomes([drainFirst, storeLater(true)]), ['hung-wait-h22', 'hung-wait-h22'], 'the other half, its holder unwinding the H22 report: both H22');
  t.same(hungOutcomes([drainFirst, queued]), ['hung-wait-h22', 'hung-wait-h22'], 'a third thread queued behind the deadlocked unregister\'s rwsem: H22 (in the kernel it hangs behind it for good)');
  t.same(hungOutcomes([queued]), ['hung-wait'], 'the same wait with no deadlock reported before it: forbidden');
  t.end();
});

t.test('under real threads: the second half of an AB-BA times out while the first reporter unwinds; the checker calls both H2', async (t) => {
  const sys = newSystem({ hungMs: 300 });
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const [bus, irq] = await shmWorkers(sys, 2, scratch);
  t.teardown(() => Promise.all([bus!.terminate(), irq!.terminate()]).then(() => undefined));
  const dev = sys.allocLock(lockClassId(DEV), 'mutex');
  const add = sys.allocLock(lockClassId(ADD), 'mutex');
  const until = async (word: number): Promise<void> => { while (Atomics.load(s, word) !== 1) await new Promise((r) => setTimeout(r, 1)); };
  const p = bus!.call((x) => x.abba(dev, add, 11, 13)); // the probe: device_lock, then add_ctx.lock
  const q = irq!.call((x) => x.abba(add, dev, 12, 14)); // the event thread: add_ctx.lock, then device_lock
  await until(11);
  await until(12);
  // the probe half waits first and the add half 150 ms later (the soak's order): the probe's wait
  // passes the bound first with the cycle closed, and the add half's 150 ms after, while the probe
  // unwinds — staggered so that two near-simultaneous checks cannot both see the whole cycle
  Atomics.store(s, 13, 1); Atomics.notify(s, 13);
  await new Promise((r) => setTimeout(r, 150));
  Atomics.store(s, 14, 1); Atomics.notify(s, 14);
  // both waits pass the bound; the first reporter unwinds (holds its first lock until word 9)
  const hungOf = (): HungReport[] => sys.reports.read<{ kind: string }>().filter((r) => r.kind === 'hung-wait') as unknown as HungReport[];
  while (hungOf().length < 2) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(s, 9, 1); Atomics.notify(s, 9);
  const texts = await Promise.all([p, q]);
  const hung = hungOf();
  t.comment(`reports in order: ${hung.map((h) => `${h.waiter.name} waits ${h.waiter.waitingFor?.cls}; holder ${h.holders.map((x) => `${x.name} waits ${x.waitingFor?.cls ?? (x.unwinding ? 'nothing (unwinding)' : 'nothing')}`).join(', ')}`).join(' | ')}`);
  t.equal(hung.length, 2, 'each half timed out and was reported');
  t.ok(texts.every((x) => /blocked for more than 300 ms/.test(x)), 'both threads got the HungWaitError');
  const [first, second] = hung as [HungReport, HungReport];
  t.ok(first.holders.some((h) => h.waitingFor !== null), 'the first report shows the whole cycle (its holder waits for the first waiter\'s lock)');
  t.equal(second.holders[0]?.slot, first.waiter.slot, 'the second report\'s holder is the first reporter');
  t.equal(second.holders[0]?.waitingFor, null, 'which waits for nothing at the check');
  t.equal(second.holders[0]?.unwinding, true, 'and its slot says it is unwinding its own reported wait');
  t.match(texts.join('\n'), /unwinding its own reported hung wait/, 'the report text says so');
  t.same(hungOutcomes(hung), ['hung-wait-h2', 'hung-wait-h2'], 'the checker: both halves are H2');

  // the flag ends with the unwind: the same thread in a plain long hold is not "unwinding"
  s.fill(0);
  const held = bus!.call((x) => x.holdUntilReleased(dev, null));
  await until(8);
  const text = await irq!.call((x) => x.tryTake(dev));
  Atomics.store(s, 9, 1); Atomics.notify(s, 9);
  await held;
  const third = hungOf()[2];
  t.match(text, /blocked for more than 300 ms/, 'a long hold past the bound is reported');
  t.equal(third?.holders[0]?.slot, first.waiter.slot, 'held by the same thread');
  t.notOk(third?.holders[0]?.unwinding, 'which is no longer unwinding: the flag cleared when it released everything');
  t.same(hungOutcomes([third!]), ['hung-wait'], 'a holder that waits for nothing and is not unwinding: forbidden, as before');
});

t.test('the soak\'s own pair (sixth session, free run seed 1 iteration 2040): report 2\'s holder is unwinding report 1', (t) => {
  const r = readTrace(new URL('../docs/findings-open/swarm-hung-wait-h2-1-2040.trace.json', import.meta.url).pathname);
  if (!r.ok) throw new Error(r.message);
  const hung = r.trace.record?.hung ?? [];
  t.equal(hung.length, 2, 'the iteration made two hung reports, stored in order');
  const [a, b] = hung as [HungReport, HungReport];
  t.equal(a.waiter.name, 'dax-bus', 'first: the probe\'s scan (dax-bus) waited for add_ctx.lock');
  t.equal(a.holders[0]?.waitingFor?.cls, DEV, 'its holder, irq/mem0, waited for device_lock(cxlr_dax): the whole cycle');
  t.equal(b.waiter.name, 'irq/mem0', 'second: irq/mem0\'s wait for device_lock(cxlr_dax)');
  t.equal(b.holders[0]?.unwinding, true, 'whose holder, dax-bus, waits for nothing because it unwinds report 1');
  t.same(hungOutcomes(hung), ['hung-wait-h2', 'hung-wait-h2'], 'both H2 (the fifth session\'s rule called the second a forbidden hung-wait)');
  t.same(hungOutcomes([b]), ['hung-wait'], 'alone, without the report of the deadlock it follows, it would be forbidden');
  t.end();
});
