// Lock-order inversion across two workers, and a hung wait reported with holder and waiter.
import t from 'tap';
import { newSystem, shmWorkers } from './helpers.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { lockOrderReportCount, lockOrderReports, formatLockOrderReport } from '../src/shm/lockdep.js';

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
