/**
 * DOC: scenario validation — text in, a normalised `Scenario` or every error with its JSON path.
 *
 * The format is defined once, in spec.ts: this validator takes its field lists, required fields
 * and op dispatch from there, and `npm run schema` (schema.ts) generates
 * `schema/scenario.schema.json` from the same tables — the schema is an output, never edited by
 * hand. The checks are code rather than a generic JSON Schema validator so that each message can
 * say what was wrong *and* what was expected in this project's terms (known ops, known memdevs,
 * aliases defined so far).
 *
 * All errors are collected, not just the first, and sorted by where their path appears in the
 * document, so a user fixes a file top to bottom. A field that is missing is reported at the path
 * it should have had (`$.steps[0].memdev`).
 *
 * Parts: fields.ts (one value at a time), steps.ts (ops, expectations, aliases in step order),
 * this file (top level, topology, knobs, error order). References are by alias only — a typo
 * like "region1" must not slip through by looking like a kernel name. Memdev references must
 * name a topology memdev; when the topology itself is unusable they are not checked, so one
 * mistake does not cascade into an error per step.
 *
 * Deliberately not checked: partition alignment (256 MiB base, power-of-two block size) and
 * extent bounds/alignment. Those are the host's validation gates (C2, E-gates), and a scenario
 * must be able to feed the host a device that violates them.
 */

import {
  Ctx, boolField, extentCore, idx, intField, isObject, key, list, nameField, oneOf, sizeField, stringField,
  unknownFields,
} from './fields.js';
import type { ScenarioError } from './fields.js';
import { locateJsonError } from './json-locate.js';
import { KNOB_NAMES, KNOWN_KNOBS, parseKnob, resolveKnobs } from './knobs.js';
import { DC_SPEC, MEMDEV_SPEC, PRE_ACCEPTED_SPEC, TOP_SPEC, TOPOLOGY_SPEC } from './spec.js';
import { emptyScope, step } from './steps.js';
import {
  CLOCKS, DEFAULT_CLOCK, DEFAULT_DC, DEFAULT_DEVICE, DEFAULT_SEED, DEFAULT_VARIANT, DEVICES, VARIANTS,
} from './types.js';
import type { Knobs, MemdevSpec, PreAcceptedExtent, Scenario, Step, Topology } from './types.js';
import { HEX_BODY, typeOf } from './units.js';

export type { ScenarioError };
export { KNOWN_KNOBS, KNOB_NAMES, parseKnob };
export { DEFAULT_KNOBS, VARIANT_KNOBS, resolveKnobs, isKnobName } from './knobs.js';
export { COMMON_FIELDS, OP_FIELDS } from './steps.js';

export type ParseScenarioResult = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioError[] };

// field lists from the one definition (spec.ts), which the published schema is generated from
const TOP_FIELDS = Object.keys(TOP_SPEC);
const MEMDEV_FIELDS = Object.keys(MEMDEV_SPEC);
const PRE_FIELDS = Object.keys(PRE_ACCEPTED_SPEC);
const DC_FIELDS = Object.keys(DC_SPEC) as Array<'base' | 'size' | 'blockSize'>;

// ---- error order ---------------------------------------------------------------------------

/** Pre-order position of every path present in the document, for sorting errors. */
function documentOrder(value: unknown): Map<string, number> {
  const order = new Map<string, number>();
  const walk = (v: unknown, path: string): void => {
    order.set(path, order.size);
    if (Array.isArray(v)) v.forEach((e, i) => walk(e, idx(path, i)));
    else if (isObject(v)) for (const [k, e] of Object.entries(v)) walk(e, key(path, k));
  };
  walk(value, '$');
  return order;
}

function positionOf(path: string, order: Map<string, number>): number {
  // A missing field's path is not in the document: use its nearest present ancestor.
  for (let p = path; ; ) {
    const at = order.get(p);
    if (at !== undefined) return at;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return 0;
    p = p.slice(0, cut);
  }
}

// ---- topology ------------------------------------------------------------------------------

function memdevNames(topology: unknown): string[] | null {
  if (!isObject(topology) || !Array.isArray(topology.memdevs)) return null;
  return [...new Set(topology.memdevs.map((m, i) => (isObject(m) && typeof m.name === 'string' ? m.name : `mem${i}`)))];
}

