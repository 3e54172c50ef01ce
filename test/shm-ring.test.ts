// Rings across real threads: order, no loss, many wraparounds.
import t from 'tap';
import { newSystem, shmWorkers } from './helpers.js';
import { MpscRing, SpscRing } from '../src/shm/ring.js';

const sys = newSystem();

t.test('SPSC: 1,000,000 records arrive in order through 2 hops, none lost', async (t) => {
  const N = 1_000_000;
  const a = SpscRing.create(1024, 2);
  const b = SpscRing.create(1024, 2);
  const [prod, relay] = await shmWorkers(sys, 2, new SharedArrayBuffer(64));
  const p = prod!.call((x) => x.produceSpsc(a.sab, N, 64));
  const r = relay!.call((x) => x.relaySpsc(a.sab, b.sab, N));
  const buf = new Int32Array(512 * 2);
  let next = 0;
  let bad = 0;
  while (next < N) {
    if (!b.waitNonEmpty(10_000)) break;
    const k = b.popBatch(buf, 512);
    for (let i = 0; i < k; i++) {
      if (buf[i * 2] !== next || buf[i * 2 + 1] !== ~next) bad++;
      next++;
    }
  }
  await Promise.all([p, r]);
  t.equal(next, N, `all ${N} records arrived`);
  t.equal(bad, 0, 'in order and intact');
  t.comment(`wraparounds per ring: ${Math.floor(N / 1024)}`);
  await Promise.all([prod!.terminate(), relay!.terminate()]);
});

t.test('MPSC: 3 producers x 200,000 records, each producer in order, none lost', async (t) => {
  const N = 200_000;
  const ring = MpscRing.create(256, 2);
  const ws = await shmWorkers(sys, 3, new SharedArrayBuffer(64));
  const runs = ws.map((w, i) => w.call((x) => x.produceMpsc(ring.sab, N, i)));
  const next = [0, 0, 0];
  const buf = new Int32Array(256 * 2);
  let got = 0;
  let bad = 0;
  while (got < 3 * N) {
    if (!ring.waitNonEmpty(10_000)) break;
    const k = ring.popBatch(buf, 256);
    for (let i = 0; i < k; i++) {
      const p = buf[i * 2]!;
      if (buf[i * 2 + 1] !== next[p]) bad++;
      next[p] = buf[i * 2 + 1]! + 1;
    }
    got += k;
  }
  await Promise.all(runs);
  t.equal(got, 3 * N, `all ${3 * N} records arrived`);
  t.equal(bad, 0, 'per-producer order kept');
  t.comment(`wraparounds: ${Math.floor((3 * N) / 256)}`);
  await Promise.all(ws.map((w) => w.terminate()));
});
