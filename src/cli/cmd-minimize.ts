/** DOC: `dcd minimize TRACE` — shrink a failing trace (stress/minimize.ts); exit 0 written, 1 the trace does not reproduce, 2 bad input. */
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { readTrace } from '../../stress/trace.js';
import { WORKLOADS } from '../../stress/workloads.js';
import { formatMinimize, minimizeTrace } from '../../stress/minimize.js';

export function minimizedName(file: string): string {
  return file.replace(/(\.min)?(\.trace)?\.json$/, '') + '.min.trace.json';
}

export async function run(a: ParsedArgs, io: CliIo): Promise<number> {
  if (a.kind !== 'minimize') return EXIT.usage;
  const t = readTrace(a.trace);
  if (!t.ok) {
    io.err(`dcd minimize: ${t.message}`);
    return EXIT.usage;
  }
  if (!WORKLOADS[t.trace.workload]) {
    io.err(`dcd minimize: ${a.trace}: unknown workload "${t.trace.workload}"`);
    return EXIT.usage;
  }
  const out = a.out ?? minimizedName(a.trace);
  const r = await minimizeTrace(t.trace, { seconds: a.seconds ?? 60, out, ...(a.json ? {} : { log: (l: string) => io.err(`  ${l}`) }) });
  if (a.json) {
    const { trace: _t, ...rest } = r;
    io.out(JSON.stringify(rest, null, 1));
  } else if (!r.ok) io.err(`dcd minimize: ${a.trace}: ${r.message}`);
  else io.out(`minimize ${a.trace}: ${t.trace.outcome}\n${formatMinimize(r)}`);
  return r.ok ? EXIT.ok : EXIT.failed;
}
