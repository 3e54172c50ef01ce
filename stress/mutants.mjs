#!/usr/bin/env node
/**
 * DOC: the mutation check (`npm run mutants`) — do the tests fail when a lock, gate or rollback
 * the series relies on is taken out of the source?
 *
 * Each mutant below is a textual patch (search string → replacement, each search string must
 * occur EXACTLY once in its file, or the script stops and says which one no longer applies),
 * documented by intent and by file/function so it can be re-anchored after a merge. For each
 * mutant the script copies the repository to a temporary directory (without node_modules, dist,
 * .git; node_modules is symlinked), applies the patch, builds (tsc -p tsconfig.build.json) and
 * runs the tests that should catch it (a short list per mutant, tap with DCD_WORKERS=dist),
 * stopping at the first test file that fails: the mutant is KILLED when one fails, SURVIVED when
 * all pass. A baseline run first builds and runs the union of those tests unmutated; they must
 * pass, or a "kill" would mean nothing.
 *
 * Usage: node stress/mutants.mjs [--check] [--only id,id] [--no-baseline] [--keep]
 *   --check        only verify that every patch applies exactly once (no build, no tests)
 *   --only         run the listed mutants
 *   --no-baseline  skip the unmutated run
 *   --keep         keep the temporary copy
 * Exit 0 when every mutant run was killed, 1 when one survived or a patch/build failed.
 * The results table is written into docs/mutants.md (between the RESULTS markers).
 * Not part of `npm test`: one mutant costs a build (~7 s) and its tests (~10–60 s); on a shared
 * 2-core machine run it once, at the end, in sequence (this script never runs two at once).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A test run: a test file, optionally only its TOP-LEVEL subtests matching `grep` (tap --grep
 * filters level 1 only: a file whose subtests sit under one wrapper test needs no grep).
 */
const T = (file, grep) => ({ file, ...(grep ? { grep } : {}) });

/**
 * The mutants. `where` names the kernel function the patched code models (and our file), so a
 * patch can be re-anchored when the code moves; `patches` are applied in order.
 */
