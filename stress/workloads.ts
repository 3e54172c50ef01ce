/**
 * DOC: stress workloads — the classic races by name, and the swarm.
 *
 * Each workload gives the system configuration it needs (memdevs, knobs it forces, clock) and,
 * for every iteration, a plan derived from a PRNG seeded by (seed, iteration) alone: setup ops
 * (sequential, then wait-idle) and racing actors. The same (workload, seed, iteration) always
 * yields the same plan, which is what makes `dcd replay` possible.
 *
 * Swarm testing (TigerBeetle's `random_enum_weights`): for each iteration the swarm draws which
 * actions are enabled at all and their weights, so rare combinations get whole iterations.
 */
import { Prng } from '../src/prng.js';
import { MiB } from '../src/units.js';
import type { MemdevSpec } from '../src/scenario/types.js';
import type { SystemConfig } from '../src/runtime/system.js';
import { HOSTILE_CHAIN_KINDS } from '../src/device/hostile-kinds.js';
import type { InjectRecord } from '../src/device/types.js';
import type { Actor, Plan, StressOp } from './ops.js';

/** races per reset of a batched workload (two-claims-x16) */
const BATCH = 16;

export function memdev(i: number, opts: { sharable?: boolean; sizeM?: number } = {}): MemdevSpec {
  return { name: `mem${i}`, serial: i, sharable: opts.sharable ?? false, dc: { base: 2048 * MiB, size: (opts.sizeM ?? 512) * MiB, blockSize: 2 * MiB }, preAccepted: [] };
}