function topologyValue(ctx: Ctx, raw: unknown, path: string): Topology | undefined {
  if (!isObject(raw)) { ctx.err(path, `topology must be an object {memdevs: [...]}, got ${typeOf(raw)}`); return undefined; }
  unknownFields(ctx, raw, path, Object.keys(TOPOLOGY_SPEC), 'topology');
  const mp = key(path, 'memdevs');
  if (!('memdevs' in raw)) { ctx.err(mp, 'missing required field "memdevs" (at least one memdev)'); return undefined; }
  if (!Array.isArray(raw.memdevs) || raw.memdevs.length === 0) { ctx.err(mp, `memdevs must be a non-empty array, got ${Array.isArray(raw.memdevs) ? 'an empty array' : typeOf(raw.memdevs)}`); return undefined; }
  const seen = new Map<string, string>();
  const memdevs: MemdevSpec[] = [];
  let ok = true;
  raw.memdevs.forEach((m, i) => {
    const md = memdev(ctx, m, idx(mp, i), i);
    if (md === undefined) { ok = false; return; }
    const at = isObject(m) && 'name' in m ? key(idx(mp, i), 'name') : idx(mp, i);
    const first = seen.get(md.name);
    if (first !== undefined) { ok = false; ctx.err(at, `duplicate memdev name "${md.name}" (first at ${first})`); return; }
    seen.set(md.name, at);
    memdevs.push(md);
  });
  let description: string | undefined;
  if ('description' in raw) description = stringField(ctx, raw.description, key(path, 'description'), 'description');
  let deviceLatencyUs: number | undefined;
  if ('deviceLatencyUs' in raw) {
    const v = raw.deviceLatencyUs;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 10_000_000) deviceLatencyUs = v;
    else { ok = false; ctx.err(key(path, 'deviceLatencyUs'), `deviceLatencyUs must be a number of microseconds in [0, 10000000], got ${JSON.stringify(v)}`); }
  }
  if (!ok) return undefined;
  return { memdevs, ...(deviceLatencyUs !== undefined ? { deviceLatencyUs } : {}), ...(description !== undefined ? { description } : {}) };
}

/** a serial as a string: decimal or hex (schema.ts publishes the same pattern) */
export const SERIAL_PATTERN = String.raw`^(?:${HEX_BODY}|\d+)$`;
const SERIAL_RE = new RegExp(SERIAL_PATTERN);

function serialField(ctx: Ctx, v: unknown, path: string): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && SERIAL_RE.test(v) && BigInt(v) <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(BigInt(v));
  ctx.err(path, `serial must be a non-negative integer (number, or decimal/hex string like "0xDCDC"), got ${JSON.stringify(v)}`);
  return undefined;
}

