/**
 * DOC: `dcd` argument parsing (README.md) — argv in, a typed command or a usage error out.
 *
 * Pure: no I/O, no process.exit. The caller prints `USAGE[...]` and exits with `EXIT.*`.
 * Every malformed input becomes `{kind: 'usage-error', message}` naming the flag or argument at
 * fault, because a CI sweep that silently ran with a default seed or an ignored knob would report
 * results for a configuration nobody asked for. For the same reason a single-valued flag given
 * twice is an error rather than "last one wins". Knob names and values go through the same
 * `KNOWN_KNOBS` table as scenario files.
 *
 * Decisions where README.md is silent: `--flag=value` and `--flag value` are both accepted;
 * `--` ends flags; `--shard i/n` is 1-based (1 ≤ i ≤ n, like jest/playwright); `--seconds`
 * accepts a positive decimal number; `--noise` is a boolean switch (seeded scheduling noise);
 * `--variant/--knob/--device/--seed` apply to run, stress and bench, not to replay (a trace
 * carries the configuration it must reproduce) nor merge.
 */

import { parseKnob } from '../scenario/knobs.js';
import type { Clock, Device, Knobs, Variant } from '../scenario/types.js';
import { CLOCKS, DEVICES, VARIANTS } from '../scenario/types.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const SUBCOMMANDS = ['run', 'stress', 'replay', 'bench', 'merge', 'demo', 'help', 'explain', 'minimize', 'report'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export interface HostOptions {
  variant?: Variant;
  /** only the knobs given, in normalised form */
  knobs: Knobs;
  device?: Device;
  seed?: number;
}

export type Schedule = { kind: 'free' } | { kind: 'random' } | { kind: 'pct'; depth: number };

export type ParsedArgs =
  | ({ kind: 'run'; file: string; json: boolean; trace?: string; clock?: Clock; /** modelled mailbox latency, µs per command (overrides the topology's) */ deviceLatencyUs?: number } & HostOptions)
  | ({
      kind: 'stress';
      workload?: string;
      seconds?: number;
      iterations?: number;
      schedule: Schedule;
      jobs?: number;
      /** 1-based */
      shard?: { index: number; count: number };
      out?: string;
      json: boolean;
      noise: boolean;
      /** minimize each new finding for at most this many seconds (stress/minimize.ts) */
      minimize?: number;
    } & HostOptions)
  | { kind: 'replay'; trace: string; json: boolean; timeline?: string }
  | { kind: 'explain'; trace: string; json: boolean; replay: boolean }
  | { kind: 'minimize'; trace: string; json: boolean; out?: string; seconds?: number }
  | { kind: 'report'; files: string[]; json: boolean; out?: string; runs?: number; seconds?: number }
  | ({
      kind: 'bench';
      json: boolean;
      out?: string;
      quick: boolean;
      /** cell selection: only these chain lengths / memdev counts / tagging */
      chains?: number[];
      memdevs?: number[];
      tagged?: boolean[];
      /** pipeline cells only: skip the ring/postMessage baselines and the memory run */
      cellsOnly?: boolean;
      /** measurement window, ms */
      durationMs?: number;
      /** modelled device mailbox latencies, µs per command: one set of cells per value */
      deviceLatenciesUs?: number[];
    } & HostOptions)
  | { kind: 'merge'; files: string[]; json: boolean }
  | { kind: 'demo' }
  | { kind: 'help'; topic?: Exclude<Subcommand, 'help'> }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string; command?: Subcommand };

const HOST_FLAGS = `  --variant NAME      host variant: ${VARIANTS.join(', ')} (default v11)
  --knob NAME=VALUE   flip one assumption (repeatable), e.g. tag-lock=off,
                      group-lock=per-extent, parallel-event-handlers=2
  --device NAME       device personality: ${DEVICES.join(', ')}
  --seed N            seed (non-negative integer, decimal or 0x hex)`;

