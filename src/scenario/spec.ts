/**
 * DOC: the scenario format, once — the definition both the validator and the published schema
 * come from.
 *
 * Every field of every object a scenario file holds is listed here with its kind, whether it is
 * required and its description. The validator (validate.ts, steps.ts, fields.ts) takes its field
 * lists, required fields and op dispatch from these tables; `npm run schema` (schema.ts) writes
 * `schema/scenario.schema.json` from the same tables, and a test fails when the committed file
 * differs from what they generate. To add a field or an op, add it here; a new `FieldKind` must
 * be given both a check (steps.ts `tableStep`) and a schema fragment (schema.ts `KIND_SCHEMA`),
 * which the compiler enforces (both are exhaustive over the union).
 *
 * The validator adds what a schema cannot say (aliases defined before use, known memdevs, unique
 * ids, exact sizes, u64 limits); the schema approximates those with patterns.
 */

import type { Clock, Device, OpName, Variant } from './types.js';

export type FieldKind =
  // references, checked against the topology and the aliases bound so far
  | 'memdev' | 'region' | 'dax'
  // names: an alias bound by this step, or a plain name
  | 'alias-region' | 'alias-dax' | 'name'
  // sizes: ≥ 0, > 0, and the raw u64 fields of a DC event record
  | 'size' | 'length' | 'u64' | 'positive-u64'
  | 'duration' | 'uuid' | 'bool' | 'string' | 'driver' | 'pattern' | 'u8' | 'u16' | 'count'
  | 'add-extents' | 'release-extents' | 'record' | 'hostile-kind' | 'errno-list' | 'serial'
  // expect
  | 'state-path' | 'any-json' | 'where' | 'alternatives'
  // the document's structure
  | 'topology' | 'memdevs' | 'dc' | 'pre-accepted' | 'latency-us' | 'variant' | 'device' | 'clock'
  | 'seed' | 'knobs' | 'steps';

export interface FieldSpec { kind: FieldKind; required: boolean; description: string }
export type FieldTable = Readonly<Record<string, FieldSpec>>;

const req = (kind: FieldKind, description: string): FieldSpec => ({ kind, required: true, description });
const opt = (kind: FieldKind, description: string): FieldSpec => ({ kind, required: false, description });

/** Every op whose fields are a plain table (expect and parallel have their own shapes). */
export type TableOp = Exclude<OpName, 'expect' | 'parallel'>;

export interface OpSpec { description: string; fields: FieldTable }

// ---- personalities and variants ----------------------------------------------------------------

/** One line per device personality (`device`, `--device`, `dcd help`). */
export const DEVICE_DESCRIPTIONS: Readonly<Record<Device, string>> = {
  'qemu': "upstream QEMU's rules",
  'qemu-tag-rfc': 'QEMU with the tagged-memory RFC the v11 cover letter tested with',
  'cxl-test': 'the kernel mock, tools/testing/cxl',
  'hostile': 'seeded malformed payloads',
};

/** One line per host variant (`variant`, `--variant`, `dcd help`); the knobs each presets are knobs.ts VARIANT_KNOBS. */
export const VARIANT_DESCRIPTIONS: Readonly<Record<Variant, string>> = {
  'v11': 'the series as posted',
  'v10': 'seq 1..n, uuid "0", per-extent DAX group lock, no scan gate',
  'post-v11': 'RCU, unmatched release acknowledged, empty response on staging failure',
};

export const CLOCK_DESCRIPTIONS: Readonly<Record<Clock, string>> = {
  'real': 'wall time',
  'virtual': 'virtual time moves only on advance-clock',
};

const listed = <K extends string>(d: Readonly<Record<K, string>>): string =>
  (Object.entries(d) as Array<[K, string]>).map(([k, v]) => `${k} (${v})`).join(', ');

// ---- the document ------------------------------------------------------------------------------

export const TOP_SPEC: FieldTable = {
  '$schema': opt('string', 'Optional: a reference to this schema, for editors.'),
  'topology': req('topology', 'The machine: memdevs, each one device worker plus its host-side state.'),
  'variant': opt('variant', `Host variant (default v11): ${listed(VARIANT_DESCRIPTIONS)}.`),
  'device': opt('device', `Device personality (default cxl-test): ${listed(DEVICE_DESCRIPTIONS)}.`),
  'knobs': opt('knobs', "Single assumptions to flip, over the variant's preset. The same names as --knob."),
  'clock': opt('clock', `Clock (default real): ${listed(CLOCK_DESCRIPTIONS)}.`),
  'seed': opt('seed', 'Seed for every seeded choice (hostile payloads, schedules; default 0).'),
  'description': opt('string', 'Free text: what the scenario shows.'),
  'steps': req('steps', 'Steps, run in order by the main user worker.'),
};

