// The rwsem handoff under the controlled scheduler (issue 13 point 1): a reader arriving at
// cxl_rwsem.region while a writer waits there either steals it (step `steal`) or queues behind the
// writer's handoff (step `handoff`) — a decision of the scheduler, recorded in the steps and
// replayed. Real topology, real worker threads.
//
// The plan: the event threads of mem0 and mem1 each handle a Release DC record — cxl_rm_extent()
// holds cxl_rwsem.region for read across cxlr_notify_extent()'s device_lock (drivers/cxl/core/
// extent.c) — while a user destroys region r1 (cxl_rwsem.region for write).
import t from 'tap';
import { DcdSystem } from '../src/runtime/system.js';
import { ControlledScheduler, type TraceStep } from '../stress/turnstile.js';
import { Bindings, runOp, type Actor, type StressOp } from '../stress/ops.js';
import { memdev } from '../stress/workloads.js';

const M = 1024 * 1024;
const ext = (i: number): { offset: number; length: number; tag: null; more: false; seq: number } => ({ offset: (32 + 16 * i) * M, length: 16 * M, tag: null, more: false, seq: 0 });

t.test('controlled scheduler: a reader steals past a waiting writer, or queues behind its handoff; both replay', async (t) => {
  const sys = await DcdSystem.start({ memdevs: [memdev(0), memdev(1)], variant: 'v11', knobs: {}, device: 'cxl-test', clock: 'virtual', seed: 'locks-sched', users: 1, hungMs: 5000, mboxTimeoutMs: 5000 });
  const setupActor: Actor = { name: 'setup', kind: 'user', index: 0, ops: [] };
  const plan = async (): Promise<{ b: Bindings; actors: Actor[] }> => {
    const b = new Bindings();
    const setup: StressOp[] = [
      { op: 'create-region', memdev: 0, size: null, as: 'r0' }, { op: 'create-region', memdev: 1, size: null, as: 'r1' }, { op: 'wait-idle' },
      { op: 'add', memdev: 0, records: [ext(0)] }, { op: 'add', memdev: 1, records: [ext(1)] }, { op: 'wait-idle' },
    ];
    for (const op of setup) { if (op.op === 'wait-idle') await sys.waitIdle(10_000); else await runOp(sys, b, op, setupActor); }
    await sys.waitIdle(10_000);
    const rel = (i: number): StressOp => ({ op: 'release', memdev: i, extents: [{ offset: ext(i).offset, length: ext(i).length, tag: null }] });
    return {
      b,
      actors: [
        { name: 'fm/mem0', kind: 'fm', index: 0, ops: [rel(0)] },
        { name: 'fm/mem1', kind: 'fm', index: 1, ops: [rel(1)] },
        { name: 'user0', kind: 'user', index: 0, ops: [{ op: 'destroy-region', region: 'r1' }] },
      ],
    };
  };
  const decisions = (steps: TraceStep[]): string[] => steps.filter((s) => s.what === 'steal' || s.what === 'handoff').map((s) => `${s.who} ${s.what} ${s.arg}`);
  let stealRun: TraceStep[] | null = null;
  let handoffRun: TraceStep[] | null = null;
  let runs = 0;
  try {
    for (let seed = 0; seed < 150 && !(stealRun && handoffRun); seed++) {
      if (runs > 0) await sys.resetInPlace();
      runs++;
      const { b, actors } = await plan();
      const r = await new ControlledScheduler(sys, { kind: 'random' }, `locks-sched:${seed}`).run(actors, b);
      await sys.waitIdle(10_000).catch(() => undefined);
      const d = decisions(r.steps);
      if (!stealRun && d.some((x) => / steal cxl_rwsem\.region\(read\)$/.test(x))) stealRun = r.steps;
      if (!handoffRun && d.some((x) => / handoff cxl_rwsem\.region\(write\)$/.test(x))) handoffRun = r.steps;
    }
    t.comment(`${runs} controlled runs; steal seen: ${stealRun !== null}, handoff seen: ${handoffRun !== null}`);
    t.ok(stealRun, 'some schedule lets a reader steal cxl_rwsem.region past the waiting writer');
    t.ok(handoffRun, 'some schedule gives the waiting writer the handoff, so a reader queues behind it');
    for (const [name, steps] of [['steal', stealRun], ['handoff', handoffRun]] as const) {
      if (!steps) continue;
      await sys.resetInPlace();
      const { b, actors } = await plan();
      const rep = await new ControlledScheduler(sys, { kind: 'replay', steps }, 'replay').run(actors, b);
      await sys.waitIdle(10_000).catch(() => undefined);
      t.equal(rep.divergence, null, `the ${name} schedule replays without divergence (${steps.length} steps)`);
      t.same(decisions(rep.steps), decisions(steps), `the replay takes the same side: ${decisions(steps).join('; ')}`);
    }
  } finally {
    await sys.stop();
  }
});
