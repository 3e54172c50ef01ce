// The event thread's cheaper walks and uuid conversions (#17) read what the code they replaced
// read: the uuid caches and the canonical-form parser against the plain conversions, the one-pass
// list walk (TableList.membersRefsInto) against membersInto + peekRefs, the one-pass table walk
// under the table lock (RecordTable.liveRefsIntoLocked) against liveInto + peekRefs — and, under a
// thread that frees and reuses records, it never returns a record mixing two incarnations.
import t from 'tap';
import { RecordTable, TableList, uuidToWords, wordsToUuid } from '../src/shm/table.js';
import { HEX_BYTE } from '../src/units.js';
import { Prng } from '../src/prng.js';
import { newSystem, shmWorkers } from './helpers.js';
import { CHURN_FIELDS, CHURN_SCHEMA } from './fixtures/churn-schema.js';

/** the conversions as they were before the caches (the reference) */
function refWordsToUuid(w: Int32Array, at: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const v = w[at + i]! >>> 0;
    s += HEX_BYTE[v >>> 24]! + HEX_BYTE[(v >>> 16) & 0xff]! + HEX_BYTE[(v >>> 8) & 0xff]! + HEX_BYTE[v & 0xff]!;
  }
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
function refUuidToWords(uuid: string | null, w: Int32Array, at: number): void {
  const digits = (uuid ?? '').replace(/-/g, '');
  for (let i = 0; i < 4; i++) w[at + i] = digits.length === 32 ? parseInt(digits.slice(i * 8, i * 8 + 8), 16) | 0 : 0;
}

t.test('uuid conversions: the cached and fast paths agree with the plain ones', async (t) => {
  const rng = new Prng(17);
  const w = new Int32Array(8);
  const r = new Int32Array(8);
  const strings: (string | null)[] = [
    null, '', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'FFFFFFFF-ABCD-ef01-2345-6789abcdef00', '0123456789abcdef0123456789abcdef', // no dashes: 32 digits
    '01234567-89ab-cdef-0123-456789abcdeg', // a non-hex digit
    '01234567-89ab-cdef-0123-456789abcde', '01234567-89ab-cdef-0123-456789abcdef0', // 35 / 37 chars
    '0123456789ab-cdef-0123-456789abcdef-', '-0123456-789ab-cdef-0123-456789abcdef', // dashes elsewhere
    '01234567-89ab-cdef-0123-4567 9abcdef', 'zz234567-89ab-cdef-0123-456789abcdef',
  ];
  let checked = 0;
  for (let i = 0; i < 20_000; i++) {
    // words → string → words, with runs of repeats (cache hits) and alternations (misses)
    if (i % 3 !== 0) for (let k = 0; k < 4; k++) w[k] = rng.u32() | 0;
    if (i % 7 === 0) w.fill(0, 0, 4);
    const s = wordsToUuid(w, 0);
    if (s !== refWordsToUuid(w, 0)) { t.fail(`wordsToUuid(${[...w.subarray(0, 4)]}) = ${s}`); return; }
    uuidToWords(s, r, 4);
    if (r[4] !== w[0] || r[5] !== w[1] || r[6] !== w[2] || r[7] !== w[3]) { t.fail(`uuidToWords(${s}) did not round-trip`); return; }
    const odd = strings[i % strings.length]!;
    uuidToWords(odd, w, 4);
    refUuidToWords(odd, r, 4);
    if (w[4] !== r[4] || w[5] !== r[5] || w[6] !== r[6] || w[7] !== r[7]) { t.fail(`uuidToWords(${JSON.stringify(odd)}): ${[...w.subarray(4)]} ≠ ${[...r.subarray(4)]}`); return; }
    // the same string again: a cache hit writes the same words
    uuidToWords(odd, w, 4);
    if (w[4] !== r[4] || w[7] !== r[7]) { t.fail(`uuidToWords(${JSON.stringify(odd)}) twice differs`); return; }
    checked++;
  }
  t.equal(checked, 20_000, `${checked} conversions each way agreed with the plain ones (${strings.length} malformed or odd strings among them)`);
});

const MEMBER = { v: 'i32', big: 'f64', owner: 'i32', next: 'i32', prev: 'i32' } as const;
const OWNER = { head: 'i32', tail: 'i32' } as const;

