// Per-thread scheduler accounting (src/runtime/thread-stats.ts) on a real thread: a worker that
// blocks N times in Atomics.wait shows at least N voluntary context switches, and its spin shows
// as CPU time — the two figures `dcd bench` reports per thread and per extent.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { SystemShm } from '../src/shm/system.js';
import { sampleThreads, threadDeltas } from '../src/runtime/thread-stats.js';
import { osThreadId } from '../src/shm/os-tid.js';

const linux = process.platform === 'linux';

// ctl[0]: the round the main thread released; ctl[1]: the round the worker is about to block in
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const ctl = new Int32Array(workerData.ctl);
parentPort.postMessage(Number(/\\/task\\/(\\d+)$/.exec(readlinkSync('/proc/thread-self'))[1]));
for (let i = 0; i < workerData.sleeps; i++) { Atomics.store(ctl, 1, i + 1); Atomics.wait(ctl, 0, i); }
// spin until this thread itself has run spinMs more on a CPU (its own schedstat), whatever the load
const { readFileSync } = require('node:fs');
const cpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const until = cpuNs() + workerData.spinMs * 1e6; let x = 0;
while (cpuNs() < until) for (let k = 0; k < 1e5; k++) x++;
parentPort.postMessage(x > 0 ? 'spun' : 'no');
// stay alive until the main thread has read the counters: an exited task has none
Atomics.wait(ctl, 0, workerData.sleeps);
`;

t.test('osThreadId is the calling thread\'s Linux task id', { skip: !linux && 'Linux only' }, async (t) => {
  t.equal(osThreadId(), process.pid, 'the main thread\'s task id is the process id');
});

t.test('a blocking thread counts its sleeps, a spinning one its CPU time', { skip: !linux && 'Linux only' }, async (t) => {
  const sys = SystemShm.create();
  sys.registerThread('main');
  const N = 40;
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(WORKER, { eval: true, workerData: { ctl: ctl.buffer, sleeps: N, spinMs: 100 } });
  const msgs: unknown[] = [];
  const next = (): Promise<unknown> => new Promise((res) => (msgs.length ? res(msgs.shift()) : w.once('message', res)));
  const tid = (await next()) as number;
  sys.registerThread('sleeper', tid); // as the worker's own registerThread would publish it
  const before = sampleThreads(sys);
  t.ok(before.some((s) => s.name === 'sleeper' && s.tid === tid), 'the worker\'s counters are read through its slot');
  let blocked = 0; // waits the worker was inside when woken (notify woke a waiter): each one slept
  for (let i = 1; i <= N; i++) {
    while (Atomics.load(ctl, 1) !== i) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 2)); // the worker is inside Atomics.wait by now (almost surely)
    Atomics.store(ctl, 0, i);
    blocked += Atomics.notify(ctl, 0);
  }
  t.ok(blocked >= N / 2, `${blocked} of ${N} waits were woken from inside Atomics.wait`);
  t.equal(await next(), 'spun', 'the worker spun after its waits');
  const after = sampleThreads(sys); // the worker is parked on ctl[0] until released below
  Atomics.store(ctl, 0, N + 1);
  Atomics.notify(ctl, 0);
  await w.terminate();
  const deltas = threadDeltas(before, after);
  const d = deltas.find((x) => x.name === 'sleeper');
  t.ok(d, 'a delta for the worker');
  t.ok(d!.sleeps >= blocked, `${d!.sleeps} voluntary context switches for ${blocked} blocking waits`);
  t.ok(d!.cpuUs >= 100_000, `${d!.cpuUs.toFixed(0)} µs on CPU, read from outside, for a spin of 100 ms of its own CPU time`);
  t.ok(d!.runqUs >= 0 && d!.preemptions >= 0, 'run-queue wait and preemptions are non-negative counts');
  t.ok(deltas.some((x) => x.name === 'main' && x.cpuUs > 0), 'the main thread ran too');
});

t.test('a thread that left is left out, not reported as zero', async (t) => {
  const sys = SystemShm.create();
  sys.registerThread('ghost', 0x7ffffff0); // no such task
  t.same(sampleThreads(sys), [], 'no sample for a task that does not exist (or no /proc)');
});
