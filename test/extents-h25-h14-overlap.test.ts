// Two narrow rules of the extents checker (eighth session), each a known hazard only with the
// trace's evidence; without it the outcome stays forbidden.
//
// H25 (docs/kernel-map.md#h25): cxl_add_extent → cxlr_dax_classify_extent (drivers/cxl/core/extent.c)
// accepts a re-offered range again ("duplicate", 0) when an extent in cxlr_dax->dc_extents contains
// it — also a held extent already unregistered, which stays there until its last put's
// dc_extent_release (Release DC, then xa_erase). cxl_realize_group (mbox.c) lists the range in the
// chain's Add DC Response. The put runs under no lock the event thread holds: when its Release DC
// falls between the classify and the response, the response lists a range no extent tracks.
//
// extent-overlap-after-h14: H14's orphan (an extent realized onto a region after the region's
// teardown began, left behind when the region went — `extent-orphaned-h14`) keeps its range
// tracked; the re-created region's scan realizes the same device extent beside it.
import t from 'tap';
import type { DecodedEvent, RuntimeEvent } from '../src/protocol.js';
import { DC_EVENT_ADD, DC_EVENT_RELEASE } from '../stress/checkers/common.js';
import { RELEASE_REASON } from '../src/protocol.js';
import type { SystemState } from '../src/state.js';
import { ExtentsChecker, outcomeOf, type SysLike } from '../stress/checkers/index.js';
import { replayStored } from './helpers/replay-stored.js';

const MiB = 1 << 20;
const IRQ = 2;
const USER = 5;
const TAG = 'bf6713da-9b3b-7533-eaee-f0524484255c';
const ev = (e: RuntimeEvent, thread = IRQ): DecodedEvent => ({ thread, ev: e } as DecodedEvent);
const tracked = (extent: number, dpa: number, len: number, region = 7, group = 100 + extent, existing = 0): RuntimeEvent =>
  ({ type: 'extent-tracked', memdev: 0, region, extent, id: extent, dpa, len, uuid: TAG, seq: 0, group, existing, shareable: 0 } as RuntimeEvent);
const untracked = (extent: number, dpa: number, len: number, region = 7): RuntimeEvent =>
  ({ type: 'extent-untracked', memdev: 0, region, extent, dpa, len, sentRelease: 1 } as RuntimeEvent);
const offer = (dpa: number, len: number): RuntimeEvent =>
  ({ type: 'dc-record', memdev: 0, eventType: DC_EVENT_ADD, more: 0, dpa, len, uuid: TAG, seq: 0, hostId: 0, regionIndex: 0, handle: 1 } as RuntimeEvent);
const listed = (dpa: number, len: number): RuntimeEvent => ({ type: 'response-extent', memdev: 0, chain: 2, dpa, len } as RuntimeEvent);
const teardown = (region: number): RuntimeEvent => ({ type: 'region-teardown', region, extents: 1 } as RuntimeEvent);
const empty = { regions: {}, daxDevices: {}, memdevs: {}, trace: { mailbox: [] } } as unknown as SystemState;
/** host tables whose regions are all live except `gone` */
const sysWith = (gone: number[]): SysLike => ({
  host: { regions: { isLive: (r: number) => !gone.includes(r), live: () => [], get: (_r: number, f: string) => (f === 'size' ? 2 ** 40 : 0) } } as unknown as SysLike['host'],
});

function judge(evs: DecodedEvent[], sys: SysLike = {}, prefix = ''): string[] {
  const c = new ExtentsChecker();
  for (const e of evs) c.onEvent(e);
  return c.atQuiescence(empty, sys).filter((r) => !r.ok).map(outcomeOf).filter((o) => o.startsWith(prefix)).sort();
}

// X: 16 MiB at 2 GiB, the held extent; the chain re-offers 2 MiB inside it
const X = 2048 * MiB;
const held = ev(tracked(1, X, 16 * MiB));
const reoffer = ev(offer(X + 2 * MiB, 2 * MiB));
const put = ev(untracked(1, X, 16 * MiB), USER);
const respond = ev(listed(X + 2 * MiB, 2 * MiB));

t.test('H25: a re-offered sub-range listed after another thread released its containing extent', (t) => {
  t.same(judge([held, reoffer, put, respond], {}, 'response-lists'), ['response-lists-released-h25'], 'offer while X tracked, X released by a user thread, then the response: H25');
  t.end();
});

