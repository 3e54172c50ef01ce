/** DOC: `dcd explain TRACE` — the failing interleaving in kernel terms (stress/explain.ts); exit 0, 1 not reproduced on re-record, 2 bad input. */
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { readTrace } from '../../stress/trace.js';
import { WORKLOADS } from '../../stress/workloads.js';
import { explainTrace, formatExplanation, traceRecord } from '../../stress/explain.js';

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'explain') return EXIT.usage;
  const t = readTrace(a.trace);
  if (!t.ok) {
    io.err(`dcd explain: ${t.message}`);
    return EXIT.usage;
  }
  if (!WORKLOADS[t.trace.workload]) {
    io.err(`dcd explain: ${a.trace}: unknown workload "${t.trace.workload}"`);
    return EXIT.usage;
  }
  const r = await traceRecord(t.trace, a.replay);
  if (r.replayed && !r.reproduced) {
    io.err(`dcd explain: ${a.trace}: replaying it to record its events did not reproduce ${t.trace.outcome}; nothing to explain`);
    return EXIT.failed;
  }
  const x = explainTrace(t.trace, r.record, r.steps, r.detail ? { detail: r.detail } : {});
  if (a.json) io.out(JSON.stringify(x, null, 1));
  else {
    io.out(formatExplanation(x, t.trace).replace('<this trace>', a.trace));
    if (r.replayed) io.out(`(${a.trace} carried no event record: it was replayed under the controlled scheduler to record one)`);
  }
  return EXIT.ok;
}
