// The published schema is generated from the definition the validator runs (src/scenario/spec.ts):
// the committed file must be exactly what `npm run schema` writes, every example must pass both the
// schema and the validator, and for every op field the two must refuse the same broken values.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { scenarioSchema, scenarioSchemaText, SCHEMA_FILE } from '../src/scenario/schema.js';
import {
  ADD_EXTENT_SPEC, COMMON_SPEC, DC_SPEC, EXPECT_SPEC, MEMDEV_SPEC, OPS, PRE_ACCEPTED_SPEC, RELEASE_EXTENT_SPEC, TOP_SPEC, TOPOLOGY_SPEC,
} from '../src/scenario/spec.js';
import { key } from '../src/scenario/fields.js';
import type { TableOp } from '../src/scenario/spec.js';
import { validateScenario } from '../src/scenario/validate.js';
import { parseDuration, parseSize, parseU64Size, parseUuidOrNull } from '../src/scenario/units.js';
import { compileSchema } from './helpers/json-schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const committed = readFileSync(join(ROOT, SCHEMA_FILE), 'utf8');
const schemaErrors = compileSchema(JSON.parse(committed) as Parameters<typeof compileSchema>[0]);

t.test('the committed schema is the generated one (run `npm run schema` after editing spec.ts)', async (t) => {
  const generated = scenarioSchemaText();
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const at = a.findIndex((l, i) => l !== b[i]);
    t.comment(`first difference at line ${at + 1}:\n  committed: ${a[at]}\n  generated: ${b[at]}`);
  }
  t.equal(committed, generated, `${SCHEMA_FILE} matches scenarioSchema()`);
});

t.test('every example validates against the schema and the validator', async (t) => {
  const dir = join(ROOT, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  t.ok(files.length >= 20, `${files.length} examples`);
  for (const f of files) {
    const doc: unknown = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    t.same(schemaErrors(doc), [], `${f}: schema`);
    const r = validateScenario(doc, f);
    t.ok(r.ok, `${f}: validator${r.ok ? '' : ` ${JSON.stringify(r.errors)}`}`);
  }
});

// A minimal valid value of each op field's kind, so a step can be built from the op table alone.
const GOOD: Record<string, unknown> = {
  'memdev': 'mem0', 'region': 'region0', 'dax': 'dax0', 'alias-region': 'r9', 'alias-dax': 'd9', 'name': 'n',
  'size': '2M', 'length': '2M', 'duration': '1s', 'uuid': null, 'bool': true, 'string': 's', 'driver': 'cxl_dax_region',
  'pattern': 'p', 'u8': 1, 'u16': 1, 'count': 1, 'add-extents': [{ offset: 0, length: '2M' }],
  'release-extents': [{ offset: 0, length: '2M' }], 'record': '0:0x200000:0:0', 'hostile-kind': 'misaligned',
};

function withStep(step: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topology: { memdevs: [{ name: 'mem0' }] },
    ...extra,
    steps: [
      { op: 'create-region', memdev: 'mem0', as: 'region0' },
      { op: 'create-dax-device', region: 'region0', as: 'dax0' },
      step,
    ],
  };
}

function goodStep(op: TableOp): Record<string, unknown> {
  const step: Record<string, unknown> = { op };
  for (const [f, spec] of Object.entries(OPS[op].fields)) {
    if (!(spec.kind in GOOD)) throw new Error(`no sample value for kind ${spec.kind}`);
    step[f] = GOOD[spec.kind];
  }
  return step;
}

t.test('per op field: the schema and the validator accept the same step and refuse the same breakage', async (t) => {
  let cases = 0;
  for (const op of Object.keys(OPS) as TableOp[]) {
    // advance-clock needs the virtual clock; hostile-inject the hostile personality
    // hold-extent / put-extent the knob extent-refs=user (a user hold across time is NOT v11)
    const extra = { clock: 'virtual', ...(op === 'hostile-inject' ? { device: 'hostile' } : {}), ...(op === 'hold-extent' || op === 'put-extent' ? { knobs: { 'extent-refs': 'user' } } : {}) };
    const good = withStep(goodStep(op), extra);
    t.same(schemaErrors(good), [], `${op}: a step with every field passes the schema`);
    const v = validateScenario(good);
    t.ok(v.ok, `${op}: and the validator${v.ok ? '' : ` ${JSON.stringify(v.errors)}`}`);
    for (const [f, spec] of Object.entries(OPS[op].fields)) {
      // a value of the wrong type: refused by both, the validator naming the field's path
      const wrong = withStep({ ...goodStep(op), [f]: { wrong: true } }, extra);
      t.not(schemaErrors(wrong).length, 0, `${op}.${f} = {…}: schema refuses`);
      const w = validateScenario(wrong);
      t.ok(!w.ok && w.errors.some((e) => e.path === `$.steps[2].${f}`), `${op}.${f} = {…}: validator refuses at $.steps[2].${f}`);
      cases++;
      if (!spec.required) continue;
      const { [f]: _, ...missing } = goodStep(op);
      t.not(schemaErrors(withStep(missing, extra)).length, 0, `${op} without ${f}: schema refuses`);
      const m = validateScenario(withStep(missing, extra));
      t.ok(!m.ok && m.errors.some((e) => e.path === `$.steps[2].${f}` && /missing required field/.test(e.message)), `${op} without ${f}: validator refuses`);
      cases++;
    }
    const unknown = withStep({ ...goodStep(op), bogus: 1 }, extra);
    t.not(schemaErrors(unknown).length, 0, `${op}.bogus: schema refuses an unknown field`);
    t.notOk(validateScenario(unknown).ok, `${op}.bogus: validator refuses it`);
    cases++;
  }
  t.comment(`${cases} broken steps, each refused by both`);
});