export const MUTANTS = [
  {
    id: 'tag-lock-removed',
    intent: 'remove cxl_tag_lock around the registry check+insert (the registry race of H1 opens with the knob on)',
    where: 'src/cxl/tag-group.ts cxl_tag_register()',
    patches: [{ file: 'src/cxl/tag-group.ts', search: "return ctx.knobs['tag-lock'] === 'on' ? withLock(h.cxlTagLock, insert) : insert();", replace: 'return insert();' }],
    tests: [T('test/negative-controls.test.ts', 'cxl_tag_lock'), T('test/host-h1.test.ts')],
  },
  {
    id: 'tag-lock-deleted',
    intent: 'delete cxl_tag_lock from src entirely: the G1 check, the registry insert and the unregister run unlocked',
    where: 'src/cxl/tag-group.ts cxl_tag_already_committed(), cxl_tag_register(), cxl_tag_unregister()',
    patches: [
      { file: 'src/cxl/tag-group.ts', search: "return ctx.knobs['tag-lock'] === 'on' ? withLock(h.cxlTagLock, check) : check();", replace: 'return check();' },
      { file: 'src/cxl/tag-group.ts', search: "return ctx.knobs['tag-lock'] === 'on' ? withLock(h.cxlTagLock, insert) : insert();", replace: 'return insert();' },
      { file: 'src/cxl/tag-group.ts', search: "  if (ctx.knobs['tag-lock'] === 'on') withLock(h.cxlTagLock, remove);\n  else remove();", replace: '  remove();' },
    ],
    tests: [T('test/negative-controls.test.ts', 'cxl_tag_lock'), T('test/host-h1.test.ts')],
  },
  {
    id: 'group-hold-split',
    intent: 'split the one dax_region_rwsem hold of a group add into one hold per extent (v10 locking, knob on)',
    where: 'src/dax/bus.ts dax_region_add_resources()',
    patches: [{ file: 'src/dax/bus.ts', search: "export function dax_region_add_resources(ctx: HostCtx, region: Handle, specs: DaxResourceSpec[], uuid: string): number {\n  const h = ctx.host;\n  if (ctx.knobs['group-lock'] === 'per-extent') {", replace: "export function dax_region_add_resources(ctx: HostCtx, region: Handle, specs: DaxResourceSpec[], uuid: string): number {\n  const h = ctx.host;\n  if (ctx.knobs['group-lock'] === 'per-extent' || ctx.knobs['group-lock'] === 'group') {" }],
    tests: [T('test/negative-controls.test.ts', 'dax_region_rwsem'), T('test/dax-claim-race.test.ts')],
  },
  {
    id: 'rollback-dropped',
    intent: 'drop the rollback of the members already added when a group DAX add fails',
    where: 'src/dax/bus.ts dax_region_add_resources() (group path)',
    patches: [{ file: 'src/dax/bus.ts', search: '        for (const a of added) removeOne(ctx, a);\n', replace: '' }],
    tests: [T('test/host-gates.test.ts', 'R3')],
  },
  {
    id: 'scan-gate-dropped',
    intent: 'drop the scan gate E6: runtime adds are no longer refused before the existing-extent scan (knob on)',
    where: 'src/cxl/extent.ts cxl_add_extent() (E6; v11 cxl_validate_extent)',
    patches: [{ file: 'src/cxl/extent.ts', search: "if (!existing && ctx.knobs['scan-gate'] === 'on' && !h.regions.load(r, 'extentsScanned')) {", replace: 'if (false) {' }],
    tests: [T('test/negative-controls.test.ts', 'scan gate'), T('test/host-gates.test.ts', 'E6')],
  },
  {
    id: 'e9-dropped',
    intent: 'drop E9: an extent partially overlapping an accepted one is no longer omitted',
    where: 'src/cxl/extent.ts cxl_add_extent() (E9; v11 cxlr_dax_classify_extent)',
    patches: [{ file: 'src/cxl/extent.ts', search: "      if (n.start < s + l && s < n.start + n.len) { ctx.dmesg('err', dev, `extent ${hex(n.start)} overlaps accepted extent ${hex(s)}`); return ENXIO; }\n", replace: '' }],
    tests: [T('test/host-gates.test.ts', 'E8/E9')],
  },
  {
    id: 'e8-duplicate-refused',
    intent: 'E8: a duplicate (sub-range of an accepted extent) is refused instead of accepted again',
    where: 'src/cxl/extent.ts cxl_add_extent() (E8; v11 cxlr_dax_classify_extent)',
    patches: [{ file: 'src/cxl/extent.ts', search: 'if (s <= n.start && n.start + n.len <= s + l) return 0; // duplicate: "accept again"', replace: 'if (s <= n.start && n.start + n.len <= s + l) return ENXIO;' }],
    tests: [T('test/host-gates.test.ts', 'E8/E9')],
  },
  {
    id: 'cap-100-dropped',
    intent: 'drop the 100-record cap on a staged chain (S1)',
    where: 'src/cxl/extent.ts handle_add_event()',
    patches: [{ file: 'src/cxl/extent.ts', search: 'if (staged >= CXL_DC_MAX_PENDING_EXTENTS) {', replace: 'if (false) {' }],
    tests: [T('test/host-add.test.ts', '101-record')],
  },
  {
    id: 'g1-dropped',
    intent: 'drop the G1 check (tag already committed): only the registry insert refuses a second group',
    where: 'src/cxl/extent.ts cxl_validate_group() (G1)',
    patches: [{ file: 'src/cxl/extent.ts', search: 'if (tagged && cxl_tag_already_committed(ctx, tag)) {', replace: 'if (false) {' }],
    tests: [T('test/host-gates.test.ts', 'G1'), T('test/host-h1.test.ts')],
  },
  {
    id: 'release-dc-before-dax-check',
    intent: 'send Release DC before the DAX layer agreed (X4): an in-use group is released to the device',
    where: 'src/cxl/extent.ts cxl_rm_extent() (X4)',
    patches: [{ file: 'src/cxl/extent.ts', search: "    const rc = cxlr_notify_extent(ctx, r, 'release', group);\n", replace: "    memdev_release_extent(ctx, memdev, { dpa: start, len });\n    const rc = cxlr_notify_extent(ctx, r, 'release', group);\n" }],
    tests: [T('test/host-release.test.ts')],
  },
  {
    id: 'in-use-check-dropped',
    intent: 'drop the in-use pass of a group release in the DAX layer (pass 1 of dax_region_rm_resources)',
    where: 'src/dax/bus.ts dax_region_rm_resources() (group path)',
    patches: [{ file: 'src/dax/bus.ts', search: "      if (r !== NO_HANDLE && h.daxRes.get(r, 'useCnt') !== 0) return EBUSY;\n", replace: '' }],
    tests: [T('test/host-release.test.ts')],
  },
  {
    id: 'rcu-ignored',
    intent: 'the rcu knob no longer makes dc_extents walks skip freed entries (post-v11 RCU fix undone)',
    where: 'src/cxl/extent.ts walkStep()',
    patches: [{ file: 'src/cxl/extent.ts', search: "  if (ctx.knobs.rcu === 'on') {", replace: '  if (false) {' }],
    tests: [T('test/negative-controls.test.ts', 'RCU')],
  },
  {
    id: 'serial-handling-dropped',
    intent: "v11's serial event handling (one handler per memdev, handling under event.log_lock) replaced by two handlers handling outside it",
    where: 'src/cxl/mbox.ts cxl_mem_get_records_log(); src/runtime/system.ts (event-thread spawn)',
    patches: [
      { file: 'src/cxl/mbox.ts', search: "  if (ctx.knobs['parallel-event-handlers'] > 1) {", replace: '  if (true) {' },
      { file: 'src/runtime/system.ts', search: "const handlers = this.knobs['parallel-event-handlers'];", replace: "const handlers = Math.max(2, this.knobs['parallel-event-handlers']);" },
    ],
    tests: [T('test/negative-controls.test.ts', 'serial handling')],
  },
  {
    id: 'claim-seq-gap-allowed',
    intent: 'a tagged claim no longer requires seq 0..n-1 (a group with an interior gap is claimed)',
    where: 'src/dax/bus.ts uuid_claim_tagged()',
    patches: [{ file: 'src/dax/bus.ts', search: "    if (h.daxRes.get(free[i]!, 'seq') !== base + i) {", replace: '    if (false) {' }],
    tests: [T('test/dax-claim.test.ts', 'sequence gap')],
  },
  {
    id: 'seq-from-one',
    intent: 'non-sharable groups numbered 1..n instead of 0..n-1 (the v10 numbering without the knob)',
    where: 'src/cxl/extent.ts cxl_realize_group()',
    patches: [{ file: 'src/cxl/extent.ts', search: '  let seq = -1;\n', replace: '  let seq = 0;\n' }],
    tests: [T('test/dax-claim.test.ts')],
  },
  {
    id: 'tag-not-unregistered',
    intent: 'a freed tag group is no longer removed from the registry (the tag leaks)',
    where: 'src/cxl/tag-group.ts free_tag_group()',
    patches: [{ file: 'src/cxl/tag-group.ts', search: "  if (ctx.host.groups.get(g, 'registered')) cxl_tag_unregister(ctx, g);\n", replace: '' }],
    tests: [T('test/host-h1.test.ts')],
  },
  {
    id: 'watchdog-not-armed',
    intent: 'the 20 s add-chain watchdog is never armed: a stalled More chain is never answered',
    where: 'src/cxl/extent.ts handle_add_event() → mod_delayed_work()',
    patches: [{ file: 'src/cxl/extent.ts', search: '      mod_delayed_work(ctx, m);\n', replace: '' }],
    tests: [T('test/host-add.test.ts', 'stalled chain')],
  },
  {
    id: 'chain-close-no-response',
    intent: 'closing a runtime chain (More=0) sends no Add DC Response',
    where: 'src/cxl/extent.ts cxl_add_pending() (the chain response)',
    patches: [{ file: 'src/cxl/extent.ts', search: '  if (existing) return 0; // recovered extents are NEVER re-acknowledged\n  return sendChainResponse(ctx, memdev, m, accepted, false);', replace: '  if (existing) return 0; // recovered extents are NEVER re-acknowledged\n  void sendChainResponse; return 0;' }],
    tests: [T('test/host-add.test.ts', 'More chain holds')],
  },
];

