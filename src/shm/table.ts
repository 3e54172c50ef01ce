/**
 * DOC: typed fixed-size record tables over a SharedArrayBuffer.
 *
 * The kernel keeps its DC objects in lists and xarrays; the model keeps them in tables that every
 * thread maps. A record is a run of Int32 words: two bookkeeping words (generation, next-free)
 * then the schema's fields (i32 = 1 word, f64 = 2 words, uuid = 4 words). Handles carry the
 * record's generation, so a handle kept past `free()` is detected as stale (a use-after-free in
 * kernel terms) instead of silently reading a reused record.
 *
 * Allocation takes a short internal spinlock (the xarray's own xa_lock); field reads and writes
 * are plain typed-array accesses — the caller holds whatever kernel lock protects the object, and
 * that lock's Atomics give the ordering.
 */
import { Errors } from '../errors.js';
import {
  I32, REC_GEN, REC_META_WORDS, REC_NEXT_FREE, TABLE_FREE_HEAD, TABLE_HEADER_WORDS, TABLE_HWM,
  TABLE_LOCK, TABLE_USED,
} from './layout.js';

export type FieldType = 'i32' | 'f64' | 'uuid';
export type TableSchema = Record<string, FieldType>;

/** A handle: (generation << 16) | index. 0 is never a valid handle (generation of a live record is odd). */
export type Handle = number;
export const NO_HANDLE = 0;

const MAX_RECORDS = 1 << 16;
const GEN_MASK = 0x7fff;

export class RecordTable<S extends TableSchema> {
  readonly name: string;
  readonly schema: S;
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordWords: number;
  readonly words: Int32Array;
  readonly f64: Float64Array;
  /** word offset of each field within a record (after the bookkeeping words) */
  readonly offset: { readonly [K in keyof S]: number };

  private constructor(name: string, schema: S, sab: SharedArrayBuffer) {
    this.name = name;
    this.schema = schema;
    this.sab = sab;
    const off: Record<string, number> = {};
    let w = REC_META_WORDS;
    for (const [k, t] of Object.entries(schema)) {
      if (t === 'f64' && w % 2 !== 0) w++;
      off[k] = w;
      w += t === 'i32' ? 1 : t === 'f64' ? 2 : 4;
    }
    if (w % 2 !== 0) w++; // keep every record 8-byte aligned for f64 fields
    this.recordWords = w;
    this.offset = off as { [K in keyof S]: number };
    this.capacity = Math.floor((sab.byteLength / I32 - TABLE_HEADER_WORDS) / w);
    this.words = new Int32Array(sab);
    this.f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
  }

