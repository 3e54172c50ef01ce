// An Add DC Response larger than the mailbox payload (docs/kernel-map.md, §8.3, H10): with a
// 256-byte payload a part holds (256 - 8) / 24 = 10 entries, so a 25-extent chain needs three
// parts with More set on all but the last (the trace lists only the parts sent). The cxl_test mock does not read More: it judges each
// part alone and clears every still-offered extent after the first, so the second part names
// extents it no longer knows ("not found": -ENOMEM, the mock's errno unchanged). v11 aborts the remaining parts and does
// not roll back: the host keeps all 25 extents while the device accepted only the first 10.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { M, addChain, chain, mboxSince, mark, region, withSystem } from './sys-helpers.js';

await withSystem(t, { payloadSize: 256 }, async (s) => {
  await region(s);
  const m0 = mark(s);
  const offs = Array.from({ length: 25 }, (_, i) => i * 4 * M);
  const o = await addChain(s, 0, chain(offs, 2 * M, null));
  const parts = mboxSince(s, CXL_MBOX_OP.ADD_DC_RESPONSE, m0);
  t.equal(o.responses.length, 1, 'one logical response');
  // the response trace lists what went on the wire: two parts of 10; the third was never sent
  // (cxl_send_dc_response returns at the first failing send_one_response)
  t.equal(o.listed.length, 20, 'response-extent events only for the 20 extents of the two parts sent');
  t.same(parts.map((p) => [p.nrExtents, p.more]), [[10, 1], [10, 1]], 'sent in parts of 10 with More set; the third part is never sent');
  t.equal(parts[0]!.rc, 0, 'the first part succeeds');
  t.not(parts[1]!.rc, 0, 'the device refuses the second part');
  t.equal(o.responses[0]!.parts, 2);
  t.not(o.responses[0]!.rc, 0, 'the logical response reports the failure');
  const st = await s.state();
  const add = st.trace.mailbox.filter((m) => m.opcode === 'ADD_DC_RESPONSE');
  t.same(add.map((m) => m.more), [true, true], 'state().trace.mailbox shows the More flags');
  t.equal(add[1]!.rc, '-ENOMEM');
  // each part lists its own ranges, partition-relative like every device-side offset
  const inParts = add.flatMap((m) => (m.extents ?? []).map((e) => e.offset));
  t.same(inParts, o.listed.slice(0, 20), 'the two parts carry the first 20 listed ranges in order, partition-relative');
  t.ok(add.every((m) => m.extents?.length === 10 && m.extents.every((e) => e.length === 2 * M)), '10 ranges of 2 MiB per part');
  t.equal(st.regions.region0!.extents.length, 25, 'the host tracks all 25 (no roll back)');
  t.equal(st.memdevs.mem0!.accepted.length, 10, 'the device accepted only the first part (H10: host and device diverge)');
});
