// Scenario validation: every malformed kind reports the exact JSON path and says what was expected.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Test } from 'tap';
import { ERRNOS } from '../src/errors.js';
import { KNOWN_KNOBS, OP_FIELDS, COMMON_FIELDS, parseScenario, resolveKnobs, validateScenario } from '../src/scenario/validate.js';
import { KNOWN_ERRNOS, KNOWN_OPS } from '../src/scenario/types.js';
import type { Step } from '../src/scenario/types.js';

const TAG = '11111111-1111-1111-1111-111111111111';

function doc(steps: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topology: { memdevs: [{ name: 'mem0', dc: { base: '2G', size: '512M', blockSize: '2M' } }] },
    steps: [{ op: 'create-region', memdev: 'mem0', as: 'region0' }, ...steps],
    ...extra,
  };
}

/** Exactly one error, at `path`, with a message matching `re`. */
function oneError(t: Test, input: string | Record<string, unknown>, path: string, re: RegExp): void {
  const r = typeof input === 'string' ? parseScenario(input, 'bad.json') : validateScenario(input);
  t.equal(r.ok, false, 'rejected');
  if (r.ok) return;
  t.same(r.errors.map((e) => e.path), [path], `one error at ${path}: ${JSON.stringify(r.errors)}`);
  t.match(r.errors[0]?.message ?? '', re);
}

t.test('the tour validates and normalises', async (t) => {
  const text = readFileSync(new URL('../scenarios/tour.json', import.meta.url), 'utf8');
  const r = parseScenario(text, 'scenarios/tour.json');
  if (!r.ok) t.fail(JSON.stringify(r.errors, null, 2));
  t.equal(r.ok, true);
  if (!r.ok) return;
  const s = r.scenario;
  t.equal(s.device, 'cxl-test');
  t.same(s.topology.memdevs[0]?.dc, { base: 2 ** 31, size: 512 * 2 ** 20, blockSize: 2 * 2 ** 20 });
  const add = s.steps.find((x: Step) => x.op === 'add-capacity');
  t.equal(add?.op, 'add-capacity');
  if (add?.op === 'add-capacity') t.same(add.extents, [{ offset: 0, length: 64 * 2 ** 20, tag: TAG, more: true, seq: 0 }]);
  const claim = s.steps.find((x: Step) => x.op === 'create-dax-device' && x.as === 'daxU');
  t.ok(claim, 'untagged claim present');
  if (claim?.op === 'create-dax-device') t.equal(claim.uuid, null, '"0" → null (untagged claim)');
  const anyOf = s.steps.find((x: Step) => x.op === 'expect' && x.kind === 'anyOf');
  t.ok(anyOf, 'anyOf expectation present');
});

t.test('defaults are filled in', async (t) => {
  const r = validateScenario({ topology: { memdevs: [{}, { name: 'memX' }] }, steps: [{ op: 'create-dax-device', region: 'r', expectError: 'ENXIO' }] });
  t.equal(r.ok, false, 'undefined alias still caught');
  const ok = validateScenario({
    topology: { memdevs: [{}, { name: 'memX', serial: '0xDCDC' }] },
    steps: [{ op: 'create-region', memdev: 'mem0', as: 'r' }, { op: 'create-dax-device', region: 'r', expectError: 'ENOENT' },
      { op: 'release-capacity', memdev: 'memX', extents: [{ offset: 0, length: '2M' }] }, { op: 'wait-idle' }],
  });
  if (!ok.ok) return t.fail(JSON.stringify(ok.errors));
  const s = ok.scenario;
  t.same(s.topology.memdevs[0], { name: 'mem0', serial: 0, sharable: false, dc: { base: 2 ** 31, size: 2 ** 29, blockSize: 2 ** 21 }, preAccepted: [] });
  t.equal(s.topology.memdevs[1]?.serial, 0xdcdc);
  t.equal(s.variant, 'v11');
  t.equal(s.clock, 'real');
  t.equal(s.seed, 0);
  t.same(s.steps[1], { op: 'create-dax-device', region: 'r', expectError: ['ENOENT'] }, 'no uuid = plain create; errno normalised to a list');
  t.same(s.steps[2], { op: 'release-capacity', memdev: 'memX', extents: [{ offset: 0, length: 2 ** 21, tag: null, more: false }], forced: false });
});

