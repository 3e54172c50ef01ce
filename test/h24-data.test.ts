// H24's consequence seen from user space (seventh session): a device claimed inside the
// cxl_dax_region teardown maps members the teardown releases next — dax_release_resource
// (drivers/dax/bus.c) frees the claimed dax_resource whatever its use_cnt, and dc_extent_release
// (drivers/cxl/core/extent.c) sends Release DC (H15). A write during that Release DC's mailbox
// round trip is refused by the device (which answers at once) while the teardown thread's `mbox`
// and `extent-untracked` events come at its completion, after the refusal. The H15 data rule
// required the release event first and named such a refusal forbidden (`dax-access-refused`,
// found by a targeted controlled search: docs/findings-open/claim-write-vs-teardown-h15-5-38).
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { DataChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';

const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const OTHER = '11111111-2222-3333-4444-555555555555';
const NULL = '00000000-0000-0000-0000-000000000000';
const R = 7;
const L = 8 << 20;
const IRQ = 1, BUS = 2, USER = 3;
const A = 0x90000000, B = 0x92000000, C = 0x94000000;
const ev = (e: RuntimeEvent, thread: number): DecodedEvent => ({ thread, ev: e, timeMs: 0 } as DecodedEvent);
const tracked = (extent: number, dpa: number, uuid = TAG): DecodedEvent => ev({ type: 'extent-tracked', memdev: 0, region: R, extent, id: extent, dpa, len: L, uuid, seq: extent, group: 1, existing: 0, shareable: 0 }, IRQ);
const teardown = (region = R, thread = BUS): DecodedEvent => ev({ type: 'region-teardown', region, extents: 3 }, thread);
/** a teardown thread's release of one extent: its Release DC's completion, then the untrack */
const release = (extent: number, dpa: number, thread = BUS): DecodedEvent[] => [
  ev({ type: 'mbox', memdev: 0, opcode: CXL_MBOX_OP.RELEASE_DC, rc: 0, nrExtents: 1, more: 0, dpa, len: L }, thread),
  ev({ type: 'extent-untracked', memdev: 0, region: R, extent, dpa, len: L, sentRelease: 1 }, thread),
];
const claim = (nRanges: number, groupMembers: number, uuid = TAG): DecodedEvent => ev({ type: 'claim', region: R, dev: 9, uuid, rc: 0, nRanges, size: nRanges * L, groupMembers }, USER);
const refused = ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 1, ok: 0 }, USER);
const other = ev({ type: 'tag-unregistered', uuid: OTHER, group: 5, memdev: 0 }, BUS);
const three = [tracked(1, A), tracked(2, B), tracked(3, C)];

function judge(evs: DecodedEvent[]): string[] {
  const c = new DataChecker();
  for (const e of evs) c.onEvent(e);
  return c.atQuiescence({} as SystemState, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('dax-access'));
}

t.test('a refusal inside the teardown\'s Release DC of a member the device was claimed with is H15', (t) => {
  // the trace's order: two members released, the claim takes the last, the write is refused, then
  // the last member's Release DC completes
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1, 1), refused, ...release(1, A)]), ['dax-access-refused-h15'], 'the last member in flight across the refusal');
  t.same(judge([...three, teardown(), claim(3, 3), refused, ...release(3, C), ...release(2, B), ...release(1, A)]), ['dax-access-refused-h15'], 'a whole claim inside the teardown, before its first release');
  t.same(judge([...three, claim(3, 3), teardown(), refused, ...release(3, C)]), ['dax-access-refused-h15'], 'claimed before the teardown (H15 proper), refused inside its first release');
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1, 1), ...release(1, A), refused]), ['dax-access-refused-h15'], 'after the completion: the rule that was there before');
  t.end();
});

