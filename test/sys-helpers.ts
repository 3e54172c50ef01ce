// Shared helpers for the host (test/host-*.test.ts) and DAX (test/dax-*.test.ts) suites: a real
// DcdSystem (device worker, event-thread worker, workqueue, dax-bus, user workers) with sane
// defaults — cxl-test personality, 512M of dynamic capacity at 2G, 2M blocks — and small helpers
// to drive the FM API and read the runtime event stream.
import type { Test } from 'tap';
import { DcdSystem, sleep, type SystemConfig } from '../src/runtime/system.js';
import type { MemdevSpec, PreAcceptedExtent } from '../src/scenario/types.js';
import type { RuntimeEvent, RuntimeEventType } from '../src/protocol.js';
import type { InjectRecord, ReleaseCapacityRequest } from '../src/device/types.js';
import type { MailboxTraceEntry, SystemState } from '../src/state.js';
import { GiB, MiB } from '../src/units.js';
import { mutexLock, mutexUnlock } from '../src/shm/lock.js';

export const M = MiB;
export const G = GiB;
/** DC partition base (= static capacity in front of it) and size of every default memdev */
export const DC_BASE = 2 * G;
export const DC_SIZE = 512 * M;
export const BLOCK = 2 * M;

export { NULL_UUID } from '../src/wire/cxl.js';
export const TAG_A = '11111111-1111-1111-1111-111111111111';
export const TAG_B = '22222222-2222-2222-2222-222222222222';
export const TAG_C = '33333333-3333-3333-3333-333333333333';
/** the cxl_test mock's pre-existing tagged extent */
export const MOCK_PRE_TAG = 'deadbeef-cafe-baad-f00d-fedcba987654';

/** Absolute DPA of a device-side offset (relative to the DC partition start). */
export const dpa = (offset: number): number => DC_BASE + offset;

export interface MemdevOpts {
  sharable?: boolean;
  preAccepted?: { offset: number; length: number; tag?: string | null; seq?: number }[];
  size?: number;
}

export function memdevSpec(i: number, o: MemdevOpts = {}): MemdevSpec {
  return {
    name: `mem${i}`,
    serial: i,
    sharable: o.sharable ?? false,
    dc: { base: DC_BASE, size: o.size ?? DC_SIZE, blockSize: BLOCK },
    preAccepted: (o.preAccepted ?? []).map((e): PreAcceptedExtent => ({ offset: e.offset, length: e.length, tag: e.tag ?? null, seq: e.seq ?? 0 })),
  };
}

export interface SysOpts extends Omit<SystemConfig, 'memdevs'> {
  /** number of memdevs (default 1), or explicit per-memdev options */
  memdevs?: number | MemdevOpts[];
}

export function sysConfig(o: SysOpts = {}): SystemConfig {
  const mds = typeof o.memdevs === 'number' || o.memdevs === undefined
    ? Array.from({ length: (o.memdevs as number | undefined) ?? 1 }, () => ({}))
    : o.memdevs;
  const { memdevs: _ignored, ...rest } = o;
  void _ignored;
  // one user worker unless a test races two: every worker costs startup time
  return { device: 'cxl-test', users: 1, ...rest, memdevs: mds.map((m, i) => memdevSpec(i, m)) };
}

export async function startSystem(o: SysOpts = {}): Promise<DcdSystem> {
  return DcdSystem.start(sysConfig(o));
}

/**
 * Start a system, run `fn`, always stop it. After `fn`, asserts no worker crashed and (unless
 * `allowHung`) that nothing reported a hung wait. When `fn` throws, the kernel log tail and any
 * hung-wait reports are printed as comments before the error propagates.
 */
export async function withSystem<T>(t: Test, o: SysOpts, fn: (s: DcdSystem) => Promise<T>, opts: { allowHung?: boolean } = {}): Promise<T> {
  const s = await startSystem(o);
  try {
    const r = await fn(s);
    t.equal(s.crashed(), null, 'no worker crashed');
    if (!opts.allowHung) t.same(s.hungReports().map((h) => h.kind), [], 'no hung-wait reports');
    return r;
  } catch (e) {
    t.comment(`failed: ${e instanceof Error ? e.message : String(e)}`);
    for (const l of s.dmesgLines().slice(-25)) t.comment(`dmesg: ${l.level} ${l.dev}: ${l.msg}`);
    for (const h of s.hungReports()) t.comment(`hung: ${JSON.stringify(h)}`);
    throw e;
  } finally {
    await s.stop();
  }
}

/** Create a DC region on `memdev` and wait for its (async) probe. Returns the region id. */
export async function region(s: DcdSystem, memdev = 0, size: number | null = null, wait = true): Promise<number> {
  const r = await s.createRegion(memdev, size);
  if (!r.ok) throw new Error(`createRegion(mem${memdev}) failed: ${r.errno} ${r.message}`);
  if (wait) await s.waitIdle();
  return r.value.regionId;
}