export function tagOf(p: Prng): string {
  const h = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const a = h(p.u32()), b = h(p.u32()), c = h(p.u32()), d = h(p.u32());
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

/** n records of `len` MiB at distinct 2 MiB-aligned offsets in [0, spanM), as one More chain. */
export function chain(p: Prng, n: number, lenM: number, spanM: number, tag: string | null, opts: { seqs?: number[]; base?: number } = {}): InjectRecord[] {
  const slots = Math.floor(spanM / lenM);
  const picks = new Set<number>();
  while (picks.size < Math.min(n, slots)) picks.add(p.int(slots));
  return [...picks].map((s, i, all) => ({
    offset: (opts.base ?? 0) * MiB + s * lenM * MiB, length: lenM * MiB, tag, seq: opts.seqs?.[i] ?? 0, more: i < all.length - 1,
  }));
}

export interface Workload {
  name: string;
  description: string;
  /** which hazard or race the workload targets (README table) */
  targets: string;
  config(base: Pick<SystemConfig, 'variant' | 'knobs' | 'device'>): SystemConfig;
  /** `hint` (swarm only) is the coverage feedback the plan was drawn with; traces record it */
  plan(p: Prng, iteration: number, hint?: PlanHint): Plan;
}

/** Coverage feedback for a plan: the named window (stress/coverage.ts) to aim this iteration at. */
export interface PlanHint {
  focus?: string;
  /** swarm: the plan generator's version (SWARM_PLAN_VERSION; a trace records the one it was
   *  drawn with, and a trace without it was drawn by version 1) */
  version?: number;
}

/**
 * The swarm's plan generator version. A planless swarm trace is replayed by drawing its plan again
 * from (seed, iteration, focus), so a change to what the generator draws (its actions, their
 * order, a focus's actions) would silently give old traces another plan: each such change bumps
 * this, and the old draw stays reachable. 1: the seventh session's; 2: + `region-cycle`,
 * `teardown-race` (H14's focus leads with it); 3: both regions created before one wait, and
 * chains past the 100-record cap only when aimed at CL-chain-bound (12–24 records elsewhere);
 * 4: `extent-refs` draws two claims of the group's tag (v11's child-walk holders) instead of user
 * holds (NOT v11, knob extent-refs=user); 5: `mapping-read` (a read of a claimed device's
 * `mappingN` attribute, src/dax/mapping.ts) and the H27/H28 focus. Since version 3 a swarm trace
 * also stores its plan, so later changes cannot break its replay.
 */
export const SWARM_PLAN_VERSION = 5;

/** The plan hint a stored trace's swarm plan is drawn with (replay, minimize, report). */
export function traceHint(t: { focus?: string; swarmPlan?: number }): PlanHint {
  return { ...(t.focus ? { focus: t.focus } : {}), version: t.swarmPlan ?? 1 };
}

const fm = (index: number, ops: StressOp[]): Actor => ({ name: `fm/mem${index}`, kind: 'fm', index, ops });
const user = (index: number, ops: StressOp[]): Actor => ({ name: `user${index}`, kind: 'user', index, ops });
const bus = (ops: StressOp[]): Actor => ({ name: 'dax-bus', kind: 'bus', index: 0, ops });
const clock = (ops: StressOp[]): Actor => ({ name: 'clock', kind: 'clock', index: 0, ops });

const region0 = (memdevIdx = 0, as = 'r0'): StressOp[] => [{ op: 'create-region', memdev: memdevIdx, size: null, as }, { op: 'wait-idle' }];

export const WORKLOADS: Record<string, Workload> = {
  'two-claims': {
    name: 'two-claims',
    description: 'two users claim the same tag at once (daxctl create-device --uuid twice)',
    targets: '8.1-20 claim exclusivity, H7/H8',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: chain(p, 2, 32, 512, tag) }],
        actors: [user(0, [{ op: 'claim', region: 'r0', uuid: tag, as: 'a' }]), user(1, [{ op: 'claim', region: 'r0', uuid: tag, as: 'b' }])],
      };
    },
  },
  'two-claims-x16': {
    name: 'two-claims-x16',
    description: 'two-claims sixteen times per reset (jcstress-style): sixteen tags, each claimed by both users at once, one round per tag with the users lined up at a barrier before each round',
    targets: '8.1-20 claim exclusivity, H7/H8 (as two-claims, 16 races per reset)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      // sixteen independent tag groups of one 8 MiB extent each, in their own 16 MiB slice of the
      // region: one reset and one setup serve sixteen races, each attributed by its tag
      // (Plan.rounds); one extent per group because each record costs the setup an event
      // interrupt's share, Get and Clear Event Records and a DAX add (two-claims offers two).
      // The sixteen are ONE More chain (cxl_add_pending splits it by tag into sixteen groups, one
      // Add DC Response): as sixteen chains, the add took 25.6–29.9 ms of setup, as one 12.1–18.3
      // (alternating runs at load 8–9; races/s 209–260 → 229–371)
      const tags = Array.from({ length: BATCH }, () => tagOf(p));
      const records = tags.flatMap((t, k) => chain(p, 1, 8, 16, t, { base: 16 * k })).map((r, k) => ({ ...r, more: k < BATCH - 1 }));
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records }],
        actors: [0, 1].map((u) => user(u, tags.map((t, k): StressOp => ({ op: 'claim', region: 'r0', uuid: t, as: `${k}${u ? 'b' : 'a'}` })))),
        rounds: tags.map((t) => [t]),
      };
    },
  },
  'claim-vs-release': {
    name: 'claim-vs-release',
    description: 'a user claims a tag while the FM releases the group',
    targets: 'H8, 8.1-12 in-use protection',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const recs = chain(p, 3, 16, 512, tag);
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: recs }],
        actors: [
          user(0, [{ op: 'claim', region: 'r0', uuid: tag, as: 'a' }, { op: 'write', dax: 'a', offset: 0, length: 48 * MiB, pattern: 7 }, { op: 'verify', dax: 'a', offset: 0, length: 48 * MiB, pattern: 7 }]),
          fm(0, [{ op: 'release', memdev: 0, extents: [{ offset: recs[0]!.offset, length: recs[0]!.length, tag }] }]),
        ],
      };
    },
  },
  'same-tag-two-memdevs': {
    name: 'same-tag-two-memdevs',
    description: 'the same tag closes on two memdevs at once (H1); with tag-lock=off the registry races',
    targets: 'H1, 8.1-5 tag uniqueness',
    config: (b) => ({ memdevs: [memdev(0), memdev(1)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [...region0(0, 'r0'), ...region0(1, 'r1')],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: chain(p, 2, 16, 512, tag) }]), fm(1, [{ op: 'add', memdev: 1, records: chain(p, 2, 16, 512, tag) }])],
      };
    },
  },
  'chain-close-vs-probe': {
    name: 'chain-close-vs-probe',
    description: "a runtime chain closes into a region while that region's cxl_dax_region driver re-probes (bind after unbind): add_ctx.lock → device_lock vs device_lock → add_ctx.lock",
    targets: 'H2 (AB-BA), 8.1-19 lock order',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1, hungMs: 600 }),
    plan(p) {
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: chain(p, 1, 32, 256, null) }, { op: 'wait-idle' }, { op: 'unbind', region: 'r0' }],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: chain(p, 2, 16, 512, tagOf(p)) }]), bus([{ op: 'bind', region: 'r0' }])],
      };
    },
  },
  'watchdog-vs-late-tail': {
    name: 'watchdog-vs-late-tail',
    description: 'a More chain stalls, the 20 s watchdog fires (virtual time), then the tail record arrives',
    targets: 'H4, 8.2 one response per device chain',
    config: (b) => ({ memdevs: [memdev(0)], ...b, clock: 'virtual', users: 1 }),
    plan(p) {
      const recs = chain(p, 3, 16, 512, tagOf(p));
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: recs.slice(0, 2) }],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: recs.slice(2) }]), clock([{ op: 'advance', ms: 20_000 }])],
      };
    },
  },
  'extent-refs-vs-release': {
    name: 'extent-refs-vs-release',
    description: "two users hold extentX.Y devices of one group across time (knob extent-refs=user, NOT v11) while the FM releases the group; their puts run the last releases concurrently, racing on the group's unlocked nr_extents",
    targets: 'H6 (lost nr_extents decrement → tag and group leaked), 8.1-13 whole-group release',
    // the user holds are NOT v11 (docs/fidelity-holders.md): the workload runs under the knob
    config: (b) => ({ memdevs: [memdev(0)], ...b, knobs: { ...b.knobs, 'extent-refs': 'user' }, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      const recs = chain(p, 2, 16, 512, tag);
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: recs }, { op: 'wait-idle' }],
        actors: [
          fm(0, [{ op: 'release', memdev: 0, extents: [{ offset: recs[0]!.offset, length: recs[0]!.length, tag }] }]),
          user(0, [{ op: 'hold-extent', region: 'r0', index: 0, as: 'x0' }, { op: 'put-extent', ref: 'x0' }]),
          user(1, [{ op: 'hold-extent', region: 'r0', index: 1, as: 'x1' }, { op: 'put-extent', ref: 'x1' }]),
        ],
      };
    },
  },
  'release-vs-teardown': {
    name: 'release-vs-teardown',
    description: "the FM releases one extent of a region while the region's cxl_dax_region driver is unbound: the release walks cxlr_dax->dc_extents without RCU while the teardown frees them",
    targets: 'H5 (use-after-free in the dc_extents walk; the rcu knob is the post-v11 fix), X1 "region destruction won the race"',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      // untagged, one record per chain: three groups, so the release walk has others to step over
      const recs = chain(p, 3, 16, 512, null).map((r) => ({ ...r, more: false }));
      const last = recs[recs.length - 1]!;
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: recs }, { op: 'wait-idle' }],
        actors: [fm(0, [{ op: 'release', memdev: 0, extents: [{ offset: last.offset, length: last.length, tag: null }] }]), bus([{ op: 'unbind', region: 'r0' }])],
      };
    },
  },
  'teardown-vs-add-response': {
    name: 'teardown-vs-add-response',
    description: "a two-group More chain closes into a region while the region is torn down (cxl_dax_region unbind or region destroy): the teardown's devres can run between the first group's online_tag_group and the chain's Add DC Response",
    targets: 'H14 (the teardown race: tag group freed before its notify — a use-after-free — or Release DC before the response that lists the extents)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const a = tagOf(p);
      const b = tagOf(p);
      // one More chain, two tags: two groups realized in turn by one cxl_add_pending
      const recs = [...chain(p, 2, 16, 256, a), ...chain(p, 1, 16, 256, b, { base: 256 })].map((r, i, all) => ({ ...r, more: i < all.length - 1 }));
      const teardown: Actor = p.chance(0.5) ? bus([{ op: 'unbind', region: 'r0' }]) : user(0, [{ op: 'destroy-region', region: 'r0' }]);
      return { setup: [...region0()], actors: [fm(0, [{ op: 'add', memdev: 0, records: recs }]), teardown] };
    },
  },
  'teardown-claimed-seed': {
    name: 'teardown-claimed-seed',
    description: "a seed device created by a create write claims a group onlined after it (daxctl create-device --uuid writes the seed), then the cxl_dax_region driver unbinds while the user touches the device",
    targets: "H15 (cxlr_dax's devres in reverse order: the extent's dax_release_resource frees the claimed dax_resource, then unregister_dev_dax's trim_dev_dax_range uses it)",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        // the seed exists before the group is onlined (a create write, e.g. a failed earlier
        // daxctl run's leftover), so its devres action precedes the extents' on cxlr_dax
        // (create_store refuses while nothing is available: an unclaimed untagged extent first)
        setup: [...region0(), { op: 'add', memdev: 0, records: chain(p, 1, 16, 16, null, { base: 496 }) }, { op: 'wait-idle' }, { op: 'create-seed', region: 'r0' },
          { op: 'add', memdev: 0, records: chain(p, 2, 16, 480, tag) }, { op: 'wait-idle' }, { op: 'claim-seed', region: 'r0', uuid: tag, as: 's' }],
        actors: [bus([{ op: 'unbind', region: 'r0' }]), user(0, [{ op: 'write', dax: 's', offset: 0, length: 2 * MiB, pattern: 5 }])],
      };
    },
  },
  'disabled-region-add': {
    name: 'disabled-region-add',
    description: '`cxl disable-region`, then the FM adds capacity to the region',
    targets: 'H16 (cxlr_dax_unregister leaves cxlr->cxlr_dax set: E5/E6 and X2 use the freed cxl_dax_region)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const first = chain(p, 1, 16, 256, null);
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: first }, { op: 'wait-idle' }, { op: 'disable-region', region: 'r0' }],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: chain(p, 1, 16, 256, null, { base: 256 }) }])],
      };
    },
  },
  'disable-reprobe-vs-add-response': {
    name: 'disable-reprobe-vs-add-response',
    description: '`cxl disable-region` while a two-group More chain closes into the region, and the region is probed again (enable-region)',
    targets: "H14 on a re-probed region: a group realized after the disable's teardown stays with the cxl_dax_region it pins, and the re-probe's cxl_dax_region_alloc makes a new, empty instance (region_dax.c)",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const a = tagOf(p);
      const b = p.chance(0.5) ? tagOf(p) : null; // untagged: the re-probe's scan realizes its range again (G1 skips it)
      const recs = [...chain(p, 2, 16, 256, a), ...chain(p, 1, 16, 256, b, { base: 256 })].map((r, i, all) => ({ ...r, more: i < all.length - 1 }));
      // the probe races the disable too: before it, it finds the driver bound (nothing to do);
      // after it, cxl_region_probe allocates the new instance and the dax-bus probes it
      return { setup: [...region0()], actors: [fm(0, [{ op: 'add', memdev: 0, records: recs }]), user(0, [{ op: 'disable-region', region: 'r0' }]), bus([{ op: 'probe', region: 'r0' }])] };
    },
  },
  'release-while-claimed': {
    name: 'release-while-claimed',
    description: 'the FM releases a claimed group while the user destroys the device and the FM re-issues',
    targets: '8.1-12 in-use protection, 8.1-13 whole-group release',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const recs = chain(p, 2, 16, 512, tag);
      const rel: StressOp = { op: 'release', memdev: 0, extents: [{ offset: recs[0]!.offset, length: recs[0]!.length, tag }] };
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: recs }, { op: 'wait-idle' }, { op: 'claim', region: 'r0', uuid: tag, as: 'a' }],
        actors: [fm(0, [rel, rel]), user(0, [{ op: 'write', dax: 'a', offset: 0, length: 32 * MiB, pattern: 3 }, { op: 'destroy-dax', dax: 'a' }])],
      };
    },
  },
  'partial-group-claim': {
    name: 'partial-group-claim',
    description: 'a user claims a tag while its group is being surfaced to DAX (claim racing a group add)',
    targets: '8.1-10/11 DAX group atomicity (broken by group-lock=per-extent)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      // a user retrying `daxctl create-device --uuid` (each run fails fast, ENOSPC, until the group's
      // resources exist): enough runs to still be trying while the cxl-test device, which logs one
      // record per drain (its inject is drained inside the write), surfaces the six-extent group
      const claims: StressOp[] = Array.from({ length: 30 }, (_, i) => ({ op: 'claim', region: 'r0', uuid: tag, as: `c${i}` }));
      return {
        setup: [...region0()],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: chain(p, 6, 8, 512, tag) }]), user(0, claims)],
      };
    },
  },
  'parallel-handlers': {
    name: 'parallel-handlers',
    description: 'several More chains back to back; run with parallel-event-handlers=2 to break serial handling',
    targets: '8.1-2 response cardinality (the cover letter\'s serialization assumption)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const ops: StressOp[] = [];
      for (let c = 0; c < 3; c++) ops.push({ op: 'add', memdev: 0, records: chain(p, 2 + p.int(3), 4, 160, tagOf(p), { base: c * 160 }) });
      return { setup: [...region0()], actors: [fm(0, ops)] };
    },
  },
  'v10-sharable': {
    name: 'v10-sharable',
    description: 'a sharable tagged group with sequence numbers 0..n-1 (v11 device) offered to the host',
    targets: 'v10 vs v11 sequence numbering (run with --variant v10)',
    config: (b) => ({ memdevs: [memdev(0, { sharable: true })], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const n = 2 + p.int(3);
      return {
        setup: [...region0()],
        actors: [fm(0, [{ op: 'add', memdev: 0, records: chain(p, n, 8, 512, tag, { seqs: Array.from({ length: n }, (_, i) => i) }) }]), user(0, [{ op: 'wait-idle' }, { op: 'claim', region: 'r0', uuid: tag, as: 'a' }])],
      };
    },
  },
  swarm: {
    name: 'swarm',
    description: 'every actor at once with swarm-drawn weights over small tag pools: FM adds/releases (chains 1–120), the same tag on both memdevs, a group racing its claims, a chain racing a re-probe or teardown, releases racing claims and teardown, extent references, bursts of chains, hostile records, claims, destroys, resizes, data, recovery, clock; mem1 is sharable (tagged groups stamped 0..n-1)',
    targets: 'all invariants of docs/kernel-map.md; every named window of stress/coverage.ts',
    config: (b) => ({ memdevs: [memdev(0, { sizeM: 1024 }), memdev(1, { sizeM: 1024, sharable: true })], ...b, clock: 'virtual', users: 2, hungMs: 1500 }),
    plan: swarmPlan,
  },
};