t.test('and nothing else is', (t) => {
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1, 1), refused, other, ...release(1, A)]), ['dax-access-refused'], 'the teardown thread did something else after the refusal: not shown in flight — forbidden');
  // the claim while the teardown was releasing B (device_del'd, so not taken: 2 tracked, 1 range):
  // the teardown's next release is B's, which backs nothing of the device
  t.same(judge([...three, teardown(), ...release(3, C), claim(1, 1), refused, ...release(2, B), other, ...release(1, A)]), ['dax-access-refused'], 'inside the release of the member the claim did not take (device_del\'d before it): forbidden');
  t.same(judge([...three, claim(3, 3), refused, ...release(3, C, IRQ)]), ['dax-access-refused'], 'no teardown (a Release record\'s walk on the event thread): forbidden');
  t.same(judge([...three, teardown(R + 1), claim(3, 3), refused, ...release(3, C)]), ['dax-access-refused'], 'another region\'s teardown: forbidden');
  t.same(judge([...three, tracked(4, 0x96000000, OTHER), teardown(), claim(1, 1, OTHER), refused, ...release(3, C)]), ['dax-access-refused'], 'a device of another tag: the released member does not back it — forbidden');
  t.same(judge([tracked(1, A, NULL), teardown(), claim(1, 1, NULL), refused, ...release(1, A)]), ['dax-access-refused'], 'an untagged claim (which extent it took is not in the events): forbidden');
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1, 1), refused]), ['dax-access-refused'], 'no release follows: forbidden');
  t.end();
});

// The same in-flight evidence for a failed verify (swarm6's 45-s CLI run, seed 23, free iteration
// 844; docs/findings-open.md): the claim inside the teardown took A and B (C device_del'd first),
// the teardown released B, the write to the device's first range (A, seq 0) succeeded, the verify
// failed, then the teardown's Release DC of A completed with nothing of that thread between.
const write = ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 1, ok: 1 }, USER);
const verifyFailed = ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 0, ok: 0 }, USER);
function judgeLost(evs: DecodedEvent[]): string[] {
  const c = new DataChecker();
  for (const e of evs) c.onEvent(e);
  return c.atQuiescence({} as SystemState, {} as SysLike).map(outcomeOf).filter((o) => o.startsWith('data-lost'));
}

t.test('a failed verify inside the teardown\'s Release DC of an extent backing the device is H15', (t) => {
  t.same(judgeLost([...three, teardown(), claim(2, 2), ...release(3, C), ...release(2, B), write, verifyFailed, ...release(1, A)]), ['data-lost-h15'], 'the trace\'s order: A\'s release in flight across the verify');
  t.same(judgeLost([...three, claim(3, 3), teardown(), write, verifyFailed, ...release(3, C)]), ['data-lost-h15'], 'claimed before the teardown, the verify inside its first release');
  t.end();
});

t.test('and otherwise the lost data stays forbidden', (t) => {
  t.same(judgeLost([...three, teardown(), claim(2, 2), ...release(3, C), ...release(2, B), write, verifyFailed, other, ...release(1, A)]), ['data-lost'], 'the teardown thread did something else after the verify: not shown in flight');
  t.same(judgeLost([...three, teardown(), claim(2, 2), ...release(3, C), ...release(2, B), write, verifyFailed]), ['data-lost'], 'no release follows the verify');
  t.same(judgeLost([...three, claim(3, 3), write, verifyFailed, ...release(3, C, IRQ)]), ['data-lost'], 'no teardown (a Release record\'s walk on the event thread)');
  t.same(judgeLost([...three, teardown(R + 1), claim(3, 3), write, verifyFailed, ...release(3, C)]), ['data-lost'], 'another region\'s teardown');
  t.same(judgeLost([...three, tracked(4, 0x96000000, OTHER), teardown(), claim(1, 1, OTHER), write, verifyFailed, ...release(3, C)]), ['data-lost'], 'a device of another tag');
  t.same(judgeLost([...three, teardown(), claim(2, 2), write, verifyFailed, ...release(3, C), other, ...release(2, B), ...release(1, A)]), ['data-lost'], 'only the member the claim did not take (device_del\'d before it) in flight');
  t.end();
});

