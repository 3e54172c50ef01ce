// The DAX seed device as v11 and daxctl use it (drivers/dax/bus.c create_store, seed_show,
// dax_bus_probe, delete_store, __devm_create_dev_dax; ndctl daxctl/device.c do_create):
//  - create_store accepts only "1", -ENOSPC at available_size 0, sets `seed` only when none is
//    set; the region probe's own device is never the seed; enabling the seed clears it;
//  - a failed claim leaves its 0-size seed behind; a sized but not enabled seed makes later
//    `daxctl create-device` runs fail (-EBUSY), until it is enabled;
//  - device ids come from an ida (lowest free id), so names match the kernel's after deletes;
//  - delete_store nests device_lock(cxlr_dax) → device_lock(dev_dax) → dax_dev_rwsem(W), gives
//    the id back, then unregisters under device_lock(cxlr_dax) → dax_region_rwsem(W) — and a
//    create between the two gets the freed id and fails -EEXIST (the name is still registered).
// Stores daxctl cannot be stopped in the middle of (a claim without the enable) run on this
// thread against the running system's shared memory and locks; the rest run in user workers.
import t from 'tap';
import { CxlError } from '../src/errors.js';
import { __devm_create_dev_dax, create_store, dax_dev_by_name, seed_show, uuid_store } from '../src/dax/bus.js';
import { downWrite, isHeld, mutexLock, mutexUnlock, upWrite } from '../src/shm/lock.js';
import { THREAD_WAITING_FOR, THREAD_WAITING_MODE, THREAD_WORDS } from '../src/shm/layout.js';
import { M, TAG_A, addChain, chain, region, sleep, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof CxlError) return e.errno;
    throw e;
  }
}

const names = async (s: DcdSystem): Promise<string[]> => (await s.state()).regions.region0!.daxDevices.map((d) => d.name);

/** What a worker thread holds (class names, outermost first) and waits for, as it publishes it. */
function threadLocks(s: DcdSystem, name: string): { held: string[]; waiting: string | null } {
  const sys = s.sys;
  for (let slot = 0; slot < sys.threadCount(); slot++) {
    if (sys.threadName(slot) !== name) continue;
    const held = sys.heldBy(slot).map((l) => `${sys.lockClassNameOf(l.lock)}${l.mode === 'read' ? '(R)' : ''}`);
    const w = Atomics.load(sys.threads, slot * THREAD_WORDS + THREAD_WAITING_FOR);
    const mode = Atomics.load(sys.threads, slot * THREAD_WORDS + THREAD_WAITING_MODE);
    return { held, waiting: w === 0 ? null : `${sys.lockClassNameOf(w - 1)}${mode === 2 ? '(R)' : '(W)'}` };
  }
  throw new Error(`no thread ${name}`);
}

/** Poll until `user0` waits for `lock` (bounded by a count of polls, not by time). */
async function untilWaiting(s: DcdSystem, lock: string): Promise<{ held: string[]; waiting: string | null }> {
  let st = threadLocks(s, 'user0');
  for (let i = 0; i < 2000 && st.waiting !== lock; i++) {
    await sleep(1);
    st = threadLocks(s, 'user0');
  }
  return st;
}

