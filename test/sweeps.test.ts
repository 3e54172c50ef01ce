// Sweeps on a real scheduler (docs/sweeps.md): the shard and merge commands that
// .github/workflows/sweep.yml and deploy/sweep-job.yaml run are extracted from those files (the
// marked `# >>> dcd-sweep NAME` … `# <<< dcd-sweep NAME` blocks, byte-identical in every file),
// then run exactly as written for a tiny sweep — 3 shards × 4 iterations of a fast workload under
// the controlled random schedule — once the Kubernetes way (JOB_COMPLETION_INDEX 0..2, pods at
// once) and once the GitHub Actions way (matrix SHARD 1..3), each followed by the merge block.
// Asserted: each shard ran its 4 iterations and only iterations of its own residue class, the
// union holds all 12 exactly once (counts add up, no iteration seen twice), the merged table is
// the sum of the shards, and both schedulers' sweeps produced the same outcomes. The merge block's
// exit codes: 2 with nothing to merge, 1 (after writing and printing the table) on a forbidden one.
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = {
  actions: join(root, '.github/workflows/sweep.yml'),
  kubernetes: join(root, 'deploy/sweep-job.yaml'),
  merge: join(root, 'deploy/merge-job.yaml'),
  docs: join(root, 'docs/sweeps.md'),
} as const;

/**
 * The lines between `# >>> dcd-sweep NAME` and `# <<< dcd-sweep NAME` (each exactly once, in that
 * order), with the begin marker's indentation removed. Strict: a content line indented less than
 * its marker, a missing or repeated marker, or an empty block throws, naming the file.
 */
function block(file: string, name: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const begin = new RegExp(`^(\\s*)# >>> dcd-sweep ${name}$`);
  const end = new RegExp(`^\\s*# <<< dcd-sweep ${name}$`);
  const b = lines.flatMap((l, i) => (begin.test(l) ? [i] : []));
  const e = lines.flatMap((l, i) => (end.test(l) ? [i] : []));
  if (b.length !== 1 || e.length !== 1 || e[0]! <= b[0]! + 1) {
    throw new Error(`${file}: block "${name}" needs one begin and one end marker around ≥ 1 line (found ${b.length} begin, ${e.length} end)`);
  }
  const indent = begin.exec(lines[b[0]!]!)![1]!;
  return lines.slice(b[0]! + 1, e[0]!).map((l, k) => {
    if (!l.startsWith(indent)) throw new Error(`${file}:${b[0]! + k + 2}: block "${name}" line is indented less than its marker`);
    return l.slice(indent.length);
  }).join('\n');
}

/** A `key: value` scalar that occurs exactly once in a YAML file (plain, or a quoted k8s env value). */
function scalar(file: string, re: RegExp): string {
  const m = [...readFileSync(file, 'utf8').matchAll(new RegExp(re.source, 'gm'))];
  if (m.length !== 1) throw new Error(`${file}: expected exactly one match of ${re.source}, found ${m.length}`);
  return m[0]![1]!;
}

interface Summary { workload: string; seed: string; shard?: string; iterations: number; forbidden: number; outcomes: { outcome: string; count: number; firstIteration: number }[] }
interface ShardSeen { summary: Summary; traced: number[] }

const SWEEP = { WORKLOAD: 'watchdog-vs-late-tail', BUDGET: '--iterations 4', SCHEDULE: 'random', SEED: '7', JOBS: '1', EXTRA: '', SHARDS: '3' };
const N = 4;
const SHARDS = 3;

function env(results: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...SWEEP, RESULTS: results, ...extra };
}

function run(shell: string, args: string[], script: string, e: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(shell, [...args, script], { cwd: root, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, out, err }));
  });
}

/** Read what each shard directory of a sweep holds: its summary and the iterations it traced. */
function readSweep(results: string): Map<number, ShardSeen> {
  const seen = new Map<number, ShardSeen>();
  for (let i = 1; i <= SHARDS; i++) {
    const dir = join(results, `shard-${i}`);
    const summary = JSON.parse(readFileSync(join(dir, `${SWEEP.WORKLOAD}-${SWEEP.SEED}-shard${i}of${SHARDS}.json`), 'utf8')) as Summary;
    const tdir = join(dir, 'traces');
    const traced = existsSync(tdir)
      ? readdirSync(tdir).map((f) => (JSON.parse(readFileSync(join(tdir, f), 'utf8')) as { iteration: number }).iteration).sort((a, b) => a - b)
      : [];
    seen.set(i, { summary, traced });
  }
  return seen;
}

