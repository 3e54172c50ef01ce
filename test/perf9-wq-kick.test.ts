// The add chain's watchdog without a kworker wake-up per chain (#17, docs/performance.md, "Eleventh session: the DCD pipeline"):
// handle_add_event's mod_delayed_work(system_wq, &timeout_work, 20 s) (drivers/cxl/core/mbox.c)
// kicks the workqueue only when the kworker could otherwise sleep past the due time
// (`wqKickNeeded`). On the real clock in a free-running system the kworker looks at its timers at
// least every WQ_MAX_SLEEP_MS, so a chain's first record arms the timer without a kick — and the
// expiry must still fire on time. The virtual clock and a recorded / controlled schedule keep
// the kick (the stored traces replay it).
import t from 'tap';
import { SystemShm } from '../src/shm/system.js';
import { WQ_MAX_SLEEP_MS, wqKickNeeded } from '../src/shm/clock.js';
import { SCHED_CONTROLLED, SCHED_FREE, SCHED_RECORD } from '../src/shm/sched.js';
import { SYS_WQ_KICK } from '../src/shm/layout.js';
import { CXL_DC_ADD_TIMEOUT_MS } from '../src/cxl/extent.js';
import { M, events, inject, mark, region, sleep, withSystem } from './sys-helpers.js';

t.test('wqKickNeeded: which arms wake the kworker', (t) => {
  const real = SystemShm.create({ clock: 'real', hungMs: 0 });
  const virt = SystemShm.create({ clock: 'virtual', hungMs: 0 });
  t.equal(wqKickNeeded(real, 1000 + CXL_DC_ADD_TIMEOUT_MS, 1000), false, 'real clock, free: the 20 s watchdog needs no kick');
  t.equal(wqKickNeeded(real, 1000 + WQ_MAX_SLEEP_MS, 1000), true, 'real clock, free: a due time within the kworker\'s longest sleep is kicked');
  t.equal(wqKickNeeded(real, 1000 + WQ_MAX_SLEEP_MS + 1, 1000), false, '… one beyond it is not');
  t.equal(wqKickNeeded(virt, 1000 + CXL_DC_ADD_TIMEOUT_MS, 1000), true, 'virtual clock: always kicked (time moves only by advance)');
  for (const [mode, name] of [[SCHED_RECORD, 'recorded'], [SCHED_CONTROLLED, 'controlled']] as const) {
    real.turnstile.setMode(mode);
    t.equal(wqKickNeeded(real, 1000 + CXL_DC_ADD_TIMEOUT_MS, 1000), true, `real clock, ${name} schedule: kicked (a step of the schedule)`);
  }
  real.turnstile.setMode(SCHED_FREE);
  t.end();
});

t.test('virtual clock: a chain\'s first record still kicks the workqueue', async (t) => {
  await withSystem(t, { clock: 'virtual' }, async (s) => {
    await region(s);
    await s.waitIdle();
    const k0 = Atomics.load(s.sys.header, SYS_WQ_KICK);
    await inject(s, 0, [{ offset: 0, length: 2 * M, tag: null, more: true }]);
    await s.waitIdle();
    t.ok(Atomics.load(s.sys.header, SYS_WQ_KICK) > k0, `the kick word moved (${k0} → ${Atomics.load(s.sys.header, SYS_WQ_KICK)})`);
  });
});

t.test('real clock, free: no kick per chain, and the 20 s watchdog still refuses an open chain on time', async (t) => {
  await withSystem(t, { clock: 'real', hungMs: 60_000 }, async (s) => {
    await region(s);
    await s.waitIdle();
    const k0 = Atomics.load(s.sys.header, SYS_WQ_KICK);
    const m0 = mark(s);
    const t0 = Date.now();
    await inject(s, 0, [{ offset: 0, length: 2 * M, tag: null, more: true }]); // More=1: the chain stays open
    await s.waitIdle();
    t.equal(Atomics.load(s.sys.header, SYS_WQ_KICK), k0, 'arming the watchdog did not kick the workqueue');
    t.notOk(events(s, 'chain-closed', m0).length, 'the chain is open');
    // the kworker was not told: it must find the timer on its own next look and fire it at the due time
    let closed: ReturnType<typeof events<'chain-closed'>> = [];
    while (Date.now() - t0 < CXL_DC_ADD_TIMEOUT_MS + 10_000 && closed.length === 0) {
      await sleep(100);
      closed = events(s, 'chain-closed', m0);
    }
    const after = Date.now() - t0;
    t.equal(closed.length, 1, `the watchdog answered the open chain (${after} ms after the inject)`);
    t.equal(closed[0]?.byTimeout, 1, 'by timeout');
    t.ok(after >= CXL_DC_ADD_TIMEOUT_MS, `not before the 20 s due time (${after} ms)`);
  });
});
