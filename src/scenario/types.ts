/**
 * DOC: the parsed scenario — what `parseScenario` (validate.ts) hands to the runtime.
 *
 * The file format is defined in spec.ts (from which `schema/scenario.schema.json` is generated);
 * this is its normalised form, so the runtime never re-parses text: sizes and offsets are numbers of bytes, durations
 * are milliseconds, uuids are lower-case strings or `null` (untagged: `null`, `"0"`, `""` and the
 * all-zero uuid all mean "no tag", as `uuid_is_null()` does in the kernel), errno lists are
 * arrays, and every default is filled in. Steps are a union discriminated on `op`; a parallel
 * block is `{op: 'parallel', branches}` whatever spelling the file used.
 *
 * Defaults (documented here because the schema and README quote them):
 * - memdev `name` = `mem<index>`, `serial` = index, `sharable` = false,
 *   `dc` = { base 2G, size 512M, blockSize 2M } — the cxl_test mock's DC partition (2 G base,
 *   512 M) with a PMD-sized block, because the host refuses extents that are not 2 MiB aligned;
 *   `preAccepted` = [].
 * - `variant` = "v11", `device` = "cxl-test", `clock` = "real", `seed` = 0, `knobs` = {}.
 * - extent `tag` = null, `more` = false, `seq` = 0; `forced` = false; `write`/`verify`
 *   `offset` = 0; `region-config-updated` `regionIndex` = 0; `inject` `shared` = false.
 */

import type { HostileChainKind } from '../device/hostile-kinds.js';
import { ERRNOS, type Errno } from '../errors.js';
import { MiB } from '../units.js';

export const VARIANTS = ['v11', 'v10', 'post-v11'] as const;
export type Variant = (typeof VARIANTS)[number];

export const DEVICES = ['qemu', 'qemu-tag-rfc', 'cxl-test', 'hostile'] as const;
export type Device = (typeof DEVICES)[number];

export const CLOCKS = ['real', 'virtual'] as const;
export type Clock = (typeof CLOCKS)[number];

/** First segments an `expect` path may start with: the top-level keys of `SystemState`. */
export const STATE_ROOTS = ['regions', 'daxDevices', 'memdevs', 'trace', 'ops', 'checks'] as const;
export type StateRoot = (typeof STATE_ROOTS)[number];

/** errno names a step may list in `expectError` / `allowError`: every name of src/errors.ts's
 *  table (the kernel's as the model returns them, and the FM API's, ERANGE included). */
export const KNOWN_ERRNOS: readonly Errno[] = ERRNOS;
export type ErrnoName = Errno;

/** Drivers `bind-driver` / `unbind-driver` may name. */
export const DRIVERS = ['cxl_dax_region'] as const;
export type DriverName = (typeof DRIVERS)[number];

/** Every `op` value. `parallel` is also written as a bare `{"parallel": [...]}` key. */
export const KNOWN_OPS = [
  'add-capacity', 'release-capacity', 'create-region', 'destroy-region', 'disable-region', 'create-dax-device',
  'destroy-dax-device', 'disable-dax-device', 'enable-dax-device', 'reconfigure-dax-device',
  'unbind-driver', 'bind-driver', 'write', 'verify', 'advance-clock', 'wait-idle', 'expect',
  'sleep', 'inject', 'region-config-updated', 'hostile-inject', 'hold-extent', 'put-extent', 'parallel',
] as const;
export type OpName = (typeof KNOWN_OPS)[number];

export const DEFAULT_DC = { base: 2048 * MiB, size: 512 * MiB, blockSize: 2 * MiB } as const;
export const DEFAULT_VARIANT: Variant = 'v11';
export const DEFAULT_DEVICE: Device = 'cxl-test';
export const DEFAULT_CLOCK: Clock = 'real';
export const DEFAULT_SEED = 0;

