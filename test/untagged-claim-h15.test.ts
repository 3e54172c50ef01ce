// A forbidden `dax-access-refused` from a 5-minute soak (seed 12, iteration 5031; eleventh
// session) was H15 the data checker could not see: an untagged claim inside a cxl_dax_region
// teardown took an extent the teardown then released, and the write fell inside that Release DC.
// The checker knew an untagged device's backing only as "any untagged extent of the region", and
// its in-flight rule covered tagged claims alone. The claim event now names the extent an
// untagged claim took (src/dax/bus.ts uuid_claim_untagged), and the rule uses it
// (stress/checkers/data.ts releaseInFlight). The stored free trace predates the field: its
// controlled replay diverges at step 111 and runs on with its own seeded choices, in which both
// untagged claims take extent 1 (the first device was destroyed in between) and user0's write
// falls inside extent 1's Release DC.
import t from 'tap';
import { join } from 'node:path';
import { readTrace } from '../stress/trace.js';
import { replayTrace } from '../stress/replay.js';

const FILE = join(import.meta.dirname, '..', 'docs', 'findings-open', 'swarm-dax-access-refused-12-5031.trace.json');

t.test('the soak\'s untagged refusal replays as H15, with the claim naming its extent', async (t) => {
  const r0 = readTrace(FILE);
  if (!r0.ok) throw new Error(r0.message);
  t.equal(r0.trace.outcome, 'dax-access-refused', 'recorded as forbidden');
  const r = await replayTrace(r0.trace, 1);
  t.comment(`replay: ${r.got} (${r.outcomes.join(', ')}); ${r.divergence}; ${r.detail}`);
  t.equal(r.got, 'dax-access-refused-h15', 'the replay classifies the refusal as H15');
  t.notOk(r.outcomes.includes('dax-access-refused'), 'and nothing forbidden');
  // the refusal now names its DPA (twelfth session), and the byte rule (releasedByte) judges it
  // first; without the field the member rule would: both say the teardown's Release DC
  t.match(r.detail ?? '', /an untagged claim inside the teardown|the refused DPA 0x[0-9a-f]+ lies in \[0x[0-9a-f]+\+0x[0-9a-f]+\], whose Release DC by the cxl_dax_region teardown was in flight/, 'the write fell inside the teardown\'s Release DC of the extent the untagged claim took');
  const claims = (r.run?.record?.events ?? []).filter((e) => e.ev.type === 'claim').map((e) => e.ev as { uuid: string; extent?: number; rc: number }).filter((c) => c.uuid === '00000000-0000-0000-0000-000000000000');
  t.ok(claims.length >= 2 && claims.every((c) => c.rc !== 0 || (c.extent ?? 0) > 0), `every successful untagged claim names its extent (${claims.map((c) => c.extent).join(', ')})`);
});