t.test('H25 needs all of its evidence; otherwise the response stays forbidden', (t) => {
  t.same(judge([held, put, reoffer, respond], {}, 'response-lists'), ['response-lists-untracked'], 'X released BEFORE the offer: the classify could not have met it');
  t.same(judge([held, reoffer, ev(untracked(1, X, 16 * MiB), IRQ), respond], {}, 'response-lists'), ['response-lists-untracked'], 'released by the responding thread itself: not the put race');
  t.same(judge([held, reoffer, put, ev(listed(X + 32 * MiB, 2 * MiB))], {}, 'response-lists'), ['response-lists-untracked'], 'a listed range X never contained (and never offered)');
  t.same(judge([held, ev(offer(X + 32 * MiB, 2 * MiB)), put, ev(listed(X + 32 * MiB, 2 * MiB))], {}, 'response-lists'), ['response-lists-untracked'], 'offered, but outside X');
  t.same(judge([held, put, respond], {}, 'response-lists'), ['response-lists-untracked'], 'never offered');
  t.same(judge([held, reoffer, ev(teardown(7), USER), put, respond], {}, 'response-lists'), ['response-lists-torn-down'], 'released by a teardown: H14\'s rule, not H25\'s');
  t.same(judge([held, reoffer, respond], {}, 'response-lists'), [], 'X still tracked at the response: nothing');
  t.end();
});

// H14's orphan: region 7 torn down (event), then the chain's later group realized onto it;
// region 8 (re-created) scans the same device extent (existing, the exact range) — or a later
// chain realizes an overlapping range there (runtime, another start)
const R0 = 7;
const R1 = 8;
const A = 4096 * MiB;
const orphan = ev(tracked(1, A, 8 * MiB, R0));
const scanned = ev(tracked(2, A, 8 * MiB, R1, 300, 1), 9);
const overlapping = ev(tracked(3, A + 4 * MiB, 8 * MiB, R1, 301, 0), IRQ);
const gone = sysWith([R0]);

t.test('extent-overlap-after-h14: a re-created region realizes the range H14\'s orphan keeps', (t) => {
  t.same(judge([ev(teardown(R0), USER), orphan, scanned], gone, 'extent-o'), ['extent-orphaned-h14', 'extent-overlap-after-h14'], 'the scan realizes the exact range; the orphan\'s region gone at quiescence: both named H14');
  t.same(judge([ev(teardown(R0), USER), orphan, overlapping], gone, 'extent-o'), ['extent-orphaned-h14', 'extent-overlap-after-h14'], 'a later chain realizes an overlapping range: the same');
  t.end();
});

t.test('and only then', (t) => {
  for (const [name, nw] of [['scan', scanned], ['chain', overlapping]] as const) {
    t.same(judge([ev(teardown(R0), USER), orphan, nw], sysWith([]), 'extent-overlap'), ['extent-overlap'], `${name}: the older extent's region is still live (a rebind, not a destroy): forbidden`);
    t.same(judge([ev(teardown(R0), USER), orphan, nw], {}, 'extent-overlap'), ['extent-overlap'], `${name}: without host tables the orphan cannot be shown: forbidden`);
    t.same(judge([orphan, ev(teardown(R0), USER), nw], gone, 'extent-overlap'), ['extent-overlap'], `${name}: realized BEFORE the teardown began (no orphan: the teardown should have released it): forbidden`);
    t.same(judge([ev(teardown(R1), USER), orphan, nw], gone, 'extent-overlap'), ['extent-overlap'], `${name}: another region's teardown: forbidden`);
  }
  t.same(judge([ev(teardown(R0), USER), orphan, ev(tracked(3, A + 4 * MiB, 8 * MiB, R0, 301, 0))], gone, 'extent-overlap'), ['extent-overlap'], 'the newer one on the same region: forbidden');
  t.same(judge([ev(teardown(R0), USER), orphan, overlapping, ev(untracked(1, A, 8 * MiB, R0), USER)], gone, 'extent-overlap'), ['extent-overlap'], 'the older one released before quiescence (no orphan): forbidden');
  t.same(judge([ev(teardown(R0), USER), orphan, scanned, ev(untracked(1, A, 8 * MiB, R0), USER)], gone, 'extent-'), ['extent-readopted-h5'], 'the scan\'s exact range, the older one released after it: H5\'s re-adoption, as before');
  t.end();
});