t.test('malformed scenarios name the exact path', async (t) => {
  t.test('bad JSON reports line and column', async (t) => {
    oneError(t, '{\n  "topology": {},\n  "steps": [,]\n}', '$', /invalid JSON at bad\.json:line 3, column 13: expected a JSON value, found ","/);
    oneError(t, '{"steps": []', '$', /line 1, column 13: expected ',' or '}', found end of input/);
  });
  t.test('unknown op lists the known ops', async (t) => {
    oneError(t, doc([{ op: 'add-capcity', memdev: 'mem0' }]), '$.steps[1].op', /unknown op "add-capcity"; known ops: add-capacity, release-capacity, .*region-config-updated/);
  });
  t.test('missing field', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', extents: [{ offset: 0, length: '64M' }] }]), '$.steps[1].memdev', /missing required field "memdev" \(add-capacity needs memdev, extents\)/);
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0 }] }]), '$.steps[1].extents[0].length', /missing required field "length"/);
    oneError(t, { topology: { memdevs: [{}] } }, '$.steps', /missing required field "steps"/);
  });
  t.test('wrong type', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '2M', more: 'yes' }] }]), '$.steps[1].extents[0].more', /more must be true or false, got string "yes"/);
    oneError(t, doc([{ op: 'expect', path: 'regions', count: -1 }]), '$.steps[1].count', /count must be an integer in 0\.\./);
  });
  t.test('bad size string', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: '64Q', length: '2M' }] }]), '$.steps[1].extents[0].offset', /offset: "64Q" is not a size; expected bytes as a number, decimal or hex/);
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: '0.3K', length: '2M' }] }]), '$.steps[1].extents[0].offset', /not a whole number of bytes/);
  });
  t.test('bad uuid', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '2M', tag: '1111-2222' }] }]), '$.steps[1].extents[0].tag', /tag: "1111-2222" is not a uuid; expected 8-4-4-4-12 hex digits, or null \/ "0"/);
    oneError(t, doc([{ op: 'create-dax-device', region: 'region0', uuid: 'nope' }]), '$.steps[1].uuid', /uuid: "nope" is not a uuid/);
  });
  t.test('unknown memdev', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem7', extents: [{ offset: 0, length: '2M' }] }]), '$.steps[1].memdev', /unknown memdev "mem7"; the topology defines mem0/);
  });
  t.test('expect on a bad path', async (t) => {
    oneError(t, doc([{ op: 'expect', path: 'region.region0.extents', count: 1 }]), '$.steps[1].path', /path "region\.region0\.extents" starts with "region"; a state path starts with one of regions, daxDevices, memdevs, trace, ops, checks/);
    oneError(t, doc([{ op: 'expect', path: 'regions..extents', count: 1 }]), '$.steps[1].path', /empty segment/);
  });
  t.test('negative length', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '-64M' }] }]), '$.steps[1].extents[0].length', /length must be a positive size, got -64M/);
    oneError(t, doc([{ op: 'release-capacity', memdev: 'mem0', extents: [{ offset: 0, length: -1 }] }]), '$.steps[1].extents[0].length', /length must be a positive size, got -1/);
  });
  t.test('zero length', async (t) => {
    oneError(t, doc([{ op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '0' }] }]), '$.steps[1].extents[0].length', /length must be a positive size, got "0"/);
    oneError(t, { topology: { memdevs: [{ preAccepted: [{ offset: '128M', length: 0 }] }] }, steps: [] }, '$.topology.memdevs[0].preAccepted[0].length', /length must be a positive size, got 0/);
  });
  t.test('unknown top-level key', async (t) => {
    oneError(t, doc([], { varient: 'v10' }), '$.varient', /unknown top-level field "varient"; expected \$schema, topology, variant, device, knobs, clock, seed, description, steps/);
  });
  t.test('two matchers, and none', async (t) => {
    oneError(t, doc([{ op: 'expect', path: 'regions.region0.extents', count: 2, equals: [] }]), '$.steps[1]', /expect takes exactly one matcher of count, equals, contains, exists; got count and equals/);
    oneError(t, doc([{ op: 'expect', path: 'regions.region0.extents' }]), '$.steps[1]', /exactly one matcher .*; got none/);
    oneError(t, doc([{ op: 'expect', path: 'regions.region0.size', equals: '1G', where: { a: 1 } }]), '$.steps[1].where', /where filters array elements for count or contains; it does not apply to equals/);
  });
  t.test('bad errno', async (t) => {
    oneError(t, doc([{ op: 'destroy-region', region: 'region0', expectError: 'EWHAT' }]), '$.steps[1].expectError', /unknown errno "EWHAT" in expectError; known: EPERM ENOENT EIO/);
    oneError(t, doc([{ op: 'destroy-region', region: 'region0', allowError: ['EBUSY', 'einval'] }]), '$.steps[1].allowError[1]', /unknown errno "einval" in allowError/);
    oneError(t, doc([{ op: 'expect', path: 'regions', count: 1, expectError: 'EIO' }]), '$.steps[1].expectError', /expectError does not apply to expect/);
    oneError(t, doc([{ op: 'wait-idle', expectError: 'EIO', allowError: ['EIO'] }]), '$.steps[1].allowError', /either expectError .* or allowError .*, not both/);
  });
  t.test('bad duration', async (t) => {
    oneError(t, doc([{ op: 'advance-clock', by: '20 seconds' }]), '$.steps[1].by', /by: "20 seconds" is not a duration; expected milliseconds as a number, or a string like "200ms", "15s"/);
    oneError(t, doc([{ op: 'sleep', by: '0.5ms' }]), '$.steps[1].by', /not a whole number of milliseconds/);
  });
  t.test('undefined alias', async (t) => {
    oneError(t, doc([{ op: 'create-dax-device', region: 'region1', uuid: TAG }]), '$.steps[1].region', /region "region1" is not defined by the "as" of an earlier create-region step \(defined so far: region0\)/);
    oneError(t, doc([{ op: 'destroy-dax-device', dax: 'daxA' }, { op: 'create-dax-device', region: 'region0', as: 'daxA' }]), '$.steps[1].dax', /dax "daxA" is not defined by the "as" of an earlier create-dax-device step \(defined so far: \(none\)\)/);
    oneError(t, doc([{ op: 'destroy-region', region: 'region0' }, { op: 'destroy-region', region: 'region0', id: 'again' }, { op: 'create-dax-device', region: 'gone' }]), '$.steps[3].region', /region "gone" is not defined/);
  });
  t.test('unknown knob, bad knob value, bad variant, bad device', async (t) => {
    oneError(t, doc([], { knobs: { 'tag-lok': 'off' } }), '$.knobs["tag-lok"]', /unknown knob "tag-lok"; known knobs: tag-lock, group-lock, parallel-event-handlers/);
    oneError(t, doc([], { knobs: { 'parallel-event-handlers': 0 } }), '$.knobs["parallel-event-handlers"]', /expected a positive integer, got 0/);
    oneError(t, doc([], { variant: 'v12' }), '$.variant', /unknown variant "v12"; expected one of v11, v10, post-v11/);
    oneError(t, doc([], { device: 'nope' }), '$.device', /unknown device "nope"; expected one of qemu, qemu-tag-rfc, cxl-test, hostile/);
  });
  t.test('duplicate memdev names and ids', async (t) => {
    oneError(t, { topology: { memdevs: [{ name: 'mem0' }, { name: 'mem0' }] }, steps: [] }, '$.topology.memdevs[1].name', /duplicate memdev name "mem0" \(first at \$\.topology\.memdevs\[0\]\.name\)/);
    oneError(t, doc([{ op: 'wait-idle', id: 'w' }, { op: 'wait-idle', id: 'w' }]), '$.steps[2].id', /duplicate id "w" \(first used at \$\.steps\[1\]\.id\)/);
  });
  t.test('unknown step field, bad inject record, nested parallel', async (t) => {
    oneError(t, doc([{ op: 'wait-idle', timout: '1s' }]), '$.steps[1].timout', /unknown field "timout" in op wait-idle; expected one of op, id, expectError, allowError, description, timeout/);
    oneError(t, doc([{ op: 'inject', memdev: 'mem0', record: '0:2M:0' }]), '$.steps[1].record', /record "0:2M:0" has 3 fields; expected "<start>:<length>:<tag>:<more>\[:<seq>\]"/);
    oneError(t, doc([{ op: 'inject', memdev: 'mem0', record: '0:2M:zz:1:70000' }]), '$.steps[1].record', /tag: "zz" is not a uuid.*seq: "70000" is not an integer in 0\.\.65535/);
    oneError(t, doc([{ parallel: [[{ parallel: [[{ op: 'wait-idle' }]] }]] }]), '$.steps[1].parallel[0][0]', /parallel blocks do not nest/);
    oneError(t, doc([{ op: 'wait-idle', parallel: [[{ op: 'wait-idle' }]] }]), '$.steps[1].op', /its op must be "parallel" or absent, got "wait-idle"/);
  });
  t.test('ops.<id> must name an earlier id', async (t) => {
    oneError(t, doc([{ op: 'expect', path: 'ops.claim', exists: true }, { op: 'wait-idle', id: 'claim' }]), '$.steps[1].path', /no earlier step has id "claim"/);
  });
});

