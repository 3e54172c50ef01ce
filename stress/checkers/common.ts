/**
 * DOC: what the checkers share — the narrow view of a running system they read at quiescence,
 * a bounded de-duplicating findings list, range arithmetic, state walking, and the one piece of
 * reasoning two checkers need alike: why a host-tracked extent may not be device-accepted.
 *
 * Invariants verified: none here (helpers). Not verified: n/a.
 *
 * Checkers read the run only through (a) the decoded runtime event stream (`onEvent`) and (b) the
 * quiescent state snapshot plus the read-only `SysLike` view below (`atQuiescence`). `SysLike` is
 * the subset of DcdSystem a checker may touch; a real DcdSystem satisfies it structurally, and
 * unit tests pass a plain object. Production code never imports anything from stress/checkers.
 */
import type { DecodedEvent, RuntimeEvent } from '../../src/protocol.js';
import type { HostState } from '../../src/host/state.js';
import type { KnobValues } from '../../src/scenario/types.js';
import type { LockOrderReport } from '../../src/shm/lockdep.js';
import type { HungReport } from '../../src/errors.js';
import type { DaxDeviceView, RegionView, SystemState } from '../../src/state.js';
import { CXL_MBOX_OP, DC_EVENT_TYPE, rcName } from '../../src/wire/cxl.js';
import type { CheckResult } from './outcomes.js';

import { PMD_SIZE, signedHex } from '../../src/units.js';
import { NULL_UUID } from '../../src/wire/cxl.js';
export { PMD_SIZE, NULL_UUID };
export const DC_EVENT_ADD = DC_EVENT_TYPE.ADD_CAPACITY;
export const DC_EVENT_RELEASE = DC_EVENT_TYPE.RELEASE_CAPACITY;
export const DC_EVENT_FORCED = DC_EVENT_TYPE.FORCED_CAPACITY_RELEASE;

/** The read-only slice of a DcdSystem that checkers may use at quiescence. */
export interface SysLike {
  knobs?: Partial<KnobValues>;
  lockOrderReports?(): LockOrderReport[];
  hungReports?(): HungReport[];
  /** the system report log (lock-order, hung-wait and assert-held reports) */
  sys?: { reports: { read<T = unknown>(): T[] } };
  /** host tables, read only (handles in events resolve here while their records are live) */
  host?: Pick<HostState, 'tags' | 'regions' | 'daxDevs'>;
}

/** Event of one type, with its decoded envelope. */
export type Ev<T extends RuntimeEvent['type']> = Extract<RuntimeEvent, { type: T }>;

/**
 * When each region's current teardown began (event index), for H14's rules. A destroy tears a
 * region down twice — the cxl_dax_region unbind's devres_release_all, then device_del's
 * (cxl_region_disable) — and H14's orphan can be realized between the two, so a teardown began at
 * the first since the region was last probed (`scan-done`: bound again, a later teardown begins
 * anew; `region-probe`: a NEW cxl_dax_region instance, whose extents are not the old teardown's).
 * Also counts each region's cxl_dax_region instances (`region-probe`, cxl_dax_region_alloc): an
 * extent realized after its instance's teardown began, on an instance a re-probe has since
 * replaced, stays with that instance (H14's orphan on a re-probed region). Fed every event; one
 * instance per checker.
 */
export class TeardownEpisodes {
  private readonly began = new Map<number, number>();
  private readonly probes = new Map<number, number>();

  onEvent(ev: RuntimeEvent, idx: number): void {
    if (ev.type === 'region-teardown') { if (!this.began.has(ev.region)) this.began.set(ev.region, idx); }
    else if (ev.type === 'scan-done') this.began.delete(ev.region);
    else if (ev.type === 'region-probe') {
      this.began.delete(ev.region);
      this.probes.set(ev.region, (this.probes.get(ev.region) ?? 0) + 1);
    }
  }

  /** the event index at which `region`'s current teardown began, if one has */
  at(region: number): number | undefined {
    return this.began.get(region);
  }

  /** how many cxl_dax_region instances `region` has had so far (its `region-probe`s) */
  instance(region: number): number {
    return this.probes.get(region) ?? 0;
  }

  clear(): void {
    this.began.clear();
    this.probes.clear();
  }
}

