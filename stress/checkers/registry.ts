/**
 * DOC: registry checker — host-wide tag uniqueness (docs/kernel-map.md, §2.5 G1, §2.6
 * alloc_tag_group; hazards H1, H6).
 *
 * Model. `tag-registered` / `tag-unregistered` events (emitted inside cxl_tag_register /
 * cxl_tag_unregister, under cxl_tag_lock unless `tag-lock=off`) replay the registry: a multiset
 * of (uuid, group, memdev).
 *
 * Invariants verified:
 *  - 8.1-5 at any instant at most one registration per uuid, host-wide, continuously: a second
 *    registration while the first is live is `tag-registered-twice` (what `tag-lock=off` breaks;
 *    with the lock, H1 resolves to one winner and the loser's -EBUSY emits nothing);
 *  - 8.1-5 at quiescence the registered uuids equal the uuids of live tagged extents (the state's
 *    region extents): a live tagged extent whose uuid is not registered is `tag-not-registered`;
 *    a registered uuid with no live extent is `tag-leaked` (known: H6, a lost nr_extents
 *    decrement leaks the group and its registration — at quiescence every extent reference has
 *    dropped, so no legitimate open-file delay remains) when a `lost-update` event shows the
 *    registering group's nr_extents read-modify-write lost an update (src/cxl/tag-group.ts);
 *    `tag-leaked-after-h5` (known: H5's consequence) when the group was still being assembled
 *    when an H5 use-after-free unwound its memdev's handler; `tag-leaked-after-h14` (known: H14)
 *    when the group is one H14 left behind (a member realized onto a region after its teardown
 *    began, the region gone or re-probed — a re-probe's new cxl_dax_region instance leaves the
 *    group, and the extents that keep its tag, with the replaced one, in no region's sysfs; or an
 *    online_tag_group refused by a region use-after-free); and
 *    `tag-registration-leaked` (forbidden) with none of these;
 *  - the event-replayed registry equals the host's own registry table (`registry-mismatch`:
 *    a model instrumentation bug, or an unregister of a registration never seen).
 *
 * Not verified (and why):
 *  - which memdev wins an H1 race — timing-dependent by design, either is acceptable;
 *  - that G1 (the check) and the insert agree — they are separate critical sections in v11; the
 *    insert's -EBUSY is the backstop and emits no event, so only the outcome (uniqueness) is
 *    checkable;
 *  - registry contents while a release is in progress (an `extentX.Y` file held open keeps the
 *    tag registered legitimately), hence the live-extent comparison is made at quiescence only.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import { UAF_SITE } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { Findings, NULL_UUID, TeardownEpisodes, listOf, stateRegions, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

interface Registration {
  group: number;
  memdev: number;
  idx: number;
}

export class RegistryChecker implements Checker {
  readonly name = 'registry';
  private readonly findings = new Findings();
  private readonly registered = new Map<string, Registration[]>();
  /** groups whose nr_extents read-modify-write lost an update (`lost-update`: H6's evidence) */
  private readonly lostUpdate = new Map<number, string>();
  private readonly teardownAt = new TeardownEpisodes();
  /** groups H14 left behind: a member realized onto a region after its teardown began (region
   *  kept, judged gone or re-probed since at quiescence; `inst` its cxl_dax_region instance then),
   *  or onlining refused by a region use-after-free */
  private readonly h14Groups = new Map<number, { region: number | null; inst: number; why: string }>();
  /** group -> event index of its first tracked member */
  private readonly firstTracked = new Map<number, number>();
  /** memdev -> event indexes of H5 use-after-frees that unwound its event thread's handler */
  private readonly h5Unwinds = new Map<number, number[]>();
  private idx = 0;

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const ev = e.ev;
    const idx = this.idx++;
    if (ev.type === 'lost-update') {
      this.lostUpdate.set(ev.group, `group ${ev.group}'s nr_extents read-modify-write stored ${ev.wrote} over ${ev.found} (it had read ${ev.read}): an update was lost (event ${idx})`);
      return;
    }
    this.teardownAt.onEvent(ev, idx);
    if (ev.type === 'region-teardown' || ev.type === 'scan-done') return;
    if (ev.type === 'extent-tracked') {
      if (!this.firstTracked.has(ev.group)) this.firstTracked.set(ev.group, idx);
      const td = this.teardownAt.at(ev.region);
      if (td !== undefined && td < idx && !this.h14Groups.has(ev.group)) this.h14Groups.set(ev.group, { region: ev.region, inst: this.teardownAt.instance(ev.region), why: `group ${ev.group} had a member realized onto region handle ${ev.region} after its teardown began (event ${td})` });
      return;
    }
    if (ev.type === 'use-after-free' && ev.site === UAF_SITE.dcExtentsWalk) {
      listOf(this.h5Unwinds, ev.memdev).push(idx);
      return;
    }
    if (ev.type === 'use-after-free' && ev.site === UAF_SITE.regionOnline) {
      this.h14Groups.set(ev.extent, { region: null, inst: 0, why: `group ${ev.extent}'s online_tag_group met its cxl_region freed by a destroy (H14), so nothing was onlined and nothing releases the group` });
      return;
    }
    if (ev.type === 'tag-registered') {
      const regs = listOf(this.registered, ev.uuid);
      const other = regs[0];
      if (other) {
        this.findings.add(`twice:${ev.uuid}:${ev.group}`, finding('tag-registered-twice',
          `uuid ${ev.uuid} registered by group ${ev.group} on mem${ev.memdev} while group ${other.group} on mem${other.memdev} still holds it`));
      }
      regs.push({ group: ev.group, memdev: ev.memdev, idx });
    } else if (ev.type === 'tag-unregistered') {
      const regs = this.registered.get(ev.uuid) ?? [];
      const at = regs.findIndex((r) => r.group === ev.group);
      if (at < 0) {
        this.findings.add(`unreg:${ev.uuid}:${ev.group}:${idx}`, finding('registry-mismatch',
          `uuid ${ev.uuid} unregistered for group ${ev.group} on mem${ev.memdev}, which never registered it`));
        return;
      }
      regs.splice(at, 1);
      if (regs.length === 0) this.registered.delete(ev.uuid);
    }
  }

  atQuiescence(state: SystemState, sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    const out = new Findings();
    const live = new Map<string, string[]>();
    for (const r of stateRegions(state)) {
      for (const x of r.extents) if (x.uuid !== NULL_UUID) listOf(live, x.uuid.toLowerCase()).push(`${r.name}/${x.name ?? `@${x.offset}`}`);
    }
    for (const [uuid, regs] of this.registered) {
      if (!live.has(uuid)) {
        // a known hazard only with its evidence in the trace: H6's lost nr_extents update on the
        // registering group, a group an H5 unwind left in add_ctx, or H14's orphaned group; a
        // leak with none of them is forbidden
        const what = `uuid ${uuid} is registered (group ${regs.map((r) => r.group).join(',')} on mem${regs[0]?.memdev ?? '?'}) but no live extent carries it`;
        const lost = regs.map((r) => this.lostUpdate.get(r.group)).find((x) => x !== undefined);
        // …or the region was re-probed since: the group stays with the cxl_dax_region instance it
        // pins (cxl_dax_region_alloc made a new one), its extents live but in no region's sysfs
        const replaced = (x: { region: number | null; inst: number }): boolean => x.region !== null && x.inst < this.teardownAt.instance(x.region);
        const orphan = regs.map((r) => this.h14Groups.get(r.group)).find((x) => x !== undefined && (x.region === null || replaced(x) || (sys.host?.regions !== undefined && !sys.host.regions.isLive(x.region))));
        const unwound = regs.map((r) => this.leftByH5Unwind(r)).find((x) => x !== null);
        if (lost) out.add(`leak:${uuid}`, finding('tag-leaked', `${what}: ${lost}`));
        else if (unwound) out.add(`leak:${uuid}`, finding('tag-leaked-after-h5', `${what}: ${unwound}`));
        else if (orphan) out.add(`leak:${uuid}`, finding('tag-leaked-after-h14', `${what}: ${orphan.region === null ? orphan.why : `${orphan.why}, and ${replaced(orphan) ? 'a re-probe replaced that cxl_dax_region instance' : 'the region is gone'}`}`));
        else out.add(`leak:${uuid}`, finding('tag-registration-leaked', `${what}, and the trace shows no lost nr_extents update (H6), no group an H5 unwind left in add_ctx and no group H14 left behind`));
      }
    }
    for (const [uuid, names] of live) {
      if (!this.registered.has(uuid)) {
        out.add(`unregd:${uuid}`, finding('tag-not-registered', `live extents ${names.join(', ')} carry uuid ${uuid}, which is not registered`));
      }
    }
    const tags = sys.host?.tags;
    if (tags) {
      const table = new Map<string, number>();
      for (const t of tags.live()) {
        const u = tags.getUuid(t, 'uuid');
        table.set(u, (table.get(u) ?? 0) + 1);
      }
      const keys = new Set([...table.keys(), ...this.registered.keys()]);
      for (const u of keys) {
        const a = table.get(u) ?? 0;
        const b = this.registered.get(u)?.length ?? 0;
        if (a !== b) out.add(`table:${u}`, finding('registry-mismatch', `uuid ${u}: ${a} entries in the host registry table, ${b} by the event stream`));
      }
    }
    const results = [...this.findings.list(), ...out.list()];
    if (!results.some((r) => r.invariant === INV.tag)) results.push(held(INV.tag));
    return results;
  }

  /**
   * H5's consequence: the group was registered (alloc_tag_group, at its first cxl_add_extent) and
   * was still being assembled in add_ctx.group — no member onlined — when an H5 use-after-free
   * unwound its memdev's handler. The kernel would have read freed memory and gone on; the model
   * unwinds, the chain's records come back, and their group is refused by G1 (the tag is
   * committed — by the leftover), so nothing ever onlines or frees the leftover.
   */
  private leftByH5Unwind(r: Registration): string | null {
    const first = this.firstTracked.get(r.group);
    const u = (this.h5Unwinds.get(r.memdev) ?? []).find((x) => x > r.idx && (first === undefined || first > x));
    return u === undefined ? null : `group ${r.group} was registered (event ${r.idx}) and still in add_ctx, no member onlined, when an H5 use-after-free unwound mem${r.memdev}'s handler (event ${u}); the redelivered records' group cannot register the tag again (G1) and nothing onlines or frees the leftover`;
  }

  reset(): void {
    this.findings.clear();
    this.registered.clear();
    this.lostUpdate.clear();
    this.teardownAt.clear();
    this.h14Groups.clear();
    this.firstTracked.clear();
    this.h5Unwinds.clear();
    this.idx = 0;
  }
}
