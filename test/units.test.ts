// Sizes, durations and uuids: the spellings scenario files and the CLI accept.
import t from 'tap';
import { formatHex, formatSize, parseDuration, parseSize, parseUuidOrNull } from '../src/scenario/units.js';
import { isPow2 } from '../src/units.js';

const K = 1024;
const M = K * K;
const G = M * K;

t.test('parseSize accepts decimal, hex, suffixes in any case, B and iB', async (t) => {
  const good: Array<[unknown, number]> = [
    ['4096', 4096], [4096, 4096], ['0x1000', 4096], ['0X1000', 4096], ['64M', 64 * M], ['64m', 64 * M],
    ['64MiB', 64 * M], ['64mb', 64 * M], ['2G', 2 * G], ['1T', K * G], ['4K', 4 * K], ['4096B', 4096],
    ['1.5G', 1.5 * G], ['1.0', 1], [' 2G ', 2 * G], ['64 M', 64 * M], ['0', 0], [0, 0],
  ];
  for (const [input, want] of good) {
    const r = parseSize(input);
    t.same(r, { ok: true, value: want }, `parseSize(${JSON.stringify(input)})`);
  }
});

t.test('parseSize rejects with typed errors', async (t) => {
  const bad: Array<[unknown, string, RegExp]> = [
    ['64Q', 'bad-size', /"64Q" is not a size; expected bytes/],
    ['', 'bad-size', /is not a size/],
    ['0x', 'bad-size', /is not a size/],
    ['0x10M', 'bad-size', /is not a size/],
    ['iB', 'bad-size', /is not a size/],
    ['-64M', 'negative-size', /"-64M" is negative/],
    [-1, 'negative-size', /-1 is negative/],
    ['0.3K', 'fractional-size', /not a whole number of bytes/],
    ['1.5', 'fractional-size', /not a whole number of bytes/],
    [1.5, 'fractional-size', /not a whole number of bytes/],
    ['99999999T', 'size-too-large', /exceeds 2\^53-1/],
    [true, 'bad-size', /must be a string or number, got boolean/],
    [null, 'bad-size', /got null/],
  ];
  for (const [input, kind, re] of bad) {
    const r = parseSize(input);
    t.equal(r.ok, false, `parseSize(${JSON.stringify(input)}) fails`);
    if (!r.ok) {
      t.equal(r.error.kind, kind);
      t.match(r.error.message, re);
    }
  }
});

t.test('parseDuration', async (t) => {
  const good: Array<[unknown, number]> = [['15s', 15000], ['200ms', 200], ['2m', 120000], ['1h', 3600000], ['1500', 1500], [1500, 1500], ['1.5s', 1500], ['20S', 20000]];
  for (const [input, want] of good) t.same(parseDuration(input), { ok: true, value: want }, `parseDuration(${JSON.stringify(input)})`);
  for (const input of ['5 years', '-1s', '0.5ms', 1.5, -3, '', 's']) {
    const r = parseDuration(input);
    t.equal(r.ok, false, `parseDuration(${JSON.stringify(input)}) fails`);
    if (!r.ok) {
      t.equal(r.error.kind, 'bad-duration');
      t.match(r.error.message, /duration|milliseconds/);
    }
  }
});

t.test('formatSize picks the largest unit with at most three decimals and round-trips', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'], [1, '1'], [1023, '1023'], [1024, '1K'], [4097, '4097'], [1536, '1.5K'], [64 * M, '64M'],
    [1.5 * G, '1.5G'], [129.5 * M, '129.5M'], [2 * G, '2G'], [K * G, '1T'], [1.125 * G, '1.125G'],
  ];
  for (const [bytes, want] of cases) {
    t.equal(formatSize(bytes), want, `formatSize(${bytes})`);
    t.same(parseSize(want), { ok: true, value: bytes }, `"${want}" parses back`);
  }
  t.equal(formatHex(64 * M), '0x4000000');
  t.equal(formatHex(0), '0x0');
});

t.test('parseUuidOrNull', async (t) => {
  t.same(parseUuidOrNull(null), { ok: true, value: null });
  t.same(parseUuidOrNull('0'), { ok: true, value: null });
  t.same(parseUuidOrNull(''), { ok: true, value: null });
  t.same(parseUuidOrNull('00000000-0000-0000-0000-000000000000'), { ok: true, value: null });
  t.same(parseUuidOrNull('DEADBEEF-CAFE-BAAD-F00D-FEDCBA987654'), { ok: true, value: 'deadbeef-cafe-baad-f00d-fedcba987654' });
  const bad = parseUuidOrNull('deadbeef');
  t.equal(bad.ok, false);
  if (!bad.ok) {
    t.equal(bad.error.kind, 'bad-uuid');
    t.match(bad.error.message, /"deadbeef" is not a uuid; expected 8-4-4-4-12 hex digits/);
  }
  const wrongType = parseUuidOrNull(7);
  t.equal(wrongType.ok, false);
  if (!wrongType.ok) t.match(wrongType.error.message, /must be a string or null, got number/);
});

t.test('isPow2: is_power_of_2 for the host (block sizes from the device) and the device config', (t) => {
  for (const n of [1, 2, 64, 2 * 1024 * 1024, 2 ** 53, 2 ** 60]) t.ok(isPow2(n), `${n} is a power of two`);
  for (const n of [0, -2, 3, 96, 0.5, 2 ** 53 + 2, Number.NaN, Infinity]) t.notOk(isPow2(n), `${n} is not`);
  t.end();
});
