// How the checkers classify what v11's drain does with a record the device delivered twice —
// a redelivery after a failed Clear, or a stale record read from the event buffer past a lying
// record_count (drivers/cxl/core/mbox.c `cxl_mem_get_records_log` trusts the count):
//  - the host stages it into whatever chain is open; the response then answers records of two
//    device chains. That mix is the redelivery's (known `chain-redelivered`), not a handler race
//    (`chain-mixed` stays forbidden when no record was delivered twice);
//  - a chain that carries one range twice realizes both copies as dc_extents of one group: v11
//    classifies a new extent against cxlr_dax->dc_extents only (cxlr_dax_classify_extent), never
//    against its chain mates (known `extent-dup-in-chain`; two extents of different groups
//    overlapping stay the forbidden `extent-overlap`).
// Synthetic event sequences, the shapes the hostile swarm produced (seed 19).
import t from 'tap';
import { MiB } from '../src/units.js';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { CheckerResult, SystemState } from '../src/state.js';
import { ChainsChecker, ExtentsChecker, classify, type CheckResult, type SysLike } from '../stress/checkers/index.js';

const M = MiB;
const BASE = 2048 * M;
const NULL = '00000000-0000-0000-0000-000000000000';
const IRQ = 4;
const REGION = 65536;
const noSys: SysLike = {};
const D = (ev: RuntimeEvent, thread = IRQ): DecodedEvent => ({ ev, thread, timeMs: 0 });
const rec = (handle: number, dpa: number, more: number): RuntimeEvent =>
  ({ type: 'dc-record', memdev: 0, eventType: 0, more, dpa: BASE + dpa, len: 2 * M, uuid: NULL, seq: 0, hostId: 0, regionIndex: 255, handle });
const closed = (chain: number, staged: number): RuntimeEvent => ({ type: 'chain-closed', memdev: 0, chain, staged, byTimeout: 0, handle: -1 });
const rext = (chain: number, dpa: number): RuntimeEvent => ({ type: 'response-extent', memdev: 0, chain, dpa: BASE + dpa, len: 2 * M });
const resp = (chain: number, n: number): RuntimeEvent => ({ type: 'response', memdev: 0, chain, nrExtents: n, parts: 1, rc: 0 });
const tracked = (extent: number, dpa: number, group: number): RuntimeEvent => ({
  type: 'extent-tracked', memdev: 0, region: REGION, extent, id: extent, dpa: BASE + dpa, len: 2 * M, uuid: NULL, seq: extent, group, existing: 0, shareable: 0,
});
const empty = (): SystemState => ({ regions: {}, daxDevices: {}, memdevs: {}, trace: { mailbox: [], dynamicCapacityEvents: [], log: [] }, ops: {}, checks: [] });
const bad = (rs: CheckerResult[]): CheckResult[] => rs.filter((r) => !r.ok || (r as CheckResult).outcome !== 'ok') as CheckResult[];

t.test('a response mixing chains through a stale (twice-delivered) record is chain-redelivered', async (t) => {
  const c = new ChainsChecker();
  c.onEvent(D({ type: 'scan-done', region: REGION, rc: 0, attempts: 1, found: 0 }, 5));
  // chain #1 (handle 1, More=0) answered; later chain 2..3: the stale copy of record 1 is read
  // past a lying count and staged into it before record 3 closes it
  for (const e of [
    D(rec(1, 0, 0)), D(closed(1, 1)), D(rext(1, 0)), D(resp(1, 1)),
    D(rec(2, 2 * M, 1)), D(rec(1, 0, 0)), D(rec(3, 4 * M, 0)),
    D(closed(2, 3)), D(rext(2, 2 * M)), D(rext(2, 0)), D(rext(2, 4 * M)), D(resp(2, 3)),
  ]) c.onEvent(e);
  const rs = c.atQuiescence(empty(), noSys);
  const b = bad(rs);
  t.ok(b.length > 0, 'the mix is reported');
  t.ok(b.every((r) => r.outcome === 'chain-redelivered'), `as chain-redelivered: ${b.map((r) => r.outcome).join(', ')}`);
  t.equal(classify(rs).class, 'known-hazard');
});

t.test('the same mix without a twice-delivered record stays forbidden (chain-mixed)', async (t) => {
  const c = new ChainsChecker();
  for (const e of [
    D(rec(1, 0, 1)), D(rec(2, 2 * M, 0), 9), D(closed(1, 1), 9), D(rext(1, 2 * M)), D(resp(1, 1), 9),
    D(rec(3, 4 * M, 0)), D(closed(2, 2)), D(rext(2, 0)), D(rext(2, 4 * M)), D(resp(2, 2)),
  ]) c.onEvent(e);
  const rs = c.atQuiescence(empty(), noSys);
  t.equal(classify(rs).outcome, 'chain-mixed');
  t.equal(classify(rs).class, 'forbidden');
});

t.test('two dc_extents of one group over one range: extent-dup-in-chain; of two groups: extent-overlap', async (t) => {
  const same = new ExtentsChecker();
  same.onEvent(D({ type: 'scan-done', region: REGION, rc: 0, attempts: 1, found: 0 }, 5));
  same.onEvent(D(tracked(10, 0, 7)));
  same.onEvent(D(tracked(11, 0, 7)));
  const a = bad(same.atQuiescence(empty(), noSys)).map((r) => r.outcome);
  t.ok(a.includes('extent-dup-in-chain'), `one group: ${a.join(', ')}`);
  t.notOk(a.includes('extent-overlap'));

  const two = new ExtentsChecker();
  two.onEvent(D({ type: 'scan-done', region: REGION, rc: 0, attempts: 1, found: 0 }, 5));
  two.onEvent(D(tracked(10, 0, 7)));
  two.onEvent(D(tracked(11, 0, 8)));
  const b = bad(two.atQuiescence(empty(), noSys)).map((r) => r.outcome);
  t.ok(b.includes('extent-overlap'), `two groups: ${b.join(', ')}`);
});
