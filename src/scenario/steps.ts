/**
 * DOC: validating `steps` — the op table, expectations and parallel blocks.
 *
 * `OPS` (spec.ts) is the one description of every table-driven op's fields (kind, required or
 * not, description); the validator walks it here and schema.ts writes the published schema from it.
 *
 * Steps are checked in the order the run will meet them, carrying a `Scope` of what earlier
 * steps defined: a `region` / `dax` reference must name an alias bound by an earlier step's
 * `as`, and `ops.<id>` in an expect path an earlier step's `id`. A parallel branch sees what was
 * bound before the block plus its own earlier steps (a sibling's alias would be a race, not a
 * definition); after the block, every branch's bindings are visible. A step's own `as` binds
 * after its references are checked, so a step cannot use what it defines.
 */

import {
  Ctx, boolField, durationField, errnoList, extentList, addExtent, releaseExtent, injectRecord, idx, intField,
  isObject, key, list, nameField, oneOf, sizeField, stringField, unknownFields, uuidField,
} from './fields.js';
import type { Obj } from './fields.js';
import { DRIVERS, KNOWN_OPS, STATE_ROOTS } from './types.js';
import { COMMON_SPEC, EXPECT_SPEC, MATCHERS, OPS } from './spec.js';
import type { TableOp } from './spec.js';
import { HOSTILE_KINDS } from '../device/hostile-kinds.js';
import type { Expectation, JsonValue, Matcher, OpName, Step } from './types.js';
import { typeOf } from './units.js';

// ---- the op table (spec.ts) ---------------------------------------------------------------

/** Fields every op accepts besides its own. */
export const COMMON_FIELDS = ['op', ...Object.keys(COMMON_SPEC)] as readonly string[];
const EXPECT_FIELDS = Object.keys(EXPECT_SPEC);

/** Per op: its own required and optional fields (COMMON_FIELDS come on top). */
export const OP_FIELDS: Record<Exclude<OpName, 'parallel'>, { required: string[]; optional: string[] }> = {
  ...(Object.fromEntries(
    Object.entries(OPS).map(([op, { fields }]) => [op, {
      required: Object.keys(fields).filter((f) => fields[f]?.required),
      optional: Object.keys(fields).filter((f) => !fields[f]?.required),
    }]),
  ) as Record<TableOp, { required: string[]; optional: string[] }>),
  'expect': { required: [], optional: [...EXPECT_FIELDS] },
};

// ---- scope ---------------------------------------------------------------------------------

/** Aliases and ids visible to a step (see DOC on parallel branches). */
export interface Scope { regions: Set<string>; daxes: Set<string>; ids: Set<string> }

export function cloneScope(s: Scope): Scope {
  return { regions: new Set(s.regions), daxes: new Set(s.daxes), ids: new Set(s.ids) };
}

export function emptyScope(): Scope {
  return { regions: new Set(), daxes: new Set(), ids: new Set() };
}

// ---- steps ---------------------------------------------------------------------------------

function checkRef(ctx: Ctx, v: unknown, path: string, field: 'region' | 'dax', scope: Scope): string | undefined {
  const s = stringField(ctx, v, path, field);
  if (s === undefined) return undefined;
  const known = field === 'region' ? scope.regions : scope.daxes;
  if (!known.has(s)) {
    const binder = field === 'region' ? 'create-region' : 'create-dax-device';
    ctx.err(path, `${field} "${s}" is not defined by the "as" of an earlier ${binder} step (defined so far: ${list([...known])})`);
    return undefined;
  }
  return s;
}

function checkMemdev(ctx: Ctx, v: unknown, path: string): string | undefined {
  const s = stringField(ctx, v, path, 'memdev');
  if (s === undefined) return undefined;
  if (ctx.memdevs !== null && !ctx.memdevs.includes(s)) {
    ctx.err(path, `unknown memdev "${s}"; the topology defines ${list(ctx.memdevs)}`);
    return undefined;
  }
  return s;
}