function checkSweep(t: Test, label: string, results: string, mergeOut: string): Map<number, ShardSeen> {
  const seen = readSweep(results);
  const all: number[] = [];
  const counts = new Map<string, number>();
  for (const [i, { summary, traced }] of seen) {
    t.equal(summary.shard, `${i}/${SHARDS}`, `${label}: shard ${i} labelled ${i}/${SHARDS}`);
    t.equal(summary.iterations, N, `${label}: shard ${i} ran its ${N} iterations`);
    t.equal(summary.outcomes.reduce((n, o) => n + o.count, 0), N, `${label}: shard ${i}'s outcome counts add up to its iterations`);
    const own = [...traced, ...summary.outcomes.map((o) => o.firstIteration)];
    t.ok(own.every((k) => k % SHARDS === i - 1 && k >= 0 && k < N * SHARDS), `${label}: shard ${i} touched only its own global iterations (${[...new Set(own)].sort((a, b) => a - b).join(',')})`);
    all.push(...traced);
    for (const o of summary.outcomes) counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + o.count);
  }
  t.equal(new Set(all).size, all.length, `${label}: no iteration traced by two shards`);
  t.ok(all.length > 0, `${label}: the residue checks saw traced iterations (${all.length})`);
  const merged = JSON.parse(readFileSync(join(results, 'merged.json'), 'utf8')) as Summary;
  t.equal(merged.iterations, N * SHARDS, `${label}: the merged sweep holds ${N * SHARDS} iterations`);
  t.same(Object.fromEntries(merged.outcomes.map((o) => [o.outcome, o.count])), Object.fromEntries(counts), `${label}: merged counts are the sum of the shards`);
  t.match(mergeOut, new RegExp(`^${N * SHARDS} iterations in `, 'm'), `${label}: the merge block printed the merged table`);
  t.comment(`${label}: ${N * SHARDS} iterations in ${SHARDS} shards, ${all.length} traced: ${[...counts].map(([o, n]) => `${o} ${n}`).join(', ')}`);
  return seen;
}

t.test('the shard and merge commands are one text in every file that runs them', async (t) => {
  for (const name of ['shard', 'merge']) {
    const a = block(FILES.actions, name);
    t.equal(block(FILES.docs, name), a, `docs/sweeps.md ${name} block = the workflow's`);
    t.equal(block(name === 'merge' ? FILES.merge : FILES.kubernetes, name), a, `deploy ${name} block = the workflow's`);
  }
  t.equal(block(FILES.kubernetes, 'index'), 'SHARD=$((JOB_COMPLETION_INDEX + 1))', 'the Job maps its 0-based completion index to the 1-based --shard');
  t.equal(block(FILES.docs, 'index'), block(FILES.kubernetes, 'index'), 'docs/sweeps.md index block = the Job\'s');
  // the shard count is written in three places per scheduler; they must agree
  const kShards = scalar(FILES.kubernetes, /^\s*- name: SHARDS\n\s*value: "(\d+)"$/);
  t.equal(scalar(FILES.kubernetes, /^\s*completions: (\d+)$/), kShards, 'Job completions = SHARDS');
  t.equal(scalar(FILES.kubernetes, /^\s*parallelism: (\d+)$/), kShards, 'Job parallelism = SHARDS');
  const aShards = Number(scalar(FILES.actions, /^\s*SHARDS: (\d+)$/));
  const matrix = scalar(FILES.actions, /^\s*shard: \[([\d, ]+)\]$/).split(',').map((s) => Number(s.trim()));
  t.same(matrix, Array.from({ length: aShards }, (_, k) => k + 1), 'workflow matrix shard list = 1..SHARDS');
});