export const TOPOLOGY_SPEC: FieldTable = {
  memdevs: req('memdevs', 'At least one memdev; names must be unique.'),
  deviceLatencyUs: opt('latency-us', 'Modelled mailbox latency of every device, microseconds per command (default 0): spun on the real clock, added to the virtual clock. Not a property of QEMU or cxl_test; a design-question knob (docs/performance.md). `dcd run --device-latency` overrides it.'),
  description: opt('string', 'Free text.'),
};

export const MEMDEV_DESCRIPTION = 'One CXL type-3 memdev with a dynamic_ram_1 (DC) partition, backed by one device worker.';
export const MEMDEV_SPEC: FieldTable = {
  name: opt('name', 'Memdev name used by memdev fields and memdevs.<name> paths (default mem<index>).'),
  serial: opt('serial', 'Device serial number (default: the memdev\'s index). A number, or a decimal/hex string such as "0xDCDC".'),
  sharable: opt('bool', 'Whether the DC partition is sharable (CDAT DSMAS shareable flag; default false).'),
  dc: opt('dc', 'The DC partition as Get DC Config reports it. Alignment is deliberately not validated here so that scenarios can feed the host a device its config gates (C2) must refuse.'),
  preAccepted: opt('pre-accepted', 'Extents already accepted on the device at start (default none).'),
  description: opt('string', 'Free text.'),
};

export const DC_SPEC: FieldTable = {
  base: opt('size', 'DPA base of the partition (default "2G").'),
  size: opt('length', 'Partition size, > 0 (default "512M").'),
  blockSize: opt('length', 'Block size, > 0 (default "2M").'),
};

// ---- extents -----------------------------------------------------------------------------------

const TAG = 'Tag uuid, or null for untagged (default null).';

export const PRE_ACCEPTED_DESCRIPTION = 'An extent already accepted by the device when the run starts (crash recovery). Offsets are relative to the DC partition start.';
export const PRE_ACCEPTED_SPEC: FieldTable = {
  offset: req('size', 'DPA offset from the DC partition start.'),
  length: req('length', 'Length in bytes, > 0.'),
  tag: opt('uuid', TAG),
  seq: opt('u16', 'shared_extn_seq (default 0).'),
};

export const ADD_EXTENT_DESCRIPTION = 'One raw DC Add Capacity event record, sent in order. The offset is relative to the DC partition start.';
export const ADD_EXTENT_SPEC: FieldTable = {
  offset: req('u64', 'DPA offset from the DC partition start, a u64: the record carries DC base + offset (modulo 2^64), exact past 2^53 when written as a string.'),
  length: req('positive-u64', 'Length in bytes, > 0, a u64 (exact past 2^53 when written as a string). A start + length that wraps past 2^64 reaches the device as written; the host refuses it (E1).'),
  tag: opt('uuid', TAG),
  more: opt('bool', 'The More flag: another record of the same chain follows (default false). A chain may span several ops.'),
  seq: opt('u16', 'shared_extn_seq stamped by the device (default 0).'),
};

export const RELEASE_EXTENT_DESCRIPTION = 'One raw DC Release (or Forced Release) Capacity event record.';
export const RELEASE_EXTENT_SPEC: FieldTable = {
  offset: req('size', 'DPA offset from the DC partition start.'),
  length: req('length', 'Length in bytes, > 0.'),
  tag: opt('uuid', TAG),
  more: opt('bool', 'The More flag on this record (default false).'),
};

// ---- steps -------------------------------------------------------------------------------------

/** Fields any op may carry besides `op` and its own (expect takes id and description only). */
export const COMMON_SPEC: FieldTable = {
  id: opt('name', 'Records this op\'s outcome at ops.<id> as {ok, error}. Unique in the file.'),
  expectError: opt('errno-list', 'The op must fail with one of these errno names. Not with allowError; not on expect.'),
  allowError: opt('errno-list', 'Failing with one of these errno names is fine (racing ops). Not with expectError; not on expect.'),
  description: opt('string', 'Free text, e.g. why the step is there.'),
};

