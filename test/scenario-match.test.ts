// expect matchers over SystemState: paths, count/equals/contains/exists, where, anyOf and the relaxations.
import t from 'tap';
import { MiB } from '../src/units.js';
import { formatState } from '../src/cli/format.js';
import { evaluateExpect, resolvePath, valuesMatch } from '../src/scenario/match.js';
import type { Expectation, JsonValue, Matcher } from '../src/scenario/types.js';
import { NULL_UUID } from '../src/state.js';
import type { SystemState } from '../src/state.js';

const M = MiB;
const TAG = '11111111-1111-1111-1111-111111111111';

function state(): SystemState {
  return {
    regions: {
      region0: {
        name: 'region0', memdev: 'mem0', mode: 'dynamic_ram_1', size: 512 * M, hpaStart: 0x1000000000, dpaOffset: 0,
        extents: [
          { offset: 0, length: 64 * M, uuid: TAG, name: 'extent0.1', seq: 0 },
          { offset: 256 * M, length: 64 * M, uuid: TAG, name: 'extent0.2', seq: 1 },
          { offset: 384 * M, length: 64 * M, uuid: NULL_UUID, name: 'extent0.3' },
        ],
        availableSize: 64 * M, seed: '', driverBound: true, extentsScanned: true,
        daxDevices: [
          { name: 'dax0.0', chardev: 'dax0.0', size: 0, align: 2 * M, mode: 'devdax', state: 'disabled', uuid: NULL_UUID },
          { name: 'dax0.1', chardev: 'dax0.1', size: 128 * M, align: 2 * M, mode: 'devdax', uuid: TAG },
        ],
      },
    },
    daxDevices: {
      'dax0.0': { name: 'dax0.0', region: 'region0', size: 0, uuid: NULL_UUID, ranges: [], enabled: false },
      'dax0.1': {
        name: 'dax0.1', region: 'region0', size: 128 * M, uuid: TAG, enabled: true, alias: 'daxA',
        ranges: [{ offset: 0, length: 64 * M }, { offset: 256 * M, length: 64 * M }],
      },
    },
    memdevs: {
      mem0: {
        name: 'mem0', serial: 99, dcdSupported: true, dynamicRam1Size: 512 * M, decoderMode: 'dynamic_ram_1', sharable: false,
        accepted: [
          { offset: 0, length: 64 * M, tag: TAG, seq: 0 },
          { offset: 256 * M, length: 64 * M, tag: TAG, seq: 0 },
          { offset: 384 * M, length: 64 * M, tag: null, seq: 0 },
        ],
        pending: [], generation: 3, eventLog: { queued: 0, overflow: 0 },
      },
    },
    trace: {
      mailbox: [
        { memdev: 'mem0', opcode: 'GET_DC_CONFIG', nrExtents: 0, rc: 'SUCCESS' },
        { memdev: 'mem0', opcode: 'ADD_DC_RESPONSE', nrExtents: 2, rc: 'SUCCESS', more: false },
        { memdev: 'mem0', opcode: 'RELEASE_DC', nrExtents: 1, rc: 'SUCCESS' },
      ],
      dynamicCapacityEvents: [],
      log: [],
    },
    ops: { claim: { ok: false, error: 'ENOENT' } },
    checks: [{ invariant: 'tag-uniqueness', ok: true, class: 'acceptable' }],
  };
}

function ex(path: string, matcher: Matcher, where?: { [k: string]: JsonValue }): Expectation {
  return { kind: 'path', path, matcher, ...(where !== undefined ? { where } : {}) };
}
const count = (n: number): Matcher => ({ kind: 'count', count: n });
const equals = (v: JsonValue): Matcher => ({ kind: 'equals', equals: v });
const contains = (v: JsonValue): Matcher => ({ kind: 'contains', contains: v });
const exists = (b: boolean): Matcher => ({ kind: 'exists', exists: b });

t.test('resolvePath', async (t) => {
  const s = state();
  t.same(resolvePath(s, 'regions.region0.extents.1.offset'), { ok: true, value: 256 * M });
  t.same(resolvePath(s, 'daxDevices.daxA.size'), { ok: true, value: 128 * M }, 'alias lookup under a keyed collection');
  t.same(resolvePath(s, 'daxDevices.dax0.1.size'), { ok: true, value: 128 * M }, 'a dotted kernel name is joined back into one key');
  t.same(resolvePath(s, 'daxDevices.dax0.0.ranges'), { ok: true, value: [] }, 'the seed device, by kernel name');
  t.same(resolvePath(s, 'daxDevices.dax9.1.size'), { ok: false, segment: 'dax9', index: 1, resolved: 'daxDevices', reason: 'no "dax9" under daxDevices (keys: dax0.0, dax0.1)' });
  const miss = resolvePath(s, 'regions.region9.extents');
  t.match(miss, { ok: false, segment: 'region9', index: 1, resolved: 'regions', reason: /no "region9" under regions \(keys: region0\)/ });
  t.match(resolvePath(s, 'regions.region0.extents.7'), { ok: false, segment: '7', index: 3, reason: /index 7 is out of range: regions\.region0\.extents has 3 element/ });
  t.match(resolvePath(s, 'regions.region0.extents.first'), { ok: false, segment: 'first', reason: /"first" is not an index/ });
  t.match(resolvePath(s, 'regions.region0.size.bits'), { ok: false, segment: 'bits', reason: /regions\.region0\.size is 536870912, which has no "bits"/ });
  t.match(resolvePath(s, 'nope'), { ok: false, segment: 'nope', index: 0, resolved: '' });
});