function args(argv) {
  const o = { check: false, only: null, baseline: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') o.check = true;
    else if (a === '--only') o.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else if (a === '--no-baseline') o.baseline = false;
    else if (a === '--keep') o.keep = true;
    else { console.error(`mutants: unknown argument ${a}`); process.exit(2); }
  }
  if (o.only) for (const id of o.only) if (!MUTANTS.some((m) => m.id === id)) { console.error(`mutants: unknown mutant "${id}"`); process.exit(2); }
  return o;
}

function count(hay, needle) {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

/** Patched contents per file, or a list of patches that no longer apply (exactly once). */
function apply(base, m, readBase) {
  const out = new Map();
  const errors = [];
  for (const p of m.patches) {
    const cur = out.get(p.file) ?? readBase(join(base, p.file));
    const n = count(cur, p.search);
    if (n !== 1) { errors.push(`${m.id}: ${p.file}: the search string occurs ${n} times (must be exactly once; re-anchor it at ${m.where}): ${JSON.stringify(p.search.slice(0, 80))}`); continue; }
    out.set(p.file, cur.replace(p.search, () => p.replace));
  }
  return { files: out, errors };
}

function run(cmd, argv, cwd, env) {
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, ms: Date.now() - t0 };
}

function build(dir) {
  return run(join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], dir, {});
}

