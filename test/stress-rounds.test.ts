// Several independent races per reset (jcstress-style): two-claims-x16 races sixteen tags per
// iteration, one round per tag. Under real threads: every round has exactly one winner and its
// loser fails with EBUSY (both on one seed), ENOSPC (no space left) or — unlike a lone two-claims,
// since other groups keep the region's space free — ENOENT (uuid_claim_tagged found no free
// resource with the tag, drivers/dax/bus.c), free and controlled; a free
// iteration's recorded steps replay under the controlled scheduler without divergence (the
// barrier between rounds is not a step); a finding is attributed to the round its detail names.
import t from 'tap';
import { StressJob, roundOf, summarize, type IterationResult } from '../stress/runner.js';
import type { OpOutcome } from '../stress/ops.js';

/**
 * Per round: one winner and an EBUSY/ENOSPC/ENOENT loser. `allowNone`: under the controlled
 * scheduler the rounds run without the free run's barrier, so every round's daxctl shares the
 * region's one seed device with the other rounds' (create_store sets `seed` only when none is set;
 * daxctl writes its uuid to whatever seed it reads, drivers/dax/bus.c): a round can lose its seed
 * to another round's claim, and then both its claims fail EBUSY — no winner, never two.
 */
function perRound(ops: OpOutcome[], rounds: number, allowNone = false): string[] {
  const bad: string[] = [];
  // each actor's outcomes come in its plan order (actors interleave under the controlled scheduler)
  const u0 = ops.filter((o) => o.op === 'claim' && o.actor === 'user0');
  const u1 = ops.filter((o) => o.op === 'claim' && o.actor === 'user1');
  if (u0.length !== rounds || u1.length !== rounds) return [`${u0.length} + ${u1.length} claims, want ${rounds} each`];
  for (let k = 0; k < rounds; k++) {
    const a = u0[k]!, b = u1[k]!;
    const won = [a, b].filter((o) => o.ok).length;
    const loser = [a, b].find((o) => !o.ok);
    if (won === 0 && allowNone) { if (![a, b].every((o) => o.errno === 'EBUSY' || o.errno === 'ENOSPC' || o.errno === 'ENOENT')) bad.push(`round ${k}: losers ${a.errno}/${b.errno}`); continue; }
    if (won !== 1) bad.push(`round ${k}: ${won} winners`);
    else if (!['EBUSY', 'ENOSPC', 'ENOENT'].includes(loser!.errno!)) bad.push(`round ${k}: loser ${loser!.errno}`);
  }
  return bad;
}

for (const schedule of [{ kind: 'free' as const }, { kind: 'random' as const }]) {
  t.test(`two-claims-x16 (${schedule.kind}): sixteen rounds per iteration, one winner each`, async (t) => {
    const opts = { workload: 'two-claims-x16', variant: 'v11' as const, knobs: {}, device: 'cxl-test' as const, seed: '3', schedule, noise: false, outDir: null };
    const job = new StressJob(opts);
    const N = schedule.kind === 'free' ? 3 : 1;
    const results: IterationResult[] = [];
    const losers = new Map<string, number>();
    try {
      for (let i = 0; i < N; i++) {
        const r = await job.iteration(i);
        results.push(r);
        t.equal(r.rounds, 16, `iteration ${i}: 16 rounds`);
        const controlled = schedule.kind !== 'free';
        t.same(perRound(r.ops, 16, controlled), [], `iteration ${i}: every round has ${controlled ? 'at most' : ''} one winner and EBUSY/ENOSPC/ENOENT losers`);
        if (controlled) t.comment(`iteration ${i}: ${16 - r.ops.filter((o) => o.op === 'claim' && o.ok).length} rounds without a winner (seed lost to another round)`);
        for (const o of r.ops) if (o.op === 'claim' && !o.ok) losers.set(o.errno!, (losers.get(o.errno!) ?? 0) + 1);
        // H2 is reported once per run when the setup first records both edges; the rest is clean
        t.ok(r.class === 'acceptable' || r.outcome === 'lock-order-h2', `iteration ${i}: ${r.class} ${r.outcome}`);
        if (schedule.kind === 'free' && i === N - 1) {
          const again = await job.iteration(i, { kind: 'replay', steps: r.steps, seed: `3:${i}/replay` });
          t.equal(again.divergence, null, `the free iteration's ${r.steps.length} recorded steps replay without divergence`);
          t.same(perRound(again.ops, 16), [], 'the replay has one winner per round too');
        }
      }
    } finally {
      await job.close();
    }
    t.comment(`${schedule.kind}: ${N} iterations = ${N * 16} races; losers ${JSON.stringify(Object.fromEntries(losers))}`);
    const s = summarize(opts, results, 1000);
    t.equal(s.races, N * 16, 'the summary counts races');
  });
}

t.test('roundOf: a finding is attributed to the round whose tag its detail names', async (t) => {
  const rounds = [['aaaa-1'], ['bbbb-2'], ['cccc-3']];
  t.equal(roundOf(rounds, [{ detail: 'claim of tag bbbb-2 by dax device 3' }]), 1);
  t.equal(roundOf(rounds, [{ detail: 'nothing named' }, { detail: 'tag cccc-3 leaked' }]), 2, 'the first result naming one');
  t.equal(roundOf(rounds, [{ detail: 'tag dddd-4' }, {}]), -1, 'none named');
});