/** A stored trace's recorded outcomes and its events, each thread named by a number in order of appearance. */
function recorded(file: string): { outcomes: string[]; evs: DecodedEvent[] } {
  const tr = JSON.parse(readFileSync(new URL(`../docs/findings-open/${file}`, import.meta.url), 'utf8')) as { outcomes: string[]; record: { events: { thread: string; ev: RuntimeEvent }[] } };
  const threads: string[] = [];
  return { outcomes: tr.outcomes, evs: tr.record.events.map((e) => ev(e.ev, threads.includes(e.thread) ? threads.indexOf(e.thread) : threads.push(e.thread) - 1)) };
}

t.test('the swarm\'s data-lost trace, its recorded events re-judged', async (t) => {
  const { outcomes, evs } = recorded('swarm-data-lost-23-844.trace.json');
  t.ok(outcomes.includes('data-lost'), 'recorded as the forbidden data-lost');
  t.same(judgeLost(evs), ['data-lost-h15'], `now H15's (${evs.length} recorded events)`);
});

// bench:find's rcu=on control, tenth session (seed 100, iteration 1215, a free run): the same
// in-flight refusal, but the dax-bus went on to unbind two more regions before quiescence. The
// rule looked for the region's teardown thread in `tearingDown`, which keeps each thread's LATEST
// teardown, so at quiescence it found none and the refusal was forbidden `dax-access-refused`.
t.test('the teardown thread unbinding another region afterwards does not hide the in-flight release', (t) => {
  t.same(judge([...three, teardown(), ...release(3, C), ...release(2, B), claim(1, 1), refused, ...release(1, A), teardown(R + 1)]), ['dax-access-refused-h15'], 'in flight, then the same thread tears down another region');
  t.same(judge([...three, teardown(), ...release(3, C), claim(1, 1), refused, ...release(2, B), other, ...release(1, A), teardown(R + 1)]), ['dax-access-refused'], 'still forbidden inside the release of a member the claim did not take');
  t.end();
});

t.test('the control\'s dax-access-refused trace, its recorded events re-judged', async (t) => {
  const { outcomes, evs } = recorded('swarm-dax-access-refused-100-1215.trace.json');
  t.ok(outcomes.includes('dax-access-refused'), 'recorded as the forbidden dax-access-refused');
  t.same(judge(evs), ['dax-access-refused-h15'], `now H15's in-flight refusal (${evs.length} recorded events)`);
});

// A 5-minute soak on the eleventh session's code (seed 12, iteration 11861; docs/findings-open.md):
// a claim inside the teardown took the group's one member still registered (H24), the write
// succeeded, the teardown's Release DC of that member completed, the verify failed, and only then
// did the member's extent-untracked come. The failed verify followed a completed backing release.
t.test('a failed verify after the teardown\'s Release DC of a backing extent completed (its untracked event still to come) is H15', (t) => {
  const [mboxA, untrackA] = release(1, A);
  const [mboxB, untrackB] = release(2, B);
  t.same(judgeLost([...three, teardown(), claim(2, 2), ...release(3, C), mboxB!, untrackB!, write, mboxA!, verifyFailed, untrackA!]), ['data-lost-h15'], 'A\'s Release DC completed between the write and the verify');
  t.same(judgeLost([...three, teardown(), claim(2, 2), ...release(3, C), mboxB!, write, verifyFailed, untrackB!]), ['data-lost'], 'a release that completed before the covering write explains nothing');
  t.end();
});

t.test('the soak\'s data-lost trace, its recorded events re-judged', async (t) => {
  const { outcomes, evs } = recorded('swarm-data-lost-12-11861.trace.json');
  t.ok(outcomes.includes('data-lost'), 'recorded as the forbidden data-lost');
  t.same(judgeLost(evs), ['data-lost-h15'], `now H15's (${evs.length} recorded events)`);
  t.end();
});

