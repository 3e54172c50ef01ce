// Sharable partitions (CDAT DSMAS sharable flag → `sharable: true` in the topology): G2 sequence
// integrity 0..n-1 (v11) vs 1..n (v10), E3 null tag refused, seq_num = the device's
// shared_extn_seq, and the order the response lists a reordered group in (O1 against the
// order-enforcing cxl-test mock). docs/kernel-map.md, §2.5, §2.6, §9.
import t from 'tap';
import { M, TAG_A, TAG_B, TAG_C, addChain, chain, withSystem, region } from './sys-helpers.js';

const T = (n: number): string => `a000000${n}-0000-4000-8000-00000000000${n}`;
const has = (log: string[], re: RegExp): boolean => log.some((l) => re.test(l));

await t.test('v11', (t) => withSystem(t, { memdevs: [{ sharable: true }] }, async (s) => {
  await region(s);
  const st0 = await s.state();
  t.equal(st0.memdevs.mem0!.sharable, true, 'the host learned sharability from the partition');

  await t.test('G2: seqs {1,2}, {0,0}, {0,2} drop the whole group', async (t) => {
    for (const [i, seqs] of [[1, 2], [0, 0], [0, 2]].entries()) {
      const o = await addChain(s, 0, chain([i * 8 * M, i * 8 * M + 2 * M], 2 * M, T(i + 1), seqs));
      t.equal(o.responses.length, 1, `seqs ${seqs}: answered`);
      t.same(o.listed, [], `seqs ${seqs}: group dropped`);
      t.ok(has(o.log, /sequence numbers are not 0\.\.1/), `seqs ${seqs}: G2 warning`);
    }
  });

  await t.test('G2: seqs 0..n-1 pass, and each member keeps the device seq as its seq_num', async (t) => {
    const o = await addChain(s, 0, chain([64 * M, 66 * M, 68 * M], 2 * M, TAG_A, [0, 1, 2]));
    t.same(o.listed, [64 * M, 66 * M, 68 * M]);
    t.same(o.tracked.map((e) => e.seq), [0, 1, 2]);
    t.ok(o.tracked.every((e) => e.shareable === 1), 'tracked as sharable');
  });

  await t.test('E3: an untagged extent on a sharable partition is omitted', async (t) => {
    const o = await addChain(s, 0, [{ offset: 80 * M, length: 2 * M, tag: null, more: false }]);
    t.same(o.listed, []);
    t.ok(has(o.log, /untagged extent on a sharable partition/));
  });

  await t.test('O1: a group offered out of seq order is listed sorted; the mock refuses the reordered response (H10)', async (t) => {
    // offer X (seq 1) before Y (seq 0): the host sorts the group to Y, X
    const o = await addChain(s, 0, chain([96 * M, 98 * M], 2 * M, TAG_B, [1, 0]));
    t.same(o.listed, [98 * M, 96 * M], 'response in seq order, not offer order');
    t.same(o.tracked.map((e) => [e.dpa - 2048 * M, e.seq]), [[98 * M, 0], [96 * M, 1]], 'both host-tracked with their device seqs');
    t.not(o.responses[0]!.rc, 0, 'the logical response carries the refusal');
    const st = await s.state();
    const add = st.trace.mailbox.filter((m) => m.opcode === 'ADD_DC_RESPONSE').at(-1)!;
    t.equal(add.rc, '-EINVAL', 'cxl-test enforces offer order: -EINVAL, the mock errno unchanged');
    t.same(st.memdevs.mem0!.accepted.filter((e) => e.tag === TAG_B).map((e) => e.offset), [98 * M], 'the device accepted only the entry before the refusal (torn)');
    t.equal(st.regions.region0!.extents.filter((e) => e.uuid === TAG_B).length, 2, 'while the host tracks both (host and device diverge)');
  });

  await t.test('a sharable group offered in seq order is accepted by the mock', async (t) => {
    const o = await addChain(s, 0, chain([112 * M, 114 * M], 2 * M, TAG_C, [0, 1]));
    t.same(o.listed, [112 * M, 114 * M]);
    const st = await s.state();
    t.equal(st.trace.mailbox.filter((m) => m.opcode === 'ADD_DC_RESPONSE').at(-1)!.rc, 'SUCCESS');
    t.equal(st.memdevs.mem0!.accepted.filter((e) => e.tag === TAG_C).length, 2);
  });
}));

await t.test('v10 variant: sharable seqs are validated as 1..n', (t) => withSystem(t, { variant: 'v10', memdevs: [{ sharable: true }] }, async (s) => {
  await region(s);
  let o = await addChain(s, 0, chain([0, 2 * M], 2 * M, TAG_A, [0, 1]));
  t.equal(o.responses.length, 1);
  t.same(o.listed, [], 'a v11-valid group (0..n-1) is refused by v10 (G2)');
  t.ok(has(o.log, /sequence numbers are not 1\.\.2/));
  o = await addChain(s, 0, chain([8 * M, 10 * M], 2 * M, TAG_B, [1, 2]));
  t.same(o.listed, [8 * M, 10 * M], '1..n passes');
  t.same(o.tracked.map((e) => e.seq), [1, 2]);
  const c = await s.user(0).call((a) => a.createDaxDevice(0, TAG_B));
  t.ok(c.ok, 'the v10 claim accepts a 1..n group');
  const st = await s.state();
  t.equal(c.ok && st.daxDevices[c.value.name]!.size, 4 * M);
}));
