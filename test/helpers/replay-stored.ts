// Replay a trace stored in the repository (docs/findings*/) on real threads and assert it
// reproduces step for step: its recorded outcome, and not the forbidden one it was before its
// hazard was named.
import type { Test } from 'tap';
import { join } from 'node:path';
import { readTrace } from '../../stress/trace.js';
import { replayTrace } from '../../stress/replay.js';

export async function replayStored(t: Test, repoPath: string, want: string, notForbidden: string): Promise<void> {
  const r0 = readTrace(join(import.meta.dirname, '../..', repoPath));
  if (!r0.ok) { t.fail(r0.message); return; }
  const r = await replayTrace(r0.trace, 1);
  t.comment(`replay: ${r.steps} steps, outcomes ${r.outcomes.join(', ')}`);
  t.equal(r.divergence, null, 'the replay followed every recorded step');
  t.ok(r.reproduced, `and reproduced ${r0.trace.outcome}`);
  t.ok(r.outcomes.includes(want), want);
  t.notOk(r.outcomes.includes(notForbidden), `not the forbidden ${notForbidden}`);
}
