// Two user workers claiming the same tag at once (docs/kernel-map.md, H7/H8, §8.1 invariants
// 11 and 20), many times on one system: each cycle surfaces K two-extent tagged groups, then
// user0 and user1 both claim every tag concurrently (`daxctl create-device --uuid T` in two
// threads). For every tag at most one claim wins, with the whole group. The two runs share the
// region's seed device (drivers/dax/bus.c create_store sets `seed` only when none is set; daxctl
// writes its uuid to whatever `seed` names), so a run can lose to the OTHER user's claim of a
// different tag on the same seed (EBUSY), find its seed read empty after the other enabled it
// (ENOSPC), or find its tag claimed (ENOENT); a tag can then be left unclaimed. Winners are
// destroyed — concurrently, each by the user that created it — the idle devices the losers'
// create_store made are deleted, and the groups released before the next cycle.
//
// The device is the cxl-test mock with a one-record event log: the mock clears every offered
// extent when it accepts a response (mock 9), and the kernel's mock handles each injected record
// synchronously, so only one chain is ever on offer. A deeper log would offer the next chains
// before the first is answered and refuse their responses (host and device diverge, H10).
import t from 'tap';
import type { InjectRecord } from '../src/device/types.js';
import type { DcdSystem } from '../src/runtime/system.js';
import { M, events, inject, mark, region, release, withSystem } from './sys-helpers.js';
import { lockStats } from '../src/shm/lockdep.js';

/** contentions of dax_region_rwsem so far (summed over threads): a claim waited for the other one */
const daxContentions = (s: DcdSystem): number => lockStats(s.sys).find((x) => x.cls === 'dax_region_rwsem')?.contentions ?? 0;

const K = 10; // tags per cycle
const CYCLES = Number(process.env.DAX_RACE_CYCLES ?? 60); // at least K × CYCLES races, a count (no time budget)
// then on, at most MAX_CYCLES, until a claim phase saw dax_region_rwsem contended: that needs both
// user workers inside their claims at once, which a CPU hog on a loaded machine can prevent for
// many cycles in a row (message dispatch alone already skews the two runs apart)
const MAX_CYCLES = Math.max(CYCLES, 240);
const tag = (i: number): string => `c0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

await withSystem(t, { users: 2, deviceOverrides: [{ eventLogCapacity: 1 }] }, async (s) => {
  await region(s);
  const recs: InjectRecord[] = [];
  for (let i = 0; i < K; i++) {
    recs.push({ offset: i * 8 * M, length: 2 * M, tag: tag(i), more: true }, { offset: i * 8 * M + 4 * M, length: 2 * M, tag: tag(i), more: false });
  }
  const bad: string[] = [];
  const wins = [0, 0];
  let unclaimed = 0;
  const loserErr = new Map<string, number>();
  let races = 0;
  let cycles = 0;
  let contended = 0; // claim phases in which one claim waited for the other's dax_region_rwsem hold
  const t0 = Date.now();
  for (; cycles < CYCLES || (contended === 0 && cycles < MAX_CYCLES); cycles++) {
    const mi = mark(s);
    await inject(s, 0, recs);
    await s.waitIdle();
    const refused = events(s, 'response', mi).filter((e) => e.rc !== 0).length;
    if (refused) bad.push(`cycle ${cycles}: the device refused ${refused} responses`);
    const m0 = mark(s);
    const c0 = daxContentions(s);
    const res = await Promise.all(Array.from({ length: K }, (_, i) => Promise.all([
      s.user(0).call((a) => a.createDaxDevice(0, tag(i))),
      s.user(1).call((a) => a.createDaxDevice(0, tag(i))),
    ])));
    if (daxContentions(s) > c0) contended++;
    const st = await s.state();
    const destroy: Promise<unknown>[] = [];
    res.forEach(([a, b], i) => {
      races++;
      const ok = [a, b].filter((r) => r.ok);
      for (const r of [a, b]) {
        if (r.ok) continue;
        loserErr.set(r.errno, (loserErr.get(r.errno) ?? 0) + 1);
        if (r.errno !== 'ENOENT' && r.errno !== 'EBUSY' && r.errno !== 'ENOSPC') bad.push(`cycle ${cycles} tag ${i}: a run failed with ${r.errno}`);
      }
      if (ok.length > 1) { bad.push(`cycle ${cycles} tag ${i}: ${ok.length} claims succeeded`); return; }
      if (ok.length === 0) { unclaimed++; return; }
      const w = a.ok ? 0 : 1;
      wins[w]!++;
      const win = (a.ok ? a : b) as { ok: true; value: { devId: number; name: string } };
      const d = st.daxDevices[win.value.name];
      if (!d || d.size !== 4 * M || d.ranges.length !== 2 || d.uuid !== tag(i)) bad.push(`cycle ${cycles} tag ${i}: winner ${win.value.name} ${JSON.stringify(d)}`);
      destroy.push(s.user(w).call((x) => x.destroyDaxDevice(0, win.value.devId)));
    });
    for (const c of events(s, 'claim', m0)) {
      if (c.rc === 0 && (c.nRanges !== 2 || c.groupMembers !== 2)) bad.push(`cycle ${cycles}: claim saw ${c.nRanges}/${c.groupMembers}`);
    }
    for (const d of await Promise.all(destroy)) if (!(d as { ok: boolean }).ok) bad.push(`cycle ${cycles}: destroy failed: ${JSON.stringify(d)}`);
    // the idle devices the runs' create_stores left (daxctl cleans none up)
    for (const d of (await s.state()).regions.region0!.daxDevices) {
      if (d.name === 'dax0.0' || d.size !== 0) continue;
      const r = await s.user(0).call((x) => x.destroyDaxDevice(0, Number(d.name.split('.')[1])));
      if (!r.ok) bad.push(`cycle ${cycles}: destroy idle ${d.name}: ${r.errno}`);
    }
    await release(s, 0, Array.from({ length: K }, (_, i) => ({ offset: i * 8 * M, length: 2 * M, tag: tag(i) })));
    await s.waitIdle();
    const left = (await s.state()).memdevs.mem0!.accepted.length;
    if (left) bad.push(`cycle ${cycles}: the device still holds ${left} extents after the release`);
    if (bad.length) break; // the next cycle would start from a dirty state
  }
  const st = await s.state();
  t.comment(`two-user claim race: ${races} races in ${cycles} cycles (at least ${CYCLES}, at most ${MAX_CYCLES}; ${Date.now() - t0} ms); user0 won ${wins[0]}, user1 won ${wins[1]}, ${unclaimed} tags left unclaimed; failed runs: ${JSON.stringify(Object.fromEntries(loserErr))}; claim phases with dax_region_rwsem contended: ${contended}`);
  t.same(bad, [], 'every race: at most one winner, with the whole group; failed runs ENOENT/EBUSY/ENOSPC');
  t.ok(cycles >= CYCLES, `at least ${CYCLES} cycles ran (${cycles})`);
  t.equal(races, K * cycles, `all ${K * cycles} races of the ${cycles} cycles ran`);
  t.ok(contended > 0, `the window was hit: in ${contended} of ${cycles} claim phases one claim waited for the other's dax_region_rwsem hold`);
  t.equal(wins[0]! + wins[1]! + unclaimed, races);
  t.ok(wins[0]! + wins[1]! > races / 2, 'most tags were claimed');
  t.same(st.regions.region0!.extents, [], 'all groups released');
  t.same(st.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0'], 'only the probe\'s device left');
  t.same(st.memdevs.mem0!.accepted, [], 'device holds nothing');
});
