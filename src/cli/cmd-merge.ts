/** DOC: `dcd merge FILES...` — combine sharded `dcd stress` JSON results into one table. */
import { readFileSync } from 'node:fs';
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { isSummary, mergeSummaries } from '../../stress/merge.js';
import { formatTable } from './cmd-stress.js';
import type { StressSummary } from '../../stress/runner.js';

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'merge') return EXIT.usage;
  const parts: StressSummary[] = [];
  for (const f of a.files) {
    let j: unknown;
    try {
      j = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      io.err(`dcd merge: ${f}: ${(e as Error).message}`);
      return EXIT.usage;
    }
    if (!isSummary(j)) {
      io.err(`dcd merge: ${f}: not a dcd stress result (needs iterations, outcomes, workload)`);
      return EXIT.usage;
    }
    parts.push(j);
  }
  const m = mergeSummaries(parts);
  io.out(a.json ? JSON.stringify(m, null, 1) : formatTable(m));
  return m.forbidden > 0 ? EXIT.failed : EXIT.ok;
}
