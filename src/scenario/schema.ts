/**
 * DOC: the published JSON Schema, generated from the definition the validator runs.
 *
 * `scenarioSchema()` builds `schema/scenario.schema.json` from spec.ts (field tables, op table,
 * descriptions), types.ts (variants, devices, clocks, errnos, ops, state roots), knobs.ts (each
 * knob's value schema) and units.ts (the spellings of sizes, durations and uuids). `npm run
 * schema` writes it; test/scenario-schema.test.ts fails when the committed file differs, so the
 * file is never edited by hand.
 *
 * `KIND_SCHEMA` is exhaustive over `FieldKind`: a new kind does not compile until it has a schema
 * fragment here (and steps.ts `tableStep` a check). Where the validator checks more than a schema
 * can say (aliases, known memdevs, unique ids, exact whole bytes, the u64 limit), the fragment is
 * the nearest approximation and the description says the rest.
 */

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { HOSTILE_KINDS } from '../device/hostile-kinds.js';
import { NAME_RE } from './fields.js';
import { KNOWN_KNOBS } from './knobs.js';
import {
  ADD_EXTENT_DESCRIPTION, ADD_EXTENT_SPEC, COMMON_SPEC, DC_SPEC, EXPECT_DESCRIPTION, EXPECT_SPEC, MATCHERS, MEMDEV_DESCRIPTION,
  MEMDEV_SPEC, OPS, PARALLEL_DESCRIPTION, PRE_ACCEPTED_DESCRIPTION, PRE_ACCEPTED_SPEC, RELEASE_EXTENT_DESCRIPTION,
  RELEASE_EXTENT_SPEC, TOP_SPEC, TOPOLOGY_SPEC,
} from './spec.js';
import type { FieldKind, FieldTable } from './spec.js';
import { CLOCKS, DEVICES, DRIVERS, KNOWN_ERRNOS, KNOWN_OPS, STATE_ROOTS, VARIANTS } from './types.js';
import { DURATION_BODY, HEX_BODY, SIZE_BODY, UUID_BODY } from './units.js';
import { SERIAL_PATTERN } from './validate.js';

export type JsonSchema = { [k: string]: unknown };

const ref = (def: string): JsonSchema => ({ $ref: `#/$defs/${def}` });

const SIZE_PATTERN = String.raw`^\s*(?:${HEX_BODY}|${SIZE_BODY})\s*$`;
// at most 16 significant hex digits: the nearest a pattern comes to the validator's 2^64−1 limit
const U64_PATTERN = String.raw`^\s*(?:0[xX]0*[0-9a-fA-F]{1,16}|${SIZE_BODY})\s*$`;
const POSITIVE = { not: { enum: [0, '0', '0x0'] } };

/** The schema of a field of each kind. */
const KIND_SCHEMA: { readonly [K in FieldKind]: () => JsonSchema } = {
  'memdev': () => ref('memdevRef'),
  'region': () => ref('regionRef'),
  'dax': () => ref('daxRef'),
  'alias-region': () => ref('name'),
  'alias-dax': () => ref('name'),
  'name': () => ref('name'),
  'size': () => ref('size'),
  'length': () => ref('positiveSize'),
  'u64': () => ref('u64'),
  'positive-u64': () => ref('positiveU64'),
  'duration': () => ref('duration'),
  'uuid': () => ref('uuidOrNull'),
  'bool': () => ({ type: 'boolean' }),
  'string': () => ({ type: 'string' }),
  'driver': () => ({ enum: [...DRIVERS] }),
  'hostile-kind': () => ({ enum: [...HOSTILE_KINDS] }),
  'pattern': () => ({ oneOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 0 }] }),
  'u8': () => ({ type: 'integer', minimum: 0, maximum: 255 }),
  'u16': () => ({ type: 'integer', minimum: 0, maximum: 0xffff }),
  'count': () => ({ type: 'integer', minimum: 0 }),
  'add-extents': () => ({ type: 'array', minItems: 1, items: ref('addExtent') }),
  'release-extents': () => ({ type: 'array', minItems: 1, items: ref('releaseExtent') }),
  // four or five colon-separated fields; the validator reads each as kstrtoull does
  'record': () => ({ type: 'string', pattern: '^[^:]*:[^:]*:[^:]*:[^:]*(:[^:]*)?$' }),
  'errno-list': () => ref('errnoList'),
  'serial': () => ({ oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: SERIAL_PATTERN }] }),
  'state-path': () => ({ type: 'string', pattern: String.raw`^(${STATE_ROOTS.join('|')})(\.[^.]+)*$` }),
  'any-json': () => ({}),
  'where': () => ({ type: 'object', minProperties: 1 }),
  'alternatives': () => ({ type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: ref('expectation') } }),
  'topology': () => object(TOPOLOGY_SPEC),
  'memdevs': () => ({ type: 'array', minItems: 1, items: ref('memdev') }),
  'dc': () => object(DC_SPEC),
  'pre-accepted': () => ({ type: 'array', items: ref('preAcceptedExtent') }),
  'latency-us': () => ({ type: 'number', minimum: 0, maximum: 10_000_000 }),
  'variant': () => ({ enum: [...VARIANTS] }),
  'device': () => ({ enum: [...DEVICES] }),
  'clock': () => ({ enum: [...CLOCKS] }),
  'seed': () => ({ type: 'integer', minimum: 0 }),
  'knobs': () => ({
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(KNOWN_KNOBS).map(([name, k]) => [name, { ...k.schema, description: sentence(k.description) }])),
  }),
  'steps': () => ({ type: 'array', items: ref('step') }),
};