t.test('the tables the schema is built from are the ones the validator reports', async (t) => {
  const s = scenarioSchema() as { properties: Record<string, unknown>; $defs: Record<string, { properties: Record<string, unknown> }> };
  t.same(Object.keys(s.properties), Object.keys(TOP_SPEC), 'top-level fields');
  t.same(Object.keys(s.$defs.memdev?.properties ?? {}), Object.keys(MEMDEV_SPEC), 'memdev fields');
  t.same(Object.keys(s.$defs.opCommon?.properties ?? {}), Object.keys(COMMON_SPEC), 'common fields');
  const r = validateScenario({ ...withStep({ op: 'wait-idle' }), varient: 'v10' });
  t.match(r.ok ? '' : r.errors[0]?.message, new RegExp(`expected ${Object.keys(TOP_SPEC).join(', ').replace(/\$/g, '\\$')}`), 'the validator lists the same top-level fields');
});

t.test('bad-scenario fixtures the schema can see are refused by it too', async (t) => {
  // These break the structure; the rest (undefined alias, unknown memdev, duplicate id, …) need the
  // validator's scope and are refused by it alone (test/scenario-validate.test.ts).
  const dir = join(ROOT, 'test/fixtures/bad-scenarios');
  for (const f of ['bad-duration.json', 'bad-errno.json', 'bad-size.json', 'bad-uuid.json', 'bad-variant.json', 'missing-field.json',
    'negative-length.json', 'nested-parallel.json', 'two-matchers.json', 'unknown-op.json', 'unknown-top-level-key.json', 'where-with-equals.json', 'seq-out-of-range.json']) {
    const doc: unknown = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    t.not(schemaErrors(doc).length, 0, `${f}: schema refuses`);
    t.notOk(validateScenario(doc).ok, `${f}: validator refuses`);
  }
});

t.test('each value kind: the schema accepts everything the validator accepts; where it is looser, exactly the documented approximations', async (t) => {
  const schema = JSON.parse(committed) as { $defs: Record<string, Record<string, unknown>> };
  const def = (name: string): ((v: unknown) => boolean) => {
    const check = compileSchema({ ...schema.$defs[name], $defs: schema.$defs } as Parameters<typeof compileSchema>[0]);
    return (v) => check(v).length === 0;
  };
  const serialOk = (v: unknown): boolean => validateScenario({ topology: { memdevs: [{ serial: v }] }, steps: [] }).ok;
  const nameOk = (v: unknown): boolean => validateScenario({ topology: { memdevs: [{ name: v }] }, steps: [] }).ok;
  const kinds: Array<{ kind: string; schema: (v: unknown) => boolean; validator: (v: unknown) => boolean; values: unknown[]; looser: unknown[] }> = [
    {
      kind: 'size', schema: def('size'), validator: (v) => parseSize(v).ok,
      values: [0, 4096, '4096', '0x1000', '0X1F', '64M', '64MiB', '64mb', '2g', '2 G', '1.5G', ' 64M ', '0.3K', '-1', -1, 1.5, '64Q', '', 'M', '0x', 2 ** 53, '9007199254740992', true, null],
      // a fraction that is not whole bytes, and a size past 2^53-1 written as a string
      looser: ['0.3K', '9007199254740992'],
    },
    {
      kind: 'u64', schema: def('u64'), validator: (v) => parseU64Size(v).ok,
      values: [0, '0xffffffffffffffff', '0x00ffffffffffffffff', '0x1ffffffffffffffff', '18446744073709551615', '18446744073709551616', 2 ** 53, '1.5K', '0.3K', '-0x1'],
      looser: ['18446744073709551616', '0.3K'],
    },
    {
      kind: 'duration', schema: def('duration'), validator: (v) => parseDuration(v).ok,
      values: [0, 200, '200ms', '200 ms', '15s', '2m', '1h', '1.5s', '0.5ms', '2MS', '20 seconds', -1, 1.5, '', 'ms', null],
      looser: ['0.5ms'],
    },
    {
      kind: 'uuidOrNull', schema: def('uuidOrNull'), validator: (v) => parseUuidOrNull(v).ok,
      values: [null, '', '0', '11111111-1111-1111-1111-111111111111', 'ABCDEF01-2345-6789-ABCD-EF0123456789', '00000000-0000-0000-0000-000000000000', '1111-2222', 5, ' 0'],
      looser: [],
    },
    { kind: 'name', schema: def('name'), validator: nameOk, values: ['mem0', 'a-b', '_x', '-a', 'a.b', '', 5, 'x y'], looser: [] },
    {
      kind: 'serial', schema: (v) => schemaErrors({ topology: { memdevs: [{ serial: v }] }, steps: [] }).length === 0, validator: serialOk,
      values: [0, 5, '0xDCDC', '0Xdcdc', '12', '-1', 'x', 1.5, '0x', '0x20000000000000'],
      // past 2^53-1
      looser: ['0x20000000000000'],
    },
  ];
  for (const k of kinds) {
    const looser: unknown[] = [];
    for (const v of k.values) {
      const s = k.schema(v);
      const ok = k.validator(v);
      if (ok) t.ok(s, `${k.kind} ${JSON.stringify(v)}: the validator accepts it, so must the schema`);
      if (s && !ok) looser.push(v);
    }
    t.same(looser, k.looser, `${k.kind}: the schema is looser than the validator only for ${JSON.stringify(k.looser)}`);
  }
});

