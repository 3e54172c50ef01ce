/**
 * DOC: sizes, durations and uuids as scenario files and the CLI spell them.
 *
 * Sizes: a JSON number of bytes, or a string — decimal ("4096"), hex ("0x1000"), or a number
 * with a binary suffix K/M/G/T (×1024ⁿ), optionally followed by "B" or "iB", any case ("64M",
 * "64MiB", "2g"); a plain "B" suffix means bytes. A fraction is accepted only when it names a
 * whole number of bytes ("1.5G" yes, "0.3K" no): sizes are DPA arithmetic, and silently rounding
 * an extent length would test a different extent than the one written. Exact arithmetic uses
 * BigInt for the same reason; results must be safe integers — except the raw u64 fields of a DC
 * event record (`parseU64Size`), which go up to 2^64−1 and stay exact as bigints past 2^53−1.
 *
 * Durations: a JSON number of milliseconds, or a string with unit ms/s/m/h (no unit = ms).
 * Fractions are fine when the result is whole milliseconds ("1.5s").
 *
 * `formatSize` is the inverse: the largest unit in which the value has at most three decimals
 * ("64M", "1.5G", "129.5M"), else plain bytes ("4097"). Its output always parses back to the
 * same number.
 *
 * Every function returns a result value; nothing here throws.
 */

export type UnitErrorKind =
  | 'bad-size'
  | 'negative-size'
  | 'fractional-size'
  | 'size-too-large'
  | 'bad-duration'
  | 'bad-uuid';

export interface UnitError {
  kind: UnitErrorKind;
  /** the offending input, as text */
  input: string;
  /** what was wrong and what was expected */
  message: string;
}

export type UnitResult<T> = { ok: true; value: T } | { ok: false; error: UnitError };

// The bodies of the spellings below are exported for schema.ts, which writes them into the
// published schema's patterns; so they spell case out ([kK]) instead of using the `i` flag, which
// a JSON Schema pattern cannot carry.
const SIZE_UNITS: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
/** a decimal size with an optional binary unit ("64M", "1.5GiB", "4096") */
export const SIZE_BODY = String.raw`(\d+)(?:\.(\d+))?\s*(?:([kKmMgGtT])(?:[iI]?[bB])?|[bB])?`;
/** a hex number ("0x1000") */
export const HEX_BODY = String.raw`0[xX]([0-9a-fA-F]+)`;
const SIZE_RE = new RegExp(`^${SIZE_BODY}$`);
const HEX_RE = new RegExp(`^${HEX_BODY}$`);
const SIZE_HINT = 'expected bytes as a number, decimal or hex ("0x1000"), or with K/M/G/T (e.g. "64M", "2G")';

const DURATION_UNITS: Record<string, bigint> = { '': 1n, ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n };
/** a duration: a number with an optional unit ms/s/m/h */
export const DURATION_BODY = String.raw`(\d+)(?:\.(\d+))?\s*([mM][sS]|[sSmMhH])?`;
const DURATION_RE = new RegExp(`^${DURATION_BODY}$`);
const DURATION_HINT = 'expected milliseconds as a number, or a string like "200ms", "15s", "2m"';

/** a canonical 8-4-4-4-12 uuid, any case */
export const UUID_BODY = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const UUID_RE = new RegExp(`^${UUID_BODY}$`);
const NULL_UUID_RE = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

function fail<T>(kind: UnitErrorKind, input: unknown, message: string): UnitResult<T> {
  return { ok: false, error: { kind, input: typeof input === 'string' ? input : JSON.stringify(input) ?? String(input), message } };
}

/** `int.frac × mult` as an exact integer, or why it is not one. */
function scaleExact(intPart: string, frac: string, mult: bigint): { ok: true; value: bigint } | { ok: false } {
  const denom = 10n ** BigInt(frac.length);
  const scaled = BigInt(intPart + frac) * mult;
  if (scaled % denom !== 0n) return { ok: false };
  return { ok: true, value: scaled / denom };
}

export function parseSize(input: unknown): UnitResult<number> {
  const r = parseSizeExact(input, MAX, '2^53-1 bytes');
  return r.ok ? { ok: true, value: Number(r.value) } : r;
}

/** The largest value of a u64 field (an extent's DPA start or length on the wire). */
export const U64_MAX = (1n << 64n) - 1n;

/**
 * A size as `parseSize` reads it, up to 2^64−1 — for the raw fields of a DC event record, where a
 * fabric manager may write any u64 (the wrapping `start + length` that cxl_extent_dc_partition()'s
 * `end < start` check refuses, E1). A value up to 2^53−1 comes back as a number; past it, as an
 * exact bigint. A JSON number past 2^53−1 is refused: JSON.parse has already rounded it, so only
 * a string ("0xffffffffffe00000", "18446744073707454464") can carry such a value exactly.
 */
export function parseU64Size(input: unknown): UnitResult<number | bigint> {
  if (typeof input === 'number' && Number.isFinite(input) && Number.isInteger(input) && input > Number.MAX_SAFE_INTEGER) {
    return fail('size-too-large', input, `size ${input} is past 2^53-1, where a JSON number is no longer exact; write it as a string, decimal or hex ("0x${BigInt(input).toString(16)}")`);
  }
  const r = parseSizeExact(input, U64_MAX, '2^64-1, the largest u64');
  if (!r.ok) return r;
  return { ok: true, value: r.value <= MAX ? Number(r.value) : r.value };
}

