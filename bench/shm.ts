/**
 * `npm run bench:shm` — the Foundation primitives against plain Atomics, measured in the same run.
 *
 *  - Mutex lock+unlock: uncontended on the main thread; contended by 2 and 3 workers (each pair
 *    guards a non-atomic increment, the total is checked). Beside it: a bare CAS spinlock and a bare
 *    futex mutex (our acquisition algorithm with no held stack, lockdep or statistics).
 *    Ours is measured with lockdep on (the default) and off (`SystemShm.create({lockdep:false})`).
 *  - Rings: records/s over one hop (producer → consumer) and two hops (producer → relay →
 *    consumer), SPSC, batched; beside a bare ring loop (head/tail words, spin only, no waiting
 *    flags).
 *  - Wake-up round trip: a mailbox round trip over our RegFile (host `submit`, device
 *    `waitCommand` + `complete`) between two workers, p50/p99; beside a bare wait/notify ping-pong
 *    (pure `Atomics.wait`, and spin-then-wait).
 *
 * Every figure is the median of RUNS runs. Nothing about speed is asserted. `--json` prints JSON;
 * `--runs N` changes the run count; `--quick` shrinks the loop sizes.
 */
import { SystemShm } from '../src/shm/system.js';
import { initThread, mutexLock, mutexUnlock } from '../src/shm/lock.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { SpscRing } from '../src/shm/ring.js';
import { RegFile } from '../src/shm/regfile.js';
import { spawnWorker, type WorkerHandle } from '../src/runtime/spawn.js';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import type { ShmBenchApi, Timed } from './workers/shm-bench.js';

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const QUICK = argv.includes('--quick');
const runsAt = argv.indexOf('--runs');
const RUNS = runsAt >= 0 ? Math.max(1, Number(argv[runsAt + 1]) || 5) : 5;
const SCALE = QUICK ? 0.1 : 1;
const onlyAt = argv.indexOf('--only');
/** `--only mutex|ring|wake`: one group of figures */
const ONLY = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const want = (g: string): boolean => ONLY === undefined || ONLY === g;

const N_UNCONTENDED = Math.round(2_000_000 * SCALE);
const N_CONTENDED = Math.round(200_000 * SCALE);
const N_RING = Math.round(2_000_000 * SCALE);
const N_RTT = Math.round(20_000 * SCALE);
const RING_CAP = 1024;
const RING_WORDS = 8;
const RING_BATCH = 64;

// scratch words shared with bench/workers/shm-bench.ts
const BARRIER_ARRIVED = 0;
const BARRIER_GO = 1;
const COUNTER = 2;
const BARE_LOCK = 3;

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const WORKER = fileURLToPath(new URL(`./workers/shm-bench${ext}`, import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Pool {
  sys: SystemShm;
  scratch: Int32Array;
  workers: WorkerHandle<ShmBenchApi>[];
  lock: number;
}

async function pool(lockdep: boolean, n: number): Promise<Pool> {
  const sys = SystemShm.create({ lockdep, hungMs: 0 });
  initThread(sys, 'bench-main');
  const sab = new SharedArrayBuffer(64);
  const workers = Array.from({ length: n }, (_, i) => spawnWorker<ShmBenchApi>({
    kind: 'bench', name: `shm-bench-${lockdep ? 'ld' : 'nold'}-${i}`, entryFile: WORKER, data: { system: sys.handle(), scratch: sab },
  }));
  await Promise.all(workers.map((w) => w.call((a) => a.ready())));
  return { sys, scratch: new Int32Array(sab), workers, lock: sys.allocLock(lockClassId('test.counter'), 'mutex') };
}

/** Start `k` calls that each pass the barrier, release them together, gather the results. */
async function together<T>(p: Pool, calls: ((w: WorkerHandle<ShmBenchApi>) => Promise<T>)[]): Promise<T[]> {
  const s = p.scratch;
  Atomics.store(s, BARRIER_ARRIVED, 0);
  Atomics.store(s, BARRIER_GO, 0);
  Atomics.store(s, COUNTER, 0);
  Atomics.store(s, BARE_LOCK, 0);
  const running = calls.map((c, i) => c(p.workers[i]!));
  while (Atomics.load(s, BARRIER_ARRIVED) < calls.length) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(s, BARRIER_GO, 1);
  Atomics.notify(s, BARRIER_GO);
  return Promise.all(running);
}

function rate(ts: Timed[], n: number): number {
  const t0 = Math.min(...ts.map((t) => t.t0));
  const t1 = Math.max(...ts.map((t) => t.t1));
  return n / ((t1 - t0) / 1000);
}

async function medianOf(fn: () => Promise<number> | number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await fn());
  return median(xs);
}

interface Row {
  group: string;
  what: string;
  unit: string;
  ours: number | null;
  oursNoLockdep: number | null;
  bare: number | null;
  bareWhat: string;
  bare2?: number | null;
  bare2What?: string;
}

const rows: Row[] = [];

// ------------------------------------------------------------------------------ mutexes

function uncontendedOurs(p: Pool): number {
  initThread(p.sys, 'bench-main');
  const id = p.lock;
  const n = N_UNCONTENDED;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    mutexLock(id);
    mutexUnlock(id);
  }
  return n / ((performance.now() - t) / 1000);
}

