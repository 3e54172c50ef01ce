// DAX claim, size, create and delete rules (docs/kernel-map.md, §5.4, §8.1 invariants 11, 15, 20)
// through the user workers (`daxctl create-device --uuid`, reconfigure, destroy). Stores the user
// API cannot reach — a second claim into a device that already has size, create with a non-zero
// size, delete of the seed — run the same sysfs store functions (src/dax/bus.ts) on this thread
// against the running system's shared memory and locks.
import t from 'tap';
import { CxlError } from '../src/errors.js';
import { create_store, daxDevsOf, delete_store, uuid_store } from '../src/dax/bus.js';
import { M, NULL_UUID, TAG_A, TAG_B, TAG_C, addChain, chain, events, mark, region, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

const TAG_D = '44444444-4444-4444-4444-444444444444';

/** The errno a store run on this thread throws, or 'ok'. */
function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof CxlError) return e.errno;
    throw e;
  }
}

function devHandle(s: DcdSystem, regionId: number, devId: number): number {
  const r = s.host.regionById(regionId);
  const d = daxDevsOf(s.ctx, r).find((x) => s.host.daxDevs.get(x, 'id') === devId);
  if (d === undefined) throw new Error(`no dax${regionId}.${devId}`);
  return d;
}

await withSystem(t, {}, async (s) => {
  await region(s);
  const u = s.user(0);

  await t.test('plain create: ENOSPC with no available size', async (t) => {
    const st = await s.state();
    t.equal(st.regions.region0!.availableSize, 0, 'no extent yet');
    t.same(st.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0'], 'only the probe\'s idle device');
    t.equal(st.regions.region0!.seed, '', 'which is not the seed: only create_store sets dax_region->seed');
    t.equal(st.daxDevices['dax0.0']!.size, 0, 'the seed has size 0');
    const r = await u.call((a) => a.createDaxDevice(0, undefined));
    t.equal(!r.ok && r.errno, 'ENOSPC');
  });

  await t.test('uuid "0" claims exactly one free untagged resource; the next claim the next one; then no space', async (t) => {
    const o = await addChain(s, 0, chain([0, 8 * M], 4 * M, null)); // one group, two resources
    t.equal(o.tracked.length, 2);
    const a = await u.call((x) => x.createDaxDevice(0, null));
    const b = await u.call((x) => x.createDaxDevice(0, null));
    const c = await u.call((x) => x.createDaxDevice(0, null));
    t.ok(a.ok && b.ok, 'two untagged claims succeed');
    t.equal(!c.ok && c.errno, 'ENOSPC', 'a third: available_size is 0, so create_store fails (-ENOSPC) before any claim');
    const st = await s.state();
    t.same([a.ok && a.value.name, b.ok && b.value.name], ['dax0.1', 'dax0.2'], 'each create made the next device, which was the seed');
    t.equal(st.regions.region0!.seed, '', 'enabling each cleared the seed; the failed create made none');
    t.same(st.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0', 'dax0.1', 'dax0.2']);
    const da = a.ok ? st.daxDevices[a.value.name]! : null;
    const db = b.ok ? st.daxDevices[b.value.name]! : null;
    t.same(da?.ranges, [{ offset: 0, length: 4 * M }], 'one extent each');
    t.same(db?.ranges, [{ offset: 8 * M, length: 4 * M }]);
    t.equal(da?.uuid, NULL_UUID, 'uuid reads the null UUID when untagged (v11)');
    for (const r of [a, b]) if (r.ok) t.ok((await u.call((x) => x.destroyDaxDevice(0, r.value.devId))).ok, `destroy ${r.value.name}`);
  });

  await t.test('plain create with available size: EOPNOTSUPP (a DC device cannot be sized)', async (t) => {
    const st = await s.state();
    t.ok(st.regions.region0!.availableSize > 0);
    const r = await u.call((a) => a.createDaxDevice(0, undefined));
    t.equal(!r.ok && r.errno, 'EOPNOTSUPP');
    const st2 = await s.state();
    // create_store made dax0.1 (the lowest id free after the two destroys) and made it the seed;
    // the size write failed and daxctl deletes nothing: the 0-size seed stays
    t.same(st2.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0', 'dax0.1'], 'the ida reused id 1');
    t.equal(st2.regions.region0!.seed, 'dax0.1', 'the failed size write left the seed behind');
    t.ok(st2.regions.region0!.daxDevices.every((d) => d.size === 0));
  });

  await t.test('a tag claims all its free members, in seq order, size = the whole group', async (t) => {
    // non-sharable: seq = arrival index, so offer order 48M, 32M, 40M is the range order
    const o = await addChain(s, 0, chain([48 * M, 32 * M, 40 * M], 2 * M, TAG_A));
    t.same(o.tracked.map((e) => e.seq), [0, 1, 2]);
    const m0 = mark(s);
    const c = await u.call((a) => a.createDaxDevice(0, TAG_A));
    if (!c.ok) throw new Error(c.message);
    const st = await s.state();
    const d = st.daxDevices[c.value.name]!;
    t.equal(d.size, 6 * M);
    t.same(d.ranges.map((r) => r.offset), [48 * M, 32 * M, 40 * M], 'ranges in seq order, not address order');
    t.equal(d.uuid, TAG_A, 'uuid reads the tag');
    t.equal(d.enabled, true);
    const claims = events(s, 'claim', m0);
    t.same(claims.map((e) => [e.rc, e.nRanges, e.groupMembers]), [[0, 3, 3]], 'one claim event: whole group');
    t.equal(st.regions.region0!.availableSize, 8 * M, 'the claimed capacity is no longer available (8M untagged left)');

    const again = await u.call((a) => a.createDaxDevice(0, TAG_A));
    t.equal(!again.ok && again.errno, 'ENOENT', 'a second claim of a fully claimed tag: ENOENT (invariant 20)');
    const none = await u.call((a) => a.createDaxDevice(0, '99999999-9999-9999-9999-999999999999'));
    t.equal(!none.ok && none.errno, 'ENOENT', 'an unknown tag: ENOENT');
    const junk = await u.call((a) => a.createDaxDevice(0, 'not-a-uuid'));
    t.equal(!junk.ok && junk.errno, 'EINVAL', 'an unparsable uuid: EINVAL');

    // EBUSY: claiming into a device that already has size (uuid_store on this thread)
    await addChain(s, 0, [{ offset: 56 * M, length: 2 * M, tag: TAG_B }]);
    const h = devHandle(s, 0, c.value.devId);
    t.equal(errnoOf(() => uuid_store(s.ctx, h, TAG_B)), 'EBUSY', 'a second claim into a sized device: EBUSY');
    t.equal(errnoOf(() => uuid_store(s.ctx, h, '0')), 'EBUSY', 'also for "0"');
    const st2 = await s.state();
    t.equal(st2.daxDevices[c.value.name]!.size, 6 * M, 'the device is unchanged');
    t.equal(st2.regions.region0!.availableSize, 10 * M, 'and TAG_B stays free');
  });

  await t.test('size (v11 size_store order): enabled → EBUSY before EOPNOTSUPP; the current size succeeds; 0 when disabled trims', async (t) => {
    const st = await s.state();
    const name = Object.keys(st.daxDevices).find((n) => st.daxDevices[n]!.uuid === TAG_A)!;
    const devId = Number(name.split('.')[1]);
    let r = await u.call((a) => a.reconfigureDaxDevice(0, devId, 8 * M));
    t.equal(!r.ok && r.errno, 'EBUSY', 'non-zero size while a driver is bound: EBUSY (dev->driver is checked first)');
    r = await u.call((a) => a.reconfigureDaxDevice(0, devId, 0));
    t.equal(!r.ok && r.errno, 'EBUSY', 'size 0 while a driver is bound');
    const rh = s.host.regionById(0);
    t.equal(errnoOf(() => delete_store(s.ctx, rh, name)), 'EBUSY', 'delete while enabled / sized: EBUSY');
    t.ok((await u.call((a) => a.disableDaxDevice(0, devId))).ok, 'disable');
    r = await u.call((a) => a.reconfigureDaxDevice(0, devId, 8 * M));
    t.equal(!r.ok && r.errno, 'EOPNOTSUPP', 'non-zero size once disabled: EOPNOTSUPP');
    r = await u.call((a) => a.reconfigureDaxDevice(0, devId, 6 * M));
    t.ok(r.ok, 'the current size: success (size == dev_size returns before the DC check)');
    t.equal(errnoOf(() => delete_store(s.ctx, rh, `${name}\n`)), 'EBUSY', 'delete while sized: EBUSY');
    r = await u.call((a) => a.reconfigureDaxDevice(0, devId, 0));
    t.ok(r.ok, 'size 0 once disabled');
    const st2 = await s.state();
    t.equal(st2.daxDevices[name]!.size, 0);
    t.same(st2.daxDevices[name]!.ranges, []);
    t.equal(st2.daxDevices[name]!.uuid, NULL_UUID, 'an empty device reads the null UUID');
    t.equal(st2.regions.region0!.availableSize, 16 * M, 'the group is free again');
    t.ok((await u.call((a) => a.destroyDaxDevice(0, devId))).ok, 'destroy (delete) the empty device');
    const st3 = await s.state();
    t.notOk(st3.daxDevices[name], 'gone');
  });

  await t.test('create with a non-zero size → EINVAL; the seed device is never deleted', async (t) => {
    const rh = s.host.regionById(0);
    t.equal(errnoOf(() => create_store(s.ctx, rh, 2 * M)), 'EINVAL');
    t.equal(errnoOf(() => create_store(s.ctx, rh, '0')), 'EINVAL', 'create accepts only "1"');
    t.equal(errnoOf(() => create_store(s.ctx, rh, 'x')), 'EINVAL');
    t.equal(errnoOf(() => delete_store(s.ctx, rh, 'dax0.0')), 'EBUSY', 'device-id 0 is never deleted');
    t.equal(errnoOf(() => delete_store(s.ctx, rh, 'dax0.99')), 'ENXIO', 'no such device');
    const st = await s.state();
    t.ok(st.daxDevices['dax0.0'], 'seed still there');
  });

  await t.test('a sequence gap refuses the whole tag (EINVAL) — interior member omitted at add time', async (t) => {
    await addChain(s, 0, [{ offset: 68 * M, length: 2 * M, tag: null }]);
    // member 2 partially overlaps [68M, 70M): omitted (E9) while the host seq advances → seqs 0, 2
    const o = await addChain(s, 0, chain([64 * M, 66 * M, 72 * M], 2 * M, TAG_C).map((r, i) => (i === 1 ? { ...r, length: 4 * M } : r)));
    t.same(o.tracked.map((e) => e.seq), [0, 2], 'tracked with a gap');
    t.same(o.listed, [64 * M, 72 * M], 'and acknowledged as a partial group');
    const l0 = s.dmesgLines().length;
    const c = await u.call((a) => a.createDaxDevice(0, TAG_C));
    t.equal(!c.ok && c.errno, 'EINVAL');
    t.ok(s.dmesgLines().slice(l0).some((l) => /sequence gap/.test(l.msg)), 'WARN logged');
  });

  await t.test('a group missing its TRAILING member passes the density check (SK-26)', async (t) => {
    await addChain(s, 0, [{ offset: 88 * M, length: 2 * M, tag: null }]);
    const o = await addChain(s, 0, chain([80 * M, 82 * M, 86 * M], 2 * M, TAG_D).map((r, i) => (i === 2 ? { ...r, length: 4 * M } : r)));
    t.same(o.tracked.map((e) => e.seq), [0, 1]);
    const c = await u.call((a) => a.createDaxDevice(0, TAG_D));
    t.ok(c.ok, 'claimed');
    const st = await s.state();
    t.equal(c.ok && st.daxDevices[c.value.name]!.size, 4 * M, 'with the two members present');
  });

  await t.test('conservation: surfaced = claimed + available', async (t) => {
    const st = await s.state();
    const r = st.regions.region0!;
    const surfaced = r.extents.reduce((n, e) => n + e.length, 0);
    const claimed = r.daxDevices.reduce((n, d) => n + d.size, 0);
    t.equal(surfaced, claimed + r.availableSize, `${surfaced} = ${claimed} + ${r.availableSize}`);
  });
});
