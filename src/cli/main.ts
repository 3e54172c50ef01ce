/**
 * DOC: the `dcd` command — parse, dispatch, exit code (README.md).
 * 0 all held / nothing forbidden; 1 an expectation, invariant or reproduction failed; 2 bad input.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT, parseArgs, type ParsedArgs } from './args.js';
import { help } from './help.js';
import { formatState } from './format.js';
import { advanceClockSteps, parseScenario } from '../scenario/validate.js';
import { runScenario, type RunResult } from '../runtime/scenario-runner.js';
import { toPerfetto } from '../runtime/perfetto.js';
import type { Checker } from '../runtime/system.js';

type Out = (s: string) => void;

export interface CliIo {
  out: Out;
  err: Out;
}

const defaultIo: CliIo = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

function packageVersion(): string {
  try {
    const p = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    if (p.version) return p.version;
  } catch { /* from sources the path differs */ }
  try {
    const p = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return p.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Where the standard checkers live: `stress/checkers/` (apart from production code, which never
 * imports them), compiled to `dist/stress/checkers/` and shipped in the package. Loaded lazily so
 * that `dcd --help` and the other commands do not pay for them.
 */
export const CHECKERS_MODULE = new URL('../../stress/checkers/index.js', import.meta.url);

export type CheckerLoad = { ok: true; checkers: Checker[] } | { ok: false; error: string };

/**
 * Load the standard checkers. A missing module, one that throws while loading, one without
 * `standardCheckers()` or one that yields no checker is an error: `dcd run` must never report a
 * clean run that checked no invariant.
 */
export async function loadStandardCheckers(module: URL = CHECKERS_MODULE): Promise<CheckerLoad> {
  const where = module.protocol === 'file:' ? fileURLToPath(module) : module.href;
  let mod: { standardCheckers?: unknown };
  try {
    mod = (await import(module.href)) as { standardCheckers?: unknown };
  } catch (e) {
    // "not found" only when the module itself is absent; a module of theirs that is missing is a broken install
    const absent = module.protocol === 'file:' && !existsSync(where) && !existsSync(where.replace(/\.js$/, '.ts'));
    const why = absent ? 'not found' : `failed to load: ${(e as Error).message}`;
    return { ok: false, error: `the invariant checkers ${where} ${why}` };
  }
  if (typeof mod.standardCheckers !== 'function') return { ok: false, error: `the invariant checkers ${where} export no standardCheckers()` };
  let checkers: unknown;
  try {
    checkers = (mod.standardCheckers as () => unknown)();
  } catch (e) {
    return { ok: false, error: `the invariant checkers ${where}: standardCheckers() threw: ${(e as Error).message}` };
  }
  if (!Array.isArray(checkers) || checkers.length === 0) return { ok: false, error: `the invariant checkers ${where}: standardCheckers() returned no checker` };
  return { ok: true, checkers: checkers as Checker[] };
}

export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const args = parseArgs(argv);
  switch (args.kind) {
    case 'usage-error':
      io.err(`dcd: ${args.message}`);
      io.err(`Run 'dcd ${args.command ? `${args.command} ` : ''}--help' for usage.`);
      return EXIT.usage;
    case 'help':
      io.out(await help(args.topic));
      return EXIT.ok;
    case 'version':
      io.out(`dcd ${packageVersion()}`);
      return EXIT.ok;
    case 'run':
      return cmdRun(args, io);
    case 'demo':
      return cmdDemo(io);
    case 'stress':
    case 'replay':
    case 'merge':
    case 'explain':
    case 'minimize':
    case 'report':
    case 'bench': {
      // stress, replay and merge import the checkers (stress/checkers) statically: a missing or
      // broken module is a broken install, reported like dcd run's, never a crash or a clean run
      let mod: { run: (a: ParsedArgs, io: CliIo) => Promise<number> };
      try {
        mod = (await import(`./cmd-${args.kind}.js`)) as typeof mod;
      } catch (e) {
        io.err(`dcd ${args.kind}: its modules failed to load: ${(e as Error).message}`);
        return EXIT.usage;
      }
      return mod.run(args, io);
    }
  }
}