/** Knob values after normalisation (validate.ts `KNOWN_KNOBS` parses the raw spellings). */
export interface KnobValues {
  /** `cxl_tag_lock` held around tag-group registration (v11) or not */
  'tag-lock': 'on' | 'off';
  /** DAX add/release of a tag group under one `dax_region_rwsem` hold, or per extent (v10) */
  'group-lock': 'group' | 'per-extent';
  /** event-handler threads draining one memdev's event log (the kernel has 1) */
  'parallel-event-handlers': number;
  /** sharable sequence numbers validated as 1..n (v10) instead of 0..n-1 */
  'v10-seq': 'on' | 'off';
  /** untagged dax `uuid` reads "0" (v10) instead of the null uuid */
  'v10-uuid-show': 'on' | 'off';
  /** runtime adds refused until the region's existing-extent scan is done (v11) */
  'scan-gate': 'on' | 'off';
  /** a release matching no extent is acknowledged with Release DC (post-v11) */
  'unmatched-release-ack': 'on' | 'off';
  /** an empty Add DC Response is sent when staging fails (post-v11) */
  'staging-failure-response': 'on' | 'off';
  /** RCU-safe `dc_extents` walks and `kfree_rcu` (post-v11) */
  'rcu': 'on' | 'off';
  /** Release DC per extent (v11) or one per tag group released together (a design alternative, NOT v11) */
  'release-batch': 'extent' | 'group';
  /** who holds extentX.Y devices: the DAX bus's child walks (v11) or also user-space holds (NOT v11) */
  'extent-refs': 'v11' | 'user';
}
export type KnobName = keyof KnobValues;
export type Knobs = Partial<KnobValues>;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// ---- topology ------------------------------------------------------------------------------

/** One extent already accepted by the device when the run starts (crash recovery). */
export interface PreAcceptedExtent {
  /** relative to the DC partition start, bytes */
  offset: number;
  length: number;
  tag: string | null;
  seq: number;
}

export interface DcPartitionSpec {
  /** DPA base of the DC partition, bytes */
  base: number;
  size: number;
  blockSize: number;
}

export interface MemdevSpec {
  name: string;
  serial: number;
  sharable: boolean;
  dc: DcPartitionSpec;
  preAccepted: PreAcceptedExtent[];
  description?: string;
}

export interface Topology {
  memdevs: MemdevSpec[];
  /** modelled mailbox latency of every device, µs per command (default 0; src/device/service.ts) */
  deviceLatencyUs?: number;
  description?: string;
}

// ---- steps ---------------------------------------------------------------------------------

/** Fields any op may carry (README.md: "Any op may carry …"). */
export interface OpCommon {
  /** the op must fail with one of these */
  expectError?: ErrnoName[];
  /** failing with one of these is fine (racing ops) */
  allowError?: ErrnoName[];
  /** the outcome is recorded at `ops.<id>` */
  id?: string;
  description?: string;
}

/**
 * A raw u64 field of a DC event record: a number up to 2^53−1, an exact bigint past it (up to
 * 2^64−1). Only add-capacity records carry these; every other size is a safe integer.
 */
export type U64 = number | bigint;

/**
 * One raw DC Add event record. Offsets are relative to the DC partition start. `offset` and
 * `length` are u64s as the record carries them, so a fabric manager can write the wrapping
 * `start + length` that the host's E1 check refuses (cxl_extent_dc_partition, `end < start`).
 */
export interface AddExtent {
  offset: U64;
  length: U64;
  tag: string | null;
  more: boolean;
  seq: number;
}

/** One raw DC Release (or Forced Release) event record. */
export interface ReleaseExtent {
  offset: number;
  length: number;
  tag: string | null;
  more: boolean;
}

export interface AddCapacityStep extends OpCommon {
  op: 'add-capacity';
  memdev: string;
  extents: AddExtent[];
}

export interface ReleaseCapacityStep extends OpCommon {
  op: 'release-capacity';
  memdev: string;
  extents: ReleaseExtent[];
  forced: boolean;
}

export interface CreateRegionStep extends OpCommon {
  op: 'create-region';
  memdev: string;
  /** scenario alias; `regions.<as>` in expect paths */
  as?: string;
  /** bytes; absent = the whole DC partition */
  size?: number;
}

export interface DestroyRegionStep extends OpCommon {
  op: 'destroy-region';
  region: string;
}

/** `cxl disable-region`: the cxl_region driver unbinds; the region stays (cxlr->cxlr_dax dangles, H16) */
export interface DisableRegionStep extends OpCommon {
  op: 'disable-region';
  region: string;
}

export interface CreateDaxDeviceStep extends OpCommon {
  op: 'create-dax-device';
  region: string;
  /** absent: plain create (no `--uuid`); null: untagged claim (`--uuid 0`); else the tag */
  uuid?: string | null;
  /** bound only if the create succeeds */
  as?: string;
}

export interface DaxStep<Op extends string> extends OpCommon {
  op: Op;
  dax: string;
}
export type DestroyDaxDeviceStep = DaxStep<'destroy-dax-device'>;
export type DisableDaxDeviceStep = DaxStep<'disable-dax-device'>;
export type EnableDaxDeviceStep = DaxStep<'enable-dax-device'>;

