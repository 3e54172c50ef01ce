/**
 * DOC: `dcd bench` — event-throughput and latency benchmark (README.md, §7).
 *
 * Runs the pipeline benchmark of bench/pipeline.ts: the matrix of chain length × tagged × memdevs
 * × device × variant (reduced with `--quick`), the ring and postMessage baselines and the memory
 * measurement, all in one run. Prints a table (or the JSON with `--json`) and writes
 * `bench.json` and `bench.svg` into `--out DIR` (default `bench-out/`).
 *
 * `--device` restricts the devices (qemu or cxl-test; the hostile device lies on purpose, so there
 * is no pipeline to time); `--variant` / `--knob` replace the default variants (v11 and
 * v11 + group-lock=per-extent) with the one given. `--device-latency US` (repeatable) runs every
 * cell at each modelled device mailbox latency (src/device/service.ts); each cell is printed beside
 * its protocol ceiling (bench/workers/ceiling.ts); without --knob/--variant it runs the design
 * variants (v11, release-batch=group, group-lock=per-extent) and prints design × latency. Exit code 0, or 1 when the run could not be
 * completed, 2 on bad input.
 */
import { EXIT, type ParsedArgs } from './args.js';
import type { CliIo } from './main.js';
import { DEFAULT_VARIANTS, DESIGN_VARIANTS, formatReport, runBench, variantLabel, writeOutputs, type BenchDevice, type BenchOptions, type VariantSpec } from '../../bench/pipeline.js';

export async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.kind !== 'bench') throw new Error('cmd-bench: not a bench command');
  if (args.device === 'hostile' || args.device === 'qemu-tag-rfc') {
    io.err(`dcd bench: --device ${args.device} is not benchmarked (hostile lies on purpose; qemu-tag-rfc differs from qemu only in tags); bench --device qemu or --device cxl-test`);
    return EXIT.usage;
  }
  const devices: BenchDevice[] | undefined = args.device ? [args.device] : undefined;
  let variants: VariantSpec[] | undefined;
  if (args.variant !== undefined || Object.keys(args.knobs).length > 0) {
    const variant = args.variant ?? 'v11';
    variants = [{ label: variantLabel(variant, args.knobs), variant, knobs: args.knobs }];
  } else if (args.deviceLatenciesUs) {
    variants = DESIGN_VARIANTS; // the design table: v11 and the not-v11 alternatives at each latency
  } else if (!args.quick) {
    variants = DEFAULT_VARIANTS;
  }
  const tty = process.stderr.isTTY === true;
  const opts: BenchOptions = {
    quick: args.quick,
    ...(devices ? { devices } : {}),
    ...(variants ? { variants } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.chains ? { chains: args.chains } : {}),
    ...(args.memdevs ? { memdevs: args.memdevs } : {}),
    ...(args.tagged ? { tagged: args.tagged } : {}),
    ...(args.durationMs !== undefined ? { durationMs: args.durationMs } : {}),
    ...(args.deviceLatenciesUs ? { deviceLatenciesUs: args.deviceLatenciesUs } : {}),
    ...(args.cellsOnly ? { skipBaselines: true, memoryEvents: 0 } : {}),
    progress: tty ? (line) => io.err(line) : () => undefined,
  };
  if (!tty && !args.json) io.err(`dcd bench: running the ${args.quick ? 'quick' : 'full'} matrix (this takes ${args.quick ? 'under a minute' : 'several minutes'}) …`);
  let report;
  try {
    report = await runBench(opts);
  } catch (e) {
    io.err(`dcd bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return EXIT.failed;
  }
  const files = writeOutputs(report, args.out ?? 'bench-out');
  if (args.json) {
    io.out(JSON.stringify(report, null, 2));
    io.err(`wrote ${files.json} and ${files.svg}${files.designSvg ? ` and ${files.designSvg}` : ''}`);
  } else {
    io.out(formatReport(report));
    io.out(`wrote ${files.json} and ${files.svg}${files.designSvg ? ` and ${files.designSvg}` : ''}`);
  }
  return EXIT.ok;
}
