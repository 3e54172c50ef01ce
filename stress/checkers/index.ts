/**
 * DOC: the standard checker set and the outcome classifier the stress runner uses.
 *
 * `standardCheckers()` returns fresh instances of every checker (one file per property, each fed
 * by the runtime event stream and judged again at quiescence). `classify(results)` turns one
 * iteration's results into ONE outcome name from `OUTCOMES` and its jcstress class: forbidden
 * wins over known-hazard over acceptable; within a class the outcome listed first in `OUTCOMES`
 * wins (forbidden outcomes are ordered most specific first); an iteration with nothing to report
 * is `ok`.
 *
 * Invariants verified: none here. Not verified: n/a (see each checker's header).
 *
 * Production code never imports this directory; callers attach checkers with
 * `sys.addChecker(...)` before driving the system and read `await sys.check()` at quiescence.
 */
import type { Checker } from '../../src/runtime/system.js';
import type { CheckerResult } from '../../src/state.js';
import { ChainsChecker } from './chains.js';
import { RegistryChecker } from './registry.js';
import { ExtentsChecker } from './extents.js';
import { DaxChecker } from './dax.js';
import { DataChecker } from './data.js';
import { LocksChecker, deadlockBegan } from './locks.js';
import { GroupsChecker } from './groups.js';
import { OUTCOMES, OUTCOME_NAMES, INV, outcomesSeen, type CheckResult, type OutcomeClass, type OutcomeName } from './outcomes.js';
import type { HungReport } from '../../src/errors.js';

export { ChainsChecker, RegistryChecker, ExtentsChecker, DaxChecker, DataChecker, LocksChecker, GroupsChecker };
export { deadlockBegan };
export { OUTCOMES, OUTCOME_NAMES, INV, finding, held, type CheckResult, type OutcomeClass, type OutcomeName, type OutcomeSpec } from './outcomes.js';
export type { SysLike } from './common.js';

/** Fresh instances of every standard checker, in a stable order. */
export function standardCheckers(): Checker[] {
  return [new ChainsChecker(), new RegistryChecker(), new ExtentsChecker(), new DaxChecker(), new DataChecker(), new LocksChecker(), new GroupsChecker()];
}

export interface Classification {
  outcome: OutcomeName;
  class: OutcomeClass;
  /** the invariant of the result that decided the outcome ("all" for ok) */
  invariant: string;
  detail?: string;
  /** every distinct outcome the results named, most severe first */
  outcomes: OutcomeName[];
}

const CLASS_RANK: Record<OutcomeClass, number> = { forbidden: 0, 'known-hazard': 1, acceptable: 2 };
const ORDER = new Map<OutcomeName, number>(OUTCOME_NAMES.map((n, i) => [n, i]));

/** The outcome a result names, or one derived from its class when a checker named none. */
export function outcomeOf(r: CheckerResult): OutcomeName {
  const named = (r as Partial<CheckResult>).outcome;
  if (named !== undefined && Object.prototype.hasOwnProperty.call(OUTCOMES, named)) return named;
  if (r.ok) return 'ok';
  return r.class === 'forbidden' ? 'unnamed-forbidden' : r.class === 'known-hazard' ? 'unnamed-known-hazard' : 'ok';
}

/** One iteration's results → one outcome name and class (forbidden > known-hazard > acceptable). */
export function classify(results: readonly CheckerResult[]): Classification {
  let best: { r: CheckerResult; name: OutcomeName } | null = null;
  const rank = (name: OutcomeName): number => CLASS_RANK[OUTCOMES[name].class] * 10_000 + (ORDER.get(name) ?? 9_999);
  const names = new Set<OutcomeName>();
  for (const r of results) {
    const name = outcomeOf(r);
    names.add(name);
    if (name === 'ok') continue;
    if (!best || rank(name) < rank(best.name)) best = { r, name };
  }
  const outcomes = [...names].sort((a, b) => rank(a) - rank(b));
  if (!best) return { outcome: 'ok', class: 'acceptable', invariant: 'all', outcomes: outcomes.length ? outcomes : ['ok'] };
  const c: Classification = { outcome: best.name, class: OUTCOMES[best.name].class, invariant: best.r.invariant, outcomes };
  if (best.r.detail !== undefined) c.detail = best.r.detail;
  return c;
}

/**
 * An iteration with a deadlock: the model unwinds the deadlocked threads to go on, so what the
 * checkers see afterwards is the unwinding's artifact and is only listed (`afterDeadlock`). A
 * finding whose evidence was complete before the deadlock began (`atMs`, stamped from its event
 * or report, earlier than `deadlockBegan`) cannot be that artifact: it stays in `results` and is
 * classified as in any other iteration. The hung waits themselves always stay.
 */
export function splitAtDeadlock(results: readonly CheckerResult[], hung: readonly HungReport[]): { results: CheckerResult[]; afterDeadlock: OutcomeName[] } {
  const began = deadlockBegan(hung);
  const before = (r: CheckerResult): boolean => {
    const at = (r as Partial<CheckResult>).atMs;
    return at !== undefined && at < began;
  };
  const after = results.filter((r) => r.invariant !== INV.hung && !before(r));
  return {
    results: results.filter((r) => r.invariant === INV.hung || before(r)),
    afterDeadlock: outcomesSeen(after).map((o) => o.outcome).filter((n) => n !== 'ok'),
  };
}
