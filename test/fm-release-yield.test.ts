// The device's serve loop yields to its event loop at once after a mailbox command that ended an
// FM call (the Clear of the call's last cxl-test record), instead of spinning on the doorbell
// first: the next FM command of a batch runs only after that yield (src/device/service.ts,
// docs/performance.md, "Eleventh session: swarm iterations"). DCD_FM_RELEASE_YIELD=0 spins as before. Timing only: with and without
// it, an FM batch runs its commands in order, each after the host drained the one before, and the
// host sees the same records and ends with the same extents and the same mailbox traffic.
import t, { type Test } from 'tap';
import { withSystem, region, chain, acceptedOffsets, events, M, TAG_A } from './sys-helpers.js';
import { DC_EVENT_TYPE } from '../src/wire/cxl.js';

async function batch(t: Test, env: string): Promise<{ results: unknown; recs: string[]; accepted: number[]; served: number; posted: number }> {
  const saved = process.env.DCD_FM_RELEASE_YIELD;
  process.env.DCD_FM_RELEASE_YIELD = env; // the device worker copies process.env when it starts
  try {
    return await withSystem(t, { memdevs: 1 }, async (s) => {
      await region(s, 0);
      const d = s.device(0);
      const from = events(s, 'dc-record').length;
      const served0 = await d.call((a) => a.commandsServed());
      const posted = d.posted;
      const results = await s.guard(d.call((a) => a.fmSteps([
        { op: 'add', records: chain([0, 2 * M, 4 * M], 2 * M, null) },
        { op: 'add', records: chain([8 * M], 2 * M, TAG_A) },
        { op: 'release', extents: [{ offset: 2 * M, length: 2 * M, tag: null }] },
        { op: 'add', records: chain([16 * M, 18 * M], 2 * M, null) },
        { op: 'release', extents: [{ offset: 8 * M, length: 2 * M, tag: TAG_A }] },
      ])));
      const log = await d.call((a) => a.eventLog());
      t.same([log.fmQueued, log.queued], [0, 0], `DCD_FM_RELEASE_YIELD=${env || '(default)'}: the batch resolved after the host drained every record`);
      await s.waitIdle();
      s.drainEvents();
      const recs = events(s, 'dc-record').slice(from).map((e) => `${e.eventType === DC_EVENT_TYPE.ADD_CAPACITY ? 'add' : 'rel'}@${(e.dpa - 2 * 1024 * M) / M}M`);
      const served = (await d.call((a) => a.commandsServed())) - served0;
      return { results, recs, accepted: acceptedOffsets(await s.state()), served, posted: d.posted - posted };
    });
  } finally {
    if (saved === undefined) delete process.env.DCD_FM_RELEASE_YIELD; else process.env.DCD_FM_RELEASE_YIELD = saved;
  }
}

t.test('an FM batch with and without the yield after an FM call ends: the same records, extents and mailbox commands', async (t) => {
  const spin = await batch(t, '0');
  const yielded = await batch(t, '');
  const want = ['add@0M', 'add@2M', 'add@4M', 'add@8M', 'rel@2M', 'add@16M', 'add@18M', 'rel@8M'];
  t.same(spin.results, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }], 'spin: five commands, five results');
  t.same(yielded.results, spin.results, 'yield: the same results');
  t.same(spin.recs, want, `spin: the host saw the records in command order: ${spin.recs.join(' ')}`);
  t.same(yielded.recs, want, 'yield: the same records in the same order');
  t.ok(spin.accepted.length > 0, `spin: accepted ${spin.accepted.map((o) => `${o / M}M`).join(' ')}`);
  t.same(yielded.accepted, spin.accepted, 'yield: the same accepted extents');
  // the mailbox commands served vary from run to run in free runs (a Get that finds the log
  // empty, say), so they are printed, not compared
  t.comment(`mailbox commands served: spin ${spin.served}, yield ${yielded.served}`);
  t.ok(yielded.served >= want.length * 2, 'yield: at least a Get and a Clear per record');
  t.equal(yielded.posted, spin.posted, `the same messages to the device (${spin.posted}: the batch in one)`);
});
