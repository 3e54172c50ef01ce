/**
 * DOC: `npm run findings` — regenerate docs/findings/ from the current code: a verdict on each
 * concurrency assumption the v11 cover letter states, and a report per hazard the model
 * reproduces (stress/report.ts), the page a reviewer of the series would be sent.
 *
 * Everything on the pages is measured by this run: each assumption's verdict comes from counts of
 * controlled-schedule stress runs (the assumption as v11 implements it, and the same workload with
 * the one knob that drops the mechanism it relies on) and from which hazards reproduced; each
 * hazard is found by its targeted workload, minimized, explained, and its fix candidates re-run.
 * Traces land in docs/findings/traces/ and replay with `dcd replay`.
 *
 * Usage: `npm run findings` (or `node --import=tsx stress/findings.ts [OUT] [--runs N] [--only H23,H24]`).
 * `--only` regenerates the named hazards' pages (and the assumption pages that cite them) and
 * their index rows, leaving every other page, trace and row as the last full run wrote it.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Knobs } from '../src/scenario/types.js';
import { StressJob, type Schedule } from './runner.js';
import './findings-workloads.js';
import { buildReport, type ReportFinding } from './report.js';

export interface HazardSpec { id: string; what: string; workload: string; want: string; seed: string; max: number; knobs?: Knobs; schedule?: Schedule; test?: string }

export const HAZARDS: HazardSpec[] = [
  { id: 'H2', what: 'a runtime chain against the region probe\'s recovery scan: the AB-BA between add_ctx.lock and device_lock(cxlr_dax)', workload: 'chain-close-vs-probe', want: 'hung-wait-h2', seed: '7', max: 16 },
  { id: 'H4', what: 'the 20 s watchdog answers a stalled chain, then its late More=0 tail is answered again', workload: 'watchdog-vs-late-tail', want: 'double-response-after-timeout', seed: '7', max: 8 },
  { id: 'H5', what: 'a release walks cxlr_dax->dc_extents without RCU while the cxl_dax_region unbind frees them', workload: 'release-vs-teardown', want: 'dc-extent-use-after-free-h5', seed: '7', max: 16 },
  { id: 'H6', what: 'concurrent last puts of one group\'s extentX.Y devices race on the non-atomic nr_extents', workload: 'extent-refs-vs-release', want: 'tag-leaked', seed: '4', max: 60 }, // under the workload's knob extent-refs=user (NOT v11); seed 8 stopped finding it when dax_release_resource moved into device_del
  // the teardown window is a few instructions wide: PCT (depth 3) reaches it (test/stress-h14.test.ts)
  { id: 'H14', what: 'a region teardown (cxl_dax_region unbind or region destroy) between the event thread\'s online_tag_group of a chain and its Add DC Response', workload: 'teardown-vs-add-response', want: 'response-lists-torn-down', seed: '7', max: 60, schedule: { kind: 'pct', depth: 3 }, test: 'test/stress-h14.test.ts' },
  { id: 'H15', what: 'the cxl_dax_region unbind of a region whose seed device claimed a group onlined after it: devres in reverse order frees the claimed dax_resource before unregister_dev_dax trims it', workload: 'teardown-claimed-seed', want: 'dax-resource-use-after-free-trim', seed: '7', max: 8, test: 'test/stress-h14.test.ts' },
  { id: 'H16', what: '`cxl disable-region` leaves cxlr->cxlr_dax pointing at the freed cxl_dax_region; a later add reaches E5/E6 through it', workload: 'disabled-region-add', want: 'cxlr-dax-use-after-free-disabled-region', seed: '7', max: 8, test: 'test/stress-h14.test.ts' },
  { id: 'H17', what: 'the probe\'s existing-extent scan, a release (cxl_rm_extent) and a cxl_rwsem.region writer deadlock through the rwsem handoff', workload: 'release-vs-probe-scan-vs-writer', want: 'hung-wait-h17', seed: '7', max: 60, test: 'test/locks-h17.test.ts' },
  { id: 'H18', what: 'a chain two of whose members overlap: cxlr_dax_classify_extent compares with dc_extents only, so both become dc_extents of one group', workload: 'dup-range-in-chain', want: 'extent-dup-in-chain', seed: '7', max: 8, test: 'test/host-drain-classify.test.ts' },
  // the window is one scan step wide (between the Get DC Extent List and cxlr_dax_classify_extent)
  // and the put is six: about 1 in 200 controlled iterations (seed 3: iteration 4 of 200)
  { id: 'H23', what: 'the cxl_dax_region probe\'s existing-extent scan against a held extent\'s last put: dc_extent_release\'s Release DC and xa_erase fall between the scan\'s Get DC Extent List and its cxlr_dax_classify_extent, so the scan realizes a range the device has taken back', workload: 'held-release-vs-rescan', want: 'host-extent-released-under-scan-h23', seed: '3', max: 40, test: 'test/stress-findings-open-2.test.ts' },
  { id: 'H24', what: '`daxctl create-device` with a group\'s uuid against the cxl_dax_region unbind: its per-member dc_extent_unregister devres actions hold no dax_region_rwsem across the group, so uuid_claim_tagged between two of them takes part of the group', workload: 'claim-vs-teardown', want: 'partial-group-claimed-in-teardown-h24', seed: '7', max: 16, test: 'test/h24-controlled.test.ts' },
  // the window is the chain's realization (from its classify to its Add DC Response) against a
  // put of six steps: 23 of 200 controlled random iterations (seed 3: iteration 5)
  { id: 'H25', what: 'a held extent\'s last put against a chain that re-offers part of it: cxlr_dax_classify_extent accepts the range again as a duplicate of the held extent, whose Release DC then goes out before the Add DC Response that lists the range', workload: 'held-release-vs-reoffer', want: 'response-lists-released-h25', seed: '3', max: 40, test: 'test/extents-h25-h14-overlap.test.ts' },
  // the window is the event thread's step from the DAX add to the response's mailbox command:
  // PCT (depth 3) reaches it, 3 of 300 iterations at seed 3 (the first at iteration 63); random 0 of 300
  { id: 'H26', what: '`daxctl create-device --uuid` and a write against the chain that offers the group: cxl_add_pending adds the group\'s DAX resources before it sends the Add DC Response, so the claimed device maps capacity the device has not seen accepted', workload: 'claim-write-vs-add-response', want: 'dax-access-refused-h26', seed: '3', max: 80, schedule: { kind: 'pct', depth: 3 }, test: 'test/h26-data.test.ts' },
  // found by modelling the DAX mapping devices (docs/fidelity-mapping.md): the controlled random
  // search at seed 5 finds each within ten iterations (test/dax-mapping-findings.test.ts)
  { id: 'H27', what: 'a read of daxR.D/mappingN/start against size_store(0): get_dax_range waits for dax_region_rwsem (down_write_killable) inside the attribute\'s kernfs active reference, which dev_dax_shrink\'s unregister_dax_mapping → device_del drains while holding dax_region_rwsem', workload: 'mapping-read-vs-shrink', want: 'hung-wait-h27', seed: '5', max: 40, test: 'test/dax-mapping.test.ts' },
  { id: 'H28', what: '`daxctl destroy-device` (size_store(0)) inside a cxl_dax_region unbind: devm_release_action cannot find the unregister_dax_mapping action devres_release_all already took, the shrink trims the ranges anyway, and the teardown\'s unregister_dax_mapping then writes dev_dax->ranges[range_id] after ranges was freed', workload: 'mapping-shrink-vs-teardown', want: 'dax-mapping-stale-range-h28', seed: '5', max: 40, test: 'test/dax-mapping-findings.test.ts' },
];

interface Check { label: string; workload: string; knobs: Knobs; want: string[]; n: number; seed: string }

interface Assumption {
  id: string;
  quote: string;
  /** the v11 mechanism the assumption rests on */
  mechanism: string;
  /** v11 as posted, then the mechanism dropped */
  v11: Check;
  broken: Check;
  /** hazards (ids) that show the assumption failing outside the mechanism */
  others: string[];
  verdict: (v11Hits: number, brokenHits: number, others: string[]) => string;
}

