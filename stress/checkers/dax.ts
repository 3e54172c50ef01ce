/**
 * DOC: DAX checker — group atomicity, claim integrity, in-use protection, conservation and no
 * double mapping on the DAX side (docs/kernel-map.md, §5.2–§5.5, §8.1-10/11/12/15; README.md
 * §6 "no two live DAX devices map the same device bytes"; §8.2 partial groups, SK-26).
 *
 * Model. `extent-tracked` / `extent-untracked` replay the CXL members of every group per region.
 * A `claim` event (emitted inside uuid_store under dax_region_rwsem + dax_dev_rwsem) carries two
 * counts taken at the same instant: `groupMembers`, the CXL-layer members of the tag registered
 * on that region, and `nRanges`, the DAX ranges the claim carved.
 *
 * Telling a DAX-layer partial group from a CXL-layer partial group:
 *  - DAX-layer (forbidden, 8.1-10): a successful tagged claim with nRanges < groupMembers — the
 *    CXL layer had onlined every member (online_tag_group runs before the notify) but the claim
 *    found only some of their dax_resources, i.e. it ran between the per-member resource adds
 *    (what `group-lock=per-extent` breaks). With one dax_region_rwsem hold per group (v11) the
 *    claim sees all or none;
 *  - CXL-layer (known, §8.2 "group all-or-none at the CXL layer", SK-26 tail-safe claim):
 *    nRanges == groupMembers, but the group was onlined without some members the device offered
 *    with its tag in the same chain. Offered-but-omitted is decided when the chain closes
 *    (`chain-closed` / `chain-dropped` of the memdev): an Add record of the chain carrying the
 *    group's tag that is not contained in any extent tracked at that moment was omitted by a
 *    per-extent failure (a re-offered duplicate is contained in an older extent and does not
 *    count). Claims of such a group are `partial-group-cxl`.
 *
 * Invariants verified:
 *  - 8.1-10 / 8.1-11 per successful claim: tagged → nRanges == groupMembers (`partial-group-claimed`
 *    when fewer; `claim-mismatch` when more: ranges from beyond the group), size == Σ lengths of
 *    the tag's live members on the region (`claim-mismatch`); untagged → exactly one range
 *    (`claim-mismatch`); continuously. Inside its region's cxl_dax_region teardown (after
 *    `region-teardown`, before a new probe) a tagged claim is H24's
 *    (`partial-group-claimed-in-teardown-h24`) when it took fewer ranges than the tag's members
 *    tracked when the teardown began — the devres actions take members off the walk one by one,
 *    so the registered count at the claim already lacks them;
 *  - 8.1-12 a release refused as in use (`release-outcome` reason inUse) changes no state: its
 *    thread emits no `extent-untracked` / `tag-unregistered` between the Release record and the
 *    outcome (`release-in-use`), continuously; and at quiescence a device that is still live after
 *    a successful claim of size S has size S or 0 (0: trimmed by the user) — anything in between
 *    means a range was cut from under a claimed device (`release-in-use`);
 *  - 8.1-15 per region with the driver bound: Σ tracked extent bytes == Σ DAX device sizes +
 *    available_size, and every DAX range lies inside one tracked extent (`conservation`);
 *  - product §6: ranges of live DAX devices of one region never overlap (`dax-double-map`).
 *
 * Not verified (and why):
 *  - DAX resource-level atomicity on release under `group-lock=per-extent`: a refused release may
 *    have removed some members' resources; no event reports resources, so it shows only through
 *    the conservation check at quiescence (tracked bytes > surfaced bytes);
 *  - 8.1-20 claim exclusivity (-ENOENT / -EBUSY on re-claims): claim events carry the rc but not
 *    whether the device had size or the tag's members were all in use;
 *  - the destruction of a DAX device emits no event, so "claim released" is only visible at
 *    quiescence through the host's device table (needs the real system, not in unit tests);
 *  - the order of ranges within a claim (seq order) — not in the events or the state;
 *  - groups realized by the recovery scan are never judged CXL-partial (no chain to compare with).
 */
