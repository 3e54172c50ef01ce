/**
 * DOC: host knobs — the named assumptions a run can flip (README.md).
 *
 * One table, `KNOWN_KNOBS`, is the single source for every place a knob is spelled: scenario
 * `knobs`, `--knob NAME=VALUE`, and the runtime that consults them. Each entry parses the raw
 * spelling (a JSON value, or the string after `=` on the command line) into one normalised value,
 * so "on", true and "true" are the same knob setting everywhere.
 *
 * Variants are presets of knobs (`VARIANT_KNOBS`), not copies of code: `resolveKnobs(variant,
 * overrides)` gives the effective set, explicit knobs winning over the variant's preset.
 */

import type { KnobName, KnobValues, Knobs, Variant } from './types.js';

export type KnobParse<T> = { ok: true; value: T } | { ok: false; message: string };

export interface KnobSpec<T> {
  description: string;
  /** the accepted values, for messages and `dcd help` */
  accepts: string;
  /** the JSON Schema of the knob's value in a scenario file (schema.ts publishes it) */
  schema: Readonly<Record<string, unknown>>;
  parse(raw: unknown): KnobParse<T>;
}

/** The spellings of on/off a knob accepts (JSON booleans, and their strings for `--knob`). */
const ON_OFF = ['on', 'off', true, false, 'true', 'false'] as const;

function onOff(description: string): KnobSpec<'on' | 'off'> {
  return {
    description,
    accepts: 'on|off',
    schema: { enum: [...ON_OFF] },
    parse(raw) {
      if (raw === 'on' || raw === true || raw === 'true') return { ok: true, value: 'on' };
      if (raw === 'off' || raw === false || raw === 'false') return { ok: true, value: 'off' };
      return { ok: false, message: `expected on or off, got ${JSON.stringify(raw)}` };
    },
  };
}

/** A knob whose value is one of `values`, spelled exactly. */
function choice<const V extends string>(description: string, values: readonly [V, V, ...V[]]): KnobSpec<V> {
  return {
    description,
    accepts: values.join('|'),
    schema: { enum: [...values] },
    parse(raw) {
      if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return { ok: true, value: raw as V };
      return { ok: false, message: `expected ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}, got ${JSON.stringify(raw)}` };
    },
  };
}

export const KNOWN_KNOBS: { readonly [K in KnobName]: KnobSpec<KnobValues[K]> } = {
  'tag-lock': onOff('hold cxl_tag_lock around tag-group registration (off: the lock is dropped)'),
  'group-lock': choice('DAX add/release of a tag group under one dax_region_rwsem hold (group, v11) or per extent (v10)', ['group', 'per-extent']),
  'parallel-event-handlers': {
    description: "threads draining one memdev's event log (the kernel has 1; the cover letter rejects more)",
    accepts: 'a positive integer',
    schema: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^0*[1-9][0-9]*$' }] },
    parse(raw) {
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1) return { ok: true, value: n };
      return { ok: false, message: `expected a positive integer, got ${JSON.stringify(raw)}` };
    },
  },
  'v10-seq': onOff('validate sharable sequence numbers as 1..n (v10) instead of 0..n-1'),
  'v10-uuid-show': onOff('an untagged dax device reads uuid "0" (v10) instead of the null uuid'),
  'scan-gate': onOff("refuse runtime adds until the region's existing-extent scan is done (v11)"),
  'unmatched-release-ack': onOff('acknowledge a release matching no extent with Release DC (post-v11)'),
  'staging-failure-response': onOff('send an empty Add DC Response when staging fails (post-v11)'),
  'rcu': onOff('RCU-safe dc_extents walks and kfree_rcu (post-v11)'),
  // A design alternative, NOT v11 and in no posted version (issue #17): v11 sends one Release DC per
  // extent — extent.c `rm_tag_group` releases each member, whose `dc_extent_release` calls
  // `cxled_release_extent` → mbox.c `memdev_release_extent` with that one range. 'group' sends
  // one Release DC listing every member `rm_tag_group` released (split to the payload as
  // `cxl_send_dc_response` splits), so the bench can price v11's per-extent round trips.
  'release-batch': choice('Release DC per extent (extent, v11) or one per tag group released by rm_tag_group (group: a design alternative, NOT v11)', ['extent', 'group']),
  // NOT v11 (docs/fidelity-holders.md): since kernfs (3.14) an open sysfs attribute does not pin its
  // kobject (kernfs_get_active only around each read/write, drained by device_del), so nothing in
  // user space holds an extentX.Y device across time. v11's holders are the DAX bus's own child
  // walks (drivers/dax/bus.c uuid_claim_tagged's device_for_each_child, uuid_claim_untagged's
  // device_find_child, delete_store's device_find_child_by_name), modelled always. 'user' adds
  // the scenario/stress ops hold-extent / put-extent: a lock-free get_device held across time.
  'extent-refs': choice("who can hold an extentX.Y device: the DAX bus's child walks only (v11), or also a lock-free user hold across time (user: the hold-extent/put-extent ops, NOT v11)", ['v11', 'user']),
};

export const KNOB_NAMES = Object.keys(KNOWN_KNOBS) as KnobName[];

export function isKnobName(name: string): name is KnobName {
  return Object.prototype.hasOwnProperty.call(KNOWN_KNOBS, name);
}

/** Parse one knob; the message names the knob and, for an unknown name, lists the known ones. */
export function parseKnob(name: string, raw: unknown): { ok: true; name: KnobName; value: KnobValues[KnobName] } | { ok: false; message: string } {
  if (!isKnobName(name)) {
    return { ok: false, message: `unknown knob "${name}"; known knobs: ${KNOB_NAMES.join(', ')}` };
  }
  const spec = KNOWN_KNOBS[name] as KnobSpec<KnobValues[KnobName]>;
  const r = spec.parse(raw);
  if (!r.ok) return { ok: false, message: `knob ${name}: ${r.message} (accepts ${spec.accepts})` };
  return { ok: true, name, value: r.value };
}

/** v11 as posted (docs/kernel-map.md), the default variant. */
export const DEFAULT_KNOBS: Readonly<KnobValues> = {
  'tag-lock': 'on',
  'group-lock': 'group',
  'parallel-event-handlers': 1,
  'v10-seq': 'off',
  'v10-uuid-show': 'off',
  'scan-gate': 'on',
  'unmatched-release-ack': 'off',
  'staging-failure-response': 'off',
  'rcu': 'off',
  'release-batch': 'extent',
  'extent-refs': 'v11',
};

/** What each variant changes relative to v11 (README.md). */
export const VARIANT_KNOBS: Readonly<Record<Variant, Readonly<Knobs>>> = {
  'v11': {},
  'v10': { 'v10-seq': 'on', 'v10-uuid-show': 'on', 'group-lock': 'per-extent', 'scan-gate': 'off' },
  'post-v11': { 'rcu': 'on', 'unmatched-release-ack': 'on', 'staging-failure-response': 'on' },
};

export function resolveKnobs(variant: Variant, overrides: Knobs = {}): KnobValues {
  return { ...DEFAULT_KNOBS, ...VARIANT_KNOBS[variant], ...overrides };
}
