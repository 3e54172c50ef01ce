// E1 (docs/kernel-map.md): a zero-length or u64-wrapping extent fails cxl_validate_extent
// ("invalid length", -ENXIO) and is omitted alone. The cxl_test mock's FM refuses such records, so
// the device here is the hostile personality with no lies, whose generator emits them.
import t from 'tap';
import { M, inject, observe, region, withSystem } from './sys-helpers.js';

const quiet = { configViolation: 'none', extentListLie: 'none', eventRecordLie: 'none' } as const;
const has = (log: string[], re: RegExp): boolean => log.some((l) => re.test(l));

await withSystem(t, { deviceOverrides: [{ personality: 'hostile', hostile: quiet }] }, async (s) => {
  await region(s, 0);

  await t.test('E1: a zero-length extent is omitted (-ENXIO "invalid length")', async (t) => {
    const o = await observe(s, 0, () => s.device(0).call((a) => a.hostileInject('zero-length')));
    t.equal(o.responses.length, 1, 'the chain is answered');
    t.same(o.listed, [], 'with the extent omitted');
    t.equal(o.tracked.length, 0);
    t.ok(has(o.log, /invalid length/), 'logged as invalid length');
  });

  await t.test('E1: a u64-wrapping extent is omitted alone; its valid chain mate is accepted', async (t) => {
    const o = await observe(s, 0, async () => {
      await inject(s, 0, [{ offset: 0, length: 2 * M, tag: null, more: true }]);
      const r = await s.device(0).call((a) => a.hostileInject('u64-wrap'));
      t.ok(r.ok, 'the wrapping record was queued');
    });
    t.equal(o.responses.length, 1, 'one response for the two-record chain');
    t.same(o.listed, [0], 'only the valid extent is listed');
    t.same(o.tracked.map((e) => e.dpa - 2048 * M), [0], 'and tracked');
    t.ok(has(o.log, /invalid length/), 'the wrap fails E1, not the alignment gate');
    t.notOk(has(o.log, /not .*-aligned/), 'G4 did not drop the group');
  });
});
