/**
 * `npm run bench:pipeline -- [flags]` — `dcd bench [flags]` from the TypeScript sources (no build
 * needed): the same command, flags and outputs (src/cli/cmd-bench.ts, bench/pipeline.ts).
 */
import { runCli } from '../src/cli/main.js';

process.exitCode = await runCli(['bench', ...process.argv.slice(2)]);
