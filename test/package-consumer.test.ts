// The package as a new user gets it (issue 20): `npm pack` the project into a temp directory,
// install the tarball into an empty project OFFLINE from the local npm cache, then use it from
// there — `npx dcd --version`, `npx dcd run` on a packaged example, the installed `dcd` on the
// consumer's own scenario (its `$schema` by package path), `dcd stress` on two pool threads and
// `dcd replay` of a trace it wrote, and an ES module that imports the library and the packaged
// checkers, starts a one-memdev system, adds capacity, reads the state and stops; and tsc
// compiles a TypeScript consumer against the shipped declarations.
//
// The tarball must already hold a fresh `dist/`: `npm test` builds before tap runs, so the pack
// uses --ignore-scripts (its `prepare` would build a second time). The install is offline: the
// consumer gets a lockfile whose dependency entries are the repository's own (package-lock.json,
// runtime entries only), so `npm ci --offline` takes every tarball from the cache that the
// repository's `npm ci` filled and never asks the registry for a package's metadata.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string; version: string; license: string; bin: Record<string, string>; engines: Record<string, string>;
  dependencies: Record<string, string>;
};
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean } & Record<string, unknown>>;
};

interface Ran { code: number; out: string; err: string }

/**
 * Run a command; never rejects, so a failing command shows its output in the assertion. The
 * environment drops what the test runner injects (NODE_OPTIONS with tap's and tsx's hooks,
 * DCD_WORKERS): the installed package must run on plain Node.
 */
/** wall time of each command, printed at the end (information, not an assertion) */
const timings: string[] = [];