t.test('a tiny sweep run by the files\' own commands covers every iteration once', async (t) => {
  t.ok(existsSync(join(root, 'dist/src/cli/main.js')), 'dist/ is built (npm test builds it first)');
  const shard = block(FILES.actions, 'shard');
  const merge = block(FILES.actions, 'merge');
  const index = block(FILES.kubernetes, 'index');

  // Kubernetes: every index at once, each pod's `sh -c` script = index block + shard block
  const k8s = mkdtempSync(join(tmpdir(), 'dcd-sweep-k8s-'));
  const pods = await Promise.all([0, 1, 2].map((idx) => run('/bin/sh', ['-c'], `${index}\n${shard}`, env(k8s, { JOB_COMPLETION_INDEX: String(idx) }))));
  pods.forEach((p, idx) => t.equal(p.status, 0, `pod ${idx} exited 0${p.status === 0 ? '' : `: ${p.err}`}`));
  const km = await run('/bin/sh', ['-c'], merge, env(k8s, {}));
  t.equal(km.status, 0, `merge Job exited 0${km.status === 0 ? '' : `: ${km.err}`}`);
  const kSeen = checkSweep(t, 'kubernetes', k8s, km.out);

  // GitHub Actions: one matrix job after another, `bash -e` as `run:` steps are
  const gha = mkdtempSync(join(tmpdir(), 'dcd-sweep-gha-'));
  for (let s = 1; s <= SHARDS; s++) {
    const r = await run('bash', ['-e', '-c'], shard, env(gha, { SHARD: String(s) }));
    t.equal(r.status, 0, `matrix shard ${s} exited 0${r.status === 0 ? '' : `: ${r.err}`}`);
  }
  const gm = await run('bash', ['-e', '-c'], merge, env(gha, {}));
  t.equal(gm.status, 0, `merge job exited 0${gm.status === 0 ? '' : `: ${gm.err}`}`);
  const gSeen = checkSweep(t, 'actions', gha, gm.out);

  // the controlled schedule is deterministic by (seed, iteration): both schedulers' shard k ran
  // the same iterations to the same outcomes, so index k ↦ shard k+1 is the matrix's shard k+1
  for (let i = 1; i <= SHARDS; i++) {
    t.same(kSeen.get(i)!.traced, gSeen.get(i)!.traced, `shard ${i}: same traced iterations under both schedulers`);
    t.same(kSeen.get(i)!.summary.outcomes.map((o) => [o.outcome, o.count]), gSeen.get(i)!.summary.outcomes.map((o) => [o.outcome, o.count]), `shard ${i}: same outcome counts under both schedulers`);
  }
});

t.test('the merge step fails loudly on a missing shard result', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'dcd-sweep-empty-'));
  const r = spawnSync('bash', ['-e', '-c', block(FILES.actions, 'merge')], { cwd: root, env: env(empty, {}), encoding: 'utf8' });
  t.equal(r.status, 2, 'no shard results: exit 2, not a clean empty table');
  t.match(r.stderr, /cannot|ENOENT|no such file/i, `names what is missing (${r.stderr.trim().split('\n')[0]})`);
});

t.test('a forbidden outcome in one shard: the merge step still writes and prints the merged table, then exits 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dcd-sweep-forbidden-'));
  const row = (outcome: string, cls: string, count: number, first: number) => ({ outcome, class: cls, count, firstSeed: `7:${first}`, firstIteration: first, trace: null, description: '' });
  const part = (i: number, forbidden: number, outcomes: unknown[]) => ({
    workload: 'same-tag-two-memdevs', variant: 'v11', knobs: { 'tag-lock': 'off' }, device: 'cxl-test', schedule: 'random', seed: '7',
    iterations: 2, forbidden, knownHazards: 0, elapsedMs: 1, iterationsPerSec: 2, outcomes, shard: `${i}/2`,
  });
  mkdirSync(join(dir, 'shard-1'));
  mkdirSync(join(dir, 'shard-2'));
  writeFileSync(join(dir, 'shard-1', 'same-tag-two-memdevs-7-shard1of2.json'), JSON.stringify(part(1, 1, [row('tag-registered-twice', 'forbidden', 1, 2), row('ok', 'acceptable', 1, 0)])));
  writeFileSync(join(dir, 'shard-2', 'same-tag-two-memdevs-7-shard2of2.json'), JSON.stringify(part(2, 0, [row('ok', 'acceptable', 2, 1)])));
  const r = spawnSync('bash', ['-e', '-c', block(FILES.actions, 'merge')], { cwd: root, env: env(dir, {}), encoding: 'utf8' });
  t.equal(r.status, 1, 'exit 1: the sweep found something forbidden');
  const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as Summary;
  t.equal(merged.iterations, 4);
  t.equal(merged.forbidden, 1, 'merged.json written before the failing exit');
  t.match(r.stdout, /tag-registered-twice\s+1\s+forbidden/, 'the table names the forbidden outcome');
});