/** Bounded, keyed findings: the same violation seen continuously and at quiescence is one entry. */
export class Findings {
  static readonly MAX = 64;
  private readonly map = new Map<string, CheckResult>();
  private dropped = 0;
  /** The time (event stream clock) of the event being judged, which `add` stamps on a finding
   *  (`atMs`): a checker sets it on entering `onEvent` and resets it to Infinity (no stamp) at
   *  quiescence. The runner classifies a finding raised before a deadlock began as usual, since
   *  the deadlock's unwinding cannot have caused it (docs/finding.md "Nothing hides another"). */
  at = Infinity;

  add(key: string, r: CheckResult): void {
    if (this.map.has(key)) return;
    if (this.at !== Infinity && r.atMs === undefined) r.atMs = this.at;
    if (this.map.size >= Findings.MAX) {
      this.dropped++;
      return;
    }
    this.map.set(key, r);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  list(): CheckResult[] {
    const out = [...this.map.values()];
    const last = out[out.length - 1];
    if (this.dropped > 0 && last) out.push({ ...last, detail: `${this.dropped} further findings not kept (limit ${Findings.MAX})` });
    return out;
  }

  /** Findings whose outcome's invariant is `inv` (to decide whether to report `held(inv)`). */
  anyFor(inv: string): boolean {
    for (const r of this.map.values()) if (r.invariant === inv) return true;
    return false;
  }

  clear(): void {
    this.map.clear();
    this.dropped = 0;
  }
}

export function rng(dpa: number, len: number): string {
  return `[${signedHex(dpa)}+${signedHex(len)}]`;
}

/** Short tag for messages: "null" or the first 8 hex digits. */
export function tagStr(uuid: string): string {
  return uuid === NULL_UUID ? 'null' : uuid;
}

export function contains(outerStart: number, outerLen: number, start: number, len: number): boolean {
  return outerStart <= start && start + len <= outerStart + outerLen;
}

export function overlaps(aStart: number, aLen: number, bStart: number, bLen: number): boolean {
  return aStart < bStart + bLen && bStart < aStart + aLen;
}

/** Regions of a state, without the scenario aliases (an alias key points at the same view). */
export function stateRegions(state: SystemState): RegionView[] {
  return Object.entries(state.regions).filter(([k, v]) => k === v.name).map(([, v]) => v);
}

export function stateDaxDevices(state: SystemState): DaxDeviceView[] {
  return Object.entries(state.daxDevices).filter(([k, v]) => k === v.name).map(([, v]) => v);
}

/**
 * Unwrap the device's 16-bit event handles (1..0xffff, wrapping to 1) into a monotonic number per
 * memdev. Records may arrive out of handle order (parallel handlers), so a handle far below the
 * highest seen is taken as the next epoch and one far above as a late record of the previous one.
 * Limit: a device reset (handles restart at 1) within one checker epoch looks like a wrap.
 */
export class HandleUnwrapper {
  private readonly max = new Map<number, number>();

  unwrap(memdev: number, raw: number): number {
    const hi = this.max.get(memdev);
    if (hi === undefined) {
      this.max.set(memdev, raw);
      return raw;
    }
    const epoch = Math.floor((hi - 1) / 0xffff);
    let v = epoch * 0xffff + raw;
    if (v < hi - 0x8000) v += 0xffff;
    else if (v > hi + 0x8000 && v > 0xffff) v -= 0xffff;
    if (v > hi) this.max.set(memdev, v);
    return v;
  }

  clear(): void {
    this.max.clear();
  }
}

/**
 * Why might a host-tracked extent not be device-accepted? Fed the same events as its checker, it
 * knows (a) memdevs where some Add DC Response failed at the mailbox (H10: the host does not roll
 * back groups it onlined), and (b) extents the recovery scan realized (existing=1) that match a
 * runtime Add record no response had listed yet (H2: the scan adopted a half-staged chain).
 */
export class HostDeviceExplainer {
  private readonly failedResponse = new Map<number, string>();
  /** per thread: ranges of the Add DC Response it is sending (response-extent, until its `response`) */
  private readonly sending = new Map<number, { memdev: number; dpa: number; len: number }[]>();
  /** per memdev: ranges listed by an Add DC Response that failed (H10 evidence for exactly those) */
  private readonly failedRanges = new Map<number, { dpa: number; len: number; why: string }[]>();
  /** per memdev: "dpa:len" of runtime Add records not (yet) listed in a response */
  private readonly unanswered = new Map<number, Set<string>>();
  /** per memdev: "dpa:len" of recovered extents that matched an unanswered runtime record */
  private readonly adopted = new Map<number, Set<string>>();
  /** per memdev: "dpa:len" → how many host extents track exactly that range */
  private readonly trackedRanges = new Map<number, Map<string, number>>();
  /** per memdev: ranges the recovery scan realized while the same range was still tracked —
   *  an extent the release path had unregistered but not yet released (H5: release vs recovery
   *  realize; the release holds no lock from unregistration to its Release DC that the probe takes) */
  private readonly readopted = new Map<number, Set<string>>();
  /** "thread:memdev" → event index of that thread's last successful Get DC Extent List (a scan's snapshot) */
  private readonly lastExtentList = new Map<string, number>();
  /** per memdev: successful Release DC commands (first range), with their thread and event index */
  private readonly releases = new Map<number, { idx: number; thread: number; dpa: number; len: number }[]>();
  /** per memdev: "dpa:len" realized by a scan after another thread's Release DC of it followed the
   *  scan's snapshot (H23) → why */
  private readonly staleScan = new Map<number, Map<string, string>>();
  private idx = 0;

