/**
 * DOC: field-level validation shared by the scenario validator's parts.
 *
 * Each helper checks one JSON value, records an error at its JSON path in the `Ctx` when it is
 * wrong (saying what was expected), and returns the normalised value or `undefined`. Returning
 * `undefined` instead of stopping lets the validator carry on and report every error in a file
 * in one pass. Extents live here because both steps and the topology's `preAccepted` use them.
 */

import type { AddExtent, ErrnoName, ReleaseExtent, U64 } from './types.js';
import { KNOWN_ERRNOS } from './types.js';
import { ADD_EXTENT_SPEC, RELEASE_EXTENT_SPEC } from './spec.js';
import { parseDuration, parseSize, parseU64Size, parseUuidOrNull, typeOf } from './units.js';
import { kstrtoull } from '../kstrtox.js';

export interface ScenarioError {
  /** JSON path, e.g. `$.steps[3].extents[0].length` */
  path: string;
  /** what was wrong and what was expected */
  message: string;
}

export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
export const NAME_HINT = 'letters, digits, "_" and "-" (it becomes a state-path segment, so no dots)';

// ---- paths ---------------------------------------------------------------------------------

export function key(path: string, k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}
export function idx(path: string, i: number): string {
  return `${path}[${i}]`;
}

// ---- context -------------------------------------------------------------------------------

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Ctx {
  readonly errors: ScenarioError[] = [];
  /** null when the topology was unusable: memdev references are then not checked (no cascade) */
  memdevs: string[] | null = null;
  /** id → path of its first use, across the whole file */
  readonly idPaths = new Map<string, string>();

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }
}

export function list(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

export function unknownFields(ctx: Ctx, obj: Obj, path: string, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) ctx.err(key(path, k), `unknown field "${k}" in ${what}; expected one of ${list(allowed)}`);
  }
}

// ---- scalar fields -------------------------------------------------------------------------

export function sizeField(ctx: Ctx, v: unknown, path: string, name: string, positive: boolean): number | undefined {
  const r = parseSize(v);
  if (!r.ok) {
    if (r.error.kind === 'negative-size' && positive) ctx.err(path, `${name} must be a positive size, got ${r.error.input}`);
    else ctx.err(path, `${name}: ${r.error.message}`);
    return undefined;
  }
  if (positive && r.value === 0) {
    ctx.err(path, `${name} must be a positive size, got ${JSON.stringify(v)} (zero-length extents are refused before they reach the device)`);
    return undefined;
  }
  return r.value;
}

/**
 * A raw u64 record field (add-capacity `offset` / `length`): up to 2^64−1, exact past 2^53−1 as a
 * bigint. `positive` refuses zero as sizeField does.
 */
export function u64Field(ctx: Ctx, v: unknown, path: string, name: string, positive: boolean): U64 | undefined {
  const r = parseU64Size(v);
  if (!r.ok) {
    if (r.error.kind === 'negative-size' && positive) ctx.err(path, `${name} must be a positive size, got ${r.error.input}`);
    else ctx.err(path, `${name}: ${r.error.message}`);
    return undefined;
  }
  if (positive && (r.value === 0 || r.value === 0n)) {
    ctx.err(path, `${name} must be a positive size, got ${JSON.stringify(v)} (zero-length extents are refused before they reach the device)`);
    return undefined;
  }
  return r.value;
}

export function durationField(ctx: Ctx, v: unknown, path: string, name: string): number | undefined {
  const r = parseDuration(v);
  if (!r.ok) { ctx.err(path, `${name}: ${r.error.message}`); return undefined; }
  return r.value;
}

export function uuidField(ctx: Ctx, v: unknown, path: string, name: string): string | null | undefined {
  const r = parseUuidOrNull(v);
  if (!r.ok) { ctx.err(path, `${name}: ${r.error.message}`); return undefined; }
  return r.value;
}

export function boolField(ctx: Ctx, v: unknown, path: string, name: string): boolean | undefined {
  if (typeof v === 'boolean') return v;
  ctx.err(path, `${name} must be true or false, got ${typeOf(v)} ${JSON.stringify(v)}`);
  return undefined;
}

