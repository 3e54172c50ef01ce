/**
 * DOC: chains checker — response cardinality per DEVICE chain (docs/kernel-map.md, §2.4, §8.1-1,
 * 8.1-2, 8.1-18; hazards H4, S1/S2 and §8.2 "one response per device chain", "no lost extent").
 *
 * Model. A device chain is what the device means by one offer: its Add records (`dc-record`,
 * eventType 0) per memdev in handle order (1-based, unwrapped past 0xffff), ending at a record
 * with More=0. A chain is named by the handle of its closing record (∞ while still open). A
 * logical response is one `response` event with the `response-extent` events of the same
 * (memdev, chain number) before it, and the `chain-closed` event that opened it. The chains a
 * response answers are: the chains of the records its extents match (same memdev, dpa and
 * length; preferring the closing record's chain, else the latest such record), plus the chain of
 * the record that closed it — for a More=0 close the last Add record the SAME thread emitted
 * (handle_add_event runs in that thread), for a watchdog expiry the last Add record of the memdev
 * in ring order (the open chain).
 *
 * Invariants verified:
 *  - 8.1-2 every logical response answers exactly one device chain (`chain-mixed` otherwise:
 *    what parallel-event-handlers=2 breaks); checked continuously whenever a closing record
 *    already seen separates two answered records (sound: later records cannot join them), and
 *    again at quiescence with every record known;
 *  - 8.1-2 every device chain is answered exactly once: twice → `double-response-after-timeout`
 *    (H4) when the first answer was a watchdog expiry, `double-response-after-drop` when the chain
 *    was dropped (S1/S2 reset), `chain-redelivered` when the device delivered one of its records
 *    twice (a failed Clear or a zero-handle lie: the host cannot tell it from a new chain), else
 *    `chain-answered-twice`; never → `chain-dropped` (known: 8.2 no lost extent) when a
 *    chain-dropped hit it, `chain-open` (acceptable) when no More=0 record arrived yet (stalled
 *    chain, watchdog pending), `chain-ignored` (acceptable) when the host ignored the closing
 *    record (it emitted neither chain-closed nor chain-dropped; a record whose header uuid is not
 *    the DC event uuid no longer gets here: cxl_handle_dcd_event_records ignores it and the model
 *    traces it as a generic event, not a `dc-record`), else `chain-unanswered`;
 *  - 8.1-2 chains are first answered in handle order (`chain-answered-out-of-order`);
 *  - a response built from a record the device delivered twice — redelivered after a failed
 *    Clear, or a stale record v11 read from its event buffer past a lying `record_count`
 *    (cxl_mem_get_records_log trusts the count) — is the redelivery's doing: the host cannot tell
 *    such a record from a new one and stages it into whatever chain is open. Its mix, the
 *    out-of-order first answer and the double answers it causes are `chain-redelivered` (known);
 *  - 8.1-2 every response extent was offered by some Add record (`response-unmatched`);
 *  - 8.1-1 staged ≤ 100 (`chain-closed.staged`, `chain-dropped.staged`), continuously;
 *  - 8.1-18 a watchdog expiry never answers a chain whose More=0 record was already handled by a
 *    normal close (`watchdog-after-close`); answering a chain the cap dropped is the v11 S1 quirk
 *    (`watchdog-after-drop`, known).
 *
 * Not verified (and why):
 *  - "recovery never produces an Add DC Response" — responses carry no context; the recovery
 *    path (existing=true) returns before sendChainResponse, so there is nothing to observe;
 *  - "one open chain per memdev" — the host keeps one add_ctx per memdev by construction; the
 *    events do not say which records are staged;
 *  - records the device dropped on log overflow never reach the host and are invisible here: a
 *    chain missing its More=0 record merges with the next one (device-side fault);
 *  - with parallel-event-handlers > 1 the closing-record attribution of a watchdog expiry is a
 *    best guess (ring order ≠ staging order); the verdict there is forbidden anyway;
 *  - a record ignored for a bad header uuid with More=1 cannot be told from a staged one (the
 *    `dc-record` event has no "dispatched" field); only ignored closing records are recognised.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { Findings, HandleUnwrapper, DC_EVENT_ADD, listOf, rng, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

export const MAX_STAGED = 100;
const OPEN = Number.POSITIVE_INFINITY;

interface Rec {
  memdev: number;
  /** unwrapped handle; 0 = the device lied (zero handle) */
  h: number;
  more: number;
  dpa: number;
  len: number;
  uuid: string;
  thread: number;
  idx: number;
  /** a chain-closed was attributed to this (closing) record */
  closed: boolean;
  /** a chain-dropped was attributed to this record */
  dropped: boolean;
  /** the host ignored this closing record (no close/drop followed in its thread) */
  ignored: boolean;
  /** the same handle arrived twice */
  redelivered: boolean;
}

