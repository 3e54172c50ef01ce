// DC configuration checks at memdev probe (docs/kernel-map.md, §3 C1–C4): a device whose Get DC
// Config reply violates a check has DCD disabled — the memdev is still listed, without
// dynamic_ram_1, and no DC region can be created on it. mem0 is a sane control device; the others
// are hostile devices pinned to one configuration lie each (no other lies). The C2 checks one by
// one are cxl_dc_check's; here each family is shown to disable DCD end to end.
import t from 'tap';
import type { ConfigViolation } from '../src/device/config.js';
import { DC_SIZE, M, addChain, region, withSystem } from './sys-helpers.js';

// One lie per check family: every extra memdev is two more worker threads to start.
const LIES: Exclude<ConfigViolation, 'none'>[] = ['C1-too-many-returned', 'C2-overlap', 'C3-skip-pmem'];
const hostile = (v: ConfigViolation) => ({ personality: 'hostile' as const, hostile: { configViolation: v, extentListLie: 'none' as const, eventRecordLie: 'none' as const } });

await withSystem(t, { memdevs: LIES.length + 1, deviceOverrides: [{}, ...LIES.map(hostile)] }, async (s) => {
  const st = await s.state();
  const log = s.dmesgLines();

  t.test('the sane control device has DCD', async (t) => {
    const m = st.memdevs.mem0!;
    t.equal(m.dcdSupported, true);
    t.equal(m.dynamicRam1Size, DC_SIZE);
    t.equal(m.decoderMode, 'dynamic_ram_1');
    t.equal(m.dcdDisabledReason, undefined, 'no disabled reason');
    await region(s, 0);
    const o = await addChain(s, 0, [{ offset: 0, length: 2 * M, tag: null }]);
    t.same(o.listed, [0], 'and works end to end');
  });

  for (const [k, lie] of LIES.entries()) {
    const i = k + 1;
    await t.test(`${lie}: DCD disabled, memdev still listed`, async (t) => {
      const m = st.memdevs[`mem${i}`];
      t.ok(m, `mem${i} is listed`);
      t.equal(m!.dcdSupported, false, 'dcd_supported = false');
      t.equal(m!.dynamicRam1Size, 0, 'no dynamic_ram_1 size');
      t.equal(m!.decoderMode, 'none');
      const check = lie.slice(0, 2);
      const lines = log.filter((l) => l.dev === `mem${i}` && /DCD disabled/.test(l.msg));
      t.equal(lines.length, 1, 'one "DCD disabled" line');
      t.match(lines[0]?.msg ?? '', new RegExp(`DCD disabled: ${check}`), `the reason names ${check}`);
      t.match(m!.dcdDisabledReason ?? '', new RegExp(`^${check}`), 'the state view carries the reason too');
      const r = await s.createRegion(i, null);
      t.equal(r.ok, false, 'create-region refused');
      t.equal(!r.ok && r.errno, 'EINVAL');
    });
  }
});
