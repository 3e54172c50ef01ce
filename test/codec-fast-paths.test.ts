/**
 * The #17 fast paths of the event stream and the wire codecs against the code they replaced, over
 * many seeded random inputs, malformed ones included:
 *   - encodeEvent's straight-line cases vs the table-driven encodeEventGeneric (the same 32 words,
 *     the same throw on a malformed uuid), and the decoded event;
 *   - decodeDcEventRecord / decodeDcEventLayout / decodeEventRecordHeader / decodeExtent (one
 *     DataView, UUID caches) vs a verbatim copy of the previous decoders (the same value or the
 *     same error), with UUID bytes changed in place between calls so a stale cache would show;
 *   - encodeDcResponse / toU64 (no masked copy when in range) vs the previous encoder.
 */
import t from 'tap';
import * as W from '../src/wire/cxl.js';
import { Prng } from '../src/prng.js';
import {
  EVENT_RECORD_WORDS, EVENT_TYPES, decodeEvent, encodeEvent, encodeEventGeneric, eventFieldKinds, type RuntimeEvent,
} from '../src/protocol.js';
import { HEX_BYTE } from '../src/units.js';

const ITER = 4000;

// --------------------------------------------------------------------------- the old decoders

type D<T> = W.Decoded<T>;
function oldFail<T>(code: W.WireErrorCode, message: string): D<T> {
  return { ok: false, error: { code, message } };
}
function oldDv(view: Uint8Array): DataView {
  return new DataView(view.buffer, view.byteOffset, view.byteLength);
}
function oldUuidFromBytes(view: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX_BYTE[view[off + i] ?? 0];
  }
  return s;
}
function oldDecodeExtent(view: Uint8Array, off = 0): D<W.CxlExtentRaw> {
  if (off < 0 || off + W.EXTENT_SIZE > view.byteLength) {
    return oldFail('short-payload', `extent at ${off}: ${view.byteLength} bytes, need ${off + W.EXTENT_SIZE}`);
  }
  const d = oldDv(view);
  return {
    ok: true,
    value: {
      startDpa: d.getBigUint64(off + 0x00, true),
      length: d.getBigUint64(off + 0x08, true),
      uuid: oldUuidFromBytes(view, off + 0x10),
      sharedExtnSeq: d.getUint16(off + 0x20, true),
    },
  };
}
function oldDecodeHeader(view: Uint8Array, off = 0): D<W.EventRecordHeader> {
  if (off < 0 || off + W.EVENT_RECORD_HDR_SIZE > view.byteLength) {
    return oldFail('short-payload', `event record header at ${off}: ${view.byteLength} bytes, need ${off + W.EVENT_RECORD_HDR_SIZE}`);
  }
  const d = oldDv(view);
  return {
    ok: true,
    value: {
      uuid: oldUuidFromBytes(view, off),
      length: d.getUint8(off + 0x10),
      flags: d.getUint8(off + 0x11) | (d.getUint8(off + 0x12) << 8) | (d.getUint8(off + 0x13) << 16),
      handle: d.getUint16(off + 0x14, true),
      relatedHandle: d.getUint16(off + 0x16, true),
      timestamp: d.getBigUint64(off + 0x18, true),
      maintOpClass: d.getUint8(off + 0x20),
      maintOpSubclass: d.getUint8(off + 0x21),
      ldId: d.getUint16(off + 0x22, true),
      headId: d.getUint8(off + 0x24),
    },
  };
}
function oldDecodeDcLayout(view: Uint8Array, off = 0, checkUuid = false): D<W.DcEventRecord> {
  if (off < 0 || off + W.EVENT_RECORD_SIZE > view.byteLength) {
    return oldFail('short-payload', `DC event record at ${off}: ${view.byteLength} bytes, need ${off + W.EVENT_RECORD_SIZE}`);
  }
  const h = oldDecodeHeader(view, off);
  if (!h.ok) return h;
  if (checkUuid && h.value.uuid !== W.DC_EVENT_UUID) return oldFail('bad-uuid', `record UUID ${h.value.uuid} is not the DC event UUID`);
  const e = oldDecodeExtent(view, off + 0x38);
  if (!e.ok) return e;
  const d = oldDv(view);
  return {
    ok: true,
    value: {
      hdr: h.value,
      eventType: d.getUint8(off + 0x30),
      validityFlags: d.getUint8(off + 0x31),
      hostId: d.getUint16(off + 0x32, true),
      updatedRegionIndex: d.getUint8(off + 0x34),
      flags: d.getUint8(off + 0x35),
      extent: e.value,
      numAvailExtents: d.getUint32(off + 0x78, true),
      numAvailTags: d.getUint32(off + 0x7c, true),
    },
  };
}
function oldToU64(v: number | bigint): bigint {
  const b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  return b & W.U64_MASK;
}
function oldEncodeDcResponse(v: W.DcResponse, buf: Uint8Array, off = 0): number {
  const len = W.dcResponseSize(v.extents.length);
  if (off < 0 || off + len > buf.byteLength) throw new RangeError(`encodeDcResponse: needs ${len} bytes at offset ${off}, buffer has ${buf.byteLength}`);
  const d = oldDv(buf);
  buf.fill(0, off, off + len);
  d.setUint32(off + 0, (v.extentListSize ?? v.extents.length) >>> 0, true);
  d.setUint8(off + 4, v.flags & 0xff);
  let p = off + 8;
  for (const e of v.extents) {
    d.setBigUint64(p, oldToU64(e.dpaStart), true);
    d.setBigUint64(p + 8, oldToU64(e.length), true);
    p += 24;
  }
  return len;
}

