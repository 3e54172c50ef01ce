// A tag group's pin and put race a re-probe: alloc_tag_group's get_device and free_tag_group's
// put_device (drivers/cxl/core/extent.c) run under cxl_rwsem.region (read) or no lock, and
// cxl_region_probe → cxl_dax_region_alloc (drivers/cxl/core/region_dax.c) replaces cxlr->cxlr_dax
// under the same rwsem for READ: nothing orders them. In v11 each lands on the instance whose
// pointer it read. The model keeps the instance as a generation packed with its kref in one word
// (src/cxl/region.ts), so a pin and its put CAS the instance they name: here two real threads pin
// and put instances while the main thread re-probes the region, and every reference must end up
// where it belongs — the current instance with its own reference only, each replaced one with its
// device reference (this test never disables, so the probe moves it to oldDaxRefs). The threads
// load the compiled model (dist/, as every test's workers do).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SystemShm } from '../src/shm/system.js';
import { initThread, withLock } from '../src/shm/lock.js';
import { MpscRing } from '../src/shm/ring.js';
import { TextLog } from '../src/shm/textlog.js';
import { HostState } from '../src/host/state.js';
import { HostCtx } from '../src/host/context.js';
import { EVENT_RECORD_WORDS, type HostOptions, type SharedHandles } from '../src/protocol.js';
import { cxl_region_probe, cxlr_dax_gen } from '../src/cxl/region.js';
import { MiB } from '../src/units.js';

const dist = (p: string): string => pathToFileURL(join(import.meta.dirname, '..', 'dist', p)).href;
// ctl[0]: workers started; ctl[1]: workers done; ctl[2 + k]: worker k's pins whose instance a
// re-probe replaced before the put (the interleaving this test is about)
const PINNER = `
const { workerData } = require('node:worker_threads');
(async () => {
  const { HostState } = await import(workerData.state);
  const { cxlr_dax_gen, cxlr_dax_get, cxlr_dax_put } = await import(workerData.region);
  const ctx = { host: HostState.attach(workerData.host) };
  const ctl = new Int32Array(workerData.ctl);
  const r = workerData.r;
  Atomics.add(ctl, 0, 1);
  let crossed = 0;
  for (let i = 0; i < workerData.rounds; i++) {
    const g = cxlr_dax_gen(ctx, r); // the cxlr->cxlr_dax cxl_validate_extent read
    cxlr_dax_get(ctx, r, g);        // alloc_tag_group
    if (cxlr_dax_gen(ctx, r) !== g) crossed++;
    cxlr_dax_put(ctx, r, g);        // free_tag_group
  }
  Atomics.store(ctl, 2 + workerData.k, crossed);
  Atomics.add(ctl, 1, 1);
})();
`;

t.test('pins and puts racing re-probes land on the instance they name', async (t) => {
  const sys = SystemShm.create({ hungMs: 0 });
  initThread(sys, 'daxinst-kref-race');
  const state = HostState.create(sys, 1);
  const h: SharedHandles = {
    system: sys.handle(), host: state.handle(), regfiles: [], media: [],
    events: MpscRing.create(1 << 10, EVENT_RECORD_WORDS).sab, dmesg: TextLog.create(MiB).sab,
    options: { knobs: {} as unknown as HostOptions['knobs'], traceLocks: false, mboxTimeoutMs: 2000, dropEvents: ['region-probe'] },
  };
  const ctx = new HostCtx(h, sys, state);
  const R = state.regions;
  const r = R.alloc();
  let failed = 0;
  const probe = (): void => withLock(state.cxlrLockFor(r), () => {
    R.store(r, 'regionBound', 0); // (the model's early return for a bound driver)
    if (cxl_region_probe(ctx, r) !== 0) failed++;
  });
  probe();
  t.equal(cxlr_dax_gen(ctx, r), 1, 'the first probe: instance 1');
  const W = 2;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (2 + W)));
  const workers = Array.from({ length: W }, (_, k) => new Worker(PINNER, {
    eval: true,
    workerData: { state: dist('src/host/state.js'), region: dist('src/cxl/region.js'), host: state.handle(), ctl: ctl.buffer, r, k, rounds: 200_000 },
  }));
  const exited = workers.map((w) => new Promise((res) => w.once('exit', res)));
  while (Atomics.load(ctl, 0) < W) await new Promise((res) => setTimeout(res, 1));
  let reprobes = 0;
  // re-probe while the pinners run (a plain loop: the pinners are other threads)
  while (Atomics.load(ctl, 1) < W) {
    probe();
    reprobes++;
    if (reprobes % 64 === 0) await new Promise((res) => setImmediate(res));
  }
  await Promise.all(exited);
  const crossed = Array.from({ length: W }, (_, k) => Atomics.load(ctl, 2 + k)).reduce((a, b) => a + b, 0);
  t.comment(`${W} × 200000 pin/put pairs, ${reprobes} re-probes, ${crossed} pins whose instance was replaced before their put`);
  t.ok(reprobes > 0, 're-probed while the pins ran');
  t.equal(failed, 0, 'every probe succeeded');
  t.equal(cxlr_dax_gen(ctx, r), 1 + reprobes, 'one generation per probe');
  t.equal(R.load(r, 'cxlrDaxRefs') & 0xfff, 1, 'the current instance holds its own reference only: no put of a replaced instance reached it');
  t.equal(R.load(r, 'oldDaxRefs'), reprobes, 'the replaced instances hold their device references only: every pin was dropped where it was taken');
});
