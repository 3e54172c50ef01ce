/** DOC: `dcd replay TRACE` — exit 0 reproduced, 1 not reproduced (with the divergence), 2 bad input. */
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { readTrace } from '../../stress/trace.js';
import { replayTrace } from '../../stress/replay.js';
import { WORKLOADS } from '../../stress/workloads.js';
import { PlanRefused } from '../../stress/ops.js';

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'replay') return EXIT.usage;
  const t = readTrace(a.trace);
  if (!t.ok) {
    io.err(`dcd replay: ${t.message}`);
    return EXIT.usage;
  }
  if (!WORKLOADS[t.trace.workload]) {
    io.err(`dcd replay: ${a.trace}: unknown workload "${t.trace.workload}"`);
    return EXIT.usage;
  }
  let r: Awaited<ReturnType<typeof replayTrace>>;
  try {
    r = await replayTrace(t.trace);
  } catch (e) {
    if (!(e instanceof PlanRefused)) throw e;
    io.err(`dcd replay: ${a.trace}: ${e.message}`);
    return EXIT.usage;
  }
  if (a.timeline) {
    if (r.run?.record) {
      const { timelineOf } = await import('../../stress/explain.js');
      const { timelineToPerfetto } = await import('../runtime/perfetto.js');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(a.timeline, JSON.stringify(timelineToPerfetto(timelineOf(r.run.record, r.run.steps))));
      if (!a.json) io.out(`timeline written to ${a.timeline} (open in ui.perfetto.dev)`);
    } else io.err(`dcd replay: no run to write to ${a.timeline}`);
  }
  const { run: _run, ...plain } = r;
  if (a.json) io.out(JSON.stringify(plain, null, 1));
  else {
    io.out(`replay ${a.trace}: workload ${t.trace.workload} seed ${t.trace.seed} iteration ${t.trace.iteration} (${t.trace.steps.length} recorded steps, ${t.trace.recordedFree ? 'free run' : 'controlled run'})`);
    io.out(`expected ${r.expected}, got ${r.outcomes.join(', ')} (${r.class}) after ${r.attempts} attempt(s): ${r.reproduced ? 'REPRODUCED' : 'NOT reproduced'}`);
    if (r.detail) {
      const { nameHandles } = await import('../../stress/explain.js');
      io.out(`  ${r.run?.record ? nameHandles(r.detail, r.run.record.names) : r.detail}`);
    }
    if (r.divergence) io.out(`  ${r.divergence}`);
    // the same interleaving, judged differently: the trace predates a rule that now names what
    // it shows (a narrowed or newly named outcome) — say so rather than leave "NOT reproduced"
    if (!r.reproduced && r.divergence === null && r.sameSteps && !r.outcomes.includes(r.expected)) {
      io.out(`  the replay followed all ${r.followed} recorded steps and took no other: the interleaving is the same, but the checkers now classify it as ${r.got} (${r.class}), not ${r.expected} — the trace was recorded before that rule (docs/kernel-map.md#outcome-${r.got})`);
    }
  }
  return r.reproduced ? EXIT.ok : EXIT.failed;
}