/** The matchers of an expectation: exactly one per path expectation. */
export const MATCHERS = ['count', 'equals', 'contains', 'exists'] as const;

export const EXPECT_DESCRIPTION = 'Check the state: path plus exactly one matcher of count, equals, contains, exists (optional where), or anyOf.';
/** An expectation's own fields (an expect step's, and an anyOf alternative's). */
export const EXPECT_SPEC: FieldTable = {
  path: opt('state-path', 'A state path: dotted segments starting with regions, daxDevices, memdevs, trace, ops or checks; numeric segments index arrays ("regions.region0.extents.0.offset"). ops.<id> must name an id of an earlier step.'),
  count: opt('count', 'The array at path (after where) has this many elements; an absent array counts 0.'),
  equals: opt('any-json', 'The value at path equals this. A size string equals the same number of bytes; uuids compare case-insensitively; an expected object needs only its own fields to match.'),
  contains: opt('any-json', 'Some element of the array at path (after where) has these fields (or equals this scalar), with the equals relaxations.'),
  exists: opt('bool', 'The path resolves (true) or does not (false).'),
  where: opt('where', 'Keep only array elements whose fields match these values before count or contains.'),
  anyOf: opt('alternatives', 'Alternatives: one list must hold entirely. Excludes path and matchers.'),
};

export const PARALLEL_DESCRIPTION = 'Run branches at the same time, each on its own user worker. Blocks do not nest.';

