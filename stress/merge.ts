/**
 * DOC: merging sharded stress results (`dcd merge results/*.json`): outcome counts add up, the
 * first seed and trace of each outcome are kept from the lowest iteration, forbidden totals add.
 * Findings (stress/signature.ts) group by signature across the parts: counts add, the first
 * finder (lowest iteration) and the shortest reproducer are kept.
 */
import type { OutcomeRow, StressSummary } from './runner.js';
import { mergeFindings } from './signature.js';
import { mergeCoverage } from './coverage.js';

export function mergeSummaries(parts: StressSummary[]): StressSummary {
  if (parts.length === 0) throw new Error('nothing to merge');
  const first = parts[0]!;
  const rows = new Map<string, OutcomeRow>();
  for (const p of parts) {
    for (const r of p.outcomes) {
      const cur = rows.get(r.outcome);
      if (!cur) { rows.set(r.outcome, { ...r }); continue; }
      cur.count += r.count;
      if (r.seen !== undefined || cur.seen !== undefined) cur.seen = (cur.seen ?? cur.count) + (r.seen ?? r.count);
      if (r.firstIteration < cur.firstIteration) { cur.firstIteration = r.firstIteration; cur.firstSeed = r.firstSeed; cur.trace = r.trace ?? cur.trace; }
      if (!cur.trace && r.trace) cur.trace = r.trace;
    }
  }
  const order = { forbidden: 0, 'known-hazard': 1, acceptable: 2 } as const;
  const iterations = parts.reduce((n, p) => n + p.iterations, 0);
  const elapsedMs = Math.max(...parts.map((p) => p.elapsedMs));
  return {
    ...first,
    iterations,
    forbidden: parts.reduce((n, p) => n + p.forbidden, 0),
    knownHazards: parts.reduce((n, p) => n + p.knownHazards, 0),
    elapsedMs,
    iterationsPerSec: parts.reduce((n, p) => n + p.iterationsPerSec, 0),
    outcomes: [...rows.values()].sort((a, b) => order[a.class] - order[b.class] || b.count - a.count),
    findings: mergeFindings(parts.map((p) => p.findings)),
    shard: parts.map((p) => p.shard ?? '?').join(','),
    // per-iteration outcome lists concatenate (iteration numbers are global across shards)
    iterationOutcomes: parts.flatMap((p) => p.iterationOutcomes ?? []).sort((a, b) => a.iteration - b.iteration),
    ...(parts.some((p) => p.afterDeadlock) ? { afterDeadlock: sumCounts(parts.map((p) => p.afterDeadlock)) } : {}),
    // coverage adds up: conflict orders and window reach counts are iteration counts
    ...(parts.some((p) => p.coverage) ? { coverage: mergeCoverage(parts.map((p) => p.coverage)) } : {}),
    ...(parts.some((p) => p.controlled) ? { controlled: sumControlled(parts) } : {}),
  };
}

/** shards run side by side: their decision rates add up, like iterationsPerSec */
function sumControlled(parts: StressSummary[]): NonNullable<StressSummary['controlled']> {
  const iterations = parts.reduce((n, p) => n + (p.controlled?.iterations ?? 0), 0);
  const decisions = parts.reduce((n, p) => n + (p.controlled?.decisions ?? 0), 0);
  return { iterations, decisions, decisionsPerSec: parts.reduce((n, p) => n + (p.controlled?.decisionsPerSec ?? 0), 0) };
}

function sumCounts(xs: (Record<string, number> | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, n] of Object.entries(x ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

export function isSummary(j: unknown): j is StressSummary {
  const s = j as Partial<StressSummary>;
  return typeof j === 'object' && j !== null && typeof s.iterations === 'number' && Array.isArray(s.outcomes) && typeof s.workload === 'string';
}