function tap(dir, t) {
  const argv = [t.file, '--reporter=terse', ...(t.grep ? [`--grep=${t.grep}`] : [])];
  return run(join(dir, 'node_modules/.bin/tap'), argv, dir, { DCD_WORKERS: 'dist' });
}

function failedLines(out) {
  return out.split('\n').filter((l) => /not ok|# fail|Error|✖/.test(l)).slice(0, 3).map((l) => l.trim()).join(' | ');
}

const rowLine = (r) => `| \`${r.id}\` | ${r.status.toUpperCase()} | ${r.by ?? '—'} | ${Math.round(r.ms / 1000)} s |`;

/** A run of some mutants (--only) replaces their rows in the last full result and says so. */
function mergeResults(rows) {
  const doc = join(ROOT, 'docs/mutants.md');
  if (!existsSync(doc)) return;
  const full = readFileSync(doc, 'utf8');
  const begin = '<!-- RESULTS:BEGIN -->';
  const at = full.indexOf(begin);
  if (at < 0) return;
  // only inside the results section (the mutant list above has rows starting the same way)
  let text = full.slice(at);
  for (const r of rows) {
    const re = new RegExp(`^\\| \`${r.id}\` \\|.*$`, 'm');
    if (re.test(text)) { text = text.replace(re, rowLine(r)); continue; }
    // a mutant new since the last full run: a row after the table's last one
    const lines = text.split('\n');
    let last = -1;
    lines.forEach((l, i) => { if (l.startsWith('| `')) last = i; });
    lines.splice(last + 1, 0, rowLine(r));
    text = lines.join('\n');
  }
  text = full.slice(0, at) + text;
  const end = '<!-- RESULTS:END -->';
  const note = `Re-run ${new Date().toISOString()}: ${rows.map((r) => `\`${r.id}\` ${r.status}`).join(', ')} (their rows above are from this re-run).`;
  text = text.replace(end, `${note}\n${end}`);
  writeFileSync(doc, text);
}

function writeResults(rows, baseline) {
  const doc = join(ROOT, 'docs/mutants.md');
  if (!existsSync(doc)) return;
  const text = readFileSync(doc, 'utf8');
  const begin = '<!-- RESULTS:BEGIN -->';
  const end = '<!-- RESULTS:END -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) { console.error('mutants: docs/mutants.md has no RESULTS markers; results not written'); return; }
  const killed = rows.filter((r) => r.status === 'killed').length;
  const lines = [
    begin,
    `Last run: ${new Date().toISOString()} — ${killed}/${rows.length} killed${baseline ? `; baseline (unmutated) ${baseline}` : ''}; load average at the start ${rows.load ?? '?'}.`,
    '',
    '| mutant | result | killed by | build + tests |',
    '|---|---|---|---|',
    ...rows.map(rowLine),
    end,
  ];
  writeFileSync(doc, text.slice(0, a) + lines.join('\n') + text.slice(b + end.length));
}

async function main() {
  const o = args(process.argv.slice(2));
  const list = MUTANTS.filter((m) => !o.only || o.only.has(m.id));
  // every patch must apply to the current source, before anything is copied or built
  const errs = list.flatMap((m) => apply(ROOT, m, (f) => readFileSync(f, 'utf8')).errors);
  if (errs.length) {
    for (const e of errs) console.error(`mutants: PATCH DOES NOT APPLY — ${e}`);
    process.exit(1);
  }
  console.log(`mutants: ${list.length} mutants, every patch applies exactly once`);
  if (o.check) return;

  const dir = mkdtempSync(join(tmpdir(), 'dcd-mutants-'));
  const skip = new Set(['node_modules', 'dist', '.git', 'results', 'bench-out', '.tap']);
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !skip.has(relative(ROOT, src).split(/[\\/]/)[0]) });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
  const pristine = new Map();
  const readBase = (f) => { if (!pristine.has(f)) pristine.set(f, readFileSync(f, 'utf8')); return pristine.get(f); };
  const restore = () => { for (const [f, s] of pristine) writeFileSync(f, s); };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`mutants: copy in ${dir}; load average ${load}`);
  let baseline = null;
  try {
    if (o.baseline) {
      const b = build(dir);
      if (b.code !== 0) { console.error(`mutants: the unmutated copy does not build:\n${b.out}`); process.exit(1); }
      const uniq = [...new Map(list.flatMap((m) => m.tests).map((t) => [`${t.file}|${t.grep ?? ''}`, t])).values()];
      for (const t of uniq) {
        const r = tap(dir, t);
        console.log(`baseline ${t.file}${t.grep ? ` --grep=${t.grep}` : ''}: ${r.code === 0 ? 'pass' : 'FAIL'} (${Math.round(r.ms / 1000)} s)`);
        if (r.code !== 0) { console.error(`mutants: a targeted test fails without any mutant — fix it first:\n${failedLines(r.out)}`); process.exit(1); }
      }
      baseline = `${uniq.length} targeted test runs pass`;
    }
    const rows = [];
    rows.load = load;
    for (const m of list) {
      restore();
      const { files } = apply(dir, m, readBase);
      for (const [f, s] of files) writeFileSync(join(dir, f), s);
      const t0 = Date.now();
      const b = build(dir);
      if (b.code !== 0) {
        rows.push({ id: m.id, status: 'build-failed', by: `tsc: ${failedLines(b.out) || 'error'}`, ms: Date.now() - t0 });
        console.log(`${m.id}: BUILD FAILED — ${failedLines(b.out)}`);
        continue;
      }
      let by = null;
      for (const t of m.tests) {
        const r = tap(dir, t);
        if (r.code !== 0) { by = `${t.file.replace('test/', '')}${t.grep ? ` (${t.grep})` : ''}`; break; }
      }
      const row = { id: m.id, status: by ? 'killed' : 'survived', by, ms: Date.now() - t0 };
      rows.push(row);
      console.log(`${m.id}: ${row.status.toUpperCase()}${by ? ` by ${by}` : ''} (${Math.round(row.ms / 1000)} s) — ${m.intent}`);
    }
    restore();
    const killed = rows.filter((r) => r.status === 'killed').length;
    console.log(`\nmutants: ${killed}/${rows.length} killed${rows.length - killed ? `; NOT killed: ${rows.filter((r) => r.status !== 'killed').map((r) => r.id).join(', ')}` : ''}`);
    if (!o.only) writeResults(rows, baseline);
    else mergeResults(rows);
    process.exitCode = killed === rows.length ? 0 : 1;
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