/** The op table: what each op does and its own fields. The validator dispatches on it. */
export const OPS: Readonly<Record<TableOp, OpSpec>> = {
  'add-capacity': {
    description: 'Offer capacity: each extent is one raw DC Add event record, sent in order (QMP cxl-add-dynamic-capacity, cxl_test dc_inject_extent).',
    fields: {
      memdev: req('memdev', 'The memdev whose device logs the records.'),
      extents: req('add-extents', 'The records, in order.'),
    },
  },
  'release-capacity': {
    description: 'Ask the host to release capacity: one DC Release (or Forced Release) record per extent (QMP cxl-release-dynamic-capacity, dc_del_extent).',
    fields: {
      memdev: req('memdev', 'The memdev whose device logs the records.'),
      extents: req('release-extents', 'The records, in order.'),
      forced: opt('bool', 'Send Forced Capacity Release records (default false).'),
    },
  },
  'create-region': {
    description: 'Create a dynamic_ram_1 region on a memdev (cxl create-region -t dynamic_ram_1).',
    fields: {
      memdev: req('memdev', 'The memdev the region decodes.'),
      as: opt('alias-region', 'Alias for later region fields and regions.<as> paths.'),
      size: opt('length', 'Region size, > 0 (default: the whole DC partition).'),
    },
  },
  'destroy-region': {
    description: 'Disable and destroy a region; every extent is released to the device (cxl destroy-region).',
    fields: {
      region: req('region', 'The region.'),
    },
  },
  'disable-region': {
    description: 'Unbind the cxl_region driver without destroying the region (cxl disable-region): the cxl_dax_region is unregistered and every extent is released to the device. v11 leaves cxlr->cxlr_dax pointing at the freed cxl_dax_region (hazard H16).',
    fields: {
      region: req('region', 'The region.'),
    },
  },
  'create-dax-device': {
    description: 'Create a DAX device in a region\'s dax_region (daxctl create-device -r R --uuid U).',
    fields: {
      region: req('region', 'The region.'),
      uuid: opt('uuid', 'Claim the tag group with this uuid; "0" (or null) claims one untagged extent. Without uuid it is a plain create.'),
      as: opt('alias-dax', 'Alias for later dax fields and daxDevices.<as> paths; bound only if the create succeeds.'),
    },
  },
  'destroy-dax-device': {
    description: 'Disable, set size 0 and delete a DAX device (daxctl destroy-device --force).',
    fields: {
      dax: req('dax', 'The DAX device.'),
    },
  },
  'disable-dax-device': {
    description: 'Disable a DAX device (daxctl disable-device).',
    fields: {
      dax: req('dax', 'The DAX device.'),
    },
  },
  'enable-dax-device': {
    description: 'Enable a DAX device (daxctl enable-device).',
    fields: {
      dax: req('dax', 'The DAX device.'),
    },
  },
  'reconfigure-dax-device': {
    description: 'Resize a DAX device (daxctl reconfigure-device -s); on DC regions only 0 is accepted by the kernel.',
    fields: {
      dax: req('dax', 'The DAX device.'),
      size: req('size', 'New size.'),
    },
  },
  'unbind-driver': {
    description: 'Unbind a driver (modprobe -r dax_cxl).',
    fields: {
      driver: req('driver', 'The driver.'),
      region: opt('region', 'Only this region\'s device (default: every region).'),
    },
  },
  'bind-driver': {
    description: 'Bind a driver (modprobe dax_cxl); a bind runs the region probe and its existing-extent scan.',
    fields: {
      driver: req('driver', 'The driver.'),
      region: opt('region', 'Only this region\'s device (default: every region).'),
    },
  },
  'write': {
    description: 'Write a pattern through a DAX device (a user touching DAX memory).',
    fields: {
      dax: req('dax', 'The DAX device.'),
      offset: opt('size', 'Offset into the DAX device (default 0).'),
      length: req('length', 'Bytes, > 0.'),
      pattern: req('pattern', 'A label or integer; the same value always yields the same bytes, so verify with what was written.'),
    },
  },
  'verify': {
    description: 'Read back through a DAX device and compare with a pattern.',
    fields: {
      dax: req('dax', 'The DAX device.'),
      offset: opt('size', 'Offset into the DAX device (default 0).'),
      length: req('length', 'Bytes, > 0.'),
      pattern: req('pattern', 'A label or integer; the same value always yields the same bytes, so verify with what was written.'),
    },
  },
  'advance-clock': {
    description: 'Move virtual time forward (fires due timers such as the 20 s add-chain watchdog).',
    fields: {
      by: req('duration', 'How far.'),
    },
  },
  'wait-idle': {
    description: 'Wait until every queued event record is fetched, handled and cleared, every mailbox command it caused is done, and no sysfs op, probe or teardown is in flight. Does not fire pending timers.',
    fields: {
      timeout: opt('duration', 'Real-time bound on the wait (default: the runtime\'s).'),
    },
  },
  'sleep': {
    description: 'Sleep in real time (lets real threads run; not virtual time).',
    fields: {
      by: req('duration', 'How long.'),
    },
  },
  'inject': {
    description: 'Write a raw cxl_test dc_inject_extent (or dc_inject_shared_extent) record to a memdev\'s device.',
    fields: {
      memdev: req('memdev', 'The memdev.'),
      record: req('record', '"<start>:<length>:<tag>:<more>[:<seq>]": start/length as sizes, tag a uuid or ""/"0" for none, more an unsigned integer (non-zero = More), seq ≤ 65535. Zero length is passed through for the device to refuse (EINVAL).'),
      shared: opt('bool', 'Use dc_inject_shared_extent (default false).'),
    },
  },
  'region-config-updated': {
    description: 'Log a Region Configuration Updated DC event (type 3), which v11 does not handle.',
    fields: {
      memdev: req('memdev', 'The memdev.'),
      regionIndex: opt('u8', 'updated_region_index (default 0).'),
    },
  },
  'hostile-inject': {
    description: 'Queue one malformed chain of the hostile personality\'s catalogue (device must be \'hostile\').',
    fields: {
      memdev: req('memdev', 'The memdev.'),
      kind: req('hostile-kind', 'The chain kind (src/device/hostile-kinds.ts), e.g. \'bad-record-uuid\' for a record whose UUID is not the DC event UUID.'),
    },
  },
  'hold-extent': {
    description: 'NOT v11 (needs knob extent-refs=user): a lock-free get_device on the region\'s index-th registered extent, held across time until put-extent. Since kernfs an open sysfs attribute does not pin its device, so v11 has no such user-space holder.',
    fields: {
      region: req('region', 'The region.'),
      index: req('u8', 'The index-th registered extent of the region in id order (extentX.Y), at hold time.'),
    },
  },
  'put-extent': {
    description: 'put_device on the extent a hold-extent with the same region and index took; the last put runs dc_extent_release (the Release DC).',
    fields: {
      region: req('region', 'The region.'),
      index: req('u8', 'The index given to hold-extent.'),
    },
  },
};
