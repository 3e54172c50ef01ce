// The device mailbox latency model (issue #17; src/device/service.ts `execute`, DeviceConfig
// `mboxLatencyUs`): on the virtual clock every mailbox command moves time forward by the modelled
// latency — checked by counting: the clock reads exactly (commands served) × latency, at start-up
// (the probe's commands) and after an add and a release. No timing is asserted. Bad values are
// refused with the field named (device config, scenario topology, CLI flag).
import t from 'tap';
import { MiB } from '../src/units.js';
import { BLOCK, addChain, chain, observe, region, release, withSystem } from './sys-helpers.js';
import { resolveDeviceConfig, deviceConfigFromTopology } from '../src/device/config.js';
import { parseScenario } from '../src/scenario/validate.js';
import { parseArgs } from '../src/cli/args.js';

const LAT_US = 250;

await t.test('virtual clock: time advances by the modelled latency per mailbox command', (t) => withSystem(t, { clock: 'virtual', deviceLatencyUs: LAT_US, memdevs: 2 }, async (s) => {
  const served = async (): Promise<number> => (await s.device(0).call((a) => a.commandsServed())) + (await s.device(1).call((a) => a.commandsServed()));
  await region(s, 0);
  await region(s, 1);
  const c0 = await served();
  t.ok(c0 > 0, `the probe and region set-up sent ${c0} mailbox commands`);
  t.equal(s.clock.now(), c0 * LAT_US / 1000, `virtual time after start-up = ${c0} commands × ${LAT_US} µs`);
  const t0 = s.clock.now();
  for (const m of [0, 1]) {
    await addChain(s, m, chain([0, BLOCK, 2 * BLOCK], BLOCK, null));
    await observe(s, m, () => release(s, m, [{ offset: 0, length: BLOCK, tag: null }]));
  }
  await s.waitIdle();
  const c1 = await served();
  t.ok(c1 - c0 >= 2 * (3 + 3 + 1), `an add and a release on two memdevs took ${c1 - c0} commands`);
  t.ok(Math.abs(s.clock.now() - t0 - (c1 - c0) * LAT_US / 1000) < 1e-6, `virtual time moved ${(s.clock.now() - t0).toFixed(3)} ms = ${c1 - c0} commands × ${LAT_US} µs (two devices advancing one clock)`);
  await s.advanceClock(5);
  t.ok(Math.abs(s.clock.now() - t0 - (c1 - c0) * LAT_US / 1000 - 5) < 1e-6, 'advance-clock adds to the modelled time');
}));

await t.test('latency 0 leaves the virtual clock alone', (t) => withSystem(t, { clock: 'virtual' }, async (s) => {
  await region(s);
  await addChain(s, 0, chain([0], BLOCK, null));
  t.ok((await s.device(0).call((a) => a.commandsServed())) > 0, 'commands were served');
  t.equal(s.clock.now(), 0, 'no modelled latency, no time');
}));

t.test('bad latencies are refused, naming the field', (t) => {
  const cfg = deviceConfigFromTopology({ name: 'mem0', serial: 1, sharable: false, dc: { base: 2048 * MiB, size: 512 * MiB, blockSize: BLOCK }, preAccepted: [] }, 'cxl-test', 1);
  const r = resolveDeviceConfig({ ...cfg, mboxLatencyUs: -1 });
  t.ok(!r.ok && /mboxLatencyUs/.test(r.error), `device config: ${r.ok ? 'accepted' : r.error}`);
  t.ok(resolveDeviceConfig({ ...cfg, mboxLatencyUs: 100 }).ok, 'device config: 100 µs accepted');
  const doc = (lat: unknown): string => JSON.stringify({ topology: { deviceLatencyUs: lat, memdevs: [{ name: 'mem0', dc: { base: '2G', size: '512M', blockSize: '2M' } }] }, steps: [] });
  const bad = parseScenario(doc(-5), 'x.json');
  t.ok(!bad.ok && bad.errors.some((e) => e.path === '$.topology.deviceLatencyUs'), `scenario: ${bad.ok ? 'accepted' : bad.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const good = parseScenario(doc(40), 'x.json');
  t.ok(good.ok && good.scenario.topology.deviceLatencyUs === 40, 'scenario: topology.deviceLatencyUs 40 parsed');
  const a = parseArgs(['bench', '--device-latency', '0', '--device-latency', '12.5']);
  t.same(a.kind === 'bench' ? a.deviceLatenciesUs : null, [0, 12.5], 'bench: --device-latency is repeatable');
  const e = parseArgs(['run', 'x.json', '--device-latency', 'fast']);
  t.ok(e.kind === 'usage-error' && /--device-latency/.test(e.message), `run: ${e.kind === 'usage-error' ? e.message : 'accepted'}`);
  t.end();
});
