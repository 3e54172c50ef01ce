/**
 * Bench fixture worker for `npm run bench:shm`: timed loops over the src/shm primitives and, beside
 * each, the same loop over plain Atomics (a bare CAS spinlock, a bare futex mutex, a bare ring, a
 * bare wait/notify ping-pong) so the cost of our tracking and statistics is visible.
 *
 * Every timed loop starts after a barrier on the scratch buffer (word BARRIER_GO) and returns
 * wall-clock start/end (performance.timeOrigin + now), so the main thread can compute the rate over
 * the union of all workers' intervals.
 */
import { exposeApi, workerStartup } from '../../src/runtime/worker-side.js';
import { mutexLock, mutexUnlock } from '../../src/shm/lock.js';
import { SpscRing } from '../../src/shm/ring.js';
import { RegFile } from '../../src/shm/regfile.js';
import type { SystemHandle } from '../../src/shm/system.js';

const boot = workerStartup<{ system: SystemHandle; scratch: SharedArrayBuffer }>();
const scratch = new Int32Array(boot.data.scratch);

/** scratch words (bench/shm.ts starts the barrier through BARRIER_ARRIVED = 0 and BARRIER_GO = 1) */
const BARRIER_ARRIVED = 0;
const BARRIER_GO = 1;
const COUNTER = 2;
const BARE_LOCK = 3;
const PING = 4;

const now = (): number => performance.timeOrigin + performance.now();

function barrier(): void {
  Atomics.add(scratch, BARRIER_ARRIVED, 1);
  while (Atomics.load(scratch, BARRIER_GO) === 0) Atomics.wait(scratch, BARRIER_GO, 0, 20);
}

export interface Timed {
  t0: number;
  t1: number;
  n: number;
}

// ------------------------------------------------------------------------------ bare primitives

/** bare futex mutex (0 free, 1 locked, 2 locked with waiters) — our algorithm minus all tracking */
function bareLock(L: Int32Array, i: number): void {
  if (Atomics.compareExchange(L, i, 0, 1) === 0) return;
  for (let k = 0; k < 200; k++) {
    if (Atomics.load(L, i) === 0 && Atomics.compareExchange(L, i, 0, 1) === 0) return;
  }
  while (Atomics.exchange(L, i, 2) !== 0) Atomics.wait(L, i, 2, 50);
}

function bareUnlock(L: Int32Array, i: number): void {
  if (Atomics.sub(L, i, 1) !== 1) {
    Atomics.store(L, i, 0);
    Atomics.notify(L, i, 1);
  }
}

/** bare ring: [head, tail] then `cap * words` Int32 — no waiting flags, no close, spin only */
const BARE_RING_HDR = 2;

function barePush(r: Int32Array, cap: number, words: number, recs: Int32Array, n: number): void {
  let tail = Atomics.load(r, 1);
  for (let i = 0; i < n; i++) {
    while (((tail - Atomics.load(r, 0)) | 0) >= cap) { /* spin: full */ }
    r.set(recs.subarray(i * words, (i + 1) * words), BARE_RING_HDR + (tail & (cap - 1)) * words);
    tail = (tail + 1) | 0;
    if ((i & 63) === 63 || i === n - 1) Atomics.store(r, 1, tail);
  }
}

function barePop(r: Int32Array, cap: number, words: number, out: Int32Array, max: number): number {
  const head = Atomics.load(r, 0);
  const k = Math.min((Atomics.load(r, 1) - head) | 0, max);
  for (let i = 0; i < k; i++) {
    const at = BARE_RING_HDR + ((head + i) & (cap - 1)) * words;
    out.set(r.subarray(at, at + words), i * words);
  }
  if (k > 0) Atomics.store(r, 0, (head + k) | 0);
  return k;
}

// ------------------------------------------------------------------------------ api