t.test('reset forgets both rules\' evidence (one checker serves every iteration of a stress job)', (t) => {
  // a suspect left from one iteration was reported as extent-overlap in every later one (a 240 s
  // soak: 150 forbidden iterations after the first H14 orphan overlap)
  const c = new ExtentsChecker();
  for (const e of [ev(teardown(R0), USER), orphan, overlapping, held, reoffer, put]) c.onEvent(e);
  c.reset();
  t.same(c.atQuiescence(empty, gone).filter((r) => !r.ok).map(outcomeOf), [], 'nothing carried over to the next iteration\'s quiescence');
  c.onEvent(respond);
  t.same(c.atQuiescence(empty, {}).filter((r) => !r.ok).map(outcomeOf), ['response-lists-untracked'], 'and no H25 evidence either: an unexplained listing is forbidden');
  t.end();
});

t.test('H25\'s minimized trace (docs/findings) replays step for step to the H25 outcome, on real threads', (t) =>
  replayStored(t, 'docs/findings/traces/held-release-vs-reoffer-response-lists-released-h25-3-5.min.trace.json', 'response-lists-released-h25', 'response-lists-untracked'));

// A release record for the range H14's orphan keeps (bench:find's rcu=on control, seed 112,
// results of the ninth session): cxl_rm_extent walks only the dc_extents of the region
// cxl_dpa_to_region names — the live, re-created one — so the group it releases and acknowledges
// is the re-scanned extent's, not the orphan's, which stays tracked (extent-orphaned-h14).
const release = (dpa: number, len: number): RuntimeEvent =>
  ({ type: 'dc-record', memdev: 0, eventType: DC_EVENT_RELEASE, more: 0, dpa, len, uuid: TAG, seq: 0, hostId: 0, regionIndex: 0, handle: 2 } as RuntimeEvent);
const acked = (dpa: number, len: number): RuntimeEvent => ({ type: 'release-outcome', memdev: 0, dpa, len, reason: RELEASE_REASON.acked } as RuntimeEvent);

t.test('a release beside H14\'s orphan acknowledges the group its handler released', (t) => {
  const rel = [ev(release(A, 8 * MiB)), ev(untracked(2, A, 8 * MiB, R1)), ev(acked(A, 8 * MiB))];
  t.same(judge([ev(teardown(R0), USER), orphan, scanned, ...rel], gone, 'group-release'), [], 'the live region\'s extent was released whole: no incomplete release');
  t.same(judge([ev(teardown(R0), USER), orphan, scanned, ...rel], gone, 'extent-orphaned'), ['extent-orphaned-h14'], 'the orphan stays, named H14');
  // negative: the released group keeps a member → still forbidden
  const member = ev(tracked(4, A + 64 * MiB, 8 * MiB, R1, 300, 1), 9);
  t.same(judge([ev(teardown(R0), USER), orphan, scanned, member, ...rel], gone, 'group-release'), ['group-release-incomplete'], 'a member of the released group still tracked: forbidden');
  t.same(judge([tracked(5, A, 8 * MiB, R1, 310), tracked(6, A + 8 * MiB, 8 * MiB, R1, 310)].map((x) => ev(x)).concat(rel.map((e, i) => (i === 1 ? ev(untracked(5, A, 8 * MiB, R1)) : e))), gone, 'group-release'), ['group-release-incomplete'], 'one member of a two-member group untracked and the release acknowledged: forbidden');
  t.end();
});

// A destroy tears the region down twice (the cxl_dax_region unbind's devres_release_all, then
// device_del's in cxl_region_disable); H14's orphan can be realized between the two (bench:find's
// rcu=on control, seed 119): its teardown began at the first. A probe (scan-done) starts anew.
t.test('H14\'s orphan realized between a destroy\'s two teardowns', (t) => {
  const scanDone = (region: number): RuntimeEvent => ({ type: 'scan-done', region, rc: 0, attempts: 1, found: 0 } as RuntimeEvent);
  t.same(judge([ev(teardown(R0), USER), orphan, ev(teardown(R0), USER), overlapping], gone, 'extent-o'), ['extent-orphaned-h14', 'extent-overlap-after-h14'], 'realized after the first teardown, before device_del\'s: H14\'s orphan and its overlap');
  t.same(judge([ev(teardown(R0), USER), ev(scanDone(R0), 9), orphan, ev(teardown(R0), USER), overlapping], gone, 'extent-overlap'), ['extent-overlap'], 'the region was probed again before the extent came: only the later teardown counts, which came after it: forbidden');
  t.end();
});

