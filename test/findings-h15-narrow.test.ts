// The older H15 data rule (stress/checkers/data.ts, releasedUnder): a write refused after a
// cxl_dax_region teardown's Release DC of an extent backing the device is H15
// (dax-access-refused-h15). "Backing" was any extent of the device's region with its tag — also a
// member the device never took: a claim inside the teardown takes only the members still
// registered (uuid_claim_tagged walks cxlr_dax's children, drivers/dax/bus.c), and the member the
// teardown had device_del'd just before it (dc_extent_unregister, drivers/cxl/core/extent.c) is
// still tracked until its dc_extent_release, which then sends a Release DC that backs nothing of
// the device (H24's in-flight member). A refusal right after that release was named H15 though
// the device still held every range the claim took. Now a teardown release counts only for an
// extent tracked at the claim and past the members the claim did not take (tracked − ranges).
// Positive and negative cases; the negative ones were H15 before.
import t from 'tap';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { DataChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';

const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const NULL = '00000000-0000-0000-0000-000000000000';
const R = 7;
const L = 8 << 20;
const IRQ = 1, BUS = 2, USER = 3, PUT = 4;
const A = 0x90000000, B = 0x92000000, C = 0x94000000, D = 0x96000000;
const ev = (e: RuntimeEvent, thread: number): DecodedEvent => ({ thread, ev: e, timeMs: 0 } as DecodedEvent);
const tracked = (extent: number, dpa: number, uuid = TAG): DecodedEvent => ev({ type: 'extent-tracked', memdev: 0, region: R, extent, id: extent, dpa, len: L, uuid, seq: extent, group: 1, existing: 0, shareable: 0 }, IRQ);
const teardown = (thread = BUS): DecodedEvent => ev({ type: 'region-teardown', region: R, extents: 3 }, thread);
const release = (extent: number, dpa: number, thread = BUS): DecodedEvent[] => [
  ev({ type: 'mbox', memdev: 0, opcode: CXL_MBOX_OP.RELEASE_DC, rc: 0, nrExtents: 1, more: 0, dpa, len: L }, thread),
  ev({ type: 'extent-untracked', memdev: 0, region: R, extent, dpa, len: L, sentRelease: 1 }, thread),
];
const claim = (nRanges: number, uuid = TAG, dev = 9): DecodedEvent => ev({ type: 'claim', region: R, dev, uuid, rc: 0, nRanges, size: nRanges * L, groupMembers: nRanges }, USER);
const refused = (dev = 9): DecodedEvent => ev({ type: 'data', dev, offset: 0, len: 2 << 20, pattern: 7, write: 1, ok: 0 }, USER);
/** a teardown-thread event that ends "in flight" (the teardown did something else) */
const busy = ev({ type: 'tag-unregistered', uuid: '11111111-2222-3333-4444-555555555555', group: 5, memdev: 0 }, BUS);
const three = [tracked(1, A), tracked(2, B), tracked(3, C)];

function judge(evs: DecodedEvent[]): string[] {
  const c = new DataChecker();
  for (const e of evs) c.onEvent(e);
  return c.atQuiescence({} as SystemState, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('dax-access'));
}

t.test('H15 still: a teardown release of a member the claim took, before the refusal', (t) => {
  t.same(judge([...three, claim(3), teardown(), ...release(3, C), busy, refused()]), ['dax-access-refused-h15'], 'claimed before the teardown (H15 proper): its first release backs the device');
  t.same(judge([...three, teardown(), ...release(3, C), claim(1), ...release(2, B), ...release(1, A), busy, refused()]), ['dax-access-refused-h15'], 'H24\'s claim (1 of the 2 tracked): the release after the not-taken member\'s');
  t.same(judge([...three, teardown(), claim(3), ...release(3, C), busy, refused()]), ['dax-access-refused-h15'], 'a whole claim inside the teardown (nothing device_del\'d yet)');
  t.same(judge([tracked(1, A, NULL), tracked(2, B, NULL), claim(2, NULL), teardown(), ...release(2, B), busy, refused()]), ['dax-access-refused-h15'], 'an untagged claim that took every untagged extent');
  t.end();
});

t.test('not H15 any more: the only release before the refusal is of a member the device never took', (t) => {
  // the claim while the teardown was releasing B (device_del'd: 2 tracked, 1 range taken, A)
  t.same(judge([...three, teardown(), ...release(3, C), claim(1), ...release(2, B), busy, refused()]), ['dax-access-refused'], 'the in-flight member B released, the device\'s A still held: forbidden (was H15)');
  t.same(judge([tracked(1, A, NULL), tracked(2, B, NULL), claim(1, NULL), teardown(), ...release(2, B), busy, refused()]), ['dax-access-refused'], 'an untagged claim of 1 of 2 extents, one released: which it took is unknown — forbidden (was H15)');
  t.same(judge([...three, claim(3), teardown(), tracked(4, D), ...release(4, D), busy, refused()]), ['dax-access-refused'], 'an extent of the tag tracked only after the claim: forbidden (was H15)');
  t.same(judge([...three, claim(3), teardown(), ...release(3, C), busy, claim(2), refused()]), ['dax-access-refused'], 'the handle claimed again after the release: the earlier claim\'s release does not count — forbidden (was H15)');
  // unchanged negatives
  t.same(judge([...three, claim(3), ...release(3, C, PUT), busy, refused()]), ['dax-access-refused'], 'a release on a thread running no teardown: forbidden');
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1), busy, refused()]), ['dax-access-refused'], 'releases before the claim: forbidden');
  t.end();
});