const ASSUMPTIONS: Assumption[] = [
  {
    id: 'serial-event-handling',
    quote: 'DCD events for a memdev are delivered and handled serially by that device\'s event-interrupt thread … [no] multiple host threads could process a single DCD add event, or concurrently mutate one tag group',
    mechanism: 'one cxl_event_thread per memdev drains the DC log under event.log_lock and handles each record in order (cxl_mem_get_records_log → cxl_handle_dcd_event_records)',
    v11: { label: 'v11: one event thread per memdev', workload: 'parallel-handlers', knobs: {}, want: ['chain-mixed'], n: 8, seed: '7' },
    broken: { label: 'two handlers per memdev (parallel-event-handlers=2)', workload: 'parallel-handlers', knobs: { 'parallel-event-handlers': 2 } as Knobs, want: ['chain-mixed'], n: 8, seed: '7' },
    others: ['H4', 'H6', 'H5', 'H2', 'H14', 'H17', 'H23', 'H24'],
    verdict: (v, b, o) => (v === 0 && o.length === 0 ? 'holds' : v === 0 ? `holds for the event records, but not for these other contexts: ${o.join(', ')}` : 'broken'),
  },
  {
    id: 'one-memdev-per-tag',
    quote: 'a tag group is owned by exactly one memory device',
    mechanism: 'cxl_tag_lock around the host-wide registry check and insert (cxl_tag_already_committed, cxl_tag_register), and the G1 gate in cxl_validate_group',
    v11: { label: 'v11: the same tag closing on two memdevs', workload: 'same-tag-two-memdevs', knobs: {}, want: ['tag-registered-twice', 'registry-mismatch', 'tag-not-registered'], n: 8, seed: '7' },
    broken: { label: 'cxl_tag_lock dropped (tag-lock=off)', workload: 'same-tag-two-memdevs', knobs: { 'tag-lock': 'off' } as Knobs, want: ['tag-registered-twice'], n: 8, seed: '7' },
    others: [],
    verdict: (v) => (v === 0 ? 'holds (the registry is serialised by cxl_tag_lock; which memdev wins is timing — H1)' : 'broken'),
  },
  {
    id: 'dax-group-atomic',
    quote: 'Per-tag-group add and release of DAX resources are atomic (all-or-none)',
    mechanism: 'dax_region_rwsem held across the whole group in dax_region_add_resources / dax_region_rm_resources',
    v11: { label: 'v11: a claim racing the group add', workload: 'partial-group-claim', knobs: {}, want: ['partial-group-claimed'], n: 8, seed: '7' },
    broken: { label: 'per-extent lock (group-lock=per-extent, v10)', workload: 'partial-group-claim', knobs: { 'group-lock': 'per-extent' } as Knobs, want: ['partial-group-claimed'], n: 8, seed: '7' },
    others: ['H6', 'H24'],
    // H24: the cxl_dax_region teardown releases a group's dax_resources one devres action per
    // member (dc_extent_unregister → dax_release_resource), not under one dax_region_rwsem hold
    verdict: (v, b, o) => (v === 0 ? (o.length ? `holds for the group add and release under dax_region_rwsem; the group's teardown is not atomic: ${o.join(', ')}` : 'holds') : 'broken'),
  },
  {
    id: 'scan-vs-new-adds',
    quote: 'New add events are deferred until the initial scan completes so a tag already in use is never registered twice',
    mechanism: 'the scan gate (extents_scanned, E6) and the probe\'s cxl_region_add_existing_extents under device_lock(cxlr_dax) then add_ctx.lock',
    v11: { label: 'v11: a runtime chain closing while the region re-probes', workload: 'chain-close-vs-probe', knobs: {}, want: ['hung-wait-h2', 'lock-order-h2', 'host-extent-adopted-h2'], n: 8, seed: '7' },
    broken: { label: 'scan gate off (scan-gate=off)', workload: 'chain-close-vs-probe', knobs: { 'scan-gate': 'off' } as Knobs, want: ['hung-wait-h2', 'lock-order-h2', 'host-extent-adopted-h2', 'scan-gate-bypassed'], n: 8, seed: '7' },
    others: ['H2'],
    verdict: (v, b, o) => (v > 0 || o.length ? `broken: adds before the scan are refused (-EBUSY, H3), not deferred; a chain closing against the probe's scan deadlocks or is adopted half-staged (${o.join(', ') || 'H2'})` : 'holds'),
  },
];

