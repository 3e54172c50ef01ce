// Teardown and rebind as v11 and the driver core run them (src/dax/cxl.ts, src/cxl/region.ts;
// drivers/base/dd.c really_probe, core.c device_release/device_del; drivers/dax/bus.c
// dax_release_resource, unregister_dev_dax, trim_dev_dax_range; drivers/cxl/core/region_dax.c).
// Every test runs on the real topology (device, event thread, dax-bus and user workers).
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { UAF_SITE } from '../src/protocol.js';
import { EDGE_SEEN, EDGE_WORDS, MAX_LOCK_CLASSES } from '../src/shm/layout.js';
import { lockClassId, type LockClassName } from '../src/shm/lock-classes.js';
import type { DcdSystem } from '../src/runtime/system.js';
import { M, TAG_A, TAG_B, TAG_C, addChain, chain, dmesgMatching, dpa, events, inject, mark, mboxSince, region, withSystem } from './sys-helpers.js';

/** Has lockdep recorded the nesting `a` held → `b` acquired, from any thread? */
function edge(s: DcdSystem, a: LockClassName, b: LockClassName): boolean {
  const base = (lockClassId(a) * MAX_LOCK_CLASSES + lockClassId(b)) * EDGE_WORDS;
  return Atomics.load(s.sys.edges, base + EDGE_SEEN) === 1;
}

await withSystem(t, {}, async (s) => {
  let rid = -1;
  await t.test('E5/E6 timing: cxlr->cxlr_dax is set by the region driver probe, not by create', async (t) => {
    // create without the probes (what `cxl create-region` does before the region is committed
    // and bound): cxlr->cxlr_dax is NULL, so an add fails E5 (-ENXIO, "no DC region")
    const c = await s.user(0).call((a) => a.createRegion(0, 256 * M));
    t.ok(c.ok, 'region created');
    const id = c.ok ? c.value.regionId : -1;
    const o1 = await addChain(s, 0, [{ offset: 0, length: 2 * M, tag: null }]);
    t.same(o1.listed, [], 'refused before the region driver probed');
    t.ok(o1.log.some((l) => /no DC region/.test(l)), 'by E5 (-ENXIO)');
    t.notOk(o1.log.some((l) => /not scanned yet/.test(l)), 'not by E6');
    const st = await s.state();
    t.equal(st.regions[`region${id}`]!.driverBound, false, 'no cxl_dax_region driver yet');
    // now the probes: region driver (sets cxlr_dax), then the dax driver's scan
    const p = await s.daxBus.call((a) => a.probe(id));
    t.ok(p.ok, 'probe');
    const o2 = await addChain(s, 0, [{ offset: 4 * M, length: 2 * M, tag: null }]);
    t.same(o2.listed, [4 * M], 'accepted after the scan');
    t.ok(edge(s, 'cxl_rwsem.region', 'cxl_rwsem.dpa'), 'create nested cxl_rwsem.region → cxl_rwsem.dpa (attach_target; read side)');
    const d = await s.destroyRegion(id);
    t.ok(d.ok, 'destroyed');
    await s.waitIdle();
  });

  await t.test('teardown order: the extent device\'s dax_resource devres runs before dc_extent_release sends Release DC', async (t) => {
    rid = await region(s);
    await addChain(s, 0, chain([0, 8 * M], 4 * M, TAG_A));
    const l0 = s.dmesgLines().length;
    const m0 = mark(s);
    t.ok((await s.daxBus.call((a) => a.unbindDriver(rid))).ok, 'unbind');
    await s.waitIdle();
    const log = s.dmesgLines().slice(l0).map((l) => `${l.level} ${l.dev}: ${l.msg}`);
    for (const off of [0, 8 * M]) {
      const freed = log.findIndex((l) => l.includes(`Extent release resource 0x${off.toString(16)}+`));
      const sent = log.findIndex((l) => l.includes(`Release response dpa 0x${dpa(off).toString(16)} `));
      t.ok(freed >= 0 && sent >= 0, `both steps logged for extent @${off / M}M`);
      t.ok(freed < sent, `dax_release_resource (line ${freed}) before Release DC (line ${sent})`);
    }
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 2);
    t.ok(edge(s, 'device_lock(cxlr_dax)', 'dax_region_rwsem'), 'the devres actions take dax_region_rwsem under device_lock(cxlr_dax)');
  });

  await t.test('reverse devres order: an extent onlined after its claimer frees the claimed dax_resource first (H15)', async (t) => {
    t.ok((await s.daxBus.call((a) => a.bindDriver(rid))).ok, 'bind');
    await s.waitIdle();
    // create_store refuses while available_size is 0 (-ENOSPC): an unclaimed extent first
    await addChain(s, 0, [{ offset: 200 * M, length: 2 * M, tag: null }]);
    t.ok((await s.user(0).call((a) => a.createSeed(rid))).ok, 'echo 1 > create: the seed, before the group is onlined');
    // onlined after the seed: its devres action runs first at teardown
    await addChain(s, 0, chain([64 * M, 72 * M], 4 * M, TAG_B));
    const c = await s.user(0).call((a) => a.claimSeed(rid, TAG_B));
    t.ok(c.ok, 'the seed claims TAG_B (daxctl create-device --uuid writes the seed)');
    // claimed by a device created AFTER its extent: that device's action runs first, no hazard
    await addChain(s, 0, [{ offset: 128 * M, length: 2 * M, tag: null }]);
    const c2 = await s.user(0).call((a) => a.createDaxDevice(rid, null));
    t.ok(c2.ok, 'a later device claims the untagged extent');
    const m0 = mark(s);
    t.ok((await s.daxBus.call((a) => a.unbindDriver(rid))).ok, 'unbind');
    await s.waitIdle();
    const uaf = events(s, 'use-after-free', m0).filter((e) => e.site === UAF_SITE.daxResourceTrim);
    t.equal(uaf.length, 2, 'trim_dev_dax_range met both freed dax_resources of the seed (one per range)');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 4, 'every extent was still released, in use or not');
    t.equal(dmesgMatching(s, /BUG: use-after-free: trim_dev_dax_range/).length, 2, 'reported in the kernel log');
    const st = await s.state();
    t.same(st.regions[`region${rid}`]!.extents, []);
    t.same(st.regions[`region${rid}`]!.daxDevices, []);
  });

  await t.test('rebind after the teardown: a new dax_region, device ids from 0', async (t) => {
    t.ok((await s.daxBus.call((a) => a.bindDriver(rid))).ok);
    await s.waitIdle();
    const st = await s.state();
    t.equal(st.regions[`region${rid}`]!.driverBound, true);
    t.same(st.regions[`region${rid}`]!.daxDevices.map((d) => d.name), [`dax${rid}.0`], 'ids restart with the new dax_region');
  });
});