/** Common fields; returns false when one was bad. */
function common(ctx: Ctx, raw: Obj, path: string, out: Obj, op: string): boolean {
  let ok = true;
  if ('id' in raw) {
    const id = nameField(ctx, raw.id, key(path, 'id'), 'id');
    if (id === undefined) ok = false;
    else {
      const first = ctx.idPaths.get(id);
      if (first !== undefined) { ok = false; ctx.err(key(path, 'id'), `duplicate id "${id}" (first used at ${first}); ops.<id> must name one op`); }
      else { ctx.idPaths.set(id, key(path, 'id')); out.id = id; }
    }
  }
  for (const f of ['expectError', 'allowError'] as const) {
    if (!(f in raw)) continue;
    if (op === 'expect') { ok = false; ctx.err(key(path, f), `${f} does not apply to expect (an expectation holds or fails; it has no errno)`); continue; }
    const l = errnoList(ctx, raw[f], key(path, f), f, true);
    if (l === undefined) ok = false;
    else out[f] = l;
  }
  if ('expectError' in raw && 'allowError' in raw && op !== 'expect') {
    ok = false;
    ctx.err(key(path, 'allowError'), 'use either expectError (the op must fail) or allowError (failing is fine), not both');
  }
  if ('description' in raw) {
    const d = stringField(ctx, raw.description, key(path, 'description'), 'description');
    if (d === undefined) ok = false;
    else out.description = d;
  }
  return ok;
}

