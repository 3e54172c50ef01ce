// Cross-thread Mutex and RwSem under real worker threads (issue: Foundation).
import t from 'tap';
import { newSystem, shmWorkers } from './helpers.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { assertHeld, assertHeldWrite, mutexLock, mutexUnlock, withLock, withRead, upRead } from '../src/shm/lock.js';
import { LockMisuseError, LockNotHeldError } from '../src/errors.js';
import { lockStats } from '../src/shm/lockdep.js';

const sys = newSystem({ hungMs: 10_000 });

t.test('mutex exactness: 3 workers x 200,000 non-atomic increments under the lock', async (t) => {
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const ws = await shmWorkers(sys, 3, scratch);
  const lock = sys.allocLock(lockClassId('test.counter'), 'mutex');
  const N = 200_000;
  const runs = ws.map((w) => w.call((a) => a.increment(N, lock)));
  while (Atomics.load(s, 2) < 3) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(s, 1, 1); Atomics.notify(s, 1);
  await Promise.all(runs);
  t.equal(s[0], 3 * N, `locked total is exact (${3 * N} increments)`);
  const st = lockStats(sys).find((x) => x.cls === 'test.counter');
  t.ok(st && st.acquisitions === 3 * N, `statistics count every acquisition (${st?.acquisitions})`);
  t.comment(`contentions seen: ${st?.contentions}`);

  // the same without the lock loses updates: the check above can fail
  let lostIn = -1;
  // longer unlocked loops and more attempts: on a loaded machine the workers may not overlap at first
  for (let attempt = 0; attempt < 20 && lostIn < 0; attempt++) {
    s.fill(0);
    const raw = ws.map((w) => w.call((a) => a.increment(5 * N, null)));
    while (Atomics.load(s, 2) < 3) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(s, 1, 1); Atomics.notify(s, 1);
    await Promise.all(raw);
    if (s[0]! < 15 * N) lostIn = attempt;
    t.comment(`unlocked attempt ${attempt}: total ${s[0]} of ${15 * N}`);
  }
  t.ok(lostIn >= 0, 'without the lock, updates are lost');
  await Promise.all(ws.map((w) => w.terminate()));
});

t.test('rwsem: readers overlap, a writer excludes readers and writers', async (t) => {
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const ws = await shmWorkers(sys, 3, scratch);
  const sem = sys.allocLock(lockClassId('cxl_rwsem.region'), 'rwsem');
  const runs = [
    ws[0]!.call((a) => a.rw(3000, sem, false)),
    ws[1]!.call((a) => a.rw(3000, sem, false)),
    ws[2]!.call((a) => a.rw(1500, sem, true)),
  ];
  while (Atomics.load(s, 2) < 3) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(s, 1, 1); Atomics.notify(s, 1);
  await Promise.all(runs);
  t.equal(s[7], 0, 'no reader ever saw a writer, no writer saw a reader or another writer');
  t.ok(s[6]! >= 2, `readers overlapped (max concurrent readers ${s[6]})`);
  t.comment('iterations: 6000 read sections, 1500 write sections');
  await Promise.all(ws.map((w) => w.terminate()));
});

t.test('misuse throws a typed error naming the lock class', async (t) => {
  const m = sys.allocLock(lockClassId('add_ctx.lock'), 'mutex');
  const r = sys.allocLock(lockClassId('dax_region_rwsem'), 'rwsem');
  t.throws(() => mutexUnlock(m), LockMisuseError, 'double unlock / unlock of an unlocked mutex');
  t.throws(() => mutexUnlock(m), /add_ctx\.lock/);
  t.throws(() => withLock(m, () => withLock(m, () => 0)), /recursive acquire.*not recursive/, 'recursive acquire');
  t.throws(() => upRead(r), /dax_region_rwsem/, 'up_read without holding it');
  t.throws(() => assertHeld(m), LockNotHeldError, 'lockdep_assert_held fails when not held');
  withRead(r, () => {
    t.doesNotThrow(() => assertHeld(r));
    t.throws(() => assertHeldWrite(r), /lockdep_assert_held_write\(dax_region_rwsem\)/);
  });
  mutexLock(m);
  t.doesNotThrow(() => assertHeldWrite(m));
  mutexUnlock(m);

  // unlock by a non-owner: the lock is held by another thread
  const scratch = new SharedArrayBuffer(64);
  const sc = new Int32Array(scratch);
  const [w] = await shmWorkers(sys, 1, scratch);
  const holding = w!.call((a) => a.holdUntilReleased(m, null));
  while (Atomics.load(sc, 8) !== 1) await new Promise((r) => setTimeout(r, 1));
  t.throws(() => mutexUnlock(m), /unlock by tap-main, a non-owner \(owner: shm-worker-0\)/, 'unlock by a non-owner');
  Atomics.store(sc, 9, 1); Atomics.notify(sc, 9);
  await holding;
  await w!.terminate();
});