const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;

function properties(table: FieldTable): JsonSchema {
  return Object.fromEntries(Object.entries(table).map(([name, f]) => [name, { ...KIND_SCHEMA[f.kind](), description: f.description }]));
}

function required(table: FieldTable): string[] {
  return Object.keys(table).filter((f) => table[f]?.required);
}

/** A closed object of `table`'s fields. */
function object(table: FieldTable, description?: string): JsonSchema {
  const req = required(table);
  return {
    type: 'object',
    ...(req.length > 0 ? { required: req } : {}),
    additionalProperties: false,
    properties: properties(table),
    ...(description !== undefined ? { description } : {}),
  };
}

const requires = (f: string): JsonSchema => ({ required: [f] });

/** Exactly one of: anyOf alone, or path with one matcher (where only with count / contains). */
function expectationShape(): JsonSchema {
  return {
    oneOf: [
      { required: ['anyOf'], not: { anyOf: ['path', ...MATCHERS, 'where'].map(requires) } },
      {
        required: ['path'],
        not: requires('anyOf'),
        oneOf: MATCHERS.map((m) => ({ required: ['path', m] })),
        if: requires('where'),
        then: { anyOf: [requires('count'), requires('contains')] },
      },
    ],
  };
}

function opDef(op: string, description: string, own: FieldTable, extra: JsonSchema[] = []): JsonSchema {
  return {
    type: 'object',
    required: ['op', ...required(own)],
    allOf: [ref('opCommon'), ...extra],
    properties: { op: { const: op, description }, ...properties(own) },
    unevaluatedProperties: false,
    description,
  };
}

