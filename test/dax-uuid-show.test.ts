// DAX `uuid` show under the knob v10-uuid-show (docs/kernel-map.md): an untagged or empty DC
// device reads "0" (v10) instead of the null UUID (v11, tested in dax-claim.test.ts).
import t from 'tap';
import { M, TAG_A, addChain, region, withSystem } from './sys-helpers.js';

await withSystem(t, { knobs: { 'v10-uuid-show': 'on' } }, async (s) => {
  await region(s);
  await addChain(s, 0, [{ offset: 0, length: 2 * M, tag: null }]);
  await addChain(s, 0, [{ offset: 8 * M, length: 2 * M, tag: TAG_A }]);
  const a = await s.user(0).call((x) => x.createDaxDevice(0, null));
  const b = await s.user(0).call((x) => x.createDaxDevice(0, TAG_A));
  const st = await s.state();
  t.equal(a.ok && st.daxDevices[a.value.name]!.uuid, '0', 'untagged claim reads "0"');
  t.equal(b.ok && st.daxDevices[b.value.name]!.uuid, TAG_A, 'a tagged one still reads its tag');
  t.equal(st.daxDevices['dax0.0']!.uuid, '0', 'the empty seed reads "0"');
});
