// dcd argument parsing: every command's happy path, help and version, and usage errors naming the culprit.
import t from 'tap';
import type { Test } from 'tap';
import { EXIT, USAGE, parseArgs } from '../src/cli/args.js';

function usageError(t: Test, argv: string[], re: RegExp): void {
  const r = parseArgs(argv);
  t.match(r, { kind: 'usage-error', message: re }, `dcd ${argv.join(' ')}`);
}

t.test('exit codes', async (t) => {
  t.same(EXIT, { ok: 0, failed: 1, usage: 2 });
});

t.test('run', async (t) => {
  t.same(parseArgs(['run', 's.json']), { kind: 'run', file: 's.json', json: false, knobs: {} });
  t.same(
    parseArgs(['run', 's.json', '--json', '--trace', 'out.trace.json', '--variant', 'v10', '--knob', 'tag-lock=off', '--knob=parallel-event-handlers=2',
      '--device', 'qemu', '--seed', '0x2a', '--clock=virtual']),
    { kind: 'run', file: 's.json', json: true, trace: 'out.trace.json', variant: 'v10', knobs: { 'tag-lock': 'off', 'parallel-event-handlers': 2 }, device: 'qemu', seed: 42, clock: 'virtual' },
  );
  t.same(parseArgs(['run', '--', '--weird.json']), { kind: 'run', file: '--weird.json', json: false, knobs: {} }, '-- ends flags');
});

t.test('stress', async (t) => {
  t.same(parseArgs(['stress']), { kind: 'stress', json: false, noise: false, schedule: { kind: 'free' }, knobs: {} });
  t.same(
    parseArgs(['stress', '--workload', 'add-release', '--iterations', '1000', '--schedule', 'pct:depth=3', '--jobs', '4', '--shard', '2/8',
      '--out', 'results', '--json', '--noise', '--knob', 'group-lock=per-extent', '--seed', '7']),
    {
      kind: 'stress', workload: 'add-release', iterations: 1000, schedule: { kind: 'pct', depth: 3 }, jobs: 4, shard: { index: 2, count: 8 },
      out: 'results', json: true, noise: true, knobs: { 'group-lock': 'per-extent' }, seed: 7,
    },
  );
  t.match(parseArgs(['stress', '--seconds', '2.5', '--schedule', 'random']), { kind: 'stress', seconds: 2.5, schedule: { kind: 'random' } });
  t.match(parseArgs(['stress', '--mix', 'off']), { kind: 'stress', mix: 'off', schedule: { kind: 'free' } }, '--mix off: the swarm free only');
  t.match(parseArgs(['stress', '--mix=on', '--schedule', 'free']), { kind: 'stress', mix: 'on' });
  t.notOk('mix' in parseArgs(['stress']), 'absent unless given');
  usageError(t, ['stress', '--mix', 'no'], /--mix expects one of on, off, got "no"/);
  usageError(t, ['stress', '--mix', 'off', '--schedule', 'random'], /--mix applies to --schedule free only .*got --schedule random/);
  usageError(t, ['stress', '--mix', 'on', '--mix', 'off'], /--mix/);
  t.match(USAGE.stress, /--mix on\|off/, 'help lists --mix');
});

t.test('replay, bench, merge, demo', async (t) => {
  t.same(parseArgs(['replay', 'fail.trace.json', '--json']), { kind: 'replay', trace: 'fail.trace.json', json: true });
  t.same(parseArgs(['bench', '--quick', '--out', 'b']), { kind: 'bench', json: false, quick: true, out: 'b', knobs: {} });
  t.same(parseArgs(['merge', 'a.json', 'b.json', '--json']), { kind: 'merge', files: ['a.json', 'b.json'], json: true });
  t.same(parseArgs(['demo']), { kind: 'demo' });
});

t.test('help and version', async (t) => {
  t.same(parseArgs(['--help']), { kind: 'help' });
  t.same(parseArgs(['-h']), { kind: 'help' });
  t.same(parseArgs(['help']), { kind: 'help' });
  t.same(parseArgs(['help', 'stress']), { kind: 'help', topic: 'stress' });
  t.same(parseArgs(['run', '--help']), { kind: 'help', topic: 'run' }, 'per-command help needs no FILE');
  t.same(parseArgs(['stress', '--seed', 'abc', '-h']), { kind: 'help', topic: 'stress' }, 'help wins over other errors');
  t.same(parseArgs(['--version']), { kind: 'version' });
  for (const k of ['global', 'run', 'stress', 'replay', 'bench', 'merge', 'demo'] as const) t.match(USAGE[k], /^usage: dcd/);
  t.match(USAGE.run, /--knob NAME=VALUE/);
  t.match(USAGE.stress, /--shard i\/n/);
});