  static create<S extends TableSchema>(name: string, schema: S, capacity: number): RecordTable<S> {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity >= MAX_RECORDS) {
      throw new RangeError(`table ${name}: capacity ${capacity} must be in [1, ${MAX_RECORDS - 1}]`);
    }
    const probe = new RecordTable(name, schema, new SharedArrayBuffer(8 * (TABLE_HEADER_WORDS + 64)));
    const sab = new SharedArrayBuffer((TABLE_HEADER_WORDS + probe.recordWords * capacity) * I32);
    return new RecordTable(name, schema, sab);
  }

  static attach<S extends TableSchema>(name: string, schema: S, sab: SharedArrayBuffer): RecordTable<S> {
    return new RecordTable(name, schema, sab);
  }

  private base(index: number): number {
    return TABLE_HEADER_WORDS + index * this.recordWords;
  }

  private lock(): void {
    while (Atomics.compareExchange(this.words, TABLE_LOCK, 0, 1) !== 0) { /* spin: held for a few loads */ }
  }

  private unlock(): void {
    Atomics.store(this.words, TABLE_LOCK, 0);
  }

  /** Allocate a zeroed record. Returns NO_HANDLE when the table is full (the caller's -ENOMEM). */
  alloc(): Handle {
    const W = this.words;
    this.lock();
    let index: number;
    const head = W[TABLE_FREE_HEAD]!;
    if (head !== 0) {
      index = head - 1;
      W[TABLE_FREE_HEAD] = W[this.base(index) + REC_NEXT_FREE]!;
    } else {
      index = W[TABLE_HWM]!;
      if (index >= this.capacity) { this.unlock(); return NO_HANDLE; }
      W[TABLE_HWM] = index + 1;
    }
    const b = this.base(index);
    W.fill(0, b + REC_META_WORDS, b + this.recordWords);
    const gen = ((W[b + REC_GEN]! + 1) | 1) & GEN_MASK || 1; // odd = live
    W[b + REC_NEXT_FREE] = 0;
    Atomics.store(W, b + REC_GEN, gen);
    W[TABLE_USED]!++;
    this.unlock();
    return (gen << 16) | index;
  }

  /** Free a record; its handle becomes stale. */
  free(h: Handle): void {
    const index = this.check(h);
    const W = this.words;
    this.lock();
    const b = this.base(index);
    Atomics.store(W, b + REC_GEN, (W[b + REC_GEN]! + 1) & GEN_MASK); // even = free
    W[b + REC_NEXT_FREE] = W[TABLE_FREE_HEAD]!;
    W[TABLE_FREE_HEAD] = index + 1;
    W[TABLE_USED]!--;
    this.unlock();
  }

  /** Record index of a live handle; throws StaleHandleError otherwise. */
  check(h: Handle): number {
    const index = h & 0xffff;
    const gen = h >>> 16;
    if (h <= 0 || index >= this.capacity || (gen & 1) === 0 || Atomics.load(this.words, this.base(index) + REC_GEN) !== gen) {
      throw Errors.stale(this.name, h);
    }
    return index;
  }

  isLive(h: Handle): boolean {
    const index = h & 0xffff;
    return h > 0 && index < this.capacity && ((h >>> 16) & 1) === 1 && Atomics.load(this.words, this.base(index) + REC_GEN) === h >>> 16;
  }

  /**
   * Read a field of a record that another thread may free concurrently — for walks over a table
   * shared by objects under different locks (every memdev's staged extents live in one table):
   * undefined when the record is not live before or after the read, instead of a stale-handle
   * error. Kernel lists are per object; a shared table must not turn a neighbour's free into a
   * use-after-free.
   */
  peek<K extends keyof S & string>(h: Handle, field: K): number | undefined {
    const index = h & 0xffff;
    const gen = h >>> 16;
    if (h <= 0 || index >= this.capacity) return undefined;
    const b = this.base(index);
    if (Atomics.load(this.words, b + REC_GEN) !== gen) return undefined;
    const at = b + this.offset[field];
    const v = this.schema[field] === 'f64' ? this.f64[at >> 1]! : this.words[at]!;
    return Atomics.load(this.words, b + REC_GEN) === gen ? v : undefined;
  }

  get<K extends keyof S & string>(h: Handle, field: K): number {
    const at = this.base(this.check(h)) + this.offset[field];
    return this.schema[field] === 'f64' ? this.f64[at >> 1]! : this.words[at]!;
  }

  set<K extends keyof S & string>(h: Handle, field: K, v: number): void {
    const at = this.base(this.check(h)) + this.offset[field];
    if (this.schema[field] === 'f64') this.f64[at >> 1] = v;
    else this.words[at] = v;
  }

  /** Atomic add on an i32 field (for counters that are not under one lock, e.g. use counts). */
  add<K extends keyof S & string>(h: Handle, field: K, d: number): number {
    return Atomics.add(this.words, this.base(this.check(h)) + this.offset[field], d) + d;
  }

  /** Atomic compare-exchange on an i32 field; returns the previous value. */
  cas<K extends keyof S & string>(h: Handle, field: K, expect: number, value: number): number {
    return Atomics.compareExchange(this.words, this.base(this.check(h)) + this.offset[field], expect, value);
  }

  /** Atomic load of an i32 field (for fields read outside their lock, e.g. extents_scanned). */
  load<K extends keyof S & string>(h: Handle, field: K): number {
    return Atomics.load(this.words, this.base(this.check(h)) + this.offset[field]);
  }

  /** Atomic store of an i32 field (store-release). */
  store<K extends keyof S & string>(h: Handle, field: K, v: number): void {
    Atomics.store(this.words, this.base(this.check(h)) + this.offset[field], v);
  }

  /** Index of a handle's record (for side arrays sized by capacity). */
  indexOf(h: Handle): number {
    return this.check(h);
  }

  getUuid<K extends keyof S & string>(h: Handle, field: K): string {
    const at = this.base(this.check(h)) + this.offset[field];
    return wordsToUuid(this.words, at);
  }

  setUuid<K extends keyof S & string>(h: Handle, field: K, uuid: string | null): void {
    const at = this.base(this.check(h)) + this.offset[field];
    uuidToWords(uuid, this.words, at);
  }

  /** Live handles in index order (the xarray walk of the kernel). */
  *live(): IterableIterator<Handle> {
    const W = this.words;
    const hwm = Atomics.load(W, TABLE_HWM);
    for (let i = 0; i < hwm; i++) {
      const gen = Atomics.load(W, this.base(i) + REC_GEN);
      if (gen & 1) yield (gen << 16) | i;
    }
  }

  liveCount(): number {
    return Atomics.load(this.words, TABLE_USED);
  }

  /** Free every record (in-place reset between stress iterations; callers are quiescent). */
  clear(): void {
    const W = this.words;
    this.lock();
    const hwm = W[TABLE_HWM]!;
    for (let i = 0; i < hwm; i++) {
      const b = this.base(i);
      if (W[b + REC_GEN]! & 1) W[b + REC_GEN] = (W[b + REC_GEN]! + 1) & GEN_MASK;
    }
    // rebuild the free list in index order so a reset run allocates like a fresh one
    W[TABLE_FREE_HEAD] = 0;
    for (let i = hwm - 1; i >= 0; i--) {
      W[this.base(i) + REC_NEXT_FREE] = W[TABLE_FREE_HEAD]!;
      W[TABLE_FREE_HEAD] = i + 1;
    }
    W[TABLE_USED] = 0;
    this.unlock();
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function wordsToUuid(w: Int32Array, at: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const v = w[at + i]! >>> 0;
    s += HEX[v >>> 24]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!;
  }
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** Store a uuid string (null = the null UUID) into 4 words. */
export function uuidToWords(uuid: string | null, w: Int32Array, at: number): void {
  const hex = (uuid ?? '').replace(/-/g, '');
  for (let i = 0; i < 4; i++) {
    w[at + i] = hex.length === 32 ? parseInt(hex.slice(i * 8, i * 8 + 8), 16) | 0 : 0;
  }
}