async function count(c: Check): Promise<{ hits: number; n: number; outcomes: Record<string, number> }> {
  const job = new StressJob({ workload: c.workload, variant: 'v11', knobs: c.knobs, device: 'cxl-test', seed: c.seed, schedule: { kind: 'random' }, noise: false, outDir: null });
  const outcomes: Record<string, number> = {};
  let hits = 0;
  try {
    for (let i = 0; i < c.n; i++) {
      const r = await job.iteration(i);
      for (const o of r.outcomes ?? [r.outcome]) outcomes[o] = (outcomes[o] ?? 0) + 1;
      if ((r.outcomes ?? [r.outcome]).some((o) => c.want.includes(o))) hits++;
    }
  } finally {
    await job.close();
  }
  return { hits, n: c.n, outcomes };
}

async function findHazard(h: HazardSpec, traces: string): Promise<{ trace: string | null; iteration: number; tried: number }> {
  const job = new StressJob({ workload: h.workload, variant: 'v11', knobs: h.knobs ?? {}, device: 'cxl-test', seed: h.seed, schedule: h.schedule ?? { kind: 'random' }, noise: false, outDir: traces });
  try {
    for (let i = 0; i < h.max; i++) {
      const r = await job.iteration(i);
      if (r.outcome === h.want && r.trace) return { trace: r.trace, iteration: i, tried: i + 1 };
    }
  } finally {
    await job.close();
  }
  return { trace: null, iteration: -1, tried: h.max };
}

