/**
 * DOC: workloads of the hazards docs/findings/ reports that no classic workload targets — H17 (the
 * three-task rwsem-handoff deadlock, found by the swarm), H18 (one range twice in a chain, found
 * by the hostile swarm), H23 (the probe scan's stale snapshot against a held extent's last put), H25, H26
 * and H24 (a tagged claim inside the cxl_dax_region teardown), both found by the soaks and
 * re-found under the controlled scheduler (docs/findings-open.md). Registered into stress/workloads.ts's table on import (replay,
 * minimize and explain import this module, so `dcd replay` of a findings trace finds them).
 */
import { WORKLOADS, memdev, tagOf, type Workload } from './workloads.js';
import type { Actor, StressOp } from './ops.js';
import { MiB } from '../src/units.js';


/**
 * `n` failing sysfs lookups of region r0 (`extentR.7` does not exist: -ENODEV): user0's time
 * sweep, so that the op after them lands at a different point of the racing actor's path in each
 * iteration (H23, H25, H26).
 */
const lookupPads = (n: number): StressOp[] => Array.from({ length: n }, () => ({ op: 'hold-extent', region: 'r0', index: 7, as: 'pad' }));

/**
 * Setup shared by the mapping and delete-name workloads: region r0 on mem0 and one two-member
 * tagged group (16 MiB at 0 and at 32 MiB), realized before the race starts. Draws nothing.
 */