  onEvent(e: DecodedEvent): void {
    const ev = e.ev;
    const idx = this.idx++;
    switch (ev.type) {
      case 'mbox':
        if (ev.opcode === CXL_MBOX_OP.ADD_DC_RESPONSE && ev.rc !== 0 && !this.failedResponse.has(ev.memdev)) {
          this.failedResponse.set(ev.memdev, `Add DC Response on mem${ev.memdev} failed with ${rcName(ev.rc)} (${ev.nrExtents} entries from ${signedHex(ev.dpa)})`);
        }
        // the mbox event is emitted under the mailbox mutex, so these indices order the commands
        if (ev.opcode === CXL_MBOX_OP.GET_DC_EXTENT_LIST && ev.rc === 0) this.lastExtentList.set(`${e.thread}:${ev.memdev}`, idx);
        if (ev.opcode === CXL_MBOX_OP.RELEASE_DC && ev.rc === 0 && ev.nrExtents > 0) {
          const r = listOf(this.releases, ev.memdev);
          if (r.length >= 4096) r.shift();
          r.push({ idx, thread: e.thread, dpa: ev.dpa, len: ev.len });
        }
        break;
      case 'response': {
        const listed = this.sending.get(e.thread) ?? [];
        this.sending.delete(e.thread);
        if (ev.rc === 0) break;
        if (!this.failedResponse.has(ev.memdev)) this.failedResponse.set(ev.memdev, `response ${ev.chain} on mem${ev.memdev} failed (rc ${ev.rc})`);
        const f = listOf(this.failedRanges, ev.memdev);
        for (const x of listed) if (x.memdev === ev.memdev && f.length < 4096) f.push({ dpa: x.dpa, len: x.len, why: `Add DC Response ${ev.chain} on mem${ev.memdev} listed ${rng(x.dpa, x.len)} and failed (rc ${ev.rc})` });
        break;
      }
      case 'dc-record':
        if (ev.eventType === DC_EVENT_ADD) setOf(this.unanswered, ev.memdev).add(`${ev.dpa}:${ev.len}`);
        break;
      case 'response-extent':
        this.unanswered.get(ev.memdev)?.delete(`${ev.dpa}:${ev.len}`);
        listOf(this.sending, e.thread).push({ memdev: ev.memdev, dpa: ev.dpa, len: ev.len });
        break;
      case 'extent-tracked': {
        const k = `${ev.dpa}:${ev.len}`;
        if (ev.existing === 1 && this.unanswered.get(ev.memdev)?.has(k)) setOf(this.adopted, ev.memdev).add(k);
        let m = this.trackedRanges.get(ev.memdev);
        if (!m) { m = new Map(); this.trackedRanges.set(ev.memdev, m); }
        const n = m.get(k) ?? 0;
        if (ev.existing === 1 && n > 0) setOf(this.readopted, ev.memdev).add(k);
        // H23: realized by the scan (existing, this thread's snapshot) with no tracked copy left,
        // after ANOTHER thread's Release DC of the range followed that snapshot (a held extent's
        // last put: dc_extent_release sends it, then xa_erase takes it out of the classify walk)
        const snap = ev.existing === 1 && n === 0 ? this.lastExtentList.get(`${e.thread}:${ev.memdev}`) : undefined;
        const rel = snap === undefined ? undefined : this.releases.get(ev.memdev)?.find((r) => r.idx > snap && r.thread !== e.thread && contains(r.dpa, r.len, ev.dpa, ev.len));
        if (rel && snap !== undefined) {
          let s = this.staleScan.get(ev.memdev);
          if (!s) { s = new Map(); this.staleScan.set(ev.memdev, s); }
          s.set(k, `the recovery scan on mem${ev.memdev} read the device's extent list (event ${snap}), another thread's Release DC of ${rng(rel.dpa, rel.len)} followed (event ${rel.idx}), and the scan then realized ${rng(ev.dpa, ev.len)} from its snapshot (event ${idx}): the device no longer holds it (H23)`);
        }
        m.set(k, n + 1);
        break;
      }
      case 'extent-untracked': {
        const m = this.trackedRanges.get(ev.memdev);
        const k = `${ev.dpa}:${ev.len}`;
        const n = m?.get(k) ?? 0;
        if (n <= 1) m?.delete(k); else m!.set(k, n - 1);
        break;
      }
      default:
        break;
    }
  }