export function scenarioSchema(): JsonSchema {
  const stepOps = KNOWN_OPS.filter((o) => o !== 'parallel');
  const defs: JsonSchema = {
    size: {
      // a JSON number past 2^53-1 has already been rounded by the parser: the validator refuses it
      oneOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: SIZE_PATTERN }],
      description: 'A size in bytes: a JSON integer, or a string — decimal ("4096"), hex ("0x1000"), or a number with a binary suffix K, M, G or T (×1024ⁿ) optionally followed by B or iB, any case ("64M", "64MiB", "2G"). A fraction is accepted only when it is a whole number of bytes ("1.5G" yes, "0.3K" no).',
    },
    positiveSize: { allOf: [ref('size')], ...POSITIVE, description: 'A size (see size) that must be greater than zero.' },
    u64: {
      oneOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: U64_PATTERN }],
      description: 'A raw u64 field of a DC event record: a size as in size, up to 2^64-1 (0xffffffffffffffff). Past 2^53-1 (9007199254740991) write it as a string, decimal or hex: a JSON number there is no longer exact. The value is kept exact to the record the device logs.',
    },
    positiveU64: { allOf: [ref('u64')], ...POSITIVE, description: 'A u64 (see u64) that must be greater than zero.' },
    duration: {
      oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: String.raw`^\s*${DURATION_BODY}\s*$` }],
      description: 'A duration: a JSON integer of milliseconds, or a string with unit ms, s, m or h (no unit = ms), e.g. "200ms", "15s", "2m". Must be whole milliseconds ("1.5s" yes).',
    },
    uuidOrNull: {
      oneOf: [{ type: 'null' }, { type: 'string', pattern: `^(|0|${UUID_BODY})$` }],
      description: 'A tag: a uuid (8-4-4-4-12 hex, any case; compared lower-case), or null / "0" / "" / the all-zero uuid for untagged.',
    },
    name: { type: 'string', pattern: NAME_RE.source, description: "A name that becomes a state-path segment: letters, digits, '_' and '-', no dots." },
    errno: { enum: [...KNOWN_ERRNOS], description: "A kernel errno name, as the model's sysfs stores and device ops return them." },
    errnoList: { oneOf: [ref('errno'), { type: 'array', minItems: 1, items: ref('errno') }], description: 'An errno name, or a non-empty list of them.' },
    memdevRef: { type: 'string', description: 'The name of a memdev in topology.memdevs.' },
    regionRef: { type: 'string', description: "A region alias bound by the 'as' of an earlier create-region step (in a parallel branch: before the block, or earlier in the same branch)." },
    daxRef: { type: 'string', description: "A DAX device alias bound by the 'as' of an earlier create-dax-device step (same visibility rule as regionRef)." },
    preAcceptedExtent: object(PRE_ACCEPTED_SPEC, PRE_ACCEPTED_DESCRIPTION),
    memdev: object(MEMDEV_SPEC, MEMDEV_DESCRIPTION),
    addExtent: object(ADD_EXTENT_SPEC, ADD_EXTENT_DESCRIPTION),
    releaseExtent: object(RELEASE_EXTENT_SPEC, RELEASE_EXTENT_DESCRIPTION),
    opCommon: { type: 'object', properties: properties(COMMON_SPEC), description: 'Fields any op may carry.' },
    expectation: {
      type: 'object',
      allOf: [expectationShape()],
      properties: {
        op: { const: 'expect', description: 'Optional; "expect" if present.' },
        description: { type: 'string', description: 'Free text.' },
        ...properties(EXPECT_SPEC),
      },
      unevaluatedProperties: false,
      description: 'An expectation inside anyOf: the expect fields without id/expectError/allowError; op may be omitted.',
    },
    ...Object.fromEntries(stepOps.map((op) => [`op-${op}`, op === 'expect'
      ? opDef(op, EXPECT_DESCRIPTION, EXPECT_SPEC, [expectationShape(), { not: { anyOf: [requires('expectError'), requires('allowError')] } }])
      : opDef(op, OPS[op].description, OPS[op].fields)])),
    opStep: {
      type: 'object',
      required: ['op'],
      properties: { op: { enum: stepOps, description: 'The operation (parallel blocks are written {"parallel": [...]} and do not nest).' } },
      allOf: stepOps.map((op) => ({ if: { properties: { op: { const: op } }, required: ['op'] }, then: ref(`op-${op}`) })),
      description: "One op. Dispatches on 'op' so validators report the fields of that op.",
    },
    parallelStep: {
      type: 'object',
      required: ['parallel'],
      additionalProperties: false,
      properties: {
        op: { const: 'parallel', description: 'Optional; "parallel" if present.' },
        parallel: { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: ref('opStep') }, description: '[[steps…], [steps…]]: each branch runs its steps in order.' },
        description: { type: 'string', description: 'Free text.' },
      },
      description: PARALLEL_DESCRIPTION,
    },
    step: {
      if: { type: 'object', anyOf: [requires('parallel'), { properties: { op: { const: 'parallel' } }, required: ['op'] }] },
      then: ref('parallelStep'),
      else: ref('opStep'),
      description: 'A step: an op, or a parallel block.',
    },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'cxl-dcd-model scenario',
    description: 'A scenario for `dcd run`: a topology of memdevs, a host variant, a device personality and a list of steps. Sizes accept "64M", "2G", hex and decimal; durations "15s", "200ms". Device-side offsets (add-capacity, release-capacity, preAccepted, memdevs.<m>.accepted) are relative to the DC partition start; host-side offsets (region extents, dax ranges) are relative to the region. Generated by `npm run schema` from src/scenario/spec.ts, the definition src/scenario/validate.ts runs; the validator adds the checks a schema cannot express (aliases defined before use, known memdevs, unique ids, exact sizes).',
    ...object(TOP_SPEC),
    $defs: defs,
  };
}

/** The schema file's text: two-space JSON and a final newline. */
export function scenarioSchemaText(): string {
  return JSON.stringify(scenarioSchema(), null, 2) + '\n';
}

/** Where the package publishes it (package.json `exports`). */
export const SCHEMA_FILE = 'schema/scenario.schema.json';

// `npm run schema`: write the file (relative to the working directory, the package root)
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(SCHEMA_FILE, scenarioSchemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
