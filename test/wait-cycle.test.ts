// The wait-for cycle check (src/shm/wait-cycle.ts, SYS_WAIT_CYCLE): a lock waiter that finds a
// cycle of waits through itself reports the hung wait when the cycle closes, not after the bound
// — the stress runner's free runs turn it on so a deadlock (H2's AB-BA) costs milliseconds, not
// the swarm's 1.5 s hung bound. The report is the one the bound would have written (same waiter,
// same holders, so the locks checker classifies it as before), plus the cycle's threads. Under
// real threads: every round of an AB-BA is reported once, by the cycle (the bound is 60 s, so on
// the old code no round would be reported before the test's deadline), and heavy contention in
// one lock order (no cycle possible) reports nothing.
import t from 'tap';
import type { SystemState } from '../src/state.js';
import type { HungReport } from '../src/errors.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { SYS_WAIT_CYCLE, STAT_CONTENDED, STAT_FIELDS, MAX_LOCK_CLASSES } from '../src/shm/layout.js';
import { spawnWorker, type WorkerHandle } from '../src/runtime/spawn.js';
import type { SystemShm } from '../src/shm/system.js';
import { LocksChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import { fixture, newSystem } from './helpers.js';
import type { WaitCycleWorkerApi } from './fixtures/wait-cycle-worker.js';

const ADD = 'add_ctx.lock';
const DEV = 'device_lock(cxlr_dax)';

function hungOutcomes(reports: HungReport[]): string[] {
  const s = { hungReports: () => reports, lockOrderReports: () => [] } as unknown as SysLike;
  return new LocksChecker().atQuiescence({} as SystemState, s).map(outcomeOf).filter((o) => o.startsWith('hung'));
}

async function workers(sys: SystemShm, n: number, scratch: SharedArrayBuffer): Promise<WorkerHandle<WaitCycleWorkerApi>[]> {
  const ws = Array.from({ length: n }, (_, i) => spawnWorker<WaitCycleWorkerApi>({
    kind: 'fixture', name: `cyc-${i}`, entryFile: fixture('wait-cycle-worker.ts'), data: { system: sys.handle(), scratch },
  }));
  await Promise.all(ws.map((w) => w.call((a) => a.ready())));
  return ws;
}

const hungOf = (sys: SystemShm): HungReport[] => sys.reports.read<{ kind: string }>().filter((r) => r.kind === 'hung-wait') as unknown as HungReport[];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `rounds` deadlocks of `locks.length` threads (thread k holds locks[k], then wants locks[k+1]); returns each round's texts. */
async function deadlocks(sys: SystemShm, locks: number[], rounds: number, deadlineMs: number): Promise<{ texts: string[][]; reported: number }> {
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const ws = await workers(sys, locks.length, scratch);
  const texts: string[][] = [];
  let reported = 0;
  try {
    for (let r = 1; r <= rounds; r++) {
      const calls = ws.map((w, k) => w.call((a) => a.cycle(locks[k]!, locks[(k + 1) % locks.length]!, locks.length, r)));
      const end = Date.now() + deadlineMs;
      while (hungOf(sys).length < r && Date.now() < end) await sleep(2);
      const ok = hungOf(sys).length >= r;
      if (!ok) break; // unreported: the threads stay deadlocked until the bound; terminate them
      reported++;
      Atomics.store(s, 1, r); Atomics.notify(s, 1);
      texts.push(await Promise.all(calls));
    }
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
  return { texts, reported };
}

t.test('an AB-BA of add_ctx.lock and device_lock(cxlr_dax) is reported when its cycle closes, as H2', async (t) => {
  const sys = newSystem({ hungMs: 60_000 });
  Atomics.store(sys.header, SYS_WAIT_CYCLE, 1);
  const add = sys.allocLock(lockClassId(ADD), 'mutex');
  const dev = sys.allocLock(lockClassId(DEV), 'mutex');
  const ROUNDS = 12;
  // a deadline far below the 60 s bound: without the cycle check no round is reported in time
  // (and the test's teardown would then wait out the bound; it fails on the count first)
  const { texts, reported } = await deadlocks(sys, [add, dev], ROUNDS, 10_000);
  const hung = hungOf(sys);
  t.comment(`${ROUNDS} AB-BA rounds under real threads; ${hung.length} reports, waited ${hung.map((h) => Math.round(h.waitedMs)).join(', ')} ms`);
  t.equal(reported, ROUNDS, 'every round was reported by the cycle check, long before the bound');
  t.equal(hung.length, ROUNDS, 'once per round: the reporter unwinds, the other half then takes the lock');
  t.ok(texts.every((x) => x.filter((y) => /blocked for good: a cycle of lock waits \(cyc-\d -> cyc-\d -> cyc-\d\)/.test(y)).length === 1 && x.filter((y) => y === 'acquired').length === 1),
    'in each round one thread got the HungWaitError naming the cycle, the other the lock');
  t.ok(hung.every((h) => h.cycle?.length === 2 && h.cycle[0] === h.waiter.name && h.boundMs === 60_000), 'each report names the two threads of the cycle, the waiter first');
  t.ok(hung.every((h) => h.holders.length === 1 && h.holders[0]!.waitingFor !== null && h.waiter.waitingFor !== null), 'the waiter and its holder both wait: the report shows the whole cycle');
  t.same(hungOutcomes(hung), hung.map(() => 'hung-wait-h2'), 'the locks checker: each is H2, as the bound\'s report of the same deadlock');
});

t.test('the same AB-BA with the check off is reported by the bound, with the same classification', async (t) => {
  const sys = newSystem({ hungMs: 300 });
  const add = sys.allocLock(lockClassId(ADD), 'mutex');
  const dev = sys.allocLock(lockClassId(DEV), 'mutex');
  const { reported } = await deadlocks(sys, [add, dev], 2, 10_000);
  const hung = hungOf(sys);
  t.equal(reported, 2, 'both rounds reported');
  t.ok(hung.every((h) => h.cycle === undefined && h.waitedMs >= h.boundMs), 'by the bound (no cycle field)');
  t.ok(hungOutcomes(hung).every((o) => o === 'hung-wait-h2'), 'classified H2 as with the check on');
});

t.test('a cycle of three threads is found through the intermediate waits', async (t) => {
  const sys = newSystem({ hungMs: 60_000 });
  Atomics.store(sys.header, SYS_WAIT_CYCLE, 1);
  const locks = (['event.log_lock', 'cxl_tag_lock', ADD] as const).map((c) => sys.allocLock(lockClassId(c), 'mutex'));
  const { reported } = await deadlocks(sys, locks, 4, 10_000);
  const hung = hungOf(sys);
  t.equal(reported, 4, 'every round reported before the deadline');
  t.ok(hung.every((h) => h.cycle?.length === 3), 'each report names the three threads of the cycle');
  t.ok(hungOutcomes(hung).every((o) => o === 'hung-wait'), 'not a known cycle: forbidden `hung-wait`, as the bound would classify it');
});

t.test('contention in one lock order (mutexes and an rwsem) never reports a cycle', async (t) => {
  const sys = newSystem({ hungMs: 60_000 });
  Atomics.store(sys.header, SYS_WAIT_CYCLE, 1);
  const a = sys.allocLock(lockClassId('event.log_lock'), 'mutex');
  const b = sys.allocLock(lockClassId('cxl_tag_lock'), 'mutex');
  const r = sys.allocLock(lockClassId('dax_region_rwsem'), 'rwsem');
  const scratch = new SharedArrayBuffer(64);
  const ws = await workers(sys, 4, scratch);
  const N = 2000;
  const caught = await Promise.all(ws.map((w, k) => w.call((x) => x.contend(k, N, a, b, r, 50, 4))));
  await Promise.all(ws.map((w) => w.terminate()));
  let contended = 0;
  for (let s = 0; s < sys.threadCount(); s++) for (let c = 0; c < MAX_LOCK_CLASSES; c++) contended += sys.stats[(s * MAX_LOCK_CLASSES + c) * STAT_FIELDS + STAT_CONTENDED]!;
  t.comment(`4 threads x ${N} rounds; ${contended} contended acquisitions (each a wait that may look for a cycle)`);
  t.ok(contended > 0, 'the threads did contend');
  t.same(caught, [0, 0, 0, 0], 'no HungWaitError in any thread');
  t.equal(hungOf(sys).length, 0, 'no report');
});