t.test('every field of every table: a wrong-typed value and a missing required field are refused by both', async (t) => {
  type Doc = Record<string, unknown>;
  const base = (): Doc => ({ topology: { memdevs: [{ name: 'mem0', dc: {}, preAccepted: [{ offset: 0, length: '2M' }] }] }, steps: [] });
  const memdev0 = (d: Doc): Doc => ((d.topology as Doc).memdevs as Doc[])[0] as Doc;
  const step0 = (d: Doc, s: Doc): Doc => { d.steps = [s]; return s; };
  // where each table's object sits in a document, and that object's JSON path
  const places: Array<{ table: string; spec: Record<string, { kind: string; required: boolean }>; at: (d: Doc) => Doc; path: string }> = [
    { table: 'top', spec: TOP_SPEC, at: (d) => d, path: '$' },
    { table: 'topology', spec: TOPOLOGY_SPEC, at: (d) => d.topology as Doc, path: '$.topology' },
    { table: 'memdev', spec: MEMDEV_SPEC, at: memdev0, path: '$.topology.memdevs[0]' },
    { table: 'dc', spec: DC_SPEC, at: (d) => memdev0(d).dc as Doc, path: '$.topology.memdevs[0].dc' },
    { table: 'preAccepted', spec: PRE_ACCEPTED_SPEC, at: (d) => (memdev0(d).preAccepted as Doc[])[0] as Doc, path: '$.topology.memdevs[0].preAccepted[0]' },
    { table: 'addExtent', spec: ADD_EXTENT_SPEC, at: (d) => ((step0(d, { op: 'add-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '2M' }] }).extents as Doc[])[0] as Doc), path: '$.steps[0].extents[0]' },
    { table: 'releaseExtent', spec: RELEASE_EXTENT_SPEC, at: (d) => ((step0(d, { op: 'release-capacity', memdev: 'mem0', extents: [{ offset: 0, length: '2M' }] }).extents as Doc[])[0] as Doc), path: '$.steps[0].extents[0]' },
    { table: 'common', spec: COMMON_SPEC, at: (d) => step0(d, { op: 'wait-idle' }), path: '$.steps[0]' },
    { table: 'expect', spec: EXPECT_SPEC, at: (d) => step0(d, { op: 'expect', path: 'regions', count: 0 }), path: '$.steps[0]' },
  ];
  const OBJECT_KINDS = new Set(['topology', 'dc', 'knobs', 'where']);
  let n = 0;
  for (const { table, spec, at, path } of places) {
    const ok = base();
    at(ok);
    t.same(schemaErrors(ok), [], `${table}: the base document passes the schema`);
    t.ok(validateScenario(ok).ok, `${table}: and the validator`);
    for (const [f, s] of Object.entries(spec)) {
      if (s.kind === 'any-json') continue; // equals/contains take any value
      const d = base();
      at(d)[f] = OBJECT_KINDS.has(s.kind) ? 5 : { wrong: true };
      const fp = key(path, f);
      t.not(schemaErrors(d).length, 0, `${table}.${f} of the wrong type: schema refuses`);
      const v = validateScenario(d);
      t.ok(!v.ok && v.errors.some((e) => e.path.startsWith(table === 'expect' ? path : fp)), `${table}.${f} of the wrong type: validator refuses at ${fp}`);
      n++;
      if (!s.required) continue;
      const m = base();
      delete at(m)[f];
      t.not(schemaErrors(m).length, 0, `${table} without ${f}: schema refuses`);
      const mv = validateScenario(m);
      t.ok(!mv.ok && mv.errors.some((e) => e.path === fp && /missing required field/.test(e.message)), `${table} without ${f}: validator refuses at ${fp}`);
      n++;
    }
  }
  t.comment(`${n} broken documents over ${places.length} tables, each refused by both`);
});