export interface ReconfigureDaxDeviceStep extends OpCommon {
  op: 'reconfigure-dax-device';
  dax: string;
  size: number;
}

export interface DriverStep<Op extends string> extends OpCommon {
  op: Op;
  driver: DriverName;
  region?: string;
}
export type UnbindDriverStep = DriverStep<'unbind-driver'>;
export type BindDriverStep = DriverStep<'bind-driver'>;

export interface DataStep<Op extends string> extends OpCommon {
  op: Op;
  dax: string;
  /** relative to the dax device, bytes */
  offset: number;
  length: number;
  /** the same pattern value yields the same bytes: verify with what was written */
  pattern: string | number;
}
export type WriteStep = DataStep<'write'>;
export type VerifyStep = DataStep<'verify'>;

export interface AdvanceClockStep extends OpCommon {
  op: 'advance-clock';
  /** milliseconds of virtual time */
  by: number;
}

export interface WaitIdleStep extends OpCommon {
  op: 'wait-idle';
  /** real-time bound in ms; absent = the runtime's default */
  timeout?: number;
}

export interface SleepStep extends OpCommon {
  op: 'sleep';
  /** milliseconds of real time */
  by: number;
}

export interface InjectStep extends OpCommon {
  op: 'inject';
  memdev: string;
  /** the raw cxl_test `dc_inject_extent` string, kept for traces */
  record: string;
  /** the record parsed; `length` may be 0 here (the mock refuses it with EINVAL, as in Linux) */
  extent: AddExtent;
  /** write `dc_inject_shared_extent` instead */
  shared: boolean;
}

export interface RegionConfigUpdatedStep extends OpCommon {
  op: 'region-config-updated';
  memdev: string;
  regionIndex: number;
}

/** Queue one malformed chain of the hostile personality's catalogue (device `hostile` only). */
export interface HostileInjectStep extends OpCommon {
  op: 'hostile-inject';
  memdev: string;
  kind: HostileChainKind;
}

/** get_device on the region's `index`-th registered extent (a reader holding extentX.Y open). */
export interface HoldExtentStep extends OpCommon {
  op: 'hold-extent';
  region: string;
  index: number;
}

/** put_device on what the hold-extent with the same region and index took. */
export interface PutExtentStep extends OpCommon {
  op: 'put-extent';
  region: string;
  index: number;
}

export type Matcher =
  | { kind: 'count'; count: number }
  | { kind: 'equals'; equals: JsonValue }
  | { kind: 'contains'; contains: JsonValue }
  | { kind: 'exists'; exists: boolean };

export interface PathExpectation {
  kind: 'path';
  /** dotted state path, e.g. "regions.region0.extents.0.offset" */
  path: string;
  matcher: Matcher;
  /** field → value filter applied to array elements before `count` / `contains` */
  where?: { [field: string]: JsonValue };
  description?: string;
}

export interface AnyOfExpectation {
  kind: 'anyOf';
  /** one alternative (a list) must hold entirely */
  anyOf: Expectation[][];
  description?: string;
}

export type Expectation = PathExpectation | AnyOfExpectation;

export type ExpectStep = OpCommon & { op: 'expect' } & Expectation;

export interface ParallelStep {
  op: 'parallel';
  /** each branch runs on its own user worker at the same time */
  branches: Step[][];
  description?: string;
}

export type OpStep =
  | AddCapacityStep
  | ReleaseCapacityStep
  | CreateRegionStep
  | DestroyRegionStep
  | DisableRegionStep
  | CreateDaxDeviceStep
  | DestroyDaxDeviceStep
  | DisableDaxDeviceStep
  | EnableDaxDeviceStep
  | ReconfigureDaxDeviceStep
  | UnbindDriverStep
  | BindDriverStep
  | WriteStep
  | VerifyStep
  | AdvanceClockStep
  | WaitIdleStep
  | SleepStep
  | InjectStep
  | RegionConfigUpdatedStep
  | HostileInjectStep
  | HoldExtentStep
  | PutExtentStep
  | ExpectStep;

export type Step = OpStep | ParallelStep;

export interface Scenario {
  /** where the text came from (file name), for messages */
  source?: string;
  description?: string;
  topology: Topology;
  variant: Variant;
  device: Device;
  /** only the knobs the file set; see validate.ts `resolveKnobs` for the effective set */
  knobs: Knobs;
  clock: Clock;
  seed: number;
  steps: Step[];
}
