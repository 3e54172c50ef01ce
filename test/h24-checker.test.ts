// H24's rule counts the group the cxl_dax_region teardown began with (seventh session). v11's
// online_tag_group (drivers/cxl/core/extent.c) registers one dc_extent_unregister devres action per
// extent on cxlr_dax->dev; devres_release_all runs them one at a time, and each device_unregister
// takes its extent off the dax_region device's children (device_del) before its release frees the
// dax_resource (dax_release_resource, drivers/dax/bus.c) and sends Release DC (dc_extent_release).
// uuid_store → uuid_claim_tagged (drivers/dax/bus.c) walks those children under dax_region_rwsem,
// so a claim between two actions takes exactly the members still registered — and the claim
// event's `groupMembers` (the registered members at the claim) equals its `nRanges`. The rule that
// compared only those two never fired under the controlled scheduler (nothing runs between the
// count and the walk there); inside a teardown the group is the one the teardown began with.
import t from 'tap';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { DaxChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';

const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const OTHER = '11111111-2222-3333-4444-555555555555';
const R = 7;
const L = 8 << 20;
const ev = (e: RuntimeEvent, thread = 1): DecodedEvent => ({ thread, ev: e } as DecodedEvent);
const tracked = (extent: number, uuid = TAG, region = R): RuntimeEvent => ({ type: 'extent-tracked', memdev: 0, region, extent, id: extent, dpa: extent * L, len: L, uuid, seq: extent, group: uuid === TAG ? 100 : 200, existing: 0, shareable: 0 } as RuntimeEvent);
const untracked = (extent: number, region = R): RuntimeEvent => ({ type: 'extent-untracked', memdev: 0, region, extent, dpa: extent * L, len: L, sentRelease: 1 } as RuntimeEvent);
const claim = (nRanges: number, groupMembers: number, uuid = TAG, rc = 0): RuntimeEvent => ({ type: 'claim', region: R, dev: 99, uuid, rc, nRanges, size: nRanges * L, groupMembers } as RuntimeEvent);
const teardown = (region = R): RuntimeEvent => ({ type: 'region-teardown', region, extents: 4 });
const probed: RuntimeEvent = { type: 'scan-done', region: R, rc: 0, attempts: 1, found: 0 };
const empty = { regions: {}, daxDevices: {}, memdevs: {} } as unknown as SystemState;
const four = [tracked(0), tracked(1), tracked(2), tracked(3)];

function judge(evs: RuntimeEvent[]): string[] {
  const c = new DaxChecker();
  for (const e of evs) c.onEvent(ev(e));
  return c.atQuiescence(empty, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('partial'));
}

t.test('a claim of every member still registered, inside the teardown, is H24 when the group was larger', (t) => {
  t.same(judge([...four, teardown(), claim(3, 3)]), ['partial-group-claimed-in-teardown-h24'], 'one member device_del\'d (still tracked): 3 of 4 — the free trace\'s replay');
  t.same(judge([...four, teardown(), untracked(3), claim(3, 3)]), ['partial-group-claimed-in-teardown-h24'], 'one member released already: 3 of the 4 the teardown began with');
  t.same(judge([tracked(0), tracked(1), teardown(), claim(1, 1)]), ['partial-group-claimed-in-teardown-h24'], 'two members, one left: the bench:find trace\'s minimized re-recording');
  t.same(judge([...four, teardown(), claim(2, 3)]), ['partial-group-claimed-in-teardown-h24'], 'fewer than registered (a free run\'s race between the count and the walk): H24, as before');
  t.end();
});

t.test('and nothing else is', (t) => {
  t.same(judge([...four, teardown(), claim(4, 4)]), [], 'the whole group inside the teardown (claimed before its first action): nothing');
  t.same(judge([...four, claim(3, 3)]), [], 'no teardown: the registered members are the group (a release is group-atomic), nothing');
  t.same(judge([...four, untracked(3), teardown(), claim(3, 3)]), [], 'a member released before the teardown began: the teardown began with 3, nothing');
  t.same(judge([...four, teardown(), probed, claim(3, 3)]), [], 'probed again after the unbind: no longer inside the teardown');
  t.same(judge([...four, teardown(R + 1), claim(3, 3)]), [], 'another region\'s teardown: nothing');
  t.same(judge([...four.map((e) => ({ ...e, region: R + 1 } as RuntimeEvent)), teardown(), claim(3, 3)]), [], 'the four members are another region\'s: nothing');
  t.same(judge([...four, teardown(), claim(0, 3, TAG, 2)]), [], 'a refused claim (-ENOENT): nothing');
  t.end();
});

t.test('only the claimed tag\'s members count', (t) => {
  const mixed = [...four, tracked(10, OTHER), tracked(11, OTHER)];
  t.same(judge([...mixed, teardown(), claim(2, 2, OTHER)]), [], 'the other tag\'s whole group (2 of 2): nothing');
  t.same(judge([...mixed, teardown(), claim(1, 1, OTHER)]), ['partial-group-claimed-in-teardown-h24'], 'one of the other tag\'s 2: H24');
  t.same(judge([...mixed, teardown(), claim(4, 4)]), [], 'the first tag\'s 4 of 4 (the other tag\'s members do not count): nothing');
  t.end();
});

t.test('outside a teardown a partial claim stays forbidden (the rule is not widened)', (t) => {
  t.same(judge([...four, claim(2, 4)]), ['partial-group-claimed'], 'fewer ranges than registered members, no teardown: forbidden');
  t.same(judge([...four, teardown(), probed, claim(2, 4)]), ['partial-group-claimed'], 'after a re-probe: forbidden');
  t.end();
});