const twoMemberGroup = (tag: string): StressOp[] => [
  { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
  { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * MiB, tag, more: true }, { offset: 32 * MiB, length: 16 * MiB, tag, more: false }] },
  { op: 'wait-idle' },
];

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
  {
    // H23 (docs/kernel-map.md#h23; test/stress-findings-open-2.test.ts): region0 holds a two-member
    // tagged group and user0 holds a reference on its second extent across time (knob
    // extent-refs=user: NOT a v11 mechanism, docs/fidelity-holders.md). dax-bus
    // unbinds region0 — dc_extent_unregister → device_unregister leaves the held extent in
    // cxlr_dax->dc_extents — and binds it again: the probe's scan (__cxl_process_extent_list,
    // drivers/cxl/core/mbox.c) snapshots the device's extent list, then classifies each entry
    // (cxl_add_extent → cxlr_dax_classify_extent, drivers/cxl/core/extent.c). user0's put is the
    // last one: dc_extent_release sends the Release DC and xa_erases the extent under no lock the
    // probe holds. Between the snapshot and the classify the scan realizes the range the device
    // has just taken back. Failing sysfs lookups (a hold of a missing extent) before the put sweep
    // it across the unbind and the rebind, as the plan the trace was found with did.
    name: 'held-release-vs-rescan',
    description: "a held extent's last put (dc_extent_release: Release DC) against the cxl_dax_region unbind and rebind (the probe's existing-extent scan)",
    targets: 'H23 (the probe scan realizes a range from a Get DC Extent List snapshot the release has made stale)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, knobs: { ...b.knobs, 'extent-refs': 'user' }, users: 1 }), // the user hold is NOT v11 (docs/fidelity-holders.md)
    plan(p) {
      const tag = tagOf(p);
      const pads = lookupPads(p.int(8));
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * MiB, tag, seq: 0, more: true }, { offset: 32 * MiB, length: 16 * MiB, tag, seq: 0, more: false }] },
          { op: 'wait-idle' },
          { op: 'hold-extent', region: 'r0', index: 1, as: 'x' },
        ],
        actors: [
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }, { op: 'bind', region: 'r0' }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...pads, { op: 'put-extent', ref: 'x' }] },
        ],
      };
    },
  },
  {
    // H24 (docs/kernel-map.md#h24; test/h24-controlled.test.ts): region0 holds a three-member
    // tagged group; dax-bus unbinds the cxl_dax_region while user0 runs `daxctl create-device`
    // with the tag's uuid (create_store, then uuid_store → uuid_claim_tagged, drivers/dax/bus.c).
    // The unbind's devres runs one dc_extent_unregister action per member
    // (cxl_dax_region_probe's devm actions, drivers/cxl/core/extent.c), none holding
    // dax_region_rwsem across the group, so a claim between two of them takes the members still
    // registered: a partial group. Binds of the bound region (each takes device_lock(cxlr_dax)
    // and finds the driver bound) delay the unbind, sweeping the claim from inside the teardown
    // to before it (the negative side).
    name: 'claim-vs-teardown',
    description: "`daxctl create-device` with a three-member group's uuid against the cxl_dax_region unbind",
    targets: 'H24 (the teardown\'s per-member devres actions: a claim between two takes part of the group)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const pad = p.chance(0.5) ? 0 : 2 + p.int(5);
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          { op: 'add', memdev: 0, records: Array.from({ length: 3 }, (_, k) => ({ offset: 0x10000000 + k * 0x2000000, length: 8 * MiB, tag, seq: 0, more: k < 2 })) },
          { op: 'wait-idle' },
        ],
        actors: [
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [...Array.from({ length: pad }, () => ({ op: 'bind', region: 'r0' } as const)), { op: 'unbind', region: 'r0' }] },
          { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'claim', region: 'r0', uuid: tag, as: 'd1' }] },
        ],
      };
    },
  },
  {
    // H25 (docs/kernel-map.md#h25): region0 holds a 16 MiB extent X that user0 holds a reference on
    // across time (knob extent-refs=user: NOT v11, docs/fidelity-holders.md); the device's Release record for X unregisters it (cxl_rm_extent →
    // rm_tag_group → dc_extent_unregister) but X stays in cxlr_dax->dc_extents until its last put
    // (dc_extent_release: Release DC, then xa_erase). The device then offers a chain of a new range
    // and a sub-range of X: cxl_add_extent's cxlr_dax_classify_extent (drivers/cxl/core/extent.c)
    // meets the held X, "accept again" (return 0), and cxl_realize_group lists the sub-range in
    // the chain's Add DC Response beside the new member. user0's put runs under no lock the event
    // thread holds: between the classify and the response it releases X to the device, and the
    // response then lists capacity the host tracks nowhere. Failing sysfs lookups before the put
    // sweep it across the chain.
    name: 'held-release-vs-reoffer',
    description: "a held extent's last put (dc_extent_release: Release DC) against a chain re-offering a sub-range of it (E8: a duplicate, accepted again)",
    targets: 'H25 (the chain\'s response lists a range whose containing extent the put has released)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, knobs: { ...b.knobs, 'extent-refs': 'user' }, users: 1 }), // the user hold is NOT v11 (docs/fidelity-holders.md)
    plan(p) {
      const tag = tagOf(p);
      const pads = lookupPads(p.int(12));
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * MiB, tag: null, more: false }] },
          { op: 'wait-idle' },
          { op: 'hold-extent', region: 'r0', index: 0, as: 'x' },
          { op: 'release', memdev: 0, extents: [{ offset: 0, length: 16 * MiB, tag: null }] },
          { op: 'wait-idle' },
        ],
        actors: [
          // the cxl-test mock refuses an inject at the start of a known extent (new_extent_valid):
          // the sub-range starts 2 MiB in
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'add', memdev: 0, records: [
            { offset: 64 * MiB, length: 2 * MiB, tag, more: true },
            { offset: 2 * MiB, length: 2 * MiB, tag, more: false },
          ] }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...pads, { op: 'put-extent', ref: 'x' }] },
        ],
      };
    },
  },
  {
    // H26 (docs/kernel-map.md#h26): the FM offers a two-member tagged group; user0 runs `daxctl
    // create-device` with its uuid and writes the device. cxl_add_pending (drivers/cxl/core/mbox.c)
    // onlines the group and adds its DAX resources (cxl_realize_group → cxlr_notify_extent →
    // dax_region_add_resources) before it sends the Add DC Response, so a claim between the two
    // maps capacity the device has not seen accepted, and the write is refused. Failing sysfs
    // lookups before the claim sweep it across the chain (a claim before the DAX add finds
    // nothing: -ENOENT, and the write is skipped).
    name: 'claim-write-vs-add-response',
    description: "`daxctl create-device` with a group's uuid, then a write, against the chain that offers the group (between its DAX add and its Add DC Response)",
    targets: 'H26 (the DAX add precedes the Add DC Response: a claimed device maps capacity the device has not seen accepted)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      const pads = lookupPads(p.int(16));
      return {
        setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }],
        actors: [
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'add', memdev: 0, records: [
            { offset: 0x10000000, length: 8 * MiB, tag, seq: 0, more: true },
            { offset: 0x12000000, length: 8 * MiB, tag, seq: 0, more: false },
          ] }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...pads, { op: 'claim', region: 'r0', uuid: tag, as: 'd' }, { op: 'write', dax: 'd', offset: 0, length: 2 * MiB, pattern: 0x5a5a5a5a }] },
        ],
      };
    },
  },
  // ---------------------------------------------------------------------------------------------
  // v11's holders of an extent device (docs/fidelity-holders.md): no user-space mechanism holds
  // one across time, but the DAX bus's own child walks do — uuid_claim_tagged's
  // device_for_each_child and delete_store's device_find_child_by_name (drivers/dax/bus.c). These
  // re-derive H6, H23 and H25 with those holders only (knob extent-refs at its v11 default).
  {
    // H6 through the claim walk. The FM offers a two-member tagged group while dax-bus unbinds
    // region0 and user0 claims the tag with the seed device. Between online_tag_group and the
    // notify's DAX add (the H14 window) the members are children of cxlr_dax with no
    // dax_release_resource devres, so the unbind's device_del of one completes while user0's
    // uuid_claim_tagged walk (under dax_region_rwsem) holds it: the walk's put is the last, and
    // dc_extent_release runs in user0 under dax_region_rwsem(W) and dax_dev_rwsem(W), beside the
    // teardown's release of the other member (nr_extents). Binds of the bound region delay the
    // unbind; failing lookups delay the claim.
    name: 'claim-walk-vs-unbind',
    description: "a seed device's claim of a tag (uuid_claim_tagged's child walk) against the cxl_dax_region unbind, while the FM's chain of that tag is between online_tag_group and its DAX add",
    targets: "H6 with v11's holders (the claim walk's put the last of a member the unbind device_del'd; dc_extent_release under dax_region_rwsem), H14",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      // the chain's interrupt, Get and Clear Event Records take longer than an unbind: the binds
      // (each finds the driver bound) let the realization come first
      const pad = 2 + p.int(7);
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          // create_store refuses while nothing is available: an unclaimed untagged extent first
          { op: 'add', memdev: 0, records: [{ offset: 496 * MiB, length: 16 * MiB, tag: null, more: false }] }, { op: 'wait-idle' },
          { op: 'create-seed', region: 'r0' },
        ],
        actors: [
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'add', memdev: 0, records: [
            { offset: 0, length: 16 * MiB, tag, more: true }, { offset: 32 * MiB, length: 16 * MiB, tag, more: false },
          ] }] },
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [...Array.from({ length: pad }, () => ({ op: 'bind', region: 'r0' } as const)), { op: 'unbind', region: 'r0' }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(2 + p.int(9)), { op: 'claim-seed', region: 'r0', uuid: tag, as: 's' }] },
        ],
      };
    },
  },
  {
    // H6 through delete_store. A two-member tagged group; the FM releases it (cxl_rm_extent →
    // rm_tag_group, no device_lock(cxlr_dax) around the unregistrations) while user0 and user1
    // write the members' names to dax_region0/delete: device_find_child_by_name holds each
    // dc_extent (get_device) across device_lock(cxlr_dax) — H20's type confusion — and the put
    // after device_unlock can be the member's last, running dc_extent_release in the user thread
    // beside the event thread's release of the other member.
    name: 'delete-name-vs-release',
    description: "two writes of extent names to dax_region/delete (delete_store holds the dc_extent it found) against the FM's release of their group",
    targets: "H6 with v11's holders (delete_store's put the last; after H20's type confusion), H20",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: twoMemberGroup(tag),
        actors: [
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [{ op: 'release', memdev: 0, extents: [{ offset: 0, length: 16 * MiB, tag }] }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(3)), { op: 'delete-extent-name', region: 'r0', id: 1 }] },
          { name: 'user1', kind: 'user', index: 1, ops: [...lookupPads(p.int(3)), { op: 'delete-extent-name', region: 'r0', id: 2 }] },
        ],
      };
    },
  },
  {
    // H23 through delete_store: held-release-vs-rescan with delete_store as the holder. user0
    // writes the second member's name to dax_region0/delete while dax-bus unbinds and binds
    // region0; its put (after device_unlock(cxlr_dax)) can fall inside the probe scan's window.
    name: 'delete-name-vs-rescan',
    description: "a write of an extent's name to dax_region/delete (delete_store holds it) against the cxl_dax_region unbind and rebind (the probe's existing-extent scan)",
    targets: "H23 with v11's holders (delete_store's last put between the scan's Get DC Extent List and its classify), H20",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * MiB, tag, seq: 0, more: true }, { offset: 32 * MiB, length: 16 * MiB, tag, seq: 0, more: false }] },
          { op: 'wait-idle' },
        ],
        actors: [
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }, { op: 'bind', region: 'r0' }] },
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(3)), { op: 'delete-extent-name', region: 'r0', id: 2 }] },
        ],
      };
    },
  },
  {
    // H25 through delete_store: held-release-vs-reoffer with delete_store as the holder. user0
    // writes extent0.1's name to dax_region0/delete while the FM releases it and then offers a
    // chain of a new range and a sub-range of it; the put can fall between the classify (the
    // held extent still in cxlr_dax->dc_extents: a duplicate) and the Add DC Response.
    name: 'delete-name-vs-reoffer',
    description: "a write of an extent's name to dax_region/delete (delete_store holds it) against its release and a chain re-offering a sub-range of it",
    targets: "H25 with v11's holders (delete_store's last put between the re-offer's classify and the response), H20",
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [
          { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' },
          { op: 'add', memdev: 0, records: [{ offset: 0, length: 16 * MiB, tag: null, more: false }] },
          { op: 'wait-idle' },
        ],
        actors: [
          { name: 'fm/mem0', kind: 'fm', index: 0, ops: [
            { op: 'release', memdev: 0, extents: [{ offset: 0, length: 16 * MiB, tag: null }] },
            { op: 'add', memdev: 0, records: [{ offset: 64 * MiB, length: 2 * MiB, tag, more: true }, { offset: 2 * MiB, length: 2 * MiB, tag, more: false }] },
          ] },
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(2)), { op: 'delete-extent-name', region: 'r0', id: 1 }] },
        ],
      };
    },
  },
  // ---------------------------------------------------------------------------------------------
  // The dev_dax mapping devices (src/dax/mapping.ts, docs/fidelity-mapping.md): `daxR.D/mappingN`,
  // one per range, whose start/end/page_offset shows take dax_region_rwsem (get_dax_range:
  // down_write_killable) inside their kernfs active reference (drivers/dax/bus.c).
  {
    // H27: daxctl destroy-device of a claimed two-range device — disable, size 0 (size_store →
    // dev_dax_shrink: devm_release_action → unregister_dax_mapping → device_del(mapping) drains
    // start/end/page_offset under dax_region_rwsem(W) and dax_dev_rwsem(W)), delete — while user1
    // reads the device's mappings (`daxctl list -M` reads each mappingN/start, end, page_offset).
    name: 'mapping-read-vs-shrink',
    description: "reads of a claimed device's mappingN/start, end and page_offset (daxctl list -M) against daxctl destroy-device's size 0 (dev_dax_shrink unregisters each mapping)",
    targets: 'H27 (a mappingN show inside its active reference waits for dax_region_rwsem; size_store holds it and device_del(mapping) drains the reference)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      const reads: StressOp[] = [];
      for (const m of [1, 0]) for (const attr of ['start', 'end', 'page_offset'] as const) reads.push({ op: 'read-mapping', dax: 'a', mapping: m, attr });
      return {
        setup: [
          ...twoMemberGroup(tag),
          { op: 'claim', region: 'r0', uuid: tag, as: 'a' },
        ],
        actors: [
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(3)), { op: 'destroy-dax', dax: 'a' }] },
          { name: 'user1', kind: 'user', index: 1, ops: reads },
        ],
      };
    },
  },
  {
    // H28 through the shrink: the cxl_dax_region unbind's devres_release_all takes cxlr_dax's list
    // — the claimed device's unregister_dax_mapping actions with it — and daxctl destroy-device's
    // size 0 lands before those actions run: dev_dax_shrink's devm_release_action finds nothing
    // (WARN), trims the ranges anyway, and the teardown's unregister_dax_mapping then writes
    // dev_dax->ranges[range_id] of the emptied array. user1 reads mapping0 meanwhile (H27 through
    // either remover).
    name: 'mapping-shrink-vs-teardown',
    description: "daxctl destroy-device (disable, size 0, delete) of a claimed two-range device and a read of its mapping0/start, against the cxl_dax_region unbind",
    targets: 'H28 (dev_dax_shrink cannot release a mapping action the teardown took; the teardown\'s unregister_dax_mapping indexes trimmed ranges), H27, H22, H21',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [
          ...twoMemberGroup(tag),
          { op: 'claim', region: 'r0', uuid: tag, as: 'a' },
        ],
        actors: [
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(3)), { op: 'destroy-dax', dax: 'a' }] },
          { name: 'user1', kind: 'user', index: 1, ops: [...lookupPads(p.int(3)), { op: 'read-mapping', dax: 'a', mapping: 0, attr: 'start' }] },
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }] },
        ],
      };
    },
  },
  {
    // H28 through a claim inside the teardown (H24's window): the seed was created before the
    // unbind, so its unregister_dev_dax is on the list the teardown took, while the claim's
    // devm_register_dax_mapping actions land on the emptied list. The teardown's
    // unregister_dev_dax → device_del(dev_dax) removes the still-registered mappings' directories
    // (draining their attributes under dax_region_rwsem: H27 against user1's read) and frees the
    // ranges; `cxl disable-region`'s device_del(cxlr_dax) then runs the leftover
    // unregister_dax_mapping actions, which index the freed ranges.
    name: 'mapping-claim-in-teardown',
    description: "a uuid write to a seed created before the cxl_dax_region unbind (daxctl create-device --uuid's claim) and a read of its mapping0/start, during the unbind; then cxl disable-region",
    targets: 'H28 (the claim\'s unregister_dax_mapping actions outlive unregister_dev_dax and run at disable-region over freed ranges), H27, H24, H22',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 2 }),
    plan(p) {
      const tag = tagOf(p);
      return {
        setup: [
          ...twoMemberGroup(tag),
          { op: 'create-seed', region: 'r0' },
        ],
        actors: [
          { name: 'user0', kind: 'user', index: 0, ops: [...lookupPads(p.int(2)), { op: 'claim-seed', region: 'r0', uuid: tag, as: 'a' }, { op: 'disable-region', region: 'r0' }] },
          { name: 'user1', kind: 'user', index: 1, ops: [...lookupPads(p.int(4)), { op: 'read-mapping', dax: 'a', mapping: 0, attr: 'start' }] },
          { name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }] },
        ],
      };
    },
  },
];

for (const w of HAZARD_WORKLOADS) WORKLOADS[w.name] ??= w;