// the cxl_dax_region probe with recovered extents, and H12 without the assertion
await withSystem(t, { memdevs: [{ preAccepted: [{ offset: 0, length: 8 * M, tag: TAG_A }, { offset: 8 * M, length: 8 * M, tag: TAG_A }] }] }, async (s) => {
  await t.test('the probe surfaces recovered groups during the scan (dev->driver is already set)', async (t) => {
    const m0 = mark(s);
    const id = await region(s, 0, 256 * M);
    s.drainEvents();
    const evs = s.events.slice(m0).map((e) => e.ev);
    const add = evs.findIndex((e) => e.type === 'dax-group' && e.add === 1);
    const scan = evs.findIndex((e) => e.type === 'scan-done');
    t.ok(add >= 0, 'the recovered group got DAX resources');
    t.ok(add < scan, `during the scan (dax-group at ${add}, scan-done at ${scan}), by the scan's own notify`);
    const st = await s.state();
    t.equal(st.regions[`region${id}`]!.availableSize, 16 * M);
    t.equal(st.regions[`region${id}`]!.driverBound, true);
  });

  await t.test('H12: a recovery scan notifying another, bound region adds its resources (no assertion in cxl_dax_region_notify)', async (t) => {
    const r1 = await region(s, 0, 256 * M); // region1 = [256M, 512M), bound and scanned
    // a region1 extent accepted at runtime: every later scan reads it (the device reports all)
    const o = await addChain(s, 0, [{ offset: 400 * M, length: 2 * M, tag: null }]);
    t.same(o.listed, [400 * M], 'region1 accepted an extent');
    t.ok((await s.daxBus.call((a) => a.unbindDriver(0))).ok, 'unbind region0');
    // a runtime chain left open with an extent in region1: staged, not answered
    await inject(s, 0, [{ offset: 300 * M, length: 2 * M, tag: null, more: true }]);
    await s.waitIdle();
    const mid = (await s.state()).regions[`region${r1}`]!.availableSize;
    const before = mid;
    const m0 = mark(s);
    const b = await s.daxBus.call((a) => a.bindDriver(0));
    t.ok(b.ok, 'region0 re-probes: the scan realizes the staged region1 extent into region1 and does not unwind');
    await s.waitIdle();
    const dg = events(s, 'dax-group', m0).filter((e) => e.add === 1 && e.rc === 0);
    t.ok(dg.length >= 1, 'a DAX add ran during region0\'s probe');
    const st = await s.state();
    t.equal(st.regions.region0!.driverBound, true);
    t.ok(st.regions[`region${r1}`]!.availableSize > mid, `region1 gained resources (${before} → ${mid} → ${st.regions[`region${r1}`]!.availableSize}) under region0's device_lock only`);
    const asserts = s.sys.reports.read<{ kind: string; where?: string }>().filter((r) => r.kind === 'assert-held' && r.where === '__cxlr_notify_extent');
    t.ok(asserts.length >= 1, `__cxlr_notify_extent's device_lock_assert fired (${asserts.length}): a WARN, counted, not fatal`);
  });
});