export function workloadNames(): string[] {
  return Object.keys(WORKLOADS);
}

// ------------------------------------------------------------------------------------------------
// the swarm

export const SWARM_ACTIONS = [
  'add', 'release', 'forced', 'hostile', 'claim', 'destroy', 'resize', 'data', 'unbind', 'clock', 'long-chain',
  'same-tag', 'group-claim', 'probe-race', 'release-race', 'extent-refs', 'burst', 'release-teardown',
  'region-cycle', 'teardown-race', 'mapping-read',
] as const;
export type SwarmAction = (typeof SWARM_ACTIONS)[number];

/**
 * Which swarm actions put racing actors on the objects of each named window (stress/coverage.ts):
 * the coverage feedback boosts these when the window has not been seen in both orders yet.
 */
export const SWARM_FOCUS: Record<string, SwarmAction[]> = {
  H1: ['same-tag'], 'CL-one-owner': ['same-tag'],
  H2: ['probe-race'], H3: ['probe-race'], H12: ['probe-race'], 'CL-scan-defer': ['probe-race'], 'CL-no-reack': ['probe-race'],
  H4: ['clock', 'long-chain'], 'CL-chain-bound': ['clock', 'long-chain'],
  H5: ['release-teardown', 'release-race'], H8: ['release-race', 'group-claim'], H9: ['release-teardown', 'release-race'], H13: ['release-race'],
  H6: ['extent-refs'],
  H7: ['group-claim'], 'CL-group-atomic': ['group-claim'],
  H10: ['burst', 'hostile'], H11: ['add'],
  H14: ['teardown-race', 'probe-race'], H15: ['release-race', 'release-teardown'],
  'CL-serial': ['burst'], 'CL-seq': ['burst', 'group-claim'],
  // v5: the DAX mapping devices (src/dax/mapping.ts) — a mappingN read against a destroy's size 0
  // (H27); a size 0 or destroy inside the cxl_dax_region unbind (H28)
  H27: ['mapping-read', 'destroy'], H28: ['destroy', 'resize', 'unbind'],
};

