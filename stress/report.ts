/**
 * DOC: `dcd report RESULTS…` — a self-contained report a maintainer can act on (Markdown and an
 * HTML page with one SVG sequence diagram per finding), in the shape of a syzbot report: a title,
 * the class, the minimized interleaving (stress/explain.ts), the command that replays it, how
 * often it reproduces, and which fix candidates make it go away.
 *
 * Input: `dcd stress` / `dcd merge` results (their findings, grouped by signature) and/or trace
 * files. Per finding:
 *  - the reproducer: its minimized trace when there is one, else the shortest trace, minimized
 *    here within `seconds` (0: as found);
 *  - reproduction: the controlled replay `runs` times (deterministic: k/N says so), and free runs
 *    (OS scheduling with seeded noise) of the same plan, k/N;
 *  - fix candidates: the same plan under the controlled random schedule over `runs` schedule seeds,
 *    under the trace's configuration and under each candidate (each knob the trace flips back to
 *    its v11 value, `rcu=on`, `post-v11`, the lock knobs): "tag-lock=on: 0 of 20" fixes it when
 *    the baseline reproduces and the candidate never does.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Knobs, Variant } from '../src/scenario/types.js';
import { StressJob } from './runner.js';
import type { Plan } from './ops.js';
import { readTrace, type MinimizedInfo, type StressTrace } from './trace.js';
import { explainTrace, formatExplanation, traceRecord, type Explanation } from './explain.js';
import { Chooser, minimizeTrace } from './minimize.js';
import { mergeFindings, type FindingRow } from './signature.js';
import { isSummary } from './merge.js';
import type { StressSummary } from './runner.js';
import { replayTrace } from './replay.js';
import type { TraceStep } from './turnstile.js';

export interface FixResult {
  label: string; variant: Variant; knobs: Knobs;
  /** the reproducer's schedule, followed leniently under this configuration, ended in the outcome */
  reproducer: boolean;
  /** steps of the reproducer's interleaving this configuration could not follow (0: it followed all) */
  drift: number;
  /** controlled random schedules of the same plan that ended in it */
  hits: number; runs: number;
  /** systematic: every schedule with at most one preemption (CHESS-style), how many failed */
  bounded: { failing: number; schedules: number; exhaustive: boolean };
  fixes: boolean;
}

export interface ReportFinding {
  row: FindingRow;
  trace: string;
  minimized: boolean;
  explanation: Explanation | null;
  text: string;
  replay: { reproduced: number; runs: number };
  free: { hits: number; runs: number };
  baseline: FixResult | null;
  fixes: FixResult[];
  note?: string;
  /** what `dcd minimize` removed (before → after), when the reproducer is minimized */
  min?: MinimizedInfo;
}

/** `dcd minimize`'s before → after, one line (the report's "minimized" item). */
export function minimizedText(m: MinimizedInfo): string {
  const f = m.from;
  const t = m.to;
  const seg = m.segments ? Object.entries(m.segments).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  return `${f.steps} → ${t.steps} steps, ${f.actors} → ${t.actors} actors, ${f.ops} → ${t.ops} ops, ${f.records} → ${t.records} records, ${f.preemptions} → ${t.preemptions} preemptions`
    + (m.preempts ? `; schedule: ${m.preempts.length ? m.preempts.join('; ') : 'the non-preemptive default'}` : m.segments ? '; schedule: the recorded steps (no schedule of point-named preemptions found in the budget)' : '')
    + (seg ? `; steps per thread up to the failure (runs to the next switch): ${seg}` : '');
}

export interface ReportOptions {
  out: string;
  runs?: number;
  seconds?: number;
  log?: (s: string) => void;
  /** commands in the report name trace files relative to this directory (default: `out`) */
  pathBase?: string;
}

