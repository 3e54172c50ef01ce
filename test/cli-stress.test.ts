// dcd stress / replay / merge: bad input exits 2 naming what is wrong; a run writes the JSON
// contract; shards split a sweep exactly once; merge adds shards up.
import t from 'tap';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../src/cli/main.js';

function io(): CliIo & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (s) => out.push(s), err: (s) => err.push(s), outText: () => out.join('\n'), errText: () => err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'dcd-cli-stress-'));

t.test('bad input exits 2 and names it', async (t) => {
  let c = io();
  t.equal(await runCli(['stress', '--workload', 'nope'], c), 2);
  t.match(c.errText(), /unknown workload "nope"; known: .*two-claims/);
  c = io();
  t.equal(await runCli(['stress', '--schedule', 'pct:depth=x'], c), 2, 'bad schedule');
  c = io();
  t.equal(await runCli(['replay', join(dir, 'missing.json')], c), 2);
  t.match(c.errText(), /cannot read/);
  const notTrace = join(dir, 'not-a-trace.json');
  writeFileSync(notTrace, JSON.stringify({ hello: 1 }));
  c = io();
  t.equal(await runCli(['replay', notTrace], c), 2);
  t.match(c.errText(), /not a dcd stress trace/);
  const badSteps = join(dir, 'bad-steps.json');
  writeFileSync(badSteps, JSON.stringify({ kind: 'dcd-stress-trace', version: 1, workload: 'two-claims', seed: '1', variant: 'v11', device: 'cxl-test', outcome: 'x', schedule: 'free', iteration: 0, steps: 'no' }));
  c = io();
  t.equal(await runCli(['replay', badSteps], c), 2);
  t.match(c.errText(), /"steps" must be an array/);
  c = io();
  t.equal(await runCli(['merge', notTrace], c), 2);
  t.match(c.errText(), /not a dcd stress result/);
});

t.test('shards split the iterations exactly once and merge adds them up', async (t) => {
  const out = join(dir, 'shards');
  for (const s of ['1/2', '2/2']) {
    const c = io();
    t.equal(await runCli(['stress', '--workload', 'two-claims', '--iterations', '3', '--shard', s, '--out', out, '--json', '--seed', '5'], c), 0, `shard ${s} ran`);
    const j = JSON.parse(c.outText()) as { iterations: number; forbidden: number; outcomes: { outcome: string; class: string; count: number; firstSeed: string }[] };
    t.equal(j.iterations, 3);
    t.equal(j.forbidden, 0);
    t.ok(j.outcomes.every((o) => typeof o.outcome === 'string' && ['acceptable', 'forbidden', 'known-hazard'].includes(o.class) && o.count > 0 && /^5:\d+$/.test(o.firstSeed)), 'JSON contract {outcome, class, count, firstSeed, trace}');
    const seeds = j.outcomes.map((o) => Number(o.firstSeed.split(':')[1]));
    t.ok(seeds.every((i) => (s === '1/2' ? i % 2 === 0 : i % 2 === 1)), `shard ${s} took its own global iterations (${seeds.join(',')})`);
  }
  const files = readdirSync(out).filter((f) => f.endsWith('.json')).map((f) => join(out, f));
  t.equal(files.length, 2);
  const c = io();
  t.equal(await runCli(['merge', ...files, '--json'], c), 0);
  const m = JSON.parse(c.outText()) as { iterations: number };
  t.equal(m.iterations, 6, 'merged 3 + 3 iterations');
  void readFileSync;
});
