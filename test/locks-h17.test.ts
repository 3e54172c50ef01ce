// Hazard H17 (issue 13 point 2, found by the lock checker in a 60 s swarm, free schedule, seed 11):
// the probe's existing-extent scan holds device_lock(cxlr_dax) into cxl_add_extent()'s
// down_read(cxl_rwsem.region), while cxl_rm_extent() holds down_read(cxl_rwsem.region) into
// cxlr_notify_extent()'s device_lock(cxlr_dax) (drivers/cxl/core/extent.c, drivers/dax/cxl.c
// cxl_dax_region_probe). down_read is a non-recursive read: a region writer (create-region,
// drivers/cxl/core/region.c attach_target) that waits past the handoff for the release's read
// blocks the scan's read — a three-task deadlock. Found under the controlled scheduler, replayed.
//
// Plan: mem0 holds eight pre-accepted groups (the probe of its new region scans them); user0
// creates that region and then has the FM release the first group; user1 creates regions on mem1
// (each attempt takes cxl_rwsem.region for write; after the first they fail for want of space).
import t from 'tap';
import { DcdSystem } from '../src/runtime/system.js';
import { ControlledScheduler, type TraceStep } from '../stress/turnstile.js';
import { Bindings, type Actor } from '../stress/ops.js';
import { memdev } from '../stress/workloads.js';
import { classify, standardCheckers } from '../stress/checkers/index.js';
import { INV } from '../stress/checkers/outcomes.js';

const M = 1024 * 1024;
const TAGS = Array.from({ length: 8 }, (_, i) => `${String(i + 1).repeat(8)}-2222-3333-4444-555555555555`);

t.test('H17: release vs probe scan vs region writer deadlocks through the rwsem handoff; lockdep reports the cycle; replay reproduces it', async (t) => {
  const mem0 = { ...memdev(0), preAccepted: TAGS.map((tag, i) => ({ offset: i * 32 * M, length: 16 * M, tag, seq: 0 })) };
  const sys = await DcdSystem.start({ memdevs: [mem0, memdev(1)], variant: 'v11', knobs: {}, device: 'cxl-test', clock: 'virtual', seed: 'h15', users: 2, hungMs: 1500, mboxTimeoutMs: 5000 });
  for (const c of standardCheckers()) sys.addChecker(c);
  const actors: Actor[] = [
    { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'release', memdev: 0, extents: [{ offset: 0, length: 16 * M, tag: TAGS[0]! }] }] },
    { name: 'user1', kind: 'user', index: 1, ops: Array.from({ length: 4 }, (_, i) => ({ op: 'create-region' as const, memdev: 1, size: null, as: `r1-${i}` })) },
  ];
  const once = async (policy: ConstructorParameters<typeof ControlledScheduler>[1], seed: string): Promise<{ steps: TraceStep[]; outcomes: string[]; deadlock: string | null; divergence: string | null }> => {
    const r = await new ControlledScheduler(sys, policy, seed).run(actors, new Bindings());
    await sys.waitIdle(15_000).catch(() => undefined);
    let results = await sys.check();
    if (sys.reportCounts().hung > 0) results = results.filter((x) => x.invariant === INV.hung || x.invariant === INV.lockOrder);
    const c = classify(results);
    return { steps: r.steps, outcomes: c.outcomes ?? [c.outcome], deadlock: r.deadlock, divergence: r.divergence };
  };
  let found: { seed: number; steps: TraceStep[]; outcomes: string[]; deadlock: string | null } | null = null;
  const seen = new Map<string, number>();
  let lockOrderH15 = 0;
  let runs = 0;
  try {
    for (let seed = 0; seed < 300 && !found; seed++) {
      if (runs > 0) await sys.resetInPlace();
      runs++;
      const r = await once({ kind: 'random' }, `h15:${seed}`);
      for (const o of r.outcomes) seen.set(o, (seen.get(o) ?? 0) + 1);
      if (r.outcomes.includes('lock-order-h17')) lockOrderH15++;
      if (r.outcomes.includes('hung-wait-h17')) found = { seed, ...r };
    }
    t.comment(`${runs} controlled runs; outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
    t.ok(lockOrderH15 > 0, 'lockdep reports the cycle device_lock(cxlr_dax) -> add_ctx.lock -> cxl_rwsem.region(R) -> device_lock(cxlr_dax) as H17');
    t.ok(found, 'the controlled scheduler finds the H17 deadlock');
    t.notOk(seen.has('lock-order-cycle') || seen.has('hung-wait'), 'no unclassified cycle or hung wait');
    if (!found) return;
    t.match(found.deadlock ?? '', /cxl_rwsem\.region/, `the deadlock names cxl_rwsem.region: ${found.deadlock?.split('\n').slice(1).join(' | ')}`);
    t.ok(found.steps.some((s) => s.what === 'handoff' && s.arg === 'cxl_rwsem.region(write)'), 'the schedule gave the region writer the handoff (steal or queue was the decision)');
    // as dcd replay does (stress/replay.ts): up to three attempts, a loaded machine can miss a settle
    let rep: Awaited<ReturnType<typeof once>> | null = null;
    let attempts = 0;
    for (; attempts < 3 && !(rep && rep.divergence === null && rep.outcomes.includes('hung-wait-h17')); attempts++) {
      await sys.resetInPlace();
      rep = await once({ kind: 'replay', steps: found.steps }, 'replay');
    }
    t.comment(`replay attempts: ${attempts}`);
    t.equal(rep!.divergence, null, `the recorded schedule replays (${found.steps.length} steps)${rep!.divergence ? `: ${rep!.divergence}` : ''}`);
    t.ok(rep!.outcomes.includes('hung-wait-h17'), `the replay reproduces hung-wait-h17 (got ${rep!.outcomes.join(', ')})`);
  } finally {
    await sys.stop();
  }
});
