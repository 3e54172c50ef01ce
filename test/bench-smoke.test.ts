// `dcd bench` smoke: one tiny pipeline run on the real topology — the JSON has the documented shape
// (README.md) and events were counted. Never asserts anything about speed.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartSvg, formatReport, runBench, writeOutputs, type BenchReport } from '../bench/pipeline.js';
import { run } from '../src/cli/cmd-bench.js';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

t.test('a tiny pipeline bench produces the documented JSON', async (t) => {
  const report: BenchReport = await runBench({
    chains: [1],
    tagged: [false],
    memdevs: [1],
    devices: ['cxl-test'],
    variants: [{ label: 'v11', variant: 'v11', knobs: {} }],
    durationMs: 300,
    warmupMs: 100,
    latencyMs: 0,
    memoryEvents: 300,
    baselineRecords: 20_000,
  });
  // round trip through JSON: what `dcd bench --json` prints
  const j = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  t.ok(Array.isArray(j.results), 'results is an array');
  const results = j.results as Record<string, unknown>[];
  t.equal(results.length, 1, 'one cell');
  const r = results[0]!;
  for (const k of ['chain', 'memdevs', 'eventsPerSec', 'releasedPerSec', 'accepted', 'released']) t.ok(isNum(r[k]), `results[0].${k} is a number`);
  t.equal(typeof r.tagged, 'boolean', 'tagged is a boolean');
  t.equal(r.device, 'cxl-test');
  t.equal(r.variant, 'v11');
  const lat = r.latencyUs as Record<string, unknown>;
  for (const k of ['p50', 'p99', 'p999']) t.ok(k in lat, `latencyUs.${k} present`);
  t.ok(Array.isArray(r.lockStats), 'lock statistics per run');
  t.same(r.errors, [], 'the cell ran without errors');
  t.ok((r.accepted as number) > 0, 'extents were accepted (counted) in the window');
  t.ok((r.eventsPerSec as number) > 0, 'events per second counted');

  const b = j.baselines as Record<string, unknown>;
  t.ok(isNum(b.ringPerSec) && (b.ringPerSec as number) > 0, 'baselines.ringPerSec');
  t.ok(isNum(b.postMessagePerSec) && (b.postMessagePerSec as number) > 0, 'baselines.postMessagePerSec');
  // the protocol ceiling of the cell's command sequence, measured in the same run
  t.ok(isNum(b.protocolCeilingPerSec) && (b.protocolCeilingPerSec as number) > 0, `baselines.protocolCeilingPerSec (${String(b.protocolCeilingPerSec)})`);
  const ceilings = b.protocolCeilings as { device: string; chain: number; mboxPerExtent: number; errors: string[] }[];
  t.equal(ceilings.length, 1, 'one ceiling: one command sequence in this run');
  t.same([ceilings[0]!.device, ceilings[0]!.chain, ceilings[0]!.errors], ['cxl-test', 1, []], 'the ceiling ran the cell\'s device and chain without errors');
  t.ok(isNum(r.protocolCeilingPerSec) && isNum(r.vsCeiling), 'the cell carries its ceiling and its ratio to it');
  // same command sequence: a chain of 1 on cxl-test costs, per extent, Get + Add DC Response +
  // Clear for the add record and Get + Release DC + Clear for the release record (6), plus up to
  // one empty Get per record when the log is found empty before the FM's next record (≤ 8)
  for (const [who, v] of [['pipeline', r.mboxPerExtent as number], ['ceiling', ceilings[0]!.mboxPerExtent]] as const) {
    t.ok(isNum(v) && v >= 5.9 && v <= 8.1, `${who}: ${String(v)} mailbox commands per extent, within the chain's sequence [6, 8]`);
  }
  t.match(formatReport(report), /protocol ceiling/, 'the table prints the ceiling');
  // per-thread accounting (Linux counters, src/runtime/thread-stats.ts): the threads that did the
  // work are named, with their CPU time in the window
  const threads = r.threadsPerExtent as { name: string; cpuUs: number; sleeps: number; runqUs: number }[];
  if (process.platform === 'linux') {
    const by = new Map(threads.map((x) => [x.name, x]));
    for (const name of ['irq/mem0', 'device/mem0', 'main']) {
      const x = by.get(name);
      t.ok(x && x.cpuUs > 0, `${name} ran on a CPU in the window (${x ? x.cpuUs : 'absent'} µs per extent)`);
    }
    // the event thread sleeps on its interrupt word between chains: a chain of 1 per FM call
    t.ok((by.get('irq/mem0')?.sleeps ?? 0) > 0, `the event thread slept between chains (${by.get('irq/mem0')?.sleeps} per extent)`);
    t.match(formatReport(report), /per thread, per accepted extent/, 'the table prints the per-thread accounting');
    // the ceiling's two threads, read at its window's edges, for the same comparison
    const ct = (ceilings[0] as unknown as { threadsPerExtent: { name: string; cpuUs: number }[] }).threadsPerExtent;
    t.same(ct.map((x) => x.name).sort(), ['ceiling-device', 'ceiling-host'], 'the ceiling reports its host and device threads');
    t.ok(ct.every((x) => x.cpuUs > 0), `both ran in the ceiling's window (${ct.map((x) => `${x.name} ${x.cpuUs}`).join(', ')} µs per extent)`);
    t.match(formatReport(report), /its protocol ceiling \(host; device/, 'the table prints the ceiling\'s threads under the cell\'s');
  } else {
    t.same(threads, [], 'no per-thread accounting off Linux');
  }

  const m = j.memory as Record<string, unknown>;
  for (const k of ['rssBeforeBytes', 'rssAfterBytes', 'events']) t.ok(isNum(m[k]), `memory.${k} is a number`);
  t.ok((m.events as number) > 0, 'memory run counted events');
  // every worker isolate answered a heap reading over the control plane, before and after
  const workers = m.workers as Record<string, { before: { usedHeapBytes: number }; after: { usedHeapBytes: number } }>;
  for (const name of ['device/mem0', 'irq/mem0', 'workqueue/mem0', 'dax-bus', 'user0']) {
    t.ok((workers[name]?.before.usedHeapBytes ?? 0) > 0 && (workers[name]?.after.usedHeapBytes ?? 0) > 0, `memory.workers['${name}'] has heap readings`);
  }
  const curve = m.curve as { events: number; rssBytes: number }[];
  t.ok(curve.length >= 2 && curve[0]!.events === 0 && curve[curve.length - 1]!.events === m.events, `the memory curve runs from 0 to ${String(m.events)} events (${curve.length} points)`);

  t.match(formatReport(report), /pipeline/, 'the terminal table renders');
  t.match(chartSvg(report), /^<svg[\s\S]*<\/svg>\n$/, 'the chart is an SVG document');
  const dir = mkdtempSync(join(tmpdir(), 'dcd-bench-'));
  try {
    const files = writeOutputs(report, dir);
    t.same(Object.keys(JSON.parse(readFileSync(files.json, 'utf8')) as object).filter((k) => ['results', 'baselines', 'memory'].includes(k)).sort(), ['baselines', 'memory', 'results'], 'bench.json written');
    t.match(readFileSync(files.svg, 'utf8'), /<svg/, 'bench.svg written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('dcd bench refuses the hostile device (bad input, exit 2)', async (t) => {
  const err: string[] = [];
  const code = await run({ kind: 'bench', json: false, quick: true, knobs: {}, device: 'hostile' }, { out: () => undefined, err: (s) => err.push(s) });
  t.equal(code, 2);
  t.match(err.join('\n'), /hostile/);
});