export const USAGE: Record<'global' | Exclude<Subcommand, 'help'>, string> = {
  global: `usage: dcd <command> [options]

commands:
  run FILE.json   run a scenario; print the final state and every expectation
  stress          concurrent actors over seeds; invariant checks; outcome table
  replay TRACE    re-execute a recorded failure deterministically
  bench           event-throughput and latency benchmark
  merge FILES...  merge stress results (JSON) from shards
  explain TRACE   the failing interleaving in kernel terms (threads side by side)
  minimize TRACE  shrink a failing trace (plan, then preemptions) and write it
  report FILES... Markdown + HTML report of stress results / traces
  demo            a short guided run
  help [COMMAND]  this text, or a command's

options: --help, -h, --version
exit codes: 0 ok, 1 an expectation/invariant failed or a forbidden outcome, 2 bad input`,
  run: `usage: dcd run FILE.json [options]

  --json              print the final state and results as JSON
  --trace FILE        write a Chrome/Perfetto trace (one track per thread)
${HOST_FLAGS}
  --clock real|virtual  override the scenario's clock
  --device-latency US   modelled mailbox latency per command, µs (overrides topology.deviceLatencyUs)`,
  stress: `usage: dcd stress [options]

  --workload NAME     workload to run
  --seconds S         run for S seconds (not with --iterations)
  --iterations N      run N iterations (not with --seconds)
  --schedule S        free | random | pct:depth=D
  --jobs J            parallel jobs
  --shard i/n         run shard i of n (1-based) of the seed space
  --out DIR           traces and results
  --json              JSON results {iterations, forbidden, outcomes}
  --noise             seeded scheduling noise at lock points
  --minimize S        minimize each new finding (signature) for at most S seconds
${HOST_FLAGS}`,
  replay: `usage: dcd replay TRACE [--json] [--trace OUT]

  re-executes a recorded failure; exit 0 if the same violation reproduces, 1 if not
  --trace OUT          write the replayed run as a Perfetto trace: kernel-function slices nested
                       in their paths (add, release, probe, claims, teardown), lock holds beside`,
  bench: `usage: dcd bench [options]

  --json              JSON results
  --out DIR           where to write JSON and the SVG chart
  --quick             a short run (CI smoke)
  --chain N           only chain length N (repeatable): 1, 8, 100, …
  --memdevs N         only N memdevs (repeatable)
  --tagged yes|no     only tagged (yes) or untagged (no) chains
  --cells-only        skip the baselines and the memory run (one cell in seconds)
  --duration-ms MS    measurement window of each cell
  --device-latency US modelled mailbox latency per command, µs (repeatable: one set of cells each)
${HOST_FLAGS}`,
  merge: `usage: dcd merge FILES... [--json]

  merges the JSON results of sharded \`dcd stress --shard i/n --json\` runs`,
  explain: `usage: dcd explain TRACE [--json] [--replay]

  prints the failing interleaving as kernel developers read it: one column per racing thread,
  each step named by the kernel function it models with the locks held, the shared state it
  changed (old → new), objects by their sysfs names, and the invariant that broke
  --replay             re-record the trace by replaying it (traces without a record are replayed anyway)`,
  minimize: `usage: dcd minimize TRACE [--out FILE] [--seconds S] [--json]

  delta-debugs the plan (actors, ops, records), then searches schedules from zero preemptions
  upward, verifying every candidate by replay against the same outcome signature; writes the
  minimized trace (default: TRACE with .min.trace.json) and prints steps, ops and preemptions
  before and after; exit 0 minimized (or already minimal), 1 the trace does not reproduce
  --seconds S          time budget (default 60)`,
  report: `usage: dcd report FILES... [--out DIR] [--runs N] [--seconds S] [--json]

  FILES are dcd stress results (JSON) or traces; writes DIR/report.md and DIR/report.html (an SVG
  sequence diagram per finding): title, class, the minimized interleaving, the replay command,
  reproduction statistics and which fix candidates (knobs, variants) make the finding go away
  --out DIR            where to write (default report/)
  --runs N             re-runs per statistic (default 20)
  --seconds S          minimization budget per finding (default 20; 0 = do not minimize)`,
  demo: `usage: dcd demo

  runs a short guided scenario and explains what happened`,
};

