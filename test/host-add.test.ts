// Host add path, staging (docs/kernel-map.md, §3 S1/S3, H4): More chains, the 100-record cap,
// the 20 s inactivity watchdog on virtual time, and a late tail after a timeout — on the real
// worker topology (device, event thread, workqueue, dax-bus, users).
//
// One system (virtual clock) for the whole file: each subtest works in its own DPA window and
// reads only the events after its mark (a system start costs seconds on a loaded 2-core box).
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { ERRNO_CODES } from '../src/errors.js';
import { M, TAG_A, TAG_B, TAG_C, chain, dmesgMatching, dpa, events, inject, inWindow, mark, mboxSince, region, withSystem } from './sys-helpers.js';

const ADD = CXL_MBOX_OP.ADD_DC_RESPONSE;

await withSystem(t, { clock: 'virtual' }, async (s) => {
  await region(s);

  await t.test('a More chain holds its extents back and yields exactly one response', async (t) => {
    const m0 = mark(s);
    await inject(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A, more: true }]);
    await s.waitIdle();
    let st = await s.state();
    t.equal(mboxSince(s, ADD, m0).length, 0, 'no response while the chain is open');
    t.equal(st.trace.mailbox.filter((m) => m.opcode === 'ADD_DC_RESPONSE').length, 0, 'none in state().trace.mailbox either');
    t.equal(inWindow(st.regions.region0!.extents, 0, 64 * M).length, 0, 'nothing host-tracked while the chain is open');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 0, 64 * M).length, 0, 'device accepted nothing yet');
    t.equal(inWindow(st.memdevs.mem0!.pending, 0, 64 * M).length, 1, 'the offered extent is pending on the device');

    await inject(s, 0, [{ offset: 16 * M, length: 8 * M, tag: TAG_A, more: true }, { offset: 32 * M, length: 8 * M, tag: TAG_A, more: false }]);
    await s.waitIdle();
    st = await s.state();
    const resp = st.trace.mailbox.filter((m) => m.opcode === 'ADD_DC_RESPONSE');
    t.equal(resp.length, 1, 'one ADD_DC_RESPONSE in state().trace.mailbox for the whole chain');
    t.equal(resp[0]!.nrExtents, 3, 'listing all three extents');
    t.equal(resp[0]!.more, false, 'in one part');
    t.equal(resp[0]!.rc, 'SUCCESS');
    t.equal(events(s, 'response', m0).length, 1, 'one logical response event');
    t.same(events(s, 'response-extent', m0).map((e) => e.dpa), [dpa(0), dpa(16 * M), dpa(32 * M)], 'listed in offer order');
    const tracked = inWindow(st.regions.region0!.extents, 0, 64 * M);
    t.equal(tracked.length, 3, 'three host-tracked extents');
    t.same(tracked.map((e) => e.seq), [0, 1, 2], 'non-sharable seqs are arrival indices');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 0, 64 * M).length, 3, 'device accepted all three');
    t.equal(events(s, 'tag-registered', m0).filter((e) => e.uuid === TAG_A).length, 1, 'the tag registered once');
  });

  await t.test('a stalled chain gets an empty response after 20 s of virtual time; a fresh chain then works', async (t) => {
    const m0 = mark(s);
    await inject(s, 0, [{ offset: 64 * M, length: 4 * M, tag: null, more: true }, { offset: 72 * M, length: 4 * M, tag: null, more: true }]);
    await s.waitIdle();
    await s.advanceClock(19_999);
    await s.waitIdle();
    t.equal(mboxSince(s, ADD, m0).length, 0, 'no response at 19.999 s');
    await s.advanceClock(1);
    await s.waitIdle();
    let add = mboxSince(s, ADD, m0);
    t.equal(add.length, 1, 'one response at 20 s');
    t.equal(add[0]!.nrExtents, 0, 'with 0 extents: every staged extent refused');
    const closed = events(s, 'chain-closed', m0);
    t.equal(closed.length, 1);
    t.equal(closed[0]!.byTimeout, 1, 'closed by the watchdog');
    t.equal(closed[0]!.staged, 2, 'two records were staged');
    t.equal(dmesgMatching(s, /timed out; refusing staged extents/).length, 1, 'the timeout is logged');
    let st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 64 * M, 80 * M).length, 0, 'nothing tracked');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 64 * M, 80 * M).length, 0, 'nothing accepted');
    t.equal(inWindow(st.memdevs.mem0!.pending, 64 * M, 80 * M).length, 0, 'the device dropped the refused extents');

    // a further expiry does not answer again (invariant 18)
    await s.advanceClock(60_000);
    await s.waitIdle();
    t.equal(mboxSince(s, ADD, m0).length, 1, 'no second response from the watchdog');

    const m1 = mark(s);
    await inject(s, 0, chain([80 * M, 88 * M], 4 * M, TAG_B));
    await s.waitIdle();
    add = mboxSince(s, ADD, m1);
    t.equal(add.length, 1, 'the fresh chain gets its response');
    t.equal(add[0]!.nrExtents, 2, 'listing both extents');
    st = await s.state();
    t.equal(inWindow(st.regions.region0!.extents, 80 * M, 96 * M).length, 2, 'both tracked');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 80 * M, 96 * M).length, 2, 'both accepted');
  });

  await t.test('the watchdog is an inactivity timer: every More=1 record re-arms it', async (t) => {
    const m0 = mark(s);
    await inject(s, 0, [{ offset: 96 * M, length: 2 * M, tag: null, more: true }]);
    await s.waitIdle();
    await s.advanceClock(15_000);
    await inject(s, 0, [{ offset: 98 * M, length: 2 * M, tag: null, more: true }]);
    await s.waitIdle();
    await s.advanceClock(15_000);
    await s.waitIdle();
    t.equal(mboxSince(s, ADD, m0).length, 0, '30 s after the first record but 15 s after the last: still open');
    await s.advanceClock(5_000);
    await s.waitIdle();
    t.equal(mboxSince(s, ADD, m0).length, 1, '20 s of inactivity closes it');
  });

  await t.test('a single-record chain (More=0 first) never arms the watchdog', async (t) => {
    const m0 = mark(s);
    await inject(s, 0, [{ offset: 100 * M, length: 2 * M, tag: null, more: false }]);
    await s.waitIdle();
    await s.advanceClock(40_000);
    await s.waitIdle();
    const add = mboxSince(s, ADD, m0);
    t.equal(add.length, 1, 'exactly the one response of the chain');
    t.equal(add[0]!.nrExtents, 1);
    t.equal(events(s, 'chain-closed', m0).filter((e) => e.byTimeout).length, 0, 'no watchdog expiry');
  });

  await t.test('H4: a late More=0 record after a timeout becomes a new chain and gets a second response for the tail', async (t) => {
    const m0 = mark(s);
    await inject(s, 0, [{ offset: 104 * M, length: 4 * M, tag: TAG_C, more: true }]);
    await s.waitIdle();
    await s.advanceClock(20_000);
    await s.waitIdle();
    await inject(s, 0, [{ offset: 112 * M, length: 4 * M, tag: TAG_C, more: false }]);
    await s.waitIdle();
    const add = mboxSince(s, ADD, m0);
    t.equal(add.length, 2, 'two responses for what the device considers one chain');
    t.same(add.map((a) => a.nrExtents), [0, 1], 'the first refuses the head, the second lists the tail');
    t.equal(add[1]!.dpa, dpa(112 * M), 'the tail is what was acknowledged');
    const st = await s.state();
    const tracked = inWindow(st.regions.region0!.extents, 104 * M, 128 * M);
    t.same(tracked.map((e) => e.offset), [112 * M], 'the host tracks the tail without its head');
    t.equal(tracked[0]!.uuid, TAG_C);
    t.same(inWindow(st.memdevs.mem0!.accepted, 104 * M, 128 * M).map((e) => e.offset), [112 * M], 'and so does the device');
  });

  await t.test('a 101-record chain is dropped with no response (S1 -ENOSPC); its armed watchdog later answers empty', async (t) => {
    const m0 = mark(s);
    const recs = chain(Array.from({ length: 101 }, (_, i) => 128 * M + i * 2 * M), 2 * M, null);
    t.equal(recs[100]!.more, false, 'the 101st record closes the chain');
    await inject(s, 0, recs);
    await s.waitIdle();
    let st = await s.state();
    t.equal(mboxSince(s, ADD, m0).length, 0, 'no Add DC Response for the dropped chain');
    const dropped = events(s, 'chain-dropped', m0);
    t.equal(dropped.length, 1, "one runtime 'chain-dropped' event");
    t.equal(dropped[0]!.reason, ERRNO_CODES.ENOSPC, 'reason -ENOSPC');
    t.equal(dropped[0]!.staged, 100, 'with 100 records staged');
    t.equal(events(s, 'dc-record', m0).length, 101, 'all 101 records were read');
    t.equal(inWindow(st.regions.region0!.extents, 128 * M, 512 * M).length, 0, 'nothing host-tracked');
    t.equal(inWindow(st.memdevs.mem0!.accepted, 128 * M, 512 * M).length, 0, 'nothing accepted');
    t.equal(dmesgMatching(s, /exceeds 100 extents; dropping/).length, 1, 'the firmware-bug warning is logged');
    t.equal(dmesgMatching(s, /dcd event failed: -28/).length, 1, 'the dispatcher logs -ENOSPC');

    // v11 leaves `armed` set and the timer queued after a cap drop: the watchdog still answers, empty
    await s.advanceClock(20_000);
    await s.waitIdle();
    const add = mboxSince(s, ADD, m0);
    t.equal(add.length, 1, 'the stale watchdog sends one response');
    t.equal(add[0]!.nrExtents, 0, 'an empty one (reject all)');
    t.equal(events(s, 'chain-closed', m0).filter((e) => e.byTimeout === 1).length, 1);
    st = await s.state();
    t.equal(inWindow(st.memdevs.mem0!.pending, 128 * M, 512 * M).length, 0, 'the device cleared its offers');
  });
});
