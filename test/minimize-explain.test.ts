// dcd minimize and dcd explain on the seeded-defect trace of row (a): same-tag-two-memdevs with
// cxl_tag_lock dropped, controlled random schedule, seed 7. Minimization must keep the outcome
// (and its signature), shrink the plan and the preemptions, and write a trace that a strict
// `dcd replay` reproduces; explain must name kernel functions, locks and sysfs objects, never
// table handles.
import t from 'tap';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob } from '../stress/runner.js';
import { readTrace } from '../stress/trace.js';
import { runCli, type CliIo } from '../src/cli/main.js';
import { effectText, errnoText } from '../stress/explain.js';
import { EAGAIN, EEXIST, EINVAL, ERRNO_CODES, ERRNOS } from '../src/errors.js';
import { MBOX_RC_TIMEOUT, NULL_UUID } from '../src/wire/cxl.js';

function io(): CliIo & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (s) => out.push(s), err: (s) => err.push(s), outText: () => out.join('\n'), errText: () => err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'dcd-minimize-'));

async function findTrace(): Promise<string> {
  const job = new StressJob({ workload: 'same-tag-two-memdevs', variant: 'v11', knobs: { 'tag-lock': 'off' }, device: 'cxl-test', seed: '7', schedule: { kind: 'random' }, noise: false, outDir: dir });
  try {
    for (let i = 0; i < 10; i++) {
      const r = await job.iteration(i);
      if (r.outcome === 'tag-registered-twice' && r.trace) return r.trace;
    }
  } finally {
    await job.close();
  }
  throw new Error('row (a) not found in 10 iterations');
}

