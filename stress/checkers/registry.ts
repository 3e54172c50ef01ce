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
 *    dropped, so no legitimate open-file delay remains);
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
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { Findings, NULL_UUID, listOf, stateRegions, type SysLike } from './common.js';
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
  private idx = 0;

  onEvent(e: DecodedEvent): void {
    const ev = e.ev;
    const idx = this.idx++;
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
    const out = new Findings();
    const live = new Map<string, string[]>();
    for (const r of stateRegions(state)) {
      for (const x of r.extents) if (x.uuid !== NULL_UUID) listOf(live, x.uuid.toLowerCase()).push(`${r.name}/${x.name ?? `@${x.offset}`}`);
    }
    for (const [uuid, regs] of this.registered) {
      if (!live.has(uuid)) {
        out.add(`leak:${uuid}`, finding('tag-leaked', `uuid ${uuid} is registered (group ${regs.map((r) => r.group).join(',')} on mem${regs[0]?.memdev ?? '?'}) but no live extent carries it`));
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

  reset(): void {
    this.findings.clear();
    this.registered.clear();
    this.idx = 0;
  }
}