import type { DecodedEvent } from '../../src/protocol.js';
import { RELEASE_REASON } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { DC_EVENT_ADD, DC_EVENT_RELEASE, Findings, HostDeviceExplainer, NULL_UUID, contains, listOf, overlaps, rng, setOf, stateDaxDevices, stateRegions, tagStr, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

interface Member {
  extent: number;
  region: number;
  memdev: number;
  dpa: number;
  len: number;
  uuid: string;
  group: number;
}

interface Claim {
  dev: number;
  region: number;
  uuid: string;
  size: number;
  nRanges: number;
}

export class DaxChecker implements Checker {
  readonly name = 'dax';
  private readonly findings = new Findings();
  private readonly members = new Map<number, Member>();
  /** per memdev: Add records staged since the last close or drop */
  private readonly staging = new Map<number, { uuid: string; dpa: number; len: number }[]>();
  /** per memdev: groups onlined by the runtime chain being processed */
  private readonly chainGroups = new Map<number, Set<number>>();
  private readonly partial = new Map<number, string>();
  private readonly claims = new Map<number, Claim>();
  /**
   * regions whose cxl_dax_region teardown began (region-teardown) with no probe since (scan-done):
   * the teardown's devres actions unregister the group's extents one at a time (H24). Per region,
   * per tag: the CXL members tracked when the teardown began — the group the teardown takes apart.
   */
  private readonly tearingDown = new Map<number, Map<string, number>>();
  /** per thread: the Release record being handled and what it changed */
  private readonly releasing = new Map<number, { memdev: number; dpa: number; len: number; changed: string[] }>();
  private idx = 0;
  /** explains DAX accounting left inconsistent by an H5 re-adoption (see extents.ts) */
  private readonly explainer = new HostDeviceExplainer();

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const ev = e.ev;
    this.idx++;
    this.explainer.onEvent(e);
    switch (ev.type) {
      case 'dc-record':
        if (ev.eventType === DC_EVENT_ADD) listOf(this.staging, ev.memdev).push({ uuid: ev.uuid, dpa: ev.dpa, len: ev.len });
        else if (ev.eventType === DC_EVENT_RELEASE) this.releasing.set(e.thread, { memdev: ev.memdev, dpa: ev.dpa, len: ev.len, changed: [] });
        return;
      case 'extent-tracked':
        this.members.set(ev.extent, { extent: ev.extent, region: ev.region, memdev: ev.memdev, dpa: ev.dpa, len: ev.len, uuid: ev.uuid, group: ev.group });
        if (ev.existing === 0) setOf(this.chainGroups, ev.memdev).add(ev.group);
        return;
      case 'extent-untracked': {
        this.members.delete(ev.extent);
        this.releasing.get(e.thread)?.changed.push(`extent ${ev.extent} ${rng(ev.dpa, ev.len)} untracked`);
        return;
      }
      case 'tag-unregistered':
        this.releasing.get(e.thread)?.changed.push(`tag ${ev.uuid} unregistered`);
        return;
      case 'chain-closed':
      case 'chain-dropped':
        this.closeChain(ev.memdev);
        return;
      case 'release-outcome': {
        const r = this.releasing.get(e.thread);
        this.releasing.delete(e.thread);
        if (r && ev.reason === RELEASE_REASON.inUse && r.changed.length > 0) {
          this.findings.add(`inuse:${ev.memdev}:${ev.dpa}:${this.idx}`, finding('release-in-use',
            `release ${rng(ev.dpa, ev.len)} on mem${ev.memdev} was refused as in use, yet it changed state: ${r.changed.join('; ')}`));
        }
        return;
      }
      case 'claim':
        this.onClaim(ev.region, ev.dev, ev.uuid, ev.rc, ev.nRanges, ev.size, ev.groupMembers);
        return;
      case 'region-teardown': {
        const byTag = new Map<string, number>();
        for (const m of this.members.values()) if (m.region === ev.region) byTag.set(m.uuid, (byTag.get(m.uuid) ?? 0) + 1);
        this.tearingDown.set(ev.region, byTag);
        return;
      }
      case 'scan-done':
        this.tearingDown.delete(ev.region); // probed again (bind after unbind)
        return;
      default:
        return;
    }
  }

  /** A runtime chain was answered or dropped: decide which of its groups were onlined partially. */
  private closeChain(memdev: number): void {
    const staged = this.staging.get(memdev) ?? [];
    const groups = this.chainGroups.get(memdev);
    if (groups) {
      for (const g of groups) {
        const mine = [...this.members.values()].filter((m) => m.group === g);
        const uuid = mine[0]?.uuid;
        // untagged groups are claimed one extent at a time (uuid_claim_untagged), so a member the
        // CXL layer omitted cannot make a claim partial: nothing to record (reviewed, issue 19)
        if (uuid === undefined || uuid === NULL_UUID) continue;
        const omitted = staged.filter((s) => s.uuid === uuid && ![...this.members.values()].some((m) => m.memdev === memdev && contains(m.dpa, m.len, s.dpa, s.len)));
        if (omitted.length > 0) {
          this.partial.set(g, `group ${g} tag ${uuid} onlined with ${mine.length} members; the device also offered ${omitted.map((s) => rng(s.dpa, s.len)).join(' ')}`);
        }
      }
    }
    this.staging.delete(memdev);
    this.chainGroups.delete(memdev);
  }

  private onClaim(region: number, dev: number, uuid: string, rc: number, nRanges: number, size: number, groupMembers: number): void {
    if (rc !== 0) return;
    const what = `claim of tag ${tagStr(uuid)} by dax device ${dev} on region handle ${region}: ${nRanges} ranges, size ${size}`;
    this.claims.set(dev, { dev, region, uuid, size, nRanges });
    if (uuid === NULL_UUID) {
      if (nRanges !== 1) this.findings.add(`claim1:${dev}:${this.idx}`, finding('claim-mismatch', `${what}; an untagged claim takes exactly one extent`));
      return;
    }
    // H24: v11's online_tag_group (drivers/cxl/core/extent.c) registers one devres action per
    // extent (dc_extent_unregister) on cxlr_dax->dev, and the unbind's devres_release_all runs
    // them one by one with no dax_region_rwsem across the group, while uuid_store's
    // uuid_claim_tagged (drivers/dax/bus.c) walks the registered children under that rwsem: a
    // claim between two actions takes the members not yet unregistered. `groupMembers` counts the
    // members still registered at the claim, so a claim of all of them after an action's
    // device_del matches it (the usual case under the controlled scheduler, where nothing runs
    // between the count and the walk): inside the teardown the group is the one it began with
    const atTeardown = this.tearingDown.get(region);
    if (atTeardown) {
      const began = atTeardown.get(uuid) ?? 0;
      if (nRanges < Math.max(groupMembers, began)) {
        this.findings.add(`partial:${dev}:${this.idx}`, finding('partial-group-claimed-in-teardown-h24', `${what}, but the group has ${groupMembers} registered CXL members (${began} when the region's cxl_dax_region teardown began): the claim ran inside the teardown`));
        return;
      }
    }
    if (nRanges < groupMembers) {
      this.findings.add(`partial:${dev}:${this.idx}`, finding('partial-group-claimed', `${what}, but the group has ${groupMembers} CXL members`));
      return;
    }
    if (nRanges > groupMembers) {
      this.findings.add(`foreign:${dev}:${this.idx}`, finding('claim-mismatch', `${what}, more than the ${groupMembers} members of the tag`));
      return;
    }
    const live = [...this.members.values()].filter((m) => m.region === region && m.uuid === uuid);
    const bytes = live.reduce((n, m) => n + m.len, 0);
    if (live.length === groupMembers && bytes !== size) {
      this.findings.add(`size:${dev}:${this.idx}`, finding('claim-mismatch', `${what}; its ${live.length} members hold ${bytes} bytes`));
    }
    for (const g of new Set(live.map((m) => m.group))) {
      const why = this.partial.get(g);
      if (why) this.findings.add(`cxlpartial:${g}`, finding('partial-group-cxl', `${what}; ${why}`));
    }
  }

  atQuiescence(state: SystemState, sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    const out = new Findings();
    const devs = stateDaxDevices(state);
    for (const r of stateRegions(state)) {
      const mine = devs.filter((d) => d.region === r.name);
      const ranges = mine.flatMap((d) => d.ranges.map((x) => ({ dev: d.name, ...x })));
      for (let i = 0; i < ranges.length; i++) {
        for (let j = i + 1; j < ranges.length; j++) {
          const a = ranges[i]!;
          const b = ranges[j]!;
          if (overlaps(a.offset, a.length, b.offset, b.length)) {
            out.add(`dbl:${r.name}:${a.offset}:${b.offset}`, finding('dax-double-map', `${r.name}: ${a.dev} ${rng(a.offset, a.length)} and ${b.dev} ${rng(b.offset, b.length)} map the same bytes`));
          }
        }
      }
      if (!r.driverBound) continue;
      const tracked = r.extents.reduce((n, x) => n + x.length, 0);
      const claimed = mine.reduce((n, d) => n + d.size, 0);
      if (tracked !== claimed + r.availableSize) {
        const h5 = this.explainer.readoptedH5(memdevIndexOf(r.memdev));
        out.add(`cons:${r.name}`, finding(h5 ? 'conservation-readopted-h5' : 'conservation', `${h5 ? `${h5}; ` : ''}${r.name}: ${r.extents.length} tracked extents hold ${tracked} bytes, but DAX devices hold ${claimed} and available_size is ${r.availableSize}`));
      }
      for (const x of ranges) {
        if (!r.extents.some((t) => contains(t.offset, t.length, x.offset, x.length))) {
          const h5 = this.explainer.readoptedH5(memdevIndexOf(r.memdev));
          out.add(`orphan:${r.name}:${x.offset}`, finding(h5 ? 'conservation-readopted-h5' : 'conservation', `${h5 ? `${h5}; ` : ''}${r.name}: ${x.dev} range ${rng(x.offset, x.length)} lies inside no tracked extent`));
        }
      }
    }
    const D = sys.host?.daxDevs;
    if (D) {
      for (const c of this.claims.values()) {
        if (!D.isLive(c.dev)) continue;
        const now = D.get(c.dev, 'size');
        if (now !== 0 && now !== c.size) {
          out.add(`shrunk:${c.dev}`, finding('release-in-use', `dax device ${c.dev} claimed tag ${tagStr(c.uuid)} with size ${c.size}; it is still live with size ${now}: ranges were removed while in use`));
        }
      }
    }
    const results = [...this.findings.list(), ...out.list()];
    const seen = new Set(results.map((r) => r.invariant));
    for (const inv of [INV.daxAtomic, INV.claim, INV.inUse, INV.conservation, INV.doubleMap]) if (!seen.has(inv)) results.push(held(inv));
    return results;
  }

  reset(): void {
    this.findings.clear();
    this.explainer.clear();
    this.members.clear();
    this.staging.clear();
    this.chainGroups.clear();
    this.partial.clear();
    this.claims.clear();
    this.tearingDown.clear();
    this.releasing.clear();
    this.idx = 0;
  }
}

/** "mem3" → 3 (the state names memdevs by index, as the runtime events number them) */
function memdevIndexOf(name: string): number {
  const m = /^mem(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}
