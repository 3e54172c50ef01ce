// system_wq as the kernel runs the DC add-chain watchdog (drivers/cxl/core/mbox.c
// `handle_add_event` → mod_delayed_work(system_wq, &timeout_work, 20 s); `cxl_dc_add_timeout`):
//  - work items run concurrently on kworkers: one memdev's watchdog blocked on its add_ctx.lock
//    does not delay another memdev's (the model gives each memdev's timeout_work its own kworker);
//  - mod_delayed_work never lets a superseded expiry run: a re-arm between the workqueue reading
//    an expired due time and dequeuing the item makes the dequeue fail (the arm's generation
//    changed), and an expiry already dequeued finds delayed_work_pending() and returns.
// Real threads: the device, each memdev's event thread, one kworker per memdev; virtual clock.
import t from 'tap';
import { mutexLock, mutexUnlock } from '../src/shm/lock.js';
import { M, events, inject, mark, region, sleep, withSystem } from './sys-helpers.js';

t.test('12: one memdev\'s blocked watchdog does not delay another memdev\'s', async (t) => {
  await withSystem(t, { memdevs: 2, clock: 'virtual', hungMs: 20_000 }, async (s) => {
    await region(s, 0);
    await region(s, 1);
    const ROUNDS = 4;
    let overtook = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const blocked = r % 2; // alternate which memdev's watchdog blocks
      const other = 1 - blocked;
      for (const md of [0, 1]) await inject(s, md, [{ offset: (16 + 4 * r) * M, length: 2 * M, tag: null, more: true }]);
      await s.waitIdle();
      const m0 = mark(s);
      const lock = s.host.memdevs.get(s.host.memdev(blocked), 'addLock');
      mutexLock(lock); // another context holds mem<blocked>'s add_ctx.lock (as H2's event thread would)
      try {
        s.clock.advance(20_000); // both timers fall due
        // the blocked memdev's kworker dequeues its item and waits on add_ctx.lock…
        let running = false;
        for (let k = 0; k < 2000 && !running; k++) {
          running = s.host.memdevs.load(s.host.memdev(blocked), 'timeoutRunning') === 1;
          if (!running) await sleep(2);
        }
        t.ok(running, `round ${r}: mem${blocked}'s watchdog is running, blocked on add_ctx.lock`);
        // …and the other memdev's watchdog answers meanwhile
        let answered = false;
        for (let k = 0; k < 2000 && !answered; k++) {
          answered = events(s, 'chain-closed', m0).some((e) => e.memdev === other && e.byTimeout === 1);
          if (!answered) await sleep(2);
        }
        t.ok(answered, `round ${r}: mem${other}'s watchdog refused its chain`);
        t.equal(s.host.memdevs.load(s.host.memdev(blocked), 'timeoutRunning'), 1, `round ${r}: while mem${blocked}'s is still running (blocked on add_ctx.lock)`);
        t.notOk(events(s, 'chain-closed', m0).some((e) => e.memdev === blocked), `round ${r}: mem${blocked}'s has not answered yet`);
        if (answered) overtook++;
      } finally {
        mutexUnlock(lock);
      }
      await s.waitIdle();
      t.ok(events(s, 'chain-closed', m0).some((e) => e.memdev === blocked && e.byTimeout === 1), `round ${r}: once the lock is free, mem${blocked}'s watchdog answers too`);
    }
    t.comment(`${overtook}/${ROUNDS} rounds: the unblocked memdev's watchdog ran while the other's was blocked`);
  });
});

t.test('12: a re-arm racing an expiry never lets the superseded expiry refuse the re-armed chain', async (t) => {
  await withSystem(t, { clock: 'virtual' }, async (s) => {
    await region(s);
    const ROUNDS = 25;
    let early = 0;
    let superseded = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const base = 8 * r * M;
      await inject(s, 0, [{ offset: base, length: 2 * M, tag: null, more: true }]); // r1 at T: due T+20 s
      await s.waitIdle();
      await s.advanceClock(10_000); // T+10 s: nothing due yet, so r2's re-arm will push the expiry to T+30 s
      const m0 = mark(s);
      // the expiry falls due while r2's handle_add_event re-arms the timer (mod_delayed_work)
      // the clock moves 0–4 ms after r2 is offered: early rounds let the expiry win, later ones
      // the re-arm (the record reaches the event thread through the device and its interrupt)
      const delay = r % 5;
      await Promise.all([
        inject(s, 0, [{ offset: base + 2 * M, length: 2 * M, tag: null, more: true }]),
        (async () => { if (delay) await sleep(delay); s.clock.advance(10_000); })(), // T+20 s: r1's expiry
      ]);
      await s.waitIdle();
      const during = events(s, 'chain-closed', m0).filter((e) => e.byTimeout === 1);
      // kernel outcomes: the T+20 s expiry ran before r2's re-arm (refuses r1 alone), or r2's re-arm
      // (due T+30 s) superseded it (nothing refused now). Never: the superseded expiry refusing r2.
      t.ok(during.every((e) => e.staged === 1), `round ${r}: an expiry that ran refused only the record staged before the re-arm (staged ${during.map((e) => e.staged).join(',') || 'none'})`);
      if (during.length) early++;
      else superseded++;
      const m1 = mark(s);
      await s.advanceClock(20_000); // whatever is still armed now falls due
      await s.waitIdle();
      const after = events(s, 'chain-closed', m1).filter((e) => e.byTimeout === 1);
      t.same(after.map((e) => e.staged), [during.length ? 1 : 2], `round ${r}: the re-armed chain is refused only at its own expiry`);
      t.equal(s.host.memdevs.get(s.host.memdev(0), 'armed'), 0, `round ${r}: nothing left armed`);
    }
    t.comment(`${ROUNDS} rounds: ${early} expiries ran before the re-arm, ${superseded} were superseded by it`);
  });
});
