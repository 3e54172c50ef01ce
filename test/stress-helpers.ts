// Shared by the stress-row tests: find an outcome under the controlled scheduler (deterministic
// by seed), then replay its trace and require the same outcome.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { StressJob } from '../stress/runner.js';
import { readTrace } from '../stress/trace.js';
import { replayTrace, type ReplayResult } from '../stress/replay.js';
import type { Knobs, Variant } from '../src/scenario/types.js';

export interface Row {
  row: string;
  workload: string;
  knobs: Knobs;
  variant: Variant;
  want: string;
  wantClass: 'forbidden' | 'known-hazard';
  maxIterations: number;
}

export async function findAndReplay(t: Test, r: Row, seed = '7'): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), `dcd-stress-${r.row}-`));
  const job = new StressJob({ workload: r.workload, variant: r.variant, knobs: r.knobs, device: 'cxl-test', seed, schedule: { kind: 'random' }, noise: false, outDir: out });
  let found: { i: number; trace: string | undefined; cls: string } | null = null;
  const seen = new Map<string, number>();
  let i = 0;
  try {
    for (; i < r.maxIterations && !found; i++) {
      const it = await job.iteration(i);
      seen.set(it.outcome, (seen.get(it.outcome) ?? 0) + 1);
      if (it.outcome === r.want) found = { i, trace: it.trace, cls: it.class };
    }
  } finally {
    await job.close();
  }
  t.comment(`(${r.row}) ${r.workload} ${JSON.stringify(r.knobs)} ${r.variant}: ${i} iterations, outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
  t.ok(found, `(${r.row}) dcd stress finds ${r.want} within ${r.maxIterations} iterations (seed ${seed}, controlled random schedule)`);
  if (!found) return;
  t.equal(found.cls, r.wantClass, `classified ${r.wantClass}`);
  t.ok(found.trace, 'a trace file was written');
  const tr = readTrace(found.trace!);
  t.ok(tr.ok, 'the trace reads back');
  if (!tr.ok) return;
  t.ok(tr.trace.steps.length > 0, `the trace holds the global step order (${tr.trace.steps.length} steps)`);
  const rep = await replayTrace(tr.trace, 1);
  t.comment(`replay (scheduler seeded apart from the search): got ${rep.outcomes.join(', ')}; followed ${rep.followed}/${tr.trace.steps.length} recorded steps${rep.divergence ? `, ${rep.divergence}` : ''}`);
  assertFollowed(t, rep, tr.trace.steps.length, r.row);
  t.ok(rep.reproduced && rep.outcomes.includes(r.want), `(${r.row}) dcd replay reproduces ${r.want}`);
}

/** A replay followed its trace: no divergence, every recorded step consumed, no other step taken. */
export function assertFollowed(t: Test, rep: ReplayResult, recorded: number, what: string): void {
  t.equal(rep.divergence, null, `(${what}) the replay did not diverge`);
  t.equal(rep.followed, recorded, `(${what}) it consumed all ${recorded} recorded steps`);
  t.ok(rep.sameSteps, `(${what}) its step sequence equals the trace${rep.firstMismatch ? ` (${rep.firstMismatch})` : ''}`);
}
