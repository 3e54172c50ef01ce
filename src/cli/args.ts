/**
 * DOC: `dcd` argument parsing — argv in, a typed command or a usage error out.
 *
 * Pure: no I/O, no process.exit. The caller prints the help (help.ts) and exits with `EXIT.*`.
 * `COMMANDS` is the one table of every command, its arguments and its options, each option with
 * its value parser and help line: node:util `parseArgs` tokenises argv with it, the loop below
 * checks and converts the values with it, and `USAGE` (and help.ts) print it, so a flag cannot be
 * accepted without being documented or documented without being accepted.
 *
 * Every malformed input becomes `{kind: 'usage-error', message}` naming the flag or argument at
 * fault, because a CI sweep that silently ran with a default seed or an ignored knob would report
 * results for a configuration nobody asked for. For the same reason a single-valued flag given
 * twice is an error rather than "last one wins". Knob names and values go through the same
 * `KNOWN_KNOBS` table as scenario files.
 *
 * `parseArgs` runs non-strict and this file judges its tokens, so that the messages name the
 * project's terms and a value may start with "-" (`--seed -1` is a bad seed, not a missing one).
 * `--flag=value` and `--flag value` are both accepted; `--` ends flags; `--shard i/n` is 1-based
 * (1 ≤ i ≤ n, like jest/playwright); `--variant/--knob/--device/--seed` apply to run, stress and
 * bench, not to replay (a trace carries the configuration it must reproduce) nor merge.
 */

import { parseArgs as tokenize } from 'node:util';
import { parseKnob } from '../scenario/knobs.js';
import type { Clock, Device, Knobs, Variant } from '../scenario/types.js';
import { CLOCKS, DEVICES, VARIANTS } from '../scenario/types.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const SUBCOMMANDS = ['run', 'stress', 'replay', 'bench', 'merge', 'demo', 'help', 'explain', 'minimize', 'report'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];
export type Command = Exclude<Subcommand, 'help'>;

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
      /** the swarm under --schedule free: 'on' (default) draws a schedule per iteration (about
       *  half free, the rest the controlled random walk or PCT: stress/runner.ts scheduleFor);
       *  'off' runs every iteration free. Absent when not given */
      mix?: 'on' | 'off';
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
  | { kind: 'help'; topic?: Command }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string; command?: Subcommand };

// ---- value parsers (each names its flag in the error) --------------------------------------------

class UsageError {
  constructor(readonly message: string) {}
}

function usage(message: string): never {
  throw new UsageError(message);
}

const posInt = (flag: string) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) usage(`--${flag} expects a positive integer, got "${v}"`);
  return Number(v);
};

const posSeconds = (flag: string, what = 'a positive number of seconds') => (v: string): number => {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) usage(`--${flag} expects ${what}, got "${v}"`);
  return Number(v);
};

const oneOf = <T extends string>(flag: string, allowed: readonly T[]) => (v: string): T => {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  return usage(`--${flag} expects one of ${allowed.join(', ')}, got "${v}"`);
};

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

/** `--device-latency`: a non-negative decimal number of microseconds, at most 10 s */
function latencyUs(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 10_000_000) usage(`--device-latency takes microseconds, a number in [0, 10000000], got "${v}"`);
  return Number(v);
}

const benchCount = (flag: string) => (v: string): number => {
  if (!/^[1-9][0-9]*$/.test(v)) usage(`--${flag} takes a positive integer, got "${v}"`);
  return Number(v);
};

// ---- the table -----------------------------------------------------------------------------------

export interface OptionSpec {
  /** boolean: a switch; string: takes a value */
  type: 'boolean' | 'string';
  /** repeatable; the values are collected in order */
  multiple?: boolean;
  /** the value's name in help */
  arg?: string;
  /** one line for help */
  help: string;
  /** field of the parsed command (default: the flag's name) */
  key?: string;
  /** the value, converted; throws a usage error naming the flag */
  parse?: (v: string) => unknown;
  /** a switch left out of the result when absent (default: false when absent) */
  sparse?: boolean;
}