function tableStep(ctx: Ctx, op: TableOp, raw: Obj, path: string, scope: Scope): Step | undefined {
  const fields = OPS[op].fields;
  unknownFields(ctx, raw, path, [...COMMON_FIELDS, ...Object.keys(fields)], `op ${op}`);
  const out: Obj = { op };
  let ok = common(ctx, raw, path, out, op);
  const binds: Array<['region' | 'dax', string]> = [];
  for (const [name, spec] of Object.entries(fields)) {
    const p = key(path, name);
    if (!(name in raw)) {
      if (spec.required) { ok = false; ctx.err(p, `missing required field "${name}" (${op} needs ${OP_FIELDS[op].required.join(', ')})`); }
      continue;
    }
    const v = raw[name];
    let r: unknown;
    switch (spec.kind) {
      case 'memdev': r = checkMemdev(ctx, v, p); break;
      case 'region': r = checkRef(ctx, v, p, 'region', scope); break;
      case 'dax': r = checkRef(ctx, v, p, 'dax', scope); break;
      case 'alias-region':
      case 'alias-dax': {
        r = nameField(ctx, v, p, name);
        if (typeof r === 'string') binds.push([spec.kind === 'alias-region' ? 'region' : 'dax', r]);
        break;
      }
      case 'size': r = sizeField(ctx, v, p, name, false); break;
      case 'length': r = sizeField(ctx, v, p, name, true); break;
      case 'duration': r = durationField(ctx, v, p, name); break;
      case 'uuid': r = uuidField(ctx, v, p, name); break;
      case 'bool': r = boolField(ctx, v, p, name); break;
      case 'u8': r = intField(ctx, v, p, name, 0, 255); break;
      case 'driver': r = oneOf(ctx, v, p, 'driver', DRIVERS); break;
      case 'hostile-kind': r = oneOf(ctx, v, p, 'kind', HOSTILE_KINDS); break;
      case 'pattern':
        if ((typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) r = v;
        else ctx.err(p, `pattern must be a non-empty string or a non-negative integer, got ${JSON.stringify(v)}`);
        break;
      case 'add-extents': r = extentList(ctx, v, p, (e, ep) => addExtent(ctx, e, ep)); break;
      case 'release-extents': r = extentList(ctx, v, p, (e, ep) => releaseExtent(ctx, e, ep)); break;
      case 'record': {
        const ext = injectRecord(ctx, v, p);
        if (ext !== undefined) { r = v; out.extent = ext; }
        break;
      }
      case 'name': r = nameField(ctx, v, p, name); break;
      case 'string': r = stringField(ctx, v, p, name); break;
      case 'u16': r = intField(ctx, v, p, name, 0, 0xffff); break;
      case 'count': r = intField(ctx, v, p, name, 0, Number.MAX_SAFE_INTEGER); break;
      default:
        // the document-structure and expect kinds have their own validators (validate.ts,
        // expectation()); an op table naming one is a mistake in spec.ts
        throw new Error(`spec.ts: op ${op} field ${name} has kind ${spec.kind}, which an op step cannot take`);
    }
    // `uuid: null` is a real value (untagged claim), so test for undefined, not falsiness.
    if (r === undefined) ok = false;
    else out[name] = r;
  }
  // `as` binds after the step's own references are checked: a step cannot use what it defines.
  for (const [kind, alias] of binds) (kind === 'region' ? scope.regions : scope.daxes).add(alias);
  if (typeof out.id === 'string') scope.ids.add(out.id);
  if (!ok) return undefined;
  // defaults (types.ts DOC)
  if (op === 'release-capacity') out.forced ??= false;
  if (op === 'write' || op === 'verify') out.offset ??= 0;
  if (op === 'inject') out.shared ??= false;
  if (op === 'region-config-updated') out.regionIndex ??= 0;
  return out as unknown as Step;
}

function expectation(ctx: Ctx, raw: Obj, path: string, scope: Scope, top: boolean): Expectation | undefined {
  if (!top) {
    unknownFields(ctx, raw, path, ['op', 'description', ...EXPECT_FIELDS], 'an anyOf expectation');
    if ('op' in raw && raw.op !== 'expect') ctx.err(key(path, 'op'), `an anyOf alternative holds expectations only; op must be "expect" or absent, got ${JSON.stringify(raw.op)}`);
  }
  const description = typeof raw.description === 'string' ? raw.description : undefined;
  if (!top && 'description' in raw && description === undefined) ctx.err(key(path, 'description'), 'description must be a string');
  const present = MATCHERS.filter((m) => m in raw);
  if ('anyOf' in raw) {
    for (const f of ['path', 'where', ...MATCHERS]) {
      if (f in raw) ctx.err(key(path, f), `an expect with anyOf takes no "${f}"; put it inside the alternatives`);
    }
    const v = raw.anyOf;
    const p = key(path, 'anyOf');
    if (!Array.isArray(v) || v.length === 0) { ctx.err(p, 'anyOf must be a non-empty array of alternatives, each a non-empty array of expectations'); return undefined; }
    const alts: Expectation[][] = [];
    let ok = true;
    v.forEach((alt, i) => {
      const ap = idx(p, i);
      if (!Array.isArray(alt) || alt.length === 0) { ok = false; ctx.err(ap, `alternative ${i} must be a non-empty array of expectations, got ${typeOf(alt)}`); return; }
      const one: Expectation[] = [];
      alt.forEach((e, j) => {
        const ep = idx(ap, j);
        if (!isObject(e)) { ok = false; ctx.err(ep, `an expectation must be an object, got ${typeOf(e)}`); return; }
        const x = expectation(ctx, e, ep, scope, false);
        if (x === undefined) ok = false;
        else one.push(x);
      });
      alts.push(one);
    });
    return ok ? { kind: 'anyOf', anyOf: alts, ...(description !== undefined ? { description } : {}) } : undefined;
  }
  let ok = true;
  let path_: string | undefined;
  if (!('path' in raw)) { ok = false; ctx.err(key(path, 'path'), `missing required field "path" (a state path starting with one of ${STATE_ROOTS.join(', ')}), or use anyOf`); }
  else path_ = statePath(ctx, raw.path, key(path, 'path'), scope);
  if (present.length !== 1) {
    ctx.err(path, `expect takes exactly one matcher of ${MATCHERS.join(', ')}; got ${present.length === 0 ? 'none' : present.join(' and ')}`);
    return undefined;
  }
  const m = present[0] as (typeof MATCHERS)[number];
  let matcher: Matcher | undefined;
  const mp = key(path, m);
  const mv = raw[m];
  if (m === 'count') { const c = intField(ctx, mv, mp, 'count', 0, Number.MAX_SAFE_INTEGER); if (c !== undefined) matcher = { kind: 'count', count: c }; }
  else if (m === 'exists') { const b = boolField(ctx, mv, mp, 'exists'); if (b !== undefined) matcher = { kind: 'exists', exists: b }; }
  else if (m === 'equals') matcher = { kind: 'equals', equals: mv as JsonValue };
  else matcher = { kind: 'contains', contains: mv as JsonValue };
  let where: { [k: string]: JsonValue } | undefined;
  if ('where' in raw) {
    if (m !== 'count' && m !== 'contains') { ok = false; ctx.err(key(path, 'where'), `where filters array elements for count or contains; it does not apply to ${m}`); }
    else if (!isObject(raw.where) || Object.keys(raw.where).length === 0) { ok = false; ctx.err(key(path, 'where'), 'where must be a non-empty object of field → value'); }
    else where = raw.where as { [k: string]: JsonValue };
  }
  if (!ok || matcher === undefined || path_ === undefined) return undefined;
  return {
    kind: 'path', path: path_, matcher,
    ...(where !== undefined ? { where } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

function statePath(ctx: Ctx, v: unknown, p: string, scope: Scope): string | undefined {
  const s = stringField(ctx, v, p, 'path');
  if (s === undefined) return undefined;
  const segs = s.split('.');
  if (segs.some((x) => x === '')) { ctx.err(p, `path "${s}" has an empty segment; write segments separated by single dots, e.g. "regions.region0.extents.0.offset"`); return undefined; }
  const root = segs[0] ?? '';
  if (!(STATE_ROOTS as readonly string[]).includes(root)) {
    ctx.err(p, `path "${s}" starts with "${root}"; a state path starts with one of ${STATE_ROOTS.join(', ')}`);
    return undefined;
  }
  const id = segs[1];
  if (root === 'ops' && id !== undefined && !scope.ids.has(id)) {
    ctx.err(p, `path "${s}": no earlier step has id "${id}" (ids so far: ${list([...scope.ids])})`);
    return undefined;
  }
  return s;
}

export function step(ctx: Ctx, raw: unknown, path: string, scope: Scope, inBranch: boolean): Step | undefined {
  if (!isObject(raw)) { ctx.err(path, `a step must be an object, got ${typeOf(raw)}`); return undefined; }
  if ('parallel' in raw || raw.op === 'parallel') {
    if (inBranch) { ctx.err(path, 'parallel blocks do not nest: a branch is one user worker running its steps in order'); return undefined; }
    return parallel(ctx, raw, path, scope);
  }
  if (!('op' in raw)) { ctx.err(key(path, 'op'), `missing required field "op"; known ops: ${KNOWN_OPS.join(', ')}`); return undefined; }
  const op = raw.op;
  if (typeof op !== 'string' || !(KNOWN_OPS as readonly string[]).includes(op)) {
    ctx.err(key(path, 'op'), `unknown op ${JSON.stringify(op)}; known ops: ${KNOWN_OPS.join(', ')}`);
    return undefined;
  }
  if (op === 'expect') {
    unknownFields(ctx, raw, path, [...COMMON_FIELDS, ...EXPECT_FIELDS], 'op expect');
    const out: Obj = { op };
    const okCommon = common(ctx, raw, path, out, op);
    const e = expectation(ctx, raw, path, scope, true);
    if (typeof out.id === 'string') scope.ids.add(out.id);
    if (!okCommon || e === undefined) return undefined;
    return { ...out, ...e } as unknown as Step;
  }
  return tableStep(ctx, op as TableOp, raw, path, scope);
}

function parallel(ctx: Ctx, raw: Obj, path: string, scope: Scope): Step | undefined {
  unknownFields(ctx, raw, path, ['op', 'parallel', 'description'], 'a parallel block');
  if ('op' in raw && raw.op !== 'parallel') {
    ctx.err(key(path, 'op'), `a step with "parallel" is a parallel block; its op must be "parallel" or absent, got ${JSON.stringify(raw.op)}`);
    return undefined;
  }
  const p = key(path, 'parallel');
  if (!('parallel' in raw)) { ctx.err(p, 'missing required field "parallel" ([[steps…], [steps…]])'); return undefined; }
  const v = raw.parallel;
  if (!Array.isArray(v) || v.length === 0) { ctx.err(p, `parallel must be a non-empty array of branches, each an array of steps, got ${typeOf(v)}`); return undefined; }
  const after = cloneScope(scope);
  const branches: Step[][] = [];
  let ok = true;
  v.forEach((b, i) => {
    const bp = idx(p, i);
    if (!Array.isArray(b) || b.length === 0) { ok = false; ctx.err(bp, `branch ${i} must be a non-empty array of steps, got ${typeOf(b)}`); return; }
    const own = cloneScope(scope);
    const steps: Step[] = [];
    b.forEach((s, j) => {
      const st = step(ctx, s, idx(bp, j), own, true);
      if (st === undefined) ok = false;
      else steps.push(st);
    });
    for (const r of own.regions) after.regions.add(r);
    for (const d of own.daxes) after.daxes.add(d);
    for (const id of own.ids) after.ids.add(id);
    branches.push(steps);
  });
  for (const r of after.regions) scope.regions.add(r);
  for (const d of after.daxes) scope.daxes.add(d);
  for (const id of after.ids) scope.ids.add(id);
  let description: string | undefined;
  if ('description' in raw) description = stringField(ctx, raw.description, key(path, 'description'), 'description');
  if (!ok) return undefined;
  return { op: 'parallel', branches, ...(description !== undefined ? { description } : {}) };
}