// The tenth-to-twelfth sessions' 10-minute soak (`dcd stress --seconds 600 --seed 31`, the default
// mixed swarm; iteration 30871, a free run; docs/findings-open.md): a claim inside the teardown
// took the one member still registered (H24), the teardown's Release DC of it COMPLETED, the
// write was refused, and the member's extent-untracked came four events later. Neither rule
// took it: the in-flight one wants the completion after the refusal, the older one the untrack
// before it.
t.test('a refusal after the teardown\'s Release DC of a backing extent completed (its untracked event still to come) is H15', (t) => {
  const [mboxA, untrackA] = release(1, A);
  t.same(judge([...three, teardown(), ...release(3, C), claim(1, 1), ...release(2, B), mboxA!, refused, untrackA!]), ['dax-access-refused-h15'], 'A\'s Release DC completed before the refusal, its untrack after');
  const irqEvent = ev({ type: 'tag-registered', uuid: OTHER, group: 5, memdev: 0 }, IRQ);
  t.same(judge([...three, teardown(), ...release(3, C), claim(1, 1), ...release(2, B), mboxA!, refused, irqEvent, irqEvent, untrackA!]), ['dax-access-refused-h15'], 'other threads\' events between the refusal and the untrack (the trace had three)');
  const [mboxB, untrackB] = release(2, B);
  t.same(judge([...three, teardown(), ...release(3, C), claim(1, 1), mboxB!, refused, untrackB!, other]), ['dax-access-refused'], 'only the member the claim did not take (device_del\'d before it) completed: forbidden');
  t.same(judge([...three, teardown(), ...release(3, C), mboxA!, untrackA!, claim(1, 1), refused]), ['dax-access-refused'], 'a release completed before the claim backs nothing of it: forbidden');
  t.end();
});

t.test('the 10-minute soak\'s dax-access-refused trace, its recorded events re-judged', async (t) => {
  const { outcomes, evs } = recorded('swarm-dax-access-refused-31-30871.trace.json');
  t.ok(outcomes.includes('dax-access-refused'), 'recorded as the forbidden dax-access-refused');
  t.same(judge(evs), ['dax-access-refused-h15'], `now H15's (${evs.length} recorded events)`);
});

// The twelfth session's rate runs (`dcd stress --workload swarm --seconds 20 --mix off --seed 105`,
// iteration 533, a free run; docs/findings-open.md): the member the teardown was releasing when
// the claim ran had its Release DC complete just BEFORE the claim and its untrack after it. The
// rule counted only releases completed after the claim, so it skipped the next member — the one
// in flight across the refusal — as the not-taken one.
t.test('the not-taken member\'s Release DC completed before the claim, its untrack after', (t) => {
  const two = [tracked(1, A), tracked(2, B)];
  const [mboxB, untrackB] = release(2, B);
  t.same(judge([...two, teardown(), mboxB!, claim(1, 1), untrackB!, refused, ...release(1, A)]), ['dax-access-refused-h15'], 'A in flight across the refusal');
  t.same(judge([...two, teardown(), mboxB!, claim(1, 1), untrackB!, refused, other, ...release(1, A)]), ['dax-access-refused'], 'the teardown thread did something else after the refusal: forbidden');
  t.same(judge([...two, teardown(), mboxB!, untrackB!, claim(1, 1), refused, ...release(1, A)]), ['dax-access-refused-h15'], 'B untracked before the claim: the rule as before');
  t.end();
});

t.test('the rate run\'s dax-access-refused trace, its recorded events re-judged', async (t) => {
  const { outcomes, evs } = recorded('swarm-dax-access-refused-105-533.trace.json');
  t.ok(outcomes.includes('dax-access-refused'), 'recorded as the forbidden dax-access-refused');
  t.same(judge(evs), ['dax-access-refused-h15'], `now H15's in-flight refusal (${evs.length} recorded events)`);
});