export interface CommandSpec {
  /** what follows `dcd NAME` in the usage line */
  synopsis: string;
  /** one line for `dcd help` */
  summary: string;
  /** more lines for `dcd help NAME` */
  about?: string;
  /** positional arguments: where they go, how many, and what the error calls them */
  positionals?: { key: string; what: string; many: boolean };
  options: Record<string, OptionSpec>;
  /** takes --variant/--knob/--device/--seed */
  host?: boolean;
}

/** Host configuration, shared by run, stress and bench (knobs are listed by `dcd help`). */
export const HOST_OPTIONS: Record<string, OptionSpec> = {
  variant: { type: 'string', arg: 'NAME', help: `host variant: ${VARIANTS.join(', ')} (default v11)`, parse: oneOf('variant', VARIANTS) },
  knob: { type: 'string', multiple: true, arg: 'NAME=VALUE', help: 'flip one assumption (repeatable), e.g. tag-lock=off; the knobs are listed below' },
  device: { type: 'string', arg: 'NAME', help: `device personality: ${DEVICES.join(', ')} (default cxl-test)`, parse: oneOf('device', DEVICES) },
  seed: { type: 'string', arg: 'N', help: 'seed (non-negative integer, decimal or 0x hex)', parse: parseSeed },
};

const json = (what = 'JSON results'): OptionSpec => ({ type: 'boolean', help: what });

