// The cxl_dax_region driver unbound and bound again (host-kernel.md §2.8, §5, §7.4; src/dax/cxl.ts
// "Decision (rebind)"): unbind tears down the DAX region, its devices and resources, and releases
// every tracked extent to the device; claims fail with ENXIO while unbound; adds while unbound
// are acknowledged and tracked with no DAX resources; rebind surfaces them.
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

  await t.test('rebind surfaces the groups added while unbound, without acknowledging them again', async (t) => {
    const m0 = mark(s);
    const r = await s.daxBus.call((a) => a.bindDriver(0));
    t.ok(r.ok, 'bind');
    await s.waitIdle();
    t.equal(mboxSince(s, CXL_MBOX_OP.ADD_DC_RESPONSE, m0).length, 0, 'the re-probe scan sends no response');
    t.equal(mboxSince(s, CXL_MBOX_OP.RELEASE_DC, m0).length, 0, 'and releases nothing');
    const dg = events(s, 'dax-group', m0);
    t.same(dg.map((e) => [e.add, e.n, e.rc]), [[1, 2, 0]], 'one group surfaced');
    const st = await s.state();
    const reg = st.regions.region0!;
    t.equal(reg.driverBound, true);
    t.equal(reg.extents.length, 2, 'tracked once (the scan saw duplicates)');
    t.equal(reg.availableSize, 8 * M);
    t.same(reg.daxDevices.map((d) => d.name), ['dax0.0'], 'the probe\'s new 0-size device (a fresh ida: id 0 again)');
    t.equal(reg.seed, '', 'which is not the seed');
    const c = await u.call((a) => a.createDaxDevice(0, TAG_B));
    t.ok(c.ok, 'the tag is claimable again');
    const st2 = await s.state();
    t.equal(c.ok && st2.daxDevices[c.value.name]!.size, 8 * M);
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
