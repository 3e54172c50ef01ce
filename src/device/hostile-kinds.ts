/**
 * DOC: the catalogue of malformed DC Add chains the hostile device can generate.
 *
 * Each kind names one way firmware can break the host's assumptions (docs/kernel-map.md);
 * the comment gives the host gate it targets. `hostileInject(kind)` queues the chain's records;
 * `hostileBurst(n)` draws kinds from the device seed.
 */
export const HOSTILE_CHAIN_KINDS = [
  /** start/length block aligned for the device but not PMD (2 MiB) aligned — G4 */
  'misaligned',
  /** start near 2^64 with a length that wraps past it — cxl_validate_extent `end < start` */
  'u64-wrap',
  /** length 0 — cxl_validate_extent "invalid length" */
  'zero-length',
  /** extent beyond the end of every DC partition — -ENXIO */
  'outside-partition',
  /** a tag derived from the seed alone: two memdevs with the same seed collide — G1 */
  'dup-tag',
  /** sharable seqs 0,2 — G2 */
  'seq-gap',
  /** sharable seqs 0,0 — G2 */
  'seq-dup',
  /** sharable seqs 1,2 — G2 */
  'seq-nonzero-start',
  /** null tag on a sharable partition — cxl_validate_extent */
  'null-tag-sharable',
  /** shared_extn_seq ≠ 0 on a non-sharable partition — cxl_validate_extent */
  'nonzero-seq-nonsharable',
  /** every record has More=1; the chain never closes — 20 s watchdog (v11-13) */
  'never-closing',
  /** a chain of 101+ records — CXL_DC_MAX_PENDING_EXTENTS cap (v11-13) */
  'over-100',
  /** an extent overlapping an accepted one, different start — host overlap check */
  'overlap-accepted',
  /** tags interleaved A1, B1, A2 in one chain — O1 against offer-order enforcement */
  'interleaved-tags',
  /** event types 4 / 5, which the host dispatches to -EINVAL */
  'wrong-event-type',
  /** a record whose UUID is not the DC event UUID — the host ignores it */
  'bad-record-uuid',
] as const;

/**
 * Release Capacity records no FM state can produce (the device keeps safe-integer DPAs): the
 * host's cxl_rm_extent finds no region and releases the range back as read (X1,
 * docs/fidelity-audit.md item 10). Kept apart from the Add kinds so `hostileBurst` and the swarm's
 * `hostile` action draw what they drew before.
 */
export const HOSTILE_RELEASE_KINDS = [
  /** a Release record of length 0 at a DPA no region maps — X1 sends a Release DC of length 0 */
  'release-zero-length',
  /** a Release record starting past 2^53 — X1 sends a Release DC of that u64 start */
  'release-u64',
] as const;

/** Every kind `hostileInject` (and the scenario op `hostile-inject`) takes. */
export const HOSTILE_KINDS = [...HOSTILE_CHAIN_KINDS, ...HOSTILE_RELEASE_KINDS] as const;

export type HostileChainKind = (typeof HOSTILE_KINDS)[number];

export function isHostileChainKind(s: unknown): s is HostileChainKind {
  return typeof s === 'string' && (HOSTILE_KINDS as readonly string[]).includes(s);
}