/** SWARM_PLAN_VERSION 1's actions and H14 focus (the draws of traces recorded before version 2) */
const SWARM_ACTIONS_V1: readonly SwarmAction[] = SWARM_ACTIONS.filter((a) => a !== 'region-cycle' && a !== 'teardown-race');
const SWARM_FOCUS_V1: Record<string, SwarmAction[]> = { ...SWARM_FOCUS, H14: ['probe-race', 'release-race'] };
/** before version 5: no `mapping-read` (its weight draw would shift every later draw) */
const SWARM_ACTIONS_V4: readonly SwarmAction[] = SWARM_ACTIONS.filter((a) => a !== 'mapping-read');
const swarmActions = (hint?: PlanHint): readonly SwarmAction[] => {
  const v = hint?.version ?? SWARM_PLAN_VERSION;
  return v === 1 ? SWARM_ACTIONS_V1.filter((a) => a !== 'mapping-read') : v < 5 ? SWARM_ACTIONS_V4 : SWARM_ACTIONS;
};
/** a focus names only actions its version draws (H27's `mapping-read` is version 5's) */
const focusActions = (hint?: PlanHint): SwarmAction[] =>
  ((hint?.focus ? ((hint.version ?? SWARM_PLAN_VERSION) === 1 ? SWARM_FOCUS_V1 : SWARM_FOCUS)[hint.focus] : undefined) ?? []).filter((a) => swarmActions(hint).includes(a));

