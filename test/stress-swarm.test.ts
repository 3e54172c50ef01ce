// The v11 default with every knob off: a short swarm (free with noise, then controlled) has no
// forbidden outcome; the lock-order cycle of v11 is seen as a known hazard. The 10-minute soak is
// `npm run stress:soak` (stress/, not the test suite).
//
// The forbidden outcomes the collision-seeking swarm found on the round-two model
// (docs/findings-open.md) are diagnosed: claim-mismatch was a model bug (fixed), the
// host-extent-not-accepted beside H18 is H5's consequence (host-extent-not-accepted-after-h5),
// the soak's hung-wait is H2's deadlock reported before its probe half (hung-wait-h2 when the
// iteration shows that half); test/stress-findings-open.test.ts replays each. Nothing is
// quarantined: every forbidden outcome fails here, free or controlled.
import t from 'tap';
import { StressJob } from '../stress/runner.js';

for (const schedule of [{ kind: 'free' as const }, { kind: 'random' as const }]) {
  t.test(`swarm, v11, ${schedule.kind}: no forbidden outcome`, async (t) => {
    const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '3', schedule, noise: schedule.kind === 'free', outDir: null });
    const counts = new Map<string, number>();
    const forbidden: string[] = [];
    const N = 12;
    try {
      for (let i = 0; i < N; i++) {
        const r = await job.iteration(i);
        counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
        if (r.class !== 'forbidden') continue;
        forbidden.push(`${i}: ${r.outcome} ${r.detail ?? ''}`);
      }
    } finally {
      await job.close();
    }
    t.comment(`${N} swarm iterations: ${JSON.stringify(Object.fromEntries(counts))}`);
    t.same(forbidden, [], 'no forbidden outcome');
  });
}
