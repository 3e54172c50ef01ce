// A crashing worker surfaces in the main thread with its name and stack, and pending calls reject.
import t from 'tap';
import { newSystem, shmWorkers } from './helpers.js';
import { WorkerCrash } from '../src/runtime/spawn.js';

const sys = newSystem();

t.test('an uncaught exception in a worker names the worker', async (t) => {
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  const seen = new Promise<WorkerCrash>((res) => w!.onCrash(res));
  const t0 = Date.now();
  await w!.call((a) => a.crash('boom in device model'));
  const e = await seen;
  t.ok(Date.now() - t0 < 1000, `surfaced within a second (${Date.now() - t0} ms)`);
  t.equal(e.worker, 'shm-worker-0');
  t.match(e.message, /worker shm-worker-0 crashed: boom in device model/);
  t.match(e.stack ?? '', /shm-worker\.ts/, 'carries the worker stack');
  await t.rejects(w!.call((a) => a.ready()), /shm-worker-0 crashed/, 'later calls reject instead of hanging');
});

t.test('an unhandled rejection in a worker is a crash too', async (t) => {
  const [w] = await shmWorkers(sys, 1, new SharedArrayBuffer(64));
  const seen = new Promise<WorkerCrash>((res) => w!.onCrash(res));
  await w!.call((a) => a.rejectUnhandled('lost promise'));
  const e = await seen;
  t.match(e.message, /lost promise/);
});
