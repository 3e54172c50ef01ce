/**
 * DOC: stress operations — what actors do, as data, and how each runs against a DcdSystem.
 *
 * A workload's iteration is a plan of actors, each a list of ops derived from (seed, iteration)
 * alone, so the same plan can be re-run by `dcd replay`. Ops name dax devices symbolically
 * (`as: 'd0'`): an op on a device whose claim failed is skipped (recorded as 'skipped').
 */
import type { DcdSystem } from '../src/runtime/system.js';
import type { InjectRecord } from '../src/device/types.js';
import type { HostileChainKind } from '../src/device/hostile-kinds.js';
import { BARRIER_WORDS } from '../src/shm/barrier.js';

export type StressOp =
  | { op: 'add'; memdev: number; records: InjectRecord[] }
  | { op: 'release'; memdev: number; extents: { offset: number; length: number; tag: string | null }[]; forced?: boolean }
  | { op: 'hostile'; memdev: number; kind: HostileChainKind }
  | { op: 'create-region'; memdev: number; size: number | null; as: string }
  | { op: 'destroy-region'; region: string }
  /** `cxl disable-region`: the region driver unbinds, the region stays */
  | { op: 'disable-region'; region: string }
  | { op: 'probe'; region: string }
  | { op: 'claim'; region: string; uuid: string | null; as: string }
  /** `echo 1 > create`: a 0-size device, the region's seed when none is set (create_store) */
  | { op: 'create-seed'; region: string }
  /** write the uuid to the region's seed device (set by a create write) and enable it */
  | { op: 'claim-seed'; region: string; uuid: string | null; as: string }
  | { op: 'destroy-dax'; dax: string }
  | { op: 'resize'; dax: string; size: number }
  | { op: 'write'; dax: string; offset: number; length: number; pattern: number }
  | { op: 'verify'; dax: string; offset: number; length: number; pattern: number }
  | { op: 'unbind'; region: string }
  | { op: 'bind'; region: string }
  | { op: 'advance'; ms: number }
  /** knob extent-refs=user (NOT v11): a user holds the `index`-th extent of a region across time (get_device) … */
  | { op: 'hold-extent'; region: string; index: number; as: string }
  /** … and drops it (put_device: the last reference releases the extent in this thread) */
  | { op: 'put-extent'; ref: string }
  /** `echo extentR.N > dax_regionR/delete` (v11: delete_store's device_find_child_by_name holds
   *  the dc_extent across device_lock(cxlr_dax), then H20's type confusion) — `id` is the xarray id */
  | { op: 'delete-extent-name'; region: string; id: number }
  /** `cat daxR.D/mappingN/ATTR` (start_show / end_show / pgoff_show: get_dax_range's
   *  down_write_killable(&dax_region_rwsem) inside the attribute's kernfs active reference;
   *  src/dax/mapping.ts) — `mapping` is N */
  | { op: 'read-mapping'; dax: string; mapping: number; attr: 'start' | 'end' | 'page_offset' }
  | { op: 'wait-idle' };

export type ActorKind = 'fm' | 'user' | 'bus' | 'clock';

export interface Actor {
  /** e.g. "fm/mem0", "user1", "dax-bus", "clock" */
  name: string;
  kind: ActorKind;
  /** user worker index / memdev index */
  index: number;
  ops: StressOp[];
}

export interface Plan {
  /** run first, one by one, in free mode, then wait-idle: not part of the race */
  setup: StressOp[];
  actors: Actor[];
  /**
   * Several independent races per reset (jcstress): every actor's ops split into
   * `rounds.length` equal consecutive slices, round k being slice k of every actor. Free runs
   * line the actors up at a main-thread barrier before each round (no op, no recorded step: a
   * replay follows the recorded order as before); the controlled scheduler interleaves freely.
   * `rounds[k]` lists strings that name round k's objects (its tag): an outcome whose detail
   * names one is attributed to that round (IterationResult.round).
   */
  rounds?: string[][];
}

