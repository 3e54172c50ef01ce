// Findings are grouped by signature across seeds, jobs and shards: two shards of the row (a)
// sweep each find the tag registry race; `dcd merge` shows it once, with the summed count, the
// first finder (lowest global iteration) and the shortest reproducer; different races keep
// different signatures. `--minimize S` minimizes each finding's reproducer.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../src/cli/main.js';
import { mergeFindings, signatureOf, type FindingRow } from '../stress/signature.js';
import type { StressSummary } from '../stress/runner.js';

function io(): CliIo & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (s) => out.push(s), err: (s) => err.push(s), outText: () => out.join('\n'), errText: () => err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'dcd-dedup-'));

t.test('signatures: the racing functions from the events, stable across handles and seeds', async (t) => {
  const reg = (thread: string, group: number): { step: number; thread: string; ev: { type: 'tag-registered'; uuid: string; group: number; memdev: number } } =>
    ({ step: 3, thread, ev: { type: 'tag-registered', uuid: '11111111-2222-3333-4444-555555555555', group, memdev: thread.endsWith('1') ? 1 : 0 } });
  const a = signatureOf('tag-registered-twice', [reg('irq/mem0', 65537), reg('irq/mem1', 196608)]);
  const b = signatureOf('tag-registered-twice', [reg('irq/mem1', 7), reg('irq/mem0', 9)]);
  t.equal(a.signature, 'tag-registered-twice@cxl_tag_register/cxl_tag_register');
  t.equal(a.signature, b.signature, 'handles and thread order do not change the signature');
  t.equal(a.title, 'DCD: tag registered twice in cxl_tag_register / cxl_tag_register');
  const c = signatureOf('partial-group-claimed', [
    { step: 1, thread: 'irq/mem0', ev: { type: 'dax-group', region: 5, group: 6, n: 3, add: 1, rc: 0 } },
    { step: 2, thread: 'user0', ev: { type: 'claim', region: 5, dev: 1, uuid: '11111111-2222-3333-4444-555555555555', rc: 0, nRanges: 1, size: 1, groupMembers: 3 } },
  ]);
  t.equal(c.signature, 'partial-group-claimed@dax_region_add_resources/uuid_store');
  t.not(c.signature, a.signature, 'different races, different signatures');
  const rows: FindingRow[][] = [
    [{ signature: 's1', title: 'T1', outcome: 'o', class: 'forbidden', count: 2, firstSeed: '7:4', firstIteration: 4, schedule: 'random', trace: 'long', traceSteps: 40 }],
    [{ signature: 's1', title: 'T1', outcome: 'o', class: 'forbidden', count: 3, firstSeed: '7:1', firstIteration: 1, schedule: 'random', trace: 'short', traceSteps: 20 },
      { signature: 's2', title: 'T2', outcome: 'p', class: 'known-hazard', count: 1, firstSeed: '7:3', firstIteration: 3, schedule: 'pct:depth=3', trace: null, traceSteps: null }],
  ];
  const m = mergeFindings(rows);
  t.equal(m.length, 2);
  t.same(m[0], { signature: 's1', title: 'T1', outcome: 'o', class: 'forbidden', count: 5, firstSeed: '7:1', firstIteration: 1, schedule: 'random', trace: 'short', traceSteps: 20 }, 'counts add; first finder and shortest reproducer kept');
});

t.test('dcd stress shards and dcd merge group findings by signature', async (t) => {
  const out = join(dir, 'shards');
  for (const s of ['1/2', '2/2']) {
    const c = io();
    const code = await runCli(['stress', '--workload', 'same-tag-two-memdevs', '--knob', 'tag-lock=off', '--schedule', 'random', '--seed', '7', '--iterations', '4', '--shard', s, '--out', out, '--json'], c);
    t.equal(code, 1, `shard ${s}: forbidden found (exit 1)`);
  }
  const files = readdirSync(out).filter((f) => f.endsWith('.json')).map((f) => join(out, f));
  t.equal(files.length, 2);
  const parts = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as StressSummary);
  const per = parts.map((p) => p.findings?.find((f) => f.outcome === 'tag-registered-twice'));
  t.comment(`per shard: ${per.map((f) => `${f?.count}× first ${f?.firstSeed} (${f?.traceSteps} steps)`).join('; ')}`);
  t.ok(per.every((f) => f && f.count >= 1), 'each shard found the registry race');
  const c = io();
  t.equal(await runCli(['merge', ...files, '--json'], c), 1);
  const m = JSON.parse(c.outText()) as StressSummary;
  const reg = m.findings!.filter((f) => f.outcome === 'tag-registered-twice');
  t.equal(reg.length, 1, 'one finding for the race across both shards');
  t.equal(reg[0]!.signature, 'tag-registered-twice@cxl_tag_register/cxl_tag_register');
  t.equal(reg[0]!.count, per.reduce((n, f) => n + (f?.count ?? 0), 0), 'occurrences add up');
  const firsts = per.map((f) => f!.firstIteration);
  t.equal(reg[0]!.firstIteration, Math.min(...firsts), 'first finder is the lowest global iteration');
  t.equal(reg[0]!.schedule, 'random');
  t.equal(reg[0]!.traceSteps, Math.min(...per.map((f) => f!.traceSteps ?? Infinity)), 'the shortest reproducer is kept');
  const row = m.outcomes.find((o) => o.outcome === 'tag-registered-twice')!;
  t.equal(row.count, reg[0]!.count, 'the outcome table agrees');
  const txt = io();
  await runCli(['merge', ...files], txt);
  t.match(txt.outText(), /findings by signature \(\d+\):\n {2}DCD: tag registered twice in cxl_tag_register \/ cxl_tag_register {2}\[forbidden\]/, 'merge prints the findings by title');
});

