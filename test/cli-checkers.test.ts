// Loud failures of `dcd run` and `dcd stress` (issue 16 point 5): a missing or broken checker
// module is an error with exit 2 and nothing run, never a clean run with no invariant checked;
// and the checks table prints a known hazard as HAZARD (FAIL is kept for the forbidden outcomes
// that make the run exit 1).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { loadStandardCheckers, CHECKERS_MODULE } from '../src/cli/main.js';
import { checkLabel, formatState } from '../src/cli/format.js';
import type { SystemState } from '../src/state.js';
import { dcdRun, SCENARIO_DIR } from './helpers/scenario-files.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

t.test('loadStandardCheckers: the shipped module loads; a missing, throwing or empty one is an error naming it', async (t) => {
  const good = await loadStandardCheckers();
  t.ok(good.ok && good.checkers.length >= 7, `the standard set loads (${good.ok ? good.checkers.length : 0} checkers from ${CHECKERS_MODULE.href})`);

  const dir = t.testdir({
    'throws.mjs': "throw new Error('checker module exploded');\n",
    'none.mjs': 'export const nothing = 1;\n',
    'empty.mjs': 'export function standardCheckers() { return []; }\n',
    'bad-call.mjs': "export function standardCheckers() { throw new Error('no checkers today'); }\n",
  });
  const cases: Array<[file: string, re: RegExp]> = [
    ['missing.mjs', /missing\.mjs not found/],
    ['throws.mjs', /throws\.mjs failed to load: checker module exploded/],
    ['none.mjs', /none\.mjs export no standardCheckers\(\)/],
    ['empty.mjs', /empty\.mjs: standardCheckers\(\) returned no checker/],
    ['bad-call.mjs', /bad-call\.mjs: standardCheckers\(\) threw: no checkers today/],
  ];
  for (const [file, re] of cases) {
    const r = await loadStandardCheckers(pathToFileURL(join(dir, file)));
    t.equal(r.ok, false, `${file}: not ok`);
    t.match(r.ok ? '' : r.error, re, `${file}: ${r.ok ? '' : r.error}`);
  }
});

/** Run the compiled `dcd` of a copy of the build (bin/ + dist/ + package.json + scenarios/). */
function runBin(root: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/dcd.js'), ...args], { cwd: root, env, timeout: 120_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: String(out), err: String(err) });
    });
  });
}

t.test('the compiled dcd run with its checkers missing or broken exits 2 and runs nothing', async (t) => {
  t.ok(existsSync(join(ROOT, 'dist/stress/checkers/index.js')), 'dist/ is built (npm run build)');
  const copy = mkdtempSync(join(tmpdir(), 'dcd-checkers-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  for (const d of ['bin', 'dist', 'scenarios', 'schema']) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const scenario = join(copy, 'scenarios/untagged-group.json');
  const index = join(copy, 'dist/stress/checkers/index.js');

  const intact = await runBin(copy, ['run', scenario]);
  t.equal(intact.code, 0, 'the intact copy runs green');
  t.match(intact.out, /^ {2}ok {6}8\.1-4 accepted xor released {2}\[acceptable\]$/m, 'with its checks');

  unlinkSync(index);
  const missing = await runBin(copy, ['run', scenario]);
  t.equal(missing.code, 2, 'checkers missing: exit 2');
  t.match(missing.err, /dcd run: the invariant checkers .*dist\/stress\/checkers\/index\.js not found; refusing to run .*untagged-group\.json without its invariant checks/, missing.err.trim());
  t.equal(missing.out, '', 'nothing ran: no steps, no state');

  const stress = await runBin(copy, ['stress', '--workload', 'two-claims', '--iterations', '1', '--out', join(copy, 'out')]);
  t.equal(stress.code, 2, 'dcd stress with the checkers missing: exit 2');
  t.match(stress.err, /dcd stress: its modules failed to load: .*checkers\/index\.js/, stress.err.trim());
  t.equal(stress.out, '', 'no iteration ran');

  writeFileSync(index, "import './no-such-checker.js';\nexport function standardCheckers() { return []; }\n");
  const broken = await runBin(copy, ['run', scenario]);
  t.equal(broken.code, 2, 'checkers broken (an import of theirs fails): exit 2');
  t.match(broken.err, /dcd run: the invariant checkers .*index\.js failed to load: .*no-such-checker\.js/, broken.err.trim());
  t.equal(broken.out, '', 'nothing ran');
});

t.test('the checks table: ok, HAZARD for a known hazard, FAIL only for a forbidden outcome', async (t) => {
  t.equal(checkLabel({ ok: true, class: 'acceptable' }), 'ok');
  t.equal(checkLabel({ ok: false, class: 'known-hazard' }), 'HAZARD');
  t.equal(checkLabel({ ok: false, class: 'forbidden' }), 'FAIL');
  t.equal(checkLabel({ ok: false, class: 'acceptable' }), 'allowed');
  const state = {
    memdevs: {}, regions: {}, daxDevices: {}, ops: {},
    trace: { mailbox: [], dynamicCapacityEvents: [], log: [] },
    checks: [
      { invariant: '8.1-4 accepted xor released', ok: true, class: 'acceptable' },
      { invariant: '8.1-19 lock order', ok: false, class: 'known-hazard', detail: 'H2: cycle a -> b -> a' },
      { invariant: '8.1-7 no overlap', ok: false, class: 'forbidden', detail: 'two extents overlap' },
    ],
  } as unknown as SystemState;
  const text = formatState(state);
  t.match(text, /^ {2}ok {6}8\.1-4 accepted xor released {2}\[acceptable\]$/m);
  t.match(text, /^ {2}HAZARD {2}8\.1-19 lock order {2}\[known-hazard\] {2}H2: cycle a -> b -> a$/m);
  t.match(text, /^ {2}FAIL {4}8\.1-7 no overlap {2}\[forbidden\] {2}two extents overlap$/m);

  // end to end: the example that reproduces H10 on purpose exits 0 and prints it as HAZARD
  const r = await dcdRun(['run', join(SCENARIO_DIR, 'offer-order-hazard.json')]);
  t.equal(r.code, 0, 'exit 0: a known hazard is not a failure');
  t.match(r.out, /^ {2}HAZARD {2}8\.1-16 host subset of device {2}\[known-hazard\] {2}H10: /m, 'H10 printed as HAZARD');
  const checks = r.out.slice(r.out.indexOf('\nchecks:\n'));
  t.notMatch(checks, /^ {2}FAIL /m, 'no FAIL line in the checks of a passing run');
  t.match(r.out, /^all \d+ steps held$/m);
});