interface Resp {
  id: number;
  memdev: number;
  chain: number;
  idx: number;
  byTimeout: boolean;
  staged: number;
  rc: number;
  extents: { dpa: number; len: number }[];
  closeRec: Rec | null;
}

interface MemdevChains {
  recs: Map<number, Rec>;
  /** handles of closing (More=0) records, sorted */
  closing: number[];
  byRange: Map<string, Rec[]>;
  /** "dpa:len" of records delivered with handle 0 (a lie) */
  lies: Set<string>;
  lastAdd: Rec | null;
  /** chain-closed events waiting for their response, by chain number */
  opening: Map<number, { byTimeout: boolean; staged: number; closeRec: Rec | null }>;
  extents: Map<number, { dpa: number; len: number }[]>;
  responses: Resp[];
}

export class ChainsChecker implements Checker {
  readonly name = 'chains';
  private readonly findings = new Findings();
  private readonly unwrap = new HandleUnwrapper();
  private readonly memdevs = new Map<number, MemdevChains>();
  /** per thread: the last Add record it emitted, per memdev ("memdev:thread") */
  private readonly lastByThread = new Map<string, Rec>();
  /** per thread: a closing record still waiting for its chain-closed / chain-dropped */
  private readonly awaiting = new Map<number, Rec>();
  private idx = 0;
  private nResponses = 0;

