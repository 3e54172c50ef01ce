// Lock-order inversion across two workers, and a hung wait reported with holder and waiter.
import t from 'tap';
import { newSystem, shmWorkers } from './helpers.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { lockOrderReportCount, lockOrderReports, formatLockOrderReport } from '../src/shm/lockdep.js';
import { fileURLToPath } from 'node:url';
import { spawnWorker, type WorkerHandle } from '../src/runtime/spawn.js';
import { rwsemState } from '../src/shm/lock.js';
import type { HungReport } from '../src/errors.js';
import type { RwsemWorkerApi } from './fixtures/rwsem-worker.js';

t.test('an AB-BA inversion between two workers is reported with both chains', async (t) => {
  const sys = newSystem({ hungMs: 10_000 });
  const scratch = new SharedArrayBuffer(64);
  const [w1, w2] = await shmWorkers(sys, 2, scratch);
  const a = sys.allocLock(lockClassId('add_ctx.lock'), 'mutex');
  const b = sys.allocLock(lockClassId('device_lock(cxlr_dax)'), 'mutex');
  await w1!.call((x) => x.nested(a, b)); // runtime add: add_ctx.lock -> device_lock
  t.equal(lockOrderReportCount(sys), 0, 'one order alone is not a report');
  await w2!.call((x) => x.nested(b, a)); // recovery: device_lock -> add_ctx.lock (never concurrently)
  t.equal(lockOrderReportCount(sys), 1, 'the inversion is counted, not thrown');
  const [r] = lockOrderReports(sys);
  t.ok(r, 'a report was written');
  t.equal(r!.held, 'device_lock(cxlr_dax)');
  t.equal(r!.acquiring, 'add_ctx.lock');
  t.same(r!.newChain, { thread: 'shm-worker-1', chain: ['device_lock(cxlr_dax)', 'add_ctx.lock'], modes: ['write', 'write'] }, 'the new chain names its thread');
  t.same(r!.existingChains, [{ thread: 'shm-worker-0', chain: ['add_ctx.lock', 'device_lock(cxlr_dax)'], modes: ['write', 'write'] }], 'the recorded chain names the other thread');
  t.equal(r!.dep, 'EN', 'a mutex taken under a mutex is an -(EN)-> dependency');
  t.match(formatLockOrderReport(r!), /circular locking dependency/);
  await w2!.call((x) => x.nested(b, a));
  t.equal(lockOrderReportCount(sys), 1, 'the same cycle is reported once');
  await Promise.all([w1!.terminate(), w2!.terminate()]);
});

