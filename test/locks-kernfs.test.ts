// Hazards H21 and H22 (docs/kernel-map.md#h21, #h22): a sysfs store runs inside an active
// reference of its attribute's kernfs node (fs/kernfs/dir.c kernfs_get_active), and removing the
// attribute waits for every reference (kernfs_drain); src/dax/kernfs.ts models both.
//  - H21: delete_store (drivers/dax/bus.c) takes device_lock(cxlr_dax) inside dax_region/delete's
//    reference; the cxl_dax_region unbind holds device_lock(cxlr_dax) across devres_release_all →
//    dax_region_unregister → sysfs_remove_groups, which drains that reference.
//  - H22: size_store / uuid_store wait for dax_region_rwsem inside their node's reference;
//    unregister_dev_dax holds dax_region_rwsem across device_del, which drains it.
// Each is found by its workload under the controlled scheduler, classified by the lock checker
// (hung wait and lockdep cycle), and the trace replays. Negative control: the same operations with
// the store finished before the teardown starts (one actor, in order) — no cycle, no hung wait,
// although the store's reference and the drain both still happen.
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';
import { WORKLOADS, chain, memdev, tagOf, type Workload } from '../stress/workloads.js';
import { lockStats } from '../src/shm/lockdep.js';

async function findAndReplay(tt: Test, workload: string, hazard: 'H21' | 'H22', max: number): Promise<void> {
  const hung = `hung-wait-${hazard.toLowerCase()}`;
  const order = `lock-order-${hazard.toLowerCase()}`;
  const out = mkdtempSync(join(tmpdir(), `dcd-kernfs-${workload}-`));
  const job = new StressJob({ workload, variant: 'v11', knobs: {}, device: 'cxl-test', seed: '5', schedule: { kind: 'random' }, noise: false, outDir: out });
  const seen = new Map<string, number>();
  let found: { i: number; trace: string | undefined; cls: string; detail: string | undefined } | null = null;
  let orderSeen = false;
  let i = 0;
  try {
    for (; i < max && !(found && orderSeen); i++) {
      const it = await job.iteration(i);
      // lockdep's graph lives as long as the system: the cycle is reported once, in the iteration
      // that closed it — after a deadlock it is listed (afterDeadlock), not classified
      for (const o of [it.outcome, ...(it.afterDeadlock ?? [])]) seen.set(o, (seen.get(o) ?? 0) + 1);
      if (it.outcome === order || it.afterDeadlock?.includes(order)) orderSeen = true;
      if (it.outcome === hung && !found) found = { i, trace: it.trace, cls: it.class, detail: it.detail };
    }
  } finally {
    await job.close();
  }
  tt.comment(`${workload}: ${i} controlled iterations (random schedule, seed 5), outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
  tt.notOk([...seen.keys()].some((o) => o.startsWith('unnamed') || ['hung-wait', 'lock-order-cycle'].includes(o)), 'no unclassified cycle or hung wait');
  tt.ok(orderSeen, `lockdep reports the ${hazard} cycle (${order})`);
  tt.ok(found, `the controlled scheduler finds the ${hazard} deadlock (${hung}) within ${max} iterations`);
  if (!found) return;
  tt.equal(found.cls, 'known-hazard', `${hung} is classified known-hazard`);
  tt.match(found.detail ?? '', new RegExp(`^${hazard}:`), `the detail names ${hazard}: ${found.detail}`);
  tt.match(found.detail ?? '', /kn->active\((delete|size|uuid)\)\(read\)/, 'a store holds its kernfs active reference in the deadlock');
  tt.ok(found.trace, 'a trace file was written');
  const tr = readTrace(found.trace!);
  tt.ok(tr.ok, 'the trace reads back');
  if (!tr.ok) return;
  // up to five attempts, as the findings traces get (a loaded machine can miss a settle)
  const rep = await replayTrace(tr.trace, 5);
  tt.comment(`replay of iteration ${found.i} (${tr.trace.steps.length} steps): ${rep.outcomes.join(', ')}${rep.divergence ? `, ${rep.divergence}` : ''}`);
  tt.ok(rep.reproduced && rep.outcomes.includes(hung), `dcd replay reproduces ${hung}`);
}

t.test('(H21) daxctl destroy-device vs the cxl_dax_region unbind: delete_store inside dax_region/delete waits for device_lock(cxlr_dax), the unbind drains the attribute', (tt) =>
  findAndReplay(tt, 'delete-vs-unbind', 'H21', 60));

t.test('(H22) daxctl create-device --uuid vs the cxl_dax_region unbind: uuid_store inside the seed\'s uuid waits for dax_region_rwsem, unregister_dev_dax drains the attribute', (tt) =>
  findAndReplay(tt, 'claim-vs-teardown-kernfs', 'H22', 60));

// ---------------------------------------------------------------- negative control
// The same operations, but the store runs in the setup (sequential, then wait-idle): it returns
// and drops its reference before the unbind — the only racing actor — starts, so the drain finds
// no reference and, as kernfs_drain does, skips its wait and its lockdep annotation.
const NEG: Workload[] = [
  {
    name: 'neg-delete-then-unbind',
    description: 'negative control for H21: destroy-device completes before the unbind',
    targets: 'H21 (must not occur)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan: (p) => ({
      setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }, { op: 'add', memdev: 0, records: chain(p, 1, 16, 256, null) }, { op: 'wait-idle' },
        { op: 'claim', region: 'r0', uuid: null, as: 'a' }, { op: 'destroy-dax', dax: 'a' }],
      actors: [{ name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }] }],
    }),
  },
  {
    name: 'neg-claim-then-unbind',
    description: 'negative control for H22: the uuid write completes before the unbind',
    targets: 'H22 (must not occur)',
    config: (b) => ({ memdevs: [memdev(0)], ...b, users: 1 }),
    plan: (p) => {
      const tag = tagOf(p);
      return {
        setup: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'wait-idle' }, { op: 'add', memdev: 0, records: chain(p, 2, 16, 256, tag) }, { op: 'wait-idle' },
          { op: 'create-seed', region: 'r0' }, { op: 'claim-seed', region: 'r0', uuid: tag, as: 'a' }],
        actors: [{ name: 'dax-bus', kind: 'bus', index: 0, ops: [{ op: 'unbind', region: 'r0' }] }],
      };
    },
  },
];
for (const w of NEG) WORKLOADS[w.name] ??= w;

t.test('negative control: the store finished before the teardown — no H21/H22 cycle or hung wait', async (tt) => {
  for (const [w, kn] of [[NEG[0]!, 'kn->active(delete)'], [NEG[1]!, 'kn->active(uuid)']] as const) {
    // a fresh system per workload: a fresh lockdep graph, so nothing recorded by the racing runs counts
    const job = new StressJob({ workload: w.name, variant: 'v11', knobs: {}, device: 'cxl-test', seed: '5', schedule: { kind: 'random' }, noise: false, outDir: null });
    const seen = new Map<string, number>();
    let unbindOk = 0;
    let refs = 0;
    const N = 15;
    try {
      for (let i = 0; i < N; i++) {
        const it = await job.iteration(i);
        for (const o of [it.outcome, ...(it.afterDeadlock ?? [])]) seen.set(o, (seen.get(o) ?? 0) + 1);
        if (it.ops.some((o) => o.op === 'unbind' && o.ok)) unbindOk++;
      }
      refs = lockStats((await job.system()).sys).find((s) => s.cls === kn)?.acquisitions ?? 0;
    } finally {
      await job.close();
    }
    tt.comment(`${w.name}: ${N} controlled iterations, outcomes ${JSON.stringify(Object.fromEntries(seen))}; ${kn} taken ${refs} times; unbind ok ${unbindOk}`);
    tt.ok(refs >= N, `${w.name}: the store ran inside its kernfs reference every iteration (${kn}: ${refs})`);
    tt.equal(unbindOk, N, `${w.name}: the unbind completed every time`);
    const bad = [...seen.keys()].filter((o) => /h21|h22|^hung-wait|^lock-order-cycle/.test(o));
    tt.same(bad, [], `${w.name}: no H21/H22 outcome, no other cycle or hung wait`);
  }
});