function printResult(r: RunResult, json: boolean, io: CliIo): void {
  if (json) {
    io.out(JSON.stringify({ ok: r.ok, failures: r.failures, steps: r.steps, interleavings: r.interleavings, state: r.state }, null, 2));
    return;
  }
  for (const s of r.steps) {
    const mark = s.ok ? 'ok  ' : 'FAIL';
    const what = s.expect ? s.expect.message : `${s.op}${s.errno ? ` (${s.errno})` : ''}${!s.ok && s.message ? ` — ${s.message}` : ''}`;
    io.out(`${mark} ${s.path} ${what}`);
  }
  for (const i of r.interleavings) io.out(`interleaving ${i.path}: ${i.order}`);
  io.out('');
  io.out(formatState(r.state));
  if (r.failures.length) {
    io.out('');
    io.out(`FAILED (${r.failures.length}):`);
    for (const f of r.failures) io.out(`  ${f}`);
  } else {
    io.out('');
    io.out(`all ${r.steps.length} steps held`);
  }
}

async function cmdRun(args: Extract<ParsedArgs, { kind: 'run' }>, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = readFileSync(args.file, 'utf8');
  } catch (e) {
    io.err(`dcd run: cannot read ${args.file}: ${(e as Error).message}`);
    return EXIT.usage;
  }
  const parsed = parseScenario(text, args.file);
  if (!parsed.ok) {
    io.err(`dcd run: ${args.file} is not a valid scenario (${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'}):`);
    for (const e of parsed.errors) io.err(`  ${e.path}: ${e.message}`);
    return EXIT.usage;
  }
  if (args.clock === 'real') {
    const at = advanceClockSteps(parsed.scenario.steps, '$.steps');
    if (at.length > 0) {
      io.err(`dcd run: --clock real, but ${args.file} advances the clock (${at.join(', ')}): advance-clock needs the virtual clock`);
      return EXIT.usage;
    }
  }
  const loaded = await loadStandardCheckers();
  if (!loaded.ok) {
    io.err(`dcd run: ${loaded.error}; refusing to run ${args.file} without its invariant checks`);
    return EXIT.usage;
  }
  const checkers = loaded.checkers;
  const result = await runScenario(parsed.scenario, {
    ...(args.variant ? { variant: args.variant } : {}),
    knobs: args.knobs,
    ...(args.device ? { device: args.device } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.clock ? { clock: args.clock } : {}),
    ...(args.deviceLatencyUs !== undefined ? { deviceLatencyUs: args.deviceLatencyUs } : {}),
    traceLocks: args.trace !== undefined,
    checkers,
    ...(args.trace ? { onTrace: (events: Parameters<typeof toPerfetto>[0], names: (slot: number) => string) => { writeFileSync(args.trace!, JSON.stringify(toPerfetto(events, names))); } } : {}),
  });
  printResult(result, args.json, io);
  if (args.trace && !args.json) io.out(`trace written to ${args.trace} (open in ui.perfetto.dev)`);
  return result.exitCode;
}

async function cmdDemo(io: CliIo): Promise<number> {
  const file = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../scenarios/tour.json' : '../../../scenarios/tour.json', import.meta.url));
  io.out(`dcd demo: running ${file} on the real worker topology (device, event-thread, workqueue, dax-bus, user workers)`);
  const code = await cmdRun({ kind: 'run', file, json: false, knobs: {} }, io);
  // the stress half of the demo ships with the package: a failure to load it is an error, not a skip
  const mod = (await import('./cmd-stress.js')) as { demoSummary: (io: CliIo) => Promise<number> };
  io.out('');
  const s = await mod.demoSummary(io);
  return code || s;
}
