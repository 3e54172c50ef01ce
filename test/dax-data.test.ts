// Memory through DAX devices (README.md checkers: "data written through a DAX device reads back
// intact until that device is destroyed; no two live DAX devices map the same device bytes").
// Users write and verify patterns through their devices; the device media keeps a stamp per 2 MiB
// block and scrubs released capacity. Two regions share one memdev's partition, so device-byte
// overlap is checked across regions too.
import t from 'tap';
import type { SystemState } from '../src/state.js';
import { M, TAG_A, addChain, chain, region, release, withSystem } from './sys-helpers.js';
import type { DcdSystem } from './sys-helpers.js';

/** Live DAX device ranges as device-side offsets (relative to the DC partition). */
function deviceRanges(st: SystemState): { dev: string; start: number; end: number }[] {
  const out: { dev: string; start: number; end: number }[] = [];
  for (const d of Object.values(st.daxDevices)) {
    const base = st.regions[d.region]!.dpaOffset;
    for (const r of d.ranges) out.push({ dev: d.name, start: base + r.offset, end: base + r.offset + r.length });
  }
  return out.sort((a, b) => a.start - b.start);
}

function overlaps(st: SystemState): string[] {
  const rs = deviceRanges(st);
  const bad: string[] = [];
  for (let i = 1; i < rs.length; i++) {
    const p = rs[i - 1]!;
    const c = rs[i]!;
    if (c.start < p.end) bad.push(`${p.dev} [${p.start / M}M,${p.end / M}M) overlaps ${c.dev} [${c.start / M}M,${c.end / M}M)`);
  }
  return bad;
}

const devId = (name: string): number => Number(name.split('.')[1]);
const regionId = (name: string): number => Number(name.slice(3).split('.')[0]);

