// dax_region_add_resources (drivers/dax/bus.c, v11: a whole tag group under one write hold of
// dax_region_rwsem) checks each member's __request_region overlap against a list collected once
// per group (#17) instead of rescanning the resource table per member. Random groups, some
// overlapping earlier resources or each other, added in one thread to two host states: one with
// the v11 group path, one with group-lock=per-extent (a table rescan per member, under a hold per
// member). Both must answer every group with the same rc and leave the same resources.
import t from 'tap';
import { SystemShm } from '../src/shm/system.js';
import { initThread } from '../src/shm/lock.js';
import { MpscRing } from '../src/shm/ring.js';
import { TextLog } from '../src/shm/textlog.js';
import { HostState, type ExtentHandle } from '../src/host/state.js';
import { HostCtx } from '../src/host/context.js';
import { EVENT_RECORD_WORDS, type HostOptions, type SharedHandles } from '../src/protocol.js';
import { dax_region_add_resources, type DaxResourceSpec } from '../src/dax/bus.js';
import { Prng } from '../src/prng.js';
import { MiB } from '../src/units.js';

const SZ = 2 * MiB;
const sys = SystemShm.create({ hungMs: 0 });
initThread(sys, 'dax-overlap-group');

function host(groupLock: 'group' | 'per-extent'): { ctx: HostCtx; region: number } {
  const state = HostState.create(sys, 1);
  const h: SharedHandles = {
    system: sys.handle(), host: state.handle(), regfiles: [], media: [],
    events: MpscRing.create(1 << 12, EVENT_RECORD_WORDS).sab, dmesg: TextLog.create(4 * MiB).sab,
    options: { knobs: { 'group-lock': groupLock } as unknown as HostOptions['knobs'], traceLocks: false, mboxTimeoutMs: 2000, dropEvents: ['dax-group'] },
  };
  const ctx = new HostCtx(h, sys, state);
  const region = state.regions.alloc();
  state.regions.set(region, 'size', 64 * SZ);
  return { ctx, region };
}

function liveResources(ctx: HostCtx): string {
  const D = ctx.host.daxRes;
  const out: string[] = [];
  for (const r of D.live()) out.push(`${D.get(r, 'start') / SZ}+${D.get(r, 'length') / SZ}`);
  return out.sort().join(' ');
}

t.test('the group path answers every group as the per-extent rescan does', async (t) => {
  const rng = new Prng(17);
  const a = host('group');
  const b = host('per-extent');
  let ok = 0;
  let refused = 0;
  for (let g = 0; g < 400; g++) {
    // 1-6 members, 1-3 blocks long, anywhere in the 64-block region: some overlap what is there
    const members = 1 + (rng.u32() % 6);
    const plan: [number, number][] = [];
    for (let k = 0; k < members; k++) plan.push([rng.u32() % 62, 1 + (rng.u32() % 3)]);
    const run = (c: { ctx: HostCtx; region: number }): number => {
      const X = c.ctx.host.extents;
      const list: DaxResourceSpec[] = plan.map(([s, l], k) => ({ extent: X.alloc() as ExtentHandle, start: s * SZ, length: l * SZ, seq: k }));
      return dax_region_add_resources(c.ctx, c.region, list, '00000000-0000-0000-0000-000000000000');
    };
    const ra = run(a);
    const rb = run(b);
    if (ra !== rb) { t.fail(`group ${g} (${JSON.stringify(plan)}): rc ${ra} (group path) ≠ ${rb} (rescan)`); return; }
    const la = liveResources(a.ctx);
    if (la !== liveResources(b.ctx)) { t.fail(`group ${g}: resources differ: ${la} / ${liveResources(b.ctx)}`); return; }
    if (ra === 0) ok++;
    else refused++;
    // keep the region from filling up: free everything now and then (outside any group add)
    if (g % 25 === 24) {
      for (const c of [a, b]) for (const r of [...c.ctx.host.daxRes.live()]) c.ctx.host.daxRes.free(r);
    }
  }
  t.comment(`400 groups: ${ok} added, ${refused} refused (-ENOSPC: an overlap with a resource or a mate)`);
  t.ok(ok > 20, 'some groups were added');
  t.ok(refused > 20, 'some groups overlapped and were refused');
});