function uncontendedBare(words: Int32Array, futex: boolean): number {
  const n = N_UNCONTENDED;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (futex) {
      if (Atomics.compareExchange(words, BARE_LOCK, 0, 1) !== 0) throw new Error('unexpected contention');
      if (Atomics.sub(words, BARE_LOCK, 1) !== 1) { Atomics.store(words, BARE_LOCK, 0); Atomics.notify(words, BARE_LOCK, 1); }
    } else {
      while (Atomics.compareExchange(words, BARE_LOCK, 0, 1) !== 0) { /* spin */ }
      Atomics.store(words, BARE_LOCK, 0);
    }
  }
  return n / ((performance.now() - t) / 1000);
}

async function contended(p: Pool, k: number, kind: 'ours' | 'spin' | 'futex'): Promise<number> {
  const n = N_CONTENDED;
  const calls = Array.from({ length: k }, () => (w: WorkerHandle<ShmBenchApi>) =>
    kind === 'ours' ? w.call((a) => a.mutex(p.lock, n)) : kind === 'spin' ? w.call((a) => a.spin(n)) : w.call((a) => a.futex(n)));
  const ts = await together(p, calls);
  const total = Atomics.load(p.scratch, COUNTER);
  if (total !== n * k) throw new Error(`${kind}: lost increments (${total} != ${n * k}) — mutual exclusion broken`);
  return rate(ts, n * k);
}

// ------------------------------------------------------------------------------ rings

function bareRingSab(): SharedArrayBuffer {
  return new SharedArrayBuffer((2 + RING_CAP * RING_WORDS) * 4);
}

async function ringOurs(p: Pool, hops: 1 | 2): Promise<number> {
  const n = N_RING;
  const a = SpscRing.create(RING_CAP, RING_WORDS);
  if (hops === 1) {
    const ts = await together(p, [
      (w) => w.call((x) => x.ringProduce(a.sab, n, RING_BATCH)),
      (w) => w.call((x) => x.ringConsume(a.sab, n, 256)),
    ]);
    if ((ts[1] as Timed & { bad: number }).bad) throw new Error('ring: records out of order');
    return rate(ts, n);
  }
  const b = SpscRing.create(RING_CAP, RING_WORDS);
  const ts = await together(p, [
    (w) => w.call((x) => x.ringProduce(a.sab, n, RING_BATCH)),
    (w) => w.call((x) => x.ringRelay(a.sab, b.sab, n, 256)),
    (w) => w.call((x) => x.ringConsume(b.sab, n, 256)),
  ]);
  if ((ts[2] as Timed & { bad: number }).bad) throw new Error('ring: records out of order');
  return rate(ts, n);
}

async function ringBare(p: Pool, hops: 1 | 2): Promise<number> {
  const n = N_RING;
  const a = bareRingSab();
  if (hops === 1) {
    const ts = await together(p, [
      (w) => w.call((x) => x.bareProduce(a, RING_CAP, RING_WORDS, n, RING_BATCH)),
      (w) => w.call((x) => x.bareConsume(a, RING_CAP, RING_WORDS, n, 256)),
    ]);
    if ((ts[1] as Timed & { bad: number }).bad) throw new Error('bare ring: records out of order');
    return rate(ts, n);
  }
  const b = bareRingSab();
  const ts = await together(p, [
    (w) => w.call((x) => x.bareProduce(a, RING_CAP, RING_WORDS, n, RING_BATCH)),
    (w) => w.call((x) => x.bareRelay(a, b, RING_CAP, RING_WORDS, n, 256)),
    (w) => w.call((x) => x.bareConsume(b, RING_CAP, RING_WORDS, n, 256)),
  ]);
  if ((ts[2] as Timed & { bad: number }).bad) throw new Error('bare ring: records out of order');
  return rate(ts, n);
}