/** The page of one assumption, and its row in the index. */
async function assumptionPage(a: Assumption, out: string, log: (s: string) => void, titleOf: (id: string) => string | null, missed: (id: string) => string): Promise<string> {
  log(`assumption ${a.id}`);
  const v = await count(a.v11);
  const b = await count(a.broken);
  const others = a.others.filter((id) => titleOf(id) !== null).map((id) => `${id} (${titleOf(id)!})`);
  const verdict = a.verdict(v.hits, b.hits, others);
  const page: string[] = [
    `# ${a.quote.split(' … ')[0]}`,
    '',
    `> ${a.quote}`,
    '',
    `**Verdict: ${verdict}.**`,
    '',
    `The mechanism v11 relies on: ${a.mechanism}.`,
    '',
    '| run | iterations | iterations showing the failure | outcomes seen |',
    '|---|---|---|---|',
    `| ${a.v11.label} (\`dcd stress --workload ${a.v11.workload}${Object.entries(a.v11.knobs).map(([k, x]) => ` --knob ${k}=${x}`).join('')} --schedule random --seed ${a.v11.seed} --iterations ${a.v11.n}\`) | ${v.n} | ${v.hits} | ${Object.entries(v.outcomes).map(([k, x]) => `${k} ${x}`).join(', ')} |`,
    `| ${a.broken.label} (\`dcd stress --workload ${a.broken.workload}${Object.entries(a.broken.knobs).map(([k, x]) => ` --knob ${k}=${x}`).join('')} --schedule random --seed ${a.broken.seed} --iterations ${a.broken.n}\`) | ${b.n} | ${b.hits} | ${Object.entries(b.outcomes).map(([k, x]) => `${k} ${x}`).join(', ')} |`,
    '',
    `Failure looked for: ${a.v11.want.map((w) => `\`${w}\` ([glossary](../kernel-map.md#outcome-${w}))`).join(', ')}.`,
    '',
  ];
  if (a.others.length) {
    page.push('Other contexts that break it, reproduced by this run:', '');
    for (const id of a.others) {
      const spec = HAZARDS.find((h) => h.id === id)!;
      const title = titleOf(id);
      page.push(title !== null ? `* [${id}](${id}/report.md) — ${title} (${spec.what})` : `* ${id} — ${missed(id)}`);
    }
    page.push('');
  }
  writeFileSync(join(out, `${a.id}.md`), page.join('\n'));
  return `| ${a.quote.split(' … ')[0]} | ${verdict} | [${a.id}.md](${a.id}.md) |`;
}

type Found = { spec: HazardSpec; report: ReportFinding | null; tried: number; iteration: number };

function hazardRow(id: string, f: Found): string {
  const r = f.report;
  const sched = f.spec.schedule?.kind === 'pct' ? `pct depth ${f.spec.schedule.depth}` : 'random';
  const how = `\`${f.spec.workload}\`, ${sched} schedule, seed ${f.spec.seed}${f.spec.test ? ` (also \`${f.spec.test}\`)` : ''}`;
  if (!r) return `| [${id}](../kernel-map.md#${id.toLowerCase()}) | ${f.spec.what} | not reproduced in ${f.tried} iterations | ${how} | — | — |`;
  const fixes = r.fixes.filter((x) => x.fixes).map((x) => `\`${x.label}\``).join(', ') || `none of ${r.fixes.map((x) => `\`${x.label}\``).join(', ') || 'the candidates'}`;
  return `| [${id}](../kernel-map.md#${id.toLowerCase()}) | ${f.spec.what} | [${r.row.title}](${id}/report.md) ([HTML](${id}/report.html)) | ${how}: iteration ${f.iteration} (${f.tried} tried); replay ${r.replay.reproduced}/${r.replay.runs}, free runs ${r.free.hits}/${r.free.runs} | \`dcd replay ${r.trace}\` | ${fixes} |`;
}