export const COMMANDS: Record<Command, CommandSpec> = {
  run: {
    synopsis: 'FILE.json [options]',
    summary: 'run a scenario; print the final state and every expectation',
    positionals: { key: 'file', what: 'a scenario FILE.json', many: false },
    options: {
      json: json('print the final state and results as JSON'),
      trace: { type: 'string', arg: 'FILE', help: 'write a Chrome/Perfetto trace (one track per thread)' },
      clock: { type: 'string', arg: 'real|virtual', help: "override the scenario's clock", parse: oneOf('clock', CLOCKS) },
      ...HOST_OPTIONS,
      'device-latency': { type: 'string', arg: 'US', key: 'deviceLatencyUs', help: 'modelled mailbox latency per command, µs (overrides topology.deviceLatencyUs)', parse: latencyUs },
    },
    host: true,
  },
  stress: {
    synopsis: '[options]',
    summary: 'concurrent actors over seeds; invariant checks; outcome table',
    options: {
      workload: { type: 'string', arg: 'NAME', help: 'workload to run (default swarm; the workloads are listed below)' },
      seconds: { type: 'string', arg: 'S', help: 'run for S seconds (not with --iterations)', parse: posSeconds('seconds', 'a positive number') },
      iterations: { type: 'string', arg: 'N', help: 'run N iterations (not with --seconds; default 100)', parse: posInt('iterations') },
      schedule: { type: 'string', arg: 'S', help: 'free | random | pct:depth=D (default free)', parse: parseSchedule },
      mix: { type: 'string', arg: 'on|off', help: 'the swarm under --schedule free: on (default) runs about half its iterations under the controlled random walk or PCT; off runs every iteration free', parse: oneOf('mix', ['on', 'off'] as const) },
      jobs: { type: 'string', arg: 'J', help: 'parallel jobs', parse: posInt('jobs') },
      shard: { type: 'string', arg: 'i/n', help: 'run shard i of n (1-based) of the seed space', parse: parseShard },
      out: { type: 'string', arg: 'DIR', help: 'traces and results (default results/)' },
      json: json('JSON results {iterations, forbidden, outcomes}'),
      noise: { type: 'boolean', help: 'seeded scheduling noise at lock points' },
      minimize: { type: 'string', arg: 'S', help: 'minimize each new finding (signature) for at most S seconds', parse: posSeconds('minimize') },
      ...HOST_OPTIONS,
    },
    host: true,
  },
  replay: {
    synopsis: 'TRACE [--json] [--trace OUT]',
    summary: 're-execute a recorded failure deterministically',
    about: 're-executes a recorded failure; exit 0 if the same violation reproduces, 1 if not',
    positionals: { key: 'trace', what: 'a TRACE file', many: false },
    options: {
      json: json(),
      trace: { type: 'string', arg: 'OUT', key: 'timeline', help: 'write the replayed run as a Perfetto trace: kernel-function slices nested in their paths (add, release, probe, claims, teardown), lock holds beside' },
    },
  },
  bench: {
    synopsis: '[options]',
    summary: 'event-throughput and latency benchmark',
    options: {
      json: json(),
      out: { type: 'string', arg: 'DIR', help: 'where to write JSON and the SVG chart (default bench-out/)' },
      quick: { type: 'boolean', help: 'a short run (CI smoke)' },
      chain: { type: 'string', multiple: true, arg: 'N', key: 'chains', help: 'only chain length N (repeatable): 1, 8, 100, …', parse: benchCount('chain') },
      memdevs: { type: 'string', multiple: true, arg: 'N', help: 'only N memdevs (repeatable)', parse: benchCount('memdevs') },
      tagged: { type: 'string', arg: 'yes|no', help: 'only tagged (yes) or untagged (no) chains', parse: (v) => [oneOf('tagged', ['yes', 'no'] as const)(v) === 'yes'] },
      'cells-only': { type: 'boolean', key: 'cellsOnly', sparse: true, help: 'skip the baselines and the memory run (one cell in seconds)' },
      'duration-ms': { type: 'string', arg: 'MS', key: 'durationMs', help: 'measurement window of each cell', parse: benchCount('duration-ms') },
      ...HOST_OPTIONS,
      'device-latency': { type: 'string', multiple: true, arg: 'US', key: 'deviceLatenciesUs', help: 'modelled mailbox latency per command, µs (repeatable: one set of cells each)', parse: latencyUs },
    },
    host: true,
  },
  merge: {
    synopsis: 'FILES... [--json]',
    summary: 'merge stress results (JSON) from shards',
    about: 'merges the JSON results of sharded `dcd stress --shard i/n --json` runs',
    positionals: { key: 'files', what: 'one or more result FILES', many: true },
    options: { json: json() },
  },
  demo: {
    synopsis: '',
    summary: 'a short guided run',
    about: 'runs a short guided scenario and explains what happened',
    options: {},
  },
  explain: {
    synopsis: 'TRACE [--json] [--replay]',
    summary: 'the failing interleaving in kernel terms (threads side by side)',
    about: `prints the failing interleaving as kernel developers read it: one column per racing thread,
each step named by the kernel function it models with the locks held, the shared state it
changed (old → new), objects by their sysfs names, and the invariant that broke`,
    positionals: { key: 'trace', what: 'a TRACE file', many: false },
    options: {
      json: json(),
      replay: { type: 'boolean', help: 're-record the trace by replaying it (traces without a record are replayed anyway)' },
    },
  },
  minimize: {
    synopsis: 'TRACE [--out FILE] [--seconds S] [--json]',
    summary: 'shrink a failing trace (plan, then preemptions) and write it',
    about: `delta-debugs the plan (actors, ops, records), then searches schedules from zero preemptions
upward, verifying every candidate by replay against the same outcome signature; writes the
minimized trace (default: TRACE with .min.trace.json) and prints steps, ops and preemptions
before and after; exit 0 minimized (or already minimal), 1 the trace does not reproduce`,
    positionals: { key: 'trace', what: 'a TRACE file', many: false },
    options: {
      json: json(),
      out: { type: 'string', arg: 'FILE', help: 'where to write the minimized trace' },
      seconds: { type: 'string', arg: 'S', help: 'time budget (default 60)', parse: posSeconds('seconds') },
    },
  },
  report: {
    synopsis: 'FILES... [--out DIR] [--runs N] [--seconds S] [--json]',
    summary: 'Markdown + HTML report of stress results / traces',
    about: `FILES are dcd stress results (JSON) or traces; writes DIR/report.md and DIR/report.html (an SVG
sequence diagram per finding): title, class, the minimized interleaving, the replay command,
reproduction statistics and which fix candidates (knobs, variants) make the finding go away`,
    positionals: { key: 'files', what: 'one or more result or trace FILES', many: true },
    options: {
      json: json(),
      out: { type: 'string', arg: 'DIR', help: 'where to write (default report/)' },
      runs: { type: 'string', arg: 'N', help: 're-runs per statistic (default 20)', parse: posInt('runs') },
      seconds: {
        type: 'string', arg: 'S', help: 'minimization budget per finding (default 20; 0 = do not minimize)',
        parse: (v) => (/^\d+(\.\d+)?$/.test(v) ? Number(v) : usage(`--seconds expects a number ≥ 0, got "${v}"`)),
      },
    },
  },
};