/** The action weights of one swarm iteration: each enabled with probability 1/2, weight 1..8; the
 *  focus window's actions always enabled at weight 24 (about half the draws). */
export function swarmWeights(p: Prng, hint?: PlanHint): Map<SwarmAction, number> {
  const weight = new Map<SwarmAction, number>();
  for (const a of swarmActions(hint)) if (p.chance(0.5)) weight.set(a, 1 + p.int(8));
  if (!weight.has('add')) weight.set('add', 4);
  for (const a of focusActions(hint)) weight.set(a, 24);
  return weight;
}

/**
 * Swarm testing (TigerBeetle's `random_enum_weights`) that seeks collisions: per iteration a small
 * pool of 2–3 tags reused across memdevs and chains, and actions that put racing actors on the
 * same objects at the START of their lists (so they overlap in time): the same tag offered on both
 * memdevs, a multi-extent group's add racing claims of its tag, a chain racing a cxl_dax_region
 * unbind+bind (probe scan, teardown before the response), a release racing claims and an unbind,
 * two readers holding a group's extent devices while it is released, bursts of back-to-back
 * chains on one memdev. mem1 is sharable: its chains are tagged and stamped 0..n-1 as a v11
 * device does (a v10 host refuses them: G2).
 */
function swarmPlan(p: Prng, _iteration: number, hint?: PlanHint): Plan {
  const weight = swarmWeights(p, hint);
  const pick = (): SwarmAction => {
    const total = [...weight.values()].reduce((a, b) => a + b, 0);
    let x = p.int(total);
    for (const [k, w] of weight) { if (x < w) return k; x -= w; }
    return 'add';
  };
  const tags: string[] = Array.from({ length: 2 + p.int(2) }, () => tagOf(p));
  const fmOps: StressOp[][] = [[], []];
  const userOps: StressOp[][] = [[], []];
  const busOps: StressOp[] = [];
  const clockOps: StressOp[] = [];
  // both regions, then one wait for both probes: r1's creation overlaps r0's cxl_dax_region
  // probe on the dax-bus (the ids and addresses are assigned in create order all the same)
  // plans drawn before version 3 (stored traces without a plan): create, wait, create, wait
  const legacy = (hint?.version ?? SWARM_PLAN_VERSION) < 3;
  const setup: StressOp[] = legacy ? [...region0(0, 'r0'), ...region0(1, 'r1')]
    : [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'create-region', memdev: 1, size: null, as: 'r1' }, { op: 'wait-idle' }];
  let dax = 0;
  // extent-refs and release-teardown add their objects in setup (so the race starts with them
  // in place); one of them per plan, so extent indexes stay those of its own records
  let refs = false;
  let mapped = false; // mapping-read's claimed device (v5), once per plan
  const added: { memdev: number; recs: InjectRecord[] }[] = [];
  // mem1 is sharable: tagged only (E3), sequence numbers 0..n-1 (G2)
  const tagFor = (m: number): string | null => (m === 0 && p.chance(0.3) ? null : p.pick(tags));
  const recsFor = (m: number, n: number, lenM: number, tag: string | null, base?: number): InjectRecord[] => {
    const t = m === 1 ? tag ?? p.pick(tags) : tag;
    const span = base === undefined ? 1024 : 256;
    return chain(p, n, lenM, span, t, { ...(m === 1 ? { seqs: Array.from({ length: n }, (_, i) => i) } : {}), ...(base !== undefined ? { base } : {}) }).map((r, i, all) => (m === 1 ? { ...r, seq: i, more: i < all.length - 1 } : r));
  };
  const regionCycle = (m: number): StressOp[] => [{ op: 'destroy-region', region: `r${m}` }, { op: 'create-region', memdev: m, size: null, as: `r${m}` }];
  const addOp = (m: number, recs: InjectRecord[]): StressOp => { added.push({ memdev: m, recs }); return { op: 'add', memdev: m, records: recs }; };
  const claim = (m: number, uuid: string | null): StressOp => ({ op: 'claim', region: `r${m}`, uuid, as: `d${dax++}` });
  // the focus window's collision is built once more after the draws, so its racing ops end up at
  // the very front of their actors' lists (later unshifts would otherwise push them back)
  const focusActs = focusActions(hint);
  // only the cap's window needs a chain past it; H4 (the watchdog against a late tail) needs a
  // chain still open when the clock moves, which the plain 12–24 records give: aimed at H4 with
  // 95–120, an iteration handled 144 records, and a fresh job's first eight H4 aims took seconds
  const longChains = legacy || hint?.focus === 'CL-chain-bound';
  const last = focusActs.length > 0 ? focusActs[p.int(focusActs.length)]! : null;
  if (last === 'release-teardown' || last === 'extent-refs') refs = true; // reserved for the last
  const act = (a: SwarmAction): void => {
    const m = p.int(2);
    const tag = tagFor(m);
    const u = p.int(2);
    switch (a) {
      case 'add': fmOps[m]!.push(addOp(m, recsFor(m, 1 + p.int(6), 8, tag))); break;
      // past the 100-record cap (CL-chain-bound) only when aimed at the cap: 95–120 records
      // were three quarters of an unaimed plan's records (50 of 67), each record an interrupt,
      // Get and Clear Event Records; elsewhere a chain still open when the clock moves (H4)
      case 'long-chain': fmOps[m]!.push(addOp(m, recsFor(m, longChains ? 95 + p.int(26) : 12 + p.int(13), 2, tag))); break;
      case 'release':
      case 'forced': {
        const src = added.length ? p.pick(added) : null;
        if (src) { const r = p.pick(src.recs); fmOps[src.memdev]!.push({ op: 'release', memdev: src.memdev, extents: [{ offset: r.offset, length: r.length, tag: r.tag ?? null }], forced: a === 'forced' }); }
        break;
      }
      case 'hostile': fmOps[m]!.push({ op: 'hostile', memdev: m, kind: p.pick(HOSTILE_CHAIN_KINDS) }); break;
      case 'claim': userOps[u]!.push(claim(m, p.chance(0.3) ? null : p.pick(tags))); break;
      case 'destroy': if (dax) userOps[u]!.push({ op: 'destroy-dax', dax: `d${p.int(dax)}` }); break;
      case 'resize': if (dax) userOps[u]!.push({ op: 'resize', dax: `d${p.int(dax)}`, size: p.chance(0.5) ? 0 : 2 * MiB }); break;
      // v5 (H27): `daxctl list -M` against `daxctl destroy-device` of the same device. A two-member
      // group is added and claimed in setup (so the device has mapping0 and mapping1 when the race
      // starts); one user reads its mappingN attributes — each show takes dax_region_rwsem inside
      // its kernfs active reference — while the other's size 0 unregisters the mappings, both at
      // the front of their lists. Once per plan.
      case 'mapping-read': {
        if (mapped) break;
        mapped = true;
        const t = p.pick(tags);
        setup.push(addOp(m, recsFor(m, 2, 16, t)), { op: 'wait-idle' });
        const c = claim(m, t);
        setup.push(c);
        const d = (c as { as: string }).as;
        userOps[u]!.unshift(...Array.from({ length: 3 }, (): StressOp => ({ op: 'read-mapping', dax: d, mapping: p.int(2), attr: p.pick(['start', 'end', 'page_offset'] as const) })));
        userOps[1 - u]!.unshift({ op: 'destroy-dax', dax: d });
        break;
      }
      case 'data': if (dax) { const d = `d${p.int(dax)}`; const pat = p.u32() | 0; userOps[u]!.push({ op: 'write', dax: d, offset: 0, length: 2 * MiB, pattern: pat }, { op: 'verify', dax: d, offset: 0, length: 2 * MiB, pattern: pat }); } break;
      case 'unbind': busOps.push({ op: 'unbind', region: `r${m}` }, { op: 'bind', region: `r${m}` }); break;
      case 'clock': clockOps.push({ op: 'advance', ms: p.chance(0.5) ? 20_000 : 5_000 }); break;
      // `cxl destroy-region` and `cxl create-region` again (the alias names the new region): the
      // whole region's teardown, where `unbind` is only its cxl_dax_region driver's
      case 'region-cycle': userOps[u]!.push(...regionCycle(m)); break;
      // ---- collisions: racing actors on the same objects, at the front of their lists
      case 'same-tag': {
        // H1: one tag closing on both memdevs at once (tag-lock=off: registered twice)
        // chains of the same length, so both close at about the same time
        const t = p.pick(tags);
        const n = 1 + p.int(3);
        fmOps[0]!.unshift(addOp(0, recsFor(0, n, 8, t)));
        fmOps[1]!.unshift(addOp(1, recsFor(1, n, 8, t)));
        break;
      }
      case 'group-claim': {
        // H7: a multi-extent group surfaced to DAX while its tag is claimed (group-lock=per-extent)
        const t = p.pick(tags);
        // eight claims (each refused fast until the group is in DAX) so that some still run while
        // the group's extents are surfaced one by one: three were spent before the chain closed
        fmOps[m]!.unshift(addOp(m, recsFor(m, 4 + p.int(3), 8, t)));
        userOps[u]!.unshift(...Array.from({ length: 8 }, () => claim(m, t)));
        break;
      }
      case 'probe-race': {
        // H2/H3/H14: a chain closing while the region's cxl_dax_region driver unbinds and re-probes
        fmOps[m]!.unshift(addOp(m, recsFor(m, 1 + p.int(3), 8, tag)));
        busOps.unshift({ op: 'unbind', region: `r${m}` }, { op: 'bind', region: `r${m}` });
        break;
      }
      case 'release-race': {
        // H5/H8/H9: a group added, then released while its tag is claimed and the region unbound
        const t = tagFor(m);
        const recs = recsFor(m, 2 + p.int(2), 8, t);
        fmOps[m]!.unshift(addOp(m, recs), { op: 'release', memdev: m, extents: [{ offset: recs[0]!.offset, length: recs[0]!.length, tag: recs[0]!.tag ?? null }] });
        userOps[u]!.unshift(claim(m, t), claim(m, t));
        if (p.chance(0.5)) busOps.unshift({ op: 'unbind', region: `r${m}` }, { op: 'bind', region: `r${m}` });
        break;
      }
      case 'extent-refs': {
        // H6: two readers hold a group's extent devices while the FM releases it (once per plan:
        // the extents are added in setup so the readers' indexes name them)
        if (refs) break;
        refs = true;
        const t = p.pick(tags);
        const recs = recsFor(m, 2, 16, t);
        setup.push(addOp(m, recs), { op: 'wait-idle' });
        fmOps[m]!.unshift({ op: 'release', memdev: m, extents: [{ offset: recs[0]!.offset, length: recs[0]!.length, tag: t }] });
        if ((hint?.version ?? SWARM_PLAN_VERSION) >= 4) {
          // v4: v11's holders only — two claims of the tag, whose child walks hold the members
          // (uuid_claim_tagged); a user hold across time is NOT v11 (docs/fidelity-holders.md)
          userOps[0]!.unshift(claim(m, t));
          userOps[1]!.unshift(claim(m, t));
          break;
        }
        userOps[0]!.unshift({ op: 'hold-extent', region: `r${m}`, index: 0, as: 'x0' }, { op: 'put-extent', ref: 'x0' });
        userOps[1]!.unshift({ op: 'hold-extent', region: `r${m}`, index: 1, as: 'x1' }, { op: 'put-extent', ref: 'x1' });
        break;
      }
      case 'teardown-race': {
        // H14: a chain of one or two tag groups closing while its region is destroyed (and
        // created again): cxl_region_teardown's devres can run between the chain's realization
        // (cxl_add_pending → online_tag_group) and its Add DC Response (cxl_send_dc_response),
        // docs/kernel-map.md#h14. Region destroy, not the driver unbind: in 200 controlled runs
        // of a one-group chain against each (weighted walk), the destroy reached H14's outcomes
        // in 23, the unbind in 2.
        const groups = 1 + p.int(2);
        const recs = Array.from({ length: groups }, (_, k) => recsFor(m, 1 + p.int(2), 8, m === 1 ? p.pick(tags) : tagFor(m), 512 + 256 * k)).flat().map((r, i, all) => ({ ...r, more: i < all.length - 1 }));
        fmOps[m]!.unshift(addOp(m, recs));
        userOps[u]!.unshift(...regionCycle(m));
        break;
      }
      case 'release-teardown': {
        // H5: the FM releases one of several untagged extents while the region's cxl_dax_region
        // driver is unbound: the release walks dc_extents while the teardown frees them
        if (refs) break;
        refs = true;
        const recs = recsFor(m, 3, 16, m === 1 ? p.pick(tags) : null).map((r) => ({ ...r, more: m === 1 ? r.more : false }));
        setup.push(addOp(m, recs), { op: 'wait-idle' });
        const last = recs[recs.length - 1]!;
        fmOps[m]!.unshift({ op: 'release', memdev: m, extents: [{ offset: last.offset, length: last.length, tag: last.tag ?? null }] });
        busOps.unshift({ op: 'unbind', region: `r${m}` }, { op: 'bind', region: `r${m}` });
        break;
      }
      case 'burst': {
        // back-to-back chains on one memdev, distinct tags (parallel-event-handlers=2: chain-mixed)
        for (let c = 0; c < 3; c++) fmOps[m]!.push(addOp(m, recsFor(m, 2 + p.int(3), 4, tags[c % tags.length]!, 256 + c * 256)));
        break;
      }
    }
  };
  // an aimed iteration draws three actions besides its collision, an unaimed one ten: every
  // other actor's thread is one more choice at each step of the controlled scheduler (diluting
  // the switch inside the window) and more records to handle (fewer iterations per second)
  for (let i = 0; i < (last ? 3 : 10); i++) act(pick());
  if (last) {
    if (last === 'release-teardown' || last === 'extent-refs') refs = false;
    act(last);
  }
  const actors: Actor[] = [fm(0, fmOps[0]!), fm(1, fmOps[1]!), user(0, userOps[0]!), user(1, userOps[1]!), bus(busOps), clock(clockOps)].filter((a) => a.ops.length > 0);
  return { setup, actors };
}

