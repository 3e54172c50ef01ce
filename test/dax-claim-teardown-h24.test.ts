// H24: a tagged claim inside a cxl_dax_region teardown takes part of the group. v11's
// online_tag_group (drivers/cxl/core/extent.c) registers one devres action per extent
// (dc_extent_unregister) on cxlr_dax->dev; the unbind's devres_release_all runs them one at a time
// with no dax_region_rwsem across the group, and uuid_store → uuid_claim_tagged (drivers/dax/bus.c)
// walks the registered children under dax_region_rwsem. Found by bench:find's rcu=on control
// (free run, seed 100, iteration 709): the checker named it partial-group-claimed (forbidden).
import t from 'tap';
import { join } from 'node:path';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { DaxChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import { readTrace } from '../stress/trace.js';

const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const R = 7;
const ev = (e: RuntimeEvent, thread = 1): DecodedEvent => ({ thread, ev: e } as DecodedEvent);
const claim = (nRanges: number, groupMembers: number): RuntimeEvent => ({ type: 'claim', region: R, dev: 99, uuid: TAG, rc: 0, nRanges, size: nRanges * 8 << 20, groupMembers } as RuntimeEvent);
const teardown: RuntimeEvent = { type: 'region-teardown', region: R, extents: 3 };
const probed: RuntimeEvent = { type: 'scan-done', region: R, rc: 0, attempts: 1, found: 0 };
const empty = { regions: {}, daxDevices: {}, memdevs: {} } as unknown as SystemState;

function judge(evs: RuntimeEvent[]): string[] {
  const c = new DaxChecker();
  for (const e of evs) c.onEvent(ev(e));
  return c.atQuiescence(empty, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('partial'));
}

t.test('a partial claim is H24 only inside a teardown of its region', (t) => {
  t.same(judge([teardown, claim(2, 3)]), ['partial-group-claimed-in-teardown-h24'], 'after the region\'s teardown began: H24');
  t.same(judge([claim(2, 3)]), ['partial-group-claimed'], 'no teardown: forbidden, as group-lock=per-extent makes it');
  t.same(judge([teardown, probed, claim(2, 3)]), ['partial-group-claimed'], 'the region was probed again (bind after unbind): no longer inside the teardown, forbidden');
  t.same(judge([{ ...teardown, region: R + 1 }, claim(2, 3)]), ['partial-group-claimed'], 'another region\'s teardown: forbidden');
  t.same(judge([teardown, claim(3, 3)]), [], 'a whole group claimed inside a teardown: nothing');
  t.end();
});

t.test('the bench:find trace (free run): its recorded events give H24, not a forbidden outcome', (t) => {
  const r = readTrace(join(import.meta.dirname, '..', 'docs', 'findings-open', 'swarm-partial-group-claimed-100-709.trace.json'));
  if (!r.ok) throw new Error(r.message);
  const evs = r.trace.record!.events;
  t.equal(r.trace.outcome, 'partial-group-claimed', 'recorded as the forbidden outcome');
  const threads = new Map<string, number>();
  const c = new DaxChecker();
  let k = 0, teardownAt = -1, claimAt = -1;
  for (const e of evs) {
    if (!threads.has(e.thread)) threads.set(e.thread, threads.size);
    if (e.ev.type === 'region-teardown' && teardownAt < 0 && evs.some((x) => x.ev.type === 'claim' && x.ev.region === (e.ev as { region: number }).region)) teardownAt = k;
    if (e.ev.type === 'claim' && e.ev.nRanges < e.ev.groupMembers) claimAt = k;
    c.onEvent(ev(e.ev, threads.get(e.thread)!));
    k++;
  }
  t.comment(`${evs.length} events; the claimed region's teardown at event ${teardownAt}, the partial claim at ${claimAt}`);
  t.ok(teardownAt >= 0 && teardownAt < claimAt, 'the region\'s teardown began before the partial claim');
  t.ok(evs.slice(teardownAt, claimAt).some((e) => e.ev.type === 'extent-untracked'), 'and released a member of the group before it');
  t.same(c.atQuiescence(empty, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('partial')), ['partial-group-claimed-in-teardown-h24'], 'now H24');
  t.end();
});