t.test('membersRefsInto reads what membersInto + peekRefs read (links, unlinks, frees, a dead owner)', async (t) => {
  const rng = new Prng(5);
  const M = RecordTable.create('m', MEMBER, 256);
  const O = RecordTable.create('o', OWNER, 8);
  const L = new TableList(M, { owner: 'owner', next: 'next', prev: 'prev' }, O, { head: 'head', tail: 'tail' });
  const owners = [O.alloc(), O.alloc(), O.alloc()];
  const refs = [M.field('v'), M.field('big')];
  const live: number[] = [];
  const out = new Int32Array(256);
  const vals = new Float64Array(512);
  const ref = new Int32Array(256);
  const v = [0, 0];
  let compared = 0;
  for (let step = 0; step < 3_000; step++) {
    const op = rng.u32() % 10;
    if (op < 5 && live.length < 250) {
      const h = M.alloc();
      M.set(h, 'v', step);
      M.set(h, 'big', 2 ** 40 + step);
      L.link(owners[rng.u32() % 3]!, h);
      live.push(h);
    } else if (op < 8 && live.length) {
      const i = rng.u32() % live.length;
      M.free(live[i]!);
      live.splice(i, 1);
    } else if (live.length) {
      L.link(owners[rng.u32() % 3]!, live[rng.u32() % live.length]!); // move to another list's tail
    }
    for (const o of owners) {
      const n = L.membersRefsInto(o, refs, out, vals);
      const m = L.membersInto(o, ref);
      if (n !== m) { t.fail(`step ${step}: ${n} members ≠ ${m}`); return; }
      for (let k = 0; k < n; k++) {
        if (out[k] !== ref[k] || !M.peekRefs(ref[k]!, refs, v) || vals[2 * k] !== v[0] || vals[2 * k + 1] !== v[1]) {
          t.fail(`step ${step}: member ${k} differs`);
          return;
        }
      }
      compared += n;
    }
  }
  O.free(owners[0]!);
  t.equal(L.membersRefsInto(owners[0]!, refs, out, vals), 0, 'a freed owner has no members');
  t.ok(compared > 10_000, `${compared.toLocaleString('en-US')} members compared over 3,000 random steps`);
});

t.test('liveRefsIntoLocked reads what liveInto + peekRefs read', async (t) => {
  const rng = new Prng(9);
  const T = RecordTable.create('t', MEMBER, 128);
  const refs = [T.field('big'), T.field('v')];
  const live: number[] = [];
  const out = new Int32Array(128);
  const vals = new Float64Array(256);
  const ref = new Int32Array(128);
  const v = [0, 0];
  let compared = 0;
  for (let step = 0; step < 2_000; step++) {
    if (rng.u32() % 3 !== 0 && live.length < 120) {
      const h = T.alloc();
      T.set(h, 'v', -step);
      T.set(h, 'big', step / 3);
      live.push(h);
    } else if (live.length) {
      const i = rng.u32() % live.length;
      T.free(live[i]!);
      live.splice(i, 1);
    }
    const n = T.liveRefsIntoLocked(refs, out, vals);
    const m = T.liveInto(ref);
    if (n !== m) { t.fail(`step ${step}: ${n} records ≠ ${m}`); return; }
    for (let k = 0; k < n; k++) {
      if (out[k] !== ref[k] || !T.peekRefs(ref[k]!, refs, v) || vals[2 * k] !== v[0] || vals[2 * k + 1] !== v[1]) { t.fail(`step ${step}: record ${k} differs`); return; }
    }
    compared += n;
  }
  t.equal(T.liveRefsIntoLocked(refs, new Int32Array(0), vals), 0, 'no room: no records');
  t.ok(compared > 10_000, `${compared.toLocaleString('en-US')} records compared over 2,000 random steps`);
});

t.test('liveRefsIntoLocked under a thread that frees and reuses records never mixes incarnations', async (t) => {
  const sys = newSystem();
  const scratch = new SharedArrayBuffer(64);
  const words = new Int32Array(scratch);
  const [w] = await shmWorkers(sys, 1, scratch);
  const T = RecordTable.create('churn', CHURN_SCHEMA, 4);
  const refs = CHURN_FIELDS.map((f) => T.field(f));
  const N = 200_000;
  const churn = w!.call((a) => a.churnTable(T.sab, N));
  const out = new Int32Array(4);
  const vals = new Float64Array(4 * refs.length);
  let walks = 0;
  let seen = 0;
  let mixed = 0;
  let partial = 0;
  while (Atomics.load(words, 1) === 0) {
    const n = T.liveRefsIntoLocked(refs, out, vals);
    walks++;
    if (n > 0) {
      Atomics.add(words, 2, 1); // lets the writer's every-1,024th record go (fixtures/shm-worker churnTable)
      Atomics.notify(words, 2);
    }
    for (let k = 0; k < n; k++) {
      seen++;
      const rec = Array.from(vals.subarray(k * refs.length, (k + 1) * refs.length));
      const nonzero = rec.filter((x) => x !== 0);
      if (nonzero.length < refs.length) partial++; // caught between the writer's stores: allowed (its field stores take no table lock)
      if (nonzero.some((x) => x !== nonzero[0])) mixed++;
    }
  }
  t.equal(await churn, N);
  t.comment(`${walks.toLocaleString('en-US')} walks, ${seen.toLocaleString('en-US')} records read, ${partial} caught mid-write`);
  t.ok(seen > 0, 'some records were read live');
  t.equal(mixed, 0, 'no record mixed values of two incarnations');
  await w!.terminate();
});