t.test('count: arrays, keyed collections, absent arrays count 0, where filters', async (t) => {
  const s = state();
  t.match(evaluateExpect(s, ex('regions.region0.extents', count(3))), { ok: true, actual: 3 });
  const bad = evaluateExpect(s, ex('regions.region0.extents', count(2)));
  t.match(bad, { ok: false, path: 'regions.region0.extents', expected: 2, actual: 3 });
  t.match(bad.message, /^FAILED regions\.region0\.extents: expected count 2; actual: count 3$/);
  t.match(evaluateExpect(s, ex('regions.region0.missingList', count(0))), { ok: true, actual: 0 }, 'absent array counts 0');
  t.match(evaluateExpect(s, ex('regions.region9.extents', count(0))), { ok: false, message: /path does not resolve at "region9"/ }, 'a miss before the last segment fails');
  t.match(evaluateExpect(s, ex('daxDevices', count(1), { region: 'region0', enabled: true })), { ok: true, actual: 1 }, 'object values are the collection');
  t.match(evaluateExpect(s, ex('memdevs.mem0.accepted', count(1), { tag: null })), { ok: true });
  t.match(evaluateExpect(s, ex('trace.mailbox', count(1), { opcode: 'RELEASE_DC' })), { ok: true });
  const w = evaluateExpect(s, ex('memdevs.mem0.accepted', count(3), { tag: TAG.toUpperCase() }));
  t.match(w, { ok: false, actual: 2 }, 'where uses the uuid relaxation');
  t.match(w.message, /expected count 3 where \{"tag":"11111111-1111-1111-1111-111111111111"\}|expected count 3 where/);
  t.match(w.message, /actual: count 2 of 3/);
  t.match(evaluateExpect(s, ex('regions.region0.size', count(1))), { ok: false, message: /is a number, not an array/ });
});

t.test('equals: size strings, uuid case, deep objects with extra actual fields ignored', async (t) => {
  const s = state();
  t.match(evaluateExpect(s, ex('daxDevices.daxA.size', equals('128M'))), { ok: true });
  t.match(evaluateExpect(s, ex('daxDevices.daxA.size', equals('0x8000000'))), { ok: true });
  t.match(evaluateExpect(s, ex('daxDevices.daxA.size', equals(134217728))), { ok: true });
  const wrong = evaluateExpect(s, ex('daxDevices.daxA.size', equals('64M')));
  t.match(wrong, { ok: false, expected: '64M', actual: 128 * M });
  t.match(wrong.message, /^FAILED daxDevices\.daxA\.size: expected equals "64M" \(67108864 bytes\); actual: 134217728$/);
  t.match(evaluateExpect(s, ex('daxDevices.daxA.uuid', equals(TAG.toUpperCase()))), { ok: true }, 'uuid case-insensitive');
  t.match(evaluateExpect(s, ex('daxDevices.dax0.0.uuid', equals(NULL_UUID))), { ok: true }, 'the seed device by kernel name');
  t.match(evaluateExpect(s, ex('daxDevices.daxA.ranges', equals([{ offset: '0', length: '64M' }, { offset: '256M', length: '64M' }]))), { ok: true }, 'deep with size strings');
  t.match(evaluateExpect(s, ex('daxDevices.daxA.ranges', equals([{ offset: 0, length: '64M' }]))), { ok: false }, 'array lengths must match');
  t.match(evaluateExpect(s, ex('regions.region0.extents.0', equals({ offset: 0, length: '64M', uuid: TAG }))), { ok: true }, 'extra actual fields (name, seq) ignored');
  t.match(evaluateExpect(s, ex('ops.claim', equals({ ok: false, error: 'ENOENT' }))), { ok: true });
  t.match(evaluateExpect(s, ex('memdevs.mem0.accepted.2.tag', equals(null))), { ok: true });
  t.match(evaluateExpect(s, ex('regions.region0.extents.2.uuid', equals(null))), { ok: false }, 'no null-uuid relaxation: null != the null uuid');
  t.match(evaluateExpect(s, ex('regions.region0.extents.2.uuid', equals('0'))), { ok: false }, '"0" != the null uuid');
  t.match(evaluateExpect(s, ex('regions.region9.size', equals(1))), { ok: false, actual: undefined, message: /does not resolve at "region9"/ });
  t.equal(valuesMatch('64M', '0x4000000'), true, 'two size strings compare by value');
  t.equal(valuesMatch('SUCCESS', 'success'), false, 'other strings are exact');
});

