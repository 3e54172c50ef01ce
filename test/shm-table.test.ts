// Record tables: resolved field refs read what the by-name accessors read, and a snapshot read
// (peekRefs) of a record another thread frees and reuses never mixes two incarnations.
import t from 'tap';
import { RecordTable, NO_HANDLE } from '../src/shm/table.js';
import { newSystem, shmWorkers } from './helpers.js';
import { CHURN_FIELDS, CHURN_SCHEMA } from './fixtures/churn-schema.js';

t.test('field refs read and write what the by-name accessors do (i32 and f64)', async (t) => {
  const T = RecordTable.create('t', { x: 'i32', big: 'f64', y: 'i32', u: 'uuid' }, 8);
  const h = T.alloc();
  T.set(h, 'x', -7);
  T.set(h, 'big', 2 ** 52 + 3);
  T.set(h, 'y', 41);
  t.equal(T.getRef(h, T.field('x')), -7);
  t.equal(T.getRef(h, T.field('big')), 2 ** 52 + 3, 'an f64 field keeps 53 bits');
  t.equal(T.peekRef(h, T.field('y')), 41);
  const out = [0, 0, 0];
  t.ok(T.peekRefs(h, [T.field('y'), T.field('big'), T.field('x')], out), 'a live record snapshots');
  t.same(out, [41, 2 ** 52 + 3, -7], 'in the order of the refs');
  T.free(h);
  t.equal(T.peekRef(h, T.field('x')), undefined, 'a freed handle peeks undefined');
  t.notOk(T.peekRefs(h, [T.field('x')], out), 'and does not snapshot');
  const h2 = T.alloc();
  t.equal(h2 & 0xffff, h & 0xffff, 'the record is reused');
  t.notOk(T.peekRefs(h, [T.field('x')], out), 'the old handle does not snapshot the new incarnation');
  t.notOk(T.peekRefs(NO_HANDLE, [T.field('x')], out), 'NO_HANDLE does not snapshot');
  t.throws(() => T.getRef(h, T.field('x')), /stale/i, 'getRef on a stale handle throws like get');
});

t.test('peekRefs under a thread that frees and reuses the record never mixes incarnations', async (t) => {
  const sys = newSystem();
  const scratch = new SharedArrayBuffer(64);
  const words = new Int32Array(scratch);
  const [w] = await shmWorkers(sys, 1, scratch);
  const T = RecordTable.create('churn', CHURN_SCHEMA, 4);
  const refs = CHURN_FIELDS.map((f) => T.field(f));
  const N = 200_000;
  const churn = w!.call((a) => a.churnTable(T.sab, N));
  const v = refs.map(() => 0);
  let ok = 0;
  let refused = 0;
  let mixed = 0;
  let partial = 0;
  while (Atomics.load(words, 1) === 0) {
    const h = Atomics.load(words, 0);
    if (h === 0) continue;
    if (!T.peekRefs(h, refs, v)) { refused++; continue; }
    ok++;
    Atomics.add(words, 2, 1); // lets the writer's every-1,024th record go (fixtures/shm-worker churnTable)
    Atomics.notify(words, 2);
    const nonzero = v.filter((x) => x !== 0);
    if (nonzero.length < refs.length) partial++; // caught between the writer's stores: allowed (no lock)
    if (nonzero.some((x) => x !== nonzero[0])) mixed++;
  }
  t.equal(await churn, N);
  t.comment(`${ok.toLocaleString('en-US')} snapshots taken, ${refused.toLocaleString('en-US')} refused (record freed or reused across the read), ${partial} caught mid-write`);
  t.ok(ok > 0, 'some snapshots succeeded');
  t.ok(refused > 0, 'some reads raced a free and were refused (the race was exercised)');
  t.equal(mixed, 0, 'no snapshot mixed values of two incarnations');
  await w!.terminate();
});
