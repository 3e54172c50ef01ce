// H1 (host-kernel.md §4.4, §8.1 invariant 5): the same tag closing on two memdevs at once, under
// real threads — two device workers raise their interrupts together and two event-thread
// workers realize the groups concurrently. G1 (check) and the registry insert are separate
// critical sections; whichever path refuses the loser, exactly one registration must result.
import t from 'tap';
import { M, TAG_A, chain, events, inject, mark, region, release, withSystem } from './sys-helpers.js';

const ROUNDS = 50;

await withSystem(t, { memdevs: 2 }, async (s) => {
  await region(s, 0);
  await region(s, 1);
  const recs = chain([0, 8 * M], 4 * M, TAG_A);
  const bad: string[] = [];
  const wins = [0, 0];
  let byG1 = 0; // the loser was refused by the G1 check ("already committed")
  let byRegistry = 0; // the loser passed G1 and lost at the registry insert (-EBUSY backstop)
  for (let round = 0; round < ROUNDS; round++) {
    const m0 = mark(s);
    const l0 = s.dmesgLines().length;
    await Promise.all([inject(s, 0, recs), inject(s, 1, recs)]);
    await s.waitIdle();
    const st = await s.state();
    const holders = Object.values(st.regions).filter((r) => r.extents.some((e) => e.uuid === TAG_A));
    const regs = events(s, 'tag-registered', m0).filter((e) => e.uuid === TAG_A);
    const resp = events(s, 'response', m0).map((e) => e.nrExtents).sort();
    if (holders.length !== 1) bad.push(`round ${round}: ${holders.length} regions hold the tag`);
    if (regs.length !== 1) bad.push(`round ${round}: ${regs.length} tag-registered events`);
    if (resp.join() !== '0,2') bad.push(`round ${round}: responses listed ${resp.join()} (want one 0, one 2)`);
    const winner = regs[0]?.memdev ?? 0;
    if (holders[0] && holders[0].memdev !== `mem${winner}`) bad.push(`round ${round}: registered on mem${winner}, tracked on ${holders[0].memdev}`);
    wins[winner]!++;
    if (s.dmesgLines().slice(l0).some((l) => /already committed/.test(l.msg))) byG1++;
    else byRegistry++;
    // release the winner's group (one record releases the whole group) before the next round
    const m1 = mark(s);
    await release(s, winner, [{ offset: 0, length: 4 * M, tag: TAG_A }]);
    await s.waitIdle();
    if (events(s, 'tag-unregistered', m1).filter((e) => e.uuid === TAG_A).length !== 1) bad.push(`round ${round}: tag not unregistered after release`);
    if (bad.length > 5) break;
  }
  t.comment(`H1: ${ROUNDS} rounds; mem0 won ${wins[0]}, mem1 won ${wins[1]}; loser refused by G1 ${byG1}×, by the registry insert ${byRegistry}×`);
  t.same(bad, [], 'every round: exactly one region holds the tag and one tag-registered event');
  t.equal(wins[0]! + wins[1]!, ROUNDS, `ran ${ROUNDS} rounds`);
  const st = await s.state();
  t.equal(Object.values(st.regions).reduce((n, r) => n + r.extents.length, 0), 0, 'everything released at the end');
  t.equal(st.memdevs.mem0!.accepted.length + st.memdevs.mem1!.accepted.length, 0, 'devices hold nothing');
});
