/**
 * cxl_test drains inside the inject (issue #21, point 1): the mock's `log_dc_event` calls
 * `cxl_mem_get_event_records()` inside the sysfs write (tools/testing/cxl/test/mem.c, "Fake the
 * irq"), so each `dc_inject_extent` write returns after the host fetched, handled, answered and
 * cleared its record. On the model's `cxl-test` device the FM call resolves only after that drain
 * (src/device/service.ts), and the device logs one FM record at a time (device.ts `pump`).
 *
 * Under real threads (device worker, event thread, workqueue, dax-bus, user): three single-record
 * chains injected back to back — what ndctl's cxl-dcd.sh does with sequential writes — must all be
 * accepted by the device and tracked by the host. Before the change the first chain's Add DC
 * Response ran `dc_clear_sent` over the later chains' offers (1 of 3 accepted, 3 tracked).
 */
import t from 'tap';
import { withSystem, region, inject, TAG_A, TAG_B, TAG_C, M, acceptedOffsets } from './sys-helpers.js';
import { startDevice } from './helpers/device-harness.js';
import * as W from '../src/wire/cxl.js';
import type { DeviceConfig } from '../src/device/config.js';

const RUNS = 4;
const TAGS = [TAG_A, TAG_B, TAG_C];

t.test('three back-to-back add-capacity ops (no wait-idle between) are all accepted by device and host', async (t) => {
  let accepted3 = 0;
  for (let run = 0; run < RUNS; run++) {
    await withSystem(t, { seed: run }, async (s) => {
      const r = await region(s, 0);
      for (let i = 0; i < 3; i++) {
        await inject(s, 0, [{ offset: i * 64 * M, length: 32 * M, tag: TAGS[i]!, more: false }]);
        // the write returned: the host has already answered this chain (no wait-idle needed)
        const acc = await s.device(0).call((a) => a.accepted());
        t.ok(acc.some((e) => e.offset === i * 64 * M), `run ${run}: chain ${i} accepted when its inject returned`);
      }
      await s.waitIdle();
      const st = await s.state();
      const dev = acceptedOffsets(st);
      const host = (st.regions[`region${r}`]?.extents ?? []).length;
      t.same(dev, [0, 64 * M, 128 * M], `run ${run}: device accepted all three`);
      t.equal(host, 3, `run ${run}: host tracks all three`);
      if (dev.length === 3 && host === 3) accepted3++;
    });
  }
  t.comment(`back-to-back injects: ${accepted3} of ${RUNS} runs ended with 3 of 3 accepted by device and host`);
  t.equal(accepted3, RUNS);
});

t.test('three chains issued concurrently (not awaited in turn) are logged one at a time and all accepted', async (t) => {
  let ok = 0;
  for (let run = 0; run < RUNS; run++) {
    await withSystem(t, { seed: 100 + run }, async (s) => {
      const r = await region(s, 0);
      const res = await Promise.all([0, 1, 2].map((i) => s.device(0).call((a) => a.injectRecords([{ offset: i * 64 * M, length: 32 * M, tag: TAGS[i]!, more: false }]))));
      t.same(res.map((x) => x.ok), [true, true, true], `run ${run}: every inject returned ok`);
      await s.waitIdle();
      const st = await s.state();
      const dev = acceptedOffsets(st);
      const host = (st.regions[`region${r}`]?.extents ?? []).length;
      // at most one FM record was ever in the log: every record-bearing Get returned exactly one
      t.same(dev, [0, 64 * M, 128 * M], `run ${run}: device accepted all three`);
      t.equal(host, 3, `run ${run}: host tracks all three`);
      if (dev.length === 3 && host === 3) ok++;
    });
  }
  t.comment(`concurrent injects: ${ok} of ${RUNS} runs ended with 3 of 3 accepted`);
  t.equal(ok, RUNS);
});

t.test('a More chain spanning records: each record drains (staged, cleared) before the next is logged', async (t) => {
  await withSystem(t, {}, async (s) => {
    await region(s, 0);
    const r = await s.device(0).call((a) => a.injectRecords([
      { offset: 0, length: 32 * M, tag: TAG_A, more: true },
      { offset: 32 * M, length: 32 * M, tag: TAG_A, more: true },
      { offset: 64 * M, length: 32 * M, tag: TAG_A, more: false },
    ]));
    t.ok(r.ok);
    // returned after the last record's drain: the response is in, nothing is queued or logged
    const log = await s.device(0).call((a) => a.eventLog());
    t.equal(log.queued + log.fmQueued, 0, 'nothing left in the log or the FM queue when the call returned');
    const acc = await s.device(0).call((a) => a.accepted());
    t.equal(acc.length, 3, 'the whole chain was accepted before the call returned');
  });
});

const BASE = 2 * 1024 * M;
const C: DeviceConfig = {
  name: 'mem1', serial: 2, personality: 'cxl-test', seed: 'sync', payloadSize: 4096, staticBytes: BASE,
  partitions: [{ base: BASE, decodeLength: 512 * M, length: 512 * M, blockSize: 512, dsmadHandle: 0xfa, sharable: false }],
  preAccepted: [],
};

t.test('a host that never drains: the FM call ends with ETIMEDOUT, the rest stays queued behind the first record', async (t) => {
  const h = await startDevice(C, { awaitDrain: true, drainTimeoutMs: 300 });
  t.teardown(() => h.close());
  const r = await h.dev.injectRecords([{ offset: 0, length: 2 * M, more: true }, { offset: 2 * M, length: 2 * M }]);
  t.equal(r.ok ? 'ok' : r.errno, 'ETIMEDOUT', 'not a silent success');
  const log = await h.dev.eventLog();
  t.equal(log.queued, 1, 'one record in the log (the first write is still draining)');
  t.equal(log.fmQueued, 1, 'the second waits in the FM state');
  t.equal((await h.dev.counters()).drainTimeouts, 1);
  // the host finally drains: Get + Clear lets the second record in
  const recs = h.host.drain();
  t.equal(recs.length, 2, 'both records reach the host, one after the other');
  t.equal((await h.dev.eventLog()).fmQueued, 0);
  void W;
});