// ---- help from the table -------------------------------------------------------------------------

const WIDTH = 100;

/** `  name  text`: `name` padded to `w`, `text` wrapped to WIDTH columns under itself. */
export function item(name: string, w: number, text: string): string {
  const lines: string[] = [];
  let line = `  ${name.padEnd(w)}`;
  let fresh = true;
  for (const word of text.split(/\s+/)) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(2 + w);
      fresh = true;
    }
    line += fresh ? word : ` ${word}`;
    fresh = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `  --name ARG  help`, aligned. */
export function optionLines(options: Record<string, OptionSpec>): string[] {
  const heads = Object.entries(options).map(([name, o]) => `--${name}${o.arg !== undefined ? ` ${o.arg}` : ''}`);
  const w = Math.max(0, ...heads.map((h) => h.length)) + 2;
  return Object.values(options).map((o, i) => item(heads[i] ?? '', w, o.help));
}

const EXIT_CODES = 'exit codes: 0 ok, 1 an expectation/invariant failed or a forbidden outcome, 2 bad input';

function commandUsage(cmd: Command): string {
  const c = COMMANDS[cmd];
  const about = c.about !== undefined ? ['', ...c.about.split('\n').map((l) => `  ${l}`)] : [];
  const opts = Object.keys(c.options).length > 0 ? ['', 'options:', ...optionLines(c.options)] : [];
  return [`usage: dcd ${cmd}${c.synopsis ? ` ${c.synopsis}` : ''}`, '', `  ${c.summary}`, ...about, ...opts].join('\n');
}

function globalUsage(): string {
  const heads = SUBCOMMANDS.map((c) => (c === 'help' ? 'help [COMMAND]' : `${c}${COMMANDS[c].positionals ? ` ${COMMANDS[c].synopsis.split(' ')[0] ?? ''}` : ''}`));
  const w = Math.max(...heads.map((h) => h.length)) + 2;
  const lines = SUBCOMMANDS.map((c, i) => `  ${(heads[i] ?? '').padEnd(w)}${c === 'help' ? 'this text, or a command\'s (dcd help stress lists the workloads)' : COMMANDS[c].summary}`);
  return ['usage: dcd <command> [options]', '', 'commands:', ...lines, '', 'options: --help, -h, --version', EXIT_CODES].join('\n');
}

/** The usage text of each command and the global one, from `COMMANDS`. help.ts adds the lists. */
export const USAGE: Record<'global' | Command, string> = {
  global: globalUsage(),
  ...(Object.fromEntries((Object.keys(COMMANDS) as Command[]).map((c) => [c, commandUsage(c)])) as Record<Command, string>),
};

// ---- parsing ---------------------------------------------------------------------------------------

function isSubcommand(s: string): s is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(s);
}