/** Read results and traces into findings (one per signature). */
export function collectFindings(files: readonly string[]): { findings: FindingRow[]; errors: string[] } {
  const parts: FindingRow[][] = [];
  const errors: string[] = [];
  for (const f of files) {
    let j: unknown;
    try { j = JSON.parse(readFileSync(f, 'utf8')); } catch (e) { errors.push(`${f}: ${(e as Error).message}`); continue; }
    if (isSummary(j)) { parts.push((j as StressSummary).findings ?? []); continue; }
    const t = readTrace(f);
    if (!t.ok) { errors.push(`${f}: neither a dcd stress result nor a trace (${t.message})`); continue; }
    if (t.trace.class === 'acceptable') continue;
    const sig = t.trace.signature ?? `${t.trace.outcome}@?`;
    parts.push([{ signature: sig, title: t.trace.title ?? `DCD: ${t.trace.outcome}`, outcome: t.trace.outcome, class: t.trace.class as FindingRow['class'], count: 1, firstSeed: `${t.trace.seed}:${t.trace.iteration}`, firstIteration: t.trace.iteration, schedule: t.trace.schedule, trace: f, traceSteps: t.trace.steps.length, ...(t.trace.minimized ? { minimized: f } : {}) }]);
  }
  return { findings: mergeFindings(parts), errors };
}

/** The knobs and variants that could make a finding go away, each a change from the trace's config. */
export function fixCandidates(t: StressTrace): { label: string; variant: Variant; knobs: Knobs }[] {
  const out: { label: string; variant: Variant; knobs: Knobs }[] = [];
  const knobs = t.knobs as Record<string, string | number>;
  const v11: Record<string, string | number> = { 'tag-lock': 'on', 'group-lock': 'group', 'parallel-event-handlers': 1, rcu: 'on' };
  for (const [k, v] of Object.entries(knobs)) {
    const back = v11[k];
    if (back !== undefined && back !== v) out.push({ label: `${k}=${back}`, variant: t.variant, knobs: { ...knobs, [k]: back } as Knobs });
  }
  if (knobs.rcu !== 'on') out.push({ label: 'rcu=on', variant: t.variant, knobs: { ...knobs, rcu: 'on' } as Knobs });
  if (t.variant !== 'post-v11') out.push({ label: 'post-v11', variant: 'post-v11', knobs: t.knobs });
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.label) ? false : (seen.add(c.label), true)));
}

async function countHits(t: StressTrace, plan: Plan, variant: Variant, knobs: Knobs, runs: number, schedule: 'random' | 'free', reproducer?: { steps: TraceStep[] }): Promise<{ hits: number; reproducer: boolean; drift: number }> {
  const job = new StressJob({ workload: t.workload, variant, knobs, device: t.device, seed: t.seed, schedule: { kind: schedule }, noise: schedule === 'free', outDir: null });
  let hits = 0;
  let rep = false;
  let drift = 0;
  try {
    if (reproducer) {
      // the reproducer's own interleaving, followed where this configuration still has its steps
      const ch = new Chooser(reproducer.steps, 8);
      const r = await job.iteration(t.iteration, { kind: 'guided', choose: ch.choose }, { plan });
      rep = r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome as never);
      drift = ch.skipped + ch.unfollowed;
    }
    for (let k = 0; k < runs; k++) {
      // the plan is fixed; the iteration number only seeds the schedule (and the noise)
      const r = await job.iteration(1000 + k, undefined, { plan });
      if (r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome as never)) hits++;
    }
  } finally {
    await job.close();
  }
  return { hits, reproducer: rep, drift };
}

/**
 * Every schedule of the plan with at most one preemption: the non-preemptive run, then one run per
 * (decision, other enabled choice) of it. `stopAtFirst` for the baseline (is it reachable at all).
 */