t.test('minimize keeps the outcome, shrinks plan and preemptions; explain names kernel functions and objects', async (t) => {
  const file = await findTrace();
  const orig = readTrace(file);
  if (!orig.ok) throw new Error(orig.message);
  t.ok(orig.trace.record && orig.trace.record.events.length > 0, 'the stress trace carries the iteration\'s events');
  t.equal(orig.trace.record!.held.length, orig.trace.steps.length, 'and the locks held at every step');
  t.equal(orig.trace.title, 'DCD: tag registered twice in cxl_tag_register / cxl_tag_register', 'title names the outcome and the racing kernel functions');

  const out = join(dir, 'min.trace.json');
  let c = io();
  const code = await runCli(['minimize', file, '--out', out, '--seconds', '40'], c);
  t.comment(c.outText());
  t.equal(code, 0, 'dcd minimize exits 0');
  t.ok(existsSync(out), 'wrote the minimized trace');
  const m = readTrace(out);
  if (!m.ok) throw new Error(m.message);
  const mi = m.trace.minimized!;
  t.equal(m.trace.outcome, 'tag-registered-twice', 'the minimized trace keeps the outcome');
  t.equal(m.trace.signature, orig.trace.signature, 'and its signature');
  t.ok(mi.to.records < mi.from.records, `records shrink (${mi.from.records} → ${mi.to.records})`);
  t.ok(mi.to.preemptions < mi.from.preemptions, `preemptions shrink (${mi.from.preemptions} → ${mi.to.preemptions})`);
  t.ok(mi.to.preemptions <= 2, 'a race of two threads needs at most two preemptions');
  t.ok(mi.to.steps < mi.from.steps, `steps shrink (${mi.from.steps} → ${mi.to.steps})`);
  t.match(c.outText(), /strict replay of the minimized trace: REPRODUCED/, 'the written trace reproduces under a strict replay');
  c = io();
  const tl = join(dir, 'timeline.json');
  t.equal(await runCli(['replay', out, '--trace', tl], c), 0, 'dcd replay of the minimized trace: REPRODUCED');
  t.notMatch(c.outText(), /group \d{4,}/, 'the replay detail names groups, not handles');
  const pf = JSON.parse(readFileSync(tl, 'utf8')) as { traceEvents: { name: string; ph: string; ts: number; dur?: number; tid: number; cat?: string; args?: { name?: string } }[] };
  const tracks = new Map(pf.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args!.name!]));
  t.ok([...tracks.values()].some((n) => /^irq\/mem0 \(cxl_event_thread/.test(n)) && [...tracks.values()].includes('irq/mem0 locks held'), 'a track per thread and its lock holds beside it');
  const X = pf.traceEvents.filter((e) => e.ph === 'X');
  const path = X.find((e) => e.cat === 'path' && e.name.startsWith('handle_add_event'));
  const reg = X.find((e) => e.name === 'cxl_tag_register' && e.tid === path?.tid);
  t.ok(path && reg && reg.ts >= path.ts && reg.ts + reg.dur! <= path.ts + path.dur! + 1e-6, 'cxl_tag_register nests inside its add path slice');
  t.ok(X.some((e) => e.cat === 'lock' && e.name === 'add_ctx.lock'), 'add_ctx.lock hold slices');

  c = io();
  t.equal(await runCli(['explain', out], c), 0, 'dcd explain exits 0');
  const x = c.outText();
  t.comment(x);
  t.match(x, /^DCD: tag registered twice in cxl_tag_register \/ cxl_tag_register/, 'explain starts with the title');
  t.match(x, /irq\/mem0 \(cxl_event_thread, mem0\)\s+irq\/mem1 \(cxl_event_thread, mem1\)|irq\/mem1 \(cxl_event_thread, mem1\)\s+irq\/mem0 \(cxl_event_thread, mem0\)/, 'one column per racing event thread');
  t.ok((x.match(/cxl_tag_register\(\)/g) ?? []).length >= 2, 'both sides named cxl_tag_register()');
  t.match(x, /cxl_handle_dcd_event_records\(\)/, 'the record handling named as the kernel names it');
  t.match(x, /\[event\.log_lock, add_ctx\.lock,\s+cxl_rwsem\.region\(read\)\]/, 'locks held at the racy window');
  t.match(x, /cxl_tag_lock: not taken \(--knob tag-lock=off\)/, 'the dropped lock is said');
  t.match(x, /cxl_tag_groups\[[0-9a-f-]{36}\]:\s+\(none\) → tag group on mem\d/, 'first registration old → new');
  t.match(x, /tag group on mem\d → tag group on mem\d/, 'second registration old → new');
  t.match(x, /extent\d\.\d/, 'extents by sysfs name');
  t.match(x, /region\d/, 'regions by sysfs name');
  t.match(x, /switched out[\s\S]*parked in cxl_tag_register: between the registry\s+check and the\s+insert/, 'the preemption point is shown');
  t.match(x, /8\.1-5 tag uniqueness broken/, 'the broken invariant');
  t.match(x, /docs\/kernel-map\.md#outcome-tag-registered-twice, docs\/kernel-map\.md#8-1-5/, 'its kernel-map anchors');
  t.notMatch(x, /\b(group|extent|region|dev|handle) \d{4,}/, 'no table handles');
  t.notMatch(x, /\b\d{5,}\b(?![^\n]*0x)/, 'no bare handle numbers');
  // an older trace (no record) is replayed to record one
  const bare = join(dir, 'bare.trace.json');
  const { writeTrace } = await import('../stress/trace.js');
  const { record: _r, ...noRecord } = orig.trace;
  writeTrace(bare, noRecord);
  c = io();
  t.equal(await runCli(['explain', bare], c), 0, 'a trace without a record is explained after a replay');
  t.match(c.outText(), /replayed under the controlled scheduler/);
  t.match(c.outText(), /cxl_tag_register\(\)/);
});

t.test('bad input exits 2', async (t) => {
  let c = io();
  t.equal(await runCli(['minimize'], c), 2);
  t.match(c.errText(), /needs a TRACE file/);
  c = io();
  t.equal(await runCli(['explain', join(dir, 'nope.json')], c), 2);
  t.match(c.errText(), /cannot read/);
  c = io();
  t.equal(await runCli(['minimize', join(dir, 'x.json'), '--seconds', '0'], c), 2);
  t.match(c.errText(), /--seconds expects a positive number/);
});