function memdev(ctx: Ctx, raw: unknown, path: string, index: number): MemdevSpec | undefined {
  if (!isObject(raw)) { ctx.err(path, `a memdev must be an object, got ${typeOf(raw)}`); return undefined; }
  unknownFields(ctx, raw, path, MEMDEV_FIELDS, 'a memdev');
  let ok = true;
  const name = 'name' in raw ? nameField(ctx, raw.name, key(path, 'name'), 'name') : `mem${index}`;
  const serial = 'serial' in raw ? serialField(ctx, raw.serial, key(path, 'serial')) : index;
  const sharable = 'sharable' in raw ? boolField(ctx, raw.sharable, key(path, 'sharable'), 'sharable') : false;
  const dc = { base: DEFAULT_DC.base, size: DEFAULT_DC.size, blockSize: DEFAULT_DC.blockSize };
  if ('dc' in raw) {
    const dp = key(path, 'dc');
    if (!isObject(raw.dc)) { ok = false; ctx.err(dp, `dc must be an object {base, size, blockSize}, got ${typeOf(raw.dc)}`); }
    else {
      unknownFields(ctx, raw.dc, dp, DC_FIELDS, 'dc');
      for (const f of DC_FIELDS) {
        if (!(f in raw.dc)) continue;
        const s = sizeField(ctx, raw.dc[f], key(dp, f), f, DC_SPEC[f]?.kind === 'length');
        if (s === undefined) ok = false;
        else dc[f] = s;
      }
    }
  }
  const preAccepted: PreAcceptedExtent[] = [];
  if ('preAccepted' in raw) {
    const pp = key(path, 'preAccepted');
    if (!Array.isArray(raw.preAccepted)) { ok = false; ctx.err(pp, `preAccepted must be an array of {offset, length, tag, seq}, got ${typeOf(raw.preAccepted)}`); }
    else raw.preAccepted.forEach((e, i) => {
      const ep = idx(pp, i);
      if (!isObject(e)) { ok = false; ctx.err(ep, `a preAccepted extent must be an object, got ${typeOf(e)}`); return; }
      unknownFields(ctx, e, ep, PRE_FIELDS, 'a preAccepted extent');
      const c = extentCore(ctx, e, ep);
      const seq = 'seq' in e ? intField(ctx, e.seq, key(ep, 'seq'), 'seq', 0, 0xffff) : 0;
      if (!c.ok || seq === undefined || c.offset === undefined || c.length === undefined || c.tag === undefined) { ok = false; return; }
      preAccepted.push({ offset: c.offset, length: c.length, tag: c.tag, seq });
    });
  }
  let description: string | undefined;
  if ('description' in raw) { description = stringField(ctx, raw.description, key(path, 'description'), 'description'); ok &&= description !== undefined; }
  if (!ok || name === undefined || serial === undefined || sharable === undefined) return undefined;
  return { name, serial, sharable, dc, preAccepted, ...(description !== undefined ? { description } : {}) };
}

// ---- entry points --------------------------------------------------------------------------

/** Validate already-parsed JSON (e.g. a scenario built in code). */
export function validateScenario(doc: unknown, source?: string): ParseScenarioResult {
  const ctx = new Ctx();
  if (!isObject(doc)) {
    return { ok: false, errors: [{ path: '$', message: `a scenario must be a JSON object with topology and steps, got ${typeOf(doc)}` }] };
  }
  ctx.memdevs = memdevNames(doc.topology);
  const out: Partial<Scenario> = {
    variant: DEFAULT_VARIANT, device: DEFAULT_DEVICE, clock: DEFAULT_CLOCK, seed: DEFAULT_SEED, knobs: {},
    ...(source !== undefined ? { source } : {}),
  };
  let topologyOk = true;
  let stepsOk = true;
  const unknown = Object.keys(doc).filter((k) => !TOP_FIELDS.includes(k));
  for (const k of Object.keys(doc)) {
    const p = key('$', k);
    const v = doc[k];
    switch (k) {
      case '$schema': stringField(ctx, v, p, '$schema'); break;
      case 'topology': { const t = topologyValue(ctx, v, p); if (t === undefined) topologyOk = false; else out.topology = t; break; }
      case 'variant': { const x = oneOf(ctx, v, p, 'variant', VARIANTS); if (x !== undefined) out.variant = x; break; }
      case 'device': { const x = oneOf(ctx, v, p, 'device', DEVICES); if (x !== undefined) out.device = x; break; }
      case 'clock': { const x = oneOf(ctx, v, p, 'clock', CLOCKS); if (x !== undefined) out.clock = x; break; }
      case 'seed': { const x = intField(ctx, v, p, 'seed', 0, Number.MAX_SAFE_INTEGER); if (x !== undefined) out.seed = x; break; }
      case 'description': { const x = stringField(ctx, v, p, 'description'); if (x !== undefined) out.description = x; break; }
      case 'knobs': { const x = knobsValue(ctx, v, p); if (x !== undefined) out.knobs = x; break; }
      case 'steps': {
        if (!Array.isArray(v)) { stepsOk = false; ctx.err(p, `steps must be an array of steps, got ${typeOf(v)}`); break; }
        const scope = emptyScope();
        const steps: Step[] = [];
        v.forEach((s, i) => {
          const st = step(ctx, s, idx(p, i), scope, false);
          if (st === undefined) stepsOk = false;
          else steps.push(st);
        });
        out.steps = steps;
        break;
      }
      default:
        ctx.err(p, `unknown top-level field "${k}"${unknown.length > 1 ? ` (unknown: ${unknown.join(', ')})` : ''}; expected ${list(TOP_FIELDS)}`);
    }
  }
  // advance-clock moves virtual time only (Clock.advance); with the real clock it could only fail
  // at run time, after earlier steps ran — refuse it here, naming the step
  if (ctx.errors.length === 0 && stepsOk && out.clock !== 'virtual' && out.steps) {
    for (const at of advanceClockSteps(out.steps, '$.steps')) {
      ctx.err(at, `advance-clock needs "clock": "virtual" (this scenario's clock is "${out.clock ?? DEFAULT_CLOCK}": real time cannot be advanced)`);
    }
  }
  // hold-extent / put-extent model a lock-free user hold of an extent device across time, which
  // v11 has no mechanism for (knobs.ts 'extent-refs'): the file must opt in to it by name
  if (ctx.errors.length === 0 && stepsOk && out.steps && resolveKnobs(out.variant ?? DEFAULT_VARIANT, out.knobs ?? {})['extent-refs'] !== 'user') {
    for (const at of extentRefSteps(out.steps, '$.steps')) {
      ctx.err(at, 'hold-extent / put-extent need "knobs": {"extent-refs": "user"}: a user-space hold of an extentX.Y device across time is NOT a v11 mechanism (an open sysfs attribute does not pin its device since kernfs; docs/fidelity-holders.md)');
    }
  }
  if (!('topology' in doc)) { topologyOk = false; ctx.err('$.topology', 'missing required field "topology" ({memdevs: [{name, dc, …}]})'); }
  if (!('steps' in doc)) { stepsOk = false; ctx.err('$.steps', 'missing required field "steps" (an array of steps)'); }
  if (ctx.errors.length > 0 || !topologyOk || !stepsOk) {
    const order = documentOrder(doc);
    const errors = ctx.errors
      .map((e, n) => ({ e, n, at: positionOf(e.path, order) }))
      .sort((a, b) => a.at - b.at || a.n - b.n)
      .map((x) => x.e);
    return { ok: false, errors };
  }
  return { ok: true, scenario: out as Scenario };
}

