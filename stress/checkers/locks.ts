/**
 * DOC: locks checker — the lock graph has no cycle, no thread waits beyond the bound unreported,
 * and lockdep assertions hold (host-kernel.md §4.3, §8.1-19; product.md §6; hazards H2, H12).
 *
 * Model. The runtime's lockdep (src/shm/lockdep.ts) and hung-wait detector (src/shm/lock.ts)
 * write reports to the system report log; this checker reads them at quiescence. A lock-order
 * report names the new edge held → acquiring and, for every recorded edge on the reverse path
 * acquiring ⇝ held, the chain that recorded it (whose last class is that edge's target), so the
 * cycle is [acquiring, last(chain_0), …, last(chain_n) = held] closed by held → acquiring.
 *
 * Invariants verified:
 *  - 8.1-19 no lock-order cycle. A cycle that uses the recovery nesting device_lock(cxlr_dax) →
 *    add_ctx.lock (probe/scan, §4.3) is the v11 AB-BA against the runtime add's add_ctx.lock →
 *    device_lock(cxlr_dax): `lock-order-h2` (known). Longer cycles through that edge (e.g.
 *    cxl_rwsem.region → device_lock(cxlr_dax) on release, with device_lock → add_ctx.lock →
 *    cxl_rwsem.region) exist only because of it and count as H2 too. Any other cycle:
 *    `lock-order-cycle`. NOTE: with lockdep on, a v11 run that probes a region and then closes
 *    one chain always records the AB-BA — the inversion needs no actual race to be reported;
 *  - product §6 hung waits are reported, not hangs: each `hung-wait` report is `hung-wait-h2`
 *    (known) when add_ctx.lock and device_lock(cxlr_dax) both appear among what the waiter and
 *    its holders hold or wait for and one of them is being waited for — the deadlock itself or a
 *    thread queued behind it — else `hung-wait`;
 *  - `assert-held` reports (a lockdep_assert_held that failed, a WARN in the kernel) are
 *    `assert-held-h12` (known: the recovery scan notifying another region's extent).
 *
 * Not verified (and why):
 *  - reports are per system, not per iteration: lockdep reports each cycle once per run, so a
 *    stress loop reusing one system sees a cycle in the first iteration only;
 *  - same-class nesting and read-lock recursion rules (the runtime's lockdep does not model them);
 *  - onEvent has nothing to consume: lock holds are traced (`lock-hold`) only for Perfetto, and
 *    the reports are the verdicts.
 */
import type { DecodedEvent } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import type { LockOrderReport } from '../../src/shm/lockdep.js';
import type { HungReport, ThreadLockInfo } from '../../src/errors.js';
import { Findings, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

const ADD_CTX = 'add_ctx.lock';
const DEVICE_LOCK = 'device_lock(cxlr_dax)';
const REGION_RWSEM = 'cxl_rwsem.region';

interface AssertHeldReport {
  kind: 'assert-held';
  lock: string;
  where: string;
  thread: string;
}

/** The classes of a reported cycle, in order: acquiring → … → held (→ acquiring). */
export function cycleOf(r: LockOrderReport): string[] {
  const path = [r.acquiring];
  for (const ch of r.existingChains) {
    const last = ch.chain[ch.chain.length - 1];
    if (last !== undefined && last !== path[path.length - 1]) path.push(last);
  }
  if (path[path.length - 1] !== r.held) path.push(r.held);
  return path;
}

/** Does the cycle contain the edge a → b? */
function hasEdge(cycle: string[], a: string, b: string): boolean {
  for (let i = 0; i < cycle.length; i++) {
    if (cycle[i] === a && cycle[(i + 1) % cycle.length] === b) return true;
  }
  return false;
}

function threadStr(t: ThreadLockInfo): string {
  const hold = t.held.map((h) => `${h.cls}(${h.mode})`).join(', ') || 'nothing';
  return `${t.name} holds ${hold}${t.waitingFor ? `, waits for ${t.waitingFor.cls}(${t.waitingFor.mode})` : ''}`;
}

export function isH2Hung(r: HungReport): boolean {
  const threads = [r.waiter, ...r.holders];
  const involved = new Set<string>();
  const waited = new Set<string>();
  for (const t of threads) {
    for (const h of t.held) involved.add(h.cls);
    if (t.waitingFor) {
      involved.add(t.waitingFor.cls);
      waited.add(t.waitingFor.cls);
    }
  }
  return involved.has(ADD_CTX) && involved.has(DEVICE_LOCK) && (waited.has(ADD_CTX) || waited.has(DEVICE_LOCK));
}

export class LocksChecker implements Checker {
  readonly name = 'locks';

  onEvent(_e: DecodedEvent): void {
    // verdicts come from the system's report log at quiescence (see DOC)
  }

  atQuiescence(_state: SystemState, sys: SysLike): CheckerResult[] {
    const out = new Findings();
    const orders = sys.lockOrderReports?.() ?? [];
    orders.forEach((r, i) => {
      const cycle = cycleOf(r);
      const text = `${cycle.join(' -> ')} -> ${cycle[0]} (new: ${r.newChain.thread} ${r.newChain.chain.join(' -> ')}; recorded: ${r.existingChains.map((c) => `${c.thread} ${c.chain.join(' -> ')}`).join('; ')})`;
      // H2 and its three-way variant: the recovery scan nests device_lock → add_ctx.lock →
      // cxl_rwsem.region(R) while runtime add and release take add_ctx.lock / cxl_rwsem.region
      // before device_lock (host-kernel.md §4.3) — every such cycle is v11's, not a model bug
      const v11Nesting = cycle.includes(DEVICE_LOCK) && cycle.every((c) => c === DEVICE_LOCK || c === ADD_CTX || c === REGION_RWSEM);
      if (hasEdge(cycle, DEVICE_LOCK, ADD_CTX) || v11Nesting) out.add(`order:${i}`, finding('lock-order-h2', `cycle ${text}`));
      else out.add(`order:${i}`, finding('lock-order-cycle', `cycle ${text}`));
    });
    const hung = sys.hungReports?.() ?? [];
    hung.forEach((r, i) => {
      const text = `waited ${Math.round(r.waitedMs)} ms (bound ${r.boundMs}): ${threadStr(r.waiter)}; ${r.holders.map((h) => `holder ${threadStr(h)}`).join('; ') || 'no holder found'}`;
      out.add(`hung:${i}`, finding(isH2Hung(r) ? 'hung-wait-h2' : 'hung-wait', text));
    });
    const asserts = (sys.sys?.reports.read<{ kind: string }>() ?? []).filter((r): r is AssertHeldReport => r.kind === 'assert-held');
    asserts.forEach((r, i) => {
      out.add(`assert:${i}`, finding('assert-held-h12', `lockdep_assert_held(${r.lock}) failed in ${r.where} on ${r.thread}`));
    });
    const results = out.list();
    if (!results.some((r) => r.invariant === INV.lockOrder)) results.push(held(INV.lockOrder));
    if (!results.some((r) => r.invariant === INV.hung)) results.push(held(INV.hung));
    return results;
  }

  reset(): void {
    // stateless between iterations: the report log belongs to the system
  }
}