// ------------------------------------------------------------------------------ wake-ups

async function rttOurs(p: Pool, deviceSpin: number, asyncDevice = false): Promise<{ p50: number; p99: number }> {
  const rf = RegFile.create(256);
  const [host] = await together(p, [
    (w) => w.call((x) => (asyncDevice ? x.mboxHost(rf.sab, Math.ceil(N_RTT / 40), 2) : x.mboxHost(rf.sab, N_RTT))),
    (w) => (asyncDevice ? w.call((x) => x.mboxDeviceAsync(rf.sab, deviceSpin)) : w.call((x) => x.mboxDevice(rf.sab, deviceSpin))) as unknown as Promise<{ rttUs: number[] }>,
  ]);
  const r = host!.rttUs;
  return { p50: pct(r, 50), p99: pct(r, 99) };
}

async function rttBare(p: Pool, spin: number): Promise<{ p50: number; p99: number }> {
  Atomics.store(p.scratch, 4, 0);
  const [pinger] = await together(p, [
    (w) => w.call((x) => x.ping(N_RTT, spin)),
    (w) => w.call((x) => x.pong(spin)) as unknown as Promise<{ rttUs: number[] }>,
  ]);
  const r = pinger!.rttUs;
  return { p50: pct(r, 50), p99: pct(r, 99) };
}

async function medianRtt(fn: () => Promise<{ p50: number; p99: number }>): Promise<{ p50: number; p99: number }> {
  const a: { p50: number; p99: number }[] = [];
  for (let i = 0; i < RUNS; i++) a.push(await fn());
  return { p50: median(a.map((x) => x.p50)), p99: median(a.map((x) => x.p99)) };
}

// ------------------------------------------------------------------------------ main