t.test('every error is collected, sorted by where it appears', async (t) => {
  const r = parseScenario(JSON.stringify({
    steps: [
      { op: 'add-capacity', memdev: 'mem9', extents: [{ offset: 'x', length: 0 }] },
      { op: 'frob' },
    ],
    bogus: true,
    topology: { memdevs: [{ name: 'mem0' }] },
    variant: 'v9',
  }));
  t.equal(r.ok, false);
  if (r.ok) return;
  t.same(r.errors.map((e) => e.path), [
    '$.steps[0].memdev', '$.steps[0].extents[0].offset', '$.steps[0].extents[0].length', '$.steps[1].op', '$.bogus', '$.variant',
  ]);
});

t.test('aliases: parallel branches see what came before and their own steps; after the block, all', async (t) => {
  const ok = validateScenario(doc([
    { parallel: [
      [{ op: 'create-dax-device', region: 'region0', uuid: TAG, as: 'daxA', allowError: ['ENOENT'] }, { op: 'destroy-dax-device', dax: 'daxA', allowError: ['ENXIO'] }],
      [{ op: 'create-region', memdev: 'mem0', as: 'r2', allowError: ['EBUSY'] }],
    ] },
    { op: 'destroy-dax-device', dax: 'daxA', allowError: ['ENXIO'] },
    { op: 'destroy-region', region: 'r2', allowError: ['ENXIO'] },
  ]));
  if (!ok.ok) t.fail(JSON.stringify(ok.errors));
  t.equal(ok.ok, true);
  if (ok.ok) {
    const p = ok.scenario.steps[1];
    t.equal(p?.op, 'parallel');
    if (p?.op === 'parallel') t.equal(p.branches.length, 2);
  }
  // a sibling branch's alias is not visible inside another branch
  const bad = validateScenario(doc([{ parallel: [[{ op: 'create-region', memdev: 'mem0', as: 'r2' }], [{ op: 'destroy-region', region: 'r2' }]] }]));
  t.equal(bad.ok, false);
  if (!bad.ok) t.same(bad.errors.map((e) => e.path), ['$.steps[1].parallel[1][0].region']);
});

