// H26 (eighth session; docs/kernel-map.md#h26): v11's cxl_add_pending (drivers/cxl/core/mbox.c)
// realizes a chain's groups — cxl_realize_group: online_tag_group, cxlr_notify_extent → the DAX
// driver's dax_region_add_resources — before it sends the Add DC Response, so `daxctl
// create-device --uuid` can claim and map a group whose acceptance the device has not seen, and
// a write to it is refused. The data checker names such a refusal only with that evidence: a
// runtime extent backing the device whose listing response had not completed at the refusal.
// The response's `response-extent` events come BEFORE its mailbox command; acceptance is the
// command's completion (the `mbox` event, same thread).
import t from 'tap';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { DataChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import { replayStored } from './helpers/replay-stored.js';

const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const R = 7;
const L = 8 << 20;
const IRQ = 1, USER = 3;
const A = 0x90000000, B = 0x92000000;
const ev = (e: RuntimeEvent, thread: number): DecodedEvent => ({ thread, ev: e, timeMs: 0 } as DecodedEvent);
const tracked = (extent: number, dpa: number, existing = 0): DecodedEvent => ev({ type: 'extent-tracked', memdev: 0, region: R, extent, id: extent, dpa, len: L, uuid: TAG, seq: extent, group: 1, existing, shareable: 0 }, IRQ);
const listed = (dpa: number): DecodedEvent => ev({ type: 'response-extent', memdev: 0, chain: 1, dpa, len: L }, IRQ);
const responded = (rc = 0): DecodedEvent => ev({ type: 'mbox', memdev: 0, opcode: CXL_MBOX_OP.ADD_DC_RESPONSE, rc, nrExtents: 2, more: 0, dpa: A, len: L }, IRQ);
const claim = ev({ type: 'claim', region: R, dev: 9, uuid: TAG, rc: 0, nRanges: 2, size: 2 * L, groupMembers: 2 }, USER);
const refused = ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 1, ok: 0 }, USER);
const group = [tracked(1, A), tracked(2, B)];

function judge(evs: DecodedEvent[]): string[] {
  const c = new DataChecker();
  for (const e of evs) c.onEvent(e);
  return c.atQuiescence({ trace: { mailbox: [] } } as unknown as SystemState, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('dax-access'));
}

t.test('a write refused before the Add DC Response completed, to a claimed runtime group: H26', (t) => {
  t.same(judge([...group, claim, refused, listed(A), listed(B), responded()]), ['dax-access-refused-h26'], 'claimed and written before the response was even built');
  t.same(judge([...group, listed(A), listed(B), claim, refused, responded()]), ['dax-access-refused-h26'], 'listed but its mailbox command not complete (the minimized trace\'s order)');
  t.end();
});

t.test('and only then', (t) => {
  t.same(judge([...group, listed(A), listed(B), responded(), claim, refused]), ['dax-access-refused'], 'after the response completed: forbidden');
  t.same(judge([tracked(1, A, 1), tracked(2, B, 1), claim, refused]), ['dax-access-refused'], 'recovered extents (the scan; never in a response): forbidden');
  t.same(judge([...group, listed(A), listed(B), ev({ type: 'mbox', memdev: 0, opcode: CXL_MBOX_OP.ADD_DC_RESPONSE, rc: 0, nrExtents: 2, more: 0, dpa: A, len: L }, USER), claim, refused, responded()]), ['dax-access-refused-h26'], 'another thread\'s response completing does not accept this one\'s list');
  t.same(judge([...group, claim, refused]), ['dax-access-refused'], 'no response ever listed it (never accepted later either): forbidden, not H26');
  t.same(judge([...group, claim, refused, listed(A), listed(B), responded(-5)]), ['dax-access-refused-h10'], 'the response failed at the device (never accepted): H10, not H26');
  const c = new DataChecker();
  for (const e of [...group, claim]) c.onEvent(e);
  c.reset();
  for (const e of [claim, refused, listed(A), listed(B), responded()]) c.onEvent(e);
  t.same(c.atQuiescence({ trace: { mailbox: [] } } as unknown as SystemState, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('dax-access')), ['dax-access-refused'], 'reset forgets the pending extents');
  t.end();
});

t.test('the minimized trace (docs/findings) replays step for step to H26 on real threads', (t) =>
  replayStored(t, 'docs/findings/traces/claim-write-vs-add-response-dax-access-refused-h26-3-63.min.trace.json', 'dax-access-refused-h26', 'dax-access-refused'));
