// The instrumentation switches the bench prices (#17 point 2, bench/instrumentation.ts): lockdep
// and lock statistics are separable, the event filter drops exactly the listed types, and dynamic
// debug off drops dev_dbg lines only. One thread, no workers; nothing about speed is asserted.
import t from 'tap';
import { SystemShm } from '../src/shm/system.js';
import { initThread, mutexLock, mutexUnlock } from '../src/shm/lock.js';
import { lockClassId } from '../src/shm/lock-classes.js';
import { lockOrderReportCount, lockStats } from '../src/shm/lockdep.js';
import { MpscRing } from '../src/shm/ring.js';
import { TextLog } from '../src/shm/textlog.js';
import { HostState } from '../src/host/state.js';
import { HostCtx } from '../src/host/context.js';
import { decodeEvent, EVENT_RECORD_WORDS, type HostOptions } from '../src/protocol.js';

/** take A→B then B→A (an inversion) `n` times; returns the acquisitions counted and the reports */
function inversion(lockdep: boolean, lockStatsOn: boolean, n: number): { acquisitions: number; reports: number } {
  const sys = SystemShm.create({ lockdep, lockStats: lockStatsOn, hungMs: 0 });
  initThread(sys, `switches-${String(lockdep)}-${String(lockStatsOn)}`);
  const a = sys.allocLock(lockClassId('event.log_lock'), 'mutex');
  const b = sys.allocLock(lockClassId('mbox_mutex'), 'mutex');
  for (let i = 0; i < n; i++) {
    mutexLock(a); mutexLock(b); mutexUnlock(b); mutexUnlock(a);
    mutexLock(b); mutexLock(a); mutexUnlock(a); mutexUnlock(b);
  }
  const acquisitions = lockStats(sys).reduce((s, x) => s + x.acquisitions, 0);
  return { acquisitions, reports: lockOrderReportCount(sys) };
}

t.test('lockdep and lock statistics switch independently', async (t) => {
  const n = 50;
  const both = inversion(true, true, n);
  t.equal(both.acquisitions, 4 * n, `both on: ${both.acquisitions} acquisitions counted`);
  t.ok(both.reports > 0, `both on: the inversion is reported (${both.reports})`);
  const ldOnly = inversion(true, false, n);
  t.equal(ldOnly.acquisitions, 0, 'statistics off: nothing counted');
  t.ok(ldOnly.reports > 0, `statistics off: lockdep still reports the inversion (${ldOnly.reports})`);
  const stOnly = inversion(false, true, n);
  t.equal(stOnly.acquisitions, 4 * n, 'lockdep off, statistics on: acquisitions counted');
  t.equal(stOnly.reports, 0, 'lockdep off: no report');
  const neither = inversion(false, false, n);
  t.same(neither, { acquisitions: 0, reports: 0 }, 'both off');
  // the default: statistics follow lockdep
  t.equal(SystemShm.create({ lockdep: false }).lockStatsOn, false, 'lockStats defaults to lockdep (off)');
  t.equal(SystemShm.create({}).lockStatsOn, true, 'lockStats defaults to lockdep (on)');
});

function ctxWith(options: Partial<HostOptions>): { ctx: HostCtx; ring: MpscRing; dmesg: TextLog } {
  const sys = SystemShm.create({ hungMs: 0 });
  initThread(sys, 'switches-ctx');
  const host = HostState.create(sys, 1);
  const ring = MpscRing.create(1024, EVENT_RECORD_WORDS);
  const dmesg = TextLog.create(64 * 1024);
  const ctx = new HostCtx({
    system: sys.handle(), host: host.handle(), regfiles: [], media: [], events: ring.sab, dmesg: dmesg.sab,
    options: { knobs: {} as HostOptions['knobs'], traceLocks: false, mboxTimeoutMs: 2000, ...options },
  }, sys, host);
  return { ctx, ring, dmesg };
}

function drain(ring: MpscRing): string[] {
  const out = new Int32Array(1024 * EVENT_RECORD_WORDS);
  const f64 = new Float64Array(out.buffer);
  const k = ring.popBatch(out, 1024);
  const types: string[] = [];
  for (let i = 0; i < k; i++) {
    const w = EVENT_RECORD_WORDS;
    const d = decodeEvent(out.subarray(i * w, (i + 1) * w), f64.subarray((i * w) >> 1, ((i + 1) * w) >> 1));
    if (d) types.push(d.ev.type);
  }
  return types;
}

t.test('the event filter drops the listed types only; dynamic debug off drops dev_dbg only', async (t) => {
  const mbox = { type: 'mbox' as const, memdev: 0, opcode: 0x4801, rc: 0, nrExtents: 1, more: 0, dpa: 0x80000000, len: 0x200000 };
  const tracked = { type: 'response' as const, memdev: 0, chain: 1, nrExtents: 2, parts: 1, rc: 0 };
  const all = ctxWith({});
  for (let i = 0; i < 10; i++) { all.ctx.emit(mbox); all.ctx.emit(tracked); }
  t.equal(drain(all.ring).length, 20, 'no filter: every event');
  const f = ctxWith({ dropEvents: ['mbox'] });
  for (let i = 0; i < 10; i++) { f.ctx.emit(mbox); f.ctx.emit(tracked); }
  const seen = drain(f.ring);
  t.same([seen.length, [...new Set(seen)]], [10, ['response']], 'mbox dropped, response kept');
  t.equal(f.ctx.droppedEvents, 0, 'a filtered event is not a ring drop (checkers would call the run inconclusive)');

  const on = ctxWith({});
  const off = ctxWith({ dynamicDebug: false });
  for (const c of [on, off]) {
    c.ctx.dmesg('dbg', 'mem0', 'a debug line');
    c.ctx.dmesg('err', 'mem0', 'an error line');
  }
  t.same(on.dmesg.read<{ level: string }>().map((l) => l.level), ['dbg', 'err'], 'dynamic debug on: both lines');
  t.same(off.dmesg.read<{ level: string }>().map((l) => l.level), ['err'], 'dynamic debug off: the error line only');
  t.equal(off.ctx.dynDbg, false, 'call sites can skip building the message');
});

t.test('a full kernel log drops a line without building it, and counts the drop', async (t) => {
  const log = TextLog.create(256);
  let written = 0;
  for (let i = 0; i < 50; i++) if (log.append({ i, msg: 'x'.repeat(20) })) written++;
  t.ok(written > 0 && written < 50, `${written} of 50 lines fit`);
  t.equal(log.read().length, written, 'every written line reads back');
  t.equal(log.dropped(), 50 - written, 'the rest counted as drops');
});
