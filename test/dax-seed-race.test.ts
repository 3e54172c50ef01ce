// Two users racing `daxctl create-device --uuid T` for one tagged group (drivers/dax/bus.c
// create_store / seed_show / uuid_store / dax_bus_probe; ndctl daxctl/device.c do_create), in two
// user worker threads, ROUNDS times. Each run writes `create`, reads `seed`, writes T to the seed's
// `uuid`, enables it. Both runs can read the same seed: the one whose uuid write comes second
// finds a sized device (-EBUSY). Once the first claimed the group nothing is available, so a
// later create fails -ENOSPC; and once the first enabled its device `seed` is empty (-ENOSPC).
// Exactly one run wins each round; the loser's errno is EBUSY or ENOSPC; both branches are hit.
// Between rounds the winner is destroyed (the group is free again) and idle devices deleted.
// Free-running, message dispatch skews the two runs (the second usually starts after the first
// finished: ENOSPC; the shared-seed EBUSY is rare). The second part runs the `two-claims` stress
// workload (the same two daxctl runs, in two user workers) under the controlled random schedule,
// which interleaves the threads at every lock acquisition and instrumented point: there both
// branches show up, and every iteration must still be acceptable to the checkers.
import t from 'tap';
import { StressJob } from '../stress/runner.js';
import { M, TAG_A, addChain, chain, region, withSystem } from './sys-helpers.js';

const ROUNDS = Number(process.env.DAX_SEED_RACE_ROUNDS ?? 300);

await withSystem(t, { users: 2, noisePermille: Number(process.env.DAX_SEED_RACE_NOISE ?? 0) }, async (s) => {
  await region(s);
  await addChain(s, 0, chain([0, 8 * M], 4 * M, TAG_A));
  const outcome = new Map<string, number>();
  const bad: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const runs = Promise.all([
      s.user(0).call((x) => x.createDaxDevice(0, TAG_A)),
      s.user(1).call((x) => x.createDaxDevice(0, TAG_A)),
    ]);
    const [a, b] = await runs;
    const wins = [a, b].filter((r) => r.ok);
    if (wins.length !== 1) { bad.push(`round ${round}: ${wins.length} winners: ${JSON.stringify([a, b])}`); break; }
    const win = wins[0] as { ok: true; value: { devId: number; name: string } };
    const lose = a.ok ? b : a;
    const key = lose.ok ? 'ok' : lose.errno;
    outcome.set(key, (outcome.get(key) ?? 0) + 1);
    if (key !== 'EBUSY' && key !== 'ENOSPC') bad.push(`round ${round}: the loser got ${key}`);
    const st = await s.state();
    const r0 = st.regions.region0!;
    const w = st.daxDevices[win.value.name];
    if (!w || w.size !== 8 * M || !w.enabled || w.uuid !== TAG_A) bad.push(`round ${round}: winner ${JSON.stringify(w)}`);
    if (r0.seed !== '') bad.push(`round ${round}: seed "${r0.seed}" after the winner enabled its device`);
    // EBUSY: both used the winner's device as their seed; the loser's create_store's device is idle
    const idle = r0.daxDevices.filter((d) => d.size === 0 && d.name !== 'dax0.0');
    const cleanup = [win.value.devId, ...idle.map((d) => Number(d.name.split('.')[1]))];
    for (const id of cleanup) {
      const r = await s.user(0).call((x) => x.destroyDaxDevice(0, id));
      if (!r.ok) bad.push(`round ${round}: destroy dax0.${id}: ${r.errno}`);
    }
    if (bad.length) break;
  }
  const st = await s.state();
  t.comment(`free-running: two create-device runs, ${ROUNDS} rounds; loser outcomes ${JSON.stringify(Object.fromEntries(outcome))}`);
  t.same(bad, [], 'every round: one winner holding the whole group, enabled; the loser EBUSY or ENOSPC');
  t.ok((outcome.get('ENOSPC') ?? 0) >= 1, `the loser's create or seed read came after the winner's claim: ENOSPC (${outcome.get('ENOSPC') ?? 0} rounds)`);
  t.same(st.regions.region0!.daxDevices.map((d) => d.name), ['dax0.0'], 'cleaned up: only the probe\'s device');
  t.equal(st.regions.region0!.availableSize, 8 * M, 'the group is free again');
});

const ITER = Number(process.env.DAX_SEED_RACE_ITER ?? 60);

t.test('two-claims under the controlled random schedule: both land on one seed (EBUSY) or the loser finds no space (ENOSPC)', async (t) => {
  const job = new StressJob({ workload: 'two-claims', variant: 'v11', knobs: {}, device: 'cxl-test', seed: '5', schedule: { kind: 'random' }, noise: false, outDir: null });
  const loser = new Map<string, number>();
  const classes = new Map<string, number>();
  const bad: string[] = [];
  try {
    for (let i = 0; i < ITER; i++) {
      const it = await job.iteration(i);
      classes.set(`${it.class}:${it.outcome}`, (classes.get(`${it.class}:${it.outcome}`) ?? 0) + 1);
      const claims = it.ops.filter((o) => o.op === 'claim' && !o.skipped);
      const won = claims.filter((o) => o.ok);
      if (claims.length !== 2 || won.length !== 1) { bad.push(`iteration ${i}: ${JSON.stringify(claims)}`); continue; }
      const l = claims.find((o) => !o.ok)!;
      loser.set(l.errno ?? '?', (loser.get(l.errno ?? '?') ?? 0) + 1);
      if (l.errno !== 'EBUSY' && l.errno !== 'ENOSPC') bad.push(`iteration ${i}: loser ${l.errno}`);
      // H2 (add_ctx.lock ↔ device_lock(cxlr_dax), a known v11 hazard) is reported once per run,
      // when the setup's add and probe first record both edges; anything else must be acceptable
      if (it.class !== 'acceptable' && it.outcome !== 'lock-order-h2') bad.push(`iteration ${i}: ${it.class} ${it.outcome}`);
    }
  } finally {
    await job.close();
  }
  t.comment(`controlled: ${ITER} iterations; loser outcomes ${JSON.stringify(Object.fromEntries(loser))}; classified ${JSON.stringify(Object.fromEntries(classes))}`);
  t.same(bad, [], 'every iteration: one winner, the loser EBUSY or ENOSPC, acceptable (or the known H2 report)');
  t.ok((loser.get('EBUSY') ?? 0) >= 1, `both runs read the same seed: the second uuid write got EBUSY (${loser.get('EBUSY') ?? 0} iterations)`);
  t.ok((loser.get('ENOSPC') ?? 0) >= 1, `the loser's create came after the claim, or its seed read after the enable: ENOSPC (${loser.get('ENOSPC') ?? 0} iterations)`);
});