function fmt(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (unit === 'µs') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function table(): string {
  const head = ['metric', 'unit', 'ours (lockdep on)', 'ours (lockdep off)', 'plain Atomics', '', 'ours/plain'];
  const lines: string[][] = [head];
  for (const r of rows) {
    const ratio = r.ours !== null && r.bare ? (r.unit === 'µs' ? r.ours / r.bare : r.ours / r.bare) : null;
    lines.push([`${r.group}: ${r.what}`, r.unit, fmt(r.ours, r.unit), fmt(r.oursNoLockdep, r.unit), fmt(r.bare, r.unit), r.bareWhat, ratio === null ? '—' : `${ratio.toFixed(2)}×`]);
    if (r.bare2 !== undefined) lines.push(['', '', '', '', fmt(r.bare2, r.unit), r.bare2What ?? '', r.ours !== null && r.bare2 ? `${(r.ours / r.bare2).toFixed(2)}×` : '—']);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines.map((l, j) => {
    const s = l.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return j === 0 ? `${s}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : s;
  }).join('\n');
}

async function main(): Promise<void> {
  const log = (s: string): void => { if (!JSON_OUT) process.stderr.write(`${s}\n`); };
  log(`bench:shm — ${RUNS} runs per figure (median), ${cpus().length} CPUs, node ${process.version}${QUICK ? ', --quick' : ''}`);
  const on = await pool(true, 3);
  const off = await pool(false, 3);
  try {
    // warm up every code path once
    if (want('mutex')) { uncontendedOurs(on); uncontendedOurs(off); uncontendedBare(on.scratch, false); uncontendedBare(on.scratch, true); }

    if (want('mutex')) {
    log('mutex, uncontended …');
    const uOn = await medianOf(() => uncontendedOurs(on));
    const uOff = await medianOf(() => uncontendedOurs(off));
    const uSpin = await medianOf(() => uncontendedBare(on.scratch, false));
    const uFutex = await medianOf(() => uncontendedBare(on.scratch, true));
    rows.push({ group: 'mutex', what: 'uncontended lock+unlock (main thread)', unit: 'ops/s', ours: uOn, oursNoLockdep: uOff, bare: uSpin, bareWhat: 'CAS spinlock', bare2: uFutex, bare2What: 'futex mutex' });

    for (const k of [2, 3]) {
      log(`mutex, ${k} workers …`);
      const cOn = await medianOf(() => contended(on, k, 'ours'));
      const cOff = await medianOf(() => contended(off, k, 'ours'));
      const cSpin = await medianOf(() => contended(on, k, 'spin'));
      const cFutex = await medianOf(() => contended(on, k, 'futex'));
      rows.push({ group: 'mutex', what: `contended, ${k} workers`, unit: 'ops/s', ours: cOn, oursNoLockdep: cOff, bare: cSpin, bareWhat: 'CAS spinlock', bare2: cFutex, bare2What: 'futex mutex' });
    }
    }

    for (const hops of want('ring') ? [1, 2] as const : []) {
      log(`ring, ${hops} hop${hops > 1 ? 's' : ''} …`);
      const ours = await medianOf(() => ringOurs(on, hops));
      const bare = await medianOf(() => ringBare(on, hops));
      rows.push({ group: 'ring', what: `SPSC ${hops} hop${hops > 1 ? 's' : ''}, batch ${RING_BATCH}, ${RING_WORDS}-word records`, unit: 'rec/s', ours, oursNoLockdep: null, bare, bareWhat: 'bare ring loop' });
    }

    if (want('wake')) {
    log('wake-up round trips …');
    const mbox = await medianRtt(() => rttOurs(on, 20_000));
    const mbox0 = await medianRtt(() => rttOurs(on, 0));
    const mboxAsync = await medianRtt(() => rttOurs(on, 0, true));
    const wn = await medianRtt(() => rttBare(on, 0));
    const wns = await medianRtt(() => rttBare(on, 2000));
    rows.push({ group: 'wake', what: 'RTT p50, mailbox (device spin 20000)', unit: 'µs', ours: mbox.p50, oursNoLockdep: null, bare: wns.p50, bareWhat: 'spin 2000 then wait', bare2: wn.p50, bare2What: 'pure wait/notify' });
    rows.push({ group: 'wake', what: 'RTT p99, mailbox (device spin 20000)', unit: 'µs', ours: mbox.p99, oursNoLockdep: null, bare: wns.p99, bareWhat: 'spin 2000 then wait', bare2: wn.p99, bare2What: 'pure wait/notify' });
    rows.push({ group: 'wake', what: 'RTT p50, mailbox (device spin 0)', unit: 'µs', ours: mbox0.p50, oursNoLockdep: null, bare: wn.p50, bareWhat: 'pure wait/notify' });
    rows.push({ group: 'wake', what: 'RTT p99, mailbox (device spin 0)', unit: 'µs', ours: mbox0.p99, oursNoLockdep: null, bare: wn.p99, bareWhat: 'pure wait/notify' });
    rows.push({ group: 'wake', what: 'RTT p50, mailbox (device idle 2 ms, asleep in waitCommandAsync)', unit: 'µs', ours: mboxAsync.p50, oursNoLockdep: null, bare: wn.p50, bareWhat: 'pure wait/notify' });
    rows.push({ group: 'wake', what: 'RTT p99, mailbox (device idle 2 ms, asleep in waitCommandAsync)', unit: 'µs', ours: mboxAsync.p99, oursNoLockdep: null, bare: wn.p99, bareWhat: 'pure wait/notify' });
    }
  } finally {
    await Promise.all([...on.workers, ...off.workers].map((w) => w.terminate().catch(() => undefined)));
  }
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ runs: RUNS, cpus: cpus().length, node: process.version, quick: QUICK, rows }, null, 2)}\n`);
  } else {
    process.stdout.write(`${table()}\n`);
    process.stdout.write('\nmailbox RTT: host RegFile.submit (spins 2000 on the doorbell, then waits) ↔ device waitCommand + complete;\n');
    process.stdout.write('"asleep in waitCommandAsync": the device worker\'s idle path (src/device/service.ts), Atomics.waitAsync + keep-alive timer;\n');
    process.stdout.write('ratios: for ops/s and rec/s below 1× means ours is slower; for µs above 1× means ours is slower.\n');
  }
}

await main();