// --------------------------------------------------------------------------- random inputs

function randUuid(r: Prng): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX_BYTE[r.int(256)];
  }
  return r.chance(0.2) ? s.toUpperCase() : s;
}
const BAD_UUIDS = ['', 'not-a-uuid', '0000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000000',
  'g0000000-0000-0000-0000-000000000000', '00000000_0000-0000-0000-000000000000', ' 00000000-0000-0000-0000-000000000000'];
function randNumber(r: Prng): number {
  switch (r.int(8)) {
    case 0: return r.int(16);
    case 1: return -r.int(1000);
    case 2: return r.next() * 1e6;
    case 3: return Number.MAX_SAFE_INTEGER - r.int(10);
    case 4: return r.pick([NaN, Infinity, -Infinity, -0, 2 ** 60, 2 ** 64]);
    case 5: return r.int(2 ** 31) * 4096;
    default: return r.int(0xffff_ffff);
  }
}
function randEvent(r: Prng, type: RuntimeEvent['type']): { ev: RuntimeEvent; malformed: boolean } {
  const o: Record<string, unknown> = { type };
  let malformed = false;
  for (const [name, kind] of eventFieldKinds(type)) {
    if (kind === 'u') {
      const c = r.int(10);
      if (c < 4) o[name] = randUuid(r);
      else if (c < 6) o[name] = W.NULL_UUID;
      else if (c < 7) o[name] = null;
      else if (c < 8) o[name] = undefined;
      else { o[name] = r.pick(BAD_UUIDS); malformed = true; }
    } else if (r.chance(0.03)) {
      o[name] = undefined; // a missing field: NaN on the wire, both ways
    } else {
      o[name] = randNumber(r);
    }
  }
  return { ev: o as unknown as RuntimeEvent, malformed };
}

function attempt(fn: () => void): string | null {
  try { fn(); return null; } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; }
}

// --------------------------------------------------------------------------- tests

t.test('encodeEvent (straight-line cases) writes what encodeEventGeneric writes', async (t) => {
  const r = new Prng('codec-fast-events');
  const a = new Int32Array(EVENT_RECORD_WORDS), af = new Float64Array(a.buffer);
  const b = new Int32Array(EVENT_RECORD_WORDS), bf = new Float64Array(b.buffer);
  let compared = 0, threw = 0, mismatches = 0, malformedSeen = 0;
  for (const type of EVENT_TYPES) {
    for (let i = 0; i < ITER / 4; i++) {
      const { ev, malformed } = randEvent(r, type);
      if (malformed) malformedSeen++;
      const thread = r.int(64) - 1;
      const time = r.next() * 1e12;
      // both start from the same stale words, as the emit buffer is reused
      const fill = r.int(2 ** 31);
      a.fill(fill); b.fill(fill);
      const ea = attempt(() => encodeEvent(ev, thread, time, a, af));
      const eb = attempt(() => encodeEventGeneric(ev, thread, time, b, bf));
      if (ea !== eb) { mismatches++; t.fail(`${type}: throw differs: ${ea} vs ${eb}`); continue; }
      if (ea !== null) { threw++; continue; }
      compared++;
      let same = true;
      for (let w = 0; w < EVENT_RECORD_WORDS; w++) if (a[w] !== b[w]) same = false;
      if (!same) { mismatches++; t.fail(`${type}: words differ for ${JSON.stringify(ev)}`); continue; }
      const d = decodeEvent(a, af);
      if (!d || d.ev.type !== type || d.thread !== thread || d.timeMs !== time) { mismatches++; t.fail(`${type}: decode`); }
    }
  }
  t.equal(mismatches, 0, 'no difference');
  // a malformed uuid is not refused (uuidToWords writes what its fallback parses): both paths
  // must write the same words for it
  t.equal(threw, 0, 'neither encoder throws');
  t.ok(malformedSeen > 100, `compared ${compared} encodings, ${malformedSeen} with a malformed uuid`);
  t.comment(`events: ${compared} compared word for word (${malformedSeen} with a malformed uuid)`);
});

