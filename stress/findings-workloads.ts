/**
 * DOC: workloads of the hazards docs/findings/ reports that no classic workload targets — H17 (the
 * three-task rwsem-handoff deadlock, found by the swarm) and H18 (one range twice in a chain,
 * found by the hostile swarm). Registered into stress/workloads.ts's table on import (replay,
 * minimize and explain import this module, so `dcd replay` of a findings trace finds them).
 */
import { WORKLOADS, memdev, tagOf, type Workload } from './workloads.js';
import type { Actor } from './ops.js';
import { MiB } from '../src/units.js';


export const HAZARD_WORKLOADS: Workload[] = [
  {
    // H17 (docs/kernel-map.md#h17; test/locks-h17.test.ts): mem0 holds eight pre-accepted tag
    // groups, so the cxl_dax_region probe of the region user0 creates scans them
    // (cxl_region_add_existing_extents: device_lock(cxlr_dax) → add_ctx.lock → cxl_add_extent's
    // down_read(cxl_rwsem.region)); user0 then has the FM release the first group (cxl_rm_extent:
    // down_read(cxl_rwsem.region) → cxlr_notify_extent's device_lock(cxlr_dax)); user1 creates
    // regions on mem1 (attach_target: down_write(cxl_rwsem.region)) — the writer whose handoff
    // closes the cycle.
    name: 'release-vs-probe-scan-vs-writer',
    description: "a release (cxl_rm_extent) against a new region's probe scan of pre-accepted groups, while region creates on another memdev take cxl_rwsem.region for write",
    targets: 'H17 (rwsem handoff: scan, release and region writer deadlock)',
    config: (b) => {
      const tags = Array.from({ length: 8 }, (_, i) => `${String(i + 1).repeat(8)}-2222-3333-4444-555555555555`);
      const mem0 = { ...memdev(0), preAccepted: tags.map((tag, i) => ({ offset: i * 32 * MiB, length: 16 * MiB, tag, seq: 0 })) };
      return { memdevs: [mem0, memdev(1)], ...b, clock: 'virtual', users: 2, hungMs: 1500 };
    },
    plan() {
      const actors: Actor[] = [
        { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'release', memdev: 0, extents: [{ offset: 0, length: 16 * MiB, tag: '11111111-2222-3333-4444-555555555555' }] }] },
        { name: 'user1', kind: 'user', index: 1, ops: Array.from({ length: 4 }, (_, i) => ({ op: 'create-region' as const, memdev: 1, size: null, as: `r1-${i}` })) },
      ];
      return { setup: [], actors };
    },
  },
  {
    // H18 (docs/kernel-map.md#h18): a tagged chain two of whose members overlap. cxlr_dax_classify_extent (drivers/cxl/core/extent.c) compares a new extent with
    // cxlr_dax->dc_extents only, never with the chain's own members, so both copies become
    // dc_extents of one group.
    name: 'dup-range-in-chain',
    description: 'a tagged More chain whose last record overlaps its first (as a redelivered, shifted record would)',
    targets: 'H18 (classification against dc_extents only: both copies tracked)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const at = 2 * p.int(100) * MiB;
      return {
        setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }],
        actors: [{ name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'add', memdev: 0, records: [
          { offset: at, length: 16 * MiB, tag, more: true },
          { offset: at + 256 * MiB, length: 16 * MiB, tag, more: true },
          // the cxl-test mock refuses an inject at the start of a known extent (new_extent_valid);
          // an overlap with a different start reaches the host (mock 6)
          { offset: at + 8 * MiB, length: 16 * MiB, tag, more: false },
        ] }] }],
      };
    },
  },
];

for (const w of HAZARD_WORKLOADS) WORKLOADS[w.name] ??= w;
