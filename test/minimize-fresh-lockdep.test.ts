// The minimizer's baseline runs the trace on a fresh topology, whose lockdep reports the setup's
// H2 cycle again beside a later iteration's own finding (lockdep reports a cycle once per boot).
// It must judge reproduction as `dcd replay` does — the recorded outcome among the run's
// outcomes — and minimize toward the recorded outcome (stress/minimize.ts minimizeTrace).
import t from 'tap';
import { join } from 'node:path';
import { readTrace } from '../stress/trace.js';
import { minimizeTrace } from '../stress/minimize.js';
import { replayTrace } from '../stress/replay.js';

const FILE = join(import.meta.dirname, '..', 'docs', 'findings-open', 'mapping-read-vs-shrink-hung-wait-h27-5-74.trace.json');

t.test('an H27 trace from iteration 74: the fresh replay ranks the setup\'s lock-order-h2 first, yet it minimizes to hung-wait-h27', async (t) => {
  const r0 = readTrace(FILE);
  if (!r0.ok) throw new Error(r0.message);
  const rep = await replayTrace(r0.trace, 1);
  t.comment(`fresh replay: outcome ${rep.got}, outcomes ${rep.outcomes.join(', ')}`);
  t.ok(rep.reproduced, 'dcd replay reproduces it (hung-wait-h27 among the outcomes)');
  t.ok(rep.outcomes.includes('hung-wait-h27'), 'the replay saw hung-wait-h27');
  const m = await minimizeTrace(r0.trace, { out: null, seconds: 30 });
  t.comment(`minimize: ${m.ok ? `ok, ${m.before.steps} -> ${m.after.steps} steps, ${m.candidates} candidates` : m.message}`);
  t.ok(m.ok, 'the minimizer accepts the baseline');
  t.equal(m.trace?.outcome, 'hung-wait-h27', 'and the minimized trace keeps the recorded outcome');
});