await withSystem(t, { users: 1 }, async (s) => {
  await region(s);
  const u = s.user(0);
  const rh = s.host.regionById(0);

  await t.test('seed: only create_store sets it, only when none is set; enabling clears it', async (t) => {
    t.same(await names(s), ['dax0.0'], 'the probe made dax0.0 (size 0)');
    t.equal(seed_show(s.ctx, rh), '', 'and it is not the seed');
    t.equal(errnoOf(() => create_store(s.ctx, rh, '1')), 'ENOSPC', 'available_size 0: create_store -ENOSPC');
    await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null }]);
    await addChain(s, 0, [{ offset: 8 * M, length: 4 * M, tag: null }]);
    t.equal(errnoOf(() => create_store(s.ctx, rh, '2')), 'EINVAL', '"2": -EINVAL');
    t.equal(errnoOf(() => create_store(s.ctx, rh, '0x1\n')), 'ok', '"0x1\\n" is 1 (kstrtoint base 0)');
    t.equal(seed_show(s.ctx, rh), 'dax0.1', 'the first create became the seed');
    t.equal(errnoOf(() => create_store(s.ctx, rh, '1')), 'ok');
    t.equal(seed_show(s.ctx, rh), 'dax0.1', 'a second create does not move the seed');
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.2']);

    // a claim without the enable (a daxctl that stopped after its uuid write)
    const seed = dax_dev_by_name(s.ctx, rh, 'dax0.1');
    uuid_store(s.ctx, seed, '0');
    let st = await s.state();
    t.match(st.regions.region0!.daxDevices[1], { name: 'dax0.1', chardev: 'dax0.1', size: 4 * M, mode: 'devdax', state: 'disabled' }, 'sized, not enabled');
    t.equal(st.regions.region0!.seed, 'dax0.1', 'and still the seed');

    const c1 = await u.call((a) => a.createDaxDevice(0, null));
    t.equal(!c1.ok && c1.errno, 'EBUSY', 'the next create-device writes its uuid into that sized seed: -EBUSY');
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.2', 'dax0.3'], 'its create_store still made a device (left idle)');

    t.ok((await u.call((a) => a.enableDaxDevice(0, 1))).ok, 'enable dax0.1');
    st = await s.state();
    t.equal(st.regions.region0!.seed, '', 'enabling the seed cleared it (dax_bus_probe)');
    t.notOk('state' in st.regions.region0!.daxDevices[1]!, 'daxctl list shows no "state" for an enabled device');

    const c2 = await u.call((a) => a.createDaxDevice(0, null));
    t.ok(c2.ok, 'now a create-device works');
    t.equal(c2.ok && c2.value.name, 'dax0.4', 'on a new seed: the lowest free id');
    t.equal((await s.state()).regions.region0!.seed, '');

    const c3 = await u.call((a) => a.createDaxDevice(0, null));
    t.equal(!c3.ok && c3.errno, 'ENOSPC', 'nothing available: create_store -ENOSPC, daxctl reports ENOSPC');
  });

  await t.test('a failed claim leaves its 0-size seed behind; the next create-device uses it', async (t) => {
    await addChain(s, 0, chain([16 * M, 20 * M], 2 * M, TAG_A));
    const bad = await u.call((a) => a.createDaxDevice(0, '99999999-9999-9999-9999-999999999999'));
    t.equal(!bad.ok && bad.errno, 'ENOENT', 'no such tag');
    t.equal(seed_show(s.ctx, rh), 'dax0.5', 'its new device stays, and stays the seed');
    const ok = await u.call((a) => a.createDaxDevice(0, TAG_A));
    t.equal(ok.ok && ok.value.name, 'dax0.5', 'the next run claims into the left-behind seed');
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.2', 'dax0.3', 'dax0.4', 'dax0.5', 'dax0.6'], 'and leaves its own create idle');
  });

  await t.test('ids from an ida: a destroyed device\'s id is the next one handed out', async (t) => {
    for (const id of [3, 2]) t.ok((await u.call((a) => a.destroyDaxDevice(0, id))).ok, `destroy the idle dax0.${id}`);
    t.ok((await u.call((a) => a.destroyDaxDevice(0, 4))).ok, 'destroy dax0.4 (disable, size 0, delete)');
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.5', 'dax0.6']);
    const c = await u.call((a) => a.createDaxDevice(0, null));
    t.equal(c.ok && c.value.name, 'dax0.2', 'the lowest free id (2), not max + 1');
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.2', 'dax0.5', 'dax0.6']);
  });

  await t.test('delete_store: device_lock(cxlr_dax) → device_lock(dev_dax) → dax_dev_rwsem(W), then dax_region_rwsem(W); a create between gets -EEXIST', async (t) => {
    // free some space so create_store gets past -ENOSPC
    t.ok((await u.call((a) => a.destroyDaxDevice(0, 2))).ok);
    t.equal(errnoOf(() => create_store(s.ctx, rh, '1')), 'ok');
    const victim = seed_show(s.ctx, rh);
    t.equal(victim, 'dax0.2', 'an idle device to delete');
    const h = s.host;
    // destroy-device first unbinds and writes size 0 (both dax rwsems); hold device_lock(cxlr_dax)
    // until it reaches delete_store, then the two rwsems, then let it in
    mutexLock(h.regionLockFor(rh));
    try {
      const del = u.call((a) => a.destroyDaxDevice(0, 2));
      const at = await untilWaiting(s, 'device_lock(cxlr_dax)(W)');
      // the sysfs write itself holds an active reference of dax_region/delete (kernfs_get_active
      // in kernfs_fop_write_iter) across the whole store: src/dax/kernfs.ts
      t.same(at, { held: ['kn->active(delete)(R)'], waiting: 'device_lock(cxlr_dax)(W)' }, 'delete_store starts with device_lock(cxlr_dax), inside its kernfs active reference');
      downWrite(h.daxRegionRwsem);
      downWrite(h.daxDevRwsem);
      mutexUnlock(h.regionLockFor(rh));
      const first = await untilWaiting(s, 'dax_dev_rwsem(W)');
      t.same(first, { held: ['kn->active(delete)(R)', 'device_lock(cxlr_dax)', 'device_lock(dev_dax)'], waiting: 'dax_dev_rwsem(W)' },
        'delete_store holds device_lock(cxlr_dax) then device_lock(dev_dax) and waits for dax_dev_rwsem (write)');
      upWrite(h.daxDevRwsem);
      const second = await untilWaiting(s, 'dax_region_rwsem(W)');
      t.same(second, { held: ['kn->active(delete)(R)', 'device_lock(cxlr_dax)'], waiting: 'dax_region_rwsem(W)' },
        'then unregister_dev_dax waits for dax_region_rwsem (write) under device_lock(cxlr_dax) alone');
      // the id is already back in the ida while dax0.2 is still registered
      const d = __devm_create_dev_dax(s.ctx, rh);
      t.equal(d, -17, 'a create in this window: ida hands out 2 again, device_add fails -EEXIST');
      upWrite(h.daxRegionRwsem);
      const r = await del;
      t.ok(r.ok, 'the delete completes');
    } finally {
      // a failed assertion above must not leave this thread holding locks the workers need
      if (isHeld(h.daxDevRwsem)) upWrite(h.daxDevRwsem);
      if (isHeld(h.daxRegionRwsem)) upWrite(h.daxRegionRwsem);
      if (isHeld(h.regionLockFor(rh))) mutexUnlock(h.regionLockFor(rh));
    }
    t.same(await names(s), ['dax0.0', 'dax0.1', 'dax0.5', 'dax0.6'], 'gone');
    t.equal(seed_show(s.ctx, rh), '', 'delete_store cleared the seed it deleted');
  });
});
