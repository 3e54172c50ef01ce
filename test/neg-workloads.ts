// Workloads only the tests use (registered into stress/workloads.ts's table on import, so the
// stress runner and replay find them by name in this process). Each sets up one race a v11 gate
// or lock prevents.
import { WORKLOADS, chain, memdev, type Workload } from '../stress/workloads.js';
import type { Actor } from '../stress/ops.js';
import { MiB } from '../src/units.js';

const M = MiB;

const extra: Workload[] = [
  {
    // E6 (the extents_scanned check of cxl_validate_extent, v11 drivers/cxl/core/extent.c: -EBUSY
    // for a runtime add before the scan; modelled in cxl_add_extent, src/cxl/extent.ts): a region is
    // created — its cxl_dax_region probe, with the existing-extent scan, runs asynchronously on
    // the DAX bus — while the FM offers capacity inside it. An add that lands between the region
    // and its scan is refused with the gate on; with it off it is tracked before the scan.
    name: 'scan-gate-vs-add',
    description: 'a runtime add racing the async cxl_dax_region probe of a just-created region (E6, H3)',
    targets: '8.1-14 scan gate',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const actors: Actor[] = [
        { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }] },
        { name: 'fm/mem0', kind: 'fm', index: 0, ops: [
          { op: 'add', memdev: 0, records: chain(p, 1, 16, 256, null) },
          { op: 'add', memdev: 0, records: chain(p, 1, 16, 256, null, { base: 256 }) },
        ] },
      ];
      return { setup: [], actors };
    },
  },
  {
    // R3 raced: an untagged two-member chain whose members overlap (E8/E9 classify against onlined
    // extents only — v11 cxlr_dax_classify_extent walks cxlr_dax->dc_extents, not the group being
    // assembled in add_ctx — so both become dc_extents), so the DAX add of the group fails -ENOSPC at the
    // second member (dax_region_add_resources, v11 drivers/dax/bus.c) and rolls the first back
    // inside its one dax_region_rwsem hold; cxl_realize_group then removes the group. Untagged
    // claims race it: none may ever get a resource of the failed group.
    name: 'claim-vs-failed-group-add',
    description: 'untagged claims racing a group add whose DAX add fails (R3): the rollback must leave nothing claimable',
    targets: '8.1-10/11 DAX group atomicity on failure',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const at = 2 * p.int(100) * M;
      return {
        setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }],
        actors: [
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'add', memdev: 0, records: [{ offset: at, length: 4 * M, tag: null, more: true }, { offset: at + 2 * M, length: 4 * M, tag: null, more: false }] }] },
          { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'claim', region: 'r0', uuid: null, as: 'a' }, { op: 'claim', region: 'r0', uuid: null, as: 'b' }, { op: 'claim', region: 'r0', uuid: null, as: 'c' }] },
        ],
      };
    },
  },
];

for (const w of extra) WORKLOADS[w.name] ??= w;

export const NEG_WORKLOADS = extra.map((w) => w.name);