/** Inject raw DC Add records (cxl_test dc_inject_extent); throws when the FM refuses them. */
export async function inject(s: DcdSystem, memdev: number, records: InjectRecord[]): Promise<void> {
  const r = await s.device(memdev).call((a) => a.injectRecords(records));
  if (!r.ok) throw new Error(`inject on mem${memdev} refused: ${r.errno} ${r.message}`);
}

/** Release (dc_del_extent) prescriptive ranges, offsets relative to the DC partition. */
export async function release(s: DcdSystem, memdev: number, extents: { offset: number; length: number; tag?: string | null }[], extra: Partial<ReleaseCapacityRequest> = {}): Promise<void> {
  const r = await s.device(memdev).call((a) => a.releaseCapacity({ policy: 'prescriptive', extents, ...extra }));
  if (!r.ok) throw new Error(`release on mem${memdev} refused: ${r.errno} ${r.message}`);
}

/** A tagged (or untagged) chain: More on all but the last record. */
export function chain(offsets: number[], length: number, tag: string | null, seqs?: number[]): InjectRecord[] {
  return offsets.map((offset, i) => ({ offset, length, tag, more: i < offsets.length - 1, ...(seqs ? { seq: seqs[i]! } : {}) }));
}

export type Ev<K extends RuntimeEventType> = Extract<RuntimeEvent, { type: K }>;

/** Runtime events of one type (after draining the ring), optionally from index `from`. */
export function events<K extends RuntimeEventType>(s: DcdSystem, type: K, from = 0): Ev<K>[] {
  s.drainEvents();
  const out: Ev<K>[] = [];
  for (let i = from; i < s.events.length; i++) {
    const e = s.events[i]!.ev;
    if (e.type === type) out.push(e as Ev<K>);
  }
  return out;
}

/** A mark in the event stream, to look only at what happened after it. */
export function mark(s: DcdSystem): number {
  s.drainEvents();
  return s.events.length;
}

export function mbox(st: SystemState, opcode: string, memdev?: string): MailboxTraceEntry[] {
  return st.trace.mailbox.filter((m) => m.opcode === opcode && (memdev === undefined || m.memdev === memdev));
}

/** Mailbox commands of `opcode` sent after event index `from`, from the event stream. */
export function mboxSince(s: DcdSystem, opcode: number, from: number, memdev?: number): Ev<'mbox'>[] {
  return events(s, 'mbox', from).filter((e) => e.opcode === opcode && (memdev === undefined || e.memdev === memdev));
}

/** Device-side accepted offsets (relative to the partition), sorted. */
export function acceptedOffsets(st: SystemState, memdev = 'mem0'): number[] {
  return st.memdevs[memdev]!.accepted.map((e) => e.offset).sort((a, b) => a - b);
}

/** Dmesg lines matching a regex, as "level dev: msg". */
export function dmesgMatching(s: DcdSystem, re: RegExp): string[] {
  return s.dmesgLines().map((l) => `${l.level} ${l.dev}: ${l.msg}`).filter((l) => re.test(l));
}

export const OP = {
  GET_DC_CONFIG: 0x4800,
  GET_DC_EXTENT_LIST: 0x4801,
  ADD_DC_RESPONSE: 0x4802,
  RELEASE_DC: 0x4803,
} as const;

export { DcdSystem, sleep };

/** Items (with an `offset`) whose offset lies in [lo, hi). */
export function inWindow<T extends { offset: number }>(list: readonly T[], lo: number, hi: number): T[] {
  return list.filter((e) => e.offset >= lo && e.offset < hi);
}

export interface ChainOutcome {
  /** logical Add DC Responses for this memdev */
  responses: Ev<'response'>[];
  /** offsets (relative to the DC partition) listed in those responses */
  listed: number[];
  /** offsets of extents that became host-tracked */
  tracked: Ev<'extent-tracked'>[];
  /** kernel log lines written meanwhile ("level dev: msg") */
  log: string[];
}

/** Run `fn` (an FM action), wait for idle, and report what the host did for `memdev`. */
export async function observe(s: DcdSystem, memdev: number, fn: () => Promise<unknown>): Promise<ChainOutcome> {
  const m = mark(s);
  const l0 = s.dmesgLines().length;
  await fn();
  await s.waitIdle();
  return {
    responses: events(s, 'response', m).filter((e) => e.memdev === memdev),
    listed: events(s, 'response-extent', m).filter((e) => e.memdev === memdev).map((e) => e.dpa - DC_BASE),
    tracked: events(s, 'extent-tracked', m).filter((e) => e.memdev === memdev),
    log: s.dmesgLines().slice(l0).map((l) => `${l.level} ${l.dev}: ${l.msg}`),
  };
}

/** Inject a chain on `memdev` and report what the host did. */
export function addChain(s: DcdSystem, memdev: number, records: InjectRecord[]): Promise<ChainOutcome> {
  return observe(s, memdev, () => inject(s, memdev, records));
}

