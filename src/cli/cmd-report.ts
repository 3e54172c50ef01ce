/** DOC: `dcd report FILES...` — Markdown + HTML report of stress results and traces (stress/report.ts); exit 0, 1 nothing to report, 2 bad input. */
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { buildReport } from '../../stress/report.js';
import { join } from 'node:path';

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'report') return EXIT.usage;
  const out = a.out ?? 'report';
  const r = await buildReport(a.files, { out, ...(a.runs !== undefined ? { runs: a.runs } : {}), ...(a.seconds !== undefined ? { seconds: a.seconds } : {}), log: (s) => io.err(`  ${s}`) });
  if (r.errors.length && r.findings.length === 0) {
    for (const e of r.errors) io.err(`dcd report: ${e}`);
    return EXIT.usage;
  }
  for (const e of r.errors) io.err(`dcd report: ${e}`);
  if (a.json) io.out(JSON.stringify(r.findings.map(({ text: _t, ...f }) => f), null, 1));
  else {
    for (const f of r.findings) {
      io.out(`${f.row.title}  [${f.row.class}]  replay ${f.replay.reproduced}/${f.replay.runs}, free ${f.free.hits}/${f.free.runs}${f.fixes.length ? `; ${f.fixes.map((x) => `${x.label}: ${x.reproducer ? 'reproducer fails' : 'reproducer passes'}, ${x.hits} of ${x.runs}${x.fixes ? ' (fixes it)' : ''}`).join(', ')}` : ''}`);
    }
    io.out(`wrote ${join(out, 'report.md')} and ${join(out, 'report.html')}`);
  }
  return r.findings.length > 0 ? EXIT.ok : EXIT.failed;
}
