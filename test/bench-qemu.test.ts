// `dcd bench` on QEMU: the cells that used to fail. A chain of 100 does what QEMU does with it —
// v11 `cxl_send_dc_response` splits the Add DC Response at the 2,048-byte payload (85 entries),
// QEMU's `cmd_dcd_add_dyn_cap_rsp` accepts the first part and deletes the whole front group, so
// the second part is refused (Invalid PA): the chain is torn (H10). The cell counts the extents
// the device accepted and the torn chains, runs without errors, and its protocol ceiling (which
// used to hang: it read the Get's records after its own later commands overwrote the payload)
// runs the same command sequence. Never asserts anything about speed.
import t from 'tap';
import { runBench } from '../bench/pipeline.js';

t.test('qemu chain 100: torn chains counted, no errors, the ceiling runs the same sequence', async (t) => {
  const bench = () => runBench({
    chains: [8, 100],
    tagged: [false],
    memdevs: [1],
    devices: ['qemu'],
    variants: [{ label: 'v11', variant: 'v11', knobs: {} }],
    durationMs: 600,
    warmupMs: 100,
    latencyMs: 0,
    memoryEvents: 0,
    skipBaselines: true,
  });
  // The window is 600 ms of wall time: on a loaded machine a chain of 100 can take most of it (2
  // CPU hogs: the ceiling answered ONE chain in its window), and a cell or ceiling that answered
  // none inside it proves nothing below. Such a run is run again — at most MAX_RUNS, a count — and
  // a run with any error is never retried: it is judged as it is.
  const MAX_RUNS = 4;
  let report = await bench();
  let runs = 1;
  const emptyWindow = (): boolean => report.results.some((r) => r.accepted === 0) || report.baselines.protocolCeilings.some((c) => c.accepted === 0);
  const anyError = (): boolean => report.results.some((r) => r.errors.length > 0) || report.baselines.protocolCeilings.some((c) => c.errors.length > 0);
  while (runs < MAX_RUNS && emptyWindow() && !anyError()) {
    report = await bench();
    runs++;
  }
  t.comment(`${runs} bench run(s) of at most ${MAX_RUNS} until every cell and ceiling answered a chain inside its window`);
  t.equal(report.results.length, 2, 'two cells');
  const ceilings = report.baselines.protocolCeilings;
  t.same(ceilings.map((c) => [c.device, c.chain, c.errors]), [['qemu', 8, []], ['qemu', 100, []]], 'a qemu ceiling per chain, without errors');
  for (const r of report.results) {
    t.same(r.errors, [], `chain ${r.chain}: no errors`);
    t.ok(r.accepted > 0, `chain ${r.chain}: ${r.accepted} extents accepted in the window`);
    const c = ceilings.find((x) => x.chain === r.chain)!;
    t.ok(c.accepted > 0, `chain ${r.chain}: the ceiling accepted ${c.accepted} extents`);
    // the same command sequence, counted (load-independent): within 15% of each other
    t.ok(Math.abs(r.mboxPerExtent - c.mboxPerExtent) <= 0.15 * c.mboxPerExtent, `chain ${r.chain}: pipeline ${r.mboxPerExtent} vs ceiling ${c.mboxPerExtent} mailbox commands per accepted extent`);
  }
  const c8 = report.results.find((r) => r.chain === 8)!;
  const c100 = report.results.find((r) => r.chain === 100)!;
  t.equal(c8.tornChains, 0, 'chain 8 fits one response part: nothing torn');
  t.ok(c100.tornChains > 0, `chain 100: ${c100.tornChains} chains torn in the window`);
  // every torn chain gave the device 85 of its 100 extents: the accepted count is a multiple of 85
  // when every chain in the window was torn (accepted is counted per response)
  t.equal(c100.accepted % 85, 0, `chain 100: ${c100.accepted} accepted = ${c100.accepted / 85} chains × 85`);
});
