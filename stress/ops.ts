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
  /** a sysfs reader holds the `index`-th extent of a region (get_device) … */
  | { op: 'hold-extent'; region: string; index: number; as: string }
  /** … and drops it (put_device: the last reference releases the extent in this thread) */
  | { op: 'put-extent'; ref: string }
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

/** Run one op. `user` is the user worker that executes sysfs ops. */
export async function runOp(sys: DcdSystem, b: Bindings, o: StressOp, actor: Actor): Promise<OpOutcome> {
  const name = actor.name;
  const done = (r: { ok: boolean; errno?: string; code?: string }): OpOutcome =>
    ({ actor: name, op: o.op, ok: r.ok, ...(r.ok ? {} : { errno: r.errno ?? r.code ?? 'EIO' }) });
  const skip = (): OpOutcome => ({ actor: name, op: o.op, ok: false, skipped: true });
  const u = sys.user(actor.kind === 'user' ? actor.index : 0);
  const g = <T>(p: Promise<T>): Promise<T> => sys.guard(p);
  switch (o.op) {
    case 'add': {
      const r = await g(sys.device(o.memdev).call((a) => a.injectRecords(o.records)));
      return done(r.ok ? { ok: true } : { ok: false, code: r.code });
    }
    case 'release': {
      const r = await g(sys.device(o.memdev).call((a) => a.releaseCapacity({ policy: 'prescriptive', extents: o.extents, ...(o.forced ? { forced: true } : {}) })));
      return done(r.ok ? { ok: true } : { ok: false, code: r.code });
    }
    case 'hostile': {
      const r = await g(sys.device(o.memdev).call((a) => a.hostileInject(o.kind)));
      return done(r.ok ? { ok: true } : { ok: false, code: r.code });
    }
    case 'create-region': {
      // cxl create-region, then the asynchronous cxl_dax_region probe (tracked by wait-idle)
      const r = await g(sys.createRegion(o.memdev, o.size, actor.kind === 'user' ? actor.index : 0));
      if (r.ok) b.regions.set(o.as, r.value.regionId);
      return done(r);
    }
    case 'destroy-region':
    case 'disable-region': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      return done(await g(o.op === 'destroy-region' ? u.call((a) => a.destroyRegion(id)) : u.call((a) => a.disableRegion(id))));
    }
    case 'probe':
    case 'bind': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      return done(await g(o.op === 'probe' ? sys.daxBus.call((a) => a.probe(id)) : sys.daxBus.call((a) => a.bindDriver(id))));
    }
    case 'unbind': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      return done(await g(sys.daxBus.call((a) => a.unbindDriver(id))));
    }
    case 'claim': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      const r = await g(u.call((a) => a.createDaxDevice(id, o.uuid)));
      if (r.ok) b.daxes.set(o.as, { regionId: id, devId: r.value.devId });
      return done(r);
    }
    case 'create-seed': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      return done(await g(u.call((a) => a.createSeed(id))));
    }
    case 'claim-seed': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      const r = await g(u.call((a) => a.claimSeed(id, o.uuid)));
      if (r.ok) b.daxes.set(o.as, { regionId: id, devId: r.value.devId });
      return done(r);
    }
    case 'destroy-dax':
    case 'resize':
    case 'write':
    case 'verify': {
      const d = b.daxes.get(o.dax);
      if (!d) return skip();
      if (o.op === 'destroy-dax') {
        const r = await g(u.call((a) => a.destroyDaxDevice(d.regionId, d.devId)));
        if (r.ok) b.daxes.delete(o.dax);
        return done(r);
      }
      if (o.op === 'resize') return done(await g(u.call((a) => a.reconfigureDaxDevice(d.regionId, d.devId, o.size))));
      if (o.op === 'write') return done(await g(u.call((a) => a.write(d.regionId, d.devId, o.offset, o.length, o.pattern))));
      return done(await g(u.call((a) => a.verify(d.regionId, d.devId, o.offset, o.length, o.pattern))));
    }
    case 'hold-extent': {
      const id = b.regions.get(o.region);
      if (id === undefined) return skip();
      const key = `${actor.name}:${o.as}`;
      const r = await g(u.call((a) => a.holdExtent(id, o.index, key)));
      if (r.ok) b.extentRefs.set(o.as, { user: actor.index, key });
      return done(r);
    }
    case 'put-extent': {
      const ref = b.extentRefs.get(o.ref);
      if (!ref) return skip();
      b.extentRefs.delete(o.ref);
      return done(await g(sys.user(ref.user).call((a) => a.putExtent(ref.key))));
    }
    case 'advance':
      await sys.advanceClock(o.ms);
      return done({ ok: true });
    case 'wait-idle':
      await sys.waitIdle(10_000);
      return done({ ok: true });
  }
}