t.test('contains: some element has these fields; where first; scalars', async (t) => {
  const s = state();
  t.match(evaluateExpect(s, ex('regions.region0.extents', contains({ offset: '256M', length: '64M', uuid: TAG.toUpperCase() }))), { ok: true });
  const no = evaluateExpect(s, ex('regions.region0.extents', contains({ offset: '128M' })));
  t.match(no, { ok: false });
  t.match(no.message, /expected contains \{"offset":"128M"\}; actual: 3 element\(s\), none match/);
  t.match(evaluateExpect(s, ex('memdevs.mem0.accepted', contains({ offset: '384M' }), { tag: TAG })), { ok: false }, 'where removes the untagged one first');
  t.match(evaluateExpect(s, ex('regions.region0.daxDevices', contains({ name: 'dax0.1' }))), { ok: true }, 'a device element found by name');
  t.match(evaluateExpect(s, ex('regions.region0.daxDevices', contains({ chardev: 'dax0.0', state: 'disabled', size: 0 }))), { ok: true }, 'the idle device, as daxctl list -D -i shows it');
  t.match(evaluateExpect(s, ex('regions.region0.daxDevices', contains('dax0.1'))), { ok: false }, 'a bare name is not an element any more');
  t.match(evaluateExpect(s, ex('regions.region0.size', contains(1))), { ok: false, message: /not an array/ });
});

t.test('exists', async (t) => {
  const s = state();
  t.match(evaluateExpect(s, ex('daxDevices.daxA', exists(true))), { ok: true, actual: true });
  t.match(evaluateExpect(s, ex('daxDevices.daxB', exists(false))), { ok: true, actual: false });
  t.match(evaluateExpect(s, ex('memdevs.mem0.accepted.2.tag', exists(true))), { ok: true }, 'null exists');
  const bad = evaluateExpect(s, ex('regions.region1', exists(true)));
  t.match(bad, { ok: false, actual: false });
  t.match(bad.message, /expected exists true; actual: does not exist \(no "region1" under regions/);
});

t.test('anyOf: one alternative must hold entirely; the message says why each failed', async (t) => {
  const s = state();
  const held = evaluateExpect(s, { kind: 'anyOf', anyOf: [
    [ex('daxDevices.daxA.size', equals('64M'))],
    [ex('daxDevices.daxA.size', equals('128M')), ex('regions.region0.extents', count(3))],
  ] });
  t.match(held, { ok: true, path: 'anyOf', message: 'ok anyOf: alternative 2 of 2 held' });
  const partial = evaluateExpect(s, { kind: 'anyOf', anyOf: [
    [ex('daxDevices.daxA.size', equals('128M')), ex('regions.region0.extents', count(2))],
    [ex('daxDevices.daxA.uuid', equals('0'))],
  ] });
  t.equal(partial.ok, false, 'an alternative that holds only in part does not count');
  t.match(partial.message, /^FAILED anyOf: none of 2 alternatives held: \[1\] regions\.region0\.extents: expected count 2; actual: count 3; \[2\] daxDevices\.daxA\.uuid: expected equals "0"; actual: "11111111-/);
  t.equal(partial.alternatives?.length, 2);
  t.same(partial.expected, [['daxDevices.daxA.size equals "128M" (134217728 bytes)', 'regions.region0.extents count 2'], ['daxDevices.daxA.uuid equals "0"']]);
  const nested = evaluateExpect(s, { kind: 'anyOf', anyOf: [[{ kind: 'anyOf', anyOf: [[ex('ops.claim.ok', equals(false))]] }]] });
  t.equal(nested.ok, true, 'anyOf nests');
});

t.test('formatState renders memdevs, regions, dax devices, mailbox and checks', async (t) => {
  const text = formatState(state());
  t.match(text, /mem0  serial 0x63  dynamic_ram_1 size 0x20000000 \(512M\)  decoder mode dynamic_ram_1/);
  t.match(text, /accepted \(3\):\n {6}dpa\+0x0 length 0x4000000 \(64M\) tag 11111111-1111-1111-1111-111111111111 seq 0/);
  t.match(text, /tag untagged/);
  t.match(text, /region0  memdev mem0  mode dynamic_ram_1  size 0x20000000 \(512M\)  available_size 0x4000000 \(64M\)/);
  t.match(text, /extent0\.2  offset 0x10000000  length 0x4000000 \(64M\)  uuid 11111111-1111-1111-1111-111111111111  seq 1/);
  t.match(text, /dax0\.1 \(daxA\)  region region0  size 0x8000000 \(128M\)  uuid 11111111/);
  t.match(text, /range offset 0x10000000 length 0x4000000 \(64M\)/);
  t.match(text, /mailbox \(3 commands\):\n.*GET_DC_CONFIG.*\n.*mem0  ADD_DC_RESPONSE  nrExtents 2  rc SUCCESS  more 0/);
  t.match(text, /ops:\n {2}claim: failed ENOENT/);
  t.match(text, /checks:\n {2}ok {6}tag-uniqueness  \[acceptable\]/); // the mark column fits HAZARD
});
