// A planless swarm trace is replayed by drawing its plan again from (seed, iteration, focus), so
// the swarm's plan generator is versioned (stress/workloads.ts SWARM_PLAN_VERSION): the eighth
// session's region destroys (`region-cycle`, `teardown-race`) changed every draw, and the stored
// traces of earlier sessions (docs/findings-open/swarm-*.trace.json) diverged at their first steps.
// A trace records the version it was drawn with; one without it is version 1. That version 1
// draws the stored traces' plans is shown by their replays: test/h24-controlled.test.ts follows
// swarm-partial-group-claimed-100-709 for its 153 recorded steps, test/stress-findings-open-2.test.ts
// replays swarm-released-unaccepted-1-1323 step for step (both diverged at step 0–4 without it).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../src/prng.js';
import { WORKLOADS, SWARM_PLAN_VERSION, traceHint } from '../stress/workloads.js';
import { readTrace } from '../stress/trace.js';

const swarm = WORKLOADS.swarm!;
const draw = (seed: string, i: number, version: number, focus?: string): string =>
  JSON.stringify(swarm.plan(new Prng(`${seed}:swarm:${i}`), i, { ...(focus ? { focus } : {}), version }));

t.test('the version decides the draw, and each version draws the same plan every time', (t) => {
  let differ = 0;
  let unstable = 0;
  const n = 40;
  for (let i = 0; i < n; i++) {
    if (draw('100', i, 1) !== draw('100', i, 1)) unstable++;
    if (draw('100', i, 1) !== draw('100', i, SWARM_PLAN_VERSION)) differ++;
  }
  t.equal(unstable, 0, `version 1 draws the same plan twice for each of ${n} iterations`);
  t.ok(differ > n / 2, `${differ} of ${n} plans differ between version 1 and ${SWARM_PLAN_VERSION}`);
  const v1 = draw('7', 3, 1, 'H14');
  t.notMatch(v1, /"destroy-region"/, 'version 1 never draws a region destroy (H14 focus)');
  let destroys = 0;
  for (let i = 0; i < 20; i++) if (draw('7', i, SWARM_PLAN_VERSION, 'H14').includes('"destroy-region"')) destroys++;
  t.ok(destroys > 10, `version ${SWARM_PLAN_VERSION} aimed at H14 destroys a region in ${destroys} of 20 plans`);
  t.end();
});

t.test('version 5 adds mapping-read; version 4 draws stay as they were (no mappingN read ever)', (t) => {
  let v4reads = 0;
  let v5reads = 0;
  for (let i = 0; i < 40; i++) {
    const v4 = draw('11', i, 4, i % 2 ? 'H27' : undefined);
    if (v4.includes('"read-mapping"')) v4reads++;
    if (draw('11', i, 5, 'H27').includes('"read-mapping"')) v5reads++;
  }
  t.equal(v4reads, 0, 'version 4 never draws a read-mapping op (40 plans, half aimed at H27)');
  // a read needs a device claimed earlier in the same plan (its alias), so not every aimed plan has one
  t.ok(v5reads > 20, `version 5 aimed at H27 reads a mapping in ${v5reads} of 40 plans`);
  t.end();
});

t.test('a trace without the field is version 1; with it, its own', (t) => {
  t.same(traceHint({}), { version: 1 });
  t.same(traceHint({ focus: 'H14', swarmPlan: 2 }), { focus: 'H14', version: 2 });
  t.end();
});

t.test('readTrace refuses a generator this dcd does not have', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dcd-plan-version-'));
  const base = { version: 1, kind: 'dcd-stress-trace', workload: 'swarm', seed: '1', iteration: 0, variant: 'v11', device: 'cxl-test', outcome: 'ok', schedule: 'free', steps: [] };
  for (const [v, ok] of [[1, true], [SWARM_PLAN_VERSION, true], [SWARM_PLAN_VERSION + 1, false], [0, false], [1.5, false]] as const) {
    const f = join(dir, `t${v}.json`);
    writeFileSync(f, JSON.stringify({ ...base, swarmPlan: v }));
    const r = readTrace(f);
    t.equal(r.ok, ok, `swarmPlan ${v}: ${r.ok ? 'read' : (r as { message: string }).message}`);
    if (!r.ok) t.match((r as { message: string }).message, /swarmPlan/, 'the message names the field');
  }
  t.end();
});
