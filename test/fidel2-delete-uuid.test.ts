// Audit items 7, 8 and 5 (docs/fidelity-fidel2.md), against drivers/dax/bus.c as v11 has it
// (patch 26 for uuid_store; delete_store, dax_region_unregister and alloc_dax_region are generic
// dax-bus code, identical in the two stored copies nearest v11, 002871cc and a0123a73):
//  - delete_store: two deletes of one name that both found the device — the loser sees id -1
//    (__free_dev_dax_id ran) and returns -EBUSY, also when the winner's unregister_dev_dax has
//    finished meanwhile (the loser's get_device keeps the dev_dax); a lookup after the winner's
//    device_del began (klist_del of knode_parent precedes device_remove_attrs,
//    drivers/base/core.c device_del) finds nothing: -ENXIO. The model returned success / -ENXIO;
//  - uuid_store on a device that outlived its dax_region's unregistration (created by a create
//    write inside the unbind, H24's device): is_dynamic() still reads IORESOURCE_DAX_DCD in the
//    dax_region struct, so the write fails at `!dax_region->dev->driver`: -ENXIO. The model
//    returned -EOPNOTSUPP;
//  - dax_region_unregister and alloc_dax_region take no dax_region_rwsem; the model took it (W)
//    in both.
// Handshakes (lock waiters, never a clock) decide the interleavings; real worker threads.
import t from 'tap';
import { __devm_create_dev_dax, available_size, create_store, dax_dev_by_name, uuid_store } from '../src/dax/bus.js';
import { cxl_dax_region_probe, cxl_dax_region_unbind } from '../src/dax/cxl.js';
import { CxlError } from '../src/errors.js';
import { downRead, downWrite, mutexLock, mutexUnlock, setLockTraceHook, upRead, upWrite, withLock } from '../src/shm/lock.js';
import { THREAD_WAITING_FOR, THREAD_WORDS } from '../src/shm/layout.js';
import { M, addChain, events, mark, region, sleep, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

/** How many threads wait for lock `id` right now (their slot's waiting-for word). */
function waitersFor(s: DcdSystem, id: number): number {
  const T = s.sys.threads;
  let n = 0;
  for (let b = 0; b + THREAD_WORDS <= T.length; b += THREAD_WORDS) if (Atomics.load(T, b + THREAD_WAITING_FOR) === id + 1) n++;
  return n;
}

/** Poll (1 ms steps) until `cond`; a hang guard, not a timing assertion. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20000; i++) {
    if (cond()) return;
    await sleep(1);
  }
  throw new Error(`never happened: ${what}`);
}

function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof CxlError) return e.errno;
    throw e;
  }
}

t.test('delete_store: two deletes of one device that both found it — one wins, the other -EBUSY (id -1)', async (t) => {
  await withSystem(t, { users: 2 }, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null, more: false }]); // create_store needs available size
    const rounds = 3;
    const seen = new Map<string, number>();
    for (let k = 0; k < rounds; k++) {
      const d = create_store(s.ctx, r, '1');
      const name = `dax${id}.${s.host.daxDevs.get(d, 'id')}`;
      const lock = s.host.regionLockFor(r);
      // this thread holds device_lock(cxlr_dax) (as a bind or a probe would): both deletes find the
      // device (device_find_child_by_name, no lock) and wait for that lock
      mutexLock(lock);
      let p0: Promise<{ ok: boolean; errno?: string }>;
      let p1: Promise<{ ok: boolean; errno?: string }>;
      try {
        p0 = s.user(0).call((a) => a.deleteByName(id, name)) as never;
        p1 = s.user(1).call((a) => a.deleteByName(id, name)) as never;
        await until(() => waitersFor(s, lock) === 2, 'both deletes waiting for device_lock(cxlr_dax)');
      } finally {
        mutexUnlock(lock);
      }
      const res = [await p0!, await p1!];
      const outcome = res.map((x) => (x.ok ? 'ok' : x.errno)).sort().join('+');
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      t.equal(outcome, 'EBUSY+ok', `round ${k}: one delete succeeded, the other -EBUSY (the old model: EFAULT, a stale handle)`);
      t.equal(dax_dev_by_name(s.ctx, r, name), 0, `round ${k}: ${name} is gone`);
    }
    t.comment(`${rounds} rounds of two concurrent deletes: ${JSON.stringify(Object.fromEntries(seen))}`);
  });
});

t.test('delete_store: a lookup after the winner\'s device_del began finds nothing: -ENXIO', async (t) => {
  await withSystem(t, { users: 2 }, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null, more: false }]);
    const d = create_store(s.ctx, r, '1');
    const name = `dax${id}.${s.host.daxDevs.get(d, 'id')}`;
    const kn = s.host.knDevLockFor(d, 'size');
    // a reader inside the device's `size` attribute (size_show's kernfs active reference): the
    // winner's unregister_dev_dax → device_del drains it, after taking the device off the klist
    downRead(kn);
    let p0: Promise<{ ok: boolean; errno?: string }>;
    let settled1 = false;
    let r1: { ok: boolean; errno?: string } | null = null;
    try {
      p0 = s.user(0).call((a) => a.deleteByName(id, name)) as never;
      await until(() => waitersFor(s, kn) === 1, 'the first delete draining the size attribute (device_del under way)');
      void s.user(1).call((a) => a.deleteByName(id, name)).then((x) => { r1 = x as never; settled1 = true; });
      // v11: the second lookup fails at once; a model that still found the device would wait for
      // device_lock(cxlr_dax), which the first delete holds
      await until(() => settled1 || waitersFor(s, s.host.regionLockFor(r)) > 0, 'the second delete answered or blocked');
    } finally {
      upRead(kn);
    }
    const r0 = await p0!;
    await until(() => settled1, 'the second delete answered');
    t.ok(r0.ok, 'the first delete succeeded');
    t.equal(r1!.ok ? 'ok' : r1!.errno, 'ENXIO', 'the second: device_find_child_by_name found nothing (-ENXIO), without waiting for device_lock(cxlr_dax)');
  });
});

t.test('uuid_store on a device that outlived its dax_region (created inside the unbind): -ENXIO, not -EOPNOTSUPP', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    await addChain(s, 0, [{ offset: 0, length: 4 * M, tag: null, more: false }]);
    const rw = s.host.daxRegionRwsem;
    const m = mark(s);
    // hold dax_region_rwsem (W): the unbind takes its devres list, then its first action
    // (dc_extent_unregister → device_del → dax_release_resource) waits for the rwsem
    downWrite(rw);
    let d = -1;
    let unbind: Promise<{ ok: boolean }>;
    try {
      unbind = s.daxBus.call((a) => a.unbindDriver(id)) as never;
      await until(() => waitersFor(s, rw) === 1 && events(s, 'region-teardown', m).length === 1, 'the unbind waiting for dax_region_rwsem after taking its devres list');
      // create_store's section under the rwsem (drivers/dax/bus.c): available size, then
      // __devm_create_dev_dax — its unregister_dev_dax action lands after the unbind took the list
      t.ok(available_size(s.ctx, r) > 0, 'available size (the extent\'s resource is not freed yet)');
      d = __devm_create_dev_dax(s.ctx, r) as number;
      t.ok(d > 0, 'a device created inside the unbind');
    } finally {
      upWrite(rw);
    }
    t.ok((await unbind!).ok, 'the unbind completed');
    await s.waitIdle();
    t.ok(s.host.daxDevs.isLive(d), 'the device outlived the unbind (H24\'s device)');
    t.equal(s.host.regions.load(r, 'daxRegion'), 0, 'its dax_region was unregistered');
    t.equal(errnoOf(() => uuid_store(s.ctx, d, '0')), 'ENXIO', 'uuid_store: is_dynamic still true, dax_region->dev->driver NULL → -ENXIO (the old model: -EOPNOTSUPP)');
  });
});

t.test('neither dax_region_unregister nor alloc_dax_region takes dax_region_rwsem', async (t) => {
  await withSystem(t, {}, async (s) => {
    const id = await region(s);
    const r = s.host.regionById(id);
    const rw = s.host.daxRegionRwsem;
    let holds = 0;
    setLockTraceHook((_cls, lock) => { if (lock === rw) holds++; });
    try {
      // the unbind and the probe run on this thread under device_lock(cxlr_dax), as the driver core
      // runs them; the region has no extent and one device (dax0.0, the probe's)
      t.equal(withLock(s.host.regionLockFor(r), () => cxl_dax_region_unbind(s.ctx, r)), 0, 'unbound');
      t.equal(holds, 1, 'the unbind held dax_region_rwsem once: dax0.0\'s unregister_dev_dax; dax_region_unregister took none (the old model: 2)');
      holds = 0;
      t.equal(withLock(s.host.regionLockFor(r), () => cxl_dax_region_probe(s.ctx, r)), 0, 'probed again');
      t.equal(holds, 1, 'the probe held it once: devm_create_dev_dax of the new dax0.0; alloc_dax_region took none (the old model: 2)');
    } finally {
      setLockTraceHook(null);
    }
    t.equal(s.host.regions.load(r, 'daxRegionGen'), 2, 'two dax_region instances so far (one per probe)');
  });
});