async function boundedSearch(t: StressTrace, plan: Plan, variant: Variant, knobs: Knobs, stopAtFirst: boolean, budgetMs: number): Promise<{ failing: number; schedules: number; exhaustive: boolean }> {
  const job = new StressJob({ workload: t.workload, variant, knobs, device: t.device, seed: t.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  const deadline = performance.now() + budgetMs;
  const hit = (r: { outcome: string; outcomes?: string[] }): boolean => r.outcome === t.outcome || (r.outcomes ?? []).includes(t.outcome);
  let failing = 0;
  let schedules = 0;
  try {
    const c0 = new Chooser([], 1);
    const r0 = await job.iteration(t.iteration, { kind: 'guided', choose: c0.choose }, { plan });
    schedules++;
    if (hit(r0)) { failing++; if (stopAtFirst) return { failing, schedules, exhaustive: false }; }
    const cands: { d: number; to: string }[] = [];
    c0.decisions.forEach((dec, d) => { for (const k of dec.keys) if (k !== dec.def) cands.push({ d, to: k }); });
    for (const c of cands) {
      if (performance.now() > deadline) return { failing, schedules, exhaustive: false };
      const ch = new Chooser([], 1, new Map([[c.d, c.to]]));
      const r = await job.iteration(t.iteration, { kind: 'guided', choose: ch.choose }, { plan });
      schedules++;
      if (hit(r)) { failing++; if (stopAtFirst) return { failing, schedules, exhaustive: false }; }
    }
    return { failing, schedules, exhaustive: true };
  } finally {
    await job.close();
  }
}

async function planOf(t: StressTrace): Promise<Plan> {
  if (t.plan) return t.plan;
  const { WORKLOADS } = await import('./workloads.js');
  const { Prng } = await import('../src/prng.js');
  const { traceHint } = await import('./workloads.js');
  return WORKLOADS[t.workload]!.plan(new Prng(`${t.seed}:${t.workload}:${t.iteration}`), t.iteration, traceHint(t));
}

export async function buildReport(files: readonly string[], o: ReportOptions): Promise<{ findings: ReportFinding[]; errors: string[]; md: string; html: string }> {
  const runs = o.runs ?? 20;
  const log = o.log ?? (() => undefined);
  const { findings: rows, errors } = collectFindings(files);
  mkdirSync(o.out, { recursive: true });
  const out: ReportFinding[] = [];
  for (const row of rows) {
    let file = row.minimized ?? row.trace;
    if (!file) { errors.push(`${row.title}: no trace`); continue; }
    let tr = readTrace(file);
    if (!tr.ok) { errors.push(tr.message); continue; }
    let minimized = tr.trace.minimized !== undefined;
    let note: string | undefined;
    if (!minimized && (o.seconds ?? 20) > 0) {
      const dest = file.endsWith('.trace.json') && o.pathBase !== undefined ? file.replace(/\.trace\.json$/, '.min.trace.json') : join(o.out, 'traces', `${row.outcome}-${tr.trace.seed}-${tr.trace.iteration}.min.trace.json`);
      const m = await minimizeTrace(tr.trace, { seconds: o.seconds ?? 20, out: dest });
      if (m.ok && m.verified) { file = dest; const t2 = readTrace(dest); if (t2.ok) { tr = t2; minimized = true; } }
      else note = m.ok ? 'not minimized: the minimized trace did not reproduce under a strict replay, the trace as found is used' : `not minimized: ${m.message}`;
    }
    const t = tr.trace;
    log(`${row.title}: ${file}`);
    const rec = await traceRecord(t);
    const explanation = rec.reproduced ? explainTrace(t, rec.record, rec.steps, rec.detail ? { detail: rec.detail } : {}) : null;
    const text = explanation ? formatExplanation(explanation, t).replace('<this trace>', file) : `(${file} did not reproduce when replayed to record its events)`;
    let reproduced = 0;
    const replayRuns = Math.min(runs, 2);
    for (let k = 0; k < replayRuns; k++) if ((await replayTrace(t, 1)).reproduced) reproduced++;
    const plan = await planOf(t);
    const freeHits = (await countHits(t, plan, t.variant, t.knobs, runs, 'free')).hits;
    let baseline: FixResult | null = null;
    const fixes: FixResult[] = [];
    if (!t.outcome.startsWith('lock-order')) {
      const b = await countHits(t, plan, t.variant, t.knobs, runs, 'random', { steps: t.steps });
      const bb = await boundedSearch(t, plan, t.variant, t.knobs, true, 20_000);
      baseline = { label: 'as found', variant: t.variant, knobs: t.knobs, reproducer: b.reproducer, drift: b.drift, hits: b.hits, runs, bounded: bb, fixes: false };
      for (const c of fixCandidates(t)) {
        const h = await countHits(t, plan, c.variant, c.knobs, runs, 'random', { steps: t.steps });
        const hb = await boundedSearch(t, plan, c.variant, c.knobs, false, 20_000);
        // a fix: the interleaving is still possible under the candidate (followed to the end) and
        // no longer fails, and no random schedule fails either; a candidate under which the
        // interleaving cannot be followed proves nothing by it (drift) unless random runs failed
        // as found and never under the candidate
        // or: the baseline fails within one preemption and no schedule with at most one does here
        const quiet = !h.reproducer && h.hits === 0 && hb.failing === 0;
        const fixed = b.reproducer && quiet && ((h.drift === 0) || b.hits > 0 || (bb.failing > 0 && hb.exhaustive));
        fixes.push({ ...c, reproducer: h.reproducer, drift: h.drift, hits: h.hits, runs, bounded: hb, fixes: fixed });
      }
    } else note = `${note ? `${note}; ` : ''}lockdep reports a cycle once per topology: fix candidates not re-run`;
    out.push({ row, trace: file, minimized, explanation, text, replay: { reproduced, runs: replayRuns }, free: { hits: freeHits, runs }, baseline, fixes, ...(note ? { note } : {}), ...(t.minimized ? { min: t.minimized } : {}) });
  }
  const md = toMarkdown(out, o.pathBase ?? o.out);
  const html = toHtml(out, o.pathBase ?? o.out);
  writeFileSync(join(o.out, 'report.md'), md);
  writeFileSync(join(o.out, 'report.html'), html);
  return { findings: out, errors, md, html };
}

function boundedText(x: FixResult, baseline: boolean): string {
  const b = x.bounded;
  if (baseline) return b.failing > 0 ? `fails at schedule ${b.schedules}` : `none of ${b.schedules}${b.exhaustive ? '' : ' (budget)'}`;
  return `${b.failing} of ${b.schedules}${b.exhaustive ? '' : ' (not exhaustive)'}`;
}

function verdictText(x: FixResult): string {
  return x.fixes ? 'yes' : x.reproducer || x.hits > 0 || x.bounded.failing > 0 ? 'no' : 'inconclusive';
}

function repText(x: FixResult): string {
  return `${x.reproducer ? 'reproduces' : 'does not reproduce'}${x.drift > 0 ? ` (drifted: ${x.drift} step(s) not followed)` : ''}`;
}

function cfg(k: Knobs): string {
  const e = Object.entries(k);
  return e.length ? ` ${e.map(([a, b]) => `${a}=${b}`).join(' ')}` : '';
}

function rel(base: string, f: string): string {
  const r = relative(base, f);
  return r.startsWith('..') ? f : r;
}

export function toMarkdown(fs: readonly ReportFinding[], base: string): string {
  const L: string[] = ['# DCD race report', '', `${fs.length} finding(s), grouped by signature.`, ''];
  for (const f of fs) {
    L.push(`## ${f.row.title}`, '');
    L.push(`* class: **${f.row.class}**${f.explanation?.hazard ? ` (known hazard ${f.explanation.hazard})` : ''}; outcome \`${f.row.outcome}\`; signature \`${f.row.signature}\``);
    L.push(`* seen ${f.row.count}×; first found by schedule \`${f.row.schedule}\`, seed ${f.row.firstSeed}`);
    L.push(`* replay: \`dcd replay ${rel(base, f.trace)}\`${f.minimized ? ' (minimized)' : ''}; explain: \`dcd explain ${rel(base, f.trace)}\``);
    if (f.min) L.push(`* minimized: ${minimizedText(f.min)}`);
    L.push(`* reproduction: controlled replay ${f.replay.reproduced}/${f.replay.runs}; free runs of the same plan ${f.free.hits}/${f.free.runs}`);
    if (f.note) L.push(`* note: ${f.note}`);
    L.push('', '```', f.text, '```', '');
    if (f.baseline) {
      L.push('| configuration | the reproducer\'s interleaving | schedules with ≤ 1 preemption that fail | random schedules that fail | fixes it |', '|---|---|---|---|---|');
      L.push(`| as found (${f.baseline.variant}${cfg(f.baseline.knobs)}) | ${repText(f.baseline)} | ${boundedText(f.baseline, true)} | ${f.baseline.hits} of ${f.baseline.runs} | — |`);
      for (const x of f.fixes) L.push(`| ${x.label} | ${repText(x)} | ${boundedText(x, false)} | ${x.hits} of ${x.runs} | ${x.fixes ? '**yes**' : verdictText(x)} |`);
      L.push('');
    }
  }
  return L.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An SVG sequence diagram: one lifeline per thread, one box per step that matters, the failure last. */
export function sequenceSvg(x: Explanation): string {
  const cols = x.threads;
  const colW = 300;
  const left = 60;
  const rowH = 22;
  const rows: { y: number; col: number; lines: string[]; kind: 'step' | 'switch' | 'fm' }[] = [];
  let y = 70;
  for (const r of x.rows) {
    if (r.thread.startsWith('actor:')) { rows.push({ y, col: -1, lines: [`#${r.step} ${r.fn}`], kind: 'fm' }); y += rowH + 6; continue; }
    const lines = [`#${r.step} ${r.fn}${/[ -]/.test(r.fn) ? '' : '()'}`, ...r.effects.slice(0, 3).map((e) => (e.length > 46 ? `${e.slice(0, 45)}…` : e))];
    if (r.held.length) lines.splice(1, 0, `[${r.held.join(', ')}]`.slice(0, 46));
    rows.push({ y, col: cols.indexOf(r.thread), lines, kind: r.fn.startsWith('--') ? 'switch' : 'step' });
    y += lines.length * 13 + 14;
  }
  const H = y + 60;
  const W = left + Math.max(1, cols.length) * colW + 20;
  const cx = (c: number): number => left + c * colW + colW / 2;
  const p: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(x.title)}">`];
  p.push(`<title>${esc(x.title)}</title>`);
  cols.forEach((c, i) => {
    p.push(`<rect x="${cx(i) - 130}" y="10" width="260" height="26" rx="4" fill="#e8eef8" stroke="#456"/>`);
    p.push(`<text x="${cx(i)}" y="28" text-anchor="middle" font-size="12" font-family="monospace">${esc(c)}</text>`);
    p.push(`<line x1="${cx(i)}" y1="36" x2="${cx(i)}" y2="${H - 50}" stroke="#889" stroke-dasharray="4 3"/>`);
  });
  let prev: { col: number; y: number } | null = null;
  for (const r of rows) {
    const h = r.lines.length * 13 + 8;
    if (r.col < 0) {
      p.push(`<text x="${left - 50}" y="${r.y + 12}" font-size="11" font-family="monospace" fill="#555">${esc(r.lines[0]!)}</text>`);
      continue;
    }
    const x0 = cx(r.col) - 140;
    const fill = r.kind === 'switch' ? '#f4f4f4' : '#fffbe6';
    p.push(`<rect x="${x0}" y="${r.y}" width="280" height="${h}" rx="3" fill="${fill}" stroke="${r.kind === 'switch' ? '#aaa' : '#b90'}"/>`);
    r.lines.forEach((l, i) => p.push(`<text x="${x0 + 6}" y="${r.y + 13 + i * 13}" font-size="10.5" font-family="monospace"${i === 0 ? ' font-weight="bold"' : ''}>${esc(l)}</text>`));
    if (prev && prev.col !== r.col && r.kind !== 'switch') {
      p.push(`<line x1="${cx(prev.col)}" y1="${prev.y}" x2="${cx(r.col)}" y2="${r.y}" stroke="#c33" stroke-width="1" stroke-dasharray="2 2"/>`);
    }
    if (r.kind !== 'switch') prev = { col: r.col, y: r.y + h };
  }
  p.push(`<rect x="10" y="${H - 44}" width="${W - 20}" height="34" rx="4" fill="#fde8e8" stroke="#c33"/>`);
  p.push(`<text x="20" y="${H - 22}" font-size="12" font-family="monospace" fill="#900">${esc(`*** ${x.invariant} broken`)}</text>`);
  p.push('</svg>');
  return p.join('\n');
}

export function toHtml(fs: readonly ReportFinding[], base: string): string {
  const P: string[] = [];
  P.push('<!DOCTYPE html>');
  P.push('<html lang="en">');
  P.push('<head>');
  P.push('<meta charset="utf-8"/>');
  P.push('<title>DCD race report</title>');
  P.push('<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}.fix{color:#070;font-weight:bold}.seq{display:block;margin:1em 0;border:1px solid #ddd}</style>');
  P.push('</head>');
  P.push('<body>');
  P.push('<h1>DCD race report</h1>');
  P.push(`<p>${fs.length} finding(s), grouped by signature.</p>`);
  fs.forEach((f, i) => {
    P.push(`<section class="finding" id="finding-${i}" data-signature="${esc(f.row.signature)}">`);
    P.push(`<h2>${esc(f.row.title)}</h2>`);
    P.push('<ul>');
    P.push(`<li>class: <b>${esc(f.row.class)}</b>${f.explanation?.hazard ? ` (known hazard ${esc(f.explanation.hazard)})` : ''}; outcome <code>${esc(f.row.outcome)}</code>; signature <code>${esc(f.row.signature)}</code></li>`);
    P.push(`<li>seen ${f.row.count}×; first found by schedule <code>${esc(f.row.schedule)}</code>, seed ${esc(f.row.firstSeed)}</li>`);
    P.push(`<li>replay: <code>dcd replay ${esc(rel(base, f.trace))}</code>${f.minimized ? ' (minimized)' : ''}</li>`);
    if (f.min) P.push(`<li>minimized: ${esc(minimizedText(f.min))}</li>`);
    P.push(`<li>reproduction: controlled replay ${f.replay.reproduced}/${f.replay.runs}; free runs of the same plan ${f.free.hits}/${f.free.runs}</li>`);
    if (f.note) P.push(`<li>note: ${esc(f.note)}</li>`);
    P.push('</ul>');
    if (f.explanation) P.push(sequenceSvg(f.explanation));
    P.push(`<pre>${esc(f.text)}</pre>`);
    if (f.baseline) {
      P.push('<table>');
      P.push('<tr><th>configuration</th><th>the reproducer\'s interleaving</th><th>schedules with ≤ 1 preemption that fail</th><th>random schedules that fail</th><th>fixes it</th></tr>');
      P.push(`<tr><td>as found (${esc(`${f.baseline.variant}${cfg(f.baseline.knobs)}`)})</td><td>${esc(repText(f.baseline))}</td><td>${esc(boundedText(f.baseline, true))}</td><td>${f.baseline.hits} of ${f.baseline.runs}</td><td>—</td></tr>`);
      for (const x of f.fixes) P.push(`<tr><td>${esc(x.label)}</td><td>${esc(repText(x))}</td><td>${esc(boundedText(x, false))}</td><td>${x.hits} of ${x.runs}</td><td${x.fixes ? ' class="fix"' : ''}>${verdictText(x)}</td></tr>`);
      P.push('</table>');
    }
    P.push('</section>');
  });
  P.push('</body>');
  P.push('</html>');
  return `${P.join('\n')}\n`;
}
