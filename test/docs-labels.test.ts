// Every label the checkers print is defined in a shipped doc (docs/kernel-map.md), and the shipped
// docs cite no file outside the repository. Reads the outcome table the runner counts by
// (stress/checkers/outcomes.ts) rather than a copy of it, so a new outcome without a glossary
// row, or a hazard name without its anchor, fails here.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OUTCOMES } from '../stress/checkers/outcomes.js';

const root = join(import.meta.dirname, '..');
const kernelMap = readFileSync(join(root, 'docs/kernel-map.md'), 'utf8');
const anchors = new Set([...kernelMap.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!));

t.test('every outcome has a glossary row with its anchor', (t) => {
  const names = Object.keys(OUTCOMES);
  t.ok(names.length > 40, `${names.length} outcomes read from the table`);
  const missing = names.filter((n) => !anchors.has(`outcome-${n}`));
  t.same(missing, [], 'outcomes without an `outcome-<name>` anchor in docs/kernel-map.md');
  const stale = [...anchors].filter((a) => a.startsWith('outcome-') && !(a.slice('outcome-'.length) in OUTCOMES));
  t.same(stale, [], 'glossary rows for outcomes the checkers no longer have');
  t.end();
});

t.test('every hazard an outcome maps to is defined', (t) => {
  const hazards = new Set<string>();
  for (const spec of Object.values(OUTCOMES)) for (const m of (spec.hazard ?? '').matchAll(/\bH(\d+)\b/g)) hazards.add(`h${m[1]}`);
  t.ok(hazards.size >= 8, `${hazards.size} hazard names used by outcomes`);
  t.same([...hazards].filter((h) => !anchors.has(h)).sort(), [], 'hazards without an anchor in docs/kernel-map.md');
  t.end();
});

t.test('README and docs cite nothing outside the repository', (t) => {
  const files = ['README.md', 'CHANGELOG.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const outside = /\.\.\/shared\/|\b(host-kernel|device-reference|product|style-anchors)\.md\b/;
  const bad: string[] = [];
  for (const f of files) {
    readFileSync(join(root, f), 'utf8').split('\n').forEach((line, i) => { if (outside.test(line)) bad.push(`${f}:${i + 1}: ${line.trim().slice(0, 100)}`); });
  }
  t.same(bad, [], `${files.length} files checked`);
  t.end();
});