export interface OpOutcome {
  actor: string;
  op: string;
  ok: boolean;
  errno?: string;
  skipped?: boolean;
}

/** Symbols bound while a plan runs: region aliases → ids, dax aliases → device ids. */
export class Bindings {
  regions = new Map<string, number>();
  daxes = new Map<string, { regionId: number; devId: number }>();
  /** extent references held by user workers (hold-extent … as) */
  extentRefs = new Map<string, { user: number; key: string }>();
}

export function opLabel(o: StressOp): string {
  switch (o.op) {
    case 'add': return `add mem${o.memdev} x${o.records.length}`;
    case 'release': return `release mem${o.memdev} x${o.extents.length}${o.forced ? ' forced' : ''}`;
    case 'claim': return `claim ${o.uuid ?? '0'} → ${o.as}`;
    default: return o.op;
  }
}

/** What one op handler gets: the system, the plan's bindings, the actor, and the outcome makers. */
interface OpCtx {
  sys: DcdSystem;
  b: Bindings;
  actor: Actor;
  /** the user worker that executes the actor's sysfs writes (user actors: their own) */
  user: ReturnType<DcdSystem['user']>;
  /** race a control-plane call against any worker's crash */
  g: <T>(p: Promise<T>) => Promise<T>;
  done: (r: { ok: boolean; errno?: string }) => OpOutcome;
  /** the op names an alias that no earlier op bound (its claim or create failed) */
  skip: () => OpOutcome;
}

type OpOf<K extends StressOp['op']> = Extract<StressOp, { op: K }>;

/** Run one op: the handler of its concern (device/FM, region and driver, dax devices, extent references, time). */
export async function runOp(sys: DcdSystem, b: Bindings, o: StressOp, actor: Actor): Promise<OpOutcome> {
  const c: OpCtx = {
    sys, b, actor,
    user: sys.user(actor.kind === 'user' ? actor.index : 0),
    g: (p) => sys.guard(p),
    done: (r) => ({ actor: actor.name, op: o.op, ok: r.ok, ...(r.ok ? {} : { errno: r.errno ?? 'EIO' }) }),
    skip: () => ({ actor: actor.name, op: o.op, ok: false, skipped: true }),
  };
  switch (o.op) {
    case 'add': case 'release': case 'hostile': return fmOp(c, o);
    case 'create-region': case 'destroy-region': case 'disable-region': case 'probe': case 'bind': case 'unbind': return regionOp(c, o);
    case 'claim': case 'create-seed': case 'claim-seed': case 'destroy-dax': case 'resize': case 'write': case 'verify': return daxOp(c, o);
    case 'hold-extent': case 'put-extent': return extentRefOp(c, o);
    case 'delete-extent-name': {
      const id = c.b.regions.get(o.region);
      if (id === undefined) return c.skip();
      return c.done(await c.g(c.user.call((a) => a.deleteByName(id, `extent${id}.${o.id}`))));
    }
    case 'read-mapping': {
      const d = c.b.daxes.get(o.dax);
      if (!d) return c.skip();
      return c.done(await c.g(c.user.call((a) => a.readMapping(d.regionId, d.devId, o.mapping, o.attr))));
    }
    case 'advance': case 'wait-idle': return timeOp(c, o);
  }
}

/** How long an actor of an in-worker round waits at the barrier for the others (then ETIMEDOUT). */
const ROUND_BARRIER_TIMEOUT_MS = 15_000;

/**
 * A batched plan's rounds run inside the user workers when every actor is a user whose every op
 * is a claim in one region (two-claims-x16): each worker gets its whole list in one message and
 * meets the others at a shared-memory barrier before each round (UserApi.createDaxDeviceRounds),
 * instead of a main-thread barrier and a control-plane round trip per round (jcstress runs its
 * actors in loops the same way). The races and their points are the same; null when the plan is
 * of another shape (the caller runs its rounds from the main thread). DCD_ROUNDS_IN_WORKER=0
 * turns it off (docs/performance.md, "Stress rates and detection").
 */