/** Flags (raw values, in order) and positionals, checked against the command's table. */
function scan(cmd: Command, argv: readonly string[]): { flags: Map<string, string[]>; positionals: string[] } {
  const table = COMMANDS[cmd].options;
  const { tokens } = tokenize({
    args: [...argv],
    options: Object.fromEntries(Object.entries(table).map(([n, o]) => [n, { type: o.type, ...(o.multiple ? { multiple: true } : {}) }])),
    strict: false, allowPositionals: true, tokens: true,
  });
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const tk of tokens) {
    if (tk.kind === 'positional') { positionals.push(tk.value); continue; }
    if (tk.kind === 'option-terminator') continue;
    const spec = table[tk.name];
    if (spec === undefined || !tk.rawName.startsWith('--')) {
      const known = Object.keys(table).map((f) => '--' + f).join(' ');
      usage(`unknown flag "${tk.rawName.startsWith('--') ? tk.rawName : argv[tk.index] ?? tk.rawName}" for dcd ${cmd}; ${known === '' ? 'it takes no flags' : `known: ${known}`}`);
    }
    if (spec.type === 'boolean' && tk.value !== undefined) usage(`--${tk.name} takes no value, got "${argv[tk.index] ?? ''}"`);
    // a value that is itself a long flag means the value was forgotten (`--trace --json`)
    if (spec.type === 'string' && (tk.value === undefined || (!tk.inlineValue && tk.value.startsWith('--') && tk.value.length > 2))) usage(`--${tk.name} needs a value`);
    const prev = flags.get(tk.name) ?? [];
    if (prev.length > 0 && spec.multiple !== true) usage(`--${tk.name} given more than once`);
    flags.set(tk.name, [...prev, tk.value ?? '']);
  }
  return { flags, positionals };
}

function knobs(values: string[]): Knobs {
  const out: Record<string, unknown> = {};
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) usage(`--knob expects NAME=VALUE (e.g. tag-lock=off), got "${kv}"`);
    const name = kv.slice(0, eq);
    if (name in out) usage(`--knob ${name} given more than once`);
    const r = parseKnob(name, kv.slice(eq + 1));
    if (!r.ok) usage(`--knob ${kv}: ${r.message}`);
    out[r.name] = r.value;
  }
  return out as Knobs;
}

function parseCommand(cmd: Command, argv: readonly string[]): ParsedArgs {
  const spec = COMMANDS[cmd];
  const { flags, positionals } = scan(cmd, argv);
  const out: Record<string, unknown> = { kind: cmd };
  const p = spec.positionals;
  if (p === undefined) {
    if (positionals.length > 0) usage(`unexpected argument "${positionals[0] ?? ''}" for dcd ${cmd}`);
  } else if (positionals.length === 0) {
    usage(`dcd ${cmd} needs ${p.what}`);
  } else if (!p.many && positionals.length > 1) {
    usage(`unexpected argument "${positionals[1] ?? ''}" for dcd ${cmd}`);
  } else {
    out[p.key] = p.many ? positionals : positionals[0];
  }
  if (cmd === 'stress' && flags.has('seconds') && flags.has('iterations')) usage('--seconds and --iterations are exclusive: give one');
  for (const [name, o] of Object.entries(spec.options)) {
    const key = o.key ?? name;
    const values = flags.get(name);
    if (o.type === 'boolean') {
      if (values !== undefined || !o.sparse) out[key] = values !== undefined;
      continue;
    }
    if (values === undefined || name === 'knob') continue;
    const conv = values.map((v) => (o.parse ? o.parse(v) : v));
    out[key] = o.multiple ? conv : conv[0];
  }
  if (spec.host) out.knobs = knobs(flags.get('knob') ?? []);
  if (cmd === 'stress') out.schedule ??= { kind: 'free' };
  // only the free schedule mixes (a controlled run is controlled in every iteration)
  if (cmd === 'stress' && out.mix !== undefined && (out.schedule as Schedule).kind !== 'free') usage(`--mix applies to --schedule free only (the swarm's mixed schedules), got --schedule ${flags.get('schedule')?.[0] ?? ''}`);
  if (cmd === 'demo') return { kind: 'demo' };
  return out as ParsedArgs;
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