const api = {
  ready: () => boot.name,

  /** n lock+unlock pairs on our Mutex, each guarding a non-atomic increment */
  mutex(lockId: number, n: number): Timed {
    barrier();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      mutexLock(lockId);
      scratch[COUNTER] = scratch[COUNTER]! + 1;
      mutexUnlock(lockId);
    }
    return { t0, t1: now(), n };
  },

  /** the same over a bare CAS spinlock */
  spin(n: number): Timed {
    barrier();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      while (Atomics.compareExchange(scratch, BARE_LOCK, 0, 1) !== 0) { /* spin */ }
      scratch[COUNTER] = scratch[COUNTER]! + 1;
      Atomics.store(scratch, BARE_LOCK, 0);
    }
    return { t0, t1: now(), n };
  },

  /** the same over a bare futex mutex (our acquisition algorithm without tracking) */
  futex(n: number): Timed {
    barrier();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      bareLock(scratch, BARE_LOCK);
      scratch[COUNTER] = scratch[COUNTER]! + 1;
      bareUnlock(scratch, BARE_LOCK);
    }
    return { t0, t1: now(), n };
  },

  // --------------------------------------------------------------------------- rings (ours)

  /** produce n records in batches into an SpscRing */
  ringProduce(sab: SharedArrayBuffer, n: number, batch: number): Timed {
    const ring = SpscRing.attach(sab);
    const w = ring.recordWords;
    const buf = new Int32Array(batch * w);
    barrier();
    const t0 = now();
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      for (let j = 0; j < k; j++) buf[j * w] = i + j;
      if (ring.pushBatch(buf, k) !== k) throw new Error('ring closed');
    }
    return { t0, t1: now(), n };
  },

  /** relay n records from one SpscRing to another (one more hop) */
  ringRelay(inSab: SharedArrayBuffer, outSab: SharedArrayBuffer, n: number, batch: number): Timed {
    const a = SpscRing.attach(inSab);
    const b = SpscRing.attach(outSab);
    const buf = new Int32Array(batch * a.recordWords);
    barrier();
    const t0 = now();
    let moved = 0;
    while (moved < n) {
      if (!a.waitNonEmpty(5000)) throw new Error('relay starved');
      const k = a.popBatch(buf, batch);
      if (b.pushBatch(buf, k) !== k) throw new Error('ring closed');
      moved += k;
    }
    return { t0, t1: now(), n };
  },

  /** consume n records; checks order */
  ringConsume(sab: SharedArrayBuffer, n: number, batch: number): Timed & { bad: number } {
    const ring = SpscRing.attach(sab);
    const w = ring.recordWords;
    const buf = new Int32Array(batch * w);
    barrier();
    const t0 = now();
    let got = 0;
    let bad = 0;
    while (got < n) {
      if (!ring.waitNonEmpty(5000)) throw new Error('consumer starved');
      const k = ring.popBatch(buf, batch);
      for (let j = 0; j < k; j++) if (buf[j * w] !== got + j) bad++;
      got += k;
    }
    return { t0, t1: now(), n, bad };
  },

  // --------------------------------------------------------------------------- rings (bare)

  bareProduce(sab: SharedArrayBuffer, cap: number, words: number, n: number, batch: number): Timed {
    const r = new Int32Array(sab);
    const buf = new Int32Array(batch * words);
    barrier();
    const t0 = now();
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      for (let j = 0; j < k; j++) buf[j * words] = i + j;
      barePush(r, cap, words, buf, k);
    }
    return { t0, t1: now(), n };
  },

  bareRelay(inSab: SharedArrayBuffer, outSab: SharedArrayBuffer, cap: number, words: number, n: number, batch: number): Timed {
    const a = new Int32Array(inSab);
    const b = new Int32Array(outSab);
    const buf = new Int32Array(batch * words);
    barrier();
    const t0 = now();
    let moved = 0;
    while (moved < n) {
      const k = barePop(a, cap, words, buf, batch);
      if (k > 0) barePush(b, cap, words, buf, k);
      moved += k;
    }
    return { t0, t1: now(), n };
  },

  bareConsume(sab: SharedArrayBuffer, cap: number, words: number, n: number, batch: number): Timed & { bad: number } {
    const r = new Int32Array(sab);
    const buf = new Int32Array(batch * words);
    barrier();
    const t0 = now();
    let got = 0;
    let bad = 0;
    while (got < n) {
      const k = barePop(r, cap, words, buf, batch);
      for (let j = 0; j < k; j++) if (buf[j * words] !== got + j) bad++;
      got += k;
    }
    return { t0, t1: now(), n, bad };
  },

  // --------------------------------------------------------------------------- wake-up ping-pong

  /**
   * Ours, host side: n mailbox round trips over a RegFile (submit → the device wakes, completes →
   * the host wakes). Returns the round-trip times in µs.
   */
  mboxHost(sab: SharedArrayBuffer, n: number, gapMs = 0): { rttUs: number[] } {
    const rf = RegFile.attach(sab);
    const input = new Uint8Array(8);
    const rtt: number[] = [];
    const idle = new Int32Array(new SharedArrayBuffer(4));
    barrier();
    for (let i = 0; i < n; i++) {
      if (gapMs > 0) Atomics.wait(idle, 0, 0, gapMs); // let the device fall asleep
      const t = performance.now();
      const r = rf.submit(0x0100, input, 5000);
      rtt.push((performance.now() - t) * 1000);
      if (r.rc !== 0) throw new Error(`mailbox rc ${r.rc}`);
    }
    rf.stop();
    return { rttUs: rtt };
  },

  /** Ours, device side: serve until stopped; `spin` = doorbell spins before sleeping. */
  mboxDevice(sab: SharedArrayBuffer, spin: number): number {
    const rf = RegFile.attach(sab);
    let served = 0;
    barrier();
    while (!rf.stopped()) {
      if (!rf.waitCommand(100, spin)) continue;
      rf.complete(0, 0);
      served++;
    }
    return served;
  },

  /**
   * Ours, device side as the device worker serves (src/device/service.ts): spin `spin` loads on the
   * doorbell, then sleep in `RegFile.waitCommandAsync` (Atomics.waitAsync), so the event loop stays
   * live. With spin 0 every command finds the device asleep in the async wait.
   */
  async mboxDeviceAsync(sab: SharedArrayBuffer, spin: number): Promise<number> {
    const rf = RegFile.attach(sab);
    let served = 0;
    barrier();
    while (!rf.stopped()) {
      if (!rf.commandPending() && !rf.waitCommand(0, spin)) {
        await rf.waitCommandAsync(50);
        continue;
      }
      rf.complete(0, 0);
      served++;
    }
    return served;
  },

  /**
   * Bare ping-pong on one word: the pinger stores 1 and notifies, waits for 2; the ponger waits for
   * 1, stores 2 and notifies. `spin` = loads before Atomics.wait (0 = pure wait/notify).
   */
  ping(n: number, spin: number): { rttUs: number[] } {
    const rtt: number[] = [];
    barrier();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      Atomics.store(scratch, PING, 1);
      Atomics.notify(scratch, PING);
      let k = 0;
      while (Atomics.load(scratch, PING) !== 2) {
        if (k++ >= spin) Atomics.wait(scratch, PING, 1, 50);
      }
      rtt.push((performance.now() - t) * 1000);
    }
    Atomics.store(scratch, PING, 3);
    Atomics.notify(scratch, PING);
    return { rttUs: rtt };
  },

  pong(spin: number): number {
    let served = 0;
    barrier();
    for (;;) {
      let k = 0;
      let v: number;
      while ((v = Atomics.load(scratch, PING)) !== 1 && v !== 3) {
        if (k++ >= spin) Atomics.wait(scratch, PING, v, 50);
      }
      if (v === 3) return served;
      Atomics.store(scratch, PING, 2);
      Atomics.notify(scratch, PING);
      served++;
    }
  },
};

export type ShmBenchApi = typeof api;
exposeApi(api);