export async function claimRoundsInWorkers(sys: DcdSystem, b: Bindings, actors: Actor[], rounds: number): Promise<OpOutcome[] | null> {
  if (process.env.DCD_ROUNDS_IN_WORKER === '0' || actors.length < 2) return null;
  const jobs: { a: Actor; ops: OpOf<'claim'>[]; regionId: number }[] = [];
  for (const a of actors) {
    if (a.kind !== 'user' || a.ops.length !== rounds) return null;
    const ops = a.ops.filter((o): o is OpOf<'claim'> => o.op === 'claim');
    if (ops.length !== a.ops.length) return null;
    const ids = new Set(ops.map((o) => b.regions.get(o.region)));
    const regionId = [...ids][0];
    if (ids.size !== 1 || regionId === undefined) return null;
    jobs.push({ a, ops, regionId });
  }
  const barrier = new SharedArrayBuffer(BARRIER_WORDS * 4);
  const results = await Promise.all(jobs.map((j) => sys.guard(sys.user(j.a.index).call((u) => u.createDaxDeviceRounds(j.regionId, j.ops.map((o) => o.uuid), barrier, jobs.length, ROUND_BARRIER_TIMEOUT_MS)))));
  return jobs.flatMap((j, i) => j.ops.map((o, k): OpOutcome => {
    const r = results[i]![k]!;
    if (r.ok) b.daxes.set(o.as, { regionId: j.regionId, devId: r.value.devId });
    return { actor: j.a.name, op: o.op, ok: r.ok, ...(r.ok ? {} : { errno: r.errno ?? 'EIO' }) };
  }));
}

/** The fabric manager's commands to a device: offer capacity, ask for it back, hostile records. */
async function fmOp(c: OpCtx, o: OpOf<'add' | 'release' | 'hostile'>): Promise<OpOutcome> {
  const d = c.sys.device(o.memdev);
  const r = await c.g(o.op === 'add' ? d.call((a) => a.injectRecords(o.records))
    : o.op === 'release' ? d.call((a) => a.releaseCapacity({ policy: 'prescriptive', extents: o.extents, ...(o.forced ? { forced: true } : {}) }))
      : d.call((a) => a.hostileInject(o.kind)));
  return c.done(r.ok ? { ok: true } : { ok: false, errno: r.errno });
}

/** Regions and their cxl_dax_region driver: cxl create/destroy/disable-region, probe, bind, unbind. */
async function regionOp(c: OpCtx, o: OpOf<'create-region' | 'destroy-region' | 'disable-region' | 'probe' | 'bind' | 'unbind'>): Promise<OpOutcome> {
  const { sys, g } = c;
  if (o.op === 'create-region') {
    // cxl create-region, then the asynchronous cxl_dax_region probe (tracked by wait-idle)
    const r = await g(sys.createRegion(o.memdev, o.size, c.actor.kind === 'user' ? c.actor.index : 0));
    if (r.ok) c.b.regions.set(o.as, r.value.regionId);
    return c.done(r);
  }
  const id = c.b.regions.get(o.region);
  if (id === undefined) return c.skip();
  switch (o.op) {
    case 'destroy-region': return c.done(await g(c.user.call((a) => a.destroyRegion(id))));
    case 'disable-region': return c.done(await g(c.user.call((a) => a.disableRegion(id))));
    case 'probe': return c.done(await g(sys.daxBus.call((a) => a.probe(id))));
    case 'bind': return c.done(await g(sys.daxBus.call((a) => a.bindDriver(id))));
    case 'unbind': return c.done(await g(sys.daxBus.call((a) => a.unbindDriver(id))));
  }
}