t.test('anyOf and inject parse into their normalised forms', async (t) => {
  const r = validateScenario(doc([
    { op: 'inject', memdev: 'mem0', record: '0x10000000:0x4000000::1:3' },
    { op: 'inject', memdev: 'mem0', record: '0:0:0:0', expectError: 'EINVAL', description: 'zero length reaches the device, which refuses it' },
    { op: 'expect', anyOf: [[{ path: 'regions.region0.extents', count: 1 }], [{ op: 'expect', path: 'memdevs.mem0.pending', count: 1, where: { tag: null } }]] },
  ]));
  if (!r.ok) return t.fail(JSON.stringify(r.errors));
  t.same(r.scenario.steps[1], { op: 'inject', memdev: 'mem0', record: '0x10000000:0x4000000::1:3', extent: { offset: 0x10000000, length: 64 * 2 ** 20, tag: null, more: true, seq: 3 }, shared: false });
  t.same(r.scenario.steps[3], {
    op: 'expect', kind: 'anyOf', anyOf: [
      [{ kind: 'path', path: 'regions.region0.extents', matcher: { kind: 'count', count: 1 } }],
      [{ kind: 'path', path: 'memdevs.mem0.pending', matcher: { kind: 'count', count: 1 }, where: { tag: null } }],
    ],
  });
  const mixed = validateScenario(doc([{ op: 'expect', path: 'regions', count: 1, anyOf: [[{ path: 'regions', count: 1 }]] }]));
  t.equal(mixed.ok, false);
  if (!mixed.ok) t.match(mixed.errors[0], { path: '$.steps[1].path', message: /an expect with anyOf takes no "path"/ });
});

