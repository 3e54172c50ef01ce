// docs/findings/ for H23 and H24 (stress/findings.ts rows, stress/findings-workloads.ts workloads),
// and `--only`: regenerating named hazards leaves every other page, trace and index row as the
// last full run wrote it (so adding a hazard does not churn the others).
import t from 'tap';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { HAZARDS, generateFindings, indexHazards } from '../stress/findings.js';
import { WORKLOADS } from '../stress/workloads.js';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';

const ROOT = join(import.meta.dirname, '..');
const DOCS = join(ROOT, 'docs', 'findings');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p)); else out.push(p);
  }
  return out;
}

t.test('every findings row names a registered workload, and H23/H24 their tests', (t) => {
  for (const h of HAZARDS) t.ok(WORKLOADS[h.workload], `${h.id}: workload ${h.workload} is registered`);
  for (const id of ['H23', 'H24']) {
    const h = HAZARDS.find((x) => x.id === id);
    t.ok(h, `${id} has a row`);
    t.ok(h?.test && existsSync(join(ROOT, h.test)), `${id}'s test reference exists (${h?.test})`);
  }
  t.end();
});

t.test('the committed index: H23 and H24 reproduced, each with its page and a minimized trace', (t) => {
  const idx = indexHazards(readFileSync(join(DOCS, 'README.md'), 'utf8'));
  t.same([...idx.keys()], HAZARDS.map((h) => h.id), 'one row per hazard, in the rows\' order');
  for (const id of ['H23', 'H24']) {
    const e = idx.get(id);
    t.ok(e, `${id} reproduced: ${e?.title}`);
    if (!e) continue;
    t.ok(existsSync(join(DOCS, id, 'report.md')) && existsSync(join(DOCS, id, 'report.html')), `${id}'s report pages`);
    t.ok(existsSync(join(DOCS, 'traces', e.trace)), `${id}'s trace ${e.trace}`);
    const tr = readTrace(join(DOCS, 'traces', e.trace));
    t.ok(tr.ok && tr.trace.minimized && tr.trace.plan?.setup.some((o) => o.op === 'wait-idle'), `${id}'s trace is minimized and keeps its setup's wait-idles`);
  }
  t.end();
});

t.test('--only H24 on a copy: the H24 page and row are regenerated, nothing else changes', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'dcd-findings-only-')), 'findings');
  cpSync(DOCS, out, { recursive: true });
  await t.rejects(generateFindings(out, 2, () => undefined, ['H99']), /--only: no hazard H99/, 'an unknown id is refused, naming it');
  const t0 = performance.now();
  const lines: string[] = [];
  await generateFindings(out, 2, (s) => lines.push(s), ['H24']);
  t.comment(`--only H24: ${lines.join('; ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // pages: only H24's and the assumption pages citing H24 may differ
  const mayChange = new Set(['README.md', 'dax-group-atomic.md', 'serial-event-handling.md']);
  const changed: string[] = [];
  for (const f of files(DOCS)) {
    const rel = relative(DOCS, f);
    if (rel.startsWith('H24/') || rel.startsWith('traces/claim-vs-teardown-')) continue;
    const copy = join(out, rel);
    if (!existsSync(copy)) { changed.push(`${rel} (removed)`); continue; }
    if (!mayChange.has(rel) && !readFileSync(copy).equals(readFileSync(f))) changed.push(rel);
  }
  t.same(changed, [], 'every other page and trace is byte-identical');
  const a = readFileSync(join(DOCS, 'README.md'), 'utf8').split('\n');
  const b = readFileSync(join(out, 'README.md'), 'utf8').split('\n');
  t.equal(b.length, a.length, 'the index has as many lines');
  const diff = a.map((l, k) => (l === b[k] ? null : k)).filter((k): k is number => k !== null);
  const kinds = diff.map((k) => (b[k]!.startsWith('| [H24]') ? 'H24' : b[k]!.startsWith('Generated in ') ? 'generated' : /^\| (DCD events|Per-tag-group)/.test(b[k]!) ? 'assumption' : `line ${k}: ${b[k]}`));
  t.ok(kinds.every((k) => ['H24', 'generated', 'assumption'].includes(k)), `only H24's row, the two assumptions citing it and the note differ (${kinds.join(', ')})`);
  t.ok(a.findIndex((l) => l.startsWith('| [H24]')) === b.findIndex((l) => l.startsWith('| [H24]')), 'H24\'s row stays where it was');
  const e = indexHazards(b.join('\n')).get('H24');
  t.ok(e && existsSync(join(out, 'traces', e.trace)), `the new row names a trace that exists (${e?.trace})`);
  if (!e) return;
  const tr = readTrace(join(out, 'traces', e.trace));
  if (!tr.ok) throw new Error(tr.message);
  const r = await replayTrace(tr.trace, 1);
  t.ok(r.reproduced && r.sameSteps, `it replays step for step (${r.steps} steps, ${r.outcomes.join(', ')})`);
  t.ok(b.some((l) => l.includes('regenerated alone (`--only H24`)')), 'the index says what was regenerated alone');
});
