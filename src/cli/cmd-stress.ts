/**
 * DOC: `dcd stress` — run a workload for N iterations or S seconds, print the outcome table, write
 * JSON results and a trace per non-acceptable outcome; exit 1 if anything forbidden was seen.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { WORKLOADS, workloadNames } from '../../stress/workloads.js';
import '../../stress/findings-workloads.js'; // the hazard workloads of docs/findings (H17, H18, H23–H25) run by name too
import { runSweep } from '../../stress/sweep.js';
import type { StressSummary } from '../../stress/runner.js';
import { formatCoverage } from '../../stress/coverage.js';

export function formatTable(s: StressSummary): string {
  // count: iterations where the outcome was the most severe (the column adds up to the iterations);
  // seen: iterations that saw it at all (an iteration counts under every outcome it saw)
  const rows = s.outcomes.map((o) => [o.outcome, String(o.count), o.class, o.seen === undefined ? '-' : String(o.seen), o.firstSeed, o.trace ?? '-']);
  const head = ['outcome', 'count', 'class', 'seen', 'first seed', 'trace'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
  const knobs = Object.entries(s.knobs).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)';
  const findings = (s.findings ?? []).map((f) => `  ${f.title}  [${f.class}]  ${f.count}×  first ${f.schedule} seed ${f.firstSeed}  shortest ${f.trace ?? '-'}${f.traceSteps !== null ? ` (${f.traceSteps} steps)` : ''}${f.minimized ? `  minimized ${f.minimized}` : ''}`);
  return [
    `workload ${s.workload}  variant ${s.variant}  knobs ${knobs}  device ${s.device}  schedule ${s.schedule}${s.mixed === true ? ' (mixed: about half the iterations controlled; --mix off: free only)' : s.mixed === false ? ' (free only: --mix off)' : ''}  seed ${s.seed}${s.shard ? `  shard ${s.shard}` : ''}`,
    `${s.iterations} iterations in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.iterationsPerSec.toFixed(1)}/s): ${s.forbidden} with a forbidden outcome, ${s.knownHazards} with a known hazard`,
    ...(s.controlled ? [`${s.controlled.iterations} controlled iterations: ${s.controlled.decisions} scheduling decisions (${s.controlled.decisionsPerSec.toFixed(0)}/s of run)`] : []),
    '',
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    ...(findings.length ? ['', `findings by signature (${findings.length}):`, ...findings] : []),
    ...(s.afterDeadlock ? ['', `after an unwound deadlock (listed, not classified): ${Object.entries(s.afterDeadlock).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
    ...(s.coverage ? ['', formatCoverage(s.coverage)] : []),
  ].join('\n');
}

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'stress') return EXIT.usage;
  const workload = a.workload ?? 'swarm';
  if (!WORKLOADS[workload]) {
    io.err(`dcd stress: unknown workload "${workload}"; known: ${workloadNames().join(', ')}`);
    return EXIT.usage;
  }
  if (a.mix !== undefined && workload !== 'swarm') {
    io.err(`dcd stress: --mix applies to the swarm only (workload "${workload}" has one schedule)`);
    return EXIT.usage;
  }
  const out = a.out ?? 'results';
  mkdirSync(out, { recursive: true });
  const tty = process.stderr.isTTY === true && !a.json;
  const seed = String(a.seed ?? 1);
  const summary = await runSweep({
    workload, variant: a.variant ?? 'v11', knobs: a.knobs, device: a.device ?? 'cxl-test', seed,
    schedule: a.schedule, noise: a.noise, outDir: join(out, 'traces'),
    ...(a.mix === 'off' ? { mixSchedules: false } : {}),
    ...(a.iterations !== undefined ? { iterations: a.iterations } : a.seconds !== undefined ? { seconds: a.seconds } : { iterations: 100 }),
    jobs: a.jobs ?? 1,
    ...(a.shard ? { shard: a.shard } : {}),
    ...(tty ? { onProgress: (done: number, total: number | null, forbidden: number, ms: number) => {
      process.stderr.write(`\r${workload}: ${done}${total ? `/${total}` : ''} iterations, ${forbidden} forbidden, ${(ms / 1000).toFixed(1)} s   `);
    } } : {}),
  });
  if (tty) process.stderr.write('\n');
  if (a.minimize !== undefined) await minimizeFindings(summary, a.minimize, io);
  const file = join(out, `${workload}-${seed}${a.shard ? `-shard${a.shard.index}of${a.shard.count}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 1)}\n`);
  if (a.json) io.out(JSON.stringify(summary, null, 1));
  else {
    io.out(formatTable(summary));
    io.out(`\nresults: ${file}`);
  }
  return summary.forbidden > 0 ? EXIT.failed : EXIT.ok;
}

/** `--minimize S`: shrink the shortest reproducer of each finding (signature), at most S seconds each. */
async function minimizeFindings(s: StressSummary, seconds: number, io: CliIo): Promise<void> {
  const { minimizeTrace } = await import('../../stress/minimize.js');
  const { readTrace } = await import('../../stress/trace.js');
  const { minimizedName } = await import('./cmd-minimize.js');
  for (const f of s.findings ?? []) {
    if (!f.trace) continue;
    const t = readTrace(f.trace);
    if (!t.ok) { io.err(`dcd stress: --minimize: ${t.message}`); continue; }
    const out = minimizedName(f.trace);
    const r = await minimizeTrace(t.trace, { seconds, out });
    if (r.ok && r.verified) f.minimized = out;
    io.err(`dcd stress: minimized ${f.title}: ${r.ok ? `${r.before.steps} → ${r.after.steps} steps, ${r.before.preemptions} → ${r.after.preemptions} preemptions, ${r.before.records} → ${r.after.records} records${r.verified ? '' : ' (NOT reproduced by strict replay: not kept)'}` : r.message}`);
  }
}

/** The short stress part of `npm start` (the demo). */
export async function demoSummary(io: CliIo): Promise<number> {
  io.out('dcd demo: a short stress run — two users claiming one tag at once, free scheduling (v11: exactly one wins)');
  const s1 = await runSweep({ workload: 'two-claims', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '1', schedule: { kind: 'free' }, noise: true, outDir: null, iterations: 20, jobs: 1 });
  io.out(formatTable(s1));
  io.out('\ndcd demo: the same tag closing on two memdevs with cxl_tag_lock dropped (tag-lock=off), controlled random schedule — the registry race v11\'s lock prevents');
  const s2 = await runSweep({ workload: 'same-tag-two-memdevs', variant: 'v11', knobs: { 'tag-lock': 'off' }, device: 'cxl-test', seed: '1', schedule: { kind: 'random' }, noise: false, outDir: 'results/demo-traces', iterations: 20, jobs: 1 });
  io.out(formatTable(s2));
  io.out('\n(the forbidden outcome above is expected: the knob breaks the invariant on purpose; replay a trace with `dcd replay FILE`)');
  return s1.forbidden > 0 ? EXIT.failed : EXIT.ok;
}