t.test('the DC record decoders (one DataView, UUID caches) decode what the old ones did', async (t) => {
  const r = new Prng('codec-fast-dc');
  const tagPool = [W.NULL_UUID, randUuid(r).toLowerCase(), randUuid(r).toLowerCase()];
  const buf = new Uint8Array(512);
  let ok = 0, errors = 0, staleProbes = 0;
  for (let i = 0; i < ITER * 4; i++) {
    // a record at a random place in a random-length view of a shared buffer
    const base = r.int(64);
    const len = r.chance(0.1) ? r.int(200) : 128 + r.int(128);
    const view = buf.subarray(base, Math.min(buf.length, base + len));
    const off = r.chance(0.05) ? r.int(300) - 50 : r.int(Math.max(1, view.length - 127));
    const at = Math.max(0, off);
    if (r.chance(0.7)) {
      for (let k = at; k < Math.min(view.length, at + 128); k++) view[k] = r.int(256);
      if (at + 128 <= view.length) {
        if (r.chance(0.7)) W.uuidToBytes(W.DC_EVENT_UUID, view, at);
        W.uuidToBytes(r.pick(tagPool), view, at + 0x38 + 0x10);
      }
    } else if (at + 128 <= view.length) {
      // the same bytes as last time but one UUID byte changed in place: a stale cache would miss it
      const k = at + (r.chance(0.5) ? r.int(16) : 0x48 + r.int(16));
      view[k] = (view[k]! ^ (1 << r.int(8))) & 0xff;
      staleProbes++;
    }
    const pairs: [string, unknown, unknown][] = [
      ['decodeDcEventRecord', W.decodeDcEventRecord(view, off), oldDecodeDcLayout(view, off, true)],
      ['decodeDcEventLayout', W.decodeDcEventLayout(view, off), oldDecodeDcLayout(view, off, false)],
      ['decodeEventRecordHeader', W.decodeEventRecordHeader(view, off), oldDecodeHeader(view, off)],
      ['decodeExtent', W.decodeExtent(view, off + 0x38), oldDecodeExtent(view, off + 0x38)],
    ];
    for (const [name, got, want] of pairs) {
      if (!sameDecoded(got, want)) { t.fail(`${name} at ${off} of ${view.length}: ${show(got)} vs ${show(want)}`); return; }
      if ((got as { ok: boolean }).ok) ok++; else errors++;
    }
    // the UuidCache itself, at any offset (out of range reads 0 as uuidFromBytes does)
    const uo = r.int(view.length + 8) - 4;
    if (CACHE.fromBytes(view, uo) !== oldUuidFromBytes(view, uo)) { t.fail(`UuidCache at ${uo}`); return; }
  }
  t.ok(ok > 0 && errors > 0, `${ok} decoded equal, ${errors} refused with the same error, ${staleProbes} in-place UUID changes`);
  t.comment(`dc records: ${ok} decoded, ${errors} errors equal, ${staleProbes} stale-cache probes`);
});
const CACHE = new W.UuidCache();

t.test('encodeDcResponse and toU64 write what the old ones did', async (t) => {
  const r = new Prng('codec-fast-response');
  const big = (): bigint => {
    switch (r.int(6)) {
      case 0: return BigInt(r.int(2 ** 31)) * 4096n;
      case 1: return -BigInt(r.int(1000)) - 1n;
      case 2: return W.U64_MASK - BigInt(r.int(3));
      case 3: return W.U64_MASK + 1n + BigInt(r.int(1000));
      case 4: return (1n << 80n) + BigInt(r.int(2 ** 31));
      default: return BigInt(r.int(2 ** 31));
    }
  };
  let cmp = 0, threw = 0;
  for (let i = 0; i < ITER; i++) {
    const n = r.int(12);
    const v: W.DcResponse = { flags: r.int(512) - 100, extents: Array.from({ length: n }, () => ({ dpaStart: big(), length: big() })) };
    if (r.chance(0.2)) v.extentListSize = r.int(2 ** 32) * (r.chance(0.5) ? 2 : 1) - 10;
    const size = r.chance(0.1) ? r.int(W.dcResponseSize(n) + 1) : W.dcResponseSize(n) + r.int(40);
    const off = r.chance(0.1) ? r.int(size + 10) - 5 : r.int(8);
    const a = new Uint8Array(size + 8).fill(0xa5), b = new Uint8Array(size + 8).fill(0xa5);
    const ea = attempt(() => W.encodeDcResponse(v, a.subarray(0, size), off));
    const eb = attempt(() => oldEncodeDcResponse(v, b.subarray(0, size), off));
    t.equal(ea, eb, 'same throw');
    if (ea !== null) { threw++; continue; }
    if (Buffer.compare(a, b) !== 0) { t.fail(`bytes differ for ${n} entries at ${off}`); return; }
    cmp++;
    const x: number | bigint = r.chance(0.5) ? big() : randNumber(r);
    if (Number.isFinite(x as number) || typeof x === 'bigint') t.equal(W.toU64(x), oldToU64(x));
  }
  t.ok(cmp > 0 && threw > 0, `${cmp} responses byte-identical, ${threw} refused both ways`);
  t.comment(`dc responses: ${cmp} identical, ${threw} short buffers refused by both`);
});

function sameDecoded(a: unknown, b: unknown): boolean {
  return show(a) === show(b);
}
function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}