/** Find, minimize and report one hazard into OUT/<id>/ (its trace into OUT/traces/). */
async function hazardPage(h: HazardSpec, out: string, runs: number, log: (s: string) => void): Promise<Found> {
  log(`${h.id}: ${h.workload} until ${h.want}`);
  const f = await findHazard(h, join(out, 'traces'));
  let report: ReportFinding | null = null;
  if (f.trace) {
    const r = await buildReport([f.trace], { out: join(out, h.id), runs, seconds: 15, pathBase: '.' });
    report = r.findings[0] ?? null;
    // keep the minimized reproducer only (the report names it); the raw trace stays when none
    if (report && report.trace !== f.trace && report.minimized) rmSync(f.trace, { force: true });
  }
  return { spec: h, report, tried: f.tried, iteration: f.iteration };
}

const INDEX_HEAD = [
  '# Findings: the v11 cover letter\'s assumptions, and the hazards the model reproduces',
  '',
  'Generated by `npm run findings` from the code of this commit (controlled random schedule, cxl-test device, v11 unless a knob is named); every number below was measured by that run. Regenerate after changing the model.',
  '',
  'The cover letter: *"Several Sashiko review comments assumed multiple host threads could process a single DCD add event, or concurrently mutate one tag group, at the same time. But I don\'t think that happens because DCD events for a memdev are delivered and handled serially by that device\'s event-interrupt thread, and a tag group is owned by exactly one memory device. … Please correct me if this assumption is wrong so I can fix those."*',
];
const NOT_GENERATED = 'Not generated here: [H1](../kernel-map.md#h1) is the verdict on tag ownership above (uniqueness holds, the winner is timing); [H3](../kernel-map.md#h3) is a deterministic refusal (`test/host-gates.test.ts`); H7/H8 are prevented by `dax_region_rwsem`; H9–H13 follow from one sequence of operations, not from an interleaving, and are covered by tests and scenarios (H10: `test/device-qemu-system.test.ts`, `test/checkers.test.ts`; H12: `test/checkers.test.ts`).';