// disable-region: the library call and the dangling cxlr->cxlr_dax (H16)
await withSystem(t, {}, async (s) => {
  await t.test('disable-region keeps the region, releases its extents, and leaves cxlr->cxlr_dax dangling (H16)', async (t) => {
    const id = await region(s);
    await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null }]);
    const m0 = mark(s);
    const r = await s.disableRegion(id);
    t.ok(r.ok, 'disabled');
    await s.waitIdle();
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 1, 'the extent went back to the device');
    const st = await s.state();
    t.ok(st.regions[`region${id}`], 'the region stays');
    t.equal(st.regions[`region${id}`]!.driverBound, false);
    t.ok(edge(s, 'device_lock(cxlr)', 'device_lock(cxlr_dax)'), 'teardown nests device_lock(cxlr) → device_lock(cxlr_dax)');
    const o = await addChain(s, 0, [{ offset: 8 * M, length: 2 * M, tag: null }]);
    t.same(o.listed, [], 'the add is refused');
    const uaf = events(s, 'use-after-free', m0).filter((e) => e.site === UAF_SITE.cxlrDax);
    t.equal(uaf.length, 1, 'after E5 read the stale cxlr->cxlr_dax: a use-after-free');
    const b = await s.daxBus.call((a) => a.bindDriver(id));
    t.equal(!b.ok && b.errno, 'ENODEV', 'no cxl_dax_region device to bind');
    t.ok((await s.destroyRegion(id)).ok, 'destroy still works');
  });
});

const FLIPS = 20; // two lies per failed attempt (one per page): 10 attempts fail
// really_probe's probe_failed: devres_release_all (the dax_region), dev->driver and drvdata cleared.
// A hostile device changes its extent-list generation under the first probe's scan until the 10
// attempts run out; it stops lying before the re-bind.
const flips = (n: number) => ({ personality: 'hostile' as const, hostile: { configViolation: 'none' as const, extentListLie: 'generation-flip' as const, eventRecordLie: 'none' as const, generationFlips: n } });
const pre = Array.from({ length: 110 }, (_, i) => ({ offset: i * 2 * M, length: 2 * M, tag: null, seq: 0 }));
await withSystem(t, { memdevs: [{ preAccepted: pre }], deviceOverrides: [flips(FLIPS)] }, async (s) => {
  await t.test('a failed probe releases the dax_region and clears drvdata: the next bind probes again', async (t) => {
    const m0 = mark(s);
    const id = await region(s);
    const scans = events(s, 'scan-done', m0);
    t.equal(scans.length, 1);
    t.not(scans[0]!.rc, 0, `the first probe's scan failed (rc ${scans[0]!.rc} after ${scans[0]!.attempts} attempts)`);
    let st = await s.state();
    t.equal(st.regions[`region${id}`]!.driverBound, false, 'dev->driver cleared');
    t.same(st.regions[`region${id}`]!.daxDevices, [], 'no seed');
    const m1 = mark(s);
    const b = await s.daxBus.call((a) => a.bindDriver(id));
    t.ok(b.ok, 'the re-bind is not refused: the failed probe left no devres (the dax_region went with it)');
    await s.waitIdle();
    t.same(events(s, 'scan-done', m1).map((e) => e.rc), [0], 'the second scan succeeded');
    st = await s.state();
    t.equal(st.regions[`region${id}`]!.driverBound, true);
    t.equal(st.regions[`region${id}`]!.extents.length, 110, 'every extent recovered');
    t.equal(st.regions[`region${id}`]!.availableSize, 220 * M, 'and surfaced');
  });
});

// Region destroy tears the extents down WITHOUT cxl_rwsem.region: in a run that only creates,
// adds, claims and destroys (no device-initiated release, the one path that sends Release DC or
// touches DAX resources under cxl_rwsem.region), lockdep never sees cxl_rwsem.region held while
// the mailbox or dax_region_rwsem is taken — the teardown nests device_lock(cxlr) →
// device_lock(cxlr_dax) → dax_region_rwsem / mbox instead.
await withSystem(t, {}, async (s) => {
  await t.test('destroy: device_lock(cxlr) → device_lock(cxlr_dax), and no cxl_rwsem.region across the teardown', async (t) => {
    const id = await region(s);
    await addChain(s, 0, chain([0, 8 * M], 4 * M, TAG_A));
    t.ok((await s.user(0).call((a) => a.createDaxDevice(id, TAG_A))).ok, 'claimed');
    const m0 = mark(s);
    t.ok((await s.destroyRegion(id)).ok, 'destroyed');
    await s.waitIdle();
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 2, 'both extents released by the teardown');
    t.ok(edge(s, 'device_lock(cxlr)', 'device_lock(cxlr_dax)'), 'device_lock(cxlr) → device_lock(cxlr_dax)');
    t.ok(edge(s, 'device_lock(cxlr_dax)', 'mbox_mutex'), 'Release DC sent under device_lock(cxlr_dax)');
    t.notOk(edge(s, 'cxl_rwsem.region', 'mbox_mutex'), 'never under cxl_rwsem.region');
    t.notOk(edge(s, 'cxl_rwsem.region', 'dax_region_rwsem'), 'nor the DAX teardown');
    t.notOk(edge(s, 'cxl_rwsem.region', 'device_lock(cxlr_dax)'), 'cxl_rwsem.region is not held around the cxl_dax_region unbind');
  });
});