// ---- the schema and the validator must describe the same format ----

interface SchemaNode { properties?: Record<string, SchemaNode>; required?: string[]; enum?: unknown[]; $defs?: Record<string, SchemaNode> }

t.test('schema mirrors the validator', async (t) => {
  const schema = JSON.parse(readFileSync(new URL('../schema/scenario.schema.json', import.meta.url), 'utf8')) as SchemaNode & { $schema: string };
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const defs = schema.$defs ?? {};
  const common = Object.keys(defs.opCommon?.properties ?? {});
  t.same(common.sort(), COMMON_FIELDS.filter((f) => f !== 'op').sort(), 'common fields');
  for (const [op, fields] of Object.entries(OP_FIELDS)) {
    const def = defs[`op-${op}`];
    t.ok(def, `schema has op-${op}`);
    const props = Object.keys(def?.properties ?? {}).filter((p) => p !== 'op');
    t.same(props.sort(), [...fields.required, ...fields.optional].sort(), `${op} fields`);
    t.same((def?.required ?? []).filter((p) => p !== 'op').sort(), [...fields.required].sort(), `${op} required`);
  }
  t.same(defs.opStep?.properties?.op?.enum, KNOWN_OPS.filter((o) => o !== 'parallel'), 'op enum');
  t.same(defs.errno?.enum, [...KNOWN_ERRNOS], 'errno enum');
  t.same(Object.keys(schema.properties?.knobs?.properties ?? {}), Object.keys(KNOWN_KNOBS), 'knob names');
  t.ok(Object.keys(defs).includes('parallelStep'));
  // every description present: walk op defs
  for (const [op] of Object.entries(OP_FIELDS)) {
    for (const [f, node] of Object.entries(defs[`op-${op}`]?.properties ?? {})) {
      t.type((node as { description?: unknown }).description, 'string', `op-${op}.${f} has a description`);
    }
  }
});

t.test('scenario errno names agree with src/errors.ts', async (t) => {
  t.same([...KNOWN_ERRNOS].sort(), [...ERRNOS].sort());
});

t.test('knobs: variants are presets, explicit knobs win', async (t) => {
  t.equal(resolveKnobs('v11')['group-lock'], 'group');
  t.equal(resolveKnobs('v10')['group-lock'], 'per-extent');
  t.equal(resolveKnobs('v10', { 'group-lock': 'group' })['group-lock'], 'group');
  t.equal(resolveKnobs('post-v11').rcu, 'on');
  t.same(KNOWN_KNOBS['tag-lock'].parse(false), { ok: true, value: 'off' });
  t.same(KNOWN_KNOBS['parallel-event-handlers'].parse('2'), { ok: true, value: 2 });
});