export async function generateFindings(out: string, runs: number, log: (s: string) => void, only?: readonly string[]): Promise<void> {
  if (only) return regenerateOnly(out, runs, log, only);
  const t0 = performance.now();
  rmSync(out, { recursive: true, force: true });
  const traces = join(out, 'traces');
  mkdirSync(traces, { recursive: true });
  const found = new Map<string, Found>();
  for (const h of HAZARDS) found.set(h.id, await hazardPage(h, out, runs, log));
  // keep only the reproducers the reports name (a hunt also saves traces of other outcomes)
  const keep = new Set([...found.values()].map((f) => f.report?.trace).filter((x): x is string => !!x).map((x) => x.split('/').pop()!));
  for (const f of readdirSync(traces)) if (!keep.has(f)) rmSync(join(traces, f), { force: true });
  const titleOf = (id: string): string | null => found.get(id)?.report?.row.title ?? null;
  const missed = (id: string): string => { const f = found.get(id)!; return `not reproduced in ${f.tried} iterations of \`${f.spec.workload}\` this run`; };
  const idx: string[] = [...INDEX_HEAD, '', '## Assumptions', '', '| assumption | verdict | report |', '|---|---|---|'];
  for (const a of ASSUMPTIONS) idx.push(await assumptionPage(a, out, log, titleOf, missed));
  idx.push('', '## Hazards reproduced', '', '| hazard | what races | finding | found by | reproducer | fixed by |', '|---|---|---|---|---|---|');
  for (const [id, f] of found) idx.push(hazardRow(id, f));
  idx.push('', NOT_GENERATED);
  idx.push('', `Generated in ${((performance.now() - t0) / 1000).toFixed(0)} s. How the pages are made: [docs/reports.md](../reports.md).`, '');
  writeFileSync(join(out, 'README.md'), idx.join('\n'));
}

