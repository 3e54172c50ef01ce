// A crashing worker surfaces in the main thread with its name and stack, and pending calls reject.
import t from 'tap';
import { MiB } from '../src/units.js';
import { newSystem, shmWorkers } from './helpers.js';
import { WorkerCrash } from '../src/runtime/spawn.js';
import { settleGc } from '../src/runtime/gc.js';

const sys = newSystem();

t.test('an uncaught exception in a worker names the worker', async (t) => {
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  const seen = new Promise<WorkerCrash>((res) => w!.onCrash(res));
  const t0 = Date.now();
  await w!.call((a) => a.crash('boom in device model'));
  const e = await seen; // surfacing at all is the property (a hang is tap's timeout); the time is only printed
  t.comment(`surfaced after ${Date.now() - t0} ms`);
  t.equal(e.worker, 'shm-worker-0');
  t.match(e.message, /worker shm-worker-0 crashed: boom in device model/);
  t.match(e.stack ?? '', /shm-worker\.ts/, 'carries the worker stack');
  await t.rejects(w!.call((a) => a.ready()), /shm-worker-0 crashed/, 'later calls reject instead of hanging');
});

t.test('an unhandled rejection in a worker is a crash too', async (t) => {
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  const seen = new Promise<WorkerCrash>((res) => w!.onCrash(res));
  // the call's reply and the crash race to the main thread (a loaded CI machine once delivered
  // the crash first): either the call returned, or it was rejected by this very crash
  const call = await w!.call((a) => a.rejectUnhandled('lost promise')).then(() => null, (err: unknown) => err);
  if (call !== null) t.match(String(call), /shm-worker-0 crashed: .*lost promise/, 'the call in flight was rejected by the crash');
  const e = await seen;
  t.match(e.message, /lost promise/);
});

t.test('a call in flight when its worker crashes rejects with the crash', async (t) => {
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  await t.rejects(w!.call((a) => a.crashWhilePending('died mid-call', 20)), /shm-worker-0 crashed: died mid-call/);
});

// #8: WorkerHandle.call once raced each call against a never-settling crash promise; every race
// left a reaction on it that kept the call's result alive (the bench's main-heap growth).
t.test('settled control-plane calls keep nothing alive', async (t) => {
  const settle = async (): Promise<number> => {
    await settleGc(50); // a GC, comlink's FinalizationRegistry callbacks, a GC
    return process.memoryUsage().heapUsed;
  };
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  const CALLS = 2000;
  const PER_CALL = 250;
  for (let i = 0; i < 50; i++) await w!.call((a) => a.payload(PER_CALL)); // warm the paths
  const before = await settle();
  let received = 0;
  for (let i = 0; i < CALLS; i++) received += (await w!.call((a) => a.payload(PER_CALL))).length;
  const after = await settle();
  const growth = after - before;
  // retained results would be CALLS × PER_CALL objects (~25 MB); allow noise far below that
  t.equal(received, CALLS * PER_CALL, `${CALLS} calls returned ${PER_CALL} objects each`);
  t.ok(growth < 6 * MiB, `main heap after GC grew ${(growth / 1024 / 1024).toFixed(2)} MiB over ${CALLS} calls (bound 6 MiB)`);
  await w!.terminate();
});