function parseSizeExact(input: unknown, limit: bigint, limitText: string): UnitResult<bigint> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return fail('bad-size', input, `size ${input} is not a finite number; ${SIZE_HINT}`);
    if (input < 0) return fail('negative-size', input, `size ${input} is negative; sizes are byte counts ≥ 0`);
    if (!Number.isInteger(input)) return fail('fractional-size', input, `size ${input} is not a whole number of bytes`);
    if (input > Number.MAX_SAFE_INTEGER) return fail('size-too-large', input, `size ${input} exceeds 2^53-1 bytes`);
    return { ok: true, value: BigInt(input) };
  }
  if (typeof input !== 'string') return fail('bad-size', input, `size must be a string or number, got ${typeOf(input)}; ${SIZE_HINT}`);
  const text = input.trim();
  if (text.startsWith('-')) {
    const rest = parseSizeExact(text.slice(1), limit, limitText);
    if (rest.ok || rest.error.kind === 'size-too-large') return fail('negative-size', input, `size "${input}" is negative; sizes are byte counts ≥ 0`);
    return fail('bad-size', input, `"${input}" is not a size; ${SIZE_HINT}`);
  }
  let bytes: bigint;
  const hex = HEX_RE.exec(text);
  if (hex) {
    bytes = BigInt('0x' + (hex[1] ?? '0'));
  } else {
    const m = SIZE_RE.exec(text);
    if (!m) return fail('bad-size', input, `"${input}" is not a size; ${SIZE_HINT}`);
    const mult = SIZE_UNITS[(m[3] ?? '').toLowerCase()] ?? 1n;
    const exact = scaleExact(m[1] ?? '0', m[2] ?? '', mult);
    if (!exact.ok) return fail('fractional-size', input, `"${input}" is not a whole number of bytes; write it in a smaller unit`);
    bytes = exact.value;
  }
  if (bytes > limit) return fail('size-too-large', input, `"${input}" exceeds ${limitText}`);
  return { ok: true, value: bytes };
}

export function parseDuration(input: unknown): UnitResult<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0 || !Number.isInteger(input)) {
      return fail('bad-duration', input, `duration ${input} must be a whole, non-negative number of milliseconds`);
    }
    return { ok: true, value: input };
  }
  if (typeof input !== 'string') return fail('bad-duration', input, `duration must be a string or number, got ${typeOf(input)}; ${DURATION_HINT}`);
  const m = DURATION_RE.exec(input.trim());
  if (!m) return fail('bad-duration', input, `"${input}" is not a duration; ${DURATION_HINT}`);
  const mult = DURATION_UNITS[(m[3] ?? '').toLowerCase()] ?? 1n;
  const exact = scaleExact(m[1] ?? '0', m[2] ?? '', mult);
  if (!exact.ok) return fail('bad-duration', input, `"${input}" is not a whole number of milliseconds`);
  if (exact.value > MAX) return fail('bad-duration', input, `"${input}" is too long`);
  return { ok: true, value: Number(exact.value) };
}

/** Largest unit with at most three decimals, else bytes. Round-trips through `parseSize`. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || !Number.isInteger(bytes)) return String(bytes);
  if (bytes < 0) return '-' + formatSize(-bytes);
  const b = BigInt(bytes);
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const mult = SIZE_UNITS[unit.toLowerCase()] ?? 1n;
    if (b < mult || (b * 1000n) % mult !== 0n) continue;
    const whole = b / mult;
    const thousandths = ((b % mult) * 1000n) / mult;
    const frac = thousandths === 0n ? '' : '.' + thousandths.toString().padStart(3, '0').replace(/0+$/, '');
    return `${whole}${frac}${unit}`;
  }
  return String(bytes);
}

/** sysfs style: `0x4000000` (lower-case hex, as `%#llx` prints; 0 prints "0x0" for alignment). */
export function formatHex(bytes: number | bigint): string {
  return bytes < 0 ? '-0x' + (-bytes).toString(16) : '0x' + bytes.toString(16);
}

export function isUuidString(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * A tag: `null`, `""`, `"0"` and the all-zero uuid mean untagged (→ null), as `uuid_is_null()`
 * treats them and as cxl_test's inject parser does; anything else must be a canonical
 * 8-4-4-4-12 uuid and is returned lower-case (sysfs prints `%pUb`, lower-case).
 */
export function parseUuidOrNull(input: unknown): UnitResult<string | null> {
  if (input === null || input === '' || input === '0') return { ok: true, value: null };
  if (typeof input !== 'string') return fail('bad-uuid', input, `uuid must be a string or null, got ${typeOf(input)}`);
  if (!UUID_RE.test(input)) {
    return fail('bad-uuid', input, `"${input}" is not a uuid; expected 8-4-4-4-12 hex digits, or null / "0" for untagged`);
  }
  const lower = input.toLowerCase();
  return { ok: true, value: NULL_UUID_RE.test(lower) ? null : lower };
}

export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