export function intField(ctx: Ctx, v: unknown, path: string, name: string, min: number, max: number): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  ctx.err(path, `${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return undefined;
}

export function stringField(ctx: Ctx, v: unknown, path: string, name: string): string | undefined {
  if (typeof v === 'string') return v;
  ctx.err(path, `${name} must be a string, got ${typeOf(v)}`);
  return undefined;
}

export function nameField(ctx: Ctx, v: unknown, path: string, name: string): string | undefined {
  const s = stringField(ctx, v, path, name);
  if (s === undefined) return undefined;
  if (!NAME_RE.test(s)) { ctx.err(path, `${name} "${s}" is not a valid name; use ${NAME_HINT}`); return undefined; }
  return s;
}

export function oneOf<T extends string>(ctx: Ctx, v: unknown, path: string, name: string, allowed: readonly T[]): T | undefined {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  ctx.err(path, `unknown ${name} ${JSON.stringify(v)}; expected one of ${list(allowed)}`);
  return undefined;
}

export function errnoList(ctx: Ctx, v: unknown, path: string, name: string, single: boolean): ErrnoName[] | undefined {
  const items: unknown[] = Array.isArray(v) ? v : typeof v === 'string' && single ? [v] : [];
  if (items.length === 0) {
    ctx.err(path, `${name} must be ${single ? 'an errno name or ' : ''}a non-empty list of errno names, got ${JSON.stringify(v)}`);
    return undefined;
  }
  const out: ErrnoName[] = [];
  let ok = true;
  items.forEach((e, i) => {
    const p = Array.isArray(v) ? idx(path, i) : path;
    if (typeof e === 'string' && (KNOWN_ERRNOS as readonly string[]).includes(e)) out.push(e as ErrnoName);
    else { ok = false; ctx.err(p, `unknown errno ${JSON.stringify(e)} in ${name}; known: ${KNOWN_ERRNOS.join(' ')}`); }
  });
  return ok ? out : undefined;
}

// ---- extents -------------------------------------------------------------------------------

const ADD_EXTENT_FIELDS = Object.keys(ADD_EXTENT_SPEC);
const RELEASE_EXTENT_FIELDS = Object.keys(RELEASE_EXTENT_SPEC);

export function extentCore(ctx: Ctx, raw: Obj, path: string): { offset?: number; length?: number; tag: string | null | undefined; ok: boolean };
export function extentCore(ctx: Ctx, raw: Obj, path: string, u64: true): { offset?: U64; length?: U64; tag: string | null | undefined; ok: boolean };
/** `u64`: offset and length are raw record fields up to 2^64−1 (add-capacity); else safe sizes. */
export function extentCore(ctx: Ctx, raw: Obj, path: string, u64 = false): { offset?: U64; length?: U64; tag: string | null | undefined; ok: boolean } {
  let ok = true;
  let offset: U64 | undefined;
  let length: U64 | undefined;
  const size = u64 ? u64Field : sizeField;
  if (!('offset' in raw)) { ok = false; ctx.err(key(path, 'offset'), 'missing required field "offset" (bytes from the DC partition start)'); }
  else { offset = size(ctx, raw.offset, key(path, 'offset'), 'offset', false); ok &&= offset !== undefined; }
  if (!('length' in raw)) { ok = false; ctx.err(key(path, 'length'), 'missing required field "length"'); }
  else { length = size(ctx, raw.length, key(path, 'length'), 'length', true); ok &&= length !== undefined; }
  let tag: string | null | undefined = null;
  if ('tag' in raw) { tag = uuidField(ctx, raw.tag, key(path, 'tag'), 'tag'); ok &&= tag !== undefined; }
  return { offset, length, tag, ok };
}

export function extentList<T>(ctx: Ctx, v: unknown, path: string, one: (raw: Obj, p: string) => T | undefined): T[] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    ctx.err(path, `extents must be a non-empty array of {offset, length, …}, got ${Array.isArray(v) ? 'an empty array' : typeOf(v)}`);
    return undefined;
  }
  const out: T[] = [];
  let ok = true;
  v.forEach((e, i) => {
    const p = idx(path, i);
    if (!isObject(e)) { ok = false; ctx.err(p, `an extent must be an object, got ${typeOf(e)}`); return; }
    const x = one(e, p);
    if (x === undefined) ok = false;
    else out.push(x);
  });
  return ok ? out : undefined;
}

export function addExtent(ctx: Ctx, raw: Obj, path: string): AddExtent | undefined {
  unknownFields(ctx, raw, path, ADD_EXTENT_FIELDS, 'an add-capacity extent');
  const c = extentCore(ctx, raw, path, true);
  let ok = c.ok;
  let more = false;
  let seq = 0;
  if ('more' in raw) { const m = boolField(ctx, raw.more, key(path, 'more'), 'more'); ok &&= m !== undefined; more = m ?? false; }
  if ('seq' in raw) { const s = intField(ctx, raw.seq, key(path, 'seq'), 'seq', 0, 0xffff); ok &&= s !== undefined; seq = s ?? 0; }
  if (!ok || c.offset === undefined || c.length === undefined || c.tag === undefined) return undefined;
  return { offset: c.offset, length: c.length, tag: c.tag, more, seq };
}

export function releaseExtent(ctx: Ctx, raw: Obj, path: string): ReleaseExtent | undefined {
  unknownFields(ctx, raw, path, RELEASE_EXTENT_FIELDS, 'a release-capacity extent');
  const c = extentCore(ctx, raw, path);
  let ok = c.ok;
  let more = false;
  if ('more' in raw) { const m = boolField(ctx, raw.more, key(path, 'more'), 'more'); ok &&= m !== undefined; more = m ?? false; }
  if (!ok || c.offset === undefined || c.length === undefined || c.tag === undefined) return undefined;
  return { offset: c.offset, length: c.length, tag: c.tag, more };
}

/** cxl_test `dc_inject_extent`: `<start>:<length>:<tag>:<more>[:<seq>]`. */
export function injectRecord(ctx: Ctx, v: unknown, path: string): AddExtent | undefined {
  const s = stringField(ctx, v, path, 'record');
  if (s === undefined) return undefined;
  const parts = s.split(':');
  const fmt = 'expected "<start>:<length>:<tag>:<more>[:<seq>]" as dc_inject_extent takes it';
  if (parts.length < 4 || parts.length > 5) { ctx.err(path, `record "${s}" has ${parts.length} fields; ${fmt}`); return undefined; }
  const [start, length, tag, more, seq] = parts as [string, string, string, string, string | undefined];
  // The string is written to the sysfs attribute as is, and the mock parses its numbers with
  // kstrtoull(…, 0): no size suffixes ("2M" would pass parseSize and fail at run time, -EINVAL).
  const num = (what: string, v: string): string | null => (kstrtoull(v) === null
    ? `${what}: "${v}" is not a number as kstrtoull(…, 0) reads it (decimal, 0x hex or 0-octal; no size suffixes)` : null);
  const to = parseUuidOrNull(tag.trim());
  const bad = [num('start', start), num('length', length), num('more', more), seq === undefined ? null : num('seq', seq)].filter((x): x is string => x !== null);
  if (!to.ok) bad.push(`tag: ${to.error.message}`);
  const so = kstrtoull(start);
  const lo = kstrtoull(length);
  const mo = kstrtoull(more);
  const qo = seq === undefined ? 0 : kstrtoull(seq);
  if (qo !== null && qo > 0xffff) bad.push(`seq: "${seq ?? ''}" is not an integer in 0..65535`);
  if (bad.length > 0 || so === null || lo === null || mo === null || qo === null || !to.ok) { ctx.err(path, `record "${s}": ${bad.join('; ')}; ${fmt}`); return undefined; }
  // Zero length is kept: the mock's new_extent_valid() refuses it with -EINVAL, and a scenario
  // may want to see exactly that (expectError: "EINVAL").
  return { offset: so, length: lo, tag: to.value, more: mo !== 0, seq: qo };
}
