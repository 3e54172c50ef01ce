/**
 * DOC: expect — resolving state paths and judging matchers (README.md "Matching").
 *
 * Paths are dotted segments over `SystemState`; a numeric segment indexes an array. Under a
 * keyed collection (`regions`, `daxDevices`, `memdevs`, …) a segment that is not a key is also
 * looked up as an element's `alias`, then `name`, so `daxDevices.daxA` works whether the runtime
 * keys devices by kernel name ("dax0.1") or by scenario alias. Kernel names contain a dot, so
 * when a segment is not a key, it is joined with the following ones: `daxDevices.dax0.1.size`
 * reads key "dax0.1" (the idle seed device has no alias; this is how to reach it).
 *
 * Relaxations, applied at every depth of `equals`, `contains` and `where`:
 * - a size string equals the same number of bytes ("128M" == 134217728, either side);
 * - two uuid strings compare case-insensitively;
 * - an expected object matches an actual object that has at least its fields with matching
 *   values. Extra actual fields are ignored because the state is a contract that may *grow*
 *   fields (state.ts: "add freely"), and a user's `equals` must not break when it does. Arrays
 *   still match in length and order.
 * There is deliberately no null-uuid relaxation: `null`, "0" and the null uuid stay distinct, so
 * a scenario can tell v11's null-uuid `uuid` read from v10's "0".
 *
 * `count` of a path whose *last* segment is absent is 0 ("an absent array counts 0"); a path
 * that fails earlier (`regions.nope.extents`) fails the expectation, naming the segment.
 * `count`, `contains` and `where` treat a keyed collection (an object) as the list of its values,
 * so `daxDevices` can be counted with `where: {region: "region0"}`.
 */

import type { SystemState } from '../state.js';
import type { Expectation, JsonValue, Matcher, PathExpectation } from './types.js';
import { isUuidString, parseSize, typeOf } from './units.js';

export type PathResolution =
  | { ok: true; value: unknown }
  | {
      ok: false;
      /** the first segment that did not resolve */
      segment: string;
      /** its 0-based position in the path */
      index: number;
      /** the part of the path that did resolve ("" when the root segment failed) */
      resolved: string;
      reason: string;
    };

export interface ExpectResult {
  ok: boolean;
  /** the expectation's path, or "anyOf" */
  path: string;
  expected: unknown;
  actual: unknown;
  /** one line: path, expected, actual (and, for anyOf, why each alternative failed) */
  message: string;
  /** anyOf only: every alternative's results */
  alternatives?: ExpectResult[][];
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function splitPath(path: string): string[] {
  return path.split('.');
}

function keysHint(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isObject(v)) {
    const ks = Object.keys(v);
    return ks.length === 0 ? 'no keys' : `keys: ${ks.slice(0, 12).join(', ')}${ks.length > 12 ? ', …' : ''}`;
  }
  return `a ${typeOf(v)}`;
}

export function resolvePath(state: SystemState | unknown, path: string): PathResolution {
  const segs = splitPath(path);
  let cur: unknown = state;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const resolved = segs.slice(0, i).join('.');
    const miss = (reason: string): PathResolution => ({ ok: false, segment: seg, index: i, resolved, reason });
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return miss(`"${seg}" is not an index into ${resolved} (${keysHint(cur)})`);
      const n = Number(seg);
      if (n >= cur.length) return miss(`index ${n} is out of range: ${resolved} has ${cur.length} element(s)`);
      cur = cur[n];
    } else if (isObject(cur)) {
      const obj: Obj = cur;
      const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(obj, k) && obj[k] !== undefined;
      if (has(seg)) {
        cur = obj[seg];
        continue;
      }
      const byAlias = Object.values(obj).find((v) => isObject(v) && (v.alias === seg || v.name === seg));
      if (byAlias !== undefined) {
        cur = byAlias;
        continue;
      }
      // Kernel names contain dots ("dax0.1"): try the key spelled by this and following segments.
      let joined = seg;
      let j = i;
      while (j + 1 < segs.length && !has(joined)) joined += '.' + (segs[++j] ?? '');
      if (!has(joined)) return miss(`no "${seg}" under ${resolved === '' ? 'the state' : resolved} (${keysHint(cur)})`);
      cur = obj[joined];
      i = j;
    } else {
      return miss(`${resolved === '' ? 'the state' : resolved} is ${JSON.stringify(cur)}, which has no "${seg}"`);
    }
  }
  return { ok: true, value: cur };
}

// ---- value matching ------------------------------------------------------------------------

function sizeOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const r = parseSize(v);
    return r.ok ? r.value : undefined;
  }
  return undefined;
}

/** `expected` matches `actual` under the DOC's relaxations. */
export function valuesMatch(expected: unknown, actual: unknown): boolean {
  if (expected === actual) return true;
  if (typeof expected === 'string' && typeof actual === 'string') {
    if (isUuidString(expected) && isUuidString(actual)) return expected.toLowerCase() === actual.toLowerCase();
    const a = sizeOf(expected);
    const b = sizeOf(actual);
    return a !== undefined && a === b;
  }
  if ((typeof expected === 'string' && typeof actual === 'number') || (typeof expected === 'number' && typeof actual === 'string')) {
    const a = sizeOf(expected);
    return a !== undefined && a === sizeOf(actual);
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => valuesMatch(e, actual[i]));
  }
  if (isObject(expected)) {
    return isObject(actual) && Object.entries(expected).every(([k, e]) => Object.prototype.hasOwnProperty.call(actual, k) && valuesMatch(e, actual[k]));
  }
  return false;
}