// ------------------------------------------------------------ kernfs active references (H21, H22)
// Kept as their own block: src/dax/kernfs.ts models kernfs_get_active() around every DAX sysfs
// store and kernfs_drain() when the attribute is removed (docs/kernel-map.md#h21, #h22).
const KERNFS_WORKLOADS: Workload[] = [
  {
    name: 'delete-vs-unbind',
    description: 'daxctl destroy-device (disable, size 0, the name written to dax_region/delete) while the cxl_dax_region driver unbinds',
    targets: 'H21 (delete_store inside dax_region/delete waits for device_lock(cxlr_dax); the unbind holds it and dax_region_unregister drains the attribute); H22 through the size write',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      return {
        setup: [...region0(), { op: 'add', memdev: 0, records: chain(p, 1, 16, 256, null) }, { op: 'wait-idle' }, { op: 'claim', region: 'r0', uuid: null, as: 'a' }],
        actors: [user(0, [{ op: 'destroy-dax', dax: 'a' }]), bus([{ op: 'unbind', region: 'r0' }])],
      };
    },
  },
  {
    name: 'claim-vs-teardown-kernfs',
    description: "a tenant's daxctl create-device --uuid (create, read seed, write the seed's uuid, enable) — or only the uuid write to a seed created before — while the cxl_dax_region driver unbinds",
    targets: "H22 (uuid_store inside the seed's uuid attribute waits for dax_region_rwsem; unregister_dev_dax holds it and device_del drains the attribute)",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const setup: StressOp[] = [...region0(), { op: 'add', memdev: 0, records: chain(p, 2, 16, 256, tag) }, { op: 'wait-idle' }];
      // half the iterations write the uuid of a seed made beforehand: its unregister_dev_dax is
      // then the unbind's first devres action, so the store's window meets the drain more often
      const pre = p.chance(0.5);
      if (pre) setup.push({ op: 'create-seed', region: 'r0' });
      const claim: StressOp = pre ? { op: 'claim-seed', region: 'r0', uuid: tag, as: 'a' } : { op: 'claim', region: 'r0', uuid: tag, as: 'a' };
      return { setup, actors: [user(0, [claim]), bus([{ op: 'unbind', region: 'r0' }])] };
    },
  },
];
for (const w of KERNFS_WORKLOADS) WORKLOADS[w.name] = w;