// Since the twelfth session a refusal names the DPA the device refused (`data`'s `dpa`), and H15
// is judged by that byte alone: a teardown of the device's region released a range containing it
// (completed before the refusal, or in flight across it with the extent accepted). The member
// counting above judges only traces recorded without the field.
const refusedAt = (dpa: number): DecodedEvent => ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 1, ok: 0, dpa }, USER);
// accepted extents (a recovered one is accepted): the in-flight rule needs the byte accepted at
// the refusal — a refusal of a byte no response had accepted yet is H26's
const accepted = (extent: number, dpa: number): DecodedEvent => ev({ type: 'extent-tracked', memdev: 0, region: R, extent, id: extent, dpa, len: L, uuid: TAG, seq: extent, group: 1, existing: 1, shareable: 0 }, IRQ);
t.test('the refused byte decides H15 when the event names it', (t) => {
  const two = [accepted(1, A), accepted(2, B)];
  const [mboxB, untrackB] = release(2, B);
  t.same(judge([...two, teardown(), mboxB!, claim(1, 1), untrackB!, refusedAt(A), ...release(1, A)]), ['dax-access-refused-h15'], 'A\'s Release DC in flight across the refusal of A\'s byte');
  t.same(judge([...two, teardown(), claim(1, 1), ...release(1, A), refusedAt(A + 4096)]), ['dax-access-refused-h15'], 'A released before the refusal of a byte inside it');
  t.same(judge([...two, claim(2, 2), teardown(), ...release(2, B), refusedAt(A)]), ['dax-access-refused'], 'only B was released: the refusal of A\'s byte is not explained (the member rule called it H15: B backed the device)');
  t.same(judge([...two, claim(2, 2), teardown(), ...release(2, B), refusedAt(B)]), ['dax-access-refused-h15'], 'B\'s byte, B released');
  t.same(judge([...two, claim(2, 2), teardown(R + 1), ...release(2, B), refusedAt(B)]), ['dax-access-refused'], 'another region\'s teardown');
  t.same(judge([...two, claim(2, 2), teardown(), refusedAt(A), other, ...release(1, A)]), ['dax-access-refused'], 'the teardown thread did something else after the refusal: not in flight');
  t.same(judge([...two, claim(2, 2), refusedAt(A), ...release(1, A, IRQ)]), ['dax-access-refused'], 'a release by no teardown');
  t.same(judge([...two, claim(2, 2), teardown(), ...release(2, B), refused]), ['dax-access-refused-h15'], 'without the DPA (an older trace): the member rule as before');
  const [mboxA, untrackA] = release(1, A);
  t.same(judge([tracked(1, A), tracked(2, B), claim(2, 2), teardown(), refusedAt(A), mboxA!, untrackA!]), ['dax-access-refused'], 'A never accepted at the refusal (H26\'s window, not this rule\'s): not H15');
  t.end();
});

t.test('a failed verify naming its DPA: H15 by that byte alone', (t) => {
  const two = [accepted(1, A), accepted(2, B)];
  const verifyAt = (dpa: number): DecodedEvent => ev({ type: 'data', dev: 9, offset: 0, len: 2 << 20, pattern: 7, write: 0, ok: 0, dpa }, USER);
  const [mboxA, untrackA] = release(1, A);
  t.same(judgeLost([...two, claim(2, 2), teardown(), write, mboxA!, verifyAt(A), untrackA!]), ['data-lost-h15'], 'A released between the write and the verify, its untrack after');
  t.same(judgeLost([...two, claim(2, 2), teardown(), write, verifyAt(A), ...release(1, A)]), ['data-lost-h15'], 'A\'s release in flight across the verify');
  t.same(judgeLost([...two, claim(2, 2), teardown(), write, mboxA!, verifyAt(B), untrackA!]), ['data-lost'], 'the failing byte is B\'s, only A was released');
  t.same(judgeLost([...two, claim(2, 2), teardown(), write, verifyAt(A), other, ...release(1, A)]), ['data-lost'], 'the teardown thread did something else after the verify: not in flight');
  t.end();
});

t.test('the byte rule counts only releases after the device was claimed', (t) => {
  const [mboxA, untrackA] = release(1, A);
  t.same(judge([accepted(1, A), accepted(2, B), teardown(), mboxA!, untrackA!, claim(1, 1), refusedAt(A)]), ['dax-access-refused'], 'A released before the claim: the device never mapped it from that extent');
  t.end();
});
