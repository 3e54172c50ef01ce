// The FM command ring (src/device/fm-ring.ts): injectRecords and prescriptive releaseCapacity
// through shared memory on the real worker topology — a chain offered over the ring is accepted
// and released as over comlink (device counters, host events), a refused call comes back with its
// errno, and comlink calls still work while the device sleeps on its doorbell. Counts only.
import t from 'tap';
import { BLOCK, chain, events, mark, region, withSystem } from './sys-helpers.js';

const tagOf = (i: number): string | null => (i % 2 ? `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}` : null);

await t.test('FM calls over the ring', (t) => withSystem(t, {}, async (s) => {
  await region(s);
  const ring = s.fmRing(0);
  const before = await s.device(0).call((a) => a.counters());
  let m0 = mark(s);
  const N = 20;
  for (let i = 0; i < N; i++) {
    const p = ring.injectRecords(chain([i * 4 * BLOCK, i * 4 * BLOCK + BLOCK], BLOCK, tagOf(i)));
    t.ok(p !== null, `call ${i}: the ring had room`);
    const r = await drained(s, p!);
    t.ok(r.ok, `call ${i}: ${r.ok ? 'ok' : r.message}`);
  }
  await s.waitIdle();
  t.equal(events(s, 'extent-tracked', m0).length, 2 * N, `${2 * N} extents tracked by the host`);
  m0 = mark(s);
  for (let i = 0; i < N; i++) {
    const tag = tagOf(i);
    const r = await drained(s, ring.releaseCapacity({ policy: 'prescriptive', extents: [{ offset: i * 4 * BLOCK, length: BLOCK, tag }] })!);
    t.ok(r.ok, `release ${i}: ${r.ok ? 'ok' : r.message}`);
  }
  await s.waitIdle();
  t.equal(events(s, 'extent-untracked', m0).length, 2 * N, `${2 * N} extents released (whole groups)`);
  const after = await s.device(0).call((a) => a.counters());
  t.equal(after.extentsAccepted - before.extentsAccepted, 2 * N, 'the device accepted every offered extent');
  t.equal(after.extentsReleased - before.extentsReleased, 2 * N, 'and released them');
  // a refused call: a zero-length extent (the mock's new_extent_valid: EINVAL)
  const bad = await drained(s, ring.injectRecords([{ offset: 200 * BLOCK, length: 0, tag: null, more: false }])!);
  t.ok(!bad.ok && bad.errno === 'EINVAL', `a zero-length offer is refused over the ring with its errno (${bad.ok ? 'accepted' : bad.errno})`);
  // comlink still answers while the device sleeps on its doorbell
  t.ok((await s.device(0).call((a) => a.commandsServed())) > 0, 'a comlink query is answered with the ring on');
  t.equal(ring.outstanding(), 0, 'no ring call left unanswered');
}));

/** await a ring call, draining replies as the bench driver does */
async function drained<T>(s: { drainEvents(): number }, p: Promise<T>): Promise<T> {
  let done = false;
  let v!: T;
  void p.then((x) => { done = true; v = x; });
  while (!done) {
    s.drainEvents();
    await new Promise((r) => setTimeout(r, 1));
  }
  return v;
}

// The reply bell (eighth session): the FM thread sleeps in `waitFmReplies` until a device answers
// one of its ring calls. cxl-test answers after the host's drain, so one wait per call must
// return with its reply (Atomics.wait does not return spuriously; a bell that never rang would
// hold every wait for its whole 60 s timeout, far past the test's own).
await t.test('the FM reply bell wakes the FM once per answered call', (t) => withSystem(t, {}, async (s) => {
  await region(s);
  const ring = s.fmRing(0);
  const N = 30;
  let waits = 0;
  const call = async (p: Promise<{ ok: boolean }> | null): Promise<boolean> => {
    t.ok(p !== null, 'the ring had room');
    let done: boolean | null = null;
    void p!.then((r) => { done = r.ok; });
    while (done === null) {
      s.waitFmReplies(60_000);
      waits++;
      s.drainEvents();
      await new Promise((r) => setImmediate(r));
    }
    return done;
  };
  let ok = 0;
  for (let i = 0; i < N; i++) if (await call(ring.injectRecords(chain([300 * BLOCK + i * BLOCK], BLOCK, null)))) ok++;
  for (let i = 0; i < N; i++) if (await call(ring.releaseCapacity({ policy: 'prescriptive', extents: [{ offset: 300 * BLOCK + i * BLOCK, length: BLOCK, tag: null }] }))) ok++;
  t.equal(ok, 2 * N, `${2 * N} calls answered ok`);
  t.equal(waits, 2 * N, `one bell wait per call (${waits} waits for ${2 * N} calls)`);
  t.equal(ring.outstanding(), 0, 'no ring call left unanswered');
  await s.waitIdle();
}));