// The two free-run traces themselves (docs/findings-open/; they do not replay step for step: free
// runs), re-judged from their recorded event streams: the extents checker now names both H14's.
t.test('the rcu=on control\'s two recorded event streams re-judged', async (t) => {
  const { readFileSync } = await import('node:fs');
  const cases: { file: string; gone: number[]; forbidden: string }[] = [
    { file: 'swarm-group-release-incomplete-112-1153', gone: [184877056], forbidden: 'group-release-incomplete' },
    { file: 'swarm-extent-overlap-119-82', gone: [12910593, 13041665], forbidden: 'extent-overlap' },
  ];
  for (const c of cases) {
    const tr = JSON.parse(readFileSync(new URL(`../docs/findings-open/${c.file}.trace.json`, import.meta.url), 'utf8')) as { outcomes: string[]; record: { events: { thread: string; ev: RuntimeEvent }[] } };
    t.ok(tr.outcomes.includes(c.forbidden), `${c.file}: recorded as ${c.forbidden}`);
    const threads: string[] = [];
    const evs = tr.record.events.map((e) => ev(e.ev, threads.includes(e.thread) ? threads.indexOf(e.thread) : threads.push(e.thread) - 1));
    const got = judge(evs, sysWith(c.gone));
    t.notOk(got.includes(c.forbidden), `${c.file}: no ${c.forbidden} now (${evs.length} recorded events; got ${got.join(', ')})`);
    t.ok(got.includes('extent-orphaned-h14') && got.includes('extent-overlap-after-h14'), `${c.file}: H14's orphan and its overlap`);
  }
});

// H14's orphan on a re-probed region (docs/fidelity-daxinst.md): `cxl disable-region` tore the
// region down, the chain's later group was realized onto the unregistered cxl_dax_region (which a
// tag group pins), then `cxl enable-region` probed the SAME region again — cxl_dax_region_alloc
// (drivers/cxl/core/region_dax.c) made a new, empty instance (`region-probe`). The orphan stays in
// the old instance's dc_extents, so the new instance's scan (or a later chain) realizes its range
// again on the same region handle. Known only with that evidence; every rule checked both ways.
t.test('extent-overlap-after-h14 on a re-probed region: the orphan stays with the replaced instance', (t) => {
  const probe = (region: number, gen: number): RuntimeEvent => ({ type: 'region-probe', region, gen } as RuntimeEvent);
  const live = sysWith([]);
  const rescan = ev(tracked(2, A, 8 * MiB, R0, 300, 1), 9);
  const later = ev(tracked(3, A + 4 * MiB, 8 * MiB, R0, 301, 0), IRQ);
  for (const [name, nw] of [['scan', rescan], ['chain', later]] as const) {
    t.same(judge([ev(teardown(R0), USER), orphan, ev(probe(R0, 2), 9), nw], live, 'extent-o'), ['extent-orphaned-h14', 'extent-overlap-after-h14'], `${name}: realized after the teardown, then a re-probe, then the range again: H14's orphan and its overlap, the region live`);
    t.same(judge([ev(teardown(R0), USER), orphan, nw], live, 'extent-o'), ['extent-overlap'], `${name}: no re-probe (the same instance's classify would have met the orphan): forbidden`);
    t.same(judge([orphan, ev(teardown(R0), USER), ev(probe(R0, 2), 9), nw], live, 'extent-o'), ['extent-overlap'], `${name}: realized BEFORE the teardown began (its devres should have released it): forbidden`);
    t.same(judge([ev(teardown(R0), USER), ev(probe(R0, 2), 9), orphan, nw], live, 'extent-o'), ['extent-overlap'], `${name}: realized after the re-probe (on the new instance): forbidden`);
    t.same(judge([ev(teardown(R1), USER), orphan, ev(probe(R0, 2), 9), nw], live, 'extent-o'), ['extent-overlap'], `${name}: another region's teardown: forbidden`);
    t.same(judge([ev(teardown(R0), USER), orphan, ev(probe(R1, 2), 9), nw], live, 'extent-o'), ['extent-overlap'], `${name}: another region's re-probe: forbidden`);
  }
  t.same(judge([ev(teardown(R0), USER), orphan, ev(probe(R0, 2), 9)], live, 'extent-o'), ['extent-orphaned-h14'], 'alone: the orphan outlives its replaced instance');
  t.same(judge([ev(teardown(R0), USER), orphan], live, 'extent-o'), [], 'no re-probe and the region live: nothing judged (the disabled region may still release it)');
  t.same(judge([ev(teardown(R0), USER), orphan, ev(probe(R0, 2), 9), ev(untracked(1, A, 8 * MiB, R0), USER)], live, 'extent-o'), [], 'released before quiescence: no orphan');
  t.end();
});