t.test('explain prints errnos by name, as dmesg prints a negative return (%pe)', async (t) => {
  for (const n of ERRNOS) t.equal(errnoText(-ERRNO_CODES[n]), `-${n}`, `-${ERRNO_CODES[n]} prints -${n}`);
  t.equal(errnoText(-2), '-ENOENT');
  t.equal(errnoText(-4095), '-4095', 'a code the table lacks stays a number');
  const names = { regions: { 3: 'region0' }, extents: {}, daxDevs: { 7: 'dax0.1' }, groups: { 9: 'group 1' } };
  const uuid = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
  // the events' own sign conventions: group-dropped and scan-done carry the kernel's negative
  // return, claim, dax-group and chain-dropped the positive code (src/protocol.ts)
  const lines: [string | null, RegExp][] = [
    [effectText({ type: 'group-dropped', memdev: 0, gate: 1, rc: EEXIST, n: 2, uuid, seqMin: 0, seqMax: 1, shareable: 0, existing: 0 }, names), /dropped by gate G1 \(-EEXIST\)$/],
    [effectText({ type: 'group-dropped', memdev: 0, gate: 4, rc: EINVAL, n: 1, uuid: NULL_UUID, seqMin: 0, seqMax: 0, shareable: 0, existing: 0 }, names), /^tag group untagged dropped by gate G4 \(-EINVAL\)$/],
    [effectText({ type: 'scan-done', region: 3, rc: EAGAIN, attempts: 10, found: 4 }, names), /^region0 extents_scanned stays 0: scan failed -EAGAIN after 10 attempt\(s\)/],
    [effectText({ type: 'scan-done', region: 3, rc: 0, attempts: 1, found: 4 }, names), /^region0 extents_scanned: 0 → 1 \(found 4\)$/],
    [effectText({ type: 'claim', region: 3, dev: 7, uuid, rc: ERRNO_CODES.ENOENT, nRanges: 0, size: 0, groupMembers: 0 }, names), /: -ENOENT$/],
    [effectText({ type: 'dax-group', region: 3, group: 9, n: 1, add: 1, rc: ERRNO_CODES.EBUSY }, names), / rc -EBUSY$/],
    [effectText({ type: 'chain-dropped', memdev: 0, reason: ERRNO_CODES.ENOSPC, staged: 5 }, names), /\(-ENOSPC, 5 staged\)$/],
    [effectText({ type: 'response', memdev: 0, chain: 1, nrExtents: 2, parts: 1, rc: MBOX_RC_TIMEOUT }, names), / rc TIMEOUT$/],
  ];
  for (const [line, re] of lines) {
    t.match(line, re, String(line));
    t.notMatch(line ?? '', /-\d+\b/, 'no errno as a bare number');
  }
});

t.test('explain of a deadlock lists the hung tasks in report order, as khungtaskd names them', async (t) => {
  // row (d): chain-close-vs-probe, controlled random, seed 1 — the first H2 deadlock within 60 iterations
  const job = new StressJob({ workload: 'chain-close-vs-probe', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '1', schedule: { kind: 'random' }, noise: false, outDir: dir });
  let file: string | undefined;
  let n = 0;
  try {
    for (; n < 60 && !file; n++) {
      const r = await job.iteration(n);
      if (r.outcome === 'hung-wait-h2' && r.trace) file = r.trace;
    }
  } finally {
    await job.close();
  }
  t.comment(`H2's deadlock at iteration ${n - 1}`);
  if (!file) { t.fail('no H2 deadlock in 60 controlled iterations of row (d)'); return; }
  const tr = readTrace(file);
  if (!tr.ok) throw new Error(tr.message);
  const hung = tr.trace.record?.hung ?? [];
  t.ok(hung.length >= 1, `the trace stores the iteration's hung reports (${hung.length})`);
  const c = io();
  t.equal(await runCli(['explain', file], c), 0);
  const text = c.outText();
  t.match(text, new RegExp(`hung tasks, in report order \\(${hung.length}\\)`), 'a section lists them');
  t.match(text, /1\. INFO: task (dax-bus|irq\/mem\d) blocked for good: no thread can run \(controlled schedule\)/, 'the first, in khungtaskd\'s words; a controlled deadlock is no timeout');
  t.match(text, /waiter: \S+ \[slot \d+\] holds .*add_ctx\.lock|waiter: \S+ \[slot \d+\] holds device_lock\(cxlr_dax\)/, 'with what the waiter holds');
  t.match(text, /holder: \S+ \[slot \d+\] holds .*waits for (device_lock\(cxlr_dax\)|add_ctx\.lock)/, 'and what its holder holds and waits for');
});
