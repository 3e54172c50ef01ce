// The dev_dax mapping devices (`daxR.D/mappingN`; drivers/dax/bus.c devm_register_dax_mapping,
// unregister_dax_mapping, get_dax_range and the start/end/page_offset shows; src/dax/mapping.ts,
// docs/fidelity-mapping.md). Lifecycle: one mapping per range, registered by the claim's
// alloc_dev_dax_range, unregistered by size_store(0)'s dev_dax_shrink or by the cxl_dax_region
// unbind's devres; the shows answer v11's values. Then H27 under real threads: size_store(0)
// holding dax_region_rwsem drains mappingN/start while a show of it holds its active reference
// and waits in get_dax_range's down_write_killable(&dax_region_rwsem).
import t from 'tap';
import { downWrite, isHeld, upWrite } from '../src/shm/lock.js';
import { dax_dev_by_name, uuid_store } from '../src/dax/bus.js';
import { THREAD_WAITING_FOR, THREAD_WORDS } from '../src/shm/layout.js';
import { UAF_SITE } from '../src/protocol.js';
import { afterKnownDeadlock, knownCycleOf, knownHungOf } from '../stress/checkers/locks.js';
import { M, TAG_A, addChain, chain, events, region, sleep, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

function waitingFor(s: DcdSystem, name: string): number {
  for (let slot = 0; slot < s.sys.threadCount(); slot++) {
    if (s.sys.threadName(slot) === name) return Atomics.load(s.sys.threads, slot * THREAD_WORDS + THREAD_WAITING_FOR) - 1;
  }
  return -1;
}

async function until(s: DcdSystem, name: string, lock: number): Promise<number> {
  let polls = 0;
  while (polls++ < 5000 && waitingFor(s, name) !== lock) await sleep(1);
  return polls;
}

const mapsOf = (s: DcdSystem): number => s.host.daxMaps.liveCount();
const staleUaf = (s: DcdSystem): number => events(s, 'use-after-free').filter((e) => e.site === UAF_SITE.daxMappingStale).length;

await t.test('lifecycle: a mapping per range, v11 values, unregistered by size 0 and by the unbind', (t) =>
  withSystem(t, { users: 1 }, async (s) => {
    await region(s);
    const u = s.user(0);
    // three 2M members at offsets 0, 8M, 16M of the DC partition: a 3-range claim
    await addChain(s, 0, chain([0, 8 * M, 16 * M], 2 * M, TAG_A));
    const c = await u.call((a) => a.createDaxDevice(0, TAG_A));
    if (!c.ok) throw new Error(c.message);
    const id = c.value.devId;
    const st = await s.state();
    const ranges = st.daxDevices[c.value.name]!.ranges;
    t.equal(ranges.length, 3, 'the claim carved 3 ranges');
    t.equal(mapsOf(s), 3, 'alloc_dev_dax_range registered one mapping device per range');
    for (let n = 0; n < 3; n++) {
      const rd = async (attr: 'start' | 'end' | 'page_offset'): Promise<number> => {
        const r = await u.call((a) => a.readMapping(0, id, n, attr));
        if (!r.ok) throw new Error(`mapping${n}/${attr}: ${r.errno} ${r.message}`);
        return r.value;
      };
      t.equal(await rd('start'), ranges[n]!.offset, `mapping${n}/start = range ${n}'s start`);
      t.equal(await rd('end'), ranges[n]!.offset + ranges[n]!.length - 1, `mapping${n}/end = its start + length - 1`);
      t.equal(await rd('page_offset'), n * (2 * M / 4096), `mapping${n}/page_offset = the pages of the ranges before it (${n} x 512)`);
    }
    const none = await u.call((a) => a.readMapping(0, id, 3, 'start'));
    t.equal(!none.ok && none.errno, 'ENOENT', 'no mapping3');

    t.ok((await u.call((a) => a.disableDaxDevice(0, id))).ok, 'disable');
    t.ok((await u.call((a) => a.reconfigureDaxDevice(0, id, 0))).ok, 'size 0');
    t.equal(mapsOf(s), 0, 'dev_dax_shrink unregistered every mapping (devm_release_action)');
    const gone = await u.call((a) => a.readMapping(0, id, 0, 'start'));
    t.equal(!gone.ok && gone.errno, 'ENOENT', 'mapping0 is gone');
    t.same(s.dmesgLines().filter((l) => /devm_release_action/.test(l.msg)), [], 'every action was found (no WARN)');

    // claimed again: the dev_dax's ida gave the ids back, so the names start at mapping0 again
    const dev = dax_dev_by_name(s.ctx, s.host.regionById(0), c.value.name);
    uuid_store(s.ctx, dev, TAG_A);
    t.equal(s.host.daxDevs.get(dev, 'nrRanges'), 3, 'the same device claims the group again');
    t.equal(mapsOf(s), 3, 'three new mappings');
    const r0 = await u.call((a) => a.readMapping(0, id, 0, 'start'));
    t.ok(r0.ok, 'mapping0 exists again (ida_free in dax_mapping_release)');

    // the unbind: each mapping's unregister_dax_mapping runs (registered after its dev_dax's
    // unregister_dev_dax, so before it), nothing stale
    const ub = await s.daxBus.call((a) => a.unbindDriver(0));
    t.ok(ub.ok, 'cxl_dax_region unbind');
    t.equal(mapsOf(s), 0, 'the devres actions unregistered every mapping');
    t.equal(staleUaf(s), 0, 'no unregister_dax_mapping met a trimmed range');
  }));

await t.test('H27 under real threads: size_store(0) drains mapping0/start while its show waits for dax_region_rwsem', (t) =>
  withSystem(t, { users: 2, waitCycleCheck: true }, async (s) => {
    await region(s);
    const [u0, u1] = [s.user(0), s.user(1)];
    const H = s.host;
    let deadlocks = 0, tries = 0, otherOrder = 0;
    const N = 8;
    for (let i = 0; i < N; i++) {
      await addChain(s, 0, chain([i * 32 * M, i * 32 * M + 8 * M], 2 * M, TAG_A.slice(0, -2) + String(i).padStart(2, '0')));
      const c = await u0.call((a) => a.createDaxDevice(0, TAG_A.slice(0, -2) + String(i).padStart(2, '0')));
      if (!c.ok) throw new Error(c.message);
      const id = c.value.devId;
      t.ok((await u0.call((a) => a.disableDaxDevice(0, id))).ok, `dax0.${id} disabled`);
      tries++;
      const before = s.hungReports().length;
      // main holds dax_region_rwsem; user1's size 0 queues first, user0's show (inside its active
      // reference of mapping0/start) queues behind it; then main lets go
      downWrite(H.daxRegionRwsem);
      let shrink, show;
      try {
        shrink = u1.call((a) => a.reconfigureDaxDevice(0, id, 0));
        const p1 = await until(s, 'user1', H.daxRegionRwsem);
        show = u0.call((a) => a.readMapping(0, id, 0, 'start'));
        const p0 = await until(s, 'user0', H.daxRegionRwsem);
        t.ok(waitingFor(s, 'user1') === H.daxRegionRwsem && waitingFor(s, 'user0') === H.daxRegionRwsem, `round ${i}: both wait for dax_region_rwsem (${p1}, ${p0} polls)`);
      } finally {
        if (isHeld(H.daxRegionRwsem)) upWrite(H.daxRegionRwsem);
      }
      const [a, b] = await Promise.all([shrink, show]);
      const reports = s.hungReports().slice(before);
      if (reports.length) {
        deadlocks++;
        // the first report is the deadlock; a later one of the round is its other half timing out
        // while the first reporter unwinds (the checker's afterKnownDeadlock)
        const known = reports.map((r) => knownHungOf(r));
        t.equal(known[0]?.hazard, 'H27', `round ${i}: the hung wait is H27's chain: ${reports.map((r) => `${r.waiter.name} waits ${r.waiter.waitingFor?.cls}`).join('; ')}`);
        t.ok(reports.every((r, k) => k === 0 || known[k]?.hazard === 'H27' || afterKnownDeadlock(r, reports, k, known)), `round ${i}: any later report is that deadlock's consequence`);
        t.ok(!a.ok || !b.ok, `round ${i}: one side gave up (the model's hung task unwinds; the kernel's waits until killed): size ${a.ok ? 'ok' : a.errno}, show ${b.ok ? 'ok' : b.errno}`);
      } else {
        otherOrder++;
        t.comment(`round ${i}: the show got the rwsem first (size ${a.ok ? 'ok' : a.errno}, show ${b.ok ? b.value : b.errno})`);
      }
      // leave the device empty for the next round
      await u0.call((x) => x.reconfigureDaxDevice(0, id, 0));
    }
    t.comment(`${tries} rounds under real threads: ${deadlocks} H27 deadlocks, ${otherOrder} in the other order`);
    t.ok(deadlocks > 0, 'the deadlock happens under real threads');
    const cyc = s.lockOrderReports().map((r) => knownCycleOf(r)?.hazard ?? 'unknown');
    t.ok(cyc.includes('H27'), `lockdep reports H27's cycle (${cyc.join(', ')})`);
    t.notOk(cyc.includes('unknown'), 'no other cycle');
  }, { allowHung: true }));