/** the hazard ids of an existing index, with each reproduced one's title and trace file (null when it says not reproduced) */
export function indexHazards(readme: string): Map<string, { title: string; trace: string } | null> {
  const m = new Map<string, { title: string; trace: string } | null>();
  for (const line of readme.split('\n')) {
    const id = /^\| \[(H\d+)\]\(\.\.\/kernel-map\.md#h\d+\) \|/.exec(line)?.[1];
    if (!id) continue;
    const title = new RegExp(`\\| \\[([^\\]]+)\\]\\(${id}/report\\.md\\)`).exec(line)?.[1];
    const trace = /`dcd replay ([^`]+)`/.exec(line)?.[1];
    m.set(id, title && trace ? { title, trace: trace.split('/').pop()! } : null);
  }
  return m;
}

/**
 * `--only H23,H24`: regenerate those hazards' pages (and the assumption pages that cite them)
 * and their rows of the index, leaving every other page, trace and row as the last full run
 * wrote it. A row is replaced where it is, or added after the row of the hazard before it.
 */
async function regenerateOnly(out: string, runs: number, log: (s: string) => void, only: readonly string[]): Promise<void> {
  const t0 = performance.now();
  const unknown = only.filter((id) => !HAZARDS.some((h) => h.id === id));
  if (unknown.length) throw new UsageError(`--only: no hazard ${unknown.join(', ')} in stress/findings.ts (known: ${HAZARDS.map((h) => h.id).join(', ')})`);
  const readme = join(out, 'README.md');
  let idx: string[];
  try { idx = readFileSync(readme, 'utf8').split('\n'); } catch { throw new UsageError(`--only: ${readme} is missing — run a full \`npm run findings\` first`); }
  const old = indexHazards(idx.join('\n'));
  const traces = join(out, 'traces');
  mkdirSync(traces, { recursive: true });
  const before = new Set(readdirSync(traces));
  const found = new Map<string, Found>();
  for (const h of HAZARDS.filter((x) => only.includes(x.id))) {
    rmSync(join(out, h.id), { recursive: true, force: true });
    found.set(h.id, await hazardPage(h, out, runs, log));
  }
  // traces: the new reproducers and every other hazard's stay; the regenerated hazards' old ones
  // and what the hunts saved besides go
  const keep = new Set<string>();
  for (const [id, e] of old) if (!only.includes(id) && e) keep.add(e.trace);
  for (const f of found.values()) if (f.report) keep.add(f.report.trace.split('/').pop()!);
  const dropped = new Set([...old].filter(([id, e]) => only.includes(id) && e).map(([, e]) => e!.trace));
  for (const f of readdirSync(traces)) if (!keep.has(f) && (!before.has(f) || dropped.has(f))) rmSync(join(traces, f), { force: true });
  // the rows
  const rowAt = (id: string): number => idx.findIndex((l) => l.startsWith(`| [${id}](../kernel-map.md#`));
  for (const [id, f] of found) {
    const row = hazardRow(id, f);
    const k = rowAt(id);
    if (k >= 0) { idx[k] = row; continue; }
    const prev = HAZARDS.slice(0, HAZARDS.findIndex((h) => h.id === id)).map((h) => rowAt(h.id)).filter((x) => x >= 0);
    if (!prev.length) throw new Error(`--only: no hazard row to put ${id}'s after in ${readme}`);
    idx.splice(Math.max(...prev) + 1, 0, row);
  }
  // the assumptions citing a regenerated hazard: re-measured, their pages and rows replaced
  const titleOf = (id: string): string | null => (found.has(id) ? found.get(id)!.report?.row.title ?? null : old.get(id)?.title ?? null);
  const missed = (id: string): string => { const f = found.get(id); return f ? `not reproduced in ${f.tried} iterations of \`${f.spec.workload}\` this run` : 'not reproduced by the last full run'; };
  for (const a of ASSUMPTIONS.filter((x) => x.others.some((id) => only.includes(id)))) {
    const row = await assumptionPage(a, out, log, titleOf, missed);
    const k = idx.findIndex((l) => l.startsWith(`| ${a.quote.split(' … ')[0]} |`));
    if (k < 0) throw new Error(`--only: no row of assumption ${a.id} in ${readme}`);
    idx[k] = row;
  }
  const g = idx.findIndex((l) => l.startsWith('Generated in '));
  const note = ` ${only.join(', ')} (and the assumptions citing them) regenerated alone (\`--only ${only.join(',')}\`) in ${((performance.now() - t0) / 1000).toFixed(0)} s.`;
  // an earlier note stays unless this run regenerated all of its hazards again
  const superseded = (ids: string): boolean => ids.split(',').every((id) => only.includes(id));
  if (g >= 0) idx[g] = idx[g]!.replace(/ [\w, ]+ \(and the assumptions citing them\) regenerated alone \(`--only ([^`]*)`\) in \d+ s\./g, (m, ids: string) => (superseded(ids) ? '' : m)).replace(/^(Generated in \d+ s\.((?: [\w, ]+ \(and the assumptions citing them\) regenerated alone \(`--only [^`]*`\) in \d+ s\.)*))/, `$1${note}`);
  writeFileSync(readme, idx.join('\n'));
}

class UsageError extends Error {}

const isMain = process.argv[1] !== undefined && /findings\.(ts|js)$/.test(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const ri = args.indexOf('--runs');
  const runs = ri >= 0 ? Number(args[ri + 1]) : 12;
  const oi = args.indexOf('--only');
  const only = oi >= 0 ? (args[oi + 1] ?? '').split(',').filter(Boolean) : undefined;
  const out = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs' && args[i - 1] !== '--only') ?? 'docs/findings';
  if (!Number.isInteger(runs) || runs < 1) { process.stderr.write(`findings: --runs expects a positive integer\n`); process.exit(2); }
  if (only && only.length === 0) { process.stderr.write(`findings: --only expects hazard ids, e.g. --only H23,H24\n`); process.exit(2); }
  generateFindings(out, runs, (s) => process.stderr.write(`findings: ${s}\n`), only).then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`findings: ${e instanceof UsageError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