t.test('a hung wait is reported with the waiter, the holder and what each holds', async (t) => {
  const sys = newSystem({ hungMs: 300 });
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const [holder, waiter] = await shmWorkers(sys, 2, scratch);
  const logLock = sys.allocLock(lockClassId('event.log_lock'), 'mutex');
  const tagLock = sys.allocLock(lockClassId('cxl_tag_lock'), 'mutex');
  const held = holder!.call((x) => x.holdUntilReleased(logLock, null));
  while (Atomics.load(s, 8) !== 1) await new Promise((r) => setTimeout(r, 1));
  const t0 = Date.now();
  const text = await waiter!.call((x) => x.tryTake(logLock));
  t.comment(`reported after ${Date.now() - t0} ms`);
  t.match(text, /task shm-worker-1 blocked for more than 300 ms/, 'names the waiter and the bound');
  t.match(text, /waiter: shm-worker-1 .*waits for event\.log_lock/, 'says what the waiter waits for');
  t.match(text, /holder: shm-worker-0 .*holds event\.log_lock#\d+\(write\)/, 'names the holder and what it holds');
  const reports = sys.reports.read<{ kind: string }>().filter((r) => r.kind === 'hung-wait');
  t.equal(reports.length, 1, 'the report is in the shared report log');
  Atomics.store(s, 9, 1); Atomics.notify(s, 9);
  await held;
  t.equal(await waiter!.call((x) => x.tryTake(logLock)), 'acquired', 'the lock works again once released');
  void tagLock;
  await Promise.all([holder!.terminate(), waiter!.terminate()]);
});

// ------------------------------------------------------------------------- read semantics (issue 13 point 2)
// lockdep-design.rst "Dependency types and strong dependency paths"; lockdep.c __bfs(), hlock_conflict().

async function rwWorkers(sys: ReturnType<typeof newSystem>, n: number, scratch: SharedArrayBuffer): Promise<WorkerHandle<RwsemWorkerApi>[]> {
  const entryFile = fileURLToPath(new URL('./fixtures/rwsem-worker.ts', import.meta.url));
  const ws = Array.from({ length: n }, (_, i) => spawnWorker<RwsemWorkerApi>({ kind: 'fixture', name: `rw-${i}`, entryFile, data: { system: sys.handle(), scratch } }));
  await Promise.all(ws.map((w) => w.call((a) => a.ready())));
  return ws;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

t.test('AB-BA with a down_read side: lockdep reports it, and with a writer waiting it deadlocks', async (t) => {
  const sys = newSystem({ hungMs: 400 });
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const [p, q, w] = await rwWorkers(sys, 3, scratch);
  t.teardown(() => Promise.all([p, q, w].map((x) => x!.terminate())).then(() => undefined));
  const X = sys.allocLock(lockClassId('test.a'), 'rwsem');
  const M = sys.allocLock(lockClassId('test.b'), 'mutex');
  await p!.call((x) => x.nested(X, 'read', M, 'mutex')); // X -(SN)-> M
  t.equal(lockOrderReportCount(sys), 0, 'one order alone is not a report');
  await q!.call((x) => x.nested(M, 'mutex', X, 'read')); // M -(EN)-> X: down_read is non-recursive (N)
  t.equal(lockOrderReportCount(sys), 1, 'the cycle M -(EN)-> X -(SN)-> M is strong: reported');
  const [r] = lockOrderReports(sys);
  t.equal(r?.dep, 'EN', 'the closing dependency is -(EN)->');
  t.same(r?.newChain.modes, ['write', 'read'], 'the new chain shows the down_read');
  t.same(r?.existingChains.map((c) => c.modes), [['read', 'write']], 'the recorded chain shows the down_read');
  t.match(formatLockOrderReport(r!), /test\.a\(r\)/, 'the report marks the non-recursive read');

  // why lockdep is right: p holds X for read and wants M; q holds M and wants X for read; a writer
  // waiting at X past the handoff interval blocks q's down_read — a three-task deadlock
  const pr = p!.call((x) => x.holdThenTake(X, 'read', M, 'mutex', 10, 12));
  await until('p holds X(read)', () => s[10] === 1);
  const qr = q!.call((x) => x.holdThenTake(M, 'mutex', X, 'read', 11, 12));
  await until('q holds M', () => s[11] === 1);
  const wr = w!.call((x) => x.hold(X, 'write', 3, 4));
  await until('the writer takes the handoff at X', () => rwsemState(sys, X).handoff >= 0);
  Atomics.store(s, 12, 1); Atomics.notify(s, 12);
  // the wait-for cycle: the writer waits for p's read of X, p waits for q's M, q's down_read of X
  // waits behind the writer's handoff. The first wait past the bound is reported and given up,
  // which unwinds the rest.
  Atomics.store(s, 4, 1); Atomics.notify(s, 4); // the writer releases X at once if it ever gets it
  const [a, b, c] = await Promise.all([pr, qr, wr]);
  const hung = sys.reports.read<{ kind: string }>().filter((x) => x.kind === 'hung-wait') as unknown as HungReport[];
  t.comment(`p: ${a.split('\n')[0]}; q: ${b.split('\n')[0]}; writer: ${c}; hung reports: ${hung.map((h) => `${h.waiter.name} waits ${h.waiter.waitingFor?.cls}`).join(', ')}`);
  t.ok(hung.length >= 1, 'a hung wait was reported: the three-task deadlock is real');
  const first = hung[0];
  const inCycle = first !== undefined && (
    (first.waiter.name === 'rw-2' && first.holders.some((h) => h.name === 'rw-0' && h.waitingFor?.cls === 'test.b'))
    || (first.waiter.name === 'rw-0' && first.waiter.waitingFor?.cls === 'test.b' && first.holders.some((h) => h.name === 'rw-1' && h.waitingFor?.cls === 'test.a'))
    || (first.waiter.name === 'rw-1' && first.waiter.waitingFor?.cls === 'test.a' && first.holders.some((h) => h.name === 'rw-2')));
  t.ok(inCycle, 'the report shows a wait of the cycle writer -> p(X read, wants M) -> q(M, wants X read behind the handoff)');
});

t.test('AB-BA with a recursive-read side: lockdep does not report it, and it cannot deadlock', async (t) => {
  const sys = newSystem({ hungMs: 5_000 });
  const scratch = new SharedArrayBuffer(64);
  const s = new Int32Array(scratch);
  const [p, q, w] = await rwWorkers(sys, 3, scratch);
  t.teardown(() => Promise.all([p, q, w].map((x) => x!.terminate())).then(() => undefined));
  const Y = sys.allocLock(lockClassId('test.a'), 'rwsem');
  const M = sys.allocLock(lockClassId('test.b'), 'mutex');
  await p!.call((x) => x.nested(Y, 'read-recursive', M, 'mutex')); // Y -(SN)-> M
  await q!.call((x) => x.nested(M, 'mutex', Y, 'read-recursive')); // M -(ER)-> Y
  t.equal(lockOrderReportCount(sys), 0, 'M -(ER)-> Y -(SN)-> M has -(*R)-> -(S*)->: not a strong cycle, not reported');
  // the other order of discovery gives the same verdict
  const sys2 = newSystem({ hungMs: 5_000 });
  const [p2, q2] = await rwWorkers(sys2, 2, new SharedArrayBuffer(64));
  const Y2 = sys2.allocLock(lockClassId('test.a'), 'rwsem');
  const M2 = sys2.allocLock(lockClassId('test.b'), 'mutex');
  await q2!.call((x) => x.nested(M2, 'mutex', Y2, 'read-recursive'));
  await p2!.call((x) => x.nested(Y2, 'read-recursive', M2, 'mutex'));
  t.equal(lockOrderReportCount(sys2), 0, 'found from the other side: still not reported');
  await Promise.all([p2, q2].map((x) => x!.terminate()));

  // and it is indeed safe: a waiting writer with the handoff does not block a recursive reader
  const pr = p!.call((x) => x.holdThenTake(Y, 'read-recursive', M, 'mutex', 10, 12));
  await until('p holds Y(read)', () => s[10] === 1);
  const qr = q!.call((x) => x.holdThenTake(M, 'mutex', Y, 'read-recursive', 11, 12));
  await until('q holds M', () => s[11] === 1);
  const wr = w!.call((x) => x.hold(Y, 'write', 3, 4));
  await until('the writer takes the handoff at Y', () => rwsemState(sys, Y).handoff >= 0);
  Atomics.store(s, 12, 1); Atomics.notify(s, 12);
  const [a, b] = await Promise.all([pr, qr]);
  Atomics.store(s, 4, 1); Atomics.notify(s, 4);
  t.ok((await wr) > 0, 'the writer gets the lock after them');
  t.same([a, b], ['acquired', 'acquired'], 'both sides complete: the recursive reader passes the handoff');

  // while two down_read()s in opposite orders are a strong cycle (-(SN)-> both ways): reported
  const sys3 = newSystem({ hungMs: 5_000 });
  const [p3, q3] = await rwWorkers(sys3, 2, new SharedArrayBuffer(64));
  const R1 = sys3.allocLock(lockClassId('test.a'), 'rwsem');
  const R2 = sys3.allocLock(lockClassId('test.c'), 'rwsem');
  await p3!.call((x) => x.nested(R1, 'read', R2, 'read'));
  await q3!.call((x) => x.nested(R2, 'read', R1, 'read'));
  t.equal(lockOrderReportCount(sys3), 1, 'down_read AB-BA (-(SN)-> -(SN)->) is reported: not only cycles of writes');
  t.equal(lockOrderReports(sys3)[0]?.dep, 'SN');
  await Promise.all([p3, q3].map((x) => x!.terminate()));
});
