// H14, the teardown race (docs/kernel-map.md; stress/checkers/outcomes.ts): a region teardown or
// cxl_dax_region unbind lands between the event thread's realization of a chain (from its first
// group's online_tag_group) and the chain's Add DC Response. Found by `dcd stress` under the
// controlled PCT schedule (the window is a few instructions wide: the teardown must run its whole
// devres list while the event thread sits between online_tag_group and its notify), then replayed
// from the trace. H15 (the claimed dax_resource freed before unregister_dev_dax trims it) and H16
// (cxlr->cxlr_dax left dangling by `cxl disable-region`) are found by their own workloads.
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StressJob, type Schedule } from '../stress/runner.js';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';

async function findAndReplay(tt: Test, workload: string, schedule: Schedule, want: string[], max: number, hazard: string): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), `dcd-stress-${workload}-`));
  const job = new StressJob({ workload, variant: 'v11', knobs: {}, device: 'cxl-test', seed: '7', schedule, noise: false, outDir: out });
  const seen = new Map<string, number>();
  const found = new Map<string, { i: number; trace: string | undefined; cls: string; detail: string | undefined }>();
  let i = 0;
  try {
    for (; i < max && found.size < want.length; i++) {
      const it = await job.iteration(i);
      seen.set(it.outcome, (seen.get(it.outcome) ?? 0) + 1);
      if (want.includes(it.outcome) && !found.has(it.outcome)) found.set(it.outcome, { i, trace: it.trace, cls: it.class, detail: it.detail });
    }
  } finally {
    await job.close();
  }
  tt.comment(`${workload} ${JSON.stringify(schedule)}: ${i} iterations, outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
  tt.notOk([...seen.keys()].some((o) => o.startsWith('unnamed') || ['hung-wait', 'lock-order-cycle'].includes(o)), 'no unexplained outcome');
  for (const w of want) {
    const f = found.get(w);
    tt.ok(f, `finds ${w} within ${max} iterations (seed 7)`);
    if (!f) continue;
    tt.equal(f.cls, 'known-hazard', `${w} is classified known-hazard`);
    tt.match(f.detail ?? '', new RegExp(`^${hazard}:`), `${w} names ${hazard}`);
    tt.ok(f.trace, 'a trace file was written');
    const tr = readTrace(f.trace!);
    tt.ok(tr.ok, 'the trace reads back');
    if (!tr.ok) continue;
    const rep = await replayTrace(tr.trace, 1);
    tt.comment(`replay of iteration ${f.i}: ${rep.outcomes.join(', ')}${rep.divergence ? `, ${rep.divergence}` : ''}`);
    tt.ok(rep.reproduced && rep.outcomes.includes(w), `dcd replay reproduces ${w}`);
  }
}

t.test('(H14) teardown vs add response: the freed tag group used by the notify, and the protocol outcomes', (tt) =>
  findAndReplay(tt, 'teardown-vs-add-response', { kind: 'pct', depth: 3 },
    ['tag-group-use-after-free-h14', 'released-before-response'], 150, 'H14'));

t.test('(H15) teardown of a seed that claimed a later-onlined group: trim_dev_dax_range uses the freed dax_resource', (tt) =>
  findAndReplay(tt, 'teardown-claimed-seed', { kind: 'random' }, ['dax-resource-use-after-free-trim'], 3, 'H15'));

t.test('(H16) an add to a disabled region uses the freed cxl_dax_region', (tt) =>
  findAndReplay(tt, 'disabled-region-add', { kind: 'random' }, ['cxlr-dax-use-after-free-disabled-region'], 3, 'H16'));