// The scan's notify reaches the driver during the probe; when the DAX add fails the group is an
// `existing` one (skip_device_release stays clear), so rm_tag_group sends Release DC for every
// member (mbox.c cxl_realize_group; dax/bus.c dax_region_add_resources). The failure here is
// H11's: an open runtime chain (staged, unanswered) whose tag spans region0 and region1 is
// realized by region0's re-probe into one region0 group; the region1 member's HPA offset is
// relative to region1, so its resource collides with the region0 member's (-ENOSPC).
await withSystem(t, {}, async (s) => {
  await t.test('a recovered group whose DAX add fails during the probe is released member by member (Release DC)', async (t) => {
    const r0 = await region(s, 0, 256 * M);
    const r1 = await region(s, 0, 256 * M);
    const o = await addChain(s, 0, [{ offset: 400 * M, length: 2 * M, tag: null }]);
    t.same(o.listed, [400 * M], 'region1 holds an accepted extent (every scan reads it)');
    t.ok((await s.daxBus.call((a) => a.unbindDriver(r0))).ok, 'unbind region0');
    await inject(s, 0, [{ offset: 16 * M, length: 2 * M, tag: TAG_C, more: true }, { offset: 272 * M, length: 2 * M, tag: TAG_C, more: true }]);
    await s.waitIdle();
    const m0 = mark(s);
    const b = await s.daxBus.call((a) => a.bindDriver(r0));
    t.ok(b.ok, 'the probe itself succeeds');
    await s.waitIdle();
    const dg = events(s, 'dax-group', m0).filter((e) => e.add === 1);
    t.same(dg.map((e) => [e.n, e.rc]), [[2, 28]], 'the recovered group\'s DAX add failed with ENOSPC during the probe');
    const rel = mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).map((e) => e.dpa).sort((a, b) => a - b);
    t.same(rel, [dpa(16 * M), dpa(272 * M)], 'Release DC for every member (existing: skip_device_release clear)');
    const st = await s.state();
    t.same(st.regions[`region${r0}`]!.extents, [], 'nothing tracked on region0');
    t.equal(st.regions[`region${r1}`]!.extents.length, 1, 'region1 keeps its own extent');
  });
});

// dev->driver stays set while cxlr_dax's devres runs (drivers/base/dd.c __device_release_driver:
// devres_release_all, then dev->driver = NULL): uuid_store checks only dax_region->dev->driver
// under dax_region_rwsem, and each devres action takes that rwsem on its own, so a claim can
// succeed in the middle of the teardown. Real threads: a user claims "0" in a loop while the
// dax-bus unbinds a region with 24 surfaced extents; repeated until seen (at most 6 rounds).
await withSystem(t, {}, async (s) => {
  await t.test('a uuid_store succeeds between two devres actions of a running teardown', async (t) => {
    let seen = 0;
    let rounds = 0;
    for (; rounds < 6 && seen === 0; rounds++) {
      const id = await region(s);
      await addChain(s, 0, chain(Array.from({ length: 24 }, (_, i) => i * 4 * M), 2 * M, null));
      const m0 = mark(s);
      let stop = false;
      const claimer = (async () => {
        while (!stop) await s.user(0).call((a) => a.createDaxDevice(id, null));
      })();
      await s.daxBus.call((a) => a.unbindDriver(id));
      stop = true;
      await claimer;
      await s.waitIdle();
      s.drainEvents();
      const evs = s.events.slice(m0).map((e) => e.ev);
      const start = evs.findIndex((e) => e.type === 'region-teardown');
      const lastUntrack = evs.map((e) => e.type).lastIndexOf('extent-untracked');
      seen = evs.filter((e, i) => e.type === 'claim' && e.rc === 0 && i > start && i < lastUntrack).length;
      t.comment(`round ${rounds + 1}: ${seen} claims succeeded between the teardown's first and last devres action`);
      await s.destroyRegion(id);
      await s.waitIdle();
    }
    t.ok(seen > 0, `a claim landed inside the teardown (${rounds} round(s))`);
  });
});