/** Elements of a collection: an array, or a keyed object's values. */
function elements(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  return undefined;
}

function filterWhere(items: unknown[], where: { [k: string]: JsonValue } | undefined): unknown[] {
  if (where === undefined) return items;
  return items.filter((it) => isObject(it) && Object.entries(where).every(([k, w]) => Object.prototype.hasOwnProperty.call(it, k) && valuesMatch(w, it[k])));
}

// ---- rendering -----------------------------------------------------------------------------

function show(v: unknown, max = 240): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

function showExpected(m: Matcher, where: PathExpectation['where']): string {
  const w = where !== undefined ? ` where ${show(where)}` : '';
  switch (m.kind) {
    case 'count': return `count ${m.count}${w}`;
    case 'equals': {
      const bytes = typeof m.equals === 'string' ? sizeOf(m.equals) : undefined;
      return `equals ${show(m.equals)}${bytes !== undefined && String(bytes) !== m.equals ? ` (${bytes} bytes)` : ''}`;
    }
    case 'contains': return `contains ${show(m.contains)}${w}`;
    case 'exists': return `exists ${m.exists}`;
  }
}

function expectedValue(m: Matcher): unknown {
  switch (m.kind) {
    case 'count': return m.count;
    case 'equals': return m.equals;
    case 'contains': return m.contains;
    case 'exists': return m.exists;
  }
}

// ---- evaluation ----------------------------------------------------------------------------

function evaluatePath(state: unknown, e: PathExpectation): ExpectResult {
  const r = resolvePath(state, e.path);
  const expected = expectedValue(e.matcher);
  const exp = showExpected(e.matcher, e.where);
  const result = (ok: boolean, actual: unknown, detail: string): ExpectResult => ({
    ok, path: e.path, expected, actual,
    message: `${ok ? 'ok' : 'FAILED'} ${e.path}: expected ${exp}; ${detail}`,
  });
  if (e.matcher.kind === 'exists') {
    const exists = r.ok;
    return result(exists === e.matcher.exists, exists, exists ? `actual: exists (${show(r.ok ? r.value : undefined, 80)})` : `actual: does not exist (${r.ok ? '' : r.reason})`);
  }
  let value: unknown;
  if (r.ok) value = r.value;
  else if (e.matcher.kind === 'count' && r.index === splitPath(e.path).length - 1) value = undefined; // absent array
  else return result(false, undefined, `actual: path does not resolve at "${r.segment}": ${r.reason}`);

  switch (e.matcher.kind) {
    case 'count': {
      const items = value === undefined || value === null ? [] : elements(value);
      if (items === undefined) return result(false, value, `actual: ${show(value)} is a ${typeOf(value)}, not an array`);
      const n = filterWhere(items, e.where).length;
      return result(n === e.matcher.count, n, `actual: count ${n}${value === undefined ? ' (absent)' : e.where !== undefined ? ` of ${items.length}` : ''}`);
    }
    case 'equals':
      return result(valuesMatch(e.matcher.equals, value), value, `actual: ${show(value)}`);
    case 'contains': {
      const items = elements(value);
      if (items === undefined) return result(false, value, `actual: ${show(value)} is a ${typeOf(value)}, not an array`);
      const pool = filterWhere(items, e.where);
      const want = e.matcher.contains;
      const hit = pool.some((it) => valuesMatch(want, it));
      return result(hit, value, `actual: ${pool.length} element(s)${e.where !== undefined ? ' after where' : ''}, ${hit ? 'one matches' : 'none match'}: ${show(pool)}`);
    }
  }
}

export function evaluateExpect(state: SystemState | unknown, e: Expectation): ExpectResult {
  if (e.kind === 'path') return evaluatePath(state, e);
  const alternatives = e.anyOf.map((alt) => alt.map((x) => evaluateExpect(state, x)));
  const held = alternatives.findIndex((alt) => alt.every((x) => x.ok));
  const expected = e.anyOf.map((alt) => alt.map((x) => (x.kind === 'path' ? `${x.path} ${showExpected(x.matcher, x.where)}` : 'anyOf(…)')));
  const actual = alternatives.map((alt) => alt.map((x) => x.actual));
  if (held >= 0) {
    return { ok: true, path: 'anyOf', expected, actual, alternatives, message: `ok anyOf: alternative ${held + 1} of ${alternatives.length} held` };
  }
  const why = alternatives
    .map((alt, i) => `[${i + 1}] ${alt.filter((x) => !x.ok).map((x) => x.message.replace(/^FAILED /, '')).join(' and ')}`)
    .join('; ');
  return { ok: false, path: 'anyOf', expected, actual, alternatives, message: `FAILED anyOf: none of ${alternatives.length} alternatives held: ${why}` };
}