t.test('--minimize S minimizes each finding', async (t) => {
  const out = join(dir, 'min');
  const c = io();
  const code = await runCli(['stress', '--workload', 'same-tag-two-memdevs', '--knob', 'tag-lock=off', '--schedule', 'random', '--seed', '7', '--iterations', '2', '--out', out, '--json', '--minimize', '20'], c);
  t.equal(code, 1);
  t.comment(c.errText());
  const j = JSON.parse(c.outText()) as StressSummary;
  const f = j.findings!.find((x) => x.outcome === 'tag-registered-twice')!;
  t.ok(f.minimized && existsSync(f.minimized), `minimized trace written: ${f.minimized}`);
  t.match(c.errText(), /minimized DCD: tag registered twice .*preemptions/);
});

t.test('H28 keeps its two paths apart: a claim inside the teardown, or the shrink', async (t) => {
  // the stored controlled traces of each path (docs/findings-open.md); their recorded events only
  const sig = (f: string): string => {
    const tr = JSON.parse(readFileSync(join('docs/findings-open', f), 'utf8')) as { record: { events: Parameters<typeof signatureOf>[1] } };
    return signatureOf('dax-mapping-stale-range-h28', tr.record.events).signature;
  };
  t.equal(sig('mapping-claim-in-teardown-dax-mapping-stale-range-h28-5-248.trace.json'), 'dax-mapping-stale-range-h28@unregister_dax_mapping/uuid_store',
    'a claim after the teardown took the devres list registered the stale action');
  t.equal(sig('mapping-shrink-vs-teardown-dax-mapping-stale-range-h28-5-141.trace.json'), 'dax-mapping-stale-range-h28@dev_dax_shrink/unregister_dax_mapping',
    'the shrink could not release the action the teardown took');
  // a claim before the teardown (the shrink path's setup) does not make it the claim path
  const ev = (step: number, type: 'claim' | 'region-teardown'): Parameters<typeof signatureOf>[1][number] => type === 'claim'
    ? { step, thread: 'user0', ev: { type, region: 1, dev: 2, uuid: '11111111-2222-3333-4444-555555555555', rc: 0, nRanges: 1, size: 1, groupMembers: 2 } }
    : { step, thread: 'dax-bus', ev: { type, region: 1, extents: 2 } };
  t.match(signatureOf('dax-mapping-stale-range-h28', [ev(1, 'claim'), ev(2, 'region-teardown')]).signature, /@dev_dax_shrink\//);
  t.match(signatureOf('dax-mapping-stale-range-h28', [ev(1, 'region-teardown'), ev(2, 'claim')]).signature, /\/uuid_store$/);
});

t.test('H27 names its draining side from the lock report: the shrink, or unregister_dev_dax', async (t) => {
  const shrink = 'H27: waited 2 ms (bound 1500): user0 holds kn->active(start)(read), waits for dax_region_rwsem(write); holder user1 holds kn->active(size)(read), dax_region_rwsem(write), dax_dev_rwsem(write), waits for kn->active(start)(write)';
  const unbind = 'H27: cycle kn->active(start) -> dax_region_rwsem -> kn->active(start) (new: dax-bus device_lock(cxlr_dax) -> dax_region_rwsem -> kn->active(start); recorded: user1 kn->active(start) -> dax_region_rwsem)';
  t.equal(signatureOf('hung-wait-h27', [], shrink).signature, 'hung-wait-h27@dev_dax_shrink/start_show');
  t.equal(signatureOf('lock-order-h27', [], unbind).signature, 'lock-order-h27@start_show/unregister_dev_dax');
});

t.test('every stored trace carries the signature its events and report give now', async (t) => {
  // a stored trace's signature/title are what `dcd stress` computed when it was recorded; a
  // witness rule that changes must re-take them (dcd merge groups findings by this field)
  const files: string[] = [];
  const walk = (d: string): void => { for (const f of readdirSync(d, { withFileTypes: true })) { const p = join(d, f.name); if (f.isDirectory()) walk(p); else if (f.name.endsWith('.trace.json')) files.push(p); } };
  for (const d of ['docs', 'scenarios', 'test']) if (existsSync(d)) walk(d);
  let n = 0;
  for (const f of files) {
    const tr = JSON.parse(readFileSync(f, 'utf8')) as { outcome: string; detail?: string; signature?: string; title?: string; record?: { events: Parameters<typeof signatureOf>[1] } };
    if (!tr.signature || !tr.record) continue;
    n++;
    const s = signatureOf(tr.outcome, tr.record.events, tr.detail ?? '');
    t.equal(tr.signature, s.signature, f);
    t.equal(tr.title, s.title, `${f}: title`);
  }
  t.ok(n >= 40, `${n} stored traces with a signature checked`);
});