interface FlagSpec { value: boolean; repeatable?: boolean }

const HOST: Record<string, FlagSpec> = {
  variant: { value: true }, knob: { value: true, repeatable: true }, device: { value: true }, seed: { value: true },
};

const FLAGS: Record<Exclude<Subcommand, 'help'>, Record<string, FlagSpec>> = {
  run: { json: { value: false }, trace: { value: true }, clock: { value: true }, ...HOST, 'device-latency': { value: true } },
  stress: {
    workload: { value: true }, seconds: { value: true }, iterations: { value: true }, schedule: { value: true },
    jobs: { value: true }, shard: { value: true }, out: { value: true }, json: { value: false }, noise: { value: false }, minimize: { value: true }, ...HOST,
  },
  replay: { json: { value: false }, trace: { value: true } },
  explain: { json: { value: false }, replay: { value: false } },
  minimize: { json: { value: false }, out: { value: true }, seconds: { value: true } },
  report: { json: { value: false }, out: { value: true }, runs: { value: true }, seconds: { value: true } },
  bench: {
    json: { value: false }, out: { value: true }, quick: { value: false }, chain: { value: true, repeatable: true },
    memdevs: { value: true, repeatable: true }, tagged: { value: true }, 'cells-only': { value: false }, 'duration-ms': { value: true }, ...HOST, 'device-latency': { value: true, repeatable: true },
  },
  merge: { json: { value: false } },
  demo: {},
};

class UsageError {
  constructor(readonly message: string) {}
}

function usage(message: string): never {
  throw new UsageError(message);
}

function isSubcommand(s: string): s is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(s);
}

function posInt(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) usage(`--${flag} expects a positive integer, got "${v}"`);
  return Number(v);
}

function posSeconds(flag: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) usage(`--${flag} expects a positive number of seconds, got "${v}"`);
  return Number(v);
}

function parseSeed(v: string): number {
  if (/^\d+$/.test(v) || /^0x[0-9a-f]+$/i.test(v)) {
    const n = BigInt(v);
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(n);
  }
  return usage(`--seed expects a non-negative integer (decimal or 0x hex, at most 2^53-1), got "${v}"`);
}

function parseSchedule(v: string): Schedule {
  if (v === 'free' || v === 'random') return { kind: v };
  const m = /^pct:depth=(\d+)$/.exec(v);
  if (m && Number(m[1]) >= 1) return { kind: 'pct', depth: Number(m[1]) };
  return usage(`--schedule expects free, random or pct:depth=D (D ≥ 1), got "${v}"`);
}

function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) usage(`--shard expects i/n with 1 ≤ i ≤ n (e.g. 1/4), got "${v}"`);
  return { index, count };
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  return usage(`--${flag} expects one of ${allowed.join(', ')}, got "${v}"`);
}

/** Split argv into flags (with values) and positionals, per the subcommand's flag table. */
function scan(cmd: Exclude<Subcommand, 'help'>, argv: readonly string[]): { flags: Map<string, string[]>; positionals: string[] } {
  const table = FLAGS[cmd];
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-') { positionals.push(a); continue; }
    if (!a.startsWith('--')) usage(`unknown flag "${a}" for dcd ${cmd}; see dcd ${cmd} --help`);
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const spec = table[name];
    if (spec === undefined) {
      const known = Object.keys(table).map((f) => '--' + f).join(' ');
      usage(`unknown flag "--${name}" for dcd ${cmd}; ${known === '' ? 'it takes no flags' : `known: ${known}`}`);
    }
    let value: string;
    if (!spec.value) {
      if (eq >= 0) usage(`--${name} takes no value, got "${a}"`);
      value = '';
    } else if (eq >= 0) {
      value = a.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) usage(`--${name} needs a value`);
      value = next;
      i++;
    }
    const prev = flags.get(name) ?? [];
    if (prev.length > 0 && spec.repeatable !== true) usage(`--${name} given more than once`);
    flags.set(name, [...prev, value]);
  }
  return { flags, positionals };
}

