// Batched claims run inside the user workers (stress/ops.ts claimRoundsInWorkers): the barrier in
// shared memory (src/shm/barrier.ts) keeps every round's ops together on real threads, a missing
// actor times out instead of hanging, and a two-claims-x16 iteration sends each user worker one
// message for its sixteen claims, and its rounds are judged as before (no forbidden outcome).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { barrierArrive } from '../src/shm/barrier.js';
import { StressJob } from '../stress/runner.js';

// each worker: for every round, pass the barrier, stamp its entry, do a little work, stamp its exit
const WORKER = (barrierModule: string): string => `
const { workerData, parentPort } = require('node:worker_threads');
import(${JSON.stringify(barrierModule)}).then(({ barrierArrive }) => {
const b = new Int32Array(workerData.barrier);
const log = new Int32Array(workerData.log); // [seq, then per round per worker: enter, exit]
const { me, parties, rounds } = workerData;
let ok = true;
for (let k = 0; k < rounds; k++) {
  if (!barrierArrive(b, k, parties, 10000)) { ok = false; break; }
  log[1 + (k * parties + me) * 2] = Atomics.add(log, 0, 1) + 1;
  let x = 0; for (let i = 0; i < ((me * 7919 + k * 104729) % 20000); i++) x += i; // uneven work
  log[2 + (k * parties + me) * 2] = Atomics.add(log, 0, 1) + 1 + (x < 0 ? 1 : 0);
}
parentPort.postMessage(ok);
});
`;

t.test('a round opens only when every actor finished the previous one (real threads)', async (t) => {
  const parties = 3;
  const rounds = 200;
  const barrier = new SharedArrayBuffer(4);
  const log = new SharedArrayBuffer(4 * (1 + rounds * parties * 2));
  const barrierModule = new URL('../dist/src/shm/barrier.js', import.meta.url).pathname;
  const ws = Array.from({ length: parties }, (_, me) => new Worker(WORKER(barrierModule), { eval: true, workerData: { barrier, log, me, parties, rounds } }));
  const oks = await Promise.all(ws.map((w) => new Promise<boolean>((res, rej) => { w.once('message', res); w.once('error', rej); })));
  await Promise.all(ws.map((w) => w.terminate()));
  t.same(oks, Array(parties).fill(true), 'every actor passed every barrier');
  const L = new Int32Array(log);
  let violations = 0;
  for (let k = 0; k + 1 < rounds; k++) {
    let lastExit = 0;
    let firstEnter = Infinity;
    for (let me = 0; me < parties; me++) {
      lastExit = Math.max(lastExit, L[2 + (k * parties + me) * 2]!);
      firstEnter = Math.min(firstEnter, L[1 + ((k + 1) * parties + me) * 2]!);
    }
    if (firstEnter < lastExit) violations++;
  }
  t.equal(violations, 0, `no actor entered round k+1 before every actor left round k (${rounds} rounds × ${parties} threads)`);
  t.equal(L[0], rounds * parties * 2, 'every entry and exit was stamped');
});

t.test('an actor that never comes: the others give up at the bound', async (t) => {
  const b = new Int32Array(new SharedArrayBuffer(4));
  const t0 = Date.now();
  t.equal(barrierArrive(b, 0, 2, 100), false, 'round 0 with one of two parties: not opened');
  t.ok(Date.now() - t0 >= 90, 'it waited (about) the bound, not forever');
  t.equal(barrierArrive(b, 0, 1, 100), true, 'a barrier of one party opens at once');
});

t.test('two-claims-x16: each user gets its sixteen claims in one message; the checkers judge every round', async (t) => {
  const job = new StressJob({ workload: 'two-claims-x16', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '5', schedule: { kind: 'free' }, noise: false, outDir: null });
  try {
    const sys = await job.system();
    const N = 4;
    for (let i = 0; i < N; i++) {
      const before = [sys.user(0).posted, sys.user(1).posted];
      const r = await job.iteration(i);
      const sent = [sys.user(0).posted - before[0]!, sys.user(1).posted - before[1]!];
      t.not(r.class, 'forbidden', `iteration ${i}: ${r.outcome}`);
      t.equal(r.rounds, 16, `iteration ${i}: 16 rounds`);
      // setup (create-region's probe and the add) goes elsewhere; each user gets its 16 claims in one call
      t.ok(sent.every((n) => n <= 2), `iteration ${i}: user workers were sent ${sent.join(' and ')} message(s), not one per claim`);
    }
  } finally {
    await job.close();
  }
});
