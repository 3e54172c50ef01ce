// The register file tells the device whom it woke (eighth session): `complete()` returns 1 when
// the host slept on the doorbell (its spin had ended) and 0 when nobody waited; `raiseIrq()` the
// same for an event thread asleep on the interrupt word. The device's serve loop shortens its
// idle spin after such a wake (src/device/service.ts WAKE_SPIN), so the woken thread can have the
// CPU the device would otherwise spin on. Real threads; counts only, no timing asserted.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { RegFile } from '../src/shm/regfile.js';
import { REG_DOORBELL, REG_IRQ } from '../src/shm/layout.js';

// the host side, as RegFile.submit and waitIrq sleep: post a command and sleep until the doorbell
// clears; then sleep until the interrupt word moves. ctl[0] = rounds done.
const HOST = `
const { workerData } = require('node:worker_threads');
const w = new Int32Array(workerData.regs);
const ctl = new Int32Array(workerData.ctl);
for (let i = 0; i < workerData.rounds; i++) {
  Atomics.store(w, workerData.doorbell, 1);
  while (Atomics.load(w, workerData.doorbell) !== 0) Atomics.wait(w, workerData.doorbell, 1, 1000);
  const irq = Atomics.load(w, workerData.irq);
  Atomics.store(ctl, 1, i + 1);
  while (Atomics.load(w, workerData.irq) === irq) Atomics.wait(w, workerData.irq, irq, 1000);
  Atomics.store(ctl, 0, i + 1);
}
`;

t.test('complete() and raiseIrq() count the sleepers they woke', async (t) => {
  const rf = RegFile.create();
  t.equal(rf.complete(0, 0), 0, 'a completion with nobody waiting wakes nobody');
  t.equal(rf.raiseIrq(), 0, 'an interrupt with nobody waiting wakes nobody');
  const N = 40;
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(HOST, { eval: true, workerData: { regs: rf.sab, ctl: ctl.buffer, rounds: N, doorbell: REG_DOORBELL, irq: REG_IRQ } });
  // listened for now: the worker may exit right after its last round, before the loop below
  // ends, and an 'exit' listener added after the event never fires (the test was left unfinished)
  const exited = new Promise((r) => w.once('exit', r));
  let hostWoken = 0;
  let irqWoken = 0;
  for (let i = 0; i < N; i++) {
    while (!rf.commandPending()) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 3)); // the host is inside its wait by now (almost surely)
    hostWoken += rf.complete(0, 0);
    while (Atomics.load(ctl, 1) !== i + 1) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 3));
    irqWoken += rf.raiseIrq();
    while (Atomics.load(ctl, 0) !== i + 1) await new Promise((r) => setTimeout(r, 1));
  }
  await exited;
  t.ok(hostWoken >= N / 2 && hostWoken <= N, `${hostWoken} of ${N} completions woke the sleeping host`);
  t.ok(irqWoken >= N / 2 && irqWoken <= N, `${irqWoken} of ${N} interrupts woke the sleeping event thread`);
  t.equal(rf.commandsCompleted(), N + 1, 'every completion counted');
});