/** JSON paths of the hold-extent / put-extent steps, parallel branches included. */
export function extentRefSteps(steps: Step[], path: string): string[] {
  const out: string[] = [];
  steps.forEach((st, i) => {
    const p = idx(path, i);
    if (st.op === 'hold-extent' || st.op === 'put-extent') out.push(p);
    else if (st.op === 'parallel') st.branches.forEach((b, j) => out.push(...extentRefSteps(b, idx(key(p, 'parallel'), j))));
  });
  return out;
}

/** JSON paths of the advance-clock steps, parallel branches included. */
export function advanceClockSteps(steps: Step[], path: string): string[] {
  const out: string[] = [];
  steps.forEach((st, i) => {
    const p = idx(path, i);
    if (st.op === 'advance-clock') out.push(p);
    else if (st.op === 'parallel') st.branches.forEach((b, j) => out.push(...advanceClockSteps(b, idx(key(p, 'parallel'), j))));
  });
  return out;
}

function knobsValue(ctx: Ctx, v: unknown, p: string): Knobs | undefined {
  if (!isObject(v)) { ctx.err(p, `knobs must be an object of knob name → value, got ${typeOf(v)}`); return undefined; }
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const [name, raw] of Object.entries(v)) {
    const kp = key(p, name);
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      ok = false; ctx.err(kp, `knob ${name}: value must be a string, number or boolean, got ${typeOf(raw)}`); continue;
    }
    const r = parseKnob(name, raw);
    if (!r.ok) { ok = false; ctx.err(kp, r.message); continue; }
    out[r.name] = r.value;
  }
  return ok ? (out as Knobs) : undefined;
}

/** Parse and validate scenario text. Bad JSON is one error at `$` with line and column. */
export function parseScenario(text: string, source?: string): ParseScenarioResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const loc = locateJsonError(text);
    const where = source !== undefined ? `${source}:` : '';
    const message = loc !== null
      ? `invalid JSON at ${where}line ${loc.line}, column ${loc.column}: ${loc.message}`
      : `invalid JSON${source !== undefined ? ` in ${source}` : ''}: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, errors: [{ path: '$', message }] };
  }
  return validateScenario(doc, source);
}
