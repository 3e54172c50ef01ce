// uuidToBytes' two-entry cache (#17, docs/performance.md, "Eleventh session: the DCD pipeline"): the device encodes DC_EVENT_UUID and the
// extent's tag into every DC event record it logs; a repeated string now copies the bytes it
// converted last time. The cached path must write exactly what the full conversion writes, for
// every string, at every offset, and refuse what it refused.
import t from 'tap';
import { Prng } from '../src/prng.js';
import { DC_EVENT_UUID, NULL_UUID, uuidToBytes } from '../src/wire/cxl.js';

/** the conversion as it was before the cache (src/wire/cxl.ts at 115e550) */
function reference(uuid: string, buf: Uint8Array, off: number): void {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) throw new RangeError(`uuidToBytes: not a UUID: ${JSON.stringify(uuid)}`);
  const digits = uuid.replace(/-/g, '');
  for (let i = 0; i < 16; i++) buf[off + i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
}

t.test('cached and full conversions write the same bytes (random uuids from a small pool, random offsets)', (t) => {
  const rng = new Prng('perf9-uuid-bytes');
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');
  const fresh = (): string => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const pool = [DC_EVENT_UUID, NULL_UUID, fresh(), fresh(), fresh(), fresh().toUpperCase(), 'not-a-uuid', `${fresh()}x`, ''];
  let same = 0;
  let refused = 0;
  let hits = 0;
  let prev: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const u = rng.chance(0.05) ? fresh() : pool[rng.int(pool.length)]!;
    const size = 16 + rng.int(48);
    const off = rng.int(size + 8) - 4; // sometimes past either end
    const a = new Uint8Array(size).fill(0xee);
    const b = new Uint8Array(size).fill(0xee);
    let ea = '';
    let eb = '';
    try { uuidToBytes(u, a, off); } catch (e) { ea = (e as Error).message; }
    try { reference(u, b, off); } catch (e) { eb = (e as Error).message; }
    if (prev.includes(u)) hits++;
    prev = [u, ...prev].slice(0, 2);
    if (ea !== eb) { t.fail(`${JSON.stringify(u)} at ${off}: error "${ea}" vs "${eb}"`); break; }
    if (ea) { refused++; continue; }
    if (a.some((x, k) => x !== b[k])) { t.fail(`${u} at ${off} in ${size}: bytes differ`); break; }
    same++;
  }
  t.ok(same > 10_000, `identical bytes ${same} times`);
  t.ok(refused > 1000, `refused identically ${refused} times`);
  t.ok(hits > 2000, `repeats of one of the last two strings: ${hits}`);
  t.end();
});
