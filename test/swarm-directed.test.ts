// The swarm's knob-directed focus (stress/coverage.ts knobWindows, StressJob.focusFor): a run that
// changes a knob aims half of its aimed iterations at the windows whose resources that knob's code
// touches, as a directed fuzzer aims at the lines a patch changed. The v11 default is not directed.
import t from 'tap';
import { KNOB_RESOURCES, WINDOWS, knobWindows } from '../stress/coverage.js';
import { StressJob, type JobOptions } from '../stress/runner.js';
import { KNOWN_KNOBS } from '../src/scenario/knobs.js';
import type { Knobs } from '../src/scenario/types.js';

t.test('knobWindows: the windows a changed knob touches', (t) => {
  t.same(knobWindows('v11', {}), [], 'the v11 default changes no knob: nothing directed');
  t.same(knobWindows('v11', { rcu: 'off' } as Knobs), [], 'a knob set to its v11 default changes nothing');
  const tag = knobWindows('v11', { 'tag-lock': 'off' } as Knobs);
  t.ok(tag.includes('H1') && tag.includes('CL-one-owner'), `tag-lock=off: the registry race's windows (${tag.join(' ')})`);
  t.notOk(tag.includes('H7'), 'and not the DAX claim\'s');
  const grp = knobWindows('v11', { 'group-lock': 'per-extent' } as Knobs);
  t.ok(grp.includes('H7') && grp.includes('CL-group-atomic'), `group-lock=per-extent: the group DAX add's windows (${grp.join(' ')})`);
  t.same(knobWindows('v11', { 'parallel-event-handlers': 2 } as Knobs), ['CL-serial'], 'parallel-event-handlers=2: the serial-handling assumption');
  t.ok(knobWindows('v11', { rcu: 'on' } as Knobs).includes('H5'), 'rcu=on: H5\'s walk');
  t.ok(knobWindows('v10', {}).includes('CL-scan-defer'), 'a variant\'s presets count (v10 drops the scan gate)');
  const ids = new Set(WINDOWS.map((w) => w.id));
  for (const k of Object.keys(KNOB_RESOURCES)) t.ok(k in KNOWN_KNOBS, `KNOB_RESOURCES names a real knob: ${k}`);
  for (const id of tag) t.ok(ids.has(id), `${id} is a named window`);
  t.end();
});

t.test('focusFor: with a knob changed, about half of the aimed iterations aim at its windows', (t) => {
  const opts = (knobs: Knobs, directed = true): JobOptions => ({ workload: 'swarm', variant: 'v11', knobs, device: 'cxl-test', seed: '3', schedule: { kind: 'free' }, noise: false, outDir: null, directed });
  const N = 400;
  const share = (o: JobOptions, want: readonly string[]): { aimed: number; at: number } => {
    const job = new StressJob(o); // no topology is started: focusFor reads only the job's coverage
    let aimed = 0, at = 0;
    for (let i = 0; i < N; i++) {
      const f = job.focusFor(i)?.focus;
      if (f) { aimed++; if (want.includes(f)) at++; }
    }
    return { aimed, at };
  };
  const on = share(opts({ 'tag-lock': 'off' } as Knobs), ['H1', 'CL-one-owner']);
  const off = share(opts({ 'tag-lock': 'off' } as Knobs, false), ['H1', 'CL-one-owner']);
  const dflt = share(opts({}), ['H1', 'CL-one-owner']);
  t.comment(`${N} iterations, tag-lock=off: directed ${on.at}/${on.aimed} aimed at H1/CL-one-owner; undirected ${off.at}/${off.aimed}; v11 default ${dflt.at}/${dflt.aimed}`);
  t.ok(on.at / N > 0.3 && on.at / N < 0.45, `directed: ${on.at} of ${N} iterations (3/4 aimed × 1/2 directed ≈ 150)`);
  t.ok(off.at < on.at, 'fewer without the direction');
  t.equal(dflt.at, off.at, 'the v11 default draws as the undirected run does (nothing to direct at)');
  t.end();
});
