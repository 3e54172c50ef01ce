// The free swarm iteration's fewer main-thread round trips (docs/performance.md "Tenth session: swarm iterations per second") keep what they
// replace: an FM actor's batch (DeviceApi.fmSteps) runs its commands in order, each after the
// host drained the one before, in one message; the reads of a wait's last look are the reads a
// state read makes; a wait after a reset asks the devices nothing until something was posted to
// them; a batched free race records one fm-start step per FM command, on its memdev's device.
import t from 'tap';
import { withSystem, region, chain, acceptedOffsets, events, M, TAG_A } from './sys-helpers.js';
import { DC_EVENT_TYPE } from '../src/wire/cxl.js';
import { StressJob } from '../stress/runner.js';

t.test('fmSteps: one message, the commands in order, each after the host drained the one before', async (t) => {
  await withSystem(t, { memdevs: 1 }, async (s) => {
    await region(s, 0);
    const d = s.device(0);
    const posted = d.posted;
    const from = events(s, 'dc-record').length;
    const r = await s.guard(d.call((a) => a.fmSteps([
      { op: 'add', records: chain([0], 2 * M, null) },
      { op: 'add', records: chain([2 * M], 2 * M, TAG_A) },
      { op: 'release', extents: [{ offset: 0, length: 2 * M, tag: null }] },
      { op: 'add', records: chain([8 * M], 2 * M, null) },
    ])));
    t.same(r, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }], 'four commands, four results');
    t.equal(d.posted - posted, 1, 'one message to the device');
    const log = await d.call((a) => a.eventLog());
    t.same([log.fmQueued, log.queued], [0, 0], 'resolved after the host drained every record (cxl-test: each command waits for its drain)');
    await s.waitIdle();
    s.drainEvents();
    const recs = events(s, 'dc-record').slice(from).map((e) => `${e.eventType === DC_EVENT_TYPE.ADD_CAPACITY ? 'add' : 'rel'}@${(e.dpa - 2 * 1024 * M) / M}M`);
    t.same(recs, ['add@0M', 'add@2M', 'rel@0M', 'add@8M'], `the host saw the records in command order: ${recs.join(' ')}`);
    t.same(acceptedOffsets(await s.state()), [2 * M, 8 * M], 'the first extent released, the others accepted');
  });
});

t.test('waitIdleReads: the last look\'s reads are what a state read returns', async (t) => {
  await withSystem(t, { memdevs: 2 }, async (s) => {
    await region(s, 0);
    await region(s, 1);
    await s.guard(s.device(1).call((a) => a.injectRecords(chain([0, 4 * M], 2 * M, TAG_A))));
    const reads = await s.waitIdleReads(10_000, 0.25);
    t.equal(reads.length, 2, 'one per device');
    const fresh = await s.state();
    t.same(await s.state(reads), fresh, 'a state built from them equals a state read afresh');
    t.ok(reads[1]!.accepted.length === 2, `mem1's two accepted extents are in the reads (${reads[1]!.accepted.length})`);
  });
});

t.test('a wait after a reset asks the devices nothing until something is posted to them', async (t) => {
  await withSystem(t, { memdevs: 1 }, async (s) => {
    await region(s, 0);
    await s.resetInPlace();
    const d = s.device(0);
    let p = d.posted;
    await s.waitIdle(10_000, 0.25);
    t.equal(d.posted, p, 'no device message: a reset device has nothing queued');
    await region(s, 0); // a user op and a probe: nothing posted to the device
    t.equal(d.posted, p, 'region creation and its probe post nothing to the device');
    await s.guard(d.call((a) => a.injectRecords(chain([0], 2 * M, null))));
    p = d.posted;
    await s.waitIdle(10_000, 0.25);
    t.ok(d.posted > p, `after an FM call the wait asks the device again (${d.posted - p} message(s))`);
    p = d.posted;
    await s.waitIdle(10_000, 0.25);
    t.equal(d.posted, p, 'and not again once it answered idle');
  });
});

t.test('a batched free race records one fm-start step per FM command, on its memdev\'s device', async (t) => {
  const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '3', schedule: { kind: 'free' }, noise: false, outDir: null, mixSchedules: false, feedback: false });
  let batched = 0;
  let commands = 0;
  try {
    for (let i = 1; i <= 8; i++) {
      const r = await job.iteration(i);
      const plan = job.lastPlan!;
      for (const m of [0, 1]) {
        const fm = plan.actors.find((a) => a.kind === 'fm' && a.index === m);
        const want = fm?.ops.length ?? 0;
        const got = r.steps.filter((s) => s.who === `device/mem${m}` && s.what === 'fm-start').length;
        t.equal(got, want, `iteration ${i} mem${m}: ${got} fm-start steps for ${want} FM commands`);
        if (want > 1) batched++;
        commands += want;
      }
      t.equal(r.ops.filter((o) => o.actor.startsWith('fm/')).length, plan.actors.filter((a) => a.kind === 'fm').reduce((n, a) => n + a.ops.length, 0), 'an outcome per FM command');
    }
  } finally {
    await job.close();
  }
  t.ok(batched > 0, `${batched} FM actors of several commands ran as a batch (${commands} commands in 8 iterations)`);
});

t.test('overlapReset: the devices reset beside the record, and every iteration judges and decides as without it', async (t) => {
  // controlled iterations are deterministic: the same seed draws the same schedules, so the steps
  // and verdicts of both runs must match one for one (an early reset that changed what an
  // iteration starts from, or what its check read, would show here)
  const N = 6;
  const runs: { outcome: string; outcomes?: string[]; decisions?: number; steps: number }[][] = [];
  for (const overlapReset of [false, true]) {
    const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '11', schedule: { kind: 'random' }, noise: false, outDir: null, feedback: false, overlapReset });
    const out: (typeof runs)[number] = [];
    try {
      for (let i = 0; i < N; i++) {
        const r = await job.iteration(i);
        out.push({ outcome: r.outcome, ...(r.outcomes ? { outcomes: r.outcomes } : {}), ...(r.decisions !== undefined ? { decisions: r.decisions } : {}), steps: r.steps.length });
      }
    } finally {
      await job.close();
    }
    runs.push(out);
  }
  t.same(runs[1], runs[0], `${N} controlled iterations: the same decisions, steps and outcomes (${runs[0]!.map((r) => `${r.outcome}/${r.steps}`).join(' ')})`);
});