function hostOptions(flags: Map<string, string[]>): HostOptions {
  const out: HostOptions = { knobs: {} };
  const variant = flags.get('variant')?.[0];
  if (variant !== undefined) out.variant = oneOf('variant', variant, VARIANTS);
  const device = flags.get('device')?.[0];
  if (device !== undefined) out.device = oneOf('device', device, DEVICES);
  const seed = flags.get('seed')?.[0];
  if (seed !== undefined) out.seed = parseSeed(seed);
  const knobs: Record<string, unknown> = {};
  for (const kv of flags.get('knob') ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) usage(`--knob expects NAME=VALUE (e.g. tag-lock=off), got "${kv}"`);
    const name = kv.slice(0, eq);
    if (name in knobs) usage(`--knob ${name} given more than once`);
    const r = parseKnob(name, kv.slice(eq + 1));
    if (!r.ok) usage(`--knob ${kv}: ${r.message}`);
    knobs[r.name] = r.value;
  }
  out.knobs = knobs as Knobs;
  return out;
}

/** `--device-latency`: a non-negative decimal number of microseconds, at most 10 s */
function latencyUs(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 10_000_000) usage(`--device-latency takes microseconds, a number in [0, 10000000], got "${v}"`);
  return Number(v);
}

function exactly(cmd: string, what: string, positionals: string[], n: number): void {
  if (positionals.length < n) usage(`dcd ${cmd} needs ${what}`);
  if (positionals.length > n) usage(`unexpected argument "${positionals[n] ?? ''}" for dcd ${cmd}`);
}