  private md(memdev: number): MemdevChains {
    let m = this.memdevs.get(memdev);
    if (!m) {
      m = { recs: new Map(), closing: [], byRange: new Map(), lies: new Set(), lastAdd: null, opening: new Map(), extents: new Map(), responses: [] };
      this.memdevs.set(memdev, m);
    }
    return m;
  }

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const ev = e.ev;
    const idx = this.idx++;
    switch (ev.type) {
      case 'dc-record': {
        const waiting = this.awaiting.get(e.thread);
        if (waiting) {
          waiting.ignored = true; // its thread moved on without closing or dropping a chain
          this.awaiting.delete(e.thread);
        }
        if (ev.eventType !== DC_EVENT_ADD) return;
        const m = this.md(ev.memdev);
        const h = ev.handle === 0 ? 0 : this.unwrap.unwrap(ev.memdev, ev.handle);
        const rec: Rec = { memdev: ev.memdev, h, more: ev.more, dpa: ev.dpa, len: ev.len, uuid: ev.uuid, thread: e.thread, idx, closed: false, dropped: false, ignored: false, redelivered: false };
        if (h === 0) {
          m.lies.add(`${ev.dpa}:${ev.len}`);
        } else {
          const prev = m.recs.get(h);
          if (prev) {
            prev.redelivered = true;
            rec.redelivered = true;
          } else if (ev.more === 0) {
            insertSorted(m.closing, h);
          }
          m.recs.set(h, rec);
          listOf(m.byRange, `${ev.dpa}:${ev.len}`).push(rec);
        }
        m.lastAdd = rec;
        this.lastByThread.set(`${ev.memdev}:${e.thread}`, rec);
        if (ev.more === 0) this.awaiting.set(e.thread, rec);
        return;
      }
      case 'chain-dropped': {
        this.checkStaged(ev.memdev, ev.staged, `chain-dropped (reason ${ev.reason})`, idx);
        const rec = this.lastByThread.get(`${ev.memdev}:${e.thread}`) ?? null;
        if (rec) rec.dropped = true;
        if (this.awaiting.get(e.thread) === rec) this.awaiting.delete(e.thread);
        return;
      }
      case 'chain-closed': {
        this.checkStaged(ev.memdev, ev.staged, `chain-closed ${ev.chain}`, idx);
        const m = this.md(ev.memdev);
        let closeRec: Rec | null;
        // the host names the last record it staged (0: none); prefer it over arrival-order guesses,
        // which mistake a record read but not yet staged for the closing one
        const staged = ev.handle > 0 ? m.recs.get(ev.handle) ?? null : null;
        if (ev.byTimeout) {
          closeRec = ev.handle > 0 ? staged : ev.handle === 0 ? null : m.lastAdd;
        } else {
          closeRec = staged ?? this.lastByThread.get(`${ev.memdev}:${e.thread}`) ?? null;
          if (closeRec) closeRec.closed = true;
          if (closeRec && this.awaiting.get(e.thread) === closeRec) this.awaiting.delete(e.thread);
        }
        m.opening.set(ev.chain, { byTimeout: ev.byTimeout === 1, staged: ev.staged, closeRec });
        if (ev.byTimeout && closeRec && closeRec.more === 0 && closeRec.closed && !closeRec.dropped) {
          this.findings.add(`wd:${ev.memdev}:${ev.chain}`, finding('watchdog-after-close',
            `mem${ev.memdev}: watchdog response ${ev.chain} (staged ${ev.staged}) for the chain closed by handle ${closeRec.h} ${rng(closeRec.dpa, closeRec.len)}, which a More=0 close had already answered`));
        }
        return;
      }
      case 'response-extent':
        listOf(this.md(ev.memdev).extents, ev.chain).push({ dpa: ev.dpa, len: ev.len });
        return;
      case 'response': {
        const m = this.md(ev.memdev);
        const open = m.opening.get(ev.chain);
        m.opening.delete(ev.chain);
        const extents = m.extents.get(ev.chain) ?? [];
        m.extents.delete(ev.chain);
        const r: Resp = {
          id: this.nResponses++, memdev: ev.memdev, chain: ev.chain, idx, byTimeout: open?.byTimeout ?? false,
          staged: open?.staged ?? -1, rc: ev.rc, extents, closeRec: open?.closeRec ?? null,
        };
        m.responses.push(r);
        this.provisionalMix(m, r);
        return;
      }
      default:
        return;
    }
  }

  private checkStaged(memdev: number, staged: number, what: string, idx: number): void {
    if (staged > MAX_STAGED) {
      this.findings.add(`cap:${memdev}:${idx}`, finding('staged-over-cap', `mem${memdev}: ${what} reports ${staged} staged records (> ${MAX_STAGED})`));
    }
  }

  /** The record an extent of `r` answers (null: no Add record offered it). */
  private match(m: MemdevChains, r: Resp, dpa: number, len: number, keyOf: (rec: Rec) => number): Rec | null {
    const cands = (m.byRange.get(`${dpa}:${len}`) ?? []).filter((c) => c.idx < r.idx);
    if (cands.length === 0) return null;
    const close = r.byTimeout ? null : this.resolve(m, r.closeRec);
    if (close) {
      const k = keyOf(close);
      const same = cands.filter((c) => keyOf(c) === k);
      const pick = same[same.length - 1];
      if (pick) return pick;
    }
    return cands[cands.length - 1] ?? null;
  }

  /** A closing record delivered with a lying handle 0 stands for its real delivery, if any. */
  private resolve(m: MemdevChains, rec: Rec | null): Rec | null {
    if (!rec || rec.h !== 0) return rec;
    const real = (m.byRange.get(`${rec.dpa}:${rec.len}`) ?? []).filter((c) => c.more === rec.more);
    return real[real.length - 1] ?? null;
  }

  /** Continuous: a seen closing handle between two answered records proves a mixed response. */
  private provisionalMix(m: MemdevChains, r: Resp): void {
    const hs: number[] = [];
    for (const x of r.extents) {
      const rec = this.match(m, r, x.dpa, x.len, (c) => chainKey(m, c.h));
      if (rec) hs.push(rec.h);
    }
    const close = r.byTimeout ? null : this.resolve(m, r.closeRec);
    if (close) hs.push(close.h);
    if (hs.length < 2) return;
    const lo = Math.min(...hs);
    const hi = Math.max(...hs);
    const boundary = m.closing.find((c) => c >= lo && c < hi);
    if (boundary !== undefined) this.reportMixed(m, r, hs, `closing record ${boundary} lies between them`, this.findings);
  }

  /**
   * A response built from a record the device delivered twice: a redelivery after a failed Clear,
   * or a stale record v11 read from its event buffer past a lying `record_count`
   * (cxl_mem_get_records_log trusts the count). The host cannot tell such a record from a new
   * one, so it stages it into whatever chain is open: the mix is the redelivery's (known), not
   * the handler's.
   */
  private tainted(m: MemdevChains, handles: number[]): boolean {
    return handles.some((h) => m.recs.get(h)?.redelivered === true);
  }

  private reportMixed(m: MemdevChains, r: Resp, handles: number[], why: string, to: Findings): void {
    const keys = [...new Set(handles.map((h) => chainKey(m, h)))].map(keyStr);
    const redelivered = this.tainted(m, handles);
    to.add(`mixed:${r.memdev}:${r.id}`, finding(redelivered ? 'chain-redelivered' : 'chain-mixed',
      `mem${r.memdev}: response ${r.chain}${r.byTimeout ? ' (watchdog)' : ''} with ${r.extents.length} extents ${r.extents.map((x) => rng(x.dpa, x.len)).join(' ')} answers records ${[...new Set(handles)].sort((a, b) => a - b).join(',')} of device chains ${keys.join(' and ')} (${why}${redelivered ? '; one of them was delivered twice' : ''})`));
  }

  atQuiescence(_state: SystemState, _sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    for (const rec of this.awaiting.values()) rec.ignored = true;
    this.awaiting.clear();
    const out = new Findings();
    for (const [memdev, m] of this.memdevs) this.judgeMemdev(memdev, m, out);
    const results = [...this.findings.list(), ...out.list()];
    const seen = new Set(results.map((r) => r.invariant));
    for (const inv of [INV.cardinality, INV.cap, INV.watchdog]) if (!seen.has(inv)) results.push(held(inv));
    return results;
  }

  private judgeMemdev(memdev: number, m: MemdevChains, out: Findings): void {
    const key = (rec: Rec): number => chainKey(m, rec.h);
    interface Chain { key: number; recs: Rec[]; answers: Resp[] }
    const chains = new Map<number, Chain>();
    for (const rec of [...m.recs.values()].sort((a, b) => a.h - b.h)) {
      const k = key(rec);
      let c = chains.get(k);
      if (!c) {
        c = { key: k, recs: [], answers: [] };
        chains.set(k, c);
      }
      c.recs.push(rec);
    }
    const name = (c: Chain): string => {
      const first = c.recs[0]?.h ?? 0;
      return c.key === OPEN ? `mem${memdev} open chain [handles ${first}..]` : `mem${memdev} chain [handles ${first}..${c.key}]`;
    };
    const respStr = (r: Resp): string =>
      `response ${r.chain} (${r.byTimeout ? 'watchdog' : 'More=0 close'}, ${r.extents.length} extents${r.extents.length ? ' ' + r.extents.map((x) => rng(x.dpa, x.len)).join(' ') : ''}${r.rc ? `, rc ${r.rc}` : ''})`;

    let maxAnswered = -1;
    /** responses built from a record delivered twice (see tainted) */
    const taintedResp = new Set<number>();
    for (const r of m.responses) {
      const handles: number[] = [];
      for (const x of r.extents) {
        const rec = this.match(m, r, x.dpa, x.len, key);
        if (rec) handles.push(rec.h);
        else if (!m.lies.has(`${x.dpa}:${x.len}`)) {
          out.add(`unmatched:${memdev}:${r.id}:${x.dpa}`, finding('response-unmatched', `mem${memdev}: ${respStr(r)} lists ${rng(x.dpa, x.len)}, which no Add record offered`));
        }
      }
      const close = this.resolve(m, r.closeRec);
      const keys = new Set(handles.map((h) => chainKey(m, h)));
      if (close) keys.add(key(close));
      const all = close ? [...handles, close.h] : handles;
      if (this.tainted(m, all)) taintedResp.add(r.id);
      if (keys.size > 1) {
        // a provisional finding for this response (same key) was reported while running
        if (!this.findings.has(`mixed:${memdev}:${r.id}`)) this.reportMixed(m, r, all, 'at quiescence', out);
      }
      for (const k of keys) {
        const c = chains.get(k);
        if (!c) continue;
        if (c.answers.length === 0) {
          if (k !== OPEN && k < maxAnswered) {
            const later = chains.get(maxAnswered);
            // answered out of order because a redelivered (or stale) record was staged elsewhere
            const redo = taintedResp.has(r.id) || c.recs.some((x) => x.redelivered) || (later?.answers.some((a) => taintedResp.has(a.id)) ?? false);
            out.add(`order:${memdev}:${k}`, finding(redo ? 'chain-redelivered' : 'chain-answered-out-of-order',
              `${name(c)} first answered by ${respStr(r)} after ${later ? name(later) : `chain ${keyStr(maxAnswered)}`} was already answered${redo ? ' (a record involved was delivered twice)' : ''}`));
          }
          if (k !== OPEN) maxAnswered = Math.max(maxAnswered, k);
        }
        c.answers.push(r);
      }
      if (r.byTimeout && close && close.more === 0) {
        if (close.dropped) {
          out.add(`wdd:${memdev}:${r.chain}`, finding('watchdog-after-drop', `mem${memdev}: ${respStr(r)} answers the chain whose closing record ${close.h} ${rng(close.dpa, close.len)} was dropped by the cap`));
        } else if (close.closed) {
          this.findings.add(`wd:${memdev}:${r.chain}`, finding('watchdog-after-close',
            `mem${memdev}: watchdog response ${r.chain} (staged ${r.staged}) for the chain closed by handle ${close.h} ${rng(close.dpa, close.len)}, which a More=0 close had already answered`));
        }
      }
    }

    for (const c of chains.values()) {
      const dropped = c.recs.some((x) => x.dropped);
      const redelivered = c.recs.some((x) => x.redelivered || m.lies.has(`${x.dpa}:${x.len}`));
      const closing = c.recs[c.recs.length - 1];
      const k = `chain:${memdev}:${keyStr(c.key)}`;
      if (c.answers.length === 0) {
        if (c.key === OPEN) {
          out.add(k, finding('chain-open', `${name(c)}: ${c.recs.length} records, no More=0 record yet (stalled chain, watchdog pending)`));
        } else if (dropped) {
          out.add(k, finding('chain-dropped', `${name(c)}: ${c.recs.length} records dropped without a response (chain-dropped)`));
        } else if (closing && closing.ignored && !closing.closed) {
          // Exemption without positive proof (reviewed for issue 19, kept): "ignored" is inferred
          // from the handler thread moving on (next dc-record, or quiescence) with no close or
          // drop — the dc-record event does not say whether cxl_handle_dcd_event_records
          // dispatched the record (a bad header uuid returns 0 silently, as in v11). Hostile
          // devices send such records, so without that field this cannot be forbidden; a host that
          // silently failed to close a chain would hide here. Needs a `dispatched` event field.
          out.add(k, finding('chain-ignored', `${name(c)}: the host ignored closing record ${closing.h} ${rng(closing.dpa, closing.len)}`));
        } else {
          out.add(k, finding('chain-unanswered', `${name(c)}: closed by handle ${c.key} but never answered`));
        }
      } else if (c.answers.length > 1) {
        const list = c.answers.map(respStr).join(', then ');
        const first = c.answers[0]!;
        if (first.byTimeout) out.add(k, finding('double-response-after-timeout', `${name(c)} answered ${c.answers.length} times: ${list}`));
        else if (dropped) out.add(k, finding('double-response-after-drop', `${name(c)} was dropped and answered ${c.answers.length} times: ${list}`));
        else if (redelivered || c.answers.some((a) => taintedResp.has(a.id))) out.add(k, finding('chain-redelivered', `${name(c)} had a record delivered twice (its own, or one staged into its chain); answered ${c.answers.length} times: ${list}`));
        else out.add(k, finding('chain-answered-twice', `${name(c)} answered ${c.answers.length} times: ${list}`));
      }
    }
  }

  reset(): void {
    this.findings.clear();
    this.unwrap.clear();
    this.memdevs.clear();
    this.lastByThread.clear();
    this.awaiting.clear();
    this.idx = 0;
    this.nResponses = 0;
  }
}

/** The chain a handle belongs to: the first closing handle at or after it (∞: still open). */
function chainKey(m: MemdevChains, h: number): number {
  let lo = 0;
  let hi = m.closing.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m.closing[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return m.closing[lo] ?? OPEN;
}

function keyStr(k: number): string {
  return k === OPEN ? 'open' : `#${k}`;
}

function insertSorted(a: number[], v: number): void {
  let i = a.length;
  while (i > 0 && a[i - 1]! > v) i--;
  a.splice(i, 0, v);
}