/** members of the group a claim races (dax-claim-race*.test.ts) */
export const CLAIM_RACE_N = 32;
/** claims each user keeps in flight while hammering */
export const CLAIM_RACE_PIPELINE = 4;
const raceTag = (i: number): string => `d0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

export interface ClaimRaceRound { partial: number; full: number; attempts: number; whileAdding: number }

/**
 * One round of a claim racing its group's DAX add: two user workers hammer the uuid store of the
 * region's seed device (`daxctl create-device --uuid T` after its `create` write: uuid_store →
 * uuid_claim under dax_region_rwsem; several calls in flight each) while the device offers a
 * CLAIM_RACE_N-extent group tagged T; returns how many successful claims saw a partial / the
 * whole group. The seed is made first with a `create` write, which needs some available size
 * (create_store refuses at 0 with -ENOSPC): an untagged filler extent, released at the end.
 * Cleans up (destroy, release) before returning.
 */
export async function claimRaceRound(s: DcdSystem, i: number, opts: { holdNotify?: boolean } = {}): Promise<ClaimRaceRound> {
  const T = raceTag(i);
  const m0 = mark(s);
  let done = false;
  let attempts = 0;
  const won: { user: number; devId: number }[] = [];
  const FILLER = { offset: 256 * M, length: 2 * M, tag: null };
  await inject(s, 0, [{ ...FILLER, more: false }]);
  await s.waitIdle();
  const seed = await s.user(0).call((a) => a.createSeed(0));
  if (!seed.ok) throw new Error(`claimRaceRound: echo 1 > create failed: ${seed.errno}`);
  const hammer = async (user: number): Promise<void> => {
    for (let k = 0; k < 5000 && !done; k++) {
      attempts++;
      const r = await s.user(user).call((a) => a.claimSeed(0, T));
      if (r.ok) { won.push({ user, devId: r.value.devId }); done = true; }
    }
  };
  // CLAIM_RACE_PIPELINE calls in flight per user, so each user worker claims back to back
  const hammers = [0, 1].flatMap((u) => Array.from({ length: CLAIM_RACE_PIPELINE }, () => hammer(u)));
  await sleep(1);
  // holdNotify: this thread holds device_lock(cxlr_dax) — as any other holder of it would (a
  // bind, a probe) — so the event thread, having onlined the members (online_tag_group),
  // waits in cxlr_notify_extent before the DAX add (drivers/cxl/core/extent.c; src/cxl/extent.ts
  // cxl_realize_group). uuid_store takes only dax_region_rwsem, so the hammering claims run in that
  // window for certain; released once a claim has failed there with every member registered (or
  // every hammer has stopped), and the add then races claims already in flight. A handshake, not a
  // clock: without it a loaded machine decides whether any claim lands in the window.
  // The mock's inject returns only once the host answered the chain (cxl_test handles an injected
  // record synchronously), which the held notify delays: it is awaited after the release.
  const lock = opts.holdNotify ? s.host.regionLockFor(s.host.regionById(0)) : -1;
  if (lock >= 0) mutexLock(lock);
  let injected: Promise<void>;
  try {
    let settled = false;
    injected = inject(s, 0, chain(Array.from({ length: CLAIM_RACE_N }, (_, j) => j * 4 * M), 2 * M, T)).finally(() => { settled = true; });
    injected.catch(() => undefined); // awaited (and so rethrown) below
    if (lock >= 0) {
      let stopped = false;
      void Promise.all(hammers).then(() => { stopped = true; });
      let seen = m0;
      let inWindow = false;
      while (!stopped && !settled && !inWindow) {
        await sleep(1);
        for (const c of events(s, 'claim', seen)) if (c.rc !== 0 && c.groupMembers === CLAIM_RACE_N) inWindow = true;
        seen = s.events.length;
      }
    }
  } finally {
    if (lock >= 0) mutexUnlock(lock);
  }
  await injected;
  await s.waitIdle();
  // the group is surfaced: let the hammers finish (one of them claims what is left, if anything)
  await Promise.race([Promise.all(hammers), sleep(2000)]);
  done = true;
  await Promise.all(hammers);
  let partial = 0;
  let full = 0;
  let whileAdding = 0;
  let won0 = false;
  for (const c of events(s, 'claim', m0)) {
    // before any claim won, the members were already onlined (extent devices registered) when this
    // one ran: it arrived while the group's DAX resources were being added
    if (!won0 && c.rc !== 0 && c.groupMembers > 0) whileAdding++;
    if (c.rc !== 0) continue;
    won0 = true;
    if (c.nRanges < c.groupMembers) partial++;
    else if (c.nRanges === CLAIM_RACE_N && c.groupMembers === CLAIM_RACE_N) full++;
  }
  for (const w of won) await s.user(w.user).call((a) => a.destroyDaxDevice(0, w.devId));
  await release(s, 0, [{ offset: 0, length: 2 * M, tag: T }, FILLER]);
  await s.waitIdle();
  return { partial, full, attempts, whileAdding };
}

