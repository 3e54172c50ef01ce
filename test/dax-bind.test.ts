// The cxl_dax_region driver unbound and bound again, as the driver core does it (src/dax/cxl.ts;
// drivers/base/dd.c really_probe): unbind tears down the DAX region, its devices and resources,
// and releases every tracked extent to the device; claims fail with ENXIO while unbound; adds
// while unbound are acknowledged and tracked with no DAX resources — but their devres actions
// sit on the unbound cxlr_dax, so the next probe fails -EBUSY ("Resources present before
// probing") until the device releases them.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { M, TAG_A, TAG_B, addChain, chain, dpa, events, mark, mboxSince, region, withSystem } from './sys-helpers.js';

await withSystem(t, {}, async (s) => {
  await region(s);
  const u = s.user(0);

  await t.test('unbind tears down extents and releases them to the device, claimed or not', async (t) => {
    await addChain(s, 0, chain([0, 8 * M], 4 * M, TAG_A));
    await addChain(s, 0, [{ offset: 16 * M, length: 4 * M, tag: null }]);
    const c = await u.call((a) => a.createDaxDevice(0, TAG_A));
    t.ok(c.ok, 'TAG_A claimed');
    const m0 = mark(s);
    const r = await s.daxBus.call((a) => a.unbindDriver(0));
    t.ok(r.ok, 'unbind');
    await s.waitIdle();
    const rel = mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).map((e) => e.dpa).sort((a, b) => a - b);
    t.same(rel, [dpa(0), dpa(8 * M), dpa(16 * M)], 'one Release DC per tracked extent');
    t.same(events(s, 'tag-unregistered', m0).map((e) => e.uuid), [TAG_A]);
    const st = await s.state();
    const reg = st.regions.region0!;
    t.equal(reg.driverBound, false);
    t.same(reg.extents, [], 'no extent left');
    t.same(reg.daxDevices, [], 'no DAX device left');
    t.equal(reg.seed, '', 'and no seed');
    t.equal(reg.availableSize, 0);
    t.same(Object.keys(st.daxDevices), []);
    t.same(st.memdevs.mem0!.accepted, [], 'the device took everything back');
  });

  await t.test('while unbound: claims fail ENXIO; adds are acknowledged and tracked without DAX resources', async (t) => {
    const c = await u.call((a) => a.createDaxDevice(0, TAG_B));
    t.equal(!c.ok && c.errno, 'ENXIO', 'claim with the driver unbound');
    const m0 = mark(s);
    const o = await addChain(s, 0, chain([32 * M, 40 * M], 4 * M, TAG_B));
    t.same(o.listed, [32 * M, 40 * M], 'acknowledged');
    t.equal(o.tracked.length, 2, 'tracked');
    t.equal(events(s, 'dax-group', m0).length, 0, 'no DAX notification (no driver: notify returns 0)');
    const st = await s.state();
    t.equal(st.regions.region0!.extents.length, 2);
    t.equal(st.regions.region0!.availableSize, 0, 'no DAX resources');
    t.equal(st.memdevs.mem0!.accepted.length, 2);
  });

  await t.test('rebind fails -EBUSY while extents onlined unbound hold devres on cxlr_dax; it succeeds once the device released them', async (t) => {
    const m0 = mark(s);
    const r = await s.daxBus.call((a) => a.bindDriver(0));
    t.equal(!r.ok && r.errno, 'EBUSY', 'bind reports the failed probe: Resources present before probing');
    await s.waitIdle();
    t.ok(events(s, 'scan-done', m0).length === 0, 'the driver probe never ran (no scan)');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 0, 'nothing released');
    t.equal(events(s, 'dax-group', m0).length, 0, 'nothing surfaced');
    const st = await s.state();
    t.equal(st.regions.region0!.driverBound, false, 'the driver stays unbound');
    t.equal(st.regions.region0!.extents.length, 2, 'the extents stay tracked');
    t.same(st.regions.region0!.daxDevices, [], 'no dax device: the probe never ran');
    // the device releases the group: X2 finds it, the notify returns 0 (no driver), rm_tag_group
    // consumes the devres actions (devm_release_action) and sends Release DC
    const m1 = mark(s);
    const rel = await s.device(0).call((a) => a.releaseCapacity({ policy: 'prescriptive', extents: [{ offset: 32 * M, length: 4 * M, tag: TAG_B }] }));
    t.ok(rel.ok, 'release injected');
    await s.waitIdle();
    t.same(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m1).map((e) => e.dpa).sort((a, b) => a - b), [dpa(32 * M), dpa(40 * M)], 'the whole group released');
    const r2 = await s.daxBus.call((a) => a.bindDriver(0));
    t.ok(r2.ok, 'bind now succeeds');
    await s.waitIdle();
    const st2 = await s.state();
    const reg = st2.regions.region0!;
    t.equal(reg.driverBound, true);
    t.same(reg.extents, []);
    t.same(reg.daxDevices.map((d) => d.name), ['dax0.0'], 'the probe\'s new 0-size device (a fresh ida: id 0 again)');
    t.equal(reg.seed, '', 'which is not the seed (only a create write sets dax_region->seed)');
  });

  await t.test('a second unbind/bind cycle with a claimed device leaves a consistent region', async (t) => {
    t.ok((await s.daxBus.call((a) => a.unbindDriver(0))).ok);
    t.ok((await s.daxBus.call((a) => a.bindDriver(0))).ok);
    await s.waitIdle();
    const st = await s.state();
    t.same(st.regions.region0!.extents, []);
    t.same(st.memdevs.mem0!.accepted, []);
    t.same(st.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0']);
    const o = await addChain(s, 0, [{ offset: 64 * M, length: 2 * M, tag: null }]);
    t.same(o.listed, [64 * M], 'runtime adds still work');
    const st2 = await s.state();
    t.equal(st2.regions.region0!.availableSize, 2 * M, 'and are surfaced');
  });
});
