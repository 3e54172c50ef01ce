// Existing-extent scan, generation-number retry (docs/kernel-map.md, §7.3, P1, E6, §8.1
// invariant 14): a generation change between pages restarts the read (≤ 10 attempts); a scan
// that cannot finish fails the probe, so every later runtime add on the region is refused (-EBUSY).
//
// mem0: hostile, 110 pre-accepted extents (two pages of Get DC Extent List at the default 4 KiB
//       payload), whose generation changes under the host for the first 3 pages.
// mem1: hostile, same, but the generation keeps changing (50 pages): the scan gives up.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { EAGAIN } from '../src/errors.js';
import { M, TAG_B, addChain, events, mark, mboxSince, withSystem, region } from './sys-helpers.js';

const many = Array.from({ length: 110 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M, tag: i < 100 ? null : TAG_B, seq: 0 }));
const flips = (n: number) => ({ personality: 'hostile' as const, hostile: { configViolation: 'none' as const, extentListLie: 'generation-flip' as const, eventRecordLie: 'none' as const, generationFlips: n } });

await withSystem(t, {
  memdevs: [{ preAccepted: many }, { preAccepted: many.map((e) => ({ ...e, tag: null })) }],
  deviceOverrides: [flips(3), flips(50)],
}, async (s) => {
  await t.test('a generation change mid-scan restarts the read and succeeds (P1)', async (t) => {
    const m0 = mark(s);
    await region(s, 0);
    const scan = events(s, 'scan-done', m0);
    t.equal(scan.length, 1);
    t.equal(scan[0]!.rc, 0, 'scan succeeded');
    t.ok(scan[0]!.attempts >= 2, `retried: ${scan[0]!.attempts} attempts`);
    t.equal(scan[0]!.found, 110, 'found all 110 extents on the final attempt');
    const pages = mboxSince(s, CXL_MBOX_OP.GET_DC_EXTENT_LIST, m0, 0).length;
    t.ok(pages > 2, `${pages} Get DC Extent List pages read (2 per complete pass)`);
    const lies = (await s.device(0).call((a) => a.counters())).lies;
    t.equal(lies, 3, 'the device lied about the generation 3 times');
    const st = await s.state();
    t.equal(st.regions.region0!.extents.length, 110, 'every extent tracked once');
    t.equal(st.regions.region0!.extentsScanned, true);
    t.equal(events(s, 'tag-registered', m0).filter((e) => e.uuid === TAG_B).length, 1, 'the tagged ones form one group');
    t.equal(mboxSince(s, CXL_MBOX_OP.ADD_DC_RESPONSE, m0).length, 0, 'never acknowledged');
    const o = await addChain(s, 0, [{ offset: 300 * M, length: 2 * M, tag: null }]);
    t.same(o.listed, [300 * M], 'runtime adds work after the scan');
  });

  await t.test('a scan that never sees a stable generation gives up after 10 attempts; the probe fails and runtime adds are refused (-EBUSY)', async (t) => {
    const m0 = mark(s);
    await region(s, 1);
    const scan = events(s, 'scan-done', m0);
    t.same(scan.map((e) => [e.rc, e.attempts]), [[EAGAIN, 10]], '-EAGAIN after 10 attempts');
    t.equal(mboxSince(s, CXL_MBOX_OP.GET_DC_EXTENT_LIST, m0, 1).length, 20, 'two pages per attempt');
    let st = await s.state();
    t.equal(st.regions.region1!.driverBound, false, 'the probe failed: no DAX driver');
    t.equal(st.regions.region1!.extentsScanned, false);
    t.equal(st.regions.region1!.extents.length, 0, 'nothing recovered (the pending list is cleared each attempt)');
    const o = await addChain(s, 1, [{ offset: 300 * M, length: 2 * M, tag: null }]);
    t.equal(o.responses.length, 1, 'the runtime chain is answered');
    t.same(o.listed, [], 'with its extent refused');
    t.ok(o.log.some((l) => /not scanned yet; refusing \(-EBUSY\)/.test(l)), 'E6 -EBUSY');
    st = await s.state();
    t.equal(st.regions.region1!.extents.length, 0);
  });
});
