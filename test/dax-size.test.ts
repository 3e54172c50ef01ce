// size_store on a DC dax device in v11's order (drivers/dax/bus.c size_store → dev_dax_resize,
// v11 patch 25): kstrtoull; misaligned → -EINVAL before any lock; under dax_region_rwsem(W) the
// region driver gone → -ENXIO; under dax_dev_rwsem(W) a driver bound → -EBUSY; the current size
// → success; only then a non-zero size → -EOPNOTSUPP; 0 trims.
import t from 'tap';
import { CxlError } from '../src/errors.js';
import { dax_dev_by_name, size_store } from '../src/dax/bus.js';
import { downWrite, isHeld, upWrite } from '../src/shm/lock.js';
import { THREAD_WAITING_FOR, THREAD_WORDS } from '../src/shm/layout.js';
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

function waitingFor(s: DcdSystem, name: string): number {
  for (let slot = 0; slot < s.sys.threadCount(); slot++) {
    if (s.sys.threadName(slot) === name) return Atomics.load(s.sys.threads, slot * THREAD_WORDS + THREAD_WAITING_FOR) - 1;
  }
  return -1;
}

await withSystem(t, { users: 1 }, async (s) => {
  await region(s);
  const u = s.user(0);
  const rh = s.host.regionById(0);
  await addChain(s, 0, chain([0, 8 * M], 2 * M, TAG_A));
  const c = await u.call((a) => a.createDaxDevice(0, TAG_A));
  if (!c.ok) throw new Error(c.message);
  const dev = dax_dev_by_name(s.ctx, rh, c.value.name);
  const id = c.value.devId;

  await t.test('each check in order, each reached only when the ones before it pass', async (t) => {
    // the region driver "gone" is the window in which cxl_dax_region is being unbound while the
    // device still exists; the model's flag is set here directly to reach that branch
    s.host.regions.store(rh, 'driverBound', 0);
    try {
      t.equal(errnoOf(() => size_store(s.ctx, dev, String(3 * M))), 'EINVAL', 'misaligned (3M, align 2M) → EINVAL, before the region driver check');
      t.equal(errnoOf(() => size_store(s.ctx, dev, 'junk')), 'EINVAL', 'unparsable → EINVAL');
      t.equal(errnoOf(() => size_store(s.ctx, dev, String(8 * M))), 'ENXIO', 'aligned, region driver unbound → ENXIO, before the device driver check');
    } finally {
      s.host.regions.store(rh, 'driverBound', 1);
    }
    t.equal(errnoOf(() => size_store(s.ctx, dev, String(8 * M))), 'EBUSY', 'device enabled → EBUSY, before the DC check');
    t.equal(errnoOf(() => size_store(s.ctx, dev, '0')), 'EBUSY', 'also for 0');
    t.ok((await u.call((a) => a.disableDaxDevice(0, id))).ok, 'disable');
    t.equal(errnoOf(() => size_store(s.ctx, dev, String(4 * M))), 'ok', 'the current size (4M) → success, before the DC check');
    t.equal(errnoOf(() => size_store(s.ctx, dev, '0x400000\n')), 'ok', 'also as hex with a newline');
    t.equal(errnoOf(() => size_store(s.ctx, dev, String(8 * M))), 'EOPNOTSUPP', 'any other non-zero size → EOPNOTSUPP');
    t.equal(errnoOf(() => size_store(s.ctx, dev, String(2 * M))), 'EOPNOTSUPP', 'a shrink too');
    t.equal((await s.state()).daxDevices[c.value.name]!.size, 4 * M, 'nothing changed');
  });

  await t.test('under real threads: the alignment check runs before dax_region_rwsem; the rest waits for it', async (t) => {
    const H = s.host;
    downWrite(H.daxRegionRwsem);
    try {
      const mis = await u.call((a) => a.reconfigureDaxDevice(0, id, 3 * M));
      t.equal(!mis.ok && mis.errno, 'EINVAL', 'a misaligned size fails while another thread holds dax_region_rwsem');
      const p = u.call((a) => a.reconfigureDaxDevice(0, id, 8 * M));
      let polls = 0;
      while (polls++ < 2000 && waitingFor(s, 'user0') !== H.daxRegionRwsem) await sleep(1);
      t.equal(waitingFor(s, 'user0'), H.daxRegionRwsem, `an aligned size waits for dax_region_rwsem (seen after ${polls} polls)`);
      upWrite(H.daxRegionRwsem);
      const r = await p;
      t.equal(!r.ok && r.errno, 'EOPNOTSUPP', 'and then fails EOPNOTSUPP');
    } finally {
      if (isHeld(H.daxRegionRwsem)) upWrite(H.daxRegionRwsem);
    }
  });

  await t.test('0 trims every range; the group is available again', async (t) => {
    const r = await u.call((a) => a.reconfigureDaxDevice(0, id, 0));
    t.ok(r.ok);
    const st = await s.state();
    t.equal(st.daxDevices[c.value.name]!.size, 0);
    t.equal(st.regions.region0!.availableSize, 4 * M);
  });
});
