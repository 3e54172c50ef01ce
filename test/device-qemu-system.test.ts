/**
 * The QEMU personalities under the real v11 host (device worker, event thread, workqueue, dax-bus,
 * user worker), for the numbers a host can see:
 *  - the host enables the DC interrupt with Set Event Interrupt Policy at probe (v11 pci.c
 *    `cxl_event_config_msgnums`); QEMU interrupts only once that is done (`cxl_event_irq_assert`);
 *  - the 2,048-byte payload: the host splits an Add DC Response at 85 entries, and QEMU, which
 *    does not read the response's More flag, deletes the whole front pending group after the
 *    first part (`cmd_dcd_add_dyn_cap_rsp` → `cxl_extent_group_list_delete_front`), so the second
 *    part names extents no longer pending: Invalid PA. A chain of more than 85 extents is torn —
 *    H10 (host-kernel hazard: cxl_send_dc_response does not roll back), reached at QEMU's own size.
 */
import t from 'tap';
import { withSystem, region, M, events, mbox } from './sys-helpers.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import type { InjectRecord } from '../src/device/types.js';

t.test('qemu: Set Event Interrupt Policy at probe, then one interrupt per empty→non-empty edge', async (t) => {
  await withSystem(t, { device: 'qemu' }, async (s) => {
    const policy = events(s, 'mbox').filter((e) => e.opcode === CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY);
    t.same(policy.map((e) => e.rc), [0], 'the host sent it once at probe and QEMU accepted it');
    await region(s, 0);
    const before = await s.device(0).call((a) => a.counters());
    const r = await s.device(0).call((a) => a.addCapacity({ policy: 'prescriptive', extents: [{ offset: 0, length: 4 * M }, { offset: 8 * M, length: 4 * M }] }));
    t.ok(r.ok);
    await s.waitIdle();
    const after = await s.device(0).call((a) => a.counters());
    t.equal(after.irqs - before.irqs, 1, 'two records into an empty log: one interrupt');
    t.equal((await s.device(0).call((a) => a.accepted())).length, 2, 'the host drained and answered');
  });
});

t.test('qemu: a 90-extent chain is answered in parts of 85 + 5; QEMU deletes its group after the first part', async (t) => {
  await withSystem(t, { device: 'qemu', clock: 'virtual' }, async (s) => {
    const rid = await region(s, 0);
    const N = 90;
    // 8 records per op (QEMU's log holds 8), the host drains between ops; one chain (More=1 until the last)
    for (let i = 0; i < N; i += 8) {
      const recs: InjectRecord[] = [];
      for (let k = i; k < Math.min(N, i + 8); k++) recs.push({ offset: k * 2 * M, length: 2 * M, more: k < N - 1 });
      const r = await s.device(0).call((a) => a.injectRecords(recs));
      t.ok(r.ok, `records ${i}..${i + recs.length - 1} offered`);
      await s.waitIdle();
    }
    const st = await s.state();
    const parts = mbox(st, 'ADD_DC_RESPONSE');
    t.same(parts.map((p) => [p.nrExtents, p.more, p.rc]), [[85, true, 'SUCCESS'], [5, false, 'INVALID_PA']],
      '(2048 - 8) / 24 = 85 entries per part; the second part finds no pending group');
    t.equal(st.memdevs.mem0!.accepted.length, 85, 'QEMU accepted the first part only');
    t.equal(st.memdevs.mem0!.pending.length, 0, 'and deleted the whole group with it');
    t.equal(st.regions[`region${rid}`]!.extents.length, 90, 'the host onlined all 90 (no roll back): H10');
  });
});