/** dax devices through sysfs (daxctl): claims by tag, the seed device, destroy, resize, data. */
async function daxOp(c: OpCtx, o: OpOf<'claim' | 'create-seed' | 'claim-seed' | 'destroy-dax' | 'resize' | 'write' | 'verify'>): Promise<OpOutcome> {
  const { b, g, user: u } = c;
  if (o.op === 'claim' || o.op === 'create-seed' || o.op === 'claim-seed') {
    const id = b.regions.get(o.region);
    if (id === undefined) return c.skip();
    if (o.op === 'create-seed') return c.done(await g(u.call((a) => a.createSeed(id))));
    const r = await g(o.op === 'claim' ? u.call((a) => a.createDaxDevice(id, o.uuid)) : u.call((a) => a.claimSeed(id, o.uuid)));
    if (r.ok) b.daxes.set(o.as, { regionId: id, devId: r.value.devId });
    return c.done(r);
  }
  const d = b.daxes.get(o.dax);
  if (!d) return c.skip();
  switch (o.op) {
    case 'destroy-dax': {
      const r = await g(u.call((a) => a.destroyDaxDevice(d.regionId, d.devId)));
      if (r.ok) b.daxes.delete(o.dax);
      return c.done(r);
    }
    case 'resize': return c.done(await g(u.call((a) => a.reconfigureDaxDevice(d.regionId, d.devId, o.size))));
    case 'write': return c.done(await g(u.call((a) => a.write(d.regionId, d.devId, o.offset, o.length, o.pattern))));
    case 'verify': return c.done(await g(u.call((a) => a.verify(d.regionId, d.devId, o.offset, o.length, o.pattern))));
  }
}

/**
 * A plan this run may not execute as asked: a `hold-extent` that would hold an extent device
 * across time — NOT a v11 mechanism — without the knob that allows it (docs/fidelity-holders.md;
 * a lookup of a missing extent, the findings workloads' time pads, is v11 and runs). Raised by the
 * op (stress/ops.ts); the CLI reports it as bad input (exit 2).
 */
export class PlanRefused extends Error {}

/** knob extent-refs=user (NOT v11): a user holding an extent device (get_device) across time and dropping it (put_device). */
async function extentRefOp(c: OpCtx, o: OpOf<'hold-extent' | 'put-extent'>): Promise<OpOutcome> {
  const { b, g } = c;
  if (o.op === 'hold-extent') {
    const id = b.regions.get(o.region);
    if (id === undefined) return c.skip();
    const key = `${c.actor.name}:${o.as}`;
    const r = await g(c.user.call((a) => a.holdExtent(id, o.index, key)));
    // NOT v11: no user-space mechanism holds an extent device across time (knobs.ts 'extent-refs',
    // cxl_extent_get). Without the knob a lookup of a missing extent still fails (-ENODEV: the
    // findings workloads' time pads); a hold that would succeed stops the run by name
    if (!r.ok && r.errno === 'EOPNOTSUPP' && c.sys.knobs['extent-refs'] !== 'user') {
      throw new PlanRefused(`hold-extent ${o.region}#${o.index} needs --knob extent-refs=user: a user hold of an extent device across time is NOT a v11 mechanism (docs/fidelity-holders.md)`);
    }
    if (r.ok) b.extentRefs.set(o.as, { user: c.actor.index, key });
    return c.done(r);
  }
  const ref = b.extentRefs.get(o.ref);
  if (!ref) return c.skip();
  b.extentRefs.delete(o.ref);
  // the last reference releases the extent in the thread that drops it
  return c.done(await g(c.sys.user(ref.user).call((a) => a.putExtent(ref.key))));
}

/** Virtual time and quiescence. */
async function timeOp(c: OpCtx, o: OpOf<'advance' | 'wait-idle'>): Promise<OpOutcome> {
  if (o.op === 'advance') await c.sys.advanceClock(o.ms);
  else await c.sys.waitIdle(10_000);
  return c.done({ ok: true });
}