  /** 'h10' / 'h2' with the reason, or null when nothing in the run explains a host-only extent. */
  /** Did the recovery scan re-adopt `dpa:len` (or, without a range, any range) on this memdev? */
  readoptedH5(memdev: number, dpa?: number, len?: number): string | null {
    const set = this.readopted.get(memdev);
    if (!set || set.size === 0) return null;
    if (dpa !== undefined && len !== undefined && !set.has(`${dpa}:${len}`)) return null;
    return `the recovery scan on mem${memdev} re-adopted ${dpa !== undefined && len !== undefined ? rng(dpa, len) : `${set.size} range(s)`} while the release path still held the dying extent (H5)`;
  }

  /** H23: did a scan realize exactly `dpa:len` on this memdev from a snapshot a later Release DC of it made stale? */
  staleScanH23(memdev: number, dpa: number, len: number): string | null {
    return this.staleScan.get(memdev)?.get(`${dpa}:${len}`) ?? null;
  }

  explain(memdev: number, dpa?: number, len?: number): { hazard: 'h10' | 'h2' | 'h5'; why: string } | null {
    const h5 = this.readoptedH5(memdev, dpa, len);
    if (h5) return { hazard: 'h5', why: h5 };
    if (dpa !== undefined && len !== undefined && this.adopted.get(memdev)?.has(`${dpa}:${len}`)) {
      return { hazard: 'h2', why: `extent ${rng(dpa, len)} was realized by the recovery scan from a half-staged runtime chain` };
    }
    if (dpa === undefined && (this.adopted.get(memdev)?.size ?? 0) > 0) {
      return { hazard: 'h2', why: `the recovery scan on mem${memdev} adopted half-staged runtime extents` };
    }
    // H10 for a known range only when a failed response listed (a range containing) it: a failed
    // response elsewhere on the memdev explains nothing about this extent. Without a range (checks
    // that cannot name the extent), any failed response on the memdev.
    if (dpa !== undefined && len !== undefined) {
      const hit = this.failedRanges.get(memdev)?.find((x) => contains(x.dpa, x.len, dpa, len));
      return hit ? { hazard: 'h10', why: hit.why } : null;
    }
    const f = this.failedResponse.get(memdev);
    return f ? { hazard: 'h10', why: f } : null;
  }

  /** Is there any failed response on any memdev (for checks that do not know the memdev)? */
  anyFailure(): string | null {
    for (const v of this.failedResponse.values()) return v;
    return null;
  }

  clear(): void {
    this.failedResponse.clear();
    this.sending.clear();
    this.failedRanges.clear();
    this.unanswered.clear();
    this.adopted.clear();
    this.trackedRanges.clear();
    this.readopted.clear();
    this.lastExtentList.clear();
    this.releases.clear();
    this.staleScan.clear();
    this.idx = 0;
  }
}

export function setOf<K, V>(m: Map<K, Set<V>>, k: K): Set<V> {
  let s = m.get(k);
  if (!s) {
    s = new Set<V>();
    m.set(k, s);
  }
  return s;
}

export function listOf<K, V>(m: Map<K, V[]>, k: K): V[] {
  let s = m.get(k);
  if (!s) {
    s = [];
    m.set(k, s);
  }
  return s;
}

/** Host-side region facts by region handle, when the system is available and the record live. */
export function regionFacts(sys: SysLike, region: number): { id: number; edDpaStart: number; size: number; memdev: number } | null {
  const R = sys.host?.regions;
  if (!R || !R.isLive(region)) return null;
  return { id: R.get(region, 'id'), edDpaStart: R.get(region, 'edDpaStart'), size: R.get(region, 'size'), memdev: R.get(region, 'memdev') };
}