function run(cmd: string, args: string[], cwd: string): Promise<Ran> {
  const t0 = Date.now();
  const label = [cmd === process.execPath ? 'node' : cmd, ...args.slice(0, 3)].join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.DCD_WORKERS;
  for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAPJS')) delete env[k];
  return new Promise((resolve) => {
    // a hang guard, not a timing assertion: a stuck npm or worker ends the test instead of the suite
    execFile(cmd, args, { cwd, env, timeout: 180_000, maxBuffer: 16 << 20 }, (e, out, err) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0;
      timings.push(`${label}: ${Date.now() - t0} ms`);
      resolve({ code, out: String(out), err: String(err) + (e && code === 1 && !err ? e.message : '') });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'dcd-package-'));
t.teardown(() => {
  t.comment(`timings: ${timings.join('; ')}`);
  rmSync(work, { recursive: true, force: true });
});

t.test('the packed tarball installs offline and runs where it is installed', async (t) => {
  t.ok(existsSync(join(ROOT, 'dist/src/cli/main.js')), 'dist/ is built (npm test builds before tap; alone: npm run build)');

  // --- pack -----------------------------------------------------------------------------------
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  t.equal(packed.code, 0, `npm pack exits 0${packed.code ? `: ${packed.err}` : ''}`);
  const info = (JSON.parse(packed.out) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>)[0]!;
  const files = info.files.map((f) => f.path);
  t.comment(`tarball ${info.filename}: ${files.length} files, ${info.size} bytes`);
  for (const must of [
    'package.json', 'README.md', 'bin/dcd.js',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js',
    'dist/workers/device.js', 'dist/workers/event-thread.js', 'dist/workers/workqueue.js', 'dist/workers/dax-bus.js', 'dist/workers/user.js',
    'dist/stress/checkers/index.js', 'dist/stress/checkers/index.d.ts', 'dist/stress/pool-task.js',
    'dist/bench/pipeline.js', 'dist/bench/workers/relay.js', 'dist/bench/ceiling-words.js', 'dist/bench/workers/ceiling.js',
    'schema/scenario.schema.json', 'scenarios/tour.json', 'docs/package.md', 'CHANGELOG.md',
  ]) t.ok(files.includes(must), `ships ${must}`);
  const unwanted = files.filter((f) => /^(test|src|stress|bench|workers)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts') ||
    f.endsWith('.map') || f.startsWith('dist/test/') || /^docs\/.*\.(json|svg)$/.test(f) || f === 'package-lock.json' ||
    // docs/package.md's table: dcd bench's modules only, no mbox-echo worker, top-level docs only
    /^dist\/bench\//.test(f) && !/^dist\/bench\/(pipeline|ceiling-words|workers\/relay|workers\/ceiling)\.(js|d\.ts)$/.test(f) ||
    f.startsWith('dist/workers/mbox-echo.') || /^docs\/[^/]+\//.test(f));
  t.same(unwanted, [], 'no tests, TypeScript sources, source maps, bench outputs, lockfile, repository-only workers and bench scripts or docs subdirectories');
  // every shipped .js has its .d.ts, and every relative import of a shipped .d.ts is shipped
  const shipped = new Set(files);
  t.same(files.filter((f) => f.startsWith('dist/') && f.endsWith('.js') && !shipped.has(f.replace(/\.js$/, '.d.ts'))), [], 'each module has its declarations');
  const dangling: string[] = [];
  for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      const target = join(dirname(f), `${m[1]!}.d.ts`);
      if (!shipped.has(target)) dangling.push(`${f} → ${target}`);
    }
  }
  t.same(dangling, [], 'the declarations import only shipped declarations');

  // --- install into an empty project, offline ----------------------------------------------------
  const app = join(work, 'app');
  mkdirSync(app);
  const tgz = join(work, info.filename);
  const spec = `file:../${info.filename}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { [PKG.name]: spec } },
    [`node_modules/${PKG.name}`]: {
      version: PKG.version, resolved: spec, integrity, license: PKG.license,
      dependencies: PKG.dependencies, bin: PKG.bin, engines: PKG.engines,
    },
  };
  for (const [path, entry] of Object.entries(LOCK.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { [PKG.name]: spec } }, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
  const inst = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
  t.equal(inst.code, 0, `npm ci --offline exits 0${inst.code ? `: ${inst.err}` : ''}`);
  const installed = join(app, 'node_modules', PKG.name);
  t.ok(existsSync(join(installed, 'dist/src/index.js')), 'the installed package holds dist/');
  t.notOk(existsSync(join(app, 'node_modules/tsx')), 'tsx is not installed: nothing in the package needs it at run time');
  t.notOk(existsSync(join(app, 'node_modules/typescript')), 'nor the compiler');

  // --- the bin: npx as a user types it; then the same installed bin without npx's start-up cost ---
  const dcdBin = join(app, 'node_modules/.bin/dcd');
  const v = await run('npx', ['--offline', 'dcd', '--version'], app);
  t.equal(v.code, 0, 'npx dcd --version exits 0');
  t.equal(v.out.trim(), `dcd ${PKG.version}`, 'prints the package version');

  const example = await run('npx', ['--offline', 'dcd', 'run', `node_modules/${PKG.name}/scenarios/untagged-group.json`], app);
  t.equal(example.code, 0, `npx dcd run <packaged example> exits 0${example.code ? `:\n${example.out}\n${example.err}` : ''}`);
  t.equal(example.err, '', 'nothing on stderr');
  t.match(example.out, /^all \d+ steps held$/m, 'every step held');
  const checks = example.out.slice(example.out.indexOf('\nchecks:\n'));
  const checkLines = checks.split('\n').filter((l) => /^ {2}(ok|FAIL|HAZARD) /.test(l));
  t.ok(checkLines.length >= 10, `the standard checkers ran (${checkLines.length} check lines)`);
  t.ok(checkLines.some((l) => /8\.1-4 accepted xor released/.test(l)), 'an extents invariant is among them');
  t.notOk(checkLines.some((l) => l.startsWith('  FAIL ')), 'no check failed');

  // a consumer's own scenario, validated against the packaged schema by package path
  const mine = {
    $schema: `./node_modules/${PKG.name}/schema/scenario.schema.json`,
    description: 'One untagged 64M extent offered and accepted into region0.',
    topology: { memdevs: [{ name: 'mem0' }] },
    steps: [
      { op: 'create-region', memdev: 'mem0', as: 'region0' },
      { op: 'wait-idle' },
      { op: 'add-capacity', memdev: 'mem0', extents: [{ offset: '0', length: '64M', tag: null }] },
      { op: 'wait-idle' },
      { op: 'expect', path: 'regions.region0.extents', count: 1 },
    ],
  };
  t.ok(existsSync(join(app, mine.$schema)), 'the $schema path resolves inside the consumer project');
  writeFileSync(join(app, 'mine.json'), JSON.stringify(mine, null, 2));
  const own = await run(process.execPath, [dcdBin, 'run', 'mine.json'], app);
  t.equal(own.code, 0, `dcd run mine.json exits 0${own.code ? `:\n${own.out}\n${own.err}` : ''}`);
  t.match(own.out, /^ok {3}\$\.steps\[4\] ok regions\.region0\.extents: expected count 1; actual: count 1$/m, 'its expectation held');

  // dcd stress with two pool threads (piscina starts dist/stress/pool-task.js from the install),
  // and a replay of the first trace it wrote, if an outcome wrote one. Controlled schedule: its
  // traces replay exactly; a free run's trace through an rwsem handoff may not (README, Limits)
  const st = await run(process.execPath, [dcdBin, 'stress', '--workload', 'two-claims', '--iterations', '4', '--jobs', '2', '--schedule', 'random', '--out', 'stress-out', '--json'], app);
  t.equal(st.code, 0, `dcd stress exits 0${st.code ? `:\n${st.out}\n${st.err}` : ''}`);
  const sum = JSON.parse(st.out || '{}') as { iterations?: number; forbidden?: number; outcomes?: Array<{ outcome: string; count: number; trace: string | null }> };
  t.equal(sum.iterations, 4, 'four iterations ran');
  t.equal(sum.forbidden, 0, 'nothing forbidden');
  t.equal((sum.outcomes ?? []).reduce((a, o) => a + o.count, 0), 4, 'each classified');
  const traced = sum.outcomes?.find((o) => o.trace);
  if (traced?.trace) {
    const rp = await run(process.execPath, [dcdBin, 'replay', traced.trace], app);
    t.equal(rp.code, 0, `dcd replay ${traced.trace} exits 0`);
    t.match(rp.out, /REPRODUCED/, `the ${traced.outcome} trace replays`);
  } else {
    t.comment('no outcome wrote a trace this time (all 4 iterations ok): replay not exercised');
  }

  // --- the library ---------------------------------------------------------------------------------
  writeFileSync(join(app, 'use.mjs'), `
import { createRequire } from 'node:module';
import { DcdSystem } from '${PKG.name}';
import { standardCheckers } from '${PKG.name}/checkers';
const MiB = 1024 * 1024;
const schema = createRequire(import.meta.url).resolve('${PKG.name}/schema/scenario.schema.json');
const sys = await DcdSystem.start({
  memdevs: [{ name: 'mem0', serial: 0, sharable: false, dc: { base: 2048 * MiB, size: 512 * MiB, blockSize: 2 * MiB }, preAccepted: [] }],
  variant: 'v11', device: 'qemu', clock: 'virtual', seed: 1,
});
try {
  for (const c of standardCheckers()) sys.addChecker(c);
  const region = await sys.createRegion(0, null);
  await sys.waitIdle();
  const add = await sys.device(0).call((fm) => fm.injectRecords([{ offset: 0, length: 64 * MiB, tag: null, more: false }]));
  await sys.waitIdle();
  const state = await sys.state();
  const checks = await sys.check();
  console.log(JSON.stringify({ region, add, state, checks, schema }));
} finally {
  await sys.stop();
}
`);
  const lib = await run('node', ['use.mjs'], app);
  t.equal(lib.code, 0, `node use.mjs exits 0 (started, added, read, stopped)${lib.code ? `:\n${lib.err}` : ''}`);
  const got = JSON.parse(lib.out || '{}') as {
    region?: { ok: boolean; value?: { name: string } };
    add?: { ok: boolean };
    state?: { regions: Record<string, { extents: Array<{ offset: number; length: number }> }>; memdevs: Record<string, { accepted: unknown[] }> };
    checks?: Array<{ invariant: string; ok: boolean; class: string }>;
    schema?: string;
  };
  t.match(got.region, { ok: true, value: { name: 'region0' } }, 'createRegion → region0');
  t.match(got.add, { ok: true }, 'the FM add was taken');
  t.match(got.state?.regions.region0?.extents, [{ offset: 0, length: 64 << 20 }], 'the state shows the 64M extent in region0');
  t.equal(got.state?.memdevs.mem0?.accepted.length, 1, 'and the device lists it accepted');
  t.ok((got.checks?.length ?? 0) >= 10, `the packaged checkers judged the run (${got.checks?.length ?? 0} results)`);
  t.same(got.checks?.filter((c) => c.class === 'forbidden' && !c.ok) ?? ['no checks'], [], 'nothing forbidden');
  t.equal(got.schema, join(installed, 'schema/scenario.schema.json'), 'the schema resolves by package path');

  // --- the types: a TypeScript consumer compiles against the shipped .d.ts (the repository's own
  // compiler and @types/node; the consumer installed neither). skipLibCheck keeps it to a second
  // or two: checking all of @types/node too costs 3.5× the CPU, and the declarations'
  // completeness is checked above from the file list
  writeFileSync(join(app, 'use.ts'), `
import { DcdSystem, type InjectU64Record, type SystemState } from '${PKG.name}';
import { standardCheckers, classify } from '${PKG.name}/checkers';
const MiB = 1024 * 1024;
const sys = await DcdSystem.start({ memdevs: [{ name: 'mem0', serial: 0, sharable: false, dc: { base: 2048 * MiB, size: 512 * MiB, blockSize: 2 * MiB }, preAccepted: [] }], device: 'cxl-test' });
for (const c of standardCheckers()) sys.addChecker(c);
const rec: InjectU64Record = { offset: 0xffffffff7fe00000n, length: 4n * BigInt(MiB), tag: null };
const r = await sys.device(0).call((fm) => fm.injectRecords([rec]));
const n: number = r.ok ? r.records : 0;
const s: SystemState = await sys.state();
console.log(n, classify(await sys.check()).outcome, Object.keys(s.regions));
await sys.stop();
`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
    },
    files: ['use.ts'],
  }));
  const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  t.equal(tsc.code, 0, `tsc accepts a consumer's use of the library and checkers types${tsc.code ? `:\n${tsc.out}${tsc.err}` : ''}`);
});
