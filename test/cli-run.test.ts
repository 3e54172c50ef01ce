// `dcd run` end to end through runCli (README.md–§5): malformed scenario files exit 2 naming
// the JSON path with nothing run; wrong flags exit 2 naming the flag; a failing expectation exits
// 1 printing path, expected and actual; and a racy `parallel` block shows more than one
// interleaving over repeated runs.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { dcdRun, SCENARIO_DIR } from './helpers/scenario-files.js';

const BAD = fileURLToPath(new URL('./fixtures/bad-scenarios/', import.meta.url));

t.setTimeout(600_000); // 2 + 3..10 real runs, each starting the whole worker topology: ~20 s on an
// idle 2-core machine, minutes when other suites share it

/**
 * One row per malformed kind: the fixture, the JSON path stderr must name, and a pattern for the
 * message. Every fixture has exactly one mistake, so exactly one error line is expected.
 */
const MALFORMED: Array<[file: string, path: string, message: RegExp]> = [
  ['bad-json.json', '$', /invalid JSON at .*bad-json\.json:line 6, column 5/],
  ['unknown-op.json', '$.steps[1].op', /unknown op "add-capacityy"; known ops: add-capacity/],
  ['missing-field.json', '$.steps[0].memdev', /missing required field "memdev"/],
  ['bad-size.json', '$.steps[0].extents[0].length', /"64Q" is not a size/],
  ['bad-uuid.json', '$.steps[0].extents[0].tag', /"1111-2222" is not a uuid/],
  ['unknown-memdev.json', '$.steps[0].memdev', /unknown memdev "mem7"; the topology defines mem0/],
  ['expect-bad-path.json', '$.steps[1].path', /path "region\.region0\.extents" starts with "region"/],
  ['negative-length.json', '$.steps[0].extents[0].length', /positive size, got -1/],
  ['unknown-top-level-key.json', '$.clocks', /unknown top-level field "clocks"/],
  ['bad-errno.json', '$.steps[0].expectError', /unknown errno "EWHATEVER"/],
  ['two-matchers.json', '$.steps[0]', /exactly one matcher .*got count and exists/],
  ['undefined-alias.json', '$.steps[1].region', /region "region1" is not defined .*defined so far: region0/],
  ['nested-parallel.json', '$.steps[0].parallel[0][0]', /parallel blocks do not nest/],
  ['bad-duration.json', '$.steps[0].by', /"20 seconds" is not a duration/],
  ['duplicate-id.json', '$.steps[1].id', /duplicate id "w" \(first used at \$\.steps\[0\]\.id\)/],
  ['ops-id-before-defined.json', '$.steps[0].path', /no earlier step has id "claim"/],
  ['bad-variant.json', '$.variant', /unknown variant "v12"/],
  ['bad-inject-record.json', '$.steps[0].record', /tag: "not-a-uuid" is not a uuid/],
  ['inject-size-suffix.json', '$.steps[0].record', /length: "64M" is not a number as kstrtoull\(…, 0\) reads it/],
  ['advance-real-clock.json', '$.steps[1].parallel[0][0]', /advance-clock needs "clock": "virtual" \(this scenario's clock is "real"/],
  ['expect-and-allow-error.json', '$.steps[0].allowError', /either expectError .* or allowError/],
  ['where-with-equals.json', '$.steps[0].where', /does not apply to equals/],
  ['seq-out-of-range.json', '$.steps[0].extents[0].seq', /0\.\.65535, got 65536/],
];

t.test('malformed scenario files exit 2, name the JSON path, run nothing', async (t) => {
  t.ok(MALFORMED.length >= 10, `${MALFORMED.length} kinds`);
  for (const [file, path, message] of MALFORMED) {
    await t.test(file, async (t) => {
      const r = await dcdRun(['run', join(BAD, file)]);
      t.equal(r.code, 2, 'exit 2 (bad input)');
      t.equal(r.out, '', 'nothing on stdout: no step ran, no state printed');
      t.match(r.err, /is not a valid scenario \(1 error\):/, 'one error');
      const lines = r.err.split('\n').filter((l) => l.startsWith('  '));
      t.equal(lines.length, 1, 'one error line');
      t.equal(lines[0]?.trim().startsWith(`${path}: `), true, `names ${path}: ${lines[0]?.trim()}`);
      t.match(lines[0] ?? '', message);
    });
  }
});

t.test('a wrong command line exits 2 naming the flag', async (t) => {
  const tour = join(SCENARIO_DIR, 'tour.json');
  const cases: Array<[argv: string[], named: RegExp]> = [
    [['run', tour, '--bogus'], /unknown flag "--bogus" for dcd run/],
    [['run', tour, '--variant', 'v12'], /--variant expects one of v11, v10, post-v11, got "v12"/],
    [['run', tour, '--knob', 'nope=1'], /--knob nope=1: unknown knob "nope"/],
    [['run', tour, '--seed', 'x'], /--seed expects a non-negative integer/],
    [['run', tour, '--clock', 'sometimes'], /--clock expects one of real, virtual/],
    [['run', join(SCENARIO_DIR, 'watchdog-virtual-clock.json'), '--clock', 'real'], /--clock real, but .*watchdog-virtual-clock\.json advances the clock \(\$\.steps\[\d+\]/],
    [['run'], /dcd run needs a scenario FILE\.json/],
  ];
  for (const [argv, named] of cases) {
    const r = await dcdRun(argv);
    t.equal(r.code, 2, `dcd ${argv.slice(2).join(' ') || argv.join(' ')}: exit 2`);
    t.match(r.err, named, 'names the culprit');
    t.equal(r.out, '', 'nothing run');
  }
  const missing = await dcdRun(['run', join(BAD, 'no-such-file.json')]);
  t.equal(missing.code, 2, 'an unreadable file is bad input too');
  t.match(missing.err, /cannot read .*no-such-file\.json/);
});

t.test('a failing expectation exits 1 and prints path, expected and actual', async (t) => {
  const dir = t.testdir({
    'failing.json': JSON.stringify({
      description: 'Claims a region has 5 extents after adding one.',
      topology: { memdevs: [{ name: 'mem0' }] },
      steps: [
        { op: 'create-region', memdev: 'mem0', as: 'region0' },
        { op: 'wait-idle' },
        { op: 'add-capacity', memdev: 'mem0', extents: [{ offset: '0', length: '64M', tag: null }] },
        { op: 'wait-idle' },
        { op: 'expect', path: 'regions.region0.extents', count: 5 },
        { op: 'expect', path: 'regions.region0.availableSize', equals: '32M' },
        { op: 'expect', path: 'regions.region0.extents', count: 1, description: 'this one holds' },
      ],
    }),
  });
  const r = await dcdRun(['run', join(dir, 'failing.json')]);
  t.equal(r.code, 1, 'exit 1: an expectation failed');
  t.equal(r.err, '', 'not a usage error');
  t.match(r.out, /^FAIL \$\.steps\[4\] FAILED regions\.region0\.extents: expected count 5; actual: count 1$/m, 'path, expected count, actual count');
  t.match(r.out, /^FAIL \$\.steps\[5\] FAILED regions\.region0\.availableSize: expected equals "32M" \(33554432 bytes\); actual: 67108864$/m, 'path, expected size, actual bytes');
  t.match(r.out, /^ok {3}\$\.steps\[6\] ok regions\.region0\.extents: expected count 1; actual: count 1$/m, 'later expectations still run');
  t.match(r.out, /^FAILED \(2\):$/m, 'a summary of the failures');
  t.notMatch(r.out, /all \d+ steps held/);

  const j = await dcdRun(['run', join(dir, 'failing.json'), '--json']);
  t.equal(j.code, 1, '--json: exit 1 as well');
  const doc = JSON.parse(j.out) as { ok: boolean; failures: string[]; steps: Array<{ path: string; ok: boolean; expect?: { path: string; expected: unknown; actual: unknown } }> };
  t.equal(doc.ok, false);
  t.equal(doc.failures.length, 2);
  t.match(doc.steps.find((s) => s.path === '$.steps[4]'), { ok: false, expect: { path: 'regions.region0.extents', expected: 5, actual: 1 } }, 'JSON names path, expected, actual');
});

t.test('a racy parallel block shows more than one interleaving over repeated runs', async (t) => {
  const file = join(SCENARIO_DIR, 'parallel-interleaving.json');
  // Up to 10 runs; stop once 3 distinct orders were seen (in practice every run differs, and each
  // run costs a whole system start, which is slow on a loaded machine).
  const MAX_RUNS = 10;
  const ENOUGH = 3;
  const seen = new Map<string, number>();
  let runs = 0;
  for (; runs < MAX_RUNS && seen.size < ENOUGH; runs++) {
    const r = await dcdRun(['run', file, '--json']);
    const doc = JSON.parse(r.out) as { failures: string[]; interleavings: Array<{ path: string; order: string }> };
    if (r.code !== 0) t.comment(`run ${runs + 1} failed:\n${doc.failures.join('\n')}`);
    t.equal(r.code, 0, `run ${runs + 1}: exit 0 (the end state is the same whatever the order)`);
    t.equal(doc.interleavings.length, 1, 'one parallel block');
    const order = doc.interleavings[0]?.order ?? '';
    t.equal(order.split(' ').length, 16, 'every branch op is in the order (6 + 6 + 4)');
    seen.set(order, (seen.get(order) ?? 0) + 1);
  }
  t.comment(`${seen.size} distinct interleaving(s) of $.steps[8] in ${runs} runs:`);
  for (const [order, n] of seen) t.comment(`  ${n}× ${order}`);
  t.ok(seen.size >= 2, `at least 2 distinct interleavings (saw ${seen.size})`);
});
