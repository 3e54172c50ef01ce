// cxl_rm_extent's "no region" path (X1; drivers/cxl/core/extent.c at f5e075e2) releases the
// record's range back to the device exactly as read: memdev_release_extent with
// `{ start, start + length - 1 }`, whose range_len() is the record's length — a length of 0 and a
// start past 2^53 included (docs/fidelity-audit.md item 10; the model used to send nothing for
// either). The hostile personality with no lies queues such Release records.
import t from 'tap';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import { RELEASE_REASON } from '../src/protocol.js';
import { events, mark, region, withSystem } from './sys-helpers.js';

const quiet = { configViolation: 'none', extentListLie: 'none', eventRecordLie: 'none' } as const;

await withSystem(t, { deviceOverrides: [{ personality: 'hostile', hostile: quiet }] }, async (s) => {
  await region(s, 0);

  for (const [kind, wantDpa, wantLen] of [['release-u64', 2 ** 53 + 2 * 2 ** 20, 2 * 2 ** 20], ['release-zero-length', null, 0]] as const) {
    await t.test(`X1: a Release record (${kind}) is released back as read`, async (t) => {
      const m = mark(s);
      const r = await s.device(0).call((a) => a.hostileInject(kind));
      t.ok(r.ok, 'the record was queued');
      await s.waitIdle();
      const outcomes = events(s, 'release-outcome', m).filter((e) => e.memdev === 0);
      t.same(outcomes.map((e) => e.reason), [RELEASE_REASON.noRegion], 'no region maps it (X1)');
      const rel = events(s, 'mbox', m).filter((e) => e.memdev === 0 && e.opcode === CXL_MBOX_OP.RELEASE_DC);
      t.equal(rel.length, 1, 'one Release DC was sent');
      t.equal(rel[0]?.len, wantLen, `with the record's length (${wantLen})`);
      if (wantDpa !== null) t.equal(rel[0]?.dpa, wantDpa, 'and its start past 2^53 (the trace holds the nearest double)');
      t.equal(rel[0]?.rc, 0, 'the device ignores a release of nothing it accepted, as the mock does');
    });
  }
});