t.test('usage errors name the bad flag or argument', async (t) => {
  usageError(t, [], /missing command; commands: run, stress, replay, bench, merge, demo, help/);
  usageError(t, ['frobnicate'], /unknown command "frobnicate"; commands: run, stress, replay, bench, merge, demo, help/);
  usageError(t, ['--json'], /unknown option "--json"; commands:/);
  usageError(t, ['help', 'nope'], /no help for "nope"/);
  usageError(t, ['run'], /dcd run needs a scenario FILE\.json/);
  usageError(t, ['run', 'a.json', 'b.json'], /unexpected argument "b\.json" for dcd run/);
  usageError(t, ['run', 'a.json', '--frob'], /unknown flag "--frob" for dcd run; known: --json --trace --clock --variant --knob --device --seed/);
  usageError(t, ['run', 'a.json', '-x'], /unknown flag "-x" for dcd run/);
  usageError(t, ['run', 'a.json', '--trace'], /--trace needs a value/);
  usageError(t, ['run', 'a.json', '--trace', '--json'], /--trace needs a value/);
  usageError(t, ['run', 'a.json', '--json=yes'], /--json takes no value/);
  usageError(t, ['run', 'a.json', '--seed', 'abc'], /--seed expects a non-negative integer \(decimal or 0x hex, at most 2\^53-1\), got "abc"/);
  usageError(t, ['run', 'a.json', '--seed', '-1'], /--seed expects a non-negative integer/);
  usageError(t, ['run', 'a.json', '--seed', '1', '--seed', '2'], /--seed given more than once/);
  usageError(t, ['run', 'a.json', '--knob', 'foo'], /--knob expects NAME=VALUE \(e\.g\. tag-lock=off\), got "foo"/);
  usageError(t, ['run', 'a.json', '--knob', 'foo=1'], /--knob foo=1: unknown knob "foo"; known knobs: tag-lock, group-lock, parallel-event-handlers, v10-seq/);
  usageError(t, ['run', 'a.json', '--knob', 'tag-lock=maybe'], /--knob tag-lock=maybe: knob tag-lock: expected on or off, got "maybe" \(accepts on\|off\)/);
  usageError(t, ['run', 'a.json', '--knob', 'rcu=on', '--knob', 'rcu=off'], /--knob rcu given more than once/);
  usageError(t, ['run', 'a.json', '--device', 'nope'], /--device expects one of qemu, qemu-tag-rfc, cxl-test, hostile, got "nope"/);
  usageError(t, ['run', 'a.json', '--variant', 'v12'], /--variant expects one of v11, v10, post-v11, got "v12"/);
  usageError(t, ['run', 'a.json', '--clock', 'slow'], /--clock expects one of real, virtual, got "slow"/);
  usageError(t, ['stress', '--shard', '3/2'], /--shard expects i\/n with 1 ≤ i ≤ n \(e\.g\. 1\/4\), got "3\/2"/);
  usageError(t, ['stress', '--shard', '0/2'], /--shard expects i\/n/);
  usageError(t, ['stress', '--shard', '1-2'], /--shard expects i\/n/);
  usageError(t, ['stress', '--seconds', '5', '--iterations', '10'], /--seconds and --iterations are exclusive/);
  usageError(t, ['stress', '--seconds', '0'], /--seconds expects a positive number, got "0"/);
  usageError(t, ['stress', '--iterations', '1e3'], /--iterations expects a positive integer, got "1e3"/);
  usageError(t, ['stress', '--jobs', '0'], /--jobs expects a positive integer, got "0"/);
  usageError(t, ['stress', '--schedule', 'pct'], /--schedule expects free, random or pct:depth=D \(D ≥ 1\), got "pct"/);
  usageError(t, ['stress', 'extra'], /unexpected argument "extra" for dcd stress/);
  usageError(t, ['replay'], /dcd replay needs a TRACE file/);
  usageError(t, ['replay', 't.json', '--variant', 'v10'], /unknown flag "--variant" for dcd replay; known: --json/);
  usageError(t, ['merge'], /dcd merge needs one or more result FILES/);
  usageError(t, ['demo', '--json'], /unknown flag "--json" for dcd demo; it takes no flags/);
  usageError(t, ['bench', '--workload', 'x'], /unknown flag "--workload" for dcd bench/);
  const r = parseArgs(['run', 'a.json', '--frob']);
  t.match(r, { kind: 'usage-error', command: 'run' }, 'the command is reported so the caller can print its usage');
});