await withSystem(t, { users: 2 }, async (s: DcdSystem) => {
  await region(s, 0, 256 * M); // region0: DC [0, 256M)
  await region(s, 0, 256 * M); // region1: DC [256M, 512M)

  await t.test('data reads back intact until the device is destroyed; released capacity comes back scrubbed', async (t) => {
    await addChain(s, 0, chain([0, 16 * M], 8 * M, TAG_A));
    const c = await s.user(0).call((a) => a.createDaxDevice(0, TAG_A));
    if (!c.ok) throw new Error(c.message);
    const id = c.value.devId;
    t.ok((await s.user(1).call((a) => a.write(0, id, 0, 16 * M, 42))).ok, 'user1 writes 16M through the device');
    t.ok((await s.user(0).call((a) => a.verify(0, id, 0, 16 * M, 42))).ok, 'user0 reads it back');
    t.ok((await s.user(0).call((a) => a.verify(0, id, 6 * M, 4 * M, 42))).ok, 'across the boundary between the two ranges');
    const wrong = await s.user(0).call((a) => a.verify(0, id, 0, 16 * M, 43));
    t.equal(!wrong.ok && wrong.errno, 'EIO', 'verifying another pattern fails (the check can fail)');
    const beyond = await s.user(0).call((a) => a.verify(0, id, 14 * M, 4 * M, 42));
    t.equal(!beyond.ok && beyond.errno, 'ENXIO', 'beyond the device size');

    await release(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A }]);
    await s.waitIdle();
    t.ok((await s.user(1).call((a) => a.verify(0, id, 0, 16 * M, 42))).ok, 'an ignored (in-use) release loses nothing');

    t.ok((await s.user(0).call((a) => a.destroyDaxDevice(0, id))).ok, 'destroy');
    const gone = await s.user(1).call((a) => a.verify(0, id, 0, 16 * M, 42));
    t.equal(!gone.ok && gone.errno, 'ENODEV', 'verify after destroy fails: the device is gone');

    await release(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A }]);
    await s.waitIdle();
    let st = await s.state();
    t.equal(st.memdevs.mem0!.accepted.filter((e) => e.offset < 32 * M).length, 0, 'released to the device');

    // the same device bytes come back in a new group: the old contents are gone
    await addChain(s, 0, chain([0, 16 * M], 8 * M, TAG_A));
    const c2 = await s.user(0).call((a) => a.createDaxDevice(0, TAG_A));
    if (!c2.ok) throw new Error(c2.message);
    const old = await s.user(0).call((a) => a.verify(0, c2.value.devId, 0, 16 * M, 42));
    t.notOk(old.ok, `the old pattern is not readable after release and re-add (${!old.ok ? old.errno : ''})`);
    t.ok((await s.user(0).call((a) => a.write(0, c2.value.devId, 0, 16 * M, 7))).ok);
    t.ok((await s.user(1).call((a) => a.verify(0, c2.value.devId, 0, 16 * M, 7))).ok, 'new data reads back');
    t.ok((await s.user(0).call((a) => a.destroyDaxDevice(0, c2.value.devId))).ok);
    await release(s, 0, [{ offset: 0, length: 8 * M, tag: TAG_A }]);
    await s.waitIdle();
    st = await s.state();
    t.same(overlaps(st), []);
  });

  await t.test('churn: live DAX devices never share device bytes, and each keeps its own data', async (t) => {
    // deterministic churn: add groups (tagged 1–3 members, or untagged singles) in both regions,
    // claim, write a per-device pattern, destroy and release some; check after every step
    let x = 12345;
    const rnd = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
    const live = new Map<string, { pattern: number; tag: string | null; first: number; region: number; slots: number[] }>();
    const freeSlots = [Array.from({ length: 30 }, (_, i) => i), Array.from({ length: 30 }, (_, i) => i)]; // 8M slots per region
    const bad: string[] = [];
    let claims = 0;
    let checks = 0;
    for (let step = 0; step < 40; step++) {
      const reg = rnd(2);
      if (live.size < 6 && freeSlots[reg]!.length >= 3) {
        const n = 1 + rnd(3);
        const slots = Array.from({ length: n }, () => freeSlots[reg]!.splice(rnd(freeSlots[reg]!.length), 1)[0]!);
        const offs = slots.map((sl) => reg * 256 * M + sl * 8 * M);
        const tag = n === 1 && rnd(2) === 0 ? null : `e0000000-0000-4000-8000-${step.toString(16).padStart(12, '0')}`;
        const o = await addChain(s, 0, chain(offs, 4 * M, tag));
        if (o.listed.length !== n) bad.push(`step ${step}: add listed ${o.listed.length}/${n}`);
        const c = await s.user(rnd(2)).call((a) => a.createDaxDevice(reg, tag));
        if (!c.ok) { bad.push(`step ${step}: claim ${c.errno}`); continue; }
        claims++;
        const pattern = 1000 + step;
        const w = await s.user(rnd(2)).call((a) => a.write(reg, c.value.devId, 0, n * 4 * M, pattern));
        if (!w.ok) bad.push(`step ${step}: write ${w.errno}`);
        live.set(c.value.name, { pattern, tag, first: offs[0]!, region: reg, slots });
      } else {
        const names = [...live.keys()];
        const name = names[rnd(names.length)]!;
        const d = live.get(name)!;
        const r = await s.user(rnd(2)).call((a) => a.destroyDaxDevice(regionId(name), devId(name)));
        if (!r.ok) bad.push(`step ${step}: destroy ${name} ${r.errno}`);
        await release(s, 0, [{ offset: d.first, length: 4 * M, tag: d.tag }]);
        await s.waitIdle();
        live.delete(name);
        freeSlots[d.region]!.push(...d.slots);
      }
      const st = await s.state();
      bad.push(...overlaps(st).map((b) => `step ${step}: ${b}`));
      for (const [name, d] of live) {
        const size = st.daxDevices[name]?.size ?? 0;
        const v = await s.user(rnd(2)).call((a) => a.verify(regionId(name), devId(name), 0, size, d.pattern));
        checks++;
        if (!v.ok) bad.push(`step ${step}: ${name} lost its data (${v.errno})`);
      }
      if (bad.length > 5) break;
    }
    t.comment(`churn: 40 steps, ${claims} claims, ${checks} data checks`);
    t.same(bad, [], 'no overlap between live devices; every live device verifies its own pattern');
    t.ok(claims >= 5, `${claims} devices were created`);
  });
});