function parseCommand(cmd: Exclude<Subcommand, 'help'>, argv: readonly string[]): ParsedArgs {
  const { flags, positionals } = scan(cmd, argv);
  const has = (f: string): boolean => flags.has(f);
  const get = (f: string): string | undefined => flags.get(f)?.[0];
  const json = has('json');
  switch (cmd) {
    case 'run': {
      exactly(cmd, 'a scenario FILE.json', positionals, 1);
      const r: ParsedArgs = { kind: 'run', file: positionals[0] ?? '', json, ...hostOptions(flags) };
      const trace = get('trace');
      if (trace !== undefined) r.trace = trace;
      const clock = get('clock');
      if (clock !== undefined) r.clock = oneOf('clock', clock, CLOCKS);
      const lat = get('device-latency');
      if (lat !== undefined) r.deviceLatencyUs = latencyUs(lat);
      return r;
    }
    case 'stress': {
      exactly(cmd, 'no arguments', positionals, 0);
      if (has('seconds') && has('iterations')) usage('--seconds and --iterations are exclusive: give one');
      const r: ParsedArgs = {
        kind: 'stress', json, noise: has('noise'),
        schedule: parseSchedule(get('schedule') ?? 'free'), ...hostOptions(flags),
      };
      const workload = get('workload');
      if (workload !== undefined) r.workload = workload;
      const seconds = get('seconds');
      if (seconds !== undefined) {
        if (!/^\d+(\.\d+)?$/.test(seconds) || Number(seconds) <= 0) usage(`--seconds expects a positive number, got "${seconds}"`);
        r.seconds = Number(seconds);
      }
      const iterations = get('iterations');
      if (iterations !== undefined) r.iterations = posInt('iterations', iterations);
      const jobs = get('jobs');
      if (jobs !== undefined) r.jobs = posInt('jobs', jobs);
      const shard = get('shard');
      if (shard !== undefined) r.shard = parseShard(shard);
      const out = get('out');
      if (out !== undefined) r.out = out;
      const min = get('minimize');
      if (min !== undefined) r.minimize = posSeconds('minimize', min);
      return r;
    }
    case 'explain':
      exactly(cmd, 'a TRACE file', positionals, 1);
      return { kind: 'explain', trace: positionals[0] ?? '', json, replay: has('replay') };
    case 'minimize': {
      exactly(cmd, 'a TRACE file', positionals, 1);
      const r: ParsedArgs = { kind: 'minimize', trace: positionals[0] ?? '', json };
      const out = get('out');
      if (out !== undefined) r.out = out;
      const sec = get('seconds');
      if (sec !== undefined) r.seconds = posSeconds('seconds', sec);
      return r;
    }
    case 'report': {
      if (positionals.length === 0) usage('dcd report needs one or more result or trace FILES');
      const r: ParsedArgs = { kind: 'report', files: positionals, json };
      const out = get('out');
      if (out !== undefined) r.out = out;
      const runs = get('runs');
      if (runs !== undefined) r.runs = posInt('runs', runs);
      const sec = get('seconds');
      if (sec !== undefined) {
        if (!/^\d+(\.\d+)?$/.test(sec)) usage(`--seconds expects a number ≥ 0, got "${sec}"`);
        r.seconds = Number(sec);
      }
      return r;
    }
    case 'replay': {
      exactly(cmd, 'a TRACE file', positionals, 1);
      const r: ParsedArgs = { kind: 'replay', trace: positionals[0] ?? '', json };
      const tl = get('trace');
      if (tl !== undefined) r.timeline = tl;
      return r;
    }
    case 'bench': {
      exactly(cmd, 'no arguments', positionals, 0);
      const r: ParsedArgs = { kind: 'bench', json, quick: has('quick'), ...hostOptions(flags) };
      const out = get('out');
      if (out !== undefined) r.out = out;
      const posInt = (flag: string, v: string): number => {
        if (!/^[1-9][0-9]*$/.test(v)) usage(`--${flag} takes a positive integer, got "${v}"`);
        return Number(v);
      };
      if (has('chain')) r.chains = (flags.get('chain') ?? []).map((v) => posInt('chain', v));
      if (has('memdevs')) r.memdevs = (flags.get('memdevs') ?? []).map((v) => posInt('memdevs', v));
      const tagged = get('tagged');
      if (tagged !== undefined) r.tagged = [oneOf('tagged', tagged, ['yes', 'no'] as const) === 'yes'];
      if (has('cells-only')) r.cellsOnly = true;
      const dur = get('duration-ms');
      if (dur !== undefined) r.durationMs = posInt('duration-ms', dur);
      if (has('device-latency')) r.deviceLatenciesUs = (flags.get('device-latency') ?? []).map(latencyUs);
      return r;
    }
    case 'merge':
      if (positionals.length === 0) usage('dcd merge needs one or more result FILES');
      return { kind: 'merge', files: positionals, json };
    case 'demo':
      exactly(cmd, 'no arguments', positionals, 0);
      return { kind: 'demo' };
  }
}

/** `argv` without node and the script, i.e. `process.argv.slice(2)`. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  if (first === undefined) {
    return { kind: 'usage-error', message: `missing command; commands: ${SUBCOMMANDS.join(', ')}` };
  }
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') {
    const topic = argv[1];
    if (topic === undefined) return { kind: 'help' };
    if (!isSubcommand(topic) || topic === 'help') return { kind: 'usage-error', message: `no help for "${topic}"; commands: ${SUBCOMMANDS.join(', ')}` };
    return { kind: 'help', topic };
  }
  if (!isSubcommand(first) || first === 'help') {
    const what = first.startsWith('-') ? `unknown option "${first}"` : `unknown command "${first}"`;
    return { kind: 'usage-error', message: `${what}; commands: ${SUBCOMMANDS.join(', ')}` };
  }
  const rest = argv.slice(1);
  // Help wins over everything else on the line, so `dcd run --help` works without a FILE.
  const dashdash = rest.indexOf('--');
  const flagsPart = dashdash < 0 ? rest : rest.slice(0, dashdash);
  if (flagsPart.includes('--help') || flagsPart.includes('-h')) return { kind: 'help', topic: first };
  try {
    return parseCommand(first, rest);
  } catch (e) {
    if (e instanceof UsageError) return { kind: 'usage-error', message: e.message, command: first };
    throw e;
  }
}
